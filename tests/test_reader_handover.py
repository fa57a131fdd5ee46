# private: the reader hand-over's private table (`_readers.HANDOVER`) and its page
"""The reader hand-over (`kalshi_fix_sansio.client.pump.Readers`) follows its table, row by row, and
the docs page is that table drawn (the private `_readers` module's `HANDOVER`, `Reader`, `Ask`
and `render_markdown`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kalshi_fix_sansio.client._readers import HANDOVER, Ask, Reader, Rule, render_markdown
from kalshi_fix_sansio.client.pump import Readers

DOCS = Path(__file__).resolve().parent.parent / "docs" / "reader-handover.md"
HANDOFF = 0.05
NOW = 100.0


def readers_in(state: Reader) -> Readers:
    """A `Readers` whose socket ``state`` reads (no caller waits, none read lately)."""
    r = Readers(HANDOFF)
    if state is Reader.CALLER:
        assert r.claim("reader") == "read"
    elif state is Reader.BACKGROUND:
        assert r.background(NOW, "reader") == 0.0
    assert r.state is state
    return r


def ask(r: Readers, rule: Rule) -> object:
    """Ask as ``rule`` says, its condition made true; what the asker is told."""
    if rule.ask is Ask.CLAIM:
        return r.claim("asker")
    if rule.ask is Ask.RELEASE:
        r.enter()  # a caller waits: the reader's release wakes it
        return r.release(NOW)
    if rule.ask is Ask.CLOSING:
        r.claim("caller")
        r.release(NOW)  # a caller read just now: the delay would hold the background reader
        r.closing()
        return r.background(NOW, "bg")
    if rule.when == "a caller waits":
        r.enter()
    elif rule.when.startswith("a caller read less than"):
        r.claim("caller")
        r.release(NOW - HANDOFF / 5)
        assert r.state is Reader.NOBODY
    return r.background(NOW, "bg")


@pytest.mark.parametrize("rule", HANDOVER, ids=lambda r: f"{r.reader.name}-{r.ask.name}-{r.when}")
def test_every_row_of_the_hand_over_holds(rule: Rule) -> None:
    r = readers_in(rule.reader)
    told = ask(r, rule)
    if rule.ask is Ask.CLAIM:
        assert told == rule.answer
        assert r.state is rule.then
        assert r.owns("asker") is (rule.answer == "read")  # the socket is the asker's
    elif rule.ask is Ask.RELEASE:
        assert told is True and r.state is rule.then and r.reader is None
        assert (r.active == NOW) is (rule.reader is Reader.CALLER)  # the delay starts
    elif rule.ask is Ask.CLOSING:
        assert told == 0.0  # read at once, the hand-off delay over
    elif rule.answer == "handoff":
        assert told == HANDOFF and r.state is rule.then
    elif rule.answer == "quiet":
        assert told == pytest.approx(HANDOFF * 4 / 5) and r.state is rule.then
    else:
        assert told == 0.0 and r.state is rule.then is Reader.BACKGROUND


def test_each_reader_and_ask_has_its_rows() -> None:
    claims = {rule.reader for rule in HANDOVER if rule.ask is Ask.CLAIM}
    assert claims == set(Reader)  # a claim is answered whoever reads
    assert {rule.ask for rule in HANDOVER} == set(Ask)


def test_the_docs_page_is_generated_from_the_table() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_markdown(), (
        "docs/reader-handover.md is stale: "
        "python -m kalshi_fix_sansio.client._readers > docs/reader-handover.md"
    )

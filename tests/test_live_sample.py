"""The shipped live-session sample (`kalshi_fix_sansio.simulator.testing.livesample`): the
shipped logs are what the module writes, and ``kalshi-fix fit-latency``, ``fit-queue`` and
``compare-live`` run on them as docs/backtest.md says, each printing what the page shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from kalshi_fix_sansio import cli
from kalshi_fix_sansio.simulator.testing.livesample import (
    LIVE_MD_SAMPLE,
    LIVE_OE_SAMPLE,
    write_live_sample,
)

PAGE = Path(__file__).resolve().parents[1] / "docs" / "backtest.md"
SECTION = "### The three on the shipped live-session sample"


def test_the_shipped_logs_are_what_the_module_writes(tmp_path: Path) -> None:
    md, oe = tmp_path / "md.log", tmp_path / "oe.log"
    oe.write_text("an older log: a message log is appended to, the sample is not\n")
    write_live_sample(md, oe)
    assert md.read_bytes() == LIVE_MD_SAMPLE.read_bytes()
    assert oe.read_bytes() == LIVE_OE_SAMPLE.read_bytes()
    assert len(md.read_bytes()) + len(oe.read_bytes()) < 50_000  # small enough to ship


def _examples() -> list[tuple[str, str]]:
    """The section's commands, each with the output the page shows after it."""
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ")]
    blocks = re.findall(r"```(bash|text)\n(.*?)```", section, flags=re.S)
    pairs = list(zip(blocks[::2], blocks[1::2], strict=True))
    assert [(a[0], b[0]) for a, b in pairs] == [("bash", "text")] * 3
    return [(a[1].strip(), b[1]) for a, b in pairs]


def test_the_page_s_commands_print_what_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run from an empty directory: the sample names are the shipped samples."""
    monkeypatch.chdir(tmp_path)
    examples = _examples()
    assert [command.split()[1] for command, _ in examples] == [
        "fit-latency",
        "fit-queue",
        "compare-live",
    ]
    for command, shown in examples:
        words = shlex.split(command)
        assert words[0] == "kalshi-fix"
        assert cli.main(words[1:]) == 0, command
        assert capsys.readouterr().out == shown, command


def test_fifo_differs_on_every_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the page says of ``--queue-model fifo``: every order differs, each filling all 10
    contracts in the simulation."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["fit-latency", "live-oe-sample.log", "--name", "sample"]) == 0
    command = ["compare-live", "kalshi_fix_sansio.simulator.testing.livesample:joiner"]
    command += ["live-md-sample.log", "--orders", "live-oe-sample.log", "--queue-model", "fifo"]
    capsys.readouterr()
    assert cli.main([*command, "--latency", "fitted:sample", "--json", "fifo.json"]) == 0
    assert "6 of 6 orders differ" in capsys.readouterr().out
    assert (tmp_path / "fifo.json").read_text().count('"filled": "10.00"') >= 6

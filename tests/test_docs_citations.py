"""User pages cite only what a user can open: Kalshi's pages by name, this repository's files and
docs pages — never the project's internal notes (``order-entry.md §5.1``, "open question 12",
issue numbers). The generated message reference names Kalshi's pages through
`codegen.generate.public_citations`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codegen.generate import public_citations

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
INTERNAL = re.compile(
    r"(?<![\w/.`-])(?<!\]\()(?:session|order-entry|order-groups|drop-copy|market-data|rfq|settlement|errors)"
    r"\.md(?: §[\d.]+)?|open questions? \d+|\bissue \d+|\.\./shared"
)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_user_pages_cite_nothing_a_user_cannot_open(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    if page.name == "spec.md":  # it shows the spec's own YAML, whose `source:` cites the notes
        text = re.sub(r"```yaml\n.*?```", "", text, flags=re.S)
    found = sorted({m.group(0) for m in INTERNAL.finditer(text)})
    assert not found, f"{page.relative_to(ROOT)} cites {found}"


def test_the_generated_reference_names_kalshis_pages() -> None:
    assert public_citations("follows order-entry.md §5.1 (open question 21)") == (
        "follows Kalshi's Order Entry page, §5.1 (not settled by Kalshi's docs: see Decisions)"
    )
    assert public_citations("The errors.md table; tags.md's note") == (
        "Kalshi's Errors page table; Kalshi's Tags page's note"
    )
    assert (
        public_citations("see [concepts](../concepts.md#x)") == "see [concepts](../concepts.md#x)"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_line_turns_into_a_quote_by_accident(page: Path) -> None:
    # Markdown reads a line starting with ">" as a blockquote: ">= 3.12" became one
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    bad = [line for line in text.splitlines() if re.match(r"\s*>[=<>\d]", line)]
    assert not bad, f"{page.relative_to(ROOT)}: {bad}"


def test_the_install_instructions_do_not_send_users_to_pypi_yet() -> None:
    # the package is not published: a bare `pip install kalshi-fix-sansio` finds nothing
    for page in (ROOT / "README.md", ROOT / "docs" / "getting-started.md"):
        for line in page.read_text(encoding="utf-8").splitlines():
            if re.search(r"^\$?\s*pip install kalshi-fix-sansio\b", line.strip()):
                raise AssertionError(f"{page.name}: {line!r}")

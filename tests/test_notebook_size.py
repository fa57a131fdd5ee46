"""The maintainers' notebook stays condensed: docs/maintainers at most 30,000 words in all (an
architecture guide, the decisions in force, today's figures with how to take them), and the
CHANGELOG at most 30 kB (what a user of this release gets). History lives in git."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_WORDS = 30_000
MAX_CHANGELOG_BYTES = 30_000


def words(text: str) -> int:
    """Words as ``wc -w`` counts them: runs of characters between whitespace."""
    return len(text.split())


def test_the_maintainers_docs_stay_under_thirty_thousand_words() -> None:
    pages = sorted((ROOT / "docs" / "maintainers").glob("*.md"))
    counts = {page.name: words(page.read_text(encoding="utf-8")) for page in pages}
    assert sum(counts.values()) <= MAX_WORDS, (
        f"docs/maintainers holds {sum(counts.values()):,} words (at most {MAX_WORDS:,}): "
        f"condense it (by page: {counts}); superseded figures live in git history"
    )


def test_the_changelog_stays_under_thirty_kilobytes() -> None:
    size = len((ROOT / "CHANGELOG.md").read_bytes())
    assert size <= MAX_CHANGELOG_BYTES, f"CHANGELOG.md is {size:,} bytes (at most 30 kB)"


def test_the_counts_count() -> None:
    assert words("one two\nthree  four\tfive") == 5

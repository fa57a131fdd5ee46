"""What the benchmarks share: writing their table into docs/benchmarks.md between markers."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_block(begin: str, end: str, lines: list[str]) -> None:
    """Replace what stands between the ``begin`` and ``end`` markers of docs/benchmarks.md."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(begin) + len(begin)
    stop = text.index(end)
    DOC.write_text(text[:start] + "\n" + "\n".join(lines) + "\n" + text[stop:], encoding="utf-8")

"""What the benchmarks share: writing their table into docs/maintainers/benchmarks.md between markers."""

from __future__ import annotations

import argparse
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "maintainers" / "benchmarks.md"


def write_block(begin: str, end: str, lines: list[str]) -> None:
    """Replace what stands between the ``begin`` and ``end`` markers of docs/maintainers/benchmarks.md."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(begin) + len(begin)
    stop = text.index(end)
    DOC.write_text(text[:start] + "\n" + "\n".join(lines) + "\n" + text[stop:], encoding="utf-8")


def arguments(doc: str, quick: str) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring as help, ``--quick`` and ``--write-docs``."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="write the table into docs/maintainers/benchmarks.md",
    )
    return parser


def publish(lines: list[str], begin: str, end: str, write: bool) -> None:
    """Print a benchmark's table; with ``write`` also put it between its markers."""
    print("\n".join(lines))
    if write:
        write_block(begin, end, lines)

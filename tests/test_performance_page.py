"""The headline figures of docs/performance.md and the README come from one source.

docs/maintainers/benchmarks.md holds every benchmark's table and the lines saying whether its
targets hold; ``benchmarks/_docs.py`` draws the user pages' tables from those lines and writes
them whenever a benchmark writes its table. Here: both pages show exactly what the source says
today, a new figure in the source reaches both, and the README quotes no figure outside its
generated table (figures written by hand drift).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmarks' shared helpers (_docs)
import _docs  # noqa: E402

BEGIN, END = _docs.TABLE


def generated(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1, f"{path.name}: one table's markers"
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip("\n").splitlines()


def test_the_pages_show_what_the_benchmarks_page_says() -> None:
    source = _docs.DOC.read_text(encoding="utf-8")
    assert generated(_docs.PERFORMANCE) == _docs.headline_table(source), (
        "docs/performance.md is stale: run a benchmark with --write-docs, or "
        'python -c \'import sys; sys.path.insert(0, "benchmarks"); import _docs; '
        "_docs.write_headlines()'"
    )
    assert generated(_docs.README) == _docs.headline_table(source, readme=True)


def test_every_target_is_found_in_its_benchmark_block() -> None:
    source = _docs.DOC.read_text(encoding="utf-8")
    for headline in _docs.HEADLINES:
        value, _ = _docs.headline_value(headline, source)
        assert value and "|" not in value and "\n" not in value, headline.target
    assert sum(h.readme for h in _docs.HEADLINES) <= 6  # the README's table stays small


def test_the_table_is_one_line_per_target_with_five_cells() -> None:
    rows = [r for r in generated(_docs.PERFORMANCE) if r.startswith("|")]
    assert len(rows) == 2 + len(_docs.HEADLINES)
    assert all(r.count("|") == 6 for r in rows), rows
    held = {r.rsplit("|", 2)[1].strip() for r in rows[2:]}
    assert held <= {"yes", "**no**"}


def test_a_new_figure_reaches_both_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DOC", "PERFORMANCE", "README"):
        copy = tmp_path / f"{name}.md"
        shutil.copy(getattr(_docs, name), copy)
        monkeypatch.setattr(_docs, name, copy)
    text = _docs.DOC.read_text(encoding="utf-8")
    block = text[text.index("<!-- tick-results -->") : text.index("<!-- /tick-results -->")]
    line = next(ln for ln in block.splitlines() if ln.startswith("* project target: tick"))
    worse = re.sub(r"blocking \(threads\) [\d.]+x", "blocking (threads) 0.61x", line, count=1)
    worse = worse.replace("— held", "— not held")
    lines = block.removeprefix("<!-- tick-results -->").strip("\n").splitlines()
    _docs.write_block(
        "<!-- tick-results -->",
        "<!-- /tick-results -->",
        [worse if ln == line else ln for ln in lines],
    )
    for page in (_docs.PERFORMANCE, _docs.README):
        row = next(r for r in generated(page) if r.startswith("| tick to trade"))
        assert "blocking (threads) 0.61x" in row and row.endswith("| **no** |"), row


def test_the_readme_quotes_no_figure_outside_its_table() -> None:
    text = _docs.README.read_text(encoding="utf-8")
    outside = text[: text.index(BEGIN)] + text[text.index(END) :]
    assert not re.findall(r"\b\d+\.\d+x\b", outside)
    assert "## Status" not in text and "## Benchmarks" not in text
    assert "(docs/performance.md)" in text

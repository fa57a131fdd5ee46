"""bench_instructions.py's table and parsers, on canned tool output.

CI has neither valgrind nor strace, and a traced run takes minutes: the orchestration is run by
hand (`bash scripts/bench-peers`); what it turns the tools' output into is held here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_benchmarks import _docs, load  # it puts benchmarks/ on sys.path

STRACE = """\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 40.00    0.000040           2        20           futex
 30.00    0.000030           1        30         3 recvfrom
 30.00    0.000030           1        50           sendto
------ ----------- ----------- --------- --------- ----------------
100.00    0.000100           1       100         3 total
"""

CALLGRIND = """\
# callgrind format
version: 1
events: Ir
summary: 123456789
totals: 123456789
"""


def test_the_tools_output_is_read() -> None:
    traced = load("_traced")  # shared with bench_tick.py
    assert traced.strace_counts(STRACE) == (100, 20)
    assert traced.callgrind_total(CALLGRIND) == 123456789
    with pytest.raises(ValueError, match="no totals"):
        traced.callgrind_total("events: Ir\n")
    assert traced.per_unit({20: 1_000, 120: 51_000}) == 500
    assert traced.per_unit({20: (9, 1), 120: (109, 1)}, lambda c: c[1]) == 0
    assert traced.per_unit({20: 1_000}) is None
    cmd, env = traced.traced("strace", ["python", "x.py"], Path("out"))
    assert cmd == ["strace", "-f", "-c", "-o", "out", "python", "x.py"]
    assert env["PYTHONHASHSEED"] == "0"


def rows(bench: Any, sdk_why: str = "") -> list[Any]:
    """One row per client; each run's counts made from a known figure per order."""
    made = [bench.Row(kind, bench.NAMES[kind]) for kind in bench.KINDS]
    for row, per_order, calls, futex in zip(
        made,
        (1_000_000, 1_200_000, 900_000, 2_000_000),
        (20, 9, 11, 10),
        (12, 0, 0, 0),
        strict=True,
    ):
        row.instructions = {20: 50_000_000, 120: 50_000_000 + 100 * per_order}
        row.syscalls = {20: (900, 40), 120: (900 + 100 * calls, 40 + 100 * futex)}
    if sdk_why:
        made[3].why, made[3].instructions, made[3].syscalls = sdk_why, {}, {}
    return made


def test_the_table_gives_per_order_differences_and_ratios_to_kalshi_sdk() -> None:
    bench = load("bench_instructions")
    lines = bench.report(rows(bench), (20, 120), {}, "3.12.1")
    text = "\n".join(lines)
    assert lines[0].startswith("Python 3.12.1 on ")
    assert "per order = (run of 120 orders - run of 20) / 100" in lines[0]
    assert "| blocking (threads) | 1,000k | 0.50x | 20.0 | 12.0 |" in text
    assert "| asyncio | 1,200k | 0.60x | 9.0 | 0.0 |" in text
    assert "| trio | 900k | 0.45x | 11.0 | 0.0 |" in text
    assert "| kalshi-sdk (its own asyncio client) | 2,000k | 1.00x | 10.0 | 0.0 |" in text
    assert lines[-2].endswith("blocking (threads) 0.50x; asyncio 0.60x; trio 0.45x — not held")
    assert lines[-1].endswith("blocking (threads) 2.00x; asyncio 0.90x; trio 1.10x — not held")


def test_the_targets_are_judged_on_the_figures_the_table_shows() -> None:
    bench = load("bench_instructions")
    made = rows(bench)
    for row, per_order, calls in zip(
        made, (1_004_000, 1_000_000, 900_000, 2_000_000), (10.02, 10.04, 10.06, 9.98), strict=True
    ):
        row.instructions = {20: 50_000_000, 120: 50_000_000 + 100 * per_order}
        row.syscalls = {20: (900, 40), 120: (900 + round(100 * calls), 40)}
    lines = bench.report(made, (20, 120), {}, "3.12.1")
    text = "\n".join(lines)
    assert "| blocking (threads) | 1,004k | 0.50x | 10.0 | 0.0 |" in text
    assert "| trio | 900k | 0.45x | 10.1 | 0.0 |" in text
    assert "| kalshi-sdk (its own asyncio client) | 2,000k | 1.00x | 10.0 | 0.0 |" in text
    # 0.502x reads 0.50x: held; 10.02 and 10.04 read 10.0 as kalshi-sdk's 9.98 does, 10.06 not
    assert lines[-2].endswith("blocking (threads) 0.50x; asyncio 0.50x; trio 0.45x — held")
    assert lines[-1].endswith("blocking (threads) 1.00x; asyncio 1.00x; trio 1.01x — not held")
    made[2].syscalls = {20: (900, 40), 120: (900 + 1004, 40)}
    assert bench.target_lines(made)[-1].endswith("trio 1.00x — held")


def test_a_missing_peer_or_tool_is_said_in_its_row() -> None:
    bench = load("bench_instructions")
    why = "not installed (needs Python >= 3.12; this is 3.11.7)"
    lines = bench.report(rows(bench, why), (20, 120), {}, "3.11.7")
    text = "\n".join(lines)
    assert f"| kalshi-sdk (its own asyncio client) | — | — | {why} | — |" in text
    assert "| asyncio | 1,200k | — | 9.0 | 0.0 |" in text  # counted, but no ratio
    assert lines[-1].endswith(f"not measurable here: kalshi-sdk {why}")
    no_strace = rows(bench)
    for row in no_strace:
        row.syscalls = {}
    missing = {"strace": "`strace` not installed"}
    text = "\n".join(bench.report(no_strace, (20, 120), missing, "3.12.1"))
    assert "| asyncio | 1,200k | 0.60x | `strace` not installed | `strace` not installed |" in text


def test_it_writes_between_its_markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = load("bench_instructions")
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"before\n{bench.BEGIN}\nold\n{bench.END}\nafter\n", encoding="utf-8")
    monkeypatch.setattr(_docs, "DOC", doc)
    headlines: list[bool] = []
    monkeypatch.setattr(_docs, "write_headlines", lambda: headlines.append(True))
    bench.write_docs(["| new |"])
    assert headlines == [True]
    assert (
        doc.read_text(encoding="utf-8") == f"before\n{bench.BEGIN}\n| new |\n{bench.END}\nafter\n"
    )
    assert f"{bench.BEGIN}\n" in (
        Path(__file__).resolve().parent.parent / "docs" / "maintainers" / "benchmarks.md"
    ).read_text(encoding="utf-8")


def test_ab_instructions_runs_the_before_trees_adapters_not_this_checkouts(
    tmp_path: Path,
) -> None:
    """The editable install maps ``kalshi_fix_sansio.adapters`` to this checkout's adapters/:
    the before side of an A/B finds its own (a link put in its package), or is refused."""
    import subprocess
    import sys

    ab = load("ab_instructions")
    tree = tmp_path / "before"
    (tree / "src" / "kalshi_fix_sansio").mkdir(parents=True)
    (tree / "src" / "kalshi_fix_sansio" / "__init__.py").write_text("")
    with pytest.raises(ValueError, match="no adapters/"):
        ab.before_src(tree)
    (tree / "adapters").mkdir()
    (tree / "adapters" / "__init__.py").write_text("BEFORE = True\n")
    src = ab.before_src(tree)
    assert src == tree / "src"
    assert ab.before_src(tree) == src  # linked once
    seen = subprocess.run(
        [sys.executable, "-c", "import kalshi_fix_sansio.adapters as a; print(a.BEFORE)"],
        env={"PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert seen.stdout.strip() == "True"
    with pytest.raises(ValueError, match="no src/kalshi_fix_sansio"):
        ab.before_src(tmp_path / "nothing")


def test_ab_instructions_compiles_both_sides_once_outside_the_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tree without cached bytecode would compile what it imports in its first (smaller) run
    only, lowering its figure per order: `compile_once` writes every module's bytecode first,
    even with ``PYTHONDONTWRITEBYTECODE`` set."""
    import importlib.util

    ab = load("ab_instructions")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    sides = [tmp_path / "before" / "src", tmp_path / "after" / "src"]
    for side in sides:
        (side / "pkg").mkdir(parents=True)
        (side / "pkg" / "mod.py").write_text("X = 1\n")
    ab.compile_once(*sides)
    for side in sides:
        cached = importlib.util.cache_from_source(str(side / "pkg" / "mod.py"))
        assert Path(cached).is_file()

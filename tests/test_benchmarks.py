# private: the typed-read check walks the generated classes' member infos (`_fields`)
"""The benchmarks still run (a smoke test: tiny sizes, no timing asserted).

(The typed-read check walks the generated classes' members, the private `_fields` infos.)
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest

from kalshi_fix_sansio.codec._fields import GroupInfo

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))  # the benchmarks import their shared helpers (_docs)
import _docs  # noqa: E402


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def kalshi_sdk_row(absent: str, measured: str) -> str:
    """The row text expected when kalshi-sdk is not installed (this venv), else when measured."""
    import _kalshi_sdk

    if _kalshi_sdk.status() is not None:
        return absent
    return f"| {_kalshi_sdk.label()}{measured}"  # under `bash scripts/bench-peers`' venv


def test_session_benchmark_measures_every_pair() -> None:
    bench = load("bench_session")
    pairs = bench.run(rounds=2, count=40)
    lines = bench.report(pairs, 2, 40)
    text = "\n".join(lines)
    assert len(pairs) == 4 and all(len(p.ratios) == 2 and min(p.ratios) > 0 for p in pairs)
    assert "session path, default (validate_messages=True)" in text
    assert "session path, lazy (validate_messages=False)" in text
    assert text.count("the 0.7x target") == 2  # the floor loop is a reference, not judged
    own = next(line for line in lines if line.startswith("* the session's own work"))
    assert "target <= 5.0 µs" in own and ("meets" in own or "NOT met" in own)


def test_codec_benchmark_runs_quickly() -> None:
    bench = load("bench_codec")
    assert bench.main(["--quick"]) == 0


def test_read_benchmark_has_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("bench_read")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in (
        "baseline: split floor |",
        "baseline: split floor, 35=W alone",
        "baseline: minimal join encoder",
        "kalshi-fix-sansio: lazy decode",
        "kalshi-fix-sansio: decode + read MsgType, MsgSeqNum, Symbol",
        "kalshi-fix-sansio: decode + read every field present",
        "kalshi-fix-sansio: decode + read every field present, each frame's tags seen for the "
        "first time",
        "kalshi-fix-sansio: decode + read every field present, more distinct layouts than a "
        "codec remembers",
        "baseline: split floor, 1,536 frames of distinct layouts",
        "kalshi-fix-sansio: decode + read every field present, 1,500 distinct layouts",
        "baseline: split floor, 1,500 frames of distinct layouts",
        "kalshi-fix-sansio: decode + read every field present, a codec of its own, fresh",
        "kalshi-fix-sansio: decode + read every field present, a codec of its own after 1,500 "
        "other layouts",
        "* the corpus read after 1,500 other layouts: ",
        "kalshi-fix-sansio: decode + validate()",
        "simplefix: parse",
        "simplefix: encode",
        "QuickFIX (C++)",
        kalshi_sdk_row("| kalshi-sdk |", ": parse + typed model + read every field present |"),
        "worst case, 35=W alone: kalshi-fix-sansio decode + read every field",
        "kalshi-fix-sansio: NewOrderSingle built from typed values + encoded",
        "vs QuickFIX" if "not installed" in out.split("QuickFIX (C++)")[1][:200] else "QuickFIX's",
    ):
        assert row in out, row
    # header vs QuickFIX, read all, 1,500 layouts, worst case, encode
    assert out.count("(target >= ") == 5


def test_read_benchmark_reads_every_field_present() -> None:
    bench = load("bench_read")
    frames = bench.corpus()
    seen: list[str] = []

    class Spy:
        """Records every attribute read through it (the reader must touch every field)."""

        def __init__(self, target: object, path: str) -> None:
            self._t, self._p = target, path

        def __getattr__(self, name: str) -> object:
            seen.append(f"{self._p}.{name}")
            value = getattr(self._t, name)
            if name == "header":
                return Spy(value, "header")
            if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
                return [Spy(e, f"{self._p}.{name}[]") for e in value]
            return value

    for f in frames:
        msg = bench.p.decode(f)
        seen.clear()
        bench.full_reader(f)(Spy(msg, "m"))
        read = set(seen)
        for member in type(msg)._MEMBERS:
            value = getattr(msg, member.attr)
            if value is None:
                continue
            assert f"m.{member.attr}" in read, (msg.MSG_TYPE, member.attr)
            if isinstance(member, GroupInfo):
                for entry in value:
                    for em in type(entry)._MEMBERS:
                        if getattr(entry, em.attr) is not None:
                            assert f"m.{member.attr}[].{em.attr}" in read, (member.attr, em.attr)
        for hm in type(msg.header)._MEMBERS:
            if getattr(msg.header, hm.attr) is not None:
                assert f"header.{hm.attr}" in read, hm.attr


def test_memory_benchmark_reports_both_rows(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("bench_memory")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "per ExecutionReport queued behind a gap (200 queued" in out
    assert "Books: per price level" in out


def test_latency_benchmark_runs_each_kind_in_several_processes() -> None:
    bench = load("bench_latency")
    adapters = bench.measure(4, 4, procs=2, kinds=("asyncio",))
    assert [a.kind for a in adapters] == ["asyncio"]
    for a in adapters:
        assert [pr.index for pr in a.procs] == [1, 2]  # two processes, each its own interpreter
        assert all(pr.orders == 4 and pr.cpu > 0 and pr.mode in ("fast", "slow") for pr in a.procs)
        assert all(pr.pauses is not None and pr.worst() >= pr.p50() for pr in a.procs)
        assert all(pr.gw_pauses is not None for pr in a.procs)  # the gateway's log was read
    text = "\n".join(bench.report(adapters, (1.0, 1.0), 10))
    assert "| asyncio | #1 " in text and "| asyncio | #2 " in text
    assert "| p99 | max | collections in timed trips: client; gateway |" in text
    assert "| client | speed mode (processes) |" in text  # the same-mode table
    assert "market data through a client Session + Books" in text
    kept = "\n".join(bench.report(adapters, (1.0, 1.0), 10, per_process=False))
    assert "| asyncio | #1 " not in kept and "| client | speed mode (processes) |" in kept


def test_latency_names_the_garbage_collections_inside_the_round_trips() -> None:
    import gc

    bench = load("bench_latency")
    log = bench.GcLog()
    # (generation, start, seconds): before the first round trip, inside it, between the
    # second and third, at the third's end
    log.events = [(0, 0.5, 0.001), (2, 1.05, 0.02), (1, 2.5, 0.003), (1, 3.6, 0.0004)]
    starts, rtts = [1.0, 2.0, 3.5], [0.1, 0.4, 0.1]
    pauses = log.inside(starts, rtts)
    assert pauses == [(0, 2, 0.02), (2, 1, 0.0004)]
    assert bench.Proc("asyncio", 1, rtts, 0.1, 0.0, pauses).gc_text() == (
        "1 full, 1 young, ≤20.00 ms"
    )
    assert bench.Proc("asyncio", 1, rtts, 0.1, 0.0, []).gc_text() == "none"
    assert bench.Proc("asyncio", 1, rtts, 0.1, 0.0).gc_text() == "—"  # not recorded
    proc = bench.Proc("asyncio", 1, rtts, 0.1, 0.0, [])
    proc.gw_pauses = [(1, 2, 0.083)]
    assert proc.gc_text(gateway=True) == "1 full, 0 young, ≤83.00 ms"
    with bench.GcLog() as real:
        gc.collect()
    assert [generation for generation, _, _ in real.events] == [2]
    assert real._callback not in gc.callbacks  # removed on leaving


def procs(bench: ModuleType, kind: str, cpus: list[float], p50: float = 0.0005) -> object:
    """An Adapter of ``kind`` whose processes used ``cpus`` seconds per order (100 orders)."""
    adapter = bench.Adapter(bench.KIND_NAMES[kind], None, floor=kind.endswith("floor"), kind=kind)
    adapter.procs = [
        bench.Proc(kind, i + 1, [p50] * 100, cpu * 100, 0.0) for i, cpu in enumerate(cpus)
    ]
    return adapter


def test_latency_speed_modes_split_each_kind_at_its_widest_step() -> None:
    bench = load("bench_latency")
    two_modes = procs(bench, "asyncio", [0.000200, 0.000262, 0.000204, 0.000258])
    one_mode = procs(bench, "trio", [0.000200, 0.000210, 0.000218])  # steps under 1.12x
    bench.speed_modes([two_modes, one_mode])
    assert [pr.mode for pr in two_modes.procs] == ["fast", "slow", "fast", "slow"]
    assert [pr.mode for pr in one_mode.procs] == ["fast", "fast", "fast"]


def test_latency_targets_compare_processes_of_the_same_speed_mode() -> None:
    bench = load("bench_latency")
    ours = procs(bench, "asyncio", [0.000100, 0.000150], p50=0.0004)
    sdk = procs(bench, "kalshi-sdk", [0.000200, 0.000260], p50=0.0005)
    floor = procs(bench, "floor", [0.000030, 0.000031], p50=0.0002)
    adapters = [ours, floor, sdk]
    bench.speed_modes(adapters)
    assert [pr.mode for pr in ours.procs] == ["fast", "slow"]
    assert [pr.mode for pr in floor.procs] == ["fast", "fast"]
    p50_line, max_line, cpu_line = bench.target_lines(adapters)
    # fast with fast (0.000100 / 0.000200), slow with slow (0.000150 / 0.000260)
    assert "asyncio fast 0.50x, slow 0.58x — held" in cpu_line
    assert "asyncio fast 0.80x, slow 0.80x — held" in p50_line
    assert "asyncio fast 0.80x, slow 0.80x — held" in max_line  # every round trip the p50
    assert "(no FIX library, not judged: floor fast 0.15x)" in cpu_line
    ours.procs[0].rtts[7] = 0.0011  # one round trip of the fast process: 2.2x kalshi-sdk's max
    assert "asyncio fast 2.20x, slow 0.80x — NOT held" in bench.target_lines(adapters)[1]
    ours.procs[0].cpu = 0.000150 * 100  # now one mode only, 0.75x kalshi-sdk's fast process
    bench.speed_modes(adapters)
    assert bench.target_lines(adapters)[2].split(":")[2].startswith(" asyncio fast 0.75x")
    assert bench.target_lines(adapters)[2].split(" (no FIX")[0].endswith("— NOT held")
    # the max of the two processes' worst round trips: (1.1 ms + 0.4 ms) / 2
    assert "asyncio fast 1.50x — held" in bench.target_lines(adapters)[1]
    table = "\n".join(bench.same_mode_table(adapters))
    assert "| asyncio | fast (2) | 400 µs | 0.80x | 750 µs | 1.50x |" in table
    sdk.procs, sdk.why = [], "not installed (needs Python >= 3.12; this is 3.11.7)"
    assert bench.target_lines(adapters)[0].endswith(
        "not measurable here: kalshi-sdk not installed (needs Python >= 3.12; this is 3.11.7)"
    )


def test_latency_reads_the_cpu_target_pass_by_pass() -> None:
    bench = load("bench_latency")
    ours = procs(bench, "asyncio", [0.000100, 0.000150, 0.000130])
    sdk = procs(bench, "kalshi-sdk", [0.000200, 0.000300, 0.000200])
    floor = procs(bench, "floor", [0.000030, 0.000030, 0.000030])
    # pass by pass: 0.50x, 0.50x, 0.65x; the median holds though the last pass does not
    (line,) = bench.paired_line([ours, floor, sdk])
    assert "median over 3 passes" in line
    assert "asyncio 0.50x (0.50-0.57) — held" in line
    assert line.endswith("(no FIX library, not judged: floor 0.15x (0.12-0.15))")
    ours.procs[0].cpu = 0.000130 * 100  # now 0.65x, 0.50x, 0.65x
    assert "asyncio 0.65x (0.57-0.65) — NOT held" in bench.paired_line([ours, floor, sdk])[0]
    ours.procs.pop()  # a pass kalshi-sdk ran and this kind did not: the others still pair
    assert "asyncio 0.57x (0.54-0.61) — held" in bench.paired_line([ours, sdk])[0]
    sdk.procs = []
    assert bench.paired_line([ours, sdk]) == []  # no peer: no line


def test_features_benchmark_pairs_each_adapter_with_itself_and_kalshi_sdk() -> None:
    bench = load("bench_features")
    adapters = []
    for kind, on in bench.KINDS:  # 2 passes; without the bookkeeping 20 % less CPU
        cpu = {"kalshi-sdk": 0.000500, "aio-floor": 0.000150}.get(kind, 0.000300)
        label = "kalshi-sdk" if kind == "kalshi-sdk" else bench.name(kind, on)
        adapter = bench.Adapter(label, None, floor=kind == "aio-floor", kind=kind)
        scale = 1.0 if on else 0.8
        adapter.procs = [
            bench.Proc(kind, i + 1, [0.0005] * 100, cpu * scale * 100, 0.0) for i in range(2)
        ]
        adapters.append(adapter)
    text = "\n".join(bench.report(adapters))
    assert "| asyncio | 300 µs | 0.60x (0.60-0.60) | — |" in text
    assert "| 240 µs | 0.48x (0.48-0.48) | 20.0% (20.0% to 20.0%) |" in text
    assert text.count("20.0% (20.0% to 20.0%)") == 3  # blocking, asyncio, trio
    assert "2 passes of one process per row" in text


@pytest.mark.parametrize(
    "name",
    [
        "bench_session",
        "bench_read",
        "bench_memory",
        "bench_latency",
        "bench_features",
        "bench_corpora",
        "bench_tick",
        "bench_replay",
        "bench_backtest",
    ],
)
def test_benchmarks_write_between_their_markers(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load(name)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "benchmarks.md").write_text(
        f"before\n{bench.BEGIN}\nold\n{bench.END}\nafter\n", encoding="utf-8"
    )
    monkeypatch.setattr(_docs, "DOC", docs / "benchmarks.md")
    headlines: list[bool] = []  # the user pages' tables follow (tests/test_performance_page.py)
    monkeypatch.setattr(_docs, "write_headlines", lambda: headlines.append(True))
    bench.write_docs(["| new |"])
    assert (docs / "benchmarks.md").read_text(encoding="utf-8") == (
        f"before\n{bench.BEGIN}\n| new |\n{bench.END}\nafter\n"
    )
    assert headlines == [True]


def test_bench_replay_replays_and_reports_a_rate() -> None:
    bench = load("bench_replay")
    results = bench.measure([40])
    assert results[0]["messages"] == 42  # a snapshot per market, then the 40
    lines = bench.report(results)
    assert lines[-1].startswith("| 42 | ") and lines[-1].endswith(" MiB |")


def test_bench_backtest_measures_each_path_on_the_same_recording() -> None:
    bench = load("bench_backtest")
    ours = ["backtest", "paper trading", "decode only"]
    results = bench.measure([40], ours)  # a process each; the peer's row: the test below
    results.append(("recording read", bench.recording_read(40)))  # in this one (cheap)
    assert [name for name, _ in results] == [*ours, "recording read"]
    assert {int(r["messages"]) for _, r in results} == {42}  # a snapshot per market, the 40
    lines = bench.report(results)
    table = [line for line in lines if line.startswith("| 42 |")]
    assert table[0].startswith("| 42 | backtest | ") and table[-1].endswith(" MiB |")
    assert lines[-1].startswith("* project target: FIX level, the watching strategy (every event)")


def test_bench_backtest_says_whether_each_rate_target_holds() -> None:
    """Under the table, a line per rate target whose row ran, at the largest size: its median
    run per CPU second (the table's), the best of its runs, held or not."""
    bench = load("bench_backtest")

    def row(messages: int, cpu: float, *rates: float) -> dict[str, object]:
        return {"messages": messages, "cpu": cpu, "wall": cpu, "peak_kib": 1024.0, "rates": rates}

    results = [
        ("compile", row(20_002, 0.5, 30_000.0, 40_004.0, 45_000.0)),
        ("compile", row(100_002, 1.0, 90_000.0, 100_002.0, 110_000.0)),
        ("backtest", row(20_002, 2.0, 9_000.0, 10_001.0, 21_000.0)),
        ("decode only", row(20_002, 0.1)),
    ]
    lines = bench.report(results)
    assert lines[-2:] == [
        "* project target: compile >= 50,000 recorded messages per CPU second: 100,002 (median"
        " of 3 runs of 100,002 messages; best 110,000) — held",
        "* project target: FIX level, the watching strategy (every event) >= 20,000 recorded"
        " messages per CPU second: 10,001 (median of 3 runs of 20,002 messages; best 21,000)"
        " — NOT held",
    ]
    assert not any("book level" in line for line in lines)  # its row did not run


def test_bench_backtest_says_how_to_take_the_peer_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without hftbacktest (not a dependency of the project), its row says how to take it."""
    bench = load("bench_backtest")
    monkeypatch.setitem(sys.modules, "hftbacktest", None)  # its import fails
    got = bench.hftbacktest(40)
    assert "pip install hftbacktest" in got["skipped"]
    assert bench.report([("hftbacktest", got)])[-1] == f"hftbacktest: {got['skipped']}."


@pytest.mark.parametrize(
    "row", ["hftbacktest, Python loop", "hftbacktest, timer", "hftbacktest, timer, Python loop"]
)
def test_bench_backtest_says_how_to_take_each_peer_row(
    row: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of hftbacktest's rows (its loop compiled or not, woken by feeds or by a timer)
    says how to install it when it is missing: the command of the peer's requirements."""
    bench = load("bench_backtest")
    monkeypatch.setitem(sys.modules, "hftbacktest", None)
    got = bench.ROWS[row](40)
    assert "pip install -r benchmarks/peer-requirements.txt" in got["skipped"]
    requirements = (BENCH / "peer-requirements.txt").read_text(encoding="utf-8")
    assert "hftbacktest==2.4.4" in requirements.splitlines()
    assert bench.report([(row, got)])[-1] == f"{row}: {got['skipped']}."


def test_bench_backtest_measures_the_book_states_beside_the_book_level() -> None:
    """The book states' rows (their compile, and their own cost at a timer's wakes and at
    every change) run on the same recording as the book level's, and the notes give the
    ratios of the rates measured at the same size."""
    bench = load("bench_backtest")
    rows = [
        "backtest, book level",
        "backtest, book level, timer",
        "compile, book states",
        "book states, timer",
        "book states, every change",
    ]
    results = bench.measure([40], rows)
    assert {int(r["messages"]) for _, r in results} == {42}
    lines = bench.report(results)
    assert "`read_books_on_timer` (every book, at a wake every 10 s)" in lines[0]
    assert any(line.startswith("| 42 | book states, timer | ") for line in lines)
    assert any(
        line.startswith("compile, book states at 42 messages: the book states are ")
        for line in lines
    )
    assert any(
        line.startswith("at 42 messages: backtest, book level, timer / book states, timer = ")
        for line in lines
    )
    assert [line.split(" >= ")[0] for line in lines if line.startswith("* project")] == [
        "* project target: compile with the book states",
        "* project target: book level, `read_books_on_timer` (a wake every 10 s)",
        "* project target: book level, `read_books` (woken at every change)",
    ]


def test_bench_backtest_splits_the_timer_row_and_models_the_jump() -> None:
    """The timer row's parts (one wake: its per-message work; no books: the bare wait) run on
    the same recording, and the jump's cost model folds the levels the book states hold: its
    best bid and offer at every wake are theirs."""
    bench = load("bench_backtest")
    rows = ["backtest, book level, timer, one wake", "backtest, book level, timer, no books"]
    results = bench.measure([40], rows)
    assert [name for name, _ in results] == rows
    assert {int(r["messages"]) for _, r in results} == {42}
    lines = bench.report(results)
    assert "`read_books_on_timer` (every book, at a wake every 10 s)" in lines[0]
    assert any(line.startswith("| 42 | backtest, book level, timer, no books | ") for line in lines)
    got = bench.jump_state_timer(3_000, check=True)
    assert got["messages"] == 3_002 and got["cpu"] > 0


def test_bench_backtest_gives_the_ratio_of_each_pair_measured_at_one_size() -> None:
    bench = load("bench_backtest")

    def row(messages: int, cpu: float) -> dict[str, object]:
        return {"messages": messages, "cpu": cpu, "wall": cpu, "peak_kib": 1024.0}

    results = [
        ("backtest, book level", row(100, 1.0)),
        ("hftbacktest, Python loop", row(100, 0.25)),
        ("hftbacktest", row(200, 0.01)),  # another size: no pair
        ("hftbacktest, timer, Python loop", {"messages": 100, "skipped": "not installed"}),
    ]
    assert bench.ratios(results) == [
        "at 100 messages: backtest, book level / hftbacktest, Python loop = 0.25x"
    ]


def test_bench_backtest_refuses_a_src_without_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--src`` naming a tree's root rather than its ``src`` would count the installed
    checkout as the other tree: refused before any work, naming the directory."""
    bench = load("bench_backtest")
    monkeypatch.setattr(
        sys, "argv", ["bench_backtest.py", "--instructions", "--src", str(tmp_path)]
    )
    with pytest.raises(SystemExit) as exit_:
        bench.main()
    assert exit_.value.code == 2
    assert f"--src {tmp_path}: no kalshi_fix_sansio package there" in capsys.readouterr().err


def test_bench_backtest_refuses_no_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--runs 0`` would leave no run to take a row's median of: refused before any work."""
    bench = load("bench_backtest")
    monkeypatch.setattr(sys, "argv", ["bench_backtest.py", "--runs", "0"])
    with pytest.raises(SystemExit) as exit_:
        bench.main()
    assert exit_.value.code == 2
    assert "--runs 0: at least one run of each row" in capsys.readouterr().err


# -- kalshi-sdk, the peer measured by `bash scripts/bench-peers` (not installed on this Python) --


def test_kalshi_sdk_rows_say_why_they_are_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    import _kalshi_sdk

    assert _kalshi_sdk.not_installed_reason((3, 11, 7), "3.11.7") == (
        "not installed (needs Python >= 3.12; this is 3.11.7)"
    )
    assert "bash scripts/bench-peers" in _kalshi_sdk.not_installed_reason((3, 12, 1), "3.12.1")

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    why = _kalshi_sdk.status()
    assert why is not None and why.startswith("not installed")
    # installed per its metadata, but its module does not import: the row says so
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "22.4.0")
    monkeypatch.setitem(sys.modules, "kalshi", None)
    why = _kalshi_sdk.status()
    assert why is not None and why.startswith(
        "kalshi-sdk 22.4.0 installed, but `import kalshi.fix`"
    )


def test_kalshi_sdk_coverage_is_described_in_its_row() -> None:
    import _kalshi_sdk

    assert _kalshi_sdk.Coverage(4, 32, [272, 273, 715]).describe() == (
        "keeps 4 of 32 group entries; tags 272, 273, 715 not in its models (dropped)"
    )
    one_tag = _kalshi_sdk.Coverage(32, 32, [715]).describe()
    assert one_tag.endswith("; tag 715 not in its models (dropped)")
    assert _kalshi_sdk.Coverage(1, 1, []).describe() == "keeps 1 of 1 group entries"


def test_read_benchmark_corpus_without_md_entry_date_and_time() -> None:
    bench = load("bench_read")
    frames = bench.corpus()
    assert bench.group_counts(frames) == {136: 1, 1703: 1, 268: 30}
    for frame in frames:
        stripped = bench.strip_tags(frame, bench.MD_DATE_TIME)
        fields = frame.split(b"\x01")[2:-2]  # without 8, 9 and 10
        assert stripped.split(b"\x01")[2:-2] == [
            f for f in fields if not f.startswith((b"272=", b"273="))
        ]
        _, _, rest = stripped.partition(b"\x019=")
        length, _, body_and_trailer = rest.partition(b"\x01")
        body, _, trailer = body_and_trailer.rpartition(b"10=")
        assert int(length) == len(body)
        assert trailer == b"%03d\x01" % (sum(stripped[: len(stripped) - 7]) % 256)
        if b"35=W" in frame or b"35=X" in frame:
            assert len(stripped) < len(frame)
        else:
            assert stripped == frame


def test_latency_gateway_serves_the_mock_key_and_the_rsa_key_for_kalshi_sdk(
    tmp_path: Path,
) -> None:
    import _kalshi_sdk

    bench = load("bench_latency")
    keys, own_key, sdk_key = _kalshi_sdk.gateway_keys(tmp_path)
    assert set(keys) == {own_key[0], _kalshi_sdk.SDK_KEY_ID}
    gw = bench.Gateway(keys, own_key, gc_log=tmp_path / "gc.log")
    try:
        assert len(bench.blocking_block(gw, 3).rtts) == 2  # our clients: the mock key
        # the gateway logs its collections (it ran at least the ones of its start-up)
        collections = gw.collections()
        assert collections and all(g in (0, 1, 2) and s > 0 for g, _, s in collections)
        # the RSA key kalshi-sdk signs with is registered: our own client logs on with it
        gw.key_id, gw.key_path = _kalshi_sdk.SDK_KEY_ID, str(sdk_key)
        assert len(bench.blocking_block(gw, 2).rtts) == 1
    finally:
        gw.close()


@pytest.mark.parametrize("mode", ["limits", "none"])
def test_bench_risk_child_runs_its_orders_through_the_gate(mode: str) -> None:
    """The child `bench_risk.py` counts under callgrind, run plainly: 30 live orders, 3 more
    placed and cancelled through the gate (it asserts the live orders are still 30)."""
    import subprocess

    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_risk.py"), "--child", "30", "3", mode],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_import_benchmark_compares_each_adapter_with_kalshi_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The start-up rows: each adapter's client import over kalshi-sdk's, with and without the
    prediction dialect (the report alone: the counts are callgrind's, minutes long)."""
    bench = load("bench_import")
    monkeypatch.setattr(bench, "adapters", lambda: ["blocking", "asyncio"])
    monkeypatch.setattr(bench._kalshi_sdk, "label", lambda: "kalshi-sdk 22.4.0")
    table = bench.rows(with_sdk=True)
    assert table[0] == ("interpreter alone", "pass") and table[1][1] == bench.SDK
    counts = {bench.SDK: 100e6}
    for i, (_, statement) in enumerate(table[2:]):
        counts[statement] = 50e6 + i * 20e6
    measured = [(label, s, counts[s], 10) for label, s in table[1:]]
    lines = bench.report(measured, 1)
    target = next(line for line in lines if line.startswith("* project target: importing"))
    assert target.endswith("blocking 0.50x, asyncio 0.70x — held"), target
    dialect = next(line for line in lines if line.startswith("* with the prediction dialect"))
    assert dialect.endswith("blocking 0.90x, asyncio 1.10x — NOT held"), dialect
    monkeypatch.setattr(bench._kalshi_sdk, "status", lambda: "kalshi-sdk not installed")
    alone = bench.report([m for m in measured if m[1] != bench.SDK], 1)
    assert alone[-1].endswith("— not compared") and "| 50.0M | — | 10 |" in "\n".join(alone)


def test_bench_backtest_trust_reports_determinism_latency_and_sweep_equality(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bench = load("bench_backtest_trust")
    monkeypatch.setattr(bench, "APIS", ("blocking",))
    monkeypatch.setattr(bench, "EDGES", (0.02,))
    determined = bench.determinism(2)
    assert [(api, n) for api, _, n, _ in determined] == [("blocking", 1), ("blocking", 1)]
    assert determined[0][3] != determined[1][3]  # a latency model changes the report
    effect = bench.latency_effect([0.0, 1.0])
    assert effect[0]["latency"] == "none" and effect[1]["latency"] == "1000 ms"
    assert (effect[0]["fills"], effect[0]["total"]) != (effect[1]["fills"], effect[1]["total"])
    ways = bench.sweep_ways(False)
    assert [how for how, _ in ways] == [
        "in this process (jobs=1)",
        "local processes (jobs=2)",
        "Dask",
    ]
    assert ways[0][1] == ways[1][1] and ways[2][1] == "not run (--no-dask)"
    lines = bench.report(determined, effect, ways, 2)
    assert "| blocking | none | 1 | " in "\n".join(lines)
    assert lines[-1] == "| Dask | not run (--no-dask) |"


def test_bench_collector_child_counts_what_the_orders_leave_tracked() -> None:
    """`bench_collector.py`'s child, run plainly on 300 live orders: its figures are there,
    and the orders leave nothing per order for the collector to walk (on CPython)."""
    import json
    import subprocess

    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_collector.py"), "--child", "300"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["live"] == 300 and row["full_ms"] > 0 and 0 <= row["share"] < 1
    if sys.implementation.name == "cpython":
        assert row["tracked_per_order"] < 0.05, row


def test_bench_dst_reports_runs_per_cpu_second(capsys: pytest.CaptureFixture[str]) -> None:
    assert load("bench_dst").main(["--runs", "3", "--jobs", "2", "--steps", "4"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[2].startswith("| this process | 3 | 0 | ")
    assert rows[3].startswith("| 2 processes | 3 | 0 | ")


def test_frame_read_instructions_runs_every_part(tmp_path: Path) -> None:
    """`frame_read_instructions.py`'s capture and each of its parts, run plainly (no callgrind)
    on a small backtest's frames: every part runs over the frames it names."""
    bench = load("frame_read_instructions")
    path = tmp_path / "frames.pickle"
    bench.capture(path, 300)
    import pickle

    frames = pickle.loads(path.read_bytes())
    assert len(frames) > 250 and all(f.startswith(b"8=FIXT.1.1\x01") for f in frames)
    for part in bench.PARTS:
        bench.run_part(path, part, 1, 50)

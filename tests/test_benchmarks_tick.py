"""bench_tick.py: a quick run through one adapter, the timestamps' rule, the counting window,
and the table.

A traced client run takes minutes: the report is fed canned counts; the wall-time path runs
for real (two ticks), and the counting switch is built and run under callgrind on a few lines.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType

from test_benchmarks import load  # it puts benchmarks/ on sys.path


def test_a_tick_to_trade_is_timed_through_an_adapter() -> None:
    bench = load("bench_tick")
    (result,) = bench.measure(2, 1, None, kinds=("blocking",))
    (proc,) = result.adapter.procs
    assert len(proc.rtts) == 2 and all(0 < t < 1 for t in proc.rtts)
    assert proc.mode == "fast"  # alone in its kind


def test_a_tick_is_timed_from_the_35_x_read_to_the_next_35_d_written() -> None:
    stamps = load("_tick_client").Stamps()
    stamps.wrote(b"8=FIXT.1.1\x019=5\x0135=D\x01")  # no tick pending: not timed
    stamps.read(b"8=FIXT.1.1\x019=5\x0135=8\x01")  # not a tick
    assert stamps.tick_at is None and stamps.latencies == []
    stamps.read(b"8=FIXT.1.1\x019=5\x0135=X\x01")
    stamps.wrote(b"8=FIXT.1.1\x019=5\x0135=0\x01")  # a Heartbeat: still pending
    assert stamps.tick_at is not None
    stamps.wrote(b"8=FIXT.1.1\x019=5\x0135=D\x01")
    assert len(stamps.latencies) == 1 and stamps.tick_at is None
    stamps.read(memoryview(b"8=FIXT.1.1\x019=5\x0135=X\x01"))  # a partial write's view too
    stamps.wrote(bytearray(b"8=FIXT.1.1\x019=5\x0135=D\x01"))
    assert len(stamps.latencies) == 2


def test_a_tick_window_switches_counting_on_at_the_read_and_off_at_the_write() -> None:
    switched: list[int] = []
    stamps = load("_tick_client").Stamps(lambda: switched.append(threading.get_ident()))
    stamps.read(b"8=FIXT.1.1\x019=5\x0135=8\x01")  # not a tick: nothing counted
    assert switched == []
    stamps.read(b"8=FIXT.1.1\x019=5\x0135=X\x01")
    stamps.wrote(b"8=FIXT.1.1\x019=5\x0135=0\x01")  # a Heartbeat: the window stays open
    assert switched == [threading.get_ident()]
    stamps.wrote(b"8=FIXT.1.1\x019=5\x0135=D\x01")
    assert switched == [threading.get_ident()] * 2 and stamps.windows == 1
    stamps.read(b"8=FIXT.1.1\x019=5\x0135=X\x01")
    other = threading.Thread(target=stamps.wrote, args=(b"8=FIXT.1.1\x019=5\x0135=D\x01",))
    other.start()
    other.join()  # written by another thread than the reader: not switched off there, named
    assert len(switched) == 3 and stamps.windows == 1 and stamps.split == 1


def test_the_counting_switch_counts_only_its_window_under_callgrind(tmp_path: Path) -> None:
    traced = load("_traced")
    lib = traced.window_library(tmp_path)
    assert isinstance(lib, Path), lib
    script = (
        "import ctypes, sys\n"
        f"switch = ctypes.CDLL({str(lib)!r}).kfs_toggle_collect\n"
        "n = int(sys.argv[1])\n"
        "sum(range(200_000))\n"  # outside the window: not counted
        "switch()\n"
        "sum(range(n))\n"
        "switch()\n"
        "sum(range(200_000))\n"
    )
    counts = {}
    for n in (0, 100_000):
        out = tmp_path / f"cg.{n}"
        cmd, env = traced.traced(
            "callgrind", [sys.executable, "-c", script, str(n)], out, collect_at_start=False
        )
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=300)
        counts[n] = traced.counted("callgrind", out)
    assert counts[0] < 20_000  # the switch's own call
    # the window's 100,000 additions, a few dozen instructions each, and nothing else
    assert 1_000_000 < counts[100_000] - counts[0] < 20_000_000


def results(bench: ModuleType, sdk_why: str = "") -> list[object]:
    latency = load("_procs")  # shared with bench_latency.py
    out = []
    for kind, instructions, window, p50 in (
        ("blocking", (10_000_000, 60_000_000), (9_000_000, 29_000_000), 0.0003),
        ("kalshi-sdk", (20_000_000, 120_000_000), (8_000_000, 58_000_000), 0.0002),
    ):
        r = bench.KindResult(
            kind, bench.NAMES[kind], adapter=latency.Adapter(kind, None, kind=kind)
        )
        r.adapter.procs = [latency.Proc(kind, i + 1, [p50] * 10, 0.001, 0.0) for i in range(2)]
        r.instructions = dict(zip((10, 60), instructions, strict=True))
        r.window = dict(zip((10, 60), window, strict=True))
        out.append(r)
    if sdk_why:
        out[1].why, out[1].instructions, out[1].window = sdk_why, None, None
        out[1].adapter.procs = []
    latency.speed_modes([r.adapter for r in out])
    return out


def test_the_table_gives_instructions_per_tick_and_ratios_to_kalshi_sdk() -> None:
    bench = load("bench_tick")
    lines = bench.report(results(bench), (10, 60), "")
    text = "\n".join(lines)
    assert "| blocking (threads) | #2 | fast | 10 | 300 µs |" in text
    # the window: 400k against 1,000k; all the process does: 1,000k against 2,000k
    assert "| blocking (threads) | 400k | 0.40x | 1,000k | 0.50x | fast 1.50x |" in text
    assert "| kalshi-sdk (its own asyncio client) | 1,000k | 1.00x | 2,000k | 1.00x | — |" in text
    assert lines[-2].endswith("reported beside it): blocking (threads) 0.50x")
    assert lines[-1].endswith("instructions: blocking (threads) 0.40x — held")
    why = "not installed (needs Python >= 3.12; this is 3.11.7)"
    lines = bench.report(results(bench, why), (10, 60), "")
    assert f"| kalshi-sdk (its own asyncio client) | — | — | — | {why} |" in "\n".join(lines)
    assert f"| kalshi-sdk (its own asyncio client) | {why} | — | {why} | — | — |" in "\n".join(
        lines
    )
    assert lines[-1].endswith(f"not measurable here: kalshi-sdk {why}")

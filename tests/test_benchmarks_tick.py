"""bench_tick.py: a quick run through one adapter, the timestamps' rule, and the table.

Callgrind is not run here (CI has no valgrind and a traced run takes minutes): its count is
fed to the report from canned figures; the wall-time path runs for real, two ticks.
"""

from __future__ import annotations

from types import ModuleType

from test_benchmarks import load  # it puts benchmarks/ on sys.path


def test_a_tick_to_trade_is_timed_through_an_adapter() -> None:
    bench = load("bench_tick")
    (result,) = bench.measure(2, 1, None, kinds=("blocking",))
    (proc,) = result.adapter.procs
    assert len(proc.rtts) == 2 and all(0 < t < 1 for t in proc.rtts)
    assert proc.mode == "fast"  # alone in its kind


def test_a_tick_is_timed_from_the_35_x_read_to_the_next_35_d_written() -> None:
    bench = load("bench_tick")
    stamps = bench.Stamps()
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


def results(bench: ModuleType, sdk_why: str = "") -> list[object]:
    latency = load("_procs")  # shared with bench_latency.py
    out = []
    for kind, instructions, p50 in (
        ("blocking", (10_000_000, 60_000_000), 0.0003),
        ("kalshi-sdk", (20_000_000, 120_000_000), 0.0002),
    ):
        r = bench.KindResult(kind, bench.NAMES[kind], adapter=latency.Adapter(kind, None, kind=kind))
        r.adapter.procs = [latency.Proc(kind, i + 1, [p50] * 10, 0.001, 0.0) for i in range(2)]
        r.instructions = dict(zip((10, 60), instructions, strict=True))
        out.append(r)
    if sdk_why:
        out[1].why, out[1].instructions, out[1].adapter.procs = sdk_why, None, []
    latency.speed_modes([r.adapter for r in out])
    return out


def test_the_table_gives_instructions_per_tick_and_ratios_to_kalshi_sdk() -> None:
    bench = load("bench_tick")
    lines = bench.report(results(bench), (10, 60), "")
    text = "\n".join(lines)
    assert "| blocking (threads) | #2 | fast | 10 | 300 µs |" in text
    assert "| blocking (threads) | 1,000k | 0.50x | fast 1.50x |" in text
    assert "| kalshi-sdk (its own asyncio client) | 2,000k | 1.00x | — |" in text
    assert lines[-1].endswith("blocking (threads) 0.50x — held")
    why = "not installed (needs Python >= 3.12; this is 3.11.7)"
    lines = bench.report(results(bench, why), (10, 60), "")
    assert f"| kalshi-sdk (its own asyncio client) | — | — | — | {why} |" in "\n".join(lines)
    assert lines[-1].endswith(f"not measurable here: kalshi-sdk {why}")

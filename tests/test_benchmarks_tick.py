"""bench_tick.py: a quick run through one adapter, the timestamps' rule, the counting window,
the socket timestamps, and the table.

A traced client run takes minutes: the report is fed canned counts; the wall-time path runs
for real (two ticks, both windows), the counting switch is built and run under callgrind on a
few lines, and the socket timestamps library is built and preloaded into a small program.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType

import pytest
from test_benchmarks import load  # it puts benchmarks/ on sys.path


def test_a_tick_to_trade_is_timed_through_an_adapter() -> None:
    bench = load("bench_tick")
    (result,), why_no_sockets = bench.measure(2, 1, None, kinds=("blocking",))
    (proc,) = result.adapter.procs
    assert len(proc.rtts) == 2 and all(0 < t < 1 for t in proc.rtts)
    assert proc.mode == "fast"  # alone in its kind
    assert why_no_sockets == ""
    (sockets,) = result.sockets  # each socket window holds its plaintext window
    assert len(sockets) == 2 and all(s > p for s, p in zip(sockets, proc.rtts, strict=True))


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


class FakeSockets:
    """The socket timestamps library's three functions, with times set by the test (ns)."""

    def __init__(self) -> None:
        self.last_read = 0
        self.armed: list[int] = []
        self.written: dict[int, int] = {}

    def kfs_last_read(self) -> int:
        return self.last_read

    def kfs_arm(self, slot: int) -> None:
        self.armed.append(slot)

    def kfs_written(self, slot: int) -> int:
        return self.written.get(slot, 0)


def test_a_socket_window_runs_from_the_ticks_read_to_the_orders_write() -> None:
    client = load("_tick_client")
    sockets = FakeSockets()
    stamps = client.Stamps(sockets=sockets)
    sockets.last_read = 1_000
    stamps.read(b"8=FIXT.1.1\x019=5\x0135=8\x01")  # not a tick: its read is not kept
    sockets.last_read = int(time.perf_counter() * 1e9) - 5_000  # 5 µs before the plaintext
    stamps.read(b"8=FIXT.1.1\x019=5\x0135=X\x01")
    stamps.wrote(b"8=FIXT.1.1\x019=5\x0135=0\x01")  # a Heartbeat: nothing armed
    assert sockets.armed == []
    stamps.wrote(b"8=FIXT.1.1\x019=5\x0135=D\x01")
    assert sockets.armed == [0]  # the next socket write is the order's
    sockets.written[0] = int(time.perf_counter() * 1e9) + 3_000
    (window,) = stamps.socket_latencies()
    (plain,) = stamps.latencies
    assert plain + 8e-6 <= window < plain + 0.5


def test_a_tick_without_its_socket_write_or_within_its_plaintext_window_fails() -> None:
    client = load("_tick_client")
    sockets = FakeSockets()
    stamps = client.Stamps(sockets=sockets)
    sockets.last_read = int(time.perf_counter() * 1e9)
    stamps.read(b"8=FIXT.1.1\x019=5\x0135=X\x01")
    stamps.wrote(b"8=FIXT.1.1\x019=5\x0135=D\x01")
    with pytest.raises(RuntimeError, match="tick 0: socket read or write not timestamped"):
        stamps.socket_latencies()  # the library saw no write after the order
    sockets.written[0] = sockets.last_read + 1  # 1 ns: inside the plaintext window
    with pytest.raises(RuntimeError, match=r"tick 0: socket window .* shorter than the plain"):
        stamps.socket_latencies()


SOCKET_PROGRAM = """
import ctypes, socket, sys, time
sys.path.insert(0, sys.argv[1])
from _tick_client import load_sockets
lib = load_sockets(sys.argv[2])
server = socket.create_server(("127.0.0.1", 0))
a = socket.create_connection(server.getsockname())
b, _ = server.accept()
local, other = socket.socketpair()  # AF_UNIX: not a TCP socket, never timestamped
a.sendall(b"tick")
before = time.perf_counter()
assert b.recv(16) == b"tick"
after = time.perf_counter()
read = lib.kfs_last_read() / 1e9
assert before <= read <= after, (before, read, after)
local.sendall(b"x"); other.recv(1)  # not TCP: the last TCP read stays
assert lib.kfs_last_read() / 1e9 == read
lib.kfs_arm(7)
local.sendall(b"y")  # not TCP: the slot stays armed
assert lib.kfs_written(7) == 0
before = time.perf_counter()
b.sendall(b"order")
after = time.perf_counter()
wrote = lib.kfs_written(7) / 1e9
assert before <= wrote <= after, (before, wrote, after)
b.sendall(b"more")  # disarmed by the first write: the slot keeps its time
assert lib.kfs_written(7) / 1e9 == wrote
print("ok")
"""


def test_the_socket_library_times_tcp_reads_and_the_armed_write(tmp_path: Path) -> None:
    traced = load("_traced")
    lib = traced.socket_library(tmp_path)
    assert isinstance(lib, Path), lib
    bench = Path(__file__).resolve().parent.parent / "benchmarks"
    done = subprocess.run(
        [sys.executable, "-c", SOCKET_PROGRAM, str(bench), str(lib)],
        env={**os.environ, "LD_PRELOAD": str(lib)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


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
        r.sockets = [[p50 + 0.00002 * (i + 1)] * 10 for i in range(2)]
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
    # the plaintext window's p50 and p99, then the socket window's
    assert "| blocking (threads) | #2 fast | 10 | 300 µs | 300 µs | 340 µs | 340 µs |" in text
    # the window: 400k against 1,000k; all the process does: 1,000k against 2,000k
    assert "| blocking (threads) | 400k | 0.40x | 1,000k | 0.50x | fast 1.50x |" in text
    assert "| kalshi-sdk (its own asyncio client) | 1,000k | 1.00x | 2,000k | 1.00x | — |" in text
    assert lines[-2].endswith("reported beside it): blocking (threads) 0.50x")
    assert lines[-1].endswith("instructions: blocking (threads) 0.40x — held")
    why = "not installed (needs Python >= 3.12; this is 3.11.7)"
    out = results(bench, why)
    lines = bench.report(out, (10, 60), "")
    assert f"| kalshi-sdk (its own asyncio client) | — | — | {why} |" in "\n".join(lines)
    assert f"| kalshi-sdk (its own asyncio client) | {why} | — | {why} | — | — |" in "\n".join(
        lines
    )
    assert lines[-1].endswith(f"not measurable here: kalshi-sdk {why}")
    for r in out:  # no C compiler: the socket columns say why
        r.sockets = []
    lines = bench.report(out, (10, 60), "", "no C compiler")
    assert "| blocking (threads) | #1 fast | 10 | 300 µs | 300 µs | no C compiler | — |" in (
        "\n".join(lines)
    )


def test_kalshi_sdks_counts_over_several_runs_are_a_spread_and_ratios_take_its_lowest() -> None:
    bench = load("bench_tick")
    out = results(bench)
    sdk = out[1]
    # two more pairs of runs: 1,200k and 1,100k per window (1,000k in the first)
    sdk.more_window = [{10: 8_000_000, 60: 68_000_000}, {10: 8_000_000, 60: 63_000_000}]
    sdk.more_instructions = [{10: 20_000_000, 60: 120_000_000}] * 2
    lines = bench.report(out, (10, 60), "")
    text = "\n".join(lines)
    assert (
        "| kalshi-sdk (its own asyncio client) | 1,000k (1,000k-1,200k over 3 runs) | 1.00x "
        "| 2,000k (2,000k-2,000k over 3 runs) | 1.00x | — |" in text
    )
    assert "| blocking (threads) | 400k | 0.40x | 1,000k | 0.50x |" in text  # to the lowest
    assert "kalshi-sdk: 3 pairs of runs" in text and "tick to trade 1,000k-1,200k" in text
    assert lines[-1].endswith("instructions: blocking (threads) 0.40x — held")


def test_the_performance_page_gives_both_windows_spread_over_processes() -> None:
    import _docs as docs  # the module the benchmarks share (not a second copy of it)

    bench = load("bench_tick")
    lines = bench.report(results(bench), (10, 60), "")
    source = docs.DOC.read_text(encoding="utf-8")
    begin, end = "<!-- tick-results -->", "<!-- /tick-results -->"
    source = (
        source[: source.index(begin) + len(begin)] + "\n".join(lines) + source[source.index(end) :]
    )
    assert docs.headline_table(source)[-1].endswith(
        "the tick-to-trade p50 of each of the run's processes, lowest to highest, from the "
        "35=X's plaintext out of TLS to the order's plaintext into TLS: blocking (threads) "
        "300-300 µs; kalshi-sdk (its own asyncio client) 200-200 µs; from the read system call "
        "that brought the 35=X to the write system call that took the order: blocking "
        "(threads) 320-340 µs; kalshi-sdk (its own asyncio client) 220-240 µs."
    )


def test_an_ab_of_the_clients_library_gives_each_run_the_means_and_the_change() -> None:
    bench = load("bench_tick")
    runs = {"blocking": ([250_000.0, 248_000.0], [255_000.0, 256_000.0])}
    lines = bench.ab_table("../before/.venv/bin/python", (10, 60), runs)
    assert lines[0].startswith("A: the clients run by ../before/.venv/bin/python; B: by ")
    assert "runs of 10 and 60 ticks" in lines[0]
    assert lines[-1] == (
        "| blocking (threads) | 250.0k, 248.0k | 255.0k, 256.0k | 249.0k | 255.5k | +2.6 % |"
    )


def test_an_ab_refuses_a_client_kind_it_does_not_know(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("bench_tick")
    with pytest.raises(SystemExit) as exited:
        bench.main(["--ab", sys.executable, "--kinds", "blocking,quickfix"])
    assert exited.value.code == 2
    assert "--kinds: unknown quickfix" in capsys.readouterr().err

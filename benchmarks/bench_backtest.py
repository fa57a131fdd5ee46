"""Backtests: recorded messages per second through the whole in-memory path, beside paper
trading over a socket and beside the codec's own decode of the same frames, in the same run.

    .venv/bin/python benchmarks/bench_backtest.py [--quick] [--sizes N ...] [--write-docs]

A generated recording (`kalshi_fix_sansio.testing.recordings.write_recording`: two prediction
markets, level changes and trades) of N messages. Three rows per size, each in a process of its
own (so its peak resident memory is its own):

* **backtest**: `run_backtest` with a blocking strategy that subscribes to both markets and
  reads every event (its session keeps the books): the recording read, the exchange, its
  35=X encoded for the subscriber, the client's session, driver and books, all in memory on
  the simulated clock. Rate = recorded messages / the run's CPU seconds (the process's own
  time: other jobs on the shared machine move the wall clock much more than this), and wall.
* **paper trading**: the same recording replayed by the mock gateway to a blocking client
  over plain TCP on loopback, ``as_fast_as_possible`` (`bench_replay.one`): the path a
  backtest replaces. Rate per wall second (two processes' work: the gateway's thread and the
  client's).
* **decode only**: `kalshi_fix_sansio.prediction.decode` of each recorded frame, once: the
  codec's rate, a floor of what any path that reads each message pays (the whole path decodes
  each message twice and encodes it once, beside the exchange and the books).
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _docs import arguments, publish

BEGIN = "<!-- backtest-results -->"
END = "<!-- /backtest-results -->"


def _recording(directory: str, messages: int) -> Path:
    from kalshi_fix_sansio.testing.recordings import write_recording

    path = Path(directory) / "bench.log"
    with open(path, "w", encoding="utf-8") as out:
        write_recording(out, messages=messages)
    return path


def backtest(messages: int) -> dict[str, float]:
    """One backtest of a watching strategy: messages, CPU and wall seconds, peak RSS."""
    from kalshi_fix_sansio.backtest import Context, run_backtest
    from kalshi_fix_sansio.builders import Requests

    def watch(ctx: Context) -> None:
        with ctx.client(market_data=True).market_data() as md:
            md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
            while ctx.seconds > 0 and md.next_event(timeout=ctx.seconds) is not None:
                pass

    with tempfile.TemporaryDirectory() as tmp:
        path = _recording(tmp, messages)
        cpu, wall = time.process_time(), time.perf_counter()
        result = run_backtest(watch, path)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"messages": result.messages, "cpu": cpu, "wall": wall, "peak_kib": float(peak)}


def decode_only(messages: int) -> dict[str, float]:
    """The codec's decode of each recorded frame (read from the file first)."""
    from kalshi_fix_sansio import prediction

    with tempfile.TemporaryDirectory() as tmp:
        path = _recording(tmp, messages)
        frames = [
            line.split(b" ", 3)[3].rstrip(b"\n").replace(b"|", b"\x01")
            for line in path.read_bytes().splitlines(keepends=True)
            if not line.startswith(b"#")
        ]
    cpu, wall = time.process_time(), time.perf_counter()
    for frame in frames:
        prediction.decode(frame, use_dollars=True)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"messages": len(frames), "cpu": cpu, "wall": wall, "peak_kib": float(peak)}


def paper(messages: int) -> dict[str, float]:
    """Paper trading over a socket (`bench_replay.one`)."""
    from bench_replay import one

    got = one(messages)
    return {"messages": got["messages"], "cpu": 0.0, "wall": got["seconds"], **got}


ROWS = {"backtest": backtest, "paper trading": paper, "decode only": decode_only}


def measure(sizes: list[int]) -> list[tuple[str, dict[str, float]]]:
    results = []
    for size in sizes:
        for name in ROWS:
            done = subprocess.run(
                [sys.executable, __file__, "--one", name, str(size)],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append((name, json.loads(done.stdout.strip().splitlines()[-1])))
    return results


def report(results: list[tuple[str, dict[str, float]]]) -> list[str]:
    lines = [
        f"Python {platform.python_version()}, {platform.machine()}; a blocking strategy that "
        "reads every book; paper trading: plain TCP on loopback, `as_fast_as_possible`.",
        "",
        "| recorded messages | path | per CPU second | per wall second | peak RSS |",
        "|---|---|---|---|---|",
    ]
    for name, r in results:
        cpu = f"{r['messages'] / r['cpu']:,.0f}" if r["cpu"] else "-"
        wall = f"{r['messages'] / r['wall']:,.0f}" if r["wall"] else "-"
        lines.append(
            f"| {int(r['messages']):,} | {name} | {cpu} | {wall} | {r['peak_kib'] / 1024:.0f} MiB |"
        )
    return lines


def write_docs(lines: list[str]) -> None:
    """Write the table between this benchmark's markers in docs/maintainers/benchmarks.md."""
    from _docs import write_block

    write_block(BEGIN, END, lines)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(ROWS[sys.argv[2]](int(sys.argv[3]))))
        return
    parser = arguments(__doc__ or "", "one small recording (a smoke run)")
    parser.add_argument("--sizes", type=int, nargs="+", help="recording lengths")
    args = parser.parse_args()
    sizes = args.sizes or ([400] if args.quick else [20_000, 100_000])
    publish(report(measure(sizes)), BEGIN, END, args.write_docs)


if __name__ == "__main__":
    main()

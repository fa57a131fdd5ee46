"""Paper trading: how fast a recording replays, and that memory does not grow with its length.

    .venv/bin/python benchmarks/bench_replay.py [--quick] [--sizes N ...] [--write-docs]

A manual benchmark: the default sizes (20,000, 200,000 and 1,000,000 recorded messages) take
about 7 minutes on a two-core machine; CI runs only a small smoke size
(tests/test_benchmarks.py), and tests/test_paper.py checks that reading a recording holds less
memory than the file.

A generated recording (`kalshi_fix_sansio.simulator.testing.recordings.write_recording`: two prediction
markets, level changes and trades) of N messages is replayed into the mock gateway with
``as_fast_as_possible`` (each message once the client read the one before), and a blocking
client on KalshiMD (plain TCP, loopback) reads every book as it comes. Each size runs in its
own process, so its peak resident memory is its own.

Reported per size: recorded messages per second through the gateway and the client (from the
first message to the end of the recording, wall clock), and the process's peak RSS. The
recording streams (one line in memory at a time), so the peak stays flat as N grows fiftyfold.
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

BEGIN = "<!-- replay-results -->"
END = "<!-- /replay-results -->"


def one(messages: int) -> dict[str, float]:
    """Replay a recording of ``messages`` messages to a blocking client; rate and peak RSS."""
    from kalshi_fix_sansio import ApplicationMessage, Backoff
    from kalshi_fix_sansio.adapters.blocking import FixClient
    from kalshi_fix_sansio.session import Credentials
    from kalshi_fix_sansio.simulator.gateway import MockGateway
    from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
    from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_MARKETS, write_recording
    from kalshi_fix_sansio.trading.book import Books
    from kalshi_fix_sansio.trading.builders import Requests

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.log"
        with open(path, "w", encoding="utf-8") as out:
            write_recording(out, messages=messages)
        signer, public = new_ed25519_keys()
        gateway = MockGateway("prediction", keys={"k": public}, heartbeat_interval=30)
        replay = gateway.replay(path, as_fast_as_possible=True)
        with gateway:
            client = FixClient(
                Credentials("k", signer),
                endpoints=gateway.endpoints,
                backoff=Backoff(attempts=1),
            )
            books = Books()
            with client.market_data() as md:
                md.send(Requests("prediction", "KalshiMD").subscribe(list(SAMPLE_MARKETS)))
                began = time.perf_counter()
                while not replay.done.is_set():
                    event = md.next_event(timeout=0.5)
                    if isinstance(event, ApplicationMessage):
                        books.apply(event.message)
                elapsed = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"messages": replay.messages, "seconds": elapsed, "peak_kib": float(peak)}


def measure(sizes: list[int]) -> list[dict[str, float]]:
    """Each size in a process of its own."""
    results = []
    for size in sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def report(results: list[dict[str, float]]) -> list[str]:
    lines = [
        f"Python {platform.python_version()}, {platform.machine()}; blocking client, plain TCP "
        "on loopback, `as_fast_as_possible`.",
        "",
        "| recorded messages | replayed per second | peak RSS of the process |",
        "|---|---|---|",
    ]
    for r in results:
        rate = r["messages"] / r["seconds"] if r["seconds"] else 0.0
        lines.append(f"| {int(r['messages']):,} | {rate:,.0f} | {r['peak_kib'] / 1024:.0f} MiB |")
    return lines


def write_docs(lines: list[str]) -> None:
    """Write the table between this benchmark's markers in docs/maintainers/benchmarks.md."""
    from _docs import write_block

    write_block(BEGIN, END, lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(one(int(sys.argv[2]))))
        return
    parser = arguments(__doc__ or "", "two small recordings (a smoke run)")
    parser.add_argument("--sizes", type=int, nargs="+", help="recording lengths to replay")
    args = parser.parse_args()
    sizes = args.sizes or ([300, 1_200] if args.quick else [20_000, 200_000, 1_000_000])
    publish(report(measure(sizes)), BEGIN, END, args.write_docs)


if __name__ == "__main__":
    main()

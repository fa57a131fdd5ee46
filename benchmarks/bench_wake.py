"""One event loop wake, trio's against asyncio's: instructions per wake (callgrind).

    .venv/bin/python benchmarks/bench_wake.py [--wakes 200 1200]

What a report's read pays the event loop, with nothing of the library in it: a byte made
readable on one end of a socket pair, the task waiting for it woken, the byte read. trio: the
task waits in ``trio.lowlevel.wait_readable`` and reads (the trio pump's read, in the waiting
task: `TrioPump.drive`); asyncio: a reader callback (``loop.add_reader``) reads and resolves
the waiting task's future (the asyncio pump's `AioPump.readable` and the caller's wait). Each
kind runs in a child under ``valgrind --tool=callgrind`` twice (two lengths); per wake = the
difference of the counts / the difference of the lengths, so start-up cancels out. An order of
`bench_instructions.py` (order -> New -> cancel -> Canceled) is two wakes: twice the
difference per wake is what trio's order pays its loop beyond asyncio's.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from _traced import counted, per_unit, tools_missing, traced

HERE = Path(__file__).resolve()
KINDS = ("asyncio", "trio")
WAKES_PER_ORDER = 2  # the New and the Canceled, each read when it comes


def wakes(kind: str, n: int) -> int:
    """``n`` wakes of ``kind``'s loop (see the module docstring); the bytes read."""
    a, b = socket.socketpair()
    a.setblocking(False)
    got = 0
    try:
        if kind == "trio":
            import trio

            async def trio_main() -> None:
                nonlocal got
                for _ in range(n):
                    b.send(b"x")
                    await trio.lowlevel.wait_readable(a)
                    got += len(a.recv(1))

            trio.run(trio_main)
        else:
            import asyncio

            async def asyncio_main() -> None:
                nonlocal got
                loop = asyncio.get_running_loop()
                waiting: list[asyncio.Future[None]] = []

                def readable() -> None:
                    nonlocal got
                    got += len(a.recv(1))
                    if waiting:
                        waiting.pop().set_result(None)

                loop.add_reader(a, readable)
                for _ in range(n):
                    future = loop.create_future()
                    waiting.append(future)
                    b.send(b"x")
                    await future
                loop.remove_reader(a)

            asyncio.run(asyncio_main())
    finally:
        a.close()
        b.close()
    return got


def report(per: dict[str, float]) -> list[str]:
    """The table of instructions per wake (``per``: kind -> figure) and trio's extra per order."""
    extra = per["trio"] - per["asyncio"]
    return [
        "| loop | instructions per wake |",
        "|---|---:|",
        *(f"| {kind} | {per[kind] / 1000:,.1f}k |" for kind in KINDS),
        f"trio's wake - asyncio's: {extra / 1000:+,.1f}k; per order ({WAKES_PER_ORDER} wakes): "
        f"{WAKES_PER_ORDER * extra / 1000:+,.1f}k",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--wakes", type=int, nargs=2, default=(200, 1200))
    ap.add_argument("--child", nargs=2, metavar=("KIND", "WAKES"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, n = args.child
        return 0 if wakes(kind, int(n)) == int(n) else 1
    if "callgrind" in tools_missing():
        ap.error("needs valgrind (callgrind)")
    per: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-wake-") as tmp:
        for kind in KINDS:
            counts: dict[int, int | tuple[int, int]] = {}
            for n in args.wakes:
                out = Path(tmp) / f"{kind}-{n}.out"
                cmd, env = traced(
                    "callgrind", [sys.executable, str(HERE), "--child", kind, str(n)], out
                )
                subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=1800)
                counts[n] = counted("callgrind", out)
            figure = per_unit(counts)
            assert figure is not None  # two lengths
            per[kind] = figure
    print("\n".join(report(per)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

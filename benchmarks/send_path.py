"""The path of ``session.send(order)``: the project's files and the Python calls it crosses
before its bytes reach the socket.

    .venv/bin/python benchmarks/send_path.py [--adapter blocking|asyncio|trio] [--list]

A blocking (or asyncio, trio) order-entry session logs on to the mock gateway (its own process,
`_gateway.Gateway`), sends one GTC limit buy and waits for its acknowledgement (the first
order fills the codec's caches), then sends a second one under ``sys.setprofile``: every
Python function entered from the call of ``send`` until the first call of a socket's (or TLS
object's) send or write method is counted, with the file it is in. Printed: the Python calls
(all, and the project's: ``src/kalshi_fix_sansio`` and ``adapters``) and the project's files.
``--list`` prints each call, indented by depth. The asyncio and trio sessions send with
``send`` too (what reaches the socket is written in the same call: ``send`` never waits).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from _gateway import Gateway, acked, order

ROOT = Path(__file__).resolve().parent.parent
PROJECT = (
    str(ROOT / "src" / "kalshi_fix_sansio"),
    str(ROOT / "src" / "kalshi_fix_sansio" / "adapters"),
)
WRITES = {"send", "sendall", "write"}  # a socket's, an SSLSocket's, an SSLObject's, a transport's


class Trace:
    """The calls entered under ``sys.setprofile`` until the first write to a socket."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, str]] = []  # depth, file, function
        self.depth = 0
        self.done = False

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if self.done:
            return
        if event == "call":
            self.depth += 1
            code = frame.f_code
            self.calls.append((self.depth, code.co_filename, code.co_qualname))
        elif event == "return":
            self.depth -= 1
        elif event == "c_call" and getattr(arg, "__name__", "") in WRITES:
            owner = type(getattr(arg, "__self__", None)).__name__
            if owner in ("socket", "_SSLSocket", "MemoryBIO"):  # a socket, TLS over one or memory
                self.done = True

    def project(self) -> list[tuple[int, str, str]]:
        return [c for c in self.calls if c[1].startswith(PROJECT)]


def traced(send: Any, message: Any) -> Trace:
    trace = Trace()
    sys.setprofile(trace)
    try:
        send(message)
    finally:
        sys.setprofile(None)
    if not trace.done:
        raise SystemExit("no socket write seen: the send path changed (see WRITES)")
    return trace


def run(adapter: str, gw: Gateway) -> Trace:
    kwargs = gw.client_kwargs()
    if adapter == "blocking":
        from kalshi_fix_sansio.adapters.blocking import FixClient

        with FixClient.from_key(gw.key_id, **kwargs).order_entry() as oe:
            first = order()
            oe.wait_for(acked(first.cl_ord_id), 10, send=first)
            return traced(oe.send, order())

    async def session(client: Any) -> Trace:
        async with client.order_entry() as oe:
            first = order()
            await oe.wait_for(acked(first.cl_ord_id), 10, send=first)
            return traced(oe.send, order())

    if adapter == "asyncio":
        from kalshi_fix_sansio.adapters.asyncio import FixClient as AioClient

        return asyncio.run(session(AioClient.from_key(gw.key_id, **kwargs)))
    import trio

    from kalshi_fix_sansio.adapters.trio import FixClient as TrioClient

    result: Trace = trio.run(session, TrioClient.from_key(gw.key_id, **kwargs))
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", choices=("blocking", "asyncio", "trio"), default="blocking")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    gw = Gateway()
    try:
        trace = run(args.adapter, gw)
    finally:
        gw.close()
    ours = trace.project()
    files = sorted({c[1] for c in ours})
    if args.list:
        for depth, file, name in trace.calls:
            mark = "*" if file.startswith(PROJECT) else " "
            print(f"{mark} {'  ' * depth}{name}  ({Path(file).name})")
    print(
        f"session.send(order), {args.adapter}: {len(trace.calls)} Python calls, "
        f"{len(ours)} of them the project's, in {len(files)} of its files"
    )
    for file in files:
        print(f"  {Path(file).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A trio market-data recorder: subscribe to markets and write every message to a file.

It logs on to KalshiMD, subscribes to the markets (snapshot plus updates; the subscription is
sent again by itself after a reconnect), and writes a recording (`kalshi_fix_sansio.simulator.data.recording`):
a header line naming the product and the markets, then one message-log line per application
message received: the receive time (UTC), ``IN``, ``KalshiMD/<key id>`` and the FIX frame with
``|`` separators. ``kalshi-fix decode FILE`` prints it, ``kalshi-fix mock-gateway --replay
FILE`` replays it (paper trading, docs/paper-trading.md). It stops after ``--messages``
messages or ``--seconds`` seconds, whichever comes first, then logs out and prints a summary on
stderr.

Against Kalshi's demo environment::

    python examples/trio_md_recorder.py --key-id KEY --key-file key.pem \\
        --seconds 60 --out md.log SOME-MARKET OTHER-MARKET

Against the embedded mock gateway (it sends the snapshot of its seeded market)::

    python examples/trio_md_recorder.py --mock --messages 1
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Sequence
from typing import TextIO

import _support
import trio

from kalshi_fix_sansio import ApplicationMessage
from kalshi_fix_sansio.adapters import trio as trio_adapter
from kalshi_fix_sansio.codec.redaction import redact_frame
from kalshi_fix_sansio.simulator.data.recording import RecordingWriter
from kalshi_fix_sansio.trading.builders import Requests


async def record(target: _support.Target, args: argparse.Namespace, out: TextIO) -> int:
    """Record until ``args.messages`` messages or ``args.seconds`` seconds; returns 0."""
    markets = args.markets or [target.symbol]
    writer = RecordingWriter(out, target.product, markets, f"KalshiMD/{target.key_id}")
    client = target.client(trio_adapter)
    counts: dict[str, int] = {}
    started = trio.current_time()
    async with client.market_data() as md:
        md.send(Requests(target.product, "KalshiMD").subscribe(markets), resubscribe=True)
        print(f"subscribed to {', '.join(markets)}", file=sys.stderr)
        with trio.move_on_after(args.seconds):
            async for event in md.events():
                if not isinstance(event, ApplicationMessage):
                    continue
                writer.write(redact_frame(event.raw), time.time())
                out.flush()
                name = f"{type(event.message).__name__} (35={event.message.MSG_TYPE})"
                counts[name] = counts.get(name, 0) + 1
                if sum(counts.values()) >= args.messages:
                    break
    elapsed = trio.current_time() - started
    summary = ", ".join(f"{n} {name}" for name, n in counts.items()) or "nothing"
    print(
        f"recorded {sum(counts.values())} messages in {elapsed:.1f} s: {summary}", file=sys.stderr
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; returns the exit status (0 success, 1 failure, 2 usage error, 130
    interrupted)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "markets", nargs="*", metavar="MARKET", help="market tickers (default: --symbol)"
    )
    parser.add_argument("--messages", type=int, default=100, help="stop after this many")
    parser.add_argument("--seconds", type=float, default=10.0, help="stop after this long")
    parser.add_argument("--out", default="-", help="file to append to (default: stdout)")

    def body(target: _support.Target, args: argparse.Namespace) -> int:
        with contextlib.ExitStack() as stack:
            out = sys.stdout
            if args.out != "-":
                out = stack.enter_context(open(args.out, "a", encoding="utf-8"))
            return _support.trio_run(record, target, args, out)

    return _support.run(parser, argv, body)


if __name__ == "__main__":
    sys.exit(main())

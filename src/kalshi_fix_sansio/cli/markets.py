"""``kalshi-fix markets``: Kalshi's series, events and markets by name, from its REST API.

Reads the catalogue (`kalshi_fix_sansio.rest.instruments.InstrumentsFetch`, run by the blocking
REST companion) from Kalshi's host of ``--env`` or from ``--base-url`` (a mock gateway's
``--rest``, trusted with ``--pinned-cert``), or from a catalogue saved before (``--load``,
offline), and lists its markets: ticker, event, status, price step, close time, title
(``--json``: one object per market). ``--save FILE`` writes the catalogue for a later
``--load`` (a backtest's event limits). See docs/instruments.md.

Exit status: 0 listed, 1 something could not be fetched (what was is listed, the rest named on
stderr) or nothing could, 2 a usage error (one line, before any request; a ``--load`` file that
is not a saved catalogue included).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from typing import IO, Any

from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PRODUCT_HELP,
    PRODUCTS,
    add_rest_arguments,
    emit,
    rest_usage,
    run_rest_fetch,
)

__all__ = ["STATUSES", "add_markets_parser", "markets_command"]

_NAME = "kalshi-fix markets"
STATUSES = ("unopened", "open", "paused", "closed", "settled")
"""Kalshi's market status filters (`kalshi_fix_sansio.rest.instruments.MARKET_STATUSES`, named
here so that ``--help`` imports no engine module)."""


def add_markets_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix markets``."""
    cmd = sub.add_parser(
        "markets",
        description="Read series, events and markets from Kalshi's REST API (or a saved "
        "catalogue) and list the markets: ticker, event, status, price step, close time, "
        "title. A request rate limited (429) or failing (5xx) is asked again with backoff.",
        epilog="exit status: 0 listed, 1 something could not be fetched, 2 usage error",
    )
    cmd.add_argument("--product", choices=PRODUCTS, default="prediction", help=PRODUCT_HELP)
    cmd.add_argument("--series", metavar="S", help="the markets of this series")
    cmd.add_argument("--event", metavar="E", help="the markets of this event")
    cmd.add_argument("--status", choices=STATUSES, help="only markets in this status")
    cmd.add_argument("--search", metavar="TEXT", help="only markets whose titles hold TEXT")
    add_rest_arguments(cmd)
    cmd.add_argument("--save", metavar="FILE", help="write the catalogue read to FILE (JSON)")
    cmd.add_argument("--load", metavar="FILE", help="list a saved catalogue: no request")
    cmd.add_argument("--json", action="store_true", help="print the markets as JSON")


def _row(market: Any) -> dict[str, Any]:
    def when(moment: float | None) -> str | None:
        if moment is None:
            return None
        stamp = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "ticker": market.ticker,
        "event": market.event,
        "series": market.series,
        "status": market.status,
        "tick_size": str(market.tick_size),
        "price_ranges": [[str(r.start), str(r.end), str(r.step)] for r in market.price_ranges],
        "close_time": when(market.close_time),
        "expiration_time": when(market.expiration_time),
        "title": market.title,
    }


def _problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, in one line's words (None: nothing)."""
    problem = rest_usage(args)
    if problem is not None:
        return problem
    if args.load is not None and not os.path.isfile(args.load):
        return f"--load {args.load}: no such file"
    if args.load is not None and (args.base_url or args.pinned_cert):
        return "--load lists a saved catalogue: no --base-url or --pinned-cert"
    if args.save is not None and not os.path.isdir(os.path.dirname(os.path.abspath(args.save))):
        return f"--save {args.save}: its folder does not exist"
    if args.product == "margin" and (args.series or args.event):
        return "margin markets have no series or events: drop --series / --event"
    return None


def _usage(args: argparse.Namespace, err: IO[str]) -> bool:
    """Whether the arguments are refused (one line on ``err``)."""
    problem = _problem(args)
    if problem is not None:
        emit(err, f"{_NAME}: {problem}")
    return problem is not None


def markets_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix markets``; the exit status."""
    from ..codec.errors import LocalProtocolError
    from ..rest.instruments import Instruments, InstrumentsFetch

    if _usage(args, err):
        return EXIT_USAGE
    missing: list[str] = []
    if args.load is not None:
        try:  # a file that is not a saved catalogue is a usage error, as a missing one is
            with open(args.load, "rb") as handle:
                catalogue = Instruments.loads(handle.read())
        except (OSError, LocalProtocolError) as exc:
            emit(err, f"{_NAME}: --load {args.load}: {getattr(exc, 'strerror', None) or exc}")
            return EXIT_USAGE
    else:
        try:  # every argument checked before the first request
            fetch = InstrumentsFetch(
                args.product,
                series=args.series,
                event=args.event,
                status=args.status,
                environment=args.env,
                base_url=args.base_url,
                max_retries=args.max_retries,
            )
        except LocalProtocolError as exc:
            emit(err, f"{_NAME}: {exc}")
            return EXIT_USAGE
        if not run_rest_fetch(fetch, args.pinned_cert, _NAME, err):
            return EXIT_USAGE
        catalogue, missing = fetch.instruments, fetch.missing
    markets = catalogue.markets(series=args.series, event=args.event, status=args.status)
    if args.search:
        found = {m.ticker for m in catalogue.search(args.search)}
        markets = [m for m in markets if m.ticker in found]
    if args.save is not None:
        try:
            with open(args.save, "w", encoding="utf-8") as handle:
                handle.write(catalogue.dumps())
        except OSError as exc:
            emit(err, f"{_NAME}: --save {args.save}: {exc.strerror or exc}")
            return EXIT_FAILED
    if args.json:
        emit(out, json.dumps([_row(m) for m in markets], indent=2))
    else:
        for m in markets:
            row = _row(m)
            emit(
                out,
                f"{m.ticker:<32} {m.event:<24} {m.status:<8} {row['tick_size']:<7} "
                f"{row['close_time'] or '-':<20} {m.title}",
            )
        emit(out, f"{len(markets)} market(s)")
    for line in missing:
        emit(err, f"{_NAME}: {line}")
    if missing or (args.load is None and not len(catalogue)):
        if not len(catalogue):
            emit(err, f"{_NAME}: nothing fetched")
        return EXIT_FAILED
    return EXIT_OK

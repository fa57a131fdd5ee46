"""``kalshi-fix exchange`` and ``kalshi-fix queue``: the exchange's status and schedule, and the
queue positions of the key's resting orders, from Kalshi's REST API.

Both read `kalshi_fix_sansio.rest.desk`'s pages (`DeskFetch`, run by the blocking REST
companion) from Kalshi's host of ``--env`` or from ``--base-url`` (a mock gateway's ``--rest``,
trusted with ``--pinned-cert``):

* ``exchange``: whether the exchange and trading are active (and when Kalshi expects them
  back), and, prediction, the maintenance windows of Kalshi's schedule (public pages: no key);
* ``queue``: each resting order's contracts ahead (``--market``, ``--event`` filter them;
  ``--order-id`` reads one order's), signed with the product's key from the environment
  (``KALSHI_KEY_ID`` and ``KALSHI_PRIVATE_KEY_PATH``...; prediction only: Kalshi's margin API
  has no queue positions).

``--json`` prints one object. Exit status: 0 read, 1 a page could not be read (one line each on
stderr, e.g. ``403 forbidden: the API key lacks the permission to read it``), 2 a usage error
(one line, before any request).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import time
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
    rest_verify,
)

__all__ = ["add_exchange_parsers", "exchange_command", "queue_command"]


def add_exchange_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix exchange`` and ``kalshi-fix queue``."""
    cmd = sub.add_parser(
        "exchange",
        description="Read Kalshi's exchange status (exchange and trading active, expected "
        "resume time) and, for prediction, its schedule's maintenance windows, from the REST "
        "API. Public pages: no API key needed.",
        epilog="exit status: 0 read, 1 a page could not be read, 2 usage error",
    )
    cmd.add_argument("--product", choices=PRODUCTS, default="prediction", help=PRODUCT_HELP)
    add_rest_arguments(cmd)
    cmd.add_argument("--json", action="store_true", help="print one JSON object")
    queue = sub.add_parser(
        "queue",
        description="Read the queue positions of the resting orders of the API key of the "
        "environment (KALSHI_KEY_ID and KALSHI_PRIVATE_KEY_PATH or KALSHI_PRIVATE_KEY): the "
        "contracts ahead of each one (prediction only).",
        epilog="exit status: 0 read, 1 a page could not be read, 2 usage error",
    )
    queue.add_argument(
        "--market",
        action="append",
        default=[],
        metavar="TICKER",
        help="only this market's orders (repeatable)",
    )
    queue.add_argument("--event", metavar="E", help="only this event's orders")
    queue.add_argument(
        "--order-id",
        action="append",
        default=[],
        metavar="ID",
        help="read this order's queue position (Kalshi's order id; repeatable)",
    )
    add_rest_arguments(queue)
    queue.add_argument("--json", action="store_true", help="print one JSON object")
    queue.add_argument(
        "--record",
        metavar="FILE",
        help="append the positions read, with the time, as one JSON line (what fit-queue and "
        "compare-live take with --queue-positions)",
    )


def _when(moment: float | None) -> str | None:
    if moment is None:
        return None
    stamp = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _usage(name: str, args: argparse.Namespace, err: IO[str]) -> bool:
    """Whether the arguments are refused (one line on ``err``)."""
    problem = rest_usage(args)
    if problem is not None:
        emit(err, f"{name}: {problem}")
    return problem is not None


def _run(name: str, args: argparse.Namespace, err: IO[str], **fetch_args: Any) -> Any:
    """The `DeskFetch` of ``fetch_args`` run to its end; None after a usage error (said)."""
    from ..codec.errors import LocalProtocolError
    from ..rest.desk import DeskFetch

    try:  # every argument checked before the first request
        fetch = DeskFetch(
            environment=args.env,
            base_url=args.base_url,
            max_retries=args.max_retries,
            **fetch_args,
        )
        from ..adapters.rest import RestCompanion

        RestCompanion(verify=rest_verify(args.pinned_cert)).run(fetch)
    except LocalProtocolError as exc:  # a bad URL, httpx missing
        emit(err, f"{name}: {exc}")
        return None
    for line in fetch.missing:
        emit(err, f"{name}: {line}")
    return fetch


def exchange_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix exchange``; the exit status."""
    name = "kalshi-fix exchange"
    if _usage(name, args, err):
        return EXIT_USAGE
    pages = ["exchange_status"] + (["exchange_schedule"] if args.product == "prediction" else [])
    fetch = _run(name, args, err, product=args.product, pages=pages)
    if fetch is None:
        return EXIT_USAGE
    status, schedule = fetch.status, fetch.schedule
    windows = [] if schedule is None else [(_when(w.start), _when(w.end)) for w in schedule.windows]
    if args.json:
        body: dict[str, Any] = {"product": args.product, "windows": windows}
        if status is not None:
            body.update(
                exchange_active=status.exchange_active,
                trading_active=status.trading_active,
                resume_time=_when(status.resume_time),
            )
        emit(out, json.dumps(body, indent=2))
    else:
        if status is not None:
            state = "trading" if not status.paused else status.reason
            emit(out, f"exchange: {state}")
            if status.resume_time is not None:
                emit(out, f"expected back: {_when(status.resume_time)}")
        if schedule is not None:
            for start, end in windows:
                emit(out, f"maintenance: {start} to {end}")
            emit(out, f"{len(windows)} maintenance window(s) announced")
    return EXIT_FAILED if fetch.missing else EXIT_OK


def queue_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix queue``; the exit status."""
    from ..codec.errors import FixError
    from ..session import Credentials

    name = "kalshi-fix queue"
    if _usage(name, args, err):
        return EXIT_USAGE
    if args.record is not None and not os.path.isdir(os.path.dirname(os.path.abspath(args.record))):
        emit(err, f"{name}: --record {args.record}: its folder does not exist")
        return EXIT_USAGE
    try:
        credentials = Credentials.from_env("prediction")
    except FixError as exc:  # variables missing, a key that does not load
        emit(err, f"{name}: {exc}")
        return EXIT_USAGE
    pages = ["queue_position"] if args.order_id else ["queue_positions"]
    fetch = _run(
        name,
        args,
        err,
        product="prediction",
        pages=pages,
        credentials=credentials,
        markets=args.market,
        event=args.event,
        order_ids=args.order_id,
    )
    if fetch is None:
        return EXIT_USAGE
    rows = [
        {"order_id": p.order_id, "market": p.market or None, "ahead": str(p.ahead)}
        for p in fetch.positions
    ]
    if args.record is not None and not fetch.missing:
        from ..rest.desk import queue_log_line

        try:
            with open(args.record, "a", encoding="utf-8") as handle:
                handle.write(queue_log_line(fetch.positions, time.time()) + "\n")
        except OSError as exc:
            emit(err, f"{name}: --record {args.record}: {exc.strerror or exc}")
            return EXIT_FAILED
    if args.json:
        emit(out, json.dumps({"queue_positions": rows}, indent=2))
    else:
        for row in rows:
            emit(out, f"{row['order_id']:<40} {row['market'] or '-':<32} {row['ahead']} ahead")
        emit(out, f"{len(rows)} resting order(s)")
    return EXIT_FAILED if fetch.missing else EXIT_OK

"""``kalshi-fix fees``: the account's fee schedule as Kalshi charges it, from its REST API.

Reads (`kalshi_fix_sansio.rest.fees.KalshiFeesFetch`, run by the blocking REST companion)
margin's ``/margin/fee_tiers`` and ``/margin/fee_tier_rates`` (signed with
``KALSHI_PERPS_KEY_ID`` and its private key) or prediction's ``/series`` (each series' fee type
and multiplier), from Kalshi's host of ``--env`` (default production: the account's real
schedule) or ``--base-url``, and prints the schedule file it makes (``--save FILE`` writes it:
``--fees FILE`` then charges it offline in a backtest or a replay). ``--fees kalshi`` of those
commands reads it the same way at their start (`kalshi_schedule`). See docs/paper-trading.md.

Exit status: 0 read, 1 Kalshi refused the key or something could not be read or modelled
(named on stderr, one line each), 2 a usage error (one line, before any request).
"""

from __future__ import annotations

import argparse
import datetime
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
    run_rest_fetch,
)

__all__ = ["add_fees_parser", "fees_command", "kalshi_schedule", "recording_product"]

_NAME = "kalshi-fix fees"


def add_fees_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix fees``."""
    cmd = sub.add_parser(
        "fees",
        description="Read the account's fee schedule from Kalshi's REST API (margin: its fee "
        "tiers, signed with KALSHI_PERPS_KEY_ID; prediction: each series' fee type) and print "
        "it as a fee schedule file (--save FILE: for --fees FILE in offline runs).",
        epilog="exit status: 0 read, 1 refused or not all read, 2 usage error",
    )
    cmd.add_argument("--product", choices=PRODUCTS, default="prediction", help=PRODUCT_HELP)
    add_rest_arguments(cmd, "production")
    cmd.add_argument("--save", metavar="FILE", help="write the schedule to FILE")


def recording_product(path: str) -> str | None:
    """The product a recording's header names (None: no header, or not readable)."""
    from ..simulator.data.recording import HEADER_PREFIX

    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            first = handle.readline(4096)
    except OSError:
        return None
    if not first.startswith(HEADER_PREFIX):
        return None
    words = dict(w.partition("=")[::2] for w in first[len(HEADER_PREFIX) :].split())
    product = words.get("product")
    return product if product in ("prediction", "margin") else None


def kalshi_schedule(
    product: str,
    *,
    environment: str = "production",
    base_url: str | None = None,
    pinned_cert: str | None = None,
    max_retries: int = 4,
    name: str,
    err: IO[str],
) -> tuple[Any, list[str]] | int:
    """Read the schedule Kalshi charges: (the `FeeSchedule`, what could not be read or
    modelled), or the exit status after one line on ``err`` (a usage error: 2; Kalshi refused
    the key or the fee page could not be read: 1)."""
    from ..rest.fees import KalshiFeesFetch
    from ..session import Credentials
    from ..simulator.gateway import FeeSchedule

    if pinned_cert is not None and not os.path.isfile(pinned_cert):
        emit(err, f"{name}: --pinned-cert {pinned_cert}: no such file")
        return EXIT_USAGE
    try:  # every argument checked before the first request
        credentials = Credentials.from_env(product) if product == "margin" else None
        fetch = KalshiFeesFetch(
            product,
            credentials=credentials,
            environment=environment,
            base_url=base_url,
            max_retries=max_retries,
        )
    except Exception as exc:  # LocalProtocolError, KeyLoadError: one line
        emit(err, f"{name}: {exc}")
        return EXIT_USAGE
    if not run_rest_fetch(fetch, pinned_cert, name, err):
        return EXIT_USAGE
    if fetch.refused is not None or fetch.fetched_at is None:
        emit(err, f"{name}: {fetch.refused or fetch.missing[0]}")
        return EXIT_FAILED
    return FeeSchedule.of_kalshi(fetch.rates), fetch.missing


def fees_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix fees``; the exit status."""
    if args.max_retries < 1:
        emit(err, f"{_NAME}: --max-retries takes a count >= 1, got {args.max_retries}")
        return EXIT_USAGE
    if args.save is not None and not os.path.isdir(os.path.dirname(os.path.abspath(args.save))):
        emit(err, f"{_NAME}: --save {args.save}: its folder does not exist")
        return EXIT_USAGE
    read = kalshi_schedule(
        args.product,
        environment=args.env,
        base_url=args.base_url,
        pinned_cert=args.pinned_cert,
        max_retries=args.max_retries,
        name=_NAME,
        err=err,
    )
    if isinstance(read, int):
        return read
    schedule, missing = read
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    where = args.base_url or f"Kalshi {args.env}"
    text = schedule.dumps(f"{args.product} fees read from {where} at {now} (kalshi-fix fees)")
    if args.save is not None:
        try:
            with open(args.save, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            emit(err, f"{_NAME}: --save {args.save}: {exc.strerror or exc}")
            return EXIT_FAILED
    else:
        out.write(text)
    for line in missing:
        emit(err, f"{_NAME}: {line}")
    return EXIT_FAILED if missing else EXIT_OK

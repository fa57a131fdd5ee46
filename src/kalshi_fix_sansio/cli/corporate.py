"""``kalshi-fix corporate-actions``: Kalshi's margin corporate actions, from its REST API.

Reads ``/margin/corporate_actions`` (`kalshi_fix_sansio.rest.corporate.CorporateActionsFetch`,
public: no key) from Kalshi's host of ``--env`` or ``--base-url``, lists the notices (time,
market, type, status, terms) and ``--save FILE`` writes them as JSON for
``--corporate-actions FILE`` of ``kalshi-fix backtest`` and ``mock-gateway --replay``. See
docs/paper-trading.md.

Exit status: 0 read, 1 the page could not be fetched or a notice not read (one line each on
stderr), 2 a usage error (one line, before any request).
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
    add_rest_arguments,
    emit,
    run_rest_fetch,
)

__all__ = ["add_corporate_parser", "corporate_command"]

_NAME = "kalshi-fix corporate-actions"


def add_corporate_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix corporate-actions``."""
    cmd = sub.add_parser(
        "corporate-actions",
        description="List Kalshi's margin corporate actions (dividends, splits, final "
        "settlements, ticker changes) from its REST API; --save FILE keeps them for "
        "--corporate-actions FILE of a backtest or a replay.",
        epilog="exit status: 0 read, 1 not all read, 2 usage error",
    )
    cmd.add_argument("--ticker", metavar="T", help="one market's notices")
    add_rest_arguments(cmd, "production")
    cmd.add_argument("--save", metavar="FILE", help="write the notices to FILE (JSON)")


def _terms(action: Any) -> str:
    if action.cash_per_contract is not None:
        return f"{action.cash_per_contract} per contract"
    if action.ratio is not None:
        return f"x{action.ratio} contracts"
    if action.settlement_price is not None:
        return f"settles at {action.settlement_price}"
    return f"now {action.new_ticker}" if action.new_ticker else "-"


def corporate_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix corporate-actions``; the exit status."""
    from ..rest.corporate import CorporateActionsFetch

    problem = None
    if args.max_retries < 1:
        problem = f"--max-retries takes a count >= 1, got {args.max_retries}"
    elif args.pinned_cert is not None and not os.path.isfile(args.pinned_cert):
        problem = f"--pinned-cert {args.pinned_cert}: no such file"
    elif args.save is not None and not os.path.isdir(os.path.dirname(os.path.abspath(args.save))):
        problem = f"--save {args.save}: its folder does not exist"
    if problem is not None:
        emit(err, f"{_NAME}: {problem}")
        return EXIT_USAGE
    try:  # every argument checked before the first request
        fetch = CorporateActionsFetch(
            args.ticker, environment=args.env, base_url=args.base_url, max_retries=args.max_retries
        )
    except Exception as exc:  # LocalProtocolError: one line
        emit(err, f"{_NAME}: {exc}")
        return EXIT_USAGE
    if not run_rest_fetch(fetch, args.pinned_cert, _NAME, err):
        return EXIT_USAGE
    for action in fetch.notices:
        when = "-"
        if action.time is not None:
            moment = datetime.datetime.fromtimestamp(action.time, datetime.timezone.utc)
            when = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        emit(
            out,
            f"{when:<20} {action.symbol:<24} {action.kind:<17} {action.status:<9} {_terms(action)}",
        )
    if fetch.page is not None:
        emit(out, f"{len(fetch.notices)} notice(s)")
    if args.save is not None and fetch.page is not None:
        try:
            with open(args.save, "w", encoding="utf-8") as handle:
                handle.write(fetch.dumps())
        except OSError as exc:
            emit(err, f"{_NAME}: --save {args.save}: {exc.strerror or exc}")
            return EXIT_FAILED
    for line in fetch.missing:
        emit(err, f"{_NAME}: {line}")
    return EXIT_FAILED if fetch.missing or fetch.page is None else EXIT_OK

"""``kalshi-fix margin-risk``: a margin account's risk as Kalshi measures it, from its REST API.

Reads ``/margin/risk``, ``/margin/notional_risk_limit`` and ``/margin/risk_parameters``
(`kalshi_fix_sansio.rest.marginrisk.MarginRiskFetch`, run by the blocking REST companion),
signed with the margin API key of the environment (``KALSHI_PERPS_KEY_ID`` and
``KALSHI_PERPS_PRIVATE_KEY`` or ``..._PATH``), from Kalshi's host of ``--env`` or from
``--base-url`` (a mock gateway's ``--rest``, trusted with ``--pinned-cert``), and prints each
position (size, mark, liquidation price and distance, maintenance margin, notional against
Kalshi's limit) and the account's totals (``--json``: one object). See docs/risk-controls.md.

Exit status: 0 read, 1 Kalshi refused the key (one line: 401 the signature, 403 the permission)
or a page could not be read, 2 a usage error (one line, before any request).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import IO, Any

from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_rest_arguments, emit, run_rest_fetch

__all__ = ["add_margin_risk_parser", "margin_risk_command"]

_NAME = "kalshi-fix margin-risk"


def add_margin_risk_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix margin-risk``."""
    cmd = sub.add_parser(
        "margin-risk",
        description="Read a margin account's risk from Kalshi's REST API (signed with "
        "KALSHI_PERPS_KEY_ID and its private key): per position its size, mark, liquidation "
        "price and distance, maintenance margin and notional against Kalshi's limit; the "
        "account's totals and Kalshi's risk parameters.",
        epilog="exit status: 0 read, 1 refused or unreadable, 2 usage error",
    )
    add_rest_arguments(cmd)
    cmd.add_argument(
        "--subaccount", type=int, default=0, metavar="N", help="whose positions (default 0)"
    )
    cmd.add_argument("--json", action="store_true", help="print the figures as JSON")


def _text(value: object) -> str:
    return "-" if value is None else f"{value:f}" if not isinstance(value, str) else value


def _rows(figures: Any) -> list[dict[str, Any]]:
    rows = []
    for symbol, risk in sorted(figures.positions.items()):
        distance = risk.liquidation_distance
        rows.append(
            {
                "ticker": symbol,
                "position": _text(risk.position),
                "mark_price": _text(risk.mark_price),
                "liquidation_price": None
                if risk.liquidation_price is None
                else _text(risk.liquidation_price),
                "liquidation_distance": None if distance is None else f"{distance:.4f}",
                "maintenance_margin": None
                if risk.maintenance_margin is None
                else _text(risk.maintenance_margin),
                "notional": _text(risk.notional),
                "notional_usage": _text(figures.usage_by_market.get(symbol)),
                "notional_limit": _text(figures.notional_limit(symbol)),
            }
        )
    return rows


def _as_json(figures: Any) -> dict[str, Any]:
    account = {
        name: None if value is None else str(value)
        for name, value in (
            ("total_notional", figures.total_notional),
            ("total_maintenance_margin", figures.total_maintenance_margin),
            ("account_leverage", figures.account_leverage),
            ("notional_usage", figures.notional_usage),
            ("account_notional_limit", figures.account_notional_limit),
            ("default_notional_limit", figures.default_notional_limit),
            ("liquidation_ratio", figures.liquidation_ratio),
            ("queue_entry_ratio", figures.queue_entry_ratio),
        )
    }
    return {"positions": _rows(figures), "account": account}


def margin_risk_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix margin-risk``; the exit status."""
    from ..rest.marginrisk import MarginRiskFetch
    from ..session import Credentials

    problem = None
    if args.max_retries < 1:
        problem = f"--max-retries takes a count >= 1, got {args.max_retries}"
    elif args.subaccount < 0:
        problem = f"--subaccount takes a number >= 0, got {args.subaccount}"
    elif args.pinned_cert is not None and not os.path.isfile(args.pinned_cert):
        problem = f"--pinned-cert {args.pinned_cert}: no such file"
    if problem is not None:
        emit(err, f"{_NAME}: {problem}")
        return EXIT_USAGE
    try:  # every argument checked before the first request
        credentials = Credentials.from_env("margin")
        fetch = MarginRiskFetch(
            credentials,
            environment=args.env,
            base_url=args.base_url,
            subaccount=args.subaccount,
            max_retries=args.max_retries,
        )
    except Exception as exc:  # LocalProtocolError, KeyLoadError: one line
        emit(err, f"{_NAME}: {exc}")
        return EXIT_USAGE
    if not run_rest_fetch(fetch, args.pinned_cert, _NAME, err):
        return EXIT_USAGE
    if fetch.refused is not None:
        emit(err, f"{_NAME}: {fetch.refused}")
        return EXIT_FAILED
    figures = fetch.figures
    if figures is not None:
        _print(figures, args.json, out)
    for line in fetch.missing:
        emit(err, f"{_NAME}: {line}")
    return EXIT_FAILED if fetch.missing or figures is None else EXIT_OK


def _print(figures: Any, as_json: bool, out: IO[str]) -> None:
    if as_json:
        emit(out, json.dumps(_as_json(figures), indent=2))
        return
    for row in _rows(figures):
        emit(
            out,
            f"{row['ticker']:<24} {row['position']:>10} mark {row['mark_price']:<10} "
            f"liquidation {row['liquidation_price'] or '-':<10} "
            f"({row['liquidation_distance'] or '-'} away) maintenance "
            f"{row['maintenance_margin'] or '-'} notional {row['notional_usage']} of "
            f"{row['notional_limit']}",
        )
    account = _as_json(figures)["account"]
    emit(
        out,
        f"account: notional {account['total_notional']}, maintenance "
        f"{account['total_maintenance_margin']}, leverage {account['account_leverage'] or '-'}, "
        f"notional usage {account['notional_usage'] or '-'} of "
        f"{account['account_notional_limit'] or account['default_notional_limit'] or '-'}",
    )

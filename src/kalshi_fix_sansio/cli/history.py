"""``kalshi-fix history`` and ``kalshi-fix import-history``: history a user did not record, as a
recording ``kalshi-fix backtest`` and ``kalshi-fix replay`` read.

``history`` reads Kalshi's public market history over REST (`kalshi_fix_sansio.simulator.data.history.
import_history`): ``--markets A,B --since TIME --until TIME -o rec.log``, from Kalshi's host of
``--env`` or from ``--base-url`` (a mock gateway's ``--rest``, trusted with ``--pinned-cert``);
``--product margin`` reads perps markets (Kalshi's margin pages, funding rates included).
``import-history FILE -o rec.log`` reads a history file of the documented schema (CSV, or
Parquet with pyarrow). Each prints the import's report: what was written, what each source can
and cannot tell, and what could not be fetched. See docs/history.md.

Exit status: 0 everything asked for was written, 1 the import ran and something could not be
fetched (what was fetched is written, the report names the rest) or nothing could, or a file row
is bad (one line: file, row, column), 2 a usage error (one line, before any request).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PRODUCT_HELP,
    PRODUCTS,
    add_rest_arguments,
    emit,
    rest_verify,
)

__all__ = [
    "add_history_parsers",
    "history_command",
    "import_history_command",
]


def _time_arg(flag: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag} takes a UTC time (ISO 8601, e.g. 2026-11-20T15:00:00Z), got {text!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return moment.timestamp()

    return parse


def _markets_arg(text: str) -> list[str]:
    markets = [m.strip() for m in text.split(",")]
    if not all(markets):
        raise argparse.ArgumentTypeError(
            f"--markets takes tickers separated by commas, got {text!r}"
        )
    return markets


def _sources_arg(text: str) -> list[str]:
    from ..rest.history import HISTORY_SOURCES

    sources = [s.strip() for s in text.split(",")]
    unknown = [s for s in sources if s not in HISTORY_SOURCES]
    if unknown or not sources:
        raise argparse.ArgumentTypeError(
            f"--sources takes some of {','.join(HISTORY_SOURCES)}, got {text!r}"
        )
    return sources


def _size_arg(text: str) -> Decimal:
    try:
        size = Decimal(text)
    except InvalidOperation:
        size = Decimal(0)
    if not size.is_finite() or size <= 0:
        raise argparse.ArgumentTypeError(f"--candle-size takes contracts > 0, got {text!r}")
    return size


def _output_refused(name: str, path: str, err: IO[str]) -> bool:
    """Whether ``-o`` cannot be written (said in one line on ``err``)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        problem = "is a directory"
    elif not os.path.isdir(folder):
        problem = f"its folder {folder} does not exist"
    elif not os.access(folder, os.W_OK):
        problem = f"its folder {folder} is not writable"
    else:
        return False
    emit(err, f"{name}: -o {path}: {problem}")
    return True


def add_history_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix history`` and ``kalshi-fix import-history``."""
    exits = (
        "exit status: 0 everything asked for written, 1 something could not be fetched or "
        "read (what was fetched is written, the report names the rest), 2 usage error"
    )
    cmd = sub.add_parser(
        "history",
        description="Read the public trades, candlesticks and (--sources) the present order "
        "book of markets from Kalshi's REST API, the historical endpoints past Kalshi's cutoff "
        "included, draw a book from them and write a recording that 'kalshi-fix backtest' "
        "and 'kalshi-fix replay' read. A request refused or rate limited (429) is asked again "
        "with backoff; what could not be fetched is named in the report. --product margin "
        "reads perps markets: their trades, candlesticks, order book and funding rates (no "
        "historical cutoff).",
        epilog=exits,
    )
    cmd.add_argument(
        "--markets", required=True, type=_markets_arg, metavar="A,B", help="market tickers"
    )
    cmd.add_argument(
        "--since", required=True, type=_time_arg("--since"), metavar="TIME", help="start (UTC)"
    )
    cmd.add_argument(
        "--until", required=True, type=_time_arg("--until"), metavar="TIME", help="end (UTC)"
    )
    cmd.add_argument("-o", "--output", required=True, metavar="FILE", help="the recording")
    cmd.add_argument("--product", choices=PRODUCTS, default="prediction", help=PRODUCT_HELP)
    cmd.add_argument(
        "--sources",
        type=_sources_arg,
        default=None,
        metavar="LIST",
        help="what to read: some of trades,candles,orderbook,funding (default: trades,candles; "
        "margin trades,candles,funding; orderbook is the present moment's, funding the perps "
        "funding rates written as the recording's # funding lines)",
    )
    cmd.add_argument(
        "--period",
        type=int,
        choices=(1, 60, 1440),
        default=1,
        help="candlestick period, minutes (default 1)",
    )
    cmd.add_argument(
        "--candle-size",
        type=_size_arg,
        default=Decimal(1),
        metavar="N",
        help="contracts given to each level drawn from a candlestick (it carries no depth; "
        "default 1)",
    )
    add_rest_arguments(cmd)
    cmd.add_argument(
        "--sign",
        action="store_true",
        help="sign the requests with the API key of KALSHI_KEY_ID and KALSHI_PRIVATE_KEY_PATH "
        "(Kalshi serves these endpoints without one)",
    )
    cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    imp = sub.add_parser(
        "import-history",
        description="Read a history file of the documented schema (columns time, market, "
        "kind, side, price, size and optionally trade_id; see docs/history.md) and write a "
        "recording that 'kalshi-fix backtest' and 'kalshi-fix replay' read. A bad row is one "
        "line naming the file, the row and the column; nothing is written then.",
        epilog="exit status: 0 written, 1 a bad file or row (named), 2 usage error",
    )
    imp.add_argument("file", help="the history file (.csv, or .parquet / .pq with pyarrow)")
    imp.add_argument("-o", "--output", required=True, metavar="FILE", help="the recording")
    imp.add_argument("--product", choices=PRODUCTS, default="prediction", help=PRODUCT_HELP)
    imp.add_argument("--json", action="store_true", help="print the report as JSON")


def _imported(
    name: str, args: argparse.Namespace, run: Callable[[], Any], out: IO[str], err: IO[str]
) -> Any:
    """The report of ``run()``, printed (``--json``: as JSON); or, after one line on ``err``,
    the exit status: 2 httpx missing, 1 a bad history file or an output not written."""
    from ..codec.errors import LocalProtocolError
    from ..simulator.data.historyfile import HistoryFileError

    try:
        report = run()
    except LocalProtocolError as exc:
        emit(err, f"{name}: {exc}")
        return EXIT_USAGE
    except HistoryFileError as exc:
        emit(err, f"{name}: {exc}")
        return EXIT_FAILED
    except OSError as exc:
        emit(err, f"{name}: -o {args.output}: {exc.strerror or exc}")
        return EXIT_FAILED
    if args.json:
        emit(out, json.dumps(report.as_json(), indent=2, sort_keys=True))
    else:
        for line in report.lines():
            emit(out, line)
    return report


def history_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix history``; the exit status."""
    from ..codec.errors import LocalProtocolError
    from ..rest.history import HistoryFetch

    name = "kalshi-fix history"
    if _output_refused(name, args.output, err):
        return EXIT_USAGE
    if args.max_retries < 1:
        emit(err, f"{name}: --max-retries takes a count >= 1, got {args.max_retries}")
        return EXIT_USAGE
    if args.pinned_cert is not None and not os.path.isfile(args.pinned_cert):
        emit(err, f"{name}: --pinned-cert {args.pinned_cert}: no such file")
        return EXIT_USAGE
    credentials = None
    if args.sign:
        from ..session import Credentials

        try:
            credentials = Credentials.from_env(args.product)
        except Exception as exc:  # KeyLoadError, LocalProtocolError: one line
            emit(err, f"{name}: --sign: {exc}")
            return EXIT_USAGE
    options: dict[str, Any] = {
        "sources": args.sources,
        "period": args.period,
        "product": args.product,
        "environment": args.env,
        "base_url": args.base_url,
        "credentials": credentials,
        "max_retries": args.max_retries,
    }
    try:  # every argument checked before the first request
        HistoryFetch(args.markets, args.since, args.until, **options)
    except LocalProtocolError as exc:
        emit(err, f"{name}: {exc}")
        return EXIT_USAGE
    from ..simulator.data.history import import_history

    verify = rest_verify(args.pinned_cert)
    report = _imported(
        name,
        args,
        lambda: import_history(
            args.markets,
            args.since,
            args.until,
            args.output,
            candle_size=args.candle_size,
            verify=verify,
            **options,
        ),
        out,
        err,
    )
    if isinstance(report, int):
        return report
    if not report.messages:
        emit(err, f"{name}: nothing fetched: no recording written")
        return EXIT_FAILED
    return EXIT_OK if report.complete else EXIT_FAILED


def import_history_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix import-history``; the exit status."""
    from ..simulator.data.history import import_history_file

    name = "kalshi-fix import-history"
    if _output_refused(name, args.output, err):
        return EXIT_USAGE
    if not os.path.exists(args.file):
        emit(err, f"{name}: {args.file}: no such file")
        return EXIT_USAGE
    report = _imported(
        name,
        args,
        lambda: import_history_file(args.file, args.output, product=args.product),
        out,
        err,
    )
    if isinstance(report, int):
        return report
    return EXIT_OK

"""The ``kalshi-fix`` command line.

``kalshi-fix decode [FILE ...]`` prints FIX messages with tag names and typed values; see
docs/codec.md for what it prints, its exit codes and what it redacts. ``kalshi-fix replay
FILE`` rebuilds orders, positions and books from a message log (docs/replay.md).
``logon-test`` and ``md`` connect to Kalshi (or a mock gateway), ``order`` and ``cancel`` place
or cancel one order, ``kill`` cancels every open order of an API key (the kill switch) and
halts the key's other processes on this machine until ``rearm``, ``mock-gateway`` serves one,
``demo`` runs both.

Exit status: 0 success, 1 the command ran and failed (Kalshi refused, the connection failed,
malformed input), 2 usage error (bad arguments, missing or unusable credentials or files).

One module per command family:

* ``decode.py``: ``kalshi-fix decode`` and its log reading;
* ``render.py``: how ``decode`` shows a message (table or JSON), redaction and defect display;
* ``live.py``: ``kalshi-fix logon-test`` and ``kalshi-fix md``, the client every connecting
  command builds (`make_client`) and the failure messages that name flags and environment
  variables (`cli_text`);
* ``kill.py``: ``kalshi-fix kill``, the kill switch from the shell;
* ``halt.py``: ``kalshi-fix rearm`` and the key's halt file the commands share;
* ``order.py``: ``kalshi-fix order`` and ``kalshi-fix cancel``, one order from the shell;
* ``mock_gateway.py``: ``kalshi-fix mock-gateway`` and its admin console;
* ``replay.py``: ``kalshi-fix replay``, a log fed through the order tracker and the books;
* ``backtest.py``: ``kalshi-fix backtest``, a strategy file on recordings (one run or a sweep),
  and ``kalshi-fix compile-recording``, recordings checked and compiled once for it;
* ``models.py``: ``kalshi-fix fit-latency`` and ``kalshi-fix fit-queue``, latency and queue
  models fitted to your own message logs, and ``kalshi-fix compare-live``, a live day against
  its simulation;
* ``history.py``: ``kalshi-fix history`` and ``kalshi-fix import-history``, Kalshi's published
  history or another tool's file of book changes and trades as a recording;
* ``markets.py``: ``kalshi-fix markets``, Kalshi's series, events and markets by name (REST);
* ``simulate.py``: ``kalshi-fix simulate``, random fault schedules against the mock exchange in
  memory (deterministic simulation testing);
* ``common.py``: products, exit statuses, the codec of a product, codes and quantities shown;
* ``demo.py``: ``kalshi-fix demo``, a trading story against the embedded mock gateway.

The package imports only what the command needs: ``kalshi-fix --help`` loads no codec dialect,
no adapter and no gateway (each command imports them when it runs).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ..observability.messagelog import scan
from .backtest import (
    add_backtest_parser,
    add_compile_parser,
    backtest_command,
    compile_command,
)
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PRODUCT_HELP, PRODUCTS, dialect, emit
from .decode import add_decode_parser, decode_command
from .halt import add_rearm_parser, rearm_command
from .history import add_history_parsers, history_command, import_history_command
from .kill import add_kill_parser, kill_command
from .live import (
    UsageProblem,
    add_live_parsers,
    cli_text,
    failure_text,
    live_command,
    refusal_text,
)
from .markets import add_markets_parser, markets_command
from .mock_gateway import add_mock_gateway_parser, admin_command, apply_fault, mock_gateway_command
from .models import (
    add_compare_live_parser,
    add_fit_latency_parser,
    add_fit_queue_parser,
    compare_live_command,
    fit_latency_command,
    fit_queue_command,
)
from .order import add_order_parsers, cancel_command, order_command
from .render import render_json, render_table
from .replay import add_replay_parser, replay_command
from .simulate import add_simulate_parser, seeds_joined, simulate_command

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PRODUCTS",
    "UsageProblem",
    "admin_command",
    "apply_fault",
    "build_parser",
    "cancel_command",
    "cli_text",
    "decode_command",
    "dialect",
    "failure_text",
    "history_command",
    "import_history_command",
    "kill_command",
    "live_command",
    "main",
    "markets_command",
    "mock_gateway_command",
    "order_command",
    "rearm_command",
    "refusal_text",
    "render_json",
    "render_table",
    "replay_command",
    "scan",
    "version_text",
]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        emit(sys.stderr, f"{self.prog}: error: {message} (see {self.prog} --help)")
        raise SystemExit(2)


_DISTRIBUTION = "kalshi-fix-sansio"
"""The distribution name of the package (``pip install kalshi-fix-sansio`` once published)."""


def version_text() -> str:
    """What ``kalshi-fix --version`` prints: the installed distribution's version.

    Read from the installed metadata (`importlib.metadata`); a source tree that was never
    installed (``PYTHONPATH=src``) has none, and says so rather than guess.

    Returns:
        One line, e.g. ``kalshi-fix 0.1.0 (kalshi-fix-sansio, Python 3.12.1)``.
    """
    from importlib import metadata

    python = ".".join(str(n) for n in sys.version_info[:3])
    try:
        found = metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return (
            f"kalshi-fix: version unknown ({_DISTRIBUTION} is not installed: running from a "
            f"source tree? `pip install -e .` records it; Python {python})"
        )
    return f"kalshi-fix {found} ({_DISTRIBUTION}, Python {python})"


class _VersionAction(argparse.Action):
    """``--version``: print `version_text` and exit 0 (the metadata is read only when asked)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        print(version_text(), file=sys.stdout, flush=True)
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``kalshi-fix``.

    Returns:
        The parser with every subcommand.
    """
    parser = _Parser(prog="kalshi-fix", description="Kalshi FIX tools.")
    parser.add_argument(
        "--version", action=_VersionAction, help="print the installed version and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_decode_parser(sub)
    add_replay_parser(sub)
    add_backtest_parser(sub)
    add_history_parsers(sub)
    add_markets_parser(sub)
    add_compile_parser(sub)
    add_fit_latency_parser(sub)
    add_fit_queue_parser(sub)
    add_compare_live_parser(sub)
    demo = sub.add_parser(
        "demo",
        help="run a whole trading story against the embedded mock Kalshi gateway",
        description="Start the mock gateway in-process (TLS on loopback, fresh keys) and run a "
        "client through logon, market data, a resting order, a cross, a cancel, an order group "
        "trip and logout.",
    )
    demo.add_argument("--product", choices=PRODUCTS, default="prediction", help=PRODUCT_HELP)
    demo.add_argument(
        "--show-fix",
        action="store_true",
        help="also print every FIX message the clients send (>>) and receive (<<), '|' for "
        "SOH, the Logon signature and other secrets redacted",
    )
    add_mock_gateway_parser(sub)
    add_live_parsers(sub)
    add_kill_parser(sub)
    add_rearm_parser(sub)
    add_order_parsers(sub)
    add_simulate_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kalshi-fix`` console script.

    Args:
        argv: arguments (default: sys.argv[1:]).

    Returns:
        The exit status: 0 success, 1 failure, 2 usage error, 130 interrupted.
    """
    try:
        args = build_parser().parse_args(seeds_joined(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # usage error (2) or --help (0): a status, not an exception
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        if args.command == "decode":
            return decode_command(args, sys.stdout, sys.stderr)
        if args.command == "replay":
            return replay_command(args, sys.stdout, sys.stderr)
        if args.command == "backtest":
            return backtest_command(args, sys.stdout, sys.stderr)
        if args.command == "history":
            return history_command(args, sys.stdout, sys.stderr)
        if args.command == "markets":
            return markets_command(args, sys.stdout, sys.stderr)
        if args.command == "import-history":
            return import_history_command(args, sys.stdout, sys.stderr)
        if args.command == "compile-recording":
            return compile_command(args, sys.stdout, sys.stderr)
        if args.command == "fit-latency":
            return fit_latency_command(args, sys.stdout, sys.stderr)
        if args.command == "fit-queue":
            return fit_queue_command(args, sys.stdout, sys.stderr)
        if args.command == "compare-live":
            return compare_live_command(args, sys.stdout, sys.stderr)
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(args.product, sys.stdout, show_fix=args.show_fix)
        if args.command == "mock-gateway":
            return mock_gateway_command(args, sys.stdout, sys.stderr)
        if args.command in ("logon-test", "md"):
            return live_command(args, sys.stdout, sys.stderr)
        if args.command == "kill":
            return kill_command(args, sys.stdout, sys.stderr)
        if args.command == "rearm":
            return rearm_command(args, sys.stdout, sys.stderr)
        if args.command == "order":
            return order_command(args, sys.stdout, sys.stderr)
        if args.command == "cancel":
            return cancel_command(args, sys.stdout, sys.stderr)
        if args.command == "simulate":
            return simulate_command(args, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug must not become a traceback: one line, then report it
        what = str(exc) or type(exc).__name__
        print(
            f"kalshi-fix {args.command}: internal error ({type(exc).__name__}: {what}); "
            "please report it",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands

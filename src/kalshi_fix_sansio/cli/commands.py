"""The subcommands of ``kalshi-fix`` and its argument parser, declared without loading them.

`COMMANDS` names, for each subcommand, the module of ``kalshi_fix_sansio.cli`` that holds it,
that module's function declaring its arguments, the one running it, and the line ``kalshi-fix
--help`` lists for it. A command's module is imported only when the command line names that
command (`build_parser` given the words), so ``kalshi-fix --version`` and ``kalshi-fix --help``
load none of them, and ``kalshi-fix decode`` loads decode's alone.

A new subcommand is one entry of `COMMANDS`: its module's ``add_x_parser(sub)`` calls
``sub.add_parser("x", description=..., epilog="exit status: ...")`` (no ``help=``: the line
here is the one shown) and ``x_command(args, out, err)`` returns the exit status.

Imports only the standard library's argparse: a command's own modules load when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Final, NamedTuple, NoReturn, TextIO

__all__ = [
    "COMMANDS",
    "Command",
    "add_demo_parser",
    "build_parser",
    "command_named",
    "demo_command",
    "run",
    "version_text",
]


class Command(NamedTuple):
    """One subcommand of ``kalshi-fix`` (see the module).

    Attributes:
        module: its module, under ``kalshi_fix_sansio.cli``.
        declare: the module's function adding its subparser (``add_x_parser(sub)``); one
            function may add several commands (each names it).
        run: the module's function running it (``x_command(args, out, err)``: exit status).
        help: what ``kalshi-fix --help`` says of it, in one line.
        words: the module's function that reads the command line before it is parsed
            (``x_words(words) -> words``; None: none), for a value argparse would misread.
    """

    module: str
    declare: str
    run: str
    help: str
    words: str | None = None


COMMANDS: Final[dict[str, Command]] = {
    "decode": Command(
        "decode",
        "add_decode_parser",
        "decode_command",
        "print FIX messages with tag names and typed values",
    ),
    "replay": Command(
        "replay",
        "add_replay_parser",
        "replay_command",
        "rebuild orders, positions and books from a FIX message log",
    ),
    "backtest": Command(
        "backtest",
        "add_backtest_parser",
        "backtest_command",
        "run a strategy file on recordings, in memory on their clock (one run or a sweep)",
    ),
    "history": Command(
        "history",
        "add_history_parsers",
        "history_command",
        "fetch Kalshi's public market history (trades, candlesticks, order book) as a recording",
    ),
    "import-history": Command(
        "history",
        "add_history_parsers",
        "import_history_command",
        "turn a history file (CSV or Parquet: book changes and trades) into a recording",
    ),
    "markets": Command(
        "markets",
        "add_markets_parser",
        "markets_command",
        "list Kalshi's markets by series, event or status (REST), with their price steps",
    ),
    "exchange": Command(
        "exchange",
        "add_exchange_parsers",
        "exchange_command",
        "whether Kalshi's exchange is trading, and its maintenance schedule (REST)",
    ),
    "queue": Command(
        "exchange",
        "add_exchange_parsers",
        "queue_command",
        "the contracts ahead of each resting order of your key (REST queue positions)",
    ),
    "margin-risk": Command(
        "margin",
        "add_margin_risk_parser",
        "margin_risk_command",
        "a margin account's risk as Kalshi measures it (REST): liquidation, notional limit",
    ),
    "fees": Command(
        "fees",
        "add_fees_parser",
        "fees_command",
        "the account's fee schedule as Kalshi charges it (REST), saved for --fees FILE",
    ),
    "corporate-actions": Command(
        "corporate",
        "add_corporate_parser",
        "corporate_command",
        "Kalshi's margin corporate actions (REST), saved for --corporate-actions FILE",
    ),
    "compile-recording": Command(
        "backtest",
        "add_compile_parser",
        "compile_command",
        "check recordings once and compile them for backtests (cached beside them)",
    ),
    "fit-latency": Command(
        "models",
        "add_fit_latency_parser",
        "fit_latency_command",
        "fit latency models to your own message logs, saved by name for backtests",
    ),
    "fit-queue": Command(
        "models",
        "add_fit_queue_parser",
        "fit_queue_command",
        "fit the exchange's queue model to your own fills, saved by name for backtests",
    ),
    "compare-live": Command(
        "models",
        "add_compare_live_parser",
        "compare_live_command",
        "a live day against its simulation, order by order, each difference with its cause",
    ),
    "demo": Command(
        "commands",
        "add_demo_parser",
        "demo_command",
        "run a whole trading story against the embedded mock Kalshi gateway",
    ),
    "mock-gateway": Command(
        "mock_gateway",
        "add_mock_gateway_parser",
        "mock_gateway_command",
        "serve a mock Kalshi FIX gateway on loopback",
    ),
    "logon-test": Command(
        "live",
        "add_live_parsers",
        "live_command",
        "log on to Kalshi, report the result, log out",
    ),
    "md": Command(
        "live",
        "add_live_parsers",
        "live_command",
        "stream the top of book of some markets",
    ),
    "kill": Command(
        "kill",
        "add_kill_parser",
        "kill_command",
        "cancel every open order of an API key (the kill switch) and report",
    ),
    "rearm": Command(
        "halt",
        "add_rearm_parser",
        "rearm_command",
        "lift the halt of a kill from the shell: the key's sessions trade again",
    ),
    "release-unknown": Command(
        "unknown",
        "add_release_parser",
        "release_command",
        "lift the block of unknown order outcomes (OutcomeUnknown) of a key's sessions",
    ),
    "order": Command(
        "order",
        "add_order_parsers",
        "order_command",
        "place one limit order and print Kalshi's answer",
    ),
    "cancel": Command(
        "order",
        "add_order_parsers",
        "cancel_command",
        "cancel one order and print Kalshi's answer",
    ),
    "simulate": Command(
        "simulate",
        "add_simulate_parser",
        "simulate_command",
        "run random fault schedules against the mock exchange in memory (deterministic "
        "simulation testing); every failure replays from one command",
        "seeds_joined",
    ),
}
"""Every subcommand, in the order ``kalshi-fix --help`` lists them."""

_PROG: Final = "kalshi-fix"
_DISTRIBUTION: Final = "kalshi-fix-sansio"
"""The distribution name of the package (``pip install kalshi-fix-sansio`` once published)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        line = f"{self.prog}: error: {message} (see {self.prog} --help)"
        encoding = getattr(sys.stderr, "encoding", None) or "ascii"
        print(line.encode(encoding, "backslashreplace").decode(encoding), file=sys.stderr)
        raise SystemExit(2)


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The subcommands' action: each one's help line is `COMMANDS`'s."""

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        kwargs["help"] = COMMANDS[name].help
        return super().add_parser(name, **kwargs)


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


def command_named(words: Sequence[str]) -> str | None:
    """The subcommand the command line names (its first word not an option), or None when
    there is none or ``--help`` / ``--version`` come before it (the line only asks for them)."""
    for word in words:
        if word in ("-h", "--help") or word.startswith("--v"):
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def add_demo_parser(sub: Any) -> None:
    """Add ``kalshi-fix demo`` (here: its module starts a gateway and loads the adapters, which
    ``kalshi-fix demo --help`` needs not)."""
    from .common import PRODUCT_HELP, PRODUCTS

    demo = sub.add_parser(
        "demo",
        description="Start the mock gateway in-process (TLS on loopback, fresh keys) and run a "
        "client through logon, market data, a resting order, a cross, a cancel, an order group "
        "trip and logout.",
        epilog="exit status: 0 every step did what Kalshi's documentation says, 1 a step did "
        "not (the transcript says which), 2 usage error",
    )
    demo.add_argument("--product", choices=PRODUCTS, default="prediction", help=PRODUCT_HELP)
    demo.add_argument(
        "--show-fix",
        action="store_true",
        help="also print every FIX message the clients send (>>) and receive (<<), '|' for "
        "SOH, the Logon signature and other secrets redacted",
    )


def demo_command(args: argparse.Namespace, out: TextIO, _err: TextIO) -> int:
    """Run ``kalshi-fix demo`` (`kalshi_fix_sansio.cli.demo.run_demo`); the exit status."""
    from . import demo

    status: int = demo.run_demo(args.product, out, show_fix=args.show_fix)
    return status


def _module(command: Command) -> ModuleType:
    return importlib.import_module(f".{command.module}", __package__)


def build_parser(words: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``kalshi-fix``.

    Args:
        words: the command line the parser is for: only the command it names gets its
            arguments (its module is imported), every other one is listed with its help line
            alone. None: every command with its arguments (every module imported).

    Returns:
        The parser.
    """
    named = None if words is None else COMMANDS.get(command_named(words) or "")
    parser = _Parser(prog=_PROG, description="Kalshi FIX tools.")
    parser.add_argument(
        "--version", action=_VersionAction, help="print the installed version and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, action=_Commands)
    for name, command in COMMANDS.items():
        if name in sub.choices:  # declared by the function of a command before it
            continue
        if words is None or (named is not None and command[:2] == named[:2]):
            getattr(_module(command), command.declare)(sub)
        else:
            sub.add_parser(name)
    return parser


def run(words: Sequence[str]) -> int:
    """Parse ``words`` and run the command they name.

    Returns:
        The exit status: 0 success, 1 failure, 2 usage error, 128 + N stopped by signal N
        (a KeyboardInterrupt goes up to `kalshi_fix_sansio.cli.main`).
    """
    named = COMMANDS.get(command_named(words) or "")
    if named is not None and named.words is not None:
        words = getattr(_module(named), named.words)(words)
    try:
        args = build_parser(words).parse_args(words)
    except SystemExit as exc:  # usage error (2) or --help (0): a status, not an exception
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    command = COMMANDS[args.command]
    name = f"{_PROG} {args.command}"
    module = _module(command)
    from .common import EXIT_FAILED, Interrupted, emit  # loaded with the command's module

    try:
        status: int = getattr(module, command.run)(args, sys.stdout, sys.stderr)
    except Interrupted as stop:
        emit(sys.stderr, f"{name}: interrupted ({stop.name})")
        return stop.status
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug must not become a traceback: one line, then report it
        what = str(exc) or type(exc).__name__
        emit(sys.stderr, f"{name}: internal error ({type(exc).__name__}: {what}); please report it")
        return EXIT_FAILED
    return status

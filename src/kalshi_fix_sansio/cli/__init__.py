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
* ``commands.py``: the table of the subcommands (module, functions, help line) and the parser
  built from it, which imports a command's module only when the command line names it;
* ``demo.py``: ``kalshi-fix demo``, a trading story against the embedded mock gateway.

The package imports only what the command needs: this module imports `sys` and `typing` alone
(the names below load on first use), ``kalshi-fix --version`` and ``kalshi-fix --help`` load no
command's module, and a command loads its own when it runs. Ctrl-C at any moment of `main`
(importing, parsing, running) ends it with one line on stderr and exit status 130.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names below, for type checkers; at run time they load on first use
    from collections.abc import Sequence
    from typing import Any, Final

    from ..observability.messagelog import scan
    from .commands import build_parser, version_text
    from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PRODUCTS, dialect
    from .decode import decode_command
    from .halt import rearm_command
    from .history import history_command, import_history_command
    from .kill import kill_command
    from .live import UsageProblem, cli_text, failure_text, live_command, refusal_text
    from .markets import markets_command
    from .mock_gateway import admin_command, apply_fault, mock_gateway_command
    from .order import cancel_command, order_command
    from .render import render_json, render_table
    from .replay import replay_command

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

_LAZY: Final = {
    "scan": "..observability.messagelog",
    **dict.fromkeys(("build_parser", "version_text"), ".commands"),
    **dict.fromkeys(("EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "PRODUCTS", "dialect"), ".common"),
    "decode_command": ".decode",
    "rearm_command": ".halt",
    **dict.fromkeys(("history_command", "import_history_command"), ".history"),
    "kill_command": ".kill",
    **dict.fromkeys(
        ("UsageProblem", "cli_text", "failure_text", "live_command", "refusal_text"), ".live"
    ),
    "markets_command": ".markets",
    **dict.fromkeys(("admin_command", "apply_fault", "mock_gateway_command"), ".mock_gateway"),
    **dict.fromkeys(("cancel_command", "order_command"), ".order"),
    **dict.fromkeys(("render_json", "render_table"), ".render"),
    "replay_command": ".replay",
}
"""Where each name of `__all__` but `main` lives (imported on first use)."""


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name], __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kalshi-fix`` console script.

    Ctrl-C (SIGINT) at any moment, from its first line (while the command's modules import,
    while the arguments are parsed, while it runs), ends it with one line on stderr.

    Args:
        argv: arguments (default: sys.argv[1:]).

    Returns:
        The exit status: 0 success, 1 failure, 2 usage error, 130 interrupted.
    """
    try:
        from .commands import run

        return run(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        pass
    return _interrupted()


def _interrupted() -> int:
    """Say that Ctrl-C stopped the command, in one line, with a second Ctrl-C ignored while it
    is said; exit status 130 (128 + SIGINT, as a shell reports it)."""
    import signal

    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: no handler to set
        previous = None
    try:
        print("kalshi-fix: interrupted (Ctrl-C)", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed: the status still says it
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return 130

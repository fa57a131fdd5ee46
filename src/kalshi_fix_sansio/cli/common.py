"""What every ``kalshi-fix`` command shares: exit statuses, printing that survives a terminal
which cannot show every character, how a FIX code and a quantity read (``0 (New)``, ``10``),
as the demo shows them, opening an input (a file or stdin), and Ctrl-C / SIGTERM stopping a
long read where it stands (`interrupted_by_signals`). The products and the codec of a product
are the library's (`kalshi_fix_sansio.observability.messagelog`), re-exported here for the commands.

Loads no codec dialect: ``kalshi-fix --help`` imports none.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO, Any, Final

from ..observability.messagelog import PRODUCTS, dialect

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PRODUCTS",
    "PRODUCT_HELP",
    "STOP_SIGNALS",
    "Interrupted",
    "add_rest_arguments",
    "ascii_number",
    "close_input",
    "code_label",
    "dialect",
    "emit",
    "interrupted_by_signals",
    "open_input",
    "port_number",
    "qty_text",
    "reason_of",
    "rest_usage",
    "rest_verify",
    "run_rest_fetch",
    "whole_number",
]

PRODUCT_HELP: Final = (
    "prediction (event contracts) or margin (perpetual futures); default: prediction"
)
"""The help of every ``--product``."""

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


def emit(stream: IO[str], text: str) -> None:
    """Print one line, escaping what the stream's encoding cannot show."""
    try:
        print(text, file=stream)
    except UnicodeEncodeError:  # a terminal that cannot show every character
        encoding = getattr(stream, "encoding", None) or "ascii"
        print(text.encode(encoding, "backslashreplace").decode(encoding), file=stream)


def code_label(code: Any) -> str:
    """``F (Trade)`` for an enum member (its FIX code, then its name in words)."""
    if not hasattr(code, "name"):
        return str(code)
    return f"{code.value} ({code.name.replace('_', ' ').capitalize()})"


def qty_text(value: Decimal | None, product: str) -> str:
    """A quantity in the product's one format (`kalshi_fix_sansio.trading.prices.format_quantity`:
    ``25``, ``2.50``); ``-`` for none."""
    from ..trading.prices import format_quantity  # the spec's tables: loaded when a command prints

    return "-" if value is None else format_quantity(value, product)


def ascii_number(text: str) -> str:
    """``text`` stripped, when it is ASCII; else a ValueError: Python reads the digits of every
    script as numbers (``int("１")`` is 1, a full-width digit), and a number typed on the command
    line is taken only in ASCII digits, so what is sent is what the user sees."""
    stripped = text.strip()
    if not stripped.isascii():
        raise ValueError(f"{text!r} has a character that is not ASCII")
    return stripped


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` taking a whole number >= ``minimum`` in ASCII digits (else a usage
    error saying so)."""

    def parse(text: str) -> int:
        try:
            value = int(ascii_number(text))
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number >= {minimum} (ASCII digits)"
            )
        return value

    return parse


def port_number(flag: str, minimum: int = 1) -> Callable[[str], int]:
    """An argparse ``type`` taking a TCP port, ``minimum`` to 65535, in ASCII digits; a number
    out of that range is called out of range."""

    def parse(text: str) -> int:
        try:
            value = int(ascii_number(text))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag} takes a port number ({minimum}-65535, ASCII digits), got {text!r}"
            ) from None
        if not minimum <= value <= 65535:
            raise argparse.ArgumentTypeError(
                f"{flag} {value} is out of range: a port is {minimum} to 65535"
            )
        return value

    return parse


def open_input(path: str, err: IO[str], command: str) -> tuple[str, IO[bytes]] | None:
    """Open one input for reading as it is used (``-``: stdin's buffer, left open).

    Args:
        path: the file, or ``-``.
        err: where a failure is told (one line naming the command and the file).
        command: the ``kalshi-fix`` command, for that line.

    Returns:
        (the input's name for messages, the binary stream), or None when it cannot be opened.
    """
    try:
        if path == "-":
            return "<stdin>", sys.stdin.buffer
        return path, open(path, "rb")
    except (OSError, AttributeError, ValueError) as exc:
        what = "<stdin>" if path == "-" else path
        emit(err, f"kalshi-fix {command}: cannot read {what}: {reason_of(exc)}")
        return None


def close_input(stream: IO[bytes]) -> None:
    """Close an input `open_input` opened (stdin stays open)."""
    if stream is not getattr(sys.stdin, "buffer", None):
        stream.close()


def reason_of(exc: BaseException) -> str:
    """An exception in words: an OSError's strerror, else its text, else its type's name."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop a command's long work where it stands (`interrupted_by_signals`)."""


class Interrupted(BaseException):
    """A signal of `STOP_SIGNALS` arrived (a BaseException, as KeyboardInterrupt, so that no
    ``except Exception`` on the way keeps it).

    Attributes:
        signum: the signal's number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """``SIGINT`` or ``SIGTERM``."""
        return signal.Signals(self.signum).name

    @property
    def status(self) -> int:
        """The exit status: 128 + the signal's number, as a shell reports one (130, 143)."""
        return 128 + self.signum


@contextlib.contextmanager
def interrupted_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Interrupted` where the main thread stands, until the end of
    the block; the handlers in place before come back after it. Python runs a signal's handler
    in the main thread between two bytecodes (a blocking read is interrupted for it), so a long
    read or decode stops within one line's work. Outside the main thread (no signal handlers
    there) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def rest_usage(args: argparse.Namespace) -> str | None:
    """What is wrong with a REST command's ``--max-retries`` or ``--pinned-cert`` (None:
    nothing), in one line's words."""
    if args.max_retries < 1:
        return f"--max-retries takes a count >= 1, got {args.max_retries}"
    if args.pinned_cert is not None and not os.path.isfile(args.pinned_cert):
        return f"--pinned-cert {args.pinned_cert}: no such file"
    return None


def rest_verify(pinned_cert: str | None) -> Any:
    """Whom a REST command trusts: exactly ``--pinned-cert``'s certificate, else the system's
    CAs (True)."""
    if pinned_cert is None:
        return True
    from ..adapters import make_ssl_context

    return make_ssl_context(pinned_cert=pinned_cert)


def run_rest_fetch(fetch: Any, pinned_cert: str | None, name: str, err: IO[str]) -> bool:
    """Run a one-pass REST fetch with the blocking companion, trusting ``--pinned-cert``;
    False: it could not run (httpx missing, said in one line on ``err``)."""
    from ..adapters.rest import RestCompanion
    from ..codec.errors import LocalProtocolError

    try:
        RestCompanion(verify=rest_verify(pinned_cert)).run(fetch)
    except LocalProtocolError as exc:  # httpx missing
        emit(err, f"{name}: {exc}")
        return False
    return True


def add_rest_arguments(cmd: argparse.ArgumentParser, env: str = "demo") -> None:
    """A REST command's ``--env`` (default ``env``), ``--base-url``, ``--pinned-cert`` and
    ``--max-retries``."""
    cmd.add_argument(
        "--env",
        choices=["demo", "production"],
        default=env,
        help=f"Kalshi environment whose REST host is read (default: {env})",
    )
    cmd.add_argument(
        "--base-url",
        metavar="URL",
        help="https://HOST:PORT instead of Kalshi's host, e.g. a mock gateway's --rest",
    )
    cmd.add_argument("--pinned-cert", metavar="PEM", help="trust exactly this server certificate")
    cmd.add_argument(
        "--max-retries",
        type=int,
        default=4,
        metavar="N",
        help="429 / 5xx answers of one request before it is given up (default 4)",
    )

"""``kalshi-fix logon-test`` and ``kalshi-fix md``: log on to Kalshi (or a mock gateway).

``logon-test`` logs on, reports the result and logs out; ``md`` streams the top of book of some
markets (prices in the product's one format, `kalshi_fix_sansio.prices`). Credentials come
from the environment. With ``--metrics`` both print the session's counters and round-trip
figures (`kalshi_fix_sansio.metrics`) every ``--metrics-every`` seconds and once at the end
(``logon-test --metrics --seconds N`` stays logged on N seconds).
Failures are one line that says what happened and what to do (`failure_text`): library errors
phrased for Python callers (``allow_unlisted_hosts=True``, ``passphrase=...``) are rephrased
for flags and environment variables (`cli_text`).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PRODUCTS, dialect

if TYPE_CHECKING:
    from ..book import Book

# ---------------------------------------------------------------------------------------------
# Speaking CLI: library messages phrased for Python callers, rephrased for flags and variables


class UsageProblem(Exception):
    """A command-line problem: printed as one line, exit status 2."""


def _env_prefix(product: str) -> str:
    return "KALSHI_PERPS_" if product == "margin" else "KALSHI_"


def cli_text(text: str, product: str = "prediction") -> str:
    """A library message with its Python advice replaced by the flag or variable to use.

    The library speaks to Python callers (``pass allow_unlisted_hosts=True``); the same advice
    on the command line is a flag or an environment variable. Unknown text is returned as is.

    Args:
        text: the message.
        product: which product's environment variables to name.

    Returns:
        The message for a command-line user.
    """
    env = _env_prefix(product)
    rewrites = (
        (r"pass allow_unlisted_hosts=True", "add --allow-unlisted-host"),
        (r"pass its passphrase \(passphrase=\.\.\.\)", f"set {env}PRIVATE_KEY_PASSPHRASE"),
        (r"pass passphrase=None", f"unset {env}PRIVATE_KEY_PASSPHRASE"),
        (
            r"if it is a file path, use load_signer_file\(path\)",
            f"if it is a file path, set {env}PRIVATE_KEY_PATH to it instead of {env}PRIVATE_KEY",
        ),
        (r"or use load_signer_file\(path\)", f"or set {env}PRIVATE_KEY_PATH to the file"),
        (r"pass the contents of the key file", f"set {env}PRIVATE_KEY to the PEM text"),
        (r"pass the PEM private key", "use the PEM private key"),
        (r"use tls=True or drop it", "drop tcp:// from --endpoint"),
        (r"use tls=True", "drop tcp:// from --endpoint (TLS)"),
        (r"pinned_cert", "--pinned-cert"),
    )
    for pattern, replacement in rewrites:
        text = re.sub(pattern, replacement, text)
    return text


def _parse_endpoint(text: str) -> tuple[str, int, bool]:
    """``[tls://|tcp://]HOST:PORT`` (``[::1]:PORT`` for IPv6) as (host, port, tls)."""
    tls = True
    rest = text.strip()
    scheme, sep, after = rest.partition("://")
    if sep:
        if scheme.lower() not in ("tls", "tcp"):
            raise UsageProblem(
                f"--endpoint takes [tls://|tcp://]HOST:PORT, got {text!r} (scheme {scheme!r})"
            )
        tls = scheme.lower() == "tls"
        rest = after
    host, _, port = rest.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageProblem(f"--endpoint takes [tls://|tcp://]HOST:PORT, got {text!r}")
    return host, int(port), tls


def _short(session_type: str) -> str:
    return session_type.removeprefix("Kalshi")


def _session_arg(text: str) -> str:
    """``--session``: NR, nr, KalshiNR... as the session type name."""
    name = text.strip().upper().removeprefix("KALSHI")
    known = ("NR", "RT", "DC", "PT", "RFQ", "MD")
    if name not in known:
        raise argparse.ArgumentTypeError(
            f"unknown session type {text!r}: use one of {', '.join(known)}"
        )
    return "Kalshi" + name


parse_endpoint = _parse_endpoint
"""``--endpoint [tls://|tcp://]HOST:PORT`` as (host, port, tls) (``kalshi-fix kill`` too)."""
session_arg = _session_arg
"""``--session NR|RT|...`` as the session type name (``kalshi-fix kill`` too)."""


def _live_client(args: argparse.Namespace, session_type: str) -> Any:
    from ..adapters import Backoff, Endpoint, check_endpoint
    from ..adapters.blocking import FixClient, MarginFixClient

    cls = FixClient if args.product == "prediction" else MarginFixClient
    options: dict[str, Any] = {
        "pinned_cert": args.pinned_cert,
        "allow_unlisted_hosts": args.allow_unlisted_host,
        "backoff": Backoff(attempts=2),
    }
    if args.endpoint:
        host, port, tls = _parse_endpoint(args.endpoint)
        if not tls and args.pinned_cert:
            raise UsageProblem(
                "--pinned-cert applies to TLS: drop it or drop tcp:// from --endpoint"
            )
        endpoint = Endpoint(host, port, tls=tls)
        check_endpoint(endpoint, allow_unlisted_hosts=args.allow_unlisted_host)
        options["endpoints"] = {session_type: endpoint}
    return cls.from_env(args.env, **options)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and a ConnectionFailed's last error."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop(0)
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [getattr(item, "last_error", None), item.__cause__, item.__context__]


_REFUSED = re.compile(r"Logon refused: (?P<text>.*?)(?:\)|$)")
_WRONG_PORT = re.compile(
    r"TargetCompID '(?P<wanted>\w+)' does not match this session \((?P<served>\w+)\)"
)


def refusal_text(exc: BaseException) -> str | None:
    """Kalshi's Logout text when the failure is a refused Logon, else None."""
    for item in _causes(exc):
        text = getattr(item, "text", None)
        if isinstance(text, str) and "Logon" in type(item).__name__:
            return text
    for item in _causes(exc):
        m = _REFUSED.search(str(item))
        if m:
            return m.group("text")
    return None


def failure_text(exc: BaseException, args: argparse.Namespace, session_type: str) -> str:
    """One line for a failed ``logon-test`` / ``md``: what happened and what to do."""
    where = args.endpoint or f"Kalshi's {session_type} endpoint"
    refused = refusal_text(exc)
    if refused is not None:
        wrong = _WRONG_PORT.search(refused)
        if wrong:
            served, wanted = wrong.group("served"), wrong.group("wanted")
            todo = f"point --endpoint at the {wanted} port"
            if args.command == "logon-test":
                todo = f"use --session {_short(served)} here, or " + todo
            return (
                f"Kalshi refused the Logon: {where} serves {served}, not {wanted}: {todo} "
                "(kalshi-fix mock-gateway prints every port)"
            )
        if refused.startswith("unknown API key"):
            env = _env_prefix(args.product)
            refused += f" (check {env}KEY_ID, and that the key is registered for {args.product})"
        return f"Kalshi refused the Logon: {refused}"
    import ssl

    causes = list(_causes(exc))
    for item in causes:
        if isinstance(item, ssl.SSLCertVerificationError):
            reason = item.verify_message or str(item)
            return (
                f"the server's TLS certificate at {where} is not trusted ({reason}): pass the "
                "certificate it presents with --pinned-cert PEM (kalshi-fix mock-gateway prints it)"
            )
    for item in causes:
        if isinstance(item, ssl.SSLError):
            reason = item.reason or str(item)
            return (
                f"TLS handshake with {where} failed ({reason}): if the server serves plain TCP "
                "(kalshi-fix mock-gateway --plain), use --endpoint tcp://HOST:PORT"
            )
    for item in causes:
        if isinstance(item, ConnectionRefusedError):
            return (
                f"nothing listens at {where} (connection refused): is the gateway running, and "
                "is --endpoint HOST:PORT right?"
            )
    if args.endpoint and args.endpoint.lower().startswith("tcp://"):
        return (
            f"{where} closed the plain TCP connection without answering the Logon: if it serves "
            "TLS, drop tcp:// from --endpoint and pass its certificate with --pinned-cert"
        )
    return cli_text(str(exc), args.product)


def _top_line(book: Book, product: str) -> str:
    """``SYM: bid 25.00 @ $0.40 | ask 30.00 @ $0.45``: the top of book, prices as every tool
    shows them (`kalshi_fix_sansio.prices.format_price`)."""
    from ..prices import format_price

    bid, offer = book.top()
    b = f"{bid.size} @ {format_price(bid.price, product)}" if bid else "-"
    o = f"{offer.size} @ {format_price(offer.price, product)}" if offer else "-"
    return f"{book.symbol}: bid {b} | ask {o}"


def live_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix logon-test`` or ``kalshi-fix md`` against Kalshi (or --endpoint).

    Args:
        args: parsed arguments.
        out: where results go.
        err: where problems go.

    Returns:
        0 on success, 1 when Kalshi refused or the connection failed, 2 for a usage problem
        (arguments, credentials, files).
    """
    import time

    from ..book import Books
    from ..errors import FixError
    from ..events import ApplicationMessage

    name = "logon-test" if args.command == "logon-test" else "md"
    session_type = "KalshiMD" if name == "md" else args.session
    try:
        client = _live_client(args, session_type)
        session = client.session(session_type)
    except UsageProblem as exc:
        print(f"kalshi-fix {name}: {exc}", file=err)
        return EXIT_USAGE
    except (FixError, ValueError, OSError) as exc:
        print(f"kalshi-fix {name}: {cli_text(str(exc), args.product)}", file=err)
        return EXIT_USAGE
    show = _MetricsPrinter(session, args, out)
    try:
        with session:
            if name == "logon-test":
                print(
                    f"logged on to {session_type} ({args.product}, {args.env}) as "
                    f"{session.config.sender_comp_id}"
                    + ("" if args.metrics else "; logging out"),
                    file=out,
                    flush=True,
                )
                if args.metrics:
                    stop = time.monotonic() + (args.seconds or 0.0)
                    while (remaining := stop - time.monotonic()) > 0:
                        session.next_event(min(remaining, show.due()))
                        show.maybe()
                    show.now()
                    print("logging out", file=out, flush=True)
                return EXIT_OK
            codec = dialect(args.product)
            session.send(
                codec.MarketDataRequest(
                    subscription_request_type=codec.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
                    related_sym=[codec.MarketDataRequestRelatedSym(symbol=s) for s in args.symbols],
                )
            )
            books = Books()
            until: float | None = None if args.seconds is None else time.monotonic() + args.seconds
            while until is None or time.monotonic() < until:
                left = None if until is None else max(until - time.monotonic(), 0.0)
                if args.metrics:
                    left = show.due() if left is None else min(left, show.due())
                event = session.next_event(left)
                show.maybe()
                if event is None:
                    if args.metrics and (until is None or time.monotonic() < until):
                        continue
                    break
                if isinstance(event, ApplicationMessage):
                    updates = books.apply(event.message)
                    for symbol in updates.symbols:
                        print(_top_line(books[symbol], args.product), file=out, flush=True)
                    for problem in updates.inconsistencies:
                        print(f"kalshi-fix md: {problem}", file=err, flush=True)
            show.now()
            return EXIT_OK
    except (FixError, OSError) as exc:
        print(f"kalshi-fix {name}: {failure_text(exc, args, session_type)}", file=err)
        return EXIT_FAILED


class _MetricsPrinter:
    """``--metrics``: the session's metrics snapshot, one line (or one JSON object with
    ``--metrics-json``) every ``--metrics-every`` seconds; nothing without ``--metrics``."""

    def __init__(self, session: Any, args: argparse.Namespace, out: IO[str]) -> None:
        import time

        self._clock = time.monotonic
        self.session, self.out = session, out
        self.on = bool(getattr(args, "metrics", False))
        self.json = bool(getattr(args, "metrics_json", False))
        self.every = float(getattr(args, "metrics_every", 5.0))
        self._next = self._clock() + self.every

    def due(self) -> float:
        """Seconds until the next line is due (0.0 when it is)."""
        return max(self._next - self._clock(), 0.0)

    def maybe(self) -> None:
        """Print a line if one is due."""
        if self.on and self._clock() >= self._next:
            self.now()

    def now(self) -> None:
        """Print a line now (when ``--metrics`` was given)."""
        if not self.on:
            return
        snapshot = self.session.metrics.snapshot()
        if self.json:
            import json

            line = json.dumps(snapshot.as_dict(), sort_keys=True)
        else:
            line = "metrics: " + snapshot.summary()
        print(line, file=self.out, flush=True)
        self._next = self._clock() + self.every


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--metrics-every takes seconds > 0, got {text!r}")
    return value


def add_live_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix logon-test`` and ``kalshi-fix md`` to the subcommands of ``kalshi-fix``."""
    for name, helptext, desc in (
        (
            "logon-test",
            "log on to Kalshi, report the result, log out",
            "Log on with credentials from the environment (KALSHI_KEY_ID + KALSHI_PRIVATE_KEY or "
            "KALSHI_PRIVATE_KEY_PATH; KALSHI_PERPS_* for margin), report success or Kalshi's Logout "
            "text, log out.",
        ),
        (
            "md",
            "stream the top of book of some markets",
            "Log on to KalshiMD with credentials from the environment and print the top of book "
            "of each SYMBOL as it changes.",
        ),
    ):
        cmd = sub.add_parser(
            name,
            help=helptext,
            description=desc,
            epilog="exit status: 0 success, 1 Kalshi refused or the connection failed, "
            "2 usage error (arguments, credentials, files)",
        )
        cmd.add_argument("--env", choices=["demo", "production"], default="demo")
        cmd.add_argument("--product", choices=PRODUCTS, default="prediction")
        cmd.add_argument(
            "--endpoint",
            metavar="[tcp://]HOST:PORT",
            help="connect here instead of Kalshi's host, e.g. a mock gateway (TLS; tcp:// for "
            "plain TCP to loopback)",
        )
        cmd.add_argument(
            "--pinned-cert", metavar="PEM", help="trust exactly this server certificate"
        )
        cmd.add_argument(
            "--allow-unlisted-host",
            action="store_true",
            help="permit a TLS host that is not one of Kalshi's documented FIX hosts",
        )
        cmd.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
        cmd.add_argument(
            "--metrics",
            action="store_true",
            help="print the session's counters and order round trips (messages in/out by "
            "MsgType, bytes, rejects, gaps, resends, reconnects, queue) every --metrics-every "
            "seconds and at the end"
            + ("; stays logged on --seconds seconds" if name == "logon-test" else ""),
        )
        cmd.add_argument(
            "--metrics-every",
            type=_interval,
            default=5.0,
            metavar="SECONDS",
            help="seconds between --metrics lines (default 5)",
        )
        cmd.add_argument(
            "--metrics-json", action="store_true", help="--metrics as one JSON object per line"
        )
        if name == "logon-test":
            cmd.add_argument(
                "--session",
                default="KalshiNR",
                type=_session_arg,
                help="session type: NR, RT, DC, PT, RFQ or MD (default NR)",
            )
        else:
            cmd.add_argument("symbols", nargs="+", metavar="SYMBOL")

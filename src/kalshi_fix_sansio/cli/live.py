"""``kalshi-fix logon-test`` and ``kalshi-fix md``: log on to Kalshi (or a mock gateway).

``logon-test`` logs on, reports the result and logs out; ``md`` streams the top of book of some
markets (prices in the product's one format, `kalshi_fix_sansio.trading.prices`) and fails, naming the
market, when one gets no market data: Kalshi refused the subscription (35=Y), sent no snapshot
in time, or sent an empty one (how it answers an unknown ticker) and nothing since. Credentials
come from the environment; `make_client` builds the blocking client every connecting command
uses (``kill``, ``order`` and ``cancel`` too). With ``--metrics`` both print the session's
counters and round-trip figures (`kalshi_fix_sansio.observability.metrics`) every ``--metrics-every`` seconds
and once at the end (``logon-test --metrics --seconds N`` stays logged on N seconds).
Failures are one line that says what happened and what to do (`failure_text`): library errors
phrased for Python callers (``allow_unlisted_hosts=True``, ``passphrase=...``) are rephrased
for flags and environment variables (`cli_text`).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any

from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PRODUCT_HELP,
    PRODUCTS,
    ascii_number,
    code_label,
    dialect,
)

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
        (
            r"or pass strict=False to restore without them \(Restored\.problems lists them\)",
            "or add --skip-unreadable to go on without them (each named)",
        ),
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
    if not host or not port.isascii() or not port.isdigit():
        raise UsageProblem(
            f"--endpoint takes [tls://|tcp://]HOST:PORT (PORT in ASCII digits), got {text!r}"
        )
    if not 0 < int(port) < 65536:
        raise UsageProblem(f"--endpoint {text!r}: port {int(port)} is out of range: 1 to 65535")
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


def destination(args: argparse.Namespace, endpoint: tuple[str, int, bool] | str | None) -> str:
    """Where a command connects, for the line that says so: ``prediction, Kalshi demo``
    without ``--endpoint``; ``prediction, Kalshi's host HOST:PORT given by --endpoint`` for
    one of Kalshi's documented hosts; else ``prediction, not Kalshi: the
    gateway at 127.0.0.1:18228 given by --endpoint`` (a mock gateway, say), never the
    ``--env`` that was not used.

    Args:
        args: parsed arguments (``product``, ``env``).
        endpoint: the ``--endpoint`` of the session, parsed (`parse_endpoint`) or as typed.
    """
    from ..client import KALSHI_FIX_HOSTS

    if endpoint is None:
        return f"{args.product}, Kalshi {args.env}"
    if isinstance(endpoint, str):
        try:
            endpoint = _parse_endpoint(endpoint)
        except UsageProblem:
            return f"{args.product}, not Kalshi: {endpoint} given by --endpoint"
    host, port, tls = endpoint
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if host.strip().lower().rstrip(".") in KALSHI_FIX_HOSTS:
        return f"{args.product}, Kalshi's host {shown} given by --endpoint"
    plain = ", plain TCP" if not tls else ""
    return f"{args.product}, not Kalshi: the gateway at {shown} given by --endpoint{plain}"


parse_endpoint = _parse_endpoint
"""``--endpoint [tls://|tcp://]HOST:PORT`` as (host, port, tls) (``kalshi-fix kill`` too)."""
session_arg = _session_arg
"""``--session NR|RT|...`` as the session type name (``kalshi-fix kill`` too)."""
env_prefix = _env_prefix
"""``KALSHI_`` (prediction) or ``KALSHI_PERPS_`` (margin): the product's environment variables."""


def make_client(args: argparse.Namespace, endpoints: Mapping[str, tuple[str, int, bool]]) -> Any:
    """The blocking client of ``--product`` with the key of the environment (``--env``),
    ``--pinned-cert``, ``--allow-unlisted-host``, the ``--endpoint`` overrides and, for the
    commands that have it, the key's halt file in ``--halt-dir``.

    Args:
        args: parsed arguments (``product``, ``env``, ``pinned_cert``, ``allow_unlisted_host``).
        endpoints: session type -> (host, port, tls) of ``--endpoint`` (`parse_endpoint`).

    Returns:
        A `FixClient` or `MarginFixClient` (two connection attempts per session).

    Raises:
        UsageProblem: ``--pinned-cert`` with a plain TCP endpoint.
        LocalProtocolError, KeyLoadError: credentials, host or options refused by the library
            (`cli_text` rephrases them for the command line).
    """
    from kalshi_fix_sansio.adapters.blocking import FixClient, MarginFixClient
    from kalshi_fix_sansio.client import Endpoint, check_endpoint
    from kalshi_fix_sansio.client.reconnect import Backoff
    from kalshi_fix_sansio.session import Credentials

    cls = FixClient if args.product == "prediction" else MarginFixClient
    overrides = {}
    for session_type, (host, port, tls) in endpoints.items():
        if not tls and args.pinned_cert:
            raise UsageProblem(
                "--pinned-cert applies to TLS: drop it or drop tcp:// from --endpoint"
            )
        endpoint = Endpoint(host, port, tls=tls)
        check_endpoint(endpoint, allow_unlisted_hosts=args.allow_unlisted_host)
        overrides[session_type] = endpoint
    options: dict[str, Any] = {
        "pinned_cert": args.pinned_cert,
        "allow_unlisted_hosts": args.allow_unlisted_host,
        # one-shot commands answer fast, Thursday 3-5 AM ET too (a kill must not wait out
        # Kalshi's maintenance window), and after a drop too (not reconnecting for ever)
        "backoff": Backoff(attempts=2, maintenance_retry=None, reconnect_attempts=2),
    }
    if overrides:
        options["endpoints"] = overrides
    credentials = Credentials.from_env(cls.PRODUCT)
    if getattr(args, "halt_dir", None):  # the key's halt file there, not in the default one
        from ..trading.haltfile import HaltFile

        options["halt_file"] = HaltFile(credentials.key_id, args.halt_dir)
    return cls(credentials, args.env, **options)


def client_for(args: argparse.Namespace, session_type: str) -> Any:
    """`make_client` for a command of one session type and at most one ``--endpoint``."""
    endpoints = {session_type: _parse_endpoint(args.endpoint)} if args.endpoint else {}
    return make_client(args, endpoints)


def fresh_process_flags(session_type: str) -> dict[str, Any]:
    """Logon flags of a command that opens an order-entry session of its own: KalshiRT logs on
    with ResetSeqNumFlag=Y (the process has none of the trading process's sequence numbers,
    and needs no resend); KalshiNR resets at every Logon anyway."""
    return {"reset_seq_num": True} if session_type == "KalshiRT" else {}


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
    endpoint = args.endpoint
    if isinstance(endpoint, list):  # kill's repeatable --endpoint [TYPE=]HOST:PORT
        endpoint = ", ".join(endpoint)
    where = endpoint or f"Kalshi's {session_type} endpoint"
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
            if "it is not the pinned certificate" in str(item):  # CertificateRefused's words
                return (
                    f"the server's TLS certificate at {where} is not the one --pinned-cert "
                    f"names ({reason}): not logged on; if the server's certificate changed, "
                    "fetch it again (the mock gateway's banner prints its certificate)"
                )
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
    if endpoint and "tcp://" in endpoint.lower():
        return (
            f"{where} closed the plain TCP connection without answering the Logon: if it serves "
            "TLS, drop tcp:// from --endpoint and pass its certificate with --pinned-cert"
        )
    return cli_text(str(exc), args.product)


def _named(symbols: Sequence[str]) -> str:
    """``A``, ``A, B``, or ``A, B, C and 998 more``: the markets a message is about."""
    shown = ", ".join(symbols[:3])
    return shown + (f" and {len(symbols) - 3} more" if len(symbols) > 3 else "")


def _stream_books(
    session: Any, args: argparse.Namespace, out: IO[str], err: IO[str], show: _MetricsPrinter
) -> int:
    """``md``: subscribe to the SYMBOLs, print each changed top of book until ``--seconds``
    pass (or forever; a snapshot still awaited then is waited for up to ``--timeout``); 1 as
    soon as Kalshi refuses the subscription (35=Y) or a SYMBOL has no snapshot within
    ``--timeout``, and at the end when a SYMBOL's book stayed empty from its snapshot on
    (Kalshi answers an unknown ticker with an empty snapshot, not a reject)."""
    import time

    from ..session.events import ApplicationMessage
    from ..trading.book import Books
    from ..trading.prices import format_top

    codec = dialect(args.product)
    symbols = list(dict.fromkeys(args.symbols))
    session.send(
        codec.MarketDataRequest(
            subscription_request_type=codec.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
            related_sym=[codec.MarketDataRequestRelatedSym(symbol=s) for s in symbols],
        )
    )
    books = Books()
    start = time.monotonic()
    until = None if args.seconds is None else start + args.seconds
    snapshot_by = start + args.timeout  # a snapshot awaited holds the end of --seconds
    waiting = set(symbols)  # no snapshot yet
    empty: list[str] = []  # an empty snapshot, and no change since
    nothing_by: float | None = None  # streaming forever: every SYMBOL empty, until then
    while True:
        now = time.monotonic()
        if until is None and not waiting and len(empty) == len(symbols):
            nothing_by = nothing_by or now + args.timeout
        else:
            nothing_by = None
        if nothing_by is not None and now >= nothing_by:
            print(
                f"kalshi-fix md: {_named(empty)}: empty snapshot and no bid or offer within "
                f"{args.timeout:g} s (--timeout): no such market (Kalshi answers an unknown "
                "ticker with an empty snapshot, not a reject), or nothing rests on it: check "
                "the ticker (--seconds N watches an empty book for N seconds)",
                file=err,
            )
            return EXIT_FAILED
        if waiting and now >= snapshot_by:
            late = [s for s in symbols if s in waiting]
            print(
                f"kalshi-fix md: {_named(late)}: no snapshot within {snapshot_by - start:g} s of "
                "subscribing: Kalshi sent no market data for it (--timeout sets the wait)",
                file=err,
            )
            return EXIT_FAILED
        if until is not None and now >= until and not waiting:
            break
        ending = until if until is not None and now < until else None
        deadlines = [
            d for d in (ending, snapshot_by if waiting else None, nothing_by) if d is not None
        ]
        left = max(min(deadlines) - now, 0.0) if deadlines else None
        if args.metrics:
            left = show.due() if left is None else min(left, show.due())
        event = session.next_event(left)
        show.maybe()
        if not isinstance(event, ApplicationMessage):
            continue  # None: a deadline, checked above; session events
        message: Any = event.message
        if message.MSG_TYPE == "Y":
            why = message.text or "no reason given"
            reason = message.md_req_rej_reason
            if reason is not None:
                why += f" (MDReqRejReason {code_label(reason)})"
            print(
                f"kalshi-fix md: {_named(symbols)}: Kalshi refused the subscription: {why}",
                file=err,
            )
            return EXIT_FAILED
        updates = books.apply(message)
        for problem in updates.inconsistencies:
            print(f"kalshi-fix md: {problem}", file=err, flush=True)
        for symbol in updates.symbols:
            if message.MSG_TYPE == "W":
                waiting.discard(symbol)
                if books[symbol].top() == (None, None):
                    empty.append(symbol)
                    print(
                        f"kalshi-fix md: {symbol}: empty snapshot (no bids, no offers): no such "
                        "market, or nothing rests on it (Kalshi answers an unknown ticker with an "
                        "empty snapshot, not a reject): check the ticker",
                        file=err,
                        flush=True,
                    )
                    continue
            if symbol in empty:
                empty.remove(symbol)
            print(format_top(books[symbol], args.product), file=out, flush=True)
    if empty:
        print(
            f"kalshi-fix md: {_named(empty)}: no bids or offers in {args.seconds:g} s: no such "
            "market, or nothing rests on it",
            file=err,
        )
        return EXIT_FAILED
    return EXIT_OK


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

    from ..codec.errors import FixError

    name = "logon-test" if args.command == "logon-test" else "md"
    session_type = "KalshiMD" if name == "md" else args.session
    try:
        client = client_for(args, session_type)
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
                    f"logged on to {session_type} ({destination(args, args.endpoint)}) as "
                    f"{session.config.sender_comp_id}" + ("" if args.metrics else "; logging out"),
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
            status = _stream_books(session, args, out, err, show)
            show.now()
            return status
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


def seconds_arg(flag: str, *, zero: bool = False) -> Callable[[str], float]:
    """An argparse type: seconds > 0 (>= 0 with ``zero``), in ASCII digits, for ``flag`` (its
    error names the flag)."""

    def seconds(text: str) -> float:
        try:
            value = float(ascii_number(text))
        except ValueError:
            value = -1.0
        if not (0 <= value if zero else 0 < value) or not value < float("inf"):
            raise argparse.ArgumentTypeError(
                f"{flag} takes seconds {'>=' if zero else '>'} 0 (ASCII digits), got {text!r}"
            )
        return value

    return seconds


def add_skip_unreadable(cmd: argparse.ArgumentParser) -> None:
    """``--skip-unreadable``: ``--from-log`` read without the parts that cannot be (each named
    on stderr) instead of refused (`kalshi_fix_sansio.client.restore.restore`'s ``strict``)."""
    cmd.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="read --from-log without the parts of it that cannot be read (each named on "
        "stderr) instead of refusing it; the orders those parts held are not known",
    )


def add_client_options(
    cmd: argparse.ArgumentParser, *, endpoint_metavar: str, endpoint_help: str, many: bool = False
) -> None:
    """``--env``, ``--product``, ``--endpoint`` (repeatable with ``many``), ``--pinned-cert``
    and ``--allow-unlisted-host``: what `make_client` reads."""
    cmd.add_argument(
        "--env",
        choices=["demo", "production"],
        default="demo",
        help="Kalshi environment: demo or production (default: demo; reaching production "
        "takes --env production, a kill included); --endpoint replaces its host",
    )
    cmd.add_argument(
        "--product",
        choices=PRODUCTS,
        default="prediction",
        help=PRODUCT_HELP + " (the credentials read: KALSHI_* or KALSHI_PERPS_*)",
    )
    cmd.add_argument(
        "--endpoint",
        action="append" if many else "store",
        metavar=endpoint_metavar,
        help=endpoint_help,
    )
    cmd.add_argument("--pinned-cert", metavar="PEM", help="trust exactly this server certificate")
    cmd.add_argument(
        "--allow-unlisted-host",
        action="store_true",
        help="permit a TLS host that is not one of Kalshi's documented FIX hosts",
    )


ENDPOINT_HELP = (
    "connect here instead of Kalshi's host, e.g. a mock gateway (TLS; tcp:// for plain TCP to "
    "loopback)"
)
"""The help of ``--endpoint [tcp://]HOST:PORT``."""


def add_live_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix logon-test`` and ``kalshi-fix md`` to the subcommands of ``kalshi-fix``."""
    for name, desc in (
        (
            "logon-test",
            "Log on with credentials from the environment (KALSHI_KEY_ID + KALSHI_PRIVATE_KEY or "
            "KALSHI_PRIVATE_KEY_PATH; KALSHI_PERPS_* for margin), report success or Kalshi's Logout "
            "text, log out.",
        ),
        (
            "md",
            "Log on to KalshiMD with credentials from the environment and print the top of book "
            "of each SYMBOL as it changes. A SYMBOL without market data is named on stderr: "
            "Kalshi refused the subscription (MarketDataRequestReject), sent no snapshot within "
            "--timeout, or sent an empty one (how Kalshi answers an unknown ticker: it does not "
            "reject it).",
        ),
    ):
        failed = "1 Kalshi refused or the connection failed"
        if name == "md":
            failed += (
                ", Kalshi refused the subscription, a SYMBOL had no snapshot within --timeout, "
                "or its book stayed empty from its snapshot to the end of --seconds (without "
                "--seconds: every SYMBOL's book stayed empty --timeout seconds, as an unknown "
                "ticker's does)"
            )
        cmd = sub.add_parser(
            name,
            description=desc,
            epilog=f"exit status: 0 success, {failed}, 2 usage error (arguments, credentials, "
            "files)",
        )
        add_client_options(cmd, endpoint_metavar="[tcp://]HOST:PORT", endpoint_help=ENDPOINT_HELP)
        cmd.add_argument(
            "--seconds",
            type=seconds_arg("--seconds", zero=True),
            default=None,
            help="stop after this many seconds",
        )
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
            type=seconds_arg("--metrics-every"),
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
            cmd.add_argument(
                "--timeout",
                type=seconds_arg("--timeout"),
                default=10.0,
                metavar="SECONDS",
                help="seconds to wait for each SYMBOL's snapshot after subscribing (default 10)",
            )
            cmd.add_argument("symbols", nargs="+", metavar="SYMBOL")

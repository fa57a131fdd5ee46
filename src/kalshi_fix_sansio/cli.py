"""The ``kalshi-fix`` command line.

``kalshi-fix decode [FILE ...]`` prints FIX messages with tag names and typed values.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from importlib import resources
from typing import IO, Any

from . import margin, prediction
from ._generated.tables import FIELDS
from ._message import FixRecord, Message
from .errors import DecodeError
from .framing import SOH, Frame, Framer

DIALECTS = {"prediction": prediction, "margin": margin}


class _Problem:
    __slots__ = ("offset", "reason")

    def __init__(self, reason: str, offset: int) -> None:
        self.reason = reason
        self.offset = offset


def normalize(data: bytes) -> bytes:
    """Turn ``^A`` and (when the input holds no SOH) ``|`` separators into SOH.

    Args:
        data: raw input.

    Returns:
        The input with SOH separators.
    """
    data = data.replace(b"^A", SOH)
    if SOH not in data:
        data = data.replace(b"|", SOH)
    return data


def _frames_of_line(line: bytes, base: int, verify: bool) -> Iterator[tuple[int, bytes] | _Problem]:
    start = line.find(b"8=")
    if start < 0:
        return
    text = line[start:].rstrip(b"\r\n \t")
    if not text.endswith(SOH):
        text += SOH
    if not verify:
        yield base + start, text
        return
    framer = Framer()
    framer.feed(text)
    for item in framer:
        if isinstance(item, Frame):
            yield base + start + item.offset, item.data
        else:
            yield _Problem(item.reason, base + start + item.offset)
    if framer.buffered:
        yield _Problem(
            f"incomplete frame: {framer.buffered} bytes without a full message",
            base + start + framer.stream_offset,
        )


def iter_frames(data: bytes, verify: bool = True) -> Iterator[tuple[int, bytes] | _Problem]:
    """Frames (with their input byte offsets) and problems found in a FIX text or stream.

    Args:
        data: the input (SOH, '|' or '^A' separators; each line normalized on its own).
        verify: check BodyLength and CheckSum (doc examples often carry wrong ones).

    Yields:
        ``(offset, frame)`` pairs, and `_Problem` records for malformed input.
    """
    if b"\n" in data:
        pos = 0
        for line in data.splitlines(keepends=True):
            yield from _frames_of_line(normalize(line), pos, verify)
            pos += len(line)
        return
    yield from _frames_of_line(normalize(data), 0, verify)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (Decimal, datetime, date, time)):
        return str(value) if not isinstance(value, datetime) else value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _show(value: Any) -> str:
    if isinstance(value, Enum):
        return f"{value.value} ({value.name})"
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _rows(rec: FixRecord, depth: int) -> Iterator[str]:
    pad = "  " * depth
    for tag, name, value in rec.items():
        if isinstance(value, tuple):
            yield f"{pad}{tag:>6}  {name:<34} {len(value)} entries"
            for i, entry in enumerate(value, 1):
                yield f"{pad}        [{i}]"
                yield from _rows(entry, depth + 2)
        else:
            yield f"{pad}{tag:>6}  {name:<34} {_show(value)}"


def render_table(msg: Message, index: int, offset: int) -> str:
    """A readable multi-line rendering of one decoded message.

    Args:
        msg: the decoded message.
        index: its 1-based position in the input.
        offset: its byte offset in the input.

    Returns:
        The text, without a trailing newline.
    """
    mt = msg.msg_type if hasattr(msg, "msg_type") else msg.MSG_TYPE
    lines = [f"#{index} {type(msg).__name__} (35={mt}) at byte {offset}"]
    lines.extend(_rows(msg.header, 1))
    lines.extend(_rows(msg, 1))
    for tag, raw in msg.extra_fields:
        spec = FIELDS.get(tag)
        name = f"{spec.name} (not in this message)" if spec else "(unknown tag)"
        lines.append(f"  {tag:>6}  {name:<34} {raw.decode('utf-8', 'backslashreplace')}")
    return "\n".join(lines)


def decode_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix decode``.

    Args:
        args: parsed arguments.
        out: where messages go.
        err: where problems go.

    Returns:
        0 when every frame decoded, 1 otherwise.
    """
    dialect = DIALECTS[args.dialect]
    sources: list[tuple[str, bytes]] = []
    if args.sample:
        name = f"{args.dialect}.fix"
        sources.append(
            (
                f"sample {name}",
                resources.files("kalshi_fix_sansio")
                .joinpath("samples")
                .joinpath(name)
                .read_bytes(),
            )
        )
    for path in args.files:
        if path == "-":
            sources.append(("<stdin>", sys.stdin.buffer.read()))
            continue
        try:
            with open(path, "rb") as fh:
                sources.append((path, fh.read()))
        except OSError as exc:
            print(f"kalshi-fix decode: cannot read {path}: {exc.strerror}", file=err)
            return 1
    if not sources:
        sources.append(("<stdin>", sys.stdin.buffer.read()))
    failures = 0
    index = 0
    for source, data in sources:
        for item in iter_frames(data, verify=not args.no_verify):
            if isinstance(item, _Problem):
                failures += 1
                print(f"{source}: byte {item.offset}: malformed: {item.reason}", file=err)
                continue
            offset, frame = item
            index += 1
            try:
                msg = dialect.decode(frame, use_dollars=args.use_dollars).validate()
                msg.header.validate()
            except DecodeError as exc:
                failures += 1
                where = offset + exc.offset if exc.offset is not None else offset
                print(f"{source}: byte {where}: message #{index}: {exc}", file=err)
                continue
            if args.json:
                body = msg.to_dict()
                record = {
                    "index": index,
                    "offset": offset,
                    "msg_type": getattr(msg, "msg_type", None) or msg.MSG_TYPE,
                    "name": type(msg).__name__,
                    "header": _plain(msg.header.to_dict()),
                    "body": _plain(body),
                }
                print(json.dumps(record, sort_keys=False), file=out)
            else:
                print(render_table(msg, index, offset), file=out)
                print(file=out)
    if failures:
        print(f"kalshi-fix decode: {failures} malformed frame(s)", file=err)
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``kalshi-fix``.

    Returns:
        The parser with every subcommand.
    """
    parser = argparse.ArgumentParser(prog="kalshi-fix", description="Kalshi FIX tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    dec = sub.add_parser(
        "decode",
        help="print FIX messages with tag names and typed values",
        description="Decode FIX from files or stdin (SOH, '|' or '^A' "
        "separators; log lines may carry text before 8=).",
    )
    dec.add_argument("files", nargs="*", help="input files ('-' for stdin; default stdin)")
    dec.add_argument("--dialect", choices=sorted(DIALECTS), default="prediction")
    dec.add_argument("--json", action="store_true", help="one JSON object per message")
    dec.add_argument(
        "--use-dollars",
        action="store_true",
        help="prices are dollars (session logged on with UseDollars=Y)",
    )
    dec.add_argument(
        "--no-verify",
        action="store_true",
        help="do not check BodyLength/CheckSum (e.g. for doc examples)",
    )
    dec.add_argument("--sample", action="store_true", help="decode the shipped sample frames")
    demo = sub.add_parser(
        "demo",
        help="run a whole trading story against the embedded mock Kalshi gateway",
        description="Start the mock gateway in-process (TLS on loopback, fresh keys) and run a "
        "client through logon, market data, a resting order, a cross, a cancel, an order group "
        "trip and logout.",
    )
    demo.add_argument("--product", choices=sorted(DIALECTS), default="prediction")
    gw = sub.add_parser(
        "mock-gateway",
        help="serve a mock Kalshi FIX gateway on loopback",
        description="Serve every session type of the product on its own port (Kalshi's port "
        "numbers offset from --port-base).",
    )
    gw.add_argument("--product", choices=sorted(DIALECTS), default="prediction")
    gw.add_argument("--host", default="127.0.0.1")
    gw.add_argument(
        "--port-base",
        type=int,
        default=18228,
        help="port of KalshiNR; the others follow Kalshi's offsets (default 18228)",
    )
    gw.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve TLS with this identity")
    gw.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="KEY_ID=PUBLIC_KEY_PEM",
        help="an API key allowed to log on (repeatable)",
    )
    gw.add_argument(
        "--market",
        action="append",
        default=[],
        metavar="SYMBOL",
        help="seed a market with a small book (repeatable)",
    )
    gw.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    gw.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="inject a fault: drop-after=N, skip-seq=N, duplicate, garble, silent, "
        "delay=SECONDS, reject-logon=TEXT (repeatable)",
    )
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
        cmd = sub.add_parser(name, help=helptext, description=desc)
        cmd.add_argument("--env", choices=["demo", "production"], default="demo")
        cmd.add_argument("--product", choices=sorted(DIALECTS), default="prediction")
        cmd.add_argument(
            "--endpoint",
            metavar="HOST:PORT",
            help="connect here instead of Kalshi's host (e.g. a mock gateway)",
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
        if name == "logon-test":
            cmd.add_argument(
                "--session",
                default="NR",
                help="session type: NR, RT, DC, PT, RFQ or MD (default NR)",
            )
        else:
            cmd.add_argument("symbols", nargs="+", metavar="SYMBOL")
    return parser


def _live_client(args: argparse.Namespace, session_type: str) -> Any:
    from .adapters._transport import Backoff, Endpoint
    from .adapters.blocking import FixClient, MarginFixClient

    cls = FixClient if args.product == "prediction" else MarginFixClient
    options: dict[str, Any] = {
        "pinned_cert": args.pinned_cert,
        "allow_unlisted_hosts": args.allow_unlisted_host,
        "backoff": Backoff(attempts=2),
    }
    if args.endpoint:
        host, _, port = args.endpoint.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--endpoint takes HOST:PORT, got {args.endpoint!r}")
        options["endpoints"] = {session_type: Endpoint(host, int(port))}
    return cls.from_env(args.env, **options)


def live_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix logon-test`` or ``kalshi-fix md`` against Kalshi (or --endpoint).

    Args:
        args: parsed arguments.
        out: where results go.
        err: where problems go.

    Returns:
        0 on success, 1 when Kalshi refused or the connection failed, 2 for a usage problem.
    """
    import time

    from .book import Books
    from .errors import FixError
    from .events import ApplicationMessage, LogonRejected

    name = "logon-test" if args.command == "logon-test" else "md"
    session_type = (
        "KalshiMD" if name == "md" else "Kalshi" + args.session.upper().removeprefix("KALSHI")
    )
    try:
        client = _live_client(args, session_type)
        session = client.session(session_type)
    except (FixError, ValueError) as exc:
        print(f"kalshi-fix {name}: {exc}", file=err)
        return 2
    rejected: list[str] = []
    try:
        with session:
            if name == "logon-test":
                print(
                    f"logged on to {session_type} ({args.product}, {args.env}) as "
                    f"{session.config.sender_comp_id}; logging out",
                    file=out,
                )
                return 0
            dialect = DIALECTS[args.product]
            session.send(
                dialect.MarketDataRequest(
                    subscription_request_type=dialect.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
                    related_sym=[
                        dialect.MarketDataRequestRelatedSym(symbol=s) for s in args.symbols
                    ],
                )
            )
            books = Books()
            stop = None if args.seconds is None else time.monotonic() + args.seconds
            while stop is None or time.monotonic() < stop:
                left = None if stop is None else max(stop - time.monotonic(), 0.0)
                event = session.next_event(left)
                if event is None:
                    break
                if isinstance(event, ApplicationMessage):
                    for symbol in books.apply(event.message):
                        print(books[symbol], file=out, flush=True)
            return 0
    except FixError as exc:
        for event in list(session._events):
            if isinstance(event, LogonRejected):
                rejected.append(event.text)
        text = f"Kalshi refused the Logon: {rejected[-1]}" if rejected else str(exc)
        print(f"kalshi-fix {name}: {text}", file=err)
        return 1


def mock_gateway_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix mock-gateway``: serve until interrupted (or --seconds).

    Args:
        args: parsed arguments.
        out: where the banner goes.
        err: where problems go.

    Returns:
        The exit status.
    """
    import time
    from decimal import Decimal
    from pathlib import Path

    from .auth import load_public_key
    from .errors import FixError
    from .gateway.server import MockGateway
    from .gateway.tls import server_context

    keys = {}
    for item in args.key:
        key_id, sep, path = item.partition("=")
        if not sep:
            print(
                f"kalshi-fix mock-gateway: --key takes KEY_ID=PUBLIC_KEY_PEM, got {item!r}",
                file=err,
            )
            return 2
        try:
            keys[key_id] = load_public_key(Path(path).read_bytes())
        except (OSError, FixError) as exc:
            print(f"kalshi-fix mock-gateway: key {key_id}: {exc}", file=err)
            return 2
    if not keys:
        print("kalshi-fix mock-gateway: give at least one --key KEY_ID=PUBLIC_KEY_PEM", file=err)
        return 2
    try:
        context = server_context(*args.tls) if args.tls else None
    except (OSError, ValueError) as exc:
        print(f"kalshi-fix mock-gateway: cannot load the TLS identity: {exc}", file=err)
        return 2
    gateway = MockGateway(
        args.product, keys=keys, host=args.host, port_base=args.port_base, ssl_context=context
    )
    for fault in args.fault:
        problem = apply_fault(gateway, fault.replace("=", " ", 1).split(" ", 1))
        if problem:
            print(f"kalshi-fix mock-gateway: --fault {fault}: {problem}", file=err)
            return 2
    with gateway:
        for symbol in args.market:
            mid = Decimal("0.50") if args.product == "prediction" else Decimal("100")
            step = Decimal("0.01") if args.product == "prediction" else Decimal("0.5")
            gateway.seed_market(
                symbol, bids=[(mid - step, Decimal(100))], asks=[(mid + step, Decimal(100))]
            )
        ports = ", ".join(f"{k}={v}" for k, v in sorted(gateway.ports.items()))
        print(
            f"mock Kalshi gateway ({args.product}) on {args.host} "
            f"({'TLS' if context else 'plain TCP'}): {ports}",
            file=out,
            flush=True,
        )
        print(
            "admin commands on stdin: seed SYMBOL BID_PX:QTY ASK_PX:QTY | pause [exchange] | "
            "resume | settle SYMBOL yes|no | fault NAME [VALUE] | book SYMBOL | quit",
            file=out,
            flush=True,
        )
        commands: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_read_commands, args=(commands,), daemon=True).start()
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while deadline is None or time.monotonic() < deadline:
            try:
                line = commands.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                continue  # stdin closed: keep serving
            if line.strip() in ("quit", "exit"):
                break
            print(admin_command(gateway, line), file=out, flush=True)
    return 0


def _read_commands(commands: queue.Queue[str | None]) -> None:
    for line in sys.stdin:
        commands.put(line)
    commands.put(None)


def apply_fault(gateway: Any, words: list[str]) -> str | None:
    """Set one fault on a gateway from words like ``["drop-after", "3"]``.

    Args:
        gateway: the MockGateway.
        words: the fault name and its value, if any.

    Returns:
        None when applied, else what is wrong.
    """
    name = words[0].strip().lower() if words else ""
    value = words[1].strip() if len(words) > 1 else ""
    faults = gateway.faults
    try:
        if name == "drop-after":
            faults.drop_after = int(value) if value not in ("", "off") else None
        elif name == "skip-seq":
            faults.skip_seq = int(value or "1")
        elif name == "duplicate":
            faults.duplicate_next = True
        elif name == "garble":
            faults.garble_next = True
        elif name == "silent":
            faults.silent = value != "off"
        elif name == "delay":
            faults.delay = float(value or "0")
        elif name == "reject-logon":
            faults.reject_next_logon = value or "logon rejected by the mock gateway"
        else:
            return (
                f"unknown fault {name!r} (drop-after, skip-seq, duplicate, garble, silent, "
                "delay, reject-logon)"
            )
    except ValueError:
        return f"bad value {value!r} for {name}"
    return None


def admin_command(gateway: Any, line: str) -> str:
    """Run one admin console command on a running gateway.

    Args:
        gateway: the MockGateway.
        line: the command line.

    Returns:
        What to print.
    """
    from decimal import Decimal, InvalidOperation

    from .errors import FixError

    words = line.split()
    if not words:
        return ""
    cmd, rest = words[0].lower(), words[1:]

    def show(level: Any) -> str:
        return f"{level[1]} @ {level[0]}" if level else "-"

    try:
        if cmd == "seed" and rest:
            sides: list[list[tuple[Decimal, Decimal]]] = [[], []]
            for i, level in enumerate(rest[1:3]):
                px, _, qty = level.partition(":")
                sides[i].append((Decimal(px), Decimal(qty or "1")))
            gateway.seed_market(rest[0], bids=sides[0], asks=sides[1])
            return f"seeded {rest[0]}"
        if cmd == "pause":
            gateway.pause(exchange=bool(rest and rest[0] == "exchange"))
            return "paused"
        if cmd == "resume":
            gateway.resume()
            return "resumed"
        if cmd == "settle" and len(rest) == 2:
            gateway.settle(rest[0], rest[1])
            return f"settled {rest[0]} {rest[1]}"
        if cmd == "fault":
            problem = apply_fault(gateway, rest)
            return problem or f"fault {' '.join(rest)} set"
        if cmd == "book" and rest:
            bid, ask = gateway.call(lambda: gateway.exchange.top_of_book(rest[0]))
            return f"{rest[0]}: bid {show(bid)} | ask {show(ask)}"
    except (ValueError, InvalidOperation, FixError) as exc:
        return f"error: {exc}"
    return f"unknown command: {line.strip()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kalshi-fix`` console script.

    Args:
        argv: arguments (default: sys.argv[1:]).

    Returns:
        The exit status.
    """
    args = build_parser().parse_args(argv)
    try:
        if args.command == "decode":
            return decode_command(args, sys.stdout, sys.stderr)
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(args.product, sys.stdout)
        if args.command == "mock-gateway":
            return mock_gateway_command(args, sys.stdout, sys.stderr)
        if args.command in ("logon-test", "md"):
            return live_command(args, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())

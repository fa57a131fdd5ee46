"""``kalshi-fix mock-gateway``: serve a mock Kalshi FIX gateway on loopback.

Serves every session type of a product on its own port, prints the ``kalshi-fix`` command lines
that connect to it, and reads admin commands on stdin (`admin_command`: seed a book, pause,
settle, inject a fault with `apply_fault`) until ``quit``, ``--seconds``, Ctrl-C or SIGTERM,
then removes the temporary files it wrote (the generated key, the self-signed certificate).
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any

from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PRODUCT_HELP,
    PRODUCTS,
    ascii_number,
    port_number,
    whole_number,
)
from .live import seconds_arg
from .paper import (
    add_replay_options,
    finish_replay,
    pnl_models,
    replay_banner,
    replay_models,
    start_replay,
)


def _key_files(
    args: argparse.Namespace, workdir: str, err: IO[str]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]] | None:
    """The gateway's keys, the other product's keys, and private key files it generated."""
    from ..codec.errors import FixError
    from ..session.auth import load_public_key_file

    keys: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for option, target in (("--key", keys), ("--other-product-key", others)):
        for item in getattr(args, option.removeprefix("--").replace("-", "_")):
            key_id, sep, path = item.partition("=")
            if not sep or not key_id or not path:
                print(
                    f"kalshi-fix mock-gateway: {option} takes KEY_ID=PUBLIC_KEY_PEM, got {item!r}",
                    file=err,
                )
                return None
            try:
                target[key_id] = load_public_key_file(path)
            except FixError as exc:
                print(f"kalshi-fix mock-gateway: {option} {key_id}: {exc}", file=err)
                return None
    generated: dict[str, str] = {}
    if not keys:
        # no key given: the products' well-known mock keys (the other product's is refused by
        # name), and the private key written out so that the printed command line works
        from ..simulator.gateway import mock_api_key, write_mock_api_key

        other = "margin" if args.product == "prediction" else "prediction"
        key_id, _, public = mock_api_key(args.product)
        keys[key_id] = public
        generated[key_id] = str(write_mock_api_key(args.product, workdir))
        other_id, _, other_public = mock_api_key(other)
        if other_id not in keys:
            others.setdefault(other_id, other_public)
    return keys, others, generated


def _gateway(
    cls: Any,
    args: argparse.Namespace,
    keys: dict[str, Any],
    others: dict[str, Any],
    context: Any,
    certificate: str | None,
    models: dict[str, Any],
    accounts: dict[str, list[str]],
) -> Any:
    """The `MockGateway` of the command line (raises ValueError for what it refuses)."""
    return cls(
        args.product,
        keys=keys,
        other_product_keys=others,
        host=args.host,
        port_base=args.port_base or None,
        ssl_context=context,
        certificate=certificate,
        auto_list_markets=args.auto_list,
        accounts=accounts or None,
        **{name: getattr(args, name) for name in MEMORY_OPTIONS if getattr(args, name)},
        **models,
    )


def mock_gateway_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix mock-gateway``: serve until interrupted (or --seconds).

    Args:
        args: parsed arguments.
        out: where the banner goes.
        err: where problems go.

    Returns:
        The exit status: 0 after quit / --seconds / interrupt, 1 when it cannot serve (a port
        taken, a host that is not this machine's), a ``--replay`` recording is bad or its
        report cannot be written, 2 for a usage problem, 130 / 143 for Ctrl-C / SIGTERM before
        serving (while the key, the certificate or the ``--replay`` recording is made or
        checked: nothing is replayed, no report is written).
    """
    import tempfile

    from .common import Interrupted, interrupted_by_signals

    stop = threading.Event()
    try:
        # before serving (the key, the certificate, the recording's check) a signal stops the
        # command where it stands; once serving, it stops the serving loop (`_stop_on_signals`)
        with interrupted_by_signals():
            with tempfile.TemporaryDirectory(prefix="kalshi-mock-gateway-") as workdir:
                return _serve_gateway(args, workdir, out, err, stop)
    except Interrupted as signalled:
        what = "nothing was replayed" if args.replay else "nothing was served"
        print(
            f"kalshi-fix mock-gateway: {signalled.name}: stopped before serving; {what}",
            file=err,
            flush=True,
        )
        return signalled.status


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` instead of ending the process where it stands (from the
    start of serving on: before it they stop the command at once, nothing served or written).

    Python's default SIGTERM ends the process without unwinding, so the temporary directory of
    the generated key and certificate stayed behind; with this the serving loop sees ``stop``,
    closes the gateway and the directory is removed (exit status 0, as for ``quit``). The
    previous handlers come back on exit. Outside the main thread (no signal handlers there)
    nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}

    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _serve_gateway(
    args: argparse.Namespace, workdir: str, out: IO[str], err: IO[str], stop: threading.Event
) -> int:
    from ..simulator.gateway import MockGateway, self_signed, server_context
    from ..simulator.gateway.accounts import parse_account

    found = _key_files(args, workdir, err)
    if found is None:
        return EXIT_USAGE
    keys, others, generated = found
    clash = sorted(set(keys) & set(others))
    if clash:
        print(
            f"kalshi-fix mock-gateway: {clash[0]} is given with both --key and --other-product-key",
            file=err,
        )
        return EXIT_USAGE
    if args.plain and args.tls:
        print("kalshi-fix mock-gateway: --plain and --tls exclude each other", file=err)
        return EXIT_USAGE
    certificate: str | None = None
    try:
        if args.tls:
            context = server_context(*args.tls)
            certificate = args.tls[0]
        elif args.plain:
            context = None
        else:
            cert, key = self_signed(workdir)
            context = server_context(cert, key)
            certificate = str(cert)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        print(f"kalshi-fix mock-gateway: cannot load the TLS identity: {reason}", file=err)
        return EXIT_USAGE
    models = replay_models(args, err)
    if isinstance(models, int):
        return models
    pnl = pnl_models(args, err, "kalshi-fix mock-gateway")
    if isinstance(pnl, int):
        return pnl
    try:
        accounts = dict(parse_account(text) for text in args.account)
        gateway = _gateway(MockGateway, args, keys, others, context, certificate, models, accounts)
    except ValueError as exc:
        print(f"kalshi-fix mock-gateway: {exc}", file=err)
        return EXIT_USAGE
    if args.plain and args.rest is not None:
        print(
            "kalshi-fix mock-gateway: --rest serves HTTPS, as Kalshi's REST API: drop --plain",
            file=err,
        )
        return EXIT_USAGE
    if args.plain and not gateway.loopback_only:
        print(
            f"kalshi-fix mock-gateway: --plain serves only loopback (clients refuse plain TCP "
            f"elsewhere): drop --plain to serve TLS on {args.host}, or use --host 127.0.0.1",
            file=err,
        )
        return EXIT_USAGE
    if gateway.every_interface:
        print(
            f"kalshi-fix mock-gateway: warning: --host {args.host or '0.0.0.0'} serves every "
            "network interface: anyone who can reach this machine can connect (use --host "
            "127.0.0.1 for this machine only)",
            file=err,
            flush=True,
        )
    for fault in args.fault:
        problem = apply_fault(gateway, fault.replace("=", " ", 1).split(" ", 1))
        if problem:
            print(f"kalshi-fix mock-gateway: --fault {fault}: {problem}", file=err)
            return EXIT_USAGE
    replay = start_replay(gateway, args, err, pnl)
    if isinstance(replay, int):
        return replay
    with _stop_on_signals(stop):
        return _serve_started(gateway, replay, args, generated, out, err, stop)


def _serve_started(
    gateway: Any,
    replay: Any,
    args: argparse.Namespace,
    generated: dict[str, str],
    out: IO[str],
    err: IO[str],
    stop: threading.Event,
) -> int:
    """Start the gateway and serve until ``stop``, quit, --seconds or the replay's end; then
    close it and write the replay's report."""
    import time

    from ..simulator.gateway import GatewayError
    from ..simulator.gateway.rest import RestServer

    try:
        gateway.start_in_thread()
    except GatewayError as exc:
        hint = f"; {exc.hint}" if exc.hint else ""
        print(f"kalshi-fix mock-gateway: {exc}{hint}", file=err)
        return EXIT_FAILED
    written = True
    rest = None
    try:
        if args.rest is not None:
            try:
                history = None
                if replay is not None:  # its history too
                    from ..simulator.gateway import MarketHistory

                    history = MarketHistory.from_recordings([args.replay], product=args.product)
                rest = RestServer(gateway, host=args.host, port=args.rest, history=history)
                rest.start()
            except OSError as exc:
                print(f"kalshi-fix mock-gateway: --rest {args.rest}: {exc}", file=err)
                return EXIT_FAILED
        for symbol in args.market:
            mid = Decimal("0.50") if args.product == "prediction" else Decimal("100")
            step = Decimal("0.01") if args.product == "prediction" else Decimal("0.5")
            gateway.seed_market(
                symbol, bids=[(mid - step, Decimal(100))], asks=[(mid + step, Decimal(100))]
            )
        recorded = replay.info.markets if replay is not None else ()
        for line in _banner(gateway, args, generated, recorded, rest):
            print(line, file=out, flush=True)
        if replay is not None:
            print(replay_banner(replay), file=out, flush=True)
        commands: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_read_commands, args=(commands,), daemon=True).start()
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while (deadline is None or time.monotonic() < deadline) and not stop.is_set():
            if replay is not None and args.exit_at_end and replay.done.is_set():
                break
            try:
                command = commands.get(timeout=0.1)
            except queue.Empty:
                continue
            if command is None:
                continue  # stdin closed: keep serving
            if command.strip() in ("quit", "exit"):
                break
            print(admin_command(gateway, command), file=out, flush=True)
    finally:
        if rest is not None:
            rest.close()
        gateway.close()
        if replay is not None:
            written = finish_replay(replay, args, out, err)
    return EXIT_OK if written else EXIT_FAILED


def _banner(
    gateway: Any,
    args: argparse.Namespace,
    generated: dict[str, str],
    recorded: tuple[str, ...],
    rest: Any = None,
) -> list[str]:
    """What ``mock-gateway`` prints on start: ports, then the client command lines to use."""
    ports = ", ".join(f"{k}={v}" for k, v in sorted(gateway.ports.items()))
    lines = [
        f"mock Kalshi gateway ({args.product}) on {args.host} "
        f"({'TLS' if gateway.tls else 'plain TCP'}): {ports}"
    ]
    if gateway.certificate is not None:
        lines.append(f"TLS certificate (clients pin it): {gateway.certificate}")
    if rest is not None:
        lines.append(
            f"REST API (orders, fills, positions, limits): {rest.base_url} "
            f"(RestOptions(base_url={rest.base_url!r}))"
        )
        if rest.app.history is not None:
            lines.append(
                "REST market history of the recording (trades, candlesticks, order book): "
                f"kalshi-fix history --base-url {rest.base_url} --pinned-cert "
                f"{gateway.certificate}{' --product margin' if args.product == 'margin' else ''}"
                " --markets ... --since ... --until ... -o FILE"
            )
    for key_id, path in generated.items():
        lines.append(
            f"API key {key_id}: private key {path} (a well-known mock key, removed when the "
            "gateway stops)"
        )
    if args.auto_list:
        lines.append("markets: any ticker an order or RFQ names is listed (--auto-list)")
    elif not recorded:
        listed = ", ".join(args.market) or (
            "none listed (--market SYMBOL or the admin command seed SYMBOL lists one)"
        )
        lines.append(
            f"markets: {listed}; an order for an unlisted ticker is rejected MARKET_NOT_FOUND, "
            "as Kalshi does (--auto-list lists any ticker)"
        )
    key_id = next(iter(gateway.keys))
    private = generated.get(key_id)
    symbol = args.market[0] if args.market else (recorded or ("SYMBOL",))[0]
    # an order resting under the book --market seeds (bid 0.49 / 99.5), and its cancel
    price = "0.45" if args.product == "prediction" else "95"
    connect = {"key_id": key_id, "private_key": private, "program": _program()}
    lines.append("connect with:")
    lines.append("  " + gateway.command_line("logon-test", **connect))
    lines.append("  " + gateway.command_line("md", symbols=(symbol,), **connect))
    lines.append("  " + gateway.command_line("order", symbols=(symbol,), price=price, **connect))
    lines.append("  " + gateway.command_line("cancel", symbols=(symbol,), **connect))
    lines.append(
        "admin commands on stdin: seed SYMBOL BID_PX:QTY ASK_PX:QTY (replaces the house's "
        "levels) | pause [exchange] | "
        "resume | schedule IN_SECONDS SECONDS | schedule off | settle SYMBOL yes|no | "
        "fault NAME [VALUE] | book SYMBOL | quit"
    )
    return lines


def _program() -> str:
    """How a shell runs this ``kalshi-fix``: the bare name when the ``kalshi-fix`` on ``PATH``
    is this one (or this is not the script: ``python -m kalshi_fix_sansio.cli``), else the path
    it was started by, e.g. ``.venv/bin/kalshi-fix`` of a checkout whose venv is not active."""
    import os
    import shlex
    import shutil

    started = sys.argv[0] if sys.argv else ""
    if os.path.basename(started) != "kalshi-fix":
        return "kalshi-fix"
    on_path = shutil.which("kalshi-fix")
    with contextlib.suppress(OSError):
        if on_path is not None and os.path.samefile(on_path, started):
            return "kalshi-fix"
    return shlex.quote(started)


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
        elif name == "maintenance":
            if value == "off":
                faults.maintenance_until = None
            else:
                gateway.maintenance(float(value or "7200"))
        elif name == "logon-rate-limit":
            if value in ("", "off"):
                faults.logon_rate_limit = None
            else:
                count, _, seconds = value.partition("/")
                faults.logon_rate_limit = (int(count), float(seconds or "1"))
        elif name == "rate-limit":
            faults.rate_limit_next = int(value or "1")
        elif name == "rest-rate-limit":
            faults.rest_rate_limit_next = int(value or "1")
        elif name == "rest-error":
            faults.rest_error_next = int(value or "1")
        elif name == "rest-retry-after":
            faults.rest_retry_after = _bounded_seconds(value)
        elif name == "rest-delay":
            faults.rest_delay = _bounded_seconds(value) if value != "off" else 0.0
        elif name == "rest-forbid":
            pages = frozenset(p for p in value.split(",") if p and value != "off")
            faults.rest_forbidden = pages
        else:
            return (
                f"unknown fault {name!r} (drop-after, skip-seq, duplicate, garble, silent, "
                "delay, reject-logon, maintenance, logon-rate-limit, rate-limit, "
                "rest-rate-limit, rest-error, rest-retry-after, rest-delay, rest-forbid)"
            )
    except ValueError as exc:
        detail = (
            str(exc)
            if name in ("maintenance", "logon-rate-limit", "rest-retry-after", "rest-delay")
            else ""
        )
        return f"bad value {value!r} for {name}" + (f": {detail}" if detail else "")
    return None


def _bounded_seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 3600:
        raise ValueError("seconds from 0 to 3600")
    return value


def admin_command(gateway: Any, line: str) -> str:
    """Run one admin console command on a running gateway.

    Args:
        gateway: the MockGateway.
        line: the command line.

    Returns:
        What to print.
    """
    from decimal import Decimal, InvalidOperation

    from ..codec.errors import FixError

    words = line.split()
    if not words:
        return ""
    cmd, rest = words[0].lower(), words[1:]

    from ..trading.prices import format_price, format_quantity

    def show(level: Any) -> str:  # the one format of every kalshi-fix tool
        if not level:
            return "-"
        return f"{format_quantity(level[1], gateway.product)} @ {format_price(level[0], gateway.product)}"

    try:
        if cmd == "seed" and rest:
            sides: list[list[tuple[Decimal, Decimal]]] = [[], []]
            for i, level in enumerate(rest[1:3]):
                px, _, qty = level.partition(":")
                sides[i].append((Decimal(px), Decimal(qty or "1")))
            gateway.seed_market(rest[0], bids=sides[0], asks=sides[1], replace=True)
            bid, ask = gateway.call(lambda: gateway.exchange.top_of_book(rest[0]))
            return (
                f"seeded {rest[0]}: the house's levels replaced (clients' orders stay): "
                f"bid {show(bid)} | ask {show(ask)}"
            )
        if cmd == "pause":
            gateway.pause(exchange=bool(rest and rest[0] == "exchange"))
            return "paused"
        if cmd == "resume":
            gateway.resume()
            return "resumed"
        if cmd == "schedule" and rest == ["off"]:
            gateway.call(gateway.faults.maintenance_windows.clear)
            return "schedule: no maintenance window announced"
        if cmd == "schedule" and len(rest) == 2:
            start, end = gateway.schedule_maintenance(float(rest[0]), float(rest[1]))
            return f"schedule: maintenance announced from {start:.0f} to {end:.0f}"
        if cmd == "settle" and len(rest) == 2:
            gateway.settle(rest[0], rest[1])
            return f"settled {rest[0]} {rest[1]}"
        if cmd == "fault":
            problem = apply_fault(gateway, [*rest[:1], " ".join(rest[1:])] if rest else [])
            return problem or f"fault {' '.join(rest)} set"
        if cmd == "book" and rest:
            bid, ask = gateway.call(lambda: gateway.exchange.top_of_book(rest[0]))
            return f"{rest[0]}: bid {show(bid)} | ask {show(ask)}"
    except (ValueError, InvalidOperation, FixError) as exc:
        return f"error: {exc}"
    return f"unknown command: {line.strip()}"


def add_mock_gateway_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix mock-gateway`` and its options to the subcommands of ``kalshi-fix``."""
    gw = sub.add_parser(
        "mock-gateway",
        description="Serve every session type of the product on its own port (Kalshi's port "
        "numbers offset from --port-base), over TLS with a throwaway self-signed certificate "
        "unless --tls or --plain says otherwise, and print the kalshi-fix command lines that "
        "connect to it. Without --key it writes out an API key and prints where its private key "
        "is (the product's well-known mock key; the other product's mock key is refused by "
        "name).",
        epilog="exit status: 0 stopped (quit, --seconds, Ctrl-C, SIGTERM; the temporary key "
        "and certificate files are removed), 1 cannot serve (port taken, "
        "host not of this machine), a bad --replay recording or its report not written, 2 "
        "usage error, 130 / 143 Ctrl-C / SIGTERM before serving (while the key, certificate or "
        "--replay recording is made or checked: nothing replayed, no report)",
    )
    gw.add_argument("--product", choices=PRODUCTS, default="prediction", help=PRODUCT_HELP)
    gw.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 serves every interface)",
    )
    gw.add_argument(
        "--port-base",
        type=port_number("--port-base", minimum=0),
        default=18228,
        help="port of KalshiNR; the others follow Kalshi's offsets (default 18228; 0: free ports)",
    )
    gw.add_argument(
        "--tls",
        nargs=2,
        metavar=("CERT", "KEY"),
        help="serve TLS with this identity (default: a fresh self-signed one)",
    )
    gw.add_argument(
        "--plain", action="store_true", help="serve plain TCP (loopback only) instead of TLS"
    )
    gw.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="KEY_ID=PUBLIC_KEY_PEM",
        help="an API key allowed to log on (repeatable; default: a generated one)",
    )
    gw.add_argument(
        "--other-product-key",
        action="append",
        default=[],
        metavar="KEY_ID=PUBLIC_KEY_PEM",
        help="an API key of the other product: its Logon is refused with the reason (repeatable)",
    )
    gw.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="NAME=KEY_ID[,KEY_ID...]",
        help="an account of several --key keys: each sees the others' orders on its listener, "
        "drop-copy and post-trade sessions (repeatable; a key in none is its own account)",
    )
    gw.add_argument(
        "--rest",
        nargs="?",
        type=port_number("--rest", minimum=0),
        const=0,
        default=None,
        metavar="PORT",
        help="serve Kalshi's REST pages too (orders, fills, positions, account limits; HTTPS, "
        "signed requests checked) on PORT (default: a free one), for RestOptions(base_url=...) "
        "and read_account_limits",
    )
    gw.add_argument(
        "--market",
        action="append",
        default=[],
        metavar="SYMBOL",
        help="seed a market with a small book (repeatable)",
    )
    gw.add_argument(
        "--auto-list",
        action="store_true",
        help="list any ticker an order or RFQ names, with an empty book (for quick experiments; "
        "by default an order for a ticker not listed with --market or seed is rejected "
        "MARKET_NOT_FOUND, as Kalshi does)",
    )
    gw.add_argument(
        "--seconds",
        type=seconds_arg("--seconds", zero=True),
        default=None,
        help="stop after this many seconds",
    )
    gw.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="inject a fault: drop-after=N, skip-seq=N, duplicate, garble, silent, "
        "delay=SECONDS, reject-logon=TEXT, maintenance=SECONDS, logon-rate-limit=N/SECONDS, "
        "rate-limit=N, and with --rest: rest-rate-limit=N, rest-error=N, "
        "rest-retry-after=SECONDS, rest-delay=SECONDS, rest-forbid=PAGE[,PAGE] (repeatable)",
    )
    add_replay_options(gw)
    _add_memory_options(gw)


def _seconds(text: str) -> float:
    try:
        value = float(ascii_number(text))
    except ValueError:
        value = 0.0
    if not 0 < value < 1e9:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0 (ASCII digits)")
    return value


MEMORY_OPTIONS = ("drop_copy_window", "drop_copy_reports", "finished_orders", "resend_messages")
"""The `MockGateway` arguments ``mock-gateway`` has an option for (``--drop-copy-window``, ...)."""


def _add_memory_options(parser: argparse.ArgumentParser) -> None:
    """The bounds that keep a long run's memory flat (`MockGateway`'s arguments; unset: its
    defaults, which the help states: a test holds them equal)."""
    group = parser.add_argument_group("memory bounds (a long run's memory stays flat)")
    group.add_argument(
        "--drop-copy-window",
        type=_seconds,
        metavar="SECONDS",
        help="how far back EventResendRequest (35=U1) replays execution reports (default "
        "10800: Kalshi's 3 hours)",
    )
    group.add_argument(
        "--drop-copy-reports",
        type=whole_number(1),
        metavar="N",
        help="the most execution reports kept for 35=U1 (default 100,000)",
    )
    group.add_argument(
        "--finished-orders",
        type=whole_number(1),
        metavar="N",
        help="how many finished orders (and, apart, closed RFQs) are remembered: a cancel "
        "naming one is answered as Kalshi does, an older one is unknown (default 100,000)",
    )
    group.add_argument(
        "--resend-messages",
        type=whole_number(1),
        metavar="N",
        help="the most messages a KalshiRT / KalshiPT session keeps for ResendRequest "
        "(default 100,000)",
    )

"""``kalshi-fix kill``: take every open order of an API key off the book, from the shell.

Logs on to each session type given (KalshiNR by default) with the key from the environment
(as ``logon-test``), runs the kill switch (`kalshi_fix_sansio.trading.killswitch`: one
OrderMassCancelRequest on KalshiNR; order-group triggers and single OrderCancelRequests on
KalshiRT), prints the report of each session and logs out. Every session logs on with
CancelOrdersOnDisconnect(8013)=Y, so what its own kill could not confirm is cancelled by Kalshi
at the logout as well; KalshiRT logs on with ResetSeqNumFlag=Y (the process has no sequence
numbers of the trading one, and needs no resend).

Before it cancels, it halts the key on this machine (``--no-halt``: not): it writes the key's
halt file (`kalshi_fix_sansio.trading.haltfile`, in ``--halt-dir``), so every order-entry session of
the key a client makes refuses new orders, replaces and quotes, at open and, for the ones
already running, within a second (they cancel their own orders too), until ``kalshi-fix
rearm``. After each session's report it counts what the kill took off: orders Canceled while it
ran, orders already gone (filled, or unknown to the exchange: never live), orders still open.

``--reduce-only`` writes the halt file in its reduce-only mode instead and cancels nothing (no
session logs on): every order-entry session of the key on this machine then lets through only
orders that can only shrink a position, until ``kalshi-fix rearm``.

A fresh process knows no order: on KalshiNR the 35=q reaches what the exchange holds for the
session anyway; ``--from-log`` rebuilds the tracker from the trading process's message log
(`kalshi_fix_sansio.client.restore.restore`), so orders are named, followed to their Canceled report,
and cancelled one by one where the 35=q did not reach them (KalshiRT has no 35=q: there the
log is what says which orders to cancel).

Exit status: 0 when the exchange confirmed nothing open on every session (KalshiNR: the 35=q
answered; KalshiRT: every order of ``--from-log`` answered Canceled or final), 1 when something
is (or may be) still open — KalshiRT without ``--from-log`` included, since orders the
trading process left there cannot be seen — or a session could not log on, or the halt file
could not be written, 2 for a usage problem.
"""

from __future__ import annotations

import argparse
import socket
from datetime import datetime, timezone
from typing import IO, Any

from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .halt import add_halt_dir_option, halt_dir_warning
from .live import (
    UsageProblem,
    add_client_options,
    add_skip_unreadable,
    cli_text,
    destination,
    failure_text,
    fresh_process_flags,
    make_client,
    parse_endpoint,
    seconds_arg,
    session_arg,
)

__all__ = ["add_kill_parser", "count_line", "kill_command", "normalize"]

_ORDER_ENTRY = ("KalshiNR", "KalshiRT")


def _endpoints(args: argparse.Namespace) -> dict[str, tuple[str, int, bool]]:
    """``--endpoint [TYPE=]HOST:PORT`` values as session type -> (host, port, tls)."""
    out: dict[str, tuple[str, int, bool]] = {}
    for text in args.endpoint or ():
        name, sep, rest = text.partition("=")
        if sep:
            try:
                session_type = session_arg(name)
            except argparse.ArgumentTypeError as exc:
                raise UsageProblem(f"--endpoint {text!r}: {exc}") from None
        elif len(args.sessions) == 1:
            session_type, rest = args.sessions[0], text
        else:
            raise UsageProblem(
                f"--endpoint {text!r}: with several --session, say which: TYPE=HOST:PORT (e.g. NR=...)"
            )
        if session_type not in args.sessions:
            raise UsageProblem(f"--endpoint {text!r}: {session_type} is not among --session")
        out[session_type] = parse_endpoint(rest)
    return out


def _tracker(args: argparse.Namespace, key_id: str, session_type: str, err: IO[str]) -> Any:
    """The tracker rebuilt from ``--from-log`` (None without it); with ``--skip-unreadable``,
    each part of the log left out is named on ``err``."""
    if not args.from_log:
        return None
    from ..client.restore import restore

    restored = restore(
        *args.from_log,
        product=args.product,
        key_id=key_id,
        session_type=session_type,
        strict=not args.skip_unreadable,
    )
    for problem in restored.problems:
        print(f"kalshi-fix kill: --from-log: left out (--skip-unreadable): {problem}", file=err)
    return restored.tracker


def kill_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix kill``.

    Args:
        args: parsed arguments.
        out: where the reports go.
        err: where problems go.

    Returns:
        0 when nothing is left open, 1 when something is (or a session failed), 2 for a usage
        problem.
    """
    from ..codec.errors import FixError

    try:
        normalize(args)
        endpoints = _endpoints(args)
        client = make_client(args, endpoints)
        if args.reduce_only:  # the halt file's reduce-only mode; nothing to cancel
            return EXIT_OK if _halt(client, out, err, reduce_only=True) else EXIT_FAILED
        sessions = []
        for session_type in args.sessions:
            tracker = _tracker(args, client.credentials.key_id, session_type, err)
            session = client.session(
                session_type,
                tracker=tracker,
                cancel_orders_on_disconnect=True,
                settle_unknown=False,  # the kill cancels every order: nothing to ask beside
                **fresh_process_flags(session_type),
            )
            sessions.append((session_type, session))
    except UsageProblem as exc:
        print(f"kalshi-fix kill: {exc}", file=err)
        return EXIT_USAGE
    except (FixError, ValueError, OSError) as exc:
        print(f"kalshi-fix kill: {cli_text(str(exc), args.product)}", file=err)
        return EXIT_USAGE
    status = EXIT_OK
    if not args.no_halt and not _halt(client, out, err):
        status = EXIT_FAILED
    for session_type, session in sessions:
        try:
            with session:
                known = len(session.tracker.open_orders())
                print(
                    f"logged on to {session_type} "
                    f"({destination(args, endpoints.get(session_type))}) as "
                    f"{session.config.sender_comp_id}; {known} open order(s) known; killing",
                    file=out,
                    flush=True,
                )
                report = session.kill(
                    timeout=args.timeout, fallback_after=args.fallback_after, halt=False
                )
                print(report, file=out, flush=True)
                print(count_line(session_type, report), file=out, flush=True)
                # never "done" because a fresh tracker is empty: the exchange must have said so
                known = bool(args.from_log) and session_type == "KalshiRT"
                if not report.done or not (report.confirmed or known):
                    status = EXIT_FAILED
                    if report.done and session_type == "KalshiRT" and not args.from_log:
                        print(
                            f"kalshi-fix kill: {session_type} has no mass cancel: orders the "
                            "trading process left open there cannot be seen; pass its message "
                            "log with --from-log",
                            file=err,
                        )
        except (FixError, OSError) as exc:
            print(
                f"kalshi-fix kill: {session_type}: {failure_text(exc, args, session_type)}",
                file=err,
            )
            status = EXIT_FAILED
    return status


def _halt(client: Any, out: IO[str], err: IO[str], *, reduce_only: bool = False) -> bool:
    """Write the key's halt file (the key's other sessions on this machine stop trading, or
    only reduce with ``reduce_only``); False when it could not be written (the kill goes
    on)."""
    halt_file = client.halt_file
    key_id = client.credentials.key_id
    command = "kalshi-fix kill --reduce-only" if reduce_only else "kalshi-fix kill"
    try:
        record = halt_file.halt(
            at=datetime.now(timezone.utc),
            host=socket.gethostname(),
            command=command,
            mode="reduce_only" if reduce_only else "halt",
        )
    except OSError as exc:
        going = "nothing was changed" if reduce_only else "cancelling anyway"
        print(
            f"kalshi-fix kill: cannot write the halt file {halt_file.path} "
            f"({exc.strerror or exc}): the key's other processes are NOT "
            f"{'reduce-only' if reduce_only else 'halted'}; {going}",
            file=err,
        )
        return False
    what = (
        "lets through only orders that can only shrink a position"
        if reduce_only
        else "refuses new orders"
    )
    print(
        f"{'made key' if reduce_only else 'halted key'} {key_id} "
        f"{'reduce-only ' if reduce_only else ''}on this machine ({record.reason}): every "
        f"order-entry session of it {what}, running ones within {halt_file.interval:g} s, until "
        f"kalshi-fix rearm (halt file {halt_file.path})",
        file=out,
        flush=True,
    )
    warning = halt_dir_warning(halt_file)
    if warning is not None:
        print(f"kalshi-fix kill: {warning}", file=err, flush=True)
    return True


def count_line(session_type: str, report: Any) -> str:
    """What a kill took off, counted: ``KalshiNR: cancelled 2 order(s); 1 already gone (1
    unknown to the exchange: never live); 0 still open``."""
    counts = report.counts
    gone = f"{counts['gone']} already gone"
    if counts["not_found"]:
        gone += f" ({counts['not_found']} unknown to the exchange: never live)"
    return (
        f"{session_type}: cancelled {counts['canceled']} order(s); {gone}; "
        f"{counts['still_open']} still open"
    )


def add_kill_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix kill`` to the subcommands of ``kalshi-fix``."""
    cmd = sub.add_parser(
        "kill",
        description="Halt the API key on this machine (its halt file: every order-entry "
        "session of the key refuses new orders until kalshi-fix rearm; running ones notice "
        "within a second and cancel their own orders), then log on with credentials from the "
        "environment (KALSHI_KEY_ID + KALSHI_PRIVATE_KEY or KALSHI_PRIVATE_KEY_PATH; "
        "KALSHI_PERPS_* for margin) to each --session, cancel every open order by the fastest "
        "documented means (OrderMassCancelRequest on KalshiNR; order-group triggers and single "
        "OrderCancelRequests on KalshiRT), print what was sent, how many orders were cancelled "
        "or already gone and what is still open and why, log out. Sessions log on with "
        "CancelOrdersOnDisconnect=Y.",
        epilog="exit status: 0 the exchange confirmed nothing open, 1 something is (or may be) "
        "still open (KalshiRT without --from-log: orders left there cannot be seen), a session "
        "failed, or the halt file could not be written, 2 usage error (arguments, credentials, "
        "files)",
    )
    add_client_options(
        cmd,
        endpoint_metavar="[TYPE=][tcp://]HOST:PORT",
        endpoint_help="connect here instead of Kalshi's host, e.g. a mock gateway (TLS; tcp:// "
        "for plain TCP to loopback); TYPE= names the session type when several --session are "
        "given",
        many=True,
    )
    cmd.add_argument(
        "--session",
        dest="sessions",
        action="append",
        type=session_arg,
        metavar="TYPE",
        help="order-entry session type to kill on: NR or RT (repeatable; default NR)",
    )
    cmd.add_argument(
        "--from-log",
        action="append",
        metavar="LOG",
        help="the trading process's FIX message log (repeatable, oldest first): the orders it "
        "holds open are named, followed and cancelled one by one where needed",
    )
    add_skip_unreadable(cmd)
    cmd.add_argument(
        "--timeout",
        type=seconds_arg("--timeout"),
        default=10.0,
        help="seconds to wait per session (default 10)",
    )
    cmd.add_argument(
        "--fallback-after",
        type=seconds_arg("--fallback-after", zero=True),
        default=1.0,
        help="seconds after the mass cancel's answer before a still-open order gets its own "
        "OrderCancelRequest (default 1)",
    )
    cmd.add_argument(
        "--no-halt",
        action="store_true",
        help="only cancel: do not halt the key's other processes (no halt file)",
    )
    cmd.add_argument(
        "--reduce-only",
        action="store_true",
        help="do not halt or cancel: make the key's order-entry sessions on this machine "
        "reduce-only (only orders that can only shrink a position go) until kalshi-fix rearm",
    )
    add_halt_dir_option(cmd)
    cmd.set_defaults(sessions=None)


def normalize(args: argparse.Namespace) -> None:
    """Defaults that argparse cannot express: ``--session`` NR when none is given; only
    order-entry session types.

    Raises:
        UsageProblem: a session type that cannot cancel orders.
    """
    if getattr(args, "reduce_only", False) and args.no_halt:
        raise UsageProblem(
            "--reduce-only and --no-halt: reduce-only is written to the halt file, which "
            "--no-halt leaves alone"
        )
    args.sessions = list(dict.fromkeys(args.sessions or ["KalshiNR"]))
    for session_type in args.sessions:
        if session_type not in _ORDER_ENTRY:
            raise UsageProblem(
                f"--session {session_type[6:]}: only order-entry sessions cancel orders (NR or RT)"
            )

"""``kalshi-fix order`` and ``kalshi-fix cancel``: one limit order, or one cancel, from the shell.

``order`` builds a NewOrderSingle with `kalshi_fix_sansio.trading.builders.Requests` (the value ranges
of ``spec/ranges.yaml`` checked as it is built), runs it through an `OrderGate` with the
pre-trade limits of ``--max-qty`` / ``--max-notional`` (`RiskLimits`: refused before anything
is sent, the limit named), then logs on to KalshiNR (or KalshiRT) with the key of the
environment, places it with the blocking adapter (``session.place``: it waits for Kalshi's
answer), prints the answer in one line and logs out. The session logs on without
CancelOrdersOnDisconnect: a resting order stays on the book after the logout.

``cancel`` builds the OrderCancelRequest of one order, OrigClOrdID from ``--cl-ord-id`` with
the Symbol and Side Kalshi wants repeated (``--symbol`` / ``--side``, or the trading process's
message log with ``--from-log``: `kalshi_fix_sansio.client.restore`, which also gives its OrderID,
account and parties), sends it with ``session.cancel`` and prints the Canceled report. The
library never refuses a cancel for a risk limit (taking risk off always goes), so ``cancel``
takes no limits.

``order`` refuses while the key is halted from the shell (``kalshi-fix kill`` wrote its halt
file, `kalshi_fix_sansio.trading.haltfile`; ``kalshi-fix rearm`` removes it): before connecting, and
on the session itself should the halt come while it opens. ``cancel`` is never refused for it.

``--dry-run`` prints the frame that would be sent (the session's header fields as
placeholders, secrets redacted) after every local check, and connects to nothing. Prices print
in the product's one format (`kalshi_fix_sansio.trading.prices`), quantities and codes as the demo
shows them.

Exit status: 0 Kalshi accepted the order (its acknowledgement: resting, filled, or done for an
IOC) or canceled it, or with ``--dry-run`` every local check passed; 1 Kalshi rejected it, no
answer came in ``--timeout``, a pre-trade limit refused it, the key is halted, or the connection
failed; 2 usage error (arguments, values out of Kalshi's ranges, credentials, files).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from ..observability.messagelog import printable
from ..trading.prices import format_price
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ascii_number,
    code_label,
    dialect,
    qty_text,
)
from .halt import add_halt_dir_option, halt_file_for, halted_text
from .live import (
    ENDPOINT_HELP,
    UsageProblem,
    add_client_options,
    add_skip_unreadable,
    cli_text,
    client_for,
    destination,
    env_prefix,
    failure_text,
    fresh_process_flags,
    seconds_arg,
    session_arg,
)

if TYPE_CHECKING:
    from .. import Message, OrderRejected, TrackedOrder
    from ..trading.risk import RiskLimits

__all__ = ["add_order_parsers", "answer_line", "cancel_command", "order_command"]

_FLAGS = {
    "ClOrdID": "--cl-ord-id",
    "OrigClOrdID": "--cl-ord-id",
    "Symbol": "--symbol",
    "Side": "--side",
    "OrderQty": "--qty",
    "Price": "--price",
    "TimeInForce": "--tif",
    "ExpireTime": "--expire-time",
}
"""The flag behind each field a `RequestError` can name."""

_LIMIT_FLAGS = {"max_order_qty": "--max-qty", "max_order_notional": "--max-notional"}

_REJECTS = {
    "execution_report": ("ExecutionReport 150=8", "OrdRejReason"),
    "cancel_reject": ("OrderCancelReject 35=9", "CxlRejReason"),
    "business_reject": ("BusinessMessageReject 35=j", "BusinessRejectReason"),
}


class _Refused(Exception):
    """A local check refused the request before the wire: printed as one line, exit 1."""


# -- arguments ---------------------------------------------------------------------------------


def _side_arg(text: str) -> str:
    name = text.strip().lower()
    if name in ("buy", "sell"):
        return name
    if name in ("yes", "no"):
        raise argparse.ArgumentTypeError(
            f"{text!r}: use buy or sell (Side 54). On prediction every price is the Yes price: "
            "buy Yes is --side buy --price P; buy No at P is --side sell --price 1-P "
            "(docs/concepts.md, Side(54) on prediction)"
        )
    raise argparse.ArgumentTypeError(f"takes buy or sell, got {text!r}")


def _decimal_arg(flag: str, positive: bool = False) -> Callable[[str], Decimal]:
    def parse(text: str) -> Decimal:
        try:
            value = Decimal(ascii_number(text))
        except (InvalidOperation, ValueError):
            value = Decimal("NaN")
        if not value.is_finite() or (positive and value <= 0):
            what = "a number > 0" if positive else "a number"
            what += " (ASCII digits)"
            raise argparse.ArgumentTypeError(f"{flag} takes {what}, got {text!r}")
        return value

    return parse


def _order_entry_arg(text: str) -> str:
    session_type = session_arg(text)
    if session_type not in ("KalshiNR", "KalshiRT"):
        raise argparse.ArgumentTypeError(f"{text!r}: orders go on an order-entry session: NR or RT")
    return session_type


def _time_arg(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"takes an ISO 8601 time with its zone, e.g. 2026-12-31T21:00:00Z; got {text!r}"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone: add Z for UTC")
    return moment.astimezone(timezone.utc)


# -- shared pieces -----------------------------------------------------------------------------


def answer_line(order: TrackedOrder, product: str, ordered: Decimal | None = None) -> str:
    """Kalshi's answer about one order, in one line: ClOrdID, OrdStatus, OrderID, the order,
    CumQty (filled, with the AvgPx of the fills) and LeavesQty, prices in the product's one
    format.

    Args:
        order: the tracker's order (`place` / `cancel` return it).
        product: ``"prediction"`` or ``"margin"``.
        ordered: the quantity ordered, when known (shown before the symbol).

    Returns:
        E.g. ``o-1: OrdStatus=0 (New)  OrderID 8f3...  buy 10 HIGHNY-23DEC31 @ $0.41  CumQty 0
        LeavesQty 10``.
    """
    side = {"1": "buy", "2": "sell"}.get(order.side or "", "?")
    price = "-" if order.price is None else format_price(order.price, product)
    size = "" if ordered is None else f" {qty_text(ordered, product)}"
    parts = [
        f"{order.cl_ord_id}: OrdStatus={code_label(order.status)}",
        f"OrderID {order.order_id or '-'}",
        f"{side}{size} {order.symbol or '-'} @ {price}",
        f"CumQty {qty_text(order.cum_qty, product)}",
        f"LeavesQty {qty_text(order.leaves_qty, product)}",
    ]
    if order.cum_qty and order.avg_px is not None:
        parts.insert(4, f"AvgPx {format_price(order.avg_px, product)}")
    if order.text:
        parts.append(f"Text={order.text}")
    return printable("  ".join(parts))


def _rejection_text(exc: OrderRejected, product: str, what: str | None = None) -> str:
    """``Kalshi rejected o-1: MARKET_NOT_FOUND (OrdRejReason 1 (Unknown symbol); ...)``
    (``what``: what was rejected, instead of the request's ClOrdID)."""
    rejection = exc.rejection
    kind, field = _REJECTS.get(rejection.source, (rejection.source, "reason"))
    reason = f"no {field}"
    if rejection.reason is not None:
        label = str(rejection.reason)
        enum = getattr(dialect(product), field, None)
        for code in (rejection.reason, str(rejection.reason)):
            try:
                label = code_label(enum(code)) if enum is not None else label
                break
            except ValueError:
                continue
        reason = f"{field} {label}"
    text = rejection.text or "no text"
    what = what or rejection.cl_ord_id
    return printable(f"Kalshi rejected {what}: {text} ({reason}; {kind})")


def _request_problem(exc: Exception) -> str:
    """A `RequestError` with the flag of the field it names in front."""
    flag = _FLAGS.get(getattr(exc, "field", None) or "")
    return f"{flag}: {exc}" if flag else str(exc)


def _key_id(args: argparse.Namespace) -> str | None:
    """The API key id of the environment (``KALSHI_KEY_ID`` / ``KALSHI_PERPS_KEY_ID``), the
    SenderCompID the client logs on with (None: not set; no key is read for it)."""
    import os

    return os.environ.get(f"{env_prefix(args.product)}KEY_ID") or None


def _dry_run(message: Message, args: argparse.Namespace, out: IO[str], what: str) -> int:
    """Print the frame ``message`` would go in (the session's header fields as placeholders:
    the environment's key id, MsgSeqNum 1, SendingTime now; secrets redacted)."""
    from ..codec.redaction import redact_frame

    codec = dialect(args.product)
    now = datetime.now(timezone.utc)
    header = codec.Header(
        sender_comp_id=_key_id(args) or "YOUR-KEY-ID",
        target_comp_id=args.session,
        msg_seq_num=1,
        sending_time=now.replace(microsecond=now.microsecond // 1000 * 1000),  # as sessions do
    )
    frame = redact_frame(codec.encode(message, header))
    print(
        f"dry run, nothing sent: {what}; {type(message).__name__} for {args.session} "
        f"({destination(args, args.endpoint)}), MsgSeqNum and SendingTime set by the session "
        "when sent:",
        file=out,
    )
    print(printable(frame.decode("utf-8", "backslashreplace").replace("\x01", "|")), file=out)
    return EXIT_OK


def _connected(
    args: argparse.Namespace,
    err: IO[str],
    name: str,
    send: Callable[[Any], TrackedOrder],
    out: IO[str],
    subject: str,
    ordered: Decimal | None = None,
    rejected: str | None = None,
    **session_options: Any,
) -> int:
    """Log on to ``--session``, run ``send(session)``, print its answer about the order
    ``subject`` (the ClOrdID; or, rejected, what Kalshi said about ``rejected``), log out."""
    from .. import OrderRejected
    from ..codec.errors import FixError
    from ..trading.gate import TradingHalted

    try:
        client = client_for(args, args.session)
        session = client.session(  # its own request is the question: none asked by itself
            args.session,
            settle_unknown=False,
            **session_options,
            **fresh_process_flags(args.session),
        )
    except UsageProblem as exc:
        print(f"kalshi-fix {name}: {exc}", file=err)
        return EXIT_USAGE
    except (FixError, ValueError, OSError) as exc:
        print(f"kalshi-fix {name}: {cli_text(str(exc), args.product)}", file=err)
        return EXIT_USAGE
    try:
        with session:
            try:
                order = send(session)
            except OrderRejected as exc:
                why = _rejection_text(exc, args.product, rejected)
                print(f"kalshi-fix {name}: {why}", file=err)
                return EXIT_FAILED
            except TradingHalted as exc:
                print(
                    f"kalshi-fix {name}: refused, nothing was sent: key "
                    f"{session.config.sender_comp_id} is halted by {exc.reason}; kalshi-fix rearm "
                    "lifts it",
                    file=err,
                )
                return EXIT_FAILED
            except TimeoutError:
                print(
                    f"kalshi-fix {name}: no answer from Kalshi within {args.timeout:g} s "
                    f"(--timeout): order {subject} may be live; kalshi-fix cancel or kill takes it "
                    "off",
                    file=err,
                )
                return EXIT_FAILED
            print(answer_line(order, args.product, ordered), file=out, flush=True)
            return EXIT_OK
    except (FixError, OSError) as exc:
        print(f"kalshi-fix {name}: {failure_text(exc, args, args.session)}", file=err)
        return EXIT_FAILED


# -- kalshi-fix order --------------------------------------------------------------------------


def _limits(args: argparse.Namespace) -> RiskLimits | None:
    from ..trading.risk import RiskLimits

    if args.max_qty is None and args.max_notional is None:
        return None
    return RiskLimits(max_order_qty=args.max_qty, max_order_notional=args.max_notional)


def _checked_order(args: argparse.Namespace, limits: RiskLimits | None) -> Message:
    """The NewOrderSingle of the arguments, after every local check.

    Raises:
        UsageProblem: a value Kalshi's rules refuse (the flag named).
        _Refused: a pre-trade limit refuses it (the limit named).
    """
    from ..trading.builders import RequestError, Requests
    from ..trading.gate import OrderGate
    from ..trading.risk import RiskLimitExceeded

    if (args.tif == "gtd") != (args.expire_time is not None):
        raise UsageProblem(
            "--tif gtd takes --expire-time TIME, and --expire-time only goes with it"
        )
    if args.expire_time is not None:
        now = datetime.now(timezone.utc)
        if args.expire_time <= now:
            raise UsageProblem(
                f"--expire-time {args.expire_time:%Y-%m-%dT%H:%M:%SZ} is in the past (now "
                f"{now:%Y-%m-%dT%H:%M:%SZ}): a GTD order expires after it is sent; nothing was "
                "sent"
            )
    try:
        order = Requests(args.product, args.session).new_order(
            args.symbol,
            args.side,
            args.qty,
            args.price,
            time_in_force=args.tif,
            expire_time=args.expire_time,
            cl_ord_id=args.cl_ord_id,
        )
    except RequestError as exc:
        raise UsageProblem(_request_problem(exc)) from None
    try:  # the session's own gate, on an empty tracker: the limits and the live-ClOrdID rule
        OrderGate(args.product, risk_limits=limits).check(order)
    except RiskLimitExceeded as exc:
        flag = _LIMIT_FLAGS.get(exc.limit, exc.limit)
        raise _Refused(f"refused before sending ({flag}): {exc}") from None
    return order


def order_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix order``: place one limit order and print Kalshi's answer.

    Args:
        args: parsed arguments.
        out: where the answer (or the ``--dry-run`` frame) goes.
        err: where problems go.

    Returns:
        0 accepted (or ``--dry-run`` passed every check), 1 rejected, no answer in time, refused
        by a limit or the connection failed, 2 usage problem.
    """
    limits = _limits(args)
    try:
        order: Any = _checked_order(args, limits)
    except UsageProblem as exc:
        print(f"kalshi-fix order: {exc}", file=err)
        return EXIT_USAGE
    except _Refused as exc:
        print(f"kalshi-fix order: {exc}", file=err)
        return EXIT_FAILED
    key_id = _key_id(args)
    halted = halted_text(halt_file_for(args, key_id)) if key_id is not None else None
    if halted is not None:  # a kill from the shell halted the key: not even a dry run passes
        print(f"kalshi-fix order: refused, nothing was sent: {halted}", file=err)
        return EXIT_FAILED
    if args.dry_run:
        px = format_price(order.price, args.product)
        what = (
            f"{args.side} {qty_text(order.order_qty, args.product)} {order.symbol} @ {px} "
            f"{order.time_in_force.name}, ClOrdID {order.cl_ord_id}"
        )
        return _dry_run(order, args, out, what)

    def place(session: Any) -> TrackedOrder:
        result: TrackedOrder = session.place(order, timeout=args.timeout)
        return result

    return _connected(
        args, err, "order", place, out, order.cl_ord_id, order.order_qty, risk_limits=limits
    )


# -- kalshi-fix cancel -------------------------------------------------------------------------


class _Named(NamedTuple):
    """The order a cancel names from the flags alone (what `Requests.cancel` reads)."""

    cl_ord_id: str
    side: str
    symbol: str


def _logged_order(args: argparse.Namespace, key_id: str | None, err: IO[str]) -> tuple[Any, Any]:
    """(tracker, order) of ``--cl-ord-id`` rebuilt from ``--from-log`` (with
    ``--skip-unreadable``, each part of the log left out named on ``err``).

    Raises:
        UsageProblem: the log cannot be read, or has no such order, or contradicts the flags.
        _Refused: the log has it final: nothing left to cancel.
    """
    from ..client.restore import RestoreError, restore

    logs = ", ".join(args.from_log)
    try:
        restored = restore(
            *args.from_log,
            product=args.product,
            key_id=key_id,
            session_type=args.session,
            strict=not args.skip_unreadable,
        )
    except (RestoreError, ValueError, OSError) as exc:
        raise UsageProblem(f"--from-log {logs}: {cli_text(str(exc), args.product)}") from None
    for problem in restored.problems:
        print(f"kalshi-fix cancel: --from-log: left out (--skip-unreadable): {problem}", file=err)
    order = restored.tracker.order(args.cl_ord_id)
    if order is None or order.cl_ord_id != args.cl_ord_id:
        raise UsageProblem(
            f"--from-log {logs}: no order with ClOrdID {args.cl_ord_id!r} was sent on "
            f"{args.session} of this key"
        )
    side = {"1": "buy", "2": "sell"}.get(order.side or "")
    for flag, given, logged in (
        ("--symbol", args.symbol, order.symbol),
        ("--side", args.side, side),
    ):
        if given is not None and given != logged:
            raise UsageProblem(f"{flag} {given} is not the order's: the log has {logged}")
    if order.terminal:
        raise _Refused(
            f"{args.cl_ord_id} is {order.status.name.lower()} in {logs}: nothing left to cancel"
        )
    return restored.tracker, order


def cancel_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix cancel``: cancel one order and print Kalshi's Canceled report.

    Args:
        args: parsed arguments.
        out: where the answer (or the ``--dry-run`` frame) goes.
        err: where problems go.

    Returns:
        0 canceled (or ``--dry-run`` passed every check), 1 rejected (e.g. Kalshi does not know
        the order), no answer in time, already final in the log, or the connection failed,
        2 usage problem.
    """
    from ..trading.builders import RequestError, Requests

    tracker = None
    try:
        if args.from_log:
            tracker, target = _logged_order(args, _key_id(args), err)
        elif args.symbol is None or args.side is None:
            raise UsageProblem(
                "--symbol and --side are required without --from-log: an OrderCancelRequest "
                "repeats the order's Symbol(55) and Side(54)"
            )
        else:
            target = _Named(args.cl_ord_id, args.side, args.symbol)
        request: Any = Requests(args.product, args.session).cancel(target)
    except UsageProblem as exc:
        print(f"kalshi-fix cancel: {exc}", file=err)
        return EXIT_USAGE
    except _Refused as exc:
        print(f"kalshi-fix cancel: {exc}", file=err)
        return EXIT_FAILED
    except RequestError as exc:
        print(f"kalshi-fix cancel: {_request_problem(exc)}", file=err)
        return EXIT_USAGE
    if args.dry_run:
        what = f"cancel {request.orig_cl_ord_id} ({request.symbol}), ClOrdID {request.cl_ord_id}"
        return _dry_run(request, args, out, what)

    def cancel(session: Any) -> TrackedOrder:
        result: TrackedOrder = session.cancel(request, timeout=args.timeout)
        return result

    options = {} if tracker is None else {"tracker": tracker}
    what = f"the cancel of {request.orig_cl_ord_id} (ClOrdID {request.cl_ord_id})"
    return _connected(
        args, err, "cancel", cancel, out, request.orig_cl_ord_id, rejected=what, **options
    )


# -- the parsers -------------------------------------------------------------------------------

_EPILOG = (
    "exit status: 0 {ok} (or --dry-run: every local check passed), 1 Kalshi rejected it, no "
    "answer in --timeout{limits} or the connection failed, 2 usage error (arguments, values "
    "out of Kalshi's ranges, credentials, files)"
)


def _common(cmd: argparse.ArgumentParser) -> None:
    """The options ``order`` and ``cancel`` share: where to connect, how long to wait, dry run."""
    add_client_options(cmd, endpoint_metavar="[tcp://]HOST:PORT", endpoint_help=ENDPOINT_HELP)
    cmd.add_argument(
        "--session",
        default="KalshiNR",
        type=_order_entry_arg,
        metavar="NR|RT",
        help="order-entry session type (default NR; RT logs on with ResetSeqNumFlag=Y)",
    )
    cmd.add_argument(
        "--timeout",
        type=seconds_arg("--timeout"),
        default=10.0,
        metavar="SECONDS",
        help="seconds to wait for Kalshi's answer (default 10)",
    )
    cmd.add_argument(
        "--dry-run",
        action="store_true",
        help="run every local check, print the FIX message it would send (secrets redacted) "
        "and exit without connecting",
    )


def add_order_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix order`` and ``kalshi-fix cancel`` to the subcommands of ``kalshi-fix``."""
    credentials = (
        "with credentials from the environment (KALSHI_KEY_ID + KALSHI_PRIVATE_KEY or "
        "KALSHI_PRIVATE_KEY_PATH; KALSHI_PERPS_* for margin)"
    )
    order = sub.add_parser(
        "order",
        description=f"Log on {credentials}, place one limit order (NewOrderSingle), wait for "
        "Kalshi's answer, print it in one line (ClOrdID, OrdStatus, OrderID, CumQty filled, "
        "LeavesQty) and log out; the order stays on the book. Prices are dollars: on "
        "prediction the Yes price (to buy No at P, sell at 1-P). Checked locally before "
        "anything is sent: Kalshi's value ranges and --max-qty / --max-notional.",
        epilog=_EPILOG.format(
            ok="Kalshi accepted it",
            limits=", a pre-trade limit refused it, the key is halted (kalshi-fix kill)",
        ),
    )
    order.add_argument("--symbol", required=True, help="the market ticker")
    order.add_argument("--side", required=True, type=_side_arg, metavar="buy|sell", help="Side(54)")
    order.add_argument(
        "--qty", required=True, type=_decimal_arg("--qty"), metavar="N", help="contracts"
    )
    order.add_argument(
        "--price",
        required=True,
        type=_decimal_arg("--price"),
        metavar="DOLLARS",
        help="limit price in dollars (prediction: $0.01-$0.99, the Yes price)",
    )
    order.add_argument(
        "--tif",
        choices=["day", "gtc", "ioc", "fok", "gtd"],
        default="gtc",
        help="TimeInForce(59) (default gtc; gtd needs --expire-time)",
    )
    order.add_argument(
        "--expire-time",
        type=_time_arg,
        metavar="TIME",
        help="ExpireTime(126) of a --tif gtd order, ISO 8601 with its zone (2026-12-31T21:00Z)",
    )
    order.add_argument(
        "--cl-ord-id", metavar="ID", help="ClOrdID(11) of the order (default: a new UUID)"
    )
    order.add_argument(
        "--max-qty",
        type=_decimal_arg("--max-qty", positive=True),
        metavar="N",
        help="refuse, before sending, an order of more contracts (RiskLimits.max_order_qty)",
    )
    order.add_argument(
        "--max-notional",
        type=_decimal_arg("--max-notional", positive=True),
        metavar="DOLLARS",
        help="refuse, before sending, an order committing more dollars "
        "(RiskLimits.max_order_notional: prediction buy qty x price, sell qty x (1 - price))",
    )
    _common(order)
    add_halt_dir_option(order)

    cancel = sub.add_parser(
        "cancel",
        description=f"Log on {credentials}, cancel one order (OrderCancelRequest), wait for "
        "Kalshi's Canceled report (or its reject), print it in one line and log out. Kalshi "
        "wants the order's Symbol and Side repeated: give --symbol and --side, or the trading "
        "process's message log with --from-log (its OrderID, account and parties are copied "
        "too).",
        epilog=_EPILOG.format(ok="Kalshi canceled it", limits=", the log has it final"),
    )
    cancel.add_argument(
        "--cl-ord-id", required=True, metavar="ID", help="ClOrdID(11) of the order to cancel"
    )
    cancel.add_argument("--symbol", help="the order's market ticker (required without --from-log)")
    cancel.add_argument(
        "--side",
        type=_side_arg,
        metavar="buy|sell",
        help="the order's Side(54) (required without --from-log)",
    )
    cancel.add_argument(
        "--from-log",
        action="append",
        metavar="LOG",
        help="the trading process's FIX message log (repeatable, oldest first): the order is "
        "found there by --cl-ord-id",
    )
    add_skip_unreadable(cancel)
    _common(cancel)

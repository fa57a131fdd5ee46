"""A drop-copy reconciler: check what Kalshi replays against what the order-entry session saw.

Kalshi's drop copy (KalshiDC) is a replay service: an EventResendRequest (35=U1) from an
ExecID brings back every ExecutionReport of the account since then (3-hour window), then an
EventResendComplete (35=U2), or an EventResendReject (35=U3) with the reason. Reconciling
means feeding the replay into an `OrderTracker` and comparing it, order by order, with the
tracker of the session that traded: status, filled quantity and the ExecIDs of the fills.

(The order-entry session itself needs no such script to stay whole: on KalshiNR every
reconnect is followed by the library's drop-copy catch-up, see docs/catch-up.md. This script is
an independent audit, on a second session type, of what one run traded.)

This script:

1. trades on KalshiNR: rests a limit order (``--price``), with ``--take PRICE`` also takes
   liquidity with an IOC order, then cancels the resting order; it notes the first ExecID;
2. logs out, then logs on to KalshiDC with the same API key (Kalshi allows exactly one
   connection per API key, so the two sessions run one after the other) and asks for the
   replay from that ExecID;
3. compares the two trackers and prints one line per order: ``match`` or what differs (an
   order the replay has and the session did not see is listed too: another session of the
   account placed it).

Exit status 0 when everything matches, 1 on a difference or a refused replay (drop copy needs
the account to be allowlisted by Kalshi: 35=U3 reason 5).

Against Kalshi's demo environment::

    python examples/dropcopy_reconciler.py --key-id KEY --key-file key.pem \\
        --symbol SOME-MARKET --price 0.05

Against the embedded mock gateway::

    python examples/dropcopy_reconciler.py --mock --take 0.45
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import _support

from kalshi_fix_sansio import ApplicationMessage
from kalshi_fix_sansio.adapters import blocking
from kalshi_fix_sansio.session.events import Event
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.prices import format_quantity
from kalshi_fix_sansio.trading.tracker import OrderTracker

DEFAULT_PRICE = {"prediction": Decimal("0.10"), "margin": Decimal("15")}
PENDING_EXEC_ID = "-1;-1"  # pending reports are never replayed


def differences(ours: OrderTracker, replayed: OrderTracker, product: str) -> list[tuple[bool, str]]:
    """(matches, line) per order of either tracker: the line says ``match`` or what differs."""

    def qty(value: Decimal) -> str:  # one format per product in every tool and example
        return format_quantity(value, product)

    lines: list[tuple[bool, str]] = []
    for order in ours:
        copy = replayed.current(order.cl_ord_id)
        if copy is None:
            lines.append(
                (False, f"{order.cl_ord_id}: MISSING from the replay ({order.status.name})")
            )
            continue
        problems = []
        if copy.status != order.status:
            problems.append(f"status {order.status.name} here, {copy.status.name} replayed")
        if copy.cum_qty != order.cum_qty:
            problems.append(f"filled {qty(order.cum_qty)} here, {qty(copy.cum_qty)} replayed")
        ours_fills = {f.exec_id for f in order.fills}
        copy_fills = {f.exec_id for f in copy.fills}
        if ours_fills != copy_fills:
            problems.append(f"fills {sorted(ours_fills)} here, {sorted(copy_fills)} replayed")
        verdict = "; ".join(problems) or "match"
        line = f"{order.cl_ord_id}: {verdict} ({order.status.name}, filled {qty(order.cum_qty)})"
        lines.append((not problems, line))
    for copy in replayed:
        if ours.current(copy.cl_ord_id) is None and copy.orig_cl_ord_id is None:
            lines.append(
                (
                    False,
                    f"{copy.cl_ord_id}: not seen by this session "
                    f"({copy.status.name}, filled {qty(copy.cum_qty)}): placed elsewhere",
                )
            )
    return lines


def trade(target: _support.Target, args: argparse.Namespace) -> tuple[OrderTracker, str | None]:
    """Step 1: trade on KalshiNR; returns its tracker and the first ExecID it received."""
    exec_ids: list[str] = []

    def note_exec_id(event: Event) -> None:
        message: Any = event.message if isinstance(event, ApplicationMessage) else None
        if message is not None and message.MSG_TYPE == "8" and message.exec_id != PENDING_EXEC_ID:
            exec_ids.append(message.exec_id)

    orders = Requests(target.product, "KalshiNR")
    price = args.price if args.price is not None else DEFAULT_PRICE[target.product]
    with target.client(blocking).order_entry(
        on_event=note_exec_id, **_support.ORDER_ENTRY_FLAGS
    ) as oe:
        try:
            resting: Any = orders.new_order(target.symbol, "buy", args.qty, price)
            print(f"NR: rested {resting.cl_ord_id} -> {oe.place(resting).status.name}")
            if args.take is not None:
                ioc: Any = orders.new_order(
                    target.symbol, "buy", args.qty, args.take, time_in_force="ioc"
                )
                done = oe.place(ioc, until="filled")
                filled = format_quantity(done.cum_qty, target.product)
                print(f"NR: took {ioc.cl_ord_id} -> {done.status.name}, filled {filled}")
            print(
                f"NR: canceled {resting.cl_ord_id} -> "
                f"{oe.cancel(orders.cancel(resting)).status.name}"
            )
        finally:
            _support.leave_nothing_open(oe)  # the kill switch, on every exit path
    # read after the session closed: closing waits for its callback thread to hand on_event
    # every event, so exec_ids is complete only now (inside the with, a report's callback
    # could still be on its way)
    return oe.tracker, (exec_ids[0] if exec_ids else None)


def replay(target: _support.Target, begin: str, timeout: float) -> OrderTracker | None:
    """Step 2: the KalshiDC replay from ``begin``; its tracker, or None when refused."""
    with target.client(blocking).drop_copy() as dc:
        request = Requests(target.product, "KalshiDC").event_resend(begin)
        done = dc.wait_for(
            lambda e: isinstance(e, ApplicationMessage) and e.message.MSG_TYPE in ("U2", "U3"),
            timeout,
            send=request,
        )
        answer: Any = done.message if isinstance(done, ApplicationMessage) else None
        if answer is None or answer.MSG_TYPE == "U3":
            reason = getattr(answer, "event_resend_reject_reason", None)
            print(f"DC: replay refused (EventResendReject, reason {reason!r})")
            return None
        print(f"DC: replay from ExecID {begin}: {answer.resend_event_count} ExecutionReports")
        tracker: OrderTracker = dc.tracker  # fed with every replayed report
        return tracker


def reconcile(target: _support.Target, args: argparse.Namespace) -> int:
    """Trade, replay, compare; 0 when everything matches."""
    ours, first = trade(target, args)
    if first is None:
        print("nothing to reconcile: the session received no ExecutionReport")
        return 1
    replayed = replay(target, first, args.timeout)
    if replayed is None:
        return 1
    lines = differences(ours, replayed, target.product)
    for _, line in lines:
        print(f"  {line}")
    mismatches = [line for ok, line in lines if not ok]
    print(
        "reconciled: every order matches"
        if not mismatches
        else f"reconciled: {len(mismatches)} difference(s)"
    )
    return 1 if mismatches else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; returns the exit status (0 everything matches, 1 not, 2 usage error,
    130 interrupted)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--qty", type=Decimal, default=Decimal(2))
    parser.add_argument("--price", type=Decimal, help="limit price in dollars of the resting order")
    parser.add_argument(
        "--take",
        type=Decimal,
        metavar="PRICE",
        help="also buy at this price with an IOC order (crossing the book)",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for the replay to complete"
    )
    return _support.run(parser, argv, reconcile)


if __name__ == "__main__":
    sys.exit(main())

"""Blocking order entry: place, take and cancel orders on KalshiNR with plain function calls.

The blocking adapter runs the session in a background thread (heartbeats flow while your code
waits); ``place`` and ``cancel`` block until Kalshi answers and return the order as the
session's `OrderTracker` sees it. This script:

1. logs on to KalshiNR (order entry, sequence numbers reset at each Logon);
2. rests a GTC limit order (``--side``, ``--qty``, ``--price``) and waits for its
   acknowledgement;
3. with ``--take PRICE``: sends an IOC order on the same side at that price (crossing the
   book, it takes liquidity) and waits until it is final, printing the fills and their fees;
4. cancels the resting order and prints the position built from the fills;
5. logs out (leaving the ``with`` block).

On every exit path (an error such as a refused IOC price, Ctrl-C) whatever is still open is
taken off the book by the kill switch (``session.kill()``) before the logout; the session also
logs on with CancelOrdersOnDisconnect, Kalshi's own last line if the process dies.

Against Kalshi's demo environment (prices in dollars; prediction 0.01-0.99)::

    python examples/blocking_order_entry.py --key-id KEY --key-file key.pem \\
        --symbol SOME-MARKET --price 0.05

Against the embedded mock gateway (its market rests an ask of 30 at 0.45)::

    python examples/blocking_order_entry.py --mock --take 0.45
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import _support

from kalshi_fix_sansio.adapters import blocking
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.prices import format_amount, format_price, format_quantity

DEFAULT_PRICE = {"prediction": Decimal("0.10"), "margin": Decimal("15")}


def trade(target: _support.Target, args: argparse.Namespace) -> int:
    """Place, optionally take, cancel; returns the exit status."""
    orders = Requests(target.product, "KalshiNR")
    price = args.price if args.price is not None else DEFAULT_PRICE[target.product]
    product = target.product

    def qty(value: Decimal | int) -> str:  # one format per product in every tool and example
        return format_quantity(value, product)

    def px(value: Decimal) -> str:
        return format_price(value, product)

    client = target.client(blocking)
    with client.order_entry(**_support.ORDER_ENTRY_FLAGS) as oe:
        try:
            print(f"logged on to KalshiNR as {target.key_id}")
            resting: Any = orders.new_order(target.symbol, args.side, args.qty, price)
            acked = oe.place(resting)
            print(
                f"placed {resting.cl_ord_id}: {args.side} {qty(args.qty)} {target.symbol} @ {px(price)} "
                f"-> {acked.status.name} (OrderID {acked.order_id})"
            )

            if args.take is not None:
                ioc: Any = orders.new_order(
                    target.symbol, args.side, args.qty, args.take, time_in_force="ioc"
                )
                done = oe.place(ioc, until="filled")
                print(
                    f"took {ioc.cl_ord_id}: {args.side} {qty(args.qty)} @ {px(args.take)} IOC -> "
                    f"{done.status.name}, filled {qty(done.cum_qty)}"
                )
                for fill in done.fills:
                    print(
                        f"  fill {qty(fill.qty)} @ {px(fill.price)}, fees {format_amount(fill.fees)} "
                        f"(ExecID {fill.exec_id})"
                    )

            canceled = oe.cancel(orders.cancel(resting))
            print(
                f"canceled {resting.cl_ord_id} -> {canceled.status.name} "
                f"(filled {qty(canceled.cum_qty)} of {qty(args.qty)})"
            )
            position = oe.tracker.position(target.symbol)
            print(
                f"position in {target.symbol}: {qty(position.net)} contracts, "
                f"fees {format_amount(position.fees)}"
            )
            print(f"open orders left: {len(oe.tracker.open_orders())}")
        finally:
            _support.leave_nothing_open(oe)  # the kill switch, on every exit path
    print("logged out")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; returns the exit status (0 success, 1 failure, 2 usage error, 130
    interrupted)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", choices=("buy", "sell"), default="buy")
    parser.add_argument("--qty", type=Decimal, default=Decimal(2))
    parser.add_argument("--price", type=Decimal, help="limit price in dollars of the resting order")
    parser.add_argument(
        "--take",
        type=Decimal,
        metavar="PRICE",
        help="also send an IOC order on the same side at this price",
    )
    return _support.run(parser, argv, trade)


if __name__ == "__main__":
    sys.exit(main())

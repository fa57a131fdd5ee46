"""Live against simulated, order by order: how far a backtest of the day is from the day.

`compare_live` runs your strategy as a backtest over the market data your live session
received (its market-data message log is a recording: `kalshi_fix_sansio.simulator.data.recording`),
with the latency and queue models you give (fitted to the same logs, say:
`kalshi_fix_sansio.simulator.world.latency.fit_message_logs`, `kalshi_fix_sansio.simulator.research.fitting`),
and compares the orders your live order-entry log holds with those the simulated strategy sent,
the n-th NewOrderSingle of the day with the n-th (their ClOrdIDs may differ: a strategy's ids
follow whatever else it sent): filled or not, the contracts filled, when the first fill came,
at what average price, and the queue ahead of the live order when it was sent (the recorded
size at its price on its side, from the recording's book at that time).

Each order that differs is given one cause, the first that applies:

* ``missing data``: the recording has no market data of the order's market between its send and
  its end (live), so the simulation had nothing to fill it against;
* ``not sent``: only one side sent it (the strategy took another path: an earlier difference);
* ``decision``: both sent it, at another price, size or side;
* ``latency``: both sent it alike, but more than ``tolerance`` seconds apart, or the exchange's
  first answer took more than ``tolerance`` seconds longer on one side (the order reached the
  book at another time);
* ``queue``: sent alike and in time, and still filled differently: where it stood in the queue.

Every time of an exchange's answer (the first, the first fill, the end) is the answer's
SendingTime(52) on both sides: one way, from your send to the exchange's answer. A live log's
receive time would add the way back, which the simulation's wire does not show (it has the
times frames are written), so an order sent alike under the same latency would read as
latency. Kalshi's clock and yours differ by their offset: the live figures include it (as the
delays `kalshi_fix_sansio.simulator.world.latency.fit_message_logs` measures do), and ``tolerance``
should exceed it.

`LiveComparison.table` prints the orders that differ and the count per cause; `as_json` has
every order.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from ...codec import dialect
from ...codec.errors import LocalProtocolError
from ...trading.book import Books
from ..data.recording import _message_log, check_recording, read_recording
from .fitting import QueueReads, _utc, read_order_log

__all__ = ["CAUSES", "LiveComparison", "OrderComparison", "OrderRun", "compare_live"]

CAUSES: Final = ("missing data", "not sent", "decision", "latency", "queue")
"""The causes a difference is put down to, in the order they are tried."""

_MSG_TYPE: Final = re.compile(rb"\x0135=([^\x01]+)\x01")
_ZERO: Final = Decimal(0)


@attrs.frozen
class OrderRun:
    """One order as one side (live or simulated) saw it.

    Attributes:
        cl_ord_id: its ClOrdID (its first version's).
        sent: when its NewOrderSingle went (UTC epoch seconds).
        symbol: its market.
        side: ``"1"`` buy, ``"2"`` sell.
        price: its limit price (None: a market order).
        qty: the contracts it asked for.
        filled: the contracts filled (its replaces' fills counted).
        first_fill: when its first fill was reported (the report's SendingTime(52), as for
            ``acked``; None: not filled).
        average_price: the filled contracts' average price (None: not filled).
        ended: when it ended (filled, canceled, rejected, expired: that report's SendingTime;
            None: still open).
        acked: when the exchange sent its first report on it: the report's SendingTime(52),
            the exchange's clock, live and simulated alike (None: none came).
    """

    cl_ord_id: str
    sent: float
    symbol: str
    side: str
    price: Decimal | None
    qty: Decimal
    filled: Decimal = _ZERO
    first_fill: float | None = None
    average_price: Decimal | None = None
    ended: float | None = None
    acked: float | None = None


@attrs.frozen
class OrderComparison:
    """One order, live and simulated.

    Attributes:
        index: its place among the day's NewOrderSingles (0 first).
        live: the live order (None: only the simulation sent it).
        simulated: the simulated order (None: only the live strategy sent it).
        queue_ahead: the recorded size at its price on its side when the live order was sent
            (None: no live order, a market order, or no book then).
        cause: why they differ (`CAUSES`), None when they do not.
        queue_read: the contracts ahead of the live order in the first of Kalshi's queue
            positions read live that names it (``queue_reads``; None: none does).
    """

    index: int
    live: OrderRun | None
    simulated: OrderRun | None
    queue_ahead: Decimal | None
    cause: str | None
    queue_read: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "live": None if self.live is None else _run_json(self.live),
            "simulated": None if self.simulated is None else _run_json(self.simulated),
            "queue_ahead": None if self.queue_ahead is None else str(self.queue_ahead),
            "queue_read": None if self.queue_read is None else str(self.queue_read),
            "cause": self.cause,
        }


def _run_json(run: OrderRun) -> dict[str, Any]:
    return {
        key: (str(value) if isinstance(value, Decimal) else value)
        for key, value in attrs.asdict(run).items()
    }


@attrs.frozen
class LiveComparison:
    """Every order of the day, live against simulated (see the module docstring).

    Attributes:
        orders: each order, in live send order (then the simulation's own).
        tolerance: the seconds two sends may be apart and count as at the same time.
    """

    orders: tuple[OrderComparison, ...]
    tolerance: float

    @property
    def differing(self) -> tuple[OrderComparison, ...]:
        """The orders that differ."""
        return tuple(o for o in self.orders if o.cause is not None)

    def by_cause(self) -> dict[str, int]:
        """How many orders differ for each cause (every cause, in `CAUSES` order)."""
        counts = dict.fromkeys(CAUSES, 0)
        for order in self.differing:
            assert order.cause is not None
            counts[order.cause] += 1
        return counts

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": 2,
            "tolerance": self.tolerance,
            "orders": [o.as_json() for o in self.orders],
            "by_cause": self.by_cause(),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n"

    def table(self) -> str:
        """The orders that differ, then the count per cause."""
        head = ["order", "cause", "live filled", "sim filled", "live first fill", "sim first"]
        head += ["queue ahead"]
        reads = any(o.queue_read is not None for o in self.orders)
        if reads:
            head += ["queue read"]
        rows = [head]
        for o in self.differing:
            rows.append(
                [
                    (o.live or o.simulated).cl_ord_id,  # type: ignore[union-attr]
                    o.cause or "",
                    _qty(o.live),
                    _qty(o.simulated),
                    _when(o.live),
                    _when(o.simulated),
                    "-" if o.queue_ahead is None else str(o.queue_ahead),
                    *(["-" if o.queue_read is None else str(o.queue_read)] if reads else []),
                ]
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        counts = ", ".join(f"{cause} {n}" for cause, n in self.by_cause().items())
        lines.append(f"{len(self.differing)} of {len(self.orders)} orders differ: {counts}")
        return "\n".join(lines)


def _qty(run: OrderRun | None) -> str:
    return "-" if run is None else f"{run.filled} of {run.qty}"


def _when(run: OrderRun | None) -> str:
    if run is None or run.first_fill is None:
        return "-"
    return f"{run.first_fill - run.sent:+.3f} s"


def _code(value: Any) -> str:
    return str(getattr(value, "value", value))


def _answered(message: Any, when: float) -> float:
    """When the exchange sent ``message``: its SendingTime(52), on the exchange's clock
    (``when``, the log's or the wire's time, if it has none). The same instant live and
    simulated: a live log's receive time would add the way back, which the simulation's wire
    (the times frames are written) does not show."""
    header = getattr(message, "header", None)
    stamp = None if header is None else header.sending_time
    return when if stamp is None else float(stamp.timestamp())


class _Orders:
    """Orders and their fills, built from the frames one side wrote and read (decoded with
    the product's dialect: prices in dollars whatever the wire carries)."""

    def __init__(self, decode: Any) -> None:
        self.decode = decode
        self.runs: dict[str, dict[str, Any]] = {}
        self.version_of: dict[str, str] = {}  # a replace's ClOrdID -> its first version's

    def _message(self, frame: bytes) -> Any:
        kind = _MSG_TYPE.search(b"\x01" + frame)
        if kind is None or kind.group(1) not in (b"D", b"G", b"8"):
            return None
        return self.decode(frame)

    def sent(self, when: float, frame: bytes) -> None:
        message = self._message(frame)
        kind = getattr(message, "MSG_TYPE", None)
        if kind == "D":
            self.runs[message.cl_ord_id] = {
                "cl_ord_id": message.cl_ord_id,
                "sent": when,
                "symbol": message.symbol,
                "side": _code(message.side),
                "price": message.price,
                "qty": message.order_qty,
                "fills": [],
                "ended": None,
                "acked": None,
            }
        elif kind == "G" and message.orig_cl_ord_id is not None:
            orig = message.orig_cl_ord_id
            self.version_of[message.cl_ord_id] = self.version_of.get(orig, orig)

    def received(self, when: float, frame: bytes) -> None:
        message = self._message(frame)
        if getattr(message, "MSG_TYPE", None) != "8" or message.cl_ord_id is None:
            return
        cl = message.cl_ord_id
        run = self.runs.get(self.version_of.get(cl, cl))
        if run is None:
            return
        when = _answered(message, when)
        if run["acked"] is None:
            run["acked"] = when
        if _code(message.exec_type) == "F" and message.last_qty:
            run["fills"].append((when, message.last_qty, message.last_px))
        if _code(message.ord_status) in ("2", "4", "8", "C"):
            run["ended"] = when

    def result(self) -> dict[str, OrderRun]:
        out = {}
        for cl, run in self.runs.items():
            fills = run.pop("fills")
            filled = sum((q for _, q, _ in fills), _ZERO)
            average = None
            if filled:
                average = sum((q * p for _, q, p in fills), _ZERO) / filled
            out[cl] = OrderRun(
                **run,
                filled=filled,
                first_fill=fills[0][0] if fills else None,
                average_price=average,
            )
        return out


def _read_live(paths: Sequence[str | os.PathLike[str]], decode: Any) -> dict[str, OrderRun]:
    orders = _Orders(decode)
    for path in paths:
        for where, stamp, direction, _session, text in _message_log(path):
            frame = text.replace(b"|", b"\x01")
            if direction == b"OUT":
                orders.sent(_utc(stamp, where), frame)
            else:
                orders.received(_utc(stamp, where), frame)
    return orders.result()


_SPLIT: Final = re.compile(rb"(?=8=FIX)")


def _watching(strategy: Any, orders: _Orders) -> Any:
    """``strategy`` with the simulation's order-entry frames read into ``orders``."""

    def listen(record: Any) -> None:
        if record.session_type not in ("KalshiNR", "KalshiRT"):
            return
        for frame in _SPLIT.split(record.data):
            if not frame:
                continue
            if record.sender == "client":
                orders.sent(record.time, frame)
            else:
                orders.received(record.time, frame)

    def watched(ctx: Any) -> Any:
        ctx.simulation.wire_listeners.append(listen)
        return strategy(ctx)

    watched.__name__ = getattr(strategy, "__name__", "strategy")
    watched.__wrapped__ = strategy  # type: ignore[attr-defined]
    return watched


def _queue_and_data(
    recordings: Sequence[str | os.PathLike[str]], live: Mapping[str, OrderRun], product: str | None
) -> tuple[dict[str, Decimal], set[str]]:
    """Per live order, the recorded size at its price on its side when it was sent; and the
    orders whose market had no market data between their send and their end."""
    pending = sorted(live.items(), key=lambda item: item[1].sent)
    queue: dict[str, Decimal] = {}
    seen_after: set[str] = set()
    books = Books()
    open_orders: list[tuple[str, OrderRun]] = []
    i = 0
    for path in recordings:
        for recorded in read_recording(path, product=product):
            while i < len(pending) and pending[i][1].sent <= recorded.time:
                cl, run = pending[i]
                i += 1
                size = _size_at(books, run)
                if size is not None:
                    queue[cl] = size
                open_orders.append((cl, run))
            symbols = books.apply(recorded.message)
            for cl, run in open_orders:
                if run.symbol in symbols and (run.ended is None or recorded.time <= run.ended):
                    seen_after.add(cl)
    missing = {cl for cl in live if cl not in seen_after}
    return queue, missing


def _size_at(books: Books, run: OrderRun) -> Decimal | None:
    book = books.get(run.symbol)
    if book is None or run.price is None:
        return None
    side = book.bids if run.side == "1" else book.offers
    for level in side.depth():
        if level.price == run.price:
            return level.size
    return _ZERO


def compare_live(
    strategy: Any,
    recordings: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    order_logs: Sequence[str | os.PathLike[str]],
    *,
    tolerance: float = 0.001,
    product: str | None = None,
    queue_reads: QueueReads | None = None,
    **backtest_options: Any,
) -> LiveComparison:
    """Run ``strategy`` over ``recordings`` (`run_backtest`, with ``backtest_options``: the
    latency and queue models, ``params``, ``seed``...) and compare its orders with those of
    ``order_logs`` (see the module docstring); with ``queue_reads`` (Kalshi's queue positions
    read live: `kalshi_fix_sansio.simulator.research.fitting.read_queue_log`), each live order shows
    the first position read of it (`OrderComparison.queue_read`).

    Raises:
        LocalProtocolError: a log that cannot be read or is not a message log, order logs
            with no NewOrderSingle sent (an empty log, a market-data session's); as
            `run_backtest`.
    """
    from ..backtests.backtest import run_backtest

    names = [recordings] if isinstance(recordings, (str, os.PathLike)) else list(recordings)
    product = product or check_recording(names[0]).product
    decode = dialect(product).decode
    live = _read_live(order_logs, decode)
    if not live:  # an empty log, or another session's (a recording): before the run
        logs = ", ".join(os.fspath(path) for path in order_logs) or "no order log"
        raise LocalProtocolError(f"{logs}: no order sent (35=D) to compare")
    simulated = _Orders(decode)
    run_backtest(_watching(strategy, simulated), names, product=product, **backtest_options)
    sim = list(simulated.result().values())
    queue, missing = _queue_and_data(names, live, product)
    first_read = _first_reads(order_logs, queue_reads) if queue_reads else {}
    days = list(live.values())
    out = []
    for i in range(max(len(days), len(sim))):
        mine = days[i] if i < len(days) else None
        theirs = sim[i] if i < len(sim) else None
        cl = None if mine is None else mine.cl_ord_id
        out.append(
            OrderComparison(
                i,
                mine,
                theirs,
                None if cl is None else queue.get(cl),
                _cause(mine, theirs, cl in missing, tolerance),
                None if cl is None else first_read.get(cl),
            )
        )
    return LiveComparison(tuple(out), tolerance)


def _first_reads(
    order_logs: Sequence[str | os.PathLike[str]], reads: QueueReads
) -> dict[str, Decimal]:
    """Per live order (its 35=D's ClOrdID), the contracts ahead in the first queue position
    read of it (Kalshi names it by its OrderID, which the logs' reports give)."""
    order_ids = read_order_log(order_logs).order_ids
    first: dict[str, Decimal] = {}
    for _at, positions in reads:
        for position in positions:
            cl = order_ids.get(position.order_id)
            if cl is not None:
                first.setdefault(cl, position.ahead)
    return first


def _cause(
    live: OrderRun | None, sim: OrderRun | None, missing: bool, tolerance: float
) -> str | None:
    if live is not None and sim is not None and _same_outcome(live, sim):
        return None
    if live is not None and missing and live.filled:
        return "missing data"
    if live is None or sim is None:
        return "not sent"
    if (live.symbol, live.side, live.price, live.qty) != (sim.symbol, sim.side, sim.price, sim.qty):
        return "decision"
    if abs(live.sent - sim.sent) > tolerance or abs(_ack(live) - _ack(sim)) > tolerance:
        return "latency"
    return "queue"


def _ack(run: OrderRun) -> float:
    return 0.0 if run.acked is None else run.acked - run.sent


def _same_outcome(live: OrderRun, sim: OrderRun) -> bool:
    return (live.filled, live.average_price) == (sim.filled, sim.average_price)

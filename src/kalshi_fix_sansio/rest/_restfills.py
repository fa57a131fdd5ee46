"""Kalshi's REST order and fill records, checked and mapped onto the order tracker's terms.

Private: `kalshi_fix_sansio.rest.reconcile` is the public face. A record is read field by field,
each bounded before use; a record that cannot be read is a reason in words (the caller makes
it a `RestProblem`), never an exception.

How a REST fill is told from a FIX one (the mapping, docs/maintainers/decisions.md):

* identity first: a REST fill's ``trade_id`` or ``fill_id`` equal to a tracked fill's
  TrdMatchID(880) or ExecID(17) is that fill;
* else by quantity: fills of one order are sequential, so an order whose counted fills already
  reach the quantity REST says it filled (``fill_count``) has nothing to add, and otherwise the
  newest REST fills not matched by identity make up the difference (what was missed while
  disconnected is the newest);
* a REST fill enters the tracker as a report with ExecID ``rest:<fill_id>`` and TrdMatchID the
  REST ``trade_id``, and the order remembers the CumQty REST made it whole up to
  (``OrderTracker.rest_counted``): a FIX or replayed fill report of it at or below that CumQty, or with the
  TrdMatchID of a REST fill of the order, adds no fill (`kalshi_fix_sansio.trading._orders.counted_from_rest`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from .pages import order_status

_MAX_ID: Final = 128
_MAX_NUMBER_TEXT: Final = 32
_MAX_QTY: Final = Decimal(10) ** 9
_MAX_MARGIN_PRICE: Final = Decimal(10) ** 9
_ONE: Final = Decimal(1)
_ZERO: Final = Decimal(0)
ORDER_STATUSES: Final = frozenset({"resting", "canceled", "executed", "pending"})


@attrs.frozen
class RestFill:
    """One REST fill record, checked (prices are the Yes price for prediction)."""

    fill_id: str
    trade_id: str
    order_id: str
    cl_ord_id: str | None
    symbol: str
    side: str  # FIX Side code: "1" buy (Yes), "2" sell
    price: Decimal
    qty: Decimal
    ts: float
    record: Mapping[str, Any] = attrs.field(eq=False, repr=False)


@attrs.frozen
class RestOrder:
    """One REST order record, checked."""

    order_id: str
    cl_ord_id: str | None
    symbol: str
    side: str
    price: Decimal | None
    status: str
    fill_count: Decimal
    order_qty: Decimal
    record: Mapping[str, Any] = attrs.field(eq=False, repr=False)


class Bad(Exception):
    """A field cannot be read (internal: becomes a reason in words)."""


def _text(record: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise Bad(f"{name} is missing")
        return None
    if not isinstance(value, str):
        raise Bad(f"{name} is not a string")
    if len(value) > _MAX_ID or not value.isascii() or not value.isprintable():
        raise Bad(f"{name} is not printable ASCII of at most {_MAX_ID} characters")
    return value


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool):
        raise Bad(f"{name} is not a number")
    if isinstance(value, int):
        if abs(value) > 10**15:
            raise Bad(f"{name} is out of range")
        return Decimal(value)
    if isinstance(value, str) and 0 < len(value) <= _MAX_NUMBER_TEXT:
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise Bad(f"{name} is not a number") from None
        if number.is_finite():
            return number
    raise Bad(f"{name} is not a number")


def _quantity(record: Mapping[str, Any], name: str, *, required: bool = True) -> Decimal | None:
    """``<name>_fp`` (fixed-point text) or ``<name>`` (integer), 0 to 10^9."""
    for key in (f"{name}_fp", name):
        value = record.get(key)
        if value is not None:
            qty = _decimal(value, key)
            if not _ZERO <= qty <= _MAX_QTY:
                raise Bad(f"{key} is out of range (0 to 10^9)")
            return qty
    if required:
        raise Bad(f"{name} is missing")
    return None


def _price(record: Mapping[str, Any], prefix: str) -> Decimal | None:
    """``<prefix>_dollars`` / ``<prefix>_fixed`` (dollars) or ``<prefix>`` (cents)."""
    for key, scale in ((f"{prefix}_dollars", _ONE), (f"{prefix}_fixed", _ONE), (prefix, None)):
        value = record.get(key)
        if value is not None:
            number = _decimal(value, key)
            if scale is None and prefix != "price":
                number = number / 100  # prediction's integer fields are cents
            return number
    return None


_DIRECTIONS: Final[Mapping[str, Mapping[object, str]]] = {
    # field -> its value -> FIX Side ("1": buy / Yes, "2": sell / No)
    "outcome_side": {"yes": "1", "no": "2"},
    "book_side": {"bid": "1", "ask": "2"},
}
_MARGIN_SIDE: Final[Mapping[object, str]] = {"bid": "1", "ask": "2", "buy": "1", "sell": "2"}


def _side(record: Mapping[str, Any], prediction: bool) -> str:
    """The FIX Side of a record from every direction field it has, which must agree.

    Prediction: ``outcome_side`` (``yes`` / ``no``), ``book_side`` (``bid`` / ``ask``) and the
    older ``side`` + ``action`` (Yes-buy or No-sell is "1"). Margin: ``side`` (``bid`` /
    ``ask``, or the older ``buy`` / ``sell``), ``book_side`` and the older ``action``."""
    said: dict[str, str] = {}
    for name, values in _DIRECTIONS.items():
        if name in record:
            if record[name] not in values:
                raise Bad(f"{name} must be {' or '.join(map(repr, values))}")
            said[name] = values[record[name]]
    action, side = record.get("action"), record.get("side")
    if prediction:
        if side is not None or action is not None or not said:
            if side not in ("yes", "no") or action not in ("buy", "sell"):
                raise Bad(
                    "outcome_side (or book_side) is missing or side is not 'yes' / 'no' and "
                    "action not 'buy' / 'sell'"
                )
            said["side and action"] = "1" if (side == "yes") == (action == "buy") else "2"
    else:
        for name, value in (("side", side), ("action", action)):
            if value is not None:
                if value not in _MARGIN_SIDE or (name == "action" and value in ("bid", "ask")):
                    raise Bad(f"{name} must be 'bid' or 'ask' (or 'buy' / 'sell')")
                said[name] = _MARGIN_SIDE[value]
        if not said:
            raise Bad("side must be 'bid' or 'ask' (or 'buy' / 'sell')")
    if len(set(said.values())) > 1:
        raise Bad(f"the direction fields disagree ({', '.join(sorted(said))})")
    return next(iter(said.values()))


def _yes_price(record: Mapping[str, Any], prediction: bool, *, required: bool) -> Decimal | None:
    if prediction:
        price = _price(record, "yes_price")
        if price is None:
            no = _price(record, "no_price")
            price = None if no is None else _ONE - no
        if price is None:
            if required:
                raise Bad("yes_price_dollars (or no_price_dollars) is missing")
            return None
        if not _ZERO < price < _ONE:
            raise Bad("the Yes price is not between 0 and 1 dollar")
        return price
    price = _price(record, "price")
    if price is None:
        if required:
            raise Bad("price_dollars is missing")
        return None
    if not _ZERO < price <= _MAX_MARGIN_PRICE:
        raise Bad("the price is not above 0 (and at most 10^9)")
    return price


def _ts(record: Mapping[str, Any]) -> float:
    value = record.get("ts")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**13:
        return float(value)
    text = record.get("created_time")
    if isinstance(text, str) and len(text) <= 40:
        try:
            when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise Bad("created_time is not an ISO 8601 time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        return when.timestamp()
    return 0.0  # no time: the page's order decides


def parse_fill(record: Mapping[str, Any], prediction: bool) -> RestFill | str:
    """A checked `RestFill`, or why the record cannot be one."""
    try:
        fill_id = _text(record, "fill_id", required=False) or _text(record, "trade_id")
        assert fill_id is not None
        qty = _quantity(record, "count")
        assert qty is not None
        if qty == 0:
            raise Bad("count is 0")
        symbol = _text(record, "ticker", required=False) or _text(record, "market_ticker")
        assert symbol is not None
        price = _yes_price(record, prediction, required=True)
        assert price is not None
        return RestFill(
            fill_id=fill_id,
            trade_id=_text(record, "trade_id", required=False) or fill_id,
            order_id=_text(record, "order_id") or "",
            cl_ord_id=_text(record, "client_order_id", required=False),
            symbol=symbol,
            side=_side(record, prediction),
            price=price,
            qty=qty,
            ts=_ts(record),
            record=record,
        )
    except Bad as exc:
        return str(exc)


def parse_order(record: Mapping[str, Any], prediction: bool) -> RestOrder | str:
    """A checked `RestOrder`, or why the record cannot be one."""
    try:
        # prediction's orders say their status; margin's do not (told from their counts)
        status = record.get("status") if prediction else order_status(record)
        if status not in ORDER_STATUSES:
            if "status" in record or prediction:
                raise Bad(f"status is not one of {sorted(ORDER_STATUSES)}")
            raise Bad("no status, and remaining_count is not a count to tell it from")
        fill_count = _quantity(record, "fill_count")
        assert fill_count is not None
        initial = _quantity(record, "initial_count", required=False)
        if initial is None:
            remaining = _quantity(record, "remaining_count")
            assert remaining is not None
            initial = fill_count + remaining
        if fill_count > initial:
            raise Bad("fill_count is above the order's count")
        symbol = _text(record, "ticker")
        assert symbol is not None
        return RestOrder(
            order_id=_text(record, "order_id") or "",
            cl_ord_id=_text(record, "client_order_id", required=False),
            symbol=symbol,
            side=_side(record, prediction),
            price=_yes_price(record, prediction, required=False),
            status=str(status),
            fill_count=fill_count,
            order_qty=initial,
            record=record,
        )
    except Bad as exc:
        return str(exc)


def parse_position(record: Mapping[str, Any]) -> tuple[str, Decimal] | str:
    """``(ticker, net position)`` of a REST position record, or why it cannot be read."""
    try:
        symbol = _text(record, "ticker", required=False) or _text(record, "market_ticker")
        assert symbol is not None
        for key in ("position_fp", "position"):
            value = record.get(key)
            if value is not None:
                net = _decimal(value, key)
                if abs(net) > _MAX_QTY:
                    raise Bad(f"{key} is out of range")
                return symbol, net
        raise Bad("position is missing")
    except Bad as exc:
        return str(exc)


CUTOFF_FIELDS: Final = ("trades_created_ts", "orders_updated_ts")
"""The fields of Kalshi's ``GET /historical/cutoff`` the reconciliation reads: fills made before
the first are on ``/historical/fills`` only, orders finished before the second on
``/historical/orders`` only."""


def parse_cutoff(record: Mapping[str, Any]) -> dict[str, float] | str:
    """`CUTOFF_FIELDS` of Kalshi's historical cutoff as UTC epoch seconds, or why they cannot be
    read (fields Kalshi adds are ignored)."""
    out: dict[str, float] = {}
    for name in CUTOFF_FIELDS:
        text = record.get(name)
        if not isinstance(text, str) or not 0 < len(text) <= 40:
            return f"{name} is missing or not a date-time"
        try:
            when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return f"{name} is not an ISO 8601 date-time: {text!r}"
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        out[name] = when.timestamp()
    return out

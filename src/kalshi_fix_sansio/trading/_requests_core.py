"""What the request builders share: the ClOrdID rules and the checks of every family's fields.

Private: `kalshi_fix_sansio.trading.builders` exports `check_cl_ord_id`, `ClOrdIDGenerator`,
`CLORDID_MAX_LENGTH` and `Requests`, which is built on `RequestsCore` (this module: the session
it builds for and the field checks) and one class per message family (`_requests_rfq`).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

from ..codec import MESSAGES, Message
from ..codec.ranges import RequestError, ValueRangeError, check_value, check_values, rules_for
from ..codec.spec import SESSIONS, SessionSpec

__all__ = ["CLORDID_MAX_LENGTH", "ClOrdIDGenerator", "RequestsCore", "check_cl_ord_id"]

CLORDID_MAX_LENGTH: int = next(
    r.max_length for r in rules_for("ClOrdID", "D", "prediction") if r.max_length is not None
)
"""ClOrdID(11) length limit (Kalshi's Order Entry page: "max 64 chars"; from ``spec/ranges.yaml``)."""


def check_cl_ord_id(
    value: str, *, field: str = "ClOrdID", tag: int | None = 11, msg_type: str = "D"
) -> str:
    """Return ``value`` if it is a valid ClOrdID, else raise `RequestError`.

    Rules (Kalshi's Order Entry page, as ``spec/ranges.yaml`` has them): 1 to 64 characters;
    letters, digits and ``- _ : + = /`` only (the documented pattern ``^[\\-\\w:+=/]*$``).
    """
    try:
        check_value("D", "ClOrdID", value, product="prediction")
    except ValueRangeError as exc:
        spec = MESSAGES.get(msg_type)
        shown = exc.value_rule._replace(field=field, tag=tag or 0)
        raise ValueRangeError(spec.name if spec else msg_type, msg_type, shown, value) from None
    if value is None:
        raise RequestError(msg_type, field, tag, "must be a non-empty string")
    return value


class ClOrdIDGenerator:
    """ClOrdIDs meeting Kalshi's length and character rules, unique per generator.

    Without a prefix each id is a random UUID (Kalshi's preference); with one it is
    ``prefix + 32 hex digits`` (random), or with ``sequential=True`` ``prefix + counter`` (only
    unique while the prefix is never reused, e.g. a prefix per run).

    Args:
        prefix: leading text (letters, digits, ``- _ : + = /``), short enough to leave room.
        sequential: number the ids instead of drawing random ones.
        start: first number when ``sequential``.

    Examples:
        >>> gen = ClOrdIDGenerator("bot1-", sequential=True)
        >>> gen(), gen()
        ('bot1-1', 'bot1-2')
    """

    def __init__(self, prefix: str = "", *, sequential: bool = False, start: int = 1) -> None:
        room = 20 if sequential else 32  # digits of a 64-bit counter / hex of a UUID
        if prefix:
            check_cl_ord_id(prefix, field="prefix")
            if len(prefix) + room > CLORDID_MAX_LENGTH:
                raise RequestError(
                    "D",
                    "prefix",
                    None,
                    f"at most {CLORDID_MAX_LENGTH - room} characters so ids fit in "
                    f"{CLORDID_MAX_LENGTH}",
                )
        elif sequential:
            raise RequestError("D", "prefix", None, "a sequential generator needs a prefix")
        self.prefix = prefix
        self._counter = itertools.count(start) if sequential else None

    def __call__(self) -> str:
        if self._counter is not None:
            return f"{self.prefix}{next(self._counter)}"
        if not self.prefix:
            return str(uuid.uuid4())
        return f"{self.prefix}{uuid.uuid4().hex}"

    next = __call__


_SIDES = {"buy": "1", "sell": "2", "yes": "1", "no": "2", "1": "1", "2": "2"}
_TIFS = {"day": "0", "gtc": "1", "ioc": "3", "fok": "4", "gtd": "6"}


def _value(v: Any) -> str:
    return str(getattr(v, "value", v))


class RequestsCore:
    """The session a `Requests <kalshi_fix_sansio.trading.builders.Requests>` builds for, and the
    checks of the fields every family's builders share (set by ``Requests.__init__``)."""

    product: str
    session_type: str
    spec: SessionSpec
    dialect: ModuleType
    use_dollars: bool
    listener: bool
    cl_ord_ids: Callable[[], str]

    # -- common checks ---------------------------------------------------------------------

    def _carried(self, msg_type: str, name: str) -> None:
        if msg_type not in self.spec.send:
            carriers = sorted(
                s.name
                for s in SESSIONS.values()
                if s.product == self.product and msg_type in s.send
            )
            where = ", ".join(carriers) if carriers else f"no {self.product} session"
            raise RequestError(
                msg_type,
                None,
                None,
                f"{name} is not carried by {self.product} {self.session_type}",
                f"sent on: {where}",
            )
        if self.listener and msg_type in self.spec.listener_refused:
            raise RequestError(msg_type, None, None, f"{name} cannot be sent on a listener session")

    def _build(self, class_name: str, **fields: Any) -> Message:
        cls: type[Message] = getattr(self.dialect, class_name)
        message = cls(**{k: v for k, v in fields.items() if v is not None})
        # the value ranges of spec/ranges.yaml, the same table Session.send applies
        check_values(message, product=self.product, use_dollars=self.use_dollars)
        return message

    def _id(self, value: str | None, mt: str, field: str = "ClOrdID", tag: int = 11) -> str:
        return check_cl_ord_id(
            self.cl_ord_ids() if value is None else value, field=field, tag=tag, msg_type=mt
        )

    @staticmethod
    def _text(
        value: str | None, mt: str, field: str, tag: int, required: bool = True
    ) -> str | None:
        if value is None:
            if required:
                raise RequestError(mt, field, tag, "is required")
            return None
        if not isinstance(value, str) or not value or "\x01" in value:
            raise RequestError(
                mt, field, tag, "must be a non-empty string without SOH", repr(value)
            )
        return value

    @staticmethod
    def _uuid(value: str | None, mt: str, field: str, tag: int) -> str:
        if value is None:
            raise RequestError(mt, field, tag, "is required")
        try:
            uuid.UUID(value)
        except (ValueError, TypeError, AttributeError):
            raise RequestError(mt, field, tag, "must be a UUID", repr(value)) from None
        return value

    @staticmethod
    def _alloc(value: int | None, mt: str) -> int | None:
        return value  # AllocAccount 0-63: spec/ranges.yaml, checked when the message is built

    def _side(self, value: Any, mt: str) -> Any:
        code = _SIDES.get(_value(value).lower())
        if code is None:
            raise RequestError(mt, "Side", 54, "buy/1 or sell/2", repr(value))
        return self.dialect.Side(code)

    @staticmethod
    def _qty(value: Any, mt: str, field: str = "OrderQty", tag: int = 38) -> Decimal:
        # the ranges (positive, step, ceiling) are spec/ranges.yaml's, checked in _build
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise RequestError(mt, field, tag, "must be an int or Decimal", repr(value))
        return Decimal(value)

    def _price(
        self, value: Any, mt: str, field: str = "Price", tag: int = 44, tick: Any = None
    ) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise RequestError(mt, field, tag, "a price is a Decimal in dollars", repr(value))
        px = Decimal(value)
        # range and the session's tick: spec/ranges.yaml, checked in _build; here the market's
        # own tick (REST price_ranges), which only the caller knows
        check_value(mt, "Price", px, product=self.product, use_dollars=self.use_dollars)
        if tick is not None and not isinstance(tick, (Decimal, int)):  # a market: its grid
            grid = getattr(tick, "tick_at", None)
            if grid is None:
                raise RequestError(mt, "tick", None, "a Decimal or a market", repr(tick))
            market = getattr(tick, "ticker", "the market")
            tick = grid(px)
            if tick is None:
                raise RequestError(mt, field, tag, f"outside the price ranges of {market}", str(px))
        if tick is not None:
            if tick <= 0:
                raise RequestError(mt, "tick", None, "must be positive", str(tick))
            if px % tick:
                raise RequestError(mt, field, tag, f"not on the tick of ${tick}", str(px))
        return px

    def _tif(
        self, tif: Any, expire_time: datetime | None, mt: str, *, replace: bool = False
    ) -> Any:
        if tif is None:
            if expire_time is not None:
                raise RequestError(mt, "ExpireTime", 126, "only with TimeInForce(59)=6 (GTD)")
            return None
        code = _TIFS.get(_value(tif).lower(), _value(tif))
        if code not in ("0", "1", "3", "4", "6"):
            raise RequestError(
                mt, "TimeInForce", 59, "one of 0 Day, 1 GTC, 3 IOC, 4 FOK, 6 GTD", repr(tif)
            )
        # a replace takes only 0, 1 or 6: spec/ranges.yaml, checked in _build
        if code == "6":
            if expire_time is None:
                raise RequestError(mt, "ExpireTime", 126, "required when TimeInForce(59)=6 (GTD)")
            if not isinstance(expire_time, datetime):
                raise RequestError(mt, "ExpireTime", 126, "must be a datetime", repr(expire_time))
        elif expire_time is not None:
            raise RequestError(mt, "ExpireTime", 126, "only with TimeInForce(59)=6 (GTD)")
        return self.dialect.TimeInForce(code)

    def _parties(self, party_id: str | None, mt: str) -> list[Any] | None:
        if party_id is None:
            return None
        return [
            self.dialect.Party(
                party_id=self._text(party_id, mt, "PartyID", 448),
                party_role=self.dialect.PartyRole.CUSTOMER_ACCOUNT,
            )
        ]

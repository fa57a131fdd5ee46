"""Kalshi's FIX rate limits as token buckets, sans-IO: the caller passes ``now``.

Kalshi bills FIX application messages against the same Read / Write token buckets as the
equivalent REST calls (REST and FIX drain the same buckets). `RateLimiter` mirrors that model so
a client can refuse or delay a message locally instead of collecting 35=j ``380=8`` rejects:

* each request costs 10 tokens unless Kalshi lists another cost (`DEFAULT_COST`; margin's
  OrderCancelRequest costs 1);
* a bucket refills at the tier's budget (tokens per second) and holds a burst of a few seconds
  of budget (`Tier`, `PREDICTION_TIERS`);
* prediction orders with ExDestination(100) >= 1 bill that shard's Write bucket, RFQ and quote
  writes bill shard 1; margin creates and amends bill a per-shard Write budget chosen from the
  Symbol (a mapping you give, since Kalshi's symbol-to-shard map is not a FIX field);
* OrderMassCancelRequest is also limited to one per second;
* Heartbeat, TestRequest and Logout (and the other session messages) are exempt; Logon is limited
  separately by Kalshi and not modelled here.

`classify` turns a session's `BusinessRejectReceived` with BusinessRejectReason(380)=8 into a
`RateLimited` event.

Examples:
    >>> from decimal import Decimal
    >>> from kalshi_fix_sansio.trading.builders import Requests
    >>> from kalshi_fix_sansio.session.ratelimit import RateLimiter
    >>> limiter = RateLimiter("prediction", "Basic")   # 100 write tokens/s, 1 s burst
    >>> order = Requests().new_order("X", "buy", 1, Decimal("0.5"), cl_ord_id="o1")
    >>> [limiter.try_take(order, now=0.0) for _ in range(11)][-2:]
    [0.0, 0.1]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from ..codec import Message
from ..codec.errors import LocalProtocolError
from .events import BusinessRejectReceived, RateLimited

__all__ = [
    "DEFAULT_COST",
    "EXEMPT_MSG_TYPES",
    "MASS_CANCEL_INTERVAL",
    "PREDICTION_TIERS",
    "RATE_LIMIT_EXCEEDED",
    "TIME_TOLERANCE",
    "Charge",
    "RateLimitExceeded",
    "RateLimited",
    "RateLimiter",
    "Tier",
    "classify",
]

DEFAULT_COST = 10.0
"""Tokens per request unless Kalshi lists another cost (session.md §12 "Default cost")."""

MASS_CANCEL_INTERVAL = 1.0
"""OrderMassCancelRequest (35=q) is limited to 1 request per second (session.md §10, §12)."""

TIME_TOLERANCE = 1e-6
"""A message whose tokens are less than this many seconds of refill away is admitted: epoch
seconds (``time.time()``) carry about 0.2 microseconds of float precision, so ``now + wait`` may
land a hair before the refill it waited for. The most this admits early is 1 microsecond of a
bucket's budget."""

RATE_LIMIT_EXCEEDED = 8
"""BusinessRejectReason(380) value of a 35=j for a rate limit (session.md §8, §12)."""

EXEMPT_MSG_TYPES = frozenset({"0", "1", "2", "3", "4", "5", "A"})
"""Never billed: Heartbeat, TestRequest, Logout are excluded by Kalshi; ResendRequest, Reject and
SequenceReset are session messages outside the scope (client application messages); Logon is
rate-limited separately by Kalshi (rate not stated) and not modelled."""

_READ_TYPES = frozenset({"V", "e", "U1"})  # (inferred) reads: market data, drop-copy replay
_RFQ_WRITES = frozenset({"R", "UE", "S", "Z", "UA", "U7"})  # bill the shard-1 Write bucket
_SHARDED = frozenset({"D", "F", "G"})


@dataclass(frozen=True)
class Tier:
    """One access tier's budgets.

    Attributes:
        name: the tier's name.
        read: Read budget in tokens per second (the refill rate).
        write: Write budget in tokens per second.
        read_burst: seconds of Read budget a full bucket holds (its capacity / ``read``).
        write_burst: seconds of Write budget a full bucket holds.
    """

    name: str
    read: float
    write: float
    read_burst: float = 1.0
    write_burst: float = 3.0

    def __post_init__(self) -> None:
        for field in ("read", "write", "read_burst", "write_burst"):
            value = getattr(self, field)
            if not value > 0:
                raise LocalProtocolError(f"Tier.{field} must be positive, got {value!r}")


def _tier(name: str, read: float, write: float) -> Tier:
    # session.md §12 "Burst": Write buckets above Basic hold 3 s of budget, Basic Write 1 s;
    # Predictions Read above Advanced 1 s (Basic / Advanced Read: not stated, 1 s assumed)
    return Tier(name, read, write, read_burst=1.0, write_burst=1.0 if name == "Basic" else 3.0)


PREDICTION_TIERS: dict[str, Tier] = {
    t.name: t
    for t in (
        # session.md §12, "Prediction tier budgets (tokens/s, ≈Oct 2026)"
        _tier("Basic", 200, 100),
        _tier("Advanced", 300, 300),
        _tier("Expert", 600, 600),
        _tier("Premier", 1_200, 1_200),
        _tier("Paragon", 2_400, 2_400),
        _tier("Prime", 4_800, 4_800),
        _tier("Prestige", 12_000, 9_600),
    )
}
"""Prediction budgets by tier name. Margin (perps) budgets are not published in the reference:
pass a `Tier` with your account's numbers."""


@dataclass(frozen=True)
class Charge:
    """What one message costs in one bucket.

    Attributes:
        bucket: ``"read"``, ``"write"`` (the unscoped / default Write bucket), ``"write:<shard>"``
            (a shard's Write bucket) or ``"mass-cancel"`` (1 request per second).
        cost: tokens.
    """

    bucket: str
    cost: float


class RateLimitExceeded(LocalProtocolError):
    """Sending the message now would exceed the budget; nothing was billed.

    Attributes:
        wait: seconds until it would be admitted (``inf`` if it can never fit the bucket).
        bucket: the bucket that is short.
        msg_type: MsgType(35) of the message.
    """

    def __init__(self, text: str, *, wait: float, bucket: str, msg_type: str) -> None:
        super().__init__(text)
        self.wait = wait
        self.bucket = bucket
        self.msg_type = msg_type


def classify(event: Any) -> Any:
    """``event`` itself, or a `RateLimited` for a `BusinessRejectReceived` whose reason is
    ``380=8`` (rate limit exceeded)."""
    if isinstance(event, BusinessRejectReceived) and not isinstance(event, RateLimited):
        reason = getattr(event.reason, "value", event.reason)
        if reason == RATE_LIMIT_EXCEEDED:
            return RateLimited(
                event.ref_seq_num,
                event.ref_msg_type,
                event.business_reject_ref_id,
                event.reason,
                event.text,
                event.message,
            )
    return event


class _Bucket:
    __slots__ = ("capacity", "last", "level", "rate")

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.level = capacity
        self.last: float | None = None

    def level_at(self, now: float) -> float:
        """Tokens at ``now`` (pure: looking ahead bills and refills nothing)."""
        if self.last is None or now <= self.last:
            return self.level
        return min(self.capacity, self.level + (now - self.last) * self.rate)

    def set(self, level: float, now: float) -> None:
        self.level = level
        self.last = now if self.last is None else max(self.last, now)

    def wait(self, cost: float, now: float) -> float:
        if cost > self.capacity:
            return float("inf")
        wait = (cost - self.level_at(now)) / self.rate
        return 0.0 if wait <= TIME_TOLERANCE else wait


ShardOf = Callable[[str], "int | str | None"]


class RateLimiter:
    """Token buckets mirroring Kalshi's FIX rate limits for one account and product.

    Args:
        product: ``"prediction"`` or ``"margin"``.
        tier: a `Tier`, or for prediction a tier name from `PREDICTION_TIERS`. Margin has no
            published numbers: a `Tier` is required.
        costs: token cost per MsgType overriding `DEFAULT_COST` (and margin's 1-token cancel),
            e.g. from your account's ``GET /account/endpoint_costs``; the key ``"U7+RfqId"`` is
            QuoteConfirm with RfqId(21023), which Kalshi bills less (amount not stated).
        shard_of: margin: the exchange shard of a Symbol (a mapping or a function); a symbol it
            does not resolve bills the default margin Write budget.
        shard_write: margin: Write budget (tokens/s) of each shard, or per shard; default the
            tier's Write budget (not stated by Kalshi).

    All buckets start full. Times are seconds on any monotonic clock; a ``now`` earlier than the
    last one billed counts as no time passing. `check` and `available` only look: asking about a
    later time refills nothing.

    One limiter may be shared by several sessions (an `Account`'s are). Sessions that run in
    threads of their own (the blocking adapter's) share it safely once it holds a lock
    (`guard_with`; the blocking ``FixClient`` gives it one), and bill through `reserve`, which
    checks and bills in one step: two threads cannot both take the last tokens.
    """

    def __init__(
        self,
        product: str = "prediction",
        tier: Tier | str = "Basic",
        *,
        costs: Mapping[str, float] | None = None,
        shard_of: Mapping[str, int | str] | ShardOf | None = None,
        shard_write: float | Mapping[int | str, float] | None = None,
    ) -> None:
        if product not in ("prediction", "margin"):
            raise LocalProtocolError(f"product must be 'prediction' or 'margin', got {product!r}")
        if isinstance(tier, str):
            if product == "margin":
                raise LocalProtocolError(
                    "margin (perps) budgets are not published per tier name; pass "
                    "Tier(name, read=..., write=...) with your account's numbers"
                )
            if tier not in PREDICTION_TIERS:
                raise LocalProtocolError(
                    f"unknown prediction tier {tier!r} (known: {', '.join(PREDICTION_TIERS)})"
                )
            tier = PREDICTION_TIERS[tier]
        self.product = product
        self.tier = tier
        self.costs: dict[str, float] = {}
        self._set_costs(costs)
        if isinstance(shard_of, Mapping):
            table = dict(shard_of)
            self._shard_of: ShardOf | None = table.get
        else:
            self._shard_of = shard_of
        self._shard_write = shard_write
        self._buckets: dict[str, _Bucket] = {}
        self.guard: AbstractContextManager[Any] = nullcontext()
        """Held in every call that reads or bills the buckets (`guard_with`)."""

    def guard_with(self, make_lock: Callable[[], AbstractContextManager[Any]]) -> None:
        """Hold a lock made by ``make_lock`` in every call that reads or bills the buckets from
        now on (sessions sharing this limiter from threads of their own: ``threading.Lock``);
        the first lock given stays."""
        if isinstance(self.guard, nullcontext):
            self.guard = make_lock()

    # -- model -------------------------------------------------------------------------------

    def charges(self, message: Message) -> list[Charge]:
        """What sending ``message`` costs, bucket by bucket (empty for an exempt message)."""
        mt = message.MSG_TYPE or str(getattr(message, "msg_type", "") or "")
        if mt in EXEMPT_MSG_TYPES:
            return []
        if mt in _READ_TYPES:
            return [Charge("read", self.costs.get(mt, DEFAULT_COST))]
        cost = self.costs.get(mt, DEFAULT_COST)
        if mt == "U7" and getattr(message, "rfq_id", None) is not None and "U7+RfqId" in self.costs:
            cost = self.costs["U7+RfqId"]
        if mt == "q":
            return [Charge("write", cost), Charge("mass-cancel", 1.0)]
        if self.product == "prediction":
            if mt in _RFQ_WRITES or (mt == "D" and getattr(message, "quote_id", None) is not None):
                return [Charge("write:1", cost)]  # since 2026-09-17
            if mt in _SHARDED:
                dest = getattr(message, "ex_destination", None)
                if isinstance(dest, int) and dest >= 1:
                    return [Charge(f"write:{dest}", cost)]
            return [Charge("write", cost)]
        if mt in ("D", "G") and self._shard_of is not None:
            symbol = getattr(message, "symbol", None)
            shard = self._shard_of(symbol) if isinstance(symbol, str) else None
            if shard is not None:
                return [Charge(f"write:{shard}", cost)]
        return [Charge("write", cost)]

    def _size(self, name: str) -> tuple[float, float]:
        """(rate, capacity) of bucket ``name`` under the current tier."""
        t = self.tier
        if name == "read":
            return t.read, t.read * t.read_burst
        if name == "mass-cancel":
            return 1.0 / MASS_CANCEL_INTERVAL, 1.0
        rate = t.write
        if name != "write" and self.product == "margin" and self._shard_write is not None:
            shard = name.split(":", 1)[1]
            sw = self._shard_write
            if isinstance(sw, Mapping):
                found = sw.get(shard, sw.get(int(shard), None) if shard.isdigit() else None)
                rate = t.write if found is None else float(found)
            else:
                rate = float(sw)
        return rate, rate * t.write_burst

    def _bucket(self, name: str) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket(*self._size(name))
        return bucket

    def _set_costs(self, costs: Mapping[str, float] | None) -> None:
        table = {"F": 1.0} if self.product == "margin" else {}
        table.update(costs or {})
        for key, value in table.items():
            if not value >= 0:
                raise LocalProtocolError(f"cost of {key!r} must be >= 0, got {value!r}")
        self.costs = table

    def retier(self, tier: Tier, now: float, *, costs: Mapping[str, float] | None = None) -> None:
        """Run on ``tier``'s budgets (and ``costs``, as the constructor's) from ``now``
        (Kalshi moved the account to another tier): every bucket refills at its new rate and
        holds at most its new capacity; the tokens it held at ``now`` stay (up to that
        capacity)."""
        with self.guard:
            self._set_costs(costs)
            self.tier = tier
            for name, bucket in self._buckets.items():
                level = bucket.level_at(now)  # refilled at the old rate until now
                bucket.rate, bucket.capacity = self._size(name)
                bucket.set(min(level, bucket.capacity), now)

    # -- use -----------------------------------------------------------------------------------

    def _wait(self, message: Message, now: float) -> tuple[float, str, list[Charge]]:
        charges = self.charges(message)
        worst, which = 0.0, ""
        for charge in charges:
            w = self._bucket(charge.bucket).wait(charge.cost, now)
            if w > worst:
                worst, which = w, charge.bucket
        return worst, which, charges

    def check(self, message: Message, now: float) -> float:
        """Seconds to wait before ``message`` fits its buckets (0.0: it may go now; ``inf``: it
        never fits). Bills nothing."""
        with self.guard:
            return self._wait(message, now)[0]

    def try_take(self, message: Message, now: float) -> float:
        """Bill ``message`` if it fits now and return 0.0; otherwise bill nothing and return the
        seconds to wait (what an adapter sleeps before trying again)."""
        with self.guard:
            wait, _, charges = self._wait(message, now)
            if wait > 0:
                return wait
            self._bill(charges, now)
            return 0.0

    def _bill(self, charges: list[Charge], now: float) -> None:
        for charge in charges:
            bucket = self._bucket(charge.bucket)
            bucket.set(bucket.level_at(now) - charge.cost, now)

    def take(self, message: Message, now: float) -> None:
        """Bill ``message``, or raise `RateLimitExceeded` (billing nothing) when it does not
        fit now; the error says which bucket and how long to wait."""
        self.reserve(message, now)

    def reserve(self, message: Message, now: float) -> list[Charge]:
        """Bill ``message`` now and return what it cost, or raise `RateLimitExceeded` (billing
        nothing): `admit` and `bill` in one step, under the limiter's lock. A sender that may
        still fail after it (the `Session` encodes the message next) gives the tokens back with
        `refund`."""
        with self.guard:
            charges = self._admit(message, now)
            self._bill(charges, now)
            return charges

    def refund(self, charges: list[Charge], now: float) -> None:
        """Give back what `reserve` billed for a message that was not sent after all (each
        bucket up to its capacity)."""
        with self.guard:
            for charge in charges:
                bucket = self._bucket(charge.bucket)
                bucket.set(min(bucket.capacity, bucket.level_at(now) + charge.cost), now)

    def admit(self, message: Message, now: float) -> list[Charge]:
        """What ``message`` costs if it fits now (bill it with `bill` once it is sent), or raise
        `RateLimitExceeded`; bills nothing either way.

        Another thread may bill the same tokens between `admit` and `bill`; sessions sharing
        the limiter bill through `reserve` (check and bill in one step) instead.
        """
        with self.guard:
            return self._admit(message, now)

    def _admit(self, message: Message, now: float) -> list[Charge]:
        wait, bucket, charges = self._wait(message, now)
        if wait > 0:
            mt = message.MSG_TYPE or "?"
            cost = next(c.cost for c in charges if c.bucket == bucket)
            raise RateLimitExceeded(
                f"35={mt} would exceed Kalshi's rate limit: the {bucket!r} bucket "
                f"({self._buckets[bucket].rate:g} tokens/s, holds "
                f"{self._buckets[bucket].capacity:g}) is short of {cost:g} tokens; "
                + ("it can never fit" if wait == float("inf") else f"retry in {wait:.3f} s"),
                wait=wait,
                bucket=bucket,
                msg_type=mt,
            )
        return charges

    def bill(self, charges: list[Charge], now: float) -> None:
        """Take ``charges`` (from `admit` or `charges`) from their buckets at ``now``."""
        with self.guard:
            self._bill(charges, now)

    def available(self, bucket: str, now: float) -> float:
        """Tokens in ``bucket`` at ``now`` (a bucket not used yet is full)."""
        with self.guard:
            return self._bucket(bucket).level_at(now)

    def drain(self, bucket: str, now: float) -> None:
        """Empty ``bucket`` at ``now``, e.g. after a `RateLimited` (REST use shares the bucket,
        so Kalshi's count may run ahead of ours)."""
        with self.guard:
            self._bucket(bucket).set(0.0, now)

    def learn(self, event: RateLimited, now: float, charges: list[Charge] | None = None) -> None:
        """Kalshi refused a message for its rate limit (a `RateLimited`): empty the buckets it
        billed, so what follows waits for a full refill instead of collecting more rejects.

        Args:
            event: the `RateLimited` (its RefMsgType names the message refused).
            now: when it arrived.
            charges: what that message was billed, when the sender kept it (the `Session`
                does, per MsgSeqNum). Without them, the default bucket of RefMsgType is
                drained: ``read`` for a read, ``write`` otherwise (a shard's bucket cannot be
                told from a MsgType).
        """
        if charges is None:
            mt = event.ref_msg_type or ""
            if mt in EXEMPT_MSG_TYPES:
                return
            buckets = ["read" if mt in _READ_TYPES else "write"]
            if mt == "q":
                buckets.append("mass-cancel")
        else:
            buckets = [charge.bucket for charge in charges]
        with self.guard:
            for bucket in buckets:
                self._bucket(bucket).set(0.0, now)

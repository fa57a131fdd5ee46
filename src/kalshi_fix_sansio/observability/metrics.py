"""Per-session counters and order round-trip histograms (sans-IO: times are arguments).

A `SessionMetrics` is kept by every `Driver` (``driver.metrics``) and by every adapter session
(``session.metrics``, the same object across its reconnects and opens). The driver updates it
where it already handles each input, at the cost of a few integer increments per message:

* **messages in**, by MsgType: every message the session delivered in an event: application
  messages (``ApplicationMessage``: 35=8, 35=W...), 35=3 (`RejectReceived`), 35=j
  (`BusinessRejectReceived`) and 35=A (`LoggedOn`). Heartbeats, TestRequests, ResendRequests,
  SequenceResets and Logouts are session plumbing: they are counted as their events
  (``events``) where they have one, not here;
* **messages out**, by MsgType: every frame written, session messages (Heartbeats, Logon...)
  included, read from the bytes the driver hands to the adapter;
* **bytes** in and out, as read and written;
* **rejects**: 35=3, 35=j (and of those, rate-limit refusals), 35=9 and ExecutionReports with
  ExecType(150)=8;
* **every other event** by class name (``events``): `GapDetected`, `ResendRequestSent`,
  `ResendRequestReceived`, `SequenceReset`, `Reconnected`, `Disconnected`, `FallingBehind`...;
  the snapshot names the ones a desk watches (gaps, resends, reconnects);
* **the event queue**: its depth and its high-water mark;
* **order round trips** per MsgType of the request (35=D, 35=G, 35=F): from the ``now`` the
  order was sent with to the ``now`` of the bytes that carried its first answer (an
  ExecutionReport or OrderCancelReject with its ClOrdID, a 35=j naming it), in a `Histogram`
  of fixed buckets (bounded memory) with count, sum, min, max and approximate percentiles.

Nothing is ever reset by reading: `SessionMetrics.snapshot` returns a frozen
`MetricsSnapshot`; rates are differences of two snapshots. Export them with
``kalshi_fix_sansio.observability.metrics_prometheus`` (the ``prometheus`` extra) or print them with
``kalshi-fix logon-test --metrics``.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

TRADING_STATES: Final = ("active", "reduce_only", "halted")
"""`SessionMetrics.trading_state` values, in the order of the ``trading_state`` gauge (0, 1,
2)."""

__all__ = [
    "MAX_AWAITED_ORDERS",
    "ROUND_TRIP_BOUNDS",
    "TRADING_STATES",
    "Histogram",
    "HistogramSnapshot",
    "MetricsSnapshot",
    "SessionMetrics",
]

ROUND_TRIP_BOUNDS: Final[tuple[float, ...]] = (
    0.0001,
    0.0002,
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    30.0,
    60.0,
)
"""Upper bounds (seconds, inclusive) of the round-trip buckets: 100 µs to 60 s in 1-2-5 steps,
and one more bucket above the last."""

MAX_AWAITED_ORDERS: Final = 10_000
"""Most orders awaiting their first answer that are remembered for the round-trip figures;
past it the oldest is forgotten (counted as ``unanswered``): memory stays bounded whatever
happens to the answers."""

ORDER_MSG_TYPES: Final = ("D", "G", "F")
_OUT_MSG_TYPE = re.compile(rb"\x0135=([^\x01]*)\x01")
_ANSWER_TYPES: Final = frozenset({"8", "9"})


@attrs.frozen
class HistogramSnapshot:
    """A `Histogram` at one moment (frozen).

    Attributes:
        bounds: the buckets' upper bounds (inclusive), in seconds.
        counts: observations per bucket: ``counts[i]`` are those ``<= bounds[i]`` and above
            the bound before; the last one those above ``bounds[-1]`` (one more than bounds).
        count: observations.
        sum: their sum, in seconds.
        min: the smallest (None before the first).
        max: the largest (None before the first).
    """

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    count: int
    sum: float
    min: float | None
    max: float | None

    @property
    def mean(self) -> float | None:
        """The mean (None before the first observation)."""
        return self.sum / self.count if self.count else None

    def percentile(self, q: float) -> float | None:
        """The approximate ``q``-quantile (``q`` in [0, 1], e.g. 0.99), None with no data.

        Interpolated linearly inside the bucket where it falls, clamped to [min, max]: exact at
        0 and 1, otherwise within one bucket of the true value.

        Raises:
            ValueError: ``q`` is outside [0, 1].
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q must be in [0, 1], got {q!r}")
        if not self.count or self.min is None or self.max is None:
            return None
        rank = q * self.count
        seen = 0
        for i, n in enumerate(self.counts):
            if n and seen + n >= rank:
                low = self.bounds[i - 1] if i > 0 else 0.0
                high = self.bounds[i] if i < len(self.bounds) else self.max
                low, high = max(low, self.min), min(high, self.max)
                value = low + (high - low) * max(rank - seen, 0.0) / n
                return min(max(value, self.min), self.max)
            seen += n
        return self.max  # pragma: no cover - the counts add up to count

    @property
    def p50(self) -> float | None:
        """The approximate median."""
        return self.percentile(0.5)

    @property
    def p90(self) -> float | None:
        """The approximate 90th percentile."""
        return self.percentile(0.9)

    @property
    def p99(self) -> float | None:
        """The approximate 99th percentile."""
        return self.percentile(0.99)

    def as_dict(self) -> dict[str, Any]:
        """Plain values (JSON-ready): count, sum, min, max, mean, p50, p90, p99 and the
        buckets as ``[[upper bound or "+Inf", count], ...]``."""
        return {
            "count": self.count,
            "sum": self.sum,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "p50": self.p50,
            "p90": self.p90,
            "p99": self.p99,
            "buckets": [
                [bound, n] for bound, n in zip([*self.bounds, "+Inf"], self.counts, strict=True)
            ],
        }


class Histogram:
    """Fixed buckets, count, sum, min and max: bounded memory whatever is observed.

    Args:
        bounds: increasing upper bounds (inclusive), in seconds.

    Raises:
        ValueError: the bounds are empty or not increasing.
    """

    __slots__ = ("_counts", "bounds", "count", "max", "min", "sum")

    def __init__(self, bounds: tuple[float, ...] = ROUND_TRIP_BOUNDS) -> None:
        if not bounds or any(b >= a for a, b in zip(bounds[1:], bounds[:-1], strict=True)):
            raise ValueError(f"bounds must be increasing and not empty, got {bounds!r}")
        self.bounds = tuple(bounds)
        self._counts = [0] * (len(bounds) + 1)
        self.count = 0
        self.sum = 0.0
        self.min = math.inf  # inf / -inf until the first observation (None in the snapshot)
        self.max = -math.inf

    def observe(self, value: float) -> None:
        """Add one observation (seconds; a negative one, from a clock stepped back, counts as 0)."""
        if value < 0.0:
            value = 0.0
        self._counts[bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    def snapshot(self) -> HistogramSnapshot:
        """The histogram now (frozen; nothing is reset)."""
        seen = self.count > 0
        return HistogramSnapshot(
            self.bounds,
            tuple(self._counts),
            self.count,
            self.sum,
            self.min if seen else None,
            self.max if seen else None,
        )


@attrs.frozen
class MetricsSnapshot:
    """One session's counters and round-trip histograms at one moment (frozen, never reset).

    Attributes:
        product: ``"prediction"`` or ``"margin"``.
        session_type: e.g. ``"KalshiNR"``.
        key_id: the API key (SenderCompID).
        messages_in: messages received in events, by MsgType (see the module docstring).
        messages_out: frames written, by MsgType (session messages included).
        bytes_in: bytes read.
        bytes_out: bytes written.
        events: every event other than an application message, by class name.
        session_rejects: Reject(35=3) received.
        business_rejects: BusinessMessageReject(35=j) received (rate-limit refusals included).
        rate_limited: of those, rate-limit refusals (380=8).
        cancel_rejects: OrderCancelReject(35=9) received.
        order_rejects: ExecutionReports with ExecType(150)=8 (Rejected).
        gaps: inbound sequence gaps (`GapDetected`).
        resend_requests_sent: ResendRequests we sent (`ResendRequestSent`).
        resend_requests_received: ResendRequests the peer sent (`ResendRequestReceived`).
        reconnects: reconnects that logged on again (`Reconnected`).
        disconnects: connections lost (`Disconnected`).
        queued: events waiting unread now.
        queue_high_water: the most that ever waited.
        round_trips: per MsgType of request (``"D"``, ``"G"``, ``"F"``): order sent -> its
            first answer, in seconds.
        awaiting: orders sent whose first answer has not come yet.
        unanswered: orders forgotten unanswered (past `MAX_AWAITED_ORDERS`).
        trading_state: what the session's order gate lets through: ``"active"``,
            ``"reduce_only"`` or ``"halted"`` (`TRADING_STATES`).
        unknown_markets: markets where an order's outcome is unknown (only what shrinks a
            position goes there; ``-1``: every market).
        queue_ahead: the contracts ahead of the session's resting orders, all together, as
            Kalshi's queue positions last said (`kalshi_fix_sansio.client.desk_watch.DeskWatch`; 0 until
            read).
        margin: a margin account's figures as Kalshi last gave them, by gauge name
            (``margin_total_notional``, ``margin_min_liquidation_distance``...; empty: none
            read).
    """

    product: str
    session_type: str
    key_id: str
    messages_in: Mapping[str, int]
    messages_out: Mapping[str, int]
    bytes_in: int
    bytes_out: int
    events: Mapping[str, int]
    session_rejects: int
    business_rejects: int
    rate_limited: int
    cancel_rejects: int
    order_rejects: int
    gaps: int
    resend_requests_sent: int
    resend_requests_received: int
    reconnects: int
    disconnects: int
    queued: int
    queue_high_water: int
    round_trips: Mapping[str, HistogramSnapshot]
    awaiting: int
    unanswered: int
    trading_state: str = "active"
    unknown_markets: int = 0
    queue_ahead: float = 0.0
    margin: Mapping[str, float] = attrs.field(factory=dict)

    @property
    def rejects(self) -> int:
        """35=3, 35=j, 35=9 and ExecType=8 reports together."""
        return (
            self.session_rejects + self.business_rejects + self.cancel_rejects + self.order_rejects
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain values (JSON-ready; histograms as `HistogramSnapshot.as_dict`)."""
        out: dict[str, Any] = {}
        for field in attrs.fields(MetricsSnapshot):
            value = getattr(self, field.name)
            if field.name == "round_trips":
                value = {k: h.as_dict() for k, h in value.items()}
            elif isinstance(value, Mapping):
                value = dict(value)
            out[field.name] = value
        out["rejects"] = self.rejects
        return out

    def summary(self) -> str:
        """One line for a terminal: totals, rejects, recovery, queue and round trips (ms)."""

        def types(counts: Mapping[str, int]) -> str:
            return " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "-"

        parts = [
            f"{self.product}/{self.session_type}",
            f"in {sum(self.messages_in.values())} ({types(self.messages_in)}) {self.bytes_in} B",
            f"out {sum(self.messages_out.values())} ({types(self.messages_out)}) {self.bytes_out} B",
            f"rejects {self.rejects} (3={self.session_rejects} j={self.business_rejects} "
            f"9={self.cancel_rejects} 150=8={self.order_rejects})",
            f"gaps {self.gaps} resends {self.resend_requests_sent}/{self.resend_requests_received}"
            f" reconnects {self.reconnects}",
            f"queue {self.queued} (max {self.queue_high_water})",
        ]
        for msg_type, h in self.round_trips.items():
            if h.count:
                parts.append(
                    f"rt {msg_type} n={h.count} p50={_ms(h.p50)} p99={_ms(h.p99)} max={_ms(h.max)}"
                )
        return " | ".join(parts)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f}ms"


class SessionMetrics:
    """One session's counters and round-trip histograms, kept current by its `Driver`.

    Read them with `snapshot` (one call, nothing reset). The ``on_*`` methods are the driver's
    hooks; an application embedding a `Session` without a driver may call them itself.

    Args:
        product: for the snapshot's labels.
        session_type: for the snapshot's labels.
        key_id: for the snapshot's labels.
        bounds: the round-trip buckets' upper bounds (seconds).
        max_awaited: see `MAX_AWAITED_ORDERS`.
    """

    __slots__ = (
        "_awaited",
        "_depth",
        "_max_awaited",
        "_out",
        "bytes_in",
        "bytes_out",
        "events",
        "key_id",
        "margin",
        "messages_in",
        "order_rejects",
        "product",
        "queue_ahead",
        "queue_high_water",
        "round_trips",
        "session_type",
        "trading_state",
        "unanswered",
        "unknown_markets",
    )

    def __init__(
        self,
        product: str = "",
        session_type: str = "",
        key_id: str = "",
        *,
        bounds: tuple[float, ...] = ROUND_TRIP_BOUNDS,
        max_awaited: int = MAX_AWAITED_ORDERS,
    ) -> None:
        self.product, self.session_type, self.key_id = product, session_type, key_id
        self.messages_in: dict[str, int] = {}
        self._out: dict[bytes, int] = {}  # MsgType as written -> frames
        self.events: dict[str, int] = {}
        self.bytes_in = 0
        self.bytes_out = 0
        self.order_rejects = 0
        self.queue_high_water = 0
        self.unanswered = 0
        self.trading_state = "active"
        """What the order gate lets through (its driver sets it: `TRADING_STATES`)."""
        self.unknown_markets = 0
        self.queue_ahead = 0.0  # contracts ahead of the resting orders (queue positions read)
        """Markets blocked by an unknown order outcome (-1: every market)."""
        self.margin: dict[str, float] = {}
        """The margin account's figures as Kalshi last gave them (its order gate sets them:
        `kalshi_fix_sansio.trading.marginrisk.MarginFigures.metrics`)."""
        self.round_trips: dict[str, Histogram] = {t: Histogram(bounds) for t in ORDER_MSG_TYPES}
        self._awaited: dict[str, tuple[str, float]] = {}  # ClOrdID -> (MsgType, sent at)
        self._max_awaited = max_awaited
        self._depth: Callable[[], int] | None = None

    def attach(self, depth: Callable[[], int]) -> None:
        """Read the queue depth from ``depth`` (the driver of the current open)."""
        self._depth = depth

    # -- the driver's hooks ------------------------------------------------------------------

    def on_sent_bytes(self, data: bytes) -> None:
        """Frames written: counted by MsgType, and their bytes."""
        self.bytes_out += len(data)
        counts = self._out
        for msg_type in _OUT_MSG_TYPE.findall(data):
            counts[msg_type] = counts.get(msg_type, 0) + 1

    def on_order_sent(self, msg_type: str, cl_ord_id: str, now: float) -> None:
        """An order message (35=D / G / F) went out at ``now``: its round trip starts."""
        awaited = self._awaited
        awaited[cl_ord_id] = (msg_type, now)
        if len(awaited) > self._max_awaited:
            del awaited[next(iter(awaited))]
            self.unanswered += 1

    def on_answer(self, message: Any, msg_type: str, now: float) -> None:
        """An ExecutionReport (35=8) or OrderCancelReject (35=9) read at ``now``."""
        if msg_type == "8" and message.exec_type == "8":  # ExecType is a str enum: 150=8
            self.order_rejects += 1
        if self._awaited:  # `_answered`, inline: once per answer
            sent = self._awaited.pop(message.cl_ord_id, None)
            if sent is not None:
                self.round_trips[sent[0]].observe(now - sent[1])

    def on_event(self, event: Any, now: float) -> None:
        """Any event other than an application message (counted by class name)."""
        name = type(event).__name__
        events = self.events
        events[name] = events.get(name, 0) + 1
        message = getattr(event, "message", None)
        if message is None:
            message = getattr(event, "logon", None)
        if message is not None:
            msg_type = message.MSG_TYPE
            counts = self.messages_in
            counts[msg_type] = counts.get(msg_type, 0) + 1
        ref = getattr(event, "business_reject_ref_id", None)
        if ref is not None and self._awaited:
            self._answered(str(ref), now)

    def on_queued(self, depth: int) -> None:
        """The event queue holds ``depth`` events."""
        if depth > self.queue_high_water:
            self.queue_high_water = depth

    def _answered(self, cl_ord_id: Any, now: float) -> None:  # str, or None: no ClOrdID
        sent = self._awaited.pop(cl_ord_id, None)
        if sent is not None:
            self.round_trips[sent[0]].observe(now - sent[1])

    # -- reading -----------------------------------------------------------------------------

    def snapshot(self) -> MetricsSnapshot:
        """Every counter and histogram now, in one frozen object (nothing is reset)."""
        events = dict(self.events)
        got = events.get
        return MetricsSnapshot(
            product=self.product,
            session_type=self.session_type,
            key_id=self.key_id,
            messages_in=dict(self.messages_in),
            messages_out={k.decode("ascii", "replace"): n for k, n in list(self._out.items())},
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            events=events,
            session_rejects=got("RejectReceived", 0),
            business_rejects=got("BusinessRejectReceived", 0) + got("RateLimited", 0),
            rate_limited=got("RateLimited", 0),
            cancel_rejects=self.messages_in.get("9", 0),
            order_rejects=self.order_rejects,
            gaps=got("GapDetected", 0),
            resend_requests_sent=got("ResendRequestSent", 0),
            resend_requests_received=got("ResendRequestReceived", 0),
            reconnects=got("Reconnected", 0),
            disconnects=got("Disconnected", 0),
            queued=self._depth() if self._depth is not None else 0,
            queue_high_water=self.queue_high_water,
            round_trips={t: h.snapshot() for t, h in self.round_trips.items()},
            awaiting=len(self._awaited),
            unanswered=self.unanswered,
            trading_state=self.trading_state,
            unknown_markets=self.unknown_markets,
            queue_ahead=self.queue_ahead,
            margin=dict(self.margin),
        )

    def __repr__(self) -> str:
        return f"<SessionMetrics {self.snapshot().summary()}>"

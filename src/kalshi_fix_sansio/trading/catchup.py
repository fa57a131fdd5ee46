"""Drop-copy catch-up: recover the ExecutionReports a session without retransmission missed.

KalshiNR has no retransmission: every ExecutionReport Kalshi sent while the connection was down
is gone from that session. Kalshi's documented remedy (the drop-copy page) is to remember the
last ExecID processed, request the events since then with EventResendRequest (35=U1,
BeginExecID / EndExecID), process the resent ExecutionReports (de-duplicated by ExecID: events
can arrive twice) until EventResendComplete (35=U2), or learn from EventResendReject (35=U3) why
not. This module is that remedy as a sans-IO object, driven by `kalshi_fix_sansio.client.driver.Driver`
(and so by every adapter):

* `ExecCursor` remembers the newest ExecID seen per exchange index (Kalshi's ExecIDs are
  ``clock;event`` on exchange index 0 and ``clock;event;exchange_index`` elsewhere, and a
  resend range must stay on one exchange index). It can be saved and loaded as JSON, and is
  rebuilt from a message log by `kalshi_fix_sansio.client.restore`.
* `CatchUp` decides, after each Logon, which EventResendRequests to send (one per exchange
  index in the cursor), counts the replayed reports that were new to the order tracker, and
  ends each round with one event: `CatchUpComplete` (the order state is whole again: how many
  reports were recovered, from which ExecIDs) or `CatchUpFailed` (why it could not be made
  whole: Kalshi's EventResendReject reason, no cursor, the connection lost mid-replay).

Which sessions catch up is decided from the spec (`catches_up`): an order-entry session (it
sends NewOrderSingle and receives ExecutionReports) without retransmission that may send
EventResendRequest itself: KalshiNR of both products, listener sessions included. KalshiRT
recovers by ResendRequest from its store instead; KalshiDC is the replay session itself.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from ..codec.errors import LocalProtocolError
from ..session.config import SessionConfig
from ..session.events import (
    ApplicationMessage,
    BusinessRejectReceived,
    Event,
    RateLimited,
    RejectReceived,
)

__all__ = [
    "EVENT_RESEND_REJECT_REASONS",
    "NOT_RECEIVED_AFTER_REPLAY",
    "UNKNOWN_AFTER_FAILED_CATCH_UP",
    "UNKNOWN_AFTER_REPLAY",
    "UNKNOWN_AFTER_RESTART",
    "UNKNOWN_RESTORED",
    "CatchUp",
    "CatchUpComplete",
    "CatchUpFailed",
    "CatchUpStarted",
    "ExecCursor",
    "OrdersNotReceived",
    "OrdersUnknown",
    "catches_up",
    "parse_exec_id",
]

_MAX_PART_DIGITS: Final = 20
"""An ExecID part longer than this is not Kalshi's (clock and event fit in 64 bits)."""

PENDING_EXEC_ID: Final = "-1;-1"
"""The ExecID of Kalshi's pending reports (never replayed, never a cursor)."""

EVENT_RESEND_REJECT_REASONS: Final[Mapping[int, str]] = {
    1: "too many resend requests (rate limited): try again later",
    2: "server error at Kalshi",
    3: "BeginExecID is too small: it is outside the 3-hour lookback (or unknown to Kalshi)",
    4: "EndExecID is too large",
    5: "the account is not allowlisted for historical replay (ask institutional@kalshi.com)",
}
"""EventResendRejectReason(21004) codes and what they mean (drop-copy page)."""

_TRANSIENT: Final = frozenset({1, 2})

MAX_REPLAYED_KEPT: Final = 100_000
"""ExecIDs recovered by catch-up remembered for `CatchUp.replayed` (the oldest leave first)."""
"""Reasons worth asking again at the next Logon (rate limited, server error)."""


def parse_exec_id(text: str) -> tuple[int, int, int] | None:
    """``(clock, event, exchange_index)`` of a Kalshi ExecID, or None when it is not one.

    ``clock;event`` is exchange index 0; ``clock;event;exchange_index`` names the index.
    Every part must be ASCII digits, at most 20 of them (bounded before use); the pending
    ExecID ``-1;-1`` is not one.

    Args:
        text: ExecID(17) as received.

    Returns:
        The three integers, or None.
    """
    parts = text.split(";")
    if len(parts) == 2:  # exchange index 0, the common form: its two parts tested inline
        clock, event = parts
        if (
            clock.isdigit()
            and event.isdigit()
            and clock.isascii()
            and event.isascii()
            and len(clock) <= _MAX_PART_DIGITS
            and len(event) <= _MAX_PART_DIGITS
        ):  # isdigit(): not empty
            return int(clock), int(event), 0
        return None
    if len(parts) != 3:
        return None
    for part in parts:
        if not (0 < len(part) <= _MAX_PART_DIGITS and part.isascii() and part.isdigit()):
            return None
    index = int(parts[2]) if len(parts) == 3 else 0
    return int(parts[0]), int(parts[1]), index


class ExecCursor:
    """The newest ExecID seen per exchange index: where a catch-up resumes.

    Args:
        last: exchange index -> ExecID to start from (e.g. `load` or a restored log).

    Raises:
        LocalProtocolError: an entry is not a Kalshi ExecID of that exchange index.
    """

    def __init__(self, last: Mapping[int, str] | None = None) -> None:
        self.restored = False
        """Made by `restore <kalshi_fix_sansio.client.restore.restore>` from a message log: a
        process ran before this one, so reports may have been missed even when it is empty."""
        self._last: dict[int, tuple[int, int, str]] = {}
        for index, exec_id in (last or {}).items():
            parsed = parse_exec_id(exec_id)
            if parsed is None or parsed[2] != index:
                raise LocalProtocolError(
                    f"ExecCursor: {exec_id!r} is not an ExecID of exchange index {index}"
                )
            self._last[index] = (parsed[0], parsed[1], exec_id)

    def observe(self, exec_id: str) -> bool:
        """Note an ExecID processed; True when it is newer than the cursor's for its index.

        Pending reports (``-1;-1``) and text that is not an ExecID are ignored.
        """
        parts = exec_id.split(";")
        if len(parts) == 2:  # exchange index 0, the common form: `parse_exec_id`'s test inline
            clock_text, event_text = parts
            if not (
                clock_text.isdigit()
                and event_text.isdigit()
                and clock_text.isascii()
                and event_text.isascii()
                and len(clock_text) <= _MAX_PART_DIGITS
                and len(event_text) <= _MAX_PART_DIGITS
            ):  # isdigit(): not empty
                return False
            clock, event, index = int(clock_text), int(event_text), 0
        else:
            parsed = parse_exec_id(exec_id)
            if parsed is None:
                return False
            clock, event, index = parsed
        known = self._last.get(index)
        if known is not None and (clock < known[0] or (clock == known[0] and event <= known[1])):
            return False
        self._last[index] = (clock, event, exec_id)
        return True

    @property
    def last(self) -> dict[int, str]:
        """Exchange index -> the newest ExecID seen there (a copy)."""
        return {index: entry[2] for index, entry in sorted(self._last.items())}

    def __bool__(self) -> bool:
        return bool(self._last)

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return iter(self.last.items())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExecCursor) and self.last == other.last

    def __repr__(self) -> str:
        return f"ExecCursor({self.last!r})"

    def dumps(self) -> str:
        """The cursor as JSON (``{"exchange_index": "ExecID", ...}``)."""
        return json.dumps({str(index): exec_id for index, exec_id in self.last.items()})

    @classmethod
    def loads(cls, text: str) -> ExecCursor:
        """A cursor from `dumps`'s JSON.

        Raises:
            LocalProtocolError: not such JSON (the message says what is wrong).
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise LocalProtocolError(f"ExecCursor: not JSON: {exc}") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str)
            and 0 < len(k) <= _MAX_PART_DIGITS
            and k.isascii()
            and k.isdigit()
            and isinstance(v, str)
            for k, v in data.items()
        ):
            raise LocalProtocolError(
                f'ExecCursor: expected {{"<exchange index>": "<ExecID>", ...}}, got {text[:80]!r}'
            )
        return cls({int(k): v for k, v in data.items()})

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `dumps` to ``path`` atomically (a temporary file renamed over it), owner-only."""
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        # a stale temporary (an interrupted save) would keep its own mode: start afresh
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(self.dumps())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ExecCursor:
        """Read a cursor `save` wrote; a missing file gives an empty cursor.

        Raises:
            LocalProtocolError: the file does not hold a cursor (named in the message).
        """
        try:
            text = Path(path).read_text(encoding="ascii")
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError) as exc:
            raise LocalProtocolError(f"ExecCursor: cannot read {os.fspath(path)}: {exc}") from None
        try:
            return cls.loads(text)
        except LocalProtocolError as exc:
            raise LocalProtocolError(f"{os.fspath(path)}: {exc}") from None

    def observe_all(self, exec_ids: Iterable[str]) -> None:
        """`observe` each of ``exec_ids``."""
        for exec_id in exec_ids:
            self.observe(exec_id)


def catches_up(config: SessionConfig) -> bool:
    """Whether a session of this config recovers missed ExecutionReports by drop-copy catch-up.

    True for an initiator's order-entry session (it sends NewOrderSingle and receives
    ExecutionReports) without retransmission that may send EventResendRequest (35=U1)
    itself, per the spec: KalshiNR of both products, listener sessions included.
    """
    spec = config.spec
    refused = spec.listener_refused if config.listener_session else ()
    return (
        not spec.retransmission
        and "D" in spec.send
        and "8" in spec.receive
        and "U1" in spec.send
        and "U1" not in refused
    )


# --------------------------------------------------------------------------------------------
# Events


@attrs.frozen(slots=True)
class CatchUpStarted(Event):
    """EventResendRequests went out after a Logon: the order state may be behind until the
    `CatchUpComplete` or `CatchUpFailed` that follows.

    Attributes:
        begin_exec_ids: exchange index -> BeginExecID requested (the cursor).
        reason: why (a reconnect, a start from a restored cursor).
    """

    begin_exec_ids: Mapping[int, str]
    reason: str


@attrs.frozen(slots=True)
class CatchUpComplete(Event):
    """Every EventResendRequest of the round was answered with EventResendComplete: the order
    tracker holds every ExecutionReport Kalshi sent since the cursor.

    Attributes:
        recovered: ExecutionReports new to the tracker while the round ran: the replayed ones
            it had missed (and any live report that arrived meanwhile, which it also had not
            seen).
        replayed: reports Kalshi resent in all (ResendEventCount summed).
        begin_exec_ids: exchange index -> the BeginExecID of its request.
        reason: why the round ran.
    """

    recovered: int
    replayed: int
    begin_exec_ids: Mapping[int, str]
    reason: str


@attrs.frozen(slots=True)
class CatchUpFailed(Event):
    """The order state could not be made whole: reports may be missing from the tracker.

    Reconcile another way (Kalshi's REST order and fill lists), or fix the cause and reconnect.

    Attributes:
        reason: what happened, in words.
        code: EventResendRejectReason(21004) when Kalshi refused the request, else None.
        exchange_index: the exchange index whose replay failed (None: all of them).
        begin_exec_id: the BeginExecID of the failed request, if one was sent.
        recovered: reports recovered before it failed (other exchange indexes included).
        retried: the next Logon asks again from the same place (a rate limit, Kalshi's server
            error, a connection lost or a round timed out mid-replay); False: replay cannot
            recover these reports (`kalshi_fix_sansio.rest.reconcile` reads Kalshi's REST API then).
    """

    reason: str
    code: int | None = None
    exchange_index: int | None = None
    begin_exec_id: str | None = None
    recovered: int = 0
    retried: bool = False


@attrs.frozen(slots=True)
class OrdersUnknown(Event):
    """Orders whose state at the exchange this session cannot prove: they may have filled or
    been cancelled (or never arrived) without a report the tracker has seen.

    Raised by a `kalshi_fix_sansio.client.driver.Driver` when a session starts with open orders
    (restored from a message log) but nothing to replay from, and after a drop-copy replay that
    holds no report for an order sent before the connection was lost. What recovers them: a
    KalshiRT session's resend (its message store), an EventResendRequest on the drop-copy
    session (KalshiDC) from an earlier ExecID, or Kalshi's portfolio pages; a cancel of each by
    its ClOrdID, which the driver sends by itself without REST (``settle_unknown``;
    `kalshi_fix_sansio.trading.outcomes`): its answer settles the order, except for one that
    ended without its fills said (`kalshi_fix_sansio.trading.outcomes.FillsUnknown`).

    Attributes:
        cl_ord_ids: the orders, by ClOrdID (their tracked status is unchanged).
        reason: why their state cannot be proven, in words.
    """

    cl_ord_ids: tuple[str, ...]
    reason: str


UNKNOWN_AFTER_RESTART: Final = (
    "the session started with these orders open (restored) and no ExecID to replay from: "
    "reports Kalshi sent while this process was down cannot be requested on this session"
)
"""`OrdersUnknown.reason` at a first Logon with open orders and nothing to replay from."""

UNKNOWN_RESTORED: Final = (
    "restored from the message log unanswered, and the drop-copy replay holds no report for "
    "them: it ran from the newest ExecID the process before had seen, which may be past "
    "their reports; they stay PENDING_NEW until a report says otherwise"
)
"""`OrdersUnknown.reason` after a replay at a restored session's first Logon, for the orders
restored unanswered (the replay cannot prove the exchange never received them)."""

UNKNOWN_AFTER_REPLAY: Final = (
    "sent before the connection was lost, auto-routed, and the drop-copy replay holds no "
    "report for them: the exchange may never have received them, or routed them to an "
    "exchange index the replay did not cover; they stay PENDING_NEW until a report says "
    "otherwise"
)
"""`OrdersUnknown.reason` after a complete replay without a report for an order in flight
whose exchange index is not known (a prediction order without ExDestination)."""
UNKNOWN_AFTER_FAILED_CATCH_UP: Final = (
    "sent before the connection was lost, and the catch-up that would say whether the exchange "
    "received them failed: they stay PENDING_NEW until a report says otherwise"
)
"""`OrdersUnknown.reason` after a failed catch-up, for the orders in flight at the drop."""


@attrs.frozen(slots=True)
class OrdersNotReceived(Event):
    """Orders the exchange never received: sent before the connection was lost, routed to an
    exchange index the drop-copy replay covered, and without a report in that replay.

    Reports are sequenced within an exchange index and the replay runs from the newest ExecID
    seen on it, so a report of one of these orders would have been in it. The order tracker
    ends each as REJECTED (`kalshi_fix_sansio.trading.tracker.Rejection` source ``"not_received"``,
    its text `NOT_RECEIVED_AFTER_REPLAY`): a `place()` waiting for it is answered, and its
    ClOrdID may be sent again. Should a report of one arrive after all, it is still applied
    (its fills count; the order stays REJECTED, as any final order does).

    The exchange index is known for every margin order (index 0) and for a prediction order
    that named ExDestination(100); an auto-routed order is named in `OrdersUnknown` instead.

    Attributes:
        cl_ord_ids: the orders, by ClOrdID.
        begin_exec_ids: exchange index -> the BeginExecID the replay ran from.
    """

    cl_ord_ids: tuple[str, ...]
    begin_exec_ids: Mapping[int, str]


NOT_RECEIVED_AFTER_REPLAY: Final = (
    "not received by the exchange: the drop-copy replay of its exchange index holds no report "
    "of it (sent before the connection was lost)"
)
"""The text of the `Rejection` that ends an order named in `OrdersNotReceived`."""


# --------------------------------------------------------------------------------------------
# The state machine


class CatchUp:
    """Drop-copy catch-up for one session across its connections (sans-IO; see the module).

    The driver calls `observe` with every event the session produces, in order, and asks
    `after_logon` which EventResendRequests to send once a Logon completes.

    Args:
        cursor: where to resume (a restored cursor makes the first Logon catch up too).
        enabled: False observes the cursor but never requests a replay.
        timeout: seconds a round may wait for Kalshi's answers (35=U2 / 35=U3) before it
            fails (`deadline`, `timed_out`); the next Logon asks again from the same place.
    """

    def __init__(
        self, cursor: ExecCursor | None = None, *, enabled: bool = True, timeout: float = 60.0
    ) -> None:
        if not timeout > 0:
            raise LocalProtocolError(f"CatchUp timeout must be > 0 seconds, got {timeout!r}")
        self.cursor = cursor if cursor is not None else ExecCursor()
        """The newest ExecID seen per exchange index."""
        self.enabled = enabled
        self.timeout = timeout
        self.deadline: float | None = None
        """When the round under way fails for want of an answer (None: no round)."""
        self._restored = bool(self.cursor)
        self._from_log = self.cursor.restored
        # RefSeqNum (MsgSeqNum of our U1) -> (exchange index, BeginExecID)
        self._pending: dict[int, tuple[int, str]] = {}
        self._begin: dict[int, str] = {}
        self._reason = ""
        self._recovered = 0
        self._replayed = 0
        self._failure: CatchUpFailed | None = None
        # BeginExecIDs of a round that did not finish (lost connection, a transient refusal):
        # the next round starts there again, whatever newer reports moved the cursor meanwhile
        self._carry: dict[int, str] = {}
        self.rounds = 0
        """How many catch-up rounds were started."""
        self._recovered_ids: dict[str, None] = {}  # recovered by rounds, oldest first (bounded)

    @property
    def active(self) -> bool:
        """A round is waiting for Kalshi's answers."""
        return bool(self._pending)

    def plan(
        self, *, reconnect: bool, orders: bool = True
    ) -> tuple[list[tuple[int, str]], Event | None]:
        """What to request after a Logon: ``(exchange index, BeginExecID)`` pairs, and an event
        to report at once (`CatchUpFailed` when a catch-up is due but there is no cursor).

        Args:
            reconnect: the Logon follows a lost connection (else it is the first Logon).
            orders: the session knows of orders (sent or reported). A reconnect with no
                cursor is a `CatchUpFailed` whatever the session knows, and so is a first
                start from a message log (`ExecCursor.restored`) with no cursor and no
                order: the exchange may have sent reports of orders the session never sent
                while it was down (a market maker's quotes, executed on another session of
                the account, are reported here). A restored start with orders and no cursor
                is the driver's to name (`OrdersUnknown`).
        """
        if not self.enabled:
            return [], None
        restored, self._restored = self._restored, False
        from_log, self._from_log = self._from_log, False
        if not (reconnect or restored):
            if from_log and not self.cursor and not orders:
                return [], CatchUpFailed(
                    "started from a message log, but no ExecutionReport was seen yet: no "
                    "ExecID to resume from (reports sent while no process was connected, such "
                    "as a market maker's quotes executed, cannot be requested)"
                )
            return [], None
        reason = (
            "reconnected after a lost connection" if reconnect else "started from a saved cursor"
        )
        if not self.cursor:
            return [], CatchUpFailed(
                f"{reason}, but no ExecutionReport was seen yet: no ExecID to resume from "
                "(reports sent while disconnected cannot be requested)"
            )
        self._reason = reason
        begin = dict(self.cursor)
        begin.update(self._carry)
        return sorted(begin.items()), None

    def started(
        self, requests: Mapping[int, tuple[int, str]], now: float = 0.0, reason: str | None = None
    ) -> Event:
        """The EventResendRequests were sent at ``now``: RefSeqNum -> (exchange index,
        BeginExecID); ``reason`` names a round asked for outside a Logon (e.g. to confirm the
        kill switch)."""
        if reason is not None:
            self._reason = reason
        self.rounds += 1
        self.deadline = now + self.timeout
        self._pending = dict(requests)
        self._begin = {index: begin for index, begin in requests.values()}
        self._recovered = self._replayed = 0
        self._failure = None
        return CatchUpStarted(dict(self._begin), self._reason)

    def report(self, exec_id: object, new: bool | None) -> None:
        """An ExecutionReport read in order (what `observe` does with one, never a result): the
        cursor follows its ExecID; during a round, one ``new`` to the tracker is recovered."""
        if isinstance(exec_id, str):
            self.cursor.observe(exec_id)
        if new and self._pending:
            self._recovered += 1
            if isinstance(exec_id, str):
                ids = self._recovered_ids
                ids[exec_id] = None
                if len(ids) > MAX_REPLAYED_KEPT:
                    del ids[next(iter(ids))]

    def replayed(self, exec_id: str) -> bool:
        """Whether a catch-up round recovered the report of this ExecID (the last
        `MAX_REPLAYED_KEPT` are remembered): `kalshi_fix_sansio.rest.reconcile` names the source."""
        return exec_id in self._recovered_ids

    def observe(self, event: Event, new: bool | None = None) -> Event | None:
        """Follow one session event; returns the round's result event when it ends.

        Args:
            event: the event, in order.
            new: for an ExecutionReport, whether the tracker had not seen its ExecID yet.
        """
        if isinstance(event, (RejectReceived, BusinessRejectReceived)):
            return self._refused(event)
        if not isinstance(event, ApplicationMessage):
            return None
        message = event.message
        msg_type = message.MSG_TYPE
        if msg_type == "8":
            self.report(getattr(message, "exec_id", None), new)
            return None
        if msg_type not in ("U2", "U3") or not self._pending:
            return None
        ref = getattr(message, "ref_seq_num", None)
        request = self._pending.pop(ref, None) if isinstance(ref, int) else None
        if request is None:
            return None  # not an answer to this round's requests
        index, begin = request
        if msg_type == "U2":
            self._carry.pop(index, None)
            count = getattr(message, "resend_event_count", None)
            self._replayed += count if isinstance(count, int) and count >= 0 else 0
        elif self._failure is None:
            raw = getattr(message, "event_resend_reject_reason", None)
            code = int(getattr(raw, "value", raw)) if raw is not None else None
            why = EVENT_RESEND_REJECT_REASONS.get(code or 0, "a reason this library does not know")
            if code in _TRANSIENT:
                self._carry[index] = begin  # the next Logon asks again from the same place
            else:
                self._carry.pop(index, None)
            self._failure = CatchUpFailed(
                f"Kalshi refused the replay from {begin} (exchange index {index}): "
                f"EventResendReject {code}: {why}",
                code=code,
                exchange_index=index,
                begin_exec_id=begin,
                retried=code in _TRANSIENT,
            )
        if self._pending:
            return None
        return self._finish()

    def connection_lost(self) -> Event | None:
        """The connection dropped: a round under way fails (the next Logon starts another)."""
        return self._abandon("the connection was lost before Kalshi finished the replay")

    def timed_out(self, now: float) -> Event | None:
        """A round under way that has waited past `deadline` fails (asked again at the next
        Logon); None when nothing is overdue."""
        if self.deadline is None or now < self.deadline:
            return None
        return self._abandon(f"Kalshi did not finish the replay within {self.timeout:g} s")

    def _abandon(self, why: str) -> Event | None:
        self.deadline = None
        if not self._pending:
            return None
        waiting = sorted(index for index, _ in self._pending.values())
        self._carry.update(self._pending.values())
        self._pending.clear()
        return CatchUpFailed(
            f"{why} (exchange index {', '.join(map(str, waiting))}); the next Logon requests "
            "it again",
            recovered=self._recovered,
            retried=True,
        )

    def _refused(self, event: RejectReceived | BusinessRejectReceived) -> Event | None:
        """A Reject (35=3) or BusinessMessageReject (35=j) of one of this round's requests."""
        ref = event.ref_seq_num
        request = self._pending.pop(ref, None) if isinstance(ref, int) else None
        if request is None:
            return None
        index, begin = request
        if isinstance(event, RateLimited):
            self._carry[index] = begin  # the next Logon asks again from the same place
        else:
            self._carry.pop(index, None)
        if self._failure is None:
            kind = "BusinessMessageReject (35=j)"
            if isinstance(event, RejectReceived):
                kind = "session Reject (35=3)"
            self._failure = CatchUpFailed(
                f"Kalshi refused the replay request from {begin} (exchange index {index}) with a "
                f"{kind}, reason {event.reason}: {event.text or 'no text'} (a subaccount-"
                "restricted API key cannot use drop copy; a rate limit is asked again at the "
                "next Logon)",
                exchange_index=index,
                begin_exec_id=begin,
                retried=isinstance(event, RateLimited),
            )
        return None if self._pending else self._finish()

    def _finish(self) -> Event:
        self.deadline = None
        if self._failure is not None:
            return attrs.evolve(self._failure, recovered=self._recovered)
        return CatchUpComplete(self._recovered, self._replayed, dict(self._begin), self._reason)


def describe(event: Any) -> str:
    """One line for a catch-up event (the adapters log it)."""
    if isinstance(event, CatchUpComplete):
        return (
            f"caught up: {event.recovered} missed report(s) recovered "
            f"({event.replayed} replayed from {', '.join(event.begin_exec_ids.values())})"
        )
    if isinstance(event, CatchUpFailed):
        return f"catch-up failed: {event.reason}"
    if isinstance(event, CatchUpStarted):
        return f"catching up from {', '.join(event.begin_exec_ids.values())} ({event.reason})"
    return repr(event)

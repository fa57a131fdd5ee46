"""The sans-IO connection supervisor: one Kalshi FIX session kept alive across connections.

A `Session` lives for one connection. A `Supervisor` owns the policy around it, in the same
style (no I/O, no clock: time is an argument):

* when to connect: at once on `start`, then after each failed attempt or lost connection a
  full-jitter delay from its `Backoff`, giving up with `ConnectionFailed` when the backoff
  runs out; with an `Account <kalshi_fix_sansio.client.account.Account>`, no sooner than the
  account's Logon budget and its sessions' order allow (``connect_at`` is looked at again
  when it comes: `handle_timer`);
* whether the next Logon resets sequence numbers (`reconnect_plan`: per session type, after a
  sequence-gap teardown, around Kalshi's Thursday maintenance window);
* when a refused Logon is final: a Logout answering our Logon (unknown API key, bad signature,
  ``already exists`` ...) fails at once with `LogonRefused` and Kalshi's text, unless the text
  asks to retry later (`logon_refusal_is_final`). One exception: ``already exists`` while
  *re*connecting is retried, since Kalshi may not have seen our previous connection close;
* re-subscription (messages sent with ``resubscribe=True`` go out again after each
  reconnect) and logout on `close`.

Inputs: `start`, `connection_made`, `connection_failed`, `receive_data` (``b""``: EOF),
`connection_lost`, `handle_timer`, `send`, `close`, each with ``now`` (UTC epoch seconds).
Its state (`SupervisorState`) moves only through a table, (state, input) -> (next state,
action), beside the session's; the docs draw it ("Supervisor states").

Outputs, polled after every input: `data_to_send` (bytes to write), `next_event` (the
session's events plus `Disconnected`, `Reconnecting` and `Reconnected`), `connect_at` (open a
connection at this time), `wants_transport` (False: close the connection once the bytes are
written), `next_deadline` (call `handle_timer` then) and `failure` (the error to raise once
the events before it were delivered). An adapter loop::

    sup.start(now())
    while not sup.finished:
        if transport is None and sup.connect_at is not None:
            sleep_until(sup.connect_at)
            try: transport = connect()
            except OSError as exc: sup.connection_failed(now(), exc); continue
            sup.connection_made(now())
        write(sup.data_to_send())
        if transport is not None and not sup.wants_transport: transport.close(); transport = None
        data = read_until(sup.next_deadline())       # None: the deadline passed
        sup.receive_data(data, now()) if data is not None else sup.handle_timer(now())
        deliver(sup.next_event() ...)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import attrs

from ..codec import Message
from ..codec.errors import FixError, LocalProtocolError, RemoteProtocolError, TransportError
from ..session import (
    SupervisorAction,
    SupervisorInput,
    SupervisorState,
    supervisor_transition,
)
from ..session.config import Role, SessionConfig
from ..session.events import (
    NEED_DATA,
    ApplicationMessage,
    CloseTransport,
    Event,
    LoggedOn,
    LogonRejected,
    ResubscriptionRefused,
)
from ..session.machine import Session
from ..session.store import StoreError
from .account import Account, logon_rank
from .reconnect import (
    Backoff,
    logon_refusal_is_final,
    reconnect_plan,
)

if TYPE_CHECKING:
    from ._logons import Ticket

__all__ = [
    "ConnectionFailed",
    "Disconnected",
    "LogonRefused",
    "Reconnected",
    "Reconnecting",
    "Supervisor",
    "SupervisorState",
    "WaitingOutMaintenance",
    "logon_refusal_is_final",
]


# --------------------------------------------------------------------------------------------
# Errors


class ConnectionFailed(TransportError):
    """Every connection attempt allowed by the `Backoff` failed.

    Attributes:
        attempts: how many connection attempts were made.
        last_error: the exception of the last attempt (``None`` if unknown).
    """

    def __init__(
        self, text: str, *, attempts: int, last_error: BaseException | None = None
    ) -> None:
        super().__init__(text)
        self.attempts = attempts
        self.last_error = last_error

    @classmethod
    def for_endpoint(
        cls, endpoint: object, *, attempts: int, last_error: BaseException | None = None
    ) -> ConnectionFailed:
        """Build the error with a message naming the endpoint and the last failure.

        Args:
            endpoint: where the adapter tried to connect (its ``str`` is used).
            attempts: how many connection attempts were made.
            last_error: the exception of the last attempt.

        Returns:
            The error, ready to raise (``raise ... from last_error`` keeps the chain).
        """
        what = "attempt" if attempts == 1 else "attempts"
        text = f"could not connect to {endpoint} after {attempts} {what}"
        if last_error is not None:
            detail = str(last_error) or type(last_error).__name__
            text += f"; last error: {type(last_error).__name__}: {detail}"
        return cls(text, attempts=attempts, last_error=last_error)


class LogonRefused(ConnectionFailed):
    """Kalshi answered our Logon with a Logout whose text does not ask to retry later.

    Raised at once, without further attempts: a wrong key id, a bad signature or a second
    connection of the same key (``already exists``) would only be refused again.

    Attributes:
        text: Kalshi's Text(58), verbatim.
    """

    def __init__(self, text: str, *, peer: object, attempts: int) -> None:
        super().__init__(
            f"Kalshi refused the Logon to {peer}: {text or 'no reason given'} (not retried: "
            "fix the cause, e.g. the API key id, the private key, or another connection of "
            "the same key)",
            attempts=attempts,
        )
        self.text = text


# --------------------------------------------------------------------------------------------
# Events of the supervisor


@attrs.frozen(slots=True)
class Disconnected(Event):
    """A logged-on connection was lost (the supervisor reconnects unless told not to).

    Attributes:
        reason: why, in words (the peer closed it, a heartbeat timeout, a write failure...).
    """

    reason: str


@attrs.frozen(slots=True)
class Reconnecting(Event):
    """The next connection attempt is scheduled.

    Attributes:
        attempt: the number of the coming attempt (1 is the first after a drop).
        delay: seconds until it (full jitter).
        reason: what ended the previous connection or attempt.
    """

    attempt: int
    delay: float
    reason: str


@attrs.frozen(slots=True)
class WaitingOutMaintenance(Event):
    """The backoff of a session that was logged on ran out inside a maintenance window of its
    `Backoff`'s ``maintenance`` (Kalshi's: Thursday 3:00-5:00 AM ET, `in_maintenance_window`),
    where Kalshi may disconnect sessions: instead of failing with
    `ConnectionFailed`, the supervisor keeps trying at the `Backoff`'s ``maintenance_retry``
    pace until the window ends, then with the whole backoff again. Once per window; each
    attempt is still announced by a `Reconnecting`.

    Attributes:
        ends_at: when the window ends (POSIX time, e.g. 5:00 AM ET); the first attempt after it
            comes at most ``min(maintenance_retry, cap)`` seconds later.
        retry_every: the longest delay between attempts in the window, in seconds (each delay
            is drawn between half of it and all of it).
        reason: what ended the previous connection or attempt.
    """

    ends_at: float
    retry_every: float
    reason: str


@attrs.frozen(slots=True)
class Reconnected(Event):
    """The supervisor reconnected and logged on again after a drop.

    Attributes:
        attempt: how many connection attempts it took.
        reset_seq_nums: the new Logon reset sequence numbers.
    """

    attempt: int
    reset_seq_nums: bool


# --------------------------------------------------------------------------------------------
# The supervisor


_S = SupervisorState
_I = SupervisorInput
_A = SupervisorAction
# an action's method: (supervisor, now, reason, error, reset) -> None
_Action = Callable[["Supervisor", float, str, "BaseException | None", bool], None]
_CONNECTED: Final = frozenset({_S.LOGGING_ON, _S.ACTIVE, _S.LOGGING_OUT})
_ENDED: Final = frozenset({_S.CLOSED, _S.FAILED})
# the states the per-call paths compare with, as module constants (an Enum class attribute
# lookup costs several times a global's)
_WAITING: Final = _S.WAITING
_LOGGING_ON: Final = _S.LOGGING_ON
_ACTIVE: Final = _S.ACTIVE


class Supervisor:
    """Keeps one initiator session logged on across connections (sans-IO; see the module).

    Args:
        config: the session config (initiator).
        backoff: delays between attempts; the supervisor takes and resets it, so give each
            supervisor its own (``attrs.evolve(policy)``; the adapters' clients do).
        reconnect: reconnect after a logged-on connection is lost (the first connection is
            retried per ``backoff`` either way).
        maintenance_reset: reset KalshiRT / KalshiPT sequence numbers after a disconnect in
            Kalshi's maintenance window (see `reconnect_plan`).
        peer: how errors name the other end (e.g. ``"tls://fix.elections.kalshi.com:8228"``).
        account: the `Account <kalshi_fix_sansio.client.account.Account>` of the session's key: each
            connection then waits for a Logon slot of the account (its Logon budget, in its
            sessions' order), so that ``connect_at`` may be later than the backoff says.

    Raises:
        LocalProtocolError: the config is an acceptor's.
        AccountKeyError: the config's key is not one of ``account``'s.
    """

    def __init__(
        self,
        config: SessionConfig,
        *,
        backoff: Backoff | None = None,
        reconnect: bool = True,
        maintenance_reset: bool = False,
        peer: object = "the gateway",
        account: Account | None = None,
    ) -> None:
        if config.role is not Role.INITIATOR:
            raise LocalProtocolError("a Supervisor runs initiator sessions: acceptors never dial")
        self._ticket: Ticket | None = None
        if account is not None:
            account.check_key(config.sender_comp_id, config.product)
            rank = logon_rank(config.session_type, config.listener_session is True)
            self._ticket = account.logons.join(
                rank, f"{config.session_type} {config.sender_comp_id}"
            )
        self.config = config
        self.backoff = backoff if backoff is not None else Backoff()
        self.reconnect = reconnect
        self.maintenance_reset = maintenance_reset
        self.peer = peer
        self.session: Session | None = None
        """The session of the current (or last) connection."""
        self.connections = 0
        """How many connections logged on so far."""
        self._state = _S.IDLE
        self._events: deque[Event] = deque()
        self.pending = self._events
        """The events not taken yet, oldest first: `next_event` takes the oldest (a driver
        that takes every one pops them here itself)."""
        self._out = bytearray()
        self._connect_at: float | None = None
        self._attempts = 0
        self._reset = False
        self._gap_teardown = False
        # Kalshi's maintenance window: the end of the one this outage reached into, and of the
        # one announced by WaitingOutMaintenance
        self._window_end: float | None = None
        self._announced_end: float | None = None
        self._lost_reason: str | None = None
        self._failure: FixError | None = None
        self._subscriptions: list[Message] = []
        # re-subscriptions still to send after a reconnect (the rate limiter had no tokens yet)
        self._resubscribe: list[Message] = []
        self._resubscribe_at: float | None = None

    # -- outputs ------------------------------------------------------------------------------

    @property
    def state(self) -> SupervisorState:
        """Where the supervisor is. It moves only through its transition table (drawn in the
        docs' "Supervisor states" page): an input the table does not take in this state raises
        `LocalProtocolError` naming both."""
        return self._state

    @property
    def failure(self) -> FixError | None:
        """Why it gave up (state FAILED): raise it once the events before it are delivered."""
        return self._failure

    @property
    def finished(self) -> bool:
        """Closed or failed: nothing more will happen."""
        return self._state in _ENDED

    @property
    def connect_at(self) -> float | None:
        """When to open the next connection (state WAITING), else None."""
        return self._connect_at if self._state is _WAITING else None

    @property
    def wants_transport(self) -> bool:
        """A connection is in use; False: close it once `data_to_send` is written."""
        return self._state in _CONNECTED

    @property
    def subscriptions(self) -> tuple[Message, ...]:
        """Messages sent with ``resubscribe=True``: sent again after each reconnect."""
        return tuple(self._subscriptions)

    def next_deadline(self) -> float | None:
        """When to call `handle_timer` (or, when WAITING, to connect), or None."""
        state = self._state
        if state is _WAITING:
            return self._connect_at
        if state in _CONNECTED and self.session is not None:
            deadline = self.session.next_deadline()
            if self._resubscribe_at is not None and state is _ACTIVE:
                if deadline is None or self._resubscribe_at < deadline:
                    return self._resubscribe_at
            return deadline
        return None

    def data_to_send(self) -> bytes:
        """Bytes to write to the current connection (and forget)."""
        out = self._out
        if self.session is not None:
            data = self.session.data_to_send()
            if not out:
                return data  # nothing of the supervisor's queued (the common case): as it is
            out += data
        data = bytes(out)
        out.clear()
        return data

    def next_event(self) -> Event | None:
        """The next event, or None when there is none for now."""
        return self._events.popleft() if self._events else None

    # -- inputs -------------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Begin: the first connection is due at once.

        Raises:
            LocalProtocolError: already started.
        """
        self._feed(_I.START, now)

    def connection_made(self, now: float) -> None:
        """A connection (TCP + TLS) is open: a new `Session` logs on over it.

        Raises:
            LocalProtocolError: no connection was due (state is not WAITING).
        """
        self._feed(_I.CONNECTED, now)

    def connection_failed(self, now: float, error: BaseException) -> None:
        """Opening a connection failed (refused, unreachable, TLS handshake, timeout).

        Retried per the `Backoff`, unless ``error`` says it is final (a true ``final``
        attribute, e.g. the adapters' ``CertificateRefused``): then the supervisor gives up at
        once with `ConnectionFailed` (that error as its ``last_error``). An error that says
        nothing (a loop's connect timeout: asyncio's `TimeoutError`, trio's ``TooSlowError``)
        is reported as a `TimeoutError` naming the endpoint.
        """
        if not str(error):
            error = TimeoutError(f"{self.peer}: timed out")
        self._feed(_I.CONNECT_FAILED, now, f"{type(error).__name__}: {error}", error)

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes read from the connection; ``b""`` when the peer closed it."""
        session = self.session
        if session is not None and self._state in _CONNECTED:
            session.receive_data(data, now)
            self._process(session, now)

    def read(self, data: bytes, now: float) -> ApplicationMessage | None:
        """`receive_data`, and the event of a read that was one application message and
        nothing else (`Session.read`), returned instead of queued when nothing of the
        supervisor's waits (its events, its bytes) and the session stays active; else None,
        what the bytes made queued (`pending`) as after `receive_data`."""
        session = self.session
        if session is None or self._state is not _ACTIVE or self._events or self._out:
            self.receive_data(data, now)
            return None
        event = session.read(data, now)
        if event is None:
            self._process(session, now)
        return event

    def connection_lost(self, now: float, reason: str) -> None:
        """The connection broke (a read or write error); ``reason`` is reported as is."""
        session = self.session
        if session is not None and self._state in _CONNECTED:
            self._lost_reason = reason
            session.receive_data(b"", now)
            self._process(session, now)

    def handle_timer(self, now: float) -> None:
        """Fire the session's timers (heartbeats, TestRequests, timeouts) that are due."""
        session = self.session
        if self._state is _WAITING:
            if self._ticket is not None and self._connect_at is not None:
                self._connect_at = self._ticket.slot(now)  # granted: now; else look again then
            return
        if session is not None and self._state in _CONNECTED:
            session.handle_timer(now)
            self._process(session, now)
            if self._resubscribe and self._state is _ACTIVE and self.session is session:
                self._send_resubscriptions(session, now)

    def send(self, message: Message, now: float, *, resubscribe: bool = False) -> int:
        """Send an application message on the logged-on session.

        Args:
            message: a message of the session's dialect.
            now: UTC epoch seconds.
            resubscribe: send it again after every reconnect; only for a subscription (a
                message with SubscriptionRequestType(263)): anything else would act twice.

        Returns:
            Its MsgSeqNum.

        Raises:
            TransportError: the connection is down (a reconnect is under way: wait for
                `Reconnected`), the session is closed, or the supervisor gave up (its failure).
            LocalProtocolError: not started, ``resubscribe=True`` on a message that is not a
                subscription, or a message the session refuses (its `OrderGate` included).
            EncodeError: a missing field or a value the wire cannot carry.
        """
        session = self.session
        if self._state is not _ACTIVE or session is None or resubscribe:
            session = self._sending(message, resubscribe)
        try:
            seq = session.send(message, now)
        except StoreError as exc:  # not sent; the session cannot go on without its store
            self._store_failed(now, exc)
            raise
        if resubscribe:
            self._subscriptions.append(message)
        return seq

    def send_out(
        self, message: Message, now: float, *, resubscribe: bool = False
    ) -> tuple[int, bytes]:
        """`send`, handing back at once the bytes to write (what `data_to_send` would give
        next, the supervisor's own first): a driver that writes them itself never comes back
        for them (`Session.send_out`).

        Returns:
            Its MsgSeqNum, and the bytes to write (its frame last).

        Raises:
            LocalProtocolError: as `send` (the other errors too).
        """
        session = self.session
        if self._state is not _ACTIVE or session is None or resubscribe:
            session = self._sending(message, resubscribe)
        try:
            seq, data = session.send_out(message, now)
        except StoreError as exc:  # not sent; the session cannot go on without its store
            self._store_failed(now, exc)
            raise
        if resubscribe:
            self._subscriptions.append(message)
        out = self._out
        if out:  # the supervisor's own bytes go first (rare: a Logout queued at a close)
            out += data
            data = bytes(out)
            out.clear()
        return seq, data

    def _sending(self, message: Message, resubscribe: bool) -> Session:
        """The logged-on session a message is sent on, or what `send` raises."""
        session = self.session
        if resubscribe and not hasattr(type(message), "subscription_request_type"):
            raise LocalProtocolError(
                f"resubscribe=True: {type(message).__name__} is not a subscription and would act "
                "again after every reconnect (MarketDataRequest, SecurityStatusRequest); not sent"
            )
        if self._state is _ACTIVE and session is not None:
            return session
        if self._failure is not None:
            raise self._failure  # what ended the session, e.g. ConnectionFailed
        if self.connections and self._state in (_S.WAITING, _S.LOGGING_ON):
            raise TransportError(
                "not logged on: the connection was lost and a reconnect is under way; "
                "send again after the Reconnected event"
            )
        if self._state is _S.IDLE:
            raise LocalProtocolError("cannot send: the supervisor was not started")
        raise TransportError(f"cannot send: the session is {self._state.value}")

    def close(self, now: float) -> None:
        """Log out (if logged on or logging on), then close; idempotent."""
        self._feed(_I.CLOSE, now)

    # -- the table and its actions ------------------------------------------------------------

    def _feed(
        self,
        event: SupervisorInput,
        now: float,
        reason: str = "",
        error: BaseException | None = None,
        reset: bool = False,
    ) -> None:
        """Move through the table (`supervisor_transition`), then take the row's action."""
        self._state, action = supervisor_transition(self._state, event)
        if action is not _A.NOTHING:
            self._ACTIONS[action](self, now, reason, error, reset)
        if self._ticket is not None and self._state in _ENDED:
            self._ticket.leave()  # ended for good: its account's other sessions go on

    def _on_connect(self, now: float, _r: str, _e: BaseException | None, _s: bool) -> None:
        self.backoff.reset()
        ticket = self._ticket
        self._connect_at = now if ticket is None else ticket.want(now, now)

    def _on_log_on(self, now: float, _r: str, _e: BaseException | None, _s: bool) -> None:
        self._attempts += 1
        config = self.config
        if self._reset and not config.resets_on_logon:
            config = attrs.evolve(config, reset_seq_num=True)
        self.session = Session(config)
        self._lost_reason = None
        try:
            self.session.start(now)  # the Logon, signed: the pump writes it as this step ends
        finally:
            if self._ticket is not None:
                self._ticket.sent(now)  # the account spaces its next Logon from this one

    def _on_attempt_failed(
        self, now: float, reason: str, error: BaseException | None, _s: bool
    ) -> None:
        self._attempts += 1
        if self._ticket is not None:
            self._ticket.failed()  # no Logon went out: its slot is free again
        if getattr(error, "final", False) is True:  # e.g. a certificate refused: fails again
            self._feed(_I.GIVE_UP, now, reason, error)
            return
        self._retry(now, reason, error or TransportError(reason))

    def _on_retry(self, now: float, reason: str, error: BaseException | None, _s: bool) -> None:
        self._retry(now, reason, error or TransportError(reason))

    def _on_logged_on(self, now: float, _r: str, _e: BaseException | None, _s: bool) -> None:
        assert self.session is not None
        self.connections += 1
        if self.connections > 1:
            self._events.append(Reconnected(self._attempts, self._reset))
            self._resubscribe = list(self._subscriptions)
            self._send_resubscriptions(self.session, now)
        self.backoff.reset()
        self._attempts = 0
        self._window_end = self._announced_end = None

    def _on_refuse(self, _n: float, reason: str, _e: BaseException | None, _s: bool) -> None:
        self._fail(LogonRefused(reason, peer=self.peer, attempts=self._attempts))

    def _on_reconnect(self, now: float, reason: str, _e: BaseException | None, reset: bool) -> None:
        self._events.append(Disconnected(reason))
        self._gap_teardown = reset
        self._plan(self.backoff.maintenance.contains(now))
        self.backoff.reset()
        self._retry(now, reason, TransportError(reason))

    def _plan(self, after_maintenance: bool) -> None:
        """Decide whether the reconnect Logon resets sequence numbers (`reconnect_plan`)."""
        plan = reconnect_plan(
            self.config,
            after_gap_teardown=self._gap_teardown,
            after_maintenance=after_maintenance,
            maintenance_reset=self.maintenance_reset,
        )
        self._reset = plan.reset_seq_nums

    def _on_lost(self, _n: float, reason: str, _e: BaseException | None, _s: bool) -> None:
        self._events.append(Disconnected(reason))
        why = "reconnect is off" if not self.reconnect else "the session cannot resume"
        self._fail(TransportError(f"the connection to {self.peer} was lost ({reason}); {why}"))

    def _on_give_up(self, _n: float, _r: str, error: BaseException | None, _s: bool) -> None:
        failure = ConnectionFailed.for_endpoint(
            self.peer, attempts=self._attempts, last_error=error
        )
        failure.__cause__ = error
        self._fail(failure)

    def _on_logout(self, now: float, _r: str, _e: BaseException | None, _s: bool) -> None:
        assert self.session is not None
        try:
            self.session.logout(now)
        except LocalProtocolError as exc:  # the session ended already: nothing to log out of
            self._feed(_I.ENDED_FOR_GOOD, now, str(exc))

    _ACTIONS: Final[dict[SupervisorAction, _Action]] = {
        _A.CONNECT: _on_connect,
        _A.LOG_ON: _on_log_on,
        _A.ATTEMPT_FAILED: _on_attempt_failed,
        _A.RETRY: _on_retry,
        _A.LOGGED_ON: _on_logged_on,
        _A.REFUSE: _on_refuse,
        _A.RECONNECT: _on_reconnect,
        _A.LOST: _on_lost,
        _A.GIVE_UP: _on_give_up,
        _A.LOGOUT: _on_logout,
    }
    """The method of each action but NOTHING."""

    # -- internals ----------------------------------------------------------------------------

    def _process(self, session: Session, now: float) -> None:
        events, next_event = self._events, session.next_event
        try:
            while (event := next_event()) is not NEED_DATA:
                events.append(event)
                if event.__class__ is ApplicationMessage:
                    continue  # the common case: nothing for the supervisor
                if isinstance(event, LoggedOn):
                    self._feed(_I.LOGGED_ON, now)
                elif isinstance(event, LogonRejected) and self._state is _LOGGING_ON:
                    # after a drop, Kalshi may not have seen our old connection close yet
                    lingering = self.connections > 0 and "already exists" in event.text.lower()
                    if logon_refusal_is_final(event.text) and not lingering:
                        self._feed(_I.REFUSED, now, event.text)
                elif isinstance(event, CloseTransport):
                    self._ended(now, event.reason, event.reconnect, event.reset_seq_nums)
        except RemoteProtocolError as exc:
            self._ended(now, str(exc), exc.reconnect, exc.reset_seq_nums)
        except StoreError as exc:  # what was read before it is delivered; then it fails with it
            self._store_failed(now, exc)

    def _store_failed(self, now: float, exc: StoreError) -> None:
        """The message store failed (reading or sending): the session ends for good with it."""
        self._ended(now, f"the message store failed: {exc}", False, False)
        if self._failure is not None:
            self._failure = exc

    def _send_resubscriptions(self, session: Session, now: float) -> None:
        """Send the re-subscriptions the session's rate limiter can take now; the rest wait
        for the delay it names (`next_deadline`)."""
        self._resubscribe_at = None
        while self._resubscribe:
            delay = session.send_delay(self._resubscribe[0], now)
            if delay == math.inf:  # larger than its bucket: `send` refused it the first time too
                self._resubscribe.pop(0)
                continue
            if delay > 0.0:
                self._resubscribe_at = now + delay
                return
            message = self._resubscribe.pop(0)
            try:
                session.send(message, now)
            except LocalProtocolError as exc:  # refused now (the session's checks): said, dropped
                self._events.append(ResubscriptionRefused(message, str(exc)))

    def _ended(self, now: float, reason: str, reconnect: bool, reset: bool) -> None:
        """The session closed (``CloseTransport``) or failed (``RemoteProtocolError``)."""
        self._resubscribe.clear()
        self._resubscribe_at = None
        if self.session is not None:
            self._out += self.session.data_to_send()  # a Logout the core queued goes out first
        if self._state is _S.ACTIVE:
            reason = self._lost_reason or reason
        event = _I.ENDED if reconnect and self.reconnect else _I.ENDED_FOR_GOOD
        self._feed(event, now, reason, reset=reset)

    def _retry(self, now: float, reason: str, error: BaseException) -> None:
        """Take the next delay: the next attempt is due then, or the backoff ran out.

        Kalshi's maintenance window (`Backoff.maintenance_retry` set): a backoff that runs out
        inside it goes on at the maintenance pace until the window ends (announced once by
        `WaitingOutMaintenance`), and an outage that reached into the window gets the whole
        backoff again once it is over."""
        backoff = self.backoff
        window_end = self._window_end
        if window_end is not None and now >= window_end:
            self._window_end = None
            backoff.reset()  # the window's attempts did not count
        retry = backoff.maintenance_retry
        # a session that was logged on: a first connection that fails (a wrong port, a wrong
        # certificate) is reported when its attempts are spent, in a window too
        window = backoff.maintenance.window(now) if retry is not None and self.connections else None
        # a session that was logged on retries for `reconnect_attempts` (forever by default),
        # in a window for `attempts`, then at the window's pace; one that never was logged on,
        # for `attempts`: a wrong port or certificate is reported
        backoff.reconnecting = self.connections > 0 and window is None
        delay = backoff.next_delay()
        if window is not None and retry is not None:
            until_end = max(window[1] - now, 0.0)
            ends_at = float(round(window[1]))  # the window's end (5:00 AM ET), a whole second
            self._window_end = ends_at
            if not self._reset:
                self._plan(after_maintenance=True)  # dropped just before, kept out by the window
            if delay is None:
                delay = backoff.maintenance_delay(until_end)
                if self._announced_end != ends_at:
                    self._announced_end = ends_at
                    self._events.append(WaitingOutMaintenance(ends_at, retry, reason))
        if delay is None:
            self._feed(_I.GIVE_UP, now, reason, error)
            return
        at = now + delay
        if self._ticket is not None:  # the account's Logon budget and order may put it later
            at = self._ticket.want(at, now)
            delay = at - now
        self._connect_at = at
        self._events.append(Reconnecting(self._attempts + 1, delay, reason))

    def _fail(self, error: FixError) -> None:
        self._failure, self._connect_at = error, None

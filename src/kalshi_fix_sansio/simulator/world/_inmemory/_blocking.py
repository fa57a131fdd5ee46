"""A simulation's sessions in memory (`kalshi_fix_sansio.simulator.world.simulation`): the link every simulated
session shares, and the blocking API's pump, which needs no loop.

A simulation's session is built like every adapter's (`SessionAPI` + a `Host` + the blocking or
awaitable API + a pump), with the simulation's clock as the session's ``clock``:

* `MemoryLink`: the part of a pump that every simulated session shares, with no loop of its
  own: it performs the driver's actions on a connection in memory (`Simulation.connect
  <kalshi_fix_sansio.simulator.world.simulation.Simulation.connect>`: the gateway's acceptor at the other end),
  steps what the connection says (each callback of its end one driver step, as in the asyncio
  adapter), and keeps the driver's `WakeAt` as a timer of the simulation's scheduler. It tells
  its pump when something changed and when the driver finished.
* blocking (`SimulatedSession`): its pump (`_Inline`) has no thread: a wait runs the
  simulation (`Simulation.run_once`) until it is over; ``on_event`` / ``on_reconnect`` run
  from the simulation's scheduler, between two inputs. No I/O, no clock but the simulation's:
  it is sans-IO, so it lives in the core.
* asyncio and trio: the adapters' ``_simulated`` and ``_simulated_trio`` (their loops' pumps on
  the simulation's clock).

`blocking_client_class` makes a simulation's blocking client class (its sessions know their
simulation).
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Sequence
from heapq import heappop
from typing import Any, Protocol, TypeVar

from ....client.driver import Driver
from ....client.pump import (
    ClientBase,
    ConnectOptions,
    SessionAPI,
    SessionOptions,
    SyncAPI,
    SyncKillAll,
    Until,
    Wait,
    any_event,
)
from ....client.pump import drive as drive_wait
from ....client.steps import (
    CLOSE,
    CONNECTED,
    START,
    WOKE,
    Action,
    Agenda,
    ConnectFailed,
    Disconnect,
    Lost,
    Received,
    Write,
)
from ....session.config import SessionConfig
from ....session.events import Event
from ...gateway.net import QUIET, Peer, Pipe, Scheduler, SimClock, SimulationStalled, Timer
from ._loop import SimLoop

__all__ = ["InSimulation", "MemoryLink", "SimulatedSession", "blocking_client_class"]

T = TypeVar("T")
Hook = Callable[[Driver], None]


class Simulation(Protocol):
    """What a simulated session asks of its simulation (`kalshi_fix_sansio.simulator.world.simulation.Simulation`)."""

    scheduler: Scheduler
    clock: SimClock  # the simulated clock (`time` is its own)
    max_time: float  # the most simulated seconds it may run
    _running: str | None  # ``"asyncio"`` or ``"trio"`` during a run of that loop
    _feed: Any  # a backtest's feed (`kalshi_fix_sansio.simulator.backtests._feed.Feed`), or None
    rest: Any  # its REST pages in memory (a `RestApp`), or None
    loop: SimLoop | None  # its asyncio event loop, during `run_asyncio`

    @property
    def product(self) -> str: ...

    @property
    def running(self) -> str | None:
        """``"asyncio"`` or ``"trio"`` during a run of that loop, else None."""
        ...

    def serve_rest(self, target: object) -> None: ...

    def time(self) -> float: ...

    def connect(self, host: str, port: int, protocol: Peer) -> Pipe: ...

    def run_once(self, until: float = math.inf) -> float: ...


class _End:
    """The client's side of one connection in memory: each callback one step of the link."""

    __slots__ = ("link", "sup")

    def __init__(self, link: MemoryLink, sup: Driver) -> None:
        self.link, self.sup = link, sup

    def connection_made(self, transport: Any) -> None:
        assert isinstance(transport, Pipe)
        self.link.made(self, transport)

    def data_received(self, data: bytes) -> None:
        """Bytes from the gateway (``b""``: its end of file) to the driver, when this is still
        the connection it uses, as every pump reads (`Driver.read_bytes`); what it says to do
        done, and the pump told (`link.changed`), but not the blocking pump with nothing to
        deliver (`_Inline._changed` does nothing when it delivers already or has no
        callbacks)."""
        link = self.link
        if self is not link.end:
            return  # a connection the driver is done with
        sup = self.sup
        actions = sup.read_bytes(data)
        if actions:
            link.perform(sup, actions)
        pump = link.inline
        if pump is None or (
            not pump.delivering
            and ((hooks := pump.session).on_event is not None or hooks.on_reconnect is not None)
        ):
            link.changed(sup)

    def data_built(self, data: bytes, handed: Any = None) -> None:
        """`data_received` of one whole frame the gateway's session built for this connection
        (`Pipe.hand_over`), ``handed`` its values when that session made it of them (the
        gateway's `Session.handed`): given to the client's session first
        (`Session.handed_in`), whose read of that frame makes its message from them.
        tests/test_handover.py compares it with `data_received`."""
        if handed is not None:
            session = self.sup.supervisor.session
            if session is not None:
                session.handed_in = handed
        self.data_received(data)

    def eof_received(self) -> bool | None:
        self.data_received(b"")
        return None  # the pipe closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.lost(self, exc)


class MemoryLink:
    """A simulated session's connection in memory, and its driver's wake-up (see the module
    docstring). Nothing here decides anything: the driver does, through its actions.

    Args:
        session: the session.
        simulation: its simulation.
        changed: told after each step that may change what a wait looks at (bytes read, a
            timer, the connection made or lost).
        finished: told once the driver is finished (`FINISHED`).
    """

    def __init__(
        self, session: SessionAPI, simulation: Simulation, changed: Hook, finished: Hook
    ) -> None:
        self.session, self.simulation = session, simulation
        self.changed, self.finished = changed, finished
        self.agenda = Agenda()
        self.pipe: Pipe | None = None
        self.end: _End | None = None  # the connection the driver uses
        self.alarm: Timer | None = None  # the scheduler's timer for the driver's `WakeAt`
        self.alarm_at = math.inf
        # the blocking pump, whose `changed` `_End.data_received` asks itself (None: another's)
        self.inline: _Inline | None = None

    def start(self, sup: Driver) -> None:
        """Start the driver of a new open (it asks for a connection at once)."""
        self.agenda, self.pipe, self.end = Agenda(), None, None
        self._disarm()
        self.perform(sup, sup.step(START, sup.clock()))

    def write(self, sup: Driver, data: bytes) -> None:
        """Write ``data`` to the pipe (nothing: no connection)."""
        if self.pipe is not None:
            if (log := sup.message_log) is not None:
                log.sent(data, sup.clock())
            self.pipe.write(data)

    def perform(self, sup: Driver, actions: Sequence[Action]) -> None:
        """Do what the driver said, in order: write to the pipe, close it, connect (soon),
        wake the driver at its deadline (a timer of the scheduler), finish."""
        for action in actions:
            if type(action) is Write:
                self.write(sup, action.data)
            elif type(action) is Disconnect:
                pipe, self.pipe, self.end = self.pipe, None, None
                if pipe is not None:
                    if action.abort:
                        pipe.abort()
                    else:
                        pipe.close()
            elif self.agenda.note(action):
                self._arrange(sup)

    def abandon(self, sup: Driver) -> None:
        """Give up on a driver that did not finish in time (a close nobody answered): drop the
        connection and end."""
        pipe, self.pipe, self.end = self.pipe, None, None
        if pipe is not None:
            pipe.abort()
        self.agenda.finished = True
        self._arrange(sup)

    # -- the agenda -----------------------------------------------------------------------------

    def _arrange(self, sup: Driver) -> None:
        agenda = self.agenda
        if agenda.finished:
            self._disarm()
            self.finished(sup)
            return
        if agenda.connect_due:
            agenda.connect_due = False
            self.simulation.scheduler.call_soon(self._connect, sup, agenda)
        if agenda.wake_at != self.alarm_at:
            self._disarm()
            if agenda.wake_at < math.inf:
                self.alarm_at = agenda.wake_at
                self.alarm = self.simulation.scheduler.call_at(agenda.wake_at, self._woke, sup)

    def _disarm(self) -> None:
        if self.alarm is not None:
            self.alarm.cancel()
        self.alarm, self.alarm_at = None, math.inf

    def _woke(self, sup: Driver) -> None:
        self.alarm, self.alarm_at = None, math.inf
        self.perform(sup, sup.step(WOKE, sup.clock()))
        self.changed(sup)

    def _connect(self, sup: Driver, agenda: Agenda) -> None:
        if agenda is not self.agenda or agenda.finished:
            return  # an open since closed
        endpoint = self.session.options.endpoint
        try:
            self.simulation.connect(endpoint.host, endpoint.port, _End(self, sup))
        except OSError as exc:
            self.perform(sup, sup.step(ConnectFailed(exc), sup.clock()))
            self.changed(sup)

    # -- the connection's callbacks ---------------------------------------------------------

    def made(self, end: _End, pipe: Pipe) -> None:
        if self.end is not None or self.agenda.finished:  # one connection at a time
            pipe.abort()
            return
        self.pipe, self.end = pipe, end
        self.perform(end.sup, end.sup.step(CONNECTED, end.sup.clock()))  # the Logon
        self.changed(end.sup)

    def lost(self, end: _End, exc: Exception | None) -> None:
        if end is not self.end:
            return
        self.pipe, self.end = None, None
        sup = end.sup
        if exc is not None:
            self.perform(sup, sup.step(Lost(f"read failed: {exc}"), sup.clock()))
        else:  # closed without an end of file seen
            self.perform(sup, sup.received(Received(b"")))
        self.changed(sup)


# -- blocking -------------------------------------------------------------------------------


class _Inline:
    """The blocking pump of a simulated session: no thread and no socket; a wait runs the
    simulation until it is over (`Simulation.run_once` between two looks at it)."""

    lock = contextlib.nullcontext()  # one thread: nothing to hold

    def __init__(self, session: SimulatedSession, driver: Driver) -> None:
        self.session, self.driver = session, driver
        self.simulation = session.simulation
        self.now: Callable[[], float] = self.simulation.clock.time  # the wait clock
        self.clock = self.now  # the core's ``now``: the simulated clock
        self.link = MemoryLink(session, self.simulation, self._changed, self._finished)
        self.link.inline = self
        self.perform, self.write = self.link.perform, self.link.write
        self.delivering = False  # a delivery of callbacks is due on the scheduler

    def prepare(self) -> None:
        """Nothing: a simulation's connections are in memory, without TLS."""

    def open(self, sup: Driver, prepared: None) -> bool:
        """Start the driver and run the simulation until logged on: True, or False when the
        session ended first."""
        self.link.start(sup)
        return self.drive(Until(self.driver, self.driver.logged_on))

    def close(self) -> None:
        """Log out, running the simulation until the session ends (at most the logout
        timeout, or until the simulation cannot go on: then the connection is dropped)."""
        host = sup = self.driver
        if host.running:
            host.act(CLOSE)
            deadline = self.now() + self.session.config.logout_timeout + 1
            with contextlib.suppress(SimulationStalled):  # past max_time: dropped below
                while host.running and self.now() < deadline:
                    self.simulation.run_once(deadline)
            if host.running:
                self.link.abandon(sup)
        host.pump_closed()

    def drive(self, wait: Wait[T]) -> T:
        return drive_wait(wait, self.simulation.run_once)

    def dispatching(self) -> bool:
        sup = self.driver
        return self.delivering or (_has_callbacks(self.session) and sup.delivery.due(sup))

    def _changed(self, sup: Driver) -> None:
        session = self.session  # `_has_callbacks`, inline: asked after every chunk read
        if (
            not self.delivering
            and (session.on_event is not None or session.on_reconnect is not None)
            and self.driver.delivery.due(sup)
        ):
            self.delivering = True
            self.simulation.scheduler.call_soon(self._deliver, sup)

    def wake(self) -> None:
        """Nothing to do: a wait looks again after every run of the simulation."""

    def _finished(self, sup: Driver) -> None:
        sup.pump_ended()

    def _deliver(self, sup: Driver) -> None:
        """``on_event`` with every unread event, ``on_reconnect`` when due (between two inputs
        of the simulation; an error raised there reaches the wait that ran it)."""
        self.delivering = False
        session, delivery = self.session, self.driver.delivery
        while delivery.due(sup):
            event, reconnected = delivery.take_callback(sup.next_event_with_time)
            if event is not None and session.on_event is not None:
                session.on_event(event)
            if reconnected and session.on_reconnect is not None:
                session.on_reconnect(session)


def _has_callbacks(session: SessionAPI) -> bool:
    return session.on_event is not None or session.on_reconnect is not None


class InSimulation(SessionAPI):
    """What every simulated session adds to `SessionAPI`: its simulation, whose clock is the
    session's ``clock``.

    Takes the arguments of `SessionAPI` but ``clock``, and ``simulation``.
    """

    def __init__(
        self,
        config: SessionConfig,
        options: ConnectOptions,
        settings: SessionOptions | None = None,
        *,
        simulation: Simulation,
        **chosen: Any,
    ) -> None:
        self.simulation = simulation
        """The simulation the session runs in."""
        # the simulated clock's own time (`Simulation.time`, one call less per look)
        super().__init__(config, options, settings, clock=simulation.clock.time, **chosen)

    def _start_rest(self) -> None:
        """A REST round started: the simulation answers its requests in memory
        (`Simulation.serve_rest`), or says why it cannot."""
        if self.simulation.rest is None:
            self._driver.rest_ended()
            self.logger.warning(
                "a REST reconciliation started, but this simulation serves no REST pages: make "
                "it with Simulation(..., rest=True), or answer the round yourself"
            )
            return
        self.simulation.serve_rest(self)


class SimulatedSession(InSimulation, SyncAPI):
    """One session of a simulation's blocking client: the API of `BlockingSession
    <kalshi_fix_sansio.adapters.blocking.BlockingSession>` (``with``: log on, then log out), in
    memory on the simulated clock: its waits, its logon and its logout run the simulation (past
    the simulation's ``max_time`` a logout drops the connection). Takes the arguments of
    `InSimulation`.
    """

    _PUMP = _Inline
    _pump: _Inline

    def next_event(self, timeout: float | None = None) -> Event | None:
        """As `SyncAPI.next_event`: its wait's loop written out (`drive_next_event
        <kalshi_fix_sansio.client.pump.drive_next_event>`, inline), the simulation run between
        two looks, each the oldest event taken by `Driver.take_event` (``any_event``).

        A backtest's recorded message next (its feed's timer the one callback due at its
        time, nothing ready, before the deadline and the simulation's ``max_time``) is run
        here as `Simulation.run_once` runs it in its common case: the clock moved to it, the
        timer taken and called, what it made due run (`Scheduler.run_due`); then the look
        again, or `run_once` when the message was `QUIET`. tests/test_simulated_next_event.py
        compares the two."""
        simulation = self._pump.simulation
        clock = simulation.clock  # the pump's `now` (``clock.time``), inline: a look a message
        now = clock._now if clock._follow is None else clock.time()
        driver = self._driver
        deadline = math.inf if timeout is None else now + timeout
        scheduler = simulation.scheduler
        timers, ready = scheduler._timers, scheduler._ready
        feed = simulation._feed
        # the latest time `run_once` runs a callback at without asking `advance` (past it: it
        # raises); None: no feed, or a run of a loop (`run_once` refuses), the general way
        limit = (
            None
            if feed is None or simulation._running is not None
            else clock.start + simulation.max_time
        )
        while True:
            # the oldest event taken
            if (taken := driver.take_event(any_event)) is not None:
                return taken
            if now >= deadline:
                return None
            if not driver.running:  # `Driver.ended`
                raise driver.closed_error()
            if limit is not None and timers and not ready and clock._follow is None:
                when, _order, timer = timers[0]
                n = len(timers)
                if (
                    timer is feed._timer
                    and when <= deadline
                    and when <= limit
                    and not timer.cancelled
                    and (n < 2 or timers[1][0] > when)
                    and (n < 3 or timers[2][0] > when)
                ):  # `run_once`'s common case: the recorded message the one callback due
                    if when > clock._now:
                        clock._now = when
                    heappop(timers)
                    ran = timer.callback(*timer.args) is not QUIET
                    if ready or (timers and timers[0][0] <= clock._now):
                        ran = scheduler.run_due() or ran
                    now = clock._now
                    if ran or now >= deadline:
                        continue  # (`run_once` returns here)
            now = simulation.run_once(deadline)


def blocking_client_class(simulation: Simulation) -> type[Any]:
    """The blocking client class of ``simulation``: the product's, its sessions made in it."""

    class SimulatedFixClient(ClientBase[SimulatedSession], SyncKillAll):
        """A simulation's blocking client (`kalshi_fix_sansio.simulator.world.simulation`)."""

        PRODUCT = simulation.product
        _SESSION = staticmethod(functools.partial(SimulatedSession, simulation=simulation))
        _AWAITS_CALLBACKS = False  # callbacks are called, never awaited

    return SimulatedFixClient

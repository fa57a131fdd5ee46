"""The whole client in memory, on a simulated clock: a fourth way to run it.

A `Simulation` links clients to the mock gateway's acceptor (`kalshi_fix_sansio.simulator.gateway`: the
same sessions, checks and matching as `MockGateway` on its ports) through memory: no socket, no
TLS, no thread. Its clock (`SimClock`) starts at a time you choose and moves only when every
wait of the run is waiting: then it jumps to the next deadline (a heartbeat, a timeout, the
gateway's timers, the end of a ``sleep``). Minutes of trading, heartbeats and all, take
milliseconds, and a run is the same on every repeat, to the byte: SendingTime comes from the
simulated clock, the gateway's ids from its seed, the ClOrdIDs the library makes itself from a
numbered generator (`Simulation.cl_ord_ids`), and everything happens in the order it was
asked for. `Simulation.wire` records every frame either side wrote.

The same strategy code runs live, in tests and in a backtest: `Simulation.client` makes a
client of each API, with the API of that adapter's `FixClient` (``order_entry()``, ``place``,
``cancel``, ``kill``, ``kill_all``, ``next_event``...):

* **blocking** (``api="blocking"``): every wait of a session (``place``, ``next_event``,
  ``kill``...) runs the simulation until it is over; `Simulation.run_for` lets simulated
  time pass (the blocking API's ``time.sleep``).
* **asyncio** (``api="asyncio"``): the asyncio adapter's own pump, on an event loop whose
  ``time()`` is the simulated clock and whose connections are in memory: run your coroutine
  with `Simulation.run_asyncio`; ``asyncio.sleep`` lets simulated time pass.
* **trio** (``api="trio"``): run your async function with `Simulation.run_trio`, on trio's
  `trio.testing.MockClock` (``autojump_threshold=0``), which is then the simulated clock;
  ``trio.sleep`` lets simulated time pass.

A run is repeated byte for byte when its inputs are: the same script, start time, seed and
keys (an Ed25519 key signs the Logon the same way every time; RSA-PSS draws a random salt).
Give your orders their ClOrdIDs, or draw them from a numbered
`kalshi_fix_sansio.trading.builders.ClOrdIDGenerator`. What runs inside a run is single-threaded; under
trio, tasks of your own woken at the same instant may run in either order (trio's scheduler
shuffles them), as they would live.

A wait that could never end (nothing left to happen), or simulated time going past
``max_time``, raises `SimulationStalled` instead of spinning forever.

With ``rest=True`` the gateway's REST pages (orders, fills, positions, the account's limits)
are served in memory too: a session made with ``rest=RestOptions(...)`` reconciles from them on
the simulated clock, as it does from Kalshi's REST API live (`Simulation.serve_rest`).

A loop of your own runs on the same parts: `Simulation.connect` opens a connection in memory
(a `Pipe`, an `asyncio.Transport`) to the gateway for any protocol object, everything due on
the simulated clock is in `Simulation.scheduler` (a `Scheduler` of `Timer`), and
`Simulation.run_once` runs what is due, moving the clock to the next deadline when nothing is
(a callback of your own that changed nothing a wait looks at may return `QUIET`: the run goes on
to the next deadline instead of returning).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import heapq
import math
import random
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast
from urllib.parse import urlencode

import attrs

from ...client.reconnect import Backoff
from ...codec.errors import LocalProtocolError
from ...codec.spec import SESSIONS
from ...rest import RestPort
from ...rest.pages import RestRequest, RestResponse
from ...session.auth import PublicKey, Signer
from ...trading.builders import ClOrdIDGenerator
from ..gateway import MockGateway
from ..gateway.connection import Connection
from ..gateway.listening import is_loopback_host
from ..gateway.net import (
    QUIET,
    Peer,
    Pipe,
    Scheduler,
    SimClock,
    SimulationStalled,
    Timer,
    pipe_pair,
)
from ._inmemory import InSimulation, MemoryLink, SimLoop, SimulatedSession, blocking_client_class
from .latency import LatencyModel, _models_by_session_type

if TYPE_CHECKING:
    from kalshi_fix_sansio.client import Endpoint

    from ..gateway.rest import RestApp

__all__ = [
    "APIS",
    "DEFAULT_START",
    "QUIET",
    "InSimulation",
    "MemoryLink",
    "Pipe",
    "Scheduler",
    "SimClock",
    "SimulatedSession",
    "Simulation",
    "SimulationStalled",
    "Timer",
    "WireRecord",
]

T = TypeVar("T")

DEFAULT_START: Final = datetime(2026, 1, 5, 14, 30, tzinfo=timezone.utc)
"""Where a simulation's clock starts unless told: a Monday, 9:30 in New York."""

APIS: Final = ("blocking", "asyncio", "trio")
"""The APIs `Simulation.client` makes clients of."""

_NOT_IN_MEMORY: Final = ("tls", "ssl_context", "certificate", "host", "port_base")
_NO_TLS: Final = ("ssl_context", "cafile", "pinned_cert", "allow_insecure_tls")
_MSG_TYPE = re.compile(rb"8=FIXT\.1\.1\x019=\d+\x0135=([^\x01]+)\x01")


@attrs.frozen
class WireRecord:
    """What one side wrote on one connection of a simulation, at one time.

    Attributes:
        time: when (the simulated clock, UTC epoch seconds).
        session_type: the connection's session type (``"KalshiNR"``...).
        connection: the connection's number in the simulation (from 1, in the order they
            were made).
        sender: ``"client"`` or ``"gateway"``.
        data: the bytes written (whole FIX frames, one or more).
    """

    time: float
    session_type: str
    connection: int
    sender: str
    data: bytes

    @property
    def msg_types(self) -> tuple[str, ...]:
        """The MsgType(35) of each frame in `data`, in order (``("0",)``: a Heartbeat)."""
        return tuple(m.decode("ascii", "replace") for m in _MSG_TYPE.findall(self.data))


def _second(timers: list[tuple[float, int, Timer]]) -> float:
    """The time of the second timer of a scheduler's heap (one of the first's two children;
    ``math.inf``: none)."""
    if len(timers) > 2:
        return min(timers[1][0], timers[2][0])
    return timers[1][0] if len(timers) > 1 else math.inf


def _seconds(when: float, now: float) -> tuple[float, float]:
    """The last of the ticker's seconds from ``when`` on (``when``, ``when + 1.0``, ``+ 1.0``
    again...: what its `call_later(1.0)` makes) at most ``now``, and the first after it.
    ``when`` <= ``now``."""
    if when.is_integer() and now < 2.0**52:  # whole seconds: the sums are exact
        last = when + math.floor(now - when)
        return last, last + 1.0
    nxt = when + 1.0
    while nxt <= now:
        when, nxt = nxt, nxt + 1.0
    return when, nxt


def _epoch(start: datetime | float) -> float:
    if isinstance(start, datetime):
        if start.tzinfo is None:
            raise LocalProtocolError(
                "start must be an aware datetime (e.g. tzinfo=timezone.utc) or UTC epoch seconds"
            )
        return start.timestamp()
    if isinstance(start, bool) or not isinstance(start, (int, float)) or not math.isfinite(start):
        raise LocalProtocolError(f"start must be a datetime or UTC epoch seconds, got {start!r}")
    return float(start)


class Simulation:
    """Clients and the mock gateway in memory, on a simulated clock (see the module docstring).

    Args:
        product: ``"prediction"`` or ``"margin"``.
        keys: API key id -> public key the gateway accepts (`MockGateway`'s ``keys``).
        start: when the simulated clock starts: an aware `datetime` or UTC epoch seconds
            (`DEFAULT_START`).
        seed: the seed of the gateway's ids (`MockGateway`'s ``seed``) and of the clients'
            reconnect jitter.
        max_time: the most simulated seconds a simulation may run: a wait that would take it
            past that raises `SimulationStalled`.
        latency: the one-way latency of every connection (a `kalshi_fix_sansio.simulator.world.latency`
            model), or a mapping of session type to model (``{"KalshiNR": ...}``; the others
            have none). Each direction of a connection draws its own delays, from a random
            generator seeded with ``seed``. None: bytes arrive as they are written.
        record_wire: keep every chunk written in `wire` (False for a long run: memory stays
            flat; `wire_listeners` still hear each chunk).
        rest: serve the gateway's REST pages in memory (`rest`, `serve_rest`): a session made
            with ``rest=RestOptions(...)`` reconciles from them on the simulated clock. False:
            a round that starts only logs that nothing sends its requests (the pages keep every
            fill of the run: leave it off for a long backtest that does not reconcile).
        rest_latency: simulated seconds from a REST request to its answer (the pages are read
            halfway): 0.0, answered at once.
        **gateway_options: more `MockGateway` options (``heartbeat_interval``,
            ``auto_list_markets``, ``write_timeout``, ``finished_orders``...). The gateway is
            in memory: ``tls``, ``ssl_context``, ``certificate``, ``host`` and ``port_base``
            are refused.

    Raises:
        LocalProtocolError: a start that is not a time, a ``max_time`` that is not > 0, a
            ``rest_latency`` that is not >= 0, or an option of a listening gateway.
        ValueError: what `MockGateway` refuses.
    """

    def __init__(
        self,
        product: str = "prediction",
        *,
        keys: Mapping[str, PublicKey],
        start: datetime | float = DEFAULT_START,
        seed: int = 0,
        max_time: float = 86_400.0,
        latency: LatencyModel | Mapping[str, LatencyModel] | None = None,
        record_wire: bool = True,
        rest: bool = False,
        rest_latency: float = 0.0,
        **gateway_options: Any,
    ) -> None:
        refused = sorted(set(gateway_options) & set(_NOT_IN_MEMORY))
        if refused:
            raise LocalProtocolError(
                f"a simulation's gateway is in memory (no TLS, no port): {', '.join(refused)} "
                "cannot be given"
            )
        if isinstance(max_time, bool) or not isinstance(max_time, (int, float)) or max_time <= 0:
            raise LocalProtocolError(f"max_time must be seconds > 0, got {max_time!r}")
        if (
            isinstance(rest_latency, bool)
            or not isinstance(rest_latency, (int, float))
            or not 0 <= rest_latency < math.inf
        ):
            raise LocalProtocolError(f"rest_latency must be seconds >= 0, got {rest_latency!r}")
        self.clock = SimClock(_epoch(start))
        """The simulated clock (`SimClock`): ``clock.time()`` is now, ``clock.elapsed`` the
        simulated seconds so far."""
        self.max_time = float(max_time)
        """The most simulated seconds the simulation may run (raise it to go on after a
        `SimulationStalled`)."""
        self.seed = seed
        """The seed of the gateway's ids and of the clients' reconnect jitter."""
        self.scheduler = Scheduler(self.clock)
        """What is due on the simulated clock (the connections' bytes, every timer)."""
        self.gateway = MockGateway(product, keys=keys, seed=seed, **gateway_options)
        """The mock gateway (`MockGateway`, never listening): seed markets, fill, pause and
        settle through it as usual (``gateway.seed_market(...)``)."""
        self.gateway.timers = self.scheduler
        self.gateway.ports = {
            name: SESSIONS[(product, name)].port for name in self.gateway.session_types
        }
        self._listening = {port: name for name, port in self.gateway.ports.items()}
        self._latency = _models_by_session_type(latency, self.gateway.session_types)
        self._latency_rng = random.Random(seed)
        self.product: str = self.gateway.product
        """``"prediction"`` or ``"margin"``."""
        self.endpoints: dict[str, Endpoint] = self.gateway.endpoints
        """Session type -> where the simulation's gateway serves it (plain TCP on loopback at
        Kalshi's port numbers, in memory only)."""
        self.wire: list[WireRecord] = []
        """Every chunk of bytes either side wrote, in the order written (`WireRecord`; empty
        with ``record_wire=False``)."""
        self.record_wire = record_wire
        self.wire_listeners: list[Callable[[WireRecord], None]] = []
        """Called with every chunk either side writes, as it is written."""
        self.client_listeners: list[Callable[[bytes], None]] = []
        """Called with every chunk a client writes, as it is written (no `WireRecord` made:
        a backtest's count of the orders sent)."""
        self.cl_ord_ids = ClOrdIDGenerator("sim-", sequential=True)
        """Where the clients take the ClOrdIDs the library makes itself (a kill's cancels,
        ``cancel()`` given an order): ``sim-1``, ``sim-2``... (`SessionConfig.cl_ord_ids
        <kalshi_fix_sansio.session.config.SessionConfig>`)."""
        self._connections = 0
        self._running: str | None = None
        self.loop: SimLoop | None = None
        """The event loop of the `run_asyncio` under way (None outside one)."""
        self._client_classes: dict[str, type[Any]] = {}
        self.rest: RestApp | None = None
        """The gateway's REST pages, served in memory (`serve_rest`); None without
        ``rest=True``."""
        if rest:
            from ..gateway.rest import RestApp

            gw = self.gateway
            self.rest = RestApp(gw.exchange, gw.keys, gw.faults, gw.accounts)
        self.rest_latency = float(rest_latency)
        """Simulated seconds from a REST request to its answer."""
        self._ticker = self._tick  # the one bound method its timers carry (`skip_tick` asks)
        # the parked ticker (`_parks`): the second it is due at and its place in the order of
        # the callbacks due then, as its timer would have them; None: its timer is in the heap
        self._parked: tuple[float, int] | None = None
        self._feed: Any = None  # a backtest's feed (`Feed.tie`, read by `_unpark`)
        self.gateway.exchange.due_listener = self._unpark
        self._tick()

    # -- what a loop asks -------------------------------------------------------------------

    @property
    def running(self) -> str | None:
        """The run under way: ``"asyncio"`` (`run_asyncio`), ``"trio"`` (`run_trio`) or None
        (the blocking API runs the simulation in its waits)."""
        return self._running

    def time(self) -> float:
        """The simulated clock's time (UTC epoch seconds)."""
        return self.clock.time()

    def advance(self, when: float) -> None:
        """Move the simulated clock to ``when``.

        Raises:
            SimulationStalled: ``when`` is ``math.inf`` (nothing is left to happen), or past
                ``max_time``.
        """
        if when == math.inf:
            raise SimulationStalled(
                "nothing is left to happen in the simulation, and something waits for it: the "
                "wait would never end"
            )
        if when > self.clock.start + self.max_time:
            raise SimulationStalled(
                f"simulated time would pass max_time ({self.max_time:g} s after the start): a "
                "wait with no end, or a run longer than the simulation allows"
            )
        self.clock.advance_to(when)

    def connect(self, host: str, port: int, protocol: Peer) -> Pipe:
        """Open a connection in memory to the gateway's ``host``:``port`` for ``protocol`` (an
        `asyncio.Protocol`, or any object with its four methods): the gateway accepts it,
        then ``protocol.connection_made`` is told its end.

        Raises:
            ConnectionRefusedError: the gateway serves no session type there.
        """
        session_type = self._listening.get(port)
        if session_type is None or not is_loopback_host(host):
            raise ConnectionRefusedError(
                errno.ECONNREFUSED,
                f"nothing listens on {host}:{port} in the simulation (its gateway serves "
                + ", ".join(f"{name} on {p}" for name, p in self.gateway.ports.items())
                + ")",
            )
        self._connections += 1
        record = functools.partial(self._record, session_type, self._connections)
        conn = Connection(self.gateway, session_type)
        model = self._latency.get(session_type)
        delay = None if model is None else functools.partial(model.draw, self._latency_rng)
        near, far = pipe_pair(self.scheduler, protocol, conn, record, delay, self)
        conn.connection_made(far)
        protocol.connection_made(near)
        return near

    def run_once(self, until: float = math.inf) -> float:
        """Run what is due now; if nothing was, move the clock to what is due next (at the
        latest ``until``) and run that, going on while what ran only returned `QUIET` (the
        expiry ticker's idle seconds) and the clock is before ``until``. What a blocking wait
        does between two looks at what it waits for (a loop of your own may call it too).

        Returns:
            The simulated clock's time after it.

        Raises:
            SimulationStalled: as `advance`.
            LocalProtocolError: called during `run_asyncio` or `run_trio` (a blocking call
                there would stop the loop).
        """
        if self._running is not None:
            raise LocalProtocolError(
                f"a blocking call during Simulation.run_{self._running}: await the "
                f"{self._running} API instead (and let time pass with {self._running}.sleep)"
            )
        scheduler, clock = self.scheduler, self.clock
        timers, ready = scheduler._timers, scheduler._ready
        # `run_due` only when something is due now (the wait after a message has nothing: one
        # call less; it would return False)
        if (ready or (timers and timers[0][0] <= clock._now)) and scheduler.run_due():
            return clock._now
        # nothing a wait looks at changed: on to the next deadline, past the quiet ones (the
        # ticker's seconds with nothing due skipped in one step: `skip_tick`); nothing is ready
        # here (`run_due` returns only when nothing is, `skip_tick` readies nothing)
        ticker = self._ticker
        limit = clock.start + self.max_time
        # `advance` raises past it (``math.inf`` too: nothing is left to happen), one question
        stall = limit if limit < math.inf else sys.float_info.max
        while True:
            if timers:  # the first timer read once (`next_deadline`, inline)
                deadline, _order, timer = timers[0]
                if timer.cancelled:
                    heapq.heappop(timers)
                    continue
                if timer.callback is ticker and deadline <= until:  # (its one bound method)
                    # its quiet seconds skipped, or the ticker parked when nothing can come due
                    if self.skip_tick(timers[0], _second(timers), until):
                        continue
            else:
                deadline = math.inf
            when = deadline if deadline < until else until
            if when > stall:
                if self._parked is not None:
                    self._stall()  # raises SimulationStalled, as the parked ticker's seconds
                self.advance(when)  # raises SimulationStalled
            now = clock._now
            if when > now:  # `advance`, inline
                clock._now = now = when
            if deadline <= now:
                n = len(timers)
                if (n < 2 or timers[1][0] > now) and (n < 3 or timers[2][0] > now):
                    # `run_due`'s common case, inline: the first timer (not cancelled: see
                    # above) the one callback due, nothing ready (a recorded message's, most
                    # often); what it makes due now, `run_due` runs after it
                    heapq.heappop(timers)
                    ran = timer.callback(*timer.args) is not QUIET
                    scheduler.spent += 1
                    if scheduler.spent > scheduler.max_callbacks:
                        scheduler.over_budget(timer)
                    if ready or (timers and timers[0][0] <= clock._now):
                        ran = scheduler.run_due() or ran
                else:
                    ran = scheduler.run_due()
            else:
                ran = False  # nothing due, nothing ready: what `run_due` would say
            if ran or clock._now >= until:
                break
        return clock._now

    # -- what a user asks -------------------------------------------------------------------

    def client(self, key_id: str, signer: Signer, *, api: str = "blocking", **options: Any) -> Any:
        """A client of the simulation's gateway, of one API: the same class of client as that
        adapter's `FixClient` (or `MarginFixClient`), on the simulated clock and in memory.

        Args:
            key_id: the API key id (one of the simulation's ``keys``).
            signer: its private key's signer.
            api: ``"blocking"``, ``"asyncio"`` or ``"trio"`` (`APIS`).
            **options: more client options (``risk_limits``, ``heartbeat_interval``,
                ``config``...). Defaults: the simulation's `endpoints`, no halt file (it is a
                file of this machine), a reconnect backoff seeded with ``seed``, and
                ``config={"cl_ord_ids": sim.cl_ord_ids}``. TLS options are refused.

        Returns:
            The client.

        Raises:
            LocalProtocolError: an unknown ``api``, a TLS option, or what the client refuses.
        """
        if api not in APIS:
            raise LocalProtocolError(f"api must be one of {', '.join(APIS)}, got {api!r}")
        refused = sorted(set(options) & set(_NO_TLS))
        if refused:
            raise LocalProtocolError(
                f"a simulation's connections are in memory, without TLS: {', '.join(refused)} "
                "cannot be given"
            )
        from ...session import Credentials

        config = dict(options.pop("config", None) or {})
        config.setdefault("cl_ord_ids", self.cl_ord_ids)
        options.setdefault("endpoints", self.endpoints)
        options.setdefault("halt_file", False)
        options.setdefault("backoff", Backoff(seed=self.seed))
        cls = self._client_classes.get(api)
        if cls is None:
            cls = self._client_classes[api] = _client_class(self, api)
        return cls(Credentials(key_id, signer), config=config, **options)

    def serve_rest(self, target: object) -> None:
        """Answer the REST requests of ``target``'s reconciliation round from the gateway's
        pages in memory, on the simulated clock, until the round ends: each request answered
        `rest_latency` seconds after it is asked (the pages read halfway), a 429 or 5xx asked
        again when the round says; pages that fail (raise) give no answer, asked again as a
        server's silence is live. The round's events reach the session as a live companion's
        do. A simulated session made with ``rest=`` does this by itself when its round starts;
        call it for a `Driver` or a `Reconciliation` of a loop of your own. Returns at once:
        the round runs as the simulation runs.

        Args:
            target: a session of this simulation made with ``rest=``, a `Driver` made with
                ``rest=``, or a `Reconciliation`.

        Raises:
            LocalProtocolError: the simulation serves no REST pages (``Simulation(rest=True)``),
                or the target has no reconciliation.
        """
        app = self.rest
        if app is None:
            raise LocalProtocolError(
                "this simulation serves no REST pages: make it with Simulation(..., rest=True)"
            )
        port = RestPort(target)
        half = self.rest_latency / 2
        scheduler = self.scheduler

        def ask() -> None:
            now = self.time()
            active, request, wake = port.step(now)
            if not active:
                return
            if request is None:  # waiting after a 429 / 5xx (or another companion's request)
                scheduler.call_at(wake if wake is not None and wake > now else now + 0.05, ask)
                return
            scheduler.call_at(now + half, arrive, request)

        def arrive(request: RestRequest) -> None:
            query = urlencode(list(request.params))
            target = request.path + (f"?{query}" if query else "")
            try:
                status, headers, body = app.handle(
                    request.method, target, dict(request.headers), self.time()
                )
            except Exception as exc:  # the pages' own failure: no answer, as a server's crash
                failed: RestResponse | str = f"the REST pages failed: {type(exc).__name__}: {exc}"
            else:
                failed = RestResponse(status, body, headers)
            scheduler.call_at(self.time() + half, answer, failed)

        def answer(response: RestResponse | str) -> None:
            port.answer(response, self.time())
            ask()

        scheduler.call_soon(ask)

    def run_for(self, seconds: float) -> None:
        """Run the simulation for ``seconds`` of simulated time, everything due meanwhile done
        (heartbeats, timers, what the gateway sends): the blocking API's `time.sleep`.

        Raises:
            SimulationStalled: past ``max_time``.
            LocalProtocolError: called during `run_asyncio` or `run_trio`.
        """
        until = self.clock.time() + seconds
        self.run_once(until)
        while self.clock.time() < until:
            self.run_once(until)

    def run_asyncio(self, main: Coroutine[Any, Any, T]) -> T:
        """Run the coroutine ``main`` to its end on an asyncio loop of the simulation (its
        ``time()`` the simulated clock, its connections in memory), as `asyncio.run` would;
        asyncio clients of this simulation work in it.

        Returns:
            What ``main`` returned.

        Raises:
            SimulationStalled: as `advance` (the run stops there).
            LocalProtocolError: a run is already under way.
        """
        self._begin("asyncio")
        self.loop = loop = SimLoop(self)
        try:
            return loop.run_until_complete(main)
        finally:
            try:
                _cancel_tasks(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                self.loop, self._running = None, None

    def run_trio(self, main: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``main(*args)`` to its end under `trio.run`, on a `trio.testing.MockClock` with
        ``autojump_threshold=0`` set to the simulated clock (which then follows it); trio
        clients of this simulation work in it. A world task of the run's own moves the
        bytes and fires the gateway's timers. trio's scheduler draws the order of the tasks it
        wakes together from the simulation's seed, the same way whatever the process imported
        before (hypothesis switches it), and is put back as it was after the run: a run is the
        same byte for byte in any process.

        Returns:
            What ``main`` returned.

        Raises:
            SimulationStalled: as `advance` (``main`` is cancelled).
            LocalProtocolError: a run is already under way.
            ImportError: trio is not installed (the ``trio`` extra).
        """
        import trio
        import trio.testing

        self._begin("trio")
        mock = trio.testing.MockClock(autojump_threshold=0)
        mock.jump(self.clock.time())
        failure: list[BaseException] = []

        async def run() -> T:
            with trio.CancelScope() as scope:
                trio.lowlevel.spawn_system_task(self._world, mock, scope, failure)
                return await main(*args)
            raise failure[0]

        self.clock.follow(mock.current_time)
        try:
            with _trio_scheduling(self.seed):
                return trio.run(run, clock=mock)
        finally:
            self.clock.follow(None)
            self._running = None

    # -- inside -----------------------------------------------------------------------------

    def _begin(self, api: str) -> None:
        if self._running is not None:
            raise LocalProtocolError(f"Simulation.run_{self._running} is under way already")
        self._unpark()  # the loops of asyncio and trio wake at the scheduler's deadlines
        self._running = api

    def _record(self, session_type: str, connection: int, sender: str, data: bytes) -> None:
        if sender == "client":
            for hear in self.client_listeners:
                hear(data)
        if not self.record_wire and not self.wire_listeners:
            return
        record = WireRecord(self.clock.time(), session_type, connection, sender, data)
        if self.record_wire:
            self.wire.append(record)
        for listener in self.wire_listeners:
            listener(record)

    def _tick(self) -> object:
        """The gateway's expiry ticker (GTD and Day orders), every second as when listening;
        a second with nothing due (`Exchange.tick_due`) costs no exchange call and is `QUIET`
        (no wait wakes for it)."""
        gateway = self.gateway
        exchange = gateway.exchange
        if exchange.tick_due(gateway.exchange_now(gateway.timers.time())):
            gateway.tick()
            self.scheduler.call_later(1.0, self._ticker)
            return None
        if self._parks and self._running is None and not exchange.tick_due(math.inf):
            # parked where `call_later` would put it
            self._parked = (self.clock.time() + 1.0, self.scheduler.reserve())
            return QUIET
        self.scheduler.call_later(1.0, self._ticker)
        return QUIET

    _parks = True
    """Whether the ticker parks (`_parked`: its timer out of the heap, in a blocking run) while
    the exchange has nothing that can come due (`Exchange.tick_due` at ``math.inf`` False),
    when each second would only be skipped; `Exchange.due_listener` brings it back
    (`_unpark`). False: every second, skipped (the differential tests' general path)."""

    def _unpark(self) -> None:
        """The parked ticker's timer back (something can come due, or a run of asyncio or trio
        begins: their loops wake at the scheduler's deadlines), where the ticker every second
        would be: at the second it was parked at, in its place, while the clock has not passed
        it; else at its first second after now, after the callbacks asked for so far but
        before the feed's next message when that one was asked for after it (`Feed.tie`;
        docs/maintainers/decisions.md, "The parked ticker")."""
        parked = self._parked
        if parked is None:
            return
        self._parked = None
        when, order = parked
        now = self.clock.time()
        if when < now:
            when = _seconds(when, now)[1]
            order = self.scheduler.reserve()
            feed = self._feed
            timer = None if feed is None else feed._timer
            if timer is not None and timer.when == when and feed.tie:
                # the feed's next message, due at that second, was asked for after the ticker
                # would have been (`Feed.tie`): the ticker just before it
                for _when, place, entry in self.scheduler._timers:
                    if entry is timer:
                        order = cast(int, place - 0.5)  # a number between two places
                        break
        self.scheduler.push((when, order), self._ticker)

    def _stall(self) -> None:
        """Raise `SimulationStalled` as the parked ticker's quiet seconds would at `max_time`:
        the clock moved to the last of them within it, then past it."""
        assert self._parked is not None
        when = self._parked[0]
        limit = self.clock.start + self.max_time
        if when <= limit:
            last, when = _seconds(when, limit)
            if last > self.clock._now:
                self.clock._now = last
        self.advance(when)

    def skip_tick(
        self, entry: tuple[float, int, Timer], before: float = -math.inf, last: float = math.inf
    ) -> bool:
        """When ``entry``, the first of the scheduler's timers, is the gateway's ticker due at a
        second with nothing due (`Exchange.tick_due`): what its call would do, without it (the
        clock moved to it, the ticker due a second later, in its place), and True; else False
        (a loop of the scheduler's callbacks of its own: `Feed.run`).

        The seconds after it strictly before ``before`` and at most ``last`` with nothing due
        are skipped with it, in one step: the caller says nothing else runs before then
        (nothing runs in between, so `tick_due` cannot turn true but by time, and it stays
        true once it is: the last of them is the one to ask). Never past ``max_time``: with
        nothing else left and no end given, the next call's `advance` stalls there."""
        when, _order, timer = entry
        if timer.callback != self._ticker:
            return False
        last = min(last, self.clock.start + self.max_time)
        gateway = self.gateway
        due, now = gateway.exchange.tick_due, gateway.exchange_now
        if due(now(when)):
            return False
        nxt = when + 1.0  # as the ticker's `call_later(1.0)` from each second
        if nxt < before and nxt <= last:
            later = when
            while nxt < before and nxt <= last:
                later, nxt = nxt, nxt + 1.0
            if due(now(later)):  # one of them is due: one second at a time
                nxt = when + 1.0
            else:
                when = later
        self.advance(when)
        if self._parks and self._running is None and not due(math.inf):
            heapq.heappop(self.scheduler._timers)  # nothing can come due: parked (`_parks`)
            self._parked = (nxt, self.scheduler.reserve())
            return True
        timer.when = nxt
        heapq.heapreplace(self.scheduler._timers, (timer.when, self.scheduler.reserve(), timer))
        return True

    async def _world(self, mock: Any, scope: Any, failure: list[BaseException]) -> None:
        """The world task of `run_trio`: runs what is due, then sleeps until something becomes
        due. It sleeps until a hair (one float step) before the next deadline, then moves trio's
        clock to it itself: what is due then runs before any task that trio wakes at that
        instant (a ``trio.sleep`` ending with a heartbeat), as under the other APIs, and so
        the same way on every run. A failure cancels the run (`run_trio` raises it)."""
        import trio

        scheduler, limit = self.scheduler, self.clock.start + self.max_time
        try:
            while True:
                scheduler.run_due()
                woken = trio.Event()
                scheduler.waker = woken.set
                due = scheduler.next_deadline()
                with trio.move_on_at(math.nextafter(due, -math.inf)):
                    await woken.wait()
                scheduler.waker = None
                now = mock.current_time()
                if not woken.is_set() and now < due:
                    if due > limit:
                        self.advance(due)  # raises SimulationStalled
                    mock.jump(due - now)
                elif now > limit:  # a task's own deadline took trio past it
                    self.advance(now)
        except Exception as exc:
            failure.append(exc)
            scope.cancel()


@contextlib.contextmanager
def _trio_scheduling(seed: int) -> Iterator[None]:
    """trio's scheduler, the same in every process for a trio run of a simulation (then as it
    was). trio runs the tasks woken together in a random order, drawn from a generator of its
    own that the OS seeds: it is seeded from the simulation's seed. How it draws that order
    depends on the process: importing hypothesis runs trio's hypothesis plugin, which switches
    the scheduler for good from reversing each batch half the time to sorting it and shuffling
    it (other draws, so other bytes): the run uses the first way, a fresh process's, whatever
    was imported before it. Both are private names of trio, which is pinned
    (docs/maintainers/decisions.md, "A process state in the simulation's trio runs")."""
    import trio._core._run as scheduler

    draws, deterministic = scheduler._r.getstate(), scheduler._ALLOW_DETERMINISTIC_SCHEDULING
    scheduler._r.seed(seed)
    scheduler._ALLOW_DETERMINISTIC_SCHEDULING = False  # type: ignore[misc]  # trio's Final
    try:
        yield
    finally:
        scheduler._ALLOW_DETERMINISTIC_SCHEDULING = deterministic  # type: ignore[misc]
        scheduler._r.setstate(draws)


def _cancel_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the run left running and let it finish (as `asyncio.run` does)."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def _client_class(simulation: Simulation, api: str) -> type[Any]:
    """The client class of ``simulation`` for ``api``: the blocking one is the core's (its pump
    needs no loop), the asyncio and trio ones their adapters' (imported here, when asked)."""
    if api == "blocking":
        return blocking_client_class(simulation)
    from ._inmemory import client_class

    cls: type[Any] = client_class(simulation, api)
    return cls

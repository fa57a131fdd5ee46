"""One accepted connection of the mock gateway: a pump over its `AcceptorDriver`.

Each transport callback is one step of the driver (``data_received`` -> `Received`, the timer
-> `WOKE`, ``connection_lost`` -> `Lost`; `kalshi_fix_sansio.client.steps`), the same call the
clients' adapters make; then the driver's events go to the exchange (the gateway's
`Router.serve_events`), and what every session touched has queued is written (`flush`: a
`WOKE` step of each). The pump performs the actions and decides nothing: `Write` (then
`Buffered` with what the transport holds), `WakeAt` (one timer), `Disconnect` (close, or abort
when the bytes waiting are to be dropped). The driver decides the rest: timers, the slow-peer
verdict, when the connection ends and the faults' effects. Time and the timer come from the
gateway's ``timers`` (`gateway.timers`: the wall clock and the asyncio loop, or a simulation's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ...client.pump import AcceptorDriver
from ...client.steps import START, WOKE, Action, Buffered, Disconnect, Lost, Received, WakeAt, Write
from ...session.machine import Session
from ...session.store import MemoryStore, MessageStore
from .net import Pipe

if TYPE_CHECKING:
    from .timers import Cancellable, Timers


class Gateway(Protocol):
    """What a connection calls of its gateway (`kalshi_fix_sansio.simulator.gateway.router.Router`)."""

    timers: Timers
    log: list[str]

    def accept(self, conn: Connection, now: float) -> None: ...

    def sync_hang(self, conn: Connection) -> None: ...

    def serve_events(self, conn: Connection, now: float) -> None: ...

    def drop(self, conn: Connection) -> None: ...


__all__ = ["Connection"]


class KeyedStore:
    """A store that picks the per-API-key store once the Logon says who is connecting. A
    method of the store in use is looked up once, then kept here until `target` changes (the
    session numbers every message it sends through its store)."""

    def __init__(self) -> None:
        self.target = MemoryStore()

    @property
    def target(self) -> MessageStore:
        """The store in use."""
        return self._target

    @target.setter
    def target(self, store: MessageStore) -> None:
        self.__dict__.clear()  # the methods kept are the last store's
        self._target = store
        self.forwards_to_memory = store if type(store) is MemoryStore else None
        """The store in use when it is a `MemoryStore` (None: another kind): every call here
        goes to it, so the session's send reads and sets its numbers directly
        (`Session.send_encoded_now`), as its methods here would."""

    def __getattr__(self, name: str) -> Any:
        if name == "_target":  # not set yet (a copy being made): no store to ask
            raise AttributeError(name)
        value = getattr(self._target, name)
        if callable(value):  # a method bound to the store in use: found here from now on
            self.__dict__[name] = value
        return value


class Connection(asyncio.Protocol):
    """The transport callbacks of one accepted connection (the driver is made in
    ``connection_made``: the gateway's `Router.accept`)."""

    driver: AcceptorDriver
    store: KeyedStore

    def __init__(self, gateway: Gateway, session_type: str) -> None:
        self.gateway = gateway
        self.session_type = session_type
        self.session_id = ""
        self.index = 0
        self.api_key: str | None = None
        self.cancel_on_disconnect = False
        self.dropped = False  # the gateway is done with it (`Router.drop`)
        self.transport: asyncio.Transport | None = None
        self._timer: Cancellable | None = None

    @property
    def session(self) -> Session:
        """The connection's acceptor `Session`."""
        return self.driver.session

    @property
    def logged_on(self) -> bool:
        """The client's Logon was accepted on this connection."""
        return self.driver.logged_on

    # -- the transport's callbacks: one driver step each --------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        now = self.gateway.timers.time()
        self.gateway.accept(self, now)
        self.perform(self.driver.step(START, now), now)

    def data_received(self, data: bytes) -> None:
        now = self.gateway.timers.time()
        gateway = self.gateway
        gateway.sync_hang(self)
        self.perform(self.driver.step(Received(data), now), now)
        gateway.serve_events(self, now)

    def eof_received(self) -> bool | None:
        self.data_received(b"")
        return None  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self.dropped:
            now = self.gateway.timers.time()
            self.driver.step(Lost(f"read failed: {exc}" if exc else "closed"), now)
            self.gateway.drop(self)

    def _fire(self) -> None:
        self._timer = None
        now = self.gateway.timers.time()
        self.gateway.sync_hang(self)
        driver = self.driver
        transport = self.transport
        if transport is not None and not transport.is_closing():
            self.perform(driver.step(Buffered(transport.get_write_buffer_size()), now), now)
        self.perform(driver.step(WOKE, now), now)
        self.gateway.serve_events(self, now)

    # -- the actions --------------------------------------------------------------------------

    def flush(self, now: float) -> None:
        """Write what the driver gives out now (the exchange sent on its session), and do
        what else it says."""
        self.perform(self.driver.step(WOKE, now), now)

    def perform(self, actions: Sequence[Action], now: float) -> None:
        """Do what the driver said, in order."""
        for action in actions:
            if type(action) is Write:
                self.write(action.data, now)
            elif type(action) is WakeAt:
                self._arm(action.deadline, now)
            elif type(action) is Disconnect:
                self.close(action.abort)

    def write(self, data: bytes, now: float) -> None:
        """Write ``data`` (what the driver's `Write` says); the driver is told when the
        transport buffers it."""
        transport = self.transport
        if type(transport) is Pipe:  # a simulation's: it buffers nothing, and drops a write
            transport.write(data)  # once it is closing (the checks below, for any transport)
            return
        if transport is None or transport.is_closing():
            return
        transport.write(data)
        if size := transport.get_write_buffer_size():
            self.perform(self.driver.step(Buffered(size), now), now)

    def close(self, abort: bool = False) -> None:
        """Close (after what is written, unless ``abort``: the bytes waiting are dropped) and
        let the gateway forget it."""
        self._disarm()
        transport = self.transport
        if transport is not None:
            if abort:  # nothing waiting will reach the peer: say why it went
                self.gateway.log.append(f"{self.session_id}: {self.driver.close_reason}")
                transport.abort()
            else:
                transport.close()
        if not self.dropped:
            self.gateway.drop(self)

    def abort(self) -> None:
        """Close now, dropping what waits for the peer (the gateway stops, or a network
        fault)."""
        self._disarm()
        if self.transport is not None:
            self.transport.abort()

    def _arm(self, deadline: float, now: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.gateway.timers.call_later(max(deadline - now, 0.0), self._fire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

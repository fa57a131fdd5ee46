"""One accepted connection of the mock gateway: a pump over its `AcceptorDriver`.

Each transport callback is one driver call (``data_received`` -> `AcceptorDriver.receive_data`,
a timer -> `AcceptorDriver.handle_timer`), then the driver's events go to the exchange (the
gateway's `Router.serve_events`), then what every session touched has queued is written, one
write per connection; then the timer is re-armed when the driver asks for a sooner wake-up
(`LoopRules.sleeping` / `LoopRules.wake_needed`). The driver decides everything else: timers,
the slow-peer verdict, when the connection ends and the faults' effects.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from .._acceptor import AcceptorDriver
from ..session import Session

if TYPE_CHECKING:
    from .router import Router, _KeyedStore

__all__ = ["Connection"]


class Connection(asyncio.Protocol):
    """The transport callbacks of one accepted connection (the driver is made in
    ``connection_made``: the gateway's `Router.accept`)."""

    driver: AcceptorDriver
    store: _KeyedStore

    def __init__(self, gateway: Router, session_type: str) -> None:
        self.gateway = gateway
        self.session_type = session_type
        self.session_id = ""
        self.index = 0
        self.api_key: str | None = None
        self.cancel_on_disconnect = False
        self.dropped = False  # the gateway is done with it (`Router.drop`)
        self.transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._asleep = False  # a timer is armed for the driver's `sleeping` deadline

    @property
    def session(self) -> Session:
        """The connection's acceptor `Session`."""
        return self.driver.session

    @property
    def logged_on(self) -> bool:
        """The client's Logon was accepted on this connection."""
        return self.driver.logged_on

    # -- the transport's callbacks: one driver call each ------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.gateway.accept(self, time.time())
        self.flush(time.time())

    def data_received(self, data: bytes) -> None:
        now = time.time()
        gateway = self.gateway
        gateway.sync_hang(self)
        self.driver.receive_data(data, now)
        gateway.serve_events(self, now)

    def eof_received(self) -> bool | None:
        self.data_received(b"")
        return None  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self.dropped:
            self.driver.connection_lost(time.time(), f"read failed: {exc}" if exc else "closed")
            self.gateway.drop(self)

    def _fire(self) -> None:
        self._timer = None
        self._asleep = False
        driver = self.driver
        driver.awake()
        now = time.time()
        self.gateway.sync_hang(self)
        transport = self.transport
        if transport is not None:
            driver.write_buffered(transport.get_write_buffer_size(), now)
        driver.handle_timer(now)
        self.gateway.serve_events(self, now)

    # -- out --------------------------------------------------------------------------------

    def flush(self, now: float) -> None:
        """Write what the driver gives out now; close the connection when the driver is done
        with it, else re-arm the timer if the driver needs a sooner wake-up."""
        driver = self.driver
        transport = self.transport
        data = driver.data_to_send(now)
        if transport is None or transport.is_closing():
            return
        if data:
            transport.write(data)
            driver.write_buffered(transport.get_write_buffer_size(), now)
        if not driver.wants_transport:
            self.close()
        elif not self._asleep or driver.wake_needed:
            self._arm(now)

    def close(self) -> None:
        """Close (after what is written, unless the driver counts the connection as lost) and
        let the gateway forget it."""
        self._disarm()
        transport = self.transport
        if transport is not None:
            if self.driver.abort:  # nothing waiting will reach the peer: say why it went
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

    def _arm(self, now: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.driver.sleeping()
        self._asleep = True
        if deadline is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(deadline - now, 0.0), self._fire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._asleep = False

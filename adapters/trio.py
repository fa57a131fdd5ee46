"""Trio adapter: a Kalshi FIX session in a trio program.

    from kalshi_fix_sansio.adapters.trio import FixClient

    async def main() -> None:
        async with FixClient.from_env("demo").market_data() as md:
            md.send(subscribe(["HIGHNY-23DEC31"]), resubscribe=True)   # no await: it queues
            async for event in md.events(timeout=30):
                print(event)

    trio.run(main)

A pump over the core's `Driver`, which makes every decision. It connects with
`trio.open_tcp_stream`, then does TLS (`ssl_context_for`) in memory on the connected socket
(an `ssl.SSLObject` over two BIOs: one ``recv`` per read, and TLS never waits on the socket;
the same adapter on trio's stream API (`trio.SSLStream`, ``receive_some`` / ``send_all``),
measured against this path, took 2.2x the instructions and 1.4x the system calls per order:
docs/maintainers/performance-notes.md). ``async with`` opens a nursery (or pass yours to `TrioSession.open`) for
the session's task, which connects, sleeps until the driver's next deadline, fires its timers,
finishes writes and runs ``on_event`` / ``on_reconnect``. The task that waits (`next_event`,
`wait_for`, `place`...) reads the socket itself and feeds the driver, so a report reaches it
without a task switch, and with no cancel scope per read: the session's task ends the read at
the wait's deadline (`trio.lowlevel.notify_closing` wakes it). A reader task per connection
reads while no task waits (from `IDLE_HANDOFF` after the last one read), so the tracker stays
current. `TrioSession.send` is synchronous: its bytes go to the socket at once (what it cannot
take yet, the session's task writes, in order), so a forgotten ``await`` cannot lose a message
(and a wrong ``await`` fails loudly).
"""

from __future__ import annotations

import contextlib
import math
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, TypeVar

try:
    import trio
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the trio adapter needs trio: pip install 'kalshi-fix-sansio[trio]'") from exc

from kalshi_fix_sansio._callers import Readers, Wait
from kalshi_fix_sansio._clientbase import MAX_QUEUED_EVENTS, ClientBase, ConnectOptions
from kalshi_fix_sansio._endpoints import loopback_addresses
from kalshi_fix_sansio._sessionbase import SessionBase
from kalshi_fix_sansio._tlsconfig import connect_error
from kalshi_fix_sansio._transport import READ_CHUNK
from kalshi_fix_sansio.catchup import CatchUpComplete, CatchUpFailed, CatchUpStarted, ExecCursor
from kalshi_fix_sansio.client import IDLE_HANDOFF
from kalshi_fix_sansio.driver import (
    Driver,
    EventQueueOverflow,
    FallingBehind,
    MarketDataFolded,
    QueuePolicy,
)
from kalshi_fix_sansio.events import Event
from kalshi_fix_sansio.killswitch import KillReport, TradingHalted
from kalshi_fix_sansio.steps import (
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
from kalshi_fix_sansio.supervisor import Disconnected, Reconnected, Reconnecting

from ._async import AsyncAPI, AsyncKillAll, deliver
from ._sockio import read_fact, write_now
from ._tls import MemoryTLS

__all__ = [
    "MAX_QUEUED_EVENTS",
    "CatchUpComplete",
    "CatchUpFailed",
    "CatchUpStarted",
    "Disconnected",
    "EventQueueOverflow",
    "ExecCursor",
    "FallingBehind",
    "FixClient",
    "KillReport",
    "MarginFixClient",
    "MarketDataFolded",
    "QueuePolicy",
    "Reconnected",
    "Reconnecting",
    "TradingHalted",
    "TrioSession",
]

T = TypeVar("T")
EventCallback = Callable[[Event], Awaitable[None] | None]
ReconnectHook = Callable[["TrioSession"], Awaitable[None] | None]
_STREAM_ERRORS: Final = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


def _poke(sock: socket.socket) -> None:
    """End every wait on ``sock`` (ClosedResourceError): its waiters look again."""
    trio.lowlevel.notify_closing(sock)


def _close(sock: socket.socket) -> None:
    _poke(sock)
    sock.close()


class _Tls(MemoryTLS):
    """TLS in memory (`_tls.MemoryTLS`) on the raw socket: the session moves its bytes, one
    ``recv`` per read."""

    __slots__ = ("closed",)

    def __init__(self, context: ssl.SSLContext, hostname: str | None) -> None:
        super().__init__(context, hostname)
        self.closed = False  # the peer's close_notify came after the plaintext `recv` returned

    def recv(self, sock: socket.socket) -> Received | Lost | None:
        """`read_fact` through TLS: the plaintext read (``b""``: the peer closed; when some
        came, `closed` says whether the peer's close_notify came after it), `Lost` when the
        read or TLS failed, or None: no whole record yet."""
        fact = read_fact(sock)
        if type(fact) is not Received or not fact.data:
            return fact
        try:
            out, self.closed = self.open(fact.data)
        except ssl.SSLError as exc:
            return Lost(f"read failed: {exc!r}")
        return Received(out) if out or self.closed else None

    async def handshake(self, tcp: trio.SocketStream) -> _Tls:
        while True:
            done = self.shake()
            if out := self.to_send():
                await tcp.send_all(out)
            if done:
                return self
            if data := await tcp.receive_some(READ_CHUNK):
                self.incoming.write(data)
            else:
                self.incoming.write_eof()  # the handshake's next step raises SSLEOFError


async def _open(
    options: ConnectOptions, context: ssl.SSLContext | None
) -> tuple[socket.socket, _Tls | None]:
    """A connected non-blocking socket to ``options.endpoint``, and its TLS with ``context``
    (plain TCP only to checked loopback addresses), within ``options.connect_timeout``
    (`trio.TooSlowError`)."""
    ep = options.endpoint
    with trio.fail_after(options.connect_timeout):
        if context is None:
            rows = await trio.socket.getaddrinfo(ep.host, ep.port, type=trio.socket.SOCK_STREAM)
            tcp = await trio.open_tcp_stream(loopback_addresses(ep, rows)[0], ep.port)
        else:
            tcp = await trio.open_tcp_stream(ep.host, ep.port)
        tls = None
        try:
            if context is not None:
                tls = await _Tls(context, ep.server_hostname).handshake(tcp)
        except BaseException:
            await trio.aclose_forcefully(tcp)
            raise
    # the connected socket (TCP_NODELAY), driven here from now on (non-blocking)
    sock = socket.socket(fileno=tcp.socket.detach())
    sock.setblocking(False)
    return sock, tls


class _Alarm:
    """Wakes the session's task (`_Tasks.wake` sets it): ends its nap, or the next
    one at once when it rang between naps."""

    def __init__(self) -> None:
        self.rung = False
        self.nap = trio.CancelScope()  # the task's nap (under way, or the last one)

    def set(self) -> None:
        self.rung = True
        self.nap.cancel()

    def by(self, deadline: float) -> None:
        """End the nap under way at ``deadline`` at the latest."""
        if deadline < self.nap.deadline:
            self.nap.deadline = deadline

    def sleep(self, seconds: float) -> trio.CancelScope:
        """The next nap: ``seconds`` long, over at once if rung since the last one ended."""
        self.nap = trio.CancelScope(deadline=trio.current_time() + seconds)
        if self.rung:
            self.nap.cancel()
        return self.nap


class _Tasks:
    """The trio pump of one session (see the module docstring): its tasks and its socket."""

    def __init__(self, session: SessionBase) -> None:
        self.session, self.host = session, session._host
        self.host.perform = self.perform
        self.changed: trio.Event = trio.Event()  # the waiting tasks look again when set
        self.kick: _Alarm = _Alarm()
        self.scope: trio.CancelScope | None = None  # the session's task
        self.done = trio.Event()  # the session's task ended
        self.sock: socket.socket | None = None  # written by whoever has bytes for it
        self.tls: _Tls | None = None
        self.unsent = b""  # what the socket did not take yet: the session's task writes it
        self.readers = Readers(IDLE_HANDOFF)  # who reads the socket: the core's rule
        self.until = math.inf  # when the session's task pokes a waiting task's read
        self.agenda = Agenda()  # the driver's answers for later: wake at, connect, end
        self.time: Callable[[], float] = trio.current_time  # once open: its run's clock, direct

    # -- what the session asks (`AsyncPump`) -------------------------------------------------

    def now(self) -> float:
        return self.time()

    async def drive(self, wait: Wait[T]) -> T:
        try:
            now = wait.now
            while (deadline := wait.poll(now)) is not None:
                await self._wait_changed(deadline)
                now = self.time()
        except BaseException:
            wait.close()  # failed or cancelled: the wait's own clean-up runs now
            raise
        return wait.result

    def wake(self) -> None:
        """Wake the waiting tasks (the one reading the socket: poked) and the session's task."""
        self.changed.set()
        self.kick.set()
        if self.sock is not None and self.readers.caller_reads():
            _poke(self.sock)  # e.g. `run`'s ``until`` looks at what the callbacks did

    def start(self, nursery: trio.Nursery, sup: Driver, context: ssl.SSLContext | None) -> None:
        """Start the session's task in ``nursery``."""
        self.time = trio.lowlevel.current_clock().current_time  # what trio.current_time asks
        self.done = trio.Event()
        self.agenda = Agenda()
        nursery.start_soon(self._run, sup, context)

    async def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and end the task."""
        sup, host = self.host.driver, self.host
        if sup is not None:
            self.perform(sup, sup.step(CLOSE, host.clock()))
            self.wake()
            if self.scope is not None:  # the session's task ends by then at the latest
                self.scope.deadline = trio.current_time() + self.session.config.logout_timeout + 1
            with trio.CancelScope(shield=True):
                await self.done.wait()

    def perform(self, sup: Driver, actions: Sequence[Action]) -> None:
        """Do what the driver said, in order: write to the socket (what it cannot take yet,
        the session's task writes), the session's task connects, sleeps until `WakeAt`,
        closes the socket on `Disconnect` and ends on `Finished`."""
        for action in actions:
            if type(action) is Write:
                self._write(sup, action.data)
            elif type(action) is Disconnect:
                sock, self.sock, self.unsent = self.sock, None, b""
                if sock is not None:
                    _poke(sock)  # the readers stop; the session's task closes it
                self.kick.set()
            elif self.agenda.note(action):
                self.kick.set()  # the task sleeps until it looks again

    # -- waiting: the task that waits reads the socket itself ---------------------------------

    async def _wait_changed(self, deadline: float) -> None:
        """Wait until something changes or ``deadline``, reading the socket when nobody else does."""
        sup, sock, readers = self.host.driver, self.sock, self.readers
        if sock is not None and sup is not None:
            claim = readers.claim(self)  # one token: no task needs to know which waiter reads
            if claim == "read":
                return await self._read_once(sup, sock, deadline)
            if claim == "preempt":
                _poke(sock)  # the reader task hands the socket over
        changed = self.changed
        readers.enter()
        try:
            with trio.move_on_at(deadline):
                await changed.wait()
        finally:
            readers.leave()
        if self.changed is changed and changed.is_set():
            self.changed = trio.Event()

    def _fed(self, sup: Driver, fact: Received) -> None:
        """Step bytes read (``b""``: EOF); wake the waiting tasks (and the session's task
        when a callback is due); do what the driver says."""
        actions = self.host.received(sup, fact)
        self.changed.set()  # readers and `place` / `cancel` look again
        if actions:
            self.perform(sup, actions)
        if self.host.delivery.due(sup):
            self.kick.set()

    def _write(self, sup: Driver, data: bytes) -> None:
        """Write what waits, then ``data``, as far as the socket takes them now."""
        sock, tls = self.sock, self.tls
        if sock is None:
            return  # no connection: nothing to write them to
        if data and (log := self.host.message_log) is not None:
            log.sent(data, self.host.clock())
        if tls is not None and (data or tls.unsent or tls.outgoing.pending):
            data = tls.seal(data)
        if data or self.unsent:  # after most reads: nothing (no TLS or socket call)
            self.unsent, actions = write_now(sup, sock, self.unsent, data, self.host.clock)
            if actions:
                self.perform(sup, actions)
            if self.unsent:
                self.kick.set()  # the session's task waits for the socket to take them

    # -- the session's task ---------------------------------------------------------------

    async def _run(self, sup: Driver, context: ssl.SSLContext | None) -> None:
        try:
            with trio.CancelScope() as self.scope:
                self.perform(sup, sup.step(START, self.host.clock()))
                while not self.agenda.finished:
                    if self.agenda.connect_due:
                        self.agenda.connect_due = False
                        await self._serve(sup, context)
                    else:  # a backoff, or a close under way
                        rest = self.agenda.wake_at - self.host.clock()
                        if rest > 0:
                            with self.kick.sleep(rest):
                                await trio.sleep_forever()
                            self.kick.rung = False
                        self.perform(sup, sup.step(WOKE, self.host.clock()))
                    await deliver(self.session, sup, self)
            await deliver(self.session, sup, self)
        except Exception as exc:  # a local error (e.g. a refused address): raised to the caller
            self.host.crash = exc
        finally:
            self.host.running = self.host.opened = False
            self.done.set()
            self.wake()

    async def _serve(self, sup: Driver, context: ssl.SSLContext | None) -> None:
        """Connect, then serve the connection until the driver is done with it."""
        try:
            sock, tls = await _open(self.session.options, context)
        except (*_STREAM_ERRORS, trio.TooSlowError) as exc:
            error = connect_error(self.session.options.endpoint, context, exc)  # final: not retried
            self.perform(sup, sup.step(ConnectFailed(error), self.host.clock()))
            return
        self.sock, self.tls, self.unsent = sock, tls, b""
        self.readers.reset()
        try:
            self.perform(sup, sup.step(CONNECTED, self.host.clock()))  # the Logon
            if self.sock is not sock:  # closed while connecting
                return
            self.changed.set()  # a waiting task reads it
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read, sup, sock)
                while self.sock is sock:
                    if self.unsent:
                        self._write(sup, b"")
                    await deliver(self.session, sup, self)
                    if self.sock is not sock:
                        break
                    await self._idle(sup, sock)
                nursery.cancel_scope.cancel()
        finally:
            try:
                if self.sock is sock:  # cancelled from outside, or failed: log out, best effort
                    self.perform(sup, sup.step(CLOSE, self.host.clock()))  # may fail too
            finally:
                if self.sock is sock:
                    self.sock = None
                _close(sock)

    async def _idle(self, sup: Driver, sock: socket.socket) -> None:
        """Wait until kicked, the socket takes what waits for it, the driver's `WakeAt`
        (then `WOKE`) or the end of a waiting task's read (poked then)."""
        rest = min(self.agenda.wake_at - self.host.clock(), self.until - trio.current_time())
        with self.kick.sleep(max(rest, 0.0)), contextlib.suppress(trio.ClosedResourceError):
            if self.unsent:
                await trio.lowlevel.wait_writable(sock)
            else:
                await trio.sleep_forever()
        self.kick.rung = False
        if self.until <= trio.current_time():
            _poke(sock)
        self.perform(sup, sup.step(WOKE, self.host.clock()))

    async def _read(self, sup: Driver, sock: socket.socket) -> None:
        """The reader task (see the module docstring): reads while no task waits."""
        readers, me = self.readers, trio.lowlevel.current_task()
        while self.sock is sock:
            rest = readers.background(self.time(), me)
            await (trio.sleep(rest) if rest else self._read_once(sup, sock))

    async def _read_once(self, sup: Driver, sock: socket.socket, until: float = math.inf) -> None:
        """Read once, holding the socket: wait until it has bytes (or is poked: at ``until`` by
        the session's task), step them; then hand the socket back."""
        tls, self.until = self.tls, until
        if until < math.inf:
            self.kick.by(until)
        try:
            while sock is self.sock:  # the caller saw it open (no await since)
                try:
                    await trio.lowlevel.wait_readable(sock)
                except trio.ClosedResourceError:
                    return  # poked
                fact = read_fact(sock) if tls is None else tls.recv(sock)
                if fact is None:
                    continue  # nothing whole yet
                if type(fact) is Received:
                    self._fed(sup, fact)
                    if fact.data and tls is not None and tls.closed:
                        self._fed(sup, Received(b""))  # the peer's close_notify came after them
                    return
                self.perform(sup, sup.step(fact, self.host.clock()))  # the connection is lost
                break
            self.wake()
        finally:
            self.until = math.inf
            if self.readers.release(self.time()):
                self.changed.set()


class TrioSession(AsyncAPI):
    """One Kalshi FIX session over a trio-driven socket (``async with``: log on, then log out).

    Takes the arguments of `SessionBase`; ``on_event`` and ``on_reconnect`` run in the session's
    task, an awaitable result awaited; ``clock`` is the core's (trio's own times the waits).
    """

    _PUMP = _Tasks
    _pump: _Tasks
    _stack: contextlib.AsyncExitStack | None = None  # the nursery of `async with`

    async def __aenter__(self) -> TrioSession:
        stack = contextlib.AsyncExitStack()
        nursery = await stack.enter_async_context(trio.open_nursery())
        try:
            await self.open(nursery)
        except BaseException:
            await stack.aclose()  # not through the nursery: its error stays as it is
            raise
        self._stack = stack
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def open(self, nursery: trio.Nursery) -> None:
        """Connect and log on; the session's task runs in ``nursery`` until `aclose`.

        Raises:
            LogonRefused: Kalshi refused the Logon for good (its text is in the message).
            ConnectionFailed: every attempt the backoff allows failed.
            LocalProtocolError: the endpoint is not allowed, or the session is already open.
        """
        self._pump.start(nursery, *self._begin())
        await self._await_logon(self.aclose)

    async def aclose(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent."""
        await self._pump.close()
        self._end()


class FixClient(ClientBase[TrioSession], AsyncKillAll):
    """Kalshi FIX client for prediction (event contracts) on trio; sessions are `TrioSession`."""

    PRODUCT = "prediction"
    _SESSION = TrioSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on trio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"

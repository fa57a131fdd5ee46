"""The mock Kalshi FIX gateway: acceptor sessions on loopback ports around the pure `Exchange`.

Every session type of the product listens on its own port (Kalshi's real port numbers offset
from a base, or free ports). Each connection runs an acceptor `Session` (signature and
SendingTime checks, ResetSeqNumFlag rules, retransmission with a per-key store on KalshiRT /
KalshiPT); application messages go to the exchange and its answers are routed to the right
connections. `Faults` injects the failures clients must survive.

Run it from the CLI (``kalshi-fix mock-gateway``) or in-process::

    with MockGateway("prediction", keys={"key-1": public_key}) as gw:
        gw.seed_market("HIGHNY-23DEC31", bids=[(Decimal("0.40"), Decimal(10))])
        port = gw.ports["KalshiNR"]
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from .. import margin, prediction
from .._generated.common import Header
from .._generated.tables import SESSIONS
from .._message import Message
from .._states import State
from ..auth import PublicKey
from ..config import KALSHI_COMP_ID, Role, SessionConfig
from ..errors import FixError, RemoteProtocolError
from ..events import ApplicationMessage, CloseTransport, LoggedOn, LogonRejected
from ..framing import Frame, Framer, checksum
from ..session import Session, sending_time
from ..store import MemoryStore, MessageStore
from .engine import Exchange, Outbound

T = TypeVar("T")
REAL_BASE_PORT = 8228


@attrs.define
class Faults:
    """Failures the gateway injects (change them at any time, from any thread).

    Attributes:
        drop_after: close each connection after it has sent this many application messages.
        skip_seq: skip this many outbound MsgSeqNums once (the client sees a gap).
        duplicate_next: send the next application message a second time with PossDupFlag=Y.
        garble_next: corrupt the CheckSum of the next outbound frame.
        silent: the gateway hangs on the connections open when this is set: it stops reading,
            sending and heartbeating (a TestRequest goes unanswered); connections made later
            are served normally, so a client that reconnects recovers.
        delay: seconds to wait before each write.
        reject_next_logon: refuse the next Logon with this Logout text.
    """

    drop_after: int | None = None
    skip_seq: int = 0
    duplicate_next: bool = False
    garble_next: bool = False
    silent: bool = False
    delay: float = 0.0
    reject_next_logon: str | None = None


class _KeyedStore:
    """A store that picks the per-API-key store once the Logon says who is connecting."""

    def __init__(self) -> None:
        self.target: MessageStore = MemoryStore()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


@attrs.define(eq=False)
class _Conn:
    session_id: str
    session_type: str
    session: Session
    writer: asyncio.StreamWriter
    store: _KeyedStore
    api_key: str | None = None
    index: int = 0
    app_sent: int = 0
    logged_on: bool = False
    cancel_on_disconnect: bool = False
    framer: Framer = attrs.field(factory=Framer)


class MockGateway:
    """A local stand-in for Kalshi's FIX gateways (one product).

    Args:
        product: ``"prediction"`` or ``"margin"``.
        keys: API key id -> public key allowed to log on.
        host: the address to listen on (loopback by default).
        port_base: Kalshi's port numbers (8228-8233) are offset to start here; None picks free
            ports.
        ssl_context: a server TLS context (None: plain TCP, loopback only).
        seed: seed of the exchange's deterministic ids.
        heartbeat_interval: the HeartBtInt the gateway uses when a client asks for none.
    """

    def __init__(
        self,
        product: str = "prediction",
        *,
        keys: Mapping[str, PublicKey],
        host: str = "127.0.0.1",
        port_base: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        seed: int = 0,
        heartbeat_interval: int = 30,
    ) -> None:
        self.product = product
        self.keys = dict(keys)
        self.host = host
        self.port_base = port_base
        self.ssl_context = ssl_context
        self.heartbeat_interval = heartbeat_interval
        self.exchange = Exchange(product, seed=seed)
        self.faults = Faults()
        self.ports: dict[str, int] = {}
        self.session_types = [s.name for s in SESSIONS.values() if s.product == product]
        self._stores: dict[tuple[str, str], MessageStore] = {}
        self._conns: dict[str, _Conn] = {}
        self._by_key: dict[str, str] = {}
        # (API key, session type) -> exchange session id kept across RT / PT reconnects
        self._durable: dict[tuple[str, str], str] = {}
        self._durable_dollars: dict[tuple[str, str], bool] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._silent_upto: int | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._counter = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.log: list[str] = []

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on every session type's port (in the running event loop)."""
        self._loop = asyncio.get_running_loop()
        for name in self.session_types:
            spec = SESSIONS[(self.product, name)]
            port = 0 if self.port_base is None else self.port_base + spec.port - REAL_BASE_PORT
            server = await asyncio.start_server(
                self._handler(name), self.host, port, ssl=self.ssl_context
            )
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        """Expire GTD / Day orders on time even when no client is talking."""
        while True:
            await asyncio.sleep(1.0)
            self._route(self.exchange.tick(time.time()))

    def _handler(
        self, session_type: str
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            try:
                await self._serve(session_type, reader, writer)
            finally:
                if task is not None:
                    self._tasks.discard(task)

        return handle

    async def stop(self) -> None:
        """Close every connection and listening socket."""
        ticker = getattr(self, "_ticker", None)
        if ticker is not None:
            ticker.cancel()
        for server in self._servers:
            server.close()
        for conn in list(self._conns.values()):
            conn.writer.transport.abort()  # do not wait for clients that stopped reading
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()

    def start_in_thread(self) -> MockGateway:
        """Run the gateway's event loop in a daemon thread; returns once it listens.

        Returns:
            self.
        """
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            async def main() -> None:
                try:
                    await self.start()
                except BaseException as exc:  # pragma: no cover - reported to the caller
                    failure.append(exc)
                    ready.set()
                    return
                ready.set()
                while not self._stopped.is_set():
                    await asyncio.sleep(0.05)
                await self.stop()

            asyncio.run(main())

        self._thread = threading.Thread(target=run, name="mock-kalshi-gateway", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def close(self) -> None:
        """Stop a gateway started with `start_in_thread`."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> MockGateway:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- admin (thread-safe) ----------------------------------------------------------------

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the gateway's loop (safe from any thread) and return its result."""
        loop = self._loop
        if loop is None or self._thread is None or threading.current_thread() is self._thread:
            return fn()
        future = asyncio.run_coroutine_threadsafe(self._run(fn), loop)
        return future.result(10)

    async def _run(self, fn: Callable[[], T]) -> T:
        return fn()

    def seed_market(
        self,
        symbol: str,
        *,
        bids: list[tuple[Decimal, Decimal]] | None = None,
        asks: list[tuple[Decimal, Decimal]] | None = None,
    ) -> None:
        """Create a market with resting house liquidity (and tell subscribers)."""
        self.call(
            lambda: self._route(
                self.exchange.seed_market(symbol, bids=bids or [], asks=asks or [], now=time.time())
            )
        )

    def pause(self, *, exchange: bool = False) -> None:
        """Start a trading (or exchange) pause."""
        self.call(lambda: self._route(self.exchange.pause(time.time(), exchange=exchange)))

    def resume(self) -> None:
        """End the pause."""
        self.call(lambda: self._route(self.exchange.resume(time.time())))

    def settle(self, symbol: str, result: str) -> None:
        """Settle a market (prediction): cancels orders, sends settlement reports."""
        self.call(lambda: self._route(self.exchange.settle(symbol, result, time.time())))

    def connected(self) -> list[str]:
        """API keys with a logged-on session."""
        return self.call(lambda: sorted(self._by_key))

    # -- connections --------------------------------------------------------------------------

    def _logon_check(self, conn: _Conn) -> Callable[[Any], str | None]:
        def check(logon: Any) -> str | None:
            key = logon.header.sender_comp_id or ""
            text = self.faults.reject_next_logon
            if text:
                self.faults.reject_next_logon = None
                return text
            if key in self._by_key:
                return "already exists"
            conn.api_key = key
            store = self._stores.get((key, conn.session_type))
            if store is None or not conn.session.config.spec.retransmission:
                store = MemoryStore()
                self._stores[(key, conn.session_type)] = store
            conn.store.target = store
            return None

        return check

    async def _serve(
        self, session_type: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._counter += 1
        sid = f"{session_type}#{self._counter}"
        store = _KeyedStore()
        holder: list[_Conn] = []
        config = SessionConfig(
            sender_comp_id=KALSHI_COMP_ID,
            product=self.product,
            session_type=session_type,
            role=Role.ACCEPTOR,
            public_keys=self.keys,
            store=store,
            heartbeat_interval=self.heartbeat_interval,
            logon_check=lambda logon: self._logon_check(holder[0])(logon),
        )
        session = Session(config)
        conn = _Conn(sid, session_type, session, writer, store, index=self._counter)
        holder.append(conn)
        self._conns[sid] = conn
        session.start(time.time())
        try:
            while True:
                if self._hung(conn):
                    # a hung gateway: input ignored, nothing sent, no timers; a closed
                    # connection is still noticed so the API key is freed for a reconnect
                    try:
                        ignored = await asyncio.wait_for(reader.read(65536), 0.05)
                    except asyncio.TimeoutError:
                        continue
                    except (ConnectionError, OSError):
                        ignored = b""
                    if not ignored:
                        break
                    continue
                deadline = session.next_deadline()
                timeout = None if deadline is None else max(deadline - time.time(), 0.0)
                try:
                    data = await asyncio.wait_for(reader.read(65536), timeout)
                except asyncio.TimeoutError:
                    if self._hung(conn):
                        continue
                    session.handle_timer(time.time())
                    if not await self._pump(conn):
                        break
                    continue
                except (ConnectionError, OSError):
                    data = b""
                if data and self._hung(conn):
                    continue  # the gateway hung while this was on its way: ignored
                session.receive_data(data, time.time())
                if not await self._pump(conn) or not data:
                    break
        finally:
            await self._drop(conn)

    def _hung(self, conn: _Conn) -> bool:
        """The silent fault applies to this connection (open when the fault was set)."""
        if not self.faults.silent:
            self._silent_upto = None
            return False
        if self._silent_upto is None:
            self._silent_upto = self._counter
        return conn.logged_on and conn.index <= self._silent_upto

    async def _pump(self, conn: _Conn) -> bool:
        """Process the session's events; False when the connection must close."""
        session = conn.session
        keep = True
        try:
            for event in session.events():
                if isinstance(event, LoggedOn):
                    conn.logged_on = True
                    key = conn.api_key or event.sender_comp_id
                    logon: Any = event.logon
                    conn.cancel_on_disconnect = logon.cancel_orders_on_disconnect is True
                    durable = self._durable.get((key, conn.session_type))
                    if durable is not None and not event.reset_seq_nums:
                        # KalshiRT / KalshiPT continuity: the new connection takes over the
                        # exchange session, and what was produced meanwhile is in the store
                        self._conns.pop(conn.session_id, None)
                        conn.session_id = durable
                        self._conns[durable] = conn
                        self._by_key[key] = durable
                        continue
                    if durable is not None:
                        self._route(self.exchange.disconnect(durable, time.time()))
                        del self._durable[(key, conn.session_type)]
                    self._by_key[key] = conn.session_id
                    if conn.session.config.spec.retransmission:
                        self._durable[(key, conn.session_type)] = conn.session_id
                        self._durable_dollars[(key, conn.session_type)] = (
                            self.product == "margin" or logon.use_dollars is True
                        )
                    self._route(
                        self.exchange.connect(
                            conn.session_id,
                            key,
                            conn.session_type,
                            listener=logon.listener_session is True,
                            cancel_on_disconnect=logon.cancel_orders_on_disconnect is True,
                            use_dollars=logon.use_dollars is True,
                            settlement_reports=_wants_settlement(conn.session_type, logon),
                            preserve_original_order_qty=logon.preserve_original_order_qty is True,
                            use_expired_ord_status=logon.use_expired_ord_status is True,
                            now=time.time(),
                        )
                    )
                elif isinstance(event, ApplicationMessage):
                    self._route(self.exchange.handle(conn.session_id, event.message, time.time()))
                elif isinstance(event, (CloseTransport, LogonRejected)):
                    if isinstance(event, CloseTransport):
                        keep = False
                        self._release(conn)
                    self.log.append(f"{conn.session_id}: {event}")
        except RemoteProtocolError as exc:
            self.log.append(f"{conn.session_id}: {exc}")
            keep = False
        await self._flush(conn)
        return keep

    def _route(self, outbound: list[Outbound]) -> None:
        now = time.time()
        for out in outbound:
            conn = self._conns.get(out.session_id)
            if conn is None:
                self._store_offline(out, now)
                continue
            if not conn.logged_on:
                continue
            faults = self.faults
            if faults.skip_seq:
                store = conn.session.store
                store.set_next_sender_seq(store.next_sender_seq() + faults.skip_seq)
                faults.skip_seq = 0
            if out.message.MSG_TYPE == "3":
                self._send_reject(conn, out.message, now)
                continue
            try:
                conn.session.send(out.message, now)
            except FixError as exc:  # the exchange produced something the session refuses
                self.log.append(
                    f"{conn.session_id}: cannot send {type(out.message).__name__}: {exc}"
                )
                continue
            conn.app_sent += 1
            if faults.duplicate_next:
                faults.duplicate_next = False
                self._duplicate(conn)
            if self._loop is not None:
                self._loop.create_task(self._flush(conn))

    def _send_reject(self, conn: _Conn, reject: Message, now: float) -> None:
        """Send the exchange's session Reject (35=3) of a malformed field on ``conn``.

        This Reject answers an application message the session already accepted and consumed,
        as Kalshi does for a malformed OrderGroupID; `Session.reject` sends it with the next
        MsgSeqNum (a resend replaces it with a gap fill, as for every admin message).
        """
        session = conn.session
        if session.state is not State.ACTIVE:
            return
        fields: Any = reject
        try:
            session.reject(
                fields.ref_seq_num,
                fields.session_reject_reason,
                now,
                ref_tag_id=fields.ref_tag_id,
                ref_msg_type=fields.ref_msg_type,
                text=fields.text,
            )
        except FixError as exc:  # pragma: no cover - the engine references messages received
            self.log.append(f"{conn.session_id}: cannot send Reject: {exc}")
            return
        if self._loop is not None:
            self._loop.create_task(self._flush(conn))

    def _store_offline(self, out: Outbound, now: float) -> None:
        """A report for a KalshiRT / KalshiPT session whose client is away: keep it for resend."""
        for (key, session_type), sid in self._durable.items():
            if sid != out.session_id:
                continue
            store = self._stores.get((key, session_type))
            if store is None:
                return
            seq = store.next_sender_seq()
            header = Header(
                sender_comp_id=KALSHI_COMP_ID,
                target_comp_id=key,
                msg_seq_num=seq,
                sending_time=sending_time(now),
            )
            dialect = prediction if self.product == "prediction" else margin
            try:
                frame = dialect.encode(
                    out.message,
                    header,
                    use_dollars=self._durable_dollars.get((key, session_type), False),
                )
            except FixError as exc:  # pragma: no cover - the engine encodes everything it emits
                self.log.append(f"{sid}: cannot store {type(out.message).__name__}: {exc}")
                return
            store.save(seq, frame, now)
            return

    def _duplicate(self, conn: _Conn) -> None:
        """Queue the message just sent again with PossDupFlag=Y (same MsgSeqNum)."""
        session = conn.session
        seq = session.store.next_sender_seq() - 1
        frame = session._out[-1] if session._out else None  # the frame send() just queued
        if frame is not None:
            session._resend(frame, seq, time.time())

    async def _flush(self, conn: _Conn) -> None:
        data = conn.session.data_to_send()
        if not data:
            return
        faults = self.faults
        if faults.garble_next:
            data = self._apply_byte_faults(conn, data)
        if faults.delay:
            await asyncio.sleep(faults.delay)
        try:
            conn.writer.write(data)
            await conn.writer.drain()
        except (ConnectionError, OSError):
            return
        if faults.drop_after is not None and conn.app_sent >= faults.drop_after:
            conn.writer.close()

    def _apply_byte_faults(self, conn: _Conn, data: bytes) -> bytes:
        out = []
        conn.framer.feed(data)
        for item in conn.framer:
            if not isinstance(item, Frame):
                continue
            frame = item.data
            if self.faults.garble_next:
                self.faults.garble_next = False
                good = checksum(frame[: frame.rindex(b"10=")])
                frame = frame[:-4] + b"%03d\x01" % ((good + 1) % 256)
            out.append(frame)
        return b"".join(out)

    def _release(self, conn: _Conn) -> None:
        """The connection's session is over: free its API key at once."""
        if self._conns.get(conn.session_id) is conn:
            del self._conns[conn.session_id]
        if conn.api_key and self._by_key.get(conn.api_key) == conn.session_id:
            del self._by_key[conn.api_key]

    async def _drop(self, conn: _Conn) -> None:
        was_current = self._conns.get(conn.session_id) is conn
        self._release(conn)
        durable = conn.api_key is not None and (
            self._durable.get((conn.api_key, conn.session_type)) == conn.session_id
        )
        if conn.logged_on and (was_current or not durable):
            if durable and not conn.cancel_on_disconnect:
                pass  # KalshiRT / KalshiPT: the exchange session waits for the reconnect
            else:
                if durable and conn.api_key is not None:
                    self._durable.pop((conn.api_key, conn.session_type), None)
                self._route(self.exchange.disconnect(conn.session_id, time.time()))
        with contextlib.suppress(Exception):
            conn.writer.close()
            await asyncio.wait_for(conn.writer.wait_closed(), 1.0)


def _wants_settlement(session_type: str, logon: Any) -> bool:
    flag = (
        logon.receive_settlement_reports if hasattr(logon, "receive_settlement_reports") else None
    )
    if session_type == "KalshiPT":
        return flag is not False
    return flag is True

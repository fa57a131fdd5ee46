"""The mock Kalshi FIX gateway: acceptor sessions on loopback ports around the pure `Exchange`.

Every session type of the product listens on its own port (Kalshi's real port numbers offset
from a base, or free ports). Each connection runs an acceptor `Session` (signature and
SendingTime checks, ResetSeqNumFlag rules, retransmission with a per-key store on KalshiRT /
KalshiPT); application messages go to the exchange and its answers are routed to the right
connections. `Faults` injects the failures clients must survive.

Run it from the CLI (``kalshi-fix mock-gateway``) or in-process::

    with MockGateway("prediction", keys={"key-1": public_key}, tls=True) as gw:
        gw.seed_market("HIGHNY-23DEC31", bids=[(Decimal("0.40"), Decimal(10))])
        client = gw.client("key-1", signer)  # endpoints and the pinned certificate set

Which product a client speaks is not on the wire (a margin Logon is a prediction Logon without
some flags), so the gateway tells the products apart the way Kalshi does: by the API key,
which Kalshi issues per product. Keys given as ``other_product_keys`` are the other product's:
their Logon is refused with a Logout text naming the mismatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import ssl
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .. import margin, prediction
from .._generated.common import Header
from .._generated.tables import SESSIONS
from .._message import Message
from .._states import State
from ..adapters._aio import within
from ..auth import PublicKey, Signer
from ..config import KALSHI_COMP_ID, Role, SessionConfig
from ..errors import FixError, RemoteProtocolError
from ..events import ApplicationMessage, CloseTransport, LoggedOn, LogonRejected
from ..framing import Frame, Framer, checksum
from ..session import Session, sending_time
from ..store import MemoryStore, MessageStore
from .exchange import Exchange, Outbound
from .listening import Faults, GatewayError, is_loopback_host, is_wildcard_host, listen_error
from .tls import self_signed, server_context

if TYPE_CHECKING:
    from ..adapters import Endpoint

__all__ = ["REAL_BASE_PORT", "Faults", "GatewayError", "MockGateway"]

T = TypeVar("T")
REAL_BASE_PORT = 8228
_TLS_HANDSHAKE = b"\x16\x03"  # a TLS record header: handshake, version 3.x
PRODUCTS = ("prediction", "margin")
# the environment variables `kalshi-fix` reads the API key from, per product
ENV_PREFIX = {"prediction": "KALSHI_", "margin": "KALSHI_PERPS_"}


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
        ssl_context: a server TLS context (None: plain TCP, loopback only, unless ``tls``).
        tls: serve TLS with a fresh self-signed certificate for localhost / 127.0.0.1, written
            to a temporary directory removed by `close` (`certificate` is its path).
        certificate: the PEM file of the certificate ``ssl_context`` presents, for `client`
            and `command_line` to pin.
        other_product_keys: API keys of the other product (as Kalshi issues keys per
            product): their Logon is refused with a text naming the mismatch.
        seed: seed of the exchange's deterministic ids.
        heartbeat_interval: the HeartBtInt the gateway uses when a client asks for none.
        auto_list_markets: list a market, with an empty book, the first time an order (35=D) or
            an RFQ (35=R) names it, for quick experiments. False (the default): only
            `seed_market` lists markets; an order for another ticker is rejected as Kalshi
            rejects it (ExecutionReport 150=8, Text ``MARKET_NOT_FOUND``, OrdRejReason 1).

    Raises:
        ValueError: an unknown product, ``tls`` with ``ssl_context``, or a key registered for
            both products.
    """

    def __init__(
        self,
        product: str = "prediction",
        *,
        keys: Mapping[str, PublicKey],
        host: str = "127.0.0.1",
        port_base: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        tls: bool = False,
        certificate: str | Path | None = None,
        other_product_keys: Mapping[str, PublicKey] | None = None,
        seed: int = 0,
        heartbeat_interval: int = 30,
        auto_list_markets: bool = False,
    ) -> None:
        if product not in PRODUCTS:
            raise ValueError(f"product must be 'prediction' or 'margin', got {product!r}")
        if tls and ssl_context is not None:
            raise ValueError("pass either tls=True or ssl_context, not both")
        self.product = product
        self.keys = dict(keys)
        self.other_product_keys = dict(other_product_keys or {})
        both = sorted(set(self.keys) & set(self.other_product_keys))
        if both:
            raise ValueError(f"API key {both[0]!r} is registered for both products")
        self.host = host
        self.port_base = port_base
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        self.certificate = Path(certificate) if certificate is not None else None
        if tls:
            self._tls_dir = tempfile.TemporaryDirectory(prefix="kalshi-mock-gateway-")
            cert, key = self_signed(self._tls_dir.name)
            ssl_context = server_context(cert, key)
            self.certificate = cert
        self.ssl_context = ssl_context
        self.heartbeat_interval = heartbeat_interval
        self.exchange = Exchange(product, seed=seed, auto_list_markets=auto_list_markets)
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
        self._writes: set[asyncio.Task[None]] = set()
        self._silent_upto: int | None = None
        # the connection whose input `_pump` is processing: flushed once when it is done
        self._pumping: _Conn | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._counter = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.log: list[str] = []

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on every session type's port (in the running event loop).

        Raises:
            GatewayError: a port cannot be bound (taken, or the host is not this machine's);
                nothing is left listening.
        """
        self._loop = asyncio.get_running_loop()
        for name in self.session_types:
            spec = SESSIONS[(self.product, name)]
            port = 0 if self.port_base is None else self.port_base + spec.port - REAL_BASE_PORT
            try:
                server = await asyncio.start_server(
                    self._handler(name), self.host, port, ssl=self.ssl_context
                )
            except (OSError, OverflowError) as exc:
                await self.stop()
                raise listen_error(self.host, port, name, exc) from exc
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]
        self._ticker = self._loop.create_task(self._tick())

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
            except asyncio.CancelledError:
                # only `stop` cancels a connection task. It must end normally: asyncio's
                # start_server callback (3.11.7, 3.12.0) calls task.exception() on the finished
                # task, which raises for a cancelled one and prints a CancelledError traceback
                pass
            finally:
                if task is not None:
                    self._tasks.discard(task)

        return handle

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a write in the background, tracked so that `stop` can finish it."""
        if self._loop is None:
            coro.close()
            return
        task = self._loop.create_task(coro)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def stop(self) -> None:
        """Close every connection and listening socket; returns when every task has ended."""
        ticker = getattr(self, "_ticker", None)
        for server in self._servers:
            server.close()
        for conn in list(self._conns.values()):
            conn.writer.transport.abort()  # do not wait for clients that stopped reading
        for task in list(self._tasks):
            task.cancel()
        # the connection tasks end after their cleanup (which may queue writes): wait for them,
        # then for the writes, then stop the ticker
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        writes = list(self._writes)
        for task in writes:
            task.cancel()
        await asyncio.gather(*writes, return_exceptions=True)
        if ticker is not None:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()

    def start_in_thread(self) -> MockGateway:
        """Run the gateway's event loop in a daemon thread; returns once it listens.

        Returns:
            self.

        Raises:
            GatewayError: a port cannot be bound (see `start`).
        """
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            async def main() -> None:
                try:
                    await self.start()
                except BaseException as exc:  # reported to the caller
                    failure.append(exc)
                    ready.set()
                    return
                ready.set()
                while not self._stopped.is_set():
                    await asyncio.sleep(0.05)
                await self.stop()

            asyncio.run(main())

        self._stopped.clear()
        self._thread = threading.Thread(target=run, name="mock-kalshi-gateway", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread.join(10)
            self._thread = None
            self._remove_tls_dir()
            raise failure[0]
        return self

    def close(self) -> None:
        """Stop a gateway started with `start_in_thread` (and remove a ``tls=True`` identity)."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(10)
        self._remove_tls_dir()

    def _remove_tls_dir(self) -> None:
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None

    def __enter__(self) -> MockGateway:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pointing clients at it ---------------------------------------------------------------

    @property
    def tls(self) -> bool:
        """The gateway serves TLS."""
        return self.ssl_context is not None

    @property
    def loopback_only(self) -> bool:
        """The gateway listens on loopback only (``localhost`` or a loopback address)."""
        return is_loopback_host(self.host)

    @property
    def every_interface(self) -> bool:
        """The gateway listens on every interface (``0.0.0.0``, ``::``)."""
        return is_wildcard_host(self.host)

    @property
    def client_host(self) -> str:
        """The address a client on this machine connects to (loopback for a wildcard host)."""
        if is_wildcard_host(self.host):
            return "127.0.0.1"
        return self.host

    def endpoint(self, session_type: str) -> Endpoint:
        """The `Endpoint` of one session type (TLS with SNI ``localhost`` when serving TLS).

        Args:
            session_type: e.g. ``"KalshiNR"``.

        Returns:
            The endpoint.

        Raises:
            KeyError: not listening (yet), or the product has no such session type.
        """
        from ..adapters import Endpoint

        port = self.ports[session_type]
        if not self.tls:
            return Endpoint(self.client_host, port, tls=False)
        hostname = "localhost" if is_loopback_host(self.client_host) else self.client_host
        return Endpoint(self.client_host, port, server_hostname=hostname)

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        """Session type -> `Endpoint`, for a client's ``endpoints=`` option."""
        return {name: self.endpoint(name) for name in self.ports}

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """A client TLS context pinning the gateway's certificate (None for plain TCP).

        Raises:
            ValueError: TLS from an ``ssl_context`` given without its ``certificate``.
        """
        if not self.tls:
            return None
        if self.certificate is None:
            raise ValueError(
                "the gateway was given an ssl_context without certificate=: pass the path of "
                "the certificate it presents, or use tls=True"
            )
        from ..adapters import make_ssl_context

        context: ssl.SSLContext = make_ssl_context(pinned_cert=str(self.certificate))
        return context

    def client(
        self, key_id: str, signer: Signer, *, client_cls: type[Any] | None = None, **options: Any
    ) -> Any:
        """A client of this gateway's product pointed at it (endpoints, pinned certificate).

        Args:
            key_id: the API key id (one of ``keys``).
            signer: its private key's signer.
            client_cls: the client class (default: the blocking adapter's `FixClient` or
                `MarginFixClient`); any adapter's client works, e.g.
                ``kalshi_fix_sansio.adapters.asyncio.FixClient``.
            **options: more client options (``backoff``, ``heartbeat_interval``, ...).

        Returns:
            The client.
        """
        from ..adapters import Credentials

        if client_cls is None:
            from ..adapters.blocking import FixClient, MarginFixClient

            client_cls = FixClient if self.product == "prediction" else MarginFixClient
        options.setdefault("endpoints", self.endpoints)
        context = self.client_ssl_context()
        if context is not None:
            options.setdefault("ssl_context", context)
        return client_cls(Credentials(key_id, signer), **options)

    def command_line(
        self,
        command: str = "logon-test",
        *,
        session_type: str = "KalshiNR",
        key_id: str | None = None,
        private_key: str | Path | None = None,
        symbols: tuple[str, ...] = ("SYMBOL",),
    ) -> str:
        """The ``kalshi-fix`` command line that connects to this gateway, credentials included.

        Args:
            command: ``"logon-test"`` or ``"md"``.
            session_type: the session type for ``logon-test`` (``md`` uses KalshiMD).
            key_id: the API key id (default: the first of ``keys``).
            private_key: the private key file (default: a placeholder to replace).
            symbols: the markets for ``md``.

        Returns:
            One shell line: the environment variables, then the command.
        """
        prefix = ENV_PREFIX[self.product]
        key_id = key_id if key_id is not None else next(iter(self.keys), "KEY_ID")
        key_path = str(private_key) if private_key is not None else f"<private key of {key_id}>"
        if command == "md":
            session_type = "KalshiMD"
        endpoint = f"{self.client_host}:{self.ports[session_type]}"
        words = [
            f"{prefix}KEY_ID={shlex.quote(key_id)}",
            f"{prefix}PRIVATE_KEY_PATH={shlex.quote(key_path)}",
            "kalshi-fix",
            command,
            "--product",
            self.product,
        ]
        if command == "logon-test":
            words += ["--session", session_type.removeprefix("Kalshi")]
        if self.tls:
            words += ["--endpoint", endpoint]
            if self.certificate is not None:
                words += ["--pinned-cert", shlex.quote(str(self.certificate))]
            else:
                words += ["--pinned-cert", "<the gateway's certificate>"]
            if not is_loopback_host(self.client_host):
                words.append("--allow-unlisted-host")
        else:
            words += ["--endpoint", f"tcp://{endpoint}"]
        if command == "md":
            words += [shlex.quote(s) for s in symbols]
        return " ".join(words)

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

    def disconnect(self, api_key: str) -> int:
        """Close every connection of an API key now (as a network fault would: no Logout).

        Returns:
            How many connections were closed.
        """

        def close() -> int:
            conns = [c for c in self._conns.values() if c.api_key == api_key]
            for conn in conns:
                conn.writer.transport.abort()
            return len(conns)

        return self.call(close)

    # -- connections --------------------------------------------------------------------------

    def _logon_check(self, conn: _Conn) -> Callable[[Any], str | None]:
        def check(logon: Any) -> str | None:
            key = logon.header.sender_comp_id or ""
            if key in self.other_product_keys:
                other = "margin" if self.product == "prediction" else "prediction"
                return (
                    f"API key {key} is a {other} key, but this is the {self.product} gateway: "
                    f"connect to the {other} gateway, or log on with a {self.product} key"
                )
            if key in self.faults.refuse_keys:
                return "temporarily unavailable, try again later"
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
            # the other product's keys pass the signature check, then `_logon_check` refuses
            # them by name (instead of "unknown API key")
            public_keys={**self.other_product_keys, **self.keys},
            store=store,
            heartbeat_interval=self.heartbeat_interval,
            logon_check=lambda logon: self._logon_check(holder[0])(logon),
        )
        session = Session(config)
        conn = _Conn(sid, session_type, session, writer, store, index=self._counter)
        holder.append(conn)
        self._conns[sid] = conn
        session.start(time.time())
        first = True
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
                    data = await within(reader.read(65536), timeout)
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
                if first and data.startswith(_TLS_HANDSHAKE) and self.ssl_context is None:
                    # a TLS client on a plain port: close now, so that its handshake fails at
                    # once instead of waiting for the Logon timeout
                    self.log.append(f"{sid}: a TLS handshake on a plain TCP port: closed")
                    break
                first = False
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
        self._pumping = conn  # what `_route` queues on it is flushed below, in one write
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
        finally:
            self._pumping = None
        await self._flush(conn)
        return keep

    def _flush_soon(self, conn: _Conn) -> None:
        """Write what ``conn``'s session queued: at the end of its `_pump` when that is running
        (one write for everything its input produced), else in a task of its own."""
        if conn is not self._pumping:
            self._spawn(self._flush(conn))

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
            self._flush_soon(conn)

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
        self._flush_soon(conn)

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
        conn.session.send_duplicate(time.time())

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

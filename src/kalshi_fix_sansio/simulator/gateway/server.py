"""The mock Kalshi FIX gateway: acceptor sessions on loopback ports around the pure `Exchange`.

Every session type of the product listens on its own port (Kalshi's real port numbers offset
from a base, or free ports). Each connection (`gateway.connection`) is a pump over an
`AcceptorDriver`: an acceptor `Session` (signature and SendingTime checks, ResetSeqNumFlag
rules, retransmission with a per-key store on KalshiRT / KalshiPT) and the loop's rules.
Application messages go to the exchange and its answers are routed to the right connections
(`gateway.router`). `Faults` injects the failures clients must survive, through the drivers'
public fault hooks.

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
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from ...client.pump import DEFAULT_MAX_BUFFERED
from ...codec import SESSIONS
from ...session.auth import PublicKey, Signer
from .accounts import account_map
from .connection import Connection
from .exchange import (
    DROP_COPY_MAX_REPORTS,
    DROP_COPY_WINDOW_SECONDS,
    FINISHED_ORDERS_KEPT,
    MAX_ORDER_GROUPS,
    Exchange,
    Outbound,
)
from .exchange.common import check_count
from .exchange.fees import FeeFill, FeeModel
from .exchange.queues import QueueModel
from .listening import Faults, GatewayError, is_loopback_host, is_wildcard_host, listen_error
from .router import Router
from .timers import LoopTimers
from .tls import self_signed, server_context

if TYPE_CHECKING:
    from kalshi_fix_sansio.client import Endpoint

    from ...trading.corporate import CorporateActions
    from ...trading.funding import FundingSchedule, Rebates
    from .replay import Replay

__all__ = [
    "LOG_LINES",
    "REAL_BASE_PORT",
    "RESEND_MAX_MESSAGES",
    "Faults",
    "GatewayError",
    "MockGateway",
]

T = TypeVar("T")
REAL_BASE_PORT = 8228
PRODUCTS = ("prediction", "margin")
# the environment variables `kalshi-fix` reads the API key from, per product
ENV_PREFIX = {"prediction": "KALSHI_", "margin": "KALSHI_PERPS_"}
RESEND_MAX_MESSAGES: Final = 100_000
"""The most messages a KalshiRT / KalshiPT session of the gateway keeps for resend (about: see
`kalshi_fix_sansio.session.store.MemoryStore`); older ones are answered with a gap fill."""
LOG_LINES: Final = 1000
"""`MockGateway.log` keeps at least the last this many lines (and at most twice as many)."""


class _Log(list[str]):
    """A list of lines that drops its oldest past twice `LOG_LINES` (down to `LOG_LINES`)."""

    def append(self, line: str) -> None:
        super().append(line)
        if len(self) > 2 * LOG_LINES:
            del self[:-LOG_LINES]


class MockGateway(Router):
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
        write_timeout: seconds bytes may wait for a client that does not read before its
            connection is dropped; None (the default): no limit.
        max_buffered: most bytes that may wait for a client that does not read before its
            connection is dropped (``DEFAULT_MAX_BUFFERED``, 8 MiB, by default).
        drop_copy_window: seconds an execution report stays replayable by EventResendRequest
            (35=U1); Kalshi's 3 hours by default (`Exchange`).
        drop_copy_reports: the most execution reports kept for 35=U1 (100,000 by default).
        finished_orders: how many finished orders (and, apart, closed RFQs) the exchange
            remembers for a cancel naming one (100,000 by default); an older one is unknown.
        resend_messages: the most messages each KalshiRT / KalshiPT session keeps for a
            ResendRequest (`RESEND_MAX_MESSAGES` by default; Kalshi's 24 hours bound them too).
        fees: the exchange's fee model (`Exchange`: a `FeeSchedule`, a `FeeModel` or a
            function of a `FeeFill`; None: the default schedule).
        queue_model: where a replay's cancellations fall in a level's queue (`Exchange`; None:
            `FifoQueue`).
        max_order_groups: the most order groups an account may have at once (Kalshi's 25,000
            per user, `MAX_ORDER_GROUPS`); a Create past it is refused with 35=j.
        accounts: account name -> its API key ids, for accounts of several keys (see
            `kalshi_fix_sansio.simulator.gateway.accounts`): the listener, drop-copy and post-trade
            sessions of one key then see the orders of the account's other keys, and
            ``faults.logon_rate_limit`` counts the account's Logons. A key listed in no account
            is an account of its own (None: every key).

    Memory stays flat however long the gateway serves: besides these bounds, a finished order
    leaves the exchange's live state, and `log` keeps the last `LOG_LINES` to twice as many
    lines.

    Raises:
        ValueError: an unknown product, ``tls`` with ``ssl_context``, a key registered for
            both products, a ``write_timeout`` that is not > 0, a bound that is not > 0, or
            ``accounts`` naming an unknown key or a key twice.
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
        write_timeout: float | None = None,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
        drop_copy_window: float = DROP_COPY_WINDOW_SECONDS,
        drop_copy_reports: int = DROP_COPY_MAX_REPORTS,
        finished_orders: int = FINISHED_ORDERS_KEPT,
        resend_messages: int = RESEND_MAX_MESSAGES,
        fees: FeeModel | Callable[[FeeFill], Decimal] | None = None,
        queue_model: QueueModel | None = None,
        accounts: Mapping[str, Iterable[str]] | None = None,
        max_order_groups: int = MAX_ORDER_GROUPS,
    ) -> None:
        if product not in PRODUCTS:
            raise ValueError(f"product must be 'prediction' or 'margin', got {product!r}")
        if tls and ssl_context is not None:
            raise ValueError("pass either tls=True or ssl_context, not both")
        if port_base is not None:
            span = max(s.port for s in SESSIONS.values() if s.product == product) - REAL_BASE_PORT
            if (
                isinstance(port_base, bool)
                or not isinstance(port_base, int)
                or not 1 <= port_base <= 65535 - span
            ):
                raise ValueError(
                    f"port_base {port_base!r} is out of range: the {product} ports run from it "
                    f"to {span} above, within 1-65535 (port_base 1 to {65535 - span}; None: "
                    "free ports)"
                )
        if write_timeout is not None and not write_timeout > 0:
            raise ValueError(f"write_timeout must be > 0 seconds, got {write_timeout!r}")
        self.product = product
        self.keys = dict(keys)
        self.other_product_keys = dict(other_product_keys or {})
        both = sorted(set(self.keys) & set(self.other_product_keys))
        if both:
            raise ValueError(f"API key {both[0]!r} is registered for both products")
        self.accounts = account_map(accounts, [*self.keys, *self.other_product_keys])
        """API key -> its account, for the keys of accounts with several (`account_of`)."""
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
        check_count("resend_messages", resend_messages)
        self.resend_messages = resend_messages
        self.exchange = Exchange(
            product,
            seed=seed,
            auto_list_markets=auto_list_markets,
            drop_copy_window=drop_copy_window,
            drop_copy_reports=drop_copy_reports,
            finished_orders=finished_orders,
            fees=fees,
            queue_model=queue_model,
            max_order_groups=max_order_groups,
        )
        self.faults = Faults()
        self.ports: dict[str, int] = {}
        self.session_types = [s.name for s in SESSIONS.values() if s.product == product]
        self.write_timeout = write_timeout
        self.max_buffered = max_buffered
        self._init_router()
        self._servers: list[asyncio.base_events.Server] = []
        self._ticker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.log: list[str] = _Log()
        """What happened to connections (closes, failures): the last `LOG_LINES` lines at
        least, twice as many at most."""
        self._replays: list[Replay] = []  # started with the loop (see `replay`)
        self._announced: list[tuple[float, float]] = []  # `schedule_maintenance`'s, armed then

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
                server = await self._loop.create_server(
                    self._factory(name), self.host, port, ssl=self.ssl_context
                )
            except (OSError, OverflowError) as exc:
                await self.stop()
                raise listen_error(self.host, port, name, exc) from exc
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]
        self._ticker = self._loop.create_task(self._tick())
        for replay in self._replays:
            replay.begin()
        for window in self._announced:
            self._arm_window(window)

    async def _tick(self) -> None:
        """Expire GTD / Day orders on time even when no client is talking."""
        while True:
            await asyncio.sleep(1.0)
            self.tick()

    def tick(self) -> None:
        """Expire what is due now (GTD and Day orders): what a listening gateway does every
        second, whether or not a client is talking (a simulation calls it on its own clock)."""
        self._admin(self.exchange.tick)

    def _factory(self, session_type: str) -> Callable[[], Connection]:
        def connection() -> Connection:
            return Connection(self, session_type)

        return connection

    async def stop(self) -> None:
        """Close every connection and listening socket; returns once every connection has
        been dropped (its exchange session told)."""
        for server in self._servers:
            server.close()
        for conn in list(self._live):
            conn.abort()  # do not wait for clients that stopped reading
        for _ in range(100):  # the transports' connection_lost callbacks drop them
            if not self._live:
                break
            await asyncio.sleep(0)
        for conn in list(self._live):  # pragma: no cover - a transport that never called back
            self.drop(conn)
        ticker, self._ticker = self._ticker, None
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
            self._thread = None  # `call` now runs in the caller's thread (the loop is gone)
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
        from kalshi_fix_sansio.client import Endpoint

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
        from kalshi_fix_sansio.adapters import make_ssl_context

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
            **options: more client options (``backoff``, ``heartbeat_interval``, ...). With
                ``ssl_context``, ``pinned_cert`` or ``cafile`` the client trusts what they
                say instead of the gateway's certificate.

        Returns:
            The client.
        """
        from kalshi_fix_sansio.session import Credentials

        if client_cls is None:
            from kalshi_fix_sansio.adapters.blocking import FixClient, MarginFixClient

            client_cls = FixClient if self.product == "prediction" else MarginFixClient
        options.setdefault("endpoints", self.endpoints)
        if options.get("pinned_cert") is None and options.get("cafile") is None:
            options.setdefault("ssl_context", self.client_ssl_context())  # else the caller's
        return client_cls(Credentials(key_id, signer), **options)

    def command_line(
        self,
        command: str = "logon-test",
        *,
        session_type: str = "KalshiNR",
        key_id: str | None = None,
        private_key: str | Path | None = None,
        symbols: tuple[str, ...] = ("SYMBOL",),
        program: str = "kalshi-fix",
        side: str = "buy",
        qty: str = "1",
        price: str | None = None,
        cl_ord_id: str = "order-1",
    ) -> str:
        """The ``kalshi-fix`` command line that connects to this gateway, credentials included.

        Args:
            command: ``"logon-test"``, ``"md"``, ``"order"`` (one limit order) or ``"cancel"``
                (of that order).
            session_type: the session type for ``logon-test``, ``order`` and ``cancel`` (an
                order-entry one for these two); ``md`` uses KalshiMD.
            key_id: the API key id (default: the first of ``keys``).
            private_key: the private key file (default: a placeholder to replace).
            symbols: the markets for ``md``; the first is the market of ``order`` / ``cancel``.
            program: how the shell runs ``kalshi-fix`` (a path when it is not on ``PATH``).
            side: ``"buy"`` or ``"sell"``, of ``order`` / ``cancel``.
            qty: the quantity of ``order``.
            price: the limit price of ``order``, in dollars (required for it).
            cl_ord_id: the ClOrdID of ``order``, which ``cancel`` names.

        Returns:
            One shell line: the environment variables, then the command.

        Raises:
            ValueError: an unknown ``command``, or ``order`` without ``price``.
        """
        if command not in ("logon-test", "md", "order", "cancel"):
            raise ValueError(f"command_line: unknown command {command!r}")
        if command == "order" and price is None:
            raise ValueError("command_line('order') takes price= (dollars)")
        prefix = ENV_PREFIX[self.product]
        key_id = key_id if key_id is not None else next(iter(self.keys), "KEY_ID")
        key_path = str(private_key) if private_key is not None else f"<private key of {key_id}>"
        if command == "md":
            session_type = "KalshiMD"
        endpoint = f"{self.client_host}:{self.ports[session_type]}"
        words = [
            f"{prefix}KEY_ID={shlex.quote(key_id)}",
            f"{prefix}PRIVATE_KEY_PATH={shlex.quote(key_path)}",
            program,
            command,
            "--product",
            self.product,
        ]
        if command == "logon-test" or (command != "md" and session_type != "KalshiNR"):
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
        elif command == "order":
            words += ["--symbol", shlex.quote(symbols[0]), "--side", side, "--qty", qty]
            words += ["--price", str(price), "--cl-ord-id", shlex.quote(cl_ord_id)]
        elif command == "cancel":
            words += ["--cl-ord-id", shlex.quote(cl_ord_id), "--symbol", shlex.quote(symbols[0])]
            words += ["--side", side]
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

    def _admin(self, act: Callable[[float], list[Outbound]]) -> None:
        """Run an exchange call in the gateway's loop and send its answers at once."""

        def run() -> None:
            now = self.timers.time()
            self._route(act(self.exchange_now(now)), now)

        self.call(run)

    def seed_market(
        self,
        symbol: str,
        *,
        bids: list[tuple[Decimal, Decimal]] | None = None,
        asks: list[tuple[Decimal, Decimal]] | None = None,
        replace: bool = False,
    ) -> None:
        """Create a market with resting house liquidity (and tell subscribers).

        Seeding a market again adds these levels to the house liquidity already there; with
        ``replace=True`` they take its place (the house's resting orders are cancelled first:
        the book shows these levels and the clients' orders only). The admin console's
        ``seed`` replaces.
        """
        self._admin(
            lambda now: self.exchange.seed_market(
                symbol, bids=bids or [], asks=asks or [], now=now, replace=replace
            )
        )

    def pause(self, *, exchange: bool = False) -> None:
        """Start a trading (or exchange) pause."""
        self._admin(lambda now: self.exchange.pause(now, exchange=exchange))

    def resume(self) -> None:
        """End the pause."""
        self._admin(self.exchange.resume)

    def settle(self, symbol: str, result: str) -> None:
        """Settle a market (prediction): cancels orders, sends settlement reports."""
        self._admin(lambda now: self.exchange.settle(symbol, result, now))

    def replay(
        self,
        path: str | Path,
        *,
        speed: float = 1.0,
        as_fast_as_possible: bool = False,
        start: str = "subscribe",
        settle: Mapping[str, str] | None = None,
        accounts: list[str] | None = None,
        funding: FundingSchedule | None = None,
        rebates: Rebates | None = None,
        corporate: CorporateActions | None = None,
    ) -> Replay:
        """Replay a recording into this gateway: paper trading on a recorded market.

        The recording is checked first (streamed, whole): a bad one raises before anything is
        replayed. Its markets are listed; the replay starts at the first market-data
        subscription (or at once with ``start="now"``); before the gateway is started, it
        begins when the gateway starts. See `kalshi_fix_sansio.simulator.gateway.replay` and
        docs/paper-trading.md.

        Args:
            path: the recording (`kalshi_fix_sansio.simulator.data.recording`).
            speed: recorded seconds per second (1.0: the recording's pace).
            as_fast_as_possible: no pacing: each message once the clients read the one before.
            start: ``"subscribe"`` or ``"now"``.
            settle: market -> ``"yes"`` / ``"no"``: settle it when the recording ends.
            accounts: the accounts (API key ids) the report counts (None: every client).
            funding: perps funding rates the report pays on positions
                (`kalshi_fix_sansio.trading.funding.FundingSchedule`; None: none).
            rebates: the user's rebates the report counts (`kalshi_fix_sansio.trading.funding.Rebates`).
            corporate: margin corporate actions the report applies at their times
                (`kalshi_fix_sansio.trading.corporate.CorporateActions`; None: none).

        Returns:
            The `Replay` (`Replay.wait`, `Replay.report`, `Replay.stop`).

        Raises:
            RecordingError: the recording is unreadable, truncated, corrupt, or of the other
                product (the message names the line and byte).
            ValueError: a bad speed, start or settlement.
        """
        from .replay import Replay

        replay = Replay(
            self,
            path,
            speed=speed,
            as_fast_as_possible=as_fast_as_possible,
            start=start,
            settle=settle,
            accounts=accounts,
            funding=funding,
            rebates=rebates,
            corporate=corporate,
        )
        if self._loop is None:
            self._replays.append(replay)
        else:
            self.call(replay.begin)
        return replay

    def md_connection(self, session_id: str) -> Connection | None:
        """The logged-on KalshiMD connection of an exchange session id, if any."""
        conn = self._conns.get(session_id)
        if conn is None or conn.session_type != "KalshiMD" or not conn.logged_on:
            return None
        return conn

    def connected(self) -> list[str]:
        """API keys with a logged-on session."""
        return self.call(lambda: sorted(self._by_key))

    def maintenance(self, seconds: float | None = None, *, until: float | None = None) -> int:
        """Start a maintenance window, as Kalshi's every Thursday 3:00-5:00 AM ET: every
        connection is closed now (without a Logout: Kalshi documents none) and every Logon is
        refused (Logout `MAINTENANCE_TEXT <kalshi_fix_sansio.simulator.gateway.listening.MAINTENANCE_TEXT>`)
        until the window ends; then Logons are served again. ``faults.maintenance_until``
        holds the end (set it to None to end the window early).

        Args:
            seconds: how long the window lasts from now (the gateway's clock: a simulation's in
                a simulation).
            until: or when it ends, UTC epoch seconds.

        Returns:
            How many connections were closed.

        Raises:
            ValueError: neither or both of ``seconds`` and ``until``, or a window that has
                ended already.
        """
        if (seconds is None) is (until is None):
            raise ValueError("maintenance: give either seconds (from now) or until (a time)")

        def start() -> int:
            now = self.timers.time()
            end = now + seconds if seconds is not None else until
            assert end is not None
            if not end > now:
                raise ValueError(f"maintenance: the window must end after now ({now}), got {end}")
            self.faults.maintenance_windows.append((now, end))  # its schedule page shows it
            return self._enter_maintenance(end)

        return self.call(start)

    def _enter_maintenance(self, end: float) -> int:
        """Maintenance until ``end`` from now: every connection closed, Logons refused."""
        until = self.faults.maintenance_until
        self.faults.maintenance_until = end if until is None else max(until, end)
        conns = list(self._live)
        for conn in conns:
            conn.abort()
        self.log.append(f"maintenance until {end}: {len(conns)} connection(s) closed")
        return len(conns)

    def schedule_maintenance(self, start_in: float, seconds: float) -> tuple[float, float]:
        """Announce a maintenance window on ``GET /exchange/schedule`` (the REST page a
        client waits windows out by): from ``start_in`` seconds from now, ``seconds`` long.
        When it comes it is a `maintenance` until its end: every connection closed, Logons
        refused (unless its window was taken off ``faults.maintenance_windows`` by then).
        Returns (start, end)."""
        if not start_in >= 0 or not seconds > 0:
            raise ValueError("schedule: give seconds from now >= 0 and a length > 0")

        def add() -> tuple[float, float]:
            start = self.timers.time() + start_in
            window = (start, start + seconds)
            self.faults.maintenance_windows.append(window)

            if self._loop is None and isinstance(self.timers, LoopTimers):
                self._announced.append(window)  # armed when the gateway starts
            else:
                self._arm_window(window)
            return window

        return self.call(add)

    def _arm_window(self, window: tuple[float, float]) -> None:
        """Enter the announced ``window`` when it comes (not once taken off the schedule)."""

        def begin() -> None:
            if window in self.faults.maintenance_windows and self.timers.time() < window[1]:
                self._enter_maintenance(window[1])

        self.timers.call_later(max(window[0] - self.timers.time(), 0.0), begin)

    def disconnect(self, api_key: str) -> int:
        """Close every connection of an API key now (as a network fault would: no Logout).

        Returns:
            How many connections were closed.
        """

        def close() -> int:
            conns = [c for c in self._conns.values() if c.api_key == api_key]
            for conn in conns:
                conn.abort()
            return len(conns)

        return self.call(close)

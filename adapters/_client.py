"""What the three adapters share above the transport: the client API and session profiles.

`ClientBase` turns credentials, an environment and options into per-session-type configs
(`SessionConfig`) and connection options (`ConnectOptions`); each adapter subclasses it and
names its session class (``_SESSION``), which `_base.SessionBase` underlies. No protocol
decision is made here: session rules come from the spec (via `SessionConfig`), connection
rules from `kalshi_fix_sansio.supervisor`.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Final, Generic, TypeVar

import attrs

from kalshi_fix_sansio.config import SessionConfig
from kalshi_fix_sansio.errors import LocalProtocolError
from kalshi_fix_sansio.filestore import FileStore
from kalshi_fix_sansio.spec import SESSIONS
from kalshi_fix_sansio.store import MemoryStore, MessageStore

from ._transport import (
    Backoff,
    Credentials,
    Endpoint,
    MessageLog,
    kalshi_endpoint,
    make_ssl_context,
)

S = TypeVar("S")

MAX_QUEUED_EVENTS: Final = 10_000
"""Default bound of every adapter's event queue: while it is full, nothing more is read."""


@attrs.frozen(kw_only=True)
class ConnectOptions:
    """How an adapter reaches and keeps one session.

    Attributes:
        endpoint: host, port, TLS.
        ssl_context: the TLS context (None for plain TCP to loopback).
        allow_unlisted_hosts: permit a non-loopback host that is not a documented Kalshi host.
        backoff: reconnect delays (full jitter).
        reconnect: reconnect after a drop (with a fresh Logon signature each time).
        connect_timeout: seconds for the TCP + TLS handshake.
        message_log: the FIX message log, if any.
        maintenance_reset: reset sequence numbers on RT/PT too when reconnecting after
            Kalshi's Thursday maintenance window.
    """

    endpoint: Endpoint
    ssl_context: ssl.SSLContext | None
    allow_unlisted_hosts: bool = False
    backoff: Backoff = attrs.field(factory=Backoff)
    reconnect: bool = True
    connect_timeout: float = 10.0
    message_log: MessageLog | None = None
    maintenance_reset: bool = False


class ClientBase(Generic[S]):
    """Kalshi FIX client: the session factories of one product.

    Args:
        credentials: API key id and signer (`Credentials.from_env` / `from_key`).
        environment: ``"demo"`` or ``"production"``.
        heartbeat_interval: HeartBtInt for every session.
        ssl_context: a TLS context to use instead of the default (verification on).
        cafile: extra CA bundle for the default context.
        pinned_cert: trust exactly this server certificate (PEM path), as Kalshi documents.
        allow_unlisted_hosts: permit hosts outside Kalshi's documented list (TLS only).
        endpoints: session type -> endpoint overrides (e.g. a mock gateway on loopback).
        backoff: reconnect backoff policy (default: 0.5 s base, 30 s cap, 10 retries).
        reconnect: reconnect automatically after a drop.
        store_dir: directory for durable message stores of KalshiRT / KalshiPT (sequence
            numbers and resend survive restarts); None keeps them in memory for this process.
        message_log_path: append a FIX message log (one line per frame, RawData redacted).
        config: more `SessionConfig` fields applied to every session (timeouts, flags...).
    """

    PRODUCT: ClassVar[str] = "prediction"
    _SESSION: ClassVar[Callable[..., Any]]  # the adapter's session class

    def __init__(
        self,
        credentials: Credentials,
        environment: str = "demo",
        *,
        heartbeat_interval: int = 30,
        ssl_context: ssl.SSLContext | None = None,
        cafile: str | None = None,
        pinned_cert: str | None = None,
        allow_unlisted_hosts: bool = False,
        endpoints: Mapping[str, Endpoint] | None = None,
        backoff: Backoff | None = None,
        reconnect: bool = True,
        store_dir: str | os.PathLike[str] | None = None,
        message_log_path: str | os.PathLike[str] | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        if environment not in ("demo", "production"):
            raise LocalProtocolError(
                f"environment must be 'demo' or 'production', got {environment!r}"
            )
        self.credentials = credentials
        self.environment = environment
        self.heartbeat_interval = heartbeat_interval
        self._ssl_context = ssl_context
        self._cafile = cafile
        self._pinned_cert = pinned_cert
        self.allow_unlisted_hosts = allow_unlisted_hosts
        self.endpoints = dict(endpoints or {})
        self.backoff = backoff
        self.reconnect = reconnect
        self.store_dir = Path(store_dir) if store_dir is not None else None
        self.message_log_path = message_log_path
        self.config = dict(config or {})
        self._stores: dict[str, MessageStore] = {}

    @classmethod
    def from_env(
        cls, environment: str = "demo", environ: Mapping[str, str] | None = None, **options: Any
    ) -> Any:
        """Build a client from ``KALSHI_*`` (prediction) or ``KALSHI_PERPS_*`` (margin) variables.

        Args:
            environment: ``"demo"`` or ``"production"``.
            environ: the variables (default: ``os.environ``).
            **options: the constructor's keyword options.

        Returns:
            The client.

        Raises:
            LocalProtocolError: a variable is missing (the message lists which to set).
            KeyLoadError: the private key cannot be used (the message says why).
        """
        return cls(Credentials.from_env(cls.PRODUCT, environ), environment, **options)

    @classmethod
    def from_key(
        cls,
        key_id: str,
        *,
        pem: str | bytes | None = None,
        path: str | os.PathLike[str] | None = None,
        passphrase: str | bytes | None = None,
        environment: str = "demo",
        **options: Any,
    ) -> Any:
        """Build a client from an explicit key.

        Args:
            key_id: the API key id (SenderCompID).
            pem: the private key PEM text (or give ``path``).
            path: the private key file.
            passphrase: the key's passphrase, if encrypted.
            environment: ``"demo"`` or ``"production"``.
            **options: the constructor's keyword options.

        Returns:
            The client.

        Raises:
            KeyLoadError: the key cannot be used.
        """
        creds = Credentials.from_key(key_id, pem=pem, path=path, passphrase=passphrase)
        return cls(creds, environment, **options)

    # -- profiles ------------------------------------------------------------------------

    def _store(self, session_type: str) -> MessageStore:
        store = self._stores.get(session_type)
        if store is None:
            spec = SESSIONS[(self.PRODUCT, session_type)]
            if spec.retransmission and self.store_dir is not None:
                self.store_dir.mkdir(parents=True, exist_ok=True)
                name = f"{self.PRODUCT}-{self.environment}-{session_type}-{self.credentials.key_id}.fixlog"
                store = FileStore(self.store_dir / name)
            else:
                store = MemoryStore()
            self._stores[session_type] = store
        return store

    def profile(self, session_type: str, **flags: Any) -> tuple[SessionConfig, ConnectOptions]:
        """The session config and connection options of one session type.

        Args:
            session_type: KalshiNR, KalshiRT, KalshiDC, KalshiPT, KalshiRFQ or KalshiMD.
            **flags: `SessionConfig` fields (Logon flags, timeouts) for this session.

        Returns:
            (config, options).

        Raises:
            LocalProtocolError: the product has no such session type, or the flags are invalid.
        """
        if (self.PRODUCT, session_type) not in SESSIONS:
            have = ", ".join(s.name for s in SESSIONS.values() if s.product == self.PRODUCT)
            raise LocalProtocolError(
                f"{self.PRODUCT} has no {session_type} session (it has: {have})"
            )
        settings: dict[str, Any] = {"heartbeat_interval": self.heartbeat_interval}
        settings.update(self.config)
        settings.update(flags)
        config = SessionConfig(
            sender_comp_id=self.credentials.key_id,
            product=self.PRODUCT,
            session_type=session_type,
            signer=self.credentials.signer,
            store=self._store(session_type),
            **settings,
        )
        endpoint = self.endpoints.get(session_type) or kalshi_endpoint(
            self.PRODUCT, self.environment, session_type
        )
        if endpoint.tls:
            context = self._ssl_context or make_ssl_context(
                cafile=self._cafile, pinned_cert=self._pinned_cert
            )
        else:
            context = None
        log = None
        if self.message_log_path is not None:
            log = MessageLog.for_config(config, path=self.message_log_path)
        options = ConnectOptions(
            endpoint=endpoint,
            ssl_context=context,
            allow_unlisted_hosts=self.allow_unlisted_hosts,
            # each session gets its own copy: sessions reconnecting together must not share
            # (and reset) one retry budget
            backoff=attrs.evolve(self.backoff) if self.backoff is not None else Backoff(),
            reconnect=self.reconnect,
            message_log=log,
        )
        return config, options

    def _make(self, config: SessionConfig, options: ConnectOptions, **session_options: Any) -> S:
        session: S = self._SESSION(config, options, **session_options)
        return session

    def session(
        self,
        session_type: str,
        *,
        on_event: Any = None,
        on_reconnect: Any = None,
        max_queued_events: int | None = None,
        rate_limit: str | None = None,
        **flags: Any,
    ) -> S:
        """A session of any type (not connected yet: use it as a (async) context manager).

        Args:
            session_type: the Kalshi session type.
            on_event: callback for every event instead of the iterator (async adapters also
                take a coroutine function).
            on_reconnect: called (or awaited) after each reconnect, e.g. to re-subscribe market
                data.
            max_queued_events: most events queued before reading pauses (`MAX_QUEUED_EVENTS`).
            rate_limit: ``"wait"`` (the default) or ``"raise"``: what the session does with a
                message its ``rate_limiter`` (a `SessionConfig` field) cannot take yet.
            **flags: `SessionConfig` fields for this session.

        Returns:
            The adapter's session object.

        Raises:
            LocalProtocolError: the product has no such session type, or the flags are invalid.
        """
        options: dict[str, Any] = {"on_event": on_event, "on_reconnect": on_reconnect}
        if max_queued_events is not None:
            options["max_queued_events"] = max_queued_events
        if rate_limit is not None:
            options["rate_limit"] = rate_limit
        return self._make(*self.profile(session_type, **flags), **options)

    def order_entry(self, retransmission: bool = False, **flags: Any) -> S:
        """An order-entry session: KalshiNR, or KalshiRT with ``retransmission=True``.

        Args:
            retransmission: use KalshiRT (sequence numbers survive reconnects; resend).
            **flags: Logon flags and other `SessionConfig` fields.

        Returns:
            The adapter's session object.
        """
        return self.session("KalshiRT" if retransmission else "KalshiNR", **flags)

    def drop_copy(self, **flags: Any) -> S:
        """A KalshiDC drop-copy session (EventResendRequest replays)."""
        return self.session("KalshiDC", **flags)

    def market_data(self, **flags: Any) -> S:
        """A KalshiMD market-data session."""
        return self.session("KalshiMD", **flags)

    def post_trade(self, **flags: Any) -> S:
        """A KalshiPT post-trade session (settlement reports; prediction only).

        Raises:
            LocalProtocolError: on margin, which has no KalshiPT.
        """
        return self.session("KalshiPT", **flags)

    def rfq(self, **flags: Any) -> S:
        """A KalshiRFQ market-maker RFQ session (prediction only).

        Raises:
            LocalProtocolError: on margin, which has no RFQ.
        """
        return self.session("KalshiRFQ", **flags)

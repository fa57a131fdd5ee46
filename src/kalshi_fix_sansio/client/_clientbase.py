"""What the three adapters share above the transport: the client API and session profiles.

`ClientBase` turns credentials, an environment and options into per-session-type configs
(`SessionConfig`) and connection options (`ConnectOptions`); each adapter subclasses it and
names its session class (``_SESSION``), which `_base.SessionAPI` underlies. No protocol
decision is made here: session rules come from the spec (via `SessionConfig`), connection
rules from `kalshi_fix_sansio.client.supervisor`.

What is decided here is which endpoint each session type gets, and that a client's options
cannot surprise: every option is checked when the client is built (names against the spec's
`SESSIONS` and `SessionConfig`'s fields, types), a session type left out of ``endpoints`` is
refused rather than sent to Kalshi when the others point elsewhere, and `describe_target`
says in one line where a session connects.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, TypeVar

import attrs

from kalshi_fix_sansio.client.account import Account
from kalshi_fix_sansio.client.driver import DEFAULT_MAX_EVENTS
from kalshi_fix_sansio.client.reconnect import Backoff
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.codec.spec import SESSIONS
from kalshi_fix_sansio.rest.reconcile import RestOptions
from kalshi_fix_sansio.session.config import MAX_HEARTBEAT_INTERVAL, SessionConfig
from kalshi_fix_sansio.session.filestore import FileStore, make_store_dir
from kalshi_fix_sansio.session.ratelimit import RateLimiter
from kalshi_fix_sansio.session.store import MemoryStore, MessageStore
from kalshi_fix_sansio.trading.catchup import ExecCursor, catches_up
from kalshi_fix_sansio.trading.deadman import DeadMansSwitch
from kalshi_fix_sansio.trading.gate import TradingHalt, TradingState
from kalshi_fix_sansio.trading.haltfile import HaltFile
from kalshi_fix_sansio.trading.risk import RiskLimits
from kalshi_fix_sansio.trading.tracker import OrderTracker

from ..observability import MessageLog
from ..session import Credentials
from ._clientoptions import (
    ConnectOptions,
    SessionOptions,
    check_bool,
    check_path,
    check_session_options,
    endpoint_label,
    refuse_trust_beside_context,
    refuse_type,
    session_type_problem,
)
from ._endpoints import Endpoint, documented_environment, kalshi_endpoint, session_types
from ._sdkcompat import credentials_from_auth, sdk_callbacks
from ._tlsconfig import TLSSettings, tls_settings
from .steps import WOKE

if TYPE_CHECKING:
    from ._tlsconfig import SSLContext

S = TypeVar("S")
C = TypeVar("C", bound="ClientBase[Any]")  # a client class's own type (`from_key`, `from_env`)

MAX_QUEUED_EVENTS: Final = DEFAULT_MAX_EVENTS
"""Default bound of unread events before a session logs out with `EventQueueOverflow` (reading
never pauses for a slow application; see `QueuePolicy`)."""

ENVIRONMENT_NAMES: Final = ("demo", "production")


def _refuse_own_limiter(where: str, settings: Mapping[str, Any], account: Account) -> None:
    """A client with an `Account` bills the account's limiter: one of its own would not be
    shared with the account's other sessions."""
    limiter = settings.get("rate_limiter")
    if limiter is not None and limiter is not account.limiter:
        raise LocalProtocolError(
            f"{where}: rate_limiter beside account=: the account's RateLimiter "
            "(account.limiter) is the one every session of the account bills; leave "
            "rate_limiter out"
        )


class ClientBase(Generic[S]):
    """Kalshi FIX client: the session factories of one product.

    Args:
        credentials: API key id and signer (`Credentials.from_env` / `from_key`).
        environment: ``"demo"`` or ``"production"``.
        heartbeat_interval: HeartBtInt for every session.
        ssl_context: a TLS context to use instead of the library's (`make_ssl_context`). It
            decides whom to trust, so it excludes ``cafile`` and ``pinned_cert``: to pin with
            a context of your own, build it with ``make_ssl_context(pinned_cert=...)``. It is
            carried as given: the session's pump checks it when the session opens, before
            connecting (not an `ssl.SSLContext`, a server-side one: refused).
        cafile: extra CA bundle for the library's context.
        pinned_cert: trust exactly this server certificate (PEM path), as Kalshi documents.
        allow_unlisted_hosts: permit hosts outside Kalshi's documented list (TLS only).
        allow_insecure_tls: permit an ``ssl_context`` weaker than the library's (verification
            off, no host name check, below TLS 1.2) to non-loopback hosts; without it such a
            session is refused when it opens. Either way its use issues an
            `InsecureTLSWarning`.
        endpoints: session type -> endpoint overrides (e.g. a mock gateway on loopback). Keys
            are the product's session type names exactly (``"KalshiNR"``; anything else is
            refused, with the likely intended name); values are `Endpoint`s. A session type
            without an entry uses Kalshi's documented endpoint of ``environment``, unless
            another entry points away from Kalshi's ``environment`` (loopback, a mock gateway,
            another host): then that session type is refused when its session is made, so a
            client aimed at a test gateway never sends one session type to Kalshi.
        allow_mixed_endpoints: lift that refusal: session types without an entry go to
            Kalshi's documented endpoints even when other entries point elsewhere.
        backoff: reconnect backoff policy (default: 0.5 s base, 30 s cap, 10 retries).
        reconnect: reconnect automatically after a drop.
        store_dir: directory for durable message stores of KalshiRT / KalshiPT (sequence
            numbers and resend survive restarts); None keeps them in memory for this process.
        message_log_path: append a FIX message log (one line per frame, RawData redacted).
        config: more `SessionConfig` fields applied to every session (timeouts, flags...);
            its keys must be `SESSION_OPTIONS` names.
        risk_limits: pre-trade `RiskLimits` for every order-entry session this client makes
            (a session's own ``risk_limits=`` overrides them). They read the client's
            ``tracker``, which every order-entry session shares unless given its own: open
            orders and positions carry from one session to the next, so a position limit
            does not start from zero again after a reconnect or a second session.
        halt_file: the halt from the shell (`HaltFile`, ``kalshi-fix kill`` writes it): True
            (the default) uses the key's halt file in `default_halt_dir`, polled every
            `DEFAULT_HALT_POLL` seconds; a `HaltFile` of this key for another directory or
            interval; False turns it off. Every order-entry session this client makes asks it
            at open and on its timer: while the key is halted, new orders, replaces and quotes
            are refused (`TradingHalted`), and a session that notices a new halt while it runs
            cancels its own orders too. ``rearm()`` does not lift it: ``kalshi-fix rearm``
            does (`HaltFile.rearm`).
        dead_man: a dead man's switch, in seconds (None: none): the application calls
            ``client.alive()`` more often than that; when it stops, every order-entry session
            of the client halts (as ``kill_all`` halts: new orders refused until
            ``client.rearm()``) and cancels its orders (`DeadMansSwitchFired`, then the kill's
            `KillStarted` / `KillFinished`), on the session's own timer: in the blocking
            adapter its thread acts even when the application's thread is stuck; and at once
            on the first order sent past the deadline, which is refused (`TradingHalted`). Its
            order-entry sessions then log on with CancelOrdersOnDisconnect unless
            ``cancel_orders_on_disconnect=False`` is given: what acts when the whole process
            or its event loop is stuck (docs/risk-controls.md).
        account: the `Account` of this client's key, shared with the clients of the account's
            other keys: every session then bills the account's `RateLimiter` (its
            ``rate_limiter``) and logs on within the account's Logon budget, in its order.
            A key that is not one of the account's is refused (`AccountKeyError`).
        rest: `RestOptions`: every order-entry session reconciles its tracker from Kalshi's
            REST API (the client's environment, the same API key) when drop-copy catch-up
            cannot make it whole (docs/accounts.md; the ``rest`` extra).

    Raises:
        LocalProtocolError: an option of the wrong type, ``ssl_context`` together with
            ``pinned_cert`` or ``cafile``, an unknown environment, an ``endpoints`` key that
            is not a session type of the product or a value that is not an `Endpoint`, a
            ``config`` key that is not a `SessionConfig` field a client takes, a
            ``rate_limiter`` beside an ``account`` (the account's is used). Each message
            names the option and says what is valid.
        AccountKeyError: the key is not one of ``account``'s, or the account is of the other
            product.

    The repr shows the product, the environment, the key id and where each session type
    would connect (or that it is refused); never key material.
    """

    PRODUCT: ClassVar[str] = "prediction"
    _SESSION: ClassVar[Callable[..., Any]]  # the adapter's session class
    # what the sessions of an account hold around its Logon schedule and a rate limiter they
    # may share: a lock factory for an adapter whose sessions run in threads of their own (the
    # blocking one), else None
    _ACCOUNT_LOCK: ClassVar[Callable[[], Any] | None] = None
    # whether the adapter awaits what a callback returns (asyncio, trio); the blocking client
    # refuses a coroutine function as a callback, which it would never await
    _AWAITS_CALLBACKS: ClassVar[bool] = True

    def __init__(
        self,
        credentials: Credentials,
        environment: str = "demo",
        *,
        heartbeat_interval: int = 30,
        ssl_context: SSLContext | None = None,
        cafile: str | None = None,
        pinned_cert: str | None = None,
        allow_unlisted_hosts: bool = False,
        allow_insecure_tls: bool = False,
        endpoints: Mapping[str, Endpoint] | None = None,
        allow_mixed_endpoints: bool = False,
        backoff: Backoff | None = None,
        reconnect: bool = True,
        store_dir: str | os.PathLike[str] | None = None,
        message_log_path: str | os.PathLike[str] | None = None,
        config: Mapping[str, Any] | None = None,
        risk_limits: RiskLimits | None = None,
        halt_file: HaltFile | bool = True,
        dead_man: float | None = None,
        account: Account | None = None,
        rest: RestOptions | None = None,
    ) -> None:
        if not isinstance(credentials, Credentials):
            # by type only: a PEM passed here by mistake must not end up in a message
            raise LocalProtocolError(
                f"credentials must be Credentials (Credentials.from_key / from_env, or use "
                f"{type(self).__name__}.from_key / from_env), got a {type(credentials).__name__}"
            )
        if environment not in ENVIRONMENT_NAMES:
            hint = ""
            if isinstance(environment, str) and environment.strip().lower() in ENVIRONMENT_NAMES:
                hint = f" (did you mean {environment.strip().lower()!r}?)"
            raise LocalProtocolError(
                f"environment must be 'demo' or 'production', got {environment!r}{hint}"
            )
        if (
            isinstance(heartbeat_interval, bool)
            or not isinstance(heartbeat_interval, int)
            or heartbeat_interval <= 0
        ):
            raise refuse_type("heartbeat_interval", heartbeat_interval, "an int > 0 (seconds)")
        if heartbeat_interval > MAX_HEARTBEAT_INTERVAL:
            raise LocalProtocolError(
                f"heartbeat_interval {heartbeat_interval} is too long: at most "
                f"{MAX_HEARTBEAT_INTERVAL} seconds, an hour (Kalshi's default is 30)"
            )
        check_path("cafile", cafile)
        check_path("pinned_cert", pinned_cert)
        refuse_trust_beside_context(ssl_context, cafile, pinned_cert)
        check_bool("allow_unlisted_hosts", allow_unlisted_hosts)
        check_bool("allow_insecure_tls", allow_insecure_tls)
        check_bool("allow_mixed_endpoints", allow_mixed_endpoints)
        check_bool("reconnect", reconnect)
        if backoff is not None and not isinstance(backoff, Backoff):
            raise refuse_type("backoff", backoff, "a Backoff or None")
        check_path("store_dir", store_dir)
        check_path("message_log_path", message_log_path)
        if config is not None and not isinstance(config, Mapping):
            raise refuse_type("config", config, "a mapping of SessionConfig field -> value")
        check_session_options("config", config or {})
        if account is not None:
            if not isinstance(account, Account):
                raise refuse_type("account", account, "an Account or None")
            account.check_key(credentials.key_id, self.PRODUCT)
            _refuse_own_limiter("config", config or {}, account)
            make_lock = type(self)._ACCOUNT_LOCK
            if make_lock is not None:
                account.logons.guard_with(make_lock)
                account.limiter.guard_with(make_lock)
        self.account = account
        """The `Account` of the client's key (None: the sessions budget alone)."""
        self.credentials = credentials
        self.environment = environment
        self.heartbeat_interval = heartbeat_interval
        self._ssl_context = ssl_context
        self._cafile = cafile
        self._pinned_cert = pinned_cert
        self.allow_unlisted_hosts = allow_unlisted_hosts
        self.allow_insecure_tls = allow_insecure_tls
        self.endpoints = self._checked_endpoints(endpoints)
        self.allow_mixed_endpoints = allow_mixed_endpoints
        self.backoff = backoff
        self.reconnect = reconnect
        self.store_dir = Path(store_dir) if store_dir is not None else None
        self.message_log_path = message_log_path
        self.config = dict(config or {})
        self._stores: dict[str, MessageStore] = {}
        self._sessions: weakref.WeakSet[Any] = weakref.WeakSet()  # for kill_all
        if risk_limits is not None and not isinstance(risk_limits, RiskLimits):
            raise refuse_type("risk_limits", risk_limits, "a RiskLimits or None")
        self.risk_limits = risk_limits
        """The `RiskLimits` of every order-entry session this client makes (None: none)."""
        self.tracker = OrderTracker()
        """Orders, fills and positions of the client's key: the order-entry sessions it makes
        share it (unless given their own ``tracker=``), so limits see what earlier sessions
        left open."""
        self.cursor = ExecCursor()
        """Where drop-copy catch-up resumes, shared like ``tracker`` by the client's KalshiNR
        sessions: a new session catches up from the last ExecID an earlier one saw."""
        self._halt = TradingHalt()  # kill_all's: every session of the client, until rearm()
        self.halt_file = self._checked_halt_file(halt_file)
        """The key's `HaltFile` its order-entry sessions ask (None: ``halt_file=False``)."""
        self._outside_halt = TradingHalt()  # what the halt file says, shared by the sessions
        try:
            switch = None if dead_man is None else DeadMansSwitch(dead_man)
        except LocalProtocolError:
            raise refuse_type("dead_man", dead_man, "seconds > 0 (a number), or None") from None
        self.dead_man = switch
        """The `DeadMansSwitch` its order-entry sessions ask (None: ``dead_man=None``)."""
        self._dead_man_clock: Callable[[], float] | None = None  # its sessions' clock
        if rest is not None and not isinstance(rest, RestOptions):
            raise refuse_type("rest", rest, "RestOptions or None")
        self.rest = rest
        """How order-entry sessions reconcile from Kalshi's REST API (None: they do not)."""

    def _checked_halt_file(self, halt_file: object) -> HaltFile | None:
        if halt_file is True:
            return HaltFile(self.credentials.key_id)
        if halt_file is False:
            return None
        if not isinstance(halt_file, HaltFile):
            raise refuse_type("halt_file", halt_file, "True, False or a HaltFile")
        if halt_file.key_id != self.credentials.key_id:
            raise LocalProtocolError(
                f"halt_file is the halt file of key {halt_file.key_id!r}, not of this client's "
                f"key {self.credentials.key_id!r}"
            )
        return halt_file

    @property
    def halted(self) -> str | None:
        """Why ``kill_all`` halted every session of this client (new orders, replaces and
        quotes refused with `TradingHalted`, sessions opened later included), or why the key
        is halted from the shell as its sessions last saw the halt file; None when neither."""
        return self._halt.reason or self._outside_halt.reason

    def rearm(self) -> None:
        """Lift the halt of ``kill_all`` or of the dead man's switch (which counts again from
        now) and the client's reduce-only (a session halted by its own ``kill`` stays halted
        until ``session.rearm()``; a halt from the shell, until ``kalshi-fix rearm``)."""
        self._halt.rearm()
        switch, clock = self.dead_man, self._dead_man_clock
        if switch is not None and switch.fired and clock is not None:
            switch.rearm(clock())
            made: list[Any] = self._made_sessions()
            for session in made:  # each tells its loop the new deadline
                driver = session.driver
                if driver.dead_man is switch and driver.opened and driver.running:
                    driver.act(WOKE)
        self._announce()

    def alive(self) -> None:
        """The application is alive: the dead man's switch (``dead_man=``) counts its
        interval again from now. A plain call in every adapter (not a coroutine), cheap and
        safe from any thread or task; before the first order-entry session starts there is
        nothing to keep alive (each session's start counts as an ``alive()``). After the
        switch fired it does not lift the halt: ``rearm()`` does.

        Raises:
            LocalProtocolError: the client has no dead man's switch (``dead_man=None``).
        """
        switch = self.dead_man
        if switch is None:
            raise LocalProtocolError(
                "alive(): this client has no dead man's switch (make it with dead_man=seconds)"
            )
        clock = self._dead_man_clock
        if clock is not None:
            switch.alive(clock())

    def reduce_only(self, reason: str = "the client's reduce_only()") -> None:
        """Make every session of this client (those opened later too) reduce-only until
        `rearm`: only orders, replaces and quote messages that can only shrink a position in
        their market go (`ReduceOnlyRefused`); cancels always do. It lifts the halt of
        ``kill_all``; a session's own halt, or one from the shell, still wins."""
        if not isinstance(reason, str) or not reason:
            raise LocalProtocolError(f"reduce_only: reason must be a non-empty str, got {reason!r}")
        self._halt.reduce_only(reason)
        self._announce()

    @property
    def trading_state(self) -> TradingState:
        """What the client's own switch lets through (`TradingState`: ``kill_all`` halts,
        `reduce_only`, `rearm`); the halt file's and each session's own state come on top
        (``session.trading_state``)."""
        return self._halt.state

    def _announce(self) -> None:
        """Each open session says its new state now (`TradingStateChanged`)."""
        for session in self._made_sessions():
            driver = getattr(session, "_driver", None)
            if driver is not None and driver.begun:
                with driver.lock:
                    driver.announce(driver._last_input)

    def _checked_endpoints(self, endpoints: object) -> dict[str, Endpoint]:
        if endpoints is None:
            return {}
        if not isinstance(endpoints, Mapping):
            raise refuse_type(
                "endpoints",
                endpoints,
                "a mapping of session type -> Endpoint, e.g. "
                "{'KalshiNR': Endpoint('127.0.0.1', 5001, tls=False)}",
            )
        checked: dict[str, Endpoint] = {}
        for key, value in endpoints.items():
            problem = session_type_problem(self.PRODUCT, key)
            if problem is not None:
                raise LocalProtocolError(f"endpoints key {key!r}: {problem}")
            if not isinstance(value, Endpoint):
                raise refuse_type(
                    f"endpoints[{key!r}]",
                    value,
                    "an Endpoint, e.g. Endpoint(host, port) (tls=False for plain TCP to loopback)",
                )
            checked[key] = value
        return checked

    def __repr__(self) -> str:
        targets: list[str] = []
        for session_type in session_types(self.PRODUCT):
            if self._mixing_problem(session_type) is not None:
                targets.append(f"{session_type} -> refused (not in endpoints=)")
            else:
                endpoint = self._endpoint(session_type)
                label = endpoint_label(self.PRODUCT, session_type, self.environment, endpoint)
                targets.append(f"{session_type} -> {endpoint} ({label})")
        options = "".join(
            f", {name}=True"
            for name in ("allow_unlisted_hosts", "allow_insecure_tls", "allow_mixed_endpoints")
            if getattr(self, name)
        )
        return (
            f"{type(self).__name__}(product={self.PRODUCT!r}, environment={self.environment!r}, "
            f"key_id={self.credentials.key_id!r}{options}, endpoints: {'; '.join(targets)})"
        )

    @classmethod
    def from_env(
        cls: type[C],
        environment: str = "demo",
        environ: Mapping[str, str] | None = None,
        *,
        passphrase: str | bytes | Callable[[], str | bytes] | None = None,
        password: str | bytes | Callable[[], str | bytes] | None = None,
        **options: Any,
    ) -> C:
        """Build a client from ``KALSHI_*`` (prediction) or ``KALSHI_PERPS_*`` (margin) variables.

        Args:
            environment: ``"demo"`` or ``"production"``.
            environ: the variables (default: ``os.environ``).
            passphrase: the passphrase of an encrypted key, or a function returning it; given,
                it is used instead of ``KALSHI_PRIVATE_KEY_PASSPHRASE``
                (``KALSHI_PERPS_PRIVATE_KEY_PASSPHRASE``).
            password: kalshi-sdk's name for ``passphrase`` (give one of them).
            **options: the constructor's keyword options.

        Returns:
            The client.

        Raises:
            LocalProtocolError: a variable is missing (the message lists which to set), or both
                ``passphrase`` and ``password`` are given.
            KeyLoadError: the private key cannot be used (the message says why).
        """
        if passphrase is not None and password is not None:
            raise LocalProtocolError(
                "pass passphrase= or password= (kalshi-sdk's name for it), not both"
            )
        secret = passphrase if passphrase is not None else password
        if callable(secret):
            secret = secret()
        creds = Credentials.from_env(cls.PRODUCT, environ, passphrase=secret)
        return cls(creds, environment, **options)

    @classmethod
    def from_auth(cls: type[C], auth: object, environment: str = "demo", **options: Any) -> C:
        """Build a client from an object holding an API key, as kalshi-sdk's ``from_auth``
        takes its ``KalshiAuth``: anything with a ``key_id`` (str) and a ``private_key`` (a
        `cryptography` RSA or Ed25519 private key object); the key is used as loaded, never
        read again from a file.

        Unlike kalshi-sdk, whose clients default to production, the environment defaults to
        ``"demo"`` here too.

        Args:
            auth: the object holding the key (e.g. kalshi-sdk's ``KalshiAuth``).
            environment: ``"demo"`` or ``"production"``.
            **options: the constructor's keyword options.

        Returns:
            The client.

        Raises:
            LocalProtocolError: ``auth`` has no ``key_id`` or ``private_key``, or the key id is
                not a non-empty string.
            KeyLoadError: the private key is neither RSA (at least 2048 bits) nor Ed25519.
        """
        return cls(credentials_from_auth(auth), environment, **options)

    @classmethod
    def from_key(
        cls: type[C],
        key_id: str,
        *,
        pem: str | bytes | None = None,
        path: str | os.PathLike[str] | None = None,
        passphrase: str | bytes | None = None,
        environment: str = "demo",
        **options: Any,
    ) -> C:
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
                make_store_dir(self.store_dir)  # new directories 0700, existing ones as they are
                name = f"{self.PRODUCT}-{self.environment}-{session_type}-{self.credentials.key_id}.fixlog"
                store = FileStore(self.store_dir / name)
            else:
                store = MemoryStore()
            self._stores[session_type] = store
        return store

    def _mixing_problem(self, session_type: str) -> str | None:
        """Why ``session_type`` may not fall back to Kalshi's endpoint, or None when it may."""
        if session_type in self.endpoints or not self.endpoints or self.allow_mixed_endpoints:
            return None
        away = [
            f"{name} -> {endpoint}"
            for name, endpoint in self.endpoints.items()
            if documented_environment(endpoint, self.PRODUCT) != self.environment
        ]
        if not away:
            return None  # every entry is a Kalshi host of this environment (e.g. PrivateLink)
        real = kalshi_endpoint(self.PRODUCT, self.environment, session_type)
        return (
            f"{session_type} is not in endpoints=, and the client's endpoints point away from "
            f"Kalshi {self.environment} ({', '.join(away)}): {session_type} would go to "
            f"Kalshi's real {self.environment} host, {real}. Add endpoints[{session_type!r}] "
            f"(a mock gateway's `endpoints` has every session type), or pass "
            f"allow_mixed_endpoints=True to send {session_type} to Kalshi {self.environment}"
        )

    def _endpoint(self, session_type: str) -> Endpoint:
        endpoint = self.endpoints.get(session_type)
        if endpoint is not None:
            return endpoint
        problem = self._mixing_problem(session_type)
        if problem is not None:
            raise LocalProtocolError(problem)
        return kalshi_endpoint(self.PRODUCT, self.environment, session_type)

    def profile(self, session_type: str, **flags: Any) -> tuple[SessionConfig, ConnectOptions]:
        """The session config and connection options of one session type.

        Every factory comes here: this is where a session type name is checked.

        Args:
            session_type: KalshiNR, KalshiRT, KalshiDC, KalshiPT, KalshiRFQ or KalshiMD (the
                product's names from the spec, exactly).
            **flags: `SessionConfig` fields (Logon flags, timeouts) for this session.

        Returns:
            (config, options).

        Raises:
            LocalProtocolError: the product has no such session type (the message lists its
                session types and the likely intended one), a flag is not a `SessionConfig`
                field a client takes, the flags are invalid, or the session type has no
                ``endpoints`` entry while the others point away from Kalshi (see the class).
        """
        problem = session_type_problem(self.PRODUCT, session_type)
        if problem is not None:
            raise LocalProtocolError(problem)
        check_session_options(f"{session_type} flags", flags)
        endpoint = self._endpoint(session_type)
        settings: dict[str, Any] = {"heartbeat_interval": self.heartbeat_interval}
        settings.update(self.config)
        settings.update(flags)
        if self.account is not None:
            _refuse_own_limiter(f"{session_type} flags", flags, self.account)
            settings["rate_limiter"] = self.account.limiter
        make_lock = type(self)._ACCOUNT_LOCK
        limiter = settings.get("rate_limiter")
        if make_lock is not None and isinstance(limiter, RateLimiter):
            limiter.guard_with(make_lock)  # it may be shared with sessions in other threads
        config = SessionConfig(
            sender_comp_id=self.credentials.key_id,
            product=self.PRODUCT,
            session_type=session_type,
            signer=self.credentials.signer,
            store=self._store(session_type),
            **settings,
        )
        context, trust = None, None
        if endpoint.tls:  # a caller's context never meets a pin or a CA file (see __init__)
            context = self._ssl_context
            if context is None:  # the files read and checked now; the pump builds the context
                trust = tls_settings(cafile=self._cafile, pinned_cert=self._pinned_cert)
        log = None
        if self.message_log_path is not None:
            log = MessageLog.for_config(config, path=self.message_log_path)
        options = ConnectOptions(
            endpoint=endpoint,
            ssl_context=context,
            tls=trust or TLSSettings(),
            allow_unlisted_hosts=self.allow_unlisted_hosts,
            allow_insecure_tls=self.allow_insecure_tls,
            # each session gets its own copy: sessions reconnecting together must not share
            # (and reset) one retry budget
            backoff=attrs.evolve(self.backoff) if self.backoff is not None else Backoff(),
            reconnect=self.reconnect,
            message_log=log,
            product=self.PRODUCT,
            session_type=session_type,
            environment=self.environment,
            account=self.account,
        )
        return config, options

    def _make(
        self,
        config: SessionConfig,
        options: ConnectOptions,
        settings: SessionOptions | None = None,
        **chosen: Any,
    ) -> S:
        session: S = self._SESSION(config, options, SessionOptions.of(settings, chosen))
        self._sessions.add(session)
        return session

    def _made_sessions(self) -> list[S]:
        """The sessions this client made that are still referenced (``kill_all`` picks the
        open order-entry ones)."""
        return list(self._sessions)

    def session(
        self,
        session_type: str,
        *,
        on_event: Any = None,
        on_reconnect: Any = None,
        on_message: Any = None,
        on_state_change: Any = None,
        on_decode_error: Any = None,
        max_queued_events: int | None = None,
        rate_limit: str | None = None,
        tracker: Any = None,
        cursor: Any = None,
        catch_up: bool | None = None,
        queue_policy: Any = None,
        risk_limits: Any = None,
        risk_books: Any = None,
        rest: RestOptions | None = None,
        block_unknown: bool | None = None,
        settle_unknown: bool | None = None,
        **flags: Any,
    ) -> S:
        """A session of any type (not connected yet: use it as a (async) context manager).

        Args:
            session_type: the Kalshi session type.
            on_event: callback for every event instead of the iterator (async adapters also
                take a coroutine function).
            on_reconnect: called (or awaited) after each reconnect, e.g. to re-subscribe market
                data.
            on_message: kalshi-sdk's spelling: called (or awaited) with the typed message of
                every `ApplicationMessage` (`SdkCallbacks`; with ``on_event`` too, both run).
            on_state_change: kalshi-sdk's spelling: called (or awaited) with the previous and
                the new `SupervisorState` when an event finds the state changed.
            on_decode_error: kalshi-sdk's spelling: called (or awaited) with the raw frame and
                the `DecodeError` of every `DecodeFailure`.
            max_queued_events: most unread events before the session logs out with
                `EventQueueOverflow` (`MAX_QUEUED_EVENTS`; reading never pauses).
            rate_limit: ``"wait"`` (the default) or ``"raise"``: what the session does with a
                message its ``rate_limiter`` (a `SessionConfig` field) cannot take yet.
            tracker: an `OrderTracker` to keep current (e.g. ``restore(...).tracker`` after a
                restart); None: the client's ``tracker`` on an order-entry session (shared, so
                limits see earlier sessions' orders and positions), a new one elsewhere.
            cursor: an `ExecCursor` where drop-copy catch-up resumes (e.g.
                ``restore(...).cursor``): the first Logon then requests what was missed;
                None: the client's ``cursor`` on a KalshiNR order-entry session.
            catch_up: recover ExecutionReports missed while disconnected (EventResendRequest
                after every reconnect); None: on for KalshiNR, the only session type that
                can; False: off.
            queue_policy: a `QueuePolicy`: what happens when the application reads events
                slowly (market data folded, ``queue_events=False`` for tracker-only use).
            risk_limits: pre-trade `RiskLimits` checked before every order is sent
                (`RiskLimitExceeded`); None: the client's ``risk_limits`` on an order-entry
                session; settable later as ``session.risk_limits``.
            risk_books: the `Books` or market-data session ``max_price_distance`` reads.
            rest: reconcile the tracker from Kalshi's REST API when catch-up cannot make it
                whole (`RestOptions`; the ``rest`` extra); its ``environment`` defaults to the
                client's; None: the client's ``rest`` on an order-entry session.
            block_unknown: False: trade on while an order's outcome is unknown (the default
                refuses what could grow a position in its market with `OutcomeUnknown` until
                the exchange's answer, a round or ``release_unknown()`` lifts it).
            settle_unknown: ask the exchange how an order of unknown outcome ended with a
                cancel of it, whose answer lifts its block (`OutcomesAsked`); None: when
                ``block_unknown`` is on and no REST reconciliation is configured; False:
                never (the block then waits for a round or ``release_unknown()``).
            **flags: `SessionConfig` fields for this session.

        Returns:
            The adapter's session object.

        Raises:
            LocalProtocolError: the product has no such session type, or the flags or options
                are invalid.
        """
        spec = SESSIONS.get((self.PRODUCT, session_type))
        trades = spec is not None and "D" in spec.send and not flags.get("listener_session")
        if trades and tracker is None:
            tracker = self.tracker
        if trades and risk_limits is None:
            risk_limits = self.risk_limits
        if trades and rest is None:
            rest = self.rest
        if rest is not None and not isinstance(rest, RestOptions):
            raise refuse_type("rest", rest, "RestOptions or None")
        if rest is not None and rest.environment is None and rest.base_url is None:
            rest = attrs.evolve(rest, environment=self.environment)
        callbacks = None
        if on_message is not None or on_state_change is not None or on_decode_error is not None:
            callbacks = sdk_callbacks(
                type(self).__name__,
                self._AWAITS_CALLBACKS,
                on_message,
                on_state_change,
                on_decode_error,
                on_event,
            )
            on_event = callbacks
        options: dict[str, Any] = {
            "on_event": on_event,
            "on_reconnect": on_reconnect,
            "shared_halt": self._halt,
            "halt_source": self.halt_file if trades else None,
            "outside_halt": self._outside_halt if trades else None,
            "dead_man": self.dead_man if trades else None,
            "tracker": tracker,
            "cursor": cursor,
            "catch_up": catch_up,
            "queue_policy": queue_policy,
            "risk_limits": risk_limits,
            "risk_books": risk_books,
            "rest": rest,
        }
        if max_queued_events is not None:
            options["max_queued_events"] = max_queued_events
        if rate_limit is not None:
            options["rate_limit"] = rate_limit
        if (
            trades
            and self.dead_man is not None
            and "cancel_orders_on_disconnect" not in self.config
        ):
            flags.setdefault("cancel_orders_on_disconnect", True)  # a stuck loop or process
        if block_unknown is not None:
            options["block_unknown"] = block_unknown
        if settle_unknown is not None:
            options["settle_unknown"] = settle_unknown
        config, connect = self.profile(session_type, **flags)
        if trades and cursor is None and catches_up(config):  # resume where the last one was
            options["cursor"] = self.cursor
        settings = SessionOptions(**options)  # made once, handed to the session's driver
        session = self._make(config, connect, settings)
        if settings.dead_man is not None:
            made: Any = session
            self._dead_man_clock = made.driver.clock  # the pump's: wall or simulated
        if callbacks is not None:
            callbacks.session = session
        return session

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

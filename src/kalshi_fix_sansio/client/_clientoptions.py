"""The checks of a client's names and options, and a connection's options (`ConnectOptions`)
with where they lead (`describe_target`): one message per mistake, saying what is valid.

Every option is checked when a client is built: session-type names against the spec's
`SESSIONS` (with a guess at what was meant), `SessionConfig` fields a client sets itself
refused with why, paths and flags by type, a pin or CA file beside a caller's TLS context
refused (`ClientBase <kalshi_fix_sansio.client._clientbase.ClientBase>` asks these).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from kalshi_fix_sansio.client.account import Account
from kalshi_fix_sansio.client.reconnect import Backoff
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.codec.spec import SESSIONS
from kalshi_fix_sansio.session.config import SessionConfig

from ..observability import MessageLog
from ._endpoints import Endpoint, documented_environment, kalshi_endpoint, session_types
from ._tlsconfig import TLSSettings

if TYPE_CHECKING:
    from ..rest.reconcile import RestOptions
    from ..session.events import Event
    from ..trading.book import Books
    from ..trading.catchup import ExecCursor
    from ..trading.deadman import DeadMansSwitch
    from ..trading.gate import TradingHalt
    from ..trading.killswitch import HaltSource
    from ..trading.risk import BookSource, RiskLimits
    from ..trading.tracker import OrderTracker
    from ._queue import QueuePolicy
    from ._tlsconfig import SSLContext

__all__ = [
    "SESSION_OPTIONS",
    "ConnectOptions",
    "SessionOptions",
    "check_bool",
    "check_path",
    "check_session_options",
    "describe_target",
    "endpoint_label",
    "refuse_trust_beside_context",
    "refuse_type",
    "session_type_problem",
]

_SET_BY_CLIENT: Final = {
    "sender_comp_id": "set by the client: the credentials' key id",
    "product": "set by the client class: FixClient or MarginFixClient",
    "session_type": "set by the factory: client.session(name), order_entry()...",
    "signer": "set by the client: the credentials' signer",
    "store": "set by the client: store_dir= keeps durable stores",
    "role": "a client is always the initiator",
    "public_keys": "acceptor only",
    "logon_check": "acceptor only",
}
"""`SessionConfig` fields a client's ``config=`` and factory keywords may not give, and why."""

SESSION_OPTIONS: Final = tuple(
    f.name for f in attrs.fields(SessionConfig) if f.name not in _SET_BY_CLIENT
)
"""The `SessionConfig` fields a client takes in ``config=`` and as factory keywords."""


# --------------------------------------------------------------------------------------------
# Checks of names and options: one message per mistake, saying what is valid


def _core(name: str) -> str:
    squashed = "".join(c for c in name.lower() if c.isalnum())
    return squashed[6:] if squashed.startswith("kalshi") and len(squashed) > 6 else squashed


def _guess_session_type(name: object) -> str | None:
    """The session type ``name`` most likely means (case, spaces, the ``Kalshi`` prefix)."""
    if not isinstance(name, str):
        return None
    cores: dict[str, str] = {_core(spec.name): spec.name for spec in SESSIONS.values()}
    wanted = _core(name)
    if wanted in cores:
        return cores[wanted]
    close = difflib.get_close_matches(wanted, list(cores), n=1, cutoff=0.6)
    return cores[close[0]] if close else None


def session_type_problem(product: str, name: object) -> str | None:
    """Why ``name`` is not a session type of ``product``, or None when it is.

    The one check of a session type name: `ClientBase.profile` (so every factory) and the
    keys of a client's ``endpoints=`` use it. The text lists the product's session types
    (from the spec's `SESSIONS`) and, when the name is close to one (case, spaces, a missing
    ``Kalshi`` prefix, a typo), says which.

    Args:
        product: ``"prediction"`` or ``"margin"``.
        name: the name given.

    Returns:
        None, or the sentence to put in a `LocalProtocolError`.
    """
    valid = session_types(product)
    if isinstance(name, str) and name in valid:
        return None
    shown = name if isinstance(name, str) and name.isidentifier() else repr(name)
    text = f"{product} has no {shown} session"
    guess = _guess_session_type(name)
    if guess in valid:
        text += f" (did you mean {guess}?)"
    elif guess is not None:
        owners = " and ".join(sorted(p for p, n in SESSIONS if n == guess))
        text += f" ({guess} is {owners} only)"
    return f"{text}; {product} session types: {', '.join(valid)}"


def _shown(value: object) -> str:
    """A value for an error message: simple values in full (shortened), others by type only."""
    if isinstance(value, (bool, int, float, str, os.PathLike)) or value is None:
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def refuse_type(name: str, value: object, expected: str) -> LocalProtocolError:
    shown = _shown(value)
    if value is None or shown.startswith(("a ", "an ")):
        got = shown
    else:
        got = f"{type(value).__name__} {shown}"
    return LocalProtocolError(f"{name} must be {expected}, got {got}")


def check_path(name: str, value: object) -> None:
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise refuse_type(name, value, "a path (str or os.PathLike) or None")


def check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise refuse_type(name, value, "True or False")


def refuse_trust_beside_context(
    ssl_context: SSLContext | None, cafile: object, pinned_cert: object
) -> None:
    """Refuse ``pinned_cert`` / ``cafile`` beside a caller's ``ssl_context``: the context
    alone decides whom to trust, so either would be dropped without a word (a client pinned
    to one server logging on to another)."""
    if ssl_context is None:
        return
    for name, value, what in (
        ("pinned_cert", pinned_cert, "the pin"),
        ("cafile", cafile, "the CA file"),
    ):
        if value is not None:
            raise LocalProtocolError(
                f"pass ssl_context or {name}, not both: a context of your own alone decides "
                f"which certificates are trusted, so {what} would be ignored; pass {name}= "
                f"without ssl_context, or build the context with make_ssl_context({name}=...) "
                "and adjust that one"
            )


def check_session_options(where: str, names: Iterable[object]) -> None:
    """Refuse names that are not `SessionConfig` fields a client takes (`SESSION_OPTIONS`).

    Args:
        where: what gave them, for the message (``"config"``, ``"KalshiNR flags"``).
        names: the keys given.

    Raises:
        LocalProtocolError: naming each refused key (with a likely intended field, or why the
            client sets it itself) and listing the valid ones.
    """
    problems: list[str] = []
    for name in names:
        if isinstance(name, str) and name in SESSION_OPTIONS:
            continue
        if isinstance(name, str) and name in _SET_BY_CLIENT:
            problems.append(f"{name!r} ({_SET_BY_CLIENT[name]})")
            continue
        close = (
            difflib.get_close_matches(name, SESSION_OPTIONS, n=1) if isinstance(name, str) else []
        )
        problems.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if problems:
        raise LocalProtocolError(
            f"{where}: not a SessionConfig field a client takes: {', '.join(problems)}; "
            f"valid: {', '.join(SESSION_OPTIONS)}"
        )


# --------------------------------------------------------------------------------------------
# Where a session connects, in words


def endpoint_label(
    product: str | None, session_type: str | None, environment: str | None, endpoint: Endpoint
) -> str:
    """``Kalshi demo`` for Kalshi's documented endpoint, else ``override`` (with the Kalshi
    environment its host names, if any); without a session type, only what the host is."""
    named = documented_environment(endpoint, product)
    if product is None or session_type is None:
        return "override" if named is None else f"a Kalshi {named} host"
    if named is None:
        return "override"
    documented = kalshi_endpoint(product, named, session_type)
    same = (
        endpoint.tls
        and endpoint.port == documented.port
        and endpoint.host.lower().rstrip(".") == documented.host
    )
    if same and environment in (None, named):
        return f"Kalshi {named}"
    return f"override: a Kalshi {named} host"


def _target(
    product: str | None, session_type: str | None, environment: str | None, endpoint: Endpoint
) -> str:
    label = endpoint_label(product, session_type, environment, endpoint)
    if product is None or session_type is None:
        who = "endpoint" if environment is None else f"{environment} endpoint"
        return f"{who} {endpoint} ({label})"
    who = f"{product}/{session_type}" + ("" if environment is None else f" {environment}")
    return f"{who} -> {endpoint} ({label})"


def describe_target(config: SessionConfig, options: ConnectOptions) -> str:
    """Which environment and host a session dials, in one line (for logs and reprs).

    Examples: ``prediction/KalshiNR demo -> tls://fix.demo.kalshi.co:8228 (Kalshi demo)``;
    ``prediction/KalshiNR demo -> tcp://127.0.0.1:5001 (override)``. The label says
    ``Kalshi <environment>`` for Kalshi's documented endpoint of the session type, else
    ``override``, with the Kalshi environment the host names when it names one (e.g. a
    production host given to a demo client: ``override: a Kalshi production host``). Nothing
    secret is in it.

    Args:
        config: the session's config (product and session type).
        options: its connection options (endpoint and the client's environment).

    Returns:
        The line, without a trailing newline.
    """
    return _target(config.product, config.session_type, options.environment, options.endpoint)


@attrs.frozen(kw_only=True, repr=False)
class ConnectOptions:
    """How an adapter reaches and keeps one session.

    The repr says where the session connects (`describe_target`'s line) and the policy; it
    holds nothing secret.

    Attributes:
        endpoint: host, port, TLS.
        ssl_context: the caller's own TLS context, carried as given (None: the library's,
            built by the pump from ``tls``; plain TCP to loopback has none). The pump checks
            it before connecting (`ssl_context_for` of `kalshi_fix_sansio.adapters`).
        tls: whom the library's context trusts (`TLSSettings`: a pin, a CA file), when no
            ``ssl_context`` is given.
        allow_unlisted_hosts: permit a non-loopback host that is not a documented Kalshi host.
        allow_insecure_tls: permit an ``ssl_context`` weaker than the library's (no
            verification, no host name check, below TLS 1.2) to a non-loopback host; it is
            still warned about (`InsecureTLSWarning`, see `ssl_context_for`).
        backoff: reconnect delays (full jitter).
        reconnect: reconnect after a drop (with a fresh Logon signature each time).
        connect_timeout: seconds for the TCP + TLS handshake.
        message_log: the FIX message log, if any.
        maintenance_reset: reset sequence numbers on RT/PT too when reconnecting after
            Kalshi's Thursday maintenance window.
        product: the product the endpoint was chosen for (set by the client; labels only).
        session_type: the session type it was chosen for (set by the client; labels only).
        environment: the client's environment, ``"demo"`` or ``"production"`` (set by the
            client): with it, `describe_target` tells Kalshi's endpoint from an override.
        account: the `Account` of the session's key (set by the client): its Logon budget and
            order decide when the session connects.
    """

    endpoint: Endpoint
    ssl_context: SSLContext | None
    tls: TLSSettings = attrs.field(factory=TLSSettings)
    allow_unlisted_hosts: bool = False
    allow_insecure_tls: bool = False
    backoff: Backoff = attrs.field(factory=Backoff)
    reconnect: bool = True
    connect_timeout: float = 10.0
    message_log: MessageLog | None = None
    maintenance_reset: bool = False
    product: str | None = None
    session_type: str | None = None
    environment: str | None = None
    account: Account | None = None

    def __repr__(self) -> str:
        target = _target(self.product, self.session_type, self.environment, self.endpoint)
        context = "None" if self.ssl_context is None else "<ssl.SSLContext>"
        return (
            f"ConnectOptions({target}, ssl_context={context}, "
            f"allow_unlisted_hosts={self.allow_unlisted_hosts}, "
            f"allow_insecure_tls={self.allow_insecure_tls}, backoff={self.backoff!r}, "
            f"reconnect={self.reconnect}, connect_timeout={self.connect_timeout}, "
            f"message_log={_log_text(self.message_log)}, "
            f"maintenance_reset={self.maintenance_reset})"
        )


@attrs.frozen(kw_only=True)
class SessionOptions:
    """What a session is made with beyond its config and connection, made once and handed to
    its `Driver <kalshi_fix_sansio.client.driver.Driver>`, which reads it once. A client's
    factory makes it; an adapter's session and a hand-driven ``Driver`` take its fields as
    keywords too (``Driver(config, risk_limits=...)``) and make it of them (`of`).

    Attributes:
        on_event: receives every event instead of the queue (in the session's thread or
            task; the async adapters await an awaitable result).
        on_reconnect: called with the session after each reconnect and Logon, e.g. to
            re-subscribe (awaited when awaitable, in the async adapters).
        clock: UTC epoch seconds for the core (a test's, a simulation's); None: the pump's
            wall clock.
        max_queued_events: most unread events before the session logs out with
            `EventQueueOverflow` (reading never pauses; None: ``queue_policy.max_events``).
        queue_policy: what happens when the application reads slowly (`QueuePolicy`).
        rate_limit: with a ``rate_limiter`` in the config, ``"wait"`` for tokens or
            ``"raise"`` `RateLimitExceeded` (`RateLimitMode`); settable later.
        tracker: the order tracker to keep current (e.g. restored after a restart); a new one
            if None.
        cursor: where drop-copy catch-up resumes (e.g. restored after a restart): the first
            Logon then requests what was missed since it.
        catch_up: recover the ExecutionReports missed while disconnected; None: on where the
            session type has no retransmission and may request a replay itself.
        risk_limits: pre-trade `RiskLimits` checked before every order is sent
            (`RiskLimitExceeded`; None: none); settable later (``session.risk_limits``,
            ``driver.gate.risk_limits``).
        risk_books: the `Books` (or an object with ``books``, e.g. a market-data session)
            whose best prices the ``max_price_distance`` limit reads; settable later.
        shared_halt: a `TradingHalt` shared with other sessions (a client's ``kill_all``).
        halt_source: a halt set outside the process (`HaltSource`: a client's
            `HaltFile <kalshi_fix_sansio.trading.haltfile.HaltFile>`, the halt of a kill from the
            shell), asked at `start` and every ``halt_source.interval`` seconds on the
            driver's timer (never per order). While it answers a reason, ``outside_halt``
            holds it and messages that can create a position are refused (`TradingHalted`);
            `rearm` does not lift it. A halt that begins after `start` also starts a `kill`
            of this session's orders (``halt=False``: the outside halt refuses already), on a
            session that can cancel. Each change is an `OutsideHalt` event. A source that
            says it is reduce-only (``halt_source.reducing``, a ``kalshi-fix kill
            --reduce-only``) makes the session reduce-only instead, and cancels nothing.
        outside_halt: the `TradingHalt` the ``halt_source`` sets (e.g. one shared by a
            client's sessions); a new one if None.
        dead_man: a `DeadMansSwitch` (a client's ``dead_man=``, shared by its order-entry
            sessions): counting from `start`, asked on the driver's timer, before a read's or a
            lost connection's events, and by the gate on every order-creating message (one
            comparison); when the application has not called ``alive`` for its interval, the
            driver halts (the ``shared_halt`` if given, else its own) and kills this session's
            orders, with a `DeadMansSwitchFired` event; a message sent past the deadline fires
            it there and is refused (`TradingHalted`). ``client.alive()`` keeps it from firing.
        rest: reconcile ``tracker`` from Kalshi's REST API (`RestOptions`) when catch-up cannot
            make it whole (and on ``reconcile()``): an adapter's session sends the requests
            by itself (the ``rest`` extra); a hand-driven driver's through `rest_request` /
            `rest_response` (`kalshi_fix_sansio.adapters.rest`).
        block_unknown: refuse what could grow a position in a market where an order's outcome
            is unknown (`OrdersUnknown`, `CatchUpFailed`, `ReconcileFailed`) until the
            exchange's answer, a round (`Reconciled`, a complete catch-up) or
            `release_unknown` lifts it (`OutcomeUnknown`); None: on for a
            new gate, as it is for the config's ``order_gate``.
        settle_unknown: ask the exchange how each order an `OrdersUnknown` names ended, with
            a cancel of it (Kalshi has no order status request; the answer settles it, and
            lifts its block: `kalshi_fix_sansio.trading.outcomes`); None: when the block is on
            and no REST reconciliation is configured (``rest``, which answers without
            cancelling).
    """

    on_event: Callable[[Event], object] | None = None
    on_reconnect: Callable[[Any], object] | None = None
    clock: Callable[[], float] | None = None
    max_queued_events: int | None = None
    queue_policy: QueuePolicy | None = None
    rate_limit: Literal["wait", "raise"] = "wait"
    tracker: OrderTracker | None = None
    cursor: ExecCursor | None = None
    catch_up: bool | None = None
    risk_limits: RiskLimits | None = None
    risk_books: Books | BookSource | None = None
    shared_halt: TradingHalt | None = None
    halt_source: HaltSource | None = None
    outside_halt: TradingHalt | None = None
    dead_man: DeadMansSwitch | None = None
    rest: RestOptions | None = None
    block_unknown: bool | None = None
    settle_unknown: bool | None = None

    @classmethod
    def of(cls, settings: SessionOptions | None, chosen: dict[str, Any]) -> SessionOptions:
        """``settings`` with the keywords ``chosen`` over it (None: made of ``chosen`` alone).

        Raises:
            TypeError: a keyword that is not a field (the message names it).
        """
        if settings is None:
            return cls(**chosen)
        return attrs.evolve(settings, **chosen) if chosen else settings


def _log_text(log: MessageLog | None) -> str:
    if log is None:
        return "None"
    return f"<MessageLog {log.session_id}" + (f" -> {log.path}>" if log.path else ">")

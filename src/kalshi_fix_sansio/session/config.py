"""Session configuration: one frozen object per FIX session, checked when it is built.

Every Kalshi Logon flag the reference lists is a field here. Combinations Kalshi refuses (a
listener without SkipPendingExecReports, settlement reports on margin, ResetSeqNumFlag=N where
the session requires Y, ...) are refused at construction with a message saying why, so a bad
configuration never reaches the wire.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ..codec import FIELDS, SESSIONS, SessionSpec
from ..codec.errors import LocalProtocolError

if TYPE_CHECKING:
    from .ratelimit import RateLimiter
    from .store import MessageStore


class OrderCheck(Protocol):
    """What a session asks of the order gate it is configured with (``SessionConfig.order_gate``):
    `kalshi_fix_sansio.trading.gate.OrderGate` is the library's. The session calls it for each
    message whose type is in `msg_types`, before the message is encoded: `admit` (at the
    send's ``now``; raises to refuse), then `sent` once it is sequenced or `discard` if it
    could not go; `withhold` tells whether a resend must gap-fill a message instead of sending
    it again."""

    product: str

    @property
    def msg_types(self) -> frozenset[str]:
        """The message types the gate looks at (others pass it without a call)."""
        ...

    def admit(self, message: Any, msg_type: str, now: float) -> str | None: ...

    def withhold(self, message: Any) -> bool: ...

    def sent(
        self, message: Any, msg_type: str, cl: str | None, now: float, seq: int = 0
    ) -> None: ...

    def discard(self, cl: str | None) -> None: ...


class Role(enum.Enum):
    """Which end of the connection the session plays."""

    INITIATOR = "initiator"
    """The client: sends the Logon."""
    ACCEPTOR = "acceptor"
    """The server (the mock gateway, tests): answers the Logon."""


def _logon_flags() -> dict[str, tuple[str, int]]:
    by_name = {f.name: f for f in FIELDS.values()}
    names = sorted({name for s in SESSIONS.values() for name in s.logon_flags})
    return {by_name[n].attr: (n, by_name[n].tag) for n in names}


LOGON_FLAGS: dict[str, tuple[str, int]] = _logon_flags()
"""Config attribute -> (FIX field name, tag) of every Logon flag some session type takes, from
the spec's session table (spec/sessions.yaml): each is a `SessionConfig` field of that name."""

KALSHI_COMP_ID = "Kalshi"

MAX_HEARTBEAT_INTERVAL = 3600
"""The longest HeartBtInt(108), in seconds: what a `SessionConfig` takes and what a peer's
Logon may ask for. Kalshi documents only the minimum (and a default of 30); the interval is how
long a dead connection goes unnoticed (and how long Kalshi may hold a stale session, "up to 60
seconds depending on your HeartbeatInt"), so an hour is far past any setting and ``10**12`` a
mistake."""


def _positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise LocalProtocolError(f"SessionConfig.{attribute.name} must be > 0, got {value!r}")


@attrs.frozen(kw_only=True)
class SessionConfig:
    """Everything a session needs to know, fixed for its lifetime.

    Attributes:
        sender_comp_id: our SenderCompID: the API key id (initiator) or ``"Kalshi"`` (acceptor).
        product: ``"prediction"`` or ``"margin"``.
        session_type: the Kalshi session type (KalshiNR, KalshiRT, KalshiDC, KalshiPT, KalshiRFQ,
            KalshiMD); the initiator's TargetCompID.
        role: initiator (client) or acceptor (server).
        heartbeat_interval: HeartBtInt(108) in whole seconds (prediction: > 3, margin: >= 3;
            at most `MAX_HEARTBEAT_INTERVAL`, an hour).
        reset_seq_num: send ResetSeqNumFlag(141)=Y on Logon. None: Y where the session type
            requires it, N elsewhere (continue the sequence on KalshiRT / KalshiPT).
        cancel_orders_on_disconnect: CancelOrdersOnDisconnect(8013).
        listener_session: ListenerSession(20126): read-only copy of the account's reports.
        receive_settlement_reports: ReceiveSettlementReports(20127) (prediction only); None
            leaves it out (Kalshi's default: Y on KalshiPT, N elsewhere). False on KalshiPT
            sends 20127=N (turns its default stream off); elsewhere False is left out, as N.
        message_retention_period: MessageRetentionPeriod(20200) in hours (1-72; retransmission
            sessions only); also how long the store keeps messages for resend (default 24).
        use_dollars: UseDollars(21005): prices in dollars on the wire (always so on margin).
        skip_pending_exec_reports: SkipPendingExecReports(21011).
        use_expired_ord_status: UseExpiredOrdStatus(21012).
        enable_ioc_cancel_report: EnableIocCancelReport(21007).
        preserve_original_order_qty: PreserveOriginalOrderQty(21008).
        always_emit_new_before_trade: AlwaysEmitNewBeforeTrade(21026) (prediction only).
        split_collateral_return: SplitCollateralReturn(21027) (prediction only).
        use_cap_reservation: UseCapReservation(21032) (prediction only, FCM members).
        send_raw_data_length: write RawDataLength(95) before RawData(96) on Logon. Kalshi's docs
            never mention 95 (open question 2); standard FIX requires it, so it is on by default.
        signer: signs the Logon (initiator); see `kalshi_fix_sansio.session.auth`.
        public_keys: acceptor: API key id -> public key used to verify Logon signatures.
        store: message store (sequence numbers and messages for resend); default: in memory.
        logon_timeout: seconds to wait for the answer to our Logon (or, as acceptor, for the
            client's Logon).
        logout_timeout: seconds to wait for the peer's Logout after ours.
        test_request_factor: send a TestRequest after this many heartbeat intervals of silence
            from the peer (QuickFIX default 1.2).
        disconnect_factor: give up after this many intervals of silence (QuickFIX default 2.4).
        sending_time_tolerance: seconds SendingTime(52) may differ from ``now``; None: no
            check. Kalshi enforces 30 s; the acceptor default is 30 and the initiator's 120.
        inbound_sender_comp_ids: SenderCompIDs accepted from Kalshi. None: ``"Kalshi"`` and the
            session type name (the docs show both, open question 1).
        validate_messages: convert every field of inbound application messages on arrival,
            listing every problem on the event (otherwise values convert lazily, on first
            access, and the event lists only what the decode found without converting).
        strict_inbound: what a defective inbound application message becomes. False: it is
            delivered as an `ApplicationMessage` with its `defects` listed and nothing is sent
            back (nothing from the exchange is lost). True: FIX's strict rule, a `DecodeFailure`
            and a Reject(35=3) naming the first defect, its sequence number consumed. None (the
            default): strict for the acceptor (as Kalshi is with what clients send), tolerant
            for the initiator.
        rfq_follow_use_dollars: BidPx/OfferPx(132/133) of RFQ quotes follow UseDollars(21005)
            (the sub-penny page's reading) instead of the RFQ page's units per session type
            (dollars on KalshiRT towards the RFQ creator, integer cents on KalshiRFQ).
        max_pending_messages: most messages queued behind a sequence gap while the resend
            arrives; past it later frames are not kept and the session asks for them again once
            the gap closes, instead of growing.
        max_pending_bytes: most bytes queued behind a gap (the same rule).
        max_message_size: largest frame accepted or sent, in bytes.
        logon_check: acceptor: extra check of a Logon that passed the signature check; returns
            a rejection text (sent in the Logout) or None to accept.
        rate_limiter: initiator: Kalshi's rate limits (`kalshi_fix_sansio.session.ratelimit.RateLimiter`)
            of the account, for ``Session.send`` to refuse locally (`RateLimitExceeded`,
            nothing sent) what Kalshi would reject with a 35=j 380=8. Like ``store`` it holds
            state: every session given the same limiter (reconnects, the other sessions of the
            account) bills the same buckets, as Kalshi does. None: no local limit.
        order_gate: initiator: the `kalshi_fix_sansio.trading.gate.OrderGate` every order-creating
            message passes in ``Session.send`` (the halt of the kill switch, the live-ClOrdID
            rule, pre-trade risk limits, orders recorded in its tracker). Like ``store`` it
            holds state shared by every session built from this config (a `Driver` makes one
            when this is None). None: no gate.
        cl_ord_ids: initiator: where the ClOrdIDs of the requests the library builds itself
            come from (the kill switch's mass cancels, cancels and order-group triggers, and
            ``cancel()`` given an order rather than a request); one generator shared by every
            session built from this config. None: a random UUID each (Kalshi's preference). A
            numbered `kalshi_fix_sansio.trading.builders.ClOrdIDGenerator` makes them the same on every
            run (a simulation's clients use one).
    """

    sender_comp_id: str
    product: str = "prediction"
    session_type: str = "KalshiNR"
    role: Role = Role.INITIATOR
    heartbeat_interval: int = 30
    reset_seq_num: bool | None = None
    cancel_orders_on_disconnect: bool = False
    listener_session: bool = False
    receive_settlement_reports: bool | None = None
    message_retention_period: int | None = None
    use_dollars: bool = False
    skip_pending_exec_reports: bool = False
    use_expired_ord_status: bool = False
    enable_ioc_cancel_report: bool = False
    preserve_original_order_qty: bool = False
    always_emit_new_before_trade: bool = False
    split_collateral_return: bool = False
    use_cap_reservation: bool = False
    send_raw_data_length: bool = True
    signer: Any = None
    public_keys: Mapping[str, Any] = attrs.field(factory=dict)
    store: MessageStore | None = None
    logon_timeout: float = attrs.field(default=10.0, validator=_positive)
    logout_timeout: float = attrs.field(default=5.0, validator=_positive)
    test_request_factor: float = attrs.field(default=1.2, validator=_positive)
    disconnect_factor: float = attrs.field(default=2.4, validator=_positive)
    sending_time_tolerance: float | None = -1.0
    inbound_sender_comp_ids: tuple[str, ...] | None = None
    validate_messages: bool = True
    strict_inbound: bool | None = None
    rfq_follow_use_dollars: bool = False
    max_pending_messages: int = attrs.field(default=100_000, validator=_positive)
    max_pending_bytes: int = attrs.field(default=256 * 1024 * 1024, validator=_positive)
    max_message_size: int = attrs.field(default=4 * 1024 * 1024, validator=_positive)
    logon_check: Callable[[Any], str | None] | None = None
    rate_limiter: RateLimiter | None = None
    order_gate: OrderCheck | None = None
    cl_ord_ids: Callable[[], str] | None = None

    def __attrs_post_init__(self) -> None:
        spec = self.spec  # validates product / session type
        p = self.product
        st = self.session_type
        if not self.sender_comp_id or "\x01" in self.sender_comp_id:
            raise LocalProtocolError(
                "SessionConfig.sender_comp_id must be a non-empty string without SOH"
            )
        minimum = 4 if p == "prediction" else 3
        interval = self.heartbeat_interval
        if isinstance(interval, bool) or not isinstance(interval, int):
            raise LocalProtocolError(
                f"heartbeat_interval must be whole seconds (an int), got {interval!r}"
            )
        if interval > MAX_HEARTBEAT_INTERVAL:
            raise LocalProtocolError(
                f"heartbeat_interval {interval} is too long: at most {MAX_HEARTBEAT_INTERVAL} "
                "seconds, an hour (Kalshi's default is 30; a dead connection goes unnoticed for "
                "about that long)"
            )
        if self.heartbeat_interval < minimum:
            raise LocalProtocolError(
                f"heartbeat_interval {self.heartbeat_interval} is too short: Kalshi {p} requires "
                f"{'> 3' if p == 'prediction' else '>= 3'} seconds"
            )
        if self.reset_seq_num is False and spec.reset_seq_num_required:
            raise LocalProtocolError(
                f"{st} ({p}) requires ResetSeqNumFlag(141)=Y on every Logon: it has no "
                "retransmission; leave reset_seq_num as None or set it True"
            )
        for attr, (fix_name, _tag) in LOGON_FLAGS.items():
            value = getattr(self, attr)
            if value in (None, False):
                continue
            if attr == "use_dollars" and p == "margin":
                continue  # margin is always in dollars; saying so is harmless
            if fix_name not in spec.logon_flags:
                where = ", ".join(
                    sorted(
                        s.name
                        for s in SESSIONS.values()
                        if s.product == p and fix_name in s.logon_flags
                    )
                )
                raise LocalProtocolError(
                    f"{fix_name} is not available on {st} ({p})"
                    + (f"; it is allowed on: {where}" if where else f"; {p} has no such flag")
                )
        if self.listener_session:
            if not spec.listener:
                raise LocalProtocolError(
                    f"ListenerSession is not allowed on {st}: only KalshiNR and KalshiRT"
                )
            if not self.skip_pending_exec_reports:
                raise LocalProtocolError(
                    "ListenerSession(20126)=Y requires SkipPendingExecReports(21011)=Y: set "
                    "skip_pending_exec_reports=True"
                )
            if self.cancel_orders_on_disconnect:
                raise LocalProtocolError(
                    "CancelOrdersOnDisconnect(8013) must be N on a listener session"
                )
        if (
            self.message_retention_period is not None
            and not 1 <= self.message_retention_period <= 72
        ):
            raise LocalProtocolError(
                f"message_retention_period must be 1-72 hours, got {self.message_retention_period}"
            )
        limiter = self.rate_limiter
        if limiter is not None:
            if self.role is not Role.INITIATOR:
                raise LocalProtocolError(
                    "SessionConfig.rate_limiter is for an initiator: Kalshi limits what clients send"
                )
            if not hasattr(limiter, "admit") or getattr(limiter, "product", None) != p:
                raise LocalProtocolError(
                    f"SessionConfig.rate_limiter must be a RateLimiter of product {p!r}, got "
                    f"{limiter!r}"
                )
        gate = self.order_gate
        if gate is not None:
            if self.role is not Role.INITIATOR:
                raise LocalProtocolError(
                    "SessionConfig.order_gate is for an initiator: it checks what a client sends"
                )
            if not hasattr(gate, "admit") or getattr(gate, "product", None) != p:
                raise LocalProtocolError(
                    f"SessionConfig.order_gate must be an OrderGate of product {p!r}, got {gate!r}"
                )
        if (
            self.role is Role.INITIATOR
            and self.signer is not None
            and not hasattr(self.signer, "sign")
        ):
            raise LocalProtocolError("signer must have a sign(payload: bytes) -> bytes method")

    @property
    def spec(self) -> SessionSpec:
        """The session type's rules from the spec (sessions.yaml).

        Raises:
            LocalProtocolError: unknown product or session type.
        """
        if self.product not in ("prediction", "margin"):
            raise LocalProtocolError(
                f"product must be 'prediction' or 'margin', got {self.product!r}"
            )
        spec = SESSIONS.get((self.product, self.session_type))
        if spec is None:
            known = ", ".join(s.name for s in SESSIONS.values() if s.product == self.product)
            raise LocalProtocolError(
                f"{self.session_type!r} is not a {self.product} session type (known: {known})"
            )
        return spec

    @property
    def resets_on_logon(self) -> bool:
        """Whether our Logon carries ResetSeqNumFlag=Y."""
        if self.reset_seq_num is None:
            return self.spec.reset_seq_num_required
        return self.reset_seq_num

    @property
    def dollars(self) -> bool:
        """Prices travel in dollars (margin always; prediction with UseDollars=Y)."""
        return self.use_dollars or self.product == "margin"

    @property
    def time_tolerance(self) -> float | None:
        """The SendingTime tolerance in force (role default resolved)."""
        if self.sending_time_tolerance is not None and self.sending_time_tolerance < 0:
            return 30.0 if self.role is Role.ACCEPTOR else 120.0
        return self.sending_time_tolerance

    @property
    def strict(self) -> bool:
        """Whether defective inbound application messages are rejected (role default resolved)."""
        if self.strict_inbound is None:
            return self.role is Role.ACCEPTOR
        return self.strict_inbound

    @property
    def retention_seconds(self) -> float:
        """How long outbound messages stay available for resend."""
        return float(self.message_retention_period or 24) * 3600.0

"""What a session tells its caller: small frozen event objects under one base class.

`Session.next_event()` returns one of these, or `NEED_DATA` when it needs more bytes.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..codec import Defect, Message
from ..codec.errors import DecodeError


class _NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Any = _NeedData()
"""Returned by `Session.next_event()` when no event can be produced without more input."""


@attrs.frozen(slots=True)
class Event:
    """Base class of every session event."""


@attrs.frozen(slots=True)
class LoggedOn(Event):
    """The Logon exchange completed; application messages may flow.

    Attributes:
        heartbeat_interval: the HeartBtInt in force.
        reset_seq_nums: sequence numbers were reset to 1 by this Logon.
        sender_comp_id: the peer's SenderCompID (the API key, for an acceptor).
        logon: the peer's Logon message.
    """

    heartbeat_interval: int
    reset_seq_nums: bool
    sender_comp_id: str
    logon: Message = attrs.field(repr=False)


@attrs.frozen(slots=True)
class LogonRejected(Event):
    """Our Logon was answered with a Logout (e.g. ``"already exists"``), or (acceptor) we refused
    the peer's Logon.

    Attributes:
        text: the Logout's Text(58), Kalshi's reason.
    """

    text: str


@attrs.frozen(slots=True)
class LoggedOut(Event):
    """The Logout exchange happened.

    Attributes:
        text: the peer's Text(58), if any.
        by_peer: the peer started the logout.
    """

    text: str | None
    by_peer: bool


@attrs.frozen(slots=True)
class ApplicationMessage(Event):
    """An application message arrived, in sequence.

    A message from the exchange is delivered even when something in it is wrong (a required
    field missing, a value that does not convert, an undefined tag, an unknown MsgType): what
    is wrong is listed in `defects`, every field that converts is typed, a field that does not
    reads None and its raw bytes stay in its `Defect` (and `message.raw_value(tag)`). No Reject
    is sent for it unless the session is strict (``SessionConfig.strict_inbound``; the acceptor
    always is), which turns a defective message into a `DecodeFailure` and a Reject instead.

    Attributes:
        message: the typed message (values convert lazily unless the session validates them).
        seq_num: its MsgSeqNum(34).
        poss_dup: PossDupFlag(43)=Y: a retransmission (it may repeat one seen before a restart).
        raw: the frame as received.
        defects: what is wrong with it (empty for a clean message). A session that validates
            messages (the default) lists every problem; a lazy one (``validate_messages=False``)
            lists what the decode found without converting values; ``message.check()`` lists
            them all.
    """

    message: Message
    seq_num: int
    poss_dup: bool
    raw: bytes = attrs.field(repr=False)
    defects: tuple[Defect, ...] = ()


# ``ApplicationMessage(...)`` for the session's per-message path (`Inbound._process_app`):
# object.__new__, then each slot set through its descriptor (the frozen ``__init__`` sets each
# through ``object.__setattr__``)
_set_message, _set_seq_num, _set_poss_dup, _set_raw, _set_defects = (
    ApplicationMessage.__dict__[name].__set__
    for name in ("message", "seq_num", "poss_dup", "raw", "defects")
)


@attrs.frozen(slots=True)
class DecodeFailure(Event):
    """An inbound message was not processed: it is garbled, or a strict session rejected it.

    The raw frame is kept: nothing is dropped silently. With ``seq_num`` None the frame could
    not be read as a message (fields without '=', the first three fields not 8, 9, 35): FIX
    ignores such a garbled message, sends nothing and its sequence number is not consumed (the
    gap it leaves is recovered like any other). With a ``seq_num`` the message was readable but
    refused: a session message (Heartbeat, ResendRequest...) whose fields the session needs are
    invalid, or any defective message on a strict session; a Reject(35=3) went back and the
    sequence number was consumed.

    Attributes:
        error: the decode error (names tag, message and reason).
        raw: the frame as received.
        seq_num: its MsgSeqNum, when it was consumed.
    """

    error: DecodeError
    raw: bytes = attrs.field(repr=False)
    seq_num: int | None


@attrs.frozen(slots=True)
class GarbledData(Event):
    """Bytes that do not form a FIX frame (bad CheckSum, junk); FIX ignores them.

    Attributes:
        reason: what was wrong.
        offset: stream offset of the bad bytes.
    """

    reason: str
    offset: int


@attrs.frozen(slots=True)
class RejectReceived(Event):
    """The peer rejected one of our messages at session level (35=3).

    Attributes:
        ref_seq_num: RefSeqNum(45), the MsgSeqNum of our rejected message.
        ref_tag_id: RefTagID(371), the offending tag.
        ref_msg_type: RefMsgType(372).
        reason: SessionRejectReason(373) (an enum member or the raw int).
        text: Text(58).
        message: the Reject itself.
    """

    ref_seq_num: int | None
    ref_tag_id: int | None
    ref_msg_type: str | None
    reason: int | None
    text: str | None
    message: Message = attrs.field(repr=False)


@attrs.frozen(slots=True)
class BusinessRejectReceived(Event):
    """The peer refused one of our application messages (35=j): rate limit, not authorized...

    Attributes:
        ref_seq_num: RefSeqNum(45).
        ref_msg_type: RefMsgType(372).
        business_reject_ref_id: BusinessRejectRefID(379), e.g. the ClOrdID.
        reason: BusinessRejectReason(380).
        text: Text(58).
        message: the BusinessMessageReject itself.
    """

    ref_seq_num: int | None
    ref_msg_type: str | None
    business_reject_ref_id: str | None
    reason: int | None
    text: str | None
    message: Message = attrs.field(repr=False)


@attrs.frozen(slots=True)
class RateLimited(BusinessRejectReceived):
    """Kalshi refused one of our messages for its rate limit: a 35=j with ``380=8``.

    A `BusinessRejectReceived` too (same attributes), so code that handles those still sees
    it; `kalshi_fix_sansio.session.ratelimit` models the buckets to stay under the limit.
    """


@attrs.frozen(slots=True)
class GapDetected(Event):
    """Inbound MsgSeqNum jumped ahead.

    Attributes:
        expected: the MsgSeqNum we expected.
        received: the MsgSeqNum that arrived.
        recoverable: a ResendRequest was sent (retransmission sessions); otherwise the session
            ends and must reconnect with a reset.
    """

    expected: int
    received: int
    recoverable: bool


@attrs.frozen(slots=True)
class ResendRequestSent(Event):
    """We asked the peer to resend.

    Attributes:
        begin: BeginSeqNo(7).
        end: EndSeqNo(16) (0 = everything after begin).
    """

    begin: int
    end: int


@attrs.frozen(slots=True)
class ResendRequestReceived(Event):
    """The peer asked us to resend; the answer (resends and gap fills) is already queued.

    Attributes:
        begin: BeginSeqNo(7).
        end: EndSeqNo(16) as received (0 = to the end).
        resent: how many application messages were resent.
        gap_filled: how many sequence numbers were covered by SequenceReset-GapFill.
    """

    begin: int
    end: int
    resent: int
    gap_filled: int


@attrs.frozen(slots=True)
class ResendWithheld(Event):
    """Stored messages a ResendRequest asked for were not resent because trading is halted
    (the kill switch): each is gap-filled instead, so the exchange never receives it. Only
    what the halt refuses is withheld (`kalshi_fix_sansio.trading.gate.HALTED_MSG_TYPES`: new orders,
    replaces, quotes); cancels are resent. A withheld NewOrderSingle or replace ends REJECTED
    in the order tracker (`kalshi_fix_sansio.trading.tracker.Rejection` source ``"not_received"``, its
    text `kalshi_fix_sansio.trading.gate.WITHHELD_WHILE_HALTED`). Queued just before the
    `ResendRequestReceived` of the same request.

    Attributes:
        seq_nums: their MsgSeqNums.
        msg_types: their MsgTypes, in the same order.
        cl_ord_ids: their ClOrdIDs (``""`` for a message without one), in the same order.
    """

    seq_nums: tuple[int, ...]
    msg_types: tuple[str, ...]
    cl_ord_ids: tuple[str, ...]


@attrs.frozen(slots=True)
class SequenceReset(Event):
    """The peer moved our expected inbound sequence number.

    Attributes:
        new_seq_num: NewSeqNo(36).
        gap_fill: GapFillFlag(123)=Y (skipping admin messages) rather than a hard reset.
    """

    new_seq_num: int
    gap_fill: bool


@attrs.frozen(slots=True)
class TestRequestSent(Event):
    """The peer was silent too long; we sent a TestRequest.

    Attributes:
        test_req_id: the TestReqID(112) we expect echoed.
    """

    __test__ = False  # not a pytest test class
    test_req_id: str


@attrs.frozen(slots=True)
class Timeout(Event):
    """A timer ran out; a `CloseTransport` follows.

    Attributes:
        what: ``"logon"``, ``"logout"`` or ``"heartbeat"`` (no answer to our TestRequest).
    """

    what: str


@attrs.frozen(slots=True)
class CloseTransport(Event):
    """The session is over: close the connection.

    Attributes:
        reason: why, in words.
        reconnect: reconnecting makes sense (after a backoff).
        reset_seq_nums: the next Logon should reset sequence numbers (ResetSeqNumFlag=Y), e.g.
            after a gap on a session without retransmission.
    """

    reason: str
    reconnect: bool
    reset_seq_nums: bool


@attrs.frozen(slots=True)
class ResubscriptionRefused(Event):
    """A subscription sent with ``resubscribe=True`` was refused by the session's checks when
    the supervisor sent it again after a reconnect: it is no longer sent.

    Attributes:
        message: the subscription.
        reason: the refusal, in words.
    """

    message: Any
    reason: str

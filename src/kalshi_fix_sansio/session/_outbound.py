"""The outbound writer: one of the parts a `Session` is built from.

`Outbound` writes everything a session sends: it stamps the standard header, numbers each
message from the store, stores what a resend may need (before the bytes can reach the wire),
encodes in the session's price units and queues the bytes in `out`. It decides nothing about
the protocol: the session (and its other parts) say what to send and when.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

from ..codec import (
    BEGIN_STRING,
    HandedShape,
    Header,
    Message,
    enc_str,
    encode_message,
    finish_frame,
    finish_frame_values,
    fmt_timestamp,
    plain_text,
    plain_timestamp,
)
from ..codec.errors import EncodeError, LocalProtocolError
from ..codec.ranges import value_checks
from .auth import logon_payload, signature_b64
from .config import LOGON_FLAGS, Role, SessionConfig
from .store import MessageStore

__all__ = ["Outbound", "sending_time"]

UTC = timezone.utc
_PRUNE_EVERY = 1024  # stored messages between two prunes of the store
_MILLIS = tuple(b"%03d" % i for i in range(1000))  # SendingTime's milliseconds
_SECONDS = tuple(b"%02d." % i for i in range(60))  # its seconds, and the point after them
_MOST_PLAIN_SEQ = 10**18 - 1  # the last MsgSeqNum of at most 18 digits (`codec._handed.INT`)


def sending_time(now: float) -> datetime:
    """``now`` as an aware UTC datetime truncated to milliseconds (Kalshi's SendingTime precision).

    Args:
        now: UTC seconds since the epoch.

    Returns:
        The datetime.
    """
    # truncated before conversion: one call, no replace() (15.5k -> 6.3k instructions a call)
    return datetime.fromtimestamp(int(now * 1000) / 1000, UTC)


class Outbound:
    """What a session writes: headers, sequence numbers, the store, the bytes to send.

    Args:
        config: the session's configuration.
        dialect: the product's codec module (`prediction` or `margin`).
        store: where sequence numbers and resendable messages live.
    """

    __slots__ = (
        "_acceptor",
        "_head",
        "_head_for",
        "_head_values",
        "_max_size",
        "_minute",
        "_minute_plain",
        "_minute_text",
        "_retention",
        "_retransmission",
        "_saved",
        "_sender",
        "_spec",
        "_stamp",
        "_stamp_second",
        "_vouched",
        "config",
        "dialect",
        "dollars",
        "last_tx",
        "out",
        "rfq_dollars",
        "rfq_units",
        "store",
        "target_comp_id",
        "value_checks",
    )

    def __init__(self, config: SessionConfig, dialect: ModuleType, store: MessageStore) -> None:
        self.config = config
        self.dialect = dialect
        self.store = store
        self.out: list[bytes] = []
        """Encoded frames waiting to be written (`take` empties it)."""
        self.last_tx = 0.0
        """When the last frame was queued (the heartbeat timer counts from it)."""
        self._acceptor = config.role is Role.ACCEPTOR
        self.target_comp_id: str | None = None if self._acceptor else config.session_type
        """TargetCompID(56) written: an acceptor learns it from the client's Logon."""
        self._sender = config.sender_comp_id
        self._retransmission = config.spec.retransmission
        self._max_size = config.max_message_size
        self._retention = config.retention_seconds
        self._saved = 0
        # the tables the dialect's `encode` checks a message against (in its generated module)
        self._spec = sys.modules[dialect.encode.__module__]._ENCODE_SPEC
        self._head_for: str | None = None  # the TargetCompID `_head` was made for
        self._head = b""  # "49=...|56=...|": the start of every standard header we write
        self._head_values: tuple[bytes, bytes] | None = None  # its two values, when plain
        # they, when the SendingTimes of `_minute` are plain too (`frame_values` vouches then)
        self._vouched: tuple[bytes, bytes] | None = None
        self._stamp_second: int | None = None  # the second `_stamp` holds ("YYYYMMDD-HH:MM:SS.")
        self._stamp = b""
        self._minute: int | None = None  # the minute `_minute_text` holds ("YYYYMMDD-HH:MM:")
        self._minute_text = b""
        self._minute_plain = False  # its SendingTimes have their plain form (`_new_minute`)
        self.dollars = config.dollars
        """Prices in dollars on the wire (an acceptor follows the client's UseDollars)."""
        self.rfq_units = ""
        self.rfq_dollars = False
        self.set_dollars(self.dollars)

    def set_dollars(self, dollars: bool) -> None:
        """Write (and read) prices in dollars or not; RFQ BidPx/OfferPx follow the session type
        (or UseDollars, if configured).

        Args:
            dollars: prices in dollars.
        """
        cfg = self.config
        self.dollars = dollars
        self.rfq_units = self.dialect.rfq_units_for(
            cfg.session_type, use_dollars=dollars, follow_use_dollars=cfg.rfq_follow_use_dollars
        )
        self.rfq_dollars = self.rfq_units == "dollars"
        self.value_checks = value_checks(cfg.product, dollars)
        """Kalshi's value ranges in these units (`kalshi_fix_sansio.codec.ranges.check_values`), per
        MsgType: what `Session.send` checks an application message against."""

    def header(
        self, seq: int, now: float, poss_dup: bool = False, orig: datetime | None = None
    ) -> Header:
        """The standard header of a message numbered ``seq`` sent at ``now``."""
        return Header(
            sender_comp_id=self._sender,
            target_comp_id=self.target_comp_id,
            msg_seq_num=seq,
            sending_time=sending_time(now),
            poss_dup_flag=True if poss_dup else None,
            orig_sending_time=orig,
        )

    def own_header(self, seq: int, now: float) -> bytes:
        """The fields of `header` ``(seq, now)`` after MsgType, as its encoder writes them
        (49, 56, 34, 52), without building it: SenderCompID and TargetCompID encoded once, the
        SendingTime's text once per minute (a new second: its two digits)."""
        if seq < 1:
            raise EncodeError(f"MsgSeqNum(34) must be 1 or more, got {seq}", tag=34)
        target = self.target_comp_id
        if target is not self._head_for or not self._head:
            self._new_head(target)
        ms = int(now * 1000)  # truncated to milliseconds, as `sending_time`
        second = ms // 1000
        if second != self._stamp_second:
            minute = second // 60  # a new second of the same minute: its two digits
            if minute != self._minute:
                self._new_minute(minute)
            self._stamp = self._minute_text + _SECONDS[second - minute * 60]
            self._stamp_second = second
        return b"%s34=%d\x0152=%s%s\x01" % (
            self._head,
            seq,
            self._stamp,
            _MILLIS[ms - second * 1000],
        )

    def frame_values(
        self, cls: Any, seq: int, body: bytes, handed: tuple[bytes, HandedShape, Any], now: float
    ) -> tuple[bytes, tuple[bytes, HandedShape, tuple[bytes, ...]] | None]:
        """The frame of ``body`` (a message of class ``cls``) numbered ``seq`` at ``now``, as
        `own_header` and `finish_frame` make it, each value formatted once; and, with
        ``handed`` the body, the frame's shape and the body's values (`codec._handed`), the
        frame, its shape and all its values when the shape is of this MsgType and each header
        value is as it vouches (`_new_head`, `_new_minute`, a MsgSeqNum of 18 digits at most),
        else None.

        Raises:
            EncodeError: as `own_header`.
        """
        if seq < 1:
            raise EncodeError(f"MsgSeqNum(34) must be 1 or more, got {seq}", tag=34)
        target = self.target_comp_id
        if target is not self._head_for or not self._head:
            self._new_head(target)
        ms = int(now * 1000)  # `own_header`'s SendingTime
        second = ms // 1000
        if second != self._stamp_second:
            minute = second // 60
            if minute != self._minute:
                self._new_minute(minute)
            self._stamp = self._minute_text + _SECONDS[second - minute * 60]
            self._stamp_second = second
        number = b"%d" % seq
        stamp = self._stamp + _MILLIS[ms - second * 1000]
        field = cls._MSGTYPE_FIELD
        frame, length, total = finish_frame_values(
            b"%s%s34=%s\x0152=%s\x01%s" % (field, self._head, number, stamp, body),
            self._spec.heads,
        )
        comp_ids = self._vouched
        shape = handed[1]
        if comp_ids is None or seq > _MOST_PLAIN_SEQ or shape.msg_type_field != field:
            return frame, None
        values = (BEGIN_STRING, length, shape.msg_type, *comp_ids, number, stamp)
        return frame, (frame, shape, (*values, *handed[2], total))

    def _new_head(self, target: str | None) -> None:
        """`_head` for TargetCompID ``target``, and its values when both are plain text."""
        sender = enc_str(self._sender, "SenderCompID(49)")
        target_id = enc_str(target, "TargetCompID(56)")
        self._head = b"49=%s\x0156=%s\x01" % (sender, target_id)
        self._head_for = target
        plain = plain_text(sender) and plain_text(target_id)
        self._head_values = (sender, target_id) if plain else None
        self._vouched = self._head_values if self._minute_plain else None

    def _new_minute(self, minute: int) -> None:
        """`_minute_text` of the epoch minute ``minute`` (made once a minute), and whether its
        SendingTimes have their plain form (`_minute_plain`: every second and millisecond of a
        minute does when one does)."""
        self._minute_text = fmt_timestamp(datetime.fromtimestamp(minute * 60, UTC))[:-6]
        self._minute = minute
        self._minute_plain = plain_timestamp(self._minute_text + b"00.000") is not None
        self._vouched = self._head_values if self._minute_plain else None

    def encode(self, message: Message, header: Header | None, head: bytes = b"") -> bytes:
        """``message`` with ``header`` (None: ``head``, from `own_header`) as a frame, in the
        session's units.

        Raises:
            LocalProtocolError: over ``max_message_size``.
            EncodeError: a required field is missing or a value cannot go on the wire.
        """
        frame = encode_message(message, header, self.dollars, self.rfq_dollars, self._spec, head)
        if len(frame) > self._max_size:
            raise LocalProtocolError(
                f"{type(message).__name__} encodes to {len(frame)} bytes, over max_message_size "
                f"{self._max_size}"
            )
        return frame

    def send_app(self, message: Message, now: float) -> int:
        """Number, store (on a retransmission session) and queue an application message.

        Returns:
            Its MsgSeqNum.
        """
        seq = self.store.next_sender_seq()
        return self._queue_app(seq, self.encode(message, None, self.own_header(seq, now)), now)

    def _queue_app(self, seq: int, frame: bytes, now: float) -> int:
        """Store (on a retransmission session) and queue the frame of application message
        ``seq``; returns ``seq``."""
        store = self.store
        if self._retransmission:
            # persist before the bytes can reach the wire: a crash never reuses a sequence number
            store.save(seq, frame, now)
            self._saved += 1
            if self._saved % _PRUNE_EVERY == 0:
                store.prune(now - self._retention)
        else:
            store.set_next_sender_seq(seq + 1)
        self.out.append(frame)
        self.last_tx = now
        return seq

    def send_encoded(self, msg_type_field: bytes, body: bytes, now: float) -> int:
        """`send_app` of a message whose body is already encoded: ``msg_type_field`` its
        ``35=...|`` field and ``body`` its fields after the standard header as the dialect's
        encoder writes them. The header is made here (`own_header`), BodyLength and CheckSum
        around it: the frame `send_app` would make of the message, numbered, stored and queued
        the same way.

        Returns:
            Its MsgSeqNum.

        Raises:
            LocalProtocolError: over ``max_message_size`` (nothing numbered or stored).
        """
        seq = self.store.next_sender_seq()
        frame = finish_frame([msg_type_field, self.own_header(seq, now), body], self._spec.heads)
        if len(frame) > self._max_size:
            raise LocalProtocolError(
                f"a {msg_type_field[3:-1].decode()} message of {len(frame)} bytes, over "
                f"max_message_size {self._max_size}"
            )
        return self._queue_app(seq, frame, now)

    def send_admin(self, message: Message, now: float, seq: int | None = None) -> int:
        """Number (``seq``, or the next) and queue a session message; it is never stored.

        Returns:
            Its MsgSeqNum.
        """
        store = self.store
        if seq is None:
            seq = store.next_sender_seq()
        frame = self.encode(message, None, self.own_header(seq, now))
        store.set_next_sender_seq(seq + 1)
        self.out.append(frame)
        self.last_tx = now
        return seq

    def send_logon(self, now: float, reset: bool, heartbeat: int | None = None) -> None:
        """Queue our Logon: the initiator's signed, with the configured flags; the acceptor's
        answer plain."""
        cfg = self.config
        seq = self.store.next_sender_seq()
        header = self.header(seq, now)
        kwargs: dict[str, Any] = {
            "encrypt_method": 0,
            "heart_bt_int": heartbeat or cfg.heartbeat_interval,
            "default_appl_ver_id": "9",
            "reset_seq_num_flag": True if reset else None,
        }
        if not self._acceptor:
            assert header.sending_time is not None
            stamp = fmt_timestamp(header.sending_time).decode()
            payload = logon_payload(stamp, seq, cfg.sender_comp_id, cfg.session_type)
            sig = signature_b64(cfg.signer, payload).encode()
            kwargs["raw_data"] = sig
            if cfg.send_raw_data_length:
                kwargs["raw_data_length"] = len(sig)
            default_y = cfg.spec.logon_flags_default_y
            for attr, (fix, _tag) in LOGON_FLAGS.items():
                value = getattr(cfg, attr)
                if value is None or (value is False and fix not in default_y):
                    continue  # left out: N is Kalshi's default
                if attr == "use_dollars" and cfg.product == "margin":
                    continue
                kwargs[attr] = value
        frame = self.encode(self.dialect.Logon(**kwargs), header)
        self.store.set_next_sender_seq(seq + 1)
        self.out.append(frame)
        self.last_tx = now

    def reject(
        self,
        ref_seq: int,
        reason: int,
        text: str,
        now: float,
        ref_tag: int | None = None,
        ref_msg_type: str | None = None,
    ) -> int:
        """Queue a session-level Reject(35=3) of the peer's message ``ref_seq``.

        Returns:
            The Reject's MsgSeqNum.
        """
        return self.send_admin(
            self.dialect.Reject(
                ref_seq_num=ref_seq,
                ref_tag_id=ref_tag,
                ref_msg_type=ref_msg_type or None,  # nothing built from an empty peer string
                session_reject_reason=reason,
                text=text[:200],
            ),
            now,
        )

    def gap_fill(self, seq: int, new_seq: int, now: float) -> None:
        """Queue a SequenceReset-GapFill numbered ``seq`` moving the peer to ``new_seq``."""
        header = self.header(seq, now, poss_dup=True, orig=sending_time(now))
        reset = self.dialect.SequenceReset(gap_fill_flag=True, new_seq_no=new_seq)
        self.out.append(self.encode(reset, header))

    def resend(self, old_frame: bytes, seq: int, now: float) -> None:
        """Queue ``old_frame`` (numbered ``seq``) again with PossDupFlag=Y and OrigSendingTime."""
        self.resend_message(self.stored(old_frame), seq, now)

    def stored(self, old_frame: bytes) -> Any:
        """The message of a stored frame (this session's own, in its units)."""
        return self.dialect.decode(old_frame, use_dollars=self.dollars, rfq_units=self.rfq_units)

    def resend_message(self, old: Any, seq: int, now: float) -> None:
        """Queue the stored message ``old`` (numbered ``seq``) again with PossDupFlag=Y and
        OrigSendingTime."""
        header = self.header(seq, now, poss_dup=True, orig=old.header.sending_time)
        self.out.append(self.encode(old, header))

    def take(self) -> bytes:
        """The queued bytes, forgotten (``b""`` when there are none)."""
        out = self.out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)  # a send queues one frame
        out.clear()
        return data

"""The library's exceptions.

Local errors (`LocalProtocolError` and its children) mean the caller asked for something the
library will not do; they are raised at once with a message that says what to change. Errors
about bytes received from a peer (`DecodeError`) name the message, the tag and, where known, the
byte offset, and carry the raw frame so nothing is lost.
"""

from __future__ import annotations


class FixError(Exception):
    """Base class of every exception this library raises on purpose."""


class LocalProtocolError(FixError):
    """The caller tried something invalid (a bad value, a missing field, a wrong call order)."""


class EncodeError(LocalProtocolError):
    """A message cannot be encoded: a required field is missing or a value cannot go on the wire.

    Attributes:
        msg_type: the MsgType(35) of the message being encoded.
        tag: the tag number at fault, when one is.
    """

    def __init__(self, text: str, *, msg_type: str | None = None, tag: int | None = None) -> None:
        super().__init__(text)
        self.msg_type = msg_type
        self.tag = tag


class PriceUnitError(EncodeError):
    """A price cannot be expressed in the session's wire units (e.g. sub-cent price in cents)."""


class DecodeError(FixError):
    """Bytes from the peer do not form a valid message of the dialect.

    The raw frame stays available as `raw`, so a caller can log or replay it; a fill is never
    silently dropped.

    Attributes:
        raw: the whole frame as received.
        msg_type: the MsgType(35) when it could be read.
        tag: the tag at fault, when one is.
        offset: byte offset within `raw` of the problem, when known.
        reject_reason: the FIX SessionRejectReason(373) this problem maps to, when one applies.
    """

    def __init__(
        self,
        text: str,
        *,
        raw: bytes = b"",
        msg_type: str | None = None,
        tag: int | None = None,
        offset: int | None = None,
        reject_reason: int | None = None,
    ) -> None:
        super().__init__(text)
        self.raw = raw
        self.msg_type = msg_type
        self.tag = tag
        self.offset = offset
        self.reject_reason = reject_reason


class RemoteProtocolError(FixError):
    """The peer broke the protocol in a way that ends the session.

    The session has queued its Logout (drain `data_to_send()` before closing the transport) and
    refuses further input.

    Attributes:
        reconnect: reconnecting (after a backoff) makes sense.
        reset_seq_nums: the next Logon should reset sequence numbers.
    """

    def __init__(self, text: str, *, reconnect: bool = True, reset_seq_nums: bool = False) -> None:
        super().__init__(text)
        self.reconnect = reconnect
        self.reset_seq_nums = reset_seq_nums


class TransportError(FixError):
    """The connection failed or was lost, or the peer stopped reading (back-pressure)."""

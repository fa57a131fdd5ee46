"""Fault edges of the session found by probes: the Reject of an invalid tag number.

QuickFIX's acceptance suite, 14a: a message with the invalid tag number ``-1`` is rejected with
SessionRejectReason(373)=0 (invalid tag number) and RefTagID(371)=-1, the tag as received.
Driven through `SessionPair`: the client's TestRequest gets the bad field on its way to the
acceptor (strict, as Kalshi is), and the acceptor's Reject is read on the wire and as the
client's `RejectReceived`.
"""

from __future__ import annotations

import pytest

from kalshi_fix_sansio.codec.framing import SOH, Frame, Framer, checksum
from kalshi_fix_sansio.session.events import DecodeFailure, RejectReceived
from kalshi_fix_sansio.simulator.testing import SessionPair


def _with_field(frame: bytes, field: bytes) -> bytes:
    """``frame`` with ``field`` (``b"tag=value"``) appended to its body, BodyLength and
    CheckSum made right again."""
    head, _, rest = frame.partition(SOH + b"9=")
    body = rest.partition(SOH)[2].rpartition(b"10=")[0] + field + SOH
    out = head + SOH + b"9=%d" % len(body) + SOH + body
    return out + b"10=%03d" % checksum(out) + SOH


def _fields(frame: bytes) -> dict[bytes, bytes]:
    return dict(f.split(b"=", 1) for f in frame.split(SOH) if f)


def _frames(data: bytes) -> list[bytes]:
    framer = Framer()
    framer.feed(data)
    return [item.data for item in framer if isinstance(item, Frame)]


def _reject_for_bad_tag(tag: bytes) -> tuple[dict[bytes, bytes], SessionPair]:
    """Log on, send a TestRequest carrying ``<tag>=HI``: the acceptor's Reject's fields."""
    pair = SessionPair.kalshi(session_type="KalshiNR")
    pair.start()
    assert pair.client.error is None and pair.server.error is None
    rejects: list[bytes] = []

    def tamper(direction: str, data: bytes) -> bytes:
        frames = _frames(data)
        if direction == "c2s":
            return b"".join(
                _with_field(f, tag + b"=HI") if b"\x0135=1\x01" in f else f for f in frames
            )
        rejects.extend(f for f in frames if b"\x0135=3\x01" in f)
        return data

    pair.filter_bytes = tamper
    pair.client.session.send_test_request(pair.now, "probe")
    pair.pump()
    assert len(rejects) == 1, rejects
    return _fields(rejects[0]), pair


def test_reject_of_tag_minus_one_carries_ref_tag_id_minus_one() -> None:
    fields, pair = _reject_for_bad_tag(b"-1")
    assert fields[b"371"] == b"-1"  # RefTagID: the tag exactly as received
    assert fields[b"373"] == b"0"  # SessionRejectReason: invalid tag number
    assert fields[b"372"] == b"1"  # RefMsgType: the TestRequest
    (failure,) = [e for e in pair.server.events if isinstance(e, DecodeFailure)]
    assert (failure.error.tag, failure.error.reject_reason) == (-1, 0)
    assert "invalid tag number '-1'" in str(failure.error)
    (received,) = [e for e in pair.client.events if isinstance(e, RejectReceived)]
    assert (received.ref_tag_id, int(received.reason or 0)) == (-1, 0)
    assert pair.client.error is None and pair.server.error is None  # the session goes on


@pytest.mark.parametrize(
    ("tag", "ref_tag_id"),
    [
        (b"0", b"0"),  # a number all the same
        (b"1234567890", b"1234567890"),  # an integer, though no valid tag (over 9 digits)
        (b"-9223372036854775808", b"-9223372036854775808"),  # the least an INT field carries
        (b"abc", None),  # not a number: RefTagID cannot carry it (the Text names it)
        (b"055", None),  # not written as tag 55 is: RefTagID would not show it as received
        (b"-0", None),
        (b"+1", None),
        (b"1_0", None),  # int() would read 10
        (b"-9223372036854775809", None),  # beyond an INT field
    ],
)
def test_reject_of_other_invalid_tag_numbers(tag: bytes, ref_tag_id: bytes | None) -> None:
    fields, _ = _reject_for_bad_tag(tag)
    assert fields[b"373"] == b"0"
    assert fields.get(b"371") == ref_tag_id
    assert f"invalid tag number {tag.decode()!r}".encode() in fields[b"58"]

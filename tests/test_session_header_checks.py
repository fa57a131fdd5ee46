# private: the SendingTime window of the session's inbound checks (`_checks`)
"""The session's header checks on in-sequence application messages, in every header order.

(These tests once pinned down an inline fast path for this case; it was removed because it did
not pay its complexity, 1.1x on the lazy session path, and they now hold the one path to the same
behaviour: header fields found in any order, the normal frozen event, every fault named.) The
SendingTime window's clock range is tested on the session's inbound checks themselves
(`_checks`).
"""

from __future__ import annotations

import itertools
import math

import attrs
import pytest
from strategies import forget_layouts
from test_session import logged_on

from kalshi_fix_sansio import prediction
from kalshi_fix_sansio.codec import fmt_timestamp
from kalshi_fix_sansio.codec.errors import RemoteProtocolError
from kalshi_fix_sansio.session._checks import InboundChecks
from kalshi_fix_sansio.session.config import SessionConfig
from kalshi_fix_sansio.session.events import ApplicationMessage, DecodeFailure
from kalshi_fix_sansio.session.machine import sending_time

ER_BODY = "6=0|11=c|14=0|17=1;1|37=o|38=1|39=0|54=1|55=X|150=0|151=1"
HEADER_TAGS = ("34", "49", "56", "52")
ORDERS = list(itertools.permutations(HEADER_TAGS))


def er_frame(r: object, order: tuple[str, ...], **values: str) -> bytes:
    """An ExecutionReport with the four header fields in ``order`` right after MsgType."""
    fields = {"34": "2", "49": r.peer, "56": r.me, "52": "{now}"}  # type: ignore[attr-defined]
    fields.update(values)
    head = "|".join(f"{tag}={fields[tag]}" for tag in order)
    frame: bytes = r.frame(f"35=8|{head}|{ER_BODY}", fill=False)  # type: ignore[attr-defined]
    return frame


@pytest.mark.parametrize("validate", ["Y", "N"])
@pytest.mark.parametrize("order", ORDERS, ids="-".join)
def test_header_fields_in_any_order(order: tuple[str, ...], validate: str) -> None:
    r = logged_on("session=KalshiNR", f"validate={validate}")
    assert r.session is not None
    frame = er_frame(r, order)
    r.deliver(frame)
    (event,) = list(r.session.events())
    built = ApplicationMessage(prediction.decode(frame), 2, False, frame)
    assert event == built
    assert type(event) is ApplicationMessage
    assert attrs.astuple(event, recurse=False) == attrs.astuple(built, recurse=False)
    assert repr(event) == repr(built)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.seq_num = 3  # type: ignore[misc]
    assert event.raw is frame or event.raw == frame
    assert r.session.next_target_seq == 3
    assert r.session.data_to_send() == b""  # nothing to answer


@pytest.mark.parametrize("order", ORDERS, ids="-".join)
def test_wrong_sender_in_any_order_ends_the_session(order: tuple[str, ...]) -> None:
    r = logged_on("session=KalshiNR")
    assert r.session is not None
    r.deliver(er_frame(r, order, **{"49": "Mallory"}))
    with pytest.raises(RemoteProtocolError, match=r"CompID problem.*'Mallory'"):
        list(r.session.events())
    out = r.session.data_to_send()
    assert b"35=3\x01" in out and b"373=9\x01" in out and b"35=5\x01" in out


@pytest.mark.parametrize("order", ORDERS, ids="-".join)
def test_stale_sending_time_in_any_order_is_rejected(order: tuple[str, ...]) -> None:
    r = logged_on("session=KalshiNR")
    assert r.session is not None
    r.deliver(er_frame(r, order, **{"52": "{now-600}"}))
    with pytest.raises(RemoteProtocolError, match=r"SendingTime .* is more than \d+ s from now"):
        list(r.session.events())
    assert b"373=10\x01" in r.session.data_to_send()


@pytest.mark.parametrize(
    "stamp",
    [
        "20270115-08:00",
        "2027011X-08:00:00.000",
        "x" * 21,
        "IN-WINDOW",
        "NOW+.1234",
        "NOW+.",
        "NOW+ ",
        "NOW+.12345678",
        "NOW+.1234567890",
        "NOW+.12a",
        "NOW+.\u0663\u0663\u0663",  # Arabic-Indic digits: not ASCII ones
    ],
)
@pytest.mark.parametrize("strict", [False, True])
def test_malformed_sending_time_is_a_defect(stamp: str, strict: bool) -> None:
    r = logged_on("session=KalshiNR", f"strict_inbound={'Y' if strict else 'N'}")
    assert r.session is not None
    now = r.expand("{now}")
    if stamp == "IN-WINDOW":  # sorts between now and now + 10 s, but ':' is not a digit
        stamp = now[:16] + ":" + now[17:]
    elif stamp.startswith("NOW+"):  # the second right, the rest wrong
        stamp = now[:17] + stamp[4:]
    frame = er_frame(r, HEADER_TAGS, **{"52": stamp})
    r.deliver(frame)
    (event,) = list(r.session.events())
    if strict:  # FIX's rule: rejected, the sequence number consumed
        assert isinstance(event, DecodeFailure) and event.raw == frame and event.seq_num == 2
        assert "SendingTime(52)" in str(event.error)
        assert b"373=6\x01" in r.session.data_to_send()
    else:  # the exchange's message is delivered, the bad stamp named
        assert isinstance(event, ApplicationMessage) and event.raw == frame
        assert [(d.tag, d.reason, d.value) for d in event.defects] == [(52, 6, stamp.encode())]
        assert event.message.header.sending_time is None
        assert r.session.data_to_send() == b""
    assert r.session.next_target_seq == 3


@pytest.mark.parametrize("fraction", ["", ".125", ".125000", ".125000000"])
def test_sending_time_to_any_precision_is_accepted(fraction: str) -> None:
    r = logged_on("session=KalshiNR", "strict_inbound=Y")
    assert r.session is not None
    stamp = r.expand("{now}")[:17] + fraction
    r.deliver(er_frame(r, HEADER_TAGS, **{"52": stamp}))
    (event,) = list(r.session.events())
    assert isinstance(event, ApplicationMessage) and not event.defects
    assert r.session.data_to_send() == b""


def test_no_sending_time_check_when_the_tolerance_is_off() -> None:
    r = logged_on("session=KalshiNR", "tolerance=none")
    assert r.session is not None
    frame = er_frame(r, HEADER_TAGS, **{"52": "{now-86400}"})
    r.deliver(frame)
    (event,) = list(r.session.events())
    assert isinstance(event, ApplicationMessage) and event.seq_num == 2


def test_header_fields_after_the_four_take_the_general_path() -> None:
    r = logged_on("session=KalshiNR")
    assert r.session is not None
    sub = r.frame(f"35=8|49={r.peer}|56={r.me}|52={{now}}|34=2|50=desk-7|{ER_BODY}", fill=False)
    dup = r.frame(
        f"35=8|49={r.peer}|56={r.me}|52={{now}}|34=3|43=Y|122={{now-1}}|{ER_BODY}", fill=False
    )
    late = r.frame(f"35=8|49={r.peer}|56={r.me}|6=0|34=4|52={{now}}|{ER_BODY[4:]}", fill=False)
    r.deliver(sub + dup + late)
    events = list(r.session.events())
    assert [(type(e), e.seq_num, e.poss_dup) for e in events] == [  # type: ignore[attr-defined]
        (ApplicationMessage, 2, False),
        (ApplicationMessage, 3, True),
        (ApplicationMessage, 4, False),
    ]
    assert events[0].message.header.sender_sub_id == "desk-7"  # type: ignore[attr-defined]


def test_too_high_and_too_low_take_the_general_path() -> None:
    r = logged_on("session=KalshiNR")
    assert r.session is not None
    r.deliver(er_frame(r, HEADER_TAGS, **{"34": "1"}))
    with pytest.raises(RemoteProtocolError, match="MsgSeqNum too low, expecting 2 but received 1"):
        list(r.session.events())


def test_the_event_is_a_normal_frozen_event() -> None:
    r = logged_on("session=KalshiNR", "validate=N")
    assert r.session is not None
    frame = er_frame(r, HEADER_TAGS)
    r.deliver(frame)
    (event,) = list(r.session.events())
    assert type(event) is ApplicationMessage
    assert attrs.asdict(event, recurse=False) == {
        "message": event.message,
        "seq_num": 2,
        "poss_dup": False,
        "raw": frame,
        "defects": (),
    }
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.seq_num = 7  # type: ignore[misc]
    assert "seq_num=2" in repr(event) and "raw=" not in repr(event)


def test_a_frame_split_across_feeds_is_handled_like_a_whole_one() -> None:
    r = logged_on("session=KalshiNR")
    assert r.session is not None
    frames = [er_frame(r, HEADER_TAGS, **{"34": str(seq)}) for seq in (2, 3, 4)]
    stream = b"".join(frames)
    got = []
    for i in range(0, len(stream), 7):
        r.deliver(stream[i : i + 7])
        got += list(r.session.events())
    assert [e.raw for e in got] == frames  # type: ignore[attr-defined]
    assert r.session.next_target_seq == 5


# A frame whose tag layout the decode has remembered is checked from the places the layout
# keeps for its header fields; the first frame of a layout from the front of the frame. Each
# case below runs both ways and must end the same.
POSS_DUP_ORDER = (*HEADER_TAGS, "43", "122")
LAYOUT_CASES = {
    "in turn": (HEADER_TAGS, {}),
    "wrong sender": (HEADER_TAGS, {"49": "Mallory"}),
    "wrong target": (HEADER_TAGS, {"56": "someone-else"}),
    "stale SendingTime": (HEADER_TAGS, {"52": "{now-600}"}),
    "malformed SendingTime": (HEADER_TAGS, {"52": "2027011X-08:00:00.000"}),
    "MsgSeqNum too high": (HEADER_TAGS, {"34": "5"}),
    "MsgSeqNum too low": (HEADER_TAGS, {"34": "1"}),
    "MsgSeqNum not a number": (HEADER_TAGS, {"34": "2x"}),
    "PossDup in turn": (POSS_DUP_ORDER, {"43": "Y", "122": "{now-1}"}),
    "PossDup not": (POSS_DUP_ORDER, {"43": "N", "122": "{now-1}"}),
    "PossDup duplicate": (POSS_DUP_ORDER, {"34": "1", "43": "Y", "122": "{now-1}"}),
    "PossDup, OrigSendingTime later": (POSS_DUP_ORDER, {"43": "Y", "122": "{now+5}"}),
    "PossDup, OrigSendingTime malformed": (POSS_DUP_ORDER, {"43": "Y", "122": "x"}),
}


def _session_outcome(
    order: tuple[str, ...], values: dict[str, str], strict: bool, remembered: bool
) -> tuple[object, ...]:
    config = ("session=KalshiNR", f"strict_inbound={'Y' if strict else 'N'}")
    forget_layouts()
    if remembered:  # a clean frame of the same layout first, in a session of its own
        warm = logged_on(*config)
        assert warm.session is not None
        good = {"43": "N", "122": "{now-1}"} if "43" in order else {}
        warm.deliver(er_frame(warm, order, **good))
        assert [type(e) for e in warm.session.events()] == [ApplicationMessage]
    r = logged_on(*config)
    assert r.session is not None
    r.deliver(er_frame(r, order, **values))
    try:
        events = [
            (type(e).__name__, getattr(e, "seq_num", None), getattr(e, "defects", None))
            for e in r.session.events()
        ]
        error = None
    except RemoteProtocolError as exc:
        events, error = [], str(exc)
    return events, error, r.session.data_to_send(), r.session.next_target_seq


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("case", list(LAYOUT_CASES))
def test_a_remembered_layout_is_checked_like_a_new_one(case: str, strict: bool) -> None:
    order, values = LAYOUT_CASES[case]
    first = _session_outcome(order, values, strict, remembered=False)
    again = _session_outcome(order, values, strict, remembered=True)
    assert again == first
    if case == "PossDup duplicate":  # a duplicate already seen is dropped, nothing said
        assert first[:2] == ([], None) and first[3] == 2
    else:  # something happened: an event, a Reject sent or the session's end
        assert first[0] or first[1] or b"35=3\x01" in first[2]


@pytest.mark.parametrize("tolerance", [120.0, 30.0, 2.25, 0.5, 0.0004, 0.0])
@pytest.mark.parametrize("start", [1_800_000_000.0, 1_800_000_000.4, 1_800_000_000.9996])
def test_the_sending_time_window_holds_at_every_reading_it_names(
    tolerance: float, start: float
) -> None:
    """`on_frame` passes a well-formed stamp without `sending_time` only at clock readings in
    `stamp_window`'s range: the range holds the reading it was made at and about half the
    tolerance after it, and at each reading in it, its ends included, the bounds lie inside
    the ones computed afresh (a range too wide by the float sums' rounding would name a
    second the window does not hold)."""
    config = SessionConfig(
        sender_comp_id="key-1",
        product="prediction",
        session_type="KalshiNR",
        sending_time_tolerance=tolerance,
    )
    checks = InboundChecks(config, lambda *args, **kwargs: 0)
    checks.sending_time(None, fmt_timestamp(sending_time(start)), 1, "8", start)
    lo, hi_top, valid_from, valid_to = checks.stamp_window
    hi = hi_top[:-1]
    assert hi_top == hi + b"\xff" and lo <= hi
    assert valid_from <= start < valid_to
    assert valid_to - valid_from > max(0.9, tolerance / 2)  # not a sliver: most readings pass
    exact = checks._time_window(start)
    assert exact[0] <= lo and hi <= exact[1]
    if tolerance >= 2:  # the stamps of the reading's own second and of the one before pass
        second = int(start)
        for s in (second - 1, second):
            stamp = fmt_timestamp(sending_time(s))
            assert lo <= stamp <= hi_top, (s, lo, hi)
    last = math.nextafter(valid_to, -math.inf)
    readings = [valid_from, last] + [valid_from + (last - valid_from) * i / 40 for i in range(40)]
    for now in readings:
        fresh = InboundChecks(config, lambda *args, **kwargs: 0)
        fresh_lo, fresh_hi = fresh._time_window(now)
        assert fresh_lo <= lo and hi <= fresh_hi, now


def test_a_stamp_is_judged_the_same_once_the_window_is_remembered() -> None:
    r = logged_on("session=KalshiNR")
    assert r.session is not None
    r.now += 0.5  # inside the range the Logon's check remembered: stamps pass inline
    _, _, valid_from, valid_to = r.session._inbound._checks.stamp_window
    assert valid_from <= r.now < valid_to
    r.deliver(er_frame(r, HEADER_TAGS))
    (event,) = list(r.session.events())
    assert isinstance(event, ApplicationMessage) and not event.defects
    malformed = "20270115-08:00"
    r.deliver(er_frame(r, HEADER_TAGS, **{"34": "3", "52": malformed}))
    (event,) = list(r.session.events())
    assert isinstance(event, ApplicationMessage)
    assert [(d.tag, d.reason) for d in event.defects] == [(52, 6)]
    r.deliver(er_frame(r, HEADER_TAGS, **{"34": "4", "52": "{now-600}"}))
    with pytest.raises(RemoteProtocolError, match=r"SendingTime .* is more than \d+ s from now"):
        list(r.session.events())
    assert b"373=10\x01" in r.session.data_to_send()

"""Imperfect input: tolerant decoding, defects, and what the session delivers or rejects.

Everything goes through the public API: the dialect modules' ``decode``, ``Message.check`` /
``defects`` / ``raw_value``, ``Session`` with its config, and the events.
"""

from __future__ import annotations

import re
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest
from scenario_runner import Runner

from kalshi_fix_sansio import (
    ApplicationMessage,
    BusinessRejectReceived,
    DecodeError,
    DecodeFailure,
    Defect,
    LoggedOn,
    LogonRejected,
    RejectReceived,
    RemoteProtocolError,
    checksum,
    margin,
    prediction,
)

DOCS = Path(__file__).resolve().parents[1] / "docs"
HDR = "49=Kalshi|56=key|34=2|52=20261122-12:00:00.000"


def frame(body: str) -> bytes:
    """A frame with correct BodyLength and CheckSum (``|`` = SOH)."""
    b = body.strip("|").replace("|", "\x01").encode() + b"\x01"
    head = b"8=FIXT.1.1\x019=%d\x01" % len(b)
    return head + b + b"10=%03d\x01" % checksum(head + b)


def refit(edited: bytes) -> bytes:
    """A frame whose body was edited, with BodyLength and CheckSum made right again."""
    body = edited[edited.index(b"\x0135=") + 1 : edited.rindex(b"10=")]
    head = b"8=FIXT.1.1\x019=%d\x01" % len(body)
    return head + body + b"10=%03d\x01" % checksum(head + body)


def kinds(defects: tuple[Defect, ...]) -> set[tuple[int | None, int]]:
    return {(d.tag, d.reason) for d in defects}


# -- the codec ------------------------------------------------------------------------------


def test_strict_decode_still_raises_for_a_missing_required_tag() -> None:
    f = frame(f"35=8|{HDR}|11=c")
    with pytest.raises(DecodeError, match="required tag 6 is missing"):
        prediction.decode(f)
    assert kinds(prediction.decode(f, tolerant=True).defects) >= {(6, 1), (37, 1), (39, 1)}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("35=0|{h}|9999=1", (9999, 0)),  # not in the spec at all
        ("35=0|{h}|55=X", (55, 2)),  # in the spec, not in a Heartbeat
        ("35=1|{h}|112=", (112, 4)),  # a tag without a value
        ("35=0|{h}|112=a|112=b", (112, 13)),  # repeated outside a group
        ("35=0|49=Kalshi|56=key|34=2|112=a|52=20261122-12:00:00.000", (52, 14)),  # header late
        ("35=ZZ|{h}|55=X", (35, 11)),  # unknown MsgType
        ("35=0|{h}|0055=X", (None, 0)),  # an invalid tag number
    ],
)
def test_structural_defects(body: str, expected: tuple[int | None, int]) -> None:
    msg = prediction.decode(frame(body.format(h=HDR)), tolerant=True)
    assert expected in kinds(msg.defects)
    assert all(isinstance(d.text, str) and d.text for d in msg.defects)


def test_a_value_that_does_not_convert_reads_none_and_keeps_its_bytes() -> None:
    msg = prediction.decode(frame(f"35=8|{HDR}|11=c|38=abc|54=7"), tolerant=True)
    defects = msg.check()
    assert (38, 6) in kinds(defects) and (54, 5) in kinds(defects)
    bad = next(d for d in defects if d.tag == 38)
    assert bad.value == b"abc" and "OrderQty(38)" in bad.text
    assert msg.order_qty is None and msg.raw_value(38) == b"abc"  # type: ignore[attr-defined]
    assert msg.side == "7"  # an enum value the spec does not list stays the plain value
    assert msg.check() == defects  # checking again finds the same, once
    assert msg.defects == defects
    err = bad.error(msg.raw or b"", "8")
    assert isinstance(err, DecodeError) and err.tag == 38 and err.reject_reason == 6
    assert err.offset is not None and (msg.raw or b"")[err.offset :].startswith(b"38=abc")


def test_lazy_tolerant_access_records_instead_of_raising() -> None:
    msg = prediction.decode(frame(f"35=8|{HDR}|11=c|38=abc"), tolerant=True)
    assert (38, 6) not in kinds(msg.defects)  # not converted yet
    assert msg.order_qty is None  # type: ignore[attr-defined]
    assert (38, 6) in kinds(msg.defects)
    strict = prediction.decode(frame(f"35=D|{HDR}|11=c|38=abc|40=2|44=5|54=1|55=X"))
    with pytest.raises(DecodeError, match="OrderQty"):
        strict.order_qty  # type: ignore[attr-defined]  # noqa: B018


def test_group_problems_keep_the_entries_that_are_there() -> None:
    # margin market data as its pages show it: no MDEntryDate / MDEntryTime
    body = f"35=X|{HDR}|268=3|279=0|55=S|269=0|270=0.5|271=1|279=0|55=S|269=1|270=0.6|271=2"
    msg = margin.decode(frame(body), tolerant=True)
    defects = msg.check()
    entries = msg.md_entries  # type: ignore[attr-defined]
    assert [e.md_entry_px for e in entries] == [Decimal("0.5"), Decimal("0.6")]
    assert (268, 16) in kinds(defects)  # declares 3, has 2
    bad_count = margin.decode(frame(body.replace("268=3", "268=x")), tolerant=True)
    assert len(bad_count.md_entries) == 2  # type: ignore[attr-defined]
    assert (268, 6) in kinds(bad_count.check())
    huge = margin.decode(frame(body.replace("268=3", "268=" + "9" * 400)), tolerant=True)
    assert len(huge.md_entries) == 2  # type: ignore[attr-defined]
    with pytest.raises(DecodeError, match="NoMDEntries"):
        margin.decode(frame(body)).validate()


def test_missing_group_member_is_named_with_its_entry() -> None:
    body = f"35=8|{HDR}|11=c|136=1|137=0.01|138=USD"
    msg = prediction.decode(frame(body), tolerant=True)
    texts = [d.text for d in msg.check() if d.reason == 1 and d.tag in (139, 891)]
    assert texts and all("entry 1" in t for t in texts)


def test_entries_lacking_a_member_are_named_up_to_the_tenth_then_counted() -> None:
    """The first ten entries lacking a required member are named one by one; past them one
    defect per missing tag (its tag, reason 1) says how many more lack it and which is the
    first: a garbled snapshot of any length carries a few defects. Strict: the first entry."""
    full = "269=0|270=0.5|271=1.00|272=20261122|273=12:00:00.000"
    entries = [full.replace("|271=1.00", "") for _ in range(25)]
    entries[3] = entries[3].replace("|272=20261122", "")  # named: one lacking two tags
    entries[14] = entries[14].replace("|272=20261122", "")  # the one past the tenth lacking 272
    f = frame(f"35=W|{HDR}|55=KX|268=25|" + "|".join(entries))
    msg = prediction.decode(f, tolerant=True)
    defects = msg.check()
    named = [(d.tag, d.text.split(") ")[-1]) for d in defects[:-2]]
    assert named[:5] == [
        (271, "entry 1 lacks required tag 271"),
        (271, "entry 2 lacks required tag 271"),
        (271, "entry 3 lacks required tag 271"),
        (271, "entry 4 lacks required tag 271"),
        (272, "entry 4 lacks required tag 272"),
    ]
    assert len(named) == 11 and named[-1] == (271, "entry 10 lacks required tag 271")
    more_271, more_272 = defects[-2:]
    assert (more_271.tag, more_271.reason, more_272.tag, more_272.reason) == (271, 1, 272, 1)
    assert ": 15 more entries lack required tag 271 (the first of them entry 11;" in more_271.text
    assert ": 1 more entry lacks required tag 272 (the first of them entry 15;" in more_272.text
    assert msg.check() == defects == msg.defects  # each listed once, however often checked
    with pytest.raises(DecodeError, match="entry 1 lacks required tag 271"):
        prediction.decode(f).validate()


def test_a_group_found_malformed_is_named_before_the_checks_after_it() -> None:
    """check() lists what a group's parse finds (here a missing member) before the enum values
    checked after it, as a strict session's Reject reports the first defect."""
    body = f"35=8|{HDR}|11=c|39=Z|136=1|137=0.01|138=USD"
    defects = prediction.decode(frame(body), tolerant=True).check()
    first_missing = next(i for i, d in enumerate(defects) if d.tag in (139, 891))
    bad_enum = next(i for i, d in enumerate(defects) if d.tag == 39 and d.reason == 5)
    assert first_missing < bad_enum, defects


def test_validate_and_check_cover_the_header() -> None:
    f = frame(f"35=0|{HDR}|43=Y|122=2026-11-22")
    with pytest.raises(DecodeError, match="OrigSendingTime"):
        prediction.decode(f).validate()
    assert (122, 6) in kinds(prediction.decode(f, tolerant=True).check())


def test_secrets_never_show_in_defects_reprs_or_dicts() -> None:
    msg = prediction.decode(frame(f"35=0|{HDR}|96=SECRETSIG|89=SECRET2"), tolerant=True)
    shown = repr(msg) + repr(msg.check()) + repr(msg.to_dict())
    assert "SECRET" not in shown
    assert msg.raw_value(96) == b"SECRETSIG"  # the bytes stay reachable on purpose


def test_the_codec_guide_example_runs() -> None:
    page = (DOCS / "codec.md").read_text(encoding="utf-8")
    section = page.split("## Tolerant decoding and defects", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    exec(compile(code, "docs/codec.md", "exec"), {})


# -- the session: delivered, not dropped ------------------------------------------------------


def runner(*config: str) -> Runner:
    r = Runner(Path("inline.scn"))
    r.d_config(list(config))
    return r


def initiator(*config: str) -> Runner:
    r = runner(*config)
    r.d_start([])
    rt = any(c in ("session=KalshiRT", "session=KalshiPT") for c in config)
    r.deliver(r.frame("35=A|34=1|98=0|108=30" + ("" if rt else "|141=Y")))
    assert r.session is not None
    assert any(isinstance(e, LoggedOn) for e in r.session.events())
    r.session.data_to_send()
    return r


def acceptor(*config: str, logon: tuple[str, ...] = ()) -> Runner:
    r = runner("role=acceptor", *config)
    r.d_start([])
    r.d_in_logon(list(logon))
    return r


ISSUE_CASES = [
    # (product, session type, body): fields the old strict reading lost the message for
    ("margin", "KalshiMD", "35=W|262=r|55=S|268=1|269=0|270=0.5|271=1"),
    ("margin", "KalshiMD", "35=X|262=r|268=1|279=0|55=S|269=0|270=0.5|271=1"),
    ("margin", "KalshiNR", "35=8|37=o|11=c|17=e|150=0|39=0|55=S|54=1|38=1|14=0|151=1|6=0|44=1"),
    ("prediction", "KalshiNR", "35=j|45=3|380=8|58=rate limit exceeded"),
    ("prediction", "KalshiNR", "35=9|11=c|41=o|102=1"),
    ("prediction", "KalshiNR", "35=8|37=o|17=e|150=0|39=0|55=S|54=1|38=abc|14=0|151=1|6=0|44=50"),
    ("prediction", "KalshiNR", "35=ZZ|55=S|58=a message type the spec does not know yet"),
]


@pytest.mark.parametrize(("product", "session", "body"), ISSUE_CASES)
@pytest.mark.parametrize("validate", ["Y", "N"])
def test_exchange_messages_are_delivered_with_their_defects(
    product: str, session: str, body: str, validate: str
) -> None:
    r = initiator(f"product={product}", f"session={session}", f"validate={validate}")
    assert r.session is not None
    seq = r.session.next_target_seq
    head, _, rest = body.partition("|")
    raw = r.frame(f"{head}|34={seq}|{rest}")
    r.deliver(raw)
    (event,) = list(r.session.events())
    assert isinstance(event, (ApplicationMessage, BusinessRejectReceived))
    if isinstance(event, ApplicationMessage):
        assert event.raw == raw and event.seq_num == seq
        assert event.defects == event.message.defects or validate == "N"
    else:
        assert event.reason == 8 and event.text == "rate limit exceeded"
    assert r.session.data_to_send() == b""  # no Reject for what the exchange sent
    assert r.session.next_target_seq == seq + 1


def test_unknown_message_type_is_delivered_as_unknown() -> None:
    r = initiator()
    assert r.session is not None
    r.deliver(r.frame("35=ZZ|34=2|55=S"))
    (event,) = list(r.session.events())
    assert isinstance(event, ApplicationMessage)
    assert isinstance(event.message, prediction.Unknown)
    assert event.message.msg_type == "ZZ" and event.message.extra_fields == ((55, b"S"),)
    assert kinds(event.defects) == {(35, 11)}


# -- the session: FIXT 1.1 rules --------------------------------------------------------------


def test_msgtype_not_third_is_garbled_and_ignored() -> None:
    r = initiator("session=KalshiRT")
    assert r.session is not None
    bad = frame("49=Kalshi|35=8|56=key-1|34=2|52=" + r.expand("{now}"))
    r.deliver(bad)
    (event,) = list(r.session.events())
    assert isinstance(event, DecodeFailure) and event.seq_num is None and event.raw == bad
    assert r.session.data_to_send() == b"" and r.session.next_target_seq == 2
    r.deliver(r.frame("35=0|34=2"))  # the real message 2 is still expected
    assert list(r.session.events()) == [] and r.session.next_target_seq == 3


@pytest.mark.parametrize("seq", [None, "", "x", "0", "9" * 25])
def test_a_message_without_a_usable_msgseqnum_ends_the_session(seq: str | None) -> None:
    r = initiator()
    assert r.session is not None
    fields = "35=0" if seq is None else f"35=0|34={seq}"
    r.deliver(r.frame(fields))
    with pytest.raises(RemoteProtocolError, match=r"MsgSeqNum\(34\)"):
        list(r.session.events())
    assert b"35=5\x01" in r.session.data_to_send()


@pytest.mark.parametrize(
    ("product", "logon", "text"),
    [
        ("prediction", ("omit=108",), "HeartBtInt(108) is required"),
        ("prediction", ("hb=x",), "is not a 64-bit integer"),
        ("prediction", ("hb=99999999999999999999",), "is not a 64-bit integer"),
        ("prediction", ("hb=-5",), "out of range"),
        ("prediction", ("hb=0",), "out of range"),
        ("prediction", ("hb=3",), "out of range"),
        ("prediction", ("hb=" + "9" * 400,), "is not a 64-bit integer"),
        ("prediction", ("hb=3601",), "out of range"),
        ("margin", ("hb=2",), "out of range"),
        ("prediction", ("omit=1137",), "DefaultApplVerID(1137) must be 9"),
        ("prediction", ("omit=1137", "1137=8"), "DefaultApplVerID(1137) must be 9"),
        ("prediction", ("50=OPERATOR",), "SenderSubID(50) must not be sent"),
        ("prediction", ("9999=1",), "9999"),
    ],
)
def test_the_acceptor_refuses_a_logon_as_kalshi_does(
    product: str, logon: tuple[str, ...], text: str
) -> None:
    r = acceptor(f"product={product}", logon=logon)
    assert r.session is not None
    events = list(r.session.events())
    assert isinstance(events[0], LogonRejected) and text in events[0].text, events
    out = r.session.data_to_send()
    assert b"35=5\x01" in out and text.encode() in out


@pytest.mark.parametrize(("product", "hb"), [("margin", "3"), ("prediction", "4")])
def test_the_acceptor_takes_the_lowest_allowed_heartbeat(product: str, hb: str) -> None:
    r = acceptor(f"product={product}", logon=(f"hb={hb}",))
    assert r.session is not None
    (event,) = list(r.session.events())
    assert isinstance(event, LoggedOn) and event.heartbeat_interval == int(hb)


def test_margin_acceptor_defaults_a_missing_heartbeat() -> None:
    r = acceptor("product=margin", "hb=30", logon=("omit=108",))
    assert r.session is not None
    (event,) = list(r.session.events())
    assert isinstance(event, LoggedOn) and event.heartbeat_interval == 30


@pytest.mark.parametrize("hb", ["0", "-1", "99999999", "9" * 400])
def test_the_initiator_ignores_an_absurd_heartbeat_in_the_answer(hb: str) -> None:
    r = runner()
    r.d_start([])
    r.deliver(r.frame(f"35=A|34=1|98=0|108={hb}|141=Y"))
    assert r.session is not None
    if len(hb) > 18:  # not a 64-bit integer at all: a malformed answer, refused
        with pytest.raises(RemoteProtocolError, match="malformed answer to our Logon"):
            list(r.session.events())
        return
    events = list(r.session.events())
    assert isinstance(events[0], LoggedOn)  # a sane integer out of range: ignored
    assert r.session.heartbeat_interval == 30
    deadline = r.session.next_deadline()
    assert deadline is not None and deadline < r.now + 3600


def logged_on_acceptor(*config: str) -> Runner:
    r = acceptor(*config)
    assert r.session is not None
    assert isinstance(next(iter(r.session.events())), LoggedOn)
    r.session.data_to_send()
    return r


@pytest.mark.parametrize(
    ("body", "reason", "tag"),
    [
        ("35=D|34=2|56=|11=c|38=1|40=2|44=50|54=1|55=X", 4, 56),
        ("35=D|34=2|11=c|38=1|40=2|44=50|54=1|55=", 4, 55),
        ("35=ZZ|34=2|55=X", 11, None),
        ("35=D|34=2|11=c|38=1|40=2|44=50|54=1|55=X|9999=1", 0, 9999),
        ("35=D|34=2|11=c|38=1|40=2|44=50|54=1|55=X|58=r", 2, 58),
        ("35=D|34=2|11=c|38=1|40=2|44=50|54=9|55=X", 5, 54),
        ("35=D|34=2|11=c|38=1|40=2|44=50|54=1|55=X|43=N", 14, 43),
        ("35=D|34=2|11=c|38=x|40=2|44=50|54=1|55=X", 6, 38),
    ],
)
def test_the_acceptor_rejects_what_a_client_should_not_send(
    body: str, reason: int, tag: int | None
) -> None:
    r = logged_on_acceptor()
    assert r.session is not None
    r.deliver(r.frame(body))
    (event,) = list(r.session.events())
    assert isinstance(event, DecodeFailure) and event.seq_num == 2
    out = r.session.data_to_send()
    assert b"35=3\x01" in out and b"\x0145=2\x01" in out and b"\x01373=%d\x01" % reason in out
    if tag is not None:
        assert b"\x01371=%d\x01" % tag in out
    assert r.session.next_target_seq == 3


def test_possdup_below_expected_still_has_its_orig_sending_time_checked() -> None:
    r = initiator("session=KalshiRT")
    assert r.session is not None
    r.deliver(r.frame("35=0|34=2"))
    r.deliver(r.frame("35=0|34=1|43=Y"))  # without OrigSendingTime: rejected, then ignored
    assert list(r.session.events()) == []
    assert b"373=1\x01" in r.session.data_to_send()
    assert r.session.next_target_seq == 3  # nothing consumed
    r.deliver(r.frame("35=0|34=1|43=Y|122={now+5}"))  # OrigSendingTime later than SendingTime
    with pytest.raises(RemoteProtocolError, match="SendingTime accuracy problem"):
        list(r.session.events())  # a SendingTime accuracy problem ends the session
    out = r.session.data_to_send()
    assert b"35=3\x01" in out and b"373=10\x01" in out and b"45=1\x01" in out
    assert b"35=5\x01" in out


# -- session messages the session acts on -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("35=1|34=2|112=", 4),
        ("35=1|34=2|112=\xff", 6),
        ("35=2|34=2|7=x|16=0", 6),
        ("35=2|34=2|7=-5|16=0", 5),
        ("35=2|34=2|7=1|16=-1", 5),
        ("35=4|34=2|123=X|36=5", 6),
        ("35=4|34=2|123=Y|36=9223372036854775807", 5),  # no room for the next number
        ("35=4|34=2|123=Y|36=9223372036854775808", 6),  # not a 64-bit integer
        ("35=3|34=2|45=x", 6),
    ],
)
def test_a_session_message_with_unusable_fields_is_rejected(body: str, reason: int) -> None:
    r = initiator()
    assert r.session is not None
    r.deliver(refit(r.frame(body).replace(b"\xc3\xbf", b"\xff")))
    (event,) = list(r.session.events())
    assert isinstance(event, DecodeFailure) and event.seq_num == 2
    out = r.session.data_to_send()
    assert b"\x0135=3\x01" in out and b"\x01373=%d\x01" % reason in out
    assert b"35=0\x01" not in out and b"35=4\x01" not in out  # nothing built from it
    assert r.session.next_target_seq == 3


def test_a_logout_with_a_bad_text_is_still_honoured() -> None:
    r = initiator()
    assert r.session is not None
    r.deliver(refit(r.frame("35=5|34=2|58=x").replace(b"58=x", b"58=\xff")))
    names = [type(e).__name__ for e in r.session.events()]
    assert names == ["LoggedOut", "CloseTransport"]


# -- the queue behind a gap -------------------------------------------------------------------


def test_the_queue_behind_a_gap_is_bounded_and_asks_again() -> None:
    r = initiator("session=KalshiRT", "max_pending_messages=3")
    assert r.session is not None
    for seq in range(3, 13):  # 2 is lost; 10 arrive after it, 3 are kept
        r.deliver(r.frame(f"35=Y|34={seq}|58=h{seq}"))
    list(r.session.events())
    first = r.session.data_to_send()
    assert first.count(b"\x0135=2\x01") == 1 and b"\x017=2\x01" in first
    r.deliver(r.frame("35=Y|34=2|58=h2|43=Y|122={now}"))
    delivered = [e.message.text for e in r.session.events() if isinstance(e, ApplicationMessage)]  # type: ignore[attr-defined]
    assert delivered == [f"h{i}" for i in range(2, 6)]
    again = r.session.data_to_send()  # the frames not kept are asked for again at once
    assert b"\x0135=2\x01" in again and b"\x017=6\x01" in again
    for seq in range(6, 13):
        r.deliver(r.frame(f"35=Y|34={seq}|58=h{seq}|43=Y|122={{now}}"))
    delivered = [e.message.text for e in r.session.events() if isinstance(e, ApplicationMessage)]  # type: ignore[attr-defined]
    assert delivered == [f"h{i}" for i in range(6, 13)]
    assert r.session.next_target_seq == 13


def test_a_long_queue_is_released_in_one_pass() -> None:
    # 20,000 frames behind a gap (quadratic release took 6 s for 16,000 before)
    r = initiator("session=KalshiRT", "validate=N")
    assert r.session is not None
    n = 20_000
    r.deliver(b"".join(r.frame(f"35=Y|34={seq}|58=h") for seq in range(3, 3 + n)))
    list(r.session.events())
    r.session.data_to_send()
    r.deliver(r.frame("35=Y|34=2|58=h|43=Y|122={now}"))
    count = sum(isinstance(e, ApplicationMessage) for e in r.session.events())
    assert count == n + 1 and r.session.next_target_seq == n + 3


def test_a_closed_session_stops_buffering() -> None:
    r = initiator()
    assert r.session is not None
    r.deliver(r.frame("35=5|34=2"))
    list(r.session.events())
    chunk = b"8=FIXT.1.1\x019=5000000\x01" + b"x" * 100_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(100):  # 10 MB fed after the end
            r.deliver(chunk)
        assert list(r.session.events()) == []
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 1_000_000, kept


def test_session_messages_from_the_exchange_tolerate_what_they_do_not_need() -> None:
    r = runner()
    r.d_start([])
    r.deliver(r.frame("35=A|34=1|98=0|108=30|141=Y|29999=new-flag"))  # a tag added later
    assert r.session is not None
    (logged_on,) = list(r.session.events())
    assert isinstance(logged_on, LoggedOn)
    assert (29999, 0) in kinds(logged_on.logon.defects)
    r.session.data_to_send()
    r.deliver(r.frame("35=3|34=2|45=1|373=99|58=a reason code the spec does not list"))
    (event,) = list(r.session.events())
    assert isinstance(event, RejectReceived) and event.reason == 99
    assert r.session.data_to_send() == b""


def test_a_rate_limit_reject_is_its_own_event() -> None:
    from kalshi_fix_sansio import BusinessRejectReceived
    from kalshi_fix_sansio.session.events import RateLimited

    r = initiator()
    assert r.session is not None
    r.deliver(r.frame("35=j|34=2|45=1|380=8|379=o-1|58=Rate limit exceeded"))
    r.deliver(r.frame("35=j|34=3|45=1|372=D|380=6"))
    limited, other = list(r.session.events())
    assert isinstance(limited, RateLimited) and isinstance(limited, BusinessRejectReceived)
    assert limited.business_reject_ref_id == "o-1" and limited.text == "Rate limit exceeded"
    assert type(other) is BusinessRejectReceived

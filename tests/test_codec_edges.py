# private: tells group members by the generated classes' member infos (`_fields`)
"""The codec's own edges: encode raises only EncodeError and refuses what decode refuses; a field
without '=' is a DecodeError on every split path; timestamps are strict; cents are exact.

Everything goes through the public API: ``prediction`` / ``margin`` ``encode`` and ``decode``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import DIALECTS, headers, message_classes, messages

from kalshi_fix_sansio import DecodeError, EncodeError, FixRecord, Header, Message, checksum, margin
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec._fields import GroupInfo

UTC = timezone.utc
SOH = b"\x01"
HEADER = Header(
    sender_comp_id="K",
    target_comp_id="C",
    msg_seq_num=1,
    sending_time=datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
)
HDR = b"49=K|56=C|34=1|52=20261122-12:00:00.000|"


def frame(body: bytes) -> bytes:
    """A complete frame around ``body`` ('|' for SOH), BodyLength and CheckSum computed."""
    body = body.replace(b"|", SOH)
    head = b"8=FIXT.1.1\x019=%d\x01" % len(body)
    return head + body + b"10=%03d\x01" % checksum(head + body)


def order(**changes: Any) -> p.NewOrderSingle:
    base: dict[str, Any] = {
        "cl_ord_id": "o-1",
        "side": p.Side.BUY,
        "order_qty": Decimal(10),
        "ord_type": p.OrdType.LIMIT,
        "price": Decimal("0.55"),
        "symbol": "X",
    }
    base.update(changes)
    return p.NewOrderSingle(**base)


# -- encode raises only EncodeError, naming the field and the message -------------------------


class _FailingTz(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        raise RuntimeError("tz database unavailable")

    def tzname(self, dt: datetime | None) -> str:
        return "X"

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)


@pytest.mark.parametrize(
    ("changes", "tag", "text"),
    [
        ({"price": Decimal("1" * 30 + ".555")}, 44, "not a whole number of cents"),
        ({"price": Decimal("NaN")}, 44, "not a finite number"),
        ({"price": Decimal("sNaN")}, 44, "not a finite number"),
        ({"price": Decimal("-Infinity")}, 44, "not a finite number"),
        ({"order_qty": Decimal("Infinity")}, 38, "not a finite number"),
        ({"order_qty": Decimal("1E+999999999")}, 38, "digits in fixed-point form"),
        ({"order_qty": 0.5}, 38, "floats are refused"),
        ({"order_qty": "1e"}, 38, "not a decimal number"),
        ({"symbol": "X\ud800Y"}, 55, "lone surrogate"),
        ({"cl_ord_id": "\udfff"}, 11, "lone surrogate"),
        ({"symbol": ""}, 55, "empty string"),
        ({"symbol": "a\x01b"}, 55, "SOH"),
        ({"alloc_account": 10**5000}, 79, "outside the 64-bit range"),
        ({"alloc_account": 2**63}, 79, "outside the 64-bit range"),
        ({"alloc_account": -(10**5000)}, 79, "outside the 64-bit range"),
        ({"alloc_account": True}, 79, "expected int"),
        ({"expire_time": datetime(2026, 1, 1)}, 126, "naive datetime"),
        ({"expire_time": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))}, 126, "UTC"),
        (
            {"expire_time": datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5)))},
            126,
            "UTC",
        ),
        ({"expire_time": datetime(2026, 1, 1, tzinfo=_FailingTz())}, 126, "tz database"),
        ({"expire_time": date(2026, 1, 1)}, 126, "expected an aware datetime"),
    ],
)
def test_encode_raises_only_encode_error_naming_the_field(
    changes: dict[str, Any], tag: int, text: str
) -> None:
    with pytest.raises(EncodeError, match=re.escape(text)) as ei:
        p.encode(order(**changes), HEADER)
    assert f"({tag})" in str(ei.value), ei.value
    if ei.value.tag is not None:
        assert ei.value.tag == tag
    assert "NewOrderSingle" in str(ei.value) or ei.value.msg_type == "D", ei.value


def test_header_surrogate_and_huge_int_name_the_header_field() -> None:
    with pytest.raises(EncodeError, match=r"SenderCompID\(49\).*lone surrogate") as ei:
        p.encode(order(), HEADER.replace(sender_comp_id="K\ud800"))
    assert ei.value.tag == 49 and ei.value.msg_type == "D"
    with pytest.raises(EncodeError, match=r"MsgSeqNum\(34\).*outside the 64-bit range") as ei:
        p.encode(order(), HEADER.replace(msg_seq_num=10**5000))
    assert ei.value.tag == 34


def test_thirty_digit_prices_are_exact_not_an_arithmetic_error() -> None:
    """Whole cents with 30 digits go on the wire exactly, in cents and in dollars."""
    big = Decimal("1" * 30 + ".55")
    cents = p.encode(order(price=big), HEADER)
    assert b"\x0144=" + b"1" * 30 + b"55\x01" in cents
    assert p.decode(cents).validate().price == big
    dollars = p.encode(order(price=big), HEADER, use_dollars=True)
    assert p.decode(dollars, use_dollars=True).validate().price == big
    with pytest.raises(EncodeError, match="more than 4 decimal places"):
        p.encode(order(price=Decimal("1" * 30 + ".00001")), HEADER, use_dollars=True)


def test_time_only_must_be_utc() -> None:
    """MDEntryTime(273) is UTCTimeOnly: decoded as a UTC time, so only a UTC time goes out."""
    valid = p.decode(market_data(b"20261122", b"12:00:00.000")).validate()
    for value, text in (
        (time(12, 0), "naive time"),
        (time(12, 0, tzinfo=timezone(timedelta(hours=1))), "not in UTC"),
        (time(12, 0, tzinfo=_FailingTz()), "tz database"),
    ):
        if "md_entry_time" in _attrs(type(valid)):
            msg = valid.replace(md_entry_time=value)
        else:
            msg = valid.replace(md_entries=[valid.md_entries[0].replace(md_entry_time=value)])
        with pytest.raises(EncodeError, match=re.escape(text)) as ei:
            p.encode(msg, HEADER)
        assert ei.value.tag == 273 and ei.value.msg_type == "X"
    assert p.decode(p.encode(valid, HEADER)).validate() == valid


def _attrs(cls: type[FixRecord]) -> set[str]:
    return {m.attr for m in cls._MEMBERS}


def test_data_field_must_be_bytes() -> None:
    logon = p.Logon(encrypt_method=0, heart_bt_int=30, raw_data="sig", default_appl_ver_id="9")
    with pytest.raises(EncodeError, match=r"RawData\(96\): expected bytes"):
        p.encode(logon, HEADER)


def test_re_encoding_a_decoded_message_with_a_bad_value_is_an_encode_error() -> None:
    bad = frame(b"35=D|" + HDR + b"11=o|55=X|54=1|38=zz|40=2|44=55|")
    msg = p.decode(bad)
    with pytest.raises(EncodeError, match=r"OrderQty\(38\) has an invalid value") as ei:
        p.encode(msg, HEADER)
    assert ei.value.tag == 38


def test_message_or_header_of_another_dialect_is_refused() -> None:
    with pytest.raises(EncodeError, match="not one of its message classes"):
        p.encode(margin.Heartbeat(), HEADER)
    with pytest.raises(EncodeError, match="header must be a Header"):
        p.encode(order(), order())  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match="MsgType 'D' is NewOrderSingle"):
        p.encode(p.Unknown(msg_type="D", extra_fields=((55, b"X"),)), HEADER)


def test_group_entry_of_the_wrong_class_is_refused() -> None:
    msg = p.MarketDataIncrementalRefresh(md_entries=[p.Party(party_id="x")])  # type: ignore[list-item]
    with pytest.raises(
        EncodeError, match="entry 1 must be a MarketDataIncrementalRefreshMDEntry, got Party"
    ):
        p.encode(msg, HEADER)
    with pytest.raises(EncodeError, match="expected a tuple of group entries"):
        p.encode(p.MarketDataIncrementalRefresh(md_entries="x"), HEADER)  # type: ignore[arg-type]


# -- encode refuses what decode refuses ----------------------------------------------------------


@pytest.mark.parametrize("seq", [0, -1, -(2**70)])
def test_msg_seq_num_below_one_is_refused(seq: int) -> None:
    match = r"MsgSeqNum\(34\)(?: must be 1 or more|: .*outside the 64-bit range)"
    with pytest.raises(EncodeError, match=match) as ei:
        p.encode(order(), HEADER.replace(msg_seq_num=seq))
    assert ei.value.tag == 34


@pytest.mark.parametrize("tag", [8, 9, 10, 35])
def test_extra_fields_cannot_carry_framing_tags(tag: int) -> None:
    with pytest.raises(EncodeError, match=rf"tag {tag} is written by the codec") as ei:
        p.encode(order(extra_fields=((tag, b"1"),)), HEADER)
    assert ei.value.tag == tag and ei.value.msg_type == "D"


@pytest.mark.parametrize(
    "tag",
    [55, 44, 49, 34, 52, 43, 122, 453, 448],  # body, header, group count and group member tags
)
def test_extra_fields_cannot_carry_tags_the_message_defines(tag: int) -> None:
    with pytest.raises(EncodeError, match=rf"tag {tag} is a field of NewOrderSingle"):
        p.encode(order(extra_fields=((tag, b"1"),)), HEADER)


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        (((21999, b"a"), (21999, b"b")), "appears twice"),
        (((21999, b""),), "empty value"),
        (((21999, b"a\x01b"),), "contains SOH"),
        (((21999, "\ud800"),), "lone surrogate"),
        (((0, b"a"),), "must be an int from 1"),
        (((10**9, b"a"),), "must be an int from 1"),
        (((True, b"a"),), "must be an int from 1"),
        (((21999, 5),), "expected bytes or str"),
        (((21999,),), "expected a (tag, value) pair"),
        (((95, b"3"),), "length field 95 must be followed at once by its data field 96"),
        (((95, b"3"), (21999, b"x"), (96, b"abc")), "must be followed at once"),
        (((95, b"4"), (96, b"abc")), "must be followed at once by its data field 96 of 4 bytes"),
        (((95, b"x"), (96, b"abc")), "length field 95 must be a number"),
    ],
)
def test_extra_fields_the_decoder_would_not_read_back(extra: Any, text: str) -> None:
    with pytest.raises(EncodeError, match=re.escape(text)):
        p.encode(order(extra_fields=extra), HEADER)


def test_extra_length_and_data_pair_round_trips() -> None:
    extra = ((95, b"3"), (96, b"a=b"), (21999, b"x=y"))
    data = p.encode(order(extra_fields=extra), HEADER)
    assert p.decode(data, verify=True).validate().extra_fields == extra


def test_logon_length_without_its_data_is_refused() -> None:
    logon = p.Logon(encrypt_method=0, heart_bt_int=30, raw_data_length=3, default_appl_ver_id="9")
    with pytest.raises(EncodeError, match=r"RawDataLength\(95\) is set without the data field"):
        p.encode(logon, HEADER)


# -- a field without '=' is a DecodeError on every split path -----------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"35=D|" + HDR + b"1234|58=1=2|11=o|55=X|54=1|38=1|40=2|44=5|",  # the case
        b"35=D|" + HDR + b"58=1=2|1234|11=o|55=X|54=1|38=1|40=2|44=5|",  # other order
        b"35=D|" + HDR + b"55|58=1=2|11=o|54=1|38=1|40=2|44=5|",  # a known tag without '='
        b"35=0|" + HDR + b"58=a==b|x|",  # two '=' in one value
        b"35=0|" + HDR + b"|58==|",  # an empty field
        b"35=A|" + HDR + b"98=0|108=30|95=3|96=a=b|x|1137=9|",  # Length/Data pair: by length
        b"35=A|" + HDR + b"98=0|108=30|95=3|96=abc|1137|58=a=b|",
    ],
)
@pytest.mark.parametrize("verify", [False, True])
@pytest.mark.parametrize("padding", [0, 70_000])  # fields after it: the splits past 65,536 too
def test_field_without_equals_is_a_decode_error(body: bytes, verify: bool, padding: int) -> None:
    raw = frame(body + b"9999=1|" * padding)
    for dialect in (p, margin):
        with pytest.raises(DecodeError, match="has no '='") as ei:
            dialect.decode(raw, verify=verify)
        assert ei.value.raw == raw and ei.value.offset is not None
        assert raw[ei.value.offset : raw.index(SOH, ei.value.offset)].count(b"=") == 0


def test_a_frame_of_more_than_65536_fields_splits_as_a_shorter_one() -> None:
    """Past 65,536 fields a frame whose every field holds one '=' still takes the fast split
    (its time: tests/test_linear_time.py), and one whose value holds '=' still the careful one:
    both read as a short frame does."""
    n = 14_000  # entries of 5 fields: 70,000 fields and more
    entries = b"279=0|55=KX|269=0|270=0.5|271=1|" * n
    plain = margin.decode(frame(b"35=X|" + HDR + b"268=%d|" % n + entries))
    assert plain.check() == () and plain.header.msg_seq_num == 1
    prices = [e.md_entry_px for e in plain.md_entries]  # type: ignore[attr-defined]
    assert prices == [Decimal("0.5")] * n
    equals = frame(b"35=X|" + HDR + b"268=%d|" % n + entries[:-1] + b"|11=a=b|")
    last = margin.decode(equals).md_entries[-1]  # type: ignore[attr-defined]
    assert last.cl_ord_id == "a=b" and last.md_entry_size == 1


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.lists(
        st.tuples(
            st.integers(1, 30000).map(lambda t: b"%d" % t),
            st.binary(max_size=6).map(lambda b: b.replace(SOH, b"")),
        ),
        max_size=6,
    ),
    bad=st.binary(max_size=6).map(lambda b: b.replace(SOH, b"").replace(b"=", b"")),
    where=st.integers(0, 6),
)
def test_any_field_without_equals_is_refused(
    fields: list[tuple[bytes, bytes]], bad: bytes, where: int
) -> None:
    """Wherever a field without '=' sits, whatever '=' the values hold: DecodeError."""
    parts = [t + b"=" + v for t, v in fields]
    parts.insert(min(where, len(parts)), bad)
    body = b"35=0\x01" + HDR.replace(b"|", SOH) + b"".join(x + SOH for x in parts)
    head = b"8=FIXT.1.1\x019=%d\x01" % len(body)
    raw = head + body + b"10=%03d\x01" % checksum(head + body)
    with pytest.raises(DecodeError):
        p.decode(raw, verify=True)


@settings(max_examples=200)
@given(
    values=st.lists(
        st.binary(min_size=1, max_size=8).map(lambda b: b.replace(SOH, b"+")), max_size=6
    )
)
def test_values_holding_equals_split_exactly(values: list[bytes]) -> None:
    """Fast and careful splits agree: every value comes back whole, '=' or not."""
    extra = tuple((30000 + i, v) for i, v in enumerate(values))
    raw = p.encode(p.Heartbeat(extra_fields=extra), HEADER)
    assert p.decode(raw, verify=True).validate().extra_fields == extra


# -- strict timestamps -------------------------------------------------------------------------


def execution_report(transact_time: bytes) -> bytes:
    return frame(
        b"35=8|" + HDR + b"37=o|11=c|17=e|150=0|39=0|55=X|54=1|38=1|44=55|151=1|14=0|6=0|"
        b"60=" + transact_time + b"|"
    )


@pytest.mark.parametrize(
    "stamp",
    [
        b"20261122-120000.1",  # no colons (ISO basic format)
        b"20261122-12:00:00,512",  # comma for the fraction
        b"20261122-12:00:00.1",
        b"20261122-12:00:00.12",
        b"20261122-12:00:00.5120",
        b"20261122-12:00:00.",
        b"20261122-12:00:00.123456789012",
        b"20261122T12:00:00.512",
        b"2026-11-22T12:00:00",
        b"20261122-12:00",
        b"20261122-12:00:00Z",
        b"20261122-12:00:00.512Z",
        b"20261122-12:00:00+00",
        b"20261122-1:00:00.5120",
        b"20261122-24:00:00",
        b"20261122-12:60:00",
        b"20261122-23:59:60",
        b"20261131-12:00:00",
        b" 20261122-12:00:00",
        b"20261122-12:00:00.51\xd9\xa3",  # a non-ASCII digit
        b"\xd9\xa32026112-12:00:00.512",
    ],
)
def test_malformed_utc_timestamp_is_a_decode_error(stamp: bytes) -> None:
    msg = p.decode(execution_report(stamp))
    with pytest.raises(DecodeError, match=r"TransactTime\(60\) has an invalid value") as ei:
        _ = msg.transact_time
    assert ei.value.tag == 60 and ei.value.reject_reason == 6


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (b"20261122-12:00:00", datetime(2026, 11, 22, 12, tzinfo=UTC)),
        (b"20261122-12:00:00.512", datetime(2026, 11, 22, 12, 0, 0, 512000, tzinfo=UTC)),
        (b"20261122-12:00:00.512345", datetime(2026, 11, 22, 12, 0, 0, 512345, tzinfo=UTC)),
        (b"20261122-12:00:00.512345678", datetime(2026, 11, 22, 12, 0, 0, 512345, tzinfo=UTC)),
        (b"00010101-00:00:00.000", datetime(1, 1, 1, tzinfo=UTC)),
    ],
)
def test_utc_timestamp_with_0_3_6_or_9_fraction_digits(stamp: bytes, expected: datetime) -> None:
    assert p.decode(execution_report(stamp)).transact_time == expected


_TS = re.compile(rb"(\d{8})-(\d\d):(\d\d):(\d\d)(?:\.(\d{3}|\d{6}|\d{9}))?")


def _reference(stamp: bytes) -> datetime | None:
    m = _TS.fullmatch(stamp)
    if m is None:
        return None
    d = m.group(1)
    frac = (m.group(5) or b"0").ljust(6, b"0")[:6]
    try:
        return datetime(
            int(d[:4]), int(d[4:6]), int(d[6:]), int(m.group(2)), int(m.group(3)),
            int(m.group(4)), int(frac), tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None


@settings(max_examples=500)
@given(
    st.one_of(
        st.text(alphabet="0123456789-:.,T +Z", min_size=15, max_size=28).map(str.encode),
        st.datetimes()
        .map(lambda d: d.strftime("%Y%m%d-%H:%M:%S.%f").encode())
        .flatmap(lambda s: st.sampled_from([s, s[:-3], s[:-7], s[:-1], s[:-4] + b","])),
    )
)
def test_utc_timestamp_matches_the_format_exactly(stamp: bytes) -> None:
    """Differential: the decoder (fast ISO path included) accepts exactly the strict format."""
    expected = _reference(stamp)
    msg = p.decode(execution_report(stamp))
    if expected is None:
        with pytest.raises(DecodeError):
            _ = msg.transact_time
    else:
        assert msg.transact_time == expected


def market_data(date_raw: bytes, time_raw: bytes) -> bytes:
    return frame(
        b"35=X|" + HDR + b"262=r|268=1|279=0|269=0|55=X|270=0.5|271=1|"
        b"272=" + date_raw + b"|273=" + time_raw + b"|"
    )


@pytest.mark.parametrize(
    ("date_raw", "time_raw", "tag"),
    [
        (b"20261122", b"12:00:00,512", 273),
        (b"20261122", b"120000", 273),
        (b"20261122", b"12:00:00.5", 273),
        (b"20261122", b"12:00", 273),
        (b"20261122", b"24:00:00", 273),
        (b"20261122", b"12:00:00Z", 273),
        (b"2026-11-22", b"12:00:00", 272),
        (b"20261322", b"12:00:00", 272),
        (b"2026112", b"12:00:00", 272),
        (b"+2026112", b"12:00:00", 272),
    ],
)
def test_utc_date_and_time_only_are_strict(date_raw: bytes, time_raw: bytes, tag: int) -> None:
    for dialect in (p, margin):
        msg = dialect.decode(market_data(date_raw, time_raw))
        with pytest.raises(DecodeError, match=rf"\({tag}\) has an invalid value"):
            msg.validate()


def test_utc_time_only_fractions() -> None:
    for raw, us in ((b"12:00:00", 0), (b"12:00:00.512", 512000), (b"12:00:00.512345678", 512345)):
        msg = p.decode(market_data(b"20261122", raw)).validate()
        entry = msg.md_entries[0]
        value = msg.md_entry_time if "md_entry_time" in _attrs(type(msg)) else entry.md_entry_time
        assert value == time(12, 0, 0, us, tzinfo=UTC)


# -- cents beyond the decimal context are exact -----------------------------------------------


def test_forty_digit_cents_price_is_exact() -> None:
    cents = b"1" * 40
    raw = frame(b"35=D|" + HDR + b"11=o|55=X|54=1|38=1|40=2|44=" + cents + b"|")
    price = p.decode(raw).validate().price
    assert price == Decimal("1" * 38 + ".11")  # divided by 100 exactly, not rounded to 28 digits
    assert b"\x0144=" + cents + b"\x01" in p.encode(p.decode(raw), HEADER)


def test_forty_digit_settlement_price_is_exact() -> None:
    value = b"1" * 38 + b".55"  # cents, 40 digits
    dollars = Decimal("1" * 36 + ".1155")
    msg = p.MarketSettlementReport  # SettlementPrice(730): cents with up to 2 decimals
    raw = p.encode(msg(**_minimal_ums(dollars)), HEADER)
    assert b"\x01730=" + value + b"\x01" in raw
    assert p.decode(raw).validate().settlement_price == dollars


def _minimal_ums(price: Decimal) -> dict[str, Any]:
    from strategies import minimal_record

    base = minimal_record(p, p.MarketSettlementReport)
    kwargs = dict(base._values())
    kwargs["settlement_price"] = price
    return kwargs


# -- the property: arbitrary values either encode to a frame that decodes equal, or EncodeError ----


class _Weird:
    def __repr__(self) -> str:
        return "<weird>"


_ENUM_MEMBERS = [m for d in DIALECTS.values() for m in list(d.Side) + list(d.OrdType)]

nasty = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.text(alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=3),
    st.sampled_from(["", "\x01", "a=b", " ", "Y", "N", "1", "0"]),
    st.integers(),
    st.sampled_from([0, -1, 10**5000, -(10**5000), 2**63, True, False]),
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.sampled_from(
        [
            Decimal("1" * 30),
            Decimal("1" * 30 + ".55"),
            Decimal("0.755"),
            Decimal("1E+999999999"),
            Decimal("-1E-999999999"),
            Decimal("sNaN"),
            Decimal("-0"),
            Decimal("0.75000"),
        ]
    ),
    st.floats(),
    st.datetimes(
        timezones=st.one_of(
            st.none(),
            st.just(UTC),
            st.just(_FailingTz()),
            st.integers(-1439, 1439).map(lambda m: timezone(timedelta(minutes=m))),
        )
    ),
    st.dates(),
    st.times(timezones=st.one_of(st.none(), st.just(UTC), st.just(timezone(timedelta(hours=2))))),
    st.binary(max_size=6),
    st.sampled_from(_ENUM_MEMBERS),
    st.builds(_Weird),
    st.lists(st.none(), max_size=2),
)


@st.composite
def mutated(draw: st.DrawFn, dialect: ModuleType, rec: FixRecord, depth: int = 0) -> Any:
    """The record with some of its members (and its entries' members) set to arbitrary values."""
    members = list(rec._MEMBERS)
    changes: dict[str, Any] = {}
    chosen = draw(st.sets(st.sampled_from(members), max_size=3)) if members else set()
    for m in chosen:
        changes[m.attr] = draw(nasty, label=f"{type(rec).__name__}.{m.attr}")
    for g in rec._GROUPS:
        entries = getattr(rec, g.attr)
        if g not in chosen and isinstance(entries, (list, tuple)) and depth < 2:
            changes[g.attr] = [draw(mutated(dialect, e, depth + 1)) for e in entries]
    if isinstance(rec, Message) and draw(st.booleans()):
        changes["extra_fields"] = draw(
            st.lists(
                st.tuples(
                    st.one_of(
                        st.sampled_from([8, 9, 10, 35, 55, 95, 96, 49]), st.integers(0, 99999)
                    ),
                    st.one_of(st.binary(max_size=4), st.text(max_size=3)),
                ),
                max_size=3,
            )
        )
    return rec.replace(**changes) if changes else rec


def _norm(value: Any, decoded: Any) -> bool:
    """Equal, or the same value after the encoder's documented coercions."""
    if value == decoded:
        return True
    if isinstance(value, str) and isinstance(decoded, Decimal):
        return Decimal(value) == decoded  # a decimal string is accepted for a Decimal field
    return False


def _same(original: FixRecord, decoded: FixRecord) -> None:
    assert type(decoded) is type(original)
    for m in original._MEMBERS:
        a, b = getattr(original, m.attr), getattr(decoded, m.attr)
        if isinstance(m, GroupInfo):
            assert (a is None) == (b is None), (m.name, a, b)
            for x, y in zip(a or (), b or (), strict=True):
                _same(x, y)
        elif a is None and b is not None and m.name.endswith("Length"):
            continue  # the length of a data field holding SOH is filled in by encode
        else:
            assert _norm(a, b), (type(original).__name__, m.name, a, b)
    if isinstance(original, Message):
        extra = tuple(
            (t, v.encode() if isinstance(v, str) else bytes(v)) for t, v in original.extra_fields
        )
        assert extra == decoded.extra_fields  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("dialect_name", "cls"),
    [pytest.param(d, c, id=f"{d}-{c.__name__}") for d, c in message_classes()],
)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_encode_returns_a_frame_that_decodes_equal_or_raises_encode_error(
    dialect_name: str, cls: type[Message], data: st.DataObject
) -> None:
    dialect = DIALECTS[dialect_name]
    msg = data.draw(mutated(dialect, data.draw(messages(dialect, cls), label="valid")), label="msg")
    header = data.draw(headers(), label="header")
    header = data.draw(mutated(dialect, header), label="mutated header")
    use_dollars = data.draw(st.booleans(), label="use_dollars")
    rfq_units = data.draw(st.sampled_from(["cents", "dollars"]), label="rfq_units")
    units = {"use_dollars": use_dollars, "rfq_units": rfq_units}
    try:
        raw = dialect.encode(msg, header, **units)
    except EncodeError as exc:
        assert str(exc)
        return
    decoded = dialect.decode(raw, verify=True, **units).validate()
    _same(msg, decoded)
    _same(header, decoded.header)
    assert dialect.encode(decoded, decoded.header, **units) == raw

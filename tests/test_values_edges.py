"""The value converters' error paths, through the public codec (the value converters are in the
coverage gate): every refusal is an `EncodeError` / a decode defect naming the field."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal

import pytest

from kalshi_fix_sansio import DecodeError, EncodeError, Header, checksum
from kalshi_fix_sansio import prediction as p

HEADER = Header(
    sender_comp_id="k",
    target_comp_id="KalshiNR",
    msg_seq_num=2,
    sending_time=datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc),
)
MD_HEADER = "49=Kalshi|56=k|34=2|52=20261122-12:00:00.000"


def frame(body: str) -> bytes:
    b = body.replace("|", "\x01").encode() + b"\x01"
    head = b"8=FIXT.1.1\x019=%d\x01" % len(b)
    return head + b + b"10=%03d\x01" % checksum(head + b)


def order(price: Decimal) -> p.NewOrderSingle:
    """A limit order at ``price`` (dollars; Price(44) is written in cents)."""
    return p.NewOrderSingle(
        cl_ord_id="c",
        side=p.Side.BUY,
        order_qty=Decimal(1),
        ord_type=p.OrdType.LIMIT,
        price=price,
        symbol="X",
    )


def written(tag: int, data: bytes) -> bytes:
    """The value of ``tag`` in the encoded frame ``data``."""
    found = re.search(rb"\x01%d=([^\x01]*)\x01" % tag, data)
    assert found is not None, (tag, data)
    return found.group(1)


class Broken(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        raise RuntimeError("no offset today")

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)


def logon(**kw: object) -> p.Logon:
    fields: dict[str, object] = {
        "encrypt_method": 0,
        "heart_bt_int": 30,
        "default_appl_ver_id": "9",
    }
    fields.update(kw)
    return p.Logon(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message", "tag", "text"),
    [
        (logon(reset_seq_num_flag="Y"), 141, "expected bool"),
        (logon(raw_data=b""), 96, "empty data"),
        (logon(raw_data="sig"), 96, "expected bytes"),
        (logon(encrypt_method=[0]), 98, "expected int"),  # unhashable: not an enum member
    ],
)
def test_encode_refusals_name_the_field(message: p.Logon, tag: int, text: str) -> None:
    with pytest.raises(EncodeError, match=text) as ei:
        p.encode(message, HEADER)
    assert ei.value.tag == tag


def md_entry(**kw: object) -> p.MarketDataIncrementalRefresh:
    entry = dict(
        md_update_action=p.MDUpdateAction.NEW,
        symbol="X",
        md_entry_type=p.MDEntryType.BID,
        md_entry_px=Decimal("0.5"),
        md_entry_size=Decimal(1),
        md_entry_date=datetime(2026, 1, 1).date(),
        md_entry_time=time(12, 0, tzinfo=timezone.utc),
    )
    entry.update(kw)
    return p.MarketDataIncrementalRefresh(
        md_entries=(p.MarketDataIncrementalRefreshMDEntry(**entry),)  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (time(12, 0), "naive time"),
        (time(12, 0, tzinfo=timezone(timedelta(hours=1))), "not in UTC"),
        (time(12, 0, tzinfo=Broken()), "its time zone fails"),
        ("12:00:00", "expected a time"),
    ],
)
def test_utc_time_only_refusals(value: object, text: str) -> None:
    with pytest.raises(EncodeError, match=text):
        p.encode(md_entry(md_entry_time=value), HEADER)


def test_utc_time_only_fractions_round_trip() -> None:
    for t in (time(1, 2, 3, 4000, tzinfo=timezone.utc), time(1, 2, 3, 4005, tzinfo=timezone.utc)):
        msg = p.decode(p.encode(md_entry(md_entry_time=t), HEADER))
        assert msg.md_entries[0].md_entry_time == t  # type: ignore[attr-defined]


def test_a_timestamp_whose_zone_fails_is_refused() -> None:
    order = p.NewOrderSingle(
        cl_ord_id="c",
        side=p.Side.BUY,
        order_qty=Decimal(1),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.5"),
        symbol="X",
        expire_time=datetime(2026, 1, 1, tzinfo=Broken()),
    )
    with pytest.raises(EncodeError, match="cannot be converted to UTC"):
        p.encode(order, HEADER)


@pytest.mark.parametrize("raw", ["1.2.3", "--1", "1-2"])
def test_decimal_text_that_decimal_refuses_is_a_defect(raw: str) -> None:
    msg = p.decode(
        frame(
            f"35=X|{MD_HEADER}|268=1|279=0|55=X|269=0|270=0.5|271={raw}|272=20260101|273=12:00:00"
        ),
        tolerant=True,
    )
    assert any(d.tag == 271 and d.reason == 6 for d in msg.check())


def test_negative_integer_cents_on_the_market_maker_side() -> None:
    body = f"35=AI|{MD_HEADER}|117=q|131=r|297=10|132=-75|133=25"
    msg = p.decode(frame(body), rfq_units="cents")
    assert msg.bid_px == Decimal("-0.75")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("price", "cents"),
    [
        ("0.3100", b"31"),  # a price read in dollars, trailing zeros kept
        ("0.31", b"31"),
        ("-0.3100", b"-31"),
        ("5.000", b"500"),
        ("-0.00", b"0"),
        ("31", b"3100"),
        ("1E+1", b"1000"),  # an exponent: the careful path
    ],
)
def test_price_in_cents_whatever_the_trailing_zeros(price: str, cents: bytes) -> None:
    for _ in range(2):  # written, then from what is remembered
        assert written(44, p.encode(order(Decimal(price)), HEADER)) == cents


def test_a_sub_penny_field_keeps_its_own_digits_after_an_equal_whole_cent_price() -> None:
    # 1.0000 dollars written as whole cents is remembered by value; a field that takes
    # fractions of a cent (SettlementPrice 730=100.00) still writes the digits it was read with
    one = Decimal("1.0000")
    assert written(44, p.encode(order(one), HEADER)) == b"100"
    report = p.MarketSettlementReport(
        market_settlement_report_id="r",
        symbol="X",
        clearing_business_date=date(2026, 1, 1),
        market_result=p.MarketResult.YES,
        settlement_price=one,
    )
    assert written(730, p.encode(report, HEADER)) == b"100.00"
    assert written(44, p.encode(order(one), HEADER)) == b"100"


@pytest.mark.parametrize("price", ["0.315", "0.31500001", "NaN", "sNaN", "Infinity"])
def test_a_price_that_is_not_whole_cents_is_refused_every_time(price: str) -> None:
    for _ in range(2):
        with pytest.raises(EncodeError, match=r"Price\(44\)"):
            p.encode(order(Decimal(price)), HEADER)


@pytest.mark.parametrize(
    "raw", ["12:0::00.000", "1.:00:00.000", "12:00:00.0:0", "12:00:00.0.0", ":2:00:00"]
)
def test_a_time_with_a_separator_in_place_of_a_digit_is_refused(raw: str) -> None:
    body = f"35=X|{MD_HEADER}|268=1|279=0|55=X|269=0|270=0.5|271=1|272=20260101|273={raw}"
    with pytest.raises(DecodeError, match=r"MDEntryTime\(273\).*UTCTimeOnly"):
        _read = p.decode(frame(body)).md_entries[0].md_entry_time  # type: ignore[attr-defined]
    tolerant = p.decode(frame(body), tolerant=True)
    assert [(d.tag, d.reason) for d in tolerant.check()] == [(273, 6)]

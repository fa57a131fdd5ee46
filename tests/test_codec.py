"""Typed codec behaviour a user notices: values, units, groups, unknown tags, errors."""

from __future__ import annotations

import base64
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from kalshi_fix_sansio import DecodeError, EncodeError, Header, PriceUnitError, checksum
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p

T0 = datetime(2026, 11, 20, 14, 30, 0, 125000, tzinfo=timezone.utc)
HDR = Header(sender_comp_id="key-1", target_comp_id="KalshiNR", msg_seq_num=7, sending_time=T0)


def frame(body: str, header: str = "49=Kalshi|56=key-1|34=3|52=20261120-14:30:00.125|") -> bytes:
    """A correct frame from a readable body starting with 35= ('|' for SOH)."""
    msg_type, rest = body.split("|", 1)
    raw = (msg_type + "|" + header + rest).replace("|", "\x01").encode()
    head = b"8=FIXT.1.1\x019=%d\x01" % len(raw)
    return head + raw + b"10=%03d\x01" % checksum(head + raw)


def nos(**kw: object) -> p.NewOrderSingle:
    fields: dict[str, object] = dict(
        cl_ord_id="c-1",
        side=p.Side.BUY,
        order_qty=Decimal("10"),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.55"),
        symbol="HIGHNY-23DEC31",
    )
    fields.update(kw)
    return p.NewOrderSingle(**fields)  # type: ignore[arg-type]


def fields_of(data: bytes) -> list[str]:
    return data.decode().split("\x01")


# -- encoding --------------------------------------------------------------------------------


def test_encode_writes_header_body_length_and_checksum() -> None:
    data = p.encode(nos(), HDR)
    parts = fields_of(data)
    assert parts[:3] == ["8=FIXT.1.1", f"9={len(data) - len(parts[0]) - len(parts[1]) - 9}", "35=D"]
    assert "49=key-1" in parts and "56=KalshiNR" in parts and "34=7" in parts
    assert "52=20261120-14:30:00.125" in parts
    assert parts[-2] == f"10={checksum(data[: data.rindex(b'10=')]):03d}"
    p.decode(data, verify=True)  # BodyLength and CheckSum verified


@pytest.mark.parametrize("size", [0, 300, 600, 2000])  # body text; ASCII frames past 515 bytes
def test_verify_checks_checksum_at_every_size(size: int) -> None:
    """decode(verify=True) accepts the right CheckSum and names the computed one otherwise."""
    good = frame("35=0|112=c-1" + "x" * size + "|")
    p.decode(good, verify=True)
    body = good[: -len(b"10=ddd\x01")]
    right = checksum(body)
    wrong_values = [b"%03d" % ((right + 1) % 256), b"256", b"999", b"1x3"]
    for value in wrong_values:
        with pytest.raises(
            DecodeError, match=f"CheckSum\\(10\\) is .*, computed {right:03d}"
        ) as err:
            p.decode(body + b"10=" + value + b"\x01", verify=True)
        assert err.value.tag == 10
    changed = body.replace(b"c-1", b"c-2") + b"10=%03d\x01" % right  # same length, other sum
    with pytest.raises(DecodeError, match=f"computed {(right + 1) % 256:03d}"):
        p.decode(changed, verify=True)
    with pytest.raises(DecodeError, match="not followed by CheckSum") as err:
        p.decode(body + b"10=" + b"%03d" % right + b"\x01\x01", verify=True)
    assert err.value.tag == 9


def test_prediction_prices_are_cents_unless_use_dollars() -> None:
    assert "44=55" in fields_of(p.encode(nos(), HDR))
    assert "44=0.55" in fields_of(p.encode(nos(), HDR, use_dollars=True))
    sub = nos(price=Decimal("0.5525"))
    assert "44=0.5525" in fields_of(p.encode(sub, HDR, use_dollars=True))


def test_subpenny_price_in_cents_session_is_a_clear_local_error() -> None:
    with pytest.raises(PriceUnitError, match=r"Price\(44\).*0\.555.*UseDollars"):
        p.encode(nos(price=Decimal("0.555")), HDR)


def test_dollar_price_with_too_many_decimals_is_refused() -> None:
    with pytest.raises(PriceUnitError, match="more than 4 decimal places"):
        p.encode(nos(price=Decimal("0.55555")), HDR, use_dollars=True)
    order = m.NewOrderSingle(
        cl_ord_id="c",
        side=m.Side.SELL,
        order_qty=Decimal(1),
        ord_type=m.OrdType.LIMIT,
        price=Decimal("19.50001"),
        symbol="BTC-PERP",
    )
    with pytest.raises(PriceUnitError):
        m.encode(order, HDR)


def test_margin_prices_are_always_dollars() -> None:
    order = m.NewOrderSingle(
        cl_ord_id="c",
        side=m.Side.BUY,
        order_qty=Decimal(10),
        ord_type=m.OrdType.LIMIT,
        price=Decimal("19.5000"),
        symbol="BTC-PERP",
    )
    assert "44=19.5000" in fields_of(m.encode(order, HDR))
    decoded = m.decode(m.encode(order, HDR))
    assert decoded.price == Decimal("19.5")  # type: ignore[attr-defined]


def test_missing_required_field_names_field_and_tag() -> None:
    with pytest.raises(
        EncodeError, match=r"NewOrderSingle: required field Symbol\(55\) is missing"
    ) as ei:
        p.encode(nos(symbol=None), HDR)
    assert ei.value.tag == 55 and ei.value.msg_type == "D"
    with pytest.raises(EncodeError, match=r"SendingTime\(52\)"):
        p.encode(nos(), Header(sender_comp_id="a", target_comp_id="b", msg_seq_num=1))


def test_bad_values_are_refused_on_encode() -> None:
    with pytest.raises(EncodeError, match="SOH"):
        p.encode(nos(symbol="A\x01B"), HDR)
    with pytest.raises(EncodeError, match="floats are refused"):
        p.encode(nos(order_qty=10.5), HDR)
    with pytest.raises(EncodeError, match="naive datetime"):
        p.encode(nos(expire_time=datetime(2026, 1, 1)), HDR)


def test_raw_enum_values_encode_and_unknown_values_decode_to_raw() -> None:
    assert "54=2" in fields_of(p.encode(nos(side="2"), HDR))
    msg = p.decode(frame("35=8|6=0|11=c|14=0|17=1;1|37=o|38=1|39=Z|54=1|55=X|150=0|151=1|"))
    assert isinstance(msg, p.ExecutionReport)
    assert msg.ord_status == "Z" and not isinstance(msg.ord_status, p.OrdStatus)
    assert msg.exec_type is p.ExecType.NEW


# -- decoding --------------------------------------------------------------------------------


def test_decode_types_every_value() -> None:
    data = frame(
        "35=8|6=55|11=c|14=4.00|17=4;7|31=55|32=4.00|37=o|38=10.00|39=1|44=55|54=1|55=X|"
        "60=20261120-14:30:00.125|150=F|151=6.00|715=20261120|1057=Y|"
    )
    msg = p.decode(data)
    assert isinstance(msg, p.ExecutionReport)
    assert msg.avg_px == Decimal("0.55") and msg.last_px == Decimal("0.55")
    assert msg.cum_qty == Decimal("4.00")
    assert msg.transact_time == T0 and msg.transact_time.tzinfo is timezone.utc
    assert msg.clearing_business_date == date(2026, 11, 20)
    assert msg.aggressor_indicator is True
    assert msg.ord_status is p.OrdStatus.PARTIALLY_FILLED
    assert msg.raw == data
    assert msg.header.msg_seq_num == 3 and msg.header.sender_comp_id == "Kalshi"
    dollars = p.decode(data.replace(b"44=55", b"44=0.55"), use_dollars=True)
    assert dollars.price == Decimal("0.55")  # type: ignore[attr-defined]


def test_market_data_prices_are_dollars_whatever_the_session() -> None:
    data = frame("35=W|55=X|268=1|269=0|270=0.3500|271=10.00|272=20261120|273=14:30:00.125|")
    msg = p.decode(data)
    assert isinstance(msg, p.MarketDataSnapshotFullRefresh)
    assert msg.md_entries is not None
    assert msg.md_entries[0].md_entry_px == Decimal("0.35")
    assert "270=0.3500" in fields_of(p.encode(msg, msg.header))


def test_microsecond_timestamps_are_kept() -> None:
    msg = p.decode(frame("35=0|", header="49=K|56=k|34=1|52=20261120-14:30:00.123456|"))
    assert msg.header.sending_time.microsecond == 123456
    again = p.encode(msg, msg.header)
    assert b"52=20261120-14:30:00.123456\x01" in again


def test_missing_required_tag_raises_decode_error_with_raw_frame() -> None:
    data = frame("35=D|11=c|38=1|40=2|54=1|55=X|")  # no Price(44)
    with pytest.raises(
        DecodeError, match=r"NewOrderSingle \(35=D\): required tag 44 is missing"
    ) as ei:
        p.decode(data)
    assert ei.value.raw == data and ei.value.tag == 44 and ei.value.msg_type == "D"
    assert ei.value.reject_reason == 1


def test_invalid_value_error_names_tag_message_and_offset() -> None:
    data = frame("35=D|11=c|38=ten|40=2|44=55|54=1|55=X|")
    msg = p.decode(data)  # lazy: the value is converted on access
    with pytest.raises(
        DecodeError, match=r"NewOrderSingle \(35=D\): OrderQty\(38\) has an invalid value"
    ) as ei:
        msg.validate()
    assert ei.value.tag == 38 and ei.value.offset is not None
    assert data[ei.value.offset :].startswith(b"38=ten")


def test_repeated_tag_is_reported() -> None:
    with pytest.raises(DecodeError, match="tag 55 appears more than once") as ei:
        p.decode(frame("35=D|11=c|38=1|40=2|44=55|54=1|55=X|55=Y|"))
    assert ei.value.reject_reason == 13


def test_non_numeric_tag_is_reported() -> None:
    with pytest.raises(DecodeError, match="invalid tag number"):
        p.decode(frame("35=0|x1=2|"))


def test_unknown_tags_are_kept_and_reencoded() -> None:
    data = frame("35=D|11=c|38=1|40=2|44=55|54=1|55=X|21999=hello|")
    msg = p.decode(data)
    assert msg.extra_fields == ((21999, b"hello"),)
    assert b"21999=hello\x01" in p.encode(msg, msg.header)
    built = nos(extra_fields=((21999, b"v"),))
    assert b"\x0121999=v\x01" in p.encode(built, HDR)


def test_unknown_msgtype_is_kept_whole() -> None:
    msg = p.decode(frame("35=ZZ|58=hi|1=2|"))
    assert isinstance(msg, p.Unknown)
    assert msg.msg_type == "ZZ"
    assert msg.extra_fields == ((58, b"hi"), (1, b"2"))
    assert p.decode(p.encode(msg, msg.header)) == msg


def test_margin_does_not_know_prediction_only_messages() -> None:
    data = frame("35=UMS|20105=r|55=X|715=20261120|20107=yes|730=30.60|")
    assert isinstance(m.decode(data), m.Unknown)
    assert isinstance(p.decode(data), p.MarketSettlementReport)


def test_nested_groups_of_the_settlement_report() -> None:
    data = frame(
        "35=UMS|20105=r1|55=NHIGH|715=20261120|20106=1|20107=yes|730=30.60|20108=2|"
        "20109=party-a|20110=24|704=10.00|1703=1|1704=99.50|1705=PAYOUT|136=1|137=0.50|"
        "138=USD|139=4|891=0|"
        "20109=party-b|20110=24|705=3.00|1703=1|1704=-1.25|1705=BALANCE|136=1|137=0|138=USD|"
        "139=4|891=0|893=Y|"
    )
    msg = p.decode(data).validate()
    assert isinstance(msg, p.MarketSettlementReport)
    assert msg.settlement_price == Decimal("0.3060")  # cents with decimals -> dollars
    parties = msg.market_settlement_party_ids
    assert parties is not None and len(parties) == 2
    assert parties[0].market_settlement_party_id == "party-a"
    assert parties[0].collateral_amount_changes[0].collateral_amount_change == Decimal("99.50")  # type: ignore[index]
    assert parties[1].misc_fees[0].misc_fee_amt == Decimal("0")  # type: ignore[index]
    assert parties[1].short_qty == Decimal("3.00")
    assert msg.last_fragment is True
    again = p.encode(msg, msg.header)
    assert p.decode(again) == msg
    assert b"730=30.60" in again


def test_group_count_mismatch_is_reported() -> None:
    data = frame("35=W|55=X|268=3|269=0|270=0.35|271=1|272=20261120|273=14:30:00|")
    msg = p.decode(data)
    with pytest.raises(
        DecodeError, match=r"NoMDEntries\(268\): declares 3 entries but entry 2"
    ) as ei:
        msg.validate()
    assert ei.value.reject_reason == 16


@pytest.mark.parametrize(
    "secret",
    [
        b"ab=\x01cd==",  # more '=' than SOH: the quick split cannot line up
        b"a\x01b=c",  # one SOH and one '=' more: a quick split would see a field b=c
        b"\x0134=7\x01",  # looks like a MsgSeqNum field
    ],
)
def test_raw_data_read_by_length_even_with_soh_and_equals(secret: bytes) -> None:
    logon = p.Logon(
        encrypt_method=0,
        heart_bt_int=30,
        raw_data_length=len(secret),
        raw_data=secret,
        default_appl_ver_id="9",
    )
    data = p.encode(logon, HDR)
    msg = p.decode(data, verify=True)
    assert isinstance(msg, p.Logon)
    assert msg.raw_data == secret and msg.raw_data_length == len(secret)
    assert "redacted" in repr(msg) and repr(secret)[2:-1] not in repr(msg)
    assert msg.extra_fields == ()
    msg.validate()


def test_raw_data_without_length_field_for_base64_signatures() -> None:
    sig = base64.b64encode(b"\x00" * 64)
    logon = p.Logon(encrypt_method=0, heart_bt_int=30, raw_data=sig, default_appl_ver_id="9")
    data = p.encode(logon, HDR)
    assert b"\x0195=" not in data and b"\x0196=" + sig + b"\x01" in data
    assert p.decode(data).raw_data == sig  # type: ignore[attr-defined]


def test_length_field_must_match_data() -> None:
    logon = p.Logon(
        encrypt_method=0,
        heart_bt_int=30,
        raw_data_length=3,
        raw_data=b"abcd",
        default_appl_ver_id="9",
    )
    with pytest.raises(EncodeError, match=r"RawData\(96\) is 4 bytes but its length field says 3"):
        p.encode(logon, HDR)


def test_equality_repr_replace_and_to_dict() -> None:
    a = nos()
    assert a == nos() and a != nos(price=Decimal("0.56"))
    assert a.replace(price=Decimal("0.56")) == nos(price=Decimal("0.56"))
    assert "cl_ord_id='c-1'" in repr(a) and "None" not in repr(a)
    assert a.to_dict()["symbol"] == "HIGHNY-23DEC31"
    decoded = p.decode(p.encode(a, HDR))
    assert decoded == a
    assert [t for t, _, _ in decoded.items()] == [11, 38, 40, 44, 54, 55]


def _public_fields(obj: object) -> list[str]:
    return [n for n, v in vars(type(obj)).items() if isinstance(v, property)]


@pytest.mark.parametrize("module", [p, m], ids=["prediction", "margin"])
def test_records_are_read_only_through_every_public_attribute(module: object) -> None:
    # constructed and decoded messages, their headers and group entries: every field property
    # refuses assignment, and no new attribute can be added (slots)
    for cls in module.MESSAGES.values():  # type: ignore[attr-defined]
        built = cls()
        for name in _public_fields(built):
            with pytest.raises(AttributeError):
                setattr(built, name, None)
        with pytest.raises(AttributeError):
            built.not_a_field = 1
    snap = p.decode(
        p.encode(
            p.MarketDataSnapshotFullRefresh(
                symbol="S",
                md_entries=[
                    p.MarketDataSnapshotFullRefreshMDEntry(
                        md_entry_type=p.MDEntryType.BID,
                        md_entry_px=Decimal("0.5"),
                        md_entry_size=Decimal("3"),
                        md_entry_date=date(2026, 11, 20),
                        md_entry_time=datetime(2026, 11, 20, 14, 30, tzinfo=timezone.utc).timetz(),
                    )
                ],
            ),
            HDR,
        )
    )
    for rec in (snap, snap.header, snap.md_entries[0]):
        names = _public_fields(rec)
        assert names
        for name in names:
            before = getattr(rec, name)
            with pytest.raises(AttributeError):
                setattr(rec, name, before)
            assert getattr(rec, name) == before


def _permuted_header(frame: bytes, order: tuple[bytes, ...]) -> bytes:
    """``frame`` with its header fields (after 35) written in ``order`` (a permutation)."""
    fields = frame.split(b"\x01")
    head = {f.split(b"=", 1)[0]: f for f in fields[3 : 3 + len(order)]}
    assert set(head) == set(order)
    return b"\x01".join(fields[:3] + [head[t] for t in order] + fields[3 + len(order) :])


def test_the_header_types_alike_in_every_order_of_its_fields() -> None:
    """Kalshi's examples write the header 34, 52, 49, 56; this encoder 49, 56, 34, 52; FIX allows
    any order after 35: every order types the same header, strict and tolerant, and a header
    field given twice still reads its first occurrence."""
    import itertools

    orig = datetime(2026, 11, 20, 14, 29, 59, 500000, tzinfo=timezone.utc)
    hdr = Header(
        sender_comp_id="Kalshi",
        target_comp_id="key-1",
        msg_seq_num=42,
        sending_time=datetime(2026, 11, 20, 14, 30, tzinfo=timezone.utc),
        poss_dup_flag=True,
        orig_sending_time=orig,
    )
    frame = p.encode(p.Heartbeat(test_req_id="t"), hdr)
    tags = (b"49", b"56", b"34", b"52", b"43", b"122")
    want = p.decode(frame).header
    assert want == hdr
    for order in itertools.permutations(tags):
        moved = _permuted_header(frame, order)
        assert checksum(moved[:-7]) == checksum(frame[:-7])
        assert p.decode(moved).header == hdr, order
        tolerant = p.decode(moved, tolerant=True)
        assert tolerant.header == hdr and tolerant.check() == (), order
    # 34 given twice: the first occurrence is the message's (and a defect, tolerant)
    body = frame[frame.index(b"35=") : -7].replace(b"\x0134=42\x01", b"\x0134=42\x0134=7\x01")
    head = b"8=FIXT.1.1\x019=%d\x01" % len(body)
    twice = head + body + b"10=%03d\x01" % checksum(head + body)
    got = p.decode(twice, tolerant=True)
    assert got.header.msg_seq_num == 42
    assert any(d.tag == 34 for d in got.check())


def _snapshot_body(prices: list[str]) -> str:
    levels = "".join(
        f"269={i % 2}|270={px}|271=5.00|272=20261120|273=14:30:00.125|"
        for i, px in enumerate(prices)
    )
    return f"35=W|55=HIGHNY-23DEC31|268={len(prices)}|{levels}"


def test_a_decoded_group_is_a_sequence_typed_as_it_is_read() -> None:
    """Entries are typed up to the one read, the whole group when iterated or measured; the
    sequence compares, slices, indexes and prints like the tuple of its entries."""
    prices = ["0.35", "0.65", "0.36", "0.64"]
    msg = p.decode(frame(_snapshot_body(prices)))
    entries = msg.md_entries
    assert entries is not None
    assert entries[1].md_entry_px == Decimal("0.65")  # entries 0 and 1 typed, 2 and 3 not yet
    whole = tuple(entries)
    assert [e.md_entry_px for e in whole] == [Decimal(x) for x in prices]
    assert whole[1] is entries[1] and whole[0] is entries[0]  # the entries read stay the same
    assert len(entries) == 4 and entries[-1] is whole[3] and entries[1:3] == whole[1:3]
    assert entries == whole and entries == list(whole) and whole == entries
    assert entries != whole[:3] and (entries == "x") is False
    assert repr(entries) == repr(whole)
    assert msg.to_dict()["md_entries"][0]["md_entry_px"] == Decimal("0.35")
    assert p.encode(msg, p.decode(frame(_snapshot_body(prices))).header) == frame(
        _snapshot_body(prices)
    )
    with pytest.raises(IndexError):
        entries[4]
    with pytest.raises(TypeError):
        hash(entries)


def test_entries_read_by_index_in_turn_stay_readable_before_a_later_defect() -> None:
    """Read by index in turn, a group is typed up to as many entries again as are typed (each
    read past them copies them once: linear in all); an entry after the one read that does not
    convert does not stop the read (the walk then types exactly up to it)."""
    prices = ["0.35", "0.65", "0.36", "0.3x", "0.64", "0.37", "0.63", "0.38"]
    msg = p.decode(frame(_snapshot_body(prices)))
    entries = msg.md_entries
    assert entries is not None
    assert [entries[i].md_entry_px for i in range(3)] == [Decimal(x) for x in prices[:3]]
    with pytest.raises(DecodeError) as err:
        entries[3].md_entry_px  # noqa: B018
    assert err.value.tag == 270
    assert entries[7].md_entry_px == Decimal("0.38")
    whole = p.decode(frame(_snapshot_body(["0.35", "0.65"] * 50))).md_entries
    assert whole is not None
    assert [whole[i].md_entry_px for i in range(100)] == [Decimal("0.35"), Decimal("0.65")] * 50


def test_a_group_defect_after_the_entries_read_shows_when_the_group_is_read_in_full() -> None:
    """Entries 0 and 1 read before the group is read in full; there the defect of a later entry
    shows as it did: a value that does not convert when its field is read (strict: the
    DecodeError naming it; tolerant: None and a defect), a missing member when the group is
    iterated (strict) or checked (tolerant)."""
    bad_value = frame(_snapshot_body(["0.35", "0.65", "0.3x", "0.64"]))
    strict = p.decode(bad_value)
    assert strict.md_entries is not None
    assert strict.md_entries[1].md_entry_px == Decimal("0.65")
    third = list(strict.md_entries)[2]
    with pytest.raises(DecodeError) as err:
        third.md_entry_px  # noqa: B018
    assert err.value.tag == 270
    tolerant = p.decode(bad_value, tolerant=True)
    assert tolerant.md_entries is not None and tolerant.md_entries[0].md_entry_px == Decimal("0.35")
    assert [d.tag for d in tolerant.check()] == [270]
    assert [e.md_entry_px for e in tolerant.md_entries] == [
        Decimal("0.35"),
        Decimal("0.65"),
        None,
        Decimal("0.64"),
    ]
    no_size = frame(
        _snapshot_body(["0.35", "0.65", "0.36", "0.64"]).replace("270=0.36|271=5.00|", "270=0.36|")
    )
    strict = p.decode(no_size)
    assert strict.md_entries is not None and strict.md_entries[0].md_entry_px == Decimal("0.35")
    with pytest.raises(DecodeError) as err:
        len(strict.md_entries)
    assert err.value.tag == 271
    tolerant = p.decode(no_size, tolerant=True)
    assert [d.tag for d in tolerant.check()] == [271]
    assert tolerant.md_entries is not None and len(tolerant.md_entries) == 4

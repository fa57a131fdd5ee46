"""RFQ quote prices BidPx/OfferPx (132/133) in the units Kalshi's RFQ pages document.

Exchange -> creator (35=S on KalshiRT): dollars (``132=0.7500``). Market maker side (35=S sent on
KalshiRFQ, 35=AI received there): integer cents ("only the integer part considered"). These
units do not follow UseDollars(21005) unless asked (`rfq_units_for(..., follow_use_dollars=True)`,
the subpenny page's reading). A value with a fraction where integer cents are documented is an
error, never divided by 100.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from kalshi_fix_sansio import DecodeError, EncodeError, Header, LocalProtocolError, margin
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec.errors import PriceUnitError

UTC = timezone.utc
HEADER = Header(
    sender_comp_id="Kalshi",
    target_comp_id="C",
    msg_seq_num=7,
    sending_time=datetime(2026, 9, 24, 14, 30, 5, 123000, tzinfo=UTC),
)
SOH = b"\x01"


def frame(body: bytes) -> bytes:
    """A complete frame around ``body`` (fields separated by '|')."""
    from kalshi_fix_sansio import checksum

    body = body.replace(b"|", SOH)
    head = b"8=FIXT.1.1\x019=%d\x01" % len(body)
    return head + body + b"10=%03d\x01" % checksum(head + body)


HDR = b"49=Kalshi|56=C|34=7|52=20260924-14:30:05.123|"
# the RFQ page's current examples (examples.md section 7)
NOTIFICATION = frame(
    b"35=S|" + HDR + b"117=quote-789|131=server-rfq-456|55=HIGHNY-23DEC31|132=0.7500|"
    b"133=0.2500|38=100|60=20260924-14:30:05.123|453=1|448=quoter-public-id|452=35|"
)
PENDING = frame(
    b"35=AI|" + HDR + b"117=quote-789|131=server-rfq-456|297=10|38=100|132=75|133=25|"
    b"60=20260924-14:30:05.123|"
)
MM_QUOTE = frame(
    b"35=S|" + HDR + b"117=quote-789|131=server-rfq-456|55=HIGHNY-23DEC31|132=75|133=25|"
)


def test_session_types_get_the_documented_units() -> None:
    assert p.rfq_units_for("KalshiRT") == "dollars"
    assert p.rfq_units_for("KalshiRT", use_dollars=True) == "dollars"
    assert p.rfq_units_for("KalshiRFQ") == "cents"
    assert p.rfq_units_for("KalshiRFQ", use_dollars=True) == "cents"  # default: not UseDollars
    assert p.rfq_units_for("KalshiNR") == "cents"  # no RFQ prices travel there
    # the subpenny page's reading, on request
    assert p.rfq_units_for("KalshiRFQ", use_dollars=True, follow_use_dollars=True) == "dollars"
    assert p.rfq_units_for("KalshiRT", use_dollars=False, follow_use_dollars=True) == "cents"
    assert margin.rfq_units_for("KalshiRT") == "cents"  # margin has no RFQ


@pytest.mark.parametrize("use_dollars", [False, True])
def test_creator_notification_reads_dollars_whatever_use_dollars(use_dollars: bool) -> None:
    units = p.rfq_units_for("KalshiRT", use_dollars=use_dollars)
    msg = p.decode(NOTIFICATION, use_dollars=use_dollars, rfq_units=units, verify=True)
    assert isinstance(msg, p.Quote)
    assert msg.validate().bid_px == Decimal("0.75")
    assert msg.offer_px == Decimal("0.25")
    # written back exactly as Kalshi wrote it
    again = p.encode(msg, msg.header, use_dollars=use_dollars, rfq_units=units)
    assert b"\x01132=0.7500\x01133=0.2500\x01" in again


@pytest.mark.parametrize("use_dollars", [False, True])
@pytest.mark.parametrize("raw", [PENDING, MM_QUOTE], ids=["35=AI", "35=S"])
def test_market_maker_side_reads_integer_cents_whatever_use_dollars(
    use_dollars: bool, raw: bytes
) -> None:
    """35=AI ``132=75`` is 75 cents, also on a UseDollars=Y session (it was $75 before)."""
    units = p.rfq_units_for("KalshiRFQ", use_dollars=use_dollars)
    msg = p.decode(raw, use_dollars=use_dollars, rfq_units=units, verify=True).validate()
    assert (msg.bid_px, msg.offer_px) == (Decimal("0.75"), Decimal("0.25"))
    again = p.encode(msg, msg.header, use_dollars=use_dollars, rfq_units=units)
    assert b"\x01132=75\x01133=25\x01" in again


def test_follow_use_dollars_reads_dollars_on_the_market_maker_side() -> None:
    units = p.rfq_units_for("KalshiRFQ", use_dollars=True, follow_use_dollars=True)
    assert units == "dollars"
    msg = p.decode(PENDING, use_dollars=True, rfq_units=units).validate()
    assert msg.bid_px == Decimal(75)  # what the subpenny page's reading implies for "75"


@pytest.mark.parametrize("value", [b"0.7500", b"75.5", b"75.", b".5", b"75.0"])
def test_fraction_in_integer_cents_is_an_error_not_a_division(value: bytes) -> None:
    """The notification's ``132=0.7500`` read on a cents session is refused, never $0.0075."""
    raw = PENDING.replace(b"\x01132=75\x01", b"\x01132=" + value + b"\x01")
    raw = frame(raw[raw.index(b"35=") : raw.rindex(b"10=")])
    msg = p.decode(raw, rfq_units="cents")
    with pytest.raises(
        DecodeError, match=r"BidPx\(132\) has an invalid value.*integer cents"
    ) as ei:
        _ = msg.bid_px
    assert ei.value.tag == 132 and ei.value.reject_reason == 6
    with pytest.raises(DecodeError):
        p.decode(raw, rfq_units="cents").validate()


def test_fraction_in_integer_cents_is_a_defect_when_tolerant() -> None:
    raw = frame(
        b"35=S|" + HDR + b"117=q|131=r|55=X|132=0.7500|133=0.2500|60=20260924-14:30:05.123|"
    )
    msg = p.decode(raw, rfq_units="cents", tolerant=True)
    defects = msg.check()
    assert {d.tag for d in defects} >= {132, 133}
    assert msg.bid_px is None  # not $0.0075
    assert msg.raw_value(132) == b"0.7500"


def test_rfq_units_do_not_touch_other_prices() -> None:
    """Price(44) still follows UseDollars; only 35=S / 35=AI follow rfq_units."""
    order = frame(
        b"35=8|" + HDR + b"37=o|11=c|17=e|150=0|39=0|55=X|54=1|38=1|44=75|151=1|14=0|6=0|"
        b"60=20260924-14:30:05.123|"
    )
    msg = p.decode(order, rfq_units="dollars")
    assert msg.price == Decimal("0.75")


def test_encode_units_per_direction() -> None:
    quote = p.Quote(
        quote_id="q", quote_req_id="r", symbol="X", bid_px=Decimal("0.75"), offer_px=Decimal("0.2")
    )
    cents = p.encode(quote, HEADER, use_dollars=True, rfq_units="cents")
    assert b"\x01132=75\x01133=20\x01" in cents
    dollars = p.encode(quote, HEADER, rfq_units="dollars")
    assert b"\x01132=0.75\x01133=0.2\x01" in dollars
    assert p.decode(dollars, rfq_units="dollars").validate() == quote
    assert p.decode(cents, rfq_units="cents").validate() == quote


def test_subpenny_quote_price_in_integer_cents_is_refused() -> None:
    quote = p.Quote(quote_id="q", quote_req_id="r", symbol="X", bid_px=Decimal("0.755"))
    with pytest.raises(PriceUnitError, match=r"BidPx\(132\).*integer cents.*rfq_units"):
        p.encode(quote, HEADER, use_dollars=True, rfq_units="cents")
    assert b"\x01132=0.755\x01" in p.encode(quote, HEADER, rfq_units="dollars")


def test_bad_rfq_units_argument() -> None:
    with pytest.raises(LocalProtocolError, match="rfq_units must be 'cents' or 'dollars'"):
        p.decode(PENDING, rfq_units="cent")
    with pytest.raises(EncodeError, match="rfq_units must be 'cents' or 'dollars'"):
        p.encode(p.QuoteCancel(quote_id="q"), HEADER, rfq_units="usd")


def test_margin_accepts_rfq_units() -> None:
    hb = frame(b"35=0|" + HDR)
    assert isinstance(margin.decode(hb, rfq_units="dollars"), margin.Heartbeat)
    assert margin.encode(margin.Heartbeat(), HEADER, rfq_units="dollars").startswith(b"8=")


# -- through a Session: the session type picks the units ---------------------------------------


def _session_runner(*config: str):  # type: ignore[no-untyped-def]
    from pathlib import Path

    from scenario_runner import Runner

    r = Runner(Path("inline.scn"))
    r.d_config(list(config))
    r.d_start([])
    rt = "session=KalshiRT" in config
    r.deliver(r.frame("35=A|34=1|98=0|108=30" + ("" if rt else "|141=Y")))
    assert r.session is not None
    list(r.session.events())
    r.session.data_to_send()
    return r


@pytest.mark.parametrize("use_dollars", ["Y", "N"])
def test_session_creator_side_reads_dollars(use_dollars: str) -> None:
    from kalshi_fix_sansio import ApplicationMessage

    r = _session_runner("session=KalshiRT", f"use_dollars={use_dollars}")
    r.deliver(r.frame("35=S|34=2|117=q|131=r|55=X|132=0.7500|133=0.2500|60={now}"))
    (event,) = list(r.session.events())
    assert isinstance(event, ApplicationMessage) and not event.defects
    assert (event.message.bid_px, event.message.offer_px) == (Decimal("0.75"), Decimal("0.25"))  # type: ignore[attr-defined]


@pytest.mark.parametrize("use_dollars", ["Y", "N"])
def test_session_market_maker_side_reads_integer_cents(use_dollars: str) -> None:
    from kalshi_fix_sansio import ApplicationMessage

    r = _session_runner("session=KalshiRFQ", f"use_dollars={use_dollars}")
    r.deliver(r.frame("35=AI|34=2|117=q|131=r|297=10|132=75|133=25"))
    r.deliver(r.frame("35=AI|34=3|117=q|131=r|297=10|132=0.7500|133=25"))
    first, second = list(r.session.events())
    assert isinstance(first, ApplicationMessage) and not first.defects
    assert first.message.bid_px == Decimal("0.75")  # type: ignore[attr-defined]
    assert isinstance(second, ApplicationMessage)  # delivered, the fraction named, not divided
    assert [(d.tag, d.reason) for d in second.defects] == [(132, 6)]
    assert second.message.bid_px is None  # type: ignore[attr-defined]
    quote = p.Quote(
        quote_id="q", quote_req_id="r", symbol="X", bid_px=Decimal("0.75"), offer_px=Decimal("0.25")
    )
    r.session.send(quote, r.now)
    assert b"\x01132=75\x01133=25\x01" in r.session.data_to_send()

"""Request builders (`kalshi_fix_sansio.trading.builders`): the reference's examples, every local rule.

Each builder's message is encoded with its product's dialect and its body fields compared with
the published example (spec/sources/examples.md; the literal is checked to be
there). Every invalid request the reference rules out raises `RequestError` before encoding.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import ModuleType

import pytest
from doc_examples import EXAMPLES_MD
from hypothesis import given
from hypothesis import strategies as st

from kalshi_fix_sansio import Header, LocalProtocolError
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.trading.builders import (
    CLORDID_MAX_LENGTH,
    ClOrdIDGenerator,
    RequestError,
    Requests,
    check_cl_ord_id,
)
from kalshi_fix_sansio.trading.tracker import OrderTracker

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
HEADER_TAGS = {"8", "9", "35", "49", "56", "34", "52", "10"}
GROUP = "770e8400-e29b-41d4-a716-446655440002"
UUID1 = "550e8400-e29b-41d4-a716-446655440000"
DIALECTS: dict[str, ModuleType] = {"prediction": p, "margin": m}


def body(rq: Requests, msg: object, **kw: object) -> list[tuple[str, str]]:
    """The encoded body fields of ``msg`` (header and trailer dropped), in wire order."""
    hdr = Header(sender_comp_id="k", target_comp_id=rq.session_type, msg_seq_num=1, sending_time=T0)
    raw = DIALECTS[rq.product].encode(msg, hdr, use_dollars=rq.use_dollars, **kw)
    pairs = [f.split("=", 1) for f in raw.decode().split("\x01") if f]
    return [(t, v) for t, v in pairs if t not in HEADER_TAGS]


def published(example: str) -> list[tuple[str, str]]:
    """The body fields of a published example (``|`` = SOH), after checking it is published."""
    # the docs wrap long messages over several lines
    assert example in EXAMPLES_MD.read_text(encoding="utf-8").replace("\n", ""), example
    pairs = [f.split("=", 1) for f in example.split("|") if f]
    return [(t, v) for t, v in pairs if t not in HEADER_TAGS]


# -- the reference's examples ------------------------------------------------------------------

NR_ORDER = "11=550e8400-e29b-41d4-a716-446655440000|38=10|40=2|54=1|55=HIGHNY-23DEC31|44=75|59=1|"


def test_new_order_matches_the_prediction_example() -> None:
    rq = Requests("prediction", "KalshiNR")
    order = rq.new_order("HIGHNY-23DEC31", "buy", 10, Decimal("0.75"), cl_ord_id=UUID1)
    assert sorted(body(rq, order)) == sorted(published(NR_ORDER))


def test_new_order_matches_the_margin_example() -> None:
    rq = Requests("margin", "KalshiNR")
    order = rq.new_order("BTC-PERP", "buy", Decimal("10.00"), Decimal("19.5000"), cl_ord_id=UUID1)
    example = "11=550e8400-e29b-41d4-a716-446655440000|38=10.00|40=2|54=1|55=BTC-PERP|44=19.5000|"
    assert sorted(body(rq, order)) == sorted([*published(example), ("59", "1")])


def test_subpenny_order_matches_the_subpenny_example() -> None:
    rq = Requests("prediction", "KalshiNR", use_dollars=True)
    order = rq.new_order("X", "buy", Decimal("100.0"), Decimal("0.7500"), cl_ord_id="o")
    fields = dict(body(rq, order))
    assert {k: fields[k] for k in ("38", "40", "44", "54")} == dict(
        published("38=100.0|40=2|44=0.7500|54=1|")
    )


@pytest.mark.parametrize("product", ["prediction", "margin"])
@pytest.mark.parametrize(
    ("call", "example"),
    [
        (lambda rq: rq.create_order_group(5000), "20131=1|20132=5000|"),
        (lambda rq: rq.reset_order_group(GROUP), f"20131=2|20130={GROUP}|"),
        (lambda rq: rq.delete_order_group(GROUP), f"20131=3|20130={GROUP}|"),
        (lambda rq: rq.trigger_order_group(GROUP), f"20131=4|20130={GROUP}|"),
        (lambda rq: rq.update_order_group_limit(GROUP, 2500), f"20131=5|20130={GROUP}|20132=2500|"),
    ],
    ids=["create", "reset", "delete", "trigger", "update"],
)
def test_order_groups_match_the_examples(product: str, call: object, example: str) -> None:
    rq = Requests(product, "KalshiNR")
    assert body(rq, call(rq)) == published(example)  # type: ignore[operator]


def test_order_group_for_a_subaccount_matches_the_example() -> None:
    rq = Requests("prediction", "KalshiNR")
    assert body(rq, rq.create_order_group(5000, alloc_account=2)) == published(
        "20131=1|20132=5000|79=2|"
    )


@pytest.mark.parametrize(
    ("product", "symbol"), [("prediction", "KXNBAGAME-26MAY25NYKCLE-NYK"), ("margin", "BTC-PERP")]
)
def test_market_data_requests_match_the_examples(product: str, symbol: str) -> None:
    rq = Requests(product, "KalshiMD")
    head = "8=FIXT.1.1|35=V|49=your-api-key|56=KalshiMD|"
    assert body(rq, rq.snapshot([symbol])) == published(f"{head}263=0|146=1|55={symbol}|")
    assert body(rq, rq.subscribe(symbol)) == published(f"{head}263=1|146=1|55={symbol}|")
    assert body(rq, rq.unsubscribe([symbol])) == published(f"{head}263=2|146=1|55={symbol}|")
    assert body(rq, rq.unsubscribe()) == published(f"{head}263=2|")


def test_market_data_request_deduplicates_symbols_in_order() -> None:
    rq = Requests("prediction", "KalshiMD")
    assert body(rq, rq.subscribe(["A", "B", "A"])) == [
        ("263", "1"), ("146", "2"), ("55", "A"), ("55", "B"),
    ]  # fmt: skip


def test_security_status_requests_match_the_examples() -> None:
    rq = Requests("prediction", "KalshiMD")
    head = "8=FIXT.1.1|35=e|49=your-api-key|56=KalshiMD|"
    sym = "KXNBAGAME-26MAY25NYKCLE-NYK"
    assert body(rq, rq.security_status(sym)) == published(f"{head}263=1|55={sym}|")
    assert body(rq, rq.security_status(sym, subscribe=False)) == published(f"{head}263=2|55={sym}|")


@pytest.mark.parametrize(("product", "session"), [("prediction", "KalshiDC"), ("margin", "KalshiDC"),
                                                  ("prediction", "KalshiNR")])  # fmt: skip
def test_event_resend_matches_the_drop_copy_example(product: str, session: str) -> None:
    rq = Requests(product, session)
    msg = rq.event_resend("12345;67890", "12350;67895")
    assert body(rq, msg) == published("8=FIXT.1.1|35=U1|21001=12345;67890|21002=12350;67895|")
    assert body(rq, rq.event_resend("4;7;1")) == [("21001", "4;7;1")]


def test_mass_cancel_cancels_the_session_orders() -> None:
    rq = Requests("prediction", "KalshiNR")
    assert body(rq, rq.mass_cancel("mc-1")) == [("11", "mc-1"), ("530", "6")]


RT = Requests("prediction", "KalshiRT")
RFQ = Requests("prediction", "KalshiRFQ")
MVE = "20180=PARLAY-COLLECTION|20181=2|20182=EVENT1|20183=MKT1|20184=yes|20182=EVENT2|20183=MKT2|20184=no|"
LEGS = [("EVENT1", "MKT1", "yes"), ("EVENT2", "MKT2", "no")]


def test_rfq_creation_matches_the_examples() -> None:
    msg = RT.create_rfq("HIGHNY-23DEC31", order_qty=100, quote_req_id="client-req-123")
    assert body(RT, msg) == published("35=R|131=client-req-123|146=1|55=HIGHNY-23DEC31|38=100|")
    msg = RT.create_rfq(collection="PARLAY-COLLECTION", legs=LEGS, order_qty=100,
                        quote_req_id="client-req-456")  # fmt: skip
    assert body(RT, msg) == published(f"35=R|131=client-req-456|146=1|38=100|{MVE}")
    msg = RT.create_rfq("HIGHNY-23DEC31", order_qty=100, quote_req_id="client-req-124",
                        replace_existing=True)  # fmt: skip
    assert body(RT, msg) == published(
        "35=R|131=client-req-124|146=1|55=HIGHNY-23DEC31|38=100|21016=Y|"
    )
    msg = RT.create_rfq(collection="PARLAY-COLLECTION", legs=LEGS, order_qty=100,
                        quote_req_id="client-req-457", replace_existing=True,
                        party_id="subtrader-uuid")  # fmt: skip
    assert body(RT, msg) == published(
        f"35=R|131=client-req-457|146=1|38=100|21016=Y|453=1|448=subtrader-uuid|452=24|{MVE}"
    )


def test_rfq_flags_go_inside_the_group_and_cash_sizing() -> None:
    msg = RT.create_rfq("M", cash_order_qty=Decimal("25.50"), target_cost_excludes_fees=True,
                        rest_remainder=True, quote_req_id="q")  # fmt: skip
    assert body(RT, msg) == [("131", "q"), ("146", "1"), ("55", "M"), ("152", "25.50"),
                             ("21033", "Y"), ("21015", "Y")]  # fmt: skip


def test_quote_accept_confirm_and_cancels_match_the_examples() -> None:
    quote = RFQ.quote("server-rfq-456", "HIGHNY-23DEC31", bid_px=Decimal("0.75"),
                      offer_px=Decimal("0.25"), quote_id="quote-789")  # fmt: skip
    assert body(RFQ, quote, rfq_units=p.rfq_units_for("KalshiRFQ")) == published(
        "35=S|117=quote-789|131=server-rfq-456|55=HIGHNY-23DEC31|132=75|133=25|"
    )
    accept = RT.accept_quote("quote-789", "buy", order_qty=100, rfq_id="server-rfq-456",
                             cl_ord_id="client-accept-123")  # fmt: skip
    assert body(RT, accept) == published(
        "35=UA|117=quote-789|21023=server-rfq-456|54=1|38=100|11=client-accept-123|"
    )
    confirm = RFQ.confirm_quote("quote-789", "server-rfq-456")
    assert body(RFQ, confirm) == published("35=U7|117=quote-789|21023=server-rfq-456|")
    assert body(RT, RT.cancel_rfq("client-req-123")) == published("35=UE|131=client-req-123|")
    assert body(RT, RT.cancel_rfq(rfq_id="srv")) == [("21023", "srv")]
    assert body(RFQ, RFQ.cancel_quote("quote-789", "r")) == [("117", "quote-789"), ("21023", "r")]


def test_one_sided_post_only_quote() -> None:
    quote = RFQ.quote("r", "M", offer_px=Decimal("0.40"), quote_id="q", post_only=True)
    assert body(RFQ, quote) == [("117", "q"), ("131", "r"), ("55", "M"), ("133", "40"), ("18", "6")]


def test_accepting_a_quote_with_a_new_order_single() -> None:
    nr = Requests("prediction", "KalshiNR")
    order = nr.new_order("M", "sell", 5, Decimal("0.30"), cl_ord_id="a", quote_id="quote-789",
                         rfq_id="server-rfq-456", time_in_force="ioc")  # fmt: skip
    fields = dict(body(nr, order))
    assert fields["117"] == "quote-789" and fields["21023"] == "server-rfq-456"


# -- orders: cancel / replace from an order -----------------------------------------------------


def test_cancel_and_replace_from_a_new_order() -> None:
    rq = Requests("prediction", "KalshiNR")
    expiry = T0 + timedelta(hours=1)
    order = rq.new_order("M", "no", Decimal("2.5"), Decimal("0.40"), cl_ord_id="o1", alloc_account=3,
                         party_id="fcm_cust1", ex_destination=2)  # fmt: skip
    cancel = rq.cancel(order, cl_ord_id="c1")
    assert body(rq, cancel) == [("11", "c1"), ("41", "o1"), ("54", "2"), ("55", "M"),
                                ("100", "2"), ("453", "1"), ("448", "fcm_cust1"), ("452", "24"),
                                ("79", "3")]  # fmt: skip
    repl = rq.replace(order, price=Decimal("0.45"), time_in_force="gtd", expire_time=expiry,
                      cl_ord_id="r1")  # fmt: skip
    fields = dict(body(rq, repl))
    assert fields["41"] == "o1" and fields["44"] == "45" and fields["38"] == "2.5"
    assert fields["59"] == "6" and fields["126"].startswith("20260101-01:00:00")
    keep = dict(body(rq, rq.replace(order, order_qty=Decimal(1), cl_ord_id="r2")))
    assert keep["44"] == "40" and keep["38"] == "1" and "59" not in keep and "126" not in keep


def test_cancel_and_replace_from_an_execution_report() -> None:
    er = p.ExecutionReport(cl_ord_id="o9", order_id="ex-1", side=p.Side.BUY, symbol="M",
                           order_qty=Decimal("10.00"), price=Decimal("0.55"),
                           parties=[p.Party(party_id="fcm_c", party_role=24),
                                    p.Party(party_id="op", party_role=12)])  # fmt: skip
    rq = Requests("prediction", "KalshiRT")
    fields = body(rq, rq.cancel(er, cl_ord_id="c"))
    assert ("37", "ex-1") in fields and ("41", "o9") in fields
    assert ("448", "fcm_c") in fields and ("448", "op") not in fields  # the operator is not resent
    repl = dict(body(rq, rq.replace(er, price=Decimal("0.60"), cl_ord_id="r")))
    assert repl["38"] == "10.00" and repl["44"] == "60" and repl["37"] == "ex-1"


def test_cancel_and_replace_from_a_tracked_order() -> None:
    rq = Requests("prediction", "KalshiNR")
    tracker = OrderTracker()
    tracker.sent(rq.new_order("M", "yes", 5, Decimal("0.40"), cl_ord_id="t1", alloc_account=2))
    tracker.on_message(p.ExecutionReport(cl_ord_id="t1", exec_id="1;1", exec_type=p.ExecType.NEW,
                                         ord_status=p.OrdStatus.NEW, order_id="ex-7", side=p.Side.BUY,
                                         symbol="M", order_qty=Decimal(5), cum_qty=Decimal(0)))  # fmt: skip
    order = tracker.order("t1")
    assert order is not None
    assert body(rq, rq.cancel(order, cl_ord_id="c")) == [("11", "c"), ("37", "ex-7"), ("41", "t1"),
                                                         ("54", "1"), ("55", "M"), ("79", "2")]  # fmt: skip
    repl = dict(body(rq, rq.replace(order, order_qty=3, cl_ord_id="r")))
    assert (repl["38"], repl["44"], repl["79"]) == ("3", "40", "2")
    tracker.on_message(p.ExecutionReport(cl_ord_id="r", orig_cl_ord_id="t1", exec_id="2;1",
                                         exec_type=p.ExecType.REPLACED, ord_status=p.OrdStatus.NEW,
                                         order_id="ex-7", side=p.Side.BUY, symbol="M",
                                         order_qty=Decimal(3), cum_qty=Decimal(0)))  # fmt: skip
    with pytest.raises(RequestError, match=r"35=F OrigClOrdID\(41\): order 't1' is replaced: nothing "
                       r"left to cancel \(it continues as 'r': build from tracker.current\('t1'\)\)"):  # fmt: skip
        rq.cancel(order)
    with pytest.raises(RequestError, match="order 't1' is replaced: nothing left to replace"):
        rq.replace(order, price=Decimal("0.41"))
    assert rq.cancel(tracker.current("t1"), cl_ord_id="c2").orig_cl_ord_id == "r"  # type: ignore[arg-type]


def test_builders_use_the_cl_ord_id_generator() -> None:
    rq = Requests("margin", "KalshiNR", cl_ord_ids=ClOrdIDGenerator("t-", sequential=True))
    order = rq.new_order("BTC-PERP", "sell", 1, Decimal("19.5"))
    assert order.cl_ord_id == "t-1" and rq.cancel(order).cl_ord_id == "t-2"
    default = Requests().mass_cancel().cl_ord_id
    assert default is not None and len(default) == 36  # a UUID


# -- ClOrdID rules ------------------------------------------------------------------------------


@given(st.text(alphabet="abcXYZ019-_:+=/", max_size=30), st.booleans())
def test_generated_cl_ord_ids_meet_kalshis_rules(prefix: str, sequential: bool) -> None:
    if sequential and not prefix:
        with pytest.raises(RequestError, match="prefix"):
            ClOrdIDGenerator(prefix, sequential=True)
        return
    gen = ClOrdIDGenerator(prefix, sequential=sequential)
    ids = [gen() for _ in range(3)]
    assert len(set(ids)) == 3
    for value in ids:
        assert check_cl_ord_id(value) == value and len(value) <= CLORDID_MAX_LENGTH


@pytest.mark.parametrize("bad", ["", "x" * 65, "a b", "é", "a|b", "a;b"])
def test_bad_cl_ord_ids_are_refused(bad: str) -> None:
    with pytest.raises(RequestError, match=r"ClOrdID\(11\)") as err:
        Requests().new_order("M", "buy", 1, Decimal("0.5"), cl_ord_id=bad)
    assert err.value.field == "ClOrdID" and err.value.tag == 11 and err.value.msg_type == "D"
    with pytest.raises(RequestError, match="prefix"):
        ClOrdIDGenerator("x" * 40)


# -- every invalid-request rule -----------------------------------------------------------------

NR = Requests("prediction", "KalshiNR")
NR_DOLLARS = Requests("prediction", "KalshiNR", use_dollars=True)
MNR = Requests("margin", "KalshiNR")
ORDER = NR.new_order("M", "buy", 1, Decimal("0.50"), cl_ord_id="o")
MORDER = MNR.new_order("BTC-PERP", "buy", 1, Decimal("19.5"), cl_ord_id="o")
D = Decimal


@pytest.mark.parametrize(
    ("call", "match"),
    [
        # GTD / ExpireTime
        (lambda: NR.new_order("M", "buy", 1, D("0.5"), time_in_force="gtd"),
         r"ExpireTime\(126\): required when TimeInForce\(59\)=6"),
        (lambda: MNR.new_order("B", "buy", 1, D("1"), time_in_force=p.TimeInForce.GTD),
         r"ExpireTime\(126\): required"),
        (lambda: NR.new_order("M", "buy", 1, D("0.5"), expire_time=T0), r"only with TimeInForce"),
        (lambda: NR.replace(ORDER, expire_time=T0), r"ExpireTime\(126\): only with"),
        (lambda: NR.replace(ORDER, time_in_force="gtd"), r"ExpireTime\(126\): required"),
        (lambda: NR.replace(ORDER, time_in_force="ioc"), r"replace supports only"),
        (lambda: NR.new_order("M", "buy", 1, D("0.5"), time_in_force="x"), r"TimeInForce\(59\)"),
        # prediction prices
        (lambda: NR.new_order("M", "buy", 1, D("0")), r"Price\(44\): prediction prices are 1-99 cents"),
        (lambda: NR.new_order("M", "buy", 1, D("1.00")), r"1-99 cents"),
        (lambda: NR.new_order("M", "buy", 1, D("0.005")), r"1-99 cents"),
        (lambda: NR.new_order("M", "buy", 1, D("0.725")), r"not on the tick of \$0\.01"),
        (lambda: NR.replace(ORDER, price=D("0.995")), r"1-99 cents"),
        (lambda: NR_DOLLARS.new_order("M", "buy", 1, D("1")), r"above \$0 and below \$1"),
        (lambda: NR_DOLLARS.new_order("M", "buy", 1, D("0.00005")), r"tick of \$0\.0001"),
        (lambda: NR_DOLLARS.new_order("M", "buy", 1, D("0.725"), tick=D("0.01")),
         r"tick of \$0\.01"),
        (lambda: NR.new_order("M", "buy", 1, 0.5), r"Decimal in dollars"),  # type: ignore[arg-type]
        (lambda: MNR.new_order("B", "buy", 1, D("19.50005")), r"tick of \$0\.0001"),
        (lambda: MNR.new_order("B", "buy", 1, D("-1")), r"Price\(44\): must be positive"),
        # quantities
        (lambda: MNR.new_order("B", "buy", D("1.5"), D("19.5")),
         r"OrderQty\(38\): margin quantities must be whole"),
        (lambda: MNR.replace(MORDER, order_qty=D("0.5")), r"margin quantities must be whole"),
        (lambda: NR.new_order("M", "buy", 0, D("0.5")), r"OrderQty\(38\): must be positive"),
        (lambda: RT.create_rfq("M", order_qty=D("1.005")), r"multiple of 0\.01"),
        (lambda: RT.accept_quote("q", "buy", order_qty=D("0.001")), r"multiple of 0\.01"),
        # quotes / RFQ on margin
        (lambda: MNR.quote("r", "BTC-PERP", bid_px=D("0.5")), r"not available on margin"),
        (lambda: MNR.create_rfq("BTC-PERP", order_qty=1), r"not available on margin"),
        (lambda: MNR.accept_quote("q", "buy"), r"not available on margin"),
        (lambda: MNR.new_order("B", "buy", 1, D("1"), quote_id="q"), r"QuoteID\(117\)"),
        # session types (spec table)
        (lambda: RT.mass_cancel(), r"OrderMassCancelRequest is not carried by prediction KalshiRT.*KalshiNR"),
        (lambda: NR.subscribe("M"), r"MarketDataRequest is not carried.*KalshiMD"),
        (lambda: RT.quote("r", "M", bid_px=D("0.5")), r"Quote is not carried.*KalshiRFQ"),
        (lambda: RFQ.create_rfq("M", order_qty=1), r"QuoteRequest is not carried.*KalshiRT"),
        (lambda: NR.accept_quote("q", "buy"), r"AcceptQuote is not carried.*KalshiRT"),
        (lambda: Requests("margin", "KalshiMD").security_status("B"),
         r"SecurityStatusRequest is not carried by margin KalshiMD.*no margin session"),
        (lambda: RT.event_resend("1;2"), r"EventResendRequest is not carried.*KalshiDC"),
        (lambda: Requests("prediction", "KalshiDC").new_order("M", "buy", 1, D("0.5")),
         r"NewOrderSingle is not carried by prediction KalshiDC"),
        (lambda: Requests("prediction", "KalshiPT").cancel(ORDER), r"not carried"),
        (lambda: Requests("prediction", "KalshiNR", listener=True).new_order("M", "buy", 1, D("0.5")),
         r"listener session"),
        # order groups
        (lambda: NR.create_order_group(0), r"OrderGroupContractsLimit\(20132\): an integer 1-1,000,000"),
        (lambda: NR.update_order_group_limit(GROUP, 1_000_001), r"1-1,000,000"),
        (lambda: NR.reset_order_group("not-a-uuid"), r"OrderGroupID\(20130\): must be a UUID"),
        (lambda: MNR.create_order_group(5, alloc_account=1), r"not documented on margin"),
        (lambda: NR.create_order_group(5, alloc_account=64), r"AllocAccount\(79\): a subaccount number 0-63"),
        (lambda: NR.new_order("M", "buy", 1, D("0.5"), order_group_id="g"), r"SecondaryClOrdID\(526\)"),
        # drop copy ranges
        (lambda: Requests("prediction", "KalshiDC").event_resend("4;7;1", "5;1;2"), r"same exchange index"),
        (lambda: Requests("prediction", "KalshiDC").event_resend("4;7", "4;6"), r"must not come before"),
        (lambda: Requests("prediction", "KalshiDC").event_resend("-1;-1"), r"BeginExecID\(21001\)"),
        (lambda: Requests("margin", "KalshiDC").event_resend("1;2", "x"), r"EndExecID\(21002\)"),
        # market data
        (lambda: Requests("prediction", "KalshiMD").subscribe([]), r"at least one symbol"),
        (lambda: Requests("prediction", "KalshiMD").snapshot([str(i) for i in range(1001)]),
         r"at most 1000 unique symbols"),
        (lambda: Requests("prediction", "KalshiMD").subscribe([""]), r"Symbol\(55\)"),
        # RFQ shape
        (lambda: RT.create_rfq("M", collection="C", legs=LEGS, order_qty=1), r"either a symbol"),
        (lambda: RT.create_rfq(collection="C", order_qty=1), r"NoMultivariateSelectedLegs"),
        (lambda: RT.create_rfq("M"), r"exactly one of OrderQty\(38\) and CashOrderQty\(152\)"),
        (lambda: RT.create_rfq("M", order_qty=1, target_cost_excludes_fees=True),
         r"TargetCostExcludesFees\(21033\): only with CashOrderQty"),
        (lambda: RT.create_rfq(collection="C", legs=[("E", "M", "maybe")], order_qty=1),
         r"MultivariateSelectedSide"),
        (lambda: RFQ.quote("r", "M"), r"quote at least one side"),
        (lambda: RFQ.quote("r", "M", bid_px=D("0.755")), r"BidPx\(132\): quote prices are whole cents"),
        (lambda: RFQ.quote("r", "M", offer_px=D("1")), r"OfferPx\(133\)"),
        (lambda: RT.cancel_rfq(), r"QuoteReqID\(131\): required unless RfqId"),
        # order shape
        (lambda: NR.new_order("M", "buy", 1, D("0.5"), reduce_only=True), r"reduce-only \(E\) needs TimeInForce IOC"),
        (lambda: NR.new_order("M", "buy", 1, D("0.5"), reduce_only=True, time_in_force="fok"), r"IOC"),
        (lambda: NR.new_order("M", "up", 1, D("0.5")), r"Side\(54\)"),
        (lambda: NR.new_order("M", "buy", 1, D("0.5"), ex_destination=-2), r"ExDestination\(100\)"),
        (lambda: NR.new_order("M", "buy", 1, D("0.5"), rfq_id="r"), r"RfqId\(21023\): only with QuoteID"),
        (lambda: MNR.new_order("B", "buy", 1, D("1"), ex_destination=1), r"not available on margin"),
        (lambda: NR.cancel(p.NewOrderSingle(symbol="M", side="1")), r"OrigClOrdID\(41\)"),
        (lambda: NR.cancel(p.NewOrderSingle(cl_ord_id="o")), r"Symbol and Side"),
        (lambda: Requests("prediction", "KalshiXX"), r"unknown product/session type"),
    ],
)  # fmt: skip
def test_invalid_requests_are_refused_locally(call: object, match: str) -> None:
    with pytest.raises(RequestError, match=match) as err:
        call()  # type: ignore[operator]
    assert isinstance(err.value, LocalProtocolError)
    assert err.value.rule and str(err.value).startswith("35=")


def test_reduce_only_on_margin_allows_fok() -> None:
    order = MNR.new_order("B", "sell", 1, D("1"), reduce_only=True, time_in_force="fok")
    assert order.exec_inst == m.ExecInst.REDUCE_ONLY


def test_valid_edge_prices() -> None:
    for px in ("0.01", "0.99"):
        assert NR.new_order("M", "buy", 1, D(px)).price == D(px)
    for px in ("0.0001", "0.9999", "0.0123", "0.725"):
        assert NR_DOLLARS.new_order("M", "buy", 1, D(px)).price == D(px)
    assert NR.new_order("M", "buy", D("0.25"), D("0.5")).order_qty == D("0.25")  # fractional ok


def test_the_docs_page_examples_run() -> None:
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "docs" / "builders.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    assert blocks
    for i, code in enumerate(blocks, 1):
        exec(compile(code, f"docs/builders.md#{i}", "exec"), {"__name__": "builders_md"})

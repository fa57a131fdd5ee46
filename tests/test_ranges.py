"""Kalshi's value ranges on every send path: one table from ``spec/ranges.yaml``.

Every bad value of issue 23 is refused locally, through raw ``Session.send`` (initiator) and
through ``Requests``, on both products, before anything is encoded, sequenced or stored; good
boundary values go through; the error names the message type, tag, value, rule and the rule's
spec file:line; and each rule's line in the YAML is really where the rule is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from kalshi_fix_sansio import LocalProtocolError
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec.ranges import VALUE_RULES, ValueRangeError, check_values, rules_for
from kalshi_fix_sansio.session.events import ApplicationMessage
from kalshi_fix_sansio.simulator.testing import SessionPair
from kalshi_fix_sansio.trading.builders import RequestError, Requests

D = Decimal
ROOT = Path(__file__).resolve().parent.parent
NOW = 1_800_000_000.0


def dialect(product: str) -> Any:
    return p if product == "prediction" else m


def nos(product: str, **changes: Any) -> Any:
    d = dialect(product)
    fields: dict[str, Any] = {
        "cl_ord_id": "o-1",
        "side": d.Side.BUY,
        "order_qty": D(1),
        "ord_type": d.OrdType.LIMIT,
        "price": D("0.50") if product == "prediction" else D("19.5"),
        "symbol": "M" if product == "prediction" else "BTC-PERP",
    }
    fields.update(changes)
    return d.NewOrderSingle(**fields)


def replace(product: str, **changes: Any) -> Any:
    d = dialect(product)
    fields: dict[str, Any] = {
        "cl_ord_id": "o-2",
        "orig_cl_ord_id": "o-1",
        "side": d.Side.BUY,
        "order_qty": D(2),
        "ord_type": d.OrdType.LIMIT,
        "symbol": "M" if product == "prediction" else "BTC-PERP",
    }
    fields.update(changes)
    return d.OrderCancelReplaceRequest(**fields)


def logged_on(product: str, session_type: str = "KalshiNR", **options: object) -> SessionPair:
    pair = SessionPair.kalshi(product, session_type, now=NOW, **options)
    pair.start()
    return pair


# (product, message factory, tag, rule text) -- every bad value of issue 23, and more
LONG = "x" * 10_000
BAD: list[tuple[str, Callable[[], Any], int, str]] = [
    # prediction prices: negative, zero, >= 1.00, 1E+30, off the cent
    ("prediction", lambda: nos("prediction", price=D("-0.5")), 44, "1-99 cents"),
    ("prediction", lambda: nos("prediction", price=D(0)), 44, "1-99 cents"),
    ("prediction", lambda: nos("prediction", price=D("1.00")), 44, "1-99 cents"),
    ("prediction", lambda: nos("prediction", price=D("1.5")), 44, "1-99 cents"),
    ("prediction", lambda: nos("prediction", price=D("1E+30")), 44, "1-99 cents"),
    ("prediction", lambda: nos("prediction", price=D("0.555")), 44, r"tick of \$0\.01"),
    ("prediction", lambda: nos("prediction", price=D("NaN")), 44, "1-99 cents"),
    ("prediction", lambda: replace("prediction", price=D("0.995")), 44, "1-99 cents"),
    # margin prices
    ("margin", lambda: nos("margin", price=D("-1")), 44, "must be positive"),
    ("margin", lambda: nos("margin", price=D(0)), 44, "must be positive"),
    ("margin", lambda: nos("margin", price=D("19.50005")), 44, r"tick of \$0\.0001"),
    # quantities: 0, -5, 1E+12, 1.555 (prediction), fractional (margin)
    ("prediction", lambda: nos("prediction", order_qty=D(0)), 38, "must be positive"),
    ("prediction", lambda: nos("prediction", order_qty=D(-5)), 38, "must be positive"),
    ("prediction", lambda: nos("prediction", order_qty=D("1E+12")), 38, "at most 100,000,000"),
    ("prediction", lambda: nos("prediction", order_qty=D("1.555")), 38, r"multiple of 0\.01"),
    ("prediction", lambda: replace("prediction", order_qty=D("1.555")), 38, r"multiple of 0\.01"),
    ("margin", lambda: nos("margin", order_qty=D(0)), 38, "must be positive"),
    ("margin", lambda: nos("margin", order_qty=D(-5)), 38, "must be positive"),
    ("margin", lambda: nos("margin", order_qty=D("1E+12")), 38, "at most 100,000,000"),
    ("margin", lambda: nos("margin", order_qty=D("1.5")), 38, "whole numbers"),
    ("margin", lambda: replace("margin", order_qty=D("0.5")), 38, "whole numbers"),
    # ClOrdIDs: 10,000 characters, 65, empty, a character outside the pattern
    ("prediction", lambda: nos("prediction", cl_ord_id=LONG), 11, "1 to 64 characters"),
    ("margin", lambda: nos("margin", cl_ord_id=LONG), 11, "1 to 64 characters"),
    ("prediction", lambda: nos("prediction", cl_ord_id="x" * 65), 11, "1 to 64 characters"),
    ("margin", lambda: nos("margin", cl_ord_id=""), 11, "1 to 64 characters"),
    ("prediction", lambda: nos("prediction", cl_ord_id="a b"), 11, "only letters, digits"),
    ("margin", lambda: replace("margin", orig_cl_ord_id=LONG), 41, "1 to 64 characters"),
    ("prediction", lambda: p.OrderCancelRequest(cl_ord_id="é", orig_cl_ord_id="o-1",
                                                side=p.Side.BUY, symbol="M"), 11, "only letters"),
    ("margin", lambda: m.OrderMassCancelRequest(cl_ord_id=LONG,
                                                mass_cancel_request_type=m.MassCancelRequestType("6")),
     11, "1 to 64 characters"),
    # accounts, routing, order groups, time in force
    ("prediction", lambda: nos("prediction", alloc_account=64), 79, "a subaccount number 0-63"),
    ("margin", lambda: nos("margin", alloc_account=-1), 79, "a subaccount number 0-63"),
    ("prediction", lambda: nos("prediction", ex_destination=-2), 100, "auto-route"),
    ("prediction", lambda: p.OrderGroupRequest(order_group_action=p.OrderGroupAction(1),
                                               order_group_contracts_limit=0), 20132, "1-1,000,000"),
    ("margin", lambda: m.OrderGroupRequest(order_group_action=m.OrderGroupAction(1),
                                           order_group_contracts_limit=1_000_001), 20132, "1-1,000,000"),
    ("prediction", lambda: replace("prediction", time_in_force=p.TimeInForce("3")),
     59, "a replace supports only"),
    ("margin", lambda: replace("margin", time_in_force=m.TimeInForce("6"),
                               expire_time=datetime(2020, 1, 1, tzinfo=timezone.utc)),
     126, "must be in the future"),
]  # fmt: skip


@pytest.mark.parametrize(("product", "make", "tag", "says"), BAD)
def test_raw_send_refuses_bad_values_before_anything_is_sent(
    product: str, make: Callable[[], Any], tag: int, says: str
) -> None:
    pair = logged_on(product)
    client = pair.client.session
    before = client.next_sender_seq
    with pytest.raises(ValueRangeError, match=says) as err:
        client.send(make(), pair.now)
    assert isinstance(err.value, RequestError) and isinstance(err.value, LocalProtocolError)
    assert err.value.tag == tag
    assert client.data_to_send() == b""
    assert client.next_sender_seq == before
    pair.pump()
    assert not [e for e in pair.server.events if isinstance(e, ApplicationMessage)]


@pytest.mark.parametrize(("product", "make", "tag", "says"), BAD)
def test_check_values_refuses_the_same(
    product: str, make: Callable[[], Any], tag: int, says: str
) -> None:
    with pytest.raises(ValueRangeError, match=says):
        check_values(make(), product=product, now=NOW)


def test_the_error_names_type_tag_value_rule_and_spec_line() -> None:
    with pytest.raises(ValueRangeError) as err:
        check_values(nos("prediction", price=D("1.5")), product="prediction")
    e = err.value
    text = str(e)
    assert text.startswith("35=D Price(44): prediction prices are 1-99 cents ($0.01-$0.99) (")
    assert "NewOrderSingle got 1.5" in text
    assert re.search(r"rule spec/ranges\.yaml:\d+, from order-entry\.md §1", text)
    assert (e.msg_type, e.field, e.tag, e.value) == ("D", "Price", 44, D("1.5"))
    assert e.where == e.value_rule.where and e.where.startswith("spec/ranges.yaml:")
    assert e.rule == e.value_rule.says


def test_a_long_cl_ord_id_is_shown_cut_short() -> None:
    with pytest.raises(ValueRangeError) as err:
        check_values(nos("margin", cl_ord_id=LONG), product="margin")
    assert "(10000 characters)" in str(err.value) and len(str(err.value)) < 400


def test_a_library_decision_says_so() -> None:
    with pytest.raises(ValueRangeError, match="a library decision, Kalshi states none"):
        check_values(nos("prediction", order_qty=D("1.555")), product="prediction")


GOOD: list[tuple[str, bool, Callable[[], Any]]] = [
    ("prediction", False, lambda: nos("prediction", price=D("0.01"))),
    ("prediction", False, lambda: nos("prediction", price=D("0.99"))),
    ("prediction", False, lambda: nos("prediction", price=D("0.5000"))),
    ("prediction", True, lambda: nos("prediction", price=D("0.0001"))),
    ("prediction", True, lambda: nos("prediction", price=D("0.9999"))),
    ("prediction", True, lambda: nos("prediction", price=D("0.725"))),
    ("prediction", False, lambda: nos("prediction", order_qty=D("0.01"))),
    ("prediction", False, lambda: nos("prediction", order_qty=D("1.50"))),
    ("prediction", False, lambda: nos("prediction", order_qty=D(100_000_000))),
    ("prediction", False, lambda: nos("prediction", cl_ord_id="a" * 64)),
    ("prediction", False, lambda: nos("prediction", cl_ord_id="A-z_0:+=/9")),
    ("prediction", False, lambda: nos("prediction", alloc_account=0, ex_destination=-1)),
    ("prediction", False, lambda: nos("prediction", alloc_account=63, ex_destination=3)),
    ("margin", True, lambda: nos("margin", price=D("0.0001"))),
    ("margin", True, lambda: nos("margin", price=D("123456.7891"))),
    ("margin", True, lambda: nos("margin", order_qty=D("5.00"))),
    ("margin", True, lambda: nos("margin", order_qty=D(100_000_000))),
    ("margin", True, lambda: replace("margin", time_in_force=m.TimeInForce("6"),
                                     expire_time=datetime(2030, 1, 1, tzinfo=timezone.utc))),
    ("prediction", False, lambda: replace("prediction", price=D("0.42"),
                                          time_in_force=p.TimeInForce("1"))),
]  # fmt: skip


@pytest.mark.parametrize(("product", "use_dollars", "make"), GOOD)
def test_good_boundary_values_go_on_the_wire(
    product: str, use_dollars: bool, make: Callable[[], Any]
) -> None:
    pair = logged_on(product, use_dollars=use_dollars)
    message = make()
    client = pair.client.session
    seq = client.send(message, pair.now)
    assert seq == 2 and client.data_to_send()


def test_use_dollars_picks_the_dollar_rules() -> None:
    order = nos("prediction", price=D("0.725"))
    with pytest.raises(ValueRangeError, match=r"tick of \$0\.01"):
        check_values(order, product="prediction")
    check_values(order, product="prediction", use_dollars=True)
    with pytest.raises(ValueRangeError, match=r"above \$0 and below \$1"):
        check_values(nos("prediction", price=D(1)), product="prediction", use_dollars=True)


def test_the_acceptor_is_not_checked() -> None:
    """The mock gateway's side sends what it is told (it rejects like Kalshi on receipt)."""
    pair = logged_on("prediction")
    report = p.ExecutionReport(
        order_id="x", cl_ord_id="c" * 100, exec_id="1;1", exec_type=p.ExecType.NEW,
        ord_status=p.OrdStatus.NEW, side=p.Side.BUY, symbol="M", order_qty=D(0),
        cum_qty=D(0), leaves_qty=D(0), avg_px=D(0),
    )  # fmt: skip
    check_values(report, product="prediction")  # no rule names a report
    pair.server.session.send(report, pair.now)


def test_a_message_no_rule_names_costs_nothing() -> None:
    check_values(p.MarketDataRequest(subscription_request_type=p.SubscriptionRequestType("2")),
                 product="prediction")  # fmt: skip


# -- Requests uses the same table -------------------------------------------------------------

NR = Requests("prediction", "KalshiNR")
MNR = Requests("margin", "KalshiNR")
ORDER = NR.new_order("M", "buy", 1, D("0.50"), cl_ord_id="o")
MORDER = MNR.new_order("BTC-PERP", "buy", 1, D("19.5"), cl_ord_id="o")

REQUESTS: list[tuple[Callable[[], Any], int, str]] = [
    (lambda: NR.new_order("M", "buy", 1, D("-0.5")), 44, "1-99 cents"),
    (lambda: NR.new_order("M", "buy", 1, D(0)), 44, "1-99 cents"),
    (lambda: NR.new_order("M", "buy", 1, D("1.00")), 44, "1-99 cents"),
    (lambda: NR.new_order("M", "buy", 1, D("1E+30")), 44, "1-99 cents"),
    (lambda: NR.new_order("M", "buy", 0, D("0.5")), 38, "must be positive"),
    (lambda: NR.new_order("M", "buy", -5, D("0.5")), 38, "must be positive"),
    (lambda: NR.new_order("M", "buy", D("1E+12"), D("0.5")), 38, "at most 100,000,000"),
    (lambda: NR.new_order("M", "buy", D("1.555"), D("0.5")), 38, r"multiple of 0\.01"),
    (lambda: NR.replace(ORDER, order_qty=D("1.555")), 38, r"multiple of 0\.01"),
    (lambda: NR.new_order("M", "buy", 1, D("0.5"), cl_ord_id=LONG), 11, "1 to 64 characters"),
    (lambda: MNR.new_order("B", "buy", 0, D("19.5")), 38, "must be positive"),
    (lambda: MNR.new_order("B", "buy", -5, D("19.5")), 38, "must be positive"),
    (lambda: MNR.new_order("B", "buy", D("1E+12"), D("19.5")), 38, "at most 100,000,000"),
    (lambda: MNR.new_order("B", "buy", D("1.555"), D("19.5")), 38, "whole numbers"),
    (lambda: MNR.new_order("B", "buy", 1, D("-1")), 44, "must be positive"),
    (lambda: MNR.replace(MORDER, order_qty=D("2.5")), 38, "whole numbers"),
    (lambda: MNR.new_order("B", "buy", 1, D("19.5"), cl_ord_id=LONG), 11, "1 to 64 characters"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "tag", "says"), REQUESTS)
def test_requests_refuse_the_same_values(call: Callable[[], Any], tag: int, says: str) -> None:
    with pytest.raises(ValueRangeError, match=says) as err:
        call()
    assert err.value.tag == tag and str(err.value).startswith("35=")
    assert "spec/ranges.yaml:" in str(err.value)


def test_requests_and_session_share_the_rule() -> None:
    with pytest.raises(ValueRangeError) as built:
        NR.new_order("M", "buy", D("1.555"), D("0.5"))
    with pytest.raises(ValueRangeError) as sent:
        logged_on("prediction").client.session.send(nos("prediction", order_qty=D("1.555")), NOW)
    assert built.value.value_rule is sent.value.value_rule


# -- the table comes from the spec -----------------------------------------------------------


def test_every_rule_points_at_its_line_in_the_yaml() -> None:
    text = (ROOT / "spec" / "ranges.yaml").read_text(encoding="utf-8").splitlines()
    raw = yaml.safe_load((ROOT / "spec" / "ranges.yaml").read_text(encoding="utf-8"))["rules"]
    assert len(raw) == len(VALUE_RULES) > 20
    for rule, entry in zip(VALUE_RULES, raw, strict=True):
        path, _, line = rule.where.partition(":")
        assert path == "spec/ranges.yaml"
        assert text[int(line) - 1].strip() == f"- field: {rule.field}"
        assert (entry["field"], entry["says"], entry["source"]) == (
            rule.field,
            rule.says,
            rule.source,
        )
        assert rule.paths and all(mt in entry["messages"] for _, mt, _ in rule.paths)


def test_rules_cover_both_products_and_every_order_message() -> None:
    for product in ("prediction", "margin"):
        for mt in ("D", "G"):
            assert {r.check for r in rules_for("Price", mt, product)} == {"range", "tick"}
            assert {r.check for r in rules_for("OrderQty", mt, product)} == {"range", "tick"}
        for mt in ("D", "F", "G", "q"):
            assert {r.check for r in rules_for("ClOrdID", mt, product)} == {"length", "pattern"}

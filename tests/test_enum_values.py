# private: forgets the value checks' remembered plans (`ranges._PLANS`)
"""Enumerated fields of the messages a client sends carry only Kalshi's values.

Every enumerated field (a ``values:`` list in ``spec/fields.yaml``) of an application message
a client sends gets a membership rule (`ENUM_RULES`), per product, applied by `check_values`
and so by an initiator's ``Session.send``: Side(54)=7 or OrdType(40)=9 is refused with the
field, the message and the spec line named, before anything is encoded, sequenced or sent. The
generated enum members and their raw text both pass. Each case below pairs what passes with
what is refused, so that removing the rule fails it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_ranges import nos, replace

from kalshi_fix_sansio import LocalProtocolError
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec import ranges
from kalshi_fix_sansio.codec.ranges import (
    ENUM_RULES,
    ValueRangeError,
    check_value,
    check_values,
    rules_for,
)
from kalshi_fix_sansio.session.events import ApplicationMessage
from kalshi_fix_sansio.simulator.testing import SessionPair

D = Decimal
ROOT = Path(__file__).resolve().parent.parent
NOW = 1_800_000_000.0
PRODUCTS = ("prediction", "margin")
UUID = "550e8400-e29b-41d4-a716-446655440000"


def dialect(product: str) -> Any:
    return p if product == "prediction" else m


def cancel(product: str, **changes: Any) -> Any:
    d = dialect(product)
    fields: dict[str, Any] = {
        "cl_ord_id": "o-3",
        "orig_cl_ord_id": "o-1",
        "side": d.Side.SELL,
        "symbol": "M" if product == "prediction" else "BTC-PERP",
    }
    fields.update(changes)
    return d.OrderCancelRequest(**fields)


def logged_on(product: str) -> SessionPair:
    pair = SessionPair.kalshi(product, "KalshiNR", now=NOW)
    pair.start()
    return pair


def refused(message: Any, product: str) -> ValueRangeError:
    with pytest.raises(ValueRangeError) as err:
        check_values(message, product=product)
    return err.value


MAKERS = {"D": nos, "G": replace, "F": cancel}
NAMES = {"D": "NewOrderSingle", "G": "OrderCancelReplaceRequest", "F": "OrderCancelRequest"}

# (msg type, attribute, field, tag, valid raw values, an unlisted raw value)
ORDER_ENUMS: list[tuple[str, str, str, int, tuple[str, ...], str]] = [
    ("D", "side", "Side", 54, ("1", "2"), "7"),
    ("D", "ord_type", "OrdType", 40, ("2",), "9"),
    ("D", "exec_inst", "ExecInst", 18, ("6", "E"), "X"),
    ("G", "side", "Side", 54, ("1", "2"), "7"),
    ("G", "ord_type", "OrdType", 40, ("2",), "9"),
    ("F", "side", "Side", 54, ("1", "2"), "3"),
]


# -- check_values ------------------------------------------------------------------------------


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize(("mt", "attr", "field", "tag", "good", "bad"), ORDER_ENUMS)
def test_order_enums_pass_members_and_raw_text_and_refuse_the_rest(
    product: str, mt: str, attr: str, field: str, tag: int, good: tuple[str, ...], bad: str
) -> None:
    make = MAKERS[mt]
    enum = getattr(dialect(product), field)
    for value in good:
        check_values(make(product, **{attr: value}), product=product)  # raw text
        check_values(make(product, **{attr: enum(value)}), product=product)  # the member
    err = refused(make(product, **{attr: bad}), product)
    assert (err.msg_type, err.field, err.tag, err.value) == (mt, field, tag, bad)
    assert err.message_name == NAMES[mt]
    assert str(err).startswith(f"35={mt} {field}({tag}): not one of Kalshi's values: ")
    assert f"({NAMES[mt]} got {bad!r}; rule spec/fields.yaml:" in str(err)


def test_the_reported_case_is_refused() -> None:
    """Side 7 and OrdType 9 together: refused, naming the first bad field in the spec's order
    (OrdType(40) comes before Side(54) in fields.yaml and in NewOrderSingle's members)."""
    order = p.NewOrderSingle(
        cl_ord_id=UUID, side="7", order_qty=D(10), ord_type="9", price=D("0.55"), symbol="X"
    )
    with pytest.raises(ValueRangeError) as err:
        check_values(order, product="prediction")
    assert (err.value.field, err.value.tag, err.value.value) == ("OrdType", 40, "9")
    only_side = p.NewOrderSingle(
        cl_ord_id=UUID, side="7", order_qty=D(10), ord_type="2", price=D("0.55"), symbol="X"
    )
    with pytest.raises(ValueRangeError) as err:
        check_values(only_side, product="prediction")
    assert (err.value.field, err.value.tag, err.value.value) == ("Side", 54, "7")


def test_the_error_names_the_field_message_values_and_spec_line() -> None:
    e = refused(nos("margin", side="7"), "margin")
    text = str(e)
    assert text.startswith(
        "35=D Side(54): not one of Kalshi's values: 1 (BUY), 2 (SELL) (NewOrderSingle got '7'; "
        "rule spec/fields.yaml:"
    )
    assert isinstance(e, LocalProtocolError)
    path, _, line = e.where.partition(":")
    assert path == "spec/fields.yaml" and e.where == e.value_rule.where
    # the line is the `values:` of Side(54) in fields.yaml
    lines = (ROOT / "spec" / "fields.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[int(line) - 1].strip() == "values:"
    above = [x.strip() for x in lines[: int(line) - 1] if x.strip().startswith("- tag:")]
    assert above[-1] == "- tag: 54"
    assert re.search(
        r"rule spec/fields\.yaml:\d+, from Kalshi's documented values of Side\(54\)", text
    )


def test_a_multi_value_exec_inst_with_a_bad_member_is_refused() -> None:
    """ExecInst(18) is CHAR in the spec (one value); any space-separated list with an unlisted
    member is refused whichever way the type is read."""
    for product in PRODUCTS:
        check_values(nos(product, exec_inst="6"), product=product)
        for bad in ("6 X", "X 6", "E Z"):
            e = refused(nos(product, exec_inst=bad), product)
            assert (e.field, e.tag, e.value) == ("ExecInst", 18, bad)


def test_a_multiple_value_type_checks_each_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were ExecInst typed MULTIPLEVALUESTRING (as Kalshi's XML dictionary has it), each of its
    space-separated values would be checked: 6 E passes, 6 X does not."""
    fields = ranges.FIELDS  # the generated field table the checks read types from
    monkeypatch.setitem(fields, 18, fields[18]._replace(type="MULTIPLEVALUESTRING"))
    monkeypatch.setattr(ranges, "_PLANS", {})
    for product in PRODUCTS:
        for good in ("6", "E", "6 E", "E 6"):
            check_values(nos(product, exec_inst=good), product=product)
        check_values(nos(product, exec_inst=dialect(product).ExecInst.POST_ONLY), product=product)
        for bad in ("6 X", "X", "6  E", ""):
            e = refused(nos(product, exec_inst=bad), product)
            assert (e.field, e.tag, e.value) == ("ExecInst", 18, bad)
            with pytest.raises(ValueRangeError):
                check_value("D", "ExecInst", bad, product=product)


def test_values_are_per_product() -> None:
    """PartyRole(452)=35 (liquidity provider) exists on prediction only."""
    check_values(nos("prediction", parties=[p.Party(party_id="x", party_role=35)]),
                 product="prediction")  # fmt: skip
    check_values(nos("prediction", parties=[p.Party(party_id="x", party_role=p.PartyRole(35))]),
                 product="prediction")  # fmt: skip
    check_values(nos("margin", parties=[m.Party(party_id="x", party_role=m.PartyRole(24))]),
                 product="margin")  # fmt: skip
    e = refused(nos("margin", parties=[m.Party(party_id="x", party_role=35)]), "margin")
    assert (e.field, e.tag, e.value) == ("PartyRole", 452, 35)
    assert "not one of Kalshi's margin values: 12 (EXECUTING_TRADER), 24 (CUSTOMER_ACCOUNT)" in (
        str(e)
    )
    e = refused(replace("prediction", parties=[p.Party(party_id="x", party_role=7)]),
                "prediction")  # fmt: skip
    assert (e.msg_type, e.field, e.value) == ("G", "PartyRole", 7)


# other messages and integer enums: (product, good, bad, msg type, tag)
OTHERS: list[tuple[str, Callable[[], Any], Callable[[], Any], str, int]] = [
    ("prediction", lambda: nos("prediction", self_trade_prevention_type=2),
     lambda: nos("prediction", self_trade_prevention_type=3), "D", 2964),
    ("margin", lambda: nos("margin", self_trade_prevention_type=m.SelfTradePreventionType(1)),
     lambda: nos("margin", self_trade_prevention_type=True), "D", 2964),
    ("prediction", lambda: p.OrderMassCancelRequest(cl_ord_id="m", mass_cancel_request_type="6"),
     lambda: p.OrderMassCancelRequest(cl_ord_id="m", mass_cancel_request_type="1"), "q", 530),
    ("margin", lambda: m.OrderGroupRequest(order_group_action=m.OrderGroupAction(3),
                                           order_group_id="g"),
     lambda: m.OrderGroupRequest(order_group_action=9, order_group_id="g"), "UOG", 20131),
    ("prediction", lambda: p.MarketDataRequest(subscription_request_type="2"),
     lambda: p.MarketDataRequest(subscription_request_type="5"), "V", 263),
]  # fmt: skip


@pytest.mark.parametrize(("product", "good", "bad", "mt", "tag"), OTHERS)
def test_other_messages_and_integer_enums(
    product: str, good: Callable[[], Any], bad: Callable[[], Any], mt: str, tag: int
) -> None:
    check_values(good(), product=product)
    e = refused(bad(), product)
    assert (e.msg_type, e.tag) == (mt, tag)


# -- Session.send ------------------------------------------------------------------------------


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize(
    ("make", "tag"),
    [
        (lambda product: nos(product, side="7"), 54),
        (lambda product: nos(product, ord_type="9"), 40),
        (lambda product: replace(product, side="7"), 54),
        (lambda product: replace(product, ord_type="1"), 40),
        (lambda product: cancel(product, side="3"), 54),
        (lambda product: nos(product, exec_inst="6 X"), 18),
    ],
)
def test_session_send_refuses_before_anything_is_sequenced(
    product: str, make: Callable[[str], Any], tag: int
) -> None:
    pair = logged_on(product)
    client = pair.client.session
    before = client.next_sender_seq
    with pytest.raises(ValueRangeError) as err:
        client.send(make(product), pair.now)
    assert err.value.tag == tag and "spec/fields.yaml:" in str(err.value)
    assert client.data_to_send() == b""
    assert client.next_sender_seq == before
    pair.pump()
    assert not [e for e in pair.server.events if isinstance(e, ApplicationMessage)]
    # the same order with valid values (a raw str and a member) goes, with the unused number
    client.send(nos(product, side="2", ord_type=dialect(product).OrdType.LIMIT), pair.now)
    assert client.next_sender_seq == before + 1
    pair.pump()
    got = [e for e in pair.server.events if isinstance(e, ApplicationMessage)]
    assert len(got) == 1 and got[0].message.side == "2" and got[0].seq_num == before


# -- the rules come from fields.yaml -----------------------------------------------------------


def test_enum_rules_are_the_values_of_fields_yaml() -> None:
    doc = yaml.safe_load((ROOT / "spec" / "fields.yaml").read_text(encoding="utf-8"))
    by_tag = {f["tag"]: f for f in doc["fields"]}
    assert ENUM_RULES
    for rule in ENUM_RULES:
        f = by_tag[rule.tag]
        assert rule.check == "values" and rule.where.startswith("spec/fields.yaml:")
        for product in rule.products:
            listed = tuple(
                str(v["value"])
                for v in f["values"]
                if product in v.get("products", f.get("products", PRODUCTS))
            )
            assert rule.values == listed, (rule.field, product)
    for product in PRODUCTS:
        for field, mts in (("Side", "DGF"), ("OrdType", "DG"), ("ExecInst", "D")):
            for mt in mts:
                assert "values" in {r.check for r in rules_for(field, mt, product)}
        # TimeInForce keeps its ranges.yaml rules (narrower on a replace): no second rule
        for mt in "DG":
            tif = [r for r in rules_for("TimeInForce", mt, product) if r.check == "values"]
            assert len(tif) == 1 and tif[0].where.startswith("spec/ranges.yaml:")

"""Money to the cent: P&L computed from the cash flows, exact when an average price does not
divide; the one share that cannot be exact is rounded as the docs say (a millionth, half to
even) and realized + unrealized is still the exact total. Every figure by hand."""

from __future__ import annotations

import json
from decimal import Decimal as D

from kalshi_fix_sansio.simulator.gateway.paper import PaperLedger
from kalshi_fix_sansio.trading.pnl import PnLLedger

M = "KXEXACT-26NOV20-A"


class Fill:
    def __init__(self, time: float, side: str, price: str, qty: int, fee: str = "0") -> None:
        self.account, self.time, self.symbol = "k", time, M
        self.side, self.price, self.qty, self.fee = side, D(price), D(qty), D(fee)


def test_a_total_is_exact_when_the_average_does_not_divide() -> None:
    ledger = PnLLedger()
    ledger.add(M, "1", D("0.40"), D(1), fee=D(0))
    ledger.add(M, "1", D("0.41"), D(2), fee=D(0))  # average 1.22 / 3 = 0.40666...
    m = ledger.market(M)
    # cash -1.22, 3 held at 0.395: -1.22 + 1.185
    assert str(m.total(D("0.395"))) == "-0.035"
    assert m.realized == 0  # nothing closed, no fee
    assert m.unrealized(D("0.395")) == D("-0.035")


def test_a_partial_close_rounds_only_the_share_and_adds_up_to_the_total() -> None:
    ledger = PnLLedger()
    ledger.add(M, "1", D("0.40"), D(1), fee=D("0.01"))
    ledger.add(M, "1", D("0.41"), D(2), fee=D("0.01"))
    ledger.add(M, "2", D("0.42"), D(1), fee=D("0.01"))
    m = ledger.market(M)
    # closed: 1 sold at 0.42 against 1/3 of 1.22 (0.406666..., to a millionth 0.406667)
    assert m.realized == D("0.42") - D("0.406667") - D("0.03") == D("-0.016667")
    # total at 0.40: 0.42 - 1.22 - 0.03 + 2 x 0.40, exact
    assert m.total(D("0.40")) == D("-0.03")
    assert m.unrealized(D("0.40")) == D("-0.013333")
    assert m.realized + m.unrealized(D("0.40")) == m.total(D("0.40"))


def test_a_short_closes_against_the_average_sell() -> None:
    ledger = PnLLedger()
    ledger.add(M, "2", D("0.60"), D(2), fee=D(0))
    ledger.add(M, "2", D("0.61"), D(1), fee=D(0))  # average 1.81 / 3
    ledger.add(M, "1", D("0.50"), D(1), fee=D(0))
    m = ledger.market(M)
    assert m.realized == D("0.603333") - D("0.50")  # 1.81 / 3 = 0.60333...
    assert m.total(D("0.55")) == D("1.81") - D("0.50") - 2 * D("0.55") == D("0.21")
    assert m.realized + m.unrealized(D("0.55")) == D("0.21")
    ledger.settle(M, D(0), result="no")  # the short of 2 pays: 1.81 - 0.50
    assert m.realized == m.total(D("0.55")) == D("1.31")


def test_a_divisible_share_stays_exact() -> None:
    ledger = PnLLedger()
    ledger.add(M, "1", D("0.40"), D(3), fee=D(0))
    ledger.add(M, "2", D("0.45"), D(1), fee=D(0))
    assert ledger.market(M).realized == D("0.05")


def test_the_report_json_has_no_digits_of_noise() -> None:
    """The outside check's case: 1 @ 0.40 plus 2 @ 0.41 marked at 0.395 gives -0.035 exactly
    in the JSON (not -0.03500000000000000000000000010), row, total and curve alike."""
    ledger = PaperLedger()
    ledger.on_fill(Fill(10.0, "1", "0.40", 1))
    ledger.on_fill(Fill(11.0, "1", "0.41", 2))
    ledger.on_mid(M, 12.0, D("0.395"))
    data = ledger.report([M]).as_json()
    row = data["markets"][0]
    assert D(row["realized"]) == 0 and (row["unrealized"], row["total"]) == ("-0.035", "-0.035")
    assert data["total"] == "-0.035" and data["curve"][-1]["pnl"] == "-0.035"
    for value in json.dumps(data).split('"'):
        if value.lstrip("-").replace(".", "", 1).isdigit():
            assert len(value.partition(".")[2]) <= 6, value


def test_a_long_terminating_share_stays_exact() -> None:
    """1,048,576 (2 to the 20th) contracts: a share of their cost terminates after 20 decimals,
    and stays exact (not rounded to a millionth)."""
    ledger = PnLLedger()
    ledger.add(M, "1", D("0.41"), D(1048575), fee=D(0))
    ledger.add(M, "1", D("0.40"), D(1), fee=D(0))
    ledger.add(M, "2", D("0.50"), D(1), fee=D(0))
    m = ledger.market(M)
    cost = D("0.41") * 1048575 + D("0.40")
    assert m.realized == D("0.50") - cost / D(1048576)  # 0.50 - 0.40999999046325683593750
    assert m.realized == D("0.0900000095367431640625")


def test_a_side_other_than_fix_s_buy_or_sell_is_refused_not_counted_as_a_sell() -> None:
    ledger = PnLLedger()
    for side in ("buy", "sell", "B", ""):
        try:
            ledger.add(M, side, D("0.40"), D(1), fee=D(0))
        except ValueError as e:
            assert f"{M}: a fill's side is '1' (buy) or '2' (sell)" in str(e) and repr(side) in str(
                e
            )
        else:
            raise AssertionError(f"side {side!r} was counted")
    m = ledger.market(M)
    assert (m.bought, m.sold, m.fills) == (0, 0, 0)  # nothing was counted

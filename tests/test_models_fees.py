"""Fee models: Kalshi's rules per product and series, rounding, a schedule of your own (a table
or a function), and what a settlement charges; every figure computed by hand."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import BUY, SELL, SYM, T0, nos, of
from test_engine_recorded import fills, incremental, recorded_exchange, trade

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import (
    Exchange,
    FeeFill,
    FeeRates,
    FeeSchedule,
    FeeScheduleError,
    SettlementView,
)
from kalshi_fix_sansio.simulator.gateway.paper import PaperLedger


def fee(schedule: FeeSchedule, price: str, qty: str, *, taker: bool = True, **kw: Any) -> D:
    fill = FeeFill(kw.get("product", "prediction"), kw.get("symbol", SYM), D(price), D(qty), taker)
    return schedule.trade_fee(fill)


def test_the_default_schedule_is_kalshis_general_table_rounded_up_per_fill() -> None:
    s = FeeSchedule()
    assert fee(s, "0.45", "5") == D("0.09")  # 0.07 x 5 x 0.45 x 0.55 = 0.086625
    assert fee(s, "0.50", "1") == D("0.02")  # 0.0175 rounds up to the cent
    assert fee(s, "0.50", "1", taker=False) == D("0.01")  # 0.004375
    assert fee(s, "0.50", "100", taker=False) == D("0.44")  # 0.4375
    assert fee(s, "19.50", "10", product="margin") == D("0.10")  # 0.0005 x 195 = 0.0975
    assert fee(s, "19.50", "10", product="margin", taker=False) == D(0)


def test_rounding_is_per_fill_so_two_fills_cost_more_than_one() -> None:
    ex = recorded_exchange()
    # 5 at 0.45 (0.086625 -> 0.09) and 3 at 0.46 (0.057960 -> 0.06): each rounded on its own
    out = ex.handle("nr", nos("b1", BUY, 8, "0.46"), T0 + 1)
    assert [f[2] for f in fills(out)] == [D("0.09"), D("0.06")]


def test_round_to_a_hundredth_of_a_cent() -> None:
    s = FeeSchedule(prediction=FeeRates(round_to=D("0.0001")))
    assert fee(s, "0.45", "5") == D("0.0867")
    ex = recorded_exchange(fees=s)
    out = ex.handle("nr", nos("b1", BUY, 5, "0.45"), T0 + 1)
    assert fills(out) == [(D("0.45"), D("5"), D("0.0867"))]


def test_a_series_multiplier_and_a_fee_waived_series() -> None:
    series = SYM.split("-")[0]
    half = FeeSchedule(series={series: FeeRates(multiplier=D("0.5"))})
    waived = FeeSchedule(series={series: FeeRates(multiplier=D(0))})
    no_maker = FeeSchedule(series={series: FeeRates(maker=D(0))})
    assert fee(half, "0.45", "5") == D("0.05")  # 0.0433125
    assert fee(waived, "0.45", "5") == D(0)
    assert fee(no_maker, "0.50", "100", taker=False) == D(0)
    assert fee(no_maker, "0.50", "100") == D("1.75")
    assert fee(half, "0.45", "5", symbol="OTHER-26JUN15") == D("0.09")  # another series
    # a market's own entry wins over its series'
    own = FeeSchedule(series={series: FeeRates(multiplier=D(0)), SYM: FeeRates(multiplier=D(2))})
    assert fee(own, "0.45", "5") == D("0.18")  # 0.17325
    out = recorded_exchange(fees=waived).handle("nr", nos("b1", BUY, 8, "0.46"), T0 + 1)
    assert [f[2] for f in fills(out)] == [D("0.00"), D("0.00")]


def test_a_fee_function_of_your_own() -> None:
    def flat(fill: FeeFill) -> D:
        return D("0.01") * fill.qty if fill.taker else D(0)

    ex = recorded_exchange(fees=flat)
    out = ex.handle("nr", nos("b1", BUY, 8, "0.46"), T0 + 1)
    assert [f[2] for f in fills(out)] == [D("0.05"), D("0.03")]
    ex.handle("nr", nos("s1", SELL, 2, "0.43"), T0 + 2)  # rests: a maker
    out = ex.replay(incremental(trade("0.45", "2", "1")), T0 + 3)
    assert [f[2] for f in fills(out)] == [D("0.00")]


def test_a_fee_model_answering_nonsense_is_an_error_naming_it() -> None:
    ex = recorded_exchange(fees=lambda fill: -1)
    with pytest.raises(ValueError, match="answered -1, not a Decimal >= 0"):
        ex.handle("nr", nos("b1", BUY, 1, "0.46"), T0 + 1)
    with pytest.raises(TypeError, match="fees must be a FeeSchedule"):
        Exchange("prediction", fees="kalshi")  # type: ignore[arg-type]


def settled_with(schedule: FeeSchedule) -> tuple[list[Any], list[SettlementView]]:
    """alice buys 5 YES at 0.45 and the market settles yes: her settlement reports and what
    the settlement listeners heard."""
    ex = recorded_exchange(fees=schedule)
    ex.connect("pt", "alice", "KalshiPT", now=T0)
    heard: list[SettlementView] = []
    ex.settlement_listeners.append(heard.append)
    ex.handle("nr", nos("b1", BUY, 5, "0.45"), T0 + 1)
    out = ex.settle(SYM, "yes", T0 + 2)
    return of(out, p.MarketSettlementReport, "pt"), heard


def test_a_settlement_charges_nothing_by_default() -> None:
    reports, heard = settled_with(FeeSchedule())
    party = reports[0].market_settlement_party_ids[0]
    assert party.collateral_amount_changes[0].collateral_amount_change == D("5.00")
    assert party.misc_fees[0].misc_fee_amt == D("0.00")
    assert [(v.account, v.position, v.payout, v.fee) for v in heard] == [
        ("alice", D(5), D(5), D(0))
    ]


def test_a_settlement_fee_is_deducted_from_the_payout() -> None:
    reports, heard = settled_with(FeeSchedule(prediction=FeeRates(settlement=D("0.015"))))
    party = reports[0].market_settlement_party_ids[0]
    # 5 winning contracts x 0.015 = 0.075 -> 0.08; PAYOUT is after the fee, as on Kalshi
    assert party.misc_fees[0].misc_fee_amt == D("0.08")
    assert party.collateral_amount_changes[0].collateral_amount_change == D("4.92")
    assert [(v.payout, v.fee) for v in heard] == [(D("4.92"), D("0.08"))]


SCHEDULE = """\
# a schedule of my own
scope,taker,maker,multiplier,settlement,round_to
prediction,0.05,,,,
margin,0.001,0.0002,,,
KXTEST,,0,,,
KXFREE,,,0,,
"""


def test_a_schedule_file(tmp_path: Path) -> None:
    path = tmp_path / "fees.csv"
    path.write_text(SCHEDULE)
    s = FeeSchedule.load(path)
    assert s.prediction == FeeRates(D("0.05"), D("0.0175"), D(1), D(0), D("0.01"))
    assert fee(s, "0.50", "100") == D("1.25")
    assert fee(s, "0.50", "100", taker=False) == D(0)  # KXTEST: no maker fees
    assert fee(s, "0.50", "100", taker=False, symbol="KXOTHER-1") == D("0.44")
    assert fee(s, "0.50", "100", symbol="KXFREE-1") == D(0)
    assert fee(s, "20", "10", product="margin", taker=False, symbol="BTC-PERP") == D("0.04")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "fees.csv: no header line"),
        ("scope,taker,fee\n", "fees.csv:1: unknown column 'fee'"),
        ("taker,scope\n", "fees.csv:1: the header must start with 'scope'"),
        ("scope,taker\nprediction,abc\n", "fees.csv:2: field 'taker': 'abc' is not a decimal"),
        ("scope,maker\n# note\nKX,-1\n", "fees.csv:3: field 'maker': '-1' is not a decimal"),
        ("scope,round_to\nKX,0\n", "fees.csv:2: field 'round_to': '0' is not a decimal number > 0"),
        ("scope,taker\nKX,1\nKX,2\n", "fees.csv:3: field 'scope': 'KX' given twice"),
        ("scope,taker\n,1\n", "fees.csv:2: field 'scope': empty"),
        ("scope,taker\nKX,1,2\n", "fees.csv:2: 3 fields, the header names 2"),
    ],
)
def test_a_bad_schedule_file_names_the_file_line_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "fees.csv"
    path.write_text(text)
    with pytest.raises(FeeScheduleError) as caught:
        FeeSchedule.load(path)
    assert str(caught.value).startswith(str(tmp_path / message.split(":")[0]))
    assert message in str(caught.value)


def test_the_paper_report_counts_the_settlement_fee() -> None:
    ex = recorded_exchange(fees=FeeSchedule(prediction=FeeRates(settlement=D("0.015"))))
    ledger = PaperLedger(["alice"])
    ex.fill_listeners.append(ledger.on_fill)
    ex.settlement_listeners.append(ledger.on_settlement)
    ex.handle("nr", nos("b1", BUY, 5, "0.45"), T0 + 1)  # taker fee 0.09
    ex.settle(SYM, "yes", T0 + 2)
    ledger.settle(SYM, "yes", T0 + 2)
    row = ledger.report([SYM]).rows[0]
    assert (row.account.fees, row.account.settlement_fee) == (D("0.09"), D("0.08"))
    # 5 x (1 - 0.45) - 0.09 - 0.08
    assert row.total == D("2.58")

"""Perps funding and fee rebates in P&L (`kalshi_fix_sansio.trading.funding`): the payment's sign
and rounding, the schedule's files and Kalshi's REST page (parsed, fetched from the mock
gateway), and the same fills and funding times giving the same P&L to the cent in the tracker,
paper trading and a backtest, checked against hand arithmetic."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import attrs
import pytest
from gateway_fixtures import start_gateway

from kalshi_fix_sansio.rest.history import HistoryFetch
from kalshi_fix_sansio.simulator.backtests.backtest import Context, run_backtest
from kalshi_fix_sansio.simulator.gateway.paper import PaperLedger
from kalshi_fix_sansio.simulator.gateway.rest import RestServer
from kalshi_fix_sansio.simulator.testing.recordings import MARGIN_SAMPLE_RECORDING
from kalshi_fix_sansio.simulator.testing.strategies import quoter
from kalshi_fix_sansio.trading.funding import (
    FundingRate,
    FundingSchedule,
    RebateRule,
    Rebates,
    funding_time,
)
from kalshi_fix_sansio.trading.pnl import MarketPnL, PnLLedger

FUNDING_PATH = "/trade-api/v2/margin/funding_rates/historical"


def _t(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


T1, T2 = _t("2026-11-20T08:00:00Z"), _t("2026-11-20T16:00:00Z")


def test_a_positive_rate_has_longs_pay_and_each_payment_rounds_against_the_holder() -> None:
    rate = FundingRate("KXBTCPERP", T1, D("0.0003"), D("101.25"))
    # 10 long x 0.0003 x 101.25 = 0.30375 paid: rounded up to 0.31; short receives 0.30
    assert rate.payment(D(10)) == D("-0.31")
    assert rate.payment(D(-10)) == D("0.30")
    assert rate.payment(D(0)) == 0
    negative = FundingRate("KXBTCPERP", T1, D("-0.0002"), D("50"))
    assert negative.payment(D(3)) == D("0.03")  # shorts pay longs: 3 x 0.0002 x 50 = 0.03
    exact = FundingSchedule([rate], quantum=None).rates[0]
    assert exact.payment(D(10)) == D("-0.303750")


def test_a_fill_at_the_funding_time_counts_from_the_next_one() -> None:
    schedule = FundingSchedule(
        [
            FundingRate("M", T1, D("0.001"), D("20")),
            FundingRate("M", T2, D("0.001"), D("20")),
            FundingRate("OTHER", T1, D("0.5"), D("1")),
        ]
    )
    fills = [(T1 - 1, D(5)), (T1, D(5)), (T2 + 1, D(-10))]
    payments = schedule.accrue("M", fills, upto=T2 + 3600)
    assert [(p.rate.time, p.position, p.amount) for p in payments] == [
        (T1, D(5), D("-0.10")),  # 5 x 0.001 x 20 = 0.10 paid
        (T2, D(10), D("-0.20")),
    ]
    assert schedule.accrue("M", fills, upto=T1 - 1) == []


def test_the_ledger_counts_funding_and_rebates_in_realized_and_total() -> None:
    ledger = PnLLedger()
    ledger.add("M", "1", D("19.50"), D(4), fee=D("0.02"))
    payment = ledger.fund(FundingRate("M", T1, D("0.0005"), D("19.60")))
    assert payment is not None and payment.amount == D("-0.04")  # 4 x 0.0005 x 19.60 = 0.0392
    rebates = Rebates([RebateRule("M", maker_per_contract=D("0.005"))])
    assert ledger.rebate("M", rebates, D(4), D("0.02"), maker=True) == D("0.0200")
    m = ledger.market("M")
    # cash: -78.00 - 0.02 - 0.04 + 0.02 = -78.04; at 19.70: -78.04 + 78.80 = 0.76
    assert m.cash == D("-78.04")
    assert m.total(D("19.70")) == D("0.76")
    assert m.realized == D("-0.04")  # nothing closed: the fees, funding and rebates
    assert m.realized + m.unrealized(D("19.70")) == m.total(D("19.70"))
    assert ledger.fund(FundingRate("FLAT", T1, D("0.1"), D("1"))) is None


def test_rebates_take_the_longest_prefix_and_round_down() -> None:
    rebates = Rebates(
        [
            RebateRule("", taker_fee_share=D("0.1")),
            RebateRule("KXBTC", maker_per_contract=D("0.00333"), maker_fee_share=D("0.5")),
        ]
    )
    # 3 x 0.00333 + 0.5 x 0.07 = 0.04499 -> 0.0449 (toward zero, to $0.0001)
    assert rebates.rebate("KXBTCPERP", D(3), D("0.07"), maker=True) == D("0.0449")
    assert rebates.rebate("KXBTCPERP", D(3), D("0.07"), maker=False) == 0
    assert rebates.rebate("KXETHPERP", D(3), D("0.07"), maker=False) == D("0.0070")
    back = Rebates.from_json(json.dumps(rebates.as_json()))
    assert back == rebates


def test_bad_files_name_the_source_the_row_and_the_field() -> None:
    with pytest.raises(ValueError, match=r"rates\.csv: rate 2 \(M\): funding_rate: expected"):
        FundingSchedule.from_csv(
            "market_ticker,funding_time,funding_rate,mark_price\n"
            "M,2026-11-20T08:00:00Z,0.0001,20\nM,2026-11-20T16:00:00Z,lots,20\n",
            source="rates.csv",
        )
    with pytest.raises(ValueError, match=r"rates\.csv: the CSV header lacks mark_price"):
        FundingSchedule.from_csv("market_ticker,funding_time,funding_rate\n", source="rates.csv")
    with pytest.raises(ValueError, match="two rates for M at"):
        FundingSchedule.from_rows(
            [{"market_ticker": "M", "funding_time": T1, "funding_rate": 0, "mark_price": 1}] * 2
        )
    with pytest.raises(ValueError, match=r"r\.json: rule 1: unknown key maker_rebate"):
        Rebates.from_json('{"rules": [{"maker_rebate": "0.1"}]}', source="r.json")
    with pytest.raises(ValueError, match="taker_fee_share is a share of the fee"):
        Rebates.from_json('{"rules": [{"taker_fee_share": "2"}]}')
    with pytest.raises(ValueError, match="funding_time: a time is"):
        funding_time("yesterday")


def test_kalshi_s_page_and_a_csv_give_the_same_schedule() -> None:
    page = {
        "funding_rates": [
            {
                "market_ticker": "KXBTCPERP",
                "funding_time": "2026-06-11T04:00:00Z",
                "funding_rate": -0.0003971378687289,
                "mark_price": "104250.5",
            }
        ]
    }
    from_page = FundingSchedule.from_json(json.dumps(page))
    from_csv = FundingSchedule.from_text(
        "market_ticker,funding_time,funding_rate,mark_price\n"
        "KXBTCPERP,1781150400,-0.0003971378687289,104250.5\n"
    )
    assert from_page == from_csv
    assert from_page.rates[0].rate == D("-0.0003971378687289")  # exact, not a float's digits


@attrs.frozen
class _Fill:
    time: float
    side: str
    price: D
    qty: D
    fee: D
    aggressor: bool
    symbol: str = "M"
    account: str = "a"


def test_paper_trading_pays_funding_as_the_clock_passes_it() -> None:
    """Hand arithmetic: buy 10 @ 19.50 (taker, fee 0.10), funding at T1 (0.0004, mark 19.60),
    sell 4 @ 19.80 (maker, fee 0.02), funding at T2 (-0.0002, mark 19.90), mid 19.90.

    funding T1: 10 x 0.0004 x 19.60 = 0.0784 paid -> -0.08; T2: 6 x 0.0002 x 19.90 = 0.02388
    received -> 0.02. Rebate: maker 4 x 0.01 = 0.04. Cash: 79.20 - 195.00 - 0.12 - 0.08 + 0.02
    + 0.04 = -115.94; total at 19.90: -115.94 + 6 x 19.90 = 3.46."""
    schedule = FundingSchedule(
        [
            FundingRate("M", T1, D("0.0004"), D("19.60")),
            FundingRate("M", T2, D("-0.0002"), D("19.90")),
        ]
    )
    rebates = Rebates([RebateRule("M", maker_per_contract=D("0.01"))])
    ledger = PaperLedger(funding=schedule, rebates=rebates)
    ledger.on_fill(_Fill(T1 - 60, "1", D("19.50"), D(10), D("0.10"), True))
    ledger.on_fill(_Fill(T1 + 60, "2", D("19.80"), D(4), D("0.02"), False))
    ledger.on_mid("M", T2 + 60, D("19.90"))
    report = ledger.report()
    row = report.rows[0]
    assert [p.amount for p in report.funding or ()] == [D("-0.08"), D("0.02")]
    assert row.account.funding == D("-0.06")
    assert row.account.rebates == D("0.0400")
    assert row.total == D("3.46")
    doc = report.as_json()
    assert doc["funding"] == "-0.06" and doc["rebates"] == "0.0400"
    assert doc["markets"][0]["funding"] == "-0.06"
    assert [p["amount"] for p in doc["funding_payments"]] == ["-0.08", "0.02"]
    assert "funding" in report.table() and "rebates" in report.table()
    # without a schedule or rebates: no such field, as the report always was
    plain = PaperLedger()
    plain.on_fill(_Fill(T1 - 60, "1", D("19.50"), D(10), D("0.10"), True))
    assert "funding" not in plain.report().as_json()
    assert "rebates" not in plain.report().as_json()["markets"][0]


def _funding_of_sample() -> FundingSchedule:
    """Funding times inside the margin sample (15:00 to 15:03 UTC): test times, not Kalshi's
    8-hour ones, so that the run pays them."""
    rates = []
    for minute, rate in ((1, "0.0004"), (2, "-0.0007"), (3, "0.0011")):
        for symbol, mark in (("KXPAPER-PERP-A", "19.51"), ("KXPAPER-PERP-B", "19.55")):
            when = _t(f"2026-11-20T15:0{minute}:00Z")
            rates.append(FundingRate(symbol, when, D(rate), D(mark)))
    return FundingSchedule(rates)


def test_the_tracker_paper_trading_and_a_backtest_agree_to_the_cent() -> None:
    """The sample quoter on the margin sample with funding and a maker rebate: the backtest's
    report (the exchange's fills), the strategy's own tracker (the ExecutionReports it got,
    their TransactTime) and a recount from the report's fills give the same funding, rebates
    and P&L, to the cent."""
    schedule = _funding_of_sample()
    rebates = Rebates([RebateRule("KXPAPER", maker_per_contract=D("0.003"))])
    seen: dict[str, MarketPnL] = {}

    def quoter_keeping_its_tracker(ctx: Context) -> None:
        """The shipped quoter, its order-entry session kept: its tracker counts as live."""
        sessions: list[Any] = []
        make = ctx.client

        def client(**options: Any) -> Any:
            made = make(**options)
            if not options.get("market_data"):
                opened = made.order_entry

                def order_entry() -> Any:
                    sessions.append(opened())
                    return sessions[-1]

                made.order_entry = order_entry
            return made

        ctx.client = client  # type: ignore[method-assign]
        quoter(ctx)  # it takes its quotes off the book at the end: no fill after it returns
        for symbol in ctx.symbols:
            seen[symbol] = sessions[0].tracker.pnl(
                symbol, funding=schedule, now=ctx.end_time, rebates=rebates
            )

    def run() -> Any:
        return run_backtest(
            quoter_keeping_its_tracker,
            MARGIN_SAMPLE_RECORDING,
            params={"size": 3, "edge": 0.01},
            funding=schedule,
            rebates=rebates,
        )

    result = run()
    report = result.report
    assert report.funding, "the sample run holds a position at a funding time"
    for row in report.rows:
        mine = seen[row.symbol]
        a = row.account
        assert (mine.funding, mine.rebates, mine.fees) == (a.funding, a.rebates, a.fees)
        assert mine.realized == a.realized
        assert mine.total(row.mid) == row.total
        # the recount: the position before each funding time, from the report's fills
        fills = [(f.time, f.qty if f.side == "1" else -f.qty) for f in report.fills]
        fills = [x for f, x in zip(report.fills, fills, strict=True) if f.symbol == row.symbol]
        expected = sum((p.amount for p in schedule.accrue(row.symbol, fills, 1e12)), D(0))
        assert a.funding == expected
        makers = sum((f.qty for f in report.fills if f.symbol == row.symbol and f.maker), D(0))
        assert a.rebates == makers * D("0.003")
    assert result.as_json()["report"]["funding"] == str(report.funding_total)
    assert result.run["funding"] == {"rates": 6, "markets": ["KXPAPER-PERP-A", "KXPAPER-PERP-B"]}
    assert run().to_json() == result.to_json()


def test_the_funding_rates_come_from_the_mock_gateway_s_rest_in_kalshi_s_shape(
    tmp_path: Path,
) -> None:
    """`HistoryFetch` with ``sources=("funding",)``, run by the REST companion over real TLS on
    loopback, asks ``GET /margin/funding_rates/historical`` per market; the mock gateway
    answers from its schedule (``ticker``, ``start_ts``, ``end_ts``, the rate a JSON number as
    Kalshi's), and the rates read are the schedule's."""
    from kalshi_fix_sansio.adapters.rest import RestCompanion

    schedule = _funding_of_sample()
    h = start_gateway("margin", tmp_path)
    try:
        with RestServer(h.gateway) as rest:
            rest.app.funding = schedule
            fetch = HistoryFetch(
                ["KXPAPER-PERP-A"],
                _t("2026-11-20T15:01:30Z"),
                _t("2026-11-20T16:00:00Z"),
                sources=("funding",),
                base_url=rest.base_url,
            )
            RestCompanion(verify=h.ssl_context()).run(fetch)
            status, _, body = rest.app.handle("GET", FUNDING_PATH + "?ticker=NONE", {}, 0.0)
    finally:
        h.gateway.close()
    assert fetch.missing == []
    assert FundingSchedule(fetch.funding) == FundingSchedule(
        [
            r
            for r in schedule.rates
            if r.symbol == "KXPAPER-PERP-A" and r.time > _t("2026-11-20T15:01:30Z")
        ]
    )
    assert status == 200 and json.loads(body) == {"funding_rates": []}


def test_a_file_of_rates_runs_from_the_command_line(tmp_path: Path, capsys: Any) -> None:
    from kalshi_fix_sansio.cli import main

    rates = tmp_path / "rates.csv"
    rows = ["market_ticker,funding_time,funding_rate,mark_price"]
    rows += [
        f"{r['market_ticker']},{r['funding_time']},{r['funding_rate']},{r['mark_price']}"
        for r in _funding_of_sample().as_json()
    ]
    rates.write_text("\n".join(rows) + "\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("market_ticker,funding_time\n")
    strategy = "kalshi_fix_sansio.simulator.testing.strategies:quoter"
    status = main(
        [
            "backtest",
            strategy,
            str(MARGIN_SAMPLE_RECORDING),
            "--funding",
            str(bad),
            "--out",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert status == 2 and "--funding" in err and "bad.csv" in err and len(err.splitlines()) == 1
    status = main(
        [
            "backtest",
            strategy,
            str(MARGIN_SAMPLE_RECORDING),
            "--funding",
            str(rates),
            "--param",
            "size=3",
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    doc = json.loads((tmp_path / f"{Path(MARGIN_SAMPLE_RECORDING).name}.backtest.json").read_text())
    assert "funding" in doc["report"] and doc["run"]["funding"]["rates"] == 6


def test_a_recording_carries_its_funding_rates(tmp_path: Path, capsys: Any) -> None:
    """``# funding`` lines (`RecordingWriter.funding`): a comment to the replay, the schedule to
    `read_funding` and to ``--funding`` naming the recording; a bad one names its line."""
    import io

    from kalshi_fix_sansio.cli import main
    from kalshi_fix_sansio.simulator.data.recording import (
        RecordingError,
        RecordingWriter,
        check_recording,
        read_funding,
    )

    schedule = _funding_of_sample()
    lines = Path(MARGIN_SAMPLE_RECORDING).read_text().splitlines(keepends=True)
    extra = io.StringIO()
    extra.write("x")  # not empty: no second header
    writer = RecordingWriter(extra, "margin", [])
    for rate in schedule.rates:
        writer.funding(rate)
    recording = tmp_path / "perps.log"
    recording.write_text(lines[0] + extra.getvalue()[1:] + "".join(lines[1:]))
    assert read_funding(recording) == schedule
    assert read_funding(MARGIN_SAMPLE_RECORDING) == FundingSchedule([])
    assert (
        check_recording(str(recording)).messages
        == check_recording(str(MARGIN_SAMPLE_RECORDING)).messages
    )
    params = {"size": 3, "edge": 0.01}
    with_file = run_backtest(quoter, recording, params=params, funding=schedule)
    plain = run_backtest(quoter, MARGIN_SAMPLE_RECORDING, params=params, funding=schedule)
    assert with_file.report.as_json() == plain.report.as_json()
    assert plain.report.funding  # it paid
    out = tmp_path / "out"
    argv = ["backtest", "kalshi_fix_sansio.simulator.testing.strategies:quoter", str(recording)]
    more = ["--param", "size=3", "--param", "edge=0.01", "--funding", str(recording)]
    assert main([*argv, *more, "--out", str(out)]) == 0
    doc = json.loads((out / "perps.log.backtest.json").read_text())
    assert doc["report"]["funding"] == str(plain.report.funding_total)
    bad = tmp_path / "bad.log"
    bad.write_text(
        lines[0] + "# funding market_ticker=M funding_time=soon funding_rate=0 mark_price=1\n"
    )
    with pytest.raises(RecordingError, match=r"bad\.log.*line 2.*funding_time"):
        read_funding(bad)
    capsys.readouterr()
    assert main([*argv, "--funding", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--funding" in err and "line 2" in err


def test_the_tracker_counts_the_same_hand_arithmetic_from_execution_reports() -> None:
    """The fills of `test_paper_trading_pays_funding_as_the_clock_passes_it` as the tracker
    sees them (margin ExecutionReports with TransactTime and AggressorIndicator): the same
    funding (-0.06), rebates (0.04) and total at 19.90 (3.46)."""
    from kalshi_fix_sansio import margin as m
    from kalshi_fix_sansio.trading.tracker import OrderTracker

    def report(cl: str, side: str, px: str, qty: int, fee: str, when: float, taker: bool) -> Any:
        fee_group = m.MiscFee(
            misc_fee_amt=D(fee),
            misc_fee_curr="USD",
            misc_fee_type=m.MiscFeeType("4"),
            misc_fee_basis=m.MiscFeeBasis(0),
        )
        return m.ExecutionReport(
            avg_px=D(px),
            cl_ord_id=cl,
            cum_qty=D(qty),
            exec_id=f"x-{cl}",
            order_id=f"o-{cl}",
            order_qty=D(qty),
            ord_status=m.OrdStatus("2"),
            price=D(px),
            side=m.Side(side),
            symbol="M",
            exec_type=m.ExecType("F"),
            leaves_qty=D(0),
            last_px=D(px),
            last_qty=D(qty),
            misc_fees=(fee_group,),
            transact_time=datetime.fromtimestamp(when, timezone.utc),
            aggressor_indicator=taker,
        )

    schedule = FundingSchedule(
        [
            FundingRate("M", T1, D("0.0004"), D("19.60")),
            FundingRate("M", T2, D("-0.0002"), D("19.90")),
        ]
    )
    rebates = Rebates([RebateRule("M", maker_per_contract=D("0.01"))])
    tracker = OrderTracker()
    tracker.on_message(report("a", "1", "19.50", 10, "0.10", T1 - 60, True))
    tracker.on_message(report("b", "2", "19.80", 4, "0.02", T1 + 60, False))
    pnl = tracker.pnl("M", funding=schedule, now=T2 + 60, rebates=rebates)
    assert (pnl.funding, pnl.rebates, pnl.total(D("19.90"))) == (D("-0.06"), D("0.04"), D("3.46"))
    assert tracker.pnl("M", funding=schedule, now=T1).funding == D("-0.08")  # T2 not yet
    assert tracker.pnl("M").funding == 0  # without a schedule, as before
    with pytest.raises(ValueError, match="pass now="):
        tracker.pnl("M", funding=schedule)


def test_the_docs_example_trades_and_prints_the_funding_the_page_shows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """docs/backtest.md's funding example (run with the page by tests/test_docs_code.py too):
    it trades, so its funding is not 0, and it prints what the page says it prints (the page
    checks the figures by hand: -0.02 + 0.04 of funding, 20 maker contracts x 0.003)."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "backtest.md").read_text()
    section = text.split("## Funding and rebates", 1)[1]
    found = re.search(r"```python\n(.*?)```\n\nprints\n\n```text\n(.*?)```", section, re.S)
    assert found is not None
    code, expected = found.groups()
    exec(compile(code, "docs/backtest.md", "exec"), {})
    assert capsys.readouterr().out == expected
    assert "funding 0.02," in expected and "received -0.02" in expected

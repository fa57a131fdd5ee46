"""Backtests (`kalshi_fix_sansio.simulator.backtests.backtest`): a strategy on the blocking, asyncio and trio APIs
against recordings, in memory on the recordings' clock, deterministic to the byte; the latency
model changes fills; failures name the run and the simulated time."""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trio

from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.backtests.backtest import BacktestFailed, Context, run_backtest
from kalshi_fix_sansio.simulator.data.recording import RecordingError
from kalshi_fix_sansio.simulator.gateway import FeeRates, FeeSchedule
from kalshi_fix_sansio.simulator.research.tearsheet import tearsheet_html
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING, write_recording
from kalshi_fix_sansio.simulator.testing.strategies import async_quoter, quoter
from kalshi_fix_sansio.simulator.world.latency import ConstantLatency
from kalshi_fix_sansio.trading.builders import ClOrdIDGenerator, Requests

blocking_strategy, asyncio_strategy = quoter, async_quoter  # the shipped sample quoter
trio_strategy = async_quoter  # the awaitable API is the same under trio


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bt") / "day-1.log"
    with path.open("w") as out:
        write_recording(out, messages=300, seed=3)
    return path


RUNS = [("blocking", blocking_strategy), ("asyncio", asyncio_strategy), ("trio", trio_strategy)]


@pytest.mark.parametrize(("api", "strategy"), RUNS, ids=[r[0] for r in RUNS])
def test_a_run_repeats_to_the_byte(api: str, strategy: Any, recording: Path) -> None:
    """The same recording, strategy, parameters and seed: the same JSON, run after run; and
    the strategy traded (fills, fees, orders counted)."""
    texts = {
        run_backtest(strategy, recording, api=api, params={"size": 3}, seed=5).to_json()
        for _ in range(3)
    }
    assert len(texts) == 1
    result = json.loads(texts.pop())
    assert result["run"]["api"] == api
    assert result["run"]["params"] == {"size": 3}
    total = result["statistics"]["total"]
    assert total["fills"] > 0 and total["orders"] > 0
    assert 0 < total["fill_ratio"] <= 1
    assert result["report"]["markets"][0]["fills"] == total["fills"]


def test_every_api_gives_the_same_report(recording: Path) -> None:
    """The same logic on the blocking, asyncio and trio APIs makes the same trades."""
    reports = [
        run_backtest(strategy, recording, api=api, seed=1).as_json()["report"]
        for api, strategy in RUNS
    ]
    assert reports[0] == reports[1] == reports[2]


def test_latency_changes_the_fills(recording: Path) -> None:
    """An order that takes a second to reach the exchange meets another book."""
    none = run_backtest(asyncio_strategy, recording, seed=2)
    slow = run_backtest(
        asyncio_strategy, recording, seed=2, latency={"KalshiNR": ConstantLatency(1.0)}
    )
    assert slow.run["latency"] != none.run["latency"]
    assert slow.report.as_json()["markets"] != none.report.as_json()["markets"]
    again = run_backtest(
        asyncio_strategy, recording, seed=2, latency={"KalshiNR": ConstantLatency(1.0)}
    )
    assert again.to_json() == slow.to_json()


def test_the_run_goes_on_to_the_end_and_settles() -> None:
    """A strategy that buys and returns at once: its order rests, fills later, and the market
    settles at the end of the recording (the shipped sample settles B yes)."""

    def buy_and_leave(ctx: Context) -> None:
        orders = Requests(ctx.product, "KalshiNR", cl_ord_ids=ClOrdIDGenerator("x-"))
        with ctx.client().order_entry() as oe:
            oe.place(orders.new_order("KXPAPER-26NOV20-B", "buy", 2, Decimal("0.99")))

    result = run_backtest(buy_and_leave, SAMPLE_RECORDING)
    row = {r.symbol: r for r in result.report.rows}["KXPAPER-26NOV20-B"]
    assert row.account.settled and row.account.result == "yes"
    assert row.account.bought == 2
    assert result.report.end == "end of the recording"
    assert result.simulated_seconds >= 5 + 420


def test_a_user_schedule_s_settlement_fee_counts() -> None:
    """A fee schedule charging 0.02 a winning contract at settlement and no trade fee: 10
    bought at 0.99 in each market (the order rests before the recorded book comes and fills
    at its price), B settled yes by the recording, A by ``settle=``. Each market by hand:
    payout 10 x 1 = 10.00, cost 10 x 0.99 = 9.90, settlement fee 10 x 0.02 = 0.20, so
    10.00 - 9.90 - 0.20 = -0.10; without the fee +0.10."""

    def buy(ctx: Context) -> None:
        orders = Requests(ctx.product, "KalshiNR", cl_ord_ids=ClOrdIDGenerator("x-"))
        with ctx.client().order_entry() as oe:
            for symbol in ("KXPAPER-26NOV20-A", "KXPAPER-26NOV20-B"):
                oe.place(orders.new_order(symbol, "buy", 10, Decimal("0.99")))

    free = FeeRates(taker=Decimal(0), maker=Decimal(0))
    charged = FeeRates(taker=Decimal(0), maker=Decimal(0), settlement=Decimal("0.02"))
    settle = {"KXPAPER-26NOV20-A": "yes"}
    for rates, fee, total in ((charged, "0.20", "-0.10"), (free, "0", "0.10")):
        result = run_backtest(
            buy, SAMPLE_RECORDING, fees=FeeSchedule(prediction=rates), settle=settle
        )
        for row in result.report.rows:
            account = row.account
            assert (account.settled, account.result) == (True, "yes")
            assert (account.bought, account.buy_cost) == (10, Decimal("9.90"))
            assert account.settlement_fee == Decimal(fee)
            assert account.total(None) == Decimal(total) == account.realized
        markets = result.report.as_json()["markets"]
        assert [Decimal(m["settlement_fee"]) for m in markets] == [Decimal(fee)] * 2
        assert result.report.total == 2 * Decimal(total)


def _section_rows(html: str, ident: str) -> list[list[str]]:
    """The cells of each body row of the tearsheet's section ``ident``."""
    section = html.split(f'<section id="{ident}">', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("</tr>") if row]


def test_a_market_s_fees_include_its_settlement_fee() -> None:
    """10 bought at 0.99 in each market at a trading rate of 1.9 and 0.02 a contract at
    settlement, both settled yes. A fills 9 + 1: trading fees 1.9 x 0.99 x 0.01 x 9 = 0.16929
    and x 1 = 0.01881, each rounded up to the cent, 0.17 + 0.02 = 0.19; settlement 10 x 0.02 =
    0.20; fees 0.39, realized 10.00 - 9.90 - 0.39 = -0.29. B fills 7 + 3: 0.14 + 0.06 = 0.20,
    fees 0.40, realized -0.30. The JSON, the table and the tearsheet (per market; per day, the
    settlements with their day's fills) say the same, 0.79 in all."""

    def buy(ctx: Context) -> None:
        orders = Requests(ctx.product, "KalshiNR", cl_ord_ids=ClOrdIDGenerator("x-"))
        with ctx.client().order_entry() as oe:
            for symbol in ("KXPAPER-26NOV20-A", "KXPAPER-26NOV20-B"):
                oe.place(orders.new_order(symbol, "buy", 10, Decimal("0.99")))

    rates = FeeRates(taker=Decimal("1.9"), maker=Decimal("1.9"), settlement=Decimal("0.02"))
    result = run_backtest(
        buy,
        SAMPLE_RECORDING,
        fees=FeeSchedule(prediction=rates),
        settle={"KXPAPER-26NOV20-A": "yes"},
    )
    report = result.report
    trading = [(r.account.fees, r.account.settlement_fee) for r in report.rows]
    assert trading == [(Decimal("0.19"), Decimal("0.20")), (Decimal("0.20"), Decimal("0.20"))]
    as_json = result.as_json()
    markets = as_json["report"]["markets"]
    money = [tuple(Decimal(m[k]) for k in ("fees", "settlement_fee", "realized")) for m in markets]
    assert money == [
        (Decimal("0.39"), Decimal("0.20"), Decimal("-0.29")),
        (Decimal("0.40"), Decimal("0.20"), Decimal("-0.30")),
    ]
    assert Decimal(as_json["report"]["fees"]) == Decimal("0.79")
    statistics = as_json["statistics"]["markets"].values()
    assert [Decimal(m["fees"]) for m in statistics] == [Decimal("0.39"), Decimal("0.40")]
    lines = report.table().splitlines()
    assert [line.split()[4] for line in lines if line.startswith("KXPAPER")] == ["0.39", "0.40"]
    html = tearsheet_html(result)
    assert [row[4] for row in _section_rows(html, "per-market")] == ["$0.39", "$0.40"]
    assert [row[3] for row in _section_rows(html, "per-day")] == ["$0.79"]


def test_recordings_run_in_sequence(tmp_path: Path, recording: Path) -> None:
    later = tmp_path / "day-2.log"
    alone = run_backtest(blocking_strategy, recording)
    first_end = alone.run["end"]
    with later.open("w") as out:
        write_recording(out, messages=50, seed=4, start=_epoch(first_end) + 3600)
    both = run_backtest(blocking_strategy, [recording, later])
    assert both.run["recordings"] == ["day-1.log", "day-2.log"]
    assert both.messages == alone.messages + 52  # 50 refreshes, 2 snapshots
    with pytest.raises(LocalProtocolError, match="starts before"):
        run_backtest(blocking_strategy, [later, recording])


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_a_strategy_that_raises_fails_the_run_with_its_time(recording: Path) -> None:
    async def broken(ctx: Context) -> None:
        with pytest.raises(TimeoutError):  # seven seconds of the recording's clock pass
            await asyncio.wait_for(asyncio.Event().wait(), 7)
        raise ValueError("bad quote")

    with pytest.raises(BacktestFailed, match=r"backtest day-1\.log: at .*:00:02\.") as info:
        run_backtest(broken, recording)
    assert "ValueError: bad quote" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)


def test_a_strategy_that_never_ends_fails_at_its_budget(recording: Path) -> None:
    async def forever(ctx: Context) -> None:
        await trio.sleep_forever()

    with pytest.raises(
        BacktestFailed, match=r"by more than overrun \(30 s of simulated time"
    ) as info:
        run_backtest(forever, recording, api="trio", overrun=30)
    assert "max_time" not in str(info.value)  # what the user set, not the simulation's name


def test_bad_arguments_are_named(recording: Path, tmp_path: Path) -> None:
    with pytest.raises(LocalProtocolError, match="plain function"):
        run_backtest(blocking_strategy, recording, api="asyncio")
    with pytest.raises(LocalProtocolError, match="at least one recording"):
        run_backtest(blocking_strategy, [])
    with pytest.raises(LocalProtocolError, match="overrun"):
        run_backtest(blocking_strategy, recording, overrun=0)

    def never(ctx: Context) -> None:
        raise AssertionError("a run with bad arguments must not start")

    with pytest.raises(LocalProtocolError, match=r"settle NOPE-1: not a market of the rec"):
        run_backtest(never, SAMPLE_RECORDING, settle={"NOPE-1": "yes"})
    with pytest.raises(LocalProtocolError, match=r"settle KXPAPER-26NOV20-A='maybe': the res"):
        run_backtest(never, SAMPLE_RECORDING, settle={"KXPAPER-26NOV20-A": "maybe"})
    bad = tmp_path / "bad.log"
    bad.write_text("2026-11-20T15:00:00Z IN KalshiMD/k 8=FIXT.1.1|9=5|35=W|10=000|\n")
    with pytest.raises(RecordingError, match=r"bad\.log: line 1"):
        run_backtest(blocking_strategy, bad)


def test_the_report_is_written(recording: Path, tmp_path: Path) -> None:
    result = run_backtest(blocking_strategy, recording, name="mm")
    paths = result.write(tmp_path)
    assert [p.name for p in paths] == ["mm.backtest.json", "mm.backtest.svg"]
    named = run_backtest(blocking_strategy, recording)  # after the recording, as paper's are
    assert [p.name for p in named.write(tmp_path)] == [
        "day-1.log.backtest.json",
        "day-1.log.backtest.svg",
    ]
    assert paths[0].read_text() == result.to_json()
    assert paths[1].read_text().startswith("<svg")


def test_the_asyncio_loop_and_trio_clock_are_the_recordings() -> None:
    """Inside a run, the loop's time and trio's clock read the recording's time."""
    seen: list[float] = []

    async def look(ctx: Context) -> None:
        seen.append(asyncio.get_running_loop().time() - ctx.time())

    async def look_trio(ctx: Context) -> None:
        seen.append(trio.current_time() - ctx.time())

    run_backtest(look, SAMPLE_RECORDING)
    run_backtest(look_trio, SAMPLE_RECORDING, api="trio")
    assert seen == [0.0, 0.0]


def test_a_seeded_queue_model_repeats_in_every_run(recording: Path) -> None:
    """A queue model that draws starts from its own state in each run: the same fills run
    after run (and so in a sweep's workers as in serial); other seeds draw other fills."""
    from kalshi_fix_sansio.simulator.gateway import queue_model

    model = queue_model("prob-power:2", 3)
    runs = [
        run_backtest(quoter, recording, params={"edge": 0.01}, queue_model=model).to_json()
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert json.loads(runs[0])["run"]["models"]["queue_model"].startswith("ProbQueue")
    fills = json.loads(runs[0])["report"]["markets"]
    others = [
        run_backtest(
            quoter, recording, params={"edge": 0.01}, queue_model=queue_model("prob-power:2", s)
        ).as_json()["report"]["markets"]
        for s in (4, 5, 6)
    ]
    assert any(other != fills for other in others)  # the draws move the fills


def test_the_drawdown_is_the_curve_s_and_markets_are_sampled_from_the_start() -> None:
    """The quoter on the shipped sample: its P&L curve (from 0 at the start) climbs and falls;
    the statistics' max drawdown is that curve's largest fall from its running peak, exactly,
    computed here by hand from the curve; every market is sampled from the run's start, the
    one that never trades too (one sample at the start, one a minute, one at the end)."""
    result = run_backtest(blocking_strategy, SAMPLE_RECORDING)
    peak = worst = Decimal(0)
    for point in result.report.points:
        peak = max(peak, point.pnl)
        worst = max(worst, peak - point.pnl)
    assert worst > Decimal("0.10")  # the curve does fall
    total = result.statistics["total"]
    assert Decimal(total["max_drawdown"]) == worst
    seconds = result.simulated_seconds  # 5 s of lead, then the recording
    expected = 1 + int((seconds - 1e-9) // 60) + 1
    markets = result.statistics["markets"]
    assert [markets[row.symbol]["samples"] for row in result.report.rows] == [expected] * 2
    assert total["samples"] == expected


@pytest.mark.parametrize("api", ["blocking", "asyncio"])
def test_sending_a_non_message_names_what_send_takes(api: str) -> None:
    def blocking(ctx: Context) -> None:
        with ctx.client().order_entry() as oe:
            oe.send("garbage")

    async def awaiting(ctx: Context) -> None:
        async with ctx.client().order_entry() as oe:
            await oe.send("garbage")

    strategy = blocking if api == "blocking" else awaiting
    with pytest.raises(BacktestFailed) as info:
        run_backtest(strategy, SAMPLE_RECORDING, api=api)
    assert isinstance(info.value.__cause__, TypeError)
    assert (
        "the strategy raised TypeError: send() takes a prediction message (a class of "
        "kalshi_fix_sansio.codec.prediction, as Requests builds them), got str 'garbage'"
    ) in str(info.value)

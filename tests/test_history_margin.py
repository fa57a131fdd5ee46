"""Margin (perps) history a user did not record (docs/history.md, "Margin (perps) markets"):
Kalshi's margin pages (trades, candlesticks, order book, funding rates) fetched sans-IO from the
mock gateway's REST app on a fake clock, then over real loopback TLS with 429s and 5xx, written
as a margin recording (its funding as ``# funding`` lines) the backtest runs; the page shapes
of perps_openapi; the command line and the page's commands (``mock-gateway --product margin
--replay --rest``: tests/test_history.py).
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import test_history as history_test
from gateway_fixtures import GatewayHarness
from test_history import (
    Memory,
    docs_commands,
    history_argv,
    import_refused_at_first,
    serve_docs_fetch,
)

from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.rest.history import (
    HistoryFetch,
    history_path,
    parse_candle,
    parse_orderbook,
    parse_trade,
)
from kalshi_fix_sansio.rest.pages import RestRateLimited
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.data.history import history_report, rows_from_fetch
from kalshi_fix_sansio.simulator.data.recording import check_recording, read_funding
from kalshi_fix_sansio.simulator.gateway import Faults, MarketHistory
from kalshi_fix_sansio.simulator.gateway.rest import RestServer
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_MARKETS,
    MARGIN_SAMPLE_RECORDING,
)
from kalshi_fix_sansio.simulator.testing.strategies import quoter
from kalshi_fix_sansio.trading.funding import FundingRate, FundingSchedule

A, B = MARGIN_SAMPLE_MARKETS
T0 = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.timezone.utc).timestamp()
SINCE, UNTIL = T0 - 60, T0 + 900
RATES = FundingSchedule(
    [
        FundingRate(A, T0 + 120, Decimal("0.0003"), Decimal("19.50")),
        FundingRate(B, T0 + 120, Decimal("-0.0002"), Decimal("19.55")),
        FundingRate(A, T0 + 8 * 3600, Decimal("0.0001"), Decimal("19.60")),  # after the window
    ]
)
MARGIN = ("--product", "margin")
HISTORY = MarketHistory.from_recordings([MARGIN_SAMPLE_RECORDING], product="margin")


def recorded_trades(path: Path | str) -> list[tuple[str, Decimal, Decimal, str]]:
    """(market, price, size, aggressor) of every trade entry of a margin recording, sorted."""
    return sorted(history_test.recorded_trades(path, "margin"))


SAMPLE_TRADES = recorded_trades(MARGIN_SAMPLE_RECORDING)


def memory(faults: Faults | None = None, history: MarketHistory = HISTORY) -> Memory:
    """A margin fetch answered by the mock's margin pages in memory, on a fake clock."""
    return Memory(faults=faults, history=history, funding=RATES)


def fetch(**options: Any) -> HistoryFetch:
    options.setdefault("base_url", "https://127.0.0.1:1")
    return HistoryFetch([A, B], SINCE, UNTIL, product="margin", **options)


# -- the sans-IO fetch against the mock's margin pages ---------------------------------------


def test_margin_reads_its_own_pages_without_a_cutoff() -> None:
    mock = memory()
    f = fetch(sources=("trades", "candles", "orderbook", "funding"))
    assert f.sources == ("trades", "candles", "orderbook", "funding")
    mock.run(f)
    assert f.missing == [] and f.cutoff is None
    pages = {s.split("?")[0] for s in mock.sent}
    assert pages == {
        "/trade-api/v2/margin/trades",
        f"/trade-api/v2/margin/markets/{A}/candlesticks",
        f"/trade-api/v2/margin/markets/{B}/candlesticks",
        f"/trade-api/v2/margin/markets/{A}/orderbook",
        f"/trade-api/v2/margin/markets/{B}/orderbook",
        "/trade-api/v2/margin/funding_rates/historical",
    }
    got = sorted(
        (t.market, t.price, t.size, "1" if t.taker_side == "bid" else "2") for t in f.trades
    )
    assert got == SAMPLE_TRADES and len(got) > 40
    assert {t.taker_side for t in f.trades} == {"bid", "ask"}
    assert all(c.bid is not None and c.offer is not None and c.bid < c.offer for c in f.candles)
    assert {c.market for c in f.candles} == {A, B}
    assert [(r.symbol, r.time) for r in f.funding] == [(A, T0 + 120), (B, T0 + 120)]
    book = next(b for b in f.books if b.market == A)
    assert book.bids[0][0] < book.offers[0][0] and book.bids[0][0] > 1  # perps prices


def test_margin_defaults_read_trades_candles_and_funding() -> None:
    assert fetch().sources == ("trades", "candles", "funding")
    assert HistoryFetch([A], SINCE, UNTIL, base_url="https://h").sources == ("trades", "candles")


def test_429_and_503_are_waited_out_and_a_refused_request_is_named() -> None:
    faults = Faults()
    faults.rest_rate_limit_next, faults.rest_retry_after = 2, 3.0
    faults.rest_error_next = 0
    mock = memory(faults=faults)
    f = fetch(sources=("trades",), retry_delay=0.5)
    start = mock.now
    events = mock.run(f)
    assert [e.retry_in for e in events if isinstance(e, RestRateLimited)] == [3.0, 3.0]
    assert mock.now == start + 6.0 and f.missing == [] and len(f.trades) == len(SAMPLE_TRADES)
    # a 503 retried with backoff from retry_delay, doubling
    faults.rest_error_next = 2
    g = fetch(sources=("trades",), retry_delay=0.25)
    mock.now = start
    mock.run(g)
    assert mock.now == start + 0.25 + 0.5 and g.missing == []
    # an unknown market's candlesticks are refused (404): named, the rest kept
    h = HistoryFetch([A, "KXNOSUCH-PERP"], SINCE, UNTIL, product="margin", base_url="https://h")
    memory().run(h)
    (line,) = h.missing
    assert line.startswith("the 1-minute candlesticks of KXNOSUCH-PERP from 2026-11-20T14:59")
    assert "404" in line and "historical" not in line  # margin has no historical page
    assert {c.market for c in h.candles} == {A} and h.funding


def test_kalshis_margin_record_shapes_and_bad_records() -> None:
    trade = parse_trade(
        {
            "trade_id": "p-1",
            "ticker": A,
            "count": "2.50",
            "price": "19.4800",
            "taker_side": "ask",
            "created_time": "2026-11-20T15:00:01.5Z",
        },
        "margin",
    )
    assert not isinstance(trade, str)
    assert (trade.price, trade.size, trade.bought) == (Decimal("19.48"), Decimal("2.5"), False)
    assert parse_trade({"taker_side": "yes"}, "margin") == (
        "taker_side is not 'bid' or 'ask': 'yes'"
    )
    bad = {"ticker": A, "taker_side": "bid", "count": "1", "price": "0"}
    assert parse_trade(bad, "margin") == "price 0 is not a price above $0"
    candle = parse_candle(
        A,
        60,
        {
            "end_period_ts": int(T0),
            "bid": {"open": "19.40", "low": "19.40", "high": "19.45", "close": "19.45"},
            "ask": {"open": "19.50", "low": "19.48", "high": "19.50", "close": "19.48"},
            "price": {"close": None},
            "volume": "12.00",
            "volume_notional_value_dollars": "233.76",
        },
        "margin",
    )
    assert not isinstance(candle, str)
    assert (candle.bid, candle.offer, candle.last, candle.volume) == (
        Decimal("19.45"),
        Decimal("19.48"),
        None,
        Decimal(12),
    )
    book = parse_orderbook(
        A,
        0.0,
        {"orderbook": {"bids": [["19.45", "3.00"], ["19.40", "5"]], "asks": [["19.50", "1"]]}},
        "margin",
    )
    assert not isinstance(book, str)
    assert book.bids == ((Decimal("19.45"), Decimal(3)), (Decimal("19.40"), Decimal(5)))
    assert book.offers == ((Decimal("19.50"), Decimal(1)),)
    assert parse_orderbook(A, 0.0, {"orderbook_fp": {}}, "margin") == (
        "the answer has no orderbook object"
    )
    assert (
        history_path("margin_candlesticks", A) == f"/trade-api/v2/margin/markets/{A}/candlesticks"
    )


def test_the_mocks_margin_pages_name_their_fields_as_perps_openapi() -> None:
    probe = memory()
    app, now, page = probe.app, probe.now, probe.page

    trades = page(history_path("margin_trades"), ticker=A, limit="5")
    assert set(trades) == {"trades", "cursor"} and trades["cursor"]
    fields = {"trade_id", "ticker", "count", "price", "created_time", "taker_side"}
    assert all(set(t) == fields for t in trades["trades"])
    window = {"start_ts": str(int(T0)), "end_ts": str(int(T0) + 600), "period_interval": "1"}
    body = page(history_path("margin_candlesticks", A), **window)
    assert set(body) == {"ticker", "candlesticks"} and body["candlesticks"]
    candle = body["candlesticks"][0]
    ohlc = {"open", "low", "high", "close"}
    assert set(candle) == {
        "end_period_ts",
        "bid",
        "ask",
        "price",
        "volume",
        "volume_notional_value_dollars",
        "open_interest",
        "open_interest_notional_value_dollars",
    }
    assert set(candle["bid"]) == set(candle["ask"]) == ohlc
    assert set(candle["price"]) == ohlc | {"mean", "previous"}
    book = page(history_path("margin_orderbook", A))["orderbook"]
    assert set(book) == {"bids", "asks"}
    bids, asks = ([Decimal(p) for p, _ in book[k]] for k in ("bids", "asks"))
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)  # each best first
    status, _, _ = app.handle("GET", history_path("trades") + "?ticker=" + A, {}, now)
    assert status == 404  # a margin history answers the margin pages only


# -- the recording, and funding in it --------------------------------------------------------


def test_the_margin_recording_carries_its_funding_and_backtests(tmp_path: Path) -> None:
    f = fetch(sources=("trades", "candles", "funding"))
    memory().run(f)
    out = tmp_path / "perps.log"
    report = history_report(f, out, candle_size=Decimal(4))
    assert report.complete and report.product == "margin" and report.messages > 20
    text = "\n".join(report.lines())
    assert "public perps trades" in text and "no mark price" in text and "# funding" in text
    assert report.as_json()["counts"][A]["funding rates"] == 1
    info = check_recording(out)
    assert info.product == "margin" and set(info.markets) == {A, B}
    assert recorded_trades(out) == SAMPLE_TRADES
    assert read_funding(out).rates == FundingSchedule(RATES.rates[:2]).rates
    rows = rows_from_fetch(f, candle_size=Decimal(4))
    assert {r.size for r in rows if r.kind == "book"} == {0, 4}
    plain = run_backtest(quoter, out, params={"size": 3})
    paid = run_backtest(quoter, out, params={"size": 3}, funding=read_funding(out))
    assert plain.report.rows and not plain.report.funding
    payments = paid.report.funding or ()
    assert [p.rate.symbol for p in payments] == [A]  # the position held at T0 + 120
    assert paid.report.funding_total == sum(p.amount for p in payments) != 0
    # the mock serves an imported recording's funding lines back: the same rates again
    again = memory(history=MarketHistory.from_recordings([out], product="margin"))
    again.app.funding = None
    g = fetch(sources=("trades", "funding"))
    again.run(g)
    assert g.missing == [] and [(r.symbol, r.time, r.rate) for r in g.funding] == [
        (r.symbol, r.time, r.rate) for r in f.funding
    ]


# -- end to end over loopback TLS, the command line ------------------------------------------


def test_margin_over_tls_with_429_and_503_then_the_command_and_backtest(
    margin_gateway: GatewayHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = margin_gateway
    with RestServer(h.gateway, history=HISTORY) as rest:
        rest.app.funding = RATES
        faults = h.gateway.faults
        report = import_refused_at_first(h, rest, [A, B], tmp_path / "api.log", product="margin")
        assert report.complete and report.sources == ("trades", "candles", "funding")
        out = tmp_path / "cli.log"
        capsys.readouterr()
        assert main(history_argv([A, B], out, rest.base_url, h.cert, *MARGIN)) == 0
        printed = capsys.readouterr().out
        assert f"wrote {out}" in printed and "funding rates" in printed
        assert out.read_text() == (tmp_path / "api.log").read_text()
        faults.rest_error_next = 10**6  # Kalshi down: nothing fetched, nothing written
        gone = tmp_path / "gone.log"
        assert (
            main(history_argv([A, B], gone, rest.base_url, h.cert, *MARGIN, "--max-retries", "1"))
            == 1
        )
        said = capsys.readouterr()
        assert not gone.exists() and "not fetched" in said.out and "server error 503" in said.out
        faults.rest_error_next = 0
    assert recorded_trades(out) == SAMPLE_TRADES
    bt = tmp_path / "bt"
    strategy = "kalshi_fix_sansio.simulator.testing.strategies:quoter"
    argv = ["backtest", strategy, str(out), "--out", str(bt), "--funding", str(out)]
    assert main(argv) == 0
    result = json.loads((bt / "cli.log.backtest.json").read_text())
    assert result["run"]["funding"] == {"rates": 2, "markets": [A, B]}


def test_the_docs_margin_commands_run_against_the_mock(
    margin_gateway: GatewayHarness,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fetch_cmd, backtest_cmd = [c for c in docs_commands() if "perps.log" in c]
    assert fetch_cmd[:3] == ["history", "--product", "margin"]
    since = fetch_cmd[fetch_cmd.index("--since") + 1]
    start = datetime.datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
    names = fetch_cmd[fetch_cmd.index("--markets") + 1].split(",")
    rates = FundingSchedule(
        [FundingRate(m, start + 120, Decimal("1e-4"), Decimal(100)) for m in names]
    )
    markets = serve_docs_fetch(margin_gateway, fetch_cmd, tmp_path, monkeypatch, rates)
    assert set(check_recording("perps.log").markets) == set(markets)
    assert len(read_funding("perps.log")) == len(markets)
    capsys.readouterr()
    assert main(backtest_cmd) == 0

"""Instruments by name (`kalshi_fix_sansio.rest.instruments`): Kalshi's series, events and markets
read into a catalogue — the parsers on Kalshi-shaped records, the fetch against the mock's REST
pages in memory (pages, 429s waited out, refusals named) and over real TLS through the blocking
and async REST companions, the cache's expiry and its file, the builders' tick checks on a
market's grid, and ``kalshi-fix markets``.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trio
from gateway_fixtures import GatewayHarness
from test_history import Memory as HistoryMemory

from kalshi_fix_sansio import Requests
from kalshi_fix_sansio.adapters.rest import AsyncRestCompanion, RestCompanion
from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.cli.markets import STATUSES
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.rest.instruments import (
    MARKET_STATUSES,
    EventInfo,
    Instruments,
    InstrumentsFetch,
    MarketInfo,
    PriceRange,
    SeriesInfo,
    parse_event,
    parse_market,
    parse_series,
)
from kalshi_fix_sansio.rest.pages import RestRateLimited
from kalshi_fix_sansio.simulator.gateway import Exchange, Faults, RestApp
from kalshi_fix_sansio.simulator.gateway.rest import RestServer
from kalshi_fix_sansio.trading.builders import RequestError

D = Decimal
T0 = 1_790_000_000.0

MARKET = {
    "ticker": "KXHIGHNY-24JAN01-T60",
    "event_ticker": "KXHIGHNY-24JAN01",
    "market_type": "binary",
    "title": "Will the high in NYC be above 60?",
    "status": "active",
    "price_level_structure": "tapered_deci_cent",
    "price_ranges": [
        {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
        {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
        {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
    ],
    "close_time": "2024-01-02T04:59:00Z",
    "expiration_time": "2024-01-09T15:00:00Z",
}


def test_a_market_record_in_kalshis_shape() -> None:
    market = parse_market(MARKET)
    assert isinstance(market, MarketInfo)
    assert (market.ticker, market.event, market.series) == (
        "KXHIGHNY-24JAN01-T60",
        "KXHIGHNY-24JAN01",
        "KXHIGHNY",
    )
    assert market.status == "open"  # Kalshi's lifecycle word "active" is the filter's "open"
    assert market.tick_size == D("0.001")
    assert market.tick_at(D("0.05")) == D("0.001")
    assert market.tick_at(D("0.50")) == D("0.01")
    assert market.on_grid(D("0.905")) and not market.on_grid(D("0.505"))
    assert market.close_time == 1704171540.0
    # without price_ranges: the named structure; without it: the legacy cents
    bare = {k: v for k, v in MARKET.items() if k != "price_ranges"}
    named = parse_market(bare)
    assert isinstance(named, MarketInfo) and len(named.price_ranges) == 3
    legacy = parse_market({**bare, "price_level_structure": None, "tick_size": 1})
    assert isinstance(legacy, MarketInfo)
    assert legacy.price_ranges == (PriceRange(D(0), D(1), D("0.01")),)
    margin = parse_market({"ticker": "BTC-PERP", "title": "BTC", "tick_size": "0.5000"}, "margin")
    assert isinstance(margin, MarketInfo) and margin.tick_at(D("100.5")) == D("0.5")


@pytest.mark.parametrize(
    ("record", "named"),
    [
        ({**MARKET, "ticker": None}, "ticker is missing"),
        ({**MARKET, "ticker": "A B"}, "is not a ticker"),
        ({**MARKET, "price_ranges": [{"start": "0", "end": "2", "step": "0.01"}]}, "within $0-$1"),
        ({**MARKET, "price_ranges": None, "price_level_structure": "odd"}, "'odd' is not one"),
        ({**MARKET, "close_time": "yesterday"}, "close_time is not an ISO 8601"),
        ({**MARKET, "status": 3}, "status is missing or not printable"),
    ],
)
def test_a_bad_market_record_is_named(record: dict[str, Any], named: str) -> None:
    out = parse_market(record)
    assert isinstance(out, str) and named in out


def test_an_event_with_nested_markets_and_a_series() -> None:
    record = {
        "event_ticker": "KXWIN-26",
        "series_ticker": "KXWIN",
        "title": "Who wins?",
        "mutually_exclusive": True,
        "markets": [
            {**MARKET, "ticker": "KXWIN-26-A", "event_ticker": "KXWIN-26"},
            {**MARKET, "ticker": "KXWIN-26-B", "event_ticker": "KXWIN-26"},
            {"ticker": "bad one"},
        ],
    }
    read = parse_event(record)
    assert not isinstance(read, str)
    event, markets, problems = read
    assert event == EventInfo("KXWIN-26", "KXWIN", "Who wins?", True, ("KXWIN-26-A", "KXWIN-26-B"))
    assert [m.ticker for m in markets] == ["KXWIN-26-A", "KXWIN-26-B"]
    assert len(problems) == 1 and "a market of event KXWIN-26" in problems[0]
    assert "mutually_exclusive is not" in str(parse_event({**record, "mutually_exclusive": "y"}))
    assert parse_series({"ticker": "KXWIN", "title": "Winners"}) == SeriesInfo("KXWIN", "Winners")


def catalogue() -> Instruments:
    out = Instruments(fetched_at=T0, max_age=60)
    out.add(SeriesInfo("KXWIN", "Election winners", "Politics"))
    out.add(EventInfo("KXWIN-26", "KXWIN", "Who wins in 2026?", True))
    for name in "ABC":
        out.add(MarketInfo(f"KXWIN-26-{name}", "KXWIN-26", "KXWIN", f"Candidate {name} wins"))
    out.add(MarketInfo("KXRAIN-26-X", "KXRAIN-26", "KXRAIN", "Rain in NYC", status="closed"))
    return out


def test_the_catalogue_looks_up_searches_expires_and_saves() -> None:
    cat = catalogue()
    assert cat.event("KXWIN-26").markets == ("KXWIN-26-A", "KXWIN-26-B", "KXWIN-26-C")
    assert cat.market("KXWIN-26-B").title == "Candidate B wins"
    assert cat.series("KXRAIN") == SeriesInfo("KXRAIN")  # known from its events only
    assert [m.ticker for m in cat.markets(status="closed")] == ["KXRAIN-26-X"]
    assert [m.ticker for m in cat.markets(series="KXWIN", event="KXWIN-26")][-1] == "KXWIN-26-C"
    assert [m.ticker for m in cat.search("election")] == [
        "KXWIN-26-A",
        "KXWIN-26-B",
        "KXWIN-26-C",
    ]  # the series' title
    assert [m.ticker for m in cat.search("rain in")] == ["KXRAIN-26-X"]
    assert cat.event_of("KXWIN-26-A") == cat.event("KXWIN-26")
    assert cat.fresh(T0 + 59.9) and not cat.fresh(T0 + 60)
    assert Instruments().fresh(10**12)  # made by hand: never stale
    with pytest.raises(LocalProtocolError, match="market 'NOPE' is not in the catalogue"):
        cat.market("NOPE")
    with pytest.raises(LocalProtocolError, match="event 'NOPE'"):
        cat.event("NOPE")
    limit = cat.event_limit("KXWIN-26", 100)
    assert limit.markets == cat.event("KXWIN-26").markets and limit.mutually_exclusive
    again = Instruments.loads(cat.dumps())
    assert again.dumps() == cat.dumps() and again.fresh(T0) and not again.fresh(T0 + 60)
    assert again.market("KXWIN-26-A") == cat.market("KXWIN-26-A")
    with pytest.raises(LocalProtocolError, match="not a saved instruments catalogue"):
        Instruments.loads("{}")
    with pytest.raises(LocalProtocolError, match="margin has none"):
        Instruments("margin").event_limit("X", 1)


class Memory(HistoryMemory):
    """An `InstrumentsFetch` answered by the mock's `RestApp` in memory, on a fake clock (the
    history tests' runner: the two fetches loop alike)."""

    def __init__(self, product: str = "prediction", faults: Faults | None = None) -> None:
        self.exchange = Exchange(product)
        self.app = RestApp(self.exchange, {}, faults or Faults(), instruments=catalogue())
        self.now = T0
        self.sent: list[str] = []


def test_the_mocks_pages_by_cursor_with_429s_waited_out() -> None:
    faults = Faults()
    faults.rest_rate_limit_next, faults.rest_retry_after = 2, 3
    mem = Memory(faults=faults)
    mem.exchange.seed_market("KXWIN-26-A", now=T0)  # listed: open; the others unopened
    mem.exchange.seed_market("SOLO", now=T0)  # not described: named from its ticker
    fetch = InstrumentsFetch(base_url="https://127.0.0.1:1", page_size=1)
    events = mem.run(fetch)
    assert [type(e) for e in events] == [RestRateLimited, RestRateLimited]
    assert mem.now == T0 + 6  # two Retry-After waits on the fake clock
    assert len(mem.sent) == 2 + 3  # three events (KXWIN-26, KXRAIN-26, SOLO), one a page
    assert all("with_nested_markets=true" in s for s in mem.sent)
    cat = fetch.instruments
    assert not fetch.missing and cat.fetched_at == T0 + 6
    assert cat.market("KXWIN-26-A").status == "open"
    assert cat.market("KXWIN-26-B").status == "unopened"
    assert cat.event("KXWIN-26").mutually_exclusive
    assert cat.market("SOLO").event == "SOLO" and not cat.event("SOLO").mutually_exclusive


def test_one_event_one_series_and_refusals_named() -> None:
    mem = Memory()
    fetch = InstrumentsFetch(base_url="https://127.0.0.1:1", event="KXWIN-26", series="KXWIN")
    mem.run(fetch)
    assert [s.split("?")[0] for s in mem.sent] == [
        "/trade-api/v2/events/KXWIN-26",
        "/trade-api/v2/series/KXWIN",
    ]
    assert fetch.instruments.series("KXWIN").title == "Election winners"
    assert len(fetch.instruments.event("KXWIN-26").markets) == 3
    missing = InstrumentsFetch(base_url="https://127.0.0.1:1", event="NOPE-1")
    mem.run(missing)
    assert missing.missing == ["the event NOPE-1: not fetched (HTTP status 404)"]
    down = Faults()
    down.rest_error_next = 99
    gone = InstrumentsFetch(base_url="https://127.0.0.1:1", max_retries=2, retry_delay=0.1)
    Memory(faults=down).run(gone)
    assert gone.missing and "server error 503 3 times" in gone.missing[0]
    margin = Memory("margin")
    margin.exchange.seed_market("BTC-PERP", now=T0)
    perps = InstrumentsFetch("margin", base_url="https://127.0.0.1:1")
    margin.run(perps)
    assert margin.sent[0].startswith("/trade-api/v2/margin/markets?")
    assert perps.instruments.market("BTC-PERP").tick_size == D("0.0001")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"status": "live"}, "status must be one of"),
        ({"series": "A B"}, "series is letters"),
        ({"page_size": 500}, "at most 200"),
        ({"product": "margin", "series": "X"}, "no series or events"),
        ({"tickers": "ABC"}, "a list of tickers"),
        ({"base_url": "http://x"}, "https://host"),
    ],
)
def test_bad_fetch_arguments_are_named(options: dict[str, Any], named: str) -> None:
    with pytest.raises(LocalProtocolError, match=named):
        InstrumentsFetch(**options)


def test_the_builders_check_a_price_on_the_markets_grid() -> None:
    market = parse_market(MARKET)
    assert isinstance(market, MarketInfo)
    nr = Requests("prediction", "KalshiNR", use_dollars=True)
    order = nr.new_order(market.ticker, "buy", 1, D("0.905"), tick=market)
    assert order.price == D("0.905")
    with pytest.raises(RequestError, match=r"not on the tick of \$0.01"):
        nr.new_order(market.ticker, "buy", 1, D("0.505"), tick=market)
    narrow = MarketInfo("N", price_ranges=(PriceRange(D("0.2"), D("0.8"), D("0.01")),))
    with pytest.raises(RequestError, match="outside the price ranges of N"):
        nr.new_order("N", "buy", 1, D("0.9"), tick=narrow)
    with pytest.raises(RequestError, match="not on the tick"):
        nr.replace(order, price=D("0.505"), tick=market)


# -- real TLS: the mock gateway's REST server, both companions, the command ------------------


def _described(h: GatewayHarness) -> Instruments:
    for name in "ABC":
        h.gateway.seed_market(f"KXWIN-26-{name}")
    return catalogue()


@pytest.mark.parametrize("runner", ["blocking", "asyncio", "trio"])
def test_the_mocks_rest_over_tls_through_each_runner(
    prediction_gateway: GatewayHarness, runner: str
) -> None:
    h = prediction_gateway
    with RestServer(h.gateway, instruments=_described(h)) as rest:
        h.gateway.faults.rest_rate_limit_next, h.gateway.faults.rest_retry_after = 1, 0.05
        fetch = InstrumentsFetch(base_url=rest.base_url, series="KXWIN", status="open")
        if runner == "blocking":
            events = RestCompanion(verify=h.ssl_context()).run(fetch)
        elif runner == "asyncio":
            events = asyncio.run(AsyncRestCompanion(verify=h.ssl_context()).run(fetch))
        else:
            events = trio.run(AsyncRestCompanion(verify=h.ssl_context()).run, fetch)
    assert [type(e) for e in events] == [RestRateLimited]
    assert not fetch.missing
    cat = fetch.instruments
    assert [m.ticker for m in cat.markets()] == ["KXWIN-26-A", "KXWIN-26-B", "KXWIN-26-C"]
    assert cat.series("KXWIN").category == "Politics"
    assert cat.event("KXWIN-26").mutually_exclusive


def test_kalshi_fix_markets_lists_saves_and_loads(
    prediction_gateway: GatewayHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = prediction_gateway
    assert STATUSES == MARKET_STATUSES
    saved = tmp_path / "cat.json"
    with RestServer(h.gateway, instruments=_described(h)) as rest:
        base = ["markets", "--base-url", rest.base_url, "--pinned-cert", str(h.cert)]
        capsys.readouterr()
        assert main([*base, "--event", "KXWIN-26", "--save", str(saved)]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[-1] == "3 market(s)"
        assert lines[0].split()[:4] == ["KXWIN-26-A", "KXWIN-26", "open", "0.01"]
        assert main([*base, "--series", "KXWIN", "--search", "candidate b", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert [r["ticker"] for r in rows] == ["KXWIN-26-B"] and rows[0]["status"] == "open"
        h.gateway.faults.rest_error_next = 10**6  # Kalshi down: exit 1, named
        assert main([*base, "--max-retries", "1"]) == 1
        assert "not fetched" in capsys.readouterr().err
        h.gateway.faults.rest_error_next = 0
    assert main(["markets", "--load", str(saved), "--json"]) == 0  # offline
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert Instruments.loads(saved.read_text()).event("KXWIN-26").mutually_exclusive


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--status", "live"], "invalid choice"),
        (["--max-retries", "0"], "--max-retries takes a count >= 1"),
        (["--pinned-cert", "/nonexistent.pem"], "no such file"),
        (["--load", "/nonexistent.json"], "--load /nonexistent.json: no such file"),
        (["--series", "A B"], "series is letters"),
        (["--product", "margin", "--event", "E"], "margin markets have no series"),
        (["--save", "/nonexistent/dir/x.json"], "its folder does not exist"),
    ],
)
def test_markets_usage_mistakes_exit_2_with_one_line(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["markets", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert named in err and (len(err.splitlines()) == 1 or "usage:" in err)

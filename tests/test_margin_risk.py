"""Margin risk as a pre-trade control: Kalshi's ``/margin/risk``, ``/margin/notional_risk_limit``
and ``/margin/risk_parameters`` read into `MarginFigures`, the two limits judged on them in the
order gate (hand arithmetic for long and short positions), the mock's pages in Kalshi's
published shape, and the whole path over TLS."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness
from openapi_check import page_errors
from test_driver import PUBLIC, SIGNER, Harness
from test_risk import nos as risk_nos

from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio.adapters.blocking import MarginFixClient
from kalshi_fix_sansio.adapters.rest import RestCompanion
from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.rest.marginrisk import (
    MARGIN_RISK_PAGES,
    MarginRiskFetch,
    parse_margin_risk,
    parse_notional_risk_limit,
)
from kalshi_fix_sansio.rest.pages import RestResponse, rest_headers
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.simulator.gateway import mock_api_key, write_mock_api_key
from kalshi_fix_sansio.simulator.gateway.rest import RestApp, RestServer
from kalshi_fix_sansio.trading.marginrisk import (
    MarginFigures,
    PositionRisk,
    equity_of,
    liquidation_price,
)
from kalshi_fix_sansio.trading.risk import RiskChecker, RiskLimitExceeded, RiskLimits
from kalshi_fix_sansio.trading.tracker import OrderTracker

D = Decimal
SYM = "BTC-PERP"


def nos(cl: str, side: str, qty: Any, price: Any = "100") -> Any:
    return risk_nos(cl, side, qty, price, SYM, "margin")


def filled(
    tracker: OrderTracker,
    cl: str,
    side: str,
    qty: Any,
    price: Any = "100",
    when: datetime | None = None,
    symbol: str = SYM,
) -> None:
    """An order of ``qty`` in ``symbol`` sent and filled in full at ``price`` (at ``when``: its
    TransactTime)."""
    tracker.sent(risk_nos(cl, side, qty, price, symbol, "margin"))
    tracker.on_message(
        m.ExecutionReport(
            order_id=f"X-{cl}",
            cl_ord_id=cl,
            exec_id=f"{cl}-f",
            exec_type=m.ExecType.TRADE,
            ord_status=m.OrdStatus.FILLED,
            side=m.Side.BUY if side == "buy" else m.Side.SELL,
            symbol=symbol,
            order_qty=D(qty),
            cum_qty=D(qty),
            leaves_qty=D(0),
            avg_px=D(price),
            price=D(price),
            last_qty=D(qty),
            last_px=D(price),
            transact_time=when,
        )
    )


def figures(position: Any, liquidation: Any, **more: Any) -> MarginFigures:
    """Kalshi's figures of one position in SYM at mark 100 with maintenance rate 0.1."""
    q = D(position)
    risk = PositionRisk(SYM, q, D(100), abs(q) * 100, abs(q) * 10, D(liquidation))
    return MarginFigures(positions={SYM: risk}, **more)


def checker(limits: RiskLimits, held: Any, side: str) -> RiskChecker:
    tracker = OrderTracker()
    if held:
        filled(tracker, "held", side, held)
    return RiskChecker(limits, product="margin", tracker=tracker)


def refusal(rc: RiskChecker, message: Any) -> RiskLimitExceeded:
    with pytest.raises(RiskLimitExceeded) as info:
        rc.check(message)
    return info.value


# -- the arithmetic, by hand ---------------------------------------------------------------------


def test_the_liquidation_price_carried_forward_long_by_hand() -> None:
    # long 10 at mark 100, maintenance 100 (rate 0.1), Kalshi's liquidation price 80:
    # the equity it stands on is 10 x 100 - 10 x 0.9 x 80 = 1000 - 720 = 280
    assert equity_of(D(10), D(100), D("0.1"), D(80)) == 280
    # 15 long on 280: L' = (1500 - 280) / (15 x 0.9) = 1220 / 13.5 = 90.37...: 9.6 % away
    assert liquidation_price(D(15), D(100), D("0.1"), D(280)) == D(1220) / D("13.5")
    rc = checker(RiskLimits(min_liquidation_distance="0.1"), 10, "buy")
    rc.margin = figures(10, 80)
    assert figures(10, 80).positions[SYM].liquidation_distance == D("0.2")
    error = refusal(rc, nos("b5", "buy", 5))
    assert error.limit == "min_liquidation_distance" and error.symbol == SYM
    assert error.actual == (D(100) - D(1220) / D("13.5")) / 100
    assert "a position of 15 would stand 0.0963 of the mark 100 from liquidation < 0.1" in str(
        error
    )
    # 14 long: L' = (1400 - 280) / 12.6 = 88.89: 11.1 % away, passes
    rc.check(nos("b4", "buy", 4))
    # paying 102 for those 4 costs 4 x 2 of equity at the mark: L' = (1400 - 272) / 12.6 =
    # 89.52, still 10.5 % away; paying 105: (1400 - 260) / 12.6 = 90.48, 9.5 %: refused
    rc.check(nos("b4", "buy", 4, "102"))
    refusal(rc, nos("b4", "buy", 4, "105"))
    # selling takes risk off: always passes
    rc.check(nos("s9", "sell", 9))


def test_the_liquidation_price_carried_forward_short_by_hand() -> None:
    # short 10 at mark 100, rate 0.1, liquidation price 120: equity 10 x 1.1 x 120 - 1000 = 320
    assert equity_of(D(-10), D(100), D("0.1"), D(120)) == 320
    rc = checker(RiskLimits(min_liquidation_distance="0.1"), 10, "sell")
    rc.margin = figures(-10, 120)
    # 15 short: L' = (320 + 1500) / (15 x 1.1) = 110.30: 10.3 % away, passes
    rc.check(nos("s5", "sell", 5))
    # 16 short: L' = (320 + 1600) / 17.6 = 109.09: 9.1 % away, refused
    error = refusal(rc, nos("s6", "sell", 6))
    assert error.actual == (D(1920) / D("17.6") - 100) / 100
    # selling above the mark adds equity: 6 at 104 -> L' = (320 + 24 + 1600) / 17.6 = 110.45
    rc.check(nos("s6", "sell", 6, "104"))
    rc.check(nos("b10", "buy", 10))  # buying back: less risk


def test_open_orders_count_at_their_worst_whatever_their_number() -> None:
    rc = checker(RiskLimits(min_liquidation_distance="0.1"), 10, "buy")
    rc.margin = figures(10, 80)
    # two resting buys of 2: the worst case is 14 long, a third buy of 1 makes 15: refused
    for n in (1, 2):
        rc.tracker.sent(nos(f"r{n}", "buy", 2))
    error = refusal(rc, nos("b1", "buy", 1))
    assert "a position of 15" in str(error)


def test_the_notional_limit_is_kalshis_usage_plus_the_order() -> None:
    limits = RiskLimits(max_notional_risk_use="0.9")
    rc = checker(limits, 0, "buy")
    rc.margin = MarginFigures(
        default_notional_limit=D(5000),
        notional_limits={SYM: D(2000)},
        notional_usage=D(3000),
        usage_by_market={SYM: D(1000)},
    )
    rc.check(nos("b8", "buy", 8))  # 1000 + 800 = 1800 <= 0.9 x 2000
    error = refusal(rc, nos("b9", "buy", 9))  # 1900 > 1800
    assert error.limit == "max_notional_risk_use" and error.actual == 1900
    assert "x Kalshi's limit 2000" in str(error)
    # the account: 3000 + 700 = 3700 > 0.9 x 4000 = 3600 (the market's 1700 passes)
    rc.margin = MarginFigures(
        default_notional_limit=D(5000),
        notional_limits={SYM: D(2000)},
        notional_usage=D(3000),
        usage_by_market={SYM: D(1000)},
        account_notional_limit=D(4000),
    )
    rc.check(nos("b6", "buy", 6))
    error = refusal(rc, nos("b7", "buy", 7))
    assert error.symbol is None and "account notional 3700" in str(error)


def test_without_figures_orders_that_take_risk_are_refused() -> None:
    rc = checker(RiskLimits(min_liquidation_distance="0.1"), 10, "buy")
    error = refusal(rc, nos("b1", "buy", 1))
    assert "Kalshi's margin figures were not read yet" in str(error)
    rc.check(nos("s1", "sell", 1))  # taking risk off needs no figures


def test_margin_limits_are_for_margin_sessions() -> None:
    with pytest.raises(LocalProtocolError, match="margin session only"):
        RiskChecker(
            RiskLimits(min_liquidation_distance="0.1"),
            product="prediction",
            tracker=OrderTracker(),
        )
    with pytest.raises(LocalProtocolError, match="max_notional_risk_use must be a finite"):
        RiskLimits(max_notional_risk_use=0)


# -- the pages -----------------------------------------------------------------------------------


def test_unreadable_pages_say_where() -> None:
    assert parse_margin_risk({"positions": "x"}) == "positions is not a list"
    bad = {"positions": [{"market_ticker": SYM, "position": "ten"}]}
    assert parse_margin_risk(bad) == "positions[0].position: 'ten' is not a number"
    assert "total_current_usage" in str(
        parse_notional_risk_limit({"default_notional_value_risk_limit": "1"})
    )


def mock(h: Harness) -> RestApp:
    return RestApp(h.exchange, {"key-1": PUBLIC, "key-2": PUBLIC})


def ask(h: Harness, app: RestApp, name: str, key: str = "key-1") -> tuple[int, Any]:
    path = MARGIN_RISK_PAGES[name]
    status, _, body = app.handle("GET", path, rest_headers(key, SIGNER, "GET", path, h.now), h.now)
    return status, json.loads(body)


def test_the_mock_pages_are_kalshis_shape_and_its_liquidation_price_is_the_rule() -> None:
    h = Harness("margin")
    h.start()
    app = mock(h)
    terms = app.margin_terms
    assert terms is not None
    terms.collateral = D("50.1")
    h.other_trades("sell", [10])
    h.place("long", "buy", 10)
    h.pump()
    h.read()
    pages = {name: ask(h, app, name) for name in MARGIN_RISK_PAGES}
    for name, (status, body) in pages.items():
        assert status == 200 and page_errors("margin", name, body) == [], name
    risk = pages["margin_risk"][1]
    (row,) = risk["positions"]
    assert (row["position"], row["mark_price"], row["maintenance_margin_required"]) == (
        "10.00",
        "19.4000",
        "19.4000",
    )
    # long 10 at 19.4 with fees of 0.10: equity 50.1 - 0.1 = 50, maintenance rate 0.1:
    # L = (10 x 19.4 - 50) / (10 x 0.9) = 144 / 9 = 16; the client reads the equity back
    assert row["estimated_liquidation_price"] == "16.0000"
    assert equity_of(D(10), D("19.4"), D("0.1"), D(16)) == 50
    assert risk["account_leverage"] == 10 and risk["total_position_notional"] == "194.0000"
    limit = pages["notional_risk_limit"][1]
    assert limit["current_usage_by_market_ticker"] == {SYM: "194.0000"}
    assert limit["default_notional_value_risk_limit"] == "5000.0000"
    # a key without the permission is refused; no key at all is 401
    terms.denied.add("key-2")
    assert ask(h, app, "margin_risk", "key-2")[0] == 403
    status, _, _ = app.handle("GET", MARGIN_RISK_PAGES["margin_risk"], {}, h.now)
    assert status == 401


# -- end to end over TLS -------------------------------------------------------------------------


def test_the_gate_judges_kalshis_figures_read_over_tls(margin_gateway: GatewayHarness) -> None:
    h = margin_gateway
    gateway = h.gateway
    with RestServer(gateway) as rest:
        terms = rest.app.margin_terms
        assert terms is not None
        terms.collateral = D(100)
        fetch = MarginRiskFetch(Credentials("key-1", h.signers["key-1"]), base_url=rest.base_url)
        RestCompanion(verify=h.ssl_context()).run(fetch)
        assert fetch.missing == [] and fetch.refused is None
        read = fetch.figures
        assert read is not None and read.positions == {}
        assert read.default_notional_limit == 5000 and read.liquidation_ratio == 1
        assert read.initial_margin_multiplier == {"default": D("1.5")}
        terms.denied.add("key-1")
        refused = MarginRiskFetch(
            Credentials("key-1", h.signers["key-1"]), base_url=rest.base_url, parameters=False
        )
        RestCompanion(verify=h.ssl_context()).run(refused)
    assert refused.figures is None
    assert refused.refused == (
        "Kalshi refused /trade-api/v2/margin/risk (403): the API key lacks the permission to "
        "read it"
    )


def test_a_fetch_needs_a_key_and_reads_a_403_as_a_refusal() -> None:
    with pytest.raises(LocalProtocolError, match="credentials must be Credentials"):
        MarginRiskFetch(None, base_url="https://127.0.0.1:1")  # type: ignore[arg-type]
    fetch = MarginRiskFetch(Credentials("key-1", SIGNER), base_url="https://127.0.0.1:1")
    request = fetch.next_request(0.0)
    assert request is not None and request.path == MARGIN_RISK_PAGES["margin_risk"]
    fetch.receive(RestResponse(401, b"{}"), 0.0)
    assert fetch.refused is not None and "(401): the signature" in fetch.refused


def test_a_margin_session_refuses_on_kalshis_figures_before_the_wire(
    margin_gateway: GatewayHarness,
) -> None:
    h = margin_gateway
    gateway = h.gateway
    limits = RiskLimits(min_liquidation_distance="0.1", max_notional_risk_use="0.5")
    client = MarginFixClient(h.credentials("key-1"), **h.client_kwargs())
    with RestServer(gateway) as rest, client.order_entry(risk_limits=limits) as session:
        terms = rest.app.margin_terms
        assert terms is not None
        terms.collateral, terms.notional_limit = D(50), D(1000)
        with pytest.raises(RiskLimitExceeded, match="margin figures were not read yet"):
            session.place(nos("early", "buy", 1, "19.6"))
        session.risk_limits = None  # the first position is taken without the margin limits
        session.place(nos("open", "buy", 10, "19.6"), until="filled", timeout=10)
        session.risk_limits = limits
        fetch = MarginRiskFetch(h.credentials("key-1"), base_url=rest.base_url)
        RestCompanion(verify=h.ssl_context()).run(fetch)
        read = fetch.figures
        assert read is not None and fetch.missing == []
        held = read.positions[SYM]
        assert (held.position, held.mark_price) == (10, D("19.6"))
        session.margin_figures = read
        gauges = session.metrics.snapshot().margin
        assert gauges["margin_total_notional"] == 196.0
        assert gauges["margin_min_liquidation_distance"] == float(held.liquidation_distance or 0)
        # long 10 at 19.6 on about 50 of equity: about 17 % from liquidation; 11 long keeps
        # about 15 %, 15 long would stand under 10 %: refused before anything is sent
        seq = session.driver.supervisor.session.next_sender_seq  # type: ignore[union-attr]
        with pytest.raises(RiskLimitExceeded, match=r"min_liquidation_distance=0\.1"):
            session.place(nos("fat", "buy", 5, "19.4"))
        assert session.driver.supervisor.session.next_sender_seq == seq  # type: ignore[union-attr]
        # Kalshi's usage 196 + 60 x 19.4 > 0.5 x 1000 (a sell: a short past the long)
        with pytest.raises(RiskLimitExceeded, match=r"max_notional_risk_use=0\.5"):
            session.place(nos("wide", "sell", 60, "19.4"))
        session.place(nos("more", "buy", 1, "19.4"), timeout=10)
    assert [o.cl_ord_id for o in gateway.call(lambda: gateway.exchange.open_orders("key-1"))] == [
        "more"
    ]


def test_kalshi_fix_margin_risk_reads_and_refuses_in_one_line(
    margin_gateway: GatewayHarness,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    h = margin_gateway
    key_id, _, public = mock_api_key("margin")
    h.gateway.keys[key_id] = public
    monkeypatch.setenv("KALSHI_PERPS_KEY_ID", key_id)
    monkeypatch.setenv("KALSHI_PERPS_PRIVATE_KEY_PATH", str(write_mock_api_key("margin", tmp_path)))
    monkeypatch.delenv("KALSHI_PERPS_PRIVATE_KEY", raising=False)
    with RestServer(h.gateway) as rest:
        base = ["margin-risk", "--base-url", rest.base_url, "--pinned-cert", str(h.cert)]
        capsys.readouterr()
        assert main(base) == 0
        assert capsys.readouterr().out.splitlines() == [
            "account: notional 0.0000, maintenance 0.0000, leverage -, notional usage 0.0000 "
            "of 5000.0000"
        ]
        assert main([*base, "--json"]) == 0
        account = json.loads(capsys.readouterr().out)["account"]
        assert account["liquidation_ratio"] == "1" and account["queue_entry_ratio"] == "0.9"
        assert rest.app.margin_terms is not None
        rest.app.margin_terms.denied.add(key_id)
        assert main(base) == 1
        (line,) = capsys.readouterr().err.splitlines()
        assert line == (
            "kalshi-fix margin-risk: Kalshi refused /trade-api/v2/margin/risk (403): the API key "
            "lacks the permission to read it"
        )
    # REST off: nothing answers; one line, exit 1
    assert main([*base, "--max-retries", "1"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        "kalshi-fix margin-risk: /trade-api/v2/margin/risk: not fetched (no answer"
    )
    assert main([*base, "--subaccount", "-1"]) == 2
    assert (
        capsys.readouterr().err
        == "kalshi-fix margin-risk: --subaccount takes a number >= 0, got -1\n"
    )


def test_a_replace_is_judged_on_the_contracts_it_adds() -> None:
    rc = checker(RiskLimits(min_liquidation_distance="0.1"), 10, "buy")
    rc.margin = figures(10, 80)
    rc.tracker.sent(nos("r1", "buy", 2))  # resting: the worst case is 12 long
    grow = m.OrderCancelReplaceRequest(
        cl_ord_id="r1-b",
        orig_cl_ord_id="r1",
        side=m.Side.BUY,
        order_qty=D(6),
        ord_type=m.OrdType.LIMIT,
        price=D(100),
        symbol=SYM,
    )
    # 2 -> 6 adds 4: 16 long, L' = (1600 - 280) / 14.4 = 91.67, 8.3 % away: refused
    assert "a position of 16" in str(refusal(rc, grow))
    # 2 -> 3 adds 1: 13 long, L' = (1300 - 280) / 11.7 = 87.18, 12.8 % away: passes
    rc.check(grow.replace(order_qty=D(3)))

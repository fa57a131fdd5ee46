"""Margin figures refreshed by the session itself: a `DeskWatch` with ``margin_every`` reads
Kalshi's margin risk pages on its period, sets the gate's figures and the metrics, and once no
read came for ``margin_stale_after`` periods refuses orders that take risk with one line. In
memory on a fake clock (the mock's `RestApp`), and every adapter's session over TLS against
the mock gateway's REST server."""

from __future__ import annotations

from decimal import Decimal

import pytest
from gateway_fixtures import GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run
from test_desk_rest import desk
from test_desk_rest import run as serve
from test_driver import Harness, of
from test_margin_risk import nos

from kalshi_fix_sansio.client.desk_watch import DeskWatch, MarginFiguresRead, MarginFiguresStale
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.rest import RestPort
from kalshi_fix_sansio.rest.pages import RestProblem
from kalshi_fix_sansio.rest.reconcile import RestOptions
from kalshi_fix_sansio.simulator.gateway.rest import RestServer
from kalshi_fix_sansio.trading.risk import RiskLimitExceeded, RiskLimits

D = Decimal


def test_margin_figures_are_read_on_their_period_and_refuse_once_stale() -> None:
    h, app = desk("margin")
    terms = app.margin_terms
    assert terms is not None
    terms.notional_limit = D(1000)
    h.driver.gate.risk_limits = RiskLimits(max_notional_risk_use="0.5")
    watch = DeskWatch(h.driver, margin_every=60.0, margin_stale_after=2)
    port = RestPort(watch)
    serve(port, app, h)
    (read,) = of(h.read(), MarginFiguresRead)
    assert h.driver.gate.margin_figures is read.figures and read.figures.fetched_at == h.now
    assert h.driver.metrics.snapshot().margin["margin_default_notional_limit"] == 1000.0
    assert watch.wake_at == h.now + 60.0
    h.place("o-2", "buy", 1)  # 19.4 of notional: well under half the limit
    terms.denied.add("key-1")  # the key loses the permission
    h.advance(60.0)
    (problem,) = of(serve(port, app, h), RestProblem)
    assert problem.reason == (
        "margin_figures: Kalshi refused /trade-api/v2/margin/risk (403): the API key lacks the "
        "permission to read it"
    )
    assert h.driver.gate.margin_figures is read.figures  # one read lost: still judged on
    h.place("o-3", "buy", 1)
    h.advance(60.0)  # two periods since the last read
    serve(port, app, h)
    (stale,) = of(h.read(), MarginFiguresStale)
    assert stale.reason == "none read since 2026-01-01T00:00:00Z (2 x 60 s)"
    assert h.driver.metrics.snapshot().margin["margin_figures_stale"] == 1.0
    sent = len(h.sent)
    with pytest.raises(RiskLimitExceeded) as refused:
        h.place("o-4", "buy", 1)
    assert str(refused.value) == (
        "risk limit max_notional_risk_use=0.5 refuses 35=D 'o-4' on BTC-PERP: Kalshi's margin "
        "figures are stale: none read since 2026-01-01T00:00:00Z (2 x 60 s); nothing was sent"
    )
    assert len(h.sent) == sent
    terms.denied.clear()
    h.advance(60.0)
    serve(port, app, h)
    (again,) = of(h.read(), MarginFiguresRead)
    assert again.figures.stale is None and "margin_figures_stale" not in (
        h.driver.metrics.snapshot().margin
    )
    h.place("o-4", "buy", 1)
    assert h.tracked("o-4").acknowledged


def test_never_stale_when_asked_and_margin_figures_are_margins_only() -> None:
    h, app = desk("margin")
    h.driver.gate.risk_limits = RiskLimits(max_notional_risk_use="0.5")
    watch = DeskWatch(h.driver, margin_every=60.0, margin_stale_after=None)
    port = RestPort(watch)
    serve(port, app, h)
    (read,) = of(h.read(), MarginFiguresRead)
    assert app.margin_terms is not None
    app.margin_terms.denied.add("key-1")
    for _ in range(5):
        h.advance(60.0)
        serve(port, app, h)
    assert not of(h.read(), MarginFiguresStale) and h.driver.gate.margin_figures is read.figures
    off = Harness("margin")  # no rest=
    with pytest.raises(LocalProtocolError) as refused:
        DeskWatch(off.driver, margin_every=60.0)
    assert str(refused.value) == (
        "REST is off for this session: make it with rest=RestOptions(...) to read queue "
        "positions, the exchange's status or the margin figures"
    )
    p, _ = desk()
    with pytest.raises(LocalProtocolError, match="margin figures are margin's only"):
        DeskWatch(p.driver, margin_every=60.0)
    with pytest.raises(LocalProtocolError, match="margin_stale_after must be"):
        DeskWatch(h.driver, margin_every=60.0, margin_stale_after=0)


@ADAPTERS
def test_every_adapter_s_margin_session_refreshes_its_figures_over_tls(
    adapter: str, margin_gateway: GatewayHarness
) -> None:
    h = margin_gateway
    limits = RiskLimits(max_notional_risk_use="0.5")
    with RestServer(h.gateway) as rest:
        terms = rest.app.margin_terms
        assert terms is not None
        terms.notional_limit = D(1000)

        async def scenario(d: Driver) -> None:
            client = d.module.MarginFixClient(h.credentials(), **h.client_kwargs())
            session = client.order_entry(
                rest=RestOptions(base_url=rest.base_url), risk_limits=limits
            )
            async with d.opened(session):
                watch = session.watch_desk(margin_every=30.0)
                read = await d.wait_for(session, lambda e: isinstance(e, MarginFiguresRead), 10)
                assert session.margin_figures is read.figures
                gauges = session.metrics.snapshot().margin
                assert gauges["margin_default_notional_limit"] == 1000.0
                # 60 x 19.4 > 0.5 x Kalshi's limit of 1000: refused before the wire
                with pytest.raises(RiskLimitExceeded, match=r"max_notional_risk_use=0\.5"):
                    await d.call(session.place(nos("wide", "sell", 60, "19.4")))
                order = await d.call(session.place(nos("small", "buy", 1, "19.4")))
                assert order.acknowledged
                watch.stop()

        run(adapter, scenario)

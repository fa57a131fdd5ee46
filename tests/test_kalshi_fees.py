"""Fees read from Kalshi: margin's ``/margin/fee_tiers`` and ``/margin/fee_tier_rates``,
prediction's series fee types (``GET /series``), made a `FeeSchedule` that the mock exchange,
paper trading and backtests charge (``--fees kalshi``), saved for offline runs (``kalshi-fix
fees --save``); the hand-written CSV stays for what-if runs."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gateway_fixtures import SYMBOL
from openapi_check import page_errors
from test_driver import PUBLIC, SIGNER, T0, Harness

from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.rest.fees import FEE_PAGES, KalshiFeeRates, rates_of_series, rates_of_tiers
from kalshi_fix_sansio.rest.pages import rest_headers
from kalshi_fix_sansio.simulator.gateway import (
    Exchange,
    FeeFill,
    FeeSchedule,
    MockGateway,
    mock_api_key,
    self_signed,
    server_context,
    write_mock_api_key,
)
from kalshi_fix_sansio.simulator.gateway.exchange.fees import FeeRates
from kalshi_fix_sansio.simulator.gateway.rest import RestApp, RestServer

D = Decimal
QUOTER = "kalshi_fix_sansio.simulator.testing.strategies:quoter"
CHARGED = FeeSchedule(
    margin=FeeRates(taker=D("0.0012"), maker=D("0.0002")),
    series={"KXPAPER": FeeRates(maker=D(0), multiplier=D("0.5"))},
)
"""What the mock exchanges of these tests charge (not Kalshi's general table)."""


def test_kalshis_fee_types_and_tiers_read_as_rates() -> None:
    assert rates_of_series({"ticker": "KXA", "fee_type": "quadratic", "fee_multiplier": 0.5}) == (
        "KXA",
        KalshiFeeRates(maker=D(0), multiplier=D("0.5")),
    )
    assert rates_of_series(
        {"ticker": "KXB", "fee_type": "quadratic_with_maker_fees", "fee_multiplier": 1}
    ) == ("KXB", KalshiFeeRates(multiplier=D(1)))
    assert rates_of_series({"ticker": "KXC", "fee_type": "flat", "fee_multiplier": 1}) == (
        "series KXC: fee type 'flat' (Kalshi's specific table) is not modelled"
    )
    assert rates_of_tiers({"maker_fee_rates": {"B": 0.0002}, "taker_fee_rates": {"B": "x"}}) == (
        "taker_fee_rates['B']: 'x' is not a rate >= 0"
    )
    schedule = FeeSchedule.of_kalshi({"KXA": KalshiFeeRates(maker=D(0), multiplier=D("0.5"))})
    # a taker at 0.50 for 10: 0.07 x 10 x 0.25 x 0.5 = 0.0875 -> 0.09; no maker fee
    assert schedule.trade_fee(FeeFill("prediction", "KXA-1", D("0.5"), D(10), True)) == D("0.09")
    assert schedule.trade_fee(FeeFill("prediction", "KXA-1", D("0.5"), D(10), False)) == 0


def test_a_schedule_saved_reads_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "fees.csv"
    path.write_text(CHARGED.dumps("read from somewhere\nat some time"))
    assert FeeSchedule.load(path) == CHARGED
    assert path.read_text().startswith("# read from somewhere\n# at some time\nscope,taker,")


def page(h: Harness, app: RestApp, name: str) -> Any:
    path = FEE_PAGES[name]
    status, _, body = app.handle(
        "GET", path, rest_headers("key-1", SIGNER, "GET", path, h.now), h.now
    )
    assert status == 200, body
    return json.loads(body)


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_the_mock_fee_pages_are_kalshis_shape(product: str) -> None:
    exchange = Exchange(product, fees=CHARGED)
    exchange.seed_market(SYMBOL[product], now=T0)
    h = Harness(product, exchange=exchange)
    app = RestApp(h.exchange, {"key-1": PUBLIC})
    if product == "prediction":
        h.exchange.seed_market("KXPAPER-26NOV20-A", now=h.now)
        body = page(h, app, "series_list")
        assert page_errors(product, "series_list", body) == []
        kinds = {s["ticker"]: (s["fee_type"], s["fee_multiplier"]) for s in body["series"]}
        assert kinds["KXPAPER"] == ("quadratic", 0.5)
        assert kinds["HIGHNY"] == ("quadratic_with_maker_fees", 1)
        return
    for name in ("fee_tiers", "fee_tier_rates"):
        assert page_errors(product, name, page(h, app, name)) == [], name
    tiers = page(h, app, "fee_tiers")
    assert (tiers["maker_fee_rates"], tiers["taker_fee_rates"]) == (
        {"BTC-PERP": 0.0002},
        {"BTC-PERP": 0.0012},
    )


# -- end to end over TLS -------------------------------------------------------------------------


@contextlib.contextmanager
def charging(product: str, tmp: Path) -> Iterator[tuple[MockGateway, Path]]:
    """A mock gateway over TLS whose exchange charges `CHARGED`, knowing the mock API key;
    its certificate."""
    key_id, _, public = mock_api_key(product)
    cert, key = self_signed(tmp)
    gateway = MockGateway(
        product, keys={key_id: public}, ssl_context=server_context(cert, key), fees=CHARGED
    )
    gateway.start_in_thread()
    gateway.seed_market(SYMBOL[product])
    try:
        yield gateway, cert
    finally:
        gateway.close()


def test_kalshi_fix_fees_saves_what_the_exchange_charges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    margin_key, _, _ = mock_api_key("margin")
    monkeypatch.setenv("KALSHI_PERPS_KEY_ID", margin_key)
    monkeypatch.setenv("KALSHI_PERPS_PRIVATE_KEY_PATH", str(write_mock_api_key("margin", tmp_path)))
    monkeypatch.delenv("KALSHI_PERPS_PRIVATE_KEY", raising=False)
    saved = tmp_path / "margin-fees.csv"
    with charging("margin", tmp_path) as (gateway, cert), RestServer(gateway) as rest:
        base = ["fees", "--product", "margin", "--base-url", rest.base_url]
        base += ["--pinned-cert", str(cert)]
        capsys.readouterr()
        assert main([*base, "--save", str(saved)]) == 0
        assert rest.app.margin_terms is not None
        rest.app.margin_terms.denied.add(margin_key)
        assert main(base) == 1
        (line,) = capsys.readouterr().err.splitlines()
        assert line == (
            "kalshi-fix fees: Kalshi refused /trade-api/v2/margin/fee_tiers (403): the API key "
            "lacks the permission to read it"
        )
    schedule = FeeSchedule.load(saved)
    fill = FeeFill("margin", "BTC-PERP", D("19.6"), D(1000), True)
    assert schedule.trade_fee(fill) == CHARGED.trade_fee(fill) == D("23.52")  # 0.0012 x 19,600
    maker = FeeFill("margin", "BTC-PERP", D("19.6"), D(1000), False)
    assert schedule.trade_fee(maker) == CHARGED.trade_fee(maker) == D("3.92")
    # REST off: one line, exit 1; a usage mistake: one line, exit 2
    assert main([*base, "--save", str(saved)]) == 1
    assert "not fetched (no answer" in capsys.readouterr().err
    assert main([*base, "--save", str(tmp_path / "no" / "f.csv")]) == 2


def test_a_backtest_charges_kalshis_schedule_read_or_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    run = [
        "backtest",
        QUOTER,
        "paper-sample.log",
        "--param",
        "edge=0.03",
    ]

    def report(*extra: str) -> Any:
        assert main([*run, *extra]) == 0, capsys.readouterr().err
        return json.loads((tmp_path / "paper-sample.log.backtest.json").read_text())["report"]

    general = report()
    with charging("prediction", tmp_path) as (gateway, cert), RestServer(gateway) as rest:
        gateway.seed_market("KXPAPER-26NOV20-A")
        read = report(
            "--fees", "kalshi", "--fees-rest", rest.base_url, "--fees-pinned-cert", str(cert)
        )
        fees = ["fees", "--base-url", rest.base_url, "--pinned-cert", str(cert)]
        assert main([*fees, "--save", "kalshi-fees.csv"]) == 0
    offline = report("--fees", "kalshi-fees.csv")
    assert read == offline != general  # the account's schedule, read or saved: one result
    assert main([*run, "--fees-rest", "https://127.0.0.1:1"]) == 2
    assert "--fees-rest and --fees-pinned-cert go with --fees kalshi" in capsys.readouterr().err

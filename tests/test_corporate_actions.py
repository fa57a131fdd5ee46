"""Margin corporate actions (``/margin/corporate_actions``) applied to positions and P&L: the
tracker's account (hand arithmetic for splits, dividends long and short, a final settlement),
a paper ledger, the mock's page in Kalshi's shape, and a backtest charged them over TLS."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openapi_check import page_errors
from test_driver import PUBLIC, Harness
from test_margin_risk import SYM, filled
from test_reconcile import changed, missed_while_down, run_with

from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.rest.corporate import CORPORATE_ACTIONS_PATH
from kalshi_fix_sansio.rest.pages import RestContradiction
from kalshi_fix_sansio.simulator.gateway import MockGateway, self_signed, server_context
from kalshi_fix_sansio.simulator.gateway.rest import RestApp, RestServer
from kalshi_fix_sansio.trading.corporate import CorporateActions, parse_corporate_action
from kalshi_fix_sansio.trading.pnl import PnLLedger
from kalshi_fix_sansio.trading.tracker import OrderTracker

D = Decimal
T0 = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)


def notice(
    n: int, kind: str, minute: int, status: str = "scheduled", **terms: Any
) -> dict[str, Any]:
    """A notice in Kalshi's shape, executed at 15:<minute> on 2026-11-20."""
    record: dict[str, Any] = {
        "id": f"ca-{n}",
        "market_id": f"m-{SYM}",
        "market_ticker": terms.pop("ticker", SYM),
        "type": kind,
        "status": status,
        "updated_ts": "2026-11-19T12:00:00Z",
    }
    if status != "cancelled":
        record["execution_time"] = f"2026-11-20T15:{minute:02d}:00Z"
        record.update(terms)
    return record


def trade(tracker: OrderTracker, n: int, side: str, qty: Any, price: Any, minute: int) -> None:
    """A filled order, its fill at 15:<minute>."""
    filled(tracker, f"o-{n}", side, qty, price, T0.replace(minute=minute))


def actions(*records: dict[str, Any]) -> CorporateActions:
    return CorporateActions.from_json(json.dumps({"corporate_actions": list(records)}))


END = T0.replace(hour=16).timestamp()


def test_a_split_then_a_dividend_on_a_long_position_by_hand() -> None:
    tracker = OrderTracker()
    trade(tracker, 1, "buy", 10, 50, 1)  # long 10 at 50: cost 500
    trade(tracker, 2, "buy", 4, 26, 30)  # after the split: 4 more at 26 (cost 104)
    acts = actions(
        notice(1, "stock_split", 10, split={"ratio_old": "1", "ratio_new": "2"}),
        notice(2, "cash_dividend", 20, cash={"cash_per_contract": "0.25"}),
        notice(3, "cash_dividend", 25, status="cancelled"),  # changes nothing
    )
    assert len(acts) == 2
    pnl = tracker.pnl(SYM, corporate=acts, now=END)
    # 10 -> 20 contracts at 15:10 (average 25); at 15:20 the dividend pays 20 x 0.25 = 5;
    # then 4 bought: 24 held at a cost of 604
    assert (pnl.position, pnl.corporate, pnl.avg_price) == (24, D("5.00"), D(604) / D(24))
    assert pnl.total(D(26)) == D(-604) + D("5.00") + 24 * 26  # = 25
    assert pnl.realized == D("5.00")
    # counted to 15:05, before the split: no action applied (the fills as they are)
    early = tracker.pnl(SYM, corporate=acts, now=T0.replace(minute=5).timestamp())
    assert (early.position, early.corporate) == (14, 0) == (tracker.pnl(SYM).position, 0)


def test_a_short_pays_the_dividend_and_a_final_settlement_closes_the_position() -> None:
    tracker = OrderTracker()
    trade(tracker, 1, "sell", 8, 40, 1)  # short 8 at 40: proceeds 320
    acts = actions(
        notice(1, "special_dividend", 10, cash={"cash_per_contract": "1.50"}),
        notice(
            2,
            "final_settlement",
            20,
            final_settlement={"reason": "delisted", "settlement_price_per_contract": "35"},
        ),
    )
    pnl = tracker.pnl(SYM, corporate=acts, now=END)
    # the short pays 8 x 1.50 = 12; closed at 35: 320 - 12 - 8 x 35 = 28
    assert (pnl.corporate, pnl.settled, pnl.position) == (D("-12.00"), True, 0)
    assert pnl.realized == D(28) and pnl.result == "final_settlement"
    with pytest.raises(ValueError, match="pass now="):
        tracker.pnl(SYM, corporate=acts)


def test_a_ledger_applies_them_in_time_and_follows_a_ticker_change() -> None:
    ledger = PnLLedger()
    ledger.add(SYM, "1", D(50), D(10), fee=D(0))
    acts = actions(
        notice(1, "stock_split", 10, split={"ratio_old": "2", "ratio_new": "3"}),
        notice(2, "ticker_change", 20, ticker_change={"old_ticker": SYM, "new_ticker": "BTC2"}),
    )
    for action in acts.actions:
        ledger.corporate(action)
    moved = ledger.market("BTC2")
    assert (moved.position, moved.buy_cost) == (15, 500) and ledger.get(SYM) is None
    assert acts.renamed(SYM, END) == "BTC2"


def test_the_trackers_pnl_follows_a_ticker_change_by_hand() -> None:
    tracker = OrderTracker()
    trade(tracker, 1, "buy", 10, 50, 1)  # long 10 at 50 under SYM: cost 500
    filled(tracker, "o-2", "buy", 5, 40, T0.replace(minute=30), "BTC2")  # 5 more at 40
    acts = actions(
        notice(1, "stock_split", 10, split={"ratio_old": "2", "ratio_new": "3"}),
        notice(2, "ticker_change", 20, ticker_change={"old_ticker": SYM, "new_ticker": "BTC2"}),
        notice(3, "cash_dividend", 40, ticker="BTC2", cash={"cash_per_contract": "0.5"}),
    )
    assert acts.names(SYM, END) == acts.names("BTC2", END) == (SYM, "BTC2")
    for symbol in (SYM, "BTC2"):
        pnl = tracker.pnl(symbol, corporate=acts, now=END)
        # 10 -> 15 at 15:10; renamed at 15:20; 5 bought: 20 held at a cost of 500 + 200 = 700;
        # the dividend pays 20 x 0.5 = 10; marked at 36: -700 + 10 + 20 x 36 = 30
        assert (pnl.symbol, pnl.position, pnl.buy_cost) == ("BTC2", 20, 700)
        assert pnl.corporate == 10 and pnl.total(D(36)) == 30
    before = tracker.pnl(SYM, corporate=acts, now=T0.replace(minute=15).timestamp())
    assert (before.symbol, before.position) == (SYM, 15)  # not renamed yet


def test_unreadable_notices_say_why() -> None:
    bad = notice(1, "stock_split", 10, split={"ratio_old": "0", "ratio_new": "2"})
    assert (
        parse_corporate_action(bad) == "corporate action 'ca-1': a split's ratios must be above 0"
    )
    assert "no cash terms" in str(parse_corporate_action(notice(2, "cash_dividend", 10)))
    with pytest.raises(ValueError, match=r"x\.json: notice 0: corporate action 'ca-1'"):
        CorporateActions.from_json(json.dumps([bad]), source="x.json")


# -- the mock's page, and over TLS ---------------------------------------------------------------

DIVIDEND = notice(
    7, "cash_dividend", 2, ticker="KXPAPER-PERP-A", cash={"cash_per_contract": "0.25"}
)


def test_the_mock_page_is_kalshis_shape_and_public() -> None:
    h = Harness("margin")
    app = RestApp(h.exchange, {"key-1": PUBLIC})
    assert app.margin_terms is not None
    app.margin_terms.corporate_actions = [DIVIDEND, notice(8, "spin_off", 5, status="cancelled")]
    status, _, body = app.handle("GET", CORPORATE_ACTIONS_PATH, {}, h.now)  # no key: public
    page = json.loads(body)
    assert status == 200 and page_errors("margin", "corporate_actions", page) == []
    assert [n["id"] for n in page["corporate_actions"]] == ["ca-7", "ca-8"]
    status, _, body = app.handle("GET", CORPORATE_ACTIONS_PATH + "?ticker=X", {}, h.now)
    assert json.loads(body) == {"corporate_actions": []}


def test_a_backtest_applies_the_notices_read_over_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    cert, key = self_signed(tmp_path)
    with MockGateway("margin", keys={}, ssl_context=server_context(cert, key)) as gateway:
        with RestServer(gateway) as rest:
            assert rest.app.margin_terms is not None
            rest.app.margin_terms.corporate_actions = [DIVIDEND]
            read = ["corporate-actions", "--base-url", rest.base_url, "--pinned-cert", str(cert)]
            capsys.readouterr()
            assert main([*read, "--save", "actions.json"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed == [
        "2026-11-20T15:02:00Z KXPAPER-PERP-A           cash_dividend     scheduled 0.25 per "
        "contract",
        "1 notice(s)",
    ]
    run = [
        "backtest",
        "kalshi_fix_sansio.simulator.testing.strategies:quoter",
        "paper-margin-sample.log",
        "--param",
        "edge=-0.05",
    ]

    def report(*extra: str) -> Any:
        assert main([*run, *extra]) == 0, capsys.readouterr().err
        found = json.loads((tmp_path / "paper-margin-sample.log.backtest.json").read_text())
        return found["report"]

    plain = report()
    paid = report("--corporate-actions", "actions.json")
    cash = D(paid["corporate"])
    assert cash and cash % D("0.25") == 0  # the contracts held at 15:02 x 0.25
    assert D(paid["total"]) - D(plain["total"]) == cash  # the dividend, nothing else
    assert "corporate" not in plain  # without them: the report as it always was
    assert main([*run, "--corporate-actions", "nothing.json"]) == 2
    assert "--corporate-actions nothing.json: No such file" in capsys.readouterr().err


def test_reconciliation_compares_positions_after_kalshis_split() -> None:
    h, app = missed_while_down("margin", [3])  # the tracker and Kalshi: long 3
    split_at = datetime.fromtimestamp(h.now + 30, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    h.advance_to(h.now + 60)
    record = notice(
        1, "stock_split", 0, ticker=h.symbol, split={"ratio_old": "1", "ratio_new": "2"}
    )
    record["execution_time"] = split_at
    doubled = changed("positions", {"position": "6.00"})  # Kalshi applied the split
    events = run_with(h, app, doubled)
    (contradiction,) = [e for e in events if isinstance(e, RestContradiction)]
    assert "Kalshi holds 6.00, the tracker 3" in contradiction.reason
    rec = h.driver.reconciliation
    assert rec is not None
    rec.corporate = actions(record)
    events = run_with(h, app, doubled)
    assert not [e for e in events if isinstance(e, RestContradiction)]

"""Book-level backtests (`kalshi_fix_sansio.simulator.booklevel`): the same strategy and wake
schedule give the same report at the FIX level and at the book level."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.backtest import Context, run_backtest
from kalshi_fix_sansio.simulator.booklevel import MODES, Wake
from kalshi_fix_sansio.simulator.latency import ConstantLatency, LogNormalLatency
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_RECORDING,
    SAMPLE_RECORDING,
    SAMPLE_SETTLED,
    write_recording,
)
from kalshi_fix_sansio.simulator.testing.strategies import async_quoter, book_quoter

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("booklevel") / "generated.log"
    with path.open("w") as out:
        write_recording(out, messages=400, seed=11, settle={"KXPAPER-26NOV20-A": "no"})
    return path


def _without_mode(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.to_json())
    assert data["run"].pop("mode", "fix") == result.run.get("mode", "fix")
    return data


def _both(recording: Path, **options: Any) -> tuple[Any, Any]:
    fix = run_backtest(book_quoter, recording, cache=False, **options)
    book = run_backtest(book_quoter, recording, cache=False, mode="book", **options)
    return fix, book


CASES: dict[str, dict[str, Any]] = {
    "no latency": {},
    "order entry drawn, market data constant": {
        "latency": {"KalshiNR": LogNormalLatency(0.02), "KalshiMD": ConstantLatency(0.05)}
    },
    "one constant model": {"latency": ConstantLatency(0.01)},
    "a short timer": {"params": {"every": 2.0, "edge": 0.01}},
}


@pytest.mark.parametrize("case", CASES)
def test_the_same_report_at_the_fix_level_and_the_book_level(case: str, generated: Path) -> None:
    fix, book = _both(generated, seed=5, **CASES[case])
    assert "mode" not in fix.run and book.run["mode"] == "book"
    assert _without_mode(book) == _without_mode(fix)
    assert fix.statistics["total"]["fills"] > 0  # it trades
    assert fix.statistics["total"]["orders"] > fix.statistics["total"]["fills"]  # and cancels


@pytest.mark.parametrize("recording", [SAMPLE_RECORDING, MARGIN_SAMPLE_RECORDING])
def test_the_shipped_samples_give_the_same_report_in_both_modes(recording: Path) -> None:
    settle = SAMPLE_SETTLED if recording == SAMPLE_RECORDING else None
    fix, book = _both(recording, settle=settle, params={"every": 5.0, "edge": 0.005})
    assert _without_mode(book) == _without_mode(fix)
    assert fix.statistics["total"]["fills"] > 0


def test_a_wake_says_why_and_the_books_are_the_watched_markets(generated: Path) -> None:
    seen: dict[str, list[Any]] = {"fix": [], "book": []}

    def strategy(ctx: Context) -> None:
        assert ctx.wait(0) == Wake(ctx.time())  # a timer wake at once: nothing watched yet
        ctx.watch(ctx.symbol)
        ctx.watch([ctx.symbol])  # named twice: once
        with ctx.order_entry() as oe:
            assert ctx.order_entry() is oe
            while (wake := ctx.wait(0.5)) is not None:
                assert wake.markets in ((), (ctx.symbol,))
                book = ctx.books[ctx.symbol]
                orders = tuple(type(event).__name__ for event in wake.orders)
                seen[ctx.mode].append((wake.time, wake.timer, book.top(), len(ctx.books), orders))
        assert ctx.seconds == 0

    for mode in MODES:
        run_backtest(strategy, generated, cache=False, mode=mode)
    assert seen["book"] == seen["fix"]
    assert any(timer for _, timer, *_ in seen["fix"])
    assert sum(not timer for _, timer, *_ in seen["fix"]) > 100
    assert {n for *_, n, _ in seen["fix"]} == {1}  # only the watched market's book
    assert seen["fix"][0][-1] == ("LoggedOn",)  # the order-entry session's events wake it


def test_the_modes_and_their_limits_are_named(generated: Path) -> None:
    with pytest.raises(LocalProtocolError, match="mode must be one of fix, book, got 'tick'"):
        run_backtest(book_quoter, generated, mode="tick")
    with pytest.raises(LocalProtocolError, match="mode='book' runs blocking strategies"):
        run_backtest(async_quoter, generated, mode="book")
    with pytest.raises(LocalProtocolError, match="LogNormalLatency for KalshiMD"):
        run_backtest(book_quoter, generated, mode="book", latency=LogNormalLatency(0.01))

    def bad_wait(ctx: Context) -> None:
        ctx.wait(-1)

    with pytest.raises(Exception, match="timeout must be seconds >= 0, got -1"):
        run_backtest(bad_wait, generated, mode="book")

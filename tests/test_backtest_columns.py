# private: the chunk size of compiled reads (`compiled._CHUNK`), a chunk's columns
# (`_chunks.Chunk`), the book level's lane switched off (`booklevel._lane`), the feed's
# columns read (`_feed.Feed.columns`) and its tie read (`Context._feed`)
"""A book-level run reads its recordings a chunk of columns at a time (`_chunks.Chunk`,
`CompiledRecording.chunks`), its lane (`_lane.lane`) the messages by index with no row made,
and the rows the general path takes made from the same columns: what they give is what
`CompiledRecording.rows` gives, and a run with the lane on the columns is the run without it.

Private parts tested here: `compiled._CHUNK` (made small, so that chunks end inside the lane's
stretches), `_chunks.Chunk` (its rows from every message on), `booklevel._lane` (switched off:
the general wait at every wake) and `_feed.Feed.columns` (the rows read as `rows` gives them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.simulator.backtests import _feed, booklevel, compiled
from kalshi_fix_sansio.simulator.backtests.backtest import BacktestFailed, Context, run_backtest
from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_RECORDING,
    SAMPLE_RECORDING,
    write_recording,
)
from kalshi_fix_sansio.trading.builders import Requests

pytestmark = pytest.mark.filterwarnings("error")


def _generated(directory: Path, name: str, **options: Any) -> Path:
    path = directory / name
    with open(path, "w") as out:
        write_recording(out, **options)
    return path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    directory = tmp_path_factory.mktemp("columns")
    first = _generated(directory, "first.log", messages=600, seed=11)
    second = _generated(  # after the first: several recordings in a row
        directory, "second.log", messages=300, seed=12, start=_end(first) + 5.0
    )
    return {
        "sample": [SAMPLE_RECORDING],
        "margin sample": [MARGIN_SAMPLE_RECORDING],
        "generated": [first],
        "margin": [_generated(directory, "margin.log", messages=500, product="margin")],
        "in a row": [first, second],
    }


def _end(path: Path) -> float:
    last = compile_recording(path, cache=False).info.last_time
    assert last is not None
    return last


@pytest.mark.parametrize("chunk", [4096, 7, 1])
@pytest.mark.parametrize("name", ["sample", "margin sample", "generated", "margin"])
def test_a_chunks_rows_are_the_recordings_rows(
    recordings: dict[str, list[Path]], monkeypatch: pytest.MonkeyPatch, name: str, chunk: int
) -> None:
    """Each chunk's rows from each of its messages on (`Chunk.rows`), each message's row
    (`Chunk.row`) and each entry (`Chunk.entry`) are what `CompiledRecording.rows` yields,
    whatever the chunk size; trades with their TradeIDs among them."""
    monkeypatch.setattr(compiled, "_CHUNK", chunk)
    recording = compile_recording(recordings[name][0], cache=False)
    rows = list(recording.rows())
    at = 0
    for part in recording.chunks():
        mine = rows[at : at + part.count]
        assert list(part.rows(0)) == mine
        for i in range(part.count):
            assert part.row(i) == mine[i]
            assert list(part.rows(i)) == mine[i:]
            first = part.starts[i] - part.base
            assert tuple(map(part.entry, range(first, first + len(mine[i][5])))) == mine[i][5]
        at += part.count
    assert at == len(rows)
    entries = [e for row in rows for e in row[5]]
    assert any(e[0] == "2" and e[6] is not None for e in entries) or name.startswith("margin")


Plan = dict[int, tuple[Any, ...]]


def _strategy(seen: list[Any], plan: Plan, timer: float | None) -> Callable[[Context], None]:
    """Watches every market, reads the top of each changed book at each wake (and every book's
    levels and trades, and the feed's `Feed.tie`), and at the wakes ``plan`` names takes the best offer (IOC), rests a
    bid a cent behind the best one, or cancels what rests; with ``timer``, keeps the books
    without waking on their changes, woken every ``timer`` seconds (the feed's quiet loop,
    `Feed._quiet`, runs the messages between)."""

    def strategy(ctx: Context) -> None:
        ctx.watch(ctx.symbols, wake=timer is None)
        requests = Requests(ctx.product, "KalshiNR")
        n = 0
        with ctx.order_entry() as oe:
            while (wake := ctx.wait(timer)) is not None:
                n += 1
                tops = [ctx.books[s].top() for s in wake.markets or ctx.symbols]
                books = repr([(b.depth(), list(b.trades)) for b in ctx.books])
                # the ticker's order against the next message (`Feed.tie`), as the lane notes it
                tie = ctx._feed.tie
                seen.append((wake.time, wake.markets, tops, books, len(wake.orders), tie))
                action = plan.get(n)
                if action is None:
                    continue
                book = ctx.books[ctx.symbols[action[1]]]
                bid, offer = book.best_bid(), book.best_offer()
                if bid is None or offer is None:
                    continue
                symbol = book.symbol
                if action[0] == "take":
                    oe.send(requests.new_order(symbol, "buy", 1, offer.price, time_in_force="ioc"))
                elif action[0] == "rest":
                    oe.send(requests.new_order(symbol, "buy", 1, bid.price - Decimal("0.01")))
                else:
                    for order in oe.tracker.open_orders(symbol):
                        oe.send(requests.cancel(order))

    return strategy


_PLAN: Plan = {5: ("take", 0), 9: ("rest", 1), 40: ("cancel", 1), 60: ("rest", 0)}


def _run(
    paths: list[Path], plan: Plan, way: str, monkeypatch: pytest.MonkeyPatch, timer: float | None
) -> Any:
    """A book-level run: ``way`` "columns" (the lane on the columns), "general" (no lane: the
    general wait at each wake, the rows made from the columns) or "rows" (the rows as
    `CompiledRecording.rows` gives them, no lane)."""
    with monkeypatch.context() as patch:
        if way != "columns":
            patch.setattr(booklevel, "_lane", lambda *_args: iter(()))
        if way == "rows":
            patch.setattr(
                _feed.Feed,
                "columns",
                property(lambda _self: False, lambda _self, _value: None),
                raising=False,
            )
        seen: list[Any] = []
        result = run_backtest(_strategy(seen, plan, timer), paths, cache=False, mode="book")
    return json.loads(result.to_json()), seen


@pytest.mark.parametrize("timer", [None, 7.0], ids=["woken by changes", "woken by a timer"])
@pytest.mark.parametrize("chunk", [4096, 5, 1])
@pytest.mark.parametrize("plan", [{}, _PLAN], ids=["no orders", "orders"])
@pytest.mark.parametrize("name", ["sample", "margin sample", "generated", "margin", "in a row"])
def test_the_lane_on_the_columns_is_the_general_wait(
    recordings: dict[str, list[Path]],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    plan: Plan,
    chunk: int,
    timer: float | None,
) -> None:
    """The same run three ways (`_run`): the lane reading the columns, the general wait with
    the rows made from them, and the rows as `CompiledRecording.rows` gives them: the same
    report, the same wakes, the same books at each; chunks of one message, of a few (each
    chunk's end within a lane's stretch) or of the usual size; a strategy woken by the books'
    changes (the lane) or by its timer (the feed's quiet loop, reading a chunk's rows
    itself)."""
    monkeypatch.setattr(compiled, "_CHUNK", chunk)
    paths = recordings[name]
    lane = _run(paths, plan, "columns", monkeypatch, timer)
    assert _run(paths, plan, "general", monkeypatch, timer) == lane
    assert _run(paths, plan, "rows", monkeypatch, timer) == lane
    assert len(lane[1]) > (100 if timer is None else 5)
    assert lane[0]["run"]["messages"] == sum(
        compile_recording(p, cache=False).info.messages for p in paths
    )


def test_a_cache_that_changes_mid_run_stops_it_at_the_same_message(
    recordings: dict[str, list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compiled cache cut short while a run reads it (its next chunk cannot be read) fails
    the run where the rows stop, with the one-line error naming the cache: at the same
    simulated time with the lane on the columns as with the general wait."""
    monkeypatch.setattr(compiled, "_CHUNK", 64)
    source = recordings["generated"][0]
    failures: list[str] = []
    for way in ("columns", "general"):
        path = tmp_path / way / "cut.log"
        path.parent.mkdir()
        path.write_bytes(source.read_bytes())
        compile_recording(path)  # its cache beside it
        cache = str(path) + compiled.CACHE_SUFFIX
        wakes: list[float] = []

        def strategy(ctx: Context, cache: str = cache, wakes: list[float] = wakes) -> None:
            ctx.watch(ctx.symbols)
            while (wake := ctx.wait()) is not None:
                wakes.append(wake.time)
                if len(wakes) == 100:  # cut short in place: the chunks after this one are gone
                    os.truncate(cache, os.path.getsize(cache) // 2)

        with monkeypatch.context() as patch:
            if way == "general":
                patch.setattr(booklevel, "_lane", lambda *_args: iter(()))
            with pytest.raises(BacktestFailed) as failed:
                run_backtest(strategy, path, mode="book")
        assert "the compiled cache changed while it was read" in str(failed.value)
        assert cache in str(failed.value)
        failures.append(str(failed.value).replace(way, "WAY") + repr(wakes))
    assert failures[0] == failures[1]

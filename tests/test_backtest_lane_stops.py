# private: the lane is wrapped to count its starts, and switched off (`booklevel._lane`)
"""Where a book-level run's lane (`_lane.lane`, reached as `booklevel._lane`: replaced by a
counting wrapper, and switched off to compare) stops and where it goes on: a callback that only
reads the simulation (`Feed.readers`: the statistics' sampler) is run in its place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.simulator.backtests import booklevel
from kalshi_fix_sansio.simulator.backtests.backtest import Context, run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import write_recording

pytestmark = pytest.mark.filterwarnings("error")


def test_the_lane_runs_the_statistics_sampler_in_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statistics' sampler due among the messages (`Feed.readers`) runs inside the lane at
    its instant, as `Feed.run` runs it, and the lane goes on: over 2,000 messages sampled
    every 5 simulated seconds the lane starts twice, not once per sample (410), and the
    report (its samples included) is the one of the step-by-step loop. (A message of the
    sampler's instant is taken by `Scheduler.run_due` with it, its next timer made anew:
    the lane goes on with that timer.)"""
    path = tmp_path / "sampled.log"
    with open(path, "w", encoding="utf-8") as out:
        write_recording(out, messages=2000)
    lane = booklevel._lane
    started: list[int] = []

    def counted(*args: Any) -> Any:
        started.append(1)
        return lane(*args)

    def strategy(ctx: Context) -> None:
        ctx.watch(ctx.symbols)
        while (wake := ctx.wait()) is not None:
            for symbol in wake.markets:
                ctx.books[symbol].top()

    reports = []
    for way in (counted, lambda *_args: iter(())):
        monkeypatch.setattr(booklevel, "_lane", way)
        result = run_backtest(strategy, path, cache=False, mode="book", sample_interval=5.0)
        reports.append(result.to_json())
    assert reports[0] == reports[1]
    assert json.loads(reports[0])["statistics"]  # (the samples)
    assert result.messages > 2000
    assert 0 < len(started) < 10  # (410 when each sample stopped it)

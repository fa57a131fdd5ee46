"""``fit-queue`` and ``compare-live`` against the queue positions read live (Kalshi's
``GET /portfolio/orders/queue_positions``, kept with ``kalshi-fix queue --record``): the "live"
day is a backtest under a known queue model whose strategy also reads its orders' queue
positions from the exchange, as a desk reads them over REST; the fit names that model from the
positions alone, and the comparison shows each order's first position read."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from queue_episodes import SYMBOL, T0, TRADES, write_episodes

from kalshi_fix_sansio import cli
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.rest.desk import QueuePosition, queue_log_line
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.gateway import queue_model
from kalshi_fix_sansio.simulator.research.compare import compare_live
from kalshi_fix_sansio.simulator.research.fitting import fit_queue, read_order_log, read_queue_log
from kalshi_fix_sansio.simulator.testing.livesample import joiner, joining


@pytest.fixture(scope="module")
def episodes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("queue-positions") / "episodes.log"
    write_episodes(path)
    return path


def live_day(episodes: Path, truth: str, where: Path) -> tuple[Path, Path]:
    log, reads = where / f"live-{truth.replace(':', '-')}.log", where / "queue.jsonl"
    strategy = joining(str(log), str(reads))  # reads its positions 2 s and 4 s after each order
    run_backtest(strategy, episodes, queue_model=queue_model(truth), seed=2)
    return log, reads


@pytest.mark.parametrize("truth", ["risk-averse", "prob-power:3"])
def test_fit_queue_takes_the_positions_read_live_as_the_truth(
    truth: str, episodes: Path, tmp_path: Path
) -> None:
    log, reads = live_day(episodes, truth, tmp_path)
    live = read_queue_log([reads])
    assert len(live) == 2 * len(TRADES)
    assert len(read_order_log([log]).order_ids) == len(TRADES)  # Kalshi's OrderIDs, from 37
    fit = fit_queue(episodes, [log], queue_reads=live)
    assert (fit.model, fit.mismatch, fit.truth) == (truth, 0.0, "queue")
    assert fit.positions > 0 and fit.matched == fit.positions
    assert sum(score > 0 for _name, score in fit.scores) >= 3  # the positions tell them apart
    assert "queue positions read live" in fit.table()


def test_the_commands_take_the_queue_positions_file(
    episodes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, reads = live_day(episodes, "fifo", tmp_path)
    fit = ["fit-queue", str(episodes), "--orders", str(log), "--queue-positions", str(reads)]
    fit += ["--name", "desk", "--models-dir", str(tmp_path)]
    assert cli.main([*fit, "--candidate", "fifo", "--candidate", "risk-averse"]) == 0
    printed = capsys.readouterr().out
    assert "judged against" in printed and "fifo" in printed and "<- best" in printed
    compared = compare_live(joiner, episodes, [log], queue_reads=read_queue_log([reads]))
    read = [o.queue_read for o in compared.orders]
    assert len(read) == len(TRADES) and all(r is not None for r in read)
    assert "queue read" in compared.table() or not compared.differing
    compare = ["compare-live", "kalshi_fix_sansio.simulator.testing.livesample:joiner"]
    compare += [str(episodes), "--orders", str(log), "--queue-positions", str(reads)]
    assert cli.main([*compare, "--json", str(tmp_path / "cmp.json")]) == 0
    capsys.readouterr()
    rows = json.loads((tmp_path / "cmp.json").read_text())["orders"]
    assert [row["queue_read"] for row in rows] == [str(r) for r in read]


def test_a_queue_positions_file_not_of_the_orders_is_refused(
    episodes: Path, tmp_path: Path
) -> None:
    log, _ = live_day(episodes, "fifo", tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"at": 1, "positions": []}\nnot json\n')
    with pytest.raises(LocalProtocolError, match=r"bad\.jsonl: line 2: not JSON"):
        read_queue_log([bad])
    other = tmp_path / "other.jsonl"
    other.write_text(queue_log_line([QueuePosition("nobody", SYMBOL, Decimal(3))], T0) + "\n")
    with pytest.raises(LocalProtocolError, match="no queue position read names an order"):
        fit_queue(episodes, [log], queue_reads=read_queue_log([other]), candidates=("fifo",))

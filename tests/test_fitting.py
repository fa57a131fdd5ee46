"""Queue models fitted to your own fills (`kalshi_fix_sansio.simulator.research.fitting`): a log made by
the mock exchange under a known queue model is fitted back to that model, on a recording made
so that the models fill differently (a join at the back of a queue, others joining behind it,
cancellations no trade explains, then trades of growing size); the orders' OrderIDs replaced by
the simulation's; ``kalshi-fix fit-queue`` and ``--queue-model fitted:NAME``; bad input named."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from queue_episodes import joiner, write_episodes

from kalshi_fix_sansio import cli
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.gateway import queue_model
from kalshi_fix_sansio.simulator.research.fitting import (
    fit_queue,
    load_queue_fit,
    read_order_log,
    replay_orders,
)


@pytest.fixture(scope="module")
def episodes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("queue-fit") / "episodes.log"
    write_episodes(path)
    return path


def _live(episodes: Path, truth: str, where: Path) -> Path:
    log = where / f"live-{truth.replace(':', '-')}.log"
    run_backtest(joiner(log), episodes, queue_model=queue_model(truth), seed=2)
    return log


@pytest.mark.parametrize(
    "truth", ["fifo", "risk-averse", "prob-power:0.5", "prob-power:1", "prob-power:3", "prob-log"]
)
def test_the_fit_finds_the_queue_model_the_log_was_made_with(
    truth: str, episodes: Path, tmp_path: Path
) -> None:
    """The log's fills come from the mock exchange under ``truth``; of the ten candidates, the
    fit names ``truth``, reproducing every fill (mismatch 0), and every other candidate that
    fills differently has a mismatch above 0."""
    log = _live(episodes, truth, tmp_path)
    fit = fit_queue(episodes, [log])
    assert (fit.model, fit.mismatch, fit.matched, fit.orders) == (truth, 0.0, 6, 6)
    assert fit.ordered == Decimal(60)
    assert dict(fit.scores)[truth] == 0.0
    assert sum(score > 0 for _name, score in fit.scores) >= 5  # the data tells them apart
    assert fit.model in fit.table() and "<- best" in fit.table()


def test_replayed_orders_carry_the_simulation_s_order_ids(episodes: Path, tmp_path: Path) -> None:
    """The log's cancels name the live exchange's OrderIDs (another seed here: other ids);
    the replay sends them with the simulation's, so each cancel reaches its order."""
    log = _live(episodes, "risk-averse", tmp_path)
    orders = read_order_log([log])
    assert len(orders.ordered) == 6 and sum(orders.fills.values()) == 0  # all cancelled
    cancels = [frame for _, frame in orders.sends if b"\x0135=F\x01" in frame]
    assert len(cancels) == 6 and all(b"\x0137=" in frame for frame in cancels)
    filled = replay_orders(episodes, orders, queue_model="fifo", seed=99)
    assert sum(filled.values()) == Decimal(60)  # FIFO fills each order before its cancel


def test_the_command_saves_the_fit_and_a_backtest_takes_it(
    episodes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _live(episodes, "prob-power:1", tmp_path)
    models = tmp_path / "models"
    command = ["fit-queue", str(episodes), "--orders", str(log), "--name", "desk"]
    assert cli.main([*command, "--models-dir", str(models)]) == 0
    printed = capsys.readouterr().out
    assert "prob-power:1" in printed and "mismatch 0.00%  <- best" in printed
    assert load_queue_fit("desk", models).model == "prob-power:1"
    backtest = ["backtest", "kalshi_fix_sansio.simulator.testing.strategies:quoter"]
    backtest += [str(episodes), "--queue-model", "fitted:desk", "--models-dir", str(models)]
    assert cli.main([*backtest, "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    missing = [*backtest[:-4], "--queue-model", "fitted:nope", "--models-dir", str(models)]
    assert cli.main([*missing, "--out", str(tmp_path / "out")]) == 2
    assert "nope.queue.json: cannot read it" in capsys.readouterr().err
    assert cli.main([*command, "--candidate", "lifo", "--models-dir", str(models)]) == 2
    err = capsys.readouterr().err
    assert "--candidate lifo: unknown queue model" in err and len(err.strip().splitlines()) == 1


def test_bad_input_is_named(episodes: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.log"
    bad.write_text("# a comment\nnot a line\n")
    with pytest.raises(LocalProtocolError, match=r"bad\.log: line 2 \(byte 12\): not a message"):
        read_order_log([bad])
    empty = tmp_path / "empty.log"
    empty.write_text("# nothing sent\n")
    with pytest.raises(LocalProtocolError, match=r"empty\.log: no order sent"):
        fit_queue(episodes, [empty])
    with pytest.raises(LocalProtocolError, match="at least one candidate"):
        fit_queue(episodes, [empty], candidates=())
    with pytest.raises(LocalProtocolError, match=r"missing\.log: cannot read it"):
        read_order_log([tmp_path / "missing.log"])

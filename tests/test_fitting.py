"""Queue models fitted to your own fills (`kalshi_fix_sansio.simulator.fitting`): a log made by
the mock exchange under a known queue model is fitted back to that model, on a recording made
so that the models fill differently (a join at the back of a queue, others joining behind it,
cancellations no trade explains, then trades of growing size); the orders' OrderIDs replaced by
the simulation's; ``kalshi-fix fit-queue`` and ``--queue-model fitted:NAME``; bad input named."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio import cli
from kalshi_fix_sansio.codec import Header
from kalshi_fix_sansio.codec import prediction as p
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.backtest import run_backtest
from kalshi_fix_sansio.simulator.fitting import (
    fit_queue,
    load_queue_fit,
    read_order_log,
    replay_orders,
)
from kalshi_fix_sansio.simulator.gateway import queue_model
from kalshi_fix_sansio.simulator.recording import RecordingWriter
from kalshi_fix_sansio.trading.builders import ClOrdIDGenerator, Requests

SYMBOL = "KXQUEUE-26NOV20"
T0 = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp()
TRADES = (15, 35, 55, 85, 95, 100)
"""One episode per trade size: the level at $0.40 is 100 contracts when the order for 10
joins it; 300 join behind; 200 are cancelled (no trade: where they were in the queue is the
model's answer); then a trade of this size hits the level. FIFO puts every cancellation ahead
(the order is first: every trade fills it), risk-averse every one behind (none of these trades
reaches it), the probabilistic models in between, each at its own share."""


def _entry(action: str, kind: str, px: str, size: int, when: float, **kw: Any) -> Any:
    moment = datetime.fromtimestamp(when, timezone.utc)
    return p.MarketDataIncrementalRefreshMDEntry(
        md_update_action=p.MDUpdateAction(action),
        symbol=SYMBOL,
        md_entry_type=p.MDEntryType(kind),
        md_entry_px=Decimal(px),
        md_entry_size=Decimal(size),
        md_entry_date=moment.date(),
        md_entry_time=moment.timetz(),
        **kw,
    )


def _snapshot_entry(kind: str, px: str, size: int) -> Any:
    moment = datetime.fromtimestamp(T0, timezone.utc)
    return p.MarketDataSnapshotFullRefreshMDEntry(
        md_entry_type=p.MDEntryType(kind),
        md_entry_px=Decimal(px),
        md_entry_size=Decimal(size),
        md_entry_date=moment.date(),
        md_entry_time=moment.timetz(),
    )


def write_episodes(path: Path) -> None:
    """The recording of `TRADES`' episodes, ten seconds apart."""
    seq = 1
    with path.open("w", encoding="utf-8") as out:
        writer = RecordingWriter(out, "prediction", [SYMBOL], "KalshiMD/crafted")

        def emit(message: Any, when: float) -> None:
            nonlocal seq
            seq += 1
            moment = datetime.fromtimestamp(when, timezone.utc)
            header = Header(
                sender_comp_id="Kalshi",
                target_comp_id="crafted",
                msg_seq_num=seq,
                sending_time=moment,
            )
            writer.write(p.encode(message, header, use_dollars=True), when)

        levels = (_snapshot_entry("0", "0.40", 100), _snapshot_entry("1", "0.45", 50))
        emit(p.MarketDataSnapshotFullRefresh(symbol=SYMBOL, md_entries=levels), T0)
        for k, trade in enumerate(TRADES):
            t = T0 + 10 * (k + 1)
            for delay, size in ((0, 100), (2, 400), (3, 200)):
                change = (_entry("1", "0", "0.40", size, t + delay),)
                emit(p.MarketDataIncrementalRefresh(md_entries=change), t + delay)
            hit = _entry(
                "0",
                "2",
                "0.40",
                trade,
                t + 4,
                aggressor_side=p.AggressorSide("2"),
                trade_id=f"t{k}",
            )
            after = _entry("1", "0", "0.40", 200 - trade, t + 4)
            emit(p.MarketDataIncrementalRefresh(md_entries=(hit, after)), t + 4)
        end = T0 + 10 * (len(TRADES) + 1)
        emit(p.MarketDataIncrementalRefresh(md_entries=(_entry("1", "0", "0.40", 100, end),)), end)


def joiner(log: Path) -> Any:
    """The "live" strategy: a buy of 10 at $0.40 a second into each episode, cancelled after
    five seconds if still open; its order-entry session writes the message log ``log``."""

    def strategy(ctx: Any) -> None:
        ids = ClOrdIDGenerator("e-", sequential=True)
        orders = Requests(ctx.product, "KalshiNR", cl_ord_ids=ids)
        with ctx.client(message_log_path=str(log)).order_entry() as oe:
            for k in range(len(TRADES)):
                t = T0 + 10 * (k + 1)
                ctx.simulation.run_for(t + 1 - ctx.time())
                order = orders.new_order(SYMBOL, "buy", Decimal(10), Decimal("0.40"))
                oe.send(order)
                ctx.simulation.run_for(t + 6 - ctx.time())
                current = oe.tracker.current(order.cl_ord_id)
                if current is not None and not current.terminal:
                    oe.send(orders.cancel(current))
            while ctx.seconds > 0:
                ctx.simulation.run_for(ctx.seconds)

    return strategy


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

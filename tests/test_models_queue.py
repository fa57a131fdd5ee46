"""Queue models in a replay: where recorded cancellations fall relative to a resting client order.

One crafted recording for every model: a client buys 4 at 0.40 behind 10 recorded contracts,
5 more join behind it, then 5 are cancelled (the level goes 15 -> 10 with no recorded trade),
then a seller trades 8 at 0.40. What the client gets depends only on how much of the 5
cancelled the model puts ahead of it: the trade first consumes what is still ahead.
"""

from __future__ import annotations

import random
from decimal import Decimal as D

import pytest
from engine_helpers import BUY, T0, nos
from test_engine_recorded import fills, incremental, level, recorded_exchange, trade

from kalshi_fix_sansio.simulator.gateway import (
    Exchange,
    FifoQueue,
    ProbQueue,
    QueueModel,
    RiskAverseQueue,
    queue_model,
)


def run(model: QueueModel | None, *, cancels: int = 1) -> list[tuple[D, D, D]]:
    """The client's fills on the crafted recording; the 5 contracts cancelled in ``cancels``
    recorded decreases."""
    ex = recorded_exchange() if model is None else with_model(model)
    ex.handle("nr", nos("b1", BUY, 4, "0.40"), T0 + 1)  # 10 ahead
    ex.replay(incremental(level("1", "0", "0.40", "15")), T0 + 2)  # 5 join behind
    size = 15
    for n in range(cancels):
        size -= 5 // cancels
        ex.replay(incremental(level("1", "0", "0.40", str(size))), T0 + 3 + n)
    return fills(ex.replay(incremental(trade("0.40", "8", "2")), T0 + 10))


def with_model(model: QueueModel) -> Exchange:
    return recorded_exchange(queue_model=model)


def test_the_default_is_fifo_every_cancellation_ahead() -> None:
    # 5 of 10 ahead cancelled: 5 ahead; the trade of 8 leaves 3 for the client
    assert run(None) == run(FifoQueue()) == [(D("0.40"), D("3"), D("0.02"))]


def test_risk_averse_puts_cancellations_behind() -> None:
    # the 5 behind hold the 5 cancelled: still 10 ahead, the trade of 8 does not reach it
    assert run(RiskAverseQueue()) == []


def test_risk_averse_moves_up_when_the_queue_behind_cannot_hold_the_cancellation() -> None:
    ex = with_model(RiskAverseQueue())
    ex.handle("nr", nos("b1", BUY, 4, "0.40"), T0 + 1)  # 10 ahead, nothing behind
    ex.replay(incremental(level("1", "0", "0.40", "4")), T0 + 2)  # 6 cancelled: all ahead
    assert fills(ex.replay(incremental(trade("0.40", "5", "2")), T0 + 3)) == [
        (D("0.40"), D("1"), D("0.01"))
    ]


def test_prob_power_splits_by_the_queue_sizes() -> None:
    # p = 10^2 / (10^2 + 5^2) = 0.8: 4 of the 5 ahead, 6 still ahead, 2 of the 8 reach it
    assert ProbQueue.power(2).probability(D(10), D(5)) == pytest.approx(0.8)
    assert run(ProbQueue.power(2)) == [(D("0.40"), D("2"), D("0.01"))]


def test_prob_log_is_flatter() -> None:
    # p = log 11 / (log 11 + log 6) = 0.5723...: 2.86 ahead, 7.14 still ahead, 0.86 fills
    assert run(ProbQueue.log()) == [(D("0.40"), D("0.86"), D("0.01"))]


def test_each_model_gives_different_fills_on_the_same_recording() -> None:
    got = {
        repr(m): run(m)
        for m in (FifoQueue(), RiskAverseQueue(), ProbQueue.power(2), ProbQueue.log())
    }
    assert len({tuple(v) for v in got.values()}) == 4, got


def test_a_drawn_model_is_the_same_for_the_same_seed() -> None:
    def drawn(seed: int) -> list[tuple[D, D, D]]:
        return run(ProbQueue.power(2, rng=random.Random(seed)), cancels=5)

    outcomes = {seed: drawn(seed) for seed in range(12)}
    for seed, result in outcomes.items():
        assert drawn(seed) == result  # same seed, same fills
    # each of the 5 cancellations is drawn whole, ahead or behind: seeds differ
    assert len({tuple(v) for v in outcomes.values()}) > 1
    for result in outcomes.values():  # 1 to 5 of the 5 ahead: 1 to 3 filled, or none
        assert result == [] or result[0][1] in (D(1), D(2), D(3))


def test_queue_model_by_name() -> None:
    assert isinstance(queue_model("fifo"), FifoQueue)
    assert isinstance(queue_model("risk-averse"), RiskAverseQueue)
    assert repr(queue_model("prob-power")) == "ProbQueue.power(3)"
    assert repr(queue_model("prob-power:1.5", seed=3)) == "ProbQueue.power(1.5) (drawn)"
    assert repr(queue_model("prob-log")) == "ProbQueue.log()"
    with pytest.raises(ValueError, match="unknown queue model 'lifo' \\(one of: fifo, "):
        queue_model("lifo")
    with pytest.raises(ValueError, match="prob-power:N takes a number N > 0, got 'x'"):
        queue_model("prob-power:x")


def test_an_exchange_refuses_something_that_is_not_a_queue_model() -> None:
    with pytest.raises(TypeError, match="queue_model must be a QueueModel"):
        Exchange("prediction", queue_model="fifo")  # type: ignore[arg-type]

# private: the run's budgets (``_net.MAX_CALLBACKS``, ``_net.MAX_SIMULATED``) made small, so a run counts as stuck
"""A run never spins for ever: the simulation's budget of callbacks (`Scheduler.max_callbacks`)
stops a run whose time moves on without end, in steps too small for ``max_time`` to stop it
soon, and simulation testing sets one on every run (its ``_net.MAX_CALLBACKS``), so a stuck
seed fails with its step and the last callback run, replayable like any other failure."""

from __future__ import annotations

import pytest

from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.simulator.testing.dst import (
    Outcome,
    Schedule,
    _net,
    generate,
    run,
    shrink,
)
from kalshi_fix_sansio.simulator.world.simulation import Simulation, SimulationStalled


def _runaway(sim: Simulation) -> None:
    """Due again a millisecond later, for ever (a timer that re-arms itself)."""
    sim.scheduler.call_later(0.001, lambda: _runaway(sim))


def _spin(sim: Simulation, seconds: float) -> None:
    end = sim.time() + seconds
    while sim.time() < end:
        sim.run_once(end)


def where(schedule: Schedule, outcome: Outcome) -> str:
    """Where a stuck run says it was: its step and the step's text, or the recovery."""
    assert outcome.violation is not None
    step = outcome.violation.step
    if step < len(schedule.steps):
        return f"step {step} ({schedule.steps[step].text})"
    return "the recovery after the last step (150 s with no fault)"


def test_a_run_past_its_budget_of_callbacks_stops_and_names_the_last() -> None:
    sim = Simulation("prediction", keys={"k": new_ed25519_keys()[1]}, max_time=86_400.0)
    _runaway(sim)
    _spin(sim, 5.0)  # no budget: five seconds of it run (thousands of callbacks), time moves on
    assert sim.scheduler.spent >= 5_000
    sim.scheduler.max_callbacks = sim.scheduler.spent + 2_000
    with pytest.raises(SimulationStalled, match=r"past the run's budget of [\d,]+: the run is"):
        _spin(sim, 3_600.0)
    with pytest.raises(SimulationStalled, match=r"the last callback run: .*_runaway"):
        _spin(sim, 1.0)
    assert sim.time() - sim.clock.start < 10.0  # stopped within seconds, not at max_time


def test_simulation_testing_fails_a_stuck_seed_with_its_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schedule = generate(0)
    assert run(schedule).ok  # within the budget every run has
    monkeypatch.setattr(_net, "MAX_CALLBACKS", 300)  # a budget the run cannot keep: "stuck"
    outcome = run(schedule)
    assert outcome.violation is not None, outcome
    assert outcome.violation.invariant == "wait never ends"
    assert "callbacks ran since the start, past the run's budget of 300" in outcome.violation.detail
    assert "the last callback run: " in outcome.violation.detail
    assert outcome.violation.detail.endswith(f"; stuck in {where(schedule, outcome)}")
    again = run(outcome.schedule)  # replayed, the same failure at the same step
    assert again.violation == outcome.violation
    small = shrink(outcome)  # and shrunk, as any failure
    assert small.violation is not None and small.violation.invariant == "wait never ends"
    assert len(small.schedule.steps) < len(schedule.steps)
    assert run(small.schedule).violation == small.violation


def test_a_run_past_its_simulated_time_fails_with_its_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other budget of a run: simulated time (`_net.MAX_SIMULATED`, the simulation's
    ``max_time``), made shorter than the schedule."""
    schedule = generate(0)
    monkeypatch.setattr(_net, "MAX_SIMULATED", 30.0)
    outcome = run(schedule)
    assert outcome.violation is not None, outcome
    assert outcome.violation.invariant == "wait never ends"
    detail = outcome.violation.detail
    assert detail.startswith("simulated time would pass max_time (30 s after the start)")
    assert detail.endswith(f"; stuck in {where(schedule, outcome)}")
    assert run(outcome.schedule).violation == outcome.violation

"""Shrink a failing schedule: the shortest one found that still breaks the same promise.

Delta debugging over the steps: cut everything after the step that failed, then remove chunks
of steps (halves, quarters... single steps) while the run still fails the same invariant, then
shorten each step's wait. Every try is a whole deterministic run, so the result replays.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ._run import Outcome, run
from ._schedule import Schedule, Step

__all__ = ["shrink"]


def shrink(
    failed: Outcome, *, max_runs: int = 400, runner: Callable[[Schedule], Outcome] = run
) -> Outcome:
    """The smallest schedule found that fails as ``failed`` did (the same invariant).

    Args:
        failed: the outcome of a failing run.
        max_runs: the most runs the shrinker may make.
        runner: what runs a schedule (`run`; a test may pass another).

    Returns:
        The outcome of the smallest failing schedule found (``failed`` itself if nothing
        smaller fails).

    Raises:
        ValueError: ``failed`` did not fail.
    """
    if failed.violation is None:
        raise ValueError("shrink takes the outcome of a failing run")
    target = failed.violation.invariant
    best = failed
    budget = [max_runs]

    def attempt(steps: list[Step]) -> bool:
        nonlocal best
        if budget[0] <= 0:
            return False
        budget[0] -= 1
        outcome = runner(best.schedule.with_steps(steps))
        if outcome.violation is not None and outcome.violation.invariant == target:
            best = outcome
            return True
        return False

    steps = list(best.schedule.steps)
    cut = failed.violation.step + 1
    if cut < len(steps) and attempt(steps[:cut]):
        steps = steps[:cut]
    chunk = max(1, len(steps) // 2)
    while chunk >= 1 and budget[0] > 0:
        start, removed = 0, False
        while start < len(steps) and budget[0] > 0:
            trial = steps[:start] + steps[start + chunk :]
            if trial and attempt(trial):
                steps, removed = trial, True
            else:
                start += chunk
        if not removed:
            chunk //= 2
    for index in range(len(steps)):
        if budget[0] <= 0:
            break
        step = steps[index]
        if step.after > 0.1:
            trial = [*steps[:index], attrs.evolve(step, after=0.1), *steps[index + 1 :]]
            if attempt(trial):
                steps = trial
    return best

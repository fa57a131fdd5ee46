"""Many schedules at once: seeds run in batches on local processes or on a Dask cluster.

`explore` generates and runs one schedule per seed and returns an `Exploration`: how many ran,
the failures (each replays from its schedule), and the CPU seconds the runs took (measured in
the processes that ran them), so a nightly run on a cluster reports runs per CPU second as a
one-core smoke does.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

import attrs

from ....codec.errors import LocalProtocolError
from ._run import Outcome, run
from ._schedule import generate

__all__ = ["ENGINES", "Exploration", "explore", "run_seeds"]

ENGINES: Final = ("local", "dask")
"""Where `explore` runs: local processes, or a Dask cluster."""
_BATCH: Final = 64


@attrs.frozen
class Exploration:
    """What `explore` found.

    Attributes:
        runs: schedules run.
        failures: the outcomes of the runs that broke a promise, by seed.
        cpu_seconds: CPU seconds the runs took, summed over the processes that ran them.
        simulated: simulated seconds, summed over the runs.
    """

    runs: int
    failures: tuple[Outcome, ...]
    cpu_seconds: float
    simulated: float

    @property
    def runs_per_cpu_second(self) -> float:
        """Schedules run per CPU second."""
        return self.runs / self.cpu_seconds if self.cpu_seconds > 0 else 0.0


def run_seeds(
    seeds: Sequence[int], steps: int = 30, kinds: tuple[str, ...] | None = None
) -> tuple[int, list[Outcome], float, float]:
    """Run the generated schedule of each seed (one batch, in this process).

    Returns:
        (runs, failing outcomes, CPU seconds, simulated seconds).
    """
    started = time.process_time()
    failures, simulated = [], 0.0
    for seed in seeds:
        outcome = run(generate(seed, steps=steps, kinds=kinds))
        simulated += outcome.simulated
        if not outcome.ok:
            failures.append(outcome)
    return len(seeds), failures, time.process_time() - started, simulated


def explore(
    seeds: Iterable[int],
    *,
    steps: int = 30,
    kinds: Iterable[str] | None = None,
    jobs: int = 1,
    engine: str = "local",
    address: str | None = None,
    on_failure: Callable[[Outcome], None] | None = None,
) -> Exploration:
    """Run the generated schedule of every seed of ``seeds``.

    Args:
        seeds: the seeds (e.g. ``range(10_000)``).
        steps: steps per schedule.
        kinds: draw only these step kinds (None: all).
        jobs: worker processes (1: in this process; with ``engine="dask"`` and no
            ``address``, the local cluster's workers).
        engine: ``"local"`` or ``"dask"`` (the ``sweep`` extra: Dask distributed).
        address: a Dask scheduler (``tcp://host:8786``); None: a local cluster.
        on_failure: called with each failing outcome as it comes.

    Returns:
        The `Exploration` (failures in seed order).

    Raises:
        LocalProtocolError: an unknown engine, ``jobs`` < 1, an address without Dask, or a
            scheduler that cannot be reached.
    """
    if engine not in ENGINES:
        raise LocalProtocolError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise LocalProtocolError(f"jobs must be an int >= 1, got {jobs!r}")
    if address is not None and engine != "dask":
        raise LocalProtocolError(f'address {address!r} is a Dask scheduler\'s: use engine="dask"')
    chosen = None if kinds is None else tuple(kinds)
    generate(0, steps=steps, kinds=chosen)  # bad arguments fail here, before any work
    all_seeds = list(seeds)
    batches = [all_seeds[i : i + _BATCH] for i in range(0, len(all_seeds), _BATCH)]
    runs, failures, cpu, simulated = 0, [], 0.0, 0.0
    for n, failed, seconds, sim_seconds in _execute(batches, steps, chosen, jobs, engine, address):
        runs, cpu, simulated = runs + n, cpu + seconds, simulated + sim_seconds
        for outcome in failed:
            failures.append(outcome)
            if on_failure is not None:
                on_failure(outcome)
    failures.sort(key=lambda o: o.schedule.seed)
    return Exploration(runs, tuple(failures), cpu, simulated)


Batch = tuple[int, list[Outcome], float, float]


def _execute(
    batches: list[list[int]],
    steps: int,
    kinds: tuple[str, ...] | None,
    jobs: int,
    engine: str,
    address: str | None,
) -> Iterator[Batch]:
    if engine == "dask":
        yield from _on_dask(batches, steps, kinds, jobs, address)
        return
    if jobs == 1 or len(batches) <= 1:
        for batch in batches:
            yield run_seeds(batch, steps, kinds)
        return
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(batches))) as pool:
        futures = [pool.submit(run_seeds, batch, steps, kinds) for batch in batches]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()


def _on_dask(
    batches: list[list[int]],
    steps: int,
    kinds: tuple[str, ...] | None,
    jobs: int,
    address: str | None,
) -> Iterator[Batch]:
    try:  # an optional extra: typed as Any here
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise LocalProtocolError(
            'engine="dask" needs Dask distributed: pip install "kalshi-fix-sansio[sweep]"'
        ) from None
    with contextlib.ExitStack() as stack:
        if address is None:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=max(1, min(jobs, len(batches), os.cpu_count() or 1)),
                    threads_per_worker=1,  # a run holds the GIL: one per process
                    processes=True,
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        else:
            try:
                client = stack.enter_context(distributed.Client(address))
            except OSError as exc:
                raise LocalProtocolError(
                    f"the Dask scheduler at {address} cannot be reached: {exc}"
                ) from None
        futures = client.map(run_seeds, batches, steps=steps, kinds=kinds, pure=False)
        for future in distributed.as_completed(futures):
            yield future.result()

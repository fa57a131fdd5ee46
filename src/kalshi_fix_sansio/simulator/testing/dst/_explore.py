"""Many schedules at once: seeds run in batches on local processes or on a Dask cluster.

`explore` generates and runs one schedule per seed and returns an `Exploration`: how many ran,
the failures (each replays from its schedule), and the CPU seconds the runs took (measured in
the processes that ran them), so a nightly run on a cluster reports runs per CPU second as a
one-core smoke does. `explore_chunks` runs a large range (a nightly run) in chunks, each
recorded in a directory as it ends, so that a run cut off resumes where it stopped, with a
summary kept beside them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from ....codec.errors import LocalProtocolError
from ._invariants import Violation
from ._run import Outcome, replay_command, run
from ._schedule import Schedule, generate

__all__ = [
    "CHUNKS_FILE",
    "ENGINES",
    "SUMMARY_FILE",
    "Exploration",
    "explore",
    "explore_chunks",
    "run_seeds",
]

ENGINES: Final = ("local", "dask")
"""Where `explore` runs: local processes, or a Dask cluster."""
CHUNKS_FILE: Final = "chunks.jsonl"
"""`explore_chunks`'s record of its finished chunks in its directory: one JSON line each."""
SUMMARY_FILE: Final = "summary.txt"
"""`explore_chunks`'s summary in its directory (``summary.json`` beside it, the same figures)."""
_BATCH: Final = 64
Runner = Callable[[Schedule], Outcome]


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
    seeds: Sequence[int],
    steps: int = 30,
    kinds: tuple[str, ...] | None = None,
    runner: Runner = run,
) -> tuple[int, list[Outcome], float, float]:
    """Run the generated schedule of each seed (one batch, in this process) with ``runner``
    (`run`; a test may pass another).

    Returns:
        (runs, failing outcomes, CPU seconds, simulated seconds).
    """
    started = time.process_time()
    failures, simulated = [], 0.0
    for seed in seeds:
        outcome = runner(generate(seed, steps=steps, kinds=kinds))
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
    runner: Runner = run,
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
        runner: what runs a schedule (`run`; a test may pass another, a function of a module
            the workers import).

    Returns:
        The `Exploration` (failures in seed order).

    Raises:
        LocalProtocolError: an unknown engine, ``jobs`` < 1, an address without Dask, or a
            scheduler that cannot be reached.
    """
    chosen = _check(steps, kinds, jobs, engine, address)
    all_seeds = list(seeds)
    batches = _batches(all_seeds)
    with _engine(steps, chosen, jobs, engine, address, runner, len(batches)) as execute:
        return _gather(execute(batches), on_failure)


def explore_chunks(
    seeds: range,
    directory: str | os.PathLike[str],
    *,
    chunk: int = 10_000,
    steps: int = 30,
    kinds: Iterable[str] | None = None,
    jobs: int = 1,
    engine: str = "local",
    address: str | None = None,
    on_chunk: Callable[[range, Exploration], None] | None = None,
    runner: Runner = run,
) -> Exploration:
    """Run the generated schedules of ``seeds`` as `explore` does, ``chunk`` seeds at a time,
    recording each chunk in ``directory`` as it ends (`CHUNKS_FILE`) and the summary of
    every chunk recorded there (`SUMMARY_FILE` and ``summary.json``: seeds, runs, failures
    with the commands that replay them, CPU seconds, runs per CPU second). Seeds a chunk of
    the directory already ran are not run again: a run cut off, given the same arguments,
    resumes; a larger range runs only its new seeds. The engine (a pool of processes, a Dask
    client) is set up once for every chunk.

    Args:
        seeds: the seeds (a range of step 1: ``range(1_000_000, 2_000_000)``).
        directory: where the record and the summary are kept (made if missing).
        chunk: seeds per chunk (a chunk cut off runs again whole).
        steps: steps per schedule (as `explore`).
        kinds: draw only these step kinds (None: all).
        jobs: worker processes (as `explore`).
        engine: ``"local"`` or ``"dask"``.
        address: a Dask scheduler; None: a local cluster.
        on_chunk: called with each chunk's seeds and its `Exploration` as it ends.
        runner: what runs a schedule (`run`; a test may pass another).

    Returns:
        The `Exploration` of every chunk the directory records (earlier calls' too).

    Raises:
        LocalProtocolError: as `explore`; ``chunk`` < 1, ``seeds`` not a range of step 1, or
            a directory whose chunks ran schedules of other steps or kinds.
    """
    chosen = _check(steps, kinds, jobs, engine, address)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise LocalProtocolError(f"chunk must be an int >= 1, got {chunk!r}")
    if not isinstance(seeds, range) or seeds.step != 1:
        raise LocalProtocolError(f"seeds must be a range of step 1, got {seeds!r}")
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    records = _read_chunks(path / CHUNKS_FILE, steps, chosen)
    todo = [
        range(start, min(start + chunk, part.stop))
        for part in _not_run(seeds, records)
        for start in range(part.start, part.stop, chunk)
    ]
    if todo:  # no engine to set up (a cluster to start) for nothing
        most = max(len(_batches(list(c))) for c in todo)
        with _engine(steps, chosen, jobs, engine, address, runner, most) as execute:
            for seeds_of in todo:
                started = time.monotonic()
                found = _gather(execute(_batches(list(seeds_of))), None)
                record = _record(seeds_of, steps, chosen, found, time.monotonic() - started)
                with open(path / CHUNKS_FILE, "a", encoding="utf-8") as file:
                    file.write(json.dumps(record) + "\n")
                records.append(record)
                _write_summary(path, records, steps, chosen)
                if on_chunk is not None:
                    on_chunk(seeds_of, found)
    _write_summary(path, records, steps, chosen)
    return _total(records)


# -- inside ------------------------------------------------------------------------------------

Batch = tuple[int, list[Outcome], float, float]
Execute = Callable[[list[list[int]]], Iterator[Batch]]


def _check(
    steps: int, kinds: Iterable[str] | None, jobs: int, engine: str, address: str | None
) -> tuple[str, ...] | None:
    """The arguments checked, before any work; the kinds chosen (None: all)."""
    if engine not in ENGINES:
        raise LocalProtocolError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise LocalProtocolError(f"jobs must be an int >= 1, got {jobs!r}")
    if address is not None and engine != "dask":
        raise LocalProtocolError(f'address {address!r} is a Dask scheduler\'s: use engine="dask"')
    chosen = None if kinds is None else tuple(kinds)
    generate(0, steps=steps, kinds=chosen)  # bad arguments fail here, before any work
    return chosen


def _batches(seeds: list[int]) -> list[list[int]]:
    return [seeds[i : i + _BATCH] for i in range(0, len(seeds), _BATCH)]


def _gather(batches: Iterable[Batch], on_failure: Callable[[Outcome], None] | None) -> Exploration:
    runs, failures, cpu, simulated = 0, [], 0.0, 0.0
    for n, failed, seconds, sim_seconds in batches:
        runs, cpu, simulated = runs + n, cpu + seconds, simulated + sim_seconds
        for outcome in failed:
            failures.append(outcome)
            if on_failure is not None:
                on_failure(outcome)
    failures.sort(key=lambda o: o.schedule.seed)
    return Exploration(runs, tuple(failures), cpu, simulated)


@contextlib.contextmanager
def _engine(
    steps: int,
    kinds: tuple[str, ...] | None,
    jobs: int,
    engine: str,
    address: str | None,
    runner: Runner,
    most_batches: int,
) -> Iterator[Execute]:
    """What runs batches of seeds (``most_batches`` at most at once), set up once."""
    if engine == "dask":
        with _dask(jobs, address, most_batches) as (distributed, client):

            def on_dask(batches: list[list[int]]) -> Iterator[Batch]:
                futures = client.map(
                    run_seeds, batches, steps=steps, kinds=kinds, runner=runner, pure=False
                )
                for future in distributed.as_completed(futures):
                    yield future.result()

            yield on_dask
        return
    if jobs == 1 or most_batches <= 1:
        yield lambda batches: (run_seeds(batch, steps, kinds, runner) for batch in batches)
        return
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, most_batches)) as pool:

        def on_pool(batches: list[list[int]]) -> Iterator[Batch]:
            futures = [pool.submit(run_seeds, batch, steps, kinds, runner) for batch in batches]
            for future in concurrent.futures.as_completed(futures):
                yield future.result()

        yield on_pool


@contextlib.contextmanager
def _dask(jobs: int, address: str | None, most_batches: int) -> Iterator[tuple[Any, Any]]:
    """Dask distributed and a client of the scheduler at ``address``, or of a local cluster."""
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
                    n_workers=max(1, min(jobs, most_batches, os.cpu_count() or 1)),
                    threads_per_worker=1,  # a run holds the GIL: one per process
                    processes=True,
                    dashboard_address=None,
                    # the scheduler's HTTP server without a dashboard: loopback, any free port
                    # (by default it takes 8787 and warns when another cluster has it)
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        else:
            try:
                client = stack.enter_context(distributed.Client(address))
            except (OSError, ValueError) as exc:  # ValueError: an address Dask cannot read
                raise LocalProtocolError(
                    f"the Dask scheduler at {address} cannot be reached: {exc}"
                ) from None
        yield distributed, client


def _read_chunks(path: Path, steps: int, kinds: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """The chunks recorded at ``path``; they must have run the same steps and kinds. A last
    line cut off (the process stopped while writing it) is dropped from the file: its chunk
    runs again."""
    if not path.exists():
        return []
    records = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if n < len(lines):
                raise LocalProtocolError(f"{path}, line {n}: not a chunk's record") from None
            _replace(path, "".join(f"{kept}\n" for kept in lines[:-1]))
            break
        try:
            ran = (record["steps"], None if record["kinds"] is None else tuple(record["kinds"]))
        except (KeyError, TypeError):
            raise LocalProtocolError(f"{path}, line {n}: not a chunk's record") from None
        if ran != (steps, kinds):
            shown = "all" if ran[1] is None else ",".join(ran[1])
            raise LocalProtocolError(
                f"{path} records schedules of {ran[0]} steps and kinds {shown}: "
                "resume with those, or record elsewhere"
            )
        records.append(record)
    return records


def _not_run(seeds: range, records: list[dict[str, Any]]) -> list[range]:
    """The parts of ``seeds`` no recorded chunk ran."""
    parts, at = [], seeds.start
    for first, end in sorted((r["first"], r["end"]) for r in records):
        if first > at:
            parts.append(range(at, min(first, seeds.stop)))
        at = max(at, end)
        if at >= seeds.stop:
            break
    if at < seeds.stop:
        parts.append(range(at, seeds.stop))
    return [p for p in parts if len(p)]


def _record(
    seeds: range, steps: int, kinds: tuple[str, ...] | None, found: Exploration, wall: float
) -> dict[str, Any]:
    failures = [
        {
            "schedule": o.schedule.text,
            "violation": attrs.asdict(o.violation) if o.violation is not None else None,
            "steps_run": o.steps_run,
            "simulated": o.simulated,
            "frames": o.frames,
            "digest": o.digest,
        }
        for o in found.failures
    ]
    return {
        "first": seeds.start,
        "end": seeds.stop,
        "steps": steps,
        "kinds": None if kinds is None else list(kinds),
        "runs": found.runs,
        "cpu_seconds": found.cpu_seconds,
        "simulated": found.simulated,
        "wall_seconds": wall,
        "failures": failures,
    }


def _total(records: list[dict[str, Any]]) -> Exploration:
    failures = [
        Outcome(
            Schedule.parse(f["schedule"]),
            None if f["violation"] is None else Violation(**f["violation"]),
            f["steps_run"],
            f["simulated"],
            f["frames"],
            f["digest"],
        )
        for r in records
        for f in r["failures"]
    ]
    failures.sort(key=lambda o: o.schedule.seed)
    return Exploration(
        sum(r["runs"] for r in records),
        tuple(failures),
        sum(r["cpu_seconds"] for r in records),
        sum(r["simulated"] for r in records),
    )


def _ranges(records: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """The seeds the records ran, as ranges merged (first, end)."""
    merged: list[tuple[int, int]] = []
    for first, end in sorted((r["first"], r["end"]) for r in records):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((first, end))
    return merged


def _write_summary(
    path: Path, records: list[dict[str, Any]], steps: int, kinds: tuple[str, ...] | None
) -> None:
    """summary.json and `SUMMARY_FILE` of every chunk recorded, each replaced at once."""
    total = _total(records)
    seeds = _ranges(records)
    wall = sum(r["wall_seconds"] for r in records)
    summary = {
        "seeds": [list(r) for r in seeds],
        "steps": steps,
        "kinds": None if kinds is None else list(kinds),
        "chunks": len(records),
        "runs": total.runs,
        "failed": len(total.failures),
        "cpu_seconds": round(total.cpu_seconds, 3),
        "runs_per_cpu_second": round(total.runs_per_cpu_second, 3),
        "simulated_hours": round(total.simulated / 3600, 3),
        "wall_seconds": round(wall, 3),
        "failures": [
            {
                "seed": o.schedule.seed,
                "violation": o.violation.text if o.violation is not None else "",
                "replay": replay_command(o.schedule),
            }
            for o in total.failures
        ],
    }
    shown = ", ".join(f"{first}:{end}" for first, end in seeds) or "none"
    lines = [
        f"seeds {shown}: {total.runs} run(s) of {steps} steps "
        f"(kinds: {'all' if kinds is None else ','.join(kinds)}), "
        f"{len(total.failures)} failed",
        f"{total.cpu_seconds:.1f} CPU s ({total.runs_per_cpu_second:.2f} runs per CPU second), "
        f"{total.simulated / 3600:.1f} simulated hours, {wall:.0f} s in {len(records)} chunk(s)",
    ]
    for failure in summary["failures"]:
        lines += [
            f"seed {failure['seed']}: {failure['violation']}",
            f"  replay: {failure['replay']}",
        ]
    _replace(path / "summary.json", json.dumps(summary, indent=2) + "\n")
    _replace(path / SUMMARY_FILE, "\n".join(lines) + "\n")


def _replace(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (a reader never sees half of it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)

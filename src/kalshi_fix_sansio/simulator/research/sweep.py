"""Parameter sweeps: a strategy over a grid of parameters × recordings, ranked.

`run_sweep` runs one backtest (`kalshi_fix_sansio.simulator.backtests.backtest.run_backtest`) per parameter set and
recording (or per parameter set over every recording in sequence, ``each=False``), in parallel
on this machine's cores by default (``jobs``: worker processes), or on a Dask cluster
(``engine="dask"``, the ``sweep`` extra: ``pip install -e ".[sweep]"`` in a checkout, or
``pip install "<the wheel>[sweep]"``, the package not being on PyPI yet; point it at a
scheduler with ``address="tcp://host:8786"``, or none for a local cluster of ``jobs`` worker
processes). Each run is deterministic, so the ranking is the same in serial, in parallel
and on the cluster, to the byte (`SweepResult.to_json`).

On a cluster of other machines every worker needs this library (the version the sweep runs
with) and the strategy file and recordings at the same absolute paths as here (a shared file
system): a run names them by path, made absolute before it is sent, and reads them on its
worker. A run a worker cannot carry out (the library missing there, the worker lost) is marked
failed with the cluster's error, like any other failed run.

A run that fails (the strategy raised, ran past its budget, a recording went bad) is marked
failed with the error's one line, naming the run and the simulated time; the sweep goes on, and
the runs that finished keep their results.

The strategy is given as a reference a worker process can load: ``"path/to/file.py:name"`` or
``"package.module:name"`` (``name`` defaults to ``strategy``), or a function of an importable
module. A strategy file may define ``PARAMS``, a dict of default parameters that each grid
point overrides.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import importlib.util
import itertools
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs

from ...codec.errors import LocalProtocolError

if TYPE_CHECKING:
    from ..backtests.backtest import Strategy

__all__ = [
    "ENGINES",
    "RANKINGS",
    "RunOutcome",
    "SweepResult",
    "grid",
    "load_strategy",
    "run_sweep",
]

ENGINES: Final = ("local", "dask")
"""Where a sweep runs: worker processes of this machine, or a Dask cluster."""

_ZERO: Final = Decimal(0)

RANKINGS: Final = ("total", "sharpe", "max_drawdown", "fill_ratio")
"""What a sweep's runs can be ranked by (best first; ``max_drawdown``: smallest first)."""


def grid(**values: Iterable[Any]) -> list[dict[str, Any]]:
    """Every combination of the values given per parameter, in order (the last name varies
    fastest): ``grid(edge=[0.01, 0.02], size=[1, 5])`` is four parameter sets.

    Raises:
        LocalProtocolError: a parameter with no value.
    """
    names = list(values)
    choices = [list(values[n]) for n in names]
    for name, options in zip(names, choices, strict=True):
        if not options:
            raise LocalProtocolError(f"grid: {name} has no value")
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]


def load_strategy(reference: str) -> tuple[Strategy, dict[str, Any]]:
    """The strategy a reference names, and its file's ``PARAMS`` (defaults; {} when none).

    Args:
        reference: ``"path/to/file.py[:name]"`` or ``"package.module[:name]"`` (``name``
            defaults to ``strategy``).

    Raises:
        LocalProtocolError: the file or module cannot be loaded, or has no such function
            (the message names the file or module and the name).
    """
    target, _, name = reference.partition(":")
    name = name or "strategy"
    if _is_file(target):
        path = Path(target)
        if not path.is_file():
            raise LocalProtocolError(f"strategy file {target} not found")
        module_name = f"_kalshi_fix_strategy_{abs(hash(str(path.resolve())))}"
        module = sys.modules.get(module_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise LocalProtocolError(f"strategy file {target} cannot be loaded")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[module_name]
                raise LocalProtocolError(
                    f"strategy file {target}: {type(exc).__name__}: {exc}"
                ) from exc
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise LocalProtocolError(f"strategy module {target}: {exc}") from exc
    found = getattr(module, name, None)
    if not callable(found):
        raise LocalProtocolError(f"{target} has no strategy function {name!r}")
    defaults = getattr(module, "PARAMS", None) or {}
    if not isinstance(defaults, Mapping):
        raise LocalProtocolError(f"{target}: PARAMS must be a dict, got {type(defaults).__name__}")
    return found, dict(defaults)


@attrs.frozen
class RunOutcome:
    """One run of a sweep.

    Attributes:
        index: its place in the sweep (parameter sets in grid order, then recordings).
        params: the parameters it ran with (defaults and grid point).
        recordings: the recordings it ran on (their file names).
        result: `BacktestResult.as_json` of a finished run, None for a failed one.
        error: the one-line error of a failed run, None for a finished one.
    """

    index: int
    params: Mapping[str, Any]
    recordings: tuple[str, ...]
    result: Mapping[str, Any] | None
    error: str | None

    def figure(self, by: str) -> Decimal | None:
        """The run's total figure ``by`` (`RANKINGS`), None when it has none: exact (money
        as the JSON's decimal string; a ratio as its JSON number reads), so that true ties
        stay ties."""
        if self.result is None:
            return None
        total = self.result["statistics"]["total"]
        value = total[by]
        return None if value is None else Decimal(str(value))


def _sort_key(by: str) -> Callable[[RunOutcome], tuple[int, Decimal, int]]:
    def key(outcome: RunOutcome) -> tuple[int, Decimal, int]:
        value = outcome.figure(by)
        if value is None:
            return (1, _ZERO, outcome.index)  # failed, or no figure: last, in sweep order
        return (0, value if by == "max_drawdown" else -value, outcome.index)

    return key


@attrs.frozen
class SweepResult:
    """Every run of a sweep, in sweep order (`runs`), and their ranking."""

    runs: tuple[RunOutcome, ...]

    @property
    def failed(self) -> tuple[RunOutcome, ...]:
        """The runs that failed."""
        return tuple(r for r in self.runs if r.error is not None)

    def ranked(self, by: str = "total") -> list[RunOutcome]:
        """The runs, best first by ``by`` (`RANKINGS`); ties and failures in sweep order.

        Raises:
            LocalProtocolError: an unknown ranking.
        """
        if by not in RANKINGS:
            raise LocalProtocolError(f"rank by one of {', '.join(RANKINGS)}, got {by!r}")
        return sorted(self.runs, key=_sort_key(by))

    def table(self, by: str = "total") -> str:
        """The ranking as a text table (one line per run): the total and the drawdown in
        dollars to the cent, Sharpe to two decimals, the fill ratio in percent (`as_json` has
        every figure whole)."""
        head = ["rank", "params", "recordings", "total", "sharpe", "max_drawdown"]
        head += ["fill_ratio", "fills"]
        lines = [head]
        failures = []
        for rank, run in enumerate(self.ranked(by), 1):
            params = " ".join(f"{k}={v}" for k, v in sorted(run.params.items())) or "-"
            where = ",".join(run.recordings)
            if run.result is None:
                lines.append([str(rank), params, where, "failed", "", "", "", ""])
                failures.append(f"rank {rank}: {run.error}")
                continue
            total = run.result["statistics"]["total"]
            lines.append(
                [
                    str(rank),
                    params,
                    where,
                    f"{Decimal(total['total']):+.2f}",
                    _show(total["sharpe"], ".2f"),
                    f"{Decimal(total['max_drawdown']):.2f}",
                    _show(total["fill_ratio"], ".1%"),
                    str(total["fills"]),
                ]
            )
        widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
        table = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in lines
        ]
        return "\n".join(table + failures)

    def as_json(self, by: str = "total") -> dict[str, Any]:
        """The ranking with every run's result, for programs."""
        return {
            "schema": 1,
            "ranked_by": by,
            "runs": [
                {
                    "rank": rank,
                    "index": run.index,
                    "params": dict(run.params),
                    "recordings": list(run.recordings),
                    "error": run.error,
                    "result": None if run.result is None else dict(run.result),
                }
                for rank, run in enumerate(self.ranked(by), 1)
            ],
        }

    def to_json(self, by: str = "total") -> str:
        """`as_json` as text: the same bytes however the sweep ran."""
        return json.dumps(self.as_json(by), indent=2, sort_keys=True) + "\n"


def _show(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


@attrs.frozen
class _Run:
    """What a worker needs for one run (picklable)."""

    index: int
    strategy: str | Strategy
    params: Mapping[str, Any]
    recordings: tuple[str, ...]
    options: Mapping[str, Any]


def _one(run: _Run) -> RunOutcome:
    """Run one backtest; a failure becomes the outcome's error (never raised)."""
    from ..backtests.backtest import (  # here: the command's --help stays light
        BacktestFailed,
        run_backtest,
    )
    from ..data.recording import RecordingError

    try:
        if isinstance(run.strategy, str):
            strategy, _defaults = load_strategy(run.strategy)
        else:
            strategy = run.strategy
        name = f"run-{run.index}"
        result = run_backtest(
            strategy, list(run.recordings), params=run.params, name=name, **run.options
        )
    except (BacktestFailed, RecordingError, LocalProtocolError) as exc:
        return RunOutcome(run.index, run.params, _names(run), None, str(exc))
    except Exception as exc:  # a bug of the strategy's own loading, say: named, not raised
        what = f"run-{run.index}: {type(exc).__name__}: {exc}"
        return RunOutcome(run.index, run.params, _names(run), None, what)
    # through JSON: the same values whether the run came back from a process or not
    return RunOutcome(run.index, run.params, _names(run), json.loads(result.to_json()), None)


def _names(run: _Run) -> tuple[str, ...]:
    return tuple(Path(r).name for r in run.recordings)


def run_sweep(
    strategy: str | Strategy,
    recordings: Sequence[str | os.PathLike[str]],
    params: Sequence[Mapping[str, Any]] = ({},),
    *,
    each: bool = True,
    jobs: int | None = None,
    engine: str = "local",
    address: str | None = None,
    on_run: Callable[[RunOutcome], None] | None = None,
    **options: Any,
) -> SweepResult:
    """Run ``strategy`` for each parameter set × recording (see the module docstring).

    Args:
        strategy: a reference (``"file.py:name"``, ``"module:name"``) or a function of an
            importable module.
        recordings: the recordings.
        params: the parameter sets (`grid` makes them); each is laid over the strategy
            file's ``PARAMS``.
        each: one run per recording (True), or one run over every recording in sequence.
        jobs: worker processes (None: this machine's cores; 1: in this process, in order).
        engine: ``"local"`` or ``"dask"`` (`ENGINES`).
        address: the Dask scheduler's address (None: a local cluster of ``jobs`` workers).
        on_run: called with each outcome as it comes (in completion order).
        **options: `run_backtest` options for every run (``seed``, ``latency``, ``settle``,
            ``api``, ``mode``, gateway options such as ``queue_model`` and ``fees``...).

    Returns:
        Every run's outcome, in sweep order.

    Raises:
        LocalProtocolError: bad arguments (no recording, no parameter set, an unknown engine,
            an address without the Dask engine, a strategy that cannot be loaded); the Dask
            engine without its extra installed, or a scheduler that cannot be reached.
    """
    if engine not in ENGINES:
        raise LocalProtocolError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if address is not None and engine != "dask":
        raise LocalProtocolError(f'address {address!r} is a Dask scheduler\'s: use engine="dask"')
    if not recordings:
        raise LocalProtocolError("a sweep needs at least one recording")
    if not params:
        raise LocalProtocolError("a sweep needs at least one parameter set")
    defaults: dict[str, Any] = {}
    if isinstance(strategy, str):
        _loaded, defaults = load_strategy(strategy)  # fails here, once, not in every worker
        strategy = _absolute(strategy)
    # absolute: a worker of a cluster may run in another directory (the file names the report
    # shows are the same)
    names = tuple(os.path.abspath(r) for r in recordings)
    _compile_first(names, options)
    groups = [(name,) for name in names] if each else [names]
    runs = [
        _Run(i, strategy, {**defaults, **point}, group, options)
        for i, (point, group) in enumerate(itertools.product(params, groups))
    ]
    outcomes = list(_execute(runs, jobs, engine, address, on_run))
    outcomes.sort(key=lambda o: o.index)
    return SweepResult(tuple(outcomes))


def _compile_first(names: Sequence[str], options: Mapping[str, Any]) -> None:
    """Compile each recording once here, so that every run loads its cache (workers would
    otherwise each compile it); a bad recording is left to the runs, which name it."""
    from ..backtests.compiled import compile_recording
    from ..data.recording import RecordingError

    if not options.get("cache", True):
        return
    for name in names:
        with contextlib.suppress(RecordingError):
            compile_recording(
                name, product=options.get("product"), cache_dir=options.get("cache_dir")
            )


def _absolute(reference: str) -> str:
    """A strategy file's reference with the file's absolute path (a module's as it is)."""
    target, sep, name = reference.partition(":")
    return os.path.abspath(target) + sep + name if _is_file(target) else reference


def _is_file(target: str) -> bool:
    """Whether a strategy reference's target (before the ``:``) is a file, not a module."""
    return target.endswith(".py") or os.sep in target


def _execute(
    runs: list[_Run],
    jobs: int | None,
    engine: str,
    address: str | None,
    on_run: Callable[[RunOutcome], None] | None,
) -> Iterable[RunOutcome]:
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if engine == "dask":
        yield from _on_dask(runs, workers, address, on_run)
        return
    if workers <= 1 or len(runs) == 1:
        for run in runs:
            outcome = _one(run)
            if on_run is not None:
                on_run(outcome)
            yield outcome
        return
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(runs))) as pool:
        for future in concurrent.futures.as_completed([pool.submit(_one, r) for r in runs]):
            outcome = future.result()
            if on_run is not None:
                on_run(outcome)
            yield outcome


@contextlib.contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's own warnings stay off the command's standard error while a sweep runs on it:
    its log lines below ERROR (a slow event loop, garbage collection, memory, a port taken)
    and its Python warnings (a busy port for its HTTP server). A run that fails is reported
    as failed, with its error, like any run."""
    handlers = [
        h for h in logging.getLogger("distributed").handlers if isinstance(h, logging.StreamHandler)
    ]
    levels = [h.level for h in handlers]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"distributed(\.|$)")
        for handler in handlers:
            handler.setLevel(max(handler.level, logging.ERROR))
        try:
            yield
        finally:
            for handler, level in zip(handlers, levels, strict=True):
                handler.setLevel(level)


def _on_dask(
    runs: list[_Run],
    workers: int,
    address: str | None,
    on_run: Callable[[RunOutcome], None] | None,
) -> Iterable[RunOutcome]:
    try:  # an optional extra: typed as Any here
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise LocalProtocolError(
            'engine="dask" needs Dask distributed, the sweep extra: pip install -e ".[sweep]" in '
            'a checkout of kalshi-fix-sansio, or pip install "<the wheel>[sweep]"'
        ) from None
    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet_dask())
        if address is None:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=max(1, min(workers, len(runs))),
                    threads_per_worker=1,  # a run holds the GIL: one per process
                    processes=True,
                    dashboard_address=None,  # no dashboard nobody asked for
                    # the scheduler's HTTP server (its /metrics) still starts without one, on
                    # port 8787 unless told: a second cluster on the machine warned of a port
                    # in use. Loopback, a port the system picks.
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    # the workers' and scheduler's own log: a run's failure comes back as its
                    # result, and a worker's heartbeat racing the cluster's own shutdown is
                    # logged as an ERROR that says nothing about the sweep
                    silence_logs=logging.CRITICAL,
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        else:
            try:
                client = stack.enter_context(distributed.Client(address))
            except (OSError, asyncio.TimeoutError) as exc:
                raise LocalProtocolError(
                    f"the Dask scheduler at {address} cannot be reached: {exc}"
                ) from None
        futures = client.map(_one, runs, pure=False)
        run_of = {future.key: run for future, run in zip(futures, runs, strict=True)}
        for future in distributed.as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # the run never ran to its end on the cluster
                run = run_of[future.key]
                what = f"run-{run.index}: on the Dask cluster: {type(exc).__name__}: {exc}"
                outcome = RunOutcome(run.index, run.params, _names(run), None, what)
            if on_run is not None:
                on_run(outcome)
            yield outcome

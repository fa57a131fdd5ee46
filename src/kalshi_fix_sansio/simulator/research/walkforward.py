"""Walk-forward sweeps and the overfitting guard: choose on one window, score on the next.

A sweep ranks parameter sets on the data they ran on; the best of many is partly the best by
luck. `walk_forward` reads a sweep of one run per parameter set and recording
(`kalshi_fix_sansio.simulator.research.sweep.run_sweep` with ``each=True``, the recordings in time order:
each recording is one *period*, a day say) and:

* **rolls a window**: for each fold, the parameter set with the best score over ``train``
  periods is *chosen*, then scored on the ``test`` periods that follow; the window moves by
  ``step`` periods (`Fold`). The chosen sets' out-of-sample P&L, fold after fold, is what the
  walk-forward strategy would have made; the walk-forward efficiency compares its P&L per
  period with what the same choices made in sample.
* **the probability of backtest overfitting** (PBO; Bailey, Borwein, López de Prado and Zhu,
  "The Probability of Backtest Overfitting", 2015), by combinatorially symmetric cross-validation
  (CSCV): the periods are cut into ``groups`` contiguous blocks; for every way to take half of the
  blocks as the in-sample set (the rest out of sample), the in-sample best set's rank out of
  sample is taken as a relative rank ``w`` in (0, 1) and its logit ``ln(w / (1 - w))``; PBO is
  the share of splits whose logit is at most 0, i.e. where the in-sample winner did no better
  than the median set out of sample. Near 0: the ranking carries over; near 1: it is noise.
* **the deflated Sharpe ratio** (DSR; Bailey and López de Prado, "The Deflated Sharpe Ratio",
  2014) of the set that is best over every period: the probability that its true Sharpe ratio
  (per period, of its per-period P&L) is above what the best of ``N`` trials with no skill would
  show, given the spread of the ``N`` sets' Sharpe ratios, the number of periods and the skew and
  kurtosis of its P&L.

A period's figure is the run's total P&L (realized + unrealized, the backtest's
``statistics.total.total``, exact). A window's score is its periods' P&L summed (``by="total"``)
or their Sharpe ratio, mean over standard deviation of the per-period P&L (``by="sharpe"``,
a window of at least two periods). Ties go to the set that comes first in the sweep; a set
with a failed run is left out of every figure (`WalkForward.excluded`).

What the figures assume: the periods are in time order and comparable (the same markets and
length, roughly); the PBO's splits treat the blocks as exchangeable, which serial correlation
between periods breaks; the DSR assumes the per-period P&L is independent and identically
distributed, and counts the sets tried as independent trials (sets that differ little count
as more trials than they are: the DSR is then too strict, the safe side). Few periods make
every figure wide: with fewer than 8 the PBO is a coarse share and the DSR a rough guide.

Nothing here runs a backtest or reads a clock: `run_walk_forward` runs the sweep (serial, local
processes or a Dask cluster, the same bytes) and hands it to `walk_forward`.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Final

import attrs

from ...codec.errors import LocalProtocolError
from .sweep import RunOutcome, SweepResult, run_sweep

if TYPE_CHECKING:
    from ..backtests.backtest import Strategy

__all__ = [
    "SCORES",
    "DeflatedSharpe",
    "Fold",
    "Overfitting",
    "WalkForward",
    "check_periods",
    "deflated_sharpe",
    "probability_of_overfitting",
    "run_walk_forward",
    "walk_forward",
]

SCORES: Final = ("total", "sharpe")
"""What a window is scored by: its periods' P&L summed, or their Sharpe ratio."""

MAX_GROUPS: Final = 16
"""The most blocks the PBO cuts the periods into (C(16, 8) = 12,870 splits)."""

_EULER_GAMMA: Final = 0.5772156649015329
_NORMAL: Final = NormalDist()


@attrs.frozen
class Fold:
    """One window of a walk-forward run.

    Attributes:
        index: the fold's place (0 first).
        train: the in-sample periods (recording names).
        test: the out-of-sample periods that follow them.
        chosen: the parameter set chosen in sample (its index in `WalkForward.params`), None
            when no set had a score.
        train_score: the chosen set's in-sample score.
        test_score: its out-of-sample score.
        test_pnl: its out-of-sample P&L (the test periods' totals summed).
        test_best: the set with the best out-of-sample score.
        test_rank: the chosen set's out-of-sample rank, 1 the best of the sets scored (ties
            share the mean of their ranks).
    """

    index: int
    train: tuple[str, ...]
    test: tuple[str, ...]
    chosen: int | None
    train_score: Decimal | float | None
    test_score: Decimal | float | None
    test_pnl: Decimal | None
    test_best: int | None
    test_rank: float | None

    @property
    def winners_differ(self) -> bool:
        """Whether the set chosen in sample is not the best out of sample."""
        return self.chosen != self.test_best


@attrs.frozen
class Overfitting:
    """The probability of backtest overfitting of a sweep (CSCV).

    Attributes:
        pbo: the share of splits whose in-sample winner ranked at or below the median out of
            sample (None when it cannot be taken: `note` says why).
        splits: how many splits were taken.
        groups: the blocks the periods were cut into.
        logits: the splits' logits of the winner's relative out-of-sample rank, in split order.
        note: why there is no figure, else empty.
    """

    pbo: float | None
    splits: int
    groups: int
    logits: tuple[float, ...]
    note: str = ""


@attrs.frozen
class DeflatedSharpe:
    """The deflated Sharpe ratio of one parameter set.

    Attributes:
        chosen: the set (its index), the best over every period.
        sharpe: its Sharpe ratio per period (mean over sample standard deviation of its
            per-period P&L).
        expected_max: the Sharpe ratio the best of `trials` unskilled sets would show.
        trials: the sets counted as trials.
        periods: the periods its P&L covers.
        dsr: the probability that its true Sharpe ratio is above `expected_max` (None when it
            cannot be taken: `note` says why).
        note: why there is no figure, else empty.
    """

    chosen: int | None
    sharpe: float | None
    expected_max: float | None
    trials: int
    periods: int
    dsr: float | None
    note: str = ""


@attrs.frozen
class WalkForward:
    """A walk-forward run over a sweep, and its overfitting guard (see the module docstring).

    Attributes:
        params: the parameter sets, in sweep order.
        periods: the periods (recording names), in time order.
        by: what windows are scored by (`SCORES`).
        train: periods in sample per fold.
        test: periods out of sample per fold.
        step: periods the window moves by.
        folds: the folds, in time order.
        excluded: the sets left out (one of their runs failed).
        overfitting: the PBO over every period.
        deflated: the deflated Sharpe ratio of the best set over every period.
    """

    params: tuple[Mapping[str, Any], ...]
    periods: tuple[str, ...]
    by: str
    train: int
    test: int
    step: int
    folds: tuple[Fold, ...]
    excluded: tuple[int, ...]
    overfitting: Overfitting
    deflated: DeflatedSharpe

    @property
    def out_of_sample_pnl(self) -> Decimal:
        """What the walk-forward strategy made: the chosen sets' out-of-sample P&L summed."""
        return sum((f.test_pnl for f in self.folds if f.test_pnl is not None), Decimal(0))

    @property
    def efficiency(self) -> float | None:
        """The chosen sets' P&L per period out of sample over their P&L per period in sample
        (None when the in-sample P&L is not positive: the ratio says nothing then)."""
        inside = Decimal(0)
        periods_in = periods_out = 0
        for fold in self.folds:
            if fold.chosen is None or fold.test_pnl is None:
                continue
            inside += self._pnl(fold.chosen, fold.train)
            periods_in += len(fold.train)
            periods_out += len(fold.test)
        if not periods_in or inside <= 0:
            return None
        return _round(float((self.out_of_sample_pnl / periods_out) / (inside / periods_in)))

    _matrix: tuple[tuple[Decimal | None, ...], ...] = attrs.field(default=(), repr=False)

    def _pnl(self, chosen: int, names: tuple[str, ...]) -> Decimal:
        row = self._matrix[chosen]
        return sum((row[self.periods.index(n)] or Decimal(0) for n in names), Decimal(0))

    def as_json(self) -> dict[str, Any]:
        """Every figure, for programs (scores as exact decimal strings or JSON numbers)."""
        return {
            "schema": 1,
            "by": self.by,
            "train": self.train,
            "test": self.test,
            "step": self.step,
            "periods": list(self.periods),
            "params": [dict(p) for p in self.params],
            "excluded": list(self.excluded),
            "folds": [
                {
                    "index": f.index,
                    "train": list(f.train),
                    "test": list(f.test),
                    "chosen": f.chosen,
                    "train_score": _plain(f.train_score),
                    "test_score": _plain(f.test_score),
                    "test_pnl": _plain(f.test_pnl),
                    "test_best": f.test_best,
                    "test_rank": f.test_rank,
                    "winners_differ": f.winners_differ,
                }
                for f in self.folds
            ],
            "out_of_sample_pnl": str(self.out_of_sample_pnl),
            "efficiency": self.efficiency,
            "overfitting": {
                "pbo": self.overfitting.pbo,
                "splits": self.overfitting.splits,
                "groups": self.overfitting.groups,
                "note": self.overfitting.note,
            },
            "deflated_sharpe": attrs.asdict(self.deflated),
        }

    def to_json(self) -> str:
        """`as_json` as text: the same bytes however the sweep ran."""
        return json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n"

    def table(self) -> str:
        """The folds as a text table, then the summary and the overfitting guard's figures."""
        head = ["fold", "train", "test", "chosen", "in sample", "out of sample", "oos rank"]
        lines = [head]
        for f in self.folds:
            lines.append(
                [
                    str(f.index),
                    _span(f.train),
                    _span(f.test),
                    "-" if f.chosen is None else _params(self.params[f.chosen]),
                    _show(f.train_score),
                    _show(f.test_score),
                    "-" if f.test_rank is None else f"{f.test_rank:g} of {self._scored()}",
                ]
            )
        widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
        out = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in lines
        ]
        efficiency = self.efficiency
        out.append(
            f"out-of-sample P&L {self.out_of_sample_pnl:+.2f} over {len(self.folds)} folds; "
            "walk-forward efficiency "
            + ("-" if efficiency is None else f"{efficiency:.2f}")
            + f"; winners differ in {sum(f.winners_differ for f in self.folds)} of "
            f"{len(self.folds)} folds"
        )
        o = self.overfitting
        out.append(
            "probability of backtest overfitting "
            + (
                f"{o.pbo:.2f} ({o.splits} splits of {o.groups} blocks)"
                if o.pbo is not None
                else f"- ({o.note})"
            )
        )
        d = self.deflated
        out.append(
            "deflated Sharpe ratio "
            + (
                f"{d.dsr:.2f} of the best set ({_params(self.params[d.chosen])}; Sharpe "
                f"{d.sharpe:.2f} per period against {d.expected_max:.2f} expected of the best "
                f"of {d.trials} unskilled)"
                if d.dsr is not None
                and d.chosen is not None
                and d.sharpe is not None
                and d.expected_max is not None
                else f"- ({d.note})"
            )
        )
        for index in self.excluded:
            out.append(f"left out: {_params(self.params[index])} (a run failed)")
        return "\n".join(out)

    def _scored(self) -> int:
        return len(self.params) - len(self.excluded)


def _params(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(params.items())) or "-"


def _span(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"


def _show(value: Decimal | float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value:+.2f}"
    return f"{value:.2f}"


def _plain(value: Decimal | float | None) -> str | float | None:
    return str(value) if isinstance(value, Decimal) else value


def _round(value: float) -> float:
    """Figures to 10 significant digits: the same text on every machine."""
    return float(f"{value:.10g}")


def _matrix(
    result: SweepResult,
) -> tuple[tuple[Mapping[str, Any], ...], tuple[str, ...], list[list[Decimal | None]]]:
    """The sweep as parameter sets, periods, and each set's P&L per period (None: failed)."""
    runs = result.runs
    if not runs:
        raise LocalProtocolError("walk-forward needs a sweep with runs")
    first = runs[0].params
    width = next((i for i, r in enumerate(runs) if r.params != first), len(runs))
    periods = tuple(_period(r) for r in runs[:width])
    _distinct(periods)
    if len(runs) % width:
        raise _not_each()
    params: list[Mapping[str, Any]] = []
    rows: list[list[Decimal | None]] = []
    for start in range(0, len(runs), width):
        block = runs[start : start + width]
        if (
            any(r.params != block[0].params for r in block)
            or tuple(_period(r) for r in block) != periods
        ):
            raise _not_each()
        params.append(block[0].params)
        rows.append([_total(r) for r in block])
    return tuple(params), periods, rows


def check_periods(recordings: Sequence[str | os.PathLike[str]]) -> None:
    """Each recording a period of its own, named by its file name: checked before a sweep runs.

    Raises:
        LocalProtocolError: two recordings of one file name (the names given are listed).
    """
    _distinct([os.path.basename(os.fspath(r)) for r in recordings])


def _distinct(periods: Sequence[str]) -> None:
    if len(set(periods)) != len(periods):
        raise LocalProtocolError(
            "walk-forward needs recordings of distinct file names, one per period; "
            f"got {', '.join(periods)}"
        )


def _period(run: RunOutcome) -> str:
    if len(run.recordings) != 1:
        raise _not_each()
    return run.recordings[0]


def _not_each() -> LocalProtocolError:
    return LocalProtocolError(
        "walk-forward needs a sweep of one run per parameter set and recording "
        "(run_sweep(..., each=True); on the command line, --runs each), in sweep order"
    )


def _total(run: RunOutcome) -> Decimal | None:
    if run.result is None:
        return None
    return Decimal(str(run.result["statistics"]["total"]["total"]))


def _score(pnl: Sequence[Decimal], by: str) -> Decimal | float | None:
    """A window's score: its periods' P&L summed, or their Sharpe ratio."""
    if by == "total":
        return sum(pnl, Decimal(0))
    return _sharpe([float(x) for x in pnl])


def _sharpe(values: Sequence[float]) -> float | None:
    """Mean over sample standard deviation, None with fewer than two values or no spread."""
    if len(values) < 2:
        return None
    mean = math.fsum(values) / len(values)
    var = math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return None if var <= 0 else mean / math.sqrt(var)


def _best(scores: Sequence[Decimal | float | None]) -> int | None:
    """The index of the best score (ties: the first), None when none has one."""
    best: int | None = None
    for i, s in enumerate(scores):
        if s is not None and (best is None or s > scores[best]):  # type: ignore[operator]
            best = i
    return best


def _rank(scores: Sequence[Decimal | float | None], index: int) -> float | None:
    """``index``'s rank among the scored, 1 the best; ties share the mean of their ranks."""
    mine = scores[index]
    if mine is None:
        return None
    scored = [s for s in scores if s is not None]
    above = sum(1 for s in scored if s > mine)
    equal = sum(1 for s in scored if s == mine)
    return above + (equal + 1) / 2


def walk_forward(
    result: SweepResult,
    *,
    train: int,
    test: int = 1,
    step: int | None = None,
    by: str = "total",
    groups: int | None = None,
) -> WalkForward:
    """Walk forward over ``result`` (see the module docstring).

    Args:
        result: a sweep of one run per parameter set and recording (``each=True``), the
            recordings in time order.
        train: periods in sample per fold.
        test: periods out of sample per fold.
        step: periods the window moves by (default: ``test``).
        by: what a window is scored by (`SCORES`).
        groups: the blocks the PBO cuts the periods into (default: the periods, rounded down
            to an even number, at most `MAX_GROUPS`).

    Raises:
        LocalProtocolError: a sweep of another shape, a window longer than the periods, or
            bad counts.
    """
    if by not in SCORES:
        raise LocalProtocolError(f"score windows by one of {', '.join(SCORES)}, got {by!r}")
    step = test if step is None else step
    for name, value in (("train", train), ("test", test), ("step", step)):
        if value < 1:
            raise LocalProtocolError(f"walk-forward {name} must be 1 or more periods, got {value}")
    if by == "sharpe" and train < 2:
        raise LocalProtocolError("a Sharpe ratio needs a window of 2 or more periods (train)")
    params, periods, rows = _matrix(result)
    if train + test > len(periods):
        raise LocalProtocolError(
            f"walk-forward of {train} periods in sample and {test} out of sample needs "
            f"{train + test} recordings; the sweep has {len(periods)}"
        )
    excluded = tuple(i for i, row in enumerate(rows) if any(x is None for x in row))
    kept = [i for i in range(len(rows)) if i not in excluded]
    full: list[list[Decimal]] = [[x for x in rows[i] if x is not None] for i in kept]
    folds = []
    for n, start in enumerate(range(0, len(periods) - train - test + 1, step)):
        inside = slice(start, start + train)
        outside = slice(start + train, start + train + test)
        train_scores = [_score(row[inside], by) for row in full]
        test_scores = [_score(row[outside], by) for row in full]
        chosen = _best(train_scores)
        test_best = _best(test_scores)
        folds.append(
            Fold(
                index=n,
                train=periods[inside],
                test=periods[outside],
                chosen=None if chosen is None else kept[chosen],
                train_score=None if chosen is None else train_scores[chosen],
                test_score=None if chosen is None else test_scores[chosen],
                test_pnl=None if chosen is None else sum(full[chosen][outside], Decimal(0)),
                test_best=None if test_best is None else kept[test_best],
                test_rank=None if chosen is None else _rank(test_scores, chosen),
            )
        )
    overfitting = probability_of_overfitting(full, by=by, groups=groups)
    whole = [_score(row, by) for row in full]
    best = _best(whole)
    deflated = deflated_sharpe(full, None if best is None else best)
    if deflated.chosen is not None:
        deflated = attrs.evolve(deflated, chosen=kept[deflated.chosen])
    return WalkForward(
        params=params,
        periods=periods,
        by=by,
        train=train,
        test=test,
        step=step,
        folds=tuple(folds),
        excluded=excluded,
        overfitting=overfitting,
        deflated=deflated,
        matrix=tuple(tuple(row) for row in rows),
    )


def _blocks(periods: int, groups: int) -> list[range]:
    """``periods`` cut into ``groups`` contiguous blocks of near-equal length."""
    bounds = [round(i * periods / groups) for i in range(groups + 1)]
    return [range(bounds[i], bounds[i + 1]) for i in range(groups)]


def probability_of_overfitting(
    pnl: Sequence[Sequence[Decimal]], *, by: str = "total", groups: int | None = None
) -> Overfitting:
    """The PBO of parameter sets' per-period P&L (``pnl[set][period]``), by CSCV.

    Args:
        pnl: each set's P&L per period, every set over the same periods.
        by: what a set is scored by over a split's half (`SCORES`).
        groups: the blocks (even, 2 or more, at most the periods and `MAX_GROUPS`; default:
            the periods rounded down to even, at most `MAX_GROUPS`).

    Raises:
        LocalProtocolError: an odd or out-of-range ``groups``.
    """
    sets = len(pnl)
    periods = len(pnl[0]) if pnl else 0
    if groups is None:
        groups = min(periods - periods % 2, MAX_GROUPS)
    elif groups % 2 or not 2 <= groups <= min(periods, MAX_GROUPS):
        raise LocalProtocolError(
            f"the PBO's groups must be even, 2 or more, at most the periods ({periods}) and "
            f"{MAX_GROUPS}; got {groups}"
        )
    if sets < 2:
        return Overfitting(None, 0, 0, (), "it needs 2 or more parameter sets that ran")
    if groups < 2:
        return Overfitting(None, 0, 0, (), "it needs 2 or more periods")
    blocks = _blocks(periods, groups)
    if by == "sharpe" and min(len(b) for b in blocks) * (groups // 2) < 2:
        return Overfitting(None, 0, groups, (), "a Sharpe ratio needs 2 or more periods a side")
    logits: list[float] = []
    for chosen_blocks in itertools.combinations(range(groups), groups // 2):
        inside = [p for b in chosen_blocks for p in blocks[b]]
        outside = [p for b in range(groups) if b not in chosen_blocks for p in blocks[b]]
        in_scores = [_score([row[p] for p in inside], by) for row in pnl]
        out_scores = [_score([row[p] for p in outside], by) for row in pnl]
        winner = _best(in_scores)
        if winner is None or out_scores[winner] is None:
            continue
        scored = sum(1 for s in out_scores if s is not None)
        rank = _rank(out_scores, winner)
        assert rank is not None
        # relative rank in (0, 1): 1 - (rank - 1/2) / scored ... as the paper's w = r / (N + 1)
        # with r counted from the worst
        from_worst = scored + 1 - rank
        w = from_worst / (scored + 1)
        logits.append(_round(math.log(w / (1 - w))))
    if not logits:
        return Overfitting(None, 0, groups, (), "no split had a scored winner")
    pbo = sum(1 for x in logits if x <= 0) / len(logits)
    return Overfitting(_round(pbo), len(logits), groups, tuple(logits))


def deflated_sharpe(pnl: Sequence[Sequence[Decimal]], chosen: int | None) -> DeflatedSharpe:
    """The deflated Sharpe ratio of set ``chosen`` among ``pnl``'s sets (see the module
    docstring): every set is a trial; the Sharpe ratios are per period."""
    trials = len(pnl)
    periods = len(pnl[0]) if pnl else 0
    if chosen is None:
        return DeflatedSharpe(None, None, None, trials, periods, None, "no set ran every period")
    series = [float(x) for x in pnl[chosen]]
    sharpe = _sharpe(series)
    if periods < 3 or sharpe is None:
        return DeflatedSharpe(
            chosen,
            sharpe,
            None,
            trials,
            periods,
            None,
            "it needs 3 or more periods of P&L that varies",
        )
    sharpes = [s for s in (_sharpe([float(x) for x in row]) for row in pnl) if s is not None]
    if trials > 1 and len(sharpes) > 1:
        mean = math.fsum(sharpes) / len(sharpes)
        spread = math.sqrt(math.fsum((s - mean) ** 2 for s in sharpes) / (len(sharpes) - 1))
        expected = spread * (
            (1 - _EULER_GAMMA) * _NORMAL.inv_cdf(1 - 1 / trials)
            + _EULER_GAMMA * _NORMAL.inv_cdf(1 - 1 / (trials * math.e))
        )
    else:
        expected = 0.0  # one trial: the probabilistic Sharpe ratio against 0
    n = len(series)
    mean = math.fsum(series) / n
    m2 = math.fsum((x - mean) ** 2 for x in series) / n
    skew = math.fsum((x - mean) ** 3 for x in series) / n / m2**1.5
    kurtosis = math.fsum((x - mean) ** 4 for x in series) / n / m2**2
    inside = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if inside <= 0:
        return DeflatedSharpe(
            chosen,
            _round(sharpe),
            _round(expected),
            trials,
            periods,
            None,
            "its P&L's skew and kurtosis leave no standard error",
        )
    z = (sharpe - expected) * math.sqrt(n - 1) / math.sqrt(inside)
    return DeflatedSharpe(
        chosen, _round(sharpe), _round(expected), trials, periods, _round(_NORMAL.cdf(z))
    )


def run_walk_forward(
    strategy: str | Strategy,
    recordings: Sequence[str | os.PathLike[str]],
    params: Sequence[Mapping[str, Any]],
    *,
    train: int,
    test: int = 1,
    step: int | None = None,
    by: str = "total",
    groups: int | None = None,
    **sweep_options: Any,
) -> tuple[SweepResult, WalkForward]:
    """Run the sweep (`run_sweep` with ``each=True``: ``jobs``, ``engine``, ``address`` and
    the backtest options as there), then `walk_forward` over it.

    Raises:
        LocalProtocolError: as `run_sweep` and `walk_forward` (checked before any run).
    """
    if sweep_options.pop("each", True) is not True:
        raise _not_each()
    check_periods(recordings)
    if train + test > len(recordings):
        raise LocalProtocolError(
            f"walk-forward of {train} periods in sample and {test} out of sample needs "
            f"{train + test} recordings; got {len(recordings)}"
        )
    result = run_sweep(strategy, recordings, params, each=True, **sweep_options)
    return result, walk_forward(result, train=train, test=test, step=step, by=by, groups=groups)

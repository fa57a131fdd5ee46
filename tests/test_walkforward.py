"""Walk-forward sweeps (`kalshi_fix_sansio.simulator.research.walkforward`): the folds, the probability of
backtest overfitting and the deflated Sharpe ratio by hand arithmetic on a sweep made by hand;
real backtests where the in-sample and out-of-sample winners differ by construction (days that
settle yes, then a day that settles no), the same bytes in serial and on worker processes; the
``kalshi-fix backtest --walk-forward`` command; bad arguments named."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from statistics import NormalDist

import pytest

from kalshi_fix_sansio import cli
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.research.sweep import RunOutcome, SweepResult, grid
from kalshi_fix_sansio.simulator.research.walkforward import (
    probability_of_overfitting,
    run_walk_forward,
    walk_forward,
)
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_MARKETS, write_recording

PNL = [  # three parameter sets' P&L on four days A-D
    ["3", "3", "-2", "-2"],  # set 0: the best of A-B, the worst after
    ["1", "1", "2", "2"],  # set 1: steady
    ["0", "2", "1", "-1"],  # set 2
]
DAYS = ("A.log", "B.log", "C.log", "D.log")


def _sweep(pnl: list[list[str | None]]) -> SweepResult:
    """A sweep of one run per set and day, in sweep order (None: a failed run)."""
    runs = []
    for s, row in enumerate(pnl):
        for d, total in enumerate(row):
            result = None if total is None else {"statistics": {"total": {"total": total}}}
            error = None if total is not None else f"run-{s * len(row) + d}: failed"
            runs.append(RunOutcome(s * len(row) + d, {"set": s}, (DAYS[d],), result, error))
    return SweepResult(tuple(runs))


def test_folds_choose_in_sample_and_score_out_of_sample() -> None:
    """train 2, test 1, step 1 over A-D: fold 0 trains on A-B (set 0: 6, sets 1 and 2: 2),
    chooses set 0, which makes -2 on C where set 1 makes 2 (rank 3 of 3); fold 1 trains on B-C
    (set 0: 1, sets 1 and 2: 3, the tie to the first), chooses set 1, the best on D (2). Out of
    sample 0; in sample the choices made 6 + 3 over 4 days: efficiency 0 / 2.25 = 0."""
    wf = walk_forward(_sweep(PNL), train=2, test=1, step=1)
    assert [(f.train, f.test) for f in wf.folds] == [(DAYS[0:2], DAYS[2:3]), (DAYS[1:3], DAYS[3:4])]
    first, second = wf.folds
    assert (first.chosen, first.train_score, first.test_score) == (0, Decimal(6), Decimal(-2))
    assert (first.test_best, first.test_rank, first.winners_differ) == (1, 3.0, True)
    assert (second.chosen, second.train_score, second.test_pnl) == (1, Decimal(3), Decimal(2))
    assert (second.test_best, second.test_rank, second.winners_differ) == (1, 1.0, False)
    assert wf.out_of_sample_pnl == Decimal(0)
    assert wf.efficiency == 0.0
    assert wf.params == ({"set": 0}, {"set": 1}, {"set": 2}) and wf.periods == DAYS
    table = wf.table()
    assert "set=0" in table and "winners differ in 1 of 2 folds" in table


def test_the_probability_of_overfitting_by_hand() -> None:
    """Four days in four blocks, six splits of two days in sample. The in-sample winner and its
    out-of-sample rank (1 the best of 3; ties share): A-B: set 0, rank 3 (w = 1/4: logit < 0);
    A-C: set 1, rank 1 (w = 3/4); A-D: set 1, tied with set 2 on B-C, rank 1.5 (w = 2.5/4);
    B-C: set 1, rank 1; B-D: set 1, rank 1; C-D: set 1, tied with set 2 on A-B below set 0,
    rank 2.5 (w = 1.5/4: logit < 0). PBO = 2 of 6."""
    o = walk_forward(_sweep(PNL), train=2).overfitting
    assert (o.splits, o.groups) == (6, 4)
    expected = [math.log(w / (1 - w)) for w in (1 / 4, 3 / 4, 2.5 / 4, 3 / 4, 3 / 4, 1.5 / 4)]
    assert o.logits == pytest.approx(expected, abs=1e-9)
    assert o.pbo == pytest.approx(1 / 3, abs=1e-9)


def test_the_deflated_sharpe_ratio_by_hand() -> None:
    """The best set over A-D is set 1 (total 6): per-day P&L 1, 1, 2, 2, mean 1.5, sample
    standard deviation sqrt(1/3): Sharpe 2.598076. The three sets' Sharpe ratios 0.173205 (set
    0: mean 0.5, sd sqrt(25/3)), 2.598076, 0.387298 (set 2: mean 0.5, sd sqrt(5/3)) spread with
    a standard deviation of 1.342471; the best of 3 unskilled trials would show
    1.342471 x ((1 - 0.5772157) x 0.4307273 + 0.5772157 x 1.1619569) = 1.144865 (z the
    normal quantile: z(2/3), z(1 - 1/(3e))). The days'
    skew is 0 and kurtosis 1 (two values, equally often): z = (2.598076 - 1.144865) x sqrt(3)
    = 2.517035, DSR = Phi(2.517035) = 0.994083."""
    d = walk_forward(_sweep(PNL), train=2).deflated
    assert (d.chosen, d.trials, d.periods) == (1, 3, 4)
    assert d.sharpe == pytest.approx(2.598076, abs=1e-6)
    z = NormalDist().inv_cdf
    expected_max = 1.342471 * ((1 - 0.5772157) * z(2 / 3) + 0.5772157 * z(1 - 1 / (3 * math.e)))
    assert d.expected_max == pytest.approx(expected_max, abs=1e-5)
    assert expected_max == pytest.approx(1.144865, abs=1e-5)
    assert d.dsr == pytest.approx(NormalDist().cdf((2.598076 - 1.144865) * math.sqrt(3)), abs=1e-5)
    assert d.dsr == pytest.approx(0.994083, abs=1e-5)


def test_more_trials_deflate_the_same_winner_further() -> None:
    """The same best set among more (worse, spread) sets: the bar the best of them would reach
    by luck rises, so its DSR falls."""
    few = walk_forward(_sweep(PNL), train=2).deflated.dsr
    more = PNL + [[str(i), str(-i), str(i % 3), str(-(i % 2))] for i in range(1, 12)]
    many = walk_forward(_sweep(more), train=2).deflated
    assert many.trials == 14 and many.chosen == 1
    assert few is not None and many.dsr is not None and many.dsr < few


def test_a_sharpe_window_and_a_failed_run() -> None:
    """Windows scored by their days' Sharpe ratio; a set with a failed run is left out of every
    figure and named."""
    pnl: list[list[str | None]] = [list(row) for row in PNL]
    pnl[2][3] = None
    wf = walk_forward(_sweep(pnl), train=2, test=1, by="sharpe")
    assert wf.excluded == (2,)
    assert all(2 not in (f.chosen, f.test_best) for f in wf.folds)
    # fold 0: A-B has no spread for either set (3, 3 and 1, 1): no Sharpe, no choice
    assert wf.folds[0].chosen is None and wf.folds[0].test_pnl is None
    # fold 1: B-C: set 0 (3, -2) mean 0.5 sd 3.5355; set 1 (1, 2) mean 1.5 sd 0.7071
    assert wf.folds[1].chosen == 1
    assert wf.folds[1].train_score == pytest.approx(1.5 / math.sqrt(0.5))
    assert "left out: set=2 (a run failed)" in wf.table()
    assert json.loads(wf.to_json())["excluded"] == [2]


def test_bad_arguments_are_named() -> None:
    sweep = _sweep(PNL)
    with pytest.raises(LocalProtocolError, match="needs 5 recordings; the sweep has 4"):
        walk_forward(sweep, train=4)
    with pytest.raises(LocalProtocolError, match="train must be 1 or more"):
        walk_forward(sweep, train=0)
    with pytest.raises(LocalProtocolError, match="score windows by one of total, sharpe"):
        walk_forward(sweep, train=2, by="fill_ratio")
    with pytest.raises(LocalProtocolError, match="needs a window of 2 or more"):
        walk_forward(sweep, train=1, by="sharpe")
    with pytest.raises(LocalProtocolError, match="groups must be even"):
        walk_forward(sweep, train=2, groups=3)
    sequence = SweepResult((RunOutcome(0, {}, DAYS[:2], {"statistics": {}}, None),))
    with pytest.raises(LocalProtocolError, match="one run per parameter set and recording"):
        walk_forward(sequence, train=1)
    assert probability_of_overfitting([[Decimal(1), Decimal(2)]]).pbo is None


STRATEGY = '''\
"""Buys or sells ``size`` at the first touch of the first market, then holds to the end."""

from decimal import Decimal

from kalshi_fix_sansio import ApplicationMessage
from kalshi_fix_sansio.trading.book import Books
from kalshi_fix_sansio.trading.builders import ClOrdIDGenerator, Requests

PARAMS = {"side": "buy"}


def strategy(ctx):
    orders = Requests(ctx.product, "KalshiNR", cl_ord_ids=ClOrdIDGenerator("wf-", sequential=True))
    books = Books()
    done = False
    with ctx.client(market_data=True).market_data() as md, ctx.client().order_entry() as oe:
        md.send(Requests(ctx.product, "KalshiMD").subscribe(ctx.symbol), resubscribe=True)
        while ctx.seconds > 0:
            event = md.next_event(timeout=ctx.seconds)
            if event is None:
                break
            if done or not isinstance(event, ApplicationMessage):
                continue
            if ctx.symbol in books.apply(event.message):
                book = books[ctx.symbol]
                buy = ctx.params["side"] == "buy"
                level = book.best_offer() if buy else book.best_bid()
                if level is not None:
                    oe.send(orders.new_order(ctx.symbol, ctx.params["side"], Decimal(1), level.price))
                    done = True
'''


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four days of the same market: the first three settle yes, the last no."""
    where = tmp_path_factory.mktemp("walk-forward")
    paths = []
    for day, outcome in enumerate(("yes", "yes", "yes", "no"), 1):
        path = where / f"day-{day}.log"
        with path.open("w", encoding="utf-8") as out:
            write_recording(
                out,
                messages=60,
                seed=day,
                start=1_790_000_000.0 + day * 1_800,
                settle={SAMPLE_MARKETS[0]: outcome},
            )
        paths.append(path)
    return paths


def test_real_backtests_where_the_winners_differ(tmp_path: Path, days: list[Path]) -> None:
    """Buying wins the days that settle yes and selling the day that settles no: the last fold
    (trained on days 2-3, tested on day 4) chooses buying, and selling wins out of sample. The
    folds agree with the sweep's own runs, and the walk-forward's JSON is the same bytes in
    serial and on two worker processes."""
    strategy = tmp_path / "side.py"
    strategy.write_text(STRATEGY, encoding="utf-8")
    points = grid(side=["buy", "sell"])
    sweep, wf = run_walk_forward(f"{strategy}:strategy", days, points, train=2, jobs=1, seed=3)
    assert not sweep.failed
    totals = {(r.params["side"], r.recordings[0]): r.figure("total") for r in sweep.runs}
    for day in ("day-1.log", "day-2.log", "day-3.log"):
        assert totals["buy", day] > 0 > totals["sell", day]  # type: ignore[operator]
    assert totals["sell", "day-4.log"] > 0 > totals["buy", "day-4.log"]  # type: ignore[operator]
    last = wf.folds[-1]
    assert (last.train, last.test) == (("day-2.log", "day-3.log"), ("day-4.log",))
    assert (last.chosen, last.test_best, last.winners_differ) == (0, 1, True)
    assert last.test_pnl == totals["buy", "day-4.log"]
    _parallel, again = run_walk_forward(
        f"{strategy}:strategy", days, points, train=2, jobs=2, seed=3
    )
    assert again.to_json() == wf.to_json()
    # the command: the same walk-forward written beside the sweep
    out = tmp_path / "out"
    command = ["backtest", f"{strategy}:strategy", *map(str, days), "--seed", "3"]
    status = cli.main(
        [
            *command,
            "--grid",
            "side=buy,sell",
            "--walk-forward",
            "2",
            "--jobs",
            "1",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    assert (out / "walk-forward.json").read_text(encoding="utf-8") == wf.to_json()
    # and the sweep's tearsheet shows the folds and the overfitting guard
    sheet = tmp_path / "sheet.html"
    status = cli.main(
        [
            *command,
            "--grid",
            "side=buy,sell",
            "--walk-forward",
            "2",
            "--jobs",
            "1",
            "--out",
            str(out),
            "--tearsheet",
            str(sheet),
        ]
    )
    html = sheet.read_text(encoding="utf-8")
    assert status == 0 and 'id="walk-forward"' in html and 'id="overfitting"' in html
    assert "day-2.log, day-3.log" in html and "probability of backtest overfitting" in html


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("0", "--walk-forward 0: train must be 1 or more"),
        ("2:x", "--walk-forward 2:x: TRAIN[:TEST[:STEP]], whole numbers"),
        ("3:2", "--walk-forward 3:2 needs 5 recordings; got 4"),
    ],
)
def test_the_command_refuses_a_bad_walk_forward_before_any_run(
    spec: str, why: str, tmp_path: Path, days: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    strategy = tmp_path / "side.py"
    strategy.write_text(STRATEGY, encoding="utf-8")
    command = ["backtest", f"{strategy}:strategy", *map(str, days), "--grid", "side=buy,sell"]
    assert cli.main([*command, "--walk-forward", spec, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert why in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists()


def test_recordings_of_one_file_name_are_refused_before_any_run(
    tmp_path: Path, days: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    strategy = tmp_path / "side.py"
    strategy.write_text(STRATEGY, encoding="utf-8")
    again = tmp_path / "again"
    again.mkdir()
    copy = again / days[0].name
    copy.write_bytes(days[0].read_bytes())
    recordings = [str(days[0]), str(copy), *map(str, days[1:])]
    command = ["backtest", f"{strategy}:strategy", *recordings, "--grid", "side=buy,sell"]
    assert cli.main([*command, "--walk-forward", "2:1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "distinct file names" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists()
    # the library's run checks the same before its sweep (no file is opened)
    missing = [tmp_path / "a" / "day.log", tmp_path / "b" / "day.log", tmp_path / "day-3.log"]
    with pytest.raises(LocalProtocolError, match="distinct file names, one per period"):
        run_walk_forward(f"{strategy}:strategy", missing, [{"side": "buy"}], train=2)

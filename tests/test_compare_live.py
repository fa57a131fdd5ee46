"""Live against simulated (`kalshi_fix_sansio.simulator.research.compare`): a "live" day made by the mock
exchange under a known queue model, then simulated with differences built by hand: another
queue model (every difference put down to the queue), an order-entry latency that makes two
orders miss the queue they joined live (latency), a recording cut short (missing data); the
same models reproduce the day with no difference; the command; bad input named."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from queue_episodes import SYMBOL, T0, TRADES, joiner, write_episodes

from kalshi_fix_sansio import cli
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.data.recording import read_recording
from kalshi_fix_sansio.simulator.gateway import queue_model
from kalshi_fix_sansio.simulator.research.compare import CAUSES, compare_live
from kalshi_fix_sansio.simulator.world.latency import ConstantLatency

LIVE_MODEL = "prob-power:3"
"""The "live" exchange's queue model: of the six orders (10 each) only the last two fill, 2.14
and 7.14 contracts (92.86 ahead after the cancellations; trades of 95 and 100)."""


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("compare-live")
    recording = where / "md.log"
    write_episodes(recording)
    log = where / "oe.log"
    run_backtest(joiner(log), recording, queue_model=queue_model(LIVE_MODEL), seed=2)
    return recording, log


ORDER_ENTRY = {"KalshiNR": ConstantLatency(0.05)}
"""The order-entry latency of the day made with one (`slow_day`): 50 ms each way."""


@pytest.fixture(scope="module")
def slow_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The day of `day` with `ORDER_ENTRY`'s latency: each answer reaches the live log 100 ms
    after its order (the way there and back)."""
    where = tmp_path_factory.mktemp("compare-live-slow")
    recording = where / "md.log"
    write_episodes(recording)
    log = where / "oe.log"
    model = queue_model(LIVE_MODEL)
    run_backtest(joiner(log), recording, queue_model=model, seed=2, latency=ORDER_ENTRY)
    return recording, log


def _strategy(tmp_path: Path) -> object:
    return joiner(tmp_path / "simulated-oe.log")


def test_the_same_models_reproduce_the_day(day: tuple[Path, Path], tmp_path: Path) -> None:
    recording, log = day
    same = compare_live(
        _strategy(tmp_path), recording, [log], queue_model=queue_model(LIVE_MODEL), seed=5
    )
    assert len(same.orders) == len(TRADES) and not same.differing
    filled = [o.live.filled for o in same.orders if o.live is not None]
    assert filled == [0, 0, 0, 0, Decimal("2.14"), Decimal("7.14")]
    # the queue ahead when each order was sent: the level's 100 recorded contracts
    assert {o.queue_ahead for o in same.orders} == {Decimal(100)}
    assert same.by_cause() == dict.fromkeys(CAUSES, 0)


def test_another_queue_model_differs_by_the_queue(day: tuple[Path, Path], tmp_path: Path) -> None:
    """FIFO puts the 200 cancelled contracts ahead of each order: every trade (15 to 100)
    fills all 10 in the simulation, where live filled 0, 0, 0, 0, 2.14, 7.14: six orders
    differ, each sent at the same time at the same price: the queue."""
    recording, log = day
    fifo = compare_live(_strategy(tmp_path), recording, [log], queue_model=queue_model("fifo"))
    assert [o.cause for o in fifo.orders] == ["queue"] * 6
    assert all(o.simulated is not None and o.simulated.filled == 10 for o in fifo.orders)
    assert fifo.by_cause()["queue"] == 6
    assert "6 of 6 orders differ: missing data 0, not sent 0, decision 0, latency 0, queue 6" in (
        fifo.table()
    )


def test_the_same_latency_and_another_queue_model_differ_by_the_queue(
    slow_day: tuple[Path, Path], tmp_path: Path
) -> None:
    """The same orders under the same 50 ms each way, FIFO instead of the live model: the six
    orders differ by the queue alone. Each answer is timed by its SendingTime on both sides,
    50 ms after the send, not the live log's receive time (100 ms: there and back) against the
    simulated exchange's write (50 ms), which read as latency."""
    recording, log = slow_day
    fifo = compare_live(
        _strategy(tmp_path), recording, [log], queue_model=queue_model("fifo"), latency=ORDER_ENTRY
    )
    assert [o.cause for o in fifo.orders] == ["queue"] * 6
    for o in fifo.orders:
        assert o.live is not None and o.simulated is not None
        assert o.live.acked is not None and o.simulated.acked is not None
        assert o.live.acked - o.live.sent == pytest.approx(0.05)
        assert o.simulated.acked - o.simulated.sent == pytest.approx(0.05)
    # the fills, timed alike: the trade at +4 s of each episode, 3 s after the send
    live = [o.live for o in fifo.orders if o.live is not None]
    fills = [run.first_fill - run.sent for run in live if run.first_fill is not None]
    assert fills == pytest.approx([3, 3])
    assert "latency 0, queue 6" in fifo.table()


@pytest.mark.parametrize("which", ["day", "slow_day"])
def test_a_latency_differs_by_the_latency(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """1.5 s each way on order entry: each order reaches the level at +2.5 s, after the 300
    that joined behind it live at +2 s, so it is last of 400 and the cancellation of 200 leaves
    200 ahead: no trade (at most 100) reaches it. The two orders that filled live differ; their
    first answer came 1.5 s after the send instead of at once (`day`) or 50 ms after it
    (`slow_day`: the counter-case of the queue's test above): latency."""
    recording, log = request.getfixturevalue(which)
    slow = compare_live(
        _strategy(tmp_path),
        recording,
        [log],
        queue_model=queue_model(LIVE_MODEL),
        latency={"KalshiNR": ConstantLatency(1.5)},
    )
    assert [o.cause for o in slow.orders] == [None] * 4 + ["latency"] * 2
    assert all(o.simulated is not None and o.simulated.filled == 0 for o in slow.differing)


def test_a_recording_cut_short_is_missing_data(day: tuple[Path, Path], tmp_path: Path) -> None:
    """The simulation's recording stops before the fifth episode: the two orders live filled
    there have no market data in the simulation: missing data (the strategy there runs out of
    recording before it sends them)."""
    recording, log = day
    cut = tmp_path / "cut.log"
    end = T0 + 10 * 5 - 1
    lines = recording.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [lines[0]] + [
        line for line, r in zip(lines[1:], read_recording(recording), strict=True) if r.time <= end
    ]
    cut.write_text("".join(kept), encoding="utf-8")
    short = compare_live(_strategy(tmp_path), cut, [log], queue_model=queue_model(LIVE_MODEL))
    assert [o.cause for o in short.orders] == [None] * 4 + ["missing data"] * 2
    assert short.orders[-1].live is not None and short.orders[-1].live.symbol == SYMBOL


def test_the_command_and_bad_input(
    day: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording, log = day
    strategy = tmp_path / "fifo_day.py"
    strategy.write_text(
        "from pathlib import Path\n"
        "from queue_episodes import joiner\n\n"
        "strategy = joiner(Path(__file__).with_name('simulated.log'))\n",
        encoding="utf-8",
    )
    out = tmp_path / "new" / "folder" / "comparison.json"  # made: a missing folder is no error
    command = ["compare-live", f"{strategy}:strategy", str(recording), "--orders", str(log)]
    assert cli.main([*command, "--queue-model", "fifo", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "6 of 6 orders differ" in printed and '"queue": 6' in out.read_text(encoding="utf-8")
    bad = tmp_path / "bad.log"
    bad.write_text("nonsense\n")
    assert cli.main([*command[:-1], str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.log: line 1 (byte 0): not a message-log line" in err, err
    with pytest.raises(LocalProtocolError, match=r"missing\.log: cannot read it"):
        compare_live(joiner(tmp_path / "x.log"), recording, [tmp_path / "missing.log"])


def _strategy_file(tmp_path: Path) -> tuple[Path, Path]:
    """A strategy file whose run writes its message log beside it (the sign that it ran)."""
    strategy = tmp_path / "joiner_day.py"
    strategy.write_text(
        "from pathlib import Path\n"
        "from queue_episodes import joiner\n\n"
        "strategy = joiner(Path(__file__).with_name('simulated.log'))\n",
        encoding="utf-8",
    )
    return strategy, tmp_path / "simulated.log"


def _refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``args``: exit 2 with one line on standard error (returned), nothing printed."""
    try:
        status: object = cli.main(args)
    except SystemExit as exc:  # argparse's own refusals exit by themselves
        status = exc.code
    out, err = capsys.readouterr()
    assert status == 2, err
    assert out == "" and err.startswith("kalshi-fix compare-live") and len(err.splitlines()) == 1
    return err


def test_the_command_refuses_before_the_run(
    day: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Order logs with no order (empty, or the market-data recording given by mistake), a
    negative tolerance, a --json file that cannot be written: one line and exit 2, before the
    strategy runs (it would write its log)."""
    recording, log = day
    strategy, ran = _strategy_file(tmp_path)
    command = ["compare-live", f"{strategy}:strategy", str(recording)]
    empty = tmp_path / "empty.log"
    empty.write_text("")
    err = _refused([*command, "--orders", str(empty)], capsys)
    assert "empty.log: no order sent (35=D) to compare" in err, err
    err = _refused([*command, "--orders", str(recording)], capsys)
    assert "md.log: no order sent (35=D) to compare" in err, err
    err = _refused([*command, "--orders", str(log), "--tolerance", "-1"], capsys)
    assert "--tolerance: '-1' is not a number of seconds >= 0" in err, err
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    json_path = blocker / "comparison.json"
    err = _refused([*command, "--orders", str(log), "--json", str(json_path)], capsys)
    assert f"--json {json_path}: {blocker} is not a folder" in err, err
    err = _refused([*command, "--orders", str(log), "--json", str(tmp_path)], capsys)
    assert f"--json {tmp_path}: a folder, not a file" in err, err
    assert not ran.exists()

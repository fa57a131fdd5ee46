"""``kalshi-fix mock-gateway --replay ... --queue-model ... --queue-seed ... --fees FILE``: the
models reach the gateway's exchange; a bad model name or schedule file is one line, exit 2."""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from kalshi_fix_sansio.cli import main as kalshi_fix
from kalshi_fix_sansio.cli.paper import add_replay_options, replay_models
from kalshi_fix_sansio.simulator.gateway import (
    FeeFill,
    FifoQueue,
    MockGateway,
    ProbQueue,
    RiskAverseQueue,
)
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING

REPLAY = ("mock-gateway", "--plain", "--port-base", "0", "--seconds", "30", "--replay")


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_replay_options(parser)
    return parser.parse_args(["--replay", "rec.log", *argv])


def test_the_options_choose_the_models_of_the_gateway(tmp_path: Path) -> None:
    fees = tmp_path / "fees.csv"
    fees.write_text("scope,multiplier\nprediction,0\n")
    models = replay_models(
        parse("--queue-model", "risk-averse", "--fees", str(fees)), io.StringIO()
    )
    assert isinstance(models, dict)
    gateway = MockGateway("prediction", keys={}, **models)
    assert isinstance(gateway.exchange.queue_model, RiskAverseQueue)
    waived = gateway.exchange.fees.trade_fee(FeeFill("prediction", "X-1", D("0.5"), D(10), True))
    assert waived == D(0)
    default = replay_models(parse(), io.StringIO())
    assert isinstance(default, dict) and isinstance(default["queue_model"], FifoQueue)
    assert "fees" not in default
    drawn = replay_models(parse("--queue-model", "prob-log", "--queue-seed", "7"), io.StringIO())
    assert isinstance(drawn, dict) and isinstance(drawn["queue_model"], ProbQueue)
    assert drawn["queue_model"].rng is not None


def test_a_replay_runs_with_the_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "rec.log"
    shutil.copy(SAMPLE_RECORDING, recording)
    fees = tmp_path / "fees.csv"
    fees.write_text("scope,taker\nKXPAPER,0.035\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # the admin console: no commands
    argv = [*REPLAY, str(recording), "--start", "now", "--as-fast-as-possible", "--exit-at-end"]
    status = kalshi_fix([*argv, "--queue-model", "prob-power:2", "--fees", str(fees)])
    out, _ = capsys.readouterr()
    assert status == 0
    assert "ended: end of the recording" in out


@pytest.mark.parametrize(
    ("extra", "schedule", "line"),
    [
        (
            ["--queue-model", "lifo"],
            None,
            "--queue-model: unknown queue model 'lifo' (one of: fifo, risk-averse, "
            "prob-power[:N], prob-log)",
        ),
        (["--queue-model", "prob-power:0"], None, "--queue-model: prob-power:N takes a number"),
        (["--fees"], "scope,taker\nKX,much\n", "--fees {path}:2: field 'taker': 'much' is not"),
        (["--fees"], None, "--fees {path}: No such file or directory"),
    ],
)
def test_a_bad_model_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    schedule: str | None,
    line: str,
) -> None:
    path = tmp_path / "fees.csv"
    if schedule is not None:
        path.write_text(schedule)
    if extra == ["--fees"]:
        extra = ["--fees", str(path)]
    status = kalshi_fix([*REPLAY, str(SAMPLE_RECORDING), "--exit-at-end", *extra])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("kalshi-fix mock-gateway: " + line.format(path=path))

"""The command line's usage edges: each bad value is one line naming the option and the rule,
exit 2, before any work; a folder that can be made is made instead of refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kalshi_fix_sansio import KeyLoadError
from kalshi_fix_sansio.adapters.blocking import FixClient
from kalshi_fix_sansio.cli import main as kalshi_fix
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING

STRATEGY = "kalshi_fix_sansio.simulator.testing.strategies:quoter"


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_fit_latency_refuses_a_negative_floor_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "md.log"
    log.write_text("# nothing received\n")
    assert kalshi_fix(["fit-latency", str(log), "--name", "a", "--floor", "-1"]) == 2
    line = _one_line(capsys)
    assert "--floor" in line and "seconds >= 0" in line and "'-1'" in line, line
    assert not list(tmp_path.glob("*.latency.json"))


def test_backtest_out_that_cannot_be_made_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = blocker / "reports"
    assert kalshi_fix(["backtest", STRATEGY, str(SAMPLE_RECORDING), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no run: its table would be here
    assert captured.err == (
        f"kalshi-fix backtest: --out {out}: cannot make the folder: {blocker} is a file, not a "
        "folder\n"
    )
    tearsheet = blocker / "t.html"
    command = ["backtest", STRATEGY, str(SAMPLE_RECORDING), "--tearsheet", str(tearsheet)]
    assert kalshi_fix([*command, "--out", str(tmp_path / "out")]) == 2
    line = _one_line(capsys)
    assert (
        line == f"kalshi-fix backtest: --tearsheet {tearsheet}: {blocker} is a file, not a folder"
    )
    assert not (tmp_path / "out").exists()


def test_backtest_makes_the_out_folder_its_tearsheet_is_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "rec.log"
    shutil.copy(SAMPLE_RECORDING, recording)
    out = tmp_path / "new" / "reports"
    tearsheet = out / "day" / "tearsheet.html"
    command = ["backtest", STRATEGY, str(recording), "--out", str(out)]
    assert kalshi_fix([*command, "--tearsheet", str(tearsheet)]) == 0, capsys.readouterr().err
    assert tearsheet.is_file() and (out / "rec.log.backtest.json").is_file()
    assert f"tearsheet: {tearsheet}" in capsys.readouterr().out


def test_markets_load_of_a_file_not_json_names_the_file_and_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "catalogue.json"
    saved.write_text('{\n  "product": "prediction",\n  oops\n}\n')
    assert kalshi_fix(["markets", "--load", str(saved)]) == 2
    line = _one_line(capsys)
    assert line == (
        f"kalshi-fix markets: --load {saved}: not a saved instruments catalogue: not JSON (line "
        "3, column 3: Expecting property name enclosed in double quotes)"
    )
    saved.write_bytes(b"\xff\xff\xff")
    assert kalshi_fix(["markets", "--load", str(saved)]) == 2
    line = _one_line(capsys)
    assert line.startswith(f"kalshi-fix markets: --load {saved}: not a saved instruments")
    assert "Traceback" not in line and "Error:" not in line


def test_a_wrong_passphrase_argument_is_not_blamed_on_the_variable(tmp_path: Path) -> None:
    """``from_env(password=...)`` (or ``passphrase=``) wins over the variable: when it is wrong
    the error says the passphrase is wrong for the key file named, not the variable's."""
    path = tmp_path / "kalshi-fix.key"
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"right"),
    ))  # fmt: skip
    env = {
        "KALSHI_KEY_ID": "key-1",
        "KALSHI_PRIVATE_KEY_PATH": str(path),
        "KALSHI_PRIVATE_KEY_PASSPHRASE": "right",
    }
    for given in ({"password": "wrong"}, {"passphrase": "wrong"}):
        with pytest.raises(KeyLoadError) as wrong:
            FixClient.from_env("demo", env, **given)
        text = str(wrong.value)
        assert text.startswith(
            f"{str(path)!r}: could not decrypt the private key: wrong passphrase"
        )
        assert "KALSHI_PRIVATE_KEY_PASSPHRASE" not in text and wrong.value.path == str(path)
    with pytest.raises(KeyLoadError, match=r"wrong passphrase in KALSHI_PRIVATE_KEY_PASSPHRASE\?"):
        FixClient.from_env("demo", {**env, "KALSHI_PRIVATE_KEY_PASSPHRASE": "wrong"})
    assert FixClient.from_env("demo", env).credentials.key_id == "key-1"

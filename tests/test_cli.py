"""`kalshi-fix decode`: input forms, table and JSON output, malformed input reporting."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.simulator.testing import samples

SAMPLES = Path(samples.__file__).parent


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    stdin: bytes = b"",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", _Stdin(stdin))
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_shipped_samples_match_the_encoder() -> None:
    for product in ("prediction", "margin"):
        assert (SAMPLES / f"{product}.fix").read_text(encoding="utf-8") == samples.sample_text(
            product
        )


def test_sample_table(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(capsys, monkeypatch, ["decode", "--sample"])
    assert code == 0, err
    assert "#3 ExecutionReport (35=8)" in out
    assert "MiscFeeType                        4 (EXCHANGE_FEES)" in out
    assert "Price                              $0.75" in out  # cents on the wire, dollars shown
    assert "#5 MarketDataSnapshotFullRefresh (35=W)" in out and "20 entries" in out


def test_json_output_one_object_per_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, monkeypatch, ["decode", "--json", "--dialect", "margin", "--sample"])
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["name"] for r in records] == ["Heartbeat", "NewOrderSingle", "ExecutionReport"]
    assert records[1]["body"]["price"] == "19.5000"
    assert records[1]["header"]["target_comp_id"] == "KalshiNR"


def test_separators_and_log_prefixes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = samples.frames("prediction")
    text = (
        b"2026-11-20 14:30:00 INFO <- "
        + frames[0].replace(b"\x01", b"|")
        + b"\n"
        + b"garbage line without fix\n"
        + b"out: "
        + frames[1].replace(b"\x01", b"^A")
        + b"\r\n"
    )
    code, out, err = run(capsys, monkeypatch, ["decode"], text)
    # every frame is read whatever precedes it on its line; the line with no frame is told
    assert "#1 Heartbeat" in out and "#2 NewOrderSingle" in out
    assert code == 1 and "text, not a FIX frame: 'garbage line without fix'" in err


def test_raw_soh_stream_with_several_frames(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, monkeypatch, ["decode", "-"], b"".join(samples.frames("prediction")))
    assert code == 0
    assert out.count("\n#") + 1 == 5


def test_bad_checksum_reported_with_offset_and_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = samples.frames("prediction")
    bad = frames[1][:-4] + b"000\x01"
    stream = frames[0] + bad + frames[2]
    code, out, err = run(capsys, monkeypatch, ["decode"], stream)
    assert code == 1
    assert f"byte {len(frames[0])}: malformed: CheckSum(10)" in err
    assert "Traceback" not in err
    assert "#1 Heartbeat" in out and "ExecutionReport" in out  # the stream goes on


def test_missing_required_field_is_a_defect_not_a_failure(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b"35=D\x0149=a\x0156=b\x0134=1\x0152=20261120-14:30:00.000\x0111=c\x01"
    frame = b"8=FIXT.1.1\x019=1\x01" + body + b"10=000\x01"
    code, out, err = run(capsys, monkeypatch, ["decode", "--no-verify"], frame)
    assert code == 0, err
    assert "#1 NewOrderSingle (35=D) at byte 0 [" in out
    assert "! tag 38: NewOrderSingle (35=D): required tag 38 is missing (373=1" in out
    code, _, err = run(capsys, monkeypatch, ["decode", "--no-verify", "--strict"], frame)
    assert code == 1
    assert "message(s) with defects (--strict)" in err


def test_unreadable_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out, err = run(capsys, monkeypatch, ["decode", str(tmp_path / "nope.fix")])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "cannot read" in err and "nope.fix" in err


def test_console_script_never_prints_a_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.fix"
    junk.write_bytes(b"8=FIXT.1.1|9=5|35=0|10=999|\n8=FIXT.1.1|9=abc|\n\x00\xff8=FIX.4.4|9=3|\n")
    result = subprocess.run(
        [sys.executable, "-m", "kalshi_fix_sansio.cli", "decode", str(junk)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "malformed" in result.stderr


def test_a_key_path_that_is_no_key_file_is_one_line_before_connecting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """KALSHI_PRIVATE_KEY_PATH=/dev/zero (or a FIFO) is refused unread, exit 2, one line; so is
    mock-gateway's --key KEY_ID=/dev/zero."""
    import os

    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    for path, kind in (("/dev/zero", "a character device"), (str(fifo), "a pipe (FIFO)")):
        monkeypatch.setenv("KALSHI_KEY_ID", "my-key")
        monkeypatch.setenv("KALSHI_PRIVATE_KEY_PATH", path)
        monkeypatch.delenv("KALSHI_PRIVATE_KEY", raising=False)
        monkeypatch.delenv("KALSHI_PRIVATE_KEY_PASSPHRASE", raising=False)
        assert main(["logon-test", "--endpoint", "tcp://127.0.0.1:1"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f"{path!r} is not a private key file: not a regular file but {kind}" in err
        assert main(["mock-gateway", "--plain", "--key", f"k={path}"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(
            f"kalshi-fix mock-gateway: --key k: {path!r} is not a public key file: not a "
            f"regular file but {kind}"
        ), err
        assert err.count("\n") == 1


@pytest.mark.parametrize("command", ["kill", "order", "cancel", "logon-test", "md"])
def test_env_and_product_help_say_their_choices_and_default(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kill typed at 3 a.m. without --env production goes to demo: the help says so."""
    assert main([command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "--env {demo,production} Kalshi environment: demo or production (default: demo; "
        "reaching production takes --env production, a kill included)"
    ) in text
    assert "prediction (event contracts) or margin (perpetual futures); default: prediction" in text


def test_install_hints_give_a_command_that_works_before_the_package_is_published() -> None:
    """The package is not on PyPI: a missing extra names the module itself (and the extra
    from a checkout), not ``pip install "kalshi-fix-sansio[...]"``."""
    code = (
        "import sys; sys.modules['httpx'] = None\n"
        "from kalshi_fix_sansio.session import Credentials\n"
        "from kalshi_fix_sansio.adapters.rest import read_account_limits\n"
        "from kalshi_fix_sansio.simulator.testing import new_ed25519_keys\n"
        "try:\n"
        "    read_account_limits(Credentials('k', new_ed25519_keys()[0]), environment='demo')\n"
        "except Exception as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == (
        "the REST companion needs httpx: pip install httpx (the rest extra: in a checkout, pip "
        "install '.[rest]')\n"
    ), out.stderr
    root = Path(__file__).parent.parent
    for name in (
        "src/kalshi_fix_sansio/adapters/rest.py",
        "src/kalshi_fix_sansio/adapters/trio.py",
        "src/kalshi_fix_sansio/observability/metrics_prometheus.py",
    ):
        assert "kalshi-fix-sansio[" not in (root / name).read_text(), name

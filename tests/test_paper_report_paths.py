"""The paper report's files are written through a temporary file renamed over their path,
never through a symbolic link; a bad ``--report-dir`` fails before the replay starts."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from kalshi_fix_sansio.cli import main as kalshi_fix
from kalshi_fix_sansio.simulator.gateway.paper import PaperLedger
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_MARKETS, SAMPLE_RECORDING

REPLAY = ("mock-gateway", "--plain", "--port-base", "0", "--seconds", "30", "--replay")


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("which", ["json", "svg"])
def test_a_symlink_at_a_report_path_is_refused_and_never_written_through(
    tmp_path: Path, which: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / f"rec.log.paper.{which}"
    link.symlink_to(victim)
    dangling = tmp_path / "elsewhere"
    dangling.mkdir()
    (dangling / f"rec.log.paper.{which}").symlink_to(dangling / "would-be-created")
    report = PaperLedger().report(SAMPLE_MARKETS)
    for directory, target in ((tmp_path, victim), (dangling, dangling / "would-be-created")):
        before = names(directory)
        with pytest.raises(OSError) as caught:
            report.write(tmp_path / "rec.log", str(directory))
        path = directory / f"rec.log.paper.{which}"
        assert str(caught.value) == (
            f"{path} is a symbolic link: the report is not written through it (remove it, or "
            "write the report elsewhere with --report-dir)"
        )
        assert path.is_symlink() and os.readlink(path) == str(target)
        assert names(directory) == sorted(
            {*before, "rec.log.paper.json"} if which == "svg" else before
        )
    assert victim.read_text() == "precious\n"
    assert not (dangling / "would-be-created").exists()


def test_the_report_replaces_a_file_whole_with_the_usual_mode(tmp_path: Path) -> None:
    old = tmp_path / "rec.log.paper.json"
    old.write_text("old report\n")
    hard = tmp_path / "hard-link"
    os.link(old, hard)  # renamed over: the old file (and its other links) stay as they were
    umask = os.umask(0o022)
    os.umask(umask)
    paths = PaperLedger().report(SAMPLE_MARKETS).write(tmp_path / "rec.log")
    assert paths == [old, tmp_path / "rec.log.paper.svg"]
    assert json.loads(old.read_text())["schema"] == 2
    assert hard.read_text() == "old report\n"
    assert stat.S_IMODE(old.stat().st_mode) == 0o666 & ~umask
    assert names(tmp_path) == ["hard-link", "rec.log.paper.json", "rec.log.paper.svg"]  # no temp


@pytest.mark.parametrize(
    ("name", "problem"), [("missing", "no such directory"), ("file", "not a directory")]
)
def test_a_bad_report_dir_fails_before_the_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, problem: str
) -> None:
    directory = tmp_path / name
    if name == "file":
        directory.write_text("")
    recording = tmp_path / "rec.log"
    shutil.copy(SAMPLE_RECORDING, recording)
    status = kalshi_fix(
        [*REPLAY, str(recording), "--report-dir", str(directory), "--exit-at-end", "--start", "now"]
    )
    out, err = capsys.readouterr()
    assert status == 2
    assert (out, err) == (
        "",
        f"kalshi-fix mock-gateway: --report-dir {directory}: {problem} (the report's picture "
        "and JSON go there)\n",
    )  # before the recording is checked: nothing else was said or done


def test_mock_gateway_says_the_report_is_not_written_through_a_symlink(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "rec.log"
    shutil.copy(SAMPLE_RECORDING, recording)
    victim = tmp_path / "victim.svg"
    victim.write_text("precious\n")
    (tmp_path / "rec.log.paper.svg").symlink_to(victim)
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # the admin console: no commands
    status = kalshi_fix(
        [*REPLAY, str(recording), "--start", "now", "--as-fast-as-possible", "--exit-at-end"]
    )
    out, err = capsys.readouterr()
    assert status == 1
    assert "ended: end of the recording" in out  # the table is printed all the same
    assert err.splitlines()[-1] == (
        f"kalshi-fix mock-gateway: the report's files are not written: {tmp_path}/rec.log.paper"
        ".svg is a symbolic link: the report is not written through it (remove it, or write the "
        "report elsewhere with --report-dir)"
    )
    assert victim.read_text() == "precious\n"

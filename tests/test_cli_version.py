"""`kalshi-fix --version` prints the installed distribution's version (from its metadata, as
pip recorded it), and says so plainly when the package is not installed at all."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

from kalshi_fix_sansio.cli import main, version_text

CLI = [sys.executable, "-m", "kalshi_fix_sansio.cli"]


def test_version_is_the_installed_metadata() -> None:
    installed = metadata.version("kalshi-fix-sansio")
    result = subprocess.run(
        [*CLI, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    python = ".".join(str(n) for n in sys.version_info[:3])
    assert result.stdout == f"kalshi-fix {installed} (kalshi-fix-sansio, Python {python})\n"


def test_version_exits_zero_before_any_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert main(["--version", "demo"]) == 0  # asked for the version: no demo runs
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(line.startswith("kalshi-fix ") for line in out), out
    assert (
        "--version"
        in subprocess.run(
            [*CLI, "--help"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    )


def test_not_installed_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    text = version_text()
    assert text.startswith("kalshi-fix: version unknown (kalshi-fix-sansio is not installed")
    assert "pip install -e ." in text and "\n" not in text

"""scripts/demo installs what it runs; scripts/test the development toolchain, in the same .venv.

scripts/setup runs here against a stand-in ``.venv/bin/python`` that records each ``pip install``
it is asked for instead of installing: which extras each level installs, that a level already
installed (for these pins) installs nothing, that a runtime .venv is upgraded to the toolchain,
and that a .venv which has had the toolchain never goes back to less.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STAND_IN = '#!/usr/bin/env bash\necho "$*" >> "$(dirname "$0")/../calls.log"\n'


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    """A checkout's scripts/setup and the files it hashes, with the stand-in .venv."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "constraints").mkdir()
    shutil.copy(ROOT / "scripts" / "setup", tmp_path / "scripts" / "setup")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copy(ROOT / "constraints" / "dev.txt", tmp_path / "constraints" / "dev.txt")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(STAND_IN, encoding="utf-8")
    python.chmod(0o755)
    return tmp_path


def setup(checkout: Path, *level: str) -> list[str]:
    """Run scripts/setup at ``level``; the extras of the project install it asked pip for."""
    log = checkout / ".venv" / "calls.log"
    log.unlink(missing_ok=True)
    done = subprocess.run(
        ["bash", "scripts/setup", *level], cwd=checkout, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [call.rsplit(" ", 1)[1] for call in calls if " -e " in call]


def test_the_demo_sets_up_the_runtime_and_the_tests_the_toolchain() -> None:
    demo = (ROOT / "scripts" / "demo").read_text(encoding="utf-8")
    assert "\nbash scripts/setup runtime\n" in demo
    test = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    assert "\nbash scripts/setup\n" in test


def test_runtime_then_dev_upgrades_the_same_venv(checkout: Path) -> None:
    assert setup(checkout, "runtime") == [".[trio]"]
    assert setup(checkout, "runtime") == []  # installed for these pins: nothing to do
    assert setup(checkout) == [".[dev,trio]"]  # scripts/test after scripts/demo
    assert setup(checkout) == []


def test_a_venv_that_had_the_toolchain_never_gets_less(checkout: Path) -> None:
    assert setup(checkout) == [".[dev,trio]"]
    assert setup(checkout, "runtime") == []  # scripts/demo after scripts/test
    with open(checkout / "constraints" / "dev.txt", "a", encoding="utf-8") as pins:
        pins.write("# moved on\n")
    assert setup(checkout, "runtime") == [".[dev,trio]"]  # new pins: the toolchain again
    assert setup(checkout, "runtime") == []


def test_a_venv_stamped_before_the_levels_is_the_toolchain(checkout: Path) -> None:
    venv = checkout / ".venv"
    (venv / ".installed-0123456789abcdef").touch()  # older pins, stamped before the levels
    assert setup(checkout, "runtime") == [".[dev,trio]"]
    for stamp in venv.glob(".installed-*"):
        stamp.unlink()
    pinned = (checkout / "pyproject.toml").read_bytes()
    pinned += (checkout / "constraints" / "dev.txt").read_bytes()
    (venv / f".installed-{hashlib.sha256(pinned).hexdigest()[:16]}").touch()
    assert setup(checkout, "runtime") == []  # these pins, stamped before the levels
    assert setup(checkout) == []


def test_an_unknown_level_is_refused_in_one_line(checkout: Path) -> None:
    done = subprocess.run(
        ["bash", "scripts/setup", "full"], cwd=checkout, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr == "usage: bash scripts/setup [dev|runtime] (got 'full')\n"

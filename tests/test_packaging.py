"""Packaging: pyproject's explicit package list covers every package directory, and the metadata
a user relies on (licence, Python versions, typing marker) is there."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _package_dirs() -> dict[str, Path]:
    """Every directory holding Python modules under the package-dir roots, by package name."""
    found: dict[str, Path] = {}
    for package, rel in SETUPTOOLS["package-dir"].items():
        base = ROOT / rel
        for module in base.rglob("*.py"):
            if "__pycache__" in module.parts:
                continue
            parts = module.parent.relative_to(base).parts
            if package:  # a mapped package: its directory is the package itself
                name = ".".join((package, *parts))
            elif parts:  # the "" root: its top-level directories are packages
                name = ".".join(parts)
            else:
                continue
            found[name] = module.parent
    return found


def test_every_package_directory_is_listed() -> None:
    listed = set(SETUPTOOLS["packages"])
    missing = sorted(set(_package_dirs()) - listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_data_directory_is_listed() -> None:
    """A folder shipping only data files (samples/*.fix) is a package too, with package-data."""
    listed = set(SETUPTOOLS["packages"])
    src = ROOT / "src"
    for folder in (src / "kalshi_fix_sansio").rglob("*"):
        if not folder.is_dir() or folder.name == "__pycache__":
            continue
        name = ".".join(folder.relative_to(src).parts)
        files = [p for p in folder.iterdir() if p.is_file()]
        if files:
            assert name in listed, f"{name}: not in [tool.setuptools] packages"
        data = {p.suffix for p in files if p.suffix not in (".py", ".pyc")}
        for suffix in data:
            patterns = SETUPTOOLS.get("package-data", {}).get(name, [])
            assert f"*{suffix}" in patterns or any(
                p.name in patterns for p in files if p.suffix == suffix
            ), f"{name}: {suffix} files not in [tool.setuptools.package-data]"


def test_listed_packages_exist() -> None:
    found = _package_dirs()
    src = ROOT / "src"
    for name in SETUPTOOLS["packages"]:
        assert name in found or (src / name.replace(".", "/")).is_dir(), f"{name}: no such dir"


def test_metadata() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert (ROOT / "CHANGELOG.md").is_file()
    classifiers = set(project["classifiers"])
    assert "Typing :: Typed" in classifiers
    assert (ROOT / "src" / "kalshi_fix_sansio" / "py.typed").is_file()
    assert "py.typed" in SETUPTOOLS["package-data"]["kalshi_fix_sansio"]
    lowest = project["requires-python"].removeprefix(">=")
    versions = sorted(
        c.rsplit(" ", 1)[1]
        for c in classifiers
        if c.startswith("Programming Language :: Python :: 3.")
    )
    assert versions and versions[0] == lowest, (versions, project["requires-python"])
    assert [int(v.split(".")[1]) for v in versions] == list(
        range(int(lowest.split(".")[1]), int(versions[-1].split(".")[1]) + 1)
    ), "a gap in the stated Python versions"
    major, minor = sys.version_info[:2]
    assert f"{major}.{minor}" in versions, "the Python running the tests is not a stated version"

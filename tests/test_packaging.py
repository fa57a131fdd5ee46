"""Packaging: pyproject's explicit package list covers every package directory, the metadata a
user relies on (licence, Python versions, typing marker) is there, and ``python -m build`` makes
a wheel and an sdist that carry all of it (the built files are inspected, not the sources)."""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from kalshi_fix_sansio.simulator.backtests.compiled import CACHE_SUFFIX

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
    """A folder shipping data files (testing/samples/*.fix) is a package, with package-data."""
    listed = set(SETUPTOOLS["packages"])
    src = ROOT / "src"
    for folder in (src / "kalshi_fix_sansio").rglob("*"):
        if not folder.is_dir() or folder.name == "__pycache__":
            continue
        name = ".".join(folder.relative_to(src).parts)
        files = [p for p in folder.iterdir() if p.is_file()]
        if files:
            assert name in listed, f"{name}: not in [tool.setuptools] packages"
        # what Python and a backtest cache beside a file (a compiled recording, ``*.kfc``,
        # ignored by git like ``*.pyc``) are not data the package ships
        data = {p.suffix for p in files if p.suffix not in (".py", ".pyc", CACHE_SUFFIX)}
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


# -- the built distributions (python -m build, as a release makes them) ----------------------


def _tree_copy(to: Path) -> Path:
    """The checkout's files, as a build reads them, copied to ``to`` (no hidden directory
    such as .git or .venv, no caches, no earlier build output)."""
    skip = shutil.ignore_patterns(".*", "__pycache__", "*.egg-info", "build", "dist", "site")
    shutil.copytree(ROOT, to, ignore=skip)
    return to


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``python -m build`` (sdist, then the wheel built from that sdist) into a temp dir, or
    the ones scripts/test built from this checkout the same way (``KALSHI_FIX_DISTS``: built
    once for these tests and the other Pythons' runs)."""
    built = os.environ.get("KALSHI_FIX_DISTS")
    out = Path(built) if built else tmp_path_factory.mktemp("dist")
    # built from a copy of the tree: setuptools stages the sdist and rewrites the egg-info in
    # the source directory, so two builds of one checkout at once (this module's tests split
    # over two pytest-xdist workers) took each other's files away
    source = None if built else _tree_copy(tmp_path_factory.mktemp("source") / "tree")
    result = (
        None
        if source is None
        else subprocess.run(
            [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    )
    assert result is None or result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def _wheel_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_the_wheel_metadata_is_complete(dists: dict[str, Path]) -> None:
    project = PYPROJECT["project"]
    files = _wheel_files(dists["wheel"])
    info = next(n.split("/")[0] for n in files if n.endswith(".dist-info/METADATA"))
    metadata = email.message_from_bytes(files[f"{info}/METADATA"])
    assert metadata["Name"] == "kalshi-fix-sansio" and metadata["Version"] == project["version"]
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert files[f"{info}/licenses/LICENSE"].startswith(b"MIT License")
    assert metadata["Requires-Python"] == ">=3.10"
    classifiers = metadata.get_all("Classifier")
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "Typing :: Typed" in classifiers
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "sans-IO FIX engine" in metadata.get_payload()  # the README is the description
    requires = metadata.get_all("Requires-Dist")
    assert any(r.startswith("attrs") for r in requires)
    assert any(r.startswith("trio") and 'extra == "trio"' in r for r in requires)
    # no [project.urls] on purpose (see pyproject.toml): none made up either
    assert metadata.get_all("Project-URL") is None
    entry_points = files[f"{info}/entry_points.txt"].decode()
    assert "[console_scripts]\nkalshi-fix = kalshi_fix_sansio.cli:main" in entry_points


def test_the_wheel_holds_every_module_the_typing_marker_and_the_samples(
    dists: dict[str, Path],
) -> None:
    files = set(_wheel_files(dists["wheel"]))
    assert "kalshi_fix_sansio/py.typed" in files
    samples = "kalshi_fix_sansio/simulator/testing/samples"
    shipped = {"prediction.fix", "margin.fix", "paper-sample.log", "live-md-sample.log"}
    assert {f"{samples}/{name}" for name in shipped | {"live-oe-sample.log"}} <= files
    tree = {
        "kalshi_fix_sansio/" + str(path.relative_to(ROOT / "src" / "kalshi_fix_sansio"))
        for path in (ROOT / "src" / "kalshi_fix_sansio").rglob("*.py")
        if "__pycache__" not in path.parts
    } | {"kalshi_fix_sansio/adapters/" + path.name for path in (ROOT / "adapters").glob("*.py")}
    missing = sorted(tree - files)
    assert not missing, f"modules missing from the wheel: {missing}"
    assert not any(name.startswith(("tests/", "examples/", "codegen/")) for name in files)


def test_the_sdist_holds_what_a_packager_needs(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as tf:
        names = {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}
    for wanted in (
        "CHANGELOG.md",
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "MANIFEST.in",
        "src/kalshi_fix_sansio/py.typed",
        "spec/sessions.yaml",
        "examples/README.md",
        "examples/blocking_order_entry.py",
        "tests/conftest.py",
        "docs/index.md",
        "scripts/test",
        "constraints/dev.txt",  # what scripts/setup and scripts/test install with
        "constraints/build.txt",  # what scripts/test builds with
        "scripts/constraints.py",
        "scripts/mkdocs_hooks.py",  # mkdocs.yml's hooks
        "scripts/check-docs-browser",
    ):
        assert wanted in names, f"{wanted} is not in the sdist"
    assert not any("__pycache__" in name or ".hypothesis" in name for name in names)
    # the suite runs from the sdist: every file of tests/ it reads is there (data too, not
    # only modules: tests/kalshi_rest_openapi.yaml was left out once)
    suite = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
        and path.suffix not in (".pyc", ".pyo")
    }
    assert sorted(suite - names) == [], "tests/ files missing from the sdist (MANIFEST.in)"


def test_coverage_measures_the_whole_package_while_the_tests_of_every_floor_run() -> None:
    """CI's coverage gate measures the package by its name (not a list of module files, which a
    module moved or added would silently leave out), branch by branch, in the processes the tests
    start too, while COVERAGE_TESTS run (scripts/test): files that exist, the tests of every
    floor among them, each test file run once (the first part ignores them)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    coverage = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "coverage"
    ]
    run = coverage["run"]
    assert run["source_pkgs"] == ["kalshi_fix_sansio"] and run["branch"] is True
    assert "subprocess" in run["patch"]
    assert not {"include", "source", "omit"} & set(run), "the package is measured whole"
    assert coverage["report"]["fail_under"] >= 85
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    listed = re.search(r"^COVERAGE_TESTS=\((.*?)\)", script, re.M | re.S)
    assert listed is not None
    names = listed.group(1).split()
    assert names and all((ROOT / "tests" / name).is_file() for name in names), names
    assert len(names) == len(set(names))
    floors = ("session", "driver", "kill_switch", "tracker", "reconcile", "account", "simulation")
    assert all(any(floor in name for name in names) for floor in floors)
    assert any(name.startswith("test_cli_") for name in names)
    runs = [line for line in script.splitlines() if "$PY -m pytest" in line]
    assert len(runs) == 2 and "--ignore=tests/}" in script, runs
    assert "-n 2 --cov --cov-report=" in script
    assert "$PY -m coverage report" in script


def test_the_build_backend_is_pinned_to_what_pyproject_requires() -> None:
    """scripts/test builds with constraints/build.txt: each of [build-system] requires is pinned
    there at a version its requirement allows, and nothing else is."""
    from packaging.requirements import Requirement

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"][
        "requires"
    ]
    pins = {}
    for line in (ROOT / "constraints" / "build.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    wanted = {Requirement(text).name.lower(): Requirement(text) for text in requires}
    assert set(pins) == set(wanted), (pins, requires)
    for name, requirement in wanted.items():
        assert requirement.specifier.contains(pins[name]), (name, pins[name], str(requirement))
    for script in ("test", "release-check"):
        text = (ROOT / "scripts" / script).read_text(encoding="utf-8")
        assert 'PIP_CONSTRAINT="$(pwd)/constraints/build.txt" $PY -m build' in text, script

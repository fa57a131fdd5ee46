"""constraints/dev.txt pins every package the dev, trio and fuzz extras pull in, on every
supported Python, at the versions installed here; every pip install of scripts/setup and
scripts/test goes through it; scripts/constraints.py reads it strictly and names what is not
pinned."""

from __future__ import annotations

import importlib.util
import re
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS = ("dev", "trio", "fuzz")
HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "constraints", ROOT / "scripts" / "constraints.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


constraints = _load()
PINS: dict[str, dict[str, str]] = constraints.read()


def _requirements() -> list[tuple[Requirement, str]]:
    """The project's requirements and those of the extras CI installs, each with its extra."""
    found = [(Requirement(r), "") for r in PROJECT["dependencies"]]
    for extra in EXTRAS:
        found += [(Requirement(r), extra) for r in PROJECT["optional-dependencies"][extra]]
    return found


@pytest.mark.parametrize("python", constraints.PYTHONS)
def test_every_requirement_of_the_extras_is_pinned_within_its_range(python: str) -> None:
    assert list(constraints.PYTHONS) == [
        c.rsplit(" ", 1)[1]
        for c in PROJECT["classifiers"]
        if c.startswith("Programming Language :: Python :: 3.")
    ], "scripts/constraints.py PYTHONS is not the list of supported Pythons"
    environment = {"python_version": python, "python_full_version": f"{python}.0"}
    checked = 0
    for requirement, extra in _requirements():
        if requirement.marker and not requirement.marker.evaluate({**environment, "extra": extra}):
            continue
        pinned = PINS.get(canonicalize_name(requirement.name), {}).get(python)
        assert pinned is not None, (
            f"{requirement} ({extra or 'dependencies'}) is not pinned for {python}"
        )
        assert requirement.specifier.contains(pinned, prereleases=True), (
            f"the pin {requirement.name}=={pinned} is outside pyproject.toml's {requirement}"
        )
        checked += 1
    assert checked > 15


def _pulled_in() -> dict[str, str | None]:
    """Every distribution the project with its CI extras pulls in on this Python (transitively,
    through the installed metadata): canonical name -> installed version (None: not installed,
    as atheris is until scripts/test's fuzzing step)."""
    found: dict[str, str | None] = {}
    extras_of: dict[str, set[str]] = {}
    todo = [Requirement(f"{PROJECT['name']}[{','.join(EXTRAS)}]")]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        wanted = set(requirement.extras)
        if name in extras_of and wanted <= extras_of[name]:
            continue
        extras_of[name] = extras_of.get(name, set()) | wanted
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            found[name] = None
            continue
        found[name] = dist.version
        for text in dist.requires or []:
            sub = Requirement(text)
            contexts = ["", *extras_of[name]]
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in contexts):
                todo.append(sub)
    del found[canonicalize_name(PROJECT["name"])]
    return found


def test_what_the_extras_pull_in_here_is_pinned_at_the_installed_version() -> None:
    pulled = _pulled_in()
    assert {"pytest", "mkdocs", "griffelib", "trio", "atheris", "cryptography"} <= set(pulled)
    unpinned = sorted(name for name in pulled if HERE not in PINS.get(name, {}))
    assert not unpinned, f"pulled in on Python {HERE} but not pinned: {unpinned}"
    moved = {
        name: (version, PINS[name][HERE])
        for name, version in pulled.items()
        if version is not None and version != PINS[name][HERE]
    }
    assert not moved, (
        f"installed (left) is not the pin (right): {moved}; run bash scripts/setup, which "
        "installs with -c constraints/dev.txt"
    )
    stale = sorted(n for n, by in PINS.items() if HERE in by and n not in pulled and n != "pip")
    assert not stale, f"pinned for Python {HERE} but nothing pulls them in: {stale}"


def test_every_pip_install_of_setup_and_test_is_constrained() -> None:
    for script in ("setup", "test"):
        text = (ROOT / "scripts" / script).read_text(encoding="utf-8").replace("\\\n", " ")
        commands = re.split(r"&&|\|\||\n", text)  # one command each, continued lines joined
        installs = [command for command in commands if re.search(r"\bpip install\b", command)]
        assert len(installs) >= 2, script
        for command in installs:
            assert "-c constraints/dev.txt" in command, f"scripts/{script}: {command}"
    setup = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    (stamp,) = [line for line in setup.splitlines() if line.startswith("hash=")]  # its stamps'
    assert "pyproject.toml" in stamp and "constraints/dev.txt" in stamp, stamp


def test_check_names_what_is_not_pinned_or_pinned_otherwise(tmp_path: Path) -> None:
    pins = tmp_path / "dev.txt"
    pins.write_text(
        '# comment\npytest==9.0\natheris==2.3.0; python_version == "3.10"\n', encoding="utf-8"
    )
    installed = {
        "pytest": "8.0",
        "atheris": "3.0.0",
        "Left_Pad": "1.0",
        "setuptools": "65.5.0",  # a venv seed
        "kalshi-fix-sansio": "0.1.0",  # the project itself
    }
    assert constraints.problems(installed, "3.11", pins) == [
        "atheris 3.0.0 is installed but not pinned for Python 3.11",
        "Left_Pad 1.0 is installed but not pinned for Python 3.11",
        "pytest 8.0 is installed, but the pin is pytest==9.0",
    ]
    assert constraints.problems({"atheris": "2.3.0", "pytest": "9.0"}, "3.10", pins) == []


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("pytest>=9", "is not NAME==VERSION"),
        ('pytest==9.0; sys_platform == "linux"', "is not python_version =="),
        ('pytest==9.0\npytest==9.1; python_version == "3.12"', "pinned twice for Python 3.12"),
    ],
)
def test_a_line_it_cannot_read_is_named_with_file_and_line(
    tmp_path: Path, line: str, says: str
) -> None:
    pins = tmp_path / "dev.txt"
    pins.write_text(f"# header\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(says)) as caught:
        constraints.read(pins)
    assert str(caught.value).startswith(f"{pins}:{line.count(chr(10)) + 2}: ")


def test_the_file_is_what_render_writes() -> None:
    """Sorted, one pin per package and Python, markers only where the Pythons differ: a hand
    edit that breaks the generated form shows here."""
    resolved = {
        python: {name: by[python] for name, by in PINS.items() if python in by}
        for python in constraints.PYTHONS
    }
    text = constraints.FILE.read_text(encoding="utf-8")
    ours = constraints.render(resolved)
    spelled = dict(
        (canonicalize_name(m[1]), m[1]) for m in re.finditer(r"^([^#\s=]+)==", text, re.M)
    )
    for name, spelling in spelled.items():
        ours = re.sub(rf"^{re.escape(name)}==", f"{spelling}==", ours, flags=re.M)
    assert text == ours

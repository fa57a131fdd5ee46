"""constraints/dev.txt: the exact version of every package the dev, trio and fuzz extras pull in.

``scripts/setup`` installs the project with ``pip install -c constraints/dev.txt``, and
``scripts/test`` installs atheris and, on the other Pythons, pytest and hypothesis with it, so a
new release of a tool changes nothing here until the file is regenerated on purpose:

    .venv/bin/python scripts/constraints.py update    # re-resolve: the newest of everything
    .venv/bin/python scripts/constraints.py check     # what this Python has installed is pinned
    .venv/bin/python scripts/constraints.py python 3.10   # where this machine has Python 3.10

``update`` resolves ``.[dev,trio,fuzz]`` (and pip) afresh on each supported Python found on
this machine (on PATH, or installed by pyenv; all four are needed) with ``pip install --dry-run
--report``, and writes one pin per package; a package resolved to another version on some
Pythons, or needed on some only (tomli on 3.10), is pinned per Python with a
``python_version`` marker. ``check`` (run by scripts/test in each fresh venv it makes) fails,
naming the package, when the running Python has a package installed that the file does not pin
for it, or at another version: the project itself and the seeds of ``python -m venv``
(setuptools, wheel) aside. tests/test_packaging.py holds the file to pyproject.toml.

Only the standard library is used: ``check`` runs in venvs that have nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILE = ROOT / "constraints" / "dev.txt"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
"""The Pythons the project supports: the file pins each of them."""
EXTRAS = "dev,trio,fuzz"
PROJECT = "kalshi-fix-sansio"
SEEDS = frozenset({"setuptools", "wheel"})
"""What ``python -m venv`` may put in a venv by itself: never pinned, never checked."""

HEADER = f"""\
# Exact versions of every package the dev, trio and fuzz extras of pyproject.toml pull in
# (transitively), and pip, for Python {", ".join(PYTHONS)}: scripts/setup installs with
# `pip install -c constraints/dev.txt`, scripts/test installs atheris and the other Pythons'
# pytest and hypothesis with it. A pin for some Pythons only carries a python_version marker.
# Generated: do not edit by hand. To move to newer releases on purpose:
#     .venv/bin/python scripts/constraints.py update
# (docs/maintainers/releasing.md, "The pinned dev tools").
"""

_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;]+)"
    r"(?:\s*;\s*(?P<marker>.+?))?\s*$"
)
_MARKER_TERM = re.compile(r'^python_version\s*==\s*"(?P<python>\d+\.\d+)"$')


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares it (``Jinja2``, ``jinja2`` -> ``jinja2``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def marker(pythons: Iterable[str]) -> str:
    """The ``python_version`` marker of a pin for some Pythons only."""
    return " or ".join(f'python_version == "{python}"' for python in sorted(pythons, key=_key))


def _key(python: str) -> tuple[int, ...]:
    return tuple(int(part) for part in python.split("."))


def render(resolved: Mapping[str, Mapping[str, str]]) -> str:
    """The file's text from each Python's resolution (Python -> name -> version)."""
    pythons = sorted(resolved, key=_key)
    names: dict[str, str] = {}  # canonical -> the spelling of the first Python naming it
    for python in pythons:
        for name in resolved[python]:
            names.setdefault(canonical(name), name)
    lines = [HEADER]
    for key in sorted(names):
        by_version: dict[str, list[str]] = {}
        for python in pythons:
            version = {canonical(n): v for n, v in resolved[python].items()}.get(key)
            if version is not None:
                by_version.setdefault(version, []).append(python)
        for version, where in sorted(by_version.items(), key=lambda item: _key(item[1][0])):
            pin = f"{names[key]}=={version}"
            lines.append(pin if where == pythons else f"{pin}; {marker(where)}")
    return "\n".join(lines) + "\n"


def read(path: Path = FILE) -> dict[str, dict[str, str]]:
    """The pins of the file: canonical name -> Python -> version (a pin without a marker holds
    for every Python of `PYTHONS`).

    Raises:
        ValueError: a line that is not ``name==version`` with an optional marker of the form
            `marker` writes, or a second pin of a name for the same Python (file and line named).
    """
    pins: dict[str, dict[str, str]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{path}:{number}"
        match = _PIN.match(line)
        if match is None:
            raise ValueError(f"{where}: {raw!r} is not NAME==VERSION [; python_version marker]")
        pythons = list(PYTHONS)
        if match["marker"]:
            terms = [_MARKER_TERM.match(t.strip()) for t in match["marker"].split(" or ")]
            if not all(terms):
                raise ValueError(
                    f'{where}: marker {match["marker"]!r} is not python_version == "X.Y" '
                    "terms joined by or"
                )
            pythons = [term["python"] for term in terms if term]
        versions = pins.setdefault(canonical(match["name"]), {})
        for python in pythons:
            if python in versions:
                raise ValueError(f"{where}: {match['name']} is pinned twice for Python {python}")
            versions[python] = match["version"]
    return pins


def problems(installed: Mapping[str, str], python: str, path: Path = FILE) -> list[str]:
    """What of ``installed`` (name -> version) the file does not pin at that version for
    ``python``; the project and the venv seeds aside."""
    pins = read(path)
    found = []
    for name, version in sorted(installed.items(), key=lambda item: canonical(item[0])):
        key = canonical(name)
        if key in SEEDS or key == PROJECT:
            continue
        pinned = pins.get(key, {}).get(python)
        if pinned is None:
            found.append(f"{name} {version} is installed but not pinned for Python {python}")
        elif pinned != version:
            found.append(f"{name} {version} is installed, but the pin is {name}=={pinned}")
    return found


def _installed() -> dict[str, str]:
    from importlib import metadata

    return {dist.metadata["Name"]: dist.version for dist in metadata.distributions()}


def find_python(version: str) -> str | None:
    """A runnable interpreter of ``version`` (``3.10``): ``pythonX.Y`` on PATH, then pyenv's."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        run = subprocess.run(
            [pyenv, "whence", f"python{version}"], capture_output=True, text=True, check=False
        )
        root = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, check=False
        ).stdout.strip()
        candidates += [f"{root}/versions/{v}/bin/python{version}" for v in run.stdout.split()]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", ""], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def resolve(python: str, work: Path) -> dict[str, str]:
    """What ``pip install ".[dev,trio,fuzz]" pip`` would install, unconstrained, in a fresh
    venv of the interpreter ``python``: name -> version (the project itself left out)."""
    venv = work / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    report = work / "report.json"
    env = {k: v for k, v in os.environ.items() if k != "PIP_CONSTRAINT"}
    subprocess.run(
        [
            str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
            "--disable-pip-version-check", "--dry-run", "--ignore-installed",
            "--report", str(report), f"{ROOT}[{EXTRAS}]", "pip",
        ],
        check=True,
        env=env,
    )  # fmt: skip
    found = {}
    for item in json.loads(report.read_text(encoding="utf-8"))["install"]:
        meta = item["metadata"]
        if canonical(meta["name"]) != PROJECT:
            found[meta["name"]] = meta["version"]
    return found


def update(path: Path = FILE) -> int:
    resolved: dict[str, dict[str, str]] = {}
    for version in PYTHONS:
        python = find_python(version)
        if python is None:
            print(
                f"constraints.py update: no Python {version} on this machine (on PATH or in "
                f"pyenv): the file pins every supported Python ({', '.join(PYTHONS)})",
                file=sys.stderr,
            )
            return 1
        print(f"-- Python {version}: resolving .[{EXTRAS}] with {python}", flush=True)
        with tempfile.TemporaryDirectory(prefix="constraints-") as work:
            try:
                resolved[version] = resolve(python, Path(work))
            except subprocess.CalledProcessError as exc:
                print(f"constraints.py update: {exc} (its output is above)", file=sys.stderr)
                return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = render(resolved)
    path.write_text(new, encoding="utf-8")
    changed = sorted(set(new.splitlines()) ^ set(old.splitlines()))
    print(f"wrote {path.relative_to(ROOT)}: {len(changed)} lines changed")
    for line in changed:
        print(("+ " if line in new.splitlines() else "- ") + line)
    return 0


def check(path: Path = FILE) -> int:
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    try:
        found = problems(_installed(), python, path)
    except (OSError, ValueError) as exc:
        print(f"constraints.py check: {exc}", file=sys.stderr)
        return 1
    for problem in found:
        print(f"constraints.py check: {problem} ({path.relative_to(ROOT)})", file=sys.stderr)
    if found:
        print(
            "constraints.py check: reinstall with -c constraints/dev.txt, or regenerate the "
            "file on purpose (.venv/bin/python scripts/constraints.py update)",
            file=sys.stderr,
        )
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/constraints.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "command",
        choices=["update", "check", "python"],
        help="update: re-resolve and rewrite the file; check: the running Python's installed "
        "packages are pinned at their versions; python X.Y: print a runnable interpreter of "
        "that version (on PATH, then pyenv's; status 1 when there is none)",
    )
    parser.add_argument("version", nargs="?", help="with python: the version, such as 3.10")
    args = parser.parse_args(argv)
    if args.command == "python":
        if args.version is None:
            parser.error("python needs a version, such as 3.10")
        found = find_python(args.version)
        if found is None:
            return 1
        print(found)
        return 0
    return update() if args.command == "update" else check()


if __name__ == "__main__":
    sys.exit(main())

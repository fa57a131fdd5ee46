"""Every docstring parses as the API reference reads it, and a docs build counts the warnings.

* griffe (what mkdocstrings reads the code with) loads every module of the package (its
  adapters too), private ones too, and parses every docstring in mkdocs.yml's ``docstring_style``:
  a section it cannot read (``Raises:`` without ``Exception: description``, an ``Args:`` entry
  naming no parameter) is a warning, and ``mkdocs build --strict`` fails on it. Here it fails in a
  few seconds, naming file and line.
* The docs build line of scripts/test, run as written on a small site with such a docstring,
  fails and names it: nothing (``--quiet``) hides the warnings ``--strict`` counts.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import griffe

ROOT = Path(__file__).resolve().parent.parent
MKDOCS_YML = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
PACKAGES = {"kalshi_fix_sansio": ROOT / "src"}


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _objects(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)  # type: ignore[arg-type]


def griffe_warnings(search_paths: list[Path], packages: list[str], style: str) -> list[str]:
    """What griffe warns about while loading ``packages`` and parsing every docstring."""
    collect = _Collect()
    logger = logging.getLogger("griffe")
    logger.addHandler(collect)
    try:
        loader = griffe.GriffeLoader(
            search_paths=[str(p) for p in search_paths], docstring_parser=griffe.Parser(style)
        )
        modules = [loader.load(package) for package in packages]
        for module in modules:
            for obj in _objects(module):  # type: ignore[arg-type]
                if obj.docstring is not None:
                    obj.docstring.parsed  # noqa: B018 (parsing is what warns)
    finally:
        logger.removeHandler(collect)
    return collect.messages


def test_the_reference_reads_google_docstrings() -> None:
    assert re.search(r"^\s+docstring_style: google$", MKDOCS_YML, re.M)
    assert re.search(r"^\s+paths: \[src\]$", MKDOCS_YML, re.M)  # PACKAGES' search paths


def test_every_docstring_parses_without_a_warning() -> None:
    warnings = griffe_warnings(list(set(PACKAGES.values())), list(PACKAGES), "google")
    assert not warnings, "griffe cannot read these docstrings:\n" + "\n".join(warnings)


BAD = '''\
"""A module."""


def admit(message: object) -> None:
    """Admit a message.

    Raises:
        As `check`; `LocalProtocolError` when the ClOrdID is already tracked.
    """
'''


def test_the_check_finds_a_bad_raises_section(tmp_path: Path) -> None:
    (tmp_path / "badpkg").mkdir()
    (tmp_path / "badpkg" / "__init__.py").write_text(BAD, encoding="utf-8")
    assert griffe_warnings([tmp_path], ["badpkg"], "google") == [
        f"{tmp_path / 'badpkg' / '__init__.py'}:8: Failed to get 'exception: description' pair "
        "from 'As `check`; `LocalProtocolError` when the ClOrdID is already tracked.'"
    ]


def _ci_docs_build(
    site: Path, source: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """scripts/test's docs build line, as written, on a one-page site documenting ``source``
    with mkdocs.yml's theme and docstring style, in the environment ``env``."""
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    (line,) = [ln for ln in script.splitlines() if re.match(r"\$PY -m mkdocs build\b", ln)]
    words = shlex.split(line)
    assert words[:5] == ["$PY", "-m", "mkdocs", "build", "--strict"], words
    (site / "src" / "pkg").mkdir(parents=True)
    (site / "src" / "pkg" / "__init__.py").write_text(source, encoding="utf-8")
    (site / "docs").mkdir()
    (site / "docs" / "index.md").write_text("# API\n\n::: pkg\n", encoding="utf-8")
    theme = re.search(r"^theme:\n(?:  #.*\n)*  name: (\S+)$", MKDOCS_YML, re.M)
    style = re.search(r"docstring_style: (\w+)", MKDOCS_YML)
    assert theme is not None and style is not None
    (site / "mkdocs.yml").write_text(
        f"site_name: pkg\nstrict: true\ntheme:\n  name: {theme[1]}\nplugins:\n"
        "  - mkdocstrings:\n      handlers:\n        python:\n          paths: [src]\n"
        f"          options:\n            docstring_style: {style[1]}\n",
        encoding="utf-8",
    )
    out = str(site / "site")
    return subprocess.run(
        [sys.executable, *(out if word == "$site" else word for word in words[1:])],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_ci_docs_build_fails_on_a_docstring_griffe_warns_about(tmp_path: Path) -> None:
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    exported = dict(re.findall(r"^export (\w+)=(\S+)$", script, re.M))
    assert exported == {"NO_MKDOCS_2_WARNING": "1"}  # the theme's notice only (next test)
    result = _ci_docs_build(tmp_path, BAD, {**os.environ, **exported})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "__init__.py:8: Failed to get 'exception: description' pair" in result.stderr
    assert "Aborted with 1 warnings in strict mode" in result.stdout + result.stderr


def test_the_theme_notice_scripts_test_turns_off_is_no_strict_warning(tmp_path: Path) -> None:
    """NO_MKDOCS_2_WARNING only silences the theme's end-of-life notice (a print to stderr): a
    clean site builds with --strict without it, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "NO_MKDOCS_2_WARNING"}
    good = '"""A module."""\n\n\ndef f() -> None:\n    """Do nothing."""\n'
    result = _ci_docs_build(tmp_path, good, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr.replace("NO_MKDOCS_2_WARNING", ""), result.stderr

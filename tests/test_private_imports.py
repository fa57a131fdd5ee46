"""Test files go through the public API, or say at their top why not.

A test file that reaches a private name of the package carries a one-line comment before its
docstring, ``# private: <reason>`` (a test of the codec's layering, a private table...).
Reaching means, read with `ast`:

* importing a private module or name: ``from kalshi_fix_sansio.session._states import State``,
  ``import kalshi_fix_sansio.adapters._aio``, ``from kalshi_fix_sansio.simulator.research.sweep import _one``
  (imports inside functions too);
* naming one in a call's string: ``importlib.import_module("kalshi_fix_sansio.codec._generated.x")``,
  ``mock.patch("kalshi_fix_sansio.simulator.research.sweep._one")``, ``monkeypatch.setattr("...")`` (f-strings by
  their fixed start);
* a private attribute of a package module the file imported: ``prediction._CODEC``, or one
  named by a call: ``monkeypatch.setattr(book, "_DEFER_ENTRIES", 3)``, ``getattr(m, "_x")``.

A reason line on a file that reaches nothing private fails too, so the lines go when the
private imports do. (Private attributes of objects, ``record._src``, are not names of the
package's modules and are not counted; nor is source text held in a string, such as a checker's
own examples or a program a test runs in a subprocess.)
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
PACKAGE = "kalshi_fix_sansio"
REASON = re.compile(r"#\s*private:\s*(\S.*)$")
DOTTED = re.compile(rf"{PACKAGE}(\.\w+)+")


def _private(dotted: str) -> bool:
    """Whether a dotted name of the package has a private part (``__dunder__`` are not)."""
    parts = dotted.split(".")
    return parts[0] == PACKAGE and any(
        p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in parts[1:]
    )


@functools.cache
def _module(dotted: str) -> ModuleType | None:
    """The package module ``dotted`` names, if it is one."""
    if dotted.split(".")[0] != PACKAGE or _private(dotted):
        return None
    found: object
    try:
        found = importlib.import_module(dotted)
    except ImportError:
        module, _, name = dotted.rpartition(".")
        if not module:
            return None
        found = getattr(_module(module), name, None)
    return found if isinstance(found, ModuleType) else None


def _call_string(node: ast.expr) -> str | None:
    """A string argument's text (an f-string's fixed start)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def reaches(source: str) -> list[str]:
    """What ``source`` reaches of the package's private names (sorted)."""
    tree = ast.parse(source)
    modules: dict[str, str] = {}  # a local name bound to a package module: its dotted name
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _private(alias.name):
                    found.append(alias.name)
                elif alias.name.split(".")[0] == PACKAGE:
                    bound = alias.asname or alias.name.split(".")[0]
                    modules[bound] = alias.name if alias.asname else PACKAGE
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                if _private(dotted):
                    found.append(dotted)
                elif _module(dotted) is not None:
                    modules[alias.asname or alias.name] = dotted
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            texts = [_call_string(arg) for arg in node.args[:1]]
            found += [t for t in texts if t and DOTTED.fullmatch(t.rstrip(".")) and _private(t)]
            if len(node.args) >= 2:
                owner, name = _dotted(node.args[0], modules), _call_string(node.args[1])
                if owner and name and _module(owner) is not None and _private(f"{owner}.{name}"):
                    found.append(f"{owner}.{name}")
        elif isinstance(node, ast.Attribute):
            owner = _dotted(node.value, modules)
            if owner and _module(owner) is not None and _private(f"{owner}.{node.attr}"):
                found.append(f"{owner}.{node.attr}")
    return sorted(set(found))


def _dotted(node: ast.expr, modules: dict[str, str]) -> str | None:
    """The dotted package name an expression spells (``prediction``, ``kalshi_fix_sansio.x``)."""
    if isinstance(node, ast.Name):
        return modules.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _dotted(node.value, modules)
        return f"{owner}.{node.attr}" if owner else None
    return None


def reason(source: str) -> str | None:
    """The ``# private:`` line's reason among the comments before the file's first statement."""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return None
        match = REASON.match(stripped)
        if match:
            return match.group(1)
    return None


def python_files() -> list[Path]:
    """Every Python file under tests/ (helpers and conftest too)."""
    return sorted(TESTS.rglob("*.py"))


def test_the_checker_finds_what_reaches_a_private_name() -> None:
    assert reaches(
        "from kalshi_fix_sansio.session._states import State, render_markdown\n"
        "import kalshi_fix_sansio.adapters._aio as aio\n"
        "def f():\n"
        "    from kalshi_fix_sansio.simulator.research.sweep import _one\n"
    ) == [
        "kalshi_fix_sansio.adapters._aio",
        "kalshi_fix_sansio.session._states.State",
        "kalshi_fix_sansio.session._states.render_markdown",
        "kalshi_fix_sansio.simulator.research.sweep._one",
    ]
    assert reaches(
        "import importlib\n"
        "importlib.import_module(f'kalshi_fix_sansio.codec._generated.{product}')\n"
        "monkeypatch.setattr('kalshi_fix_sansio.simulator.research.sweep._one', one)\n"
        "mock.patch('kalshi_fix_sansio.adapters._sockio.send_now')\n"
    ) == [
        "kalshi_fix_sansio.adapters._sockio.send_now",
        "kalshi_fix_sansio.codec._generated.",
        "kalshi_fix_sansio.simulator.research.sweep._one",
    ]
    assert reaches(
        "import kalshi_fix_sansio\n"
        "from kalshi_fix_sansio.codec import prediction as p\n"
        "from kalshi_fix_sansio.trading import book\n"
        "p._CODEC.decode(data)\n"
        "kalshi_fix_sansio.codec.margin._VALUES\n"
        "monkeypatch.setattr(book, '_DEFER_ENTRIES', 3)\n"
    ) == [
        "kalshi_fix_sansio.codec.margin._VALUES",
        "kalshi_fix_sansio.codec.prediction._CODEC",
        "kalshi_fix_sansio.trading.book._DEFER_ENTRIES",
    ]
    # public names, dunders, objects' own private attributes and other packages are not counted
    assert (
        reaches(
            "import kalshi_fix_sansio\n"
            "from kalshi_fix_sansio import State, prediction, __version__\n"
            "from kalshi_fix_sansio.simulator.gateway import MockGateway\n"
            "from other._private import thing\n"
            "prediction.__file__, kalshi_fix_sansio.__all__\n"
            "record = prediction.decode(data)\n"
            "record._src, MockGateway._private\n"
            "monkeypatch.setattr(record, '_x', 1)\n"
            "monkeypatch.setattr(prediction.NewOrderSingle, '_x', 1)\n"
            "importlib.import_module('kalshi_fix_sansio.codec.prediction')\n"
            "assert 'kalshi_fix_sansio.codec._generated.margin' not in sys.modules\n"
        )
        == []
    )


def test_the_reason_line_sits_before_the_first_statement() -> None:
    assert reason("# private: reads the codec's layout cache\n'''Doc.'''\n") == (
        "reads the codec's layout cache"
    )
    assert reason("#!/usr/bin/env python\n\n# private: the table\nimport x\n") == "the table"
    assert reason("'''Doc.'''\n# private: too late\n") is None
    assert reason("# private:\n'''Doc.'''\n") is None  # a reason, not just the tag


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(TESTS)))
def test_a_test_file_reaching_a_private_name_says_why(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    private, why = reaches(source), reason(source)
    name = path.relative_to(ROOT)
    assert why or not private, (
        f"{name} reaches private names {sorted(set(private))}: use the public names, or say why "
        "in a line '# private: <reason>' above the docstring"
    )
    assert private or not why, f"{name} reaches no private name: remove its '# private:' line"

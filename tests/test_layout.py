"""The house a maintainer can walk: where code lives, how big a file grows, how tests wait.

* The package's top level is its face (``__init__.py``) and its floors, the subpackages
  import-linter layers (pyproject.toml): at most 15 modules, none private. The demo lives under
  ``cli/``, the test helpers and samples in ``kalshi_fix_sansio.simulator.testing``, loop code in
  the adapters.
* The library never imports its command line: no module of the package outside ``cli/``
  imports ``kalshi_fix_sansio.cli`` (absolutely, relatively or through ``importlib``); what both
  need lives in the library (the message-log reader: ``kalshi_fix_sansio.observability.messagelog``).
* No hand-written function is over 150 lines (``LONG_FUNCTIONS`` lists those still being split).
* Tests wait on events and fake clocks: no ``time.sleep``, ``asyncio.sleep`` or ``trio.sleep``
  with a duration (``sleep(0)``, a turn of the loop, and ``sleep_forever`` are not waits).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "kalshi_fix_sansio"


def hand_written_modules() -> list[Path]:
    found = [
        *PACKAGE.rglob("*.py"),
        *(ROOT / "codegen").rglob("*.py"),
        *(ROOT / "tests").rglob("*.py"),
        *(ROOT / "benchmarks").rglob("*.py"),
    ]
    return sorted(p for p in found if "_generated" not in p.parts and "__pycache__" not in p.parts)


def sleeps(source: str) -> list[int]:
    """Lines of ``source`` that call a ``sleep`` with a duration other than 0."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name != "sleep":
            continue
        zero = (
            len(node.args) == 1
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == 0
        )
        if not zero:
            found.append(node.lineno)
    return found


def test_the_top_level_is_the_face_and_the_floors() -> None:
    top = sorted(
        p.name
        for p in PACKAGE.iterdir()
        if p.name != "__pycache__" and (p.suffix == ".py" or (p / "__init__.py").is_file())
    )
    assert len(top) <= 15, f"{len(top)} top-level modules: {top}"
    private = [name for name in top if name.startswith("_") and name != "__init__.py"]
    assert not private, f"private modules at the top level: {private}"
    assert (PACKAGE / "cli" / "demo.py").is_file()
    samples = PACKAGE / "simulator" / "testing" / "samples"
    assert sorted(p.name for p in samples.glob("*.fix")) == ["margin.fix", "prediction.fix"]


CLI = "kalshi_fix_sansio.cli"


def cli_imports(source: str, module: str, is_package: bool = False) -> list[int]:
    """Lines of ``source`` (the module named ``module``) that import `CLI` or a module under it:
    ``import``, ``from ... import`` (relative ones resolved, ``from . import cli`` too) and
    ``importlib.import_module`` / ``__import__`` with a constant name."""
    package = module if is_package else module.rpartition(".")[0]

    def resolve(name: str, level: int) -> str:
        if not level:
            return name
        parts = package.split(".")
        base = parts[: len(parts) - level + 1]
        return ".".join([*base, name] if name else base)

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = resolve(node.module or "", node.level)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        elif (
            isinstance(node, ast.Call)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            name = node.args[0].value
            level = len(name) - len(name.lstrip("."))
            anchor = node.args[1] if len(node.args) > 1 else None
            if level and isinstance(anchor, ast.Constant) and isinstance(anchor.value, str):
                # import_module(".x", "pkg"): relative to the package it names
                parts = anchor.value.split(".")
                targets = [".".join([*parts[: len(parts) - level + 1], name[level:]])]
            else:
                targets = [resolve(name[level:], level)]
        else:
            continue
        if any(t == CLI or t.startswith(f"{CLI}.") for t in targets):
            found.append(node.lineno)
    return found


def library_modules() -> list[Path]:
    """Every module of the package outside ``cli/`` (the generated code included)."""
    return sorted(
        p
        for p in PACKAGE.rglob("*.py")
        if "cli" not in p.relative_to(PACKAGE).parts[:1] and "__pycache__" not in p.parts
    )


def test_the_library_never_imports_its_command_line() -> None:
    modules = library_modules()
    assert PACKAGE / "client" / "restore.py" in modules
    assert PACKAGE / "observability" / "messagelog.py" in modules
    assert not any("cli" in p.relative_to(PACKAGE).parts for p in modules)
    importers = []
    for path in modules:
        dotted = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = path.name == "__init__.py"
        if is_package:
            dotted = dotted.rpartition(".")[0]
        lines = cli_imports(path.read_text(encoding="utf-8"), dotted, is_package)
        importers += [f"{path.relative_to(ROOT)}:{line}" for line in lines]
    assert not importers, (
        f"the library imports its command line ({CLI}) at {importers}: move what both need "
        "into a library module (e.g. kalshi_fix_sansio.observability.messagelog) and import it from there"
    )


def test_the_cli_import_check_finds_every_form() -> None:
    restore, gateway = (
        "kalshi_fix_sansio.client.restore",
        "kalshi_fix_sansio.simulator.gateway.server",
    )
    assert cli_imports("from ..cli.common import PRODUCTS\n", restore) == [1]
    assert cli_imports("x = 1\nfrom .. import cli\n", restore) == [2]
    assert cli_imports("from . import cli\n", "kalshi_fix_sansio", is_package=True) == [1]
    assert cli_imports("from ...cli import main\n", gateway) == [1]
    assert cli_imports("def f():\n    from ...cli.decode import scan\n", gateway) == [2]
    assert cli_imports("import kalshi_fix_sansio.cli.decode\n", restore) == [1]
    assert cli_imports("from kalshi_fix_sansio import cli\n", restore) == [1]
    assert cli_imports("importlib.import_module('kalshi_fix_sansio.cli')\n", restore) == [1]
    assert cli_imports("import_module('.cli', 'kalshi_fix_sansio')\n", restore) == [1]
    # other modules whose names start alike, and the library's own reader, are not the CLI
    assert cli_imports("from .supervisor import x\nfrom . import restore\n", restore) == []
    assert cli_imports("from kalshi_fix_sansio.clients import x\n", restore) == []


def test_the_sleep_check_finds_a_timed_wait() -> None:
    assert sleeps("import time\ntime.sleep(0.01)\n") == [2]
    assert sleeps("async def f():\n    await trio.sleep(seconds)\n") == [2]
    assert sleeps("from time import sleep\nsleep(1)\n") == [2]
    assert sleeps("asyncio.sleep(0)\ntrio.sleep_forever()\n") == []


@pytest.mark.parametrize("path", sorted((ROOT / "tests").glob("*.py")), ids=lambda p: p.name)
def test_tests_wait_on_events_not_on_sleeps(path: Path) -> None:
    lines = sleeps(path.read_text(encoding="utf-8"))
    assert not lines, (
        f"tests/{path.name}:{lines} sleeps: wait on an event (threading.Event, the session's "
        "events, the gateway's state) or drive a fake clock instead"
    )


MAX_FUNCTION_LINES = 150

# Functions still over MAX_FUNCTION_LINES while being split by meaning: "path:qualname" -> why.
LONG_FUNCTIONS: dict[str, str] = {}


def long_functions(source: str) -> dict[str, int]:
    """The functions (and methods, by qualified name) of ``source`` over MAX_FUNCTION_LINES."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    length = (child.end_lineno or child.lineno) - child.lineno + 1
                    if length > MAX_FUNCTION_LINES:
                        found[name] = length
                visit(child, f"{name}.")

    visit(ast.parse(source), "")
    return found


def test_the_function_length_check_finds_a_long_method() -> None:
    body = "".join(f"        x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    source = f"class A:\n    def short(self):\n        pass\n\n    def long(self):\n{body}"
    assert long_functions(source) == {"A.long": MAX_FUNCTION_LINES + 1}


def test_no_hand_written_function_is_over_150_lines() -> None:
    over = {
        f"{path.relative_to(ROOT)}:{name}": n
        for path in hand_written_modules()
        for name, n in long_functions(path.read_text(encoding="utf-8")).items()
    }
    unexpected = {key: n for key, n in over.items() if key not in LONG_FUNCTIONS}
    assert not unexpected, f"over {MAX_FUNCTION_LINES} lines, split by meaning: {unexpected}"
    done = sorted(key for key in LONG_FUNCTIONS if key not in over)
    assert not done, f"{done} are short now: take them off LONG_FUNCTIONS"

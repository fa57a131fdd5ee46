"""The package's modules import each other without a cycle, its floors hold, and the codec
never imports the code generated from it.

Every import of every module of ``src/kalshi_fix_sansio/`` counts, wherever it stands: at the
top, under ``if TYPE_CHECKING:`` (a cycle of annotations is still two modules that cannot be
read one without the other) or inside a function. The floors are import-linter's contracts in
pyproject.toml (``[tool.importlinter]``; docs/maintainers/architecture.md draws them), run here
as ``lint-imports``. The codec modules are layered (`_values`, then `_fields`, then `_wire` and
`_valuecheck`, then `_message`, then `_decode` and `_encode`), and the generated dialect modules
import them, never the reverse: each codec is made by its generated module with the tables it
needs.
"""

from __future__ import annotations

import ast
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from test_core_purity import ENGINE_FLOORS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "kalshi_fix_sansio"
CODEC = ("_values", "_fields", "_wire", "_valuecheck", "_message", "_decode", "_encode")


def module_name(path: Path) -> str:
    """``codec._message``, ``session`` (a package's ``__init__``), ... of a file of the package."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """The modules of the package (``codec._wire``, ``codec._generated.prediction``, ...)
    ``path`` imports, wherever the import stands; ``from a import b`` counts ``a.b`` when it
    is a module, else ``a``."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    package = [p for p in package if p]
    found: set[str] = set()
    known = set(graph_modules())
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.startswith("kalshi_fix_sansio"):
                mod = node.module.removeprefix("kalshi_fix_sansio").lstrip(".")
            else:
                continue
            for alias in node.names:
                sub = f"{mod}.{alias.name}" if mod else alias.name
                targets.append(sub if sub in known else mod)
        elif isinstance(node, ast.Import):
            targets = [
                a.name.removeprefix("kalshi_fix_sansio").lstrip(".")
                for a in node.names
                if a.name.startswith("kalshi_fix_sansio")
            ]
        found.update(t for t in targets if t in known)
    return found


@functools.cache
def graph_modules() -> dict[str, Path]:
    """Every module of the package by name (the face is ``""``)."""
    return {
        module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts
    }


@functools.cache
def graph() -> dict[str, frozenset[str]]:
    """Module -> the modules of the package it imports (the face, ``""``, left out: it loads
    its names on first use)."""
    modules = graph_modules()
    return {
        name: frozenset(m for m in imports(path) if m and m != name)
        for name, path in modules.items()
        if name
    }


def cycles(edges: dict[str, frozenset[str]] | dict[str, set[str]]) -> list[list[str]]:
    """Each cycle of ``edges`` (a strongly connected set of more than one module), as a path
    that comes back to its start, e.g. ``["_fields", "_message", "_fields"]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = set()
            while True:
                w = stack.pop()
                part.add(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(_path(edges, part))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _path(edges: dict[str, frozenset[str]] | dict[str, set[str]], part: set[str]) -> list[str]:
    """A shortest path through a strongly connected ``part`` from its first module back to it
    (breadth first: every module of ``part`` reaches the start)."""
    start = min(part)
    came: dict[str, str] = {}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(edges[v] & part):
            if w == start:
                back = [v]
                while back[-1] != start:
                    back.append(came[back[-1]])
                return [*reversed(back), start]
            if w not in came:
                came[w] = v
                todo.append(w)
    raise AssertionError(f"{sorted(part)} is not strongly connected")  # pragma: no cover


def test_the_cycle_finder_names_a_cycle() -> None:
    edges = {"_a": {"_b"}, "_b": {"_c"}, "_c": {"_a", "_d"}, "_d": set()}
    assert cycles(edges) == [["_a", "_b", "_c", "_a"]]
    assert cycles({"_a": {"_b"}, "_b": set()}) == []


def test_the_import_reader_reads_every_kind_of_import() -> None:
    codec = PACKAGE / "codec"
    assert imports(codec / "_message.py") >= {"codec._fields", "codec._wire", "codec._valuecheck"}
    assert "codec.prediction" in imports(codec / "_dialects.py")  # inside a function
    assert "codec._generated.tables" in imports(codec / "_generated" / "prediction.py")
    assert "session.config" in imports(PACKAGE / "session" / "machine.py")


def test_no_module_of_the_package_imports_itself_back() -> None:
    found = [" -> ".join(cycle) for cycle in cycles(graph())]
    assert not found, f"import cycles: {found}"


def test_the_codec_modules_are_layered_and_import_no_generated_code() -> None:
    edges = graph()
    for i, name in enumerate(CODEC):
        later = {f"codec.{m}" for m in CODEC[i:]}
        mine = edges[f"codec.{name}"]
        assert not mine & later, f"{name} imports {mine & later}"
        generated = {m for m in mine if m.startswith("codec._generated")}
        assert not generated, f"{name} imports {generated}"


def test_the_import_contracts_hold() -> None:
    """import-linter's contracts (pyproject.toml): the floors, no engine module importing the
    package face, none importing a network, loop or clock module (``sansio``; the imports that
    run are held by tests/test_core_purity.py too), private modules used only inside their
    package, no circle."""
    tool = shutil.which("lint-imports", path=os.path.dirname(sys.executable))
    assert tool is not None, "lint-imports (import-linter, a dev tool) is not installed"
    done = subprocess.run(
        [tool, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_the_sansio_contract_covers_every_engine_floor_and_module() -> None:
    """The contract that keeps socket, ssl, asyncio, trio, selectors and time out of the engine
    names every floor below the pumps and each of those modules, and ignores only the one
    import of a caller's TLS context's type."""
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    linter = config["tool"]["importlinter"]
    contract = next(c for c in linter["contracts"] if c["id"] == "sansio")
    assert linter["include_external_packages"] is True  # else ssl & co are not in the graph
    assert contract["type"] == "forbidden"
    engine = [f"kalshi_fix_sansio.{f}" for f in ENGINE_FLOORS]
    assert contract["source_modules"] == engine
    assert set(contract["forbidden_modules"]) >= {
        "socket",
        "ssl",
        "asyncio",
        "trio",
        "selectors",
        "time",
    }
    assert contract.get("ignore_imports") == ["kalshi_fix_sansio.client._tlsconfig -> ssl"]
    assert not contract.get("allow_indirect_imports", False)

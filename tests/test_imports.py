"""The package's modules import each other without a cycle, and the codec never imports the
code generated from it.

Every import of every module of ``src/kalshi_fix_sansio/`` counts, wherever it stands: at the
top, under ``if TYPE_CHECKING:`` (a cycle of annotations is still two modules that cannot be
read one without the other) or inside a function. The codec modules are layered (`_values`,
then `_fields`, then `_wire` and `_valuecheck`, then `_message`, then `_decode` and `_encode`),
and the generated dialect modules import them, never the reverse: each codec is made by its
generated module with the tables it needs.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "kalshi_fix_sansio"
CODEC = ("_values", "_fields", "_wire", "_valuecheck", "_message", "_decode", "_encode")
# Imports that do not make a module depend on another's code, each with why: the edge
# (importer, imported) -> reason. The test fails when one of them is no longer there.
NOT_DEPENDENCIES: dict[tuple[str, str], str] = {
    ("store", "filestore"): "store's module __getattr__ keeps FileStore and Recovery reachable "
    "as kalshi_fix_sansio.session.store.FileStore (docs/stores.md): a lazy re-export of the module "
    "that depends on store, not a use of it",
}


def imports(path: Path) -> set[str]:
    """The modules of the package (``_wire``, ``_generated.prediction``, ...) ``path`` imports,
    wherever the import stands."""
    package = path.parent.relative_to(PACKAGE).parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                names = [*base, *(node.module.split(".") if node.module else [])]
                if node.module is None:  # from . import x: x is a module
                    found.update(".".join([*names, a.name]) for a in node.names)
                else:
                    found.add(".".join(names))
            elif node.module and node.module.startswith("kalshi_fix_sansio."):
                found.add(node.module.removeprefix("kalshi_fix_sansio."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("kalshi_fix_sansio."):
                    found.add(alias.name.removeprefix("kalshi_fix_sansio."))
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the modules of ``src/kalshi_fix_sansio/*.py`` it imports."""
    modules = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return {
        name: {m for m in imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
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


def _path(edges: dict[str, set[str]], part: set[str]) -> list[str]:
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


def test_the_import_reader_reads_every_kind_of_import(tmp_path: Path) -> None:
    assert imports(PACKAGE / "_message.py") >= {"_fields", "_wire", "_valuecheck"}
    assert "filestore" in imports(PACKAGE / "store.py")  # inside a function
    assert "_generated.tables" in imports(PACKAGE / "_generated" / "prediction.py")


def test_no_module_of_the_package_imports_itself_back() -> None:
    edges = graph()
    for (importer, imported), why in NOT_DEPENDENCIES.items():
        assert imported in edges[importer], f"{importer} -> {imported} is gone: drop it ({why})"
        edges[importer].discard(imported)
    found = [" -> ".join(cycle) for cycle in cycles(edges)]
    assert not found, f"import cycles: {found}"


def test_the_codec_modules_are_layered_and_import_no_generated_code() -> None:
    edges = graph()
    for i, name in enumerate(CODEC):
        later = set(CODEC[i:])
        assert not edges[name] & later, f"{name} imports {edges[name] & later}"
        generated = {m for m in imports(PACKAGE / f"{name}.py") if m.startswith("_generated")}
        assert not generated, f"{name} imports {generated}"

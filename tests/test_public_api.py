"""Everything the docs, examples, demo and CLI use comes from a public module's ``__all__``.

A user copies imports from the docs and the demo: an import of a private module or name
(``kalshi_fix_sansio.adapters._transport``, ``kalshi_fix_sansio._states``, ``_anything``) there
fails this test, as does a name missing from the ``__all__`` of the public module it comes from.
Imports are read with `ast` (``import x``, ``from x import y``, relative imports of the package,
imports inside functions and ``if TYPE_CHECKING:`` blocks alike).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "kalshi_fix_sansio"
PUBLIC_MODULES = (
    "kalshi_fix_sansio",
    "kalshi_fix_sansio.adapters",
    "kalshi_fix_sansio.gateway",
    "kalshi_fix_sansio.spec",
)

# Private imports waiting for a public home, each with who provides it. The list is strict: an
# entry that is no longer imported fails too, so it shrinks as exports land.
PENDING: dict[tuple[str, str], str] = {}


def _python_blocks(path: Path) -> Iterator[tuple[str, str]]:
    text = path.read_text(encoding="utf-8")
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", text, re.S), 1):
        yield f"{path.relative_to(ROOT)}#{i}", block


def sources() -> list[tuple[str, str, str | None]]:
    """(name, source, package for relative imports) of everything a user reads or runs."""
    found: list[tuple[str, str, str | None]] = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        found += [(name, code, None) for name, code in _python_blocks(doc)]
    for path in sorted((ROOT / "examples").rglob("*.py")) if (ROOT / "examples").is_dir() else []:
        found.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"), None))
    cli = sorted((PACKAGE / "cli").glob("*.py"))
    assert cli, "the kalshi-fix command line lives in src/kalshi_fix_sansio/cli/"
    for path, package in [
        (PACKAGE / "demo.py", "kalshi_fix_sansio"),
        *((p, "kalshi_fix_sansio.cli") for p in cli),
    ]:
        found.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"), package))
    return found


def _parse(source: str) -> ast.Module:
    """The module, or for a doc block that is not a program (a signature, a REPL session) its
    import lines alone."""
    try:
        return ast.parse(source)
    except SyntaxError:
        lines = [re.sub(r"^(>>>|\.\.\.) ?", "", line) for line in source.splitlines()]
        wanted = [ln.strip() for ln in lines if re.match(r"\s*(from|import)\s+\S", ln)]
        return ast.parse("\n".join(wanted))


def imports(source: str, package: str | None) -> Iterator[tuple[str, str | None]]:
    """(module, name or None) of every import in ``source`` (relative ones resolved)."""
    for node in ast.walk(_parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                if package is None:
                    raise AssertionError(f"relative import outside the package: {module}")
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            for alias in node.names:
                yield module, alias.name


def private_imports(source: str, package: str | None = None) -> list[str]:
    """The imports of ``source`` that reach into a private module or name of the package."""
    bad: list[str] = []
    for module, name in imports(source, package):
        if module.split(".")[0] != "kalshi_fix_sansio":
            continue
        dotted = f"{module}.{name}" if name else module
        if any(part.startswith("_") for part in dotted.split(".")):
            bad.append(dotted)
            continue
        if name is None or name == "*":
            continue
        target = importlib.import_module(module)
        if isinstance(getattr(target, name, None), ModuleType) or (
            hasattr(target, "__path__") and importlib.util.find_spec(f"{module}.{name}")
        ):
            continue  # a public submodule
        exported = getattr(target, "__all__", None)
        if exported is not None and name not in exported:
            bad.append(f"{dotted} (not in {module}.__all__)")
    return bad


def test_the_checker_finds_private_imports() -> None:
    assert private_imports(
        "from kalshi_fix_sansio.adapters._transport import Endpoint, Backoff"
    ) == [
        "kalshi_fix_sansio.adapters._transport.Endpoint",
        "kalshi_fix_sansio.adapters._transport.Backoff",
    ]
    assert private_imports("from ._states import State", "kalshi_fix_sansio") == [
        "kalshi_fix_sansio._states.State"
    ]
    assert private_imports("import kalshi_fix_sansio._generated.margin") == [
        "kalshi_fix_sansio._generated.margin"
    ]
    assert private_imports("def f():\n    from kalshi_fix_sansio.session import _private\n") == [
        "kalshi_fix_sansio.session._private"
    ]
    assert private_imports("from kalshi_fix_sansio.gateway import server") == []
    assert private_imports("from kalshi_fix_sansio.gateway import Nope") == [
        "kalshi_fix_sansio.gateway.Nope (not in kalshi_fix_sansio.gateway.__all__)"
    ]
    assert (
        private_imports(
            "from kalshi_fix_sansio import State, prediction as p\n"
            "from kalshi_fix_sansio.adapters import Endpoint\n"
            "from kalshi_fix_sansio.gateway import MockGateway\n"
        )
        == []
    )


@pytest.mark.parametrize(("name", "source", "package"), sources(), ids=lambda v: str(v)[:40])
def test_docs_demo_and_cli_import_only_public_names(
    name: str, source: str, package: str | None
) -> None:
    bad = [b for b in private_imports(source, package) if (name, b) not in PENDING]
    assert not bad, f"{name} imports private names: {bad}"


def test_pending_private_imports_are_still_needed() -> None:
    for (name, dotted), why in PENDING.items():
        source = (ROOT / name).read_text(encoding="utf-8")
        assert dotted in private_imports(source, "kalshi_fix_sansio"), (
            f"{name} no longer imports {dotted}: drop it from PENDING ({why})"
        )


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_name_in_all_exists(module: str) -> None:
    mod = importlib.import_module(module)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing, f"{module}.__all__ names what it does not define: {missing}"


def test_gateway_and_state_are_public() -> None:
    from kalshi_fix_sansio import State
    from kalshi_fix_sansio.gateway import MockGateway

    assert "MockGateway" in importlib.import_module("kalshi_fix_sansio.gateway").__all__
    assert "State" in importlib.import_module("kalshi_fix_sansio").__all__
    assert MockGateway.__module__.startswith("kalshi_fix_sansio.gateway") and State.ACTIVE


def test_the_gateway_docs_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = [code for _, code in _python_blocks(ROOT / "docs" / "gateway.md")]
    example = next(code for code in blocks if "MockGateway(" in code)
    namespace: dict[str, object] = {"__name__": "gateway_md"}
    exec(compile(example, "docs/gateway.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "md_entry_px=Decimal('0.4000')" in out and "md_entry_px=Decimal('0.4500')" in out
    certificate = namespace["gw"].certificate  # type: ignore[attr-defined]
    assert certificate is not None and not certificate.exists()  # removed on close

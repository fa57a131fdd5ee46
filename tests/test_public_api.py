"""Everything the docs, examples, demo and CLI use comes from a public module's ``__all__``.

A user copies imports from the docs and the demo: an import of a private module or name
(``kalshi_fix_sansio.adapters._transport``, ``kalshi_fix_sansio.session._states``, ``_anything``) there
fails this test, as does a name missing from the ``__all__`` of the public module it comes from.
Imports are read with `ast` (``import x``, ``from x import y``, relative imports of the package,
imports inside functions and ``if TYPE_CHECKING:`` blocks alike).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from test_docs_render import built_site

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "kalshi_fix_sansio"
PUBLIC_MODULES = (
    "kalshi_fix_sansio",
    "kalshi_fix_sansio.adapters",
    "kalshi_fix_sansio.simulator.gateway",
    "kalshi_fix_sansio.client.pump",
    "kalshi_fix_sansio.simulator.world.simulation",
    "kalshi_fix_sansio.codec.spec",
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
    for path in cli:  # the demo (cli/demo.py) too
        source = path.read_text(encoding="utf-8")
        found.append((str(path.relative_to(ROOT)), source, "kalshi_fix_sansio.cli"))
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
    assert private_imports("from ._states import State", "kalshi_fix_sansio.session") == [
        "kalshi_fix_sansio.session._states.State"
    ]
    assert private_imports("import kalshi_fix_sansio.codec._generated.margin") == [
        "kalshi_fix_sansio.codec._generated.margin"
    ]
    assert private_imports("def f():\n    from kalshi_fix_sansio.session import _private\n") == [
        "kalshi_fix_sansio.session._private"
    ]
    assert private_imports("from kalshi_fix_sansio.simulator.gateway import server") == []
    assert private_imports("from kalshi_fix_sansio.simulator.gateway import Nope") == [
        "kalshi_fix_sansio.simulator.gateway.Nope (not in kalshi_fix_sansio.simulator.gateway.__all__)"
    ]
    assert (
        private_imports(
            "from kalshi_fix_sansio import State, prediction as p\n"
            "from kalshi_fix_sansio.client import Endpoint\n"
            "from kalshi_fix_sansio.simulator.gateway import MockGateway\n"
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
    from kalshi_fix_sansio.simulator.gateway import MockGateway

    assert "MockGateway" in importlib.import_module("kalshi_fix_sansio.simulator.gateway").__all__
    assert "State" in importlib.import_module("kalshi_fix_sansio").__all__
    assert MockGateway.__module__.startswith("kalshi_fix_sansio.simulator.gateway") and State.ACTIVE


def test_the_gateway_docs_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = [code for _, code in _python_blocks(ROOT / "docs" / "gateway.md")]
    example = next(code for code in blocks if "MockGateway(" in code)
    namespace: dict[str, object] = {"__name__": "gateway_md"}
    exec(compile(example, "docs/gateway.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "md_entry_px=Decimal('0.4000')" in out and "md_entry_px=Decimal('0.4500')" in out
    certificate = namespace["gw"].certificate  # type: ignore[attr-defined]
    assert certificate is not None and not certificate.exists()  # removed on close


# --------------------------------------------------------------------------------------------
# the API reference renders every exported name


def documented_modules() -> list[str]:
    """Every public module: the package and its modules and packages, at any depth, with no
    part of their name starting with ``_`` (not the command line's), the adapters and their
    three loops. The gateway's own modules are its implementation:
    `kalshi_fix_sansio.simulator.gateway` re-exports its surface."""
    import kalshi_fix_sansio

    found = ["kalshi_fix_sansio"]
    for info in pkgutil.walk_packages(kalshi_fix_sansio.__path__, "kalshi_fix_sansio."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts) or parts[1] == "cli":
            continue
        if parts[1:3] != ["simulator", "gateway"] or len(parts) == 3:
            found.append(info.name)
    return found


def exported(module: ModuleType) -> list[str]:
    """``__all__``, or for a module without one the public names it defines itself."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    ]


def _anchor(module: str) -> str:
    """The id prefix of a module in the reference: its dotted name."""
    return module


@pytest.fixture(scope="module")
def api_ids(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The ids (anchors) of the API reference pages, built alone (a few seconds), as
    tests/test_docs_render.py builds the whole site: mkdocs on a copy of the docs (or those
    of the site scripts/test built, `test_docs_render.built_site`)."""
    built = built_site()
    if built is not None:
        return _api_ids(built)
    work = tmp_path_factory.mktemp("api-docs")
    for source in ("src", "adapters", "scripts"):  # mkdocstrings reads the code; the hooks
        (work / source).symlink_to(ROOT / source, target_is_directory=True)
    shutil.copytree(ROOT / "docs" / "api", work / "docs" / "api")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config = re.sub(r"^nav:\n(?:[ -].*\n)*", "", config, flags=re.M)  # every page, no nav
    config = config.replace("strict: true", "strict: false")  # links to other pages: ignored
    (work / "mkdocs.yml").write_text(config, encoding="utf-8")
    out = work / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(out)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return _api_ids(out)


def _api_ids(out: Path) -> set[str]:
    ids: set[str] = set()
    for page in out.glob("api/*.html"):
        ids |= set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))
    assert (
        "kalshi_fix_sansio.Session" not in ids
        and "kalshi_fix_sansio.session.machine.Session" in ids
    )
    return ids


def unrendered(module: str, ids: set[str]) -> list[str]:
    """The names ``module`` exports that have no entry in the reference ``ids``: under the
    module itself or under another public module exporting the same object (the package's
    names are documented where they are defined)."""
    modules = {name: importlib.import_module(name) for name in documented_modules()}
    missing = []
    for name in exported(modules[module]):
        value = getattr(modules[module], name)
        homes = [module] + [
            other for other, mod in modules.items() if getattr(mod, name, None) is value
        ]
        if not any(f"{_anchor(home)}.{name}" in ids for home in homes):
            missing.append(name)
    return missing


@pytest.mark.parametrize("module", documented_modules())
def test_the_api_reference_renders_every_exported_name(api_ids: set[str], module: str) -> None:
    missing = unrendered(module, api_ids)
    assert not missing, f"{module}: not rendered in docs/api/: {missing}"


def test_the_reference_check_finds_a_name_left_out(api_ids: set[str]) -> None:
    # the package's RateLimitExceeded is found on the rate limits page, and only there
    assert "kalshi_fix_sansio.session.ratelimit.RateLimitExceeded" in api_ids
    assert "kalshi_fix_sansio.RateLimitExceeded" not in api_ids
    without = api_ids - {"kalshi_fix_sansio.session.ratelimit.RateLimitExceeded"}
    assert unrendered("kalshi_fix_sansio", without) == ["RateLimitExceeded"]
    assert unrendered("kalshi_fix_sansio.session.ratelimit", without) == ["RateLimitExceeded"]
    # a module without __all__ (events) is held to the public names it defines
    without = api_ids - {"kalshi_fix_sansio.session.events.LoggedOn"}
    assert unrendered("kalshi_fix_sansio.session.events", without) == ["LoggedOn"]


# --------------------------------------------------------------------------------------------
# tests go through the public API


def unnamed_private_imports(source: str) -> list[str]:
    """The private imports of a test file (or test helper) its docstring does not name.

    A test about a private module may import it, and says so: its module docstring names the
    private part of each such import (``_states``, ``_transport``, ``MAX_SEQ``...). Anything
    else comes from a public module's ``__all__``."""
    doc = ast.get_docstring(ast.parse(source)) or ""
    missing = []
    for dotted in private_imports(source):
        if " (not in " in dotted:  # a public module's name left out of its __all__
            named = dotted.split(" ", 1)[0].rsplit(".", 1)[1]
        else:
            named = next(part for part in dotted.split(".") if part.startswith("_"))
        if named not in doc:
            missing.append(dotted)
    return missing


def test_the_test_import_check_finds_an_unnamed_private_import() -> None:
    quiet = '"""Checks the session."""\nfrom kalshi_fix_sansio.session._states import State\n'
    assert unnamed_private_imports(quiet) == ["kalshi_fix_sansio.session._states.State"]
    said = '"""The state table of the private `_states` module."""\n' + quiet.split("\n", 1)[1]
    assert unnamed_private_imports(said) == []
    assert unnamed_private_imports('"""x"""\nfrom kalshi_fix_sansio import State\n') == []


# Test files of other work in progress whose docstrings are still to name the private modules
# they test: file -> the private parts they may import meanwhile.
AWAITING_DOCSTRING: dict[str, set[str]] = {
    "test_codec_edges.py": {"_fields"},  # codec restructuring
    "test_fast_paths.py": {"_fields", "_decode", "_generated", "_values", "_checks", "_wire"},
    "test_differential.py": {"_fields", "_decode"},
    "test_session_header_checks.py": {"_decode"},  # session recomposition
}


@pytest.mark.parametrize("path", sorted((ROOT / "tests").glob("*.py")), ids=lambda p: p.name)
def test_tests_import_private_modules_only_when_they_say_so(path: Path) -> None:
    allowed = AWAITING_DOCSTRING.get(path.name, set())
    missing = [
        dotted
        for dotted in unnamed_private_imports(path.read_text(encoding="utf-8"))
        if not allowed & set(dotted.split(" ", 1)[0].split("."))
    ]
    assert not missing, (
        f"tests/{path.name} imports {missing}: import the public name instead, or (a test "
        "about that private module) name the module in the file's docstring"
    )


# --------------------------------------------------------------------------------------------
# one home per name


MAX_EXPORTERS = 3  # the module it lives in, its subpackage's face, the package's face


def exporters_of(modules: list[str]) -> dict[tuple[str, int], list[str]]:
    """(name, the object's id) -> the modules of ``modules`` whose ``__all__`` lists it; plain
    values (numbers, strings, tuples) are keyed by their value, as equal ones are one name."""
    found: dict[tuple[str, int], list[str]] = {}
    for name in modules:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            value = getattr(module, attr)
            plain = isinstance(value, (int, float, str, bytes, tuple, frozenset))
            key = (attr, hash((attr, value)) if plain else id(value))
            found.setdefault(key, []).append(name)
    return found


def over_exported(modules: list[str]) -> dict[str, list[str]]:
    return {
        name: where
        for (name, _), where in exporters_of(modules).items()
        if len(where) > MAX_EXPORTERS
    }


def test_the_exporter_check_finds_a_name_exported_four_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kalshi_fix_sansio.trading.risk as risk

    modules = ["kalshi_fix_sansio", "kalshi_fix_sansio.trading.risk"]
    assert "RiskLimits" not in over_exported(modules)
    for extra in ("kalshi_fix_sansio.adapters", "kalshi_fix_sansio.client"):
        monkeypatch.setattr(
            importlib.import_module(extra), "RiskLimits", risk.RiskLimits, raising=False
        )
        monkeypatch.setattr(
            importlib.import_module(extra),
            "__all__",
            [*importlib.import_module(extra).__all__, "RiskLimits"],
        )
    modules += ["kalshi_fix_sansio.adapters", "kalshi_fix_sansio.client"]
    assert over_exported(modules) == {"RiskLimits": modules}


def test_no_name_is_exported_by_more_than_three_modules() -> None:
    over = over_exported(documented_modules())
    assert not over, f"export each name from its home and at most two faces: {over}"

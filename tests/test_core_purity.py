# private: renders the session state page from its private table (`_states`)
"""The sans-IO core imports no transport or clock module and calls no clock or file API; no
module of the engine (every floor below the pumps) imports a network, loop or clock module
where the import runs, loads one, or reads a clock.

(The state page check renders the private `_states` table.)
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "src" / "kalshi_fix_sansio"
BANNED_MODULES = {"socket", "ssl", "asyncio", "trio", "threading", "select", "selectors", "time"}
# The core: everything a Session runs. Not core: cli (reads files for the user), testing.samples
# (writes the sample files), testing (test helpers), store (its FileStore is storage the caller
# plugs in; the session only calls the MessageStore interface), auth's load_signer_file (reads
# a key file when the caller asks).
CORE = [
    "session/machine.py",
    "session/_outbound.py",
    "session/_checks.py",
    "session/_billing.py",
    "session/_inbound.py",
    "client/supervisor.py",
    "client/driver.py",
    "client/_acceptor.py",
    "trading/risk.py",
    "codec/ranges.py",
    "trading/killswitch.py",
    "observability/metrics.py",
    "session/_recovery.py",
    "session/store.py",
    "codec/redaction.py",
    "codec/spec.py",
    "session/config.py",
    "session/events.py",
    "session/_states.py",
    "session/_statedoc.py",
    "codec/framing.py",
    "trading/book.py",
    "trading/tracker.py",
    "trading/_orders.py",
    "trading/settlement.py",
    "session/ratelimit.py",
    "trading/builders.py",
    "trading/_requests_core.py",
    "trading/_requests_rfq.py",
    "codec/_message.py",
    "codec/_fields.py",
    "codec/_wire.py",
    "codec/_decode.py",
    "codec/_encode.py",
    "codec/_values.py",
    "codec/errors.py",
    "codec/prediction.py",
    "codec/margin.py",
    "__init__.py",
    "codec/_generated/common.py",
    "codec/_generated/prediction.py",
    "codec/_generated/margin.py",
    "codec/_generated/tables.py",
]
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("datetime", "today"),
}
IO_NAMES = {"open", "input", "print"}


def _imports(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


ENGINE_FLOORS = ("codec", "session", "observability", "trading", "rest", "client")
"""The engine: every floor below the pumps (`kalshi_fix_sansio.adapters`), whose modules load
no network or loop module and read no clock (import-linter's ``sansio`` contract holds the
imports it sees; this test holds every import that runs, and the clock reads)."""
ENGINE_BANNED = {"socket", "ssl", "asyncio", "trio", "selectors", "select", "threading", "time"}
ENGINE_CLOCK_CALLS = {
    *CLOCK_CALLS,
    *(("time", name) for name in ("time", "time_ns", "monotonic", "monotonic_ns")),
    ("time", "perf_counter"),
    ("time", "perf_counter_ns"),
    ("socket", "gethostname"),
}
OPTIONAL_EXTRAS = {
    "kalshi_fix_sansio.observability.metrics_prometheus": "prometheus_client loads http.server"
}
"""Engine modules of an optional extra whose third-party package loads a banned module itself
(the module imports none): it serves Prometheus's HTTP scrape, and nothing imports it."""


BLOCKED = r"""
import importlib, importlib.abc, sys
BANNED = {"socket", "ssl", "asyncio", "trio", "select", "selectors"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BANNED:
            raise ImportError(f"imported {name}")
        return None
for name in list(sys.modules):
    if name.split(".")[0] in BANNED:
        del sys.modules[name]
sys.meta_path.insert(0, Block())
"""
"""The start of a program run with the network and loop modules made unimportable."""


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(tree: ast.AST) -> dict[str, int]:
    """The top-level modules ``tree`` imports where the import runs (module level, a function,
    a class...; not under ``if TYPE_CHECKING:``), each with the line of its first import."""
    found: dict[str, int] = {}

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name.split(".")[0], node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.setdefault(node.module.split(".")[0], node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def clock_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, call) of each call of ``tree`` that reads a clock or the machine's name
    (``datetime.now()``, ``datetime.datetime.now()``, ``time.monotonic()``, ...)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
            if (name, node.func.attr) in ENGINE_CLOCK_CALLS:
                found.append((node.lineno, f"{name}.{node.func.attr}()"))
    return found


def engine_modules() -> list[Path]:
    files = [p for floor in ENGINE_FLOORS for p in sorted((PKG / floor).rglob("*.py"))]
    assert len(files) > 100, "the engine's floors moved: update ENGINE_FLOORS"
    return files


def test_the_engine_checker_sees_imports_in_functions_and_clock_reads() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ssl import SSLContext\nelse:\n    import selectors\n"
        "def f():\n    import socket\n    return datetime.datetime.now(), time.monotonic()\n"
        "def g():\n    from asyncio import sleep\n    return datetime.time(3, 0), local.time()\n"
    )
    assert set(runtime_imports(tree)) & ENGINE_BANNED == {"selectors", "socket", "asyncio"}
    assert clock_reads(tree) == [(8, "datetime.now()"), (8, "time.monotonic()")]


def test_no_engine_module_imports_a_network_loop_or_clock_module_or_reads_a_clock() -> None:
    """Outside the pumps nothing imports socket, ssl, asyncio, trio, selectors, select,
    threading or time where the import runs (a caller's TLS context is named under
    ``TYPE_CHECKING`` only), nor reads a clock or the host name: time and host are arguments."""
    problems: list[str] = []
    for path in engine_modules():
        rel = path.relative_to(PKG)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for module, line in sorted(runtime_imports(tree).items()):
            if module in ENGINE_BANNED:
                problems.append(f"{rel}:{line} imports {module}")
        problems += [f"{rel}:{line} calls {call}" for line, call in clock_reads(tree)]
    assert not problems, "\n".join(problems)


def test_importing_every_engine_module_loads_no_network_or_loop_module() -> None:
    """Run: every module of the engine floors imported with socket, ssl, asyncio, trio, select
    and selectors made unimportable (what the libraries it uses load counts too)."""
    code = (
        BLOCKED
        + r"""
import pkgutil
SKIP = set(sys.argv[1].split(","))
count = 0
for floor in sys.argv[2:]:
    package = importlib.import_module(f"kalshi_fix_sansio.{floor}")
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name not in SKIP:
            importlib.import_module(info.name)
            count += 1
print(count)
"""
    )
    result = subprocess.run(
        [sys.executable, "-c", code, ",".join(OPTIONAL_EXTRAS), *ENGINE_FLOORS],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    floors = len(ENGINE_FLOORS)  # their own __init__, imported as the package is walked
    assert int(result.stdout) == len(engine_modules()) - floors - len(OPTIONAL_EXTRAS)


def test_core_modules_import_no_transport_or_clock_module() -> None:
    for rel in CORE:
        tree = ast.parse((PKG / rel).read_text(encoding="utf-8"))
        bad = _imports(tree) & BANNED_MODULES
        assert not bad, f"{rel} imports {sorted(bad)}"


def test_store_and_auth_import_no_transport_or_clock_module() -> None:
    for rel in (
        "session/store.py",
        "session/auth.py",
        "trading/catchup.py",
    ):  # they read or write files, nothing else
        tree = ast.parse((PKG / rel).read_text(encoding="utf-8"))
        assert not (_imports(tree) & BANNED_MODULES), rel


def test_core_calls_no_clock_and_does_no_io() -> None:
    for rel in CORE:
        tree = ast.parse((PKG / rel).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                    assert (f.value.id, f.attr) not in CLOCK_CALLS, (
                        f"{rel}:{node.lineno} reads the clock"
                    )
                    assert f.value.id != "os", f"{rel}:{node.lineno} calls os.{f.attr}"
                if isinstance(f, ast.Name):
                    assert f.id not in IO_NAMES, f"{rel}:{node.lineno} calls {f.id}()"


def test_a_whole_session_runs_with_transport_and_clock_modules_blocked() -> None:
    """Run a logon, an order and a logout with socket/ssl/asyncio/... made unimportable."""
    code = (
        BLOCKED
        + r"""
from decimal import Decimal
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.testing import SessionPair
pair = SessionPair.kalshi(session_type="KalshiRT")
pair.start()
pair.client.session.send(p.NewOrderSingle(cl_ord_id="c", side=p.Side.BUY, order_qty=Decimal(1),
    ord_type=p.OrdType.LIMIT, price=Decimal("0.5"), symbol="X"), pair.now)
pair.pump()
pair.advance(31)
pair.client.session.logout(pair.now)
pair.pump()
names = [type(e).__name__ for e in pair.server.events]
assert names[:2] == ["LoggedOn", "ApplicationMessage"], names
assert "LoggedOut" in names, names
print("ok")
"""
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_state_diagram_page_is_generated_from_the_table() -> None:
    from kalshi_fix_sansio.session._states import render_markdown

    page = PKG.parent.parent / "docs" / "session-states.md"
    assert page.read_text(encoding="utf-8") == render_markdown(), (
        "docs/session-states.md is stale: python -m kalshi_fix_sansio.session._states > docs/session-states.md"
    )

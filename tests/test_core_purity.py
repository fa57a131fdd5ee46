# private: renders the session state page from its private table (`_states`)
"""The sans-IO core imports no transport or clock module and calls no clock or file API.

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
    code = r"""
import sys
import importlib.abc
BANNED = {"socket", "ssl", "asyncio", "trio", "select", "selectors"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BANNED:
            raise ImportError(f"core imported {name}")
        return None
for name in list(sys.modules):
    if name.split(".")[0] in BANNED:
        del sys.modules[name]
sys.meta_path.insert(0, Block())
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

"""The simulator uses the engine through its public entries.

No module under ``src/kalshi_fix_sansio/simulator`` imports a private name or module of the
engine's packages (client, codec, session, trading, observability, rest, adapters). Its
attribute reaches into engine objects are checked as far as a static look can: an attribute
``x._name`` (``x`` not ``self`` or ``cls``) whose name only the engine defines (a private
attribute, method or slot of an engine class, none of the simulator's) is listed in
``ENGINE_REACHES`` by module, a list that only shrinks. (Names both define, such as ``_now``
or ``_state``, are not told apart here.)

The simulator's in-memory link reads through the pumps' own call (`Driver.read_bytes`); the
one entry it adds, a frame's values handed over with it (`Session.handed_in`), is taken only
for that very frame. tests/test_handover.py compares the link's read of a frame its gateway
built with the general path, tests/test_handed.py the message made from the values with the
frame decoded.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from test_public_api import imports
from test_session import logged_on

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "kalshi_fix_sansio"
ENGINE = ("client", "codec", "session", "trading", "observability", "rest", "adapters")

ENGINE_REACHES: dict[str, set[str]] = {}
"""Module -> the engine-private attribute names it still reaches: none left, and none may come
(a reach is a public, documented, tested entry of the engine instead)."""


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "_generated" not in p.parts)


def _package(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1])


def private_engine_imports(source: str, package: str) -> list[str]:
    """The imports of ``source`` (in ``package``) of a private name or module of the engine."""
    bad = []
    for module, name in imports(source, package):
        parts = module.split(".")
        if parts[0] != "kalshi_fix_sansio" or len(parts) < 2 or parts[1] not in ENGINE:
            continue
        dotted = f"{module}.{name}" if name else module
        if any(part.startswith("_") for part in dotted.split(".")):
            bad.append(dotted)
    return bad


def _defined(paths: list[Path]) -> set[str]:
    """The private attribute names ``paths`` define: set on ``self``/``cls``, slots, methods,
    class annotations."""
    names: set[str] = set()

    def private(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")

    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls")
                and private(node.attr)
            ):
                names.add(node.attr)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and private(node.name):
                names.add(node.name)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if private(node.target.id):
                    names.add(node.target.id)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
            ):
                for c in ast.walk(node.value):
                    if isinstance(c, ast.Constant) and isinstance(c.value, str):
                        if private(c.value):
                            names.add(c.value)
    return names


def engine_reaches(sources: dict[str, str], engine_only: set[str]) -> dict[str, set[str]]:
    """Module -> the names of ``engine_only`` it reads or writes on something not ``self`` or
    ``cls``."""
    found: dict[str, set[str]] = {}
    for name, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in engine_only
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                found.setdefault(name, set()).add(node.attr)
    return found


def test_the_checks_find_private_imports_and_reaches() -> None:
    source = (
        "from ...client.supervisor import _ACTIVE\n"
        "from ...codec import framing\n"
        "from ...session._states import State\n"
        "from ..gateway import _x\n"
    )
    assert private_engine_imports(source, "kalshi_fix_sansio.simulator.gateway") == [
        "kalshi_fix_sansio.client.supervisor._ACTIVE",
        "kalshi_fix_sansio.session._states.State",
    ]
    source = "def f(framer, self):\n    framer._buf = b''\n    self._buf = 1\n    x = a._ok\n"
    assert engine_reaches({"m.py": source}, {"_buf"}) == {"m.py": {"_buf"}}


def test_no_simulator_module_imports_a_private_engine_name() -> None:
    bad = {
        str(path.relative_to(SRC)): found
        for path in _modules(SRC / "simulator")
        if (found := private_engine_imports(path.read_text(encoding="utf-8"), _package(path)))
    }
    assert not bad, f"use (or add) a public engine entry instead: {bad}"


def test_the_simulator_s_reaches_into_engine_objects_only_shrink() -> None:
    engine = _modules(SRC / ENGINE[0])
    for folder in ENGINE[1:]:
        engine += _modules(SRC / folder)
    simulator = _modules(SRC / "simulator")
    engine_only = _defined(engine) - _defined(simulator)
    sources = {str(p.relative_to(SRC)): p.read_text(encoding="utf-8") for p in simulator}
    found = engine_reaches(sources, engine_only)
    new = {m: names - ENGINE_REACHES.get(m, set()) for m, names in found.items()}
    new = {m: names for m, names in new.items() if names}
    assert not new, f"the simulator reaches into engine objects: use a public entry: {new}"
    gone = {m: names - found.get(m, set()) for m, names in ENGINE_REACHES.items()}
    gone = {m: names for m, names in gone.items() if names}
    assert not gone, f"no longer reached: take them off ENGINE_REACHES: {gone}"


def _frame(r: Any, seq: int) -> bytes:
    frame: bytes = r.frame(
        f"35=8|34={seq}|6=0|11=c|14=0|17=1;{seq}|37=o|38=1|39=0|54=1|55=X|150=0|151=1"
    )
    return frame


def test_a_session_takes_handed_values_only_for_that_very_frame() -> None:
    """`Session.handed_in` names its frame by identity: a read of any other frame (here the
    next one) decodes it from its own bytes, as a session with none set does."""
    handed, plain = logged_on("session=KalshiNR"), logged_on("session=KalshiNR")
    assert handed.session is not None and plain.session is not None
    for seq in range(2, 6):
        frame, later = _frame(handed, seq), _frame(handed, seq + 1)
        assert frame == _frame(plain, seq)
        handed.session.handed_in = (later, None, ())  # another frame's: not this read's
        event = handed.session.read(frame, handed.now)
        expected = plain.session.read(frame, plain.now)
        assert event is not None and expected is not None
        assert event.raw is frame
        assert (event.seq_num, event.raw, repr(event.message)) == (
            expected.seq_num,
            expected.raw,
            repr(expected.message),
        )
        assert handed.session.next_target_seq == plain.session.next_target_seq == seq + 1

# private: resolves the codec's private names the maintainers' value-path page gives
"""The maintainers' page on the value path (``docs/maintainers/value-path.md``) stays true.

Every function, class, attribute and module it names in code (``_wire.own_raw``,
``FixRecord._load``, ``ExecutionReport._fill_at``, ``tests/test_imports.py``) must exist, and
every method the code generator writes to read values (the ones `_fields.Record` declares) must
be on it: a route renamed, moved or added without the page fails here.

(A test of private modules: it resolves the names the page gives, which are the codec's.)
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kalshi_fix_sansio.codec._fields import Record

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "maintainers" / "value-path.md"
# where a name the page gives without its module is looked for, in this order
HOMES = (
    "_values",
    "_fields",
    "_wire",
    "_valuecheck",
    "_message",
    "_decode",
    "_encode",
    "_generated.prediction",
)
DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
# code on the page that is no name of the package: a user's variable, a call's argument
NOT_NAMES = frozenset({"report.avg_px", "flat[place]", "careful=True"})


def spans() -> list[str]:
    return re.findall(r"`([^`\n]+)`", PAGE.read_text(encoding="utf-8"))


def _module(name: str) -> ModuleType | None:
    for floor in ("codec.", "trading.", ""):  # the page names modules by their own names
        try:
            return importlib.import_module(f"kalshi_fix_sansio.{floor}{name}")
        except ModuleNotFoundError:
            continue
    return None


def resolve(name: str) -> Any:
    """The object ``name`` (``module.attr...`` or ``attr...`` of one of `HOMES`) names.

    Raises:
        LookupError: it names nothing.
    """
    parts = name.split(".")
    for k in range(len(parts), 0, -1):  # the longest module prefix: `_generated.prediction`
        module = _module(".".join(parts[:k]))
        if module is not None:
            return _walk(module, parts[k:], name)
    for home in HOMES:
        module = _module(home)
        assert module is not None, home
        if hasattr(module, parts[0]):
            return _walk(module, parts, name)
    raise LookupError(f"{name}: no module of the package, nor a name of {', '.join(HOMES)}")


def _walk(obj: Any, attrs: list[str], name: str) -> Any:
    for attr in attrs:
        if not hasattr(obj, attr):
            raise LookupError(f"{name}: {obj!r} has no {attr!r}")
        obj = getattr(obj, attr)
    return obj


def named() -> list[str]:
    """What the page names in code: dotted names, private module names, files of the repo."""
    out = []
    for span in spans():
        if span in NOT_NAMES:
            continue
        if "/" in span or span.endswith((".py", ".md", ".j2")):
            out.append(span)
        elif DOTTED.fullmatch(span) or (span.startswith("_") and _module(span) is not None):
            out.append(span)
    return out


def test_the_page_names_routes_and_files() -> None:
    names = named()
    assert len(names) > 60
    for must in ("_message.FixRecord._load", "_wire.own_raw", "tests/test_imports.py"):
        assert must in names


@pytest.mark.parametrize("name", named())
def test_every_name_on_the_page_exists(name: str) -> None:
    if "/" in name or name.endswith((".py", ".md", ".j2")):
        assert (ROOT / name).exists() or (ROOT / "benchmarks" / name).exists(), name
    else:
        resolve(name)


def test_the_resolver_refuses_a_name_that_is_gone() -> None:
    assert resolve("_wire.own_raw") is not None and resolve("Layout.body_at") is not None
    for gone in ("_wire.own_raws", "_message.HEADER_PLACES", "Layout.nothing", "_nowhere.x"):
        with pytest.raises(LookupError):
            resolve(gone)


def test_every_generated_reading_method_is_on_the_page() -> None:
    """The methods `_fields.Record` declares for the generator to write per class (their
    defaults: no fast path), but the blanking and the name: each is a route's."""
    generated = {
        name
        for name, value in vars(Record).items()
        if name.startswith("_")
        and not name.startswith("__")
        and (callable(value) or isinstance(value, staticmethod))
    } - {"_blank", "_what"}
    assert generated == {"_fast_fill", "_walk", "_fill_at", "_walk_entries", "_walk_one"}
    text = PAGE.read_text(encoding="utf-8")
    for name in generated:
        assert f"`{name}`" in text or f"._{name.lstrip('_')}`" in text, name

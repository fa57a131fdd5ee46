"""The mutation harness of the simulation testing (benchmarks/mutants.py) stays whole: every
mutant still applies to today's code (its text in its file exactly once), a mutant whose text
is gone fails loudly, and one cheap mutant, applied to a copy of ``src/`` and run in a
subprocess, fails its known seed as ``kalshi-fix simulate`` draws it. The full measurement
(every mutant over 1,000 seeds) is the benchmark's, not CI's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutants", BENCH / "mutants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutants"] = module
    spec.loader.exec_module(module)
    return module


mutants = _load()


def test_there_are_at_least_fifteen_mutants_each_named_once() -> None:
    names = [m.name for m in mutants.MUTANTS]
    assert len(names) >= 15 and len(set(names)) == len(names)
    assert all(m.what and m.old != m.new for m in mutants.MUTANTS)


@pytest.mark.parametrize("mutant", mutants.MUTANTS, ids=lambda m: m.name)
def test_every_mutant_still_applies_to_the_code(mutant: Any) -> None:
    text = (mutants.SRC / mutants.PACKAGE / mutant.path).read_text(encoding="utf-8")
    assert text.count(mutant.old) == 1, f"update the mutant: {mutant}"


def test_a_mutant_whose_text_is_gone_fails_loudly(tmp_path: Path) -> None:
    rotted = mutants.Mutant("rotted", "trading/risk.py", "no such text\n", "x", "a bug")
    with pytest.raises(mutants.MutantRotted, match=r"mutant rotted: its text is in .* 0 times"):
        mutants.mutated_copy(rotted, tmp_path)


def test_a_cheap_mutant_fails_its_known_seed_in_a_copy() -> None:
    """A fill report seen again counted again: seed 6 of the documented command breaks "fill
    lost or doubled" (the copy's package is the one imported: the hunt checks)."""
    found = mutants.hunt(mutants.mutant("fill-counted-twice"), 6, 7)
    assert (found.seed, found.invariant, found.runs) == (6, "fill lost or doubled", 1)

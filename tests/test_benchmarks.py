"""The benchmarks still run (a smoke test: tiny sizes, no timing asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_session_benchmark_measures_every_pair() -> None:
    bench = load("bench_session")
    pairs = bench.run(rounds=2, count=40)
    lines = bench.report(pairs, 2, 40)
    text = "\n".join(lines)
    assert len(pairs) == 3 and all(len(p.ratios) == 2 and min(p.ratios) > 0 for p in pairs)
    assert "session path, default (validate_messages=True)" in text
    assert "session path, lazy (validate_messages=False)" in text
    assert text.count("the 0.7x target") == 2  # the floor loop is a reference, not judged


def test_session_benchmark_writes_between_its_markers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load("bench_session")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "benchmarks.md").write_text(
        f"before\n{bench.BEGIN}\nold\n{bench.END}\nafter\n", encoding="utf-8"
    )
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    bench.write_docs(["| new |"])
    assert (docs / "benchmarks.md").read_text(encoding="utf-8") == (
        f"before\n{bench.BEGIN}\n| new |\n{bench.END}\nafter\n"
    )


def test_codec_benchmark_runs_quickly() -> None:
    bench = load("bench_codec")
    assert bench.main(["--quick"]) == 0

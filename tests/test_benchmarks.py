"""The benchmarks still run (a smoke test: tiny sizes, no timing asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kalshi_fix_sansio._message import GroupInfo

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))  # the benchmarks import their shared helpers (_docs)
import _docs  # noqa: E402


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
    monkeypatch.setattr(_docs, "DOC", docs / "benchmarks.md")
    bench.write_docs(["| new |"])
    assert (docs / "benchmarks.md").read_text(encoding="utf-8") == (
        f"before\n{bench.BEGIN}\n| new |\n{bench.END}\nafter\n"
    )


def test_codec_benchmark_runs_quickly() -> None:
    bench = load("bench_codec")
    assert bench.main(["--quick"]) == 0


def test_read_benchmark_has_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("bench_read")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in (
        "baseline: split floor |",
        "baseline: split floor, 35=W alone",
        "baseline: minimal join encoder",
        "kalshi-fix-sansio: lazy decode",
        "kalshi-fix-sansio: decode + read MsgType, MsgSeqNum, Symbol",
        "kalshi-fix-sansio: decode + read every field present",
        "kalshi-fix-sansio: decode + validate()",
        "simplefix: parse",
        "simplefix: encode",
        "QuickFIX (C++)",
        "| kalshi-sdk |",
        "worst case, 35=W alone: kalshi-fix-sansio decode + read every field",
        "kalshi-fix-sansio: NewOrderSingle built from typed values + encoded",
        "vs QuickFIX" if "not installed" in out.split("QuickFIX (C++)")[1][:200] else "QuickFIX's",
    ):
        assert row in out, row
    assert out.count("(target >= ") == 4  # header vs QuickFIX, read all, worst case, encode


def test_read_benchmark_reads_every_field_present() -> None:
    bench = load("bench_read")
    frames = bench.corpus()
    seen: list[str] = []

    class Spy:
        """Records every attribute read through it (the reader must touch every field)."""

        def __init__(self, target: object, path: str) -> None:
            self._t, self._p = target, path

        def __getattr__(self, name: str) -> object:
            seen.append(f"{self._p}.{name}")
            value = getattr(self._t, name)
            if name == "header":
                return Spy(value, "header")
            if isinstance(value, (list, tuple)):
                return [Spy(e, f"{self._p}.{name}[]") for e in value]
            return value

    for f in frames:
        msg = bench.p.decode(f)
        seen.clear()
        bench.full_reader(f)(Spy(msg, "m"))
        read = set(seen)
        for member in type(msg)._MEMBERS:
            value = getattr(msg, member.attr)
            if value is None:
                continue
            assert f"m.{member.attr}" in read, (msg.MSG_TYPE, member.attr)
            if isinstance(member, GroupInfo):
                for entry in value:
                    for em in type(entry)._MEMBERS:
                        if getattr(entry, em.attr) is not None:
                            assert f"m.{member.attr}[].{em.attr}" in read, (member.attr, em.attr)
        for hm in type(msg.header)._MEMBERS:
            if getattr(msg.header, hm.attr) is not None:
                assert f"header.{hm.attr}" in read, hm.attr


def test_memory_benchmark_reports_both_rows(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("bench_memory")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "per ExecutionReport queued behind a gap (200 queued" in out
    assert "Books: per price level" in out


def test_latency_benchmark_round_trips_every_adapter(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("bench_latency")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for name in ("| blocking (threads) | 100 |", "| asyncio | 100 |", "| trio | 100 |"):
        assert name in out, name
    assert "| kalshi-sdk (its own client) |" in out
    assert "market data through a client Session + Books" in out


@pytest.mark.parametrize("name", ["bench_read", "bench_memory", "bench_latency"])
def test_new_benchmarks_write_between_their_markers(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load(name)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "benchmarks.md").write_text(
        f"before\n{bench.BEGIN}\nold\n{bench.END}\nafter\n", encoding="utf-8"
    )
    monkeypatch.setattr(_docs, "DOC", docs / "benchmarks.md")
    bench.write_docs(["| new |"])
    assert (docs / "benchmarks.md").read_text(encoding="utf-8") == (
        f"before\n{bench.BEGIN}\n| new |\n{bench.END}\nafter\n"
    )

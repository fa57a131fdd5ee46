"""The benchmarks still run (a smoke test: tiny sizes, no timing asserted).

(The typed-read check walks the generated classes' members, the private `_fields` infos.)
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest

from kalshi_fix_sansio._fields import GroupInfo

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


def kalshi_sdk_row(absent: str, measured: str) -> str:
    """The row text expected when kalshi-sdk is not installed (this venv), else when measured."""
    import _kalshi_sdk

    if _kalshi_sdk.status() is not None:
        return absent
    return f"| {_kalshi_sdk.label()}{measured}"  # under `bash scripts/bench-peers`' venv


def test_session_benchmark_measures_every_pair() -> None:
    bench = load("bench_session")
    pairs = bench.run(rounds=2, count=40)
    lines = bench.report(pairs, 2, 40)
    text = "\n".join(lines)
    assert len(pairs) == 4 and all(len(p.ratios) == 2 and min(p.ratios) > 0 for p in pairs)
    assert "session path, default (validate_messages=True)" in text
    assert "session path, lazy (validate_messages=False)" in text
    assert text.count("the 0.7x target") == 2  # the floor loop is a reference, not judged
    own = next(line for line in lines if line.startswith("* the session's own work"))
    assert "target <= 5.0 µs" in own and ("meets" in own or "NOT met" in own)


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
        kalshi_sdk_row("| kalshi-sdk |", ": parse + typed model + read every field present |"),
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
            if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
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
    assert f"| {bench.FLOOR_NAME} | 100 |" in out  # the raw-socket floor, no FIX library
    assert f"| {bench.AIO_FLOOR_NAME} | 100 |" in out  # the same on asyncio's TLS transport
    assert kalshi_sdk_row("| kalshi-sdk (its own client) |", " (its own asyncio client) | 100 |") in out
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


# -- kalshi-sdk, the peer measured by `bash scripts/bench-peers` (not installed on this Python) --


def test_kalshi_sdk_rows_say_why_they_are_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    import _kalshi_sdk

    assert _kalshi_sdk.not_installed_reason((3, 11, 7), "3.11.7") == (
        "not installed (needs Python >= 3.12; this is 3.11.7)"
    )
    assert "bash scripts/bench-peers" in _kalshi_sdk.not_installed_reason((3, 12, 1), "3.12.1")

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    why = _kalshi_sdk.status()
    assert why is not None and why.startswith("not installed")
    # installed per its metadata, but its module does not import: the row says so
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "22.4.0")
    monkeypatch.setitem(sys.modules, "kalshi", None)
    why = _kalshi_sdk.status()
    assert why is not None and why.startswith("kalshi-sdk 22.4.0 installed, but `import kalshi.fix`")


def test_kalshi_sdk_coverage_is_described_in_its_row() -> None:
    import _kalshi_sdk

    assert _kalshi_sdk.Coverage(4, 32, [272, 273, 715]).describe() == (
        "keeps 4 of 32 group entries; tags 272, 273, 715 not in its models (dropped)"
    )
    one_tag = _kalshi_sdk.Coverage(32, 32, [715]).describe()
    assert one_tag.endswith("; tag 715 not in its models (dropped)")
    assert _kalshi_sdk.Coverage(1, 1, []).describe() == "keeps 1 of 1 group entries"


def test_read_benchmark_corpus_without_md_entry_date_and_time() -> None:
    bench = load("bench_read")
    frames = bench.corpus()
    assert bench.group_counts(frames) == {136: 1, 1703: 1, 268: 30}
    for frame in frames:
        stripped = bench.strip_tags(frame, bench.MD_DATE_TIME)
        fields = frame.split(b"\x01")[2:-2]  # without 8, 9 and 10
        assert stripped.split(b"\x01")[2:-2] == [
            f for f in fields if not f.startswith((b"272=", b"273="))
        ]
        _, _, rest = stripped.partition(b"\x019=")
        length, _, body_and_trailer = rest.partition(b"\x01")
        body, _, trailer = body_and_trailer.rpartition(b"10=")
        assert int(length) == len(body)
        assert trailer == b"%03d\x01" % (sum(stripped[: len(stripped) - 7]) % 256)
        if b"35=W" in frame or b"35=X" in frame:
            assert len(stripped) < len(frame)
        else:
            assert stripped == frame


def test_latency_gateway_serves_the_mock_key_and_the_rsa_key_for_kalshi_sdk(
    tmp_path: Path,
) -> None:
    import _kalshi_sdk

    bench = load("bench_latency")
    keys, own_key, sdk_key = _kalshi_sdk.gateway_keys(tmp_path)
    assert set(keys) == {own_key[0], _kalshi_sdk.SDK_KEY_ID}
    gw = bench.Gateway(keys, own_key)
    try:
        assert len(bench.blocking_block(gw, 3).rtts) == 2  # our clients: the mock key
        # the RSA key kalshi-sdk signs with is registered: our own client logs on with it
        gw.key_id, gw.key_path = _kalshi_sdk.SDK_KEY_ID, str(sdk_key)
        assert len(bench.blocking_block(gw, 2).rtts) == 1
    finally:
        gw.close()


def test_latency_target_is_judged_against_kalshi_sdk() -> None:
    bench = load("bench_latency")
    ours = bench.Adapter("asyncio", None)
    ours.rtts = [0.0006] * 98 + [0.0010] * 2  # p99: the 99th of 100
    fast = bench.Adapter("blocking (threads)", None)
    fast.rtts = [0.0003] * 100
    sdk = bench.Adapter("kalshi-sdk 22.4.0 (its own asyncio client)", None)
    sdk.rtts = [0.0010] * 98 + [0.0020] * 2
    floor = bench.Adapter(bench.FLOOR_NAME, None, floor=True)  # not a client: never judged
    floor.rtts = [0.0090] * 100
    aio_floor = bench.Adapter(bench.AIO_FLOOR_NAME, None, floor=True)
    aio_floor.rtts = [0.0005] * 100
    line = bench.target_line([fast, ours, floor, aio_floor, sdk])
    judged, _, floors = line.partition(" (no FIX library, not judged: ")
    assert "floor" not in judged
    assert "blocking (threads) p50 0.30x, p99 0.15x; asyncio p50 0.60x, p99 0.50x" in judged
    assert judged.endswith("— met")  # the floor at 9x does not count against the clients
    assert floors == "floor p50 9.00x, p99 4.50x; asyncio floor p50 0.50x, p99 0.25x)"
    assert bench.target_line([fast, ours, sdk]).endswith("— met")  # no floors: no parentheses
    ours.rtts = [0.0008] * 100
    assert bench.target_line([fast, ours, sdk]).endswith("asyncio p50 0.80x, p99 0.40x — NOT met")
    absent = bench.Adapter("kalshi-sdk (its own client)", None, "not installed (needs ...)")
    assert bench.target_line([fast, absent]).endswith(
        "not measurable here: kalshi-sdk not installed (needs ...)"
    )

# private: the plan limit of the compile (`_compiling._MOST_PLANS`) is lowered to test a compile past its room
"""Recordings compiled once (`kalshi_fix_sansio.simulator.backtests.compiled`, its build side
`kalshi_fix_sansio.simulator.backtests._compiling`): the compiled form holds
what the decoded recording holds for a replay, backtest reports are the same bytes with and
without the cache (cold and warm, on every API), the cache is keyed by the recording's content
and never trusted, a corrupt cache is one line naming it, and the command line compiles; the
compile's shortcuts past the decode (`kalshi_fix_sansio.simulator.backtests._compiling`: whole log lines
read by the layouts' patterns, frames by their scans, values decoded alone) compile what the
decode reads, to the same bytes."""

from __future__ import annotations

import enum
import io
import json
import os
import shutil
import tracemalloc
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.backtests.compiled import (
    CACHE_SUFFIX,
    COMPILED_FORMAT,
    CompiledCacheError,
    CompiledEntry,
    compile_recording,
)
from kalshi_fix_sansio.simulator.data.recording import (
    RecordingError,
    RecordingWriter,
    check_recording,
    read_recording,
)
from kalshi_fix_sansio.simulator.research.sweep import run_sweep
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_RECORDING,
    SAMPLE_MARKETS,
    SAMPLE_RECORDING,
    write_recording,
)
from kalshi_fix_sansio.simulator.testing.strategies import async_quoter, quoter
from kalshi_fix_sansio.simulator.world.latency import ConstantLatency

A, B = SAMPLE_MARKETS
QUOTER = "kalshi_fix_sansio.simulator.testing.strategies:quoter"


def _copy(source: Path, tmp_path: Path, name: str | None = None) -> Path:
    target = tmp_path / (name or source.name)
    shutil.copyfile(source, target)
    return target


def _with_statuses(tmp_path: Path, messages: int = 600, settle: bool = True) -> Path:
    """A generated recording with trading halts, a reopening and a close (35=f) in it (and
    ``settle``: B's settlement at its end)."""
    text = io.StringIO()
    write_recording(text, messages=messages, settle={B: "no"} if settle else None, seed=4)
    lines = text.getvalue().splitlines(keepends=True)
    out = io.StringIO()
    writer = RecordingWriter(out, "prediction", [])
    stamp = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)
    for seq, (symbol, code) in enumerate(((A, 2), (A, 3), (B, 2), (A, 101)), 1):
        message = p.SecurityStatus(symbol=symbol, security_trading_status=code)
        header = Header(
            sender_comp_id="Kalshi", target_comp_id="k", msg_seq_num=9000 + seq, sending_time=stamp
        )
        writer.write(p.encode(message, header), 0.0)
    statuses = [
        line.split(" ", 1)[1]
        for line in out.getvalue().splitlines(keepends=True)
        if not line.startswith("#")
    ]
    for at, status in zip((150, 260, 400, 520), statuses, strict=True):
        lines.insert(at, lines[at].split(" ", 1)[0] + " " + status)  # at that line's time
    path = tmp_path / f"statuses-{messages}.log"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _plain(value: Any) -> Any:
    """A decoded field as a replay reads it (an enum member's value; numbers as text)."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


@pytest.mark.parametrize("which", ["prediction", "margin", "statuses", "chunks"])
def test_the_compiled_form_holds_what_a_replay_reads(tmp_path: Path, which: str) -> None:
    """Every message as decoded; "chunks": read in two chunks (4,096 messages each), the
    first with the 35=W and 35=f, the second of 35=X alone (no Symbol, status or result of
    their own: columns read without a lookup per message)."""
    path = {
        "prediction": SAMPLE_RECORDING,
        "margin": MARGIN_SAMPLE_RECORDING,
        "statuses": _with_statuses(tmp_path),
        "chunks": _with_statuses(tmp_path, messages=4_300, settle=False),
    }[which]
    kinds = _holds_what_the_decode_reads(path)
    assert kinds >= {"W", "X", *{"statuses": {"f", "UMS"}, "chunks": {"f"}}.get(which, ())}


def _holds_what_the_decode_reads(path: Path) -> set[str]:
    """Compile ``path`` (no cache): what the check finds, and each message as decoded, field by
    field; the kinds of message met."""
    compiled = compile_recording(path, cache=False)
    assert compiled.info == check_recording(path)
    kinds = set()
    count = 0
    for decoded, item in zip(read_recording(path), compiled.messages(), strict=True):
        count += 1
        want, got = decoded.message, item.message
        kinds.add(got.MSG_TYPE)
        assert (item.line, item.offset, item.time) == (decoded.line, decoded.offset, decoded.time)
        assert type(got).MSG_TYPE == type(want).MSG_TYPE
        for field in ("symbol", "security_trading_status", "market_result"):
            assert getattr(got, field) == _plain(getattr(want, field, None)), field
        entries = (getattr(want, "md_entries", None) or ()) if got.MSG_TYPE in "WX" else ()
        assert len(got.md_entries) == len(entries)
        for mine, theirs in zip(got.md_entries, entries, strict=True):
            for field in CompiledEntry.__slots__:
                expected = _plain(getattr(theirs, field, None))
                actual = getattr(mine, field)
                assert (str(actual) if isinstance(actual, Decimal) else actual) == expected
    assert count == compiled.info.messages
    return kinds


@pytest.mark.parametrize(
    ("api", "strategy"), [("blocking", quoter), ("asyncio", async_quoter), ("trio", async_quoter)]
)
@pytest.mark.parametrize("which", ["prediction", "margin", "statuses"])
def test_reports_are_the_same_bytes_with_and_without_the_cache(
    tmp_path: Path, api: str, strategy: Any, which: str
) -> None:
    path, settle = {
        "prediction": (SAMPLE_RECORDING, {A: "yes"}),
        "margin": (MARGIN_SAMPLE_RECORDING, {}),
        "statuses": (_with_statuses(tmp_path), {A: "no"}),
    }[which]
    options: dict[str, Any] = {
        "api": api,
        "settle": settle,
        "params": {"edge": 0.01},
        "latency": ConstantLatency(0.002),
        "seed": 5,
    }
    cache = tmp_path / "cache"
    bare = run_backtest(strategy, path, cache=False, **options).to_json()
    assert not cache.exists()
    cold = run_backtest(strategy, path, cache_dir=cache, **options).to_json()
    (written,) = cache.iterdir()
    assert written.name.startswith(Path(path).name) and written.name.endswith(CACHE_SUFFIX)
    assert compile_recording(path, cache_dir=cache).from_cache
    warm = run_backtest(strategy, path, cache_dir=cache, **options).to_json()
    assert bare == cold == warm
    assert json.loads(bare)["run"]["messages"] == check_recording(path).messages


def test_the_cache_is_beside_the_recording_and_keyed_by_its_content(tmp_path: Path) -> None:
    path = _copy(SAMPLE_RECORDING, tmp_path)
    first = compile_recording(path)
    assert first.cache_path == f"{path}{CACHE_SUFFIX}" and not first.from_cache
    again = compile_recording(path)
    assert again.from_cache and again.content_hash == first.content_hash
    assert again.info == first.info
    # the same size and time, another content: compiled again, never trusted
    stat = path.stat()
    text = path.read_text(encoding="utf-8")
    line = text.splitlines(keepends=True)[3]
    later = line.replace(line[:27], line[:17] + "59.999999Z", 1)  # a receive time, same length
    assert later != line and len(later) == len(line)
    path.write_text(text.replace(line, later, 1), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    moved = compile_recording(path)
    assert not moved.from_cache and moved.content_hash != first.content_hash
    assert first.info.steps_back == 0 and moved.info.steps_back > 0  # the times after step back
    assert moved.info.largest_step_back is not None and moved.info.largest_step_back.line == 5
    assert moved.info == check_recording(path)
    broken = text.replace("|271=14.00|", "|271=15.00|", 1)  # the frame's CheckSum no longer fits
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(RecordingError, match=r"line 2 \(byte \d+\): .*CheckSum"):
        compile_recording(path)
    path.write_text(text + text.splitlines(keepends=True)[-1], encoding="utf-8")
    grown = compile_recording(path)
    assert not grown.from_cache and grown.info.messages == first.info.messages + 1
    assert compile_recording(path).from_cache


def test_a_cache_of_another_version_or_check_is_compiled_again(tmp_path: Path) -> None:
    path = _copy(MARGIN_SAMPLE_RECORDING, tmp_path)
    compile_recording(path)
    cache = Path(f"{path}{CACHE_SUFFIX}")
    assert compile_recording(path, product="margin").from_cache  # what its header says
    with pytest.raises(RecordingError) as caught:
        compile_recording(path, product="prediction")
    with pytest.raises(RecordingError) as checked:
        check_recording(path, product="prediction")
    assert str(caught.value) == str(checked.value)
    data = cache.read_bytes()
    ours = f'"format": {COMPILED_FORMAT}'.encode()
    assert ours in data
    for earlier in (b'"format": 2', b'"format": 9'):  # 2: the recording's BLAKE2b as its key
        cache.write_bytes(data.replace(ours, earlier, 1))
        assert not compile_recording(path).from_cache
        data = cache.read_bytes()
    cache.write_bytes(data.replace(ours, b'"format": 9', 1))
    assert not compile_recording(path).from_cache
    assert compile_recording(path).from_cache
    longest = max(len(line) for line in path.read_bytes().splitlines(keepends=True))
    assert not compile_recording(path, max_line=longest).from_cache


@pytest.mark.parametrize("damage", ["payload", "garbage", "cut", "header"])
def test_a_corrupt_cache_is_one_line_naming_it(tmp_path: Path, damage: str) -> None:
    path = _copy(SAMPLE_RECORDING, tmp_path)
    compile_recording(path)
    cache = Path(f"{path}{CACHE_SUFFIX}")
    data = bytearray(cache.read_bytes())
    if damage == "payload":
        data[-40] ^= 0xFF
    elif damage == "garbage":
        data = bytearray(b"not a cache at all\n")
    elif damage == "cut":
        del data[len(data) // 2 :]
    else:
        start = data.index(b"{")
        data[start] = ord("[")
    cache.write_bytes(bytes(data))
    with pytest.raises(CompiledCacheError) as caught:
        compile_recording(path)
    message = str(caught.value)
    assert message.startswith(f"{cache}: file: ") and "\n" not in message
    assert "delete it" in message
    with pytest.raises(RecordingError, match="corrupt compiled cache"):
        run_backtest(quoter, path)
    assert compile_recording(path, cache=False).info == check_recording(path)  # the way round


def test_a_bad_recording_is_named_as_the_check_names_it(tmp_path: Path) -> None:
    lines = SAMPLE_RECORDING.read_text(encoding="utf-8").splitlines(keepends=True)
    cases = {
        "not-a-line.log": [*lines[:5], "hello\n", *lines[5:]],
        "cut.log": [*lines[:-1], lines[-1][:-30]],
        "checksum.log": [*lines[:3], lines[3].replace("|10=", "|10=9", 1), *lines[4:]],
        "empty.log": lines[:1],
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_text("".join(content), encoding="utf-8")
        with pytest.raises(RecordingError) as checked:
            check_recording(path)
        with pytest.raises(RecordingError) as compiled:
            compile_recording(path)
        assert type(compiled.value) is RecordingError
        assert str(compiled.value) == str(checked.value), name
        assert not Path(f"{path}{CACHE_SUFFIX}").exists()
    with pytest.raises(RecordingError, match="not a regular file"):  # as the check refuses it
        compile_recording(tmp_path)


def test_without_the_cache_nothing_is_written(tmp_path: Path) -> None:
    path = _copy(SAMPLE_RECORDING, tmp_path)
    compiled = compile_recording(path, cache=False)
    assert compiled.cache_path is None and not compiled.from_cache
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    with pytest.raises(CompiledCacheError, match=r"a-file: file: not a directory"):
        compile_recording(path, cache_dir=a_file)


def test_reading_the_compiled_form_holds_a_chunk_not_the_recording(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    with open(path, "w", encoding="utf-8") as out:
        write_recording(out, messages=20_000)
    compile_recording(path)
    compiled = compile_recording(path)
    assert compiled.from_cache
    items = compiled.timed()
    next(items)
    tracemalloc.start()
    rest = sum(1 for _ in items)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert rest == 20_001
    # compiled in parts (the compile's columns go to temporary files as it goes): the same
    # messages as the decoded recording, from the cache and from memory
    shapes = [
        (
            r.line,
            r.time,
            [(e.md_entry_px, e.md_entry_size, e.trade_id) for e in r.message.md_entries],
        )
        for r in compiled.messages()
    ]
    assert shapes == [
        (
            r.line,
            r.time,
            [(e.md_entry_px, e.md_entry_size, e.trade_id) for e in r.message.md_entries],
        )
        for r in compile_recording(path, cache=False).messages()
    ]
    decoded = [
        (
            r.line,
            r.time,
            [
                (e.md_entry_px, e.md_entry_size, getattr(e, "trade_id", None))
                for e in r.message.md_entries or ()
            ],
        )
        for r in read_recording(path)
    ]
    assert shapes == decoded
    # 20,000 messages kept as objects would hold tens of megabytes; a chunk of 4,096 is a few
    # hundred kilobytes of columns (the cache file itself is 2 MB)
    assert peak < Path(f"{path}{CACHE_SUFFIX}").stat().st_size / 2, peak


def test_a_sweep_compiles_once_and_ranks_the_same(tmp_path: Path) -> None:
    path = _copy(SAMPLE_RECORDING, tmp_path)
    points = [{"edge": 0.01}, {"edge": 0.03}]
    cached = run_sweep(QUOTER, [path], points, jobs=1, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").iterdir())) == 1
    bare = run_sweep(QUOTER, [path], points, jobs=1, cache=False)
    assert cached.to_json() == bare.to_json()
    assert not cached.failed


def test_the_command_compiles_and_says_when_the_cache_is_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _copy(SAMPLE_RECORDING, tmp_path)
    assert main(["compile-recording", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: 403 messages of 2 prediction markets over 426 s, compiled in")
    assert f"into {path}{CACHE_SUFFIX}" in out
    assert main(["compile-recording", str(path)]) == 0
    assert f"up to date in {path}{CACHE_SUFFIX}" in capsys.readouterr().out
    assert main(["compile-recording", str(path), "--no-cache"]) == 0
    assert "into memory (no cache written)" in capsys.readouterr().out
    bad = tmp_path / "bad.log"
    bad.write_text("hello\n", encoding="utf-8")
    assert main(["compile-recording", str(path), str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"kalshi-fix compile-recording: {bad}: line 1 (byte 0): not a message-log line: 'hello'"
    ]


def test_the_backtest_command_takes_a_cache_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _copy(SAMPLE_RECORDING, tmp_path)
    cache = tmp_path / "cache"
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    args = ["backtest", QUOTER, str(path), "--param", "edge=0.03"]
    assert main([*args, "--cache-dir", str(cache), "--out", str(out_a)]) == 0
    assert len(list(cache.iterdir())) == 1
    assert main([*args, "--no-cache", "--out", str(out_b)]) == 0
    name = f"{path.name}.backtest.json"
    assert (out_a / name).read_bytes() == (out_b / name).read_bytes()
    (written,) = cache.iterdir()
    written.write_bytes(b"junk")
    capsys.readouterr()
    assert main([*args, "--cache-dir", str(cache), "--out", str(out_a)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"kalshi-fix backtest: {written}: file: a corrupt")


# -- the check made cheaper: a frame of a layout met before is told by the layout's scan ------


def _framed(prefix: str, fields: list[str]) -> str:
    """A recording line: ``prefix`` (time, direction, session), then a frame of ``fields``
    (35= onwards, no BodyLength nor CheckSum) with its BodyLength and CheckSum made right."""
    body = ("|".join(fields) + "|").encode()
    head = b"8=FIXT.1.1|9=%d|" % len(body)
    total = sum((head + body).replace(b"|", b"\x01")) % 256
    return f"{prefix}{(head + body).decode()}10={total:03d}|\n"


def _split(line: str) -> tuple[str, list[str]]:
    """A recording line's prefix and its frame's fields from 35= to before 10=."""
    at = line.index("8=FIXT")
    fields = line[at:].rstrip("\n").rstrip("|").split("|")
    return line[:at], fields[2:-1]


def _layout_met_before(lines: list[str], kind: str, since: int) -> int:
    """The index of a ``kind`` line at or after ``since`` whose tag layout an earlier line had."""
    seen: set[tuple[str, ...]] = set()
    for i, line in enumerate(lines):
        if " IN " not in line:
            continue
        _prefix, fields = _split(line)
        tags = tuple(f.partition("=")[0] for f in fields)
        if i >= since and fields[0] == f"35={kind}" and tags in seen:
            return i
        seen.add(tags)
    raise AssertionError(f"no {kind} line met before")


def _edit(fields: list[str], tag: str, value: str | None, nth: int = 0) -> list[str]:
    """``fields`` with the ``nth`` field of ``tag`` given ``value`` (None: taken out)."""
    at = [i for i, f in enumerate(fields) if f.partition("=")[0] == tag][nth]
    return [*fields[:at], *([] if value is None else [f"{tag}={value}"]), *fields[at + 1 :]]


def _defects(line: str) -> dict[str, tuple[str, str | None]]:
    """Each defect: the line with it, and what the check's one line says (None: no error)."""
    prefix, fields = _split(line)
    stamp = prefix.split(" ", 1)[0]
    framed = _framed(prefix, fields)
    checksum = framed.rsplit("|10=", 1)
    wrong = f"{(int(checksum[1][:3]) + 1) % 256:03d}"
    body = ("|".join(fields) + "|").encode()
    longer = b"8=FIXT.1.1|9=%d|" % (len(body) + 1) + body
    total = sum(longer.replace(b"|", b"\x01")) % 256
    moved = [f for f in fields if not f.startswith("34=")] + [fields[3]]
    assert fields[3].startswith("34=")
    return {
        "checksum": (f"{checksum[0]}|10={wrong}|\n", "CheckSum(10) is"),
        "body length": (f"{prefix}{longer.decode()}10={total:03d}|\n", "BodyLength(9) is"),
        "begin string": (framed.replace("8=FIXT.1.1", "8=FIX.4.4", 1), "does not start"),
        "no such tag number": (_framed(prefix, [*fields, "x1=1"]), "invalid tag number"),
        "a tag of no message": (_framed(prefix, [*fields, "9999=1"]), None),
        "a value that is no price": (_framed(prefix, _edit(fields, "270", "0.4x")), "270"),
        "a count that is no number": (_framed(prefix, _edit(fields, "268", "x")), "268"),
        "a count off by one": (_framed(prefix, _edit(fields, "268", "3")), "268"),
        "a required tag missing": (_framed(prefix, _edit(fields, "269", None)), "269"),
        "a tag twice": (_framed(prefix, _edit(fields, "49", "Kalshi|49=Kalshi")), "49"),
        "a header field after the body": (_framed(prefix, moved), None),
        "a tag without a value": (_framed(prefix, _edit(fields, "271", "")), "271"),
        "a date that does not exist": (_framed(prefix, _edit(fields, "272", "20261131")), "272"),
        "a time of hour 24": (_framed(prefix, _edit(fields, "52", "20261120-24:00:00")), "52"),
        "a price of another product": (
            _framed(prefix, _edit(fields, "270", "1.05")),
            "not a prediction price",
        ),
        "a receive time that is none": (
            framed.replace(stamp, stamp.replace("T", "T2", 1).replace(":", "", 1), 1),
            "is not a UTC time",
        ),
        "a receive time stepping back": (
            framed.replace(stamp, "2026-11-20T14:00:00.000000Z"),
            None,
        ),
        "an update action no enum lists": (_framed(prefix, _edit(fields, "279", "7")), None),
        "a market of non-ASCII text": (_framed(prefix, _edit(fields, "55", "KXPAPÉR-1")), None),
        "a price not in its plain form": (_framed(prefix, _edit(fields, "270", "+.5")), "270"),
        "a price in exponent form": (_framed(prefix, _edit(fields, "270", "5E-1")), "270"),
        "a sequence number past 64 bits": (_framed(prefix, _edit(fields, "34", "9" * 19)), "34"),
    }


def _outcome(path: Path) -> tuple[str, Any]:
    """What the check (decode and validate of every frame, no scan) says of a recording: its
    one line, or what it finds."""
    try:
        return "ok", check_recording(path)
    except RecordingError as exc:
        return "error", str(exc)


def _recording(tmp_path: Path, messages: int = 400, seed: int = 5) -> list[str]:
    text = io.StringIO()
    write_recording(text, messages=messages, seed=seed)
    return text.getvalue().splitlines(keepends=True)


@pytest.mark.parametrize("defect", list(_defects(_recording(Path(), 400)[100])))
def test_each_defect_in_a_layout_met_before_is_named_as_the_check_names_it(
    tmp_path: Path, defect: str
) -> None:
    """A frame whose layout the compile has met (and reads by its scan, undecoded) with one
    defect: the same one line as the check's (file, line, byte, what), no cache; or, when the
    check takes it, the same messages as the decode."""
    lines = _recording(tmp_path)
    at = _layout_met_before(lines, "X", since=300)
    line, says = _defects(lines[at])[defect]
    path = tmp_path / "bad.log"
    path.write_text("".join([*lines[:at], line, *lines[at + 1 :]]), encoding="utf-8")
    outcome = _outcome(path)
    if says is None:
        assert outcome[0] == "ok", outcome
        _holds_what_the_decode_reads(path)
        if "stepping back" in defect:
            assert outcome[1].steps_back == 1
        return
    kind, text = outcome
    assert kind == "error" and says in text, outcome
    assert f": line {at + 1} (byte " in text
    with pytest.raises(RecordingError) as compiled:
        compile_recording(path)
    assert str(compiled.value) == text
    assert not Path(f"{path}{CACHE_SUFFIX}").exists()


def _mutated(line: str, rng: Any) -> str:
    """A recording line with one to three of its frame's values changed (its BodyLength and
    CheckSum made right again, mostly), or its BodyLength or CheckSum changed."""
    prefix, fields = _split(line)
    if rng.random() < 0.1:
        frame = _framed(prefix, fields)
        target = "|10=" if rng.random() < 0.5 else "|9="
        return frame.replace(target, f"{target}{rng.randint(0, 9)}", 1)
    values = ["", "x", "0", "-0", "007", "1.", ".5", "1.5", "1.05", "0.999", "-1", "1e3", "é"]
    values += ["20260229", "20261131", "24:00:00", "12:00:00.5", "9" * 19, "Y", "2", "7"]
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(1, len(fields))
        tag, _eq, value = fields[i].partition("=")
        if value.isdigit() and rng.random() < 0.3:
            value = str(int(value) + rng.choice((1, -1)))
        else:
            value = rng.choice(values)
        fields[i] = f"{tag}={value}"
    return _framed(prefix, fields)


def test_a_changed_frame_is_taken_or_refused_as_the_check_takes_it(tmp_path: Path) -> None:
    """Frames of layouts met before, their values changed (as a fuzzer would): the compile
    refuses each with the check's one line, or takes it and holds what the decode reads.
    Counted, so that a run that never takes a change (or never refuses one) fails."""
    import random

    rng = random.Random(7)
    lines = _recording(tmp_path, 300, seed=9)
    took = refused = 0
    for case in range(60):
        at = rng.randrange(200, len(lines))
        bad = _mutated(lines[at], rng)
        path = tmp_path / f"changed-{case}.log"
        path.write_text("".join([*lines[:at], bad, *lines[at + 1 :]]), encoding="utf-8")
        outcome = _outcome(path)
        if outcome[0] == "ok":
            took += 1
            _holds_what_the_decode_reads(path)
            continue
        refused += 1
        with pytest.raises(RecordingError) as compiled:
            compile_recording(path, cache=False)
        assert str(compiled.value) == outcome[1], bad
    assert took >= 5 and refused >= 30, (took, refused)


def _decodes_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The prediction decodes made from now on, counted (in the list's one item)."""
    decoded = [0]
    decode = p.decode

    def counted(*args: Any, **kwargs: Any) -> Any:
        decoded[0] += 1
        return decode(*args, **kwargs)

    monkeypatch.setattr(p, "decode", counted)
    return decoded


def test_a_frame_of_a_layout_met_before_is_not_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compile decodes a frame of a layout it has not met, or with a value it has not met
    (a few hundred of 2,002 here); the check decodes each."""
    lines = _recording(tmp_path, 2_000, seed=3)
    path = tmp_path / "long.log"
    path.write_text("".join(lines), encoding="utf-8")
    decoded = _decodes_counted(monkeypatch)
    check_recording(path)
    assert decoded[0] == 2_002
    decoded[0] = 0
    compiled = compile_recording(path, cache=False)
    assert compiled.info.messages == 2_002
    assert 0 < decoded[0] < 400, decoded


@pytest.mark.parametrize("room", [0, 1])
def test_a_compile_past_its_room_for_layouts_decodes_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, room: int
) -> None:
    """A recording of more layouts than the compile keeps plans for: the layouts past the
    bound are decoded and checked, the compiled form the same."""
    from kalshi_fix_sansio.simulator.backtests import _compiling

    monkeypatch.setattr(_compiling, "_MOST_PLANS", room)
    path = _copy(SAMPLE_RECORDING, tmp_path)
    _holds_what_the_decode_reads(path)


def _rewritten(lines: list[str], every: int, change: Any) -> list[str]:
    """``lines`` with every ``every``-th received line from the 50th given ``change(prefix,
    fields)`` -> (prefix, fields), its BodyLength and CheckSum made right."""
    out = list(lines)
    for i in range(50, len(out), every):
        if " IN " in out[i]:
            out[i] = _framed(*change(*_split(out[i])))
    return out


ENDS = ("\n", "\r\n", "\r")


def _line_variants(tmp_path: Path) -> dict[str, Path]:
    """Recordings whose lines the compile's whole-line patterns must read as the check does:
    the samples, generated ones, every line end `bytes.splitlines` knows, texts and session
    ids with a backslash or a tab, receive times written otherwise."""
    lines = _recording(tmp_path, 1_500, seed=11)
    body = [line.rstrip("\n") for line in lines]
    texts = {
        "generated": "".join(lines),
        "crlf": "".join(f"{line}\r\n" for line in body),
        "cr": "".join(f"{line}\r" for line in body),
        "mixed line ends": "".join(line + ENDS[i % 3] for i, line in enumerate(body)),
        "no last line end": "".join(lines).rstrip("\n"),
        "texts with a backslash or a tab": "".join(
            _rewritten(
                _rewritten(lines, 37, lambda pre, f: (pre, _edit(f, "56", "a\\xb"))),
                41,
                lambda pre, f: (pre, _edit(f, "49", "Kal\tshi")),
            )
        ),
        "session ids with a backslash": "".join(
            _rewritten(lines, 29, lambda pre, f: (pre.replace("KalshiMD/", "K\\x01/"), f))
        ),
        "receive times written otherwise": "".join(
            _rewritten(
                lines,
                31,
                lambda pre, f: (pre.replace("Z ", "+00:00 ", 1).replace("000+", "+", 1), f),
            )
        ),
    }
    paths = {
        "prediction": _copy(SAMPLE_RECORDING, tmp_path),
        "margin": _copy(MARGIN_SAMPLE_RECORDING, tmp_path),
        "statuses": _with_statuses(tmp_path),
    }
    for name, text in texts.items():
        paths[name] = tmp_path / f"{name.replace(' ', '-')}.log"
        paths[name].write_bytes(text.encode())
    return paths


def test_whole_lines_read_compile_to_the_bytes_of_frames_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache of each recording is the same bytes whether its lines are read whole by the
    layouts' line patterns, frame by frame by the layouts' scans, or every frame decoded; the
    line patterns read nearly every line of a generated recording after its first block of
    64 KiB (read before the layouts' pattern is made)."""
    from kalshi_fix_sansio.simulator.backtests import _compiling
    from kalshi_fix_sansio.simulator.data import recording

    calls = later = 0
    line = recording._Reader.line

    def counted(self: Any, start: int, raw: bytes) -> Any:
        nonlocal calls, later
        calls += 1
        later += start >= 1 << 16
        return line(self, start, raw)

    monkeypatch.setattr(recording._Reader, "line", counted)
    for name, path in _line_variants(tmp_path).items():
        caches = []
        for way, setting, room in (
            ("lines", "_MOST_LINE_PLANS", 16),
            ("frames", "_MOST_LINE_PLANS", 0),
            ("decoded", "_MOST_PLANS", 0),
        ):
            calls = later = 0
            with monkeypatch.context() as patched:
                patched.setattr(_compiling, setting, room)
                compiled = compile_recording(path, cache_dir=tmp_path / name / way)
            (cache,) = (tmp_path / name / way).iterdir()
            caches.append(cache.read_bytes())
            if way == "lines" and path.stat().st_size > 1 << 16:
                assert later < compiled.info.lines // 10, (later, compiled.info.lines)
            if way != "lines":
                assert calls == compiled.info.lines
        assert caches[0] == caches[1] == caches[2], name
        assert check_recording(path) == compiled.info, name


def test_a_value_not_met_in_a_layout_met_before_is_decoded_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame of a layout met before with sizes and prices never met: its values are decoded
    alone (a frame is decoded only where its layout is not met yet), the compiled form as the decode reads it,
    and a prediction price of $1 or more still the check's one line."""
    sizes = iter(range(5_000, 10_000))
    lines = _rewritten(
        _recording(tmp_path, 1_500, seed=12),
        1,
        lambda pre, f: (
            (pre, _edit(f, "271", f"{next(sizes)}.5")) if "271=" in "|".join(f) else (pre, f)
        ),
    )
    path = tmp_path / "new-sizes.log"
    path.write_text("".join(lines), encoding="utf-8")
    with monkeypatch.context() as patched:
        decoded = _decodes_counted(patched)
        compiled = compile_recording(path, cache=False)
    assert compiled.info.messages == 1_502
    assert 0 < decoded[0] < 30, decoded  # where a layout is met first
    _holds_what_the_decode_reads(path)
    at = _layout_met_before(lines, "X", since=1_000)
    prefix, fields = _split(lines[at])
    bad = _framed(prefix, _edit(fields, "270", "1.01"))
    path.write_text("".join([*lines[:at], bad, *lines[at + 1 :]]), encoding="utf-8")
    kind, text = _outcome(path)
    assert kind == "error" and "not a prediction price" in text
    with pytest.raises(RecordingError) as compiled:
        compile_recording(path, cache=False)
    assert str(compiled.value) == text


def test_a_shipped_sample_is_compiled_in_memory_never_into_the_package(tmp_path: Path) -> None:
    beside = Path(str(SAMPLE_RECORDING) + CACHE_SUFFIX)
    there = beside.exists()
    compiled = compile_recording(SAMPLE_RECORDING)
    assert compiled.cache_path is None and not compiled.from_cache
    assert beside.exists() == there  # nothing written beside the sample, in the package
    # a cache folder of the caller's still takes it; a copy outside the package is cached beside
    assert compile_recording(SAMPLE_RECORDING, cache_dir=tmp_path).cache_path is not None
    copy = tmp_path / SAMPLE_RECORDING.name
    shutil.copyfile(SAMPLE_RECORDING, copy)
    assert compile_recording(copy).cache_path == str(copy) + CACHE_SUFFIX

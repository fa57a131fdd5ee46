"""``kalshi-fix decode`` and ``kalshi-fix replay`` (and `kalshi_fix_sansio.observability.messagelog` under
them) read their input within a bound: line by line, never whole; a line longer than
``MAX_LINE_BYTES`` ends the input, named with its byte offset; a pipe is read as it comes
(``replay`` reads it once); Ctrl-C and SIGTERM stop them at once; memory stays flat however
large the input (the child's peak RSS, from ``os.wait4``)."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from cli_process import CLI, child, reap, signal_once_started
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli_decode import frame, piped, run

from kalshi_fix_sansio.client.restore import RestoreError, restore
from kalshi_fix_sansio.observability.messagelog import (
    MAX_LINE_BYTES,
    Found,
    LogPrefix,
    Problem,
    log_prefix,
    scan,
    scan_stream,
)

TOO_LONG = (
    f"the line is longer than {MAX_LINE_BYTES:,} bytes, the longest a log line may be: the "
    "input is read no further (not a FIX log?)"
)
PREFIX = b"2027-01-15T08:00:05.000000Z IN KalshiNR/key-1 "
HEARTBEAT = PREFIX + piped(frame(b"35=0\x01")) + b"\n"
MiB = 1024 * 1024


class Trickle(io.BytesIO):
    """A stream that gives at most ``size`` bytes a read, as a pipe may."""

    def __init__(self, data: bytes, size: int) -> None:
        super().__init__(data)
        self.size = size

    def read1(self, n: int | None = -1) -> bytes:
        return super().read1(self.size if n is None or n < 0 else min(n, self.size))


def items(found: list[Found | Problem]) -> list[tuple[object, ...]]:
    """What a scan told, comparable: frames with their prefix and the input offset of each byte,
    problems with their reason."""
    return [
        (
            "frame",
            i.offset,
            i.frame,
            i.redacted,
            i.prefix,
            [i.locate(k) for k in range(len(i.frame))],
        )
        if isinstance(i, Found)
        else ("problem", i.offset, i.reason, i.text)
        for i in found
    ]


# -- the reader ------------------------------------------------------------------------------


def test_a_never_ending_line_ends_the_input_at_its_offset_holding_one_line(tmp_path: Path) -> None:
    path = tmp_path / "endless.log"
    with open(path, "wb") as out:
        out.write(HEARTBEAT)
        out.truncate(1024 * MiB)  # then 1 GiB of zero bytes, no line end (sparse)
    tracemalloc.start()
    try:
        with open(path, "rb") as stream:
            told = list(scan_stream(stream))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [type(i) for i in told] == [Found, Problem]
    assert (told[1].offset, told[1].reason) == (len(HEARTBEAT), TOO_LONG)
    assert MAX_LINE_BYTES == 16 * MiB + 4096
    assert peak < 3 * MAX_LINE_BYTES, peak  # a line, not the gigabyte
    # restore reads files the same way: the problem is named, strict or not
    with pytest.raises(RestoreError, match=rf"{re.escape(str(path))}: byte {len(HEARTBEAT)}: "):
        restore(path)
    assert [str(p) for p in restore(path, strict=False).problems] == [
        f"{path}: byte {len(HEARTBEAT)}: malformed: {TOO_LONG}"
    ]


def test_the_bound_is_an_argument_a_line_of_exactly_it_passes() -> None:
    lines = HEARTBEAT * 3
    longest = len(HEARTBEAT)
    assert items(list(scan_stream(io.BytesIO(lines), max_line=longest))) == items(scan(lines))
    told = list(scan_stream(io.BytesIO(lines), max_line=longest - 1))
    assert [(type(i), i.offset) for i in told] == [(Problem, 0)]
    assert isinstance(told[0], Problem)
    assert told[0].reason.startswith(f"the line is longer than {longest - 1:,} bytes")


def test_a_raw_stream_without_line_ends_is_read_in_pieces_frames_whole() -> None:
    big = frame(b"35=5\x0158=" + b"x" * (200 * 1024) + b"\x01")  # longer than a 64 KiB piece
    frames = [frame(b"35=0\x01"), big, *[frame(b"35=5\x0158=n%d\x01" % n) for n in range(3000)]]
    frames.insert(1500, big)
    raw = b"".join(frames)
    offsets = [sum(len(f) for f in frames[:n]) for n in range(len(frames))]
    for verify in (True, False):
        told = list(scan_stream(Trickle(raw, 10_000), verify))
        assert all(isinstance(i, Found) for i in told)
        assert [(i.offset, i.frame) for i in told if isinstance(i, Found)] == list(
            zip(offsets, frames, strict=True)
        )


@st.composite
def inputs(draw: st.DrawFn) -> bytes:
    """Logs, raw captures and text, cut and spliced: what decode reads."""
    pieces = [
        HEARTBEAT,
        PREFIX + piped(frame(b"35=A\x0198=0\x01108=30\x0195=5\x0196=<redacted 5 bytes>\x01")),
        frame(b"35=5\x0158=two\nlines\x01"),
        frame(b"35=0\x01") + frame(b"35=5\x0158=x\x01"),
        b"note: " + piped(frame(b"35=0\x01")),
        b"some text\n",
        b"# a comment\n",
        b"\n",
        b"\r\n",
        b"8=FIX.4.4|9=5|35=0|10=000|\n",
        PREFIX + b"<garbled: 12 bytes>\n",
        PREFIX + b"8=FIXT.1.1|9=5|35=0|10=0\\x01|\n",
    ]
    data = bytearray(b"".join(draw(st.lists(st.sampled_from(pieces), max_size=8))))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=6))
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=inputs(), size=st.integers(1, 40), verify=st.booleans())
def test_how_the_input_arrives_changes_nothing(data: bytes, size: int, verify: bool) -> None:
    whole = scan(data, verify)
    assert items(list(scan_stream(Trickle(data, size), verify))) == items(whole)
    for item in whole:
        if isinstance(item, Found):
            assert item.prefix == log_prefix(data, item.offset)


def test_without_verifying_a_second_frame_on_a_line_is_where_it_is() -> None:
    first, second = piped(frame(b"35=0\x01")), piped(frame(b"35=5\x0158=x\x01"))
    data = b"some text\n" + PREFIX + first + second + b"\n"
    told = scan(data, verify=False)
    assert [(i.offset, i.prefix) for i in told if isinstance(i, Found)] == [
        (data.index(first), LogPrefix("2027-01-15T08:00:05.000000Z", "IN", "KalshiNR/key-1")),
        (data.index(second), LogPrefix("2027-01-15T08:00:05.000000Z", "IN", "KalshiNR/key-1")),
    ]
    assert [i.frame for i in told if isinstance(i, Found)] == [
        first.replace(b"|", b"\x01"),
        second.replace(b"|", b"\x01"),
    ]


def test_the_lines_skipped_after_a_broken_trailer_are_told() -> None:
    broken = piped(frame(b"35=0\x01"))[:-1] + b"X\n"  # "10=ddd" not ended by SOH
    data = broken + b"a line of text\n" + HEARTBEAT
    code, _, err = run(["decode", "-"], data)
    assert code == 1
    assert err.splitlines()[:2] == [
        f"<stdin>: byte 0: malformed: CheckSum(10) is not terminated by SOH: "
        f"b'{broken[-5:-2].decode()}X'; {len(broken) - 1} bytes skipped",  # to its line end
        f"<stdin>: byte {len(broken)}: malformed: text, not a FIX frame: 'a line of text'",
    ]


def test_redacted_values_restore_at_most_a_frame_a_line() -> None:
    body = b"35=0\x01" + b"96=<redacted 4000000 bytes>\x01" * 1000  # 28 KB asking for 4 GB
    line = PREFIX + piped(frame(body)) + b"\n"
    tracemalloc.start()
    try:
        told = scan(line)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert told and peak < 40 * MiB, peak


def test_text_before_the_first_frame_is_held_within_a_bound(tmp_path: Path) -> None:
    text = b"".join(b"text line %d\n" % n for n in range(1500))
    code, _, err = run(["decode", "-"], text)  # no frame at all: not a FIX log
    assert (code, err) == (1, "kalshi-fix decode: <stdin>: no FIX messages found\n")
    code, out, err = run(["decode", "-"], text[:130] + HEARTBEAT)  # a few: each told
    assert code == 1 and out.count("Heartbeat (35=0)") == 1
    assert len(err.splitlines()) == 10 + 1
    code, out, err = run(["decode", "-"], text + HEARTBEAT)  # more than held: counted
    assert code == 1 and out.count("Heartbeat (35=0)") == 1
    assert err.splitlines() == [
        "<stdin>: byte 0: malformed: text, not a FIX frame: 'text line 0', and 1499 more line(s) "
        "of text before the first frame (not listed one by one)",
        "kalshi-fix decode: 1 malformed frame(s)",
    ]


# -- the commands: bounded, in a child process -------------------------------------------------


def feed(stream: IO[str], chunks: Iterator[bytes]) -> threading.Thread:
    """Write ``chunks`` into a child's stdin from a thread, until they end or it stops reading."""

    def write() -> None:
        try:
            for chunk in chunks:
                stream.buffer.write(chunk)  # type: ignore[attr-defined]
        except OSError:  # the child stopped reading (BrokenPipeError)
            pass
        finally:
            try:
                stream.close()
            except OSError:
                pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def zeros() -> Iterator[bytes]:
    block = bytes(64 * 1024)
    while True:
        yield block


@pytest.mark.parametrize("command", ["decode", "replay"])
@pytest.mark.parametrize("how", ["/dev/zero", "a pipe of zeros"])
def test_dev_zero_fails_at_once_in_bounded_memory(command: str, how: str, tmp_path: Path) -> None:
    errors = tmp_path / "stderr"
    with open(errors, "wb") as err:
        if how == "/dev/zero":
            proc = child([command, "/dev/zero"], stdout=subprocess.DEVNULL, stderr=err)
        else:
            proc = child(
                [command, "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err
            )
            assert proc.stdin is not None
            writer = feed(proc.stdin, zeros())
        status, rss = reap(proc)
    if how != "/dev/zero":
        writer.join(timeout=30)
    name = "/dev/zero" if how == "/dev/zero" else "<stdin>"
    skipped = " (skipped)" if command == "replay" else ""
    assert status == 1
    assert errors.read_text().splitlines() == [
        f"{name}: byte 0: malformed: {TOO_LONG}{skipped}",
        f"kalshi-fix {command}: 1 malformed frame(s)" + (" skipped" if skipped else ""),
    ]
    assert rss < 128 * MiB, rss  # it held a line (main grew to 900 MB in 3 s)


LARGE_BLOCK = HEARTBEAT + (b"# " + b"-" * 76 + b"\n") * 200
LARGE_FRAMES = 100 * MiB // len(LARGE_BLOCK)


@pytest.fixture(scope="module")
def large_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 100 MB: a heartbeat every 16 KB, comment lines between (read fast: seconds)."""
    path = tmp_path_factory.mktemp("large") / "large.log"
    with open(path, "wb") as out:
        for _ in range(LARGE_FRAMES):
            out.write(LARGE_BLOCK)
    return path


def baseline(command: str, tmp_path: Path) -> int:
    """The peak RSS of the same command over one line."""
    small = tmp_path / "small.log"
    small.write_bytes(HEARTBEAT)
    proc = child([command, str(small)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status, rss = reap(proc)
    assert status == 0
    return rss


@pytest.mark.parametrize(("command", "how"), [("decode", "file"), ("replay", "pipe")])
def test_memory_stays_flat_over_a_large_input(
    large_log: Path, command: str, how: str, tmp_path: Path
) -> None:
    size, frames = large_log.stat().st_size, LARGE_FRAMES
    out_path, err_path = tmp_path / "out", tmp_path / "err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        if how == "file":
            proc = child([command, str(large_log)], stdout=out, stderr=err)
        else:
            proc = child([command, "-"], stdin=subprocess.PIPE, stdout=out, stderr=err)
            assert proc.stdin is not None
            reader = open(large_log, "rb")
            feed(proc.stdin, iter(lambda: reader.read(64 * 1024), b""))
        status, rss = reap(proc)
    assert (status, err_path.read_text()) == (0, "")
    shown = out_path.read_text()
    if command == "decode":
        assert shown.count("Heartbeat (35=0)") == frames  # every frame, to the end
    else:
        assert f"state at the end of the log: {frames} message(s) applied" in shown
    grown = rss - baseline(command, tmp_path)
    assert grown < 16 * MiB < size // 6, (rss, grown)  # the old reader held it (several times)


# -- Ctrl-C and SIGTERM -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def heartbeats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 10 MB of message-log lines: minutes to decode on a shared machine."""
    path = tmp_path_factory.mktemp("signals") / "heartbeats.log"
    path.write_bytes(HEARTBEAT * (10 * MiB // len(HEARTBEAT)))
    return path


SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143)]


@pytest.mark.parametrize(("signum", "status"), SIGNALS)
def test_a_signal_stops_decode_at_once(
    heartbeats: Path, signum: signal.Signals, status: int
) -> None:
    proc = child(["decode", str(heartbeats)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, _, err, took = signal_once_started(proc, signum)
    assert proc.returncode == status, err
    m = re.fullmatch(
        rf"kalshi-fix decode: {signum.name}: stopped while reading {re.escape(str(heartbeats))} "
        r"\(at byte (\d+)\)\n",
        err,
    )
    assert m is not None, err
    assert int(m.group(1)) < heartbeats.stat().st_size // 2  # stopped, not finished
    assert took < 3, took  # the whole input takes far longer


@pytest.mark.parametrize(("signum", "status"), SIGNALS)
def test_a_signal_stops_replay_reading_a_pipe_at_once(
    heartbeats: Path, signum: signal.Signals, status: int
) -> None:
    proc = child(
        ["replay", "--step", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    reader = open(heartbeats, "rb")
    feed(proc.stdin, iter(lambda: reader.read(64 * 1024), b""))
    first, out, err, took = signal_once_started(proc, signum)
    reader.close()
    assert proc.returncode == status, err
    assert re.fullmatch(
        rf"kalshi-fix replay: {signum.name}: stopped while reading <stdin> \(at byte \d+\); no "
        r"state printed\n",
        err,
    ), err
    assert first.startswith("#1 ") and "state at" not in out
    assert took < 3, took


def test_a_signal_stops_replay_of_a_file_read_twice(tmp_path: Path) -> None:
    path = tmp_path / "heartbeats.log"
    path.write_bytes(HEARTBEAT * 20_000)  # the first, silent pass takes a second or two
    proc = child(["replay", "--step", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first, out, err, took = signal_once_started(proc, signal.SIGINT)
    assert proc.returncode == 130, err
    assert err.startswith(f"kalshi-fix replay: SIGINT: stopped while reading {path} (at byte ")
    assert first.startswith("#1 ") and "state at" not in out
    assert took < 3, took


# -- replay of a pipe: read once -----------------------------------------------------------------


def run_piped(args: list[str], data: bytes) -> tuple[int, str, str]:
    """Run ``kalshi-fix`` in a child, ``data`` on its stdin through a pipe (not seekable)."""
    proc = subprocess.run([*CLI, *args], input=data, capture_output=True, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_a_pipe_is_read_once_and_refused_where_a_second_key_shows() -> None:
    from test_cli_replay import _two_keys_log  # key-1's order and fill, then key-2's

    data = _two_keys_log()
    refusal = (
        "kalshi-fix replay: <stdin>: the log holds the orders of 2 API keys (key-1, key-2): pass "
        "--key-id KEY to replay one account (positions of two accounts are never merged)\n"
    )
    assert run_piped(["replay", "-"], data) == (2, "", refusal)
    code, out, err = run_piped(["replay", "--step", "-"], data)  # key-1's lines came first
    assert (code, err) == (2, refusal)
    assert [line.split()[0] for line in out.splitlines() if line.startswith("#")] == ["#1", "#2"]
    code, out, err = run_piped(["replay", "-", "--key-id", "typo"], data)  # known at the end
    assert (code, out) == (2, "")
    assert err.endswith(
        "the log holds no order-entry line of --key-id typo; it holds those of key-1, key-2\n"
    )
    # a pipe replays as the file does
    assert run_piped(["replay", "--json", "-", "--key-id", "key-2"], data) == run(
        ["replay", "--json", "-", "--key-id", "key-2"], data
    )


def test_the_help_states_the_bound_and_the_signals() -> None:
    for command in ("decode", "replay"):
        code, out, _ = run([command, "--help"])
        text = " ".join(out.split())
        assert code == 0
        assert f"a line may be up to {MAX_LINE_BYTES:,} bytes (16 MiB + 4 KiB)" in text
        assert "130 / 143 Ctrl-C / SIGTERM" in text

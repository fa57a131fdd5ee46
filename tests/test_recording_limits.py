"""A recording's check is bounded and stoppable: a line has a maximum length, a file that is
not a regular file is refused, Ctrl-C and SIGTERM stop ``kalshi-fix mock-gateway --replay`` at
once while it checks; a receive time that steps back is held and named."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cli_process import child, signal_once_started

from kalshi_fix_sansio.cli import main as kalshi_fix
from kalshi_fix_sansio.simulator.data.recording import (
    MAX_LINE_BYTES,
    ClockStep,
    RecordingError,
    check_recording,
    read_recording,
)
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING

LINES = SAMPLE_RECORDING.read_bytes().splitlines(keepends=True)
HEADER, BODY = LINES[0], LINES[1:]
T0 = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp()


def at(line: bytes, seconds: float) -> bytes:
    """A recording line with its receive time moved to ``T0 + seconds``."""
    stamp = datetime.fromtimestamp(T0 + seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return stamp.encode() + line[line.index(b" ") :]


def test_a_line_longer_than_the_maximum_is_refused_without_reading_it_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "long-line.log"
    with open(path, "wb") as out:
        out.write(HEADER + BODY[0] + BODY[1])
        out.truncate(200 * 1024 * 1024)  # then 200 MiB of zero bytes, no newline (sparse)
    start = len(HEADER) + len(BODY[0]) + len(BODY[1])
    tracemalloc.start()
    try:
        with pytest.raises(RecordingError) as caught:
            check_recording(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(caught.value) == (
        f"{path}: line 4 (byte {start}): the line is longer than {MAX_LINE_BYTES:,} bytes, the "
        "longest a recording line may be (not a recording?)"
    )
    assert MAX_LINE_BYTES == 16 * 1024 * 1024 + 4096
    assert peak < 3 * MAX_LINE_BYTES < 200 * 1024 * 1024, peak  # not the 200 MiB line
    # the bound is an argument: a line of exactly max_line bytes passes, one more does not
    longest = max(len(line) for line in LINES)
    assert check_recording(SAMPLE_RECORDING, max_line=longest).messages == 403
    with pytest.raises(RecordingError, match=r"line \d+ \(byte \d+\): the line is longer than"):
        list(read_recording(SAMPLE_RECORDING, max_line=longest - 1))


def test_a_device_a_pipe_and_a_directory_are_refused_before_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it would wait for a writer: it is never opened
    for path, kind in (
        ("/dev/zero", "a character device"),
        (fifo, "a pipe"),
        (tmp_path, "a directory"),
    ):
        with pytest.raises(RecordingError) as caught:
            check_recording(path)
        assert str(caught.value) == (
            f"{path}: file: not a regular file but {kind}: a recording is a regular file (read "
            "twice: once to check it, once to replay it)"
        )
        with pytest.raises(RecordingError, match=kind):
            next(read_recording(path))


def test_mock_gateway_refuses_dev_zero_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    status = kalshi_fix(["mock-gateway", "--plain", "--port-base", "0", "--replay", "/dev/zero"])
    assert status == 1
    assert capsys.readouterr().err.splitlines() == [
        "kalshi-fix mock-gateway: checking the recording /dev/zero before the replay (Ctrl-C "
        "stops)",
        "kalshi-fix mock-gateway: /dev/zero: file: not a regular file but a character device: a "
        "recording is a regular file (read twice: once to check it, once to replay it)",
    ]


@pytest.fixture(scope="module")
def large_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 60 MB of valid market data: a minute or more to check on a shared machine."""
    path = tmp_path_factory.mktemp("large") / "large.log"
    update = next(line for line in BODY if b"|35=X|" in line)
    lines = BODY[: BODY.index(update)]  # the snapshots, then one update again and again
    with open(path, "wb") as out:
        out.write(HEADER)
        out.writelines(lines)
        out.write(at(update, 1) * (60_000_000 // len(update)))
    return path


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_check_at_once(
    large_recording: Path, signum: signal.Signals, status: int
) -> None:
    proc = child(
        ["mock-gateway", "--plain", "--port-base", "0", "--replay", str(large_recording)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # its first line is printed once the signals stop the check
    checking, out, err, took = signal_once_started(proc, signum, on="stderr")
    size = f"{large_recording.stat().st_size / 1e6:,.1f} MB"
    assert checking == (
        f"kalshi-fix mock-gateway: checking the recording {large_recording} ({size}) before "
        "the replay (Ctrl-C stops)\n"
    )
    assert proc.returncode == status, err
    assert (out, err) == (
        "",
        f"kalshi-fix mock-gateway: {signum.name}: stopped while checking the recording "
        f"{large_recording}; nothing was replayed\n",
    )
    assert took < 3, took  # the whole check takes far longer than this (tens of seconds)


def test_a_time_stepping_back_is_held_at_the_later_time_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshots = [line for line in BODY if b"|35=W|" in line]
    update = next(line for line in BODY if b"|35=X|" in line)
    seconds = [1.0, 0.5, 2.0, 0.75, 3.0]  # back 0.5 s at line 5, back 1.25 s at line 7
    path = tmp_path / "steps.log"
    path.write_bytes(
        HEADER + b"".join(at(s, 0) for s in snapshots) + b"".join(at(update, t) for t in seconds)
    )
    info = check_recording(path)
    assert info.steps_back == 2
    step = info.largest_step_back
    line = 1 + len(snapshots) + 4
    offset = len(HEADER) + sum(len(at(s, 0)) for s in snapshots) + 3 * len(at(update, 1.0))
    assert step == ClockStep(str(path), line, offset, T0 + 0.75, T0 + 2.0)
    assert str(step) == (
        f"{path}: line {line} (byte {offset}): the time 2026-11-20T15:00:00.750000Z is 1.250000 s "
        "before 2026-11-20T15:00:02.000000Z, the latest time before it"
    )
    assert [r.time - T0 for r in read_recording(path)][len(snapshots) :] == [1, 1, 2, 2, 3]
    assert (info.first_time, info.last_time) == (T0, T0 + 3)

    monkeypatch.setattr(sys, "stdin", io.StringIO())  # the admin console: no commands
    status = kalshi_fix(
        [
            "mock-gateway",
            "--plain",
            "--port-base",
            "0",
            "--replay",
            str(path),
            "--start",
            "now",
            "--as-fast-as-possible",
            "--exit-at-end",
            "--seconds",
            "30",
        ]
    )
    err = capsys.readouterr().err.splitlines()
    assert status == 0, err
    assert err[1] == (
        f"kalshi-fix mock-gateway: warning: {step}; the replay holds the clock at the later time "
        "(2 lines step back, this is the largest)"
    )
    assert len(err) == 2

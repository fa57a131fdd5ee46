# private: the message-log line splitter (`_lines.log_line`) against the old pattern
"""A message-log line is split (`_lines.log_line`) exactly as the pattern the recording and
latency readers used before matched it, only without scanning the frame a byte at a time."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from kalshi_fix_sansio.codec._lines import log_line
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING

# what both readers matched a line with before (its lazy frame scanned each byte)
BEFORE = re.compile(rb"(\S+) (IN|OUT) (\S+) (8=.*?)\r?\n?\Z", re.DOTALL)

PIECES = [b" ", b"IN", b"OUT", b"8=", b"\r", b"\n", b"\t", b"x", b"|", b"\x01", b"9", b"=", b"a"]


def _before(raw: bytes) -> tuple[bytes, ...] | None:
    m = BEFORE.match(raw)
    return None if m is None else m.groups()


def test_the_sample_recording_splits_as_before() -> None:
    for raw in SAMPLE_RECORDING.read_bytes().splitlines(keepends=True):
        assert log_line(raw) == _before(raw)


@given(st.lists(st.sampled_from(PIECES), max_size=24))
def test_any_line_splits_as_before(pieces: list[bytes]) -> None:
    raw = b"".join(pieces)
    assert log_line(raw) == _before(raw)
    line = b"2026-11-20T15:00:00Z IN KalshiMD/k 8=" + raw
    assert log_line(line) == _before(line)

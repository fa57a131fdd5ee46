"""atheris harness: `kalshi_fix_sansio.Framer` over arbitrary byte streams.

The contract (``src/kalshi_fix_sansio/codec/framing.py``): feeding and draining raise nothing; every
consumed byte is accounted for by exactly one result, in stream order (a `Frame`, or a `Garbled`
whose reason ends with ``"N bytes skipped"``); a Frame starts with ``8=FIXT.1.1<SOH>9=``, its
BodyLength and CheckSum are right; the frames cut do not depend on how the stream was chunked.

    python fuzz/fuzz_framer.py -max_total_time=28800 corpus/framer seeds/framer

(see docs/fuzzing.md; ``python fuzz/fuzz_support.py seeds`` writes the seeds).
"""

from __future__ import annotations

import re

from kalshi_fix_sansio import Frame, Framer, Garbled, checksum

PREFIX = b"8=FIXT.1.1\x019="
_SKIPPED = re.compile(r"(\d+) bytes skipped$")
_LENGTH = re.compile(rb"8=FIXT\.1\.1\x019=(\d+)\x01")


def drain(data: bytes, chunk: int, max_message_size: int | None = None) -> list[Frame | Garbled]:
    """Feed ``data`` in chunks of ``chunk`` bytes (0: at once), draining after every feed, and
    check the accounting of every result."""
    framer = Framer() if max_message_size is None else Framer(max_message_size=max_message_size)
    items: list[Frame | Garbled] = []
    step = chunk or max(len(data), 1)
    for start in range(0, len(data), step):
        framer.feed(data[start : start + step])
        items.extend(framer)
    consumed = 0
    for item in items:
        assert item.offset == consumed, (item, consumed)
        if isinstance(item, Frame):
            check_frame(item.data)
            assert data[consumed : consumed + len(item.data)] == item.data
            consumed += len(item.data)
        else:
            assert isinstance(item, Garbled), item
            m = _SKIPPED.search(item.reason)
            assert m is not None, item.reason
            skipped = int(m.group(1))
            assert skipped > 0, item
            assert item.data == data[consumed : consumed + min(skipped, 256)], item
            consumed += skipped
    assert framer.stream_offset == consumed <= len(data), (framer.stream_offset, consumed)
    assert framer.buffered == len(data) - consumed
    return items


def check_frame(frame: bytes) -> None:
    m = _LENGTH.match(frame)
    assert m is not None, frame
    assert len(frame) == m.end() + int(m.group(1)) + 7, frame
    assert frame[-7:-4] == b"10=" and frame.endswith(b"\x01"), frame
    assert int(frame[-4:-1]) == checksum(frame[:-7]), frame


def TestOneInput(data: bytes) -> None:
    whole = drain(data, 0)
    frames = [item for item in whole if isinstance(item, Frame)]
    # the same stream in small chunks (the size taken from the last byte) cuts the same frames
    chunk = (data[-1] % 13) + 1 if data else 1
    chunked = drain(data, chunk)
    assert [item for item in chunked if isinstance(item, Frame)] == frames
    # a small maximum size: oversize frames are reported, the accounting still holds
    drain(data, 0, max_message_size=64 + (data[0] if data else 0))


if __name__ == "__main__":
    from fuzz_support import run

    run(TestOneInput)

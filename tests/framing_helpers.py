"""What the stream framer's tests share (test_framing.py, test_framing_fuzz.py).

Every framer input goes through ``feed_all``, parametrized over feeding the stream whole, byte by
byte and in random chunk sizes. ``run`` additionally checks that the results tile the consumed
stream exactly (offsets, dropped byte counts, recorded data) and normalizes them so that the
expected results are the same for every chunking: junk that arrives over several feeds may be
reported in several adjacent pieces, which ``normalize`` merges.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Sequence

import pytest

from kalshi_fix_sansio.codec.framing import SOH, Frame, Framer, Garbled

PREFIX = b"8=FIXT.1.1\x01"
CHUNKINGS = ("whole", "bytewise", "random:1", "random:2", "random:3")
SKIPPED = re.compile(r"[:;] (\d+) bytes skipped$")
JUNK = "junk before BeginString"

Item = Frame | Garbled
Norm = tuple[object, ...]


def make_frame(
    body: bytes,
    *,
    begin_string: bytes = b"FIXT.1.1",
    body_length: bytes | None = None,
    checksum_field: bytes | None = None,
) -> bytes:
    """Build a frame around ``body``, computing BodyLength and CheckSum unless overridden."""
    length = str(len(body)).encode() if body_length is None else body_length
    msg = b"8=" + begin_string + b"\x019=" + length + b"\x01" + body
    field = b"%03d" % (sum(msg) % 256) if checksum_field is None else checksum_field
    return msg + b"10=" + field + b"\x01"


def body(seq: int, extra: bytes = b"") -> bytes:
    return b"35=0\x0134=%d\x0149=KALSHI\x0156=CLIENT\x01" % seq + extra


def chunks(data: bytes, chunking: str | Sequence[int]) -> list[bytes]:
    """Split ``data``: "whole", "bytewise", "random:<seed>", or a sequence of cut offsets."""
    if chunking == "whole":
        return [data]
    if chunking == "bytewise":
        return [data[i : i + 1] for i in range(len(data))]
    if isinstance(chunking, str):
        kind, _, seed = chunking.partition(":")
        assert kind == "random"
        rng = random.Random(int(seed))
        out: list[bytes] = []
        i = 0
        while i < len(data):
            size = rng.randint(1, 40)
            out.append(data[i : i + size])
            i += size
        return out
    cuts = [0, *chunking, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(cuts)]


def feed_all(framer: Framer, data: bytes, chunking: str | Sequence[int]) -> list[Item]:
    """Feed ``data`` in the given chunking, draining after every feed; return all results.

    Checks after every feed that memory is bounded and that draining terminates.
    """
    limit = framer._max_message_size
    items: list[Item] = []
    for chunk in chunks(data, chunking):
        framer.feed(chunk)
        held = framer.buffered
        assert held <= limit + len(chunk)
        # Every result consumes at least one byte, so at most `held` results can come out.
        drained = list(itertools.islice(framer, held + 1))
        assert len(drained) <= held
        assert framer.next() is None
        assert framer.buffered <= limit
        items.extend(drained)
    framer.feed(b"")
    assert framer.next() is None
    return items


def skipped(item: Garbled) -> int:
    match = SKIPPED.search(item.reason)
    assert match is not None, item.reason
    return int(match.group(1))


def spans(items: Sequence[Item]) -> list[tuple[Item, int, int]]:
    """Each result with the stream range [start, end) it accounts for."""
    out = []
    for item in items:
        size = len(item.data) if isinstance(item, Frame) else skipped(item)
        out.append((item, item.offset, item.offset + size))
    return out


def check_tiling(stream: bytes, items: Sequence[Item], framer: Framer) -> None:
    """The results account for every consumed byte exactly once, in order."""
    prefix = framer._prefix
    pos = 0
    for item, start, end in spans(items):
        assert start == pos
        assert end > start
        if isinstance(item, Frame):
            data = item.data
            assert stream[start:end] == data
            assert data.startswith(prefix + b"9=")
            header_end = data.index(SOH, len(prefix)) + 1
            assert int(data[len(prefix) + 2 : header_end - 1]) == len(data) - header_end - 7
            assert data[-7:-4] == b"10=" and data.endswith(SOH)
            assert sum(data[:-7]) % 256 == int(data[-4:-1])
        else:
            assert item.data == stream[start : start + min(end - start, 256)]
        pos = end
    assert framer.stream_offset == pos
    assert framer.buffered == len(stream) - pos


def normalize(items: Sequence[Item]) -> list[Norm]:
    """Frames as ("frame", offset, data); garbled runs as ("garbled", reason, offset, count).

    A junk record adjacent to a preceding garbled record is merged into it, since where a run of
    dropped bytes is split depends on how the stream was chunked.
    """
    out: list[Norm] = []
    for item in items:
        if isinstance(item, Frame):
            out.append(("frame", item.offset, item.data))
            continue
        count = skipped(item)
        reason = SKIPPED.sub("", item.reason)
        prev = out[-1] if out else None
        if (
            reason == JUNK
            and prev is not None
            and prev[0] == "garbled"
            and prev[2] + prev[3] == item.offset  # type: ignore[operator]
        ):
            out[-1] = ("garbled", prev[1], prev[2], prev[3] + count)  # type: ignore[operator]
        else:
            out.append(("garbled", reason, item.offset, count))
    return out


def run(
    stream: bytes, chunking: str | Sequence[int], **kwargs: object
) -> tuple[list[Norm], Framer, list[Item]]:
    framer = Framer(**kwargs)  # type: ignore[arg-type]
    items = feed_all(framer, stream, chunking)
    check_tiling(stream, items, framer)
    return normalize(items), framer, items


def frames_at(*parts: bytes) -> tuple[bytes, list[int]]:
    """Concatenate parts; return the stream and each part's offset."""
    offsets = list(itertools.accumulate((len(p) for p in parts), initial=0))[:-1]
    return b"".join(parts), offsets


chunking_param = pytest.mark.parametrize("chunking", CHUNKINGS)

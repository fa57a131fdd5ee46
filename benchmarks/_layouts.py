"""Frames of many distinct tag layouts: what the layout cache is measured (and tested) with.

`bench_read.py`'s rows "1,500 distinct layouts" and "more distinct layouts than a codec
remembers" read frames whose tag layouts are all different, over and over: as many as a codec
holds, and more than a codec bounded at 512 remembers (`_decode.LayoutCache`). They are made
from a corpus's frames by putting a subset of the header's optional fields (`OPTIONAL_HEADER`:
any message of the dialect may carry them, so every frame stays clean) after MsgType: each
subset is a new tag layout of the same message, with the same values. `own_codec`, `storm`
and `first_seen` are what its rows "after other layouts" are made with.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import combinations
from typing import Any

from kalshi_fix_sansio import Header
from kalshi_fix_sansio.codec._decode import Codec
from kalshi_fix_sansio.codec._generated.prediction import (  # its codec and the tables to make one
    _CLASSES,
    _CODEC,
    _DATA_TAGS,
    _RFQ_CLASSES,
)
from kalshi_fix_sansio.codec._values import ValueCaches

#: Optional header fields, each with a value of its type: 2 ** 10 subsets, as many layouts of
#: each frame.
OPTIONAL_HEADER = (
    b"50=desk",
    b"57=ops",
    b"115=on-behalf",
    b"128=deliver",
    b"142=us-east",
    b"143=us-west",
    b"43=N",
    b"97=N",
    b"122=20261120-14:29:59.875",
    b"1128=9",
)


def reframed(fields: list[bytes]) -> bytes:
    """A frame of ``fields`` (from 35 on, without CheckSum): BodyLength and CheckSum written."""
    body = b"\x01".join(fields) + b"\x01"
    head = b"8=FIXT.1.1\x019=%d\x01" % len(body)
    frame = head + body
    return frame + b"10=%03d\x01" % (sum(frame) % 256)


def with_header_fields(frame: bytes, extra: tuple[bytes, ...]) -> bytes:
    """``frame`` with the fields ``extra`` put right after MsgType (35)."""
    fields = frame.split(b"\x01")[:-1]
    return reframed([fields[2], *extra, *fields[3:-1]])


def distinct_frames(frames: list[bytes], n: int, seed: int = 7) -> list[bytes]:
    """``n`` frames of ``n`` distinct tag layouts made from ``frames`` (each with a subset of
    `OPTIONAL_HEADER`, the smaller subsets first), in an order shuffled with ``seed``.

    Raises:
        ValueError: ``frames`` cannot make that many (``len(frames) * 1024`` at most).
    """
    out: list[bytes] = []
    for k in range(len(OPTIONAL_HEADER) + 1):
        for extra in combinations(OPTIONAL_HEADER, k):
            out += [with_header_fields(f, extra) for f in frames[: n - len(out)]]
            if len(out) == n:
                random.Random(seed).shuffle(out)
                return out
    raise ValueError(f"{len(frames)} frames make at most {len(out)} distinct layouts, not {n}")


def own_codec(max_layouts: int | None = None) -> Codec:
    """A prediction codec of its own: the dialect's tables and bounds (``max_layouts``: that
    bound instead), fresh caches; the dialect's own codec is left as it was."""
    bound = _CODEC.layouts.bound if max_layouts is None else max_layouts
    return Codec(
        _CLASSES,
        _DATA_TAGS,
        _RFQ_CLASSES,
        header=Header,
        spec_tags=_CODEC._spec_tags,
        values=ValueCaches(),
        max_layouts=bound,
    )


def storm(codec: Codec, frames: list[bytes], n: int, seed: int = 5) -> list[bytes]:
    """What a process met before (a snapshot storm, a catch-up, a replay): ``n`` frames of as
    many layouts, none of ``frames``' own, each decoded and read whole twice by ``codec`` (so
    each was read since it was remembered). Returns them."""
    own = set(frames)
    met = [f for f in distinct_frames(frames, n + len(frames), seed) if f not in own][:n]
    for frame in met:
        for _ in range(2):
            codec.decode(frame).to_dict()
    return met


def first_seen(codec: Codec, frames: list[bytes], passes: int) -> int:
    """How many of ``passes`` passes over ``frames`` the codec read as first seen (no layout
    remembered)."""
    misses = 0
    for _ in range(passes):
        for frame in frames:
            src: Any = codec.decode(frame)._src
            misses += src.layout is None
    return misses


Reader = Callable[[Any], None]  # reads every field of a decoded message (`bench_read.full_reader`)


def many_layouts(
    fs: list[bytes], n: int, full_reader: Callable[[bytes], Reader], bound: int | None = None
) -> tuple[list[bytes], Callable[[], None]]:
    """``n`` frames of as many distinct layouts made from ``fs``, and a pass reading every field
    of each, in turn, with a prediction codec of its own (`own_codec`), passed over them until
    it settles."""
    many = distinct_frames(fs, n)
    readers = [full_reader(f) for f in many]
    _CODEC.layouts.forget()  # full_reader decodes each: the dialect's codec is left as it was
    decode = own_codec(bound).decode

    def run() -> None:
        for f, read in zip(many, readers, strict=True):
            read(decode(f))

    for _ in range(3):
        run()
    return many, run


def fresh_and_after(
    fs: list[bytes], readers: list[Reader], n: int
) -> tuple[Callable[[], None], Callable[[], None]]:
    """A pass reading every field of ``fs`` with a fresh codec of its own, and the same with a
    codec that met ``n`` other layouts first (`storm`)."""
    fresh, after = own_codec(), own_codec()
    storm(after, fs, n)

    def reader(decode: Callable[[bytes], Any]) -> Callable[[], None]:
        def run() -> None:
            for f, read in zip(fs, readers, strict=True):
                read(decode(f))

        return run

    return reader(fresh.decode), reader(after.decode)


def history_counts(fs: list[bytes], n: int, passes: int = 100) -> tuple[int, int]:
    """Frames of ``fs`` read as first seen in ``passes`` passes: by a fresh codec, and by one
    that met ``n`` other layouts first (machine-independent: the cache's policy alone)."""
    fresh, after = own_codec(), own_codec()
    storm(after, fs, n)
    return first_seen(fresh, fs, passes), first_seen(after, fs, passes)

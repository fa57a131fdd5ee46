"""Frames of many distinct tag layouts: what the layout cache is measured (and tested) with.

`bench_read.py`'s rows "more distinct layouts than the bound" read frames whose tag layouts
are all different, more of them than a codec remembers (`_decode.LayoutCache`), over and over.
They are made from a corpus's frames by putting a subset of the header's optional fields
(`OPTIONAL_HEADER`: any message of the dialect may carry them, so every frame stays clean)
after MsgType: each subset is a new tag layout of the same message, with the same values.
"""

from __future__ import annotations

import random
from itertools import combinations

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

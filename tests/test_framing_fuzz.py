"""Fuzzing the stream framer (kalshi_fix_sansio.codec.framing): arbitrary bytes, damaged frames among
whole ones, bounded memory under junk; and ``next_whole``, the fast path without Frame objects,
against ``next``, and ``take_whole`` (a session's read of a chunk that is one frame) against
``feed_whole``. The helpers are in framing_helpers.py.
"""

from __future__ import annotations

import random

from framing_helpers import (
    PREFIX,
    Item,
    Norm,
    body,
    check_tiling,
    chunks,
    feed_all,
    make_frame,
    run,
    spans,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio.codec.framing import SOH, Frame, Framer, Garbled

# -- fuzzing -------------------------------------------------------------------------------------

FUZZ_MAX = 2048
SENTINEL = make_frame(b"35=0\x0134=999999\x0158=sentinel\x01")
FLUSH = b"\x00" * (FUZZ_MAX + 64)  # longer than any pending claim

FRAGMENTS = [
    PREFIX,
    b"8=",
    b"8=FIXT.1",
    b"9=",
    b"10=",
    b"10=000\x01",
    SOH,
    b"=",
    PREFIX + b"9=5\x01",
    PREFIX + b"9=40\x01",
    PREFIX + b"9=99999999999\x01",
    b"8=FIX.4.4\x01",
    make_frame(body(7)),
    make_frame(body(8), checksum_field=b"000"),
]

values = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:",
    min_size=1,
    max_size=12,
)
bodies = st.lists(st.tuples(st.integers(11, 999), values), min_size=1, max_size=8).map(
    lambda fields: b"".join(b"%d=%s\x01" % (tag, v.encode()) for tag, v in fields)
)
damages = st.one_of(
    st.none(),
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6)),
)
junks = st.one_of(
    st.just(b""),
    st.binary(max_size=24),
    st.lists(st.one_of(st.binary(max_size=6), st.sampled_from(FRAGMENTS)), max_size=4).map(
        b"".join
    ),
)
segments = st.lists(st.tuples(junks, bodies, damages), max_size=8)


def run_all_chunkings(stream: bytes, seed: int) -> tuple[list[Norm], list[Item]]:
    """Feed whole, byte by byte and in random chunks; all must agree. Returns the whole run."""
    whole, framer, items = run(stream, "whole", max_message_size=FUZZ_MAX)
    for chunking in ("bytewise", f"random:{seed}"):
        got, other, _ = run(stream, chunking, max_message_size=FUZZ_MAX)
        assert got == whole
        assert other.stream_offset == framer.stream_offset
    assert items[-1] == Frame(SENTINEL, len(stream) - len(SENTINEL))
    assert framer.buffered == 0
    return whole, items


@given(
    st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(FRAGMENTS)), max_size=12),
    st.integers(0, 2**32),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_arbitrary_bytes(pieces: list[bytes], seed: int) -> None:
    # The flush resolves any pending claim (no stuck state); the sentinel must come out.
    run_all_chunkings(b"".join(pieces) + FLUSH + SENTINEL, seed)


@given(segments, st.integers(0, 2**32))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_damaged_frames_recover_untouched_ones(
    segs: list[tuple[bytes, bytes, tuple[object, ...] | None]], seed: int
) -> None:
    parts: list[bytes] = []
    untouched: list[tuple[int, bytes]] = []
    pos = 0
    for junk, frame_body, damage in segs:
        frame = make_frame(frame_body)
        if damage is None:
            untouched.append((pos + len(junk), frame))
        elif damage[0] == "flip":
            index, bit = damage[1], damage[2]
            assert isinstance(index, int) and isinstance(bit, int)
            mutable = bytearray(frame)
            mutable[index % len(frame)] ^= 1 << bit
            frame = bytes(mutable)
        else:
            cut = damage[1]
            assert isinstance(cut, int)
            frame = frame[: cut % len(frame)]
        parts += [junk, frame]
        pos += len(junk) + len(frame)
    stream = b"".join(parts) + FLUSH + SENTINEL
    _, items = run_all_chunkings(stream, seed)
    delivered = {(i.offset, i.data) for i in items if isinstance(i, Frame)}
    for offset, frame in untouched:
        if (offset, frame) in delivered:
            continue
        # Only a region taken as one whole frame (BodyLength landing exactly on some "10="
        # trailer) can hide a frame start: a Frame passing the checksum by chance, or one
        # skipped exactly for a bad checksum. Every other drop stops at the next BeginString.
        assert any(
            start < offset < end
            and (isinstance(item, Frame) or item.reason.startswith("CheckSum(10) is "))
            for item, start, end in spans(items)
        ), (offset, frame)


@given(st.binary(max_size=300), st.integers(1, 64), st.integers(0, 2**32))
@settings(max_examples=100, deadline=None)
def test_fuzz_memory_stays_bounded_under_junk(junk: bytes, size: int, seed: int) -> None:
    framer = Framer(max_message_size=FUZZ_MAX)
    stream = (junk + PREFIX + b"9=2000\x01" + junk) * 5 + FLUSH + SENTINEL
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(stream)), min(size, len(stream) - 1)))
    items = feed_all(framer, stream, cuts)  # asserts the bound after every feed
    check_tiling(stream, items, framer)
    assert items[-1] == Frame(SENTINEL, len(stream) - len(SENTINEL))


# -- next_whole: the fast path without Frame objects ------------------------------------------


def test_next_whole_takes_whole_frames_and_leaves_the_rest_to_next() -> None:
    one, two = make_frame(body(1)), make_frame(body(2))
    framer = Framer()
    framer.feed(one + two[:20])
    assert framer.next_whole() == one
    assert framer.next_whole() is None  # partial: more data needed
    assert framer.next() is None  # the state machine now holds the partial frame
    framer.feed(two[20:-3])
    assert framer.next_whole() is None
    assert framer.next() is None
    framer.feed(two[-3:])
    assert framer.next_whole() == two  # completed by a later feed: still taken whole
    assert framer.stream_offset == len(one) + len(two) and framer.buffered == 0
    framer.feed(b"junk" + one)
    assert framer.next_whole() is None  # not a frame start: next() reports it
    garbled = framer.next()
    assert isinstance(garbled, Garbled) and garbled.offset == len(one) + len(two)
    assert framer.next_whole() == one


def test_next_whole_leaves_defects_to_next_which_names_them() -> None:
    bad = make_frame(body(1), checksum_field=b"000")
    good = make_frame(body(2))
    framer = Framer()
    framer.feed(bad + good)
    assert framer.next_whole() is None
    garbled = framer.next()
    assert isinstance(garbled, Garbled) and garbled.reason.startswith("CheckSum(10) is 000")
    assert framer.next_whole() == good


def drain_mixed(framer: Framer, rng: random.Random) -> list[Item]:
    """Drain as the session does: next_whole() first (randomly skipped), then next()."""
    out: list[Item] = []
    while True:
        if rng.random() < 0.7:
            offset = framer.stream_offset
            data = framer.next_whole()
            if data is not None:
                out.append(Frame(data, offset))
                continue
        item = framer.next()
        if item is None:
            return out
        out.append(item)


@given(segments, st.integers(0, 2**32))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_next_whole_mixed_with_next_gives_the_same_results(
    segs: list[tuple[bytes, bytes, tuple[object, ...] | None]], seed: int
) -> None:
    parts = []
    for junk, frame_body, damage in segs:
        frame = make_frame(frame_body)
        if damage is not None:  # a wrong CheckSum: next_whole() declines, next() reports it
            frame = frame[:-4] + b"%03d\x01" % ((int(frame[-4:-1]) + 1) % 256)
        parts += [junk, frame]
    stream = b"".join(parts) + FLUSH + SENTINEL
    rng = random.Random(seed)
    for chunking in ("whole", "bytewise", f"random:{seed}"):
        expected = feed_all(Framer(max_message_size=FUZZ_MAX), stream, chunking)
        framer = Framer(max_message_size=FUZZ_MAX)
        got: list[Item] = []
        for chunk in chunks(stream, chunking):
            roll = rng.random()
            if roll < 0.25:  # take_whole, else feed_whole (a session's read)
                offset = framer.stream_offset
                if framer.take_whole(chunk):
                    got.append(Frame(chunk, offset))
                    continue
                data = framer.feed_whole(chunk)
                if data is not None:
                    got.append(Frame(data, offset))
            elif roll < 0.5:  # feed_whole: feed, then next_whole (a reader's one call)
                offset = framer.stream_offset
                data = framer.feed_whole(chunk)
                if data is not None:
                    got.append(Frame(data, offset))
            else:
                framer.feed(chunk)
            got.extend(drain_mixed(framer, rng))
        assert got == expected


def test_a_head_seen_before_reads_as_the_pattern_reads_it() -> None:
    """``next_whole`` remembers the size a three-digit BodyLength's head gives (the head's
    bytes, as the pattern matched them): a later frame with the same head whose body is not that
    long is declined and reported by ``next`` as a fresh framer reports it; ``feed_whole`` is
    ``feed`` then ``next_whole``."""
    one = make_frame(body(1, b"58=" + b"x" * 120 + b"\x01"))
    assert b"\x019=1" in one[:16] and one[16:17] == SOH  # a three-digit BodyLength
    short = one[:40] + one[41:]  # the same head, a body a byte short
    stream = one + short + one
    fresh = feed_all(Framer(), stream, "whole")
    framer = Framer()
    assert framer.feed_whole(one) is one  # nothing buffered, one whole frame: the chunk itself
    assert framer.feed_whole(short) is None  # the remembered size: not this frame's
    assert framer.feed_whole(one) is None  # after the short one's bytes: not one frame
    got: list[Item] = [Frame(one, 0)]
    while (item := framer.next()) is not None:
        got.append(item)
    assert got == fresh
    assert isinstance(got[1], Garbled) and got[-1] == Frame(one, len(one) + len(short))
    assert framer.feed_whole(bytearray(one)) == one  # a bytearray: fed (copied), then taken
    assert framer.feed_whole(b"") is None and framer.buffered == 0


def _state(framer: Framer) -> tuple[object, ...]:
    return (framer.stream_offset, framer.buffered, framer._work, framer._state)


@given(segments, st.integers(0, 2**32))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_take_whole_is_feed_whole_returning_the_chunk(
    segs: list[tuple[bytes, bytes, tuple[object, ...] | None]], seed: int
) -> None:
    """``take_whole`` is True only when ``feed_whole`` would return the chunk itself, and
    leaves the framer as ``feed_whole`` leaves it then; False: nothing done (``feed_whole``
    follows, as in a session's read), and a head seen before and sound is taken. Each chunk is a
    frame (damaged or not, cut or whole, with junk or a second frame about it), fed to two
    framers that saw the same bytes. (It reads the framer's private ``_work``, ``_state``,
    ``_sizes`` and ``_head_len``.)"""
    rng = random.Random(seed)
    one, two = Framer(max_message_size=FUZZ_MAX), Framer(max_message_size=FUZZ_MAX)
    start = one._state  # not in a frame, not resynchronising
    for junk, frame_body, damage in segs:
        frame = make_frame(frame_body)
        kind = rng.randrange(6)
        if damage is not None and kind == 0:  # a wrong CheckSum
            frame = frame[:-4] + b"%03d\x01" % ((int(frame[-4:-1]) + 1) % 256)
        elif kind == 1:  # a byte short: the same head, another size
            frame = frame[:-9] + frame[-8:]
        elif kind == 2:
            frame = junk + frame
        elif kind == 3:
            frame = frame + frame
        pieces = [frame[: len(frame) // 2], frame[len(frame) // 2 :]] if kind == 4 else [frame]
        for chunk in pieces:
            if not chunk:
                continue
            for _ in range(2):  # the second time, its head (if sound) is one seen before
                before = _state(one)
                seen = chunk[: one._head_len] in one._sizes  # its head read by `next_whole`
                took = one.take_whole(chunk)
                if not took:  # nothing done: the session feeds it
                    assert _state(one) == before
                    got = one.feed_whole(chunk)
                data = two.feed_whole(chunk)
                if took:
                    assert data is chunk
                else:
                    assert got == data
                assert _state(one) == _state(two)
                if kind == 5 and seen and before[1] == 0 and before[3] == start:
                    assert took  # whole and sound, nothing buffered: taken
                while one.next() is not None:  # the rest, drained alike
                    pass
                while two.next() is not None:
                    pass
                assert _state(one) == _state(two)


def test_take_whole_takes_a_sound_frame_whose_head_was_seen() -> None:
    """A frame's first read teaches the framer its head (``feed_whole``); the next frame with
    that head is taken by ``take_whole``, at the offset ``feed_whole`` would give it; a wrong
    CheckSum, a byte short, a frame fed after a cut one: declined, nothing done."""
    one = make_frame(body(1, b"58=" + b"x" * 120 + b"\x01"))
    bad = one[:-4] + b"%03d\x01" % ((int(one[-4:-1]) + 1) % 256)
    framer = Framer()
    assert not framer.take_whole(one)  # a head not seen yet
    assert framer.feed_whole(one) is one
    assert framer.take_whole(one) and framer.stream_offset == 2 * len(one)
    assert not framer.take_whole(bad) and framer.stream_offset == 2 * len(one)
    assert not framer.take_whole(one[:40] + one[41:])
    framer.feed(one[:20])
    assert not framer.take_whole(one) and framer.buffered == 20

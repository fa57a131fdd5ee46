"""Tests for the stream framer (kalshi_fix_sansio.codec.framing): valid frames, damaged input, the
checksum, the API's details and linear cost, each input fed whole, byte by byte and in random
chunks (framing_helpers.py: ``feed_all``, ``run``). Fuzzing is in test_framing_fuzz.py.
"""

from __future__ import annotations

import random
from array import array

import pytest
from framing_helpers import (
    CHUNKINGS,
    JUNK,
    PREFIX,
    body,
    check_tiling,
    chunking_param,
    chunks,
    feed_all,
    frames_at,
    make_frame,
    normalize,
    run,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio.codec.framing import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Frame,
    Framer,
    Garbled,
    checksum,
)

# -- valid frames --------------------------------------------------------------------------------


@chunking_param
def test_single_frame(chunking: str) -> None:
    frame = make_frame(body(1))
    got, framer, _ = run(frame, chunking)
    assert got == [("frame", 0, frame)]
    assert framer.buffered == 0
    assert framer.stream_offset == len(frame)


@chunking_param
def test_several_frames_in_one_stream(chunking: str) -> None:
    parts = [make_frame(body(i, b"58=" + b"x" * i + b"\x01")) for i in range(1, 30)]
    stream, offsets = frames_at(*parts)
    got, framer, _ = run(stream, chunking)
    assert got == [("frame", o, p) for o, p in zip(offsets, parts, strict=True)]
    assert framer.buffered == 0


def test_frames_split_at_every_byte_boundary() -> None:
    parts = [make_frame(body(1)), make_frame(body(2, b"58=hello\x01")), make_frame(body(3))]
    stream, offsets = frames_at(*parts)
    expected = [("frame", o, p) for o, p in zip(offsets, parts, strict=True)]
    for chunking in CHUNKINGS:
        assert run(stream, chunking)[0] == expected
    for cut in range(1, len(stream)):
        assert run(stream, (cut,))[0] == expected, cut
        assert run(stream, (cut // 2, cut))[0] == expected, cut


@chunking_param
def test_body_with_soh_equals_and_fake_trailer_is_framed_by_length(chunking: str) -> None:
    raw = b"a=b\x01c\x0110=123\x01" + PREFIX + b"9=5\x0135=0\x0110=241\x01=="
    frame = make_frame(b"35=B\x0195=%d\x0196=" % len(raw) + raw + b"\x01")
    other = make_frame(body(2))
    stream, offsets = frames_at(frame, other)
    got, _, _ = run(stream, chunking)
    assert got == [("frame", offsets[0], frame), ("frame", offsets[1], other)]


@chunking_param
def test_custom_begin_string(chunking: str) -> None:
    old = make_frame(body(1), begin_string=b"FIX.4.4")
    new = make_frame(body(2))
    stream, offsets = frames_at(old, new, old)
    got, _, _ = run(stream, chunking, begin_string=b"FIX.4.4")
    assert got == [
        ("frame", offsets[0], old),
        ("garbled", "BeginString(8) is 'FIXT.1.1', expected 'FIX.4.4'", offsets[1], len(new)),
        ("frame", offsets[2], old),
    ]


@chunking_param
def test_frame_exactly_at_max_message_size_is_accepted(chunking: str) -> None:
    frame = make_frame(body(1, b"58=" + b"y" * 100 + b"\x01"))
    got, _, _ = run(frame, chunking, max_message_size=len(frame))
    assert got == [("frame", 0, frame)]
    got, _, _ = run(frame, chunking, max_message_size=len(frame) - 1)
    assert got == [
        (
            "garbled",
            f"frame of {len(frame)} bytes exceeds max_message_size {len(frame) - 1}",
            0,
            len(frame),
        )
    ]


# -- damaged input -------------------------------------------------------------------------------


@chunking_param
def test_bad_checksum_skips_exactly_that_frame(chunking: str) -> None:
    good = make_frame(body(1))
    right = sum(good[:-7]) % 256
    wrong = (right + 1) % 256
    bad = make_frame(body(1), checksum_field=b"%03d" % wrong)
    after = make_frame(body(2))
    stream, offsets = frames_at(good, bad, after)
    got, _, items = run(stream, chunking)
    assert got == [
        ("frame", offsets[0], good),
        ("garbled", f"CheckSum(10) is {wrong:03d}, computed {right:03d}", offsets[1], len(bad)),
        ("frame", offsets[2], after),
    ]
    assert [type(i) for i in items] == [Frame, Garbled, Frame]


@chunking_param
def test_bad_checksum_skips_embedded_frame_start_too(chunking: str) -> None:
    inner = make_frame(body(5))
    bad = make_frame(b"35=B\x0195=%d\x0196=" % len(inner) + inner + b"\x01", checksum_field=b"999")
    after = make_frame(body(2))
    got, _, _ = run(bad + after, chunking)
    assert len(got) == 2
    assert got[0][::2] == ("garbled", 0) and got[0][3] == len(bad)
    assert str(got[0][1]).startswith("CheckSum(10) is 999, computed ")
    assert got[1] == ("frame", len(bad), after)


@chunking_param
def test_bad_checksum_of_a_large_frame_records_only_256_bytes(chunking: str) -> None:
    bad = make_frame(body(1, b"58=" + b"z" * 1000 + b"\x01"), checksum_field=b"999")
    after = make_frame(body(2))
    got, _, items = run(bad + after, chunking)
    assert got[0][0] == "garbled" and got[0][3] == len(bad)
    assert str(got[0][1]).startswith("CheckSum(10) is 999, computed ")
    assert items[0].data == bad[:256]
    assert got[1] == ("frame", len(bad), after)


@chunking_param
def test_wrong_begin_string_resyncs(chunking: str) -> None:
    bad = make_frame(body(1), begin_string=b"FIX.4.4")
    good = make_frame(body(2))
    stream, offsets = frames_at(bad, good)
    got, _, items = run(stream, chunking)
    assert got == [
        ("garbled", "BeginString(8) is 'FIX.4.4', expected 'FIXT.1.1'", 0, len(bad)),
        ("frame", offsets[1], good),
    ]
    if chunking == "whole":
        assert len(items) == 2


@chunking_param
@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        (
            b"8=" + b"Q" * 40,
            f"BeginString(8) is {'Q' * 32!r}... (no SOH within 32 bytes), expected 'FIXT.1.1'",
        ),
        (PREFIX + b"9=" + b"1" * 30, f"BodyLength(9) has no SOH within 20 digits: {b'1' * 20!r}"),
    ],
    ids=["begin_string", "body_length"],
)
def test_a_field_without_soh_within_its_limit(chunking: str, stream: bytes, reason: str) -> None:
    got, framer, _ = run(stream, chunking)
    assert got == [("garbled", reason, 0, len(stream))]
    assert framer.buffered == 0


@chunking_param
def test_junk_before_between_and_after_frames(chunking: str) -> None:
    junk1 = b"\x00\xffnot fix at all!"  # 17 bytes
    junk2 = b"xx8=FIX 8=FIXT.1.1 9=12\x01"
    junk3 = b"trailing garbage"
    f1, f2 = make_frame(body(1)), make_frame(body(2))
    stream, offsets = frames_at(junk1, f1, junk2, f2, junk3)
    got, framer, items = run(stream, chunking)
    assert got == [
        ("garbled", JUNK, 0, 17),
        ("frame", offsets[1], f1),
        ("garbled", JUNK, offsets[2], len(junk2)),
        ("frame", offsets[3], f2),
        ("garbled", JUNK, offsets[4], len(junk3)),
    ]
    assert framer.buffered == 0
    if chunking == "whole":
        assert items[0] == Garbled(f"{JUNK}: 17 bytes skipped", 0, junk1)
        assert len(items) == 5


@chunking_param
def test_partial_begin_string_at_end_of_junk_is_kept(chunking: str) -> None:
    frame = make_frame(body(1))
    stream = b"xyz" + frame
    framer = Framer()
    cut = 3 + 7  # b"xyz8=FIXT"
    items = feed_all(framer, stream[:cut], chunking)
    assert normalize(items) == [("garbled", JUNK, 0, 3)]
    assert framer.buffered == 7
    assert framer.stream_offset == 3
    items += feed_all(framer, stream[cut:], chunking)
    check_tiling(stream, items, framer)
    assert normalize(items) == [("garbled", JUNK, 0, 3), ("frame", 3, frame)]


@pytest.mark.parametrize(
    ("length", "shown"),
    [
        (b"12x", b"12x"),
        (b"+12", b"+12"),
        (b"-12", b"-12"),
        (b"", b""),
        (b"1 2", b"1 2"),
        (b"\xd9\xa3", b"\xd9\xa3"),  # U+0663, a non-ASCII digit
    ],
)
@chunking_param
def test_non_numeric_body_length(chunking: str, length: bytes, shown: bytes) -> None:
    bad = make_frame(body(1), body_length=length)
    good = make_frame(body(2))
    stream, offsets = frames_at(bad, good)
    got, _, _ = run(stream, chunking)
    assert got == [
        ("garbled", f"BodyLength(9) is not a number: {shown!r}", 0, len(bad)),
        ("frame", offsets[1], good),
    ]


@chunking_param
def test_missing_body_length(chunking: str) -> None:
    bad = PREFIX + b"35=0\x0134=1\x0110=000\x01"
    good = make_frame(body(2))
    stream, offsets = frames_at(bad, good)
    got, _, _ = run(stream, chunking)
    assert got == [
        (
            "garbled",
            "BodyLength(9) missing: second field starts with b'35', expected b'9='",
            0,
            len(bad),
        ),
        ("frame", offsets[1], good),
    ]


@chunking_param
def test_absurd_body_length_is_reported_without_waiting_for_the_body(chunking: str) -> None:
    header = PREFIX + b"9=99999999999\x01"
    got, framer, _ = run(header, chunking)
    assert got == [
        (
            "garbled",
            f"frame of {len(header) + 99999999999 + 7} bytes exceeds max_message_size "
            f"{DEFAULT_MAX_MESSAGE_SIZE}",
            0,
            len(header),
        )
    ]
    assert framer.buffered == 0
    # The rest of the stream resynchronises on the next frame.
    good = make_frame(body(2))
    got, _, _ = run(header + b"35=0\x01" * 3 + good, chunking)
    assert got[1:] == [("frame", len(header) + 15, good)]
    assert got[0][3] == len(header) + 15


@chunking_param
def test_body_length_too_short_is_not_followed_by_checksum(chunking: str) -> None:
    b = body(1)
    bad = make_frame(b, body_length=str(len(b) - 1).encode())
    good = make_frame(body(2))
    stream, offsets = frames_at(bad, good)
    got, _, _ = run(stream, chunking)
    assert got == [
        (
            "garbled",
            f"BodyLength(9) says {len(b) - 1} but the body is not followed by CheckSum(10)",
            0,
            len(bad),
        ),
        ("frame", offsets[1], good),
    ]


@chunking_param
def test_body_length_too_long_swallowing_next_frame_start_resyncs_inside(chunking: str) -> None:
    b = body(1)
    bad = make_frame(b, body_length=str(len(b) + 30).encode())
    good1, good2 = make_frame(body(2)), make_frame(body(3))
    stream, offsets = frames_at(bad, good1, good2)
    got, _, _ = run(stream, chunking)
    assert got == [
        (
            "garbled",
            f"BodyLength(9) says {len(b) + 30} but the body is not followed by CheckSum(10)",
            0,
            len(bad),
        ),
        ("frame", offsets[1], good1),
        ("frame", offsets[2], good2),
    ]


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        (b"1a3", "CheckSum(10) is not three digits: b'1a'"),
        (b"12\x01", "CheckSum(10) is not three digits: b'12\\x01'"),
        (b"-12", "CheckSum(10) is not three digits: b'-'"),
        (b"1234", "CheckSum(10) is not terminated by SOH: b'1234'"),
    ],
)
@chunking_param
def test_malformed_checksum_field(chunking: str, field: bytes, reason: str) -> None:
    bad = make_frame(body(1), checksum_field=field)
    good = make_frame(body(2))
    stream, offsets = frames_at(bad, good)
    got, _, _ = run(stream, chunking)
    assert got == [("garbled", reason, 0, offsets[1]), ("frame", offsets[1], good)]


@chunking_param
def test_truncated_final_frame_needs_data_and_is_not_garbled(chunking: str) -> None:
    first = make_frame(body(1))
    last = make_frame(body(2, b"58=" + b"w" * 40 + b"\x01"))
    for keep in range(len(last)):
        stream = first + last[:keep]
        got, framer, _ = run(stream, chunking)
        assert got == [("frame", 0, first)], keep
        assert framer.next() is None
        assert framer.buffered == keep
        assert framer.stream_offset == len(first)


# -- checksum ------------------------------------------------------------------------------------


@given(
    st.one_of(
        st.binary(max_size=3000),
        st.binary(max_size=3000).map(
            lambda b: bytes(x & 0x7F for x in b)
        ),  # ASCII: 515-byte chunks
        st.integers(0, 70_000).map(lambda n: b"\xff" * n),
    )
)
@settings(max_examples=300, deadline=None)
def test_checksum_matches_sum(data: bytes) -> None:
    expected = sum(data) % 256
    assert checksum(data) == expected
    assert checksum(bytearray(data)) == expected
    assert checksum(memoryview(data)) == expected
    assert checksum(memoryview(b"..." + data)[3:]) == expected


@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 511, 512, 513, 65_536, 1_000_003])
def test_checksum_boundaries(n: int) -> None:
    data = random.Random(n).randbytes(n)
    assert checksum(data) == sum(data) % 256
    assert checksum(b"\xff" * n) == (255 * n) % 256


def test_checksum_of_wide_memoryview_sums_raw_bytes() -> None:
    words = array("H", [0xFFFF, 0x0102, 0x7F80] * 200)
    assert checksum(memoryview(words)) == sum(words.tobytes()) % 256


# -- API details ---------------------------------------------------------------------------------


def test_empty_feed_and_empty_framer() -> None:
    framer = Framer()
    assert framer.next() is None
    assert list(framer) == []
    framer.feed(b"")
    framer.feed(bytearray())
    framer.feed(memoryview(b""))
    assert (framer.buffered, framer.stream_offset) == (0, 0)
    assert framer.next() is None


@chunking_param
def test_feed_accepts_bytearray_and_memoryview(chunking: str) -> None:
    frame = make_frame(body(1))
    framer = Framer()
    for chunk in chunks(frame, chunking):
        framer.feed(bytearray(chunk))
        framer.feed(memoryview(b""))
    assert list(framer) == [Frame(frame, 0)]
    framer = Framer()
    source = bytearray(frame)
    view = memoryview(source)
    start = 0
    for chunk in chunks(frame, chunking):
        framer.feed(view[start : start + len(chunk)])
        start += len(chunk)
    view.release()
    source[:] = b"x" * len(source)  # the framer copied the data
    assert list(framer) == [Frame(frame, 0)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_message_size": 10},
        {"begin_string": b""},
        {"begin_string": b"FIX\x014"},
        {"begin_string": b"A=B"},
        {"begin_string": b"F" * 33},
    ],
)
def test_invalid_constructor_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Framer(**kwargs)  # type: ignore[arg-type]


# -- linear cost ---------------------------------------------------------------------------------


@pytest.mark.parametrize("chunking", ["whole", "bytewise", "random:5", "per-frame"])
def test_ten_thousand_frames_cost_linear_work(chunking: str) -> None:
    parts = [make_frame(b"35=0\x0134=%d\x01" % i) for i in range(10_000)]
    stream, offsets = frames_at(*parts)
    cuts: str | list[int] = offsets[1:] if chunking == "per-frame" else chunking
    framer = Framer()
    items = feed_all(framer, stream, cuts)
    assert len(items) == 10_000
    assert all(isinstance(i, Frame) for i in items)
    assert [i.offset for i in items] == offsets
    assert framer.buffered == 0
    assert len(framer._buf) == 0
    # Copies (frames out), compaction moves and scans stay proportional to the stream: an O(n)
    # copy per frame from a 10,000-frame buffer would be ~5,000x the stream size here.
    assert framer._work <= 3 * len(stream)


@pytest.mark.parametrize("chunking", ["bytewise", "random:7"])
def test_one_large_frame_fed_in_small_pieces_costs_linear_work(chunking: str) -> None:
    """One frame of 100 KB fed a byte (or a few) at a time: each feed's work stays bounded by
    what it brought, not by the part of the frame buffered before it (a copy of the buffer per
    feed would be ~50,000x the frame here)."""
    data = make_frame(b"35=B\x0158=" + b"x" * 100_000 + b"\x01")
    framer = Framer()
    (item,) = feed_all(framer, data, chunking)
    assert isinstance(item, Frame) and item.data == data
    assert framer._work <= 3 * len(data)


@chunking_param
def test_compaction_leaves_nothing_buffered(chunking: str) -> None:
    parts = [make_frame(body(i)) for i in range(4)]
    stream, _ = frames_at(*parts)
    _, framer, _ = run(stream, chunking)
    assert framer.buffered == 0
    assert len(framer._buf) == 0
    assert framer.stream_offset == len(stream)


def test_compaction_happens_once_read_position_passes_half() -> None:
    parts = [make_frame(body(i)) for i in range(4)]
    stream, offsets = frames_at(*parts)
    for chunking in CHUNKINGS:  # the same stream through feed_all, for every chunking
        run(stream, chunking)
    framer = Framer()
    framer.feed(stream)
    assert framer.next() == Frame(parts[0], 0)
    assert len(framer._buf) == len(stream)  # read position < half: no copy yet
    assert framer.buffered == len(stream) - offsets[1]
    assert framer.next() == Frame(parts[1], offsets[1])
    assert framer.next() == Frame(parts[2], offsets[2])  # past half: compacted
    assert len(framer._buf) == framer.buffered == len(parts[3])
    assert framer.next() == Frame(parts[3], offsets[3])
    assert framer.next() is None
    assert framer.buffered == 0 and len(framer._buf) == 0

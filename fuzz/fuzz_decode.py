"""atheris harness: `decode` of both dialects, strict and tolerant, over arbitrary bytes.

The contract (docs/fuzzing.md, ``tests/test_codec_properties.py``): whatever the bytes,

* strict ``decode`` (with and without ``verify``), then ``validate()`` and every accessor, raise
  nothing but `DecodeError`, whose ``raw`` is the frame given;
* tolerant ``decode`` raises nothing but `DecodeError` (a frame that cannot be split into
  fields or does not start with 8, 9, 35); after ``check()`` no accessor raises;
* a message that decoded and validated re-encodes (or refuses with `EncodeError`), and what the
  codec encodes decodes and validates again.

Each input is decoded as it is and re-framed (BodyLength and CheckSum computed around the bytes
from ``35=`` on), so that mutations of a frame's body also pass ``verify=True``.

    python fuzz/fuzz_decode.py -max_total_time=28800 corpus/decode seeds/decode
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from kalshi_fix_sansio import DecodeError, EncodeError, checksum, margin, prediction

DIALECTS: tuple[ModuleType, ...] = (prediction, margin)
BEGIN = b"8=FIXT.1.1\x01"


def touch(message: Any) -> None:
    """Read everything a caller reads."""
    header = message.header
    _ = (message.extra_fields, message.raw, repr(message), message.to_dict())
    _ = (list(message.items()), repr(header), header.to_dict())


def strict(dialect: ModuleType, frame: bytes, use_dollars: bool, verify: bool, depth: int) -> bool:
    try:
        message = dialect.decode(frame, use_dollars=use_dollars, verify=verify)
        message.validate()
        message.header.validate()
        touch(message)
    except DecodeError as exc:
        assert exc.raw == frame, (exc.raw, frame)
        return False
    try:
        again = dialect.encode(message, message.header, use_dollars=use_dollars)
    except EncodeError:
        return True
    if depth == 0:  # what the codec encodes, it decodes (and validates)
        assert strict(dialect, again, use_dollars, True, 1), again
    return True


def tolerant(dialect: ModuleType, frame: bytes, use_dollars: bool) -> None:
    try:
        message = dialect.decode(frame, use_dollars=use_dollars, tolerant=True)
    except DecodeError as exc:
        assert exc.raw == frame, (exc.raw, frame)
        return
    defects = message.check()
    assert tuple(message.defects) == defects
    touch(message)  # after check() nothing raises
    try:
        dialect.encode(message, message.header, use_dollars=use_dollars)
    except EncodeError:
        pass


def reframed(data: bytes) -> bytes | None:
    """The bytes from the first ``35=`` on in a frame with the right BodyLength and CheckSum."""
    start = data.find(b"35=")
    if start < 0:
        return None
    end = data.rfind(b"\x0110=")
    body = data[start : end + 1] if end > start else data[start:]
    if not body.endswith(b"\x01"):
        body += b"\x01"
    head = BEGIN + b"9=%d\x01" % len(body) + body
    return head + b"10=%03d\x01" % checksum(head)


def TestOneInput(data: bytes) -> None:
    use_dollars = bool(data[-1] & 1) if data else False
    frames = [data]
    fixed = reframed(data)
    if fixed is not None and fixed != data:
        frames.append(fixed)
    for frame in frames:
        for dialect in DIALECTS:
            # verify=True and False agree on a frame whose BodyLength and CheckSum are right
            decoded = strict(dialect, frame, use_dollars, False, 0)
            if frame is fixed:
                assert strict(dialect, frame, use_dollars, True, 0) == decoded, frame
            else:
                strict(dialect, frame, use_dollars, True, 0)
            tolerant(dialect, frame, use_dollars)


if __name__ == "__main__":
    from fuzz_support import run

    run(TestOneInput)

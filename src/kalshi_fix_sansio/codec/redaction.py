"""Finding and hiding secret field values in FIX bytes (the Logon signature above all).

RawData(96) carries the Logon signature; Signature(89), Password(554) and NewPassword(925) are
secrets too. None of them may appear in a log line, a repr, an exception or CLI output. This
module is the one place that finds them in raw bytes: the adapters' message log, `kalshi-fix
decode` and anyone logging frames of their own use it.

RawData and Signature are length-framed by RawDataLength(95) / SignatureLength(93) and may hold
SOH: their value spans the announced number of bytes, extended to the next SOH when the length
is wrong, so no part of it shows. Without a length field the value runs to the next SOH. A
secret tag is found wherever it appears: in any message type, as an unknown or extra field,
inside a repeating group, repeated, or written with leading zeros (``096=``, which a lenient
reader still takes for RawData).
"""

from __future__ import annotations

from typing import Final

__all__ = ["SECRET_TAGS", "mask_secrets", "redact_frame", "secret_spans"]

SECRET_TAGS: Final = frozenset({89, 96, 554, 925})
"""Signature(89), RawData(96), Password(554), NewPassword(925): never shown."""

_SOH: Final = b"\x01"
_SECRET_KEYS: Final = frozenset(str(tag).encode() for tag in SECRET_TAGS)
_MARKERS: Final = tuple(key + b"=" for key in sorted(_SECRET_KEYS))
# length-framed secrets: data tag -> its length tag
_LENGTH_OF: Final = {b"96": b"95", b"89": b"93"}
_LENGTH_KEYS: Final = frozenset(_LENGTH_OF.values())
_MAX_LENGTH_DIGITS: Final = 9


def secret_spans(frame: bytes) -> list[tuple[int, int]]:
    """Where the secret values are.

    Args:
        frame: a frame, or any run of ``tag=value`` fields separated by SOH.

    Returns:
        ``(start, stop)`` byte ranges of each secret value (``frame[start:stop]``), in order.
    """
    if not any(marker in frame for marker in _MARKERS):
        return []
    spans: list[tuple[int, int]] = []
    lengths: dict[bytes, int] = {}
    pos = 0
    n = len(frame)
    while pos < n:
        soh = frame.find(_SOH, pos)
        if soh < 0:
            soh = n
        eq = frame.find(b"=", pos, soh)
        if eq < 0:  # no field here
            pos = soh + 1
            continue
        tag = frame[pos:eq]
        if tag[:1] == b"0" and tag.isdigit():
            tag = tag.lstrip(b"0")
        start = eq + 1
        if tag in _SECRET_KEYS:
            length_tag = _LENGTH_OF.get(tag)
            length = lengths.pop(length_tag, None) if length_tag is not None else None
            stop = frame.find(_SOH, min(start + length, n) if length is not None else start)
            if stop < 0:
                stop = n
            spans.append((start, stop))
            pos = stop + 1
            continue
        if tag in _LENGTH_KEYS:
            value = frame[start:soh]
            if value.isdigit() and len(value) <= _MAX_LENGTH_DIGITS:
                lengths[tag] = int(value)
        pos = soh + 1
    return spans


def redact_frame(frame: bytes) -> bytes:
    """Replace each secret value with ``<redacted N bytes>`` (for logs a person reads).

    Args:
        frame: a frame (or any run of ``tag=value`` fields separated by SOH).

    Returns:
        The bytes with secrets replaced (BodyLength and CheckSum are not adjusted).
    """
    spans = secret_spans(frame)
    if not spans:
        return frame
    out = bytearray()
    pos = 0
    for start, stop in spans:
        out += frame[pos:start] + b"<redacted %d bytes>" % (stop - start)
        pos = stop
    out += frame[pos:]
    return bytes(out)


def mask_secrets(frame: bytes, placeholder: bytes = b"*") -> bytes:
    """Overwrite each secret value byte for byte, keeping every length (BodyLength holds).

    Args:
        frame: a frame (or any run of ``tag=value`` fields separated by SOH).
        placeholder: the single byte written instead of each secret byte (not SOH or ``=``).

    Returns:
        The bytes with secrets masked.

    Raises:
        ValueError: ``placeholder`` is not one byte other than SOH and ``=``.
    """
    if len(placeholder) != 1 or placeholder in (_SOH, b"="):
        raise ValueError(
            f"placeholder must be one byte other than SOH and '=', got {placeholder!r}"
        )
    spans = secret_spans(frame)
    if not spans:
        return frame
    out = bytearray(frame)
    for start, stop in spans:
        out[start:stop] = placeholder * (stop - start)
    return bytes(out)

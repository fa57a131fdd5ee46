"""Reading FIX message logs: frames cut out of any text that holds them, decoded.

What ``kalshi-fix decode`` and ``kalshi-fix replay`` read, and what
`kalshi_fix_sansio.client.restore` rebuilds a session's state from, as a library:

* `scan_stream` cuts the frames out of one input as it reads it, line by line (raw captures,
  doc examples with ``|`` or ``^A`` separators, log lines with text before ``8=``, the adapters'
  message log with its escapes and ``<redacted N bytes>`` values undone), keeping every byte's
  input offset and each frame's `LogPrefix`, and names each part that is not a frame
  (`Problem`); memory holds a line, never the input: a line is at most `MAX_LINE_BYTES`. `scan`
  does the same over bytes held;
* `decode_frame` decodes one `Found` frame tolerantly with a product's codec (`dialect`),
  secrets masked first, and checks it;
* `log_prefix` / `log_prefixes` read the time, direction and session id that the adapters'
  message log writes before each frame (`LogPrefix`) from bytes held.

`kalshi_fix_sansio.client.restore.LogReader` reads logs (bytes, or a file as it goes) into entries
(time, direction, session, message) on top of these.

Examples:
    >>> from kalshi_fix_sansio.observability import messagelog
    >>> log = (
    ...     b"2026-11-22T10:15:00.250000Z IN KalshiNR/my-key 8=FIXT.1.1|9=57|35=0|49=KalshiNR|"
    ...     b"56=my-key|34=7|52=20261122-10:15:00.250|10=114|\\n"
    ... )
    >>> [found] = messagelog.scan(log)
    >>> messagelog.log_prefix(log, found.offset).direction
    'IN'
    >>> msg, defects = messagelog.decode_frame(
    ...     messagelog.dialect("prediction"), found, 1, use_dollars=False, rfq_units="cents"
    ... )
    >>> msg.MSG_TYPE, msg.header.msg_seq_num, defects
    ('0', 7, ())
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import IO, TYPE_CHECKING, Final

from ..codec import MAX_LINE_BYTES
from ._logscan import (
    LOG_PREFIX,
    PLACEHOLDER,
    Found,
    LogPrefix,
    Problem,
    hide_secrets,
    log_prefix_of,
    printable,
    scan_input,
)

if TYPE_CHECKING:
    from ..codec import Defect, Message

__all__ = [
    "MAX_LINE_BYTES",
    "PLACEHOLDER",
    "PRODUCTS",
    "Found",
    "LogPrefix",
    "Problem",
    "decode_frame",
    "dialect",
    "log_prefix",
    "log_prefixes",
    "printable",
    "scan",
    "scan_stream",
]

PRODUCTS: Final = ("margin", "prediction")
"""The products whose logs can be read (the codec dialects)."""


def dialect(product: str) -> ModuleType:
    """The codec module of a product (`kalshi_fix_sansio.codec.prediction` or
    `kalshi_fix_sansio.codec.margin`), imported on first use.

    Raises:
        ValueError: not one of `PRODUCTS`.
    """
    if product == "margin":
        from ..codec import margin

        return margin
    if product == "prediction":
        from ..codec import prediction

        return prediction
    raise ValueError(f"product must be one of {', '.join(PRODUCTS)}, got {product!r}")


def log_prefix(data: bytes, offset: int) -> LogPrefix | None:
    """The message-log prefix of the input line holding byte ``offset`` (a frame's start).

    Args:
        data: the whole input, as given to `scan`.
        offset: an input offset, e.g. a frame's ``offset``.

    Returns:
        The prefix, or None when that line is not a message-log line (`Found.prefix` holds it
        for a frame `scan` or `scan_stream` cut).
    """
    start = max(data.rfind(b"\n", 0, offset), data.rfind(b"\r", 0, offset)) + 1
    return _prefix_at(data, start, offset)


def log_prefixes(data: bytes) -> Callable[[int], LogPrefix | None]:
    """`log_prefix` for frames read front to back (offsets must not decrease): each byte of
    ``data`` is searched for a line end once, however many frames a line holds.

    Args:
        data: the whole input, as given to `scan`.

    Returns:
        offset -> the message-log prefix of its line, or None.
    """
    line_start = searched = 0

    def at(offset: int) -> LogPrefix | None:
        nonlocal line_start, searched
        if offset > searched:
            end = max(data.rfind(b"\n", searched, offset), data.rfind(b"\r", searched, offset))
            if end >= 0:
                line_start = end + 1
            searched = offset
        return _prefix_at(data, line_start, offset)

    return at


def _prefix_at(data: bytes, start: int, offset: int) -> LogPrefix | None:
    """The message-log prefix of the line starting at ``start``, if it ends by ``offset``."""
    m = LOG_PREFIX.match(data, start)
    if m is None or m.end() > offset:
        return None
    return log_prefix_of(m)


def scan_stream(
    stream: IO[bytes], verify: bool = True, *, max_line: int = MAX_LINE_BYTES
) -> Iterator[Found | Problem]:
    """The frames and the unparsable parts of one input, streamed in input order.

    The input is read line by line (a raw stream without line ends in pieces), so that memory
    holds a line, a frame not yet whole (at most 4 MiB) and what is said about them, however
    large the input; reading stops at a line longer than ``max_line`` (a last `Problem` says
    so: ``/dev/zero`` is such a line).

    Args:
        stream: the input: a binary file, pipe or stdin's buffer (``readline`` is called on it),
            holding what `scan` reads.
        verify: as for `scan`.
        max_line: the longest line read, line end included (`MAX_LINE_BYTES`: room for the
            largest frame a session accepts with every byte escaped); a longer line that holds
            SOH (a raw stream) is read in pieces instead.

    Yields:
        `Found` frames (with their line's `LogPrefix`) and `Problem` records, as `scan`
        returns them.
    """
    return scan_input(stream, verify, max_line)


def scan(data: bytes, verify: bool = True) -> list[Found | Problem]:
    """The frames and the unparsable parts of one input, in input order.

    Args:
        data: the input: SOH, ``|`` or ``^A`` separators, raw streams or lines with text before
            ``8=``, including the adapters' message-log lines (escapes and redactions undone).
        verify: check BodyLength and CheckSum (doc examples often carry wrong ones); without it
            each line holds frames from ``8=`` to its end.

    Returns:
        `Found` frames and `Problem` records sorted by input offset (`scan_stream` reads a file
        the same way without holding it whole).
    """
    return list(scan_stream(io.BytesIO(data), verify))


def decode_frame(
    codec: ModuleType, item: Found, index: int, *, use_dollars: bool, rfq_units: str
) -> tuple[Message, tuple[Defect, ...]] | Problem:
    """Decode one frame cut by `scan` tolerantly (secrets masked first) and check it.

    Args:
        codec: the dialect module (`dialect`).
        item: the frame.
        index: its 1-based position among the frames, for the problem's text.
        use_dollars: prices in dollars (UseDollars=Y).
        rfq_units: units of RFQ quote prices, ``"cents"`` or ``"dollars"``.

    Returns:
        The message and its defects (every field converted), or why it cannot be read (located).
    """
    from ..codec.errors import DecodeError

    try:
        msg = codec.decode(
            hide_secrets(item.frame), use_dollars=use_dollars, rfq_units=rfq_units, tolerant=True
        )
        return msg, tuple(msg.check())
    except DecodeError as exc:
        where = item.locate(exc.offset) if exc.offset is not None else item.offset
        return Problem(f"message #{index}: {exc}", where)
    except Exception as exc:  # a codec bug must not become a traceback here
        reason = f"message #{index}: internal error ({type(exc).__name__}: {exc}); please report it"
        return Problem(reason, item.offset)

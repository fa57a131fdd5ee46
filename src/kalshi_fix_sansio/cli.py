"""The ``kalshi-fix`` command line.

``kalshi-fix decode [FILE ...]`` prints FIX messages with tag names and typed values; see
docs/codec.md for what it prints, its exit codes and what it redacts.
"""

from __future__ import annotations

import argparse
import bisect
import json
import queue
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from importlib import resources
from types import ModuleType
from typing import IO, Any, Final, NoReturn

from . import Defect, margin, prediction
from ._generated.tables import FIELDS
from ._message import FixRecord, Message
from .errors import DecodeError
from .framing import DEFAULT_MAX_MESSAGE_SIZE, SOH, Frame, Framer
from .redaction import SECRET_TAGS, mask_secrets

DIALECTS = {"prediction": prediction, "margin": margin}

# ---------------------------------------------------------------------------------------------
# kalshi-fix decode: reading the input
#
# Every input is first rewritten into one buffer of SOH-separated frames (per line: `|` and `^A`
# separators become SOH, the message log's escapes are undone, its `<redacted N bytes>` values
# are put back as N placeholder bytes), keeping the input offset of every byte. One `Framer`
# then cuts frames out of the whole buffer (a frame may span lines in a raw capture).

_PLACEHOLDER: Final = b"*"  # stands for a secret byte (never SOH or '=')
_SECRET_ALT: Final = b"|".join(sorted(str(tag).encode() for tag in SECRET_TAGS))

# A line of the adapters' message log (adapters/_transport.py, MessageLog):
# "<ISO UTC time> <IN|OUT> <session id> <frame, SOH shown as |, control bytes escaped>".
_LOG_PREFIX: Final = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z (?:IN|OUT) \S+ ")
_LOG_GARBLED: Final = b"<garbled:"
_BOUNDARY_BEFORE: Final = rb"(?:(?<=[|\x01])|(?<=\^A)|^)"
_BOUNDARY_AFTER: Final = rb"(?=[|\x01]|\^A|$)"
_REDACTED: Final = (
    _BOUNDARY_BEFORE
    + rb"(?P<rtag>0*(?:"
    + _SECRET_ALT
    + rb"))=(?P<rval><redacted (?P<rlen>\d{1,9}) bytes>)"
    + _BOUNDARY_AFTER
)
_TOKENS: Final = re.compile(_REDACTED + rb"|(?P<caret>\^A)")
_TOKENS_LOG: Final = re.compile(
    _REDACTED + rb"|(?P<caret>\^A)|(?P<esc>\\x[0-9a-fA-F]{2}|\\u202[89])"
)
_TRAILER_NO_SOH: Final = re.compile(rb"(?:^|\x01)10=\d{3}\Z")
_SKIPPED: Final = re.compile(r"(\d+) bytes skipped$")
_FRAME_START: Final = re.compile(rb"(?<![0-9])8=")
_NEXT_FRAME: Final = re.compile(rb"(?<=\x01)8=FIX")


class _Problem:
    """Input that cannot be parsed: what, and its byte offset in the input."""

    __slots__ = ("offset", "reason")

    def __init__(self, reason: str, offset: int) -> None:
        self.reason = reason
        self.offset = offset


class _Found:
    """A frame cut from the input.

    Attributes:
        frame: the frame (separators normalised, redacted values restored as placeholders).
        offset: the input offset of its first byte.
        locate: input offset of a byte offset within `frame`.
        redacted: the input had secret values redacted (its CheckSum cannot be verified).
    """

    __slots__ = ("frame", "locate", "offset", "redacted")

    def __init__(
        self, frame: bytes, offset: int, locate: Callable[[int], int], redacted: bool
    ) -> None:
        self.frame = frame
        self.offset = offset
        self.locate = locate
        self.redacted = redacted


class _Buffer:
    """Bytes rewritten from an input, with the input offset of every byte."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._new: list[int] = []  # buffer offset where each segment starts
        self._old: list[int] = []  # its input offset
        self._exact: list[bool] = []  # one input byte per buffer byte (else all map to _old)
        self.size = 0
        self.restored: list[int] = []  # buffer offsets of values restored from a redaction
        self.parts: list[tuple[int, int]] = []  # (start, end) of each line's FIX part

    def add(self, data: bytes, old: int, exact: bool = True) -> None:
        if not data:
            return
        self._chunks.append(data)
        self._new.append(self.size)
        self._old.append(old)
        self._exact.append(exact)
        self.size += len(data)

    def source(self, pos: int) -> int:
        """The input offset of buffer offset ``pos``."""
        i = bisect.bisect_right(self._new, pos) - 1
        if i < 0:
            return pos
        if self._exact[i]:
            return self._old[i] + pos - self._new[i]
        return self._old[i]

    def redacted(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` holds a value restored from a redaction."""
        i = bisect.bisect_left(self.restored, start)
        return i < len(self.restored) and self.restored[i] < end

    def data(self) -> bytes:
        return b"".join(self._chunks)


_Segment = tuple[bytes, int, bool, bool]  # data, input offset, exact, restored


def _rewrite(part: bytes, base: int, escapes: str | None) -> list[_Segment]:
    """Segments of one line's FIX part with SOH separators (``escapes``: the log's, or None)."""
    pipes = SOH not in part and b"^A" not in part
    tokens = _TOKENS_LOG if escapes is not None else _TOKENS
    out: list[_Segment] = []

    def literal(start: int, end: int) -> None:
        if end > start:
            text = part[start:end]
            out.append((text.replace(b"|", SOH) if pipes else text, base + start, True, False))

    pos = 0
    for m in tokens.finditer(part):
        literal(pos, m.start())
        pos = m.end()
        if m.group("caret"):
            out.append((SOH, base + m.start(), False, False))
        elif m.group("rval"):
            n = int(m.group("rlen"))
            if n > DEFAULT_MAX_MESSAGE_SIZE:  # not something the log wrote: keep it as it is
                literal(m.start(), m.end())
                continue
            literal(m.start(), m.start("rval"))
            out.append((_PLACEHOLDER * n, base + m.start("rval"), False, True))
        else:
            escape = m.group("esc")
            if escape.startswith(b"\\u"):
                value = chr(int(escape[2:], 16)).encode()
            elif escapes == "nel" and escape.lower() == b"\\x85":
                value = "\x85".encode()
            else:
                value = bytes([int(escape[2:], 16)])
            out.append((value, base + m.start(), False, False))
    literal(pos, len(part))
    return out


def _frames_cleanly(data: bytes, redacted: bool) -> bool:
    framer = Framer()
    framer.feed(data)
    for item in framer:
        if isinstance(item, Frame) or item.reason.startswith("junk before"):
            continue
        if not (redacted and item.reason.startswith("CheckSum(10)")):
            return False
    return framer.buffered == 0


def _add_line(buf: _Buffer, line: bytes, base: int, problems: list[_Problem]) -> None:
    """Append one input line (with its line ending) to the buffer."""
    body = line.rstrip(b"\r\n")
    log = _LOG_PREFIX.match(body)
    if log is not None and body.startswith(_LOG_GARBLED, log.end()):
        # the adapter logged bytes it could not frame, without their content
        note = body[log.end() :].decode("utf-8", "backslashreplace")
        problems.append(_Problem(f"the log records garbled input: {note}", base + log.end()))
        buf.add(line[len(body) :], base + len(body))
        return
    start = body.find(b"8=FIX")
    if start < 0:
        start = body.find(b"8=")
    if start < 0:
        buf.add(line, base)
        return
    buf.add(body[:start], base)
    part = body[start:].rstrip(b" \t")
    variants: list[str | None] = [None]
    if log is not None and b"\\" in part:
        variants = ["raw", "nel", None]  # \x85 is a raw byte or U+0085; or no escapes at all
    segments = _rewrite(part, base + start, variants[0])
    if len(variants) > 1:
        for escapes in variants:
            candidate = _rewrite(part, base + start, escapes)
            data = b"".join(s[0] for s in candidate)
            if _frames_cleanly(data, any(s[3] for s in candidate)):
                segments = candidate
                break
    part_start = buf.size
    for data, old, exact, restored in segments:
        if restored:
            buf.restored.append(buf.size)
        buf.add(data, old, exact)
    if _TRAILER_NO_SOH.search(b"".join(s[0] for s in segments[-3:])):
        buf.add(SOH, base + start + len(part), False)  # "...|10=123" at the end of a line
    buf.parts.append((part_start, buf.size))
    buf.add(line[start + len(part) :], base + start + len(part))


def _normalized(data: bytes, problems: list[_Problem]) -> _Buffer:
    buf = _Buffer()
    pos = 0
    for line in data.splitlines(keepends=True):
        _add_line(buf, line, pos, problems)
        pos += len(line)
    return buf


def _describe_start(text: bytes) -> str:
    """Why a ``8=...`` that the framer skipped is not a frame."""
    text = _hide_secrets(text[:64])
    soh = text.find(SOH)
    if 0 <= soh <= 40:
        value = text[2:soh].decode("latin-1")
        if value != "FIXT.1.1":
            return f"BeginString(8) is {value!r}, expected 'FIXT.1.1'"
    shown = text[:40].decode("latin-1").replace("\x01", "|")
    return f"garbled header: {shown!r} is not the start of a FIX frame"


def _junk(text: bytes, start: int, end: int, buf: _Buffer) -> Iterator[_Problem]:
    """Problems in bytes that are not a frame: log prefixes and blank lines are not problems."""
    pos = start
    for piece in text[start:end].split(b"\n"):
        m = _FRAME_START.search(piece)
        if m is not None:
            yield _Problem(_describe_start(piece[m.start() :]), buf.source(pos + m.start()))
        elif SOH in piece:
            yield _Problem(f"{len(piece)} bytes that are not a FIX frame", buf.source(pos))
        pos += len(piece) + 1


def scan(data: bytes, verify: bool = True) -> list[_Found | _Problem]:
    """The frames and the unparsable parts of one input, in input order.

    Args:
        data: the input: SOH, ``|`` or ``^A`` separators, raw streams or lines with text before
            ``8=``, including the adapters' message-log lines (escapes and redactions undone).
        verify: check BodyLength and CheckSum (doc examples often carry wrong ones); without it
            each line holds frames from ``8=`` to its end.

    Returns:
        `_Found` frames and `_Problem` records sorted by input offset.
    """
    problems: list[_Problem] = []
    buf = _normalized(data, problems)
    text = buf.data()
    items: list[_Found | _Problem] = list(problems)

    def found(start: int, end: int) -> _Found:
        return _Found(
            text[start:end],
            buf.source(start),
            lambda pos: buf.source(start + pos),
            buf.redacted(start, end),
        )

    if not verify:
        for part_start, part_end in buf.parts:
            starts = [part_start] + [
                part_start + m.start() for m in _NEXT_FRAME.finditer(text, part_start, part_end)
            ]
            for start, end in zip(starts, [*starts[1:], part_end], strict=True):
                item = found(start, end)
                if not item.frame.endswith(SOH):
                    item.frame += SOH
                items.append(item)
    else:
        framer = Framer()
        framer.feed(text)
        for piece in framer:
            if isinstance(piece, Frame):
                items.append(found(piece.offset, piece.offset + len(piece.data)))
                continue
            m = _SKIPPED.search(piece.reason)
            end = piece.offset + (int(m.group(1)) if m else len(piece.data))
            if piece.reason.startswith("junk before"):
                items.extend(_junk(text, piece.offset, end, buf))
            elif piece.reason.startswith("CheckSum(10)") and buf.redacted(piece.offset, end):
                items.append(found(piece.offset, end))  # its only problem is the redaction
            else:
                reason = piece.reason
                if buf.redacted(piece.offset, end):
                    reason += " (a value was redacted in the log)"
                items.append(_Problem(reason, buf.source(piece.offset)))
                newline = text.find(b"\n", piece.offset, end)
                if newline >= 0 and not piece.reason.startswith("CheckSum(10)"):
                    # resynchronising skipped the lines after it too: look at them
                    items.extend(_junk(text, newline + 1, end, buf))
        rest = text[framer.stream_offset :]
        if rest.startswith(b"8="):
            items.append(
                _Problem(
                    f"incomplete frame: the input ends {len(rest)} bytes into it",
                    buf.source(framer.stream_offset),
                )
            )
    items.sort(key=lambda item: item.offset)
    return items


def _hide_secrets(frame: bytes) -> bytes:
    """Overwrite the secret values with as many placeholder bytes (lengths unchanged)."""
    return mask_secrets(frame, _PLACEHOLDER)


# ---------------------------------------------------------------------------------------------
# kalshi-fix decode: showing messages

# SessionRejectReason(373) names of the reasons a Defect carries
_REASONS: Final = {
    0: "InvalidTagNumber",
    1: "RequiredTagMissing",
    2: "TagNotDefinedForThisMessageType",
    3: "UndefinedTag",
    4: "TagSpecifiedWithoutAValue",
    5: "ValueIsIncorrect",
    6: "IncorrectDataFormat",
    11: "InvalidMsgType",
    13: "TagAppearsMoreThanOnce",
    14: "TagSpecifiedOutOfRequiredOrder",
    16: "IncorrectNumInGroupCountForRepeatingGroup",
}
# control characters would let a value forge lines or drive the terminal: shown escaped
_CONTROLS: Final[dict[int, str]] = {
    **{c: f"\\x{c:02x}" for c in (*range(32), *range(0x7F, 0xA0))},
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def _printable(text: str) -> str:
    return text.translate(_CONTROLS)


def _redacted(value: Any) -> str:
    size = len(value.encode() if isinstance(value, str) else value) if value is not None else 0
    return f"<redacted {size} bytes>"


def _secret_defect(defect: Defect) -> bool:
    if defect.tag in SECRET_TAGS:
        return True
    # a secret under an invalid tag number ("096="): its value is placeholders by now
    value = defect.value
    return (
        defect.tag is None and value is not None and value != b"" and not value.strip(_PLACEHOLDER)
    )


def _defect_value(defect: Defect) -> str | None:
    if defect.value is None or defect.value == b"":
        return None
    if _secret_defect(defect):
        return _redacted(defect.value)
    return defect.value.decode("utf-8", "backslashreplace")


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (Decimal, datetime, date, time)):
        return str(value) if not isinstance(value, datetime) else value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _show(value: Any) -> str:
    if isinstance(value, Enum):
        return _printable(f"{value.value} ({value.name})")
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return _printable(value.decode("utf-8", "backslashreplace"))
    return _printable(str(value))


def _rows(rec: FixRecord, depth: int) -> Iterator[str]:
    pad = "  " * depth
    for tag, name, value in rec.items():
        if isinstance(value, tuple):
            yield f"{pad}{tag:>6}  {name:<34} {len(value)} entries"
            for i, entry in enumerate(value, 1):
                yield f"{pad}        [{i}]"
                yield from _rows(entry, depth + 2)
        elif tag in SECRET_TAGS:
            yield f"{pad}{tag:>6}  {name:<34} {_redacted(value)}"
        else:
            yield f"{pad}{tag:>6}  {name:<34} {_show(value)}"


def _msg_type(msg: Message) -> str:
    return str(getattr(msg, "msg_type", None) or msg.MSG_TYPE)


def _trailer(msg: Message) -> Iterator[tuple[int, bytes]]:
    """SignatureLength(93) and Signature(89): standard trailer fields no message class shows."""
    shown = {tag for tag, _ in msg.extra_fields}
    for tag in (93, 89):
        raw = msg.raw_value(tag)
        if raw is not None and tag not in shown:
            yield tag, raw


def render_table(
    msg: Message,
    index: int,
    offset: int,
    defects: Sequence[Defect] = (),
    redacted: bool = False,
) -> str:
    """A readable multi-line rendering of one decoded message.

    Secret fields (RawData, Signature, Password, NewPassword) show as ``<redacted N bytes>``;
    each defect is a line starting with ``!``.

    Args:
        msg: the decoded message.
        index: its 1-based position in the input.
        offset: its byte offset in the input.
        defects: what is wrong with it (`Message.check`).
        redacted: the input had its secrets redacted (CheckSum not verified).

    Returns:
        The text, without a trailing newline.
    """
    notes = []
    if defects:
        notes.append(f"{len(defects)} defect{'s' if len(defects) != 1 else ''}")
    if redacted:
        notes.append("redacted in the log: CheckSum not verified")
    title = f"#{index} {type(msg).__name__} (35={_printable(_msg_type(msg))}) at byte {offset}"
    lines = [title + (f" [{'; '.join(notes)}]" if notes else "")]
    lines.extend(_rows(msg.header, 1))
    lines.extend(_rows(msg, 1))
    for tag, raw in msg.extra_fields:
        spec = FIELDS.get(tag)
        name = f"{spec.name} (not in this message)" if spec else "(unknown tag)"
        shown = _redacted(raw) if tag in SECRET_TAGS else _show(raw)
        lines.append(f"  {tag:>6}  {name:<34} {shown}")
    for tag, raw in _trailer(msg):
        shown = _redacted(raw) if tag in SECRET_TAGS else _show(raw)
        lines.append(f"  {tag:>6}  {FIELDS[tag].name + ' (trailer)':<34} {shown}")
    for d in defects:
        where = f"tag {d.tag}" if d.tag is not None else "message"
        line = f"  ! {where}: {_printable(d.text)} (373={d.reason} {_REASONS.get(d.reason, '?')})"
        value = _defect_value(d)
        if value is not None:
            line += f"; value '{_printable(value)}'"
        lines.append(line)
    return "\n".join(lines)


def render_json(
    msg: Message,
    index: int,
    offset: int,
    source: str,
    defects: Sequence[Defect] = (),
    redacted: bool = False,
) -> str:
    """One message as one line of JSON (secrets redacted, defects listed).

    Args:
        msg: the decoded message.
        index: its 1-based position in the input.
        offset: its byte offset in the input.
        source: the input it came from.
        defects: what is wrong with it (`Message.check`).
        redacted: the input had its secrets redacted (CheckSum not verified).

    Returns:
        The JSON text.
    """
    body = _plain(msg.to_dict())
    for tag, raw in _trailer(msg):
        body.setdefault(FIELDS[tag].attr, "<redacted>" if tag in SECRET_TAGS else _plain(raw))
    record = {
        "index": index,
        "source": source,
        "offset": offset,
        "msg_type": _msg_type(msg),
        "name": type(msg).__name__,
        "header": _plain(msg.header.to_dict()),
        "body": body,
        "defects": [
            {
                "tag": d.tag,
                "reason": d.reason,
                "reason_name": _REASONS.get(d.reason),
                "text": d.text,
                "value": _defect_value(d),
            }
            for d in defects
        ],
        "redacted": redacted,
    }
    return json.dumps(record)


def _decode(
    dialect: ModuleType, item: _Found, index: int, source: str, args: argparse.Namespace
) -> tuple[str, bool] | _Problem:
    """The rendering of one frame and whether it has defects, or why it cannot be read."""
    try:
        msg = dialect.decode(
            _hide_secrets(item.frame),
            use_dollars=args.use_dollars,
            rfq_units=args.rfq_units,
            tolerant=True,
        )
        defects = msg.check()
        if args.json:
            text = render_json(msg, index, item.offset, source, defects, item.redacted)
        else:
            text = render_table(msg, index, item.offset, defects, item.redacted) + "\n"
        return text, bool(defects)
    except DecodeError as exc:
        where = item.locate(exc.offset) if exc.offset is not None else item.offset
        return _Problem(f"message #{index}: {exc}", where)
    except Exception as exc:  # a codec bug must not become a traceback here
        reason = f"message #{index}: internal error ({type(exc).__name__}: {exc}); please report it"
        return _Problem(reason, item.offset)


def _emit(stream: IO[str], text: str) -> None:
    try:
        print(text, file=stream)
    except UnicodeEncodeError:  # a terminal that cannot show every character
        encoding = getattr(stream, "encoding", None) or "ascii"
        print(text.encode(encoding, "backslashreplace").decode(encoding), file=stream)


def _read_sources(args: argparse.Namespace, err: IO[str]) -> list[tuple[str, bytes]] | None:
    sources: list[tuple[str, bytes]] = []
    if args.sample:
        name = f"{args.dialect}.fix"
        data = resources.files("kalshi_fix_sansio").joinpath("samples").joinpath(name)
        sources.append((f"sample {name}", data.read_bytes()))
    paths = list(args.files) or ([] if args.sample else ["-"])
    for path in paths:
        try:
            if path == "-":
                sources.append(("<stdin>", sys.stdin.buffer.read()))
                continue
            with open(path, "rb") as fh:
                sources.append((path, fh.read()))
        except (OSError, AttributeError, ValueError) as exc:
            what = "<stdin>" if path == "-" else path
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            _emit(err, f"kalshi-fix decode: cannot read {what}: {reason}")
            return None
    return sources


def decode_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix decode``.

    Args:
        args: parsed arguments.
        out: where messages go.
        err: where problems go.

    Returns:
        0 when every frame was read (defects allowed unless ``--strict``), 1 when some input
        could not be parsed, held no FIX message, or (``--strict``) a message has defects,
        2 when an input cannot be read.
    """
    dialect = DIALECTS[args.dialect]
    sources = _read_sources(args, err)
    if sources is None:
        return 2
    failures = 0
    defective = 0
    empty = 0
    index = 0
    for source, data in sources:
        items = scan(data, verify=not args.no_verify)
        if not items:
            empty += 1
            _emit(err, f"kalshi-fix decode: {source}: no FIX messages found")
            continue
        for item in items:
            if isinstance(item, _Problem):
                failures += 1
                _emit(err, f"{source}: byte {item.offset}: malformed: {item.reason}")
                continue
            index += 1
            result = _decode(dialect, item, index, source, args)
            if isinstance(result, _Problem):
                failures += 1
                _emit(err, f"{source}: byte {result.offset}: {result.reason}")
                continue
            text, has_defects = result
            defective += has_defects
            _emit(out, text)
    if failures:
        print(f"kalshi-fix decode: {failures} malformed frame(s)", file=err)
    if defective:
        print(
            f"kalshi-fix decode: {defective} message(s) with defects"
            + (" (--strict)" if args.strict else ""),
            file=err,
        )
    return 1 if failures or empty or (args.strict and defective) else 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        _emit(sys.stderr, f"{self.prog}: error: {message} (see {self.prog} --help)")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``kalshi-fix``.

    Returns:
        The parser with every subcommand.
    """
    parser = _Parser(prog="kalshi-fix", description="Kalshi FIX tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    dec = sub.add_parser(
        "decode",
        help="print FIX messages with tag names and typed values",
        description="Decode FIX from files or stdin (SOH, '|' or '^A' "
        "separators; log lines may carry text before 8=; the adapters' message logs, redacted "
        "Logons included). Messages with defects are printed with the defects marked '!'. "
        "Secrets (RawData, Signature, passwords) are always redacted.",
        epilog="exit status: 0 every frame read (defects allowed), 1 some input could not be "
        "parsed, no FIX messages found, or --strict and a message has defects, 2 usage error",
    )
    dec.add_argument("files", nargs="*", help="input files ('-' for stdin; default stdin)")
    dec.add_argument("--dialect", choices=sorted(DIALECTS), default="prediction")
    dec.add_argument("--json", action="store_true", help="one JSON object per message")
    dec.add_argument(
        "--use-dollars",
        action="store_true",
        help="prices are dollars (session logged on with UseDollars=Y)",
    )
    dec.add_argument(
        "--no-verify",
        action="store_true",
        help="do not check BodyLength/CheckSum (e.g. for doc examples)",
    )
    dec.add_argument(
        "--rfq-units",
        choices=["cents", "dollars"],
        default="cents",
        help="units of BidPx/OfferPx on 35=S / 35=AI: 'dollars' for a KalshiRT log (quotes "
        "sent to the RFQ creator), 'cents' (integer cents) for a KalshiRFQ log (default)",
    )
    dec.add_argument("--sample", action="store_true", help="decode the shipped sample frames")
    dec.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a message has defects (they are printed either way)",
    )
    demo = sub.add_parser(
        "demo",
        help="run a whole trading story against the embedded mock Kalshi gateway",
        description="Start the mock gateway in-process (TLS on loopback, fresh keys) and run a "
        "client through logon, market data, a resting order, a cross, a cancel, an order group "
        "trip and logout.",
    )
    demo.add_argument("--product", choices=sorted(DIALECTS), default="prediction")
    gw = sub.add_parser(
        "mock-gateway",
        help="serve a mock Kalshi FIX gateway on loopback",
        description="Serve every session type of the product on its own port (Kalshi's port "
        "numbers offset from --port-base).",
    )
    gw.add_argument("--product", choices=sorted(DIALECTS), default="prediction")
    gw.add_argument("--host", default="127.0.0.1")
    gw.add_argument(
        "--port-base",
        type=int,
        default=18228,
        help="port of KalshiNR; the others follow Kalshi's offsets (default 18228)",
    )
    gw.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve TLS with this identity")
    gw.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="KEY_ID=PUBLIC_KEY_PEM",
        help="an API key allowed to log on (repeatable)",
    )
    gw.add_argument(
        "--market",
        action="append",
        default=[],
        metavar="SYMBOL",
        help="seed a market with a small book (repeatable)",
    )
    gw.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    gw.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="inject a fault: drop-after=N, skip-seq=N, duplicate, garble, silent, "
        "delay=SECONDS, reject-logon=TEXT (repeatable)",
    )
    for name, helptext, desc in (
        (
            "logon-test",
            "log on to Kalshi, report the result, log out",
            "Log on with credentials from the environment (KALSHI_KEY_ID + KALSHI_PRIVATE_KEY or "
            "KALSHI_PRIVATE_KEY_PATH; KALSHI_PERPS_* for margin), report success or Kalshi's Logout "
            "text, log out.",
        ),
        (
            "md",
            "stream the top of book of some markets",
            "Log on to KalshiMD with credentials from the environment and print the top of book "
            "of each SYMBOL as it changes.",
        ),
    ):
        cmd = sub.add_parser(name, help=helptext, description=desc)
        cmd.add_argument("--env", choices=["demo", "production"], default="demo")
        cmd.add_argument("--product", choices=sorted(DIALECTS), default="prediction")
        cmd.add_argument(
            "--endpoint",
            metavar="HOST:PORT",
            help="connect here instead of Kalshi's host (e.g. a mock gateway)",
        )
        cmd.add_argument(
            "--pinned-cert", metavar="PEM", help="trust exactly this server certificate"
        )
        cmd.add_argument(
            "--allow-unlisted-host",
            action="store_true",
            help="permit a TLS host that is not one of Kalshi's documented FIX hosts",
        )
        cmd.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
        if name == "logon-test":
            cmd.add_argument(
                "--session",
                default="NR",
                help="session type: NR, RT, DC, PT, RFQ or MD (default NR)",
            )
        else:
            cmd.add_argument("symbols", nargs="+", metavar="SYMBOL")
    return parser


def _live_client(args: argparse.Namespace, session_type: str) -> Any:
    from .adapters._transport import Backoff, Endpoint
    from .adapters.blocking import FixClient, MarginFixClient

    cls = FixClient if args.product == "prediction" else MarginFixClient
    options: dict[str, Any] = {
        "pinned_cert": args.pinned_cert,
        "allow_unlisted_hosts": args.allow_unlisted_host,
        "backoff": Backoff(attempts=2),
    }
    if args.endpoint:
        host, _, port = args.endpoint.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--endpoint takes HOST:PORT, got {args.endpoint!r}")
        options["endpoints"] = {session_type: Endpoint(host, int(port))}
    return cls.from_env(args.env, **options)


def live_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix logon-test`` or ``kalshi-fix md`` against Kalshi (or --endpoint).

    Args:
        args: parsed arguments.
        out: where results go.
        err: where problems go.

    Returns:
        0 on success, 1 when Kalshi refused or the connection failed, 2 for a usage problem.
    """
    import time

    from .book import Books
    from .errors import FixError
    from .events import ApplicationMessage, LogonRejected

    name = "logon-test" if args.command == "logon-test" else "md"
    session_type = (
        "KalshiMD" if name == "md" else "Kalshi" + args.session.upper().removeprefix("KALSHI")
    )
    try:
        client = _live_client(args, session_type)
        session = client.session(session_type)
    except (FixError, ValueError) as exc:
        print(f"kalshi-fix {name}: {exc}", file=err)
        return 2
    rejected: list[str] = []
    try:
        with session:
            if name == "logon-test":
                print(
                    f"logged on to {session_type} ({args.product}, {args.env}) as "
                    f"{session.config.sender_comp_id}; logging out",
                    file=out,
                )
                return 0
            dialect = DIALECTS[args.product]
            session.send(
                dialect.MarketDataRequest(
                    subscription_request_type=dialect.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
                    related_sym=[
                        dialect.MarketDataRequestRelatedSym(symbol=s) for s in args.symbols
                    ],
                )
            )
            books = Books()
            stop = None if args.seconds is None else time.monotonic() + args.seconds
            while stop is None or time.monotonic() < stop:
                left = None if stop is None else max(stop - time.monotonic(), 0.0)
                event = session.next_event(left)
                if event is None:
                    break
                if isinstance(event, ApplicationMessage):
                    for symbol in books.apply(event.message):
                        print(books[symbol], file=out, flush=True)
            return 0
    except FixError as exc:
        for event in list(session._events):
            if isinstance(event, LogonRejected):
                rejected.append(event.text)
        text = f"Kalshi refused the Logon: {rejected[-1]}" if rejected else str(exc)
        print(f"kalshi-fix {name}: {text}", file=err)
        return 1


def mock_gateway_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix mock-gateway``: serve until interrupted (or --seconds).

    Args:
        args: parsed arguments.
        out: where the banner goes.
        err: where problems go.

    Returns:
        The exit status.
    """
    import time
    from decimal import Decimal
    from pathlib import Path

    from .auth import load_public_key
    from .errors import FixError
    from .gateway.server import MockGateway
    from .gateway.tls import server_context

    keys = {}
    for item in args.key:
        key_id, sep, path = item.partition("=")
        if not sep:
            print(
                f"kalshi-fix mock-gateway: --key takes KEY_ID=PUBLIC_KEY_PEM, got {item!r}",
                file=err,
            )
            return 2
        try:
            keys[key_id] = load_public_key(Path(path).read_bytes())
        except (OSError, FixError) as exc:
            print(f"kalshi-fix mock-gateway: key {key_id}: {exc}", file=err)
            return 2
    if not keys:
        print("kalshi-fix mock-gateway: give at least one --key KEY_ID=PUBLIC_KEY_PEM", file=err)
        return 2
    try:
        context = server_context(*args.tls) if args.tls else None
    except (OSError, ValueError) as exc:
        print(f"kalshi-fix mock-gateway: cannot load the TLS identity: {exc}", file=err)
        return 2
    gateway = MockGateway(
        args.product, keys=keys, host=args.host, port_base=args.port_base, ssl_context=context
    )
    for fault in args.fault:
        problem = apply_fault(gateway, fault.replace("=", " ", 1).split(" ", 1))
        if problem:
            print(f"kalshi-fix mock-gateway: --fault {fault}: {problem}", file=err)
            return 2
    with gateway:
        for symbol in args.market:
            mid = Decimal("0.50") if args.product == "prediction" else Decimal("100")
            step = Decimal("0.01") if args.product == "prediction" else Decimal("0.5")
            gateway.seed_market(
                symbol, bids=[(mid - step, Decimal(100))], asks=[(mid + step, Decimal(100))]
            )
        ports = ", ".join(f"{k}={v}" for k, v in sorted(gateway.ports.items()))
        print(
            f"mock Kalshi gateway ({args.product}) on {args.host} "
            f"({'TLS' if context else 'plain TCP'}): {ports}",
            file=out,
            flush=True,
        )
        print(
            "admin commands on stdin: seed SYMBOL BID_PX:QTY ASK_PX:QTY | pause [exchange] | "
            "resume | settle SYMBOL yes|no | fault NAME [VALUE] | book SYMBOL | quit",
            file=out,
            flush=True,
        )
        commands: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_read_commands, args=(commands,), daemon=True).start()
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while deadline is None or time.monotonic() < deadline:
            try:
                line = commands.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                continue  # stdin closed: keep serving
            if line.strip() in ("quit", "exit"):
                break
            print(admin_command(gateway, line), file=out, flush=True)
    return 0


def _read_commands(commands: queue.Queue[str | None]) -> None:
    for line in sys.stdin:
        commands.put(line)
    commands.put(None)


def apply_fault(gateway: Any, words: list[str]) -> str | None:
    """Set one fault on a gateway from words like ``["drop-after", "3"]``.

    Args:
        gateway: the MockGateway.
        words: the fault name and its value, if any.

    Returns:
        None when applied, else what is wrong.
    """
    name = words[0].strip().lower() if words else ""
    value = words[1].strip() if len(words) > 1 else ""
    faults = gateway.faults
    try:
        if name == "drop-after":
            faults.drop_after = int(value) if value not in ("", "off") else None
        elif name == "skip-seq":
            faults.skip_seq = int(value or "1")
        elif name == "duplicate":
            faults.duplicate_next = True
        elif name == "garble":
            faults.garble_next = True
        elif name == "silent":
            faults.silent = value != "off"
        elif name == "delay":
            faults.delay = float(value or "0")
        elif name == "reject-logon":
            faults.reject_next_logon = value or "logon rejected by the mock gateway"
        else:
            return (
                f"unknown fault {name!r} (drop-after, skip-seq, duplicate, garble, silent, "
                "delay, reject-logon)"
            )
    except ValueError:
        return f"bad value {value!r} for {name}"
    return None


def admin_command(gateway: Any, line: str) -> str:
    """Run one admin console command on a running gateway.

    Args:
        gateway: the MockGateway.
        line: the command line.

    Returns:
        What to print.
    """
    from decimal import Decimal, InvalidOperation

    from .errors import FixError

    words = line.split()
    if not words:
        return ""
    cmd, rest = words[0].lower(), words[1:]

    def show(level: Any) -> str:
        return f"{level[1]} @ {level[0]}" if level else "-"

    try:
        if cmd == "seed" and rest:
            sides: list[list[tuple[Decimal, Decimal]]] = [[], []]
            for i, level in enumerate(rest[1:3]):
                px, _, qty = level.partition(":")
                sides[i].append((Decimal(px), Decimal(qty or "1")))
            gateway.seed_market(rest[0], bids=sides[0], asks=sides[1])
            return f"seeded {rest[0]}"
        if cmd == "pause":
            gateway.pause(exchange=bool(rest and rest[0] == "exchange"))
            return "paused"
        if cmd == "resume":
            gateway.resume()
            return "resumed"
        if cmd == "settle" and len(rest) == 2:
            gateway.settle(rest[0], rest[1])
            return f"settled {rest[0]} {rest[1]}"
        if cmd == "fault":
            problem = apply_fault(gateway, rest)
            return problem or f"fault {' '.join(rest)} set"
        if cmd == "book" and rest:
            bid, ask = gateway.call(lambda: gateway.exchange.top_of_book(rest[0]))
            return f"{rest[0]}: bid {show(bid)} | ask {show(ask)}"
    except (ValueError, InvalidOperation, FixError) as exc:
        return f"error: {exc}"
    return f"unknown command: {line.strip()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kalshi-fix`` console script.

    Args:
        argv: arguments (default: sys.argv[1:]).

    Returns:
        The exit status.
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # usage error (2) or --help (0): a status, not an exception
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        if args.command == "decode":
            return decode_command(args, sys.stdout, sys.stderr)
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(args.product, sys.stdout)
        if args.command == "mock-gateway":
            return mock_gateway_command(args, sys.stdout, sys.stderr)
        if args.command in ("logon-test", "md"):
            return live_command(args, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())

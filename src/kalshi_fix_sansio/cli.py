"""The ``kalshi-fix`` command line.

``kalshi-fix decode [FILE ...]`` prints FIX messages with tag names and typed values; see
docs/codec.md for what it prints, its exit codes and what it redacts. ``logon-test`` and ``md``
connect to Kalshi (or a mock gateway), ``mock-gateway`` serves one, ``demo`` runs both.

Exit status: 0 success, 1 the command ran and failed (Kalshi refused, the connection failed,
malformed input), 2 usage error (bad arguments, missing or unusable credentials or files).

The module imports only what the command needs: ``kalshi-fix --help`` loads no codec dialect.
Messages name flags and environment variables: library errors phrased for Python callers
(``allow_unlisted_hosts=True``, ``passphrase=...``) are rephrased here (`cli_text`).
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
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any, Final, NoReturn

from .framing import DEFAULT_MAX_MESSAGE_SIZE, SOH, Frame, Framer
from .redaction import SECRET_TAGS, mask_secrets

if TYPE_CHECKING:
    from . import Defect, FixRecord, Message

PRODUCTS: Final = ("margin", "prediction")
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


def dialect(product: str) -> ModuleType:
    """The codec module of a product, imported on first use (``--help`` needs none)."""
    if product == "margin":
        from . import margin

        return margin
    from . import prediction

    return prediction


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
    from .spec import FIELDS

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
    from .spec import FIELDS

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
    codec: ModuleType, item: _Found, index: int, source: str, args: argparse.Namespace
) -> tuple[str, bool] | _Problem:
    """The rendering of one frame and whether it has defects, or why it cannot be read."""
    from .errors import DecodeError

    try:
        msg = codec.decode(
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
        from importlib import resources

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
    codec = dialect(args.dialect)
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
            result = _decode(codec, item, index, source, args)
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
    dec.add_argument("--dialect", choices=PRODUCTS, default="prediction")
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
    demo.add_argument("--product", choices=PRODUCTS, default="prediction")
    gw = sub.add_parser(
        "mock-gateway",
        help="serve a mock Kalshi FIX gateway on loopback",
        description="Serve every session type of the product on its own port (Kalshi's port "
        "numbers offset from --port-base), over TLS with a throwaway self-signed certificate "
        "unless --tls or --plain says otherwise, and print the kalshi-fix command lines that "
        "connect to it. Without --key it writes out an API key and prints where its private key "
        "is (the product's well-known mock key; the other product's mock key is refused by "
        "name).",
        epilog="exit status: 0 stopped (quit, --seconds, Ctrl-C), 1 cannot serve (port taken, "
        "host not of this machine), 2 usage error",
    )
    gw.add_argument("--product", choices=PRODUCTS, default="prediction")
    gw.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 serves every interface)",
    )
    gw.add_argument(
        "--port-base",
        type=int,
        default=18228,
        help="port of KalshiNR; the others follow Kalshi's offsets (default 18228; 0: free ports)",
    )
    gw.add_argument(
        "--tls",
        nargs=2,
        metavar=("CERT", "KEY"),
        help="serve TLS with this identity (default: a fresh self-signed one)",
    )
    gw.add_argument(
        "--plain", action="store_true", help="serve plain TCP (loopback only) instead of TLS"
    )
    gw.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="KEY_ID=PUBLIC_KEY_PEM",
        help="an API key allowed to log on (repeatable; default: a generated one)",
    )
    gw.add_argument(
        "--other-product-key",
        action="append",
        default=[],
        metavar="KEY_ID=PUBLIC_KEY_PEM",
        help="an API key of the other product: its Logon is refused with the reason (repeatable)",
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
        cmd = sub.add_parser(
            name,
            help=helptext,
            description=desc,
            epilog="exit status: 0 success, 1 Kalshi refused or the connection failed, "
            "2 usage error (arguments, credentials, files)",
        )
        cmd.add_argument("--env", choices=["demo", "production"], default="demo")
        cmd.add_argument("--product", choices=PRODUCTS, default="prediction")
        cmd.add_argument(
            "--endpoint",
            metavar="[tcp://]HOST:PORT",
            help="connect here instead of Kalshi's host, e.g. a mock gateway (TLS; tcp:// for "
            "plain TCP to loopback)",
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
                default="KalshiNR",
                type=_session_arg,
                help="session type: NR, RT, DC, PT, RFQ or MD (default NR)",
            )
        else:
            cmd.add_argument("symbols", nargs="+", metavar="SYMBOL")
    return parser


# ---------------------------------------------------------------------------------------------
# Speaking CLI: library messages phrased for Python callers, rephrased for flags and variables


class UsageProblem(Exception):
    """A command-line problem: printed as one line, exit status 2."""


def _env_prefix(product: str) -> str:
    return "KALSHI_PERPS_" if product == "margin" else "KALSHI_"


def cli_text(text: str, product: str = "prediction") -> str:
    """A library message with its Python advice replaced by the flag or variable to use.

    The library speaks to Python callers (``pass allow_unlisted_hosts=True``); the same advice
    on the command line is a flag or an environment variable. Unknown text is returned as is.

    Args:
        text: the message.
        product: which product's environment variables to name.

    Returns:
        The message for a command-line user.
    """
    env = _env_prefix(product)
    rewrites = (
        (r"pass allow_unlisted_hosts=True", "add --allow-unlisted-host"),
        (r"pass its passphrase \(passphrase=\.\.\.\)", f"set {env}PRIVATE_KEY_PASSPHRASE"),
        (r"pass passphrase=None", f"unset {env}PRIVATE_KEY_PASSPHRASE"),
        (
            r"if it is a file path, use load_signer_file\(path\)",
            f"if it is a file path, set {env}PRIVATE_KEY_PATH to it instead of {env}PRIVATE_KEY",
        ),
        (r"or use load_signer_file\(path\)", f"or set {env}PRIVATE_KEY_PATH to the file"),
        (r"pass the contents of the key file", f"set {env}PRIVATE_KEY to the PEM text"),
        (r"pass the PEM private key", "use the PEM private key"),
        (r"use tls=True or drop it", "drop tcp:// from --endpoint"),
        (r"use tls=True", "drop tcp:// from --endpoint (TLS)"),
        (r"pinned_cert", "--pinned-cert"),
    )
    for pattern, replacement in rewrites:
        text = re.sub(pattern, replacement, text)
    return text


def _parse_endpoint(text: str) -> tuple[str, int, bool]:
    """``[tls://|tcp://]HOST:PORT`` (``[::1]:PORT`` for IPv6) as (host, port, tls)."""
    tls = True
    rest = text.strip()
    scheme, sep, after = rest.partition("://")
    if sep:
        if scheme.lower() not in ("tls", "tcp"):
            raise UsageProblem(
                f"--endpoint takes [tls://|tcp://]HOST:PORT, got {text!r} (scheme {scheme!r})"
            )
        tls = scheme.lower() == "tls"
        rest = after
    host, _, port = rest.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageProblem(f"--endpoint takes [tls://|tcp://]HOST:PORT, got {text!r}")
    return host, int(port), tls


def _short(session_type: str) -> str:
    return session_type.removeprefix("Kalshi")


def _session_arg(text: str) -> str:
    """``--session``: NR, nr, KalshiNR... as the session type name."""
    name = text.strip().upper().removeprefix("KALSHI")
    known = ("NR", "RT", "DC", "PT", "RFQ", "MD")
    if name not in known:
        raise argparse.ArgumentTypeError(
            f"unknown session type {text!r}: use one of {', '.join(known)}"
        )
    return "Kalshi" + name


def _live_client(args: argparse.Namespace, session_type: str) -> Any:
    from .adapters import Backoff, Endpoint, check_endpoint
    from .adapters.blocking import FixClient, MarginFixClient

    cls = FixClient if args.product == "prediction" else MarginFixClient
    options: dict[str, Any] = {
        "pinned_cert": args.pinned_cert,
        "allow_unlisted_hosts": args.allow_unlisted_host,
        "backoff": Backoff(attempts=2),
    }
    if args.endpoint:
        host, port, tls = _parse_endpoint(args.endpoint)
        if not tls and args.pinned_cert:
            raise UsageProblem(
                "--pinned-cert applies to TLS: drop it or drop tcp:// from --endpoint"
            )
        endpoint = Endpoint(host, port, tls=tls)
        check_endpoint(endpoint, allow_unlisted_hosts=args.allow_unlisted_host)
        options["endpoints"] = {session_type: endpoint}
    return cls.from_env(args.env, **options)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and a ConnectionFailed's last error."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop(0)
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [getattr(item, "last_error", None), item.__cause__, item.__context__]


_REFUSED = re.compile(r"Logon refused: (?P<text>.*?)(?:\)|$)")
_WRONG_PORT = re.compile(
    r"TargetCompID '(?P<wanted>\w+)' does not match this session \((?P<served>\w+)\)"
)


def refusal_text(exc: BaseException) -> str | None:
    """Kalshi's Logout text when the failure is a refused Logon, else None."""
    for item in _causes(exc):
        text = getattr(item, "text", None)
        if isinstance(text, str) and "Logon" in type(item).__name__:
            return text
    for item in _causes(exc):
        m = _REFUSED.search(str(item))
        if m:
            return m.group("text")
    return None


def failure_text(exc: BaseException, args: argparse.Namespace, session_type: str) -> str:
    """One line for a failed ``logon-test`` / ``md``: what happened and what to do."""
    where = args.endpoint or f"Kalshi's {session_type} endpoint"
    refused = refusal_text(exc)
    if refused is not None:
        wrong = _WRONG_PORT.search(refused)
        if wrong:
            served, wanted = wrong.group("served"), wrong.group("wanted")
            todo = f"point --endpoint at the {wanted} port"
            if args.command == "logon-test":
                todo = f"use --session {_short(served)} here, or " + todo
            return (
                f"Kalshi refused the Logon: {where} serves {served}, not {wanted}: {todo} "
                "(kalshi-fix mock-gateway prints every port)"
            )
        if refused.startswith("unknown API key"):
            env = _env_prefix(args.product)
            refused += f" (check {env}KEY_ID, and that the key is registered for {args.product})"
        return f"Kalshi refused the Logon: {refused}"
    import ssl

    causes = list(_causes(exc))
    for item in causes:
        if isinstance(item, ssl.SSLCertVerificationError):
            reason = item.verify_message or str(item)
            return (
                f"the server's TLS certificate at {where} is not trusted ({reason}): pass the "
                "certificate it presents with --pinned-cert PEM (kalshi-fix mock-gateway prints it)"
            )
    for item in causes:
        if isinstance(item, ssl.SSLError):
            reason = item.reason or str(item)
            return (
                f"TLS handshake with {where} failed ({reason}): if the server serves plain TCP "
                "(kalshi-fix mock-gateway --plain), use --endpoint tcp://HOST:PORT"
            )
    for item in causes:
        if isinstance(item, ConnectionRefusedError):
            return (
                f"nothing listens at {where} (connection refused): is the gateway running, and "
                "is --endpoint HOST:PORT right?"
            )
    if args.endpoint and args.endpoint.lower().startswith("tcp://"):
        return (
            f"{where} closed the plain TCP connection without answering the Logon: if it serves "
            "TLS, drop tcp:// from --endpoint and pass its certificate with --pinned-cert"
        )
    return cli_text(str(exc), args.product)


def live_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix logon-test`` or ``kalshi-fix md`` against Kalshi (or --endpoint).

    Args:
        args: parsed arguments.
        out: where results go.
        err: where problems go.

    Returns:
        0 on success, 1 when Kalshi refused or the connection failed, 2 for a usage problem
        (arguments, credentials, files).
    """
    import time

    from .book import Books
    from .errors import FixError
    from .events import ApplicationMessage

    name = "logon-test" if args.command == "logon-test" else "md"
    session_type = "KalshiMD" if name == "md" else args.session
    try:
        client = _live_client(args, session_type)
        session = client.session(session_type)
    except UsageProblem as exc:
        print(f"kalshi-fix {name}: {exc}", file=err)
        return EXIT_USAGE
    except (FixError, ValueError, OSError) as exc:
        print(f"kalshi-fix {name}: {cli_text(str(exc), args.product)}", file=err)
        return EXIT_USAGE
    try:
        with session:
            if name == "logon-test":
                print(
                    f"logged on to {session_type} ({args.product}, {args.env}) as "
                    f"{session.config.sender_comp_id}; logging out",
                    file=out,
                )
                return EXIT_OK
            codec = dialect(args.product)
            session.send(
                codec.MarketDataRequest(
                    subscription_request_type=codec.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
                    related_sym=[codec.MarketDataRequestRelatedSym(symbol=s) for s in args.symbols],
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
            return EXIT_OK
    except (FixError, OSError) as exc:
        print(f"kalshi-fix {name}: {failure_text(exc, args, session_type)}", file=err)
        return EXIT_FAILED


def _key_files(
    args: argparse.Namespace, workdir: str, err: IO[str]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]] | None:
    """The gateway's keys, the other product's keys, and private key files it generated."""
    from pathlib import Path

    from .auth import load_public_key
    from .errors import FixError

    keys: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for option, target in (("--key", keys), ("--other-product-key", others)):
        for item in getattr(args, option.removeprefix("--").replace("-", "_")):
            key_id, sep, path = item.partition("=")
            if not sep or not key_id or not path:
                print(
                    f"kalshi-fix mock-gateway: {option} takes KEY_ID=PUBLIC_KEY_PEM, got {item!r}",
                    file=err,
                )
                return None
            try:
                target[key_id] = load_public_key(Path(path).read_bytes())
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                print(
                    f"kalshi-fix mock-gateway: {option} {key_id}: cannot read {path}: {reason}",
                    file=err,
                )
                return None
            except FixError as exc:
                print(f"kalshi-fix mock-gateway: {option} {key_id}: {exc}", file=err)
                return None
    generated: dict[str, str] = {}
    if not keys:
        # no key given: the products' well-known mock keys (the other product's is refused by
        # name), and the private key written out so that the printed command line works
        from .gateway import mock_api_key, write_mock_api_key

        other = "margin" if args.product == "prediction" else "prediction"
        key_id, _, public = mock_api_key(args.product)
        keys[key_id] = public
        generated[key_id] = str(write_mock_api_key(args.product, workdir))
        other_id, _, other_public = mock_api_key(other)
        if other_id not in keys:
            others.setdefault(other_id, other_public)
    return keys, others, generated


def mock_gateway_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix mock-gateway``: serve until interrupted (or --seconds).

    Args:
        args: parsed arguments.
        out: where the banner goes.
        err: where problems go.

    Returns:
        The exit status: 0 after quit / --seconds / interrupt, 1 when it cannot serve (a port
        taken, a host that is not this machine's), 2 for a usage problem.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kalshi-mock-gateway-") as workdir:
        return _serve_gateway(args, workdir, out, err)


def _serve_gateway(args: argparse.Namespace, workdir: str, out: IO[str], err: IO[str]) -> int:
    import time

    from .gateway import GatewayError, MockGateway, self_signed, server_context

    found = _key_files(args, workdir, err)
    if found is None:
        return EXIT_USAGE
    keys, others, generated = found
    clash = sorted(set(keys) & set(others))
    if clash:
        print(
            f"kalshi-fix mock-gateway: {clash[0]} is given with both --key and --other-product-key",
            file=err,
        )
        return EXIT_USAGE
    if args.plain and args.tls:
        print("kalshi-fix mock-gateway: --plain and --tls exclude each other", file=err)
        return EXIT_USAGE
    certificate: str | None = None
    try:
        if args.tls:
            context = server_context(*args.tls)
            certificate = args.tls[0]
        elif args.plain:
            context = None
        else:
            cert, key = self_signed(workdir)
            context = server_context(cert, key)
            certificate = str(cert)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        print(f"kalshi-fix mock-gateway: cannot load the TLS identity: {reason}", file=err)
        return EXIT_USAGE
    gateway = MockGateway(
        args.product,
        keys=keys,
        other_product_keys=others,
        host=args.host,
        port_base=args.port_base or None,
        ssl_context=context,
        certificate=certificate,
    )
    if args.plain and not gateway.loopback_only:
        print(
            f"kalshi-fix mock-gateway: --plain serves only loopback (clients refuse plain TCP "
            f"elsewhere): drop --plain to serve TLS on {args.host}, or use --host 127.0.0.1",
            file=err,
        )
        return EXIT_USAGE
    if gateway.every_interface:
        print(
            f"kalshi-fix mock-gateway: warning: --host {args.host or '0.0.0.0'} serves every "
            "network interface: anyone who can reach this machine can connect (use --host "
            "127.0.0.1 for this machine only)",
            file=err,
            flush=True,
        )
    for fault in args.fault:
        problem = apply_fault(gateway, fault.replace("=", " ", 1).split(" ", 1))
        if problem:
            print(f"kalshi-fix mock-gateway: --fault {fault}: {problem}", file=err)
            return EXIT_USAGE
    try:
        gateway.start_in_thread()
    except GatewayError as exc:
        hint = f"; {exc.hint}" if exc.hint else ""
        print(f"kalshi-fix mock-gateway: {exc}{hint}", file=err)
        return EXIT_FAILED
    try:
        for symbol in args.market:
            mid = Decimal("0.50") if args.product == "prediction" else Decimal("100")
            step = Decimal("0.01") if args.product == "prediction" else Decimal("0.5")
            gateway.seed_market(
                symbol, bids=[(mid - step, Decimal(100))], asks=[(mid + step, Decimal(100))]
            )
        for line in _banner(gateway, args, generated):
            print(line, file=out, flush=True)
        commands: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_read_commands, args=(commands,), daemon=True).start()
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while deadline is None or time.monotonic() < deadline:
            try:
                command = commands.get(timeout=0.2)
            except queue.Empty:
                continue
            if command is None:
                continue  # stdin closed: keep serving
            if command.strip() in ("quit", "exit"):
                break
            print(admin_command(gateway, command), file=out, flush=True)
    finally:
        gateway.close()
    return EXIT_OK


def _banner(gateway: Any, args: argparse.Namespace, generated: dict[str, str]) -> list[str]:
    """What ``mock-gateway`` prints on start: ports, then the client command lines to use."""
    ports = ", ".join(f"{k}={v}" for k, v in sorted(gateway.ports.items()))
    lines = [
        f"mock Kalshi gateway ({args.product}) on {args.host} "
        f"({'TLS' if gateway.tls else 'plain TCP'}): {ports}"
    ]
    if gateway.certificate is not None:
        lines.append(f"TLS certificate (clients pin it): {gateway.certificate}")
    for key_id, path in generated.items():
        lines.append(
            f"API key {key_id}: private key {path} (a well-known mock key, removed when the "
            "gateway stops)"
        )
    key_id = next(iter(gateway.keys))
    private = generated.get(key_id)
    symbol = args.market[0] if args.market else "SYMBOL"
    lines.append("connect with:")
    lines.append("  " + gateway.command_line("logon-test", key_id=key_id, private_key=private))
    lines.append(
        "  " + gateway.command_line("md", key_id=key_id, private_key=private, symbols=(symbol,))
    )
    lines.append(
        "admin commands on stdin: seed SYMBOL BID_PX:QTY ASK_PX:QTY | pause [exchange] | "
        "resume | settle SYMBOL yes|no | fault NAME [VALUE] | book SYMBOL | quit"
    )
    return lines


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
            problem = apply_fault(gateway, [*rest[:1], " ".join(rest[1:])] if rest else [])
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
        The exit status: 0 success, 1 failure, 2 usage error, 130 interrupted.
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
    except Exception as exc:  # a bug must not become a traceback: one line, then report it
        what = str(exc) or type(exc).__name__
        print(
            f"kalshi-fix {args.command}: internal error ({type(exc).__name__}: {what}); "
            "please report it",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())

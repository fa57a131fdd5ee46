"""``kalshi-fix decode``: showing a decoded message, as a table (`render_table`) or one JSON
object (`render_json`), secrets always redacted, defects marked, and for a message-log line the
time and direction it crossed the wire (`origin`). The reading of the input is `decode`'s.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, Final

from ..codec.redaction import SECRET_TAGS
from ..observability.messagelog import PLACEHOLDER, printable
from ..trading.prices import PRICE_TAGS, QUANTITY_TAGS, format_price, format_quantity

if TYPE_CHECKING:
    from .. import Defect, FixRecord, Message
    from ..observability.messagelog import LogPrefix

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


def _redacted(value: Any) -> str:
    size = len(value.encode() if isinstance(value, str) else value) if value is not None else 0
    return f"<redacted {size} bytes>"


def _secret_defect(defect: Defect) -> bool:
    if defect.tag in SECRET_TAGS:
        return True
    # a secret under an invalid tag number ("096="): its value is placeholders by now
    value = defect.value
    return (
        defect.tag is None and value is not None and value != b"" and not value.strip(PLACEHOLDER)
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
        return printable(f"{value.value} ({value.name})")
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return printable(value.decode("utf-8", "backslashreplace"))
    return printable(str(value))


def _rows(rec: FixRecord, depth: int, product: str | None) -> Iterator[str]:
    pad = "  " * depth
    for tag, name, value in rec.items():
        if isinstance(value, tuple):
            yield f"{pad}{tag:>6}  {name:<34} {len(value)} entries"
            for i, entry in enumerate(value, 1):
                yield f"{pad}        [{i}]"
                yield from _rows(entry, depth + 2, product)
        elif tag in SECRET_TAGS:
            yield f"{pad}{tag:>6}  {name:<34} {_redacted(value)}"
        elif product is not None and tag in PRICE_TAGS and isinstance(value, Decimal):
            yield f"{pad}{tag:>6}  {name:<34} {format_price(value, product)}"
        elif product is not None and tag in QUANTITY_TAGS and isinstance(value, Decimal):
            yield f"{pad}{tag:>6}  {name:<34} {format_quantity(value, product)}"
        else:
            yield f"{pad}{tag:>6}  {name:<34} {_show(value)}"


def _product(msg: Message) -> str | None:
    """The product of a generated message class (None for an unknown message type)."""
    product = getattr(sys.modules.get(type(msg).__module__), "PRODUCT", None)
    return product if isinstance(product, str) else None


def _msg_type(msg: Message) -> str:
    return str(getattr(msg, "msg_type", None) or msg.MSG_TYPE)


def _trailer(msg: Message) -> Iterator[tuple[int, bytes]]:
    """SignatureLength(93) and Signature(89): standard trailer fields no message class shows."""
    shown = {tag for tag, _ in msg.extra_fields}
    for tag in (93, 89):
        raw = msg.raw_value(tag)
        if raw is not None and tag not in shown:
            yield tag, raw


def origin(prefix: LogPrefix) -> str:
    """When and which way a message-log line's frame crossed the wire, as the demo's
    ``--show-fix`` shows it: ``2026-11-25T09:30:01.123456Z key-1 << KalshiNR`` (``>>`` sent,
    ``<<`` received; a session id without ``/`` follows the arrow whole).

    Args:
        prefix: the line's `LogPrefix <kalshi_fix_sansio.observability.messagelog.LogPrefix>`.

    Returns:
        The text, control characters escaped.
    """
    arrow = ">>" if prefix.direction == "OUT" else "<<"
    session_type, slash, key = prefix.session.partition("/")
    who = f"{key} {arrow} {session_type}" if slash else f"{arrow} {prefix.session}"
    return printable(f"{prefix.time} {who}")


def render_table(
    msg: Message,
    index: int,
    offset: int,
    defects: Sequence[Defect] = (),
    redacted: bool = False,
    product: str | None = None,
    prefix: LogPrefix | None = None,
) -> str:
    """A readable multi-line rendering of one decoded message.

    Typed prices (the fields of FIX type PRICE) show in the product's one format
    (`kalshi_fix_sansio.trading.prices.format_price`: ``$0.40`` on prediction, ``$19.6000`` on margin);
    raw values (fields not in the message, defects) show as on the wire. Secret fields
    (RawData, Signature, Password, NewPassword) show as ``<redacted N bytes>``; each defect is a
    line starting with ``!``. A message read from a line of the adapters' message log names
    the time and direction it crossed the wire after its index (`origin`).

    Args:
        msg: the decoded message.
        index: its 1-based position in the input.
        offset: its byte offset in the input.
        defects: what is wrong with it (`Message.check`).
        redacted: the input had its secrets redacted (CheckSum not verified).
        product: the dialect it was decoded with (default: the message class's).
        prefix: the message-log prefix of its line (None: not a message-log line).

    Returns:
        The text, without a trailing newline.
    """
    from ..codec.spec import FIELDS

    product = product or _product(msg)
    notes = []
    if defects:
        notes.append(f"{len(defects)} defect{'s' if len(defects) != 1 else ''}")
    if redacted:
        notes.append("redacted in the log: CheckSum not verified")
    when = "" if prefix is None else f" {origin(prefix)}"
    name = f"{type(msg).__name__} (35={printable(_msg_type(msg))})"
    title = f"#{index}{when} {name} at byte {offset}"
    lines = [title + (f" [{'; '.join(notes)}]" if notes else "")]
    lines.extend(_rows(msg.header, 1, product))
    lines.extend(_rows(msg, 1, product))
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
        line = f"  ! {where}: {printable(d.text)} (373={d.reason} {_REASONS.get(d.reason, '?')})"
        value = _defect_value(d)
        if value is not None:
            line += f"; value '{printable(value)}'"
        lines.append(line)
    return "\n".join(lines)


def render_json(
    msg: Message,
    index: int,
    offset: int,
    source: str,
    defects: Sequence[Defect] = (),
    redacted: bool = False,
    prefix: LogPrefix | None = None,
) -> str:
    """One message as one line of JSON (secrets redacted, defects listed; ``time``,
    ``direction`` and ``session`` of its message-log line, or null).

    Args:
        msg: the decoded message.
        index: its 1-based position in the input.
        offset: its byte offset in the input.
        source: the input it came from.
        defects: what is wrong with it (`Message.check`).
        redacted: the input had its secrets redacted (CheckSum not verified).
        prefix: the message-log prefix of its line (None: not a message-log line).

    Returns:
        The JSON text.
    """
    from ..codec.spec import FIELDS

    body = _plain(msg.to_dict())
    for tag, raw in _trailer(msg):
        body.setdefault(FIELDS[tag].attr, "<redacted>" if tag in SECRET_TAGS else _plain(raw))
    record = {
        "index": index,
        "source": source,
        "offset": offset,
        "time": None if prefix is None else prefix.time,
        "direction": None if prefix is None else prefix.direction,
        "session": None if prefix is None else prefix.session,
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

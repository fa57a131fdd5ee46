"""The codec: bytes <-> typed messages, from the spec's tables.

Framing (`framing`), values, fields and records, decoding and encoding, the spec's tables
(`spec`, `ranges`), the library's exceptions (`errors`), secret redaction (`redaction`) and the
generated message classes (`_generated`, made by ``python -m codegen``; never edited by hand).

May import: nothing of the package above it (it is the ground floor).
"""

from ._dialects import PRODUCTS, dialect, dialect_codec
from ._encode import encode_message
from ._fields import Defect
from ._generated.common import Header
from ._generated.tables import FIELDS, MESSAGES, SESSIONS, VALUE_RULES, SessionSpec
from ._lines import (
    MAX_LINE_BYTES,
    LineTooLong,
    NotASmallFile,
    log_line,
    read_lines,
    read_small_file,
)
from ._message import FieldReader, FixRecord, Message, UnknownMessage, convert_now, field_reader
from ._values import enc_str, fmt_timestamp
from ._wire import Entries, header_raw

__all__ = [
    "FIELDS",
    "MAX_LINE_BYTES",
    "MESSAGES",
    "PRODUCTS",
    "SESSIONS",
    "VALUE_RULES",
    "Defect",
    "Entries",
    "FieldReader",
    "FixRecord",
    "Header",
    "LineTooLong",
    "Message",
    "NotASmallFile",
    "SessionSpec",
    "UnknownMessage",
    "convert_now",
    "dialect",
    "dialect_codec",
    "enc_str",
    "encode_message",
    "field_reader",
    "fmt_timestamp",
    "header_raw",
    "log_line",
    "read_lines",
    "read_small_file",
]

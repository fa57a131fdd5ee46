"""The codec: bytes <-> typed messages, from the spec's tables.

Framing (`framing`), values, fields and records, decoding and encoding, the spec's tables
(`spec`, `ranges`), the library's exceptions (`errors`), secret redaction (`redaction`) and the
generated message classes (`_generated`, made by ``python -m codegen``; never edited by hand).

Its face names what the floors above use of it (not the user API, which is
`kalshi_fix_sansio` and the public modules). May import: nothing of the package above it (it is the ground floor).
Never a network, loop or clock module (socket, ssl, asyncio, trio, selectors, select,
time: the ``sansio`` contract); time is an argument.
"""

from ._dialects import (
    PRODUCTS as PRODUCTS,
)
from ._dialects import (
    dialect as dialect,
)
from ._dialects import (
    dialect_codec as dialect_codec,
)
from ._encode import (
    encode_message as encode_message,
)
from ._encode import (
    finish_frame as finish_frame,
)
from ._encode import (
    finish_frame_values as finish_frame_values,
)
from ._fields import (
    BEGIN_STRING as BEGIN_STRING,
)
from ._fields import (
    WALK_ERRORS as WALK_ERRORS,
)
from ._fields import (
    Defect as Defect,
)
from ._generated.common import (
    Header as Header,
)
from ._generated.tables import (
    FIELDS as FIELDS,
)
from ._generated.tables import (
    MESSAGES as MESSAGES,
)
from ._generated.tables import (
    SESSIONS as SESSIONS,
)
from ._generated.tables import (
    VALUE_RULES as VALUE_RULES,
)
from ._generated.tables import (
    SessionSpec as SessionSpec,
)
from ._handed import (
    DATE as DATE,
)
from ._handed import (
    DECIMAL as DECIMAL,
)
from ._handed import (
    INT as INT,
)
from ._handed import (
    TEXT as TEXT,
)
from ._handed import (
    TIME as TIME,
)
from ._handed import (
    TIMESTAMP as TIMESTAMP,
)
from ._handed import (
    HandedReader as HandedReader,
)
from ._handed import (
    HandedShape as HandedShape,
)
from ._handed import (
    Vouched as Vouched,
)
from ._handed import (
    frame_shape as frame_shape,
)
from ._handed import (
    plain_date as plain_date,
)
from ._handed import (
    plain_decimal as plain_decimal,
)
from ._handed import (
    plain_text as plain_text,
)
from ._handed import (
    plain_timestamp as plain_timestamp,
)
from ._lines import (
    MAX_LINE_BYTES as MAX_LINE_BYTES,
)
from ._lines import (
    LineTooLong as LineTooLong,
)
from ._lines import (
    NotASmallFile as NotASmallFile,
)
from ._lines import (
    log_line as log_line,
)
from ._lines import (
    read_lines as read_lines,
)
from ._lines import (
    read_small_file as read_small_file,
)
from ._message import (
    FieldReader as FieldReader,
)
from ._message import (
    FixRecord as FixRecord,
)
from ._message import (
    Message as Message,
)
from ._message import (
    UnknownMessage as UnknownMessage,
)
from ._message import (
    convert_now as convert_now,
)
from ._message import (
    field_reader as field_reader,
)
from ._valuecheck import (
    LayoutScan as LayoutScan,
)
from ._valuecheck import (
    layout_scan as layout_scan,
)
from ._values import (
    enc_date as enc_date,
)
from ._values import (
    enc_decimal as enc_decimal,
)
from ._values import (
    enc_dollars as enc_dollars,
)
from ._values import (
    enc_int as enc_int,
)
from ._values import (
    enc_str as enc_str,
)
from ._values import (
    enc_time as enc_time,
)
from ._values import (
    fmt_timestamp as fmt_timestamp,
)
from ._wire import (
    LEVEL_NUMBERS as LEVEL_NUMBERS,
)
from ._wire import (
    Entries as Entries,
)
from ._wire import (
    header_raw as header_raw,
)
from ._wire import (
    level_changes as level_changes,
)
from ._wire import (
    level_places as level_places,
)
from ._wire import (
    trade_values as trade_values,
)

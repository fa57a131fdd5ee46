"""kalshi-fix-sansio: a sans-IO FIX engine for Kalshi's FIX API (prediction and margin).

The dialect modules `kalshi_fix_sansio.prediction` and `kalshi_fix_sansio.margin` hold the
generated message classes with `decode()` / `encode()`; `Framer` turns a byte stream into frames.
"""

from ._generated.common import Header
from ._message import FixRecord, Message, UnknownMessage
from .errors import (
    DecodeError,
    EncodeError,
    FixError,
    LocalProtocolError,
    PriceUnitError,
)
from .framing import DEFAULT_MAX_MESSAGE_SIZE, Frame, Framer, Garbled, checksum

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DecodeError",
    "EncodeError",
    "FixError",
    "FixRecord",
    "Frame",
    "Framer",
    "Garbled",
    "Header",
    "LocalProtocolError",
    "Message",
    "PriceUnitError",
    "UnknownMessage",
    "__version__",
    "checksum",
]

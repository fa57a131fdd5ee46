"""kalshi-fix-sansio: a sans-IO FIX engine for Kalshi's FIX API (prediction and margin).

* `prediction` / `margin`: the generated message classes with `decode()` / `encode()`;
* `Framer`: a byte stream into frames;
* `Session` + `SessionConfig`: the session state machine (bytes in, events and bytes out);
* `MemoryStore` / `FileStore`: message stores; `load_signer` & co: Logon signing keys.
"""

from ._generated.common import Header
from ._message import Defect, FixRecord, Message, UnknownMessage
from ._states import State
from .auth import (
    Ed25519Signer,
    KeyLoadError,
    PublicKey,
    RsaPssSigner,
    Signer,
    load_public_key,
    load_signer,
    load_signer_file,
)
from .config import Role, SessionConfig
from .errors import (
    DecodeError,
    EncodeError,
    FixError,
    LocalProtocolError,
    PriceUnitError,
    RemoteProtocolError,
)
from .events import (
    NEED_DATA,
    ApplicationMessage,
    BusinessRejectReceived,
    CloseTransport,
    DecodeFailure,
    Event,
    GapDetected,
    GarbledData,
    LoggedOn,
    LoggedOut,
    LogonRejected,
    RejectReceived,
    ResendRequestReceived,
    ResendRequestSent,
    SequenceReset,
    TestRequestSent,
    Timeout,
)
from .filestore import FileStore
from .framing import DEFAULT_MAX_MESSAGE_SIZE, Frame, Framer, Garbled, checksum
from .session import Session
from .store import MemoryStore, MessageStore, StoreError

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "NEED_DATA",
    "ApplicationMessage",
    "BusinessRejectReceived",
    "CloseTransport",
    "DecodeError",
    "DecodeFailure",
    "Defect",
    "Ed25519Signer",
    "EncodeError",
    "Event",
    "FileStore",
    "FixError",
    "FixRecord",
    "Frame",
    "Framer",
    "GapDetected",
    "Garbled",
    "GarbledData",
    "Header",
    "KeyLoadError",
    "LocalProtocolError",
    "LoggedOn",
    "LoggedOut",
    "LogonRejected",
    "MemoryStore",
    "Message",
    "MessageStore",
    "PriceUnitError",
    "PublicKey",
    "RejectReceived",
    "RemoteProtocolError",
    "ResendRequestReceived",
    "ResendRequestSent",
    "Role",
    "RsaPssSigner",
    "SequenceReset",
    "Session",
    "SessionConfig",
    "Signer",
    "State",
    "StoreError",
    "TestRequestSent",
    "Timeout",
    "UnknownMessage",
    "__version__",
    "checksum",
    "load_public_key",
    "load_signer",
    "load_signer_file",
]

"""kalshi-fix-sansio: a sans-IO FIX engine for Kalshi's FIX API (prediction and margin).

* `prediction` / `margin`: the generated message classes with `decode()` / `encode()`;
* `Framer`: a byte stream into frames;
* `Session` + `SessionConfig`: the session state machine (bytes in, events and bytes out);
* `MemoryStore` / `FileStore`: message stores; `load_signer` & co: Logon signing keys.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers; at run time they load on first use
    from ._fields import Defect
    from ._generated.common import Header
    from ._message import FixRecord, Message, UnknownMessage
    from ._states import State
    from ._wire import Entries
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
    from .book import Book, BookInconsistency, Books, BookUpdates, InconsistencyReason
    from .builders import ClOrdIDGenerator, RequestError, Requests
    from .catchup import (
        CatchUp,
        CatchUpComplete,
        CatchUpFailed,
        CatchUpStarted,
        ExecCursor,
        OrdersNotReceived,
        OrdersUnknown,
    )
    from .config import Role, SessionConfig
    from .driver import (
        Driver,
        EventQueueOverflow,
        EventsNotRead,
        FallingBehind,
        MarketDataFolded,
        QueuePolicy,
        TrackingFailed,
    )
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
        RateLimited,
        RejectReceived,
        ResendRequestReceived,
        ResendRequestSent,
        ResubscriptionRefused,
        SequenceReset,
        TestRequestSent,
        Timeout,
    )
    from .filestore import FileStore
    from .framing import DEFAULT_MAX_MESSAGE_SIZE, Frame, Framer, Garbled, checksum
    from .gate import OrderGate, TradingHalt, TradingHalted
    from .killswitch import (
        KillFinished,
        KillReport,
        KillRequest,
        KillStarted,
        KillSwitch,
        StillOpen,
    )
    from .metrics import HistogramSnapshot, MetricsSnapshot, SessionMetrics
    from .ratelimit import RateLimiter, RateLimitExceeded
    from .risk import RiskChecker, RiskLimitExceeded, RiskLimits, SymbolLimits
    from .session import Session
    from .settlement import (
        IncompleteSettlement,
        SettlementAssembler,
        SettlementProblem,
        SettlementReport,
        SettlementUpdate,
    )
    from .store import MemoryStore, MessageStore, StoreError
    from .supervisor import (
        Backoff,
        ConnectionFailed,
        Disconnected,
        LogonRefused,
        Reconnected,
        Reconnecting,
        Supervisor,
        SupervisorState,
        TransportError,
    )
    from .tracker import OrderRejected, OrderStatus, OrderTracker, TrackedOrder

# name -> the module that defines it: the package imports nothing until a name is used, so
# `import kalshi_fix_sansio.cli` (kalshi-fix --help) or the framer alone do not load both
# generated dialects (PEP 562)
_LAZY: dict[str, str] = {
    "Header": "._generated.common",
    "Defect": "._fields",
    "FixRecord": "._message",
    "Message": "._message",
    "UnknownMessage": "._message",
    "Entries": "._wire",
    "State": "._states",
    "Ed25519Signer": ".auth",
    "KeyLoadError": ".auth",
    "PublicKey": ".auth",
    "RsaPssSigner": ".auth",
    "Signer": ".auth",
    "load_public_key": ".auth",
    "load_signer": ".auth",
    "load_signer_file": ".auth",
    "Book": ".book",
    "BookInconsistency": ".book",
    "BookUpdates": ".book",
    "Books": ".book",
    "InconsistencyReason": ".book",
    "ClOrdIDGenerator": ".builders",
    "RequestError": ".builders",
    "Requests": ".builders",
    "CatchUp": ".catchup",
    "CatchUpComplete": ".catchup",
    "CatchUpFailed": ".catchup",
    "CatchUpStarted": ".catchup",
    "ExecCursor": ".catchup",
    "Driver": ".driver",
    "EventQueueOverflow": ".driver",
    "EventsNotRead": ".driver",
    "FallingBehind": ".driver",
    "MarketDataFolded": ".driver",
    "QueuePolicy": ".driver",
    "TrackingFailed": ".driver",
    "Role": ".config",
    "SessionConfig": ".config",
    "DecodeError": ".errors",
    "EncodeError": ".errors",
    "FixError": ".errors",
    "LocalProtocolError": ".errors",
    "PriceUnitError": ".errors",
    "RemoteProtocolError": ".errors",
    "ApplicationMessage": ".events",
    "BusinessRejectReceived": ".events",
    "CloseTransport": ".events",
    "ResubscriptionRefused": ".events",
    "DecodeFailure": ".events",
    "Event": ".events",
    "GapDetected": ".events",
    "GarbledData": ".events",
    "LoggedOn": ".events",
    "LoggedOut": ".events",
    "LogonRejected": ".events",
    "NEED_DATA": ".events",
    "RateLimited": ".events",
    "RejectReceived": ".events",
    "ResendRequestReceived": ".events",
    "ResendWithheld": ".events",
    "ResendRequestSent": ".events",
    "SequenceReset": ".events",
    "TestRequestSent": ".events",
    "Timeout": ".events",
    "FileStore": ".filestore",
    "DEFAULT_MAX_MESSAGE_SIZE": ".framing",
    "Frame": ".framing",
    "Framer": ".framing",
    "Garbled": ".framing",
    "checksum": ".framing",
    "Session": ".session",
    "RateLimitExceeded": ".ratelimit",
    "RateLimiter": ".ratelimit",
    "RiskChecker": ".risk",
    "RiskLimitExceeded": ".risk",
    "RiskLimits": ".risk",
    "SymbolLimits": ".risk",
    "MemoryStore": ".store",
    "MessageStore": ".store",
    "StoreError": ".store",
    "Backoff": ".supervisor",
    "ConnectionFailed": ".supervisor",
    "Disconnected": ".supervisor",
    "LogonRefused": ".supervisor",
    "Reconnected": ".supervisor",
    "Reconnecting": ".supervisor",
    "Supervisor": ".supervisor",
    "SupervisorState": ".supervisor",
    "TransportError": ".supervisor",
    "IncompleteSettlement": ".settlement",
    "SettlementAssembler": ".settlement",
    "SettlementProblem": ".settlement",
    "SettlementReport": ".settlement",
    "SettlementUpdate": ".settlement",
    "KillReport": ".killswitch",
    "KillRequest": ".killswitch",
    "KillSwitch": ".killswitch",
    "StillOpen": ".killswitch",
    "TradingHalted": ".gate",
    "OrderGate": ".gate",
    "TradingHalt": ".gate",
    "KillStarted": ".killswitch",
    "OrdersNotReceived": ".catchup",
    "OrdersUnknown": ".catchup",
    "KillFinished": ".killswitch",
    "HistogramSnapshot": ".metrics",
    "MetricsSnapshot": ".metrics",
    "SessionMetrics": ".metrics",
    "OrderRejected": ".tracker",
    "OrderStatus": ".tracker",
    "OrderTracker": ".tracker",
    "TrackedOrder": ".tracker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"
"""The version of the library (also ``kalshi-fix --version``)."""

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "NEED_DATA",
    "ApplicationMessage",
    "Backoff",
    "Book",
    "BookInconsistency",
    "BookUpdates",
    "Books",
    "BusinessRejectReceived",
    "CatchUp",
    "CatchUpComplete",
    "CatchUpFailed",
    "CatchUpStarted",
    "ClOrdIDGenerator",
    "CloseTransport",
    "ConnectionFailed",
    "DecodeError",
    "DecodeFailure",
    "Defect",
    "Disconnected",
    "Driver",
    "Ed25519Signer",
    "EncodeError",
    "Entries",
    "Event",
    "EventQueueOverflow",
    "EventsNotRead",
    "ExecCursor",
    "FallingBehind",
    "FileStore",
    "FixError",
    "FixRecord",
    "Frame",
    "Framer",
    "GapDetected",
    "Garbled",
    "GarbledData",
    "Header",
    "HistogramSnapshot",
    "IncompleteSettlement",
    "InconsistencyReason",
    "KeyLoadError",
    "KillFinished",
    "KillReport",
    "KillRequest",
    "KillStarted",
    "KillSwitch",
    "LocalProtocolError",
    "LoggedOn",
    "LoggedOut",
    "LogonRefused",
    "LogonRejected",
    "MarketDataFolded",
    "MemoryStore",
    "Message",
    "MessageStore",
    "MetricsSnapshot",
    "OrderGate",
    "OrderRejected",
    "OrderStatus",
    "OrderTracker",
    "OrdersNotReceived",
    "OrdersUnknown",
    "PriceUnitError",
    "PublicKey",
    "QueuePolicy",
    "RateLimitExceeded",
    "RateLimited",
    "RateLimiter",
    "Reconnected",
    "Reconnecting",
    "RejectReceived",
    "RemoteProtocolError",
    "RequestError",
    "Requests",
    "ResendRequestReceived",
    "ResendRequestSent",
    "ResendWithheld",
    "ResubscriptionRefused",
    "RiskChecker",
    "RiskLimitExceeded",
    "RiskLimits",
    "Role",
    "RsaPssSigner",
    "SequenceReset",
    "Session",
    "SessionConfig",
    "SessionMetrics",
    "SettlementAssembler",
    "SettlementProblem",
    "SettlementReport",
    "SettlementUpdate",
    "Signer",
    "State",
    "StillOpen",
    "StoreError",
    "Supervisor",
    "SupervisorState",
    "SymbolLimits",
    "TestRequestSent",
    "Timeout",
    "TrackedOrder",
    "TrackingFailed",
    "TradingHalt",
    "TradingHalted",
    "TransportError",
    "UnknownMessage",
    "__version__",
    "checksum",
    "load_public_key",
    "load_signer",
    "load_signer_file",
]

"""kalshi-fix-sansio: a sans-IO FIX engine for Kalshi's FIX API (prediction and margin).

* `prediction` / `margin`: the generated message classes with `decode()` / `encode()`;
* `Framer`: a byte stream into frames;
* `Session` + `SessionConfig`: the session state machine (bytes in, events and bytes out);
* `MemoryStore` / `FileStore`: message stores; `load_signer` & co: Logon signing keys.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers; at run time they load on first use
    from .client.driver import Driver, EventsNotRead, TrackingFailed
    from .client.events import EventQueueOverflow, FallingBehind, MarketDataFolded, QueuePolicy
    from .client.reconnect import Backoff
    from .client.supervisor import (
        ConnectionFailed,
        Disconnected,
        LogonRefused,
        Reconnected,
        Reconnecting,
        Supervisor,
        SupervisorState,
        WaitingOutMaintenance,
    )
    from .codec import (
        Defect,
        Entries,
        FixRecord,
        Header,
        Message,
        UnknownMessage,
        margin,
        prediction,
    )
    from .codec.errors import (
        DecodeError,
        EncodeError,
        FixError,
        LocalProtocolError,
        PriceUnitError,
        RemoteProtocolError,
        TransportError,
    )
    from .codec.framing import DEFAULT_MAX_MESSAGE_SIZE, Frame, Framer, Garbled, checksum
    from .observability.metrics import HistogramSnapshot, MetricsSnapshot, SessionMetrics
    from .session import State
    from .session.auth import (
        Ed25519Signer,
        KeyLoadError,
        PublicKey,
        RsaPssSigner,
        Signer,
        load_public_key,
        load_signer,
        load_signer_file,
    )
    from .session.config import Role, SessionConfig
    from .session.events import (
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
    from .session.filestore import FileStore
    from .session.machine import Session
    from .session.ratelimit import RateLimiter, RateLimitExceeded
    from .session.store import MemoryStore, MessageStore, StoreError
    from .trading.book import Book, BookInconsistency, Books, BookUpdates, InconsistencyReason
    from .trading.builders import ClOrdIDGenerator, RequestError, Requests
    from .trading.catchup import (
        CatchUp,
        CatchUpComplete,
        CatchUpFailed,
        CatchUpStarted,
        ExecCursor,
        OrdersNotReceived,
        OrdersUnknown,
    )
    from .trading.deadman import DeadMansSwitch, DeadMansSwitchFired
    from .trading.gate import (
        OrderGate,
        OutcomeUnknown,
        ReduceOnlyRefused,
        TradingHalt,
        TradingHalted,
        TradingState,
        TradingStateChanged,
    )
    from .trading.haltfile import HaltFile
    from .trading.killswitch import (
        HaltSource,
        KillFinished,
        KillReport,
        KillRequest,
        KillStarted,
        KillSwitch,
        OutsideHalt,
        StillOpen,
    )
    from .trading.outcomes import FillsUnknown, OutcomesAsked
    from .trading.risk import (
        EventLimit,
        RiskChecker,
        RiskLimitExceeded,
        RiskLimits,
        SymbolLimits,
    )
    from .trading.settlement import (
        IncompleteSettlement,
        SettlementAssembler,
        SettlementProblem,
        SettlementReport,
        SettlementUpdate,
    )
    from .trading.tracker import (
        FillInferred,
        OrderNotFound,
        OrderRejected,
        OrderStatus,
        OrderTracker,
        TrackedOrder,
    )

# name -> the module that defines it: the package imports nothing until a name is used, so
# `import kalshi_fix_sansio.cli` (kalshi-fix --help) or the framer alone do not load both
# generated dialects (PEP 562)
_LAZY: dict[str, str] = {
    "Header": ".codec",
    "Defect": ".codec",
    "FixRecord": ".codec",
    "Message": ".codec",
    "UnknownMessage": ".codec",
    "Entries": ".codec",
    "State": ".session",
    "Ed25519Signer": ".session.auth",
    "KeyLoadError": ".session.auth",
    "PublicKey": ".session.auth",
    "RsaPssSigner": ".session.auth",
    "Signer": ".session.auth",
    "load_public_key": ".session.auth",
    "load_signer": ".session.auth",
    "load_signer_file": ".session.auth",
    "Book": ".trading.book",
    "BookInconsistency": ".trading.book",
    "BookUpdates": ".trading.book",
    "Books": ".trading.book",
    "InconsistencyReason": ".trading.book",
    "ClOrdIDGenerator": ".trading.builders",
    "RequestError": ".trading.builders",
    "Requests": ".trading.builders",
    "CatchUp": ".trading.catchup",
    "CatchUpComplete": ".trading.catchup",
    "CatchUpFailed": ".trading.catchup",
    "CatchUpStarted": ".trading.catchup",
    "ExecCursor": ".trading.catchup",
    "Driver": ".client.driver",
    "EventQueueOverflow": ".client.events",
    "EventsNotRead": ".client.driver",
    "FallingBehind": ".client.events",
    "MarketDataFolded": ".client.events",
    "QueuePolicy": ".client.events",
    "TrackingFailed": ".client.driver",
    "Role": ".session.config",
    "SessionConfig": ".session.config",
    "DecodeError": ".codec.errors",
    "EncodeError": ".codec.errors",
    "FixError": ".codec.errors",
    "LocalProtocolError": ".codec.errors",
    "PriceUnitError": ".codec.errors",
    "RemoteProtocolError": ".codec.errors",
    "ApplicationMessage": ".session.events",
    "BusinessRejectReceived": ".session.events",
    "CloseTransport": ".session.events",
    "ResubscriptionRefused": ".session.events",
    "DecodeFailure": ".session.events",
    "Event": ".session.events",
    "GapDetected": ".session.events",
    "GarbledData": ".session.events",
    "LoggedOn": ".session.events",
    "LoggedOut": ".session.events",
    "LogonRejected": ".session.events",
    "NEED_DATA": ".session.events",
    "RateLimited": ".session.events",
    "RejectReceived": ".session.events",
    "ResendRequestReceived": ".session.events",
    "ResendWithheld": ".session.events",
    "ResendRequestSent": ".session.events",
    "SequenceReset": ".session.events",
    "TestRequestSent": ".session.events",
    "Timeout": ".session.events",
    "FileStore": ".session.filestore",
    "DEFAULT_MAX_MESSAGE_SIZE": ".codec.framing",
    "Frame": ".codec.framing",
    "Framer": ".codec.framing",
    "Garbled": ".codec.framing",
    "checksum": ".codec.framing",
    "Session": ".session.machine",
    "RateLimitExceeded": ".session.ratelimit",
    "RateLimiter": ".session.ratelimit",
    "EventLimit": ".trading.risk",
    "RiskChecker": ".trading.risk",
    "RiskLimitExceeded": ".trading.risk",
    "RiskLimits": ".trading.risk",
    "SymbolLimits": ".trading.risk",
    "MemoryStore": ".session.store",
    "MessageStore": ".session.store",
    "StoreError": ".session.store",
    "Backoff": ".client.reconnect",
    "ConnectionFailed": ".client.supervisor",
    "Disconnected": ".client.supervisor",
    "LogonRefused": ".client.supervisor",
    "Reconnected": ".client.supervisor",
    "Reconnecting": ".client.supervisor",
    "Supervisor": ".client.supervisor",
    "SupervisorState": ".client.supervisor",
    "TransportError": ".codec.errors",
    "WaitingOutMaintenance": ".client.supervisor",
    "IncompleteSettlement": ".trading.settlement",
    "SettlementAssembler": ".trading.settlement",
    "SettlementProblem": ".trading.settlement",
    "SettlementReport": ".trading.settlement",
    "SettlementUpdate": ".trading.settlement",
    "KillReport": ".trading.killswitch",
    "KillRequest": ".trading.killswitch",
    "KillSwitch": ".trading.killswitch",
    "StillOpen": ".trading.killswitch",
    "TradingHalted": ".trading.gate",
    "OrderGate": ".trading.gate",
    "TradingHalt": ".trading.gate",
    "TradingState": ".trading.gate",
    "TradingStateChanged": ".trading.gate",
    "ReduceOnlyRefused": ".trading.gate",
    "OutcomeUnknown": ".trading.gate",
    "OutcomesAsked": ".trading.outcomes",
    "FillsUnknown": ".trading.outcomes",
    "KillStarted": ".trading.killswitch",
    "OrdersNotReceived": ".trading.catchup",
    "OrdersUnknown": ".trading.catchup",
    "KillFinished": ".trading.killswitch",
    "HaltSource": ".trading.killswitch",
    "OutsideHalt": ".trading.killswitch",
    "HaltFile": ".trading.haltfile",
    "DeadMansSwitch": ".trading.deadman",
    "DeadMansSwitchFired": ".trading.deadman",
    "OrderNotFound": ".trading.tracker",
    "HistogramSnapshot": ".observability.metrics",
    "MetricsSnapshot": ".observability.metrics",
    "SessionMetrics": ".observability.metrics",
    "OrderRejected": ".trading.tracker",
    "OrderStatus": ".trading.tracker",
    "OrderTracker": ".trading.tracker",
    "FillInferred": ".trading.tracker",
    "TrackedOrder": ".trading.tracker",
}


#: The two dialect modules, loaded on first use: ``from kalshi_fix_sansio import prediction``.
_DIALECTS = {"prediction": ".codec.prediction", "margin": ".codec.margin"}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _DIALECTS:
        value = importlib.import_module(_DIALECTS[name], __name__)
        globals()[name] = value
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_DIALECTS))


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
    "DeadMansSwitch",
    "DeadMansSwitchFired",
    "DecodeError",
    "DecodeFailure",
    "Defect",
    "Disconnected",
    "Driver",
    "Ed25519Signer",
    "EncodeError",
    "Entries",
    "Event",
    "EventLimit",
    "EventQueueOverflow",
    "EventsNotRead",
    "ExecCursor",
    "FallingBehind",
    "FileStore",
    "FillInferred",
    "FillsUnknown",
    "FixError",
    "FixRecord",
    "Frame",
    "Framer",
    "GapDetected",
    "Garbled",
    "GarbledData",
    "HaltFile",
    "HaltSource",
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
    "OrderNotFound",
    "OrderRejected",
    "OrderStatus",
    "OrderTracker",
    "OrdersNotReceived",
    "OrdersUnknown",
    "OutcomeUnknown",
    "OutcomesAsked",
    "OutsideHalt",
    "PriceUnitError",
    "PublicKey",
    "QueuePolicy",
    "RateLimitExceeded",
    "RateLimited",
    "RateLimiter",
    "Reconnected",
    "Reconnecting",
    "ReduceOnlyRefused",
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
    "TradingState",
    "TradingStateChanged",
    "TransportError",
    "UnknownMessage",
    "WaitingOutMaintenance",
    "__version__",
    "checksum",
    "load_public_key",
    "load_signer",
    "load_signer_file",
    "margin",
    "prediction",
]

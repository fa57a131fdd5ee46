"""The client above the FIX session, whatever the loop runs it.

What a client is configured with does not depend on asyncio, trio or threads, so it lives here,
in the sans-IO package, and every adapter takes it alike: where to connect (`Endpoint`,
`kalshi_endpoint`, `check_endpoint`, `loopback_addresses`, `KALSHI_FIX_HOSTS`), the API key
(`Credentials`), kalshi-sdk's callbacks as one ``on_event`` (`SdkCallbacks`), TLS settings
as data (`TLSSettings`, `tls_settings`; the pumps of `kalshi_fix_sansio.adapters` build the
contexts: ``make_ssl_context`` & co) and the warning of a weak context
(`InsecureTLSWarning`), a connection's options (`ConnectOptions`) and where they lead
(`describe_target`), the FIX message log (`MessageLog`, `MessageLogError`), the bounds of the
transport (`READ_CHUNK`, `MAX_BUFFERED_OUTBOUND`, `MAX_QUEUED_EVENTS`, `KILL_TIMEOUT`,
`IDLE_HANDOFF`) and the loggers (`session_logger`, `SESSION_LOGGER_NAME`, `TRANSPORT_LOGGER_NAME`,
`MESSAGE_LOGGER_NAME`).

What a client's session tells and takes, whatever the loop, is here too (each documented in
its own module): the reconnect policy (`Backoff`, `ReconnectPlan`, `reconnect_plan`, Kalshi's
maintenance window) and the connection events and errors (`Disconnected`, `Reconnecting`,
`Reconnected`, `TransportError`, `ConnectionFailed`, `LogonRefused`), drop-copy catch-up
(`ExecCursor`, `CatchUpStarted`, `CatchUpComplete`, `CatchUpFailed`), what a slow application
is told (`QueuePolicy`, `FallingBehind`, `MarketDataFolded`, `EventQueueOverflow`), pre-trade
limits (`RiskLimits`, `SymbolLimits`, `RiskLimitExceeded`), the kill switch's report and halts
(`KillReport`, `TradingHalted`, `HaltFile`, `OutsideHalt`, `OrderNotFound`) and what a session
counts (`SessionMetrics`, `MetricsSnapshot`).

`kalshi_fix_sansio.adapters` re-exports every name here: ``from kalshi_fix_sansio.adapters
import Endpoint`` and ``from kalshi_fix_sansio.client import Endpoint`` give the same class.
May import: the REST layer and below. Never a network, loop or clock module (socket, ssl,
asyncio, trio, selectors, select, time: the ``sansio`` contract): the pumps build the TLS
contexts and read the clocks; time is an argument.
"""

from ..observability import MESSAGE_LOGGER_NAME, MessageLog, MessageLogError
from ..observability.metrics import MetricsSnapshot, SessionMetrics
from ..session import Credentials
from ..trading.catchup import CatchUpComplete, CatchUpFailed, CatchUpStarted, ExecCursor
from ..trading.haltfile import HaltFile
from ..trading.killswitch import KillReport, OutsideHalt, TradingHalted
from ..trading.risk import RiskLimitExceeded, RiskLimits, SymbolLimits
from ..trading.tracker import OrderNotFound
from ._clientbase import MAX_QUEUED_EVENTS
from ._clientoptions import ConnectOptions, describe_target
from ._endpoints import (
    KALSHI_FIX_HOSTS,
    Endpoint,
    check_endpoint,
    kalshi_endpoint,
    loopback_addresses,
)
from ._sdkcompat import SdkCallbacks
from ._sessionapi import IDLE_HANDOFF, KILL_TIMEOUT
from ._tlsconfig import InsecureTLSWarning, TLSSettings, tls_settings
from ._transport import (
    MAX_BUFFERED_OUTBOUND,
    READ_CHUNK,
    SESSION_LOGGER_NAME,
    TRANSPORT_LOGGER_NAME,
    session_logger,
)
from .driver import EventQueueOverflow, FallingBehind, MarketDataFolded, QueuePolicy
from .supervisor import (
    Backoff,
    ConnectionFailed,
    Disconnected,
    LogonRefused,
    Reconnected,
    Reconnecting,
    ReconnectPlan,
    TransportError,
    WaitingOutMaintenance,
    in_maintenance_window,
    reconnect_plan,
    seconds_until_maintenance_ends,
)

__all__ = [
    "IDLE_HANDOFF",
    "KALSHI_FIX_HOSTS",
    "KILL_TIMEOUT",
    "MAX_BUFFERED_OUTBOUND",
    "MAX_QUEUED_EVENTS",
    "MESSAGE_LOGGER_NAME",
    "READ_CHUNK",
    "SESSION_LOGGER_NAME",
    "TRANSPORT_LOGGER_NAME",
    "Backoff",
    "CatchUpComplete",
    "CatchUpFailed",
    "CatchUpStarted",
    "ConnectOptions",
    "ConnectionFailed",
    "Credentials",
    "Disconnected",
    "Endpoint",
    "EventQueueOverflow",
    "ExecCursor",
    "FallingBehind",
    "HaltFile",
    "InsecureTLSWarning",
    "KillReport",
    "LogonRefused",
    "MarketDataFolded",
    "MessageLog",
    "MessageLogError",
    "MetricsSnapshot",
    "OrderNotFound",
    "OutsideHalt",
    "QueuePolicy",
    "ReconnectPlan",
    "Reconnected",
    "Reconnecting",
    "RiskLimitExceeded",
    "RiskLimits",
    "SdkCallbacks",
    "SessionMetrics",
    "SymbolLimits",
    "TLSSettings",
    "TradingHalted",
    "TransportError",
    "WaitingOutMaintenance",
    "check_endpoint",
    "describe_target",
    "in_maintenance_window",
    "kalshi_endpoint",
    "loopback_addresses",
    "reconnect_plan",
    "seconds_until_maintenance_ends",
    "session_logger",
    "tls_settings",
]

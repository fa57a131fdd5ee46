"""Transport adapters: put a `kalshi_fix_sansio.Session` on the wire.

`kalshi_fix_sansio.adapters.blocking`, `.asyncio` and `.trio` each pump bytes between a TLS
socket and the sans-IO core and drive its timers; they make no protocol decision.

This package is the public home of everything the three adapters share: where to connect
(`Endpoint`, `kalshi_endpoint`), how to secure it (`make_ssl_context`), the reconnect policy
(`Backoff`), credentials (`Credentials`), the FIX message log (`MessageLog`), connection
options (`ConnectOptions`) and where they lead (`describe_target`), the errors
(`TransportError`, `ConnectionFailed`, `LogonRefused`, `CertificateRefused`,
`EventQueueOverflow`, `MessageLogError`) and the warning of a weak TLS context
(`InsecureTLSWarning`), the connection
events (`Disconnected`, `Reconnecting`, `Reconnected`), drop-copy catch-up (`ExecCursor`,
`CatchUpStarted`, `CatchUpComplete`, `CatchUpFailed`) and what a slow application is told
(`QueuePolicy`, `FallingBehind`, `MarketDataFolded`), pre-trade risk limits (`RiskLimits`,
`SymbolLimits`, `RiskLimitExceeded`), the kill switch's report and halts (`KillReport`,
`TradingHalted`, `HaltFile`: the halt from the shell, `OutsideHalt`, `OrderNotFound`), what a
session counts (``session.metrics``:
`SessionMetrics`, `MetricsSnapshot`) and its logger (`session_logger`). Import the
adapter itself from its module (``kalshi_fix_sansio.adapters.blocking`` & co): the trio
adapter needs the ``trio`` extra, so it is not imported here. The Prometheus exporter is
`kalshi_fix_sansio.metrics_prometheus` (the ``prometheus`` extra).
"""

from kalshi_fix_sansio.catchup import CatchUpComplete, CatchUpFailed, CatchUpStarted, ExecCursor
from kalshi_fix_sansio.client import (
    KALSHI_FIX_HOSTS,
    KILL_TIMEOUT,
    MAX_BUFFERED_OUTBOUND,
    MAX_QUEUED_EVENTS,
    MESSAGE_LOGGER_NAME,
    READ_CHUNK,
    SESSION_LOGGER_NAME,
    TRANSPORT_LOGGER_NAME,
    CertificateRefused,
    ConnectOptions,
    Credentials,
    Endpoint,
    InsecureTLSWarning,
    MessageLog,
    MessageLogError,
    check_endpoint,
    describe_target,
    kalshi_endpoint,
    loopback_addresses,
    make_ssl_context,
    session_logger,
    ssl_context_for,
    tls_weaknesses,
)
from kalshi_fix_sansio.driver import (
    EventQueueOverflow,
    FallingBehind,
    MarketDataFolded,
    QueuePolicy,
)
from kalshi_fix_sansio.haltfile import HaltFile
from kalshi_fix_sansio.killswitch import KillReport, OutsideHalt, TradingHalted
from kalshi_fix_sansio.metrics import MetricsSnapshot, SessionMetrics
from kalshi_fix_sansio.risk import RiskLimitExceeded, RiskLimits, SymbolLimits
from kalshi_fix_sansio.supervisor import (
    Backoff,
    ConnectionFailed,
    Disconnected,
    LogonRefused,
    Reconnected,
    Reconnecting,
    ReconnectPlan,
    TransportError,
    in_maintenance_window,
    reconnect_plan,
    seconds_until_maintenance_ends,
)
from kalshi_fix_sansio.tracker import OrderNotFound

__all__ = [
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
    "CertificateRefused",
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
    "SessionMetrics",
    "SymbolLimits",
    "TradingHalted",
    "TransportError",
    "check_endpoint",
    "describe_target",
    "in_maintenance_window",
    "kalshi_endpoint",
    "loopback_addresses",
    "make_ssl_context",
    "reconnect_plan",
    "seconds_until_maintenance_ends",
    "session_logger",
    "ssl_context_for",
    "tls_weaknesses",
]

"""Transport adapters: put a `kalshi_fix_sansio.Session` on the wire.

`kalshi_fix_sansio.adapters.blocking`, `.asyncio` and `.trio` each pump bytes between a TLS
socket and the sans-IO core and drive its timers; they make no protocol decision.

The TLS contexts are the pumps' own, here: `make_ssl_context` (the library's context),
`build_ssl_context` (the same from `TLSSettings`), `ssl_context_for` (the context a pump uses),
`tls_weaknesses`, `connect_error` and `CertificateRefused` (a refused certificate), and
`WOULD_BLOCK` (what a non-blocking socket raises): the sans-IO client below loads no ``ssl``.

This package re-exports everything the three adapters share, whose home is
`kalshi_fix_sansio.client` (the client, whatever its loop): where to connect
(`Endpoint`, `kalshi_endpoint`), how to secure it (`TLSSettings`), the reconnect policy
(`Backoff`), credentials (`Credentials`), the FIX message log (`MessageLog`), connection
options (`ConnectOptions`) and where they lead (`describe_target`), the errors
(`TransportError`, `ConnectionFailed`, `LogonRefused`, `CertificateRefused`,
`EventQueueOverflow`, `MessageLogError`) and the warning of a weak TLS context
(`InsecureTLSWarning`), the connection
events (`Disconnected`, `Reconnecting`, `Reconnected`, `WaitingOutMaintenance`), drop-copy catch-up (`ExecCursor`,
`CatchUpStarted`, `CatchUpComplete`, `CatchUpFailed`) and what a slow application is told
(`QueuePolicy`, `FallingBehind`, `MarketDataFolded`), pre-trade risk limits (`RiskLimits`,
`SymbolLimits`, `RiskLimitExceeded`), the kill switch's report and halts (`KillReport`,
`TradingHalted`, `HaltFile`: the halt from the shell, `OutsideHalt`, `OrderNotFound`), what a
session counts (``session.metrics``:
`SessionMetrics`, `MetricsSnapshot`) and its logger (`session_logger`). Import the
adapter itself from its module (``kalshi_fix_sansio.adapters.blocking`` & co): the trio
adapter needs the ``trio`` extra, so it is not imported here. The Prometheus exporter is
`kalshi_fix_sansio.observability.metrics_prometheus` (the ``prometheus`` extra).
"""

from kalshi_fix_sansio.client import *  # noqa: F403 (the names every adapter shares)
from kalshi_fix_sansio.client import __all__ as _client_names

from ._tls import (
    WOULD_BLOCK,
    CertificateRefused,
    build_ssl_context,
    connect_error,
    make_ssl_context,
    ssl_context_for,
    tls_weaknesses,
)

__all__ = [
    *_client_names,
    "WOULD_BLOCK",
    "CertificateRefused",
    "build_ssl_context",
    "connect_error",
    "make_ssl_context",
    "ssl_context_for",
    "tls_weaknesses",
]

"""Transport adapters: put a `kalshi_fix_sansio.Session` on the wire.

`kalshi_fix_sansio.adapters.blocking`, `.asyncio` and `.trio` each pump bytes between a TLS
socket and the sans-IO core and drive its timers; they make no protocol decision.

This package re-exports everything the three adapters share, whose home is
`kalshi_fix_sansio.client` (the client, whatever its loop): where to connect
(`Endpoint`, `kalshi_endpoint`), how to secure it (`make_ssl_context`), the reconnect policy
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
from kalshi_fix_sansio.client import __all__ as __all__

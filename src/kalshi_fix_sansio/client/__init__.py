"""The client above the FIX session, whatever the loop runs it.

What a client is configured with does not depend on asyncio, trio or threads, so it lives here,
in the sans-IO package, and every adapter takes it alike: where to connect (`Endpoint`,
`kalshi_endpoint`, `check_endpoint`, `loopback_addresses`, `KALSHI_FIX_HOSTS`), kalshi-sdk's
callbacks as one ``on_event`` (`SdkCallbacks`), TLS settings as data (`TLSSettings`,
`tls_settings`; the pumps of `kalshi_fix_sansio.adapters` build the contexts:
``make_ssl_context`` & co) and the warning of a weak context (`InsecureTLSWarning`), a
connection's options (`ConnectOptions`) and where they lead (`describe_target`), a session's
options (`SessionOptions`: made once, handed to its driver), the bounds of
the transport (`READ_CHUNK`, `MAX_BUFFERED_OUTBOUND`, `MAX_QUEUED_EVENTS`, `KILL_TIMEOUT`,
`IDLE_HANDOFF`) and the loggers (`session_logger`, `SESSION_LOGGER_NAME`,
`TRANSPORT_LOGGER_NAME`).

What a client's session tells and takes, whatever the loop, is here too (each documented in
its own module): the reconnect policy (`Backoff`, `ReconnectPlan`, `reconnect_plan`, Kalshi's
maintenance window), the connection events and errors (`Disconnected`, `Reconnecting`,
`Reconnected`, `ConnectionFailed`, `LogonRefused`) and what a slow application is told
(`QueuePolicy`, `FallingBehind`, `MarketDataFolded`, `EventQueueOverflow`). Names whose home is
another floor (the limits and the kill switch in `kalshi_fix_sansio.trading`, the metrics and
the message log in `kalshi_fix_sansio.observability`, the credentials in
`kalshi_fix_sansio.session`) are imported from there or from `kalshi_fix_sansio`.

May import: the REST layer and below. Never a network, loop or clock module (socket, ssl,
asyncio, trio, selectors, select, time: the ``sansio`` contract): the pumps build the TLS
contexts and read the clocks; time is an argument.
"""

from ._clientbase import MAX_QUEUED_EVENTS
from ._clientoptions import ConnectOptions, SessionOptions, describe_target
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
from .events import EventQueueOverflow, FallingBehind, MarketDataFolded, QueuePolicy
from .reconnect import (
    Backoff,
    ReconnectPlan,
    in_maintenance_window,
    reconnect_plan,
    seconds_until_maintenance_ends,
)
from .supervisor import (
    ConnectionFailed,
    Disconnected,
    LogonRefused,
    Reconnected,
    Reconnecting,
    WaitingOutMaintenance,
)

__all__ = [
    "IDLE_HANDOFF",
    "KALSHI_FIX_HOSTS",
    "KILL_TIMEOUT",
    "MAX_BUFFERED_OUTBOUND",
    "MAX_QUEUED_EVENTS",
    "READ_CHUNK",
    "SESSION_LOGGER_NAME",
    "TRANSPORT_LOGGER_NAME",
    "Backoff",
    "ConnectOptions",
    "ConnectionFailed",
    "Disconnected",
    "Endpoint",
    "EventQueueOverflow",
    "FallingBehind",
    "InsecureTLSWarning",
    "LogonRefused",
    "MarketDataFolded",
    "QueuePolicy",
    "ReconnectPlan",
    "Reconnected",
    "Reconnecting",
    "SdkCallbacks",
    "SessionOptions",
    "TLSSettings",
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

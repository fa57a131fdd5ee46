"""What every adapter's session logs, the same way whatever its loop.

Connection events (connecting, retries, a lost connection, a refused Logon, catch-up, an
application falling behind) go to ``kalshi_fix_sansio.transport`` (`log_event`); a session's
protocol events (gaps, resends, rejects, garbled input, timeouts, Logon, Logout...) to its own
logger, ``kalshi_fix_sansio.session.<product>.<session type>.<key>`` (`log_session_event`).
Every record carries the ``extra`` fields `log_fields` gives, and ``event``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping

from kalshi_fix_sansio.client._queue import FallingBehind, MarketDataFolded, TrackingFailed
from kalshi_fix_sansio.client.supervisor import (
    Disconnected,
    Reconnected,
    Reconnecting,
    WaitingOutMaintenance,
)
from kalshi_fix_sansio.session.config import SessionConfig
from kalshi_fix_sansio.session.events import (
    BusinessRejectReceived,
    DecodeFailure,
    Event,
    GapDetected,
    GarbledData,
    LogonRejected,
    RejectReceived,
    ResubscriptionRefused,
    Timeout,
)
from kalshi_fix_sansio.trading.catchup import (
    CatchUpComplete,
    CatchUpFailed,
    OrdersNotReceived,
    OrdersUnknown,
)
from kalshi_fix_sansio.trading.deadman import DeadMansSwitchFired
from kalshi_fix_sansio.trading.gate import TradingStateChanged
from kalshi_fix_sansio.trading.killswitch import KillFinished, KillStarted, OutsideHalt
from kalshi_fix_sansio.trading.outcomes import FillsUnknown, OutcomesAsked
from kalshi_fix_sansio.trading.tracker import FillInferred, OrderNotFound

from ._transport import TRANSPORT_LOGGER_NAME

__all__ = ["log_event", "log_fields", "log_session_event"]

_log = logging.getLogger(TRANSPORT_LOGGER_NAME)

_WARNING_EVENTS = (
    GapDetected,
    RejectReceived,
    BusinessRejectReceived,
    DecodeFailure,
    GarbledData,
    Timeout,
    KillStarted,
    KillFinished,
    ResubscriptionRefused,
    OrdersUnknown,
    OutcomesAsked,
    FillsUnknown,
    OrdersNotReceived,
    OrderNotFound,
    FillInferred,
    OutsideHalt,
    DeadMansSwitchFired,
    TradingStateChanged,
)


def log_fields(config: SessionConfig) -> dict[str, str]:
    """The ``extra`` fields of every log record about a session: ``product``,
    ``session_type`` and ``key_id`` (a log pipeline indexes them; ``event`` is added per
    record)."""
    return {
        "product": config.product,
        "session_type": config.session_type,
        "key_id": config.sender_comp_id,
    }


def log_event(name: str, event: Event, fields: Mapping[str, str] | None = None) -> None:
    """Log a connection event the same way in every adapter (``kalshi_fix_sansio.transport``).

    Reconnect attempts are logged at INFO with the attempt number and the delay; a lost
    connection and a refused Logon at WARNING.

    Args:
        name: the session's name (product/session type).
        event: any event; only connection events are logged.
        fields: the session's `log_fields`, given to each record as ``extra`` with
            ``event`` (the event's class name).
    """
    extra = {**(fields or {}), "event": type(event).__name__}
    if isinstance(event, Reconnecting):
        _log.info(
            "%s: connection attempt %d in %.3f s (%s)",
            name,
            event.attempt,
            event.delay,
            event.reason,
            extra=extra,
        )
    elif isinstance(event, WaitingOutMaintenance):
        _log.warning(
            "%s: down in Kalshi's maintenance window: retrying every %.0f s or less until it "
            "ends at %s, then as usual (%s)",
            name,
            event.retry_every,
            datetime.datetime.fromtimestamp(event.ends_at, datetime.timezone.utc).isoformat(),
            event.reason,
            extra=extra,
        )
    elif isinstance(event, Disconnected):
        _log.warning("%s: disconnected: %s", name, event.reason, extra=extra)
    elif isinstance(event, Reconnected):
        _log.info("%s: reconnected and logged on (attempt %d)", name, event.attempt, extra=extra)
    elif isinstance(event, LogonRejected):
        _log.warning("%s: Logon refused: %s", name, event.text, extra=extra)
    elif isinstance(event, CatchUpComplete):
        _log.info(
            "%s: caught up: %d missed ExecutionReport(s) recovered (%d replayed from %s)",
            name,
            event.recovered,
            event.replayed,
            ", ".join(event.begin_exec_ids.values()),
            extra=extra,
        )
    elif isinstance(event, CatchUpFailed):
        _log.warning("%s: catch-up failed: %s", name, event.reason, extra=extra)
    elif isinstance(event, FallingBehind):
        _log.warning(
            "%s: the application is %.1f s behind (%d events unread); the tracker is current",
            name,
            event.behind,
            event.queued,
            extra=extra,
        )
    elif isinstance(event, MarketDataFolded):
        _log.warning(
            "%s: %d unread market-data messages folded (%.1f s behind); the books are current",
            name,
            event.folded,
            event.behind,
            extra=extra,
        )
    elif isinstance(event, TrackingFailed):
        _log.error("%s: the order tracker failed: %s", name, event.error, extra=extra)


_CONNECTION_EVENTS = (
    Reconnecting,
    WaitingOutMaintenance,
    Disconnected,
    Reconnected,
    LogonRejected,
    CatchUpComplete,
    CatchUpFailed,
    FallingBehind,
    MarketDataFolded,
    TrackingFailed,
)


def log_session_event(logger: logging.Logger, event: Event, fields: Mapping[str, str]) -> None:
    """Log a protocol event on the session's own logger (`session_logger`): gaps, resends,
    rejects, garbled input and timeouts at WARNING, the rest (Logon, Logout, TestRequests,
    SequenceResets...) at INFO; the connection events `log_event` logs are not repeated.

    Args:
        logger: the session's logger.
        event: any event other than an application message.
        fields: the session's `log_fields` (``event`` is added).
    """
    if isinstance(event, _CONNECTION_EVENTS):
        return
    level = logging.WARNING if isinstance(event, _WARNING_EVENTS) else logging.INFO
    if logger.isEnabledFor(level):
        logger.log(level, "%r", event, extra={**fields, "event": type(event).__name__})

"""When and how to reconnect: the sequence-number plan after a drop, Kalshi's Thursday
maintenance window, and which refused Logons are final (sans-IO: time is an argument).

The `kalshi_fix_sansio.supervisor.Supervisor` follows these rules; they are public for an
application that runs its own reconnect loop over a `Session`.
"""

from __future__ import annotations

import datetime
import re
from typing import Final

import attrs

from .config import Role, SessionConfig
from .errors import LocalProtocolError

__all__ = [
    "ReconnectPlan",
    "in_maintenance_window",
    "logon_refusal_is_final",
    "reconnect_plan",
    "seconds_until_maintenance_ends",
]


@attrs.frozen
class ReconnectPlan:
    """How the next Logon after a disconnect treats sequence numbers.

    Attributes:
        reset_seq_nums: log on with ResetSeqNumFlag(141)=Y (both sides start from 1).
        reason: why, in words (for logs).
    """

    reset_seq_nums: bool
    reason: str


def reconnect_plan(
    config: SessionConfig,
    *,
    after_gap_teardown: bool,
    after_maintenance: bool = False,
    maintenance_reset: bool = False,
) -> ReconnectPlan:
    """Decide whether the reconnect Logon resets sequence numbers, from the documented rules.

    * Sessions without retransmission (KalshiNR, KalshiDC, KalshiRFQ, KalshiMD) always log on
      with 141=Y, so they reset; after a sequence-gap teardown that is also the only way back.
    * Retransmission sessions (KalshiRT; KalshiPT on prediction) continue: the Logon carries
      the stored sequence numbers and missed messages are recovered by ResendRequest from the
      durable store. A teardown there (even after a gap) is a protocol fault, not lost
      continuity, so they still continue. A config with ``reset_seq_num=True`` resets.
    * Maintenance (every Thursday 3:00-5:00 AM ET, see `in_maintenance_window`): Kalshi does
      not reset sequence numbers; KalshiRT keeps continuity across the window.
      ``maintenance_reset=True`` follows older docs and resets KalshiRT / KalshiPT too.

    Args:
        config: the initiator session's config.
        after_gap_teardown: the session ended because of an unrecoverable sequence fault.
        after_maintenance: the disconnect happened in the maintenance window.
        maintenance_reset: reset retransmission sessions after maintenance as well.

    Returns:
        The plan for the next Logon.

    Raises:
        LocalProtocolError: the config is not an initiator's (acceptors do not reconnect).
    """
    if config.role is not Role.INITIATOR:
        raise LocalProtocolError("reconnect_plan is for initiator sessions: acceptors never dial")
    st = f"{config.session_type} ({config.product})"
    if config.spec.reset_seq_num_required:
        why = (
            "a sequence gap cannot be recovered without retransmission, and "
            if after_gap_teardown
            else ""
        )
        return ReconnectPlan(
            True, f"{st} has no retransmission: {why}every Logon carries ResetSeqNumFlag(141)=Y"
        )
    if config.reset_seq_num:
        return ReconnectPlan(True, f"{st} is configured with reset_seq_num=True")
    if after_maintenance and maintenance_reset:
        return ReconnectPlan(
            True, f"maintenance_reset=True: {st} resets sequence numbers after maintenance"
        )
    parts = [f"{st} keeps sequence continuity"]
    if after_maintenance:
        parts.append(" across the maintenance window")
    if after_gap_teardown:
        parts.append(" (the teardown was a protocol fault, not lost continuity)")
    parts.append(
        ": log on with the stored sequence numbers and recover missed messages by "
        "ResendRequest from the durable store"
    )
    return ReconnectPlan(False, "".join(parts))


_THURSDAY: Final = 3  # date.weekday()
_MAINTENANCE_START_HOUR: Final = 3
_MAINTENANCE_END_HOUR: Final = 5


def _eastern(now: float) -> datetime.datetime:
    """US Eastern wall time of ``now`` (the US DST rules in force since 2007, no tz database
    needed; earlier times are off by the rules' change, and no session runs then)."""
    utc = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)

    def nth_sunday(month: int, n: int) -> int:
        first = datetime.date(utc.year, month, 1)
        return 1 + (6 - first.weekday()) % 7 + 7 * (n - 1)

    start = datetime.datetime(utc.year, 3, nth_sunday(3, 2), 7, tzinfo=datetime.timezone.utc)
    end = datetime.datetime(utc.year, 11, nth_sunday(11, 1), 6, tzinfo=datetime.timezone.utc)
    offset = datetime.timedelta(hours=-4 if start <= utc < end else -5)
    return (utc + offset).replace(tzinfo=None)


def in_maintenance_window(now: float) -> bool:
    """Whether ``now`` falls in Kalshi's weekly maintenance (Thursday 3:00-5:00 AM ET).

    Args:
        now: POSIX time.

    Returns:
        True inside the window.
    """
    local = _eastern(now)
    return (
        local.weekday() == _THURSDAY
        and _MAINTENANCE_START_HOUR <= local.hour < _MAINTENANCE_END_HOUR
    )


def seconds_until_maintenance_ends(now: float) -> float:
    """Seconds until 5:00 AM ET when ``now`` is in the maintenance window, else 0.

    Args:
        now: POSIX time.

    Returns:
        Seconds to wait (0.0 outside the window).
    """
    if not in_maintenance_window(now):
        return 0.0
    local = _eastern(now)
    end = local.replace(hour=_MAINTENANCE_END_HOUR, minute=0, second=0, microsecond=0)
    return (end - local).total_seconds()


_RETRY_LATER: Final = re.compile(
    r"try again|retry|later|rate.?limit|too many|maintenance|temporar|unavailable|busy|throttl",
    re.IGNORECASE,
)


def logon_refusal_is_final(text: str) -> bool:
    """Whether a Logout answering our Logon means "do not try again".

    Final unless Kalshi's text asks to come back (``try again``, ``later``, ``rate limit``,
    ``maintenance``, ``temporarily unavailable``, ``busy``...): an unknown API key, a bad
    signature and ``already exists`` are final.

    Args:
        text: the Logout's Text(58) (empty when there was none).

    Returns:
        True when the supervisor must give up at once.
    """
    return _RETRY_LATER.search(text) is None

"""When and how to reconnect: the delays between attempts (`Backoff`), the sequence-number plan
after a drop, Kalshi's maintenance windows as data (`MaintenanceSchedule`: every Thursday
3:00-5:00 AM ET by default, with the moves and one-off windows Kalshi announces), and which
refused Logons are final (sans-IO: time is an argument).

The `kalshi_fix_sansio.client.supervisor.Supervisor` follows these rules; they are public for an
application that runs its own reconnect loop over a `Session`.
"""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

import attrs

from ..codec.errors import LocalProtocolError
from ..session.config import Role, SessionConfig

__all__ = [
    "KALSHI_MAINTENANCE",
    "Backoff",
    "MaintenanceSchedule",
    "MaintenanceWindow",
    "OneOffWindow",
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
_DAY: Final = datetime.timedelta(days=1)
_EST: Final = datetime.timedelta(hours=-5)
_EDT: Final = datetime.timedelta(hours=-4)


def _eastern_offset(utc: datetime.datetime) -> datetime.timedelta:
    """US Eastern's offset from UTC at ``utc`` (aware), by the US DST rules in force since 2007
    (no tz database needed; earlier times are off by the rules' change, and no session runs
    then)."""

    def nth_sunday(month: int, n: int) -> int:
        first = datetime.date(utc.year, month, 1)
        return 1 + (6 - first.weekday()) % 7 + 7 * (n - 1)

    start = datetime.datetime(utc.year, 3, nth_sunday(3, 2), 7, tzinfo=datetime.timezone.utc)
    end = datetime.datetime(utc.year, 11, nth_sunday(11, 1), 6, tzinfo=datetime.timezone.utc)
    return _EDT if start <= utc < end else _EST


def _eastern(now: float) -> datetime.datetime:
    """US Eastern wall time of ``now`` (naive)."""
    utc = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    return (utc + _eastern_offset(utc)).replace(tzinfo=None)


def _posix(local: datetime.datetime) -> float:
    """POSIX time of a US Eastern wall time (naive; in the hour DST skips, the later reading)."""
    for offset in (_EST, _EDT):
        utc = (local - offset).replace(tzinfo=datetime.timezone.utc)
        if _eastern_offset(utc) == offset:
            return utc.timestamp()
    return (local - _EDT).replace(tzinfo=datetime.timezone.utc).timestamp()


def _check_hours(what: str, start: datetime.time, end: datetime.time) -> None:
    if not isinstance(start, datetime.time) or not isinstance(end, datetime.time):
        raise LocalProtocolError(f"{what}: start and end must be datetime.time (US Eastern)")
    if not start < end:
        raise LocalProtocolError(
            f"{what}: start {start} must be before end {end} (a window within one day, US "
            "Eastern time)"
        )


@attrs.frozen
class MaintenanceWindow:
    """A weekly maintenance window, in US Eastern wall time (Kalshi's: Thursday 3:00-5:00).

    Attributes:
        weekday: the day, ``datetime.date.weekday()`` numbering (0 Monday ... 3 Thursday).
        start: when it begins (US Eastern).
        end: when it ends (US Eastern; the same day, after ``start``).

    Raises:
        LocalProtocolError: a weekday outside 0-6, or ``end`` not after ``start``.
    """

    weekday: int = _THURSDAY
    start: datetime.time = datetime.time(3, 0)
    end: datetime.time = datetime.time(5, 0)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.weekday, bool) or self.weekday not in range(7):
            raise LocalProtocolError(
                f"MaintenanceWindow.weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday!r}"
            )
        _check_hours("MaintenanceWindow", self.start, self.end)


@attrs.frozen
class OneOffWindow:
    """One maintenance window on a given day, in US Eastern wall time (a holiday's move, or an
    announced maintenance).

    Attributes:
        day: the date (US Eastern).
        start: when it begins.
        end: when it ends (the same day, after ``start``).

    Raises:
        LocalProtocolError: ``day`` is not a date, or ``end`` is not after ``start``.
    """

    day: datetime.date
    start: datetime.time = datetime.time(3, 0)
    end: datetime.time = datetime.time(5, 0)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.day, datetime.date) or isinstance(self.day, datetime.datetime):
            raise LocalProtocolError(f"OneOffWindow.day must be a datetime.date, got {self.day!r}")
        _check_hours(f"OneOffWindow({self.day})", self.start, self.end)


def _dates(value: Iterable[datetime.date]) -> tuple[datetime.date, ...]:
    days = tuple(value)
    for day in days:
        if not isinstance(day, datetime.date) or isinstance(day, datetime.datetime):
            raise LocalProtocolError(
                f"MaintenanceSchedule.skipped takes datetime.date values (US Eastern), got {day!r}"
            )
    return days


def _only(kind: type[Any], items: tuple[Any, ...]) -> None:
    for item in items:
        if not isinstance(item, kind):
            raise LocalProtocolError(
                f"MaintenanceSchedule takes {kind.__name__} values here, got {item!r}"
            )


def _weekly(value: Iterable[MaintenanceWindow]) -> tuple[MaintenanceWindow, ...]:
    windows = tuple(value)
    _only(MaintenanceWindow, windows)
    return windows


def _extra(value: Iterable[OneOffWindow]) -> tuple[OneOffWindow, ...]:
    windows = tuple(value)
    _only(OneOffWindow, windows)
    return windows


@attrs.frozen
class MaintenanceSchedule:
    """When Kalshi's exchange is in maintenance (sessions may be dropped, Logons refused), as
    data: weekly windows, weeks whose window does not happen, and one-off windows.

    Kalshi's default (`KALSHI_MAINTENANCE`) is every Thursday 3:00-5:00 AM ET; Kalshi moves it
    around holidays and announces extra maintenance: give those with ``skipped`` (the ET dates
    whose weekly window does not happen) and ``extra`` (`OneOffWindow` s), e.g.::

        MaintenanceSchedule(
            skipped=[date(2026, 11, 26)],  # Thanksgiving: no window that Thursday...
            extra=[OneOffWindow(date(2026, 11, 27))],  # ...it is on Friday, 3:00-5:00 ET
        )

    A `Backoff <kalshi_fix_sansio.client.reconnect.Backoff>` carries the schedule its supervisor
    follows (``Backoff(maintenance=...)``).

    Attributes:
        weekly: the windows of every week (default: Thursday 3:00-5:00 ET).
        skipped: US Eastern dates on which the weekly windows do not happen.
        extra: windows on given days, whatever the weekly ones say.

    Raises:
        LocalProtocolError: an entry of the wrong kind (each names what it takes).
    """

    weekly: tuple[MaintenanceWindow, ...] = attrs.field(
        default=(MaintenanceWindow(),), converter=_weekly
    )
    skipped: tuple[datetime.date, ...] = attrs.field(default=(), converter=_dates)
    extra: tuple[OneOffWindow, ...] = attrs.field(default=(), converter=_extra)

    def window(self, now: float) -> tuple[float, float] | None:
        """The window ``now`` falls in, as (start, end) POSIX times, or None.

        Args:
            now: POSIX time.
        """
        local = _eastern(now)
        day, hour = local.date(), local.time()
        for one in self.extra:
            if one.day == day and one.start <= hour < one.end:
                return self._span(day, one.start, one.end)
        if day in self.skipped:
            return None
        for weekly in self.weekly:
            if weekly.weekday == day.weekday() and weekly.start <= hour < weekly.end:
                return self._span(day, weekly.start, weekly.end)
        return None

    @staticmethod
    def _span(day: datetime.date, start: datetime.time, end: datetime.time) -> tuple[float, float]:
        combine = datetime.datetime.combine
        return _posix(combine(day, start)), _posix(combine(day, end))

    @classmethod
    def from_windows(cls, spans: Iterable[tuple[float, float]]) -> MaintenanceSchedule:
        """The schedule of these windows alone (``(start, end)`` POSIX times, e.g. Kalshi's
        ``GET /exchange/schedule``): no weekly window; each span cut at US Eastern midnights
        into `OneOffWindow` s (the last microsecond of a day is outside them)."""
        extra = []
        for start, end in spans:
            local, last = _eastern(start), _eastern(end)
            while local < last:
                midnight = datetime.datetime.combine(local.date(), datetime.time()) + _DAY
                stop = min(last, midnight)
                upto = stop.time() if stop < midnight else datetime.time.max
                if upto > local.time():
                    extra.append(OneOffWindow(local.date(), local.time(), upto))
                local = stop
        return cls(weekly=(), extra=extra)

    def contains(self, now: float) -> bool:
        """Whether ``now`` falls in a maintenance window."""
        return self.window(now) is not None

    def seconds_until_end(self, now: float) -> float:
        """Seconds until the window ``now`` falls in ends (0.0 outside every window)."""
        span = self.window(now)
        return 0.0 if span is None else max(span[1] - now, 0.0)


KALSHI_MAINTENANCE: Final = MaintenanceSchedule()
"""Kalshi's published schedule: every Thursday 3:00-5:00 AM ET (a trading pause; sessions may
be disconnected; reconnect after 5:00 AM ET)."""


def in_maintenance_window(now: float, schedule: MaintenanceSchedule = KALSHI_MAINTENANCE) -> bool:
    """Whether ``now`` falls in a maintenance window of ``schedule`` (Kalshi's: Thursday
    3:00-5:00 AM ET).

    Args:
        now: POSIX time.
        schedule: the windows (`KALSHI_MAINTENANCE` unless given).

    Returns:
        True inside a window.
    """
    return schedule.window(now) is not None


def seconds_until_maintenance_ends(
    now: float, schedule: MaintenanceSchedule = KALSHI_MAINTENANCE
) -> float:
    """Seconds until the maintenance window ``now`` falls in ends, else 0.

    Args:
        now: POSIX time.
        schedule: the windows (`KALSHI_MAINTENANCE` unless given).

    Returns:
        Seconds to wait (0.0 outside every window).
    """
    return schedule.seconds_until_end(now)


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


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise LocalProtocolError(f"Backoff.{attribute.name} must be > 0, got {value!r}")


def _optional_positive(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0
    ):
        raise LocalProtocolError(
            f"Backoff.{attribute.name} must be a number of seconds > 0 or None (off), got {value!r}"
        )


def _attempts(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise LocalProtocolError(
            f"Backoff.{attribute.name} must be an int >= 0 or None (forever), got {value!r}"
        )


def _schedule(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, MaintenanceSchedule):
        raise LocalProtocolError(
            f"Backoff.maintenance must be a MaintenanceSchedule, got {type(value).__name__}"
        )


_MAX_EXPONENT: Final = 1000  # 2.0 ** 1024 overflows; the cap is reached long before


@attrs.define
class Backoff:
    """Exponential backoff with full jitter between connection attempts.

    The n-th delay (n from 0) is ``uniform(0, min(cap, base * 2**n))`` drawn from ``rng`` (by
    default ``random.Random(seed)``), so a seeded backoff yields the same sequence every time.
    Full jitter spreads the clients that Kalshi drops at the same moment (maintenance) apart.
    The `Supervisor` connects at once, takes the next delay after every failed attempt or lost
    connection, fails with `ConnectionFailed` when the delays run out and calls `reset` after
    each successful Logon. Each supervisor needs its own instance (``attrs.evolve(policy)``),
    so sessions sharing one policy never share a retry budget; the clients copy it per session.

    Two budgets: ``attempts`` for a session that never logged on (a wrong host, port or
    certificate is reported after them, with `ConnectionFailed`), and ``reconnect_attempts``
    for one that was logged on and lost its connection: None by default, so that it keeps
    trying for as long as the outage lasts, each attempt announced by a `Reconnecting` event
    (at most ``cap`` seconds apart), as a FIX engine does (QuickFIX retries forever every
    ``ReconnectInterval``). Give it a number to give up after that many attempts.

    Inside a maintenance window of ``maintenance`` (Kalshi's: Thursday 3:00-5:00 AM ET), where
    Kalshi may drop sessions and asks clients to reconnect after it, the window's attempts do
    not count: when the delays run out there, the supervisor goes on with `maintenance_delay`
    until the window ends (`WaitingOutMaintenance` says so), then starts the backoff again.

    Attributes:
        base: the first delay's upper bound, in seconds.
        cap: the largest upper bound, in seconds.
        attempts: how many delays (retries) `delays` yields before it stops; ``None``: forever.
            A supervisor counts them for a session that has not logged on yet.
        reconnect_attempts: the same, for a session that was logged on and lost its
            connection; ``None`` (the default): forever.
        seed: seed of the jitter; ``None`` draws one from the system.
        rng: the random source (tests inject one); ``None``: ``random.Random(seed)``.
        maintenance_retry: the longest delay between attempts once the delays ran out inside
            the maintenance window, in seconds (each is drawn between half of it and all of it,
            and the first attempt after the window comes at most ``min(maintenance_retry,
            cap)`` seconds after it ends); 14400 or more waits the window out. ``None``: the
            window is not special (a session dropped at 3:00 gives up after
            ``reconnect_attempts``, if a number).
        maintenance: the maintenance windows (`KALSHI_MAINTENANCE`: Thursday 3:00-5:00 AM ET;
            a `MaintenanceSchedule` with Kalshi's announced moves and extra windows).
    """

    base: float = attrs.field(default=0.5, validator=_positive)
    cap: float = attrs.field(default=30.0, validator=_positive)
    attempts: int | None = attrs.field(default=10, validator=_attempts)
    reconnect_attempts: int | None = attrs.field(default=None, validator=_attempts, kw_only=True)
    seed: int | None = None
    rng: random.Random | None = attrs.field(default=None, repr=False, eq=False)
    # an attempt every 30 to 60 s in the window: at most 240 Logons a session in its 2 hours
    maintenance_retry: float | None = attrs.field(default=60.0, validator=_optional_positive)
    maintenance: MaintenanceSchedule = attrs.field(
        default=KALSHI_MAINTENANCE, kw_only=True, validator=_schedule
    )
    _n: int = attrs.field(init=False, default=0, repr=False, eq=False)
    reconnecting: bool = attrs.field(init=False, default=False, repr=False, eq=False)
    """Its delays are a reconnect's (the session was logged on): the supervisor sets it."""
    _random: random.Random = attrs.field(init=False, repr=False, eq=False)

    @_random.default
    def _make_random(self) -> random.Random:
        return self.rng if self.rng is not None else random.Random(self.seed)

    @property
    def retries(self) -> int:
        """How many delays have been taken since the last `reset`."""
        return self._n

    def next_delay(self) -> float | None:
        """Take the next delay (``reconnect_attempts`` bounds them while `reconnecting`, else
        ``attempts``).

        Returns:
            Seconds to wait before the next attempt, or ``None`` when the attempts are used up.
        """
        limit = self.reconnect_attempts if self.reconnecting else self.attempts
        if limit is not None and self._n >= limit:
            return None
        bound = min(self.cap, self.base * 2.0 ** min(self._n, _MAX_EXPONENT))
        self._n += 1
        return self._random.uniform(0.0, bound)

    def maintenance_delay(self, until_end: float) -> float:
        """Take a delay inside the maintenance window (it does not count against
        ``attempts``; the supervisor takes it once `next_delay` ran out there).

        Args:
            until_end: seconds until the window ends (`seconds_until_maintenance_ends`).

        Returns:
            Seconds to wait: drawn between half of ``maintenance_retry`` and all of it, and no
            later than a jittered ``min(maintenance_retry, cap)`` after the window ends.

        Raises:
            LocalProtocolError: ``maintenance_retry`` is None (the window is not special).
        """
        retry = self.maintenance_retry
        if retry is None:
            raise LocalProtocolError(
                "Backoff.maintenance_delay: maintenance_retry is None (the maintenance window "
                "is not treated apart); take next_delay"
            )
        delay = self._random.uniform(retry / 2.0, retry)
        if delay > until_end:
            delay = min(delay, until_end + self._random.uniform(0.0, min(retry, self.cap)))
        return delay

    def delays(self) -> Iterator[float]:
        """Iterate over the remaining delays (shares state with `next_delay`).

        Returns:
            An iterator of seconds to wait before each retry; ``attempts`` of them after a
            `reset`.
        """
        return iter(self.next_delay, None)

    def reset(self) -> None:
        """Start again from the first delay (a seeded sequence repeats; an injected rng goes on)."""
        self._n = 0
        self._random = self._make_random()

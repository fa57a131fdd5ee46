"""Kalshi's Thursday maintenance window (3:00-5:00 AM ET): the supervisor keeps a session
through it on a fake clock, without spending the backoff's attempts, and says so.

The same `Harness` as ``test_supervisor``: an in-memory gateway session per connection, no
socket, no sleep.
"""

from __future__ import annotations

import datetime
import random

import pytest
from test_supervisor import Harness, order

from kalshi_fix_sansio import Backoff, WaitingOutMaintenance
from kalshi_fix_sansio.client import in_maintenance_window, seconds_until_maintenance_ends
from kalshi_fix_sansio.client.reconnect import (
    KALSHI_MAINTENANCE,
    MaintenanceSchedule,
    MaintenanceWindow,
    OneOffWindow,
)
from kalshi_fix_sansio.client.supervisor import (
    ConnectionFailed,
    Disconnected,
    LogonRefused,
    Reconnected,
    Reconnecting,
    SupervisorState,
)
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.store import MemoryStore

THU_0310_ET = 1_767_859_800.0  # 2026-01-08 08:10 UTC = Thursday 03:10 EST
THU_0500_ET = 1_767_866_400.0  # 2026-01-08 10:00 UTC = Thursday 05:00 EST: the window ends
THU_0259_ET = 1_767_859_195.0  # 2026-01-08 07:59:55 UTC = Thursday 02:59:55 EST: just before


def test_the_clock_constants() -> None:
    assert in_maintenance_window(THU_0310_ET) and not in_maintenance_window(THU_0500_ET)
    assert not in_maintenance_window(THU_0259_ET)
    assert THU_0310_ET + seconds_until_maintenance_ends(THU_0310_ET) == THU_0500_ET


def _dropped(h: Harness, now: float) -> None:
    """Log on at ``now``, then lose the connection (only a session that was logged on is kept
    through the window)."""
    h.now = now
    h.sup.start(h.now)
    h.connect()
    h.sup.connection_lost(h.now, "the peer closed the connection")
    h.pump()


def _fail_until(h: Harness, until: float) -> list[float]:
    """Fail every connection attempt due before ``until``; returns when each was made."""
    made = []
    while h.sup.connect_at is not None and h.sup.connect_at < until:
        h.now = h.sup.connect_at
        made.append(h.now)
        h.sup.connection_failed(h.now, ConnectionRefusedError("refused"))
        h.pump()
    return made


def test_a_session_dropped_in_the_window_is_kept_through_it_and_reconnects_after() -> None:
    h = Harness(backoff=Backoff(base=1.0, cap=4.0, attempts=3, seed=1))  # 3 retries outside
    h.now = THU_0310_ET
    h.sup.start(h.now)
    h.connect()
    h.sup.connection_lost(h.now, "the peer closed the connection")
    h.pump()
    attempts = _fail_until(h, THU_0500_ET)
    # 1h50 of refused connections: far more than 3 retries, and no failure
    assert h.sup.failure is None and h.sup.state is SupervisorState.WAITING
    assert 110 <= len(attempts) <= 225
    gaps = [b - a for a, b in zip([THU_0310_ET, *attempts], attempts, strict=False)]
    # the backoff first, as anywhere (a short drop comes back at once), then the window's pace
    assert all(gap <= 4.0 for gap in gaps[:3]) and all(30.0 <= gap <= 60.0 for gap in gaps[3:])
    # said once, when the backoff ran out, with the window's end and the pace
    (wait,) = h.of(WaitingOutMaintenance)
    assert wait == WaitingOutMaintenance(THU_0500_ET, 60.0, "ConnectionRefusedError: refused")
    retries = h.of(Reconnecting)
    assert h.events.index(retries[2]) < h.events.index(wait) < h.events.index(retries[3])
    # the first attempt after the window comes within min(maintenance_retry, cap) of its end
    assert h.sup.connect_at is not None
    assert THU_0500_ET <= h.sup.connect_at <= THU_0500_ET + 4.0
    h.now = h.sup.connect_at
    h.connect()
    assert h.sup.state is SupervisorState.ACTIVE
    assert h.events[-1] == Reconnected(len(attempts) + 1, True)  # KalshiNR resets, as always
    assert isinstance(h.sup.send(order(), h.now), int)


def test_a_short_drop_in_the_window_reconnects_at_once() -> None:
    h = Harness(backoff=Backoff(base=1.0, cap=4.0, attempts=3, seed=1))
    h.now = THU_0310_ET
    h.sup.start(h.now)
    h.connect()
    h.sup.receive_data(b"", h.now)
    h.pump()
    assert h.sup.connect_at is not None and h.sup.connect_at <= THU_0310_ET + 1.0
    h.now = h.sup.connect_at
    h.connect()
    assert h.events[-1] == Reconnected(1, True) and not h.of(WaitingOutMaintenance)


def test_after_the_window_the_backoff_counts_again_from_its_first_delay() -> None:
    h = Harness(backoff=Backoff(base=1.0, cap=4.0, attempts=3, seed=1, reconnect_attempts=3))
    _dropped(h, THU_0310_ET)
    in_window = _fail_until(h, THU_0500_ET)
    after = _fail_until(h, THU_0500_ET + 3600.0)
    # the window's attempts were free; past it, the 3 retries and their first attempt
    assert len(after) == 4 and h.sup.state is SupervisorState.FAILED
    failure = h.sup.failure
    assert isinstance(failure, ConnectionFailed) and failure.attempts == len(in_window) + 4
    assert len(h.of(WaitingOutMaintenance)) == 1


def test_maintenance_retry_none_keeps_the_window_like_any_other_time() -> None:
    backoff = Backoff(base=1.0, cap=4.0, seed=1, maintenance_retry=None, reconnect_attempts=3)
    h = Harness(backoff=backoff)
    _dropped(h, THU_0310_ET)
    made = _fail_until(h, THU_0500_ET)
    assert len(made) == 3 and isinstance(h.sup.failure, ConnectionFailed)
    assert not h.of(WaitingOutMaintenance)


def test_a_large_maintenance_retry_waits_the_window_out() -> None:
    h = Harness(backoff=Backoff(base=1.0, cap=4.0, attempts=3, seed=2, maintenance_retry=14400))
    _dropped(h, THU_0310_ET)
    made = _fail_until(h, THU_0310_ET + 60.0)
    assert len(made) == 3  # the backoff's 3 retries; then the wait
    assert h.sup.connect_at is not None
    assert THU_0500_ET <= h.sup.connect_at <= THU_0500_ET + 4.0
    assert h.of(WaitingOutMaintenance)[0].retry_every == 14400


def test_a_retryable_refusal_in_the_window_is_retried_through_it_a_final_one_is_final() -> None:
    h = Harness()
    _dropped(h, THU_0310_ET)
    h.refuse += ["exchange under maintenance"] * 500
    h.gateway_store = MemoryStore()
    while h.now < THU_0500_ET and h.sup.failure is None:
        h.now = h.sup.connect_at or 0.0
        h.connect()
    assert h.sup.failure is None and h.of(WaitingOutMaintenance) and h.logons > 100
    # a text that says not to come back is final in the window too (a wrong key would be
    # refused for two hours), as Kalshi documents no other answer there
    h = Harness()
    _dropped(h, THU_0310_ET)
    h.refuse.append("invalid signature")
    h.gateway_store = MemoryStore()  # KalshiNR: the refusing gateway starts from 1 too
    h.now = h.sup.connect_at or 0.0
    h.connect()
    assert isinstance(h.sup.failure, LogonRefused)


def test_a_first_connection_that_fails_in_the_window_is_reported_as_anywhere() -> None:
    # a wrong port or certificate at 3:30 AM on a Thursday is not waited out
    h = Harness(backoff=Backoff(base=1.0, cap=4.0, attempts=3, seed=1))
    h.now = THU_0310_ET
    h.sup.start(h.now)
    made = _fail_until(h, THU_0500_ET)
    assert len(made) == 4 and isinstance(h.sup.failure, ConnectionFailed)
    assert not h.of(WaitingOutMaintenance)


@pytest.mark.parametrize("maintenance_reset", [False, True])
def test_kalshi_rt_dropped_just_before_the_window_follows_the_maintenance_plan(
    maintenance_reset: bool,
) -> None:
    backoff = Backoff(base=10.0, cap=10.0, attempts=20, seed=4)  # runs out in the window
    h = Harness("KalshiRT", maintenance_reset=maintenance_reset, backoff=backoff)
    h.now = THU_0259_ET
    h.sup.start(h.now)
    h.connect()
    h.sup.send(order(), h.now)
    h.pump()
    h.sup.connection_lost(h.now, "reset by peer")
    h.pump()
    assert h.events[-2] == Disconnected("reset by peer")
    _fail_until(h, THU_0500_ET)  # refused from before 3:00 to 5:00
    assert h.of(WaitingOutMaintenance) and h.sup.failure is None
    h.now = h.sup.connect_at or 0.0
    h.connect()
    back = h.events[-1]
    assert isinstance(back, Reconnected) and back.reset_seq_nums is maintenance_reset
    assert h.sup.session is not None
    assert (h.sup.session.next_sender_seq == 2) is maintenance_reset  # Logon was 1 after reset


def test_backoff_maintenance_delay() -> None:
    backoff = Backoff(base=1.0, cap=4.0, attempts=2, rng=random.Random(7))
    assert backoff.next_delay() is not None and backoff.retries == 1
    delays = [backoff.maintenance_delay(3600.0) for _ in range(200)]
    assert all(30.0 <= d <= 60.0 for d in delays) and max(delays) - min(delays) > 20.0
    assert backoff.retries == 1  # they do not count
    near_end = [backoff.maintenance_delay(10.0) for _ in range(200)]
    assert all(d <= 14.0 for d in near_end) and max(near_end) > 10.0
    with pytest.raises(LocalProtocolError, match="maintenance_retry is None"):
        Backoff(maintenance_retry=None).maintenance_delay(10.0)


@pytest.mark.parametrize("bad", [0, -1.0, True, "60"])
def test_backoff_refuses_a_bad_maintenance_retry(bad: object) -> None:
    with pytest.raises(LocalProtocolError, match="maintenance_retry must be"):
        Backoff(maintenance_retry=bad)  # type: ignore[arg-type]


def _utc(*when: int) -> float:
    return datetime.datetime(*when, tzinfo=datetime.timezone.utc).timestamp()


THANKSGIVING = datetime.date(2026, 11, 26)  # a Thursday: Kalshi may move its window
THU_1126_0310_ET = _utc(2026, 11, 26, 8, 10)  # 03:10 EST
FRI_1127_0310_ET = _utc(2026, 11, 27, 8, 10)
FRI_1127_0500_ET = _utc(2026, 11, 27, 10, 0)
MOVED = MaintenanceSchedule(
    skipped=[THANKSGIVING], extra=[OneOffWindow(datetime.date(2026, 11, 27))]
)


def test_the_schedule_is_data_with_kalshis_default_and_moves() -> None:
    assert KALSHI_MAINTENANCE.contains(THU_1126_0310_ET)  # the default: every Thursday
    assert not KALSHI_MAINTENANCE.contains(FRI_1127_0310_ET)
    assert not MOVED.contains(THU_1126_0310_ET)  # moved away from Thanksgiving...
    assert MOVED.window(FRI_1127_0310_ET) == (_utc(2026, 11, 27, 8, 0), FRI_1127_0500_ET)
    assert in_maintenance_window(FRI_1127_0310_ET, MOVED)  # ...to the Friday
    assert seconds_until_maintenance_ends(FRI_1127_0310_ET, MOVED) == 110 * 60
    assert MOVED.contains(THU_0310_ET)  # other Thursdays keep the weekly window
    summer = _utc(2026, 7, 9, 7, 10)  # Thursday 03:10 EDT (UTC-4)
    assert KALSHI_MAINTENANCE.window(summer) == (_utc(2026, 7, 9, 7, 0), _utc(2026, 7, 9, 9, 0))
    monday = MaintenanceSchedule(
        weekly=[MaintenanceWindow(0, datetime.time(22), datetime.time(23))]
    )
    assert monday.contains(_utc(2026, 1, 13, 3, 30))  # Monday 22:30 EST
    assert not monday.contains(THU_0310_ET)


def test_bad_schedules_say_what_is_wrong() -> None:
    with pytest.raises(LocalProtocolError, match="start 05:00:00 must be before end 03:00:00"):
        MaintenanceWindow(3, datetime.time(5), datetime.time(3))
    with pytest.raises(LocalProtocolError, match="weekday must be 0"):
        MaintenanceWindow(7)
    with pytest.raises(LocalProtocolError, match=r"day must be a datetime\.date"):
        OneOffWindow("2026-11-27")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match=r"skipped takes datetime\.date"):
        MaintenanceSchedule(skipped=["2026-11-26"])  # type: ignore[list-item]
    with pytest.raises(LocalProtocolError, match="takes OneOffWindow values"):
        MaintenanceSchedule(extra=[(1.0, 2.0)])  # type: ignore[list-item]
    with pytest.raises(
        LocalProtocolError, match=r"Backoff\.maintenance must be a MaintenanceSchedule"
    ):
        Backoff(maintenance=[])  # type: ignore[arg-type]


def test_a_session_follows_its_backoffs_schedule() -> None:
    backoff = Backoff(base=1.0, cap=4.0, attempts=3, seed=1, maintenance=MOVED)
    h = Harness(backoff=backoff)
    _dropped(h, FRI_1127_0310_ET)
    made = _fail_until(h, FRI_1127_0500_ET)
    assert h.sup.failure is None and len(made) > 100  # kept through the moved window
    (wait,) = h.of(WaitingOutMaintenance)
    assert wait.ends_at == FRI_1127_0500_ET
    thanksgiving = Harness(
        backoff=Backoff(base=1.0, cap=4.0, attempts=3, seed=1, maintenance=MOVED)
    )
    _dropped(thanksgiving, THU_1126_0310_ET)
    _fail_until(thanksgiving, THU_1126_0310_ET + 60)  # no window that day: reconnects go on
    assert not thanksgiving.of(WaitingOutMaintenance) and thanksgiving.sup.failure is None

# private: the core's waits that every pump runs (`_callers`), on a fake clock
"""The adapters' waits, reader hand-over and event delivery, sans-IO, on a fake clock.

A test of the private core module `_callers` (and `LoopRules.woke` of `_pump`): every adapter
runs these waits with its one waiting primitive, so what a wait waits for, what its timeout
means and what ends it is decided here once. A fake host stands in for a session (its queue,
whether it ended, its rate limiter); `drive` runs a wait with a fake wait that advances the
clock and lets a scripted change happen.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshi_fix_sansio.client._callers import (
    AwaitKill,
    Delivery,
    PacedSend,
    Settle,
    WaitEvent,
    any_event,
    matched,
)
from kalshi_fix_sansio.client.pump import Readers, Until, Wait, drive, drive_next_event
from kalshi_fix_sansio.client.supervisor import Reconnected
from kalshi_fix_sansio.session.events import Event, TestRequestSent


class Host:
    """A session as the waits see it: a queue, an end, a rate limiter that wants ``delays``."""

    def __init__(self, delays: list[float] | None = None) -> None:
        self.queue: list[Event] = []
        self.over = False
        self.delays = list(delays or [])
        self.sent: list[object] = []
        self.forgotten: list[object] = []
        self.error = ConnectionError("ended")

    def take_event(self, predicate: Callable[[Event], bool]) -> Event | None:
        for i, event in enumerate(self.queue):
            if predicate(event):
                return self.queue.pop(i)
        return None

    def ended(self) -> bool:
        return self.over

    def closed_error(self) -> Exception:
        return self.error

    def offer(
        self, message: Any, *, resubscribe: bool = False, wait: bool = True
    ) -> tuple[int | None, float]:
        if self.delays:
            return None, self.delays.pop(0)
        self.sent.append(message)
        return len(self.sent), 0.0

    def give_up(self, waiter: Any) -> None:
        self.forgotten.append(waiter)


class Clock:
    """A fake wait: records each deadline, jumps to it (or ``step`` seconds), runs a change."""

    def __init__(self, now: float = 100.0, step: float | None = None) -> None:
        self.now, self.step = now, step
        self.deadlines: list[float] = []
        self.changes: list[Callable[[], None]] = []

    def wait(self, deadline: float) -> float:
        self.deadlines.append(deadline)
        if self.changes:
            self.changes.pop(0)()
        if self.step is not None:
            self.now += self.step
        elif deadline != math.inf:
            self.now = max(self.now, deadline)
        return self.now


def run(wait: Wait[Any], clock: Clock) -> Any:
    return drive(wait, clock.wait)


# -- waiting for an event ---------------------------------------------------------------------


def _scripted(script: list[int], queued: int, over: bool) -> tuple[Host, Clock]:
    """A host with ``queued`` events, ended or not, and a clock whose changes follow
    ``script``: 0 nothing, 1 an event arrives, 2 the session ends."""
    host, clock = Host(), Clock(step=0.5)
    host.queue = [TestRequestSent(f"q{i}") for i in range(queued)]
    host.over = over
    moves = {
        0: lambda: None,
        1: lambda: host.queue.append(TestRequestSent("late")),
        2: lambda: setattr(host, "over", True),
    }
    clock.changes = [moves[m] for m in script]
    return host, clock


@given(
    st.lists(st.integers(0, 2), max_size=6),
    st.integers(0, 2),
    st.booleans(),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=4.0, allow_nan=False)),
)
def test_drive_next_event_is_the_event_wait_driven(
    script: list[int], queued: int, over: bool, timeout: float | None
) -> None:
    """`drive_next_event` (a simulation's ``next_event``) looks, waits and ends as ``drive`` of
    ``next_event``'s `WaitEvent` does: the same event, None or error, the same deadlines."""
    if timeout is None and not (over or queued or 1 in script or 2 in script):
        return  # waits forever either way
    outcomes = []
    for take in ("drive", "loop"):
        host, clock = _scripted(script, queued, over)
        try:
            if take == "drive":
                got: Any = run(WaitEvent(host, any_event, timeout, clock.now), clock)
            else:
                got = drive_next_event(host, timeout, clock.now, clock.wait)
        except ConnectionError as exc:
            got = ("raised", type(exc), str(exc))
        outcomes.append((got, clock.deadlines, host.queue))
    assert outcomes[0] == outcomes[1]


def test_an_event_already_queued_is_taken_without_waiting() -> None:
    host, clock = Host(), Clock()
    host.queue = [TestRequestSent("a")]
    assert run(WaitEvent(host, any_event, 5.0, clock.now), clock) == TestRequestSent("a")
    assert clock.deadlines == []


def test_skipped_events_stay_queued_in_order_and_the_match_comes_when_it_arrives() -> None:
    host, clock = Host(), Clock(step=0.1)
    host.queue = [TestRequestSent("a")]
    wanted = TestRequestSent("x")
    clock.changes = [lambda: None, lambda: host.queue.append(wanted)]
    got = run(WaitEvent(host, lambda e: e == TestRequestSent("x"), 5.0, clock.now), clock)
    assert got is wanted and host.queue == [TestRequestSent("a")]
    assert clock.deadlines == [105.0, 105.0]  # one deadline for the whole wait


@given(st.floats(min_value=0.0, max_value=1e6, allow_nan=False))
def test_a_timeout_returns_none_at_its_deadline_and_matched_names_it(timeout: float) -> None:
    host, clock = Host(), Clock()
    assert run(WaitEvent(host, any_event, timeout, clock.now), clock) is None
    assert clock.deadlines == ([100.0 + timeout] if 100.0 + timeout > 100.0 else [])
    with pytest.raises(TimeoutError, match="no matching event within"):
        matched(None, timeout)


def test_no_timeout_waits_without_a_deadline() -> None:
    host, clock = Host(), Clock()
    clock.changes = [lambda: None, lambda: host.queue.append(TestRequestSent("b"))]
    assert run(WaitEvent(host, any_event, None, clock.now), clock) == TestRequestSent("b")
    assert clock.deadlines == [math.inf, math.inf]


def test_an_ended_session_returns_what_was_queued_then_raises_its_error() -> None:
    host, clock = Host(), Clock()
    host.queue, host.over = [TestRequestSent("a")], True
    assert run(WaitEvent(host, any_event, 5.0, clock.now), clock) == TestRequestSent("a")
    with pytest.raises(ConnectionError, match="ended"):
        run(WaitEvent(host, any_event, 5.0, clock.now), clock)


# -- pacing and place / cancel ---------------------------------------------------------------


def test_a_paced_send_waits_each_delay_the_rate_limiter_names_then_sends() -> None:
    host, clock = Host(delays=[0.5, 0.25]), Clock()
    assert run(PacedSend(host, "msg", clock.now), clock) == 1
    assert clock.deadlines == [100.5, 100.75] and host.sent == ["msg"]


def test_a_paced_wait_woken_early_waits_the_rest() -> None:
    host, clock = Host(delays=[1.0]), Clock(step=0.4)
    run(PacedSend(host, "msg", clock.now), clock)
    assert clock.deadlines == [101.0, 101.0, 101.0]


class Waiter:
    def __init__(self) -> None:
        self.done = False

    def outcome(self) -> str:
        return "order"

    def timeout_error(self, timeout: float | None) -> TimeoutError:
        return TimeoutError(f"no answer within {timeout}")


def test_settle_sends_then_waits_for_the_driver_to_settle_the_waiter() -> None:
    host, clock, waiter = Host(delays=[2.0]), Clock(), Waiter()

    def answer() -> None:
        waiter.done = True

    clock.changes = [lambda: None, answer]
    assert run(Settle(host, waiter, "order", 5.0, clock.now), clock) == "order"  # type: ignore[arg-type]
    # the pacing wait is not counted in the timeout: its deadline starts after the send
    assert clock.deadlines == [102.0, 107.0] and host.forgotten == []


def test_settle_times_out_and_forgets_the_waiter() -> None:
    host, clock, waiter = Host(), Clock(), Waiter()
    with pytest.raises(TimeoutError, match="no answer within 3"):
        run(Settle(host, waiter, "order", 3.0, clock.now), clock)  # type: ignore[arg-type]
    assert host.forgotten == [waiter]


def test_settle_on_an_ended_session_raises_its_error_and_forgets() -> None:
    host, clock, waiter = Host(), Clock(), Waiter()
    host.over = True
    with pytest.raises(ConnectionError):
        run(Settle(host, waiter, "order", None, clock.now), clock)  # type: ignore[arg-type]
    assert host.forgotten == [waiter]


def test_a_settle_given_up_from_outside_forgets_the_waiter() -> None:
    """An async caller cancelled mid-wait closes the wait: the waiter is forgotten at once."""
    host, waiter = Host(), Waiter()
    wait = Settle(host, waiter, "order", None, 0.0)  # type: ignore[arg-type]
    assert wait.poll(0.0) == math.inf
    wait.close()
    assert host.forgotten == [waiter]
    settled = Waiter()
    settled.done = True
    Settle(host, settled, "order", None, 0.0).close()  # type: ignore[arg-type]
    assert host.forgotten == [waiter]  # a settled waiter has nothing to forget


# -- kill and run ---------------------------------------------------------------------------


class Kill:
    finished_at: float | None = None


def test_a_kill_waits_until_finished_its_deadline_or_the_end() -> None:
    host, clock, kill = Host(), Clock(step=1.0), Kill()

    def finish() -> None:
        kill.finished_at = 1.0

    clock.changes = [lambda: None, finish]
    run(AwaitKill(host, kill, 110.0, clock.now), clock)  # type: ignore[arg-type]
    assert clock.deadlines == [110.0, 110.0]
    clock.deadlines.clear()
    run(AwaitKill(host, Kill(), 103.0, clock.now), clock)  # type: ignore[arg-type]
    assert len(clock.deadlines) == 1  # 102 -> 103: the deadline
    host.over = True
    run(AwaitKill(host, Kill(), math.inf, clock.now), clock)  # type: ignore[arg-type]


def test_until_waits_for_done_or_the_end_then_for_the_last_callbacks() -> None:
    host, clock = Host(), Clock()
    flag = [False]
    clock.changes = [lambda: flag.__setitem__(0, True)]
    assert run(Until(host, lambda: flag[0]), clock) is True
    left = [2]

    def callbacks_left() -> bool:
        left[0] -= 1
        return left[0] >= 0

    host.over = True
    assert run(Until(host, lambda: False, callbacks_left), clock) is False
    assert left[0] < 0


# -- who reads the socket ------------------------------------------------------------------------


def test_the_waiting_caller_reads_and_the_background_reader_waits_its_turn() -> None:
    r = Readers(0.05)
    r.enter()
    assert r.claim("caller") == "read" and r.reader == "caller"
    assert r.background(10.0, "bg") == 0.05  # someone reads (and waits)
    assert r.claim("other") == "rest"
    assert r.release(10.0) is True  # a caller still waits: wake it
    assert r.leave() is False
    # nobody waits: the background reader reads only after the hand-off delay
    assert r.background(10.02, "bg") == pytest.approx(0.03)
    assert r.background(10.05, "bg") == 0.0 and r.reader == "bg"
    # a caller that starts waiting takes the socket back from the background reader
    assert r.claim("caller") == "preempt"
    assert r.release(10.1) is False and r.active == 10.0  # a background read is not activity


def test_a_due_timer_is_not_put_off_by_the_hand_off_delay() -> None:
    r = Readers(0.05)
    r.claim("caller")
    r.release(10.0)
    assert r.background(10.01, "bg", timer_in=lambda: 0.01) == 0.01
    assert r.background(10.01, "bg", timer_in=lambda: 0.0) == 0.0


def test_only_the_reader_in_the_socket_or_anyone_when_nobody_reads_may_act_on_it_alone() -> None:
    r = Readers(0.05)
    assert r.owns("caller") and r.owns("bg")  # nobody reads: whoever writes closes it
    r.claim("reader")
    assert r.owns("reader") and not r.owns("caller")  # the reader closes it once back
    r.release(1.0)
    assert r.owns("bg")


def test_who_reads_and_closing_skips_the_hand_off_delay() -> None:
    r = Readers(0.05)
    assert not r.caller_reads()  # nobody reads
    r.claim("caller")
    assert r.caller_reads() and not r.owns("me")
    r.release(10.0)
    assert r.background(10.01, "bg") == pytest.approx(0.04)  # a caller read lately
    r.release(10.01)  # the background reader had it: it gives it back
    r.closing()  # no caller will read the Logout's answer: the background reader reads now
    assert r.background(10.01, "bg") == 0.0
    assert not r.caller_reads() and r.owns("bg")


@given(st.lists(st.sampled_from(["enter", "leave", "claim", "release", "bg"]), max_size=40))
def test_one_reader_at_a_time(steps: list[str]) -> None:
    r, now, waiting = Readers(0.05), 0.0, 0
    for step in steps:
        now += 0.01
        if step == "enter":
            r.enter()
            waiting += 1
        elif step == "leave" and waiting:
            r.leave()
            waiting -= 1
        elif step == "claim":
            before = r.reader
            if r.claim(object()) == "read":
                assert before is None
            else:
                assert r.reader is before and before is not None
        elif step == "release" and r.reader is not None:
            r.release(now)
        elif step == "bg":
            before = r.reader
            if r.background(now, "bg") == 0.0:
                assert before is None and waiting == 0
        assert r.waiting == waiting


# -- what the callbacks get --------------------------------------------------------------------


class Q:
    """A driver's queue length."""

    def __init__(self, queued: int) -> None:
        self.queued = queued


def test_on_event_takes_every_event_then_on_reconnect_after_the_reconnected() -> None:
    d = Delivery(on_event=True, on_reconnect=True)
    queue = [(TestRequestSent("a"), 1.0), (Reconnected(1, True), 2.0), (TestRequestSent("a"), 3.0)]

    def next_event() -> tuple[Event, float] | None:
        return queue.pop(0) if queue else None

    for event, _ in queue:
        d.observe(event)
    assert d.due(Q(len(queue)))
    assert d.take_callback(next_event) == (TestRequestSent("a"), False)
    assert d.take_callback(next_event) == (Reconnected(1, True), True)
    assert not d.reconnected and d.due(Q(len(queue)))
    event, _ = d.take_callback(next_event)
    assert d.received_at(event) == 3.0 and not d.due(Q(len(queue)))
    assert d.received_at(TestRequestSent("a")) is None  # equal, but not one delivered


def test_without_on_event_the_queue_is_the_readers_and_on_reconnect_comes_at_once() -> None:
    d = Delivery(on_event=False, on_reconnect=True)
    assert not d.due(Q(5))
    d.observe(Reconnected(2, False))
    assert d.due(Q(5)) and d.take_callback(lambda: None) == (None, True)
    read = TestRequestSent("a")
    assert d.delivered((read, 7.0)) is read  # a reader took it
    assert d.received_at(read) == 7.0
    # remembered by a weak reference: an event the application let go of is freed, and a
    # freed one's reference (None) matches nothing
    d.delivered((TestRequestSent("b"), 8.0))
    assert d.received_at(None) is None  # type: ignore[arg-type]
    assert [at for ref, at in zip(d.recent, d.times, strict=True) if ref() is None] == [8.0]
    assert d.received_at(read) == 7.0
    assert not Delivery(False, False).due(Q(3))

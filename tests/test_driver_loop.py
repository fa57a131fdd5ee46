"""The loop rules the sans-IO `Driver` answers for every adapter, on a fake clock.

The slow-peer verdict (`Driver.write_buffered`, `Driver.wrote`), deadline re-arming
(`Driver.sleeping`, `Driver.sleep_for`, ``wake_needed``), when to connect
(`Driver.connect_in`), the answers ``place`` / ``cancel`` wait for (`Driver.order_waiter`,
`OrderWaiter`) and rate pacing (`Driver.offer`), with the `Harness` of ``test_driver.py``: a
driver talking to the mock exchange in memory, no socket, no thread, no sleep.
"""

from __future__ import annotations

import math

import pytest
from test_driver import Harness, exec_ids, of

from kalshi_fix_sansio.driver import DEFAULT_MAX_BUFFERED, FallingBehind, OrderWaiter, QueuePolicy
from kalshi_fix_sansio.errors import LocalProtocolError
from kalshi_fix_sansio.ratelimit import RateLimiter, Tier
from kalshi_fix_sansio.supervisor import Disconnected, SupervisorState
from kalshi_fix_sansio.tracker import OrderRejected, OrderStatus


def logged_on(**options: object) -> Harness:
    h = Harness(**options)  # type: ignore[arg-type]
    h.start()
    assert h.driver.state is SupervisorState.ACTIVE
    h.read()
    return h


# -- the slow peer -----------------------------------------------------------------------------


def test_more_than_max_buffered_bytes_waiting_loses_the_connection() -> None:
    h = logged_on(max_buffered=1000)
    h.driver.write_buffered(1000, h.now)
    assert h.driver.wants_transport
    h.driver.write_buffered(1001, h.now)
    assert not h.driver.wants_transport
    (lost,) = of(h.read(), Disconnected)
    assert "the peer is not reading: over 1000 bytes wait" in lost.reason


def test_bytes_waiting_past_write_timeout_lose_the_connection_at_that_deadline() -> None:
    h = logged_on(write_timeout=2.0)
    assert h.driver.max_buffered == DEFAULT_MAX_BUFFERED
    h.driver.write_buffered(10, h.now)
    assert h.driver.next_deadline() == h.now + 2.0  # sooner than the heartbeat (5 s)
    h.now += 1.0
    h.driver.write_buffered(20, h.now)  # still waiting: the clock runs from the first report
    h.driver.handle_timer(h.now + 0.999)
    assert h.driver.wants_transport
    h.driver.handle_timer(h.now + 1.0)
    assert not h.driver.wants_transport
    (lost,) = of(h.read(), Disconnected)
    assert "the peer took nothing for 2 s" in lost.reason


def test_a_drained_buffer_resets_the_write_clock() -> None:
    h = logged_on(write_timeout=2.0)
    h.driver.write_buffered(10, h.now)
    h.driver.write_buffered(0, h.now + 1.5)
    assert h.driver.next_deadline() != h.now + 2.0
    h.driver.write_buffered(10, h.now + 1.8)
    h.driver.handle_timer(h.now + 3.0)  # 1.2 s after it began to wait again
    assert h.driver.wants_transport
    h.driver.handle_timer(h.now + 3.8)
    assert not h.driver.wants_transport


def test_no_write_timeout_means_no_verdict_but_the_byte_bound() -> None:
    h = logged_on()
    h.driver.write_buffered(10, h.now)
    h.advance(3.0)  # heartbeats flow; nothing was judged
    assert h.driver.wants_transport


def test_write_timeout_must_be_positive() -> None:
    with pytest.raises(LocalProtocolError, match="write_timeout must be > 0"):
        Harness(write_timeout=0.0)


# -- deadline re-arming ------------------------------------------------------------------------


def test_wake_needed_says_when_an_input_wants_a_sooner_wake_up() -> None:
    h = logged_on(write_timeout=1.0)
    assert not h.driver.wake_needed  # nothing armed: nobody sleeps
    armed = h.driver.sleeping()
    assert armed == h.driver.next_deadline() and armed is not None
    assert not h.driver.wake_needed
    h.driver.write_buffered(10, h.now)  # a verdict due in 1 s, before the heartbeat
    assert h.driver.wake_needed
    h.driver.awake()
    assert not h.driver.wake_needed


def test_a_later_deadline_needs_no_wake_up() -> None:
    h = logged_on()
    h.driver.sleeping()
    h.place("o-1", "buy", 10)  # sending pushes the heartbeat later, the answer came
    assert not h.driver.wake_needed


def test_must_wake_after_a_send_when_bytes_wait_a_sooner_wake_is_needed_or_it_must_close() -> None:
    h = logged_on(write_timeout=1.0)
    assert h.driver.must_wake(pending=True)  # bytes wait for writability
    assert not h.driver.must_wake()  # nobody sleeps
    h.driver.sleeping()
    assert not h.driver.must_wake()
    h.driver.write_buffered(10, h.now)  # a verdict due sooner than the sleeper's deadline
    assert h.driver.must_wake() == h.driver.wake_needed is True
    h.driver.awake()
    h.driver.close(h.now)
    h.driver.handle_timer(h.now + 1e6)  # the Logout unanswered: the connection is to close
    assert not h.driver.wants_transport and h.driver.must_wake()


def test_a_send_never_brings_the_next_deadline_sooner_so_must_wake_after_one_skips_it() -> None:
    h = logged_on(write_timeout=30.0)
    h.advance(10.0)
    armed = h.driver.sleeping()
    assert armed is not None
    h.now += 5.0
    h.place("o-1", "buy", 10, deliver=False)
    after = h.driver.next_deadline()
    assert after is not None and after >= armed  # the heartbeat put off, nothing sooner
    assert not h.driver.wake_needed and not h.driver.must_wake(sent=True)
    assert h.driver.must_wake(pending=True, sent=True)  # bytes wait: wake all the same
    # bytes waiting for the peer: the slow-peer verdict is a deadline a send does not move
    h.driver.write_buffered(10, h.now)
    armed = h.driver.sleeping()
    h.now += 1.0
    h.place("o-2", "buy", 10, deliver=False)
    assert h.driver.next_deadline() == armed and not h.driver.wake_needed
    h.pump()
    h.driver.close(h.now)  # the connection is to close once the Logout is unanswered
    h.driver.handle_timer(h.now + 1e6)
    assert not h.driver.wants_transport and h.driver.must_wake(sent=True)


def test_woke_fires_the_timers_once_the_deadline_slept_until_has_come() -> None:
    h = logged_on()
    h.driver.data_to_send()
    assert not h.driver.woke(h.now + 1e6)  # not sleeping: nothing armed, nothing fired
    armed = h.driver.sleeping()
    assert armed is not None
    assert not h.driver.woke(armed - 0.001) and h.driver.data_to_send() == b""
    assert h.driver.sleeping() == armed
    assert h.driver.woke(armed)  # the heartbeat is due: it goes out
    assert b"\x0135=0\x01" in h.driver.data_to_send()
    assert not h.driver.wake_needed  # awake: nothing armed


def test_sleep_for_says_how_long_to_wait_at_most_and_arms_the_deadline() -> None:
    h = logged_on()
    deadline = h.driver.next_deadline()
    assert deadline is not None
    assert h.driver.sleep_for(h.now) == pytest.approx(deadline - h.now)
    assert h.driver.woke(deadline)  # armed as `sleeping` arms it
    deadline = h.driver.next_deadline()
    assert deadline is not None
    assert h.driver.sleep_for(h.now, 0.25) == 0.25  # the caller's own deadline is sooner
    assert h.driver.sleep_for(deadline + 1.0) == 0.0  # overdue: do not wait
    assert h.driver.sleep_for(h.now, -1.0) == 0.0  # the caller's deadline has passed
    assert h.driver.woke(deadline + 1.0)


def test_an_event_read_into_an_empty_queue_needs_no_wake_up_and_its_lag_is_still_reported() -> None:
    # the heartbeat far off: the one sooner deadline a read can bring is an unread event's lag
    h = logged_on(config_options={"heartbeat_interval": 30}, policy=QueuePolicy(lag_warning=2.0))
    assert h.driver.queued == 0
    assert h.driver.sleep_for(h.now) == 2.0  # at most the lag bound, not the heartbeat's 30 s
    slept = h.now
    h.now += 0.5
    h.place("o-1", "buy", 10)  # its ExecutionReport is read into the empty queue
    queued = h.driver.queued
    assert queued > 0 and h.driver.next_deadline() == pytest.approx(h.now + 2.0)
    assert not h.driver.must_wake() and not h.driver.wake_needed  # no sooner than armed
    assert h.driver.woke(slept + 2.0)  # the bound: the timers run, nothing is due yet
    assert h.driver.queued == queued
    assert h.driver.sleep_for(slept + 2.0) == pytest.approx(0.5)  # until the report is 2 s old
    assert h.driver.woke(h.now + 2.0)
    assert isinstance(h.read()[0], FallingBehind)
    # `sleeping` arms the same bound when given the time, the exact deadline without it
    assert h.driver.sleeping(h.now) == h.now + 2.0
    assert h.driver.sleeping() == h.driver.next_deadline() > h.now + 2.0


def test_the_lag_bound_holds_only_while_reads_queue_events() -> None:
    h = logged_on(config_options={"heartbeat_interval": 30}, policy=QueuePolicy(queue_events=False))
    deadline = h.driver.next_deadline()
    assert deadline is not None and deadline - h.now > 2.0
    assert h.driver.sleep_for(h.now) == pytest.approx(deadline - h.now)  # no queue: no bound
    h = logged_on(config_options={"heartbeat_interval": 30})
    assert h.driver.sleep_for(h.now) == QueuePolicy().lag_warning
    h.driver.close(h.now)
    h.driver.handle_timer(h.now + 1e6)  # no connection in use: no read can queue an event
    assert not h.driver.wants_transport and h.read()
    assert h.driver.sleep_for(h.now + 1e6) == math.inf


def test_sleep_for_with_no_deadline_waits_until_woken_or_the_callers_deadline() -> None:
    h = Harness()  # not started: no deadline
    assert h.driver.next_deadline() is None
    assert h.driver.sleep_for(h.now) == math.inf
    assert h.driver.sleep_for(h.now, 2.0) == 2.0
    assert not h.driver.wake_needed and not h.driver.woke(h.now + 1e6)


def test_timer_in_counts_from_now_to_the_next_deadline() -> None:
    h = Harness()
    assert h.driver.timer_in(h.now) is None  # not started
    h.start()
    deadline = h.driver.next_deadline()
    assert deadline is not None
    assert h.driver.timer_in(h.now) == pytest.approx(deadline - h.now)
    assert h.driver.timer_in(deadline + 1.0) == pytest.approx(-1.0)  # overdue


def test_connect_in_says_connect_now_rest_or_finished() -> None:
    h = Harness()
    assert h.driver.connect_in(h.now) == math.inf  # not started: nothing to do until woken
    h.start()
    assert h.driver.connect_in(h.now) == math.inf  # connected: no connection to open
    h.drop()
    at = h.driver.connect_at
    assert at is not None and at > h.now  # the backoff's delay
    assert h.driver.connect_in(h.now) == pytest.approx(at - h.now)
    assert h.driver.connect_in(at) == 0.0 and h.driver.connect_in(at + 5.0) == 0.0
    h.driver.close(h.now)
    assert h.driver.finished and h.driver.connect_in(h.now) is None


def test_wrote_tells_the_verdict_and_says_whether_the_bytes_left_still_go() -> None:
    h = logged_on(max_buffered=1000)
    assert h.driver.wrote(10, h.now)  # they wait: still to be written
    assert h.driver.wrote(0, h.now)  # all taken: the write clock stops
    assert h.driver.next_deadline() == h.driver.supervisor.next_deadline()
    assert not h.driver.wrote(1001, h.now)  # too many wait: the connection is lost, drop them
    assert not h.driver.wants_transport


# -- the answers place / cancel wait for -----------------------------------------------------------


def test_an_order_waiter_is_settled_by_the_acknowledgement() -> None:
    h = logged_on()
    order = h.order("o-1", "buy", 10)
    waiter = h.driver.order_waiter(order)
    assert isinstance(waiter, OrderWaiter) and not waiter.done
    with pytest.raises(LocalProtocolError, match="has not come yet"):
        waiter.outcome()
    h.driver.send(order, h.now)
    assert not waiter.done  # nothing read yet
    h.pump()
    assert waiter.done
    snapshot = waiter.outcome()
    assert snapshot.cl_ord_id == "o-1" and snapshot.acknowledged
    assert not h.driver._waiters  # settled ones are not kept


def test_until_filled_waits_for_the_final_state() -> None:
    h = logged_on()
    order = h.order("o-1", "buy", 3)
    waiter = h.driver.order_waiter(order, "filled")
    h.driver.send(order, h.now)
    h.pump()
    assert not waiter.done  # acknowledged, resting
    h.other_trades("sell", [1, 1])
    assert not waiter.done
    h.other_trades("sell", [1])
    assert waiter.done and waiter.outcome().status is OrderStatus.FILLED


def test_a_cancel_waiter_is_settled_by_its_answer() -> None:
    h = logged_on()
    h.place("o-1", "buy", 10)
    d = h.d
    cancel = d.OrderCancelRequest(
        cl_ord_id="c-1", orig_cl_ord_id="o-1", side=d.Side.BUY, symbol=h.symbol
    )
    waiter = h.driver.order_waiter(cancel)
    assert waiter.until == "answer" and waiter.target == "o-1"
    h.driver.send(cancel, h.now)
    h.pump()
    assert waiter.done and waiter.outcome().status is OrderStatus.CANCELED


def test_a_rejection_settles_the_waiter_with_order_rejected() -> None:
    h = logged_on()
    d = h.d
    cancel = d.OrderCancelRequest(
        cl_ord_id="c-1", orig_cl_ord_id="nope", side=d.Side.BUY, symbol=h.symbol
    )
    waiter = h.driver.order_waiter(cancel)
    h.driver.send(cancel, h.now)
    h.pump()
    assert waiter.done
    with pytest.raises(OrderRejected):
        waiter.outcome()


def test_a_waiter_already_answered_is_settled_at_once_and_forget_drops_one() -> None:
    h = logged_on()
    h.place("o-1", "buy", 10)
    assert exec_ids(h.read())
    assert h.driver.order_waiter(h.order("o-1", "buy", 10)).done
    waiter = h.driver.order_waiter(h.order("o-2", "buy", 10))
    h.driver.forget(waiter)
    h.driver.forget(waiter)  # idempotent
    h.place("o-2", "buy", 10)
    assert not waiter.done  # forgotten: no longer settled
    assert "within 1.5 s" in str(waiter.timeout_error(1.5))


@pytest.mark.parametrize(
    ("kind", "until", "message"),
    [
        ("order", "soon", "until must be 'ack' or 'filled'"),
        ("heartbeat", "ack", "not 35=0"),
        ("cancel-no-orig", "ack", "has no OrigClOrdID"),
    ],
)
def test_order_waiter_refuses_what_place_and_cancel_do_not_send(
    kind: str, until: str, message: str
) -> None:
    h = logged_on()
    d = h.d
    sent = {
        "order": h.order("o-1", "buy", 1),
        "heartbeat": d.Heartbeat(),
        "cancel-no-orig": d.OrderCancelRequest(cl_ord_id="c-1", side=d.Side.BUY, symbol=h.symbol),
    }[kind]
    with pytest.raises(LocalProtocolError, match=message):
        h.driver.order_waiter(sent, until)


# -- rate pacing -------------------------------------------------------------------------------


def test_offer_sends_now_or_says_how_long_until_the_limiter_can_take_it() -> None:
    limiter = RateLimiter("prediction", Tier("tiny", read=10.0, write=10.0, write_burst=1.0))
    h = logged_on(config_options={"rate_limiter": limiter})
    seq, delay = h.driver.offer(h.order("o-1", "buy", 1), h.now)
    assert seq is not None and delay == 0.0
    seq, delay = h.driver.offer(h.order("o-2", "buy", 1), h.now)
    assert seq is None and 0.0 < delay <= 1.0
    assert h.driver.tracker.order("o-2") is None  # not sent, not tracked
    h.now += delay
    seq, delay = h.driver.offer(h.order("o-2", "buy", 1), h.now)
    assert seq is not None and delay == 0.0


def test_offer_raises_what_send_would_refuse_before_waiting() -> None:
    limiter = RateLimiter("prediction", Tier("tiny", read=10.0, write=10.0, write_burst=1.0))
    h = logged_on(config_options={"rate_limiter": limiter})
    h.driver.offer(h.order("o-1", "buy", 1), h.now)
    with pytest.raises(LocalProtocolError, match="still live"):
        h.driver.offer(h.order("o-1", "buy", 1), h.now)  # no wait for a refusal

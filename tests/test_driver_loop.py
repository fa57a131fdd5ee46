"""The loop part of the sans-IO `Driver`: facts in, actions out (`kalshi_fix_sansio.client.steps`),
on a fake clock.

The connection's life (`START` -> `CONNECT` -> `CONNECTED` ... `Disconnect`, `Finished`),
the wake-ups (`WakeAt`, told again only when sooner or after `WOKE`), the slow-peer verdict
(`Buffered`), the answers ``place`` / ``cancel`` wait for (`Driver.order_waiter`,
`OrderWaiter`) and rate pacing (`Send` with ``paced``), with `Stepped`: the `Harness` of
``test_driver.py`` driven through `Driver.step` as an adapter drives it, every action kept; a
driver talking to the mock exchange in memory, no socket, no thread, no sleep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timezone
from datetime import time as dt_time
from decimal import Decimal
from typing import Any

import pytest
from step_helpers import StepLog
from test_driver import Harness, exec_ids, of

from kalshi_fix_sansio import FallingBehind, QueuePolicy, TradingHalted
from kalshi_fix_sansio.client.driver import DEFAULT_MAX_BUFFERED, OrderWaiter
from kalshi_fix_sansio.client.pump import loop_moves
from kalshi_fix_sansio.client.steps import (
    CLOSE,
    CONNECT,
    CONNECTED,
    FINISHED,
    NO_PUMP,
    START,
    WOKE,
    Action,
    Agenda,
    Buffered,
    ConnectFailed,
    Disconnect,
    Fact,
    Kill,
    Lost,
    Received,
    Send,
    WakeAt,
    Write,
)
from kalshi_fix_sansio.client.supervisor import Disconnected, SupervisorState
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.ratelimit import RateLimiter, RateLimitExceeded, Tier
from kalshi_fix_sansio.trading.tracker import OrderRejected, OrderStatus


class Stepped(Harness):
    """The `Harness` driven through `Driver.step`, as an adapter drives it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.log = StepLog()

    @property
    def actions(self) -> list[Action]:
        """Every action the steps gave."""
        return self.log.actions

    def do(self, fact: Fact) -> Sequence[Action]:
        """Step ``fact`` now; the actions (kept in ``actions``)."""
        return self.log.step(self.driver, fact, self.now)

    def wake_at(self) -> float | None:
        """The last `WakeAt` told."""
        return self.log.wake_at()

    def _start(self) -> None:
        assert list(self.do(START)) == [CONNECT]

    def _connected(self) -> None:
        self.do(CONNECTED)

    def _lost(self, reason: str) -> None:
        self.do(Lost(reason))

    def _timer(self) -> None:
        self.do(WOKE)

    def _out(self) -> bytes:  # the Writes stepped, then what a `driver.send` queued
        return self.log.take_outbox() + self.driver.data_to_send()

    def _in(self, data: bytes) -> None:
        self.do(Received(data))


def logged_on(**options: Any) -> Stepped:
    h = Stepped(**options)
    h.start()
    assert h.driver.supervisor.state is SupervisorState.ACTIVE
    h.read()
    return h


# -- the connection's life -----------------------------------------------------------------------


def test_start_asks_for_a_connection_and_connected_sends_the_logon() -> None:
    h = Stepped()
    assert list(h.do(START)) == [CONNECT]
    assert h.do(WOKE) == ()  # the connection is being opened: not asked twice
    actions = h.do(CONNECTED)
    assert [type(a) for a in actions] == [Write, WakeAt]
    assert b"\x0135=A\x01" in actions[0].data  # type: ignore[attr-defined]
    assert h.driver.loop.connected


def test_a_failed_connection_is_retried_at_the_backoffs_deadline_then_given_up() -> None:
    h = Stepped(backoff=None, config_options={})
    h.do(START)
    at = None
    for _ in range(50):
        actions = h.do(ConnectFailed(OSError("refused")))
        if FINISHED in actions:
            break
        (wake,) = actions
        assert isinstance(wake, WakeAt) and wake.deadline > h.now
        at = wake.deadline
        h.now = at
        assert list(h.do(WOKE)) == [CONNECT]
    else:
        raise AssertionError("never gave up")
    assert at is not None and h.driver.supervisor.finished and h.driver.failure is not None
    assert h.do(WOKE) == ()  # finished is told once


def test_an_agenda_keeps_the_actions_for_later_and_leaves_the_io_to_the_loop() -> None:
    """What a loop keeps of a driver's answers (`Agenda`): it connects when told, wakes at the
    deadline told last, and ends; `Write` and `Disconnect` are the loop's to perform at once."""
    h = Stepped(backoff=None, config_options={})
    agenda, io = Agenda(), []

    def step(fact: Fact) -> None:
        io.extend(a for a in h.do(fact) if not agenda.note(a))

    assert (agenda.connect_due, agenda.finished, agenda.wake_at) == (False, False, math.inf)
    step(START)
    assert agenda.connect_due and not io
    agenda.connect_due = False  # the loop opens the connection
    step(CONNECTED)
    assert [type(a) for a in io] == [Write]  # the Logon, at once
    told = h.wake_at()
    assert told is not None and agenda.wake_at == told  # the heartbeat's deadline, kept
    step(CLOSE)
    assert [type(a) for a in io] == [Write, Write]  # the Logout
    h.now += h.driver.config.logout_timeout + 1
    step(WOKE)  # no answer in time: the driver is done with the connection
    assert isinstance(io[-1], Disconnect) and agenda.finished
    assert not agenda.note(io[-1]) and not agenda.note(io[0])


def test_loop_moves_is_every_pumps_loop_connect_or_wait_until_finished_or_failed() -> None:
    """`loop_moves` (the blocking thread's loop and `pump_task`'s): `START` stepped first, then
    True while a connection is due (the pump clears it as it connects), else False (the pump
    waits), until the driver is finished; and no move after the pump failed."""
    h = Stepped(backoff=None, config_options={})

    class Pump:
        agenda = Agenda()
        clock = staticmethod(lambda: h.now)

        def perform(self, sup: Any, actions: Sequence[Action]) -> None:
            for action in actions:
                self.agenda.note(action)

    pump = Pump()
    moves = loop_moves(pump, h.driver)
    assert next(moves) is True  # START asked for a connection
    pump.agenda.connect_due = False  # the pump connects
    pump.perform(h.driver, h.do(CONNECTED))
    assert next(moves) is False  # connected: the pump waits
    pump.perform(h.driver, h.do(CLOSE))
    h.now += h.driver.config.logout_timeout + 1
    pump.perform(h.driver, h.do(WOKE))  # no answer to the Logout: the driver is done
    assert pump.agenda.finished and list(moves) == []

    failed = Stepped(backoff=None, config_options={})
    pump = Pump()
    pump.agenda = Agenda()
    failed.driver.pump_failed(OSError("the loop broke"))
    moves = loop_moves(pump, failed.driver)
    assert list(moves) == [] and pump.agenda.connect_due  # START stepped, then no move


def test_facts_about_a_connection_the_driver_is_done_with_are_ignored() -> None:
    h = logged_on()
    h.drop("cut")
    assert not h.driver.loop.connected
    before = h.driver.supervisor.state
    assert not any(isinstance(a, Write) for a in h.do(Received(b"8=FIXT.1.1\x01")))
    h.do(Lost("again"))
    assert h.driver.supervisor.state is before


def test_close_logs_out_then_disconnects_and_finishes() -> None:
    h = logged_on()
    actions = h.do(CLOSE)
    assert [type(a) for a in actions][:1] == [Write]
    assert b"\x0135=5\x01" in actions[0].data  # type: ignore[attr-defined]
    h.pump()  # the Logout's answer
    kinds = [type(a) for a in h.actions]
    assert Disconnect in kinds and h.actions[-1] is FINISHED
    disconnect = next(a for a in h.actions if isinstance(a, Disconnect))
    assert not disconnect.abort


def test_closed_while_connecting_the_connection_is_dropped_unused() -> None:
    h = Stepped()
    h.do(START)
    h.do(CLOSE)
    actions = h.do(CONNECTED)
    assert isinstance(actions[0], Disconnect) and actions[0].abort
    assert FINISHED in actions


def test_step_refuses_what_is_not_a_fact() -> None:
    h = Stepped()
    with pytest.raises(LocalProtocolError, match="is not a fact a driver takes"):
        h.driver.step(Write(b"x"), h.now)  # type: ignore[arg-type]


def test_kill_is_a_fact_and_carries_its_switch() -> None:
    h = logged_on()
    h.place("o-1", "buy", 10)
    kill = Kill()
    actions = h.do(kill)
    assert kill.switch is not None and h.driver.gate.halted
    assert any(isinstance(a, Write) for a in actions)  # the mass cancel went out


# -- the slow peer -----------------------------------------------------------------------------


def test_more_than_max_buffered_bytes_waiting_loses_the_connection() -> None:
    h = logged_on(max_buffered=1000)
    assert not any(isinstance(a, Disconnect) for a in h.do(Buffered(1000)))
    assert h.driver.supervisor.wants_transport
    actions = h.do(Buffered(1001))
    (disconnect,) = [a for a in actions if isinstance(a, Disconnect)]
    assert disconnect.abort  # lost: what waits is dropped
    assert not h.driver.supervisor.wants_transport
    assert any(isinstance(e, Disconnected) and "not reading" in e.reason for e in h.read())


def test_bytes_waiting_past_write_timeout_lose_the_connection_at_that_deadline() -> None:
    h = logged_on(write_timeout=2.0)
    assert h.driver.loop.max_buffered == DEFAULT_MAX_BUFFERED
    actions = h.do(Buffered(10))
    assert WakeAt in [type(a) for a in actions]  # the verdict is due before the heartbeat
    assert h.wake_at() == h.now + 2.0
    h.now += 1.0
    h.do(Buffered(20))  # still waiting: the clock runs from the first report
    h.now += 1.0
    actions = h.do(WOKE)
    assert any(isinstance(a, Disconnect) and a.abort for a in actions)
    assert any("took nothing for 2 s" in e.reason for e in of(h.read(), Disconnected))


def test_a_drained_buffer_resets_the_write_clock() -> None:
    h = logged_on(write_timeout=2.0)
    h.do(Buffered(10))
    h.now += 1.5
    h.do(Buffered(0))
    h.now += 0.3
    h.do(Buffered(10))
    h.now += 1.9
    h.do(WOKE)
    assert h.driver.supervisor.wants_transport  # 1.9 s since the bytes began to wait again


def test_no_write_timeout_means_no_verdict_but_the_byte_bound() -> None:
    h = logged_on()
    h.do(Buffered(10))
    h.now += 1e6
    h.do(WOKE)
    assert h.driver.supervisor.wants_transport


def test_write_timeout_must_be_positive() -> None:
    with pytest.raises(LocalProtocolError, match="write_timeout must be > 0"):
        Harness(write_timeout=0.0)


# -- the wake-ups ---------------------------------------------------------------------------------


def test_the_wake_up_is_told_again_only_when_it_moves_sooner_or_after_the_loop_woke() -> None:
    h = logged_on()
    told = h.wake_at()
    assert told is not None and told > h.now
    assert h.do(WOKE) == ()  # woken early: nothing due, nothing sooner
    h.do(Send(h.order("o-1", "buy", 1)))  # a send never brings the deadline sooner
    assert h.wake_at() == told
    h.now = told
    actions = h.do(WOKE)  # the deadline came: the timers fire, a new one is told
    later = h.wake_at()
    assert any(isinstance(a, WakeAt) for a in actions) and later is not None and later > told


def test_a_send_is_told_no_wake_up() -> None:
    h = logged_on()
    actions = h.do(Send(h.order("o-1", "buy", 1)))
    assert [type(a) for a in actions] == [Write]


def test_the_heartbeat_goes_out_when_the_wake_up_comes() -> None:
    h = logged_on()
    told = h.wake_at()
    assert told is not None
    h.now = told - 0.001
    assert not any(isinstance(a, Write) for a in h.do(WOKE))  # not yet
    h.now = told
    actions = h.do(WOKE)
    assert any(isinstance(a, Write) and b"\x0135=0\x01" in a.data for a in actions)
    assert isinstance(actions[-1], WakeAt) and actions[-1].deadline > told


def test_an_event_read_into_an_empty_queue_needs_no_wake_up_and_its_lag_is_still_reported() -> None:
    policy = QueuePolicy(lag_warning=2.0)
    h = logged_on(queue_policy=policy, config_options={"heartbeat_interval": 30})
    h.driver.next_event(h.now)  # the application reads: lags are reported
    h.do(WOKE)
    told = h.wake_at()
    assert told is not None and told <= h.now + 2.0  # at most the lag bound, not 30 s
    h.now += 0.5
    h.place("o-1", "buy", 10)  # reads the report into the empty queue
    assert h.wake_at() == told  # no sooner wake-up needed: its lag is due after the one told
    h.now = told
    h.do(WOKE)
    h.now = h.now + 2.0
    h.do(WOKE)
    assert isinstance(h.driver.next_event(h.now), FallingBehind)


def test_a_read_that_brings_the_drivers_own_deadline_sooner_tells_it() -> None:
    """After a read the loop part looks only at the driver's own deadline (the lag bound moves
    later with the clock): when that is sooner than the wake-up told, the loop is told."""
    h = Stepped(
        queue_policy=QueuePolicy(lag_warning=2.0), config_options={"heartbeat_interval": 30}
    )
    h.start()  # logged on; the application has read nothing yet: no lag bound
    told = h.wake_at()
    assert told is not None and told > h.now + 2.0
    while h.driver.next_event(h.now) is not None:  # from now on it reads its events
        pass
    h.now += 0.5
    h.place("o-1", "buy", 10)  # its report is read into the empty queue: due in 2 s
    assert h.wake_at() == h.now + 2.0  # sooner than the heartbeat's: told
    h.now += 0.5
    h.place("o-2", "buy", 10)  # the oldest unread is older: nothing sooner to tell
    assert h.wake_at() == h.now - 0.5 + 2.0


def test_the_lag_bound_holds_only_while_the_application_reads() -> None:
    h = Stepped(config_options={"heartbeat_interval": 30})
    h.start()
    assert h.driver.loop.deadline(h.now) == h.driver.next_deadline()  # not reading: no bound
    h.driver.next_event(h.now)
    assert h.driver.loop.deadline(h.now) == h.now + QueuePolicy().lag_warning


def _md_frames(h: Stepped) -> tuple[bytes, bytes]:
    """A 35=W and a 35=X of ``h``'s market, as the gateway's session writes them."""
    d, now = h.d, h.now
    day, at = date(2026, 1, 1), dt_time(0, 0, tzinfo=timezone.utc)
    level = {"md_entry_date": day, "md_entry_time": at}
    assert h.gateway is not None
    h.gateway.send(
        d.MarketDataSnapshotFullRefresh(
            symbol=h.symbol,
            md_entries=[
                d.MarketDataSnapshotFullRefreshMDEntry(
                    md_entry_type=d.MDEntryType("0"),
                    md_entry_px=Decimal("0.4000"),
                    md_entry_size=Decimal("5.00"),
                    **level,
                )
            ],
        ),
        now,
    )
    snapshot = h.gateway.data_to_send()
    h.gateway.send(
        d.MarketDataIncrementalRefresh(
            md_entries=[
                d.MarketDataIncrementalRefreshMDEntry(
                    md_update_action=d.MDUpdateAction("0"),
                    symbol=h.symbol,
                    md_entry_type=d.MDEntryType("0"),
                    md_entry_px=Decimal("0.4100"),
                    md_entry_size=Decimal("3.00"),
                    **level,
                )
            ]
        ),
        now,
    )
    return snapshot, h.gateway.data_to_send()


def test_a_market_data_read_before_the_deadline_told_asks_the_layers_nothing_more() -> None:
    """A read that is one book message and nothing else, before the wake-up told, is queued and
    applied to the books in one pass: the loop has nothing to do, and neither the bytes to send
    nor the deadline is asked. With a TestRequest waiting (the peer's deadline may move sooner
    once it is answered) the read takes the general path, and the deadline is worked out."""
    h = Stepped(session_type="KalshiMD", config_options={"heartbeat_interval": 30})
    h.start()  # the application reads nothing yet: no unread-event lag to tell
    driver = h.driver
    assert h.wake_at() is not None
    asked: list[str] = []
    for name in ("next_deadline", "data_to_send"):
        real = getattr(driver, name)
        setattr(driver, name, lambda *a, _n=name, _r=real: asked.append(_n) or _r(*a))
    h.now += 1.0
    for frame in _md_frames(h):
        assert h.do(Received(frame)) == ()
    assert asked == []
    assert driver.books is not None
    assert [(lv.price, lv.size) for lv in driver.books[h.symbol].bids.depth()] == [
        (Decimal("0.4100"), Decimal("3.00")),
        (Decimal("0.4000"), Decimal("5.00")),
    ]
    kinds = [type(e).__name__ for e in iter(lambda: driver.next_event(h.now), None)]
    assert kinds[-2:] == ["ApplicationMessage", "ApplicationMessage"]
    session = driver.supervisor.session
    assert session is not None
    session.send_test_request(h.now)
    h.do(Received(b"".join(_md_frames(h))))
    assert "next_deadline" in asked
    assert driver.supervisor.state is SupervisorState.ACTIVE


def test_frames_cut_across_reads_reach_the_books_and_the_queue_as_whole_reads_do() -> None:
    """A frame cut across two reads, and a read that completes one frame and holds the next
    (bytes buffered before it: not one whole frame as read), take the session's general path:
    the same books and the same events, in order, as the frames read whole."""
    seen = []
    for cut in (None, 7, 60):
        h = Stepped(session_type="KalshiMD", config_options={"heartbeat_interval": 30})
        h.start()
        h.now += 1.0
        stream = b"".join(_md_frames(h))
        reads = [stream] if cut is None else [stream[:cut], stream[cut:]]
        for data in reads:
            h.do(Received(data))
        driver = h.driver
        assert driver.books is not None
        book = [(lv.price, lv.size) for lv in driver.books[h.symbol].bids.depth()]
        taken = []
        while (event := driver.next_event(h.now)) is not None:
            taken.append(event)
        kinds = [type(e).__name__ for e in taken]
        seqs = [getattr(e, "seq_num", None) for e in taken]
        seen.append((book, kinds, seqs))
    assert seen[0][0] == [
        (Decimal("0.4100"), Decimal("3.00")),
        (Decimal("0.4000"), Decimal("5.00")),
    ]
    assert seen[0][1][-2:] == ["ApplicationMessage", "ApplicationMessage"]
    assert seen[1] == seen[0] and seen[2] == seen[0]


# -- the answers place / cancel wait for -----------------------------------------------------------


def test_an_order_waiter_is_settled_by_the_acknowledgement() -> None:
    h = logged_on()
    order = h.order("o-1", "buy", 10)
    waiter = h.driver.desk.order_waiter(order)
    assert isinstance(waiter, OrderWaiter) and not waiter.done
    with pytest.raises(LocalProtocolError, match="has not come yet"):
        waiter.outcome()
    h.driver.send(order, h.now)
    assert not waiter.done  # nothing read yet
    h.pump()
    assert waiter.done
    snapshot = waiter.outcome()
    assert snapshot.cl_ord_id == "o-1" and snapshot.acknowledged


def test_until_filled_waits_for_the_final_state() -> None:
    h = logged_on()
    order = h.order("o-1", "buy", 3)
    waiter = h.driver.desk.order_waiter(order, "filled")
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
    waiter = h.driver.desk.order_waiter(cancel)
    assert waiter.until == "answer" and waiter.target == "o-1"
    h.driver.send(cancel, h.now)
    h.pump()
    assert waiter.done and waiter.outcome().status is OrderStatus.CANCELED


def test_a_loop_author_places_and_cancels_on_the_driver_itself() -> None:
    h = logged_on()
    placed = h.driver.place(h.order("o-1", "buy", 10), h.now)
    assert not placed.done  # its bytes are the next data_to_send: nothing read yet
    h.pump()
    assert placed.done and placed.outcome().acknowledged
    d = h.d
    cancel = d.OrderCancelRequest(
        cl_ord_id="c-1", orig_cl_ord_id="o-1", side=d.Side.BUY, symbol=h.symbol
    )
    cancelled = h.driver.cancel(cancel, h.now)
    h.pump()
    assert cancelled.done and cancelled.outcome().status is OrderStatus.CANCELED


def test_an_order_the_driver_refuses_is_neither_tracked_nor_waited_for() -> None:
    h = logged_on()
    h.driver.gate.halt("test")
    with pytest.raises(TradingHalted):
        h.driver.place(h.order("o-1", "buy", 10), h.now)
    assert h.driver.tracker.order("o-1") is None
    h.driver.gate.rearm()
    placed = h.driver.place(h.order("o-1", "buy", 10), h.now)  # the same ClOrdID goes now
    h.pump()
    assert placed.done


def test_a_driver_driven_by_hand_has_no_pump_and_says_so() -> None:
    h = Stepped()
    assert h.driver.pump is NO_PUMP
    with pytest.raises(LocalProtocolError, match="no pump"):
        h.driver.clock()
    with pytest.raises(LocalProtocolError, match="not connected"):
        h.driver.offer(h.order("o-1", "buy", 10))


def test_renew_keeps_the_driver_and_what_lives_across_opens() -> None:
    h = logged_on()
    driver = h.driver
    tracker, gate, metrics, first = driver.tracker, driver.gate, driver.metrics, driver.supervisor
    h.place("o-1", "buy", 10)
    driver.renew()  # the first open's parts are those made with the driver
    assert driver.supervisor is first
    driver.renew()
    assert driver.supervisor is not first and driver.supervisor.state is SupervisorState.IDLE
    assert (driver.tracker, driver.gate, driver.metrics) == (tracker, gate, metrics)
    assert driver.tracker.order("o-1") is not None and driver.queued == 0


def test_a_rejection_settles_the_waiter_with_order_rejected() -> None:
    h = logged_on()
    d = h.d
    cancel = d.OrderCancelRequest(
        cl_ord_id="c-1", orig_cl_ord_id="nope", side=d.Side.BUY, symbol=h.symbol
    )
    waiter = h.driver.desk.order_waiter(cancel)
    h.driver.send(cancel, h.now)
    h.pump()
    assert waiter.done
    with pytest.raises(OrderRejected):
        waiter.outcome()


def test_a_waiter_already_answered_is_settled_at_once_and_forget_drops_one() -> None:
    h = logged_on()
    h.place("o-1", "buy", 10)
    assert exec_ids(h.read())
    assert h.driver.desk.order_waiter(h.order("o-1", "buy", 10)).done
    waiter = h.driver.desk.order_waiter(h.order("o-2", "buy", 10))
    h.driver.desk.forget(waiter)
    h.driver.desk.forget(waiter)  # idempotent
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
        h.driver.desk.order_waiter(sent, until)


# -- rate pacing -------------------------------------------------------------------------------


def test_a_paced_send_goes_now_or_says_how_long_until_the_limiter_can_take_it() -> None:
    limiter = RateLimiter("prediction", Tier("tiny", read=10.0, write=10.0, write_burst=1.0))
    h = logged_on(config_options={"rate_limiter": limiter})
    first = Send(h.order("o-1", "buy", 1), paced=True)
    assert [type(a) for a in h.do(first)] == [Write]
    assert first.seq is not None and first.delay == 0.0
    second = Send(h.order("o-2", "buy", 1), paced=True)
    assert h.do(second) == ()  # nothing sent
    assert second.seq is None and 0.0 < second.delay <= 1.0
    assert h.driver.tracker.order("o-2") is None  # not sent, not tracked
    h.now += second.delay
    again = Send(h.order("o-2", "buy", 1), paced=True)
    h.do(again)
    assert again.seq is not None and again.delay == 0.0


def test_an_unpaced_send_raises_what_the_limiter_refuses() -> None:
    limiter = RateLimiter("prediction", Tier("tiny", read=10.0, write=10.0, write_burst=1.0))
    h = logged_on(config_options={"rate_limiter": limiter})
    h.do(Send(h.order("o-1", "buy", 1)))
    with pytest.raises(RateLimitExceeded):
        h.do(Send(h.order("o-2", "buy", 1)))


def test_a_paced_send_raises_what_send_would_refuse_before_waiting() -> None:
    limiter = RateLimiter("prediction", Tier("tiny", read=10.0, write=10.0, write_burst=1.0))
    h = logged_on(config_options={"rate_limiter": limiter})
    h.do(Send(h.order("o-1", "buy", 1), paced=True))
    with pytest.raises(LocalProtocolError, match="still live"):
        h.do(Send(h.order("o-1", "buy", 1), paced=True))  # no wait for a refusal

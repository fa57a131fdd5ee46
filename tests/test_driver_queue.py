"""The `Driver`'s event queue and its `QueuePolicy` (reading never waits for the application, the
named overflow, folding market data, `FallingBehind`, ``take``), and a tracker that fails.

Over the harness of `test_driver` (a `Driver` on a fake clock against the mock gateway's
exchange in memory).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from test_driver import (
    Harness,
    catch_up_events,
    msg,
    of,
    reports,
    rested,
)

from kalshi_fix_sansio import (
    EventQueueOverflow,
    FallingBehind,
    MarketDataFolded,
    QueuePolicy,
    prediction,
)
from kalshi_fix_sansio.client.driver import EventsNotRead, TrackingFailed
from kalshi_fix_sansio.client.supervisor import (
    SupervisorState,
)
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.events import (
    ApplicationMessage,
    Event,
    LoggedOn,
)
from kalshi_fix_sansio.trading.catchup import (
    CatchUpComplete,
    CatchUpStarted,
)
from kalshi_fix_sansio.trading.tracker import OrderStatus, OrderTracker

# -- 8. the queue policy -----------------------------------------------------------------------------


def test_reading_never_waits_for_the_application() -> None:
    h, _ = rested()
    h.other_trades("sell", [1] * 40)
    for _ in range(6):  # heartbeats and test requests keep flowing while nothing is read
        h.advance(5)
    assert h.driver.supervisor.next_event() is None  # the driver took everything
    assert h.driver.supervisor.state is SupervisorState.ACTIVE and h.driver.failure is None
    assert h.tracked("o-1").status is OrderStatus.FILLED
    assert len(reports(h.read())) == 10  # 10 fills of 1, then the order was filled


def test_too_many_unread_events_log_out_with_a_named_error() -> None:
    h = Harness(queue_policy=QueuePolicy(max_events=5))
    h.start()
    assert isinstance(h.driver.next_event(), LoggedOn)  # the application reads events
    h.place("o-1", "buy", 10)  # the ack: 1
    h.other_trades("sell", [1, 1, 1, 1, 1])  # fills: 2 ... 6, over the limit
    failure = h.driver.failure
    assert isinstance(failure, EventQueueOverflow)
    assert "over the limit of 5" in str(failure) and "QueuePolicy.max_events" in str(failure)
    assert failure.queued == 6 and failure.behind == 0.0
    assert any(b"\x0135=5\x01" in frame for frame in h.sent)  # the driver logged out
    events = h.read()
    assert [type(e) for e in events] == [ApplicationMessage] * 6
    assert h.tracked("o-1").cum_qty == 5
    assert h.driver.supervisor.finished and h.driver.failure is failure
    assert h.driver.next_event() is None  # nothing was queued after it


def test_a_program_that_never_reads_events_is_neither_warned_nor_logged_out() -> None:
    h = Harness(queue_policy=QueuePolicy(max_events=5, lag_warning=3.0))
    observed: list[Event] = []
    h.driver.observer = observed.append
    h.start()  # LoggedOn: 1
    h.place("o-1", "buy", 10)  # the ack: 2
    h.other_trades("sell", [1, 1, 1, 1, 1, 1])  # fills: 3 ... 8
    h.advance(4)  # past lag_warning, before the heartbeat's TestRequest
    assert h.driver.failure is None and h.driver.supervisor.state is SupervisorState.ACTIVE
    assert not of(observed, FallingBehind)
    assert h.tracked("o-1").cum_qty == 6  # the tracker had every report
    events = h.read()  # a late first read: told so, then the 3 dropped, then the newest 5
    assert isinstance(events[0], FallingBehind) and events[0].behind == pytest.approx(4.0)
    assert isinstance(events[1], EventsNotRead) and events[1].dropped == 3
    assert [type(e) for e in events[2:]] == [ApplicationMessage] * 5
    assert [e.message.last_qty for e in events[2:]] == [1] * 5  # fills 2 ... 6
    h.other_trades("sell", [1])  # reading now: the usual rules hold again
    h.advance(3)
    assert isinstance(h.driver.next_event(), FallingBehind)


def test_queue_events_false_queues_nothing_and_the_tracker_is_current() -> None:
    h = Harness(queue_policy=QueuePolicy(queue_events=False, max_events=1))
    observed: list[Event] = []
    h.driver.observer = observed.append
    h.start()
    h.place("o-1", "buy", 10)
    h.drop()
    h.other_trades("sell", [2, 3])
    h.reconnect()
    assert h.driver.queued == 0 and h.driver.next_event() is None and h.driver.failure is None
    assert h.tracked("o-1").cum_qty == 5  # caught up
    assert [type(e) for e in catch_up_events(observed)] == [CatchUpStarted, CatchUpComplete]


def test_falling_behind_goes_to_the_front_once_until_the_queue_drains() -> None:
    h = Harness(queue_policy=QueuePolicy(lag_warning=3.0))
    observed: list[Event] = []
    h.driver.observer = observed.append  # an adapter's log sees it too
    h.start()
    assert isinstance(h.driver.next_event(), LoggedOn)  # the application reads events
    h.place("o-1", "buy", 10)
    assert h.driver.queued == 1 and h.driver.lag(h.now) == 0.0
    h.advance(2.9)
    h.other_trades("sell", [1])
    assert h.driver.take(lambda e: isinstance(e, FallingBehind)) is None
    h.advance(0.1)
    assert h.driver.lag(h.now) == pytest.approx(3.0)
    warning = h.driver.next_event()
    assert isinstance(warning, FallingBehind)
    assert warning.queued == 2 and warning.behind == pytest.approx(3.0)
    assert h.driver.lag(h.now) == pytest.approx(3.0)  # the ack still waits
    assert isinstance(h.driver.next_event(), ApplicationMessage)
    h.advance(10)
    h.other_trades("sell", [1])
    assert not of(h.read(), FallingBehind)  # once until the queue has drained
    assert h.driver.lag(h.now) == 0.0
    h.other_trades("sell", [1])
    h.advance(3)
    assert isinstance(h.driver.next_event(), FallingBehind)
    assert len(of(observed, FallingBehind)) == 2


def test_take_removes_the_first_match_and_leaves_the_rest() -> None:
    h, _ = rested()
    h.other_trades("sell", [1, 2])
    fill = h.driver.take(lambda e: isinstance(e, ApplicationMessage) and msg(e).last_qty == 2)
    assert msg(fill).last_qty == 2
    assert [msg(e).last_qty for e in reports(h.read())] == [1]
    assert h.driver.take(lambda _: True) is None


def md_request(symbols: Sequence[str]) -> Any:
    p = prediction
    return p.MarketDataRequest(
        subscription_request_type=p.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
        related_sym=[p.MarketDataRequestRelatedSym(symbol=s) for s in symbols],
    )


def test_unread_market_data_is_folded_and_the_books_stay_current() -> None:
    p = prediction
    h = Harness(session_type="KalshiMD", queue_policy=QueuePolicy(max_market_data=3))
    observed: list[Event] = []
    h.driver.observer = observed.append
    a, b = "MD-A", "MD-B"
    for symbol in (a, b):
        h.exchange.seed_market(symbol, bids=[(Decimal("0.30"), Decimal(5))], now=h.now)

    def bid(symbol: str, price: str, qty: int) -> None:  # house liquidity: one 35=X
        h.route(h.exchange.seed_market(symbol, bids=[(Decimal(price), Decimal(qty))], now=h.now))
        h.pump()

    h.start()
    h.driver.send(md_request((a, b)), h.now)  # two snapshots (35=W)
    subscribe = p.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES
    h.driver.send(p.SecurityStatusRequest(subscription_request_type=subscribe, symbol=a), h.now)
    h.pump()
    bid(a, "0.31", 1)  # the third unread book message: kept
    h.route(h.exchange.pause(h.now))  # a SecurityStatus (35=f): not book data
    h.pump()
    bid(b, "0.32", 2)  # the fourth: over the limit, the four are folded
    bid(a, "0.33", 3)  # queued after the notice
    assert h.driver.queued == 4
    events = h.read()
    assert [type(e) for e in events] == [
        LoggedOn,
        ApplicationMessage,
        MarketDataFolded,
        ApplicationMessage,
    ]
    status, folded, update = events[1:]
    assert isinstance(status, ApplicationMessage) and status.message.MSG_TYPE == "f"
    assert folded == MarketDataFolded(4, (a, b), 0.0) and of(observed, MarketDataFolded) == [folded]
    assert isinstance(update, ApplicationMessage) and update.message.MSG_TYPE == "X"
    assert h.driver.books is not None
    for symbol in (a, b):
        best = h.driver.books[symbol].best_bid()
        top, _ = h.exchange.top_of_book(symbol)
        assert best is not None and top == (best.price, best.size)
    best = h.driver.books[a].best_bid()
    assert best is not None and (best.price, best.size) == (Decimal("0.33"), Decimal(3))
    assert h.driver.failure is None


def test_folded_market_data_says_how_long_it_waited() -> None:
    h = Harness(
        session_type="KalshiMD", queue_policy=QueuePolicy(max_market_data=1, lag_warning=60)
    )
    h.exchange.seed_market("MD-A", bids=[(Decimal("0.30"), Decimal(5))], now=h.now)
    h.start()
    h.driver.send(md_request(("MD-A",)), h.now)
    h.pump()
    h.advance(7)
    h.route(h.exchange.seed_market("MD-A", bids=[(Decimal("0.31"), Decimal(1))], now=h.now))
    h.pump()
    assert of(h.read(), MarketDataFolded) == [MarketDataFolded(2, ("MD-A",), 7.0)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_events": 0}, "QueuePolicy.max_events must be an int >= 1, got 0"),
        ({"max_events": True}, "QueuePolicy.max_events must be an int >= 1, got True"),
        ({"max_events": 2.0}, "QueuePolicy.max_events must be an int >= 1, got 2.0"),
        ({"max_market_data": -1}, "QueuePolicy.max_market_data must be an int >= 1, got -1"),
        ({"lag_warning": 0}, "QueuePolicy.lag_warning must be > 0 seconds, got 0"),
        ({"lag_warning": -1.5}, "QueuePolicy.lag_warning must be > 0 seconds, got -1.5"),
        ({"lag_warning": math.nan}, "QueuePolicy.lag_warning must be > 0 seconds, got nan"),
        ({"lag_warning": "5"}, "QueuePolicy.lag_warning must be > 0 seconds, got '5'"),
        ({"lag_warning": False}, "QueuePolicy.lag_warning must be > 0 seconds, got False"),
    ],
)
def test_queue_policy_validation(options: dict[str, Any], message: str) -> None:
    with pytest.raises(LocalProtocolError) as caught:
        QueuePolicy(**options)
    assert str(caught.value) == message


# -- 9. a tracker that fails -------------------------------------------------------------------------


class FillAverseTracker(OrderTracker):
    """A tracker with a bug: it raises on every fill."""

    def on_event(self, event: Any) -> None:
        message = getattr(event, "message", None)
        if getattr(message, "exec_type", None) == prediction.ExecType.TRADE:
            raise RuntimeError("cannot take this fill")
        super().on_event(event)


def test_a_tracker_that_raises_is_reported_and_the_session_goes_on() -> None:
    h = Harness(tracker=FillAverseTracker())
    h.start()
    h.place("o-1", "buy", 10)
    h.other_trades("sell", [2])
    events = h.read()
    fill, failed = events[-2:]
    assert msg(fill).last_qty == 2
    assert failed == TrackingFailed("RuntimeError: cannot take this fill")
    assert h.driver.supervisor.state is SupervisorState.ACTIVE and h.driver.failure is None
    h.place("o-2", "buy", 1)  # the session keeps running and tracking
    assert h.tracked("o-2").status is OrderStatus.NEW
    assert not of(h.read(), TrackingFailed)

    h.drop()  # a replay through the broken tracker still ends with a verdict
    h.other_trades("sell", [1, 1])
    h.reconnect()
    events = h.read()
    assert len(of(events, TrackingFailed)) == 2
    assert [type(e) for e in catch_up_events(events)] == [CatchUpStarted, CatchUpComplete]
    assert h.driver.supervisor.state is SupervisorState.ACTIVE

"""Orders in flight when the connection is lost, after the drop-copy replay (KalshiNR).

An order written just before the line is cut may never reach Kalshi. After the reconnect the
driver replays every report since the cursor; for an order with no report in it:

* its exchange index known (margin: index 0; prediction: ExDestination given) and replayed:
  the exchange never received it. The tracker ends it REJECTED (source ``not_received``), an
  `OrdersNotReceived` event says so, and its ClOrdID may be sent again;
* otherwise (auto-routed, or an index the replay did not cover): it is named in
  `OrdersUnknown` and stays PENDING_NEW.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_driver import Harness

from kalshi_fix_sansio import CatchUpComplete, OrderRejected, OrdersNotReceived, OrdersUnknown
from kalshi_fix_sansio.trading.catchup import NOT_RECEIVED_AFTER_REPLAY
from kalshi_fix_sansio.trading.tracker import OrderStatus


def lose_in_flight(h: Harness, lost: Any) -> list[Any]:
    """An acknowledged order (the cursor), then ``lost`` written as the line is cut."""
    h.start()
    h.driver.send(h.order("acked", "buy", 2), h.now)
    h.pump()  # its New report gives the cursor an ExecID to replay from
    h.driver.send(lost, h.now)
    h.drop()
    h.reconnect()
    h.pump()
    events = h.read()
    assert any(isinstance(e, CatchUpComplete) for e in events)
    return events


def routed(h: Harness, cl: str, ex_destination: int | None) -> Any:
    return h.order(cl, "buy", 3).replace(ex_destination=ex_destination)


@pytest.mark.parametrize(("product", "ex_destination"), [("margin", None), ("prediction", 0)])
def test_an_order_whose_index_was_replayed_without_its_report_ends_not_received(
    product: str, ex_destination: int | None
) -> None:
    h = Harness(product)
    lost = h.order("lost", "buy", 3)
    if ex_destination is not None:
        lost = routed(h, "lost", ex_destination)
    events = lose_in_flight(h, lost)
    (settled,) = [e for e in events if isinstance(e, OrdersNotReceived)]
    assert settled.cl_ord_ids == ("lost",) and 0 in settled.begin_exec_ids
    assert not any(isinstance(e, OrdersUnknown) for e in events)
    order = h.tracked("lost")
    assert order.status is OrderStatus.REJECTED and not order.is_open
    assert order.rejection is not None
    assert (order.rejection.source, order.rejection.text) == (
        "not_received",
        NOT_RECEIVED_AFTER_REPLAY,
    )
    assert h.tracked("acked").status is OrderStatus.NEW  # an answered order is untouched
    h.driver.send(h.order("lost", "buy", 3), h.now)  # the ClOrdID may be sent again
    h.pump()
    assert h.tracked("lost").status is OrderStatus.NEW


@pytest.mark.parametrize("ex_destination", [None, -1, 1])
def test_an_order_of_an_index_not_replayed_is_named_unknown_and_stays_pending(
    ex_destination: int | None,
) -> None:
    h = Harness("prediction", settle_unknown=False)  # not asked about: it stays as it was
    events = lose_in_flight(h, routed(h, "lost", ex_destination))
    unknown = [e for e in events if isinstance(e, OrdersUnknown)]
    assert [e.cl_ord_ids for e in unknown] == [("lost",)]
    assert "replay holds no report" in unknown[0].reason
    assert not any(isinstance(e, OrdersNotReceived) for e in events)
    assert h.tracked("lost").status is OrderStatus.PENDING_NEW


def test_a_place_waiting_for_an_order_not_received_is_answered_with_its_rejection() -> None:
    h = Harness("margin")
    lost = h.order("lost", "buy", 3)
    h.start()
    h.driver.send(h.order("acked", "buy", 2), h.now)
    h.pump()
    waiter = h.driver.desk.order_waiter(lost)  # what place() registers before sending
    h.driver.send(lost, h.now)
    h.drop()
    assert not waiter.done
    h.reconnect()
    h.pump()
    assert waiter.done
    with pytest.raises(OrderRejected, match="not received by the exchange"):
        waiter.outcome()

"""The orders a tracker keeps are not walked by the cyclic garbage collector (CPython): each is
a record in no reference cycle, freed by reference counting alone, so a full collection's cost
does not grow with the live orders held (docs/performance.md, "The garbage collector")."""

from __future__ import annotations

import gc
import sys
import weakref
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from test_tracker import er, nos

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.session.events import ApplicationMessage
from kalshi_fix_sansio.trading.tracker import OrderStatus, OrderTracker

CPYTHON = pytest.mark.skipif(
    sys.implementation.name != "cpython", reason="the collector's tracking is CPython's"
)


@pytest.fixture
def collector_off() -> Iterator[None]:
    """No automatic collection inside the test: what frees an object is its reference count."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def walked(objects: list[Any]) -> set[int]:
    """The ids of the tracked objects among ``objects``."""
    return {id(o) for o in objects if gc.is_tracked(o)}


@CPYTHON
@pytest.mark.parametrize("counts", [False, True], ids=["tracker", "with risk counts"])
def test_live_orders_leave_nothing_per_order_for_the_collector(counts: bool) -> None:
    """With and without the live counts a `RiskChecker` reads (`open_counts`)."""
    t = OrderTracker()
    if counts:
        t.open_counts()
    gc.collect()
    before = len(gc.get_objects())
    there = {id(o) for o in gc.get_objects() if type(o) in CONTAINERS and len(o) >= 2_000}
    for i in range(2_000):
        t.sent(nos(f"o-{i}"))
        t.on_event(ApplicationMessage(er(f"o-{i}", f"{i};1", "0", "0"), 0, False, b"", ()))
    gc.collect()
    held = len(gc.get_objects()) - before
    assert len(t.open_orders()) == 2_000
    # the orders, their keys and counts: 2,000 records, none tracked (a few dict resizes and
    # caches may add a handful of objects, never one per order)
    assert held < 200, held
    assert not walked(list(t))
    # what a full collection visits entry by entry: of the containers with an entry per order,
    # only the one mapping ClOrdID -> order (its keys strings, not visited; its values the
    # untracked orders) is still walked
    big = [
        o
        for o in gc.get_objects()
        if type(o) in CONTAINERS and len(o) >= 2_000 and id(o) not in there
    ]
    # (with the counts, also their dict of chains: its values the untracked chains)
    assert len(big) == 1 + counts and all(isinstance(o, dict) for o in big), big
    assert any({id(o) for o in d.values()} == {id(o) for o in t} for d in big)
    if counts:
        assert t.open_counts().open_orders() == 2_000


CONTAINERS = {dict, set, frozenset, list, tuple, deque}


@CPYTHON
def test_orders_first_seen_in_reports_and_replacements_are_not_walked_either() -> None:
    t = OrderTracker()
    t.on_message(er("listener-1", "1;1", "0", "0"))  # an order of another session
    t.sent(nos("a"))
    t.on_message(er("a", "2;1", "0", "0"))
    t.sent(
        p.OrderCancelReplaceRequest(
            cl_ord_id="b",
            orig_cl_ord_id="a",
            side=p.Side.BUY,
            order_qty=Decimal(5),
            ord_type=p.OrdType.LIMIT,
            price=Decimal("0.40"),
            symbol="HIGHNY-23DEC31",
        )
    )
    t.on_message(er("b", "3;1", "5", "0", orig="a", qty=5))
    t.on_message(er("b", "4;1", "F", "1", qty=5, cum=1, last=("0.40", 1)))
    assert t.order("a").status is OrderStatus.REPLACED  # type: ignore[union-attr]
    fills = t.order("b").fills  # type: ignore[union-attr]
    assert len(fills) == 1 and fills[0].collateral
    assert len(t) == 3 and not walked(list(t))
    # a fill, the tuples holding it and its collateral changes: none walked either
    assert not walked([fills, fills[0], fills[0].collateral, *fills[0].collateral])


def test_an_order_is_freed_by_its_reference_count_alone(collector_off: None) -> None:
    """No reference cycle runs through an order, its fills or its rejection: with the
    collector off, dropping the tracker frees every order it held."""
    t = OrderTracker(max_terminal_orders=None)
    t.sent(nos("a"))
    t.on_message(er("a", "1;1", "0", "0"))
    t.on_message(er("a", "2;1", "F", "1", cum=1, last=("0.42", 1)))
    t.sent(nos("r"))
    t.on_message(er("r", "3;1", "8", "8", text="INVALID_ORDER", rej=99))
    t.on_message(er("listener-1", "4;1", "0", "0"))
    refs = [weakref.ref(o) for o in t]
    fills = [weakref.ref(f) for o in t for f in o.fills]
    assert len(refs) == 3 and len(fills) == 1
    del t
    assert [r() for r in refs + fills] == [None] * 4


@CPYTHON
def test_a_snapshot_is_an_ordinary_object() -> None:
    """What the application copies out (`snapshot`) is its own, tracked like any object."""
    t = OrderTracker()
    order = t.sent(nos("a"))
    assert order is not None and not gc.is_tracked(order)
    copy = order.snapshot()
    assert copy == order and gc.is_tracked(copy)

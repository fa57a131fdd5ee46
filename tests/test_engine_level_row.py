"""`Exchange.replay_level` (``simulator/gateway/exchange/level_row.py``: a recorded 35=X of one
market with its call's start inline, the common row of one level resized in one step) is
`Exchange.replay_market` of the same row: the same answer, and the same state after it, down
to the recorded levels, the house orders and what was shown of them, the clients' takes and the
trades' credits, the books, the market data's following and the call's start.

Two exchanges in the same state take the same rows, one through `replay_market` (then
`replay_row` where it says None), the other through `replay_level` first (then the same); the
two states are compared after every row. Subscribers that encode alone, two of them, one that
reads messages beside one that encodes, and none; rows of one entry mostly (levels resized, new,
deleted, no size, no price), of trades and the levels they took, of two markets, of one not
listed yet; client orders resting, filled, crossed and expiring among the recorded levels.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from decimal import Decimal as D
from typing import Any

import pytest
from engine_helpers import NEW, OTHER, SYM, T0, nos, random_gtd, replay_exchange

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import EncodedMessage, Exchange, Outbound
from kalshi_fix_sansio.trading.builders import Requests

Row = tuple[tuple[Any, ...], ...]


def _seen(found: Any) -> list[tuple[str, str, Any]]:
    """What each session gets from an answer: its id, the MsgType and the bytes (or the
    message's repr)."""
    if isinstance(found, tuple):
        subscribers, body = found
        found = [Outbound(s, EncodedMessage("X", body)) for s in subscribers]
    seen = []
    for o in found:
        message = o.message
        if isinstance(message, EncodedMessage):
            seen.append((o.session_id, message.MSG_TYPE, message.body))
        else:
            seen.append((o.session_id, message.MSG_TYPE, repr(message)))
    return seen


def _state(ex: Exchange) -> dict[str, Any]:
    """Everything a replayed row changes or reads, as plain values (and the identities the
    common row's test reads: a house order's size as last shown, a market's kept best)."""
    rec, md, state = ex._recorded, ex._md, ex._state
    house = {k: (o.order_id, o.leaves_qty, o.open, o.resting) for k, o in rec._house.items()}
    same_shown = {
        k: rec._shown[k] is o.leaves_qty for k, o in rec._house.items() if k in rec._shown
    }
    best = {s: (k[1:], k[0] is rec.recorded.get(s)) for s, k in rec._best.items()}
    books = {
        s: (
            b.agg,
            {
                side: {px: [o.order_id for o in q] for px, q in lv.items()}
                for side, lv in b.levels.items()
            },
            b.prices,
            b.clients,
            b.before,
            b.settled,
        )
        for s, b in state.books.items()
    }
    return {
        "recorded": rec.recorded,
        "house": house,
        "shown": dict(rec._shown),
        "same_shown": same_shown,
        "taken": dict(rec._taken),
        "credit": dict(rec._credit),
        "best": best,
        "books": books,
        "md": (
            list(md._before),
            dict(md._encoding),
            {k: o.order_id for k, o in md._touched.items()},
            md._unwatched,
            [(t.symbol, t.price, t.qty, t.aggressor_side, t.trade_id) for t in md.trades],
        ),
        "call": (state.now, _seen(state.out), state.seq, ex._reports._cycle_clock),
        "event": ex._reports._cycle_event,
        "open": sorted(state.open),
    }


def _entry(rng: random.Random, name: str) -> tuple[Any, ...]:
    """One recorded 35=X entry of ``name``: a level's change mostly (its size, new, deleted,
    zero, no size, no price), or a trade."""
    px = rng.choice([D(f"0.{i:02d}") for i in range(44, 57)] + [None])
    size = rng.choice((D(rng.randint(1, 60)),) * 4 + (D(0), None))
    kind = rng.choice(("0", "1", "0", "1", "0", "1", "2"))
    if kind == "2":
        tid = f"t-{rng.getrandbits(32):x}"
        return ("2", name, px, size or D(3), "0", rng.choice(("1", "2")), tid)
    return (kind, name, px, size, rng.choice(("0", "1", "1", "1", "1", "1", "2")), None, None)


def _row(rng: random.Random) -> Row:
    """A recorded 35=X: one entry of one market mostly, sometimes a trade and the levels it
    moved, two markets, or one not listed yet."""
    name = rng.choice((SYM, SYM, SYM, OTHER, NEW))
    if rng.random() < 0.3:  # a trade and the level it took (its id recorded, or none)
        kind = rng.choice(("0", "1"))
        px = D(f"0.{rng.randint(44, 56)}")
        tid = rng.choice((f"t-{rng.getrandbits(32):x}", None))
        aggressor = rng.choice(("2" if kind == "0" else "1", None))  # None: a buyer's
        trade = ("2", name, px, D(rng.randint(1, 9)), "0", aggressor, tid)
        size = rng.choice((D(rng.randint(1, 60)),) * 3 + (D(0),))
        return (trade, (kind, name, px, size, rng.choice(("1", "1", "1", "2")), None, None))
    entries = [_entry(rng, name) for _ in range(rng.choice((1, 1, 1, 1, 2, 3)))]
    if rng.random() < 0.05:
        entries.append(_entry(rng, rng.choice((SYM, OTHER))))
    return tuple(entries)


def _general(ex: Exchange, entries: Row, now: float) -> Any:
    found = ex.replay_market(entries, now)
    return ex.replay_row("X", None, None, None, entries, now) if found is None else found


def _fast(ex: Exchange, entries: Row, now: float) -> tuple[Any, bool]:
    found = ex.replay_level(entries, now)
    if found is not None:
        return found, True
    return _general(ex, entries, now), False


@pytest.mark.parametrize("subscribers", [("wire",), ("wire", "wire2"), ("md", "wire"), ()], ids=str)
def test_replay_level_is_replay_market(subscribers: tuple[str, ...]) -> None:
    general, fast = replay_exchange(subscribers), replay_exchange(subscribers)
    rng = random.Random(13)
    taken = 0
    for i in range(1500):
        now = T0 + 1 + i * 0.25
        if i % 60 == 7:  # a client order among the recorded levels (some fill, some expire)
            order = random_gtd(rng, f"c{i}", now)
            assert _seen(general.handle("a", order, now)) == _seen(fast.handle("a", order, now))
        if i % 300 == 100 and subscribers:  # one more subscriber of a market, then none
            for ex in (general, fast):
                ex.connect("wire3", "carol", "KalshiMD", use_dollars=True, wire=True, now=now)
                ex.handle("wire3", Requests("prediction", "KalshiMD").subscribe([SYM]), now)
        if i % 300 == 200 and subscribers:
            for ex in (general, fast):
                ex.disconnect("wire3", now)
        entries = _row(rng)
        expected = _seen(_general(general, entries, now))
        found, took = _fast(fast, entries, now)
        assert _seen(found) == expected, (i, entries)
        assert _state(fast) == _state(general), (i, entries)
        taken += took
    assert taken > 1000  # most rows are of one listed market with nothing due
    for symbol in (SYM, OTHER, NEW):
        assert general.top_of_book(symbol) == fast.top_of_book(symbol)
        assert general.recorded_mid(symbol) == fast.recorded_mid(symbol)


def test_replay_level_takes_the_common_row_in_one_step() -> None:
    """The common row (a level's size, its house order as shown, one subscriber that encodes)
    is answered without `RecordedMarkets.apply_market`; the rest of a row of one market
    through it."""
    ex = replay_exchange(("wire",))
    calls: list[Row] = []
    apply_market = ex._recorded.apply_market
    ex._recorded.apply_market = lambda book, entries: (  # type: ignore[method-assign]
        calls.append(entries),
        apply_market(book, entries),
    )[1]
    new = (("0", SYM, D("0.45"), D(7), "0", None, None),)
    assert _seen(ex.replay_level(new, T0 + 1))[0][2].startswith(b"268=1\x01279=0\x01")
    assert calls == [new]  # a new level: its house order made the general way
    resized = (("0", SYM, D("0.45"), D(9), "1", None, None),)
    subscribers, body = ex.replay_level(resized, T0 + 2)  # type: ignore[misc]
    assert subscribers == ["wire"] and body.startswith(b"268=1\x01279=1\x01")
    assert calls == [new]  # resized in one step
    same = (("0", SYM, D("0.45"), D(9), "1", None, None),)
    assert ex.replay_level(same, T0 + 3) == []  # the same size: nothing sent
    assert calls == [new]


def test_replay_level_hands_back_what_it_does_not_take() -> None:
    ex = replay_exchange(("wire",))
    level = ("0", SYM, D("0.50"), D(3), "0", None, None)
    before = _state(ex)
    assert ex.replay_level((), T0 + 1) is None  # no entry
    assert ex.replay_level((("0", None, D("0.5"), D(3), "0", None, None),), T0 + 1) is None
    assert ex.replay_level((level, ("0", OTHER, D("0.5"), D(3), "0", None, None)), T0 + 1) is None
    assert ex.replay_level((("0", NEW, D("0.50"), D(3), "0", None, None),), T0 + 1) is None
    assert _state(ex) == before  # nothing done
    # an order expiring at the call's start: `replay_market`'s (its reports first)
    gtd, expire = p.TimeInForce.GTD, datetime.fromtimestamp(T0 + 2, timezone.utc)
    ex.handle("a", nos("c1", p.Side.BUY, 2, "0.30", time_in_force=gtd, expire_time=expire), T0)
    before = _state(ex)
    assert ex.replay_level((level,), T0 + 3) is None
    assert _state(ex) == before
    # a settled market
    ex.settle(OTHER, "yes", T0 + 4)
    assert ex.replay_level((("0", OTHER, D("0.5"), D(3), "0", None, None),), T0 + 5) is None


def test_replay_level_sends_a_trade_alone_when_its_level_came_back() -> None:
    """A trade, then its level at the size it had: the 35=X of the trade alone, as
    `replay_market` sends it; then a trade with no id and no aggressor and its level's new
    size: both entries."""
    general, fast = replay_exchange(("wire",)), replay_exchange(("wire",))
    rows = [
        (("1", SYM, D("0.45"), D(9), "0", None, None),),
        (
            ("2", SYM, D("0.45"), D(2), "0", "1", "t-1"),
            ("1", SYM, D("0.45"), D(9), "1", None, None),
        ),
        (("2", SYM, D("0.45"), D(2), "0", None, ""), ("1", SYM, D("0.45"), D(7), "1", None, None)),
    ]
    bodies = []
    for i, entries in enumerate(rows):
        expected = _seen(_general(general, entries, T0 + i))
        found, took = _fast(fast, entries, T0 + i)
        assert took and _seen(found) == expected
        assert _state(fast) == _state(general)
        bodies.append(expected[0][2])
    assert bodies[1].startswith(b"268=1\x01279=0\x0155=") and b"269=2" in bodies[1]
    assert bodies[2].startswith(b"268=2\x01279=0\x0155=") and b"279=1" in bodies[2]

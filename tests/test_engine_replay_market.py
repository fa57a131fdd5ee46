"""`Exchange.replay_market` (a recorded 35=X of one market in one step) is `Exchange.replay_row`
of the same row: the same messages to the same sessions, the same books after; and it hands
back to `replay_row` (nothing done) every row it does not take.

Two exchanges in the same state take the same rows, one through `replay_row`, the other through
`replay_market` first (then `replay_row` when it says None): subscribers that encode alone, two
of them, one that reads messages beside one that encodes, and none; rows of one entry and of
several (trades first, levels new, changed, deleted, no size, no price), of one market, of two,
of one not listed yet; client orders resting, filled by recorded trades, crossed and expiring
among the recorded levels.
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

Row = tuple[tuple[Any, ...], ...]


def _seen(out: list[Outbound]) -> list[tuple[str, str, Any]]:
    """What each session gets: its id, the MsgType and the bytes (or the message's repr)."""
    seen = []
    for o in out:
        message = o.message
        if isinstance(message, EncodedMessage):
            seen.append((o.session_id, message.MSG_TYPE, message.body))
        else:
            seen.append((o.session_id, message.MSG_TYPE, repr(message)))
    return seen


def _market(ex: Exchange, entries: Row, now: float) -> tuple[list[Outbound], bool]:
    """`replay_market`, or `replay_row` where it hands the row back: its output as a list,
    and whether `replay_market` took it."""
    found = ex.replay_market(entries, now)
    if found is None:
        return ex.replay_row("X", None, None, None, entries, now), False
    if isinstance(found, list):
        return found, True
    subscribers, body = found
    return [Outbound(s, EncodedMessage("X", body)) for s in subscribers], True


def _entry(rng: random.Random, name: str) -> tuple[Any, ...]:
    """One recorded 35=X entry of ``name``: a level's change mostly (new, changed, deleted,
    zero, no size, no price), or a trade."""
    px = rng.choice([D(f"0.{i:02d}") for i in range(40, 61)] + [None])
    size = rng.choice((D(rng.randint(1, 60)), D(0), None))
    kind = rng.choice(("0", "1", "0", "1", "2"))
    if kind == "2":
        tid = f"t-{rng.getrandbits(32):x}"
        return ("2", name, px, size or D(3), "0", rng.choice(("1", "2")), tid)
    return (kind, name, px, size, rng.choice(("0", "1", "1", "2")), None, None)


def _row(rng: random.Random) -> Row:
    """A recorded 35=X: one market mostly (one entry, or a trade and the levels it moved),
    sometimes two, sometimes one not listed yet."""
    name = rng.choice((SYM, SYM, OTHER, NEW))
    entries = [_entry(rng, name) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    if rng.random() < 0.1:
        entries.append(_entry(rng, rng.choice((SYM, OTHER))))
    return tuple(entries)


@pytest.mark.parametrize("subscribers", [("wire",), ("wire", "wire2"), ("md", "wire"), ()], ids=str)
def test_replay_market_is_replay_row(subscribers: tuple[str, ...]) -> None:
    general, fast = replay_exchange(subscribers), replay_exchange(subscribers)
    rng = random.Random(5)
    taken = 0
    for i in range(800):
        now = T0 + 1 + i * 0.25
        if i % 40 == 7:  # a client order among the recorded levels (some fill, some expire)
            order = random_gtd(rng, f"c{i}", now)
            assert _seen(general.handle("a", order, now)) == _seen(fast.handle("a", order, now))
        entries = _row(rng)
        expected = _seen(general.replay_row("X", None, None, None, entries, now))
        out, took = _market(fast, entries, now)
        assert _seen(out) == expected, (i, entries)
        taken += took
    assert taken > 400  # most rows are of one listed market
    for symbol in (SYM, OTHER, NEW):
        assert general.top_of_book(symbol) == fast.top_of_book(symbol)
        assert general.recorded_mid(symbol) == fast.recorded_mid(symbol)


def test_replay_market_hands_back_what_it_does_not_take() -> None:
    ex = replay_exchange(("wire",))
    level = ("0", SYM, D("0.50"), D(3), "0", None, None)
    assert ex.replay_market((), T0 + 1) is None  # no entry
    assert ex.replay_market((("0", None, D("0.5"), D(3), "0", None, None),), T0 + 1) is None
    # two markets: nothing done
    assert ex.replay_market((level, ("0", OTHER, D("0.5"), D(3), "0", None, None)), T0 + 1) is None
    assert ex.top_of_book(SYM) == (None, None)
    # a market not listed yet: nothing done (`replay_row` lists it)
    new = ("0", NEW, D("0.50"), D(3), "0", None, None)
    assert ex.replay_market((new,), T0 + 1) is None
    assert ex.top_of_book(NEW) == (None, None)
    ex.replay_row("X", None, None, None, (new,), T0 + 1)
    assert ex.top_of_book(NEW)[0] is not None
    # a settled market: nothing done
    ex.settle(OTHER, "yes", T0 + 2)
    assert ex.replay_market((("0", OTHER, D("0.5"), D(3), "0", None, None),), T0 + 3) is None


def test_replay_market_gives_the_general_output_where_it_is_not_one_body_as_bytes() -> None:
    level = ("0", SYM, D("0.45"), D(7), "0", None, None)
    # one subscriber that encodes: its id and the body, no `Outbound`
    subscribers, body = _found(replay_exchange(("wire",)).replay_market((level,), T0 + 1))
    assert subscribers == ["wire"] and body.startswith(b"268=1\x01279=0\x0155=" + SYM.encode())
    # a trade and the level it took: one body of two entries, the trade first
    ex = replay_exchange(("wire",))
    ex.replay_market((level,), T0 + 1)
    trade = ("2", SYM, D("0.45"), D(2), "0", "2", "t-9")
    took = ("0", SYM, D("0.45"), D(5), "1", None, None)
    subscribers, body = _found(ex.replay_market((trade, took), T0 + 2))
    assert body.startswith(b"268=2\x01279=0\x0155=" + SYM.encode() + b"\x01269=2\x01")
    # two subscribers: both ids, one body
    subscribers, _body = _found(replay_exchange(("wire", "wire2")).replay_market((level,), T0 + 1))
    assert subscribers == ["wire", "wire2"]
    # a session that reads messages: `replay_row`'s list of `Outbound`
    out = replay_exchange(("md", "wire")).replay_market((level,), T0 + 1)
    assert isinstance(out, list) and [o.session_id for o in out] == ["md", "wire"]
    # nobody subscribes, or the size did not change: nothing sent
    assert replay_exchange(()).replay_market((level,), T0 + 1) == []
    ex = replay_exchange(("wire",))
    ex.replay_market((level,), T0 + 1)
    assert ex.replay_market((level,), T0 + 2) == []
    # an order expiring at the call's start: its reports and the level in `replay_row`'s list
    gtd, expire = p.TimeInForce.GTD, datetime.fromtimestamp(T0 + 2, timezone.utc)
    ex.handle("a", nos("c1", p.Side.BUY, 2, "0.30", time_in_force=gtd, expire_time=expire), T0)
    out = ex.replay_market((("0", SYM, D("0.45"), D(9), "1", None, None),), T0 + 3)
    assert isinstance(out, list)
    assert [o.message.MSG_TYPE for o in out] == ["8", "X"]


def _found(found: Any) -> tuple[list[str], bytes]:
    assert isinstance(found, tuple)
    subscribers, body = found
    return subscribers, body

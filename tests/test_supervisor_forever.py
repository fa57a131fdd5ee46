"""A session that was logged on keeps trying to reconnect for as long as the outage lasts (as a
FIX engine does), announcing every attempt; one that never logged on (a wrong host, port or
certificate) is reported after its ``attempts``; ``reconnect_attempts`` bounds the first. On a
fake clock, through the same `Harness` as ``test_supervisor``."""

from __future__ import annotations

import itertools

import pytest
from test_supervisor import Harness, order

from kalshi_fix_sansio import Backoff
from kalshi_fix_sansio.client.supervisor import (
    ConnectionFailed,
    Reconnected,
    Reconnecting,
    SupervisorState,
)
from kalshi_fix_sansio.codec.errors import LocalProtocolError

OUTAGE = 3600.0  # an hour of refused connections


def _dropped(h: Harness) -> float:
    h.sup.start(h.now)
    h.connect()
    h.sup.connection_lost(h.now, "the peer closed the connection")
    h.pump()
    return h.now


def _refuse_until(h: Harness, until: float) -> list[float]:
    made = []
    while h.sup.connect_at is not None and h.sup.connect_at < until:
        h.now = h.sup.connect_at
        made.append(h.now)
        h.sup.connection_failed(h.now, ConnectionRefusedError("refused"))
        h.pump()
    return made


def test_a_dropped_session_keeps_trying_through_a_long_outage_and_says_so() -> None:
    h = Harness(backoff=Backoff(base=1.0, cap=30.0, seed=4))  # reconnect_attempts: forever
    dropped_at = _dropped(h)
    made = _refuse_until(h, dropped_at + OUTAGE)
    assert h.sup.failure is None and h.sup.state is SupervisorState.WAITING
    assert len(made) > 100  # far past the 10 attempts of a first connection
    announced = [e for e in h.events if isinstance(e, Reconnecting)]
    assert [e.attempt for e in announced] == list(range(1, len(made) + 2))  # every one, in order
    assert max(b - a for a, b in itertools.pairwise(made)) <= 30.0  # at most the cap apart
    assert h.sup.connect_at is not None
    h.now = h.sup.connect_at
    h.connect()
    assert h.events[-1] == Reconnected(len(made) + 1, True)
    assert isinstance(h.sup.send(order(), h.now), int)


def test_a_first_connection_is_reported_after_its_attempts() -> None:
    h = Harness(backoff=Backoff(base=1.0, cap=30.0, seed=4))  # attempts: 10
    h.sup.start(h.now)
    made = _refuse_until(h, h.now + OUTAGE)
    failure = h.sup.failure
    assert isinstance(failure, ConnectionFailed) and failure.attempts == len(made) == 11


def test_reconnect_attempts_bounds_the_reconnects() -> None:
    h = Harness(backoff=Backoff(base=1.0, cap=30.0, seed=4, reconnect_attempts=5))
    dropped_at = _dropped(h)
    made = _refuse_until(h, dropped_at + OUTAGE)
    assert len(made) == 5 and isinstance(h.sup.failure, ConnectionFailed)
    with pytest.raises(LocalProtocolError, match=r"Backoff\.reconnect_attempts must be an int"):
        Backoff(reconnect_attempts=-1)

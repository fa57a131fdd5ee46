"""`Session.send_test_request`: a TestRequest on demand, answered or timed out (public API)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshi_fix_sansio import LocalProtocolError
from kalshi_fix_sansio.session.events import TestRequestSent, Timeout
from kalshi_fix_sansio.simulator.testing import SessionPair


def _pair(seen: list[tuple[str, bytes]], mute: list[bool] | None = None) -> SessionPair:
    pair = SessionPair.kalshi()

    def record(direction: str, data: bytes) -> bytes:
        seen.append((direction, data))
        return b"" if mute and mute[0] and direction == "s2c" else data

    pair.filter_bytes = record
    pair.start()
    return pair


@given(st.text(alphabet="ABCxyz019-", min_size=1, max_size=20))
def test_the_peer_answers_with_a_heartbeat_echoing_the_id(test_req_id: str) -> None:
    seen: list[tuple[str, bytes]] = []
    pair = _pair(seen)
    sent = pair.client.session.send_test_request(pair.now, test_req_id)
    assert sent == test_req_id
    pair.pump()
    wire = f"\x01112={test_req_id}\x01".encode()
    assert any(d == "c2s" and b"\x0135=1\x01" in data and wire in data for d, data in seen)
    assert any(d == "s2c" and b"\x0135=0\x01" in data and wire in data for d, data in seen)
    assert TestRequestSent(test_req_id) in pair.client.events
    # answered: silence up to just under the TestRequest factor does not end the session
    pair.advance(pair.client.session.heartbeat_interval * 2.3)
    assert not any(isinstance(e, Timeout) for e in pair.client.events)


def test_a_new_id_each_time_when_none_is_given() -> None:
    pair = _pair([])
    first = pair.client.session.send_test_request(pair.now)
    pair.pump()
    second = pair.client.session.send_test_request(pair.now + 1)
    assert first != second and first.startswith("TEST-") and second.startswith("TEST-")


def test_an_unanswered_test_request_ends_the_session_as_the_timers_would() -> None:
    mute = [False]
    pair = _pair([], mute)
    session = pair.client.session
    mute[0] = True  # the peer goes silent
    session.send_test_request(pair.now, "PROBE")
    hb, config = session.heartbeat_interval, session.config
    pair.advance(hb * config.disconnect_factor - 1)
    # ours is the one awaited: the timer sends no TestRequest of its own meanwhile
    assert [e for e in pair.client.events if isinstance(e, TestRequestSent)] == [
        TestRequestSent("PROBE")
    ]
    assert Timeout("heartbeat") not in pair.client.events
    pair.advance(1)
    assert Timeout("heartbeat") in pair.client.events


def test_only_a_logged_on_session_sends_one() -> None:
    pair = SessionPair.kalshi()
    with pytest.raises(LocalProtocolError, match="cannot send a TestRequest"):
        pair.client.session.send_test_request(pair.now)
    pair.start()
    with pytest.raises(LocalProtocolError, match="non-empty"):
        pair.client.session.send_test_request(pair.now, "")

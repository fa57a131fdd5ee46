"""An acceptor's `Session.send_encoded_now` (the mock gateway's market data, its common case in
one step) held to the calls it stands for: `send_encoded`, `next_deadline`, then
`data_to_send` unless the deadline is sooner than the one told. Two acceptor sessions in the
same state, one each way, over the same sends: the same bytes handed back (or None, the same
bytes queued), the same numbers, deadlines and errors, and the client reads the same events.
The states: the common one, a deadline sooner than the one told, something queued before, a
TestRequest waiting, a gap open (on a retransmission session: on KalshiMD it ends the
session), a retransmission session (its store), a closed store, a
message over the size limit, a MsgType that is not an application one, and a session not
logged on; then the frame's parts: sends within one second, across seconds, a minute's last
millisecond, an hour and a day, a time before the last, bodies short and long (the CheckSum by
Adler-32 or summed, a BodyLength never seen), the number at its limit, and the gateway's store
(`KeyedStore`, its numbers read through its ``forwards_to_memory``), open and closed.

(A test of the session's private parts: its writer's queue, last send time and store, of the
private `session._outbound` module's `Outbound`, and its lifecycle's time are read; and of the
gateway's `KeyedStore`, which `simulator.gateway.connection` does not export.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from kalshi_fix_sansio.session.machine import Session
from kalshi_fix_sansio.session.store import MAX_SEQ, MemoryStore
from kalshi_fix_sansio.simulator.gateway.connection import KeyedStore
from kalshi_fix_sansio.simulator.testing import SessionPair

T0 = 1_800_000_000.0
BODY = b"268=1\x01279=1\x01269=0\x0155=KXPAPER-A\x01270=0.45\x01271=3\x01"


def _fast(server: Session, msg_type: str, body: bytes, now: float, told: float) -> Any:
    return server.send_encoded_now(msg_type, body, now, told)


def _general(server: Session, msg_type: str, body: bytes, now: float, told: float) -> Any:
    server.send_encoded(msg_type, body, now)
    deadline = server.next_deadline()
    return None if deadline is not None and deadline < told else server.data_to_send()


def _asked(ask: Callable[[], Any]) -> Any:
    try:
        return ask()
    except Exception as exc:  # (a closed store refuses)
        return (type(exc).__name__, str(exc))


def _state(pair: SessionPair) -> tuple[Any, ...]:
    server = pair.server.session
    writer = server._writer
    return (
        _asked(lambda: server.next_sender_seq),
        _asked(server.next_deadline),
        list(writer.out),
        writer.last_tx,
        _asked(lambda: server.store.get(1, server.next_sender_seq)),
        server._life.now,
    )


def _prepare(case: str, pair: SessionPair) -> None:
    server = pair.server.session
    if case == "queued":
        server.send_encoded("X", BODY, T0 + 1)  # queued, not taken yet
    elif case == "test-request":
        server.send_test_request(T0 + 1, "t-1")
        server.data_to_send()  # written: nothing queued, the TestRequest waiting
    elif case == "gap":
        late = pair.client.session
        late._writer.store.set_next_sender_seq(late.next_sender_seq + 3)
        late.send_test_request(T0 + 1, "gap")
        server.receive_data(late.data_to_send(), T0 + 1)
        _asked(lambda: list(server.events()))  # (no retransmission on KalshiMD: it ends)
    elif case == "closed":
        server.store.close()
    elif case == "not-logged-on":
        pass
    elif case == "seq-limit":
        server.store.set_next_sender_seq(MAX_SEQ - 1)
    elif case in ("keyed", "keyed-closed"):
        keyed = KeyedStore()
        keyed.target = server.store  # the gateway's store, picked at Logon
        server.store = server._writer.store = keyed
        assert keyed.forwards_to_memory is keyed.target
        if case == "keyed-closed":
            keyed.target.close()
            assert isinstance(keyed.target, MemoryStore)


def _run(case: str, send: Callable[..., Any], session_type: str) -> list[Any]:
    pair = SessionPair.kalshi("prediction", session_type, now=T0)
    if case != "not-logged-on":
        pair.start()
    _prepare(case, pair)
    server = pair.server.session
    seen: list[Any] = []
    # the deadline the driver told last: a new one sooner than it is to tell (None)
    told = math.inf if case == "sooner" else T0 + 10
    body = BODY
    msg_type = "X"
    if case == "oversize":
        body = b"58=" + b"x" * server.config.max_message_size + b"\x01"
    if case == "admin":
        msg_type = "0"
    for i, (now, length) in enumerate(_SENDS if case == "times" else _FOUR):
        if length:  # a body of this many bytes
            body = BODY + b"58=" + b"y" * (length - len(BODY) - 4) + b"\x01"
        try:
            seen.append(send(server, msg_type, body, now, told + i))
        except Exception as exc:
            seen.append((type(exc).__name__, str(exc)))
        seen.append(_state(pair))
    out = server.data_to_send()
    seen.append(out)
    if out and case not in ("closed", "keyed-closed"):
        client = pair.client.session
        seen.append(_asked(lambda: client.receive_data(out, T0 + 4)))  # (a gap: refused)
        seen.append([repr(e) for e in client.events()])
    return seen


_FOUR = [(T0 + 2 + i * 0.25, 0) for i in range(4)]
# (time, body length; 0: `BODY`): one second, the next, a minute's last millisecond and the
# next minute, an hour and a day later, a time before it; short and long bodies, odd lengths
_SENDS = [
    (T0 + 2.0, 0),
    (T0 + 2.0004, 0),
    (T0 + 2.9999, 200),
    (T0 + 3.5, 0),
    (T0 + 59.9995, 300),
    (T0 + 60.0, 0),
    (T0 + 61.25, 257),
    (T0 + 61.75, 1777),
    (T0 + 3600.125, 0),
    (T0 + 86_400.5, 90),
    (T0 + 86_400.5, 0),
    (T0 + 86_399.0, 0),
    (T0 + 90_000.001, 0),
]


CASES = [
    "common",
    "sooner",
    "queued",
    "test-request",
    "gap",
    "closed",
    "oversize",
    "admin",
    "not-logged-on",
    "times",
    "seq-limit",
    "keyed",
    "keyed-closed",
]


@pytest.mark.parametrize("session_type", ["KalshiMD", "KalshiRT"])
@pytest.mark.parametrize("case", CASES)
def test_send_encoded_now_is_the_three_calls(case: str, session_type: str) -> None:
    fast = _run(case, _fast, session_type)
    general = _run(case, _general, session_type)
    assert fast == general
    if case == "common":
        assert all(type(x) is bytes and b"35=X" in x for x in fast[0:8:2])

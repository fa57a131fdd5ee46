"""Rate limits in the sans-IO session: ``SessionConfig(rate_limiter=...)`` makes ``Session.send``
refuse locally (nothing encoded, sequenced or stored), ``send_delay`` says how long to wait,
session messages are never billed, and a 35=j 380=8 drains the buckets of the refused message."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio import EncodeError, LocalProtocolError, SessionConfig
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.session.config import Role
from kalshi_fix_sansio.session.events import ApplicationMessage, BusinessRejectReceived, RateLimited
from kalshi_fix_sansio.session.ratelimit import TIME_TOLERANCE, RateLimiter, RateLimitExceeded, Tier
from kalshi_fix_sansio.session.store import MemoryStore
from kalshi_fix_sansio.simulator.testing import SessionPair
from kalshi_fix_sansio.trading.builders import Requests

D = Decimal
NR = Requests("prediction", "KalshiNR")
RT = Requests("prediction", "KalshiRT")


def order(cl: str, shard: int | None = None) -> object:
    return NR.new_order("HIGHNY-23DEC31", "buy", 1, D("0.5"), cl_ord_id=cl, ex_destination=shard)


def logged_on(
    limiter: RateLimiter, session_type: str = "KalshiNR", **options: object
) -> SessionPair:
    pair = SessionPair.kalshi(session_type=session_type, rate_limiter=limiter, **options)
    pair.start()
    return pair


def orders_received(pair: SessionPair) -> list[str]:
    return [
        e.message.cl_ord_id
        for e in pair.server.events
        if isinstance(e, ApplicationMessage) and e.message.MSG_TYPE == "D"
    ]


def test_send_refuses_locally_without_using_a_sequence_number() -> None:
    limiter = RateLimiter("prediction", "Basic")  # 100 Write tokens/s, holds 10 orders
    pair = logged_on(limiter)
    client = pair.client.session
    now = pair.now
    seqs = [client.send(order(f"o-{i}"), now) for i in range(10)]
    assert seqs == list(range(2, 12))  # the Logon had 1
    assert client.send_delay(order("o-10"), now) == pytest.approx(0.1)
    before = client.next_sender_seq
    with pytest.raises(
        RateLimitExceeded, match=r"35=D .*'write' bucket .*retry in 0\.100 s"
    ) as err:
        client.send(order("o-10"), now)
    assert isinstance(err.value, LocalProtocolError)
    assert (err.value.bucket, err.value.msg_type) == ("write", "D")
    assert err.value.wait == pytest.approx(0.1)
    assert client.next_sender_seq == before  # not sequenced
    pair.pump()
    assert orders_received(pair) == [f"o-{i}" for i in range(10)]
    # waiting what send_delay said is enough: the same sequence number goes out
    later = now + client.send_delay(order("o-10"), now)
    assert client.send(order("o-10"), later) == before
    pair.pump()
    assert orders_received(pair)[-1] == "o-10"


def test_a_refused_message_is_not_stored_for_resend() -> None:
    store = MemoryStore()
    limiter = RateLimiter("prediction", Tier("tiny", read=10, write=10, write_burst=1))  # 1 order/s
    pair = logged_on(limiter, "KalshiRT", store=store)
    client = pair.client.session
    seq = client.send(order("a"), pair.now)
    with pytest.raises(RateLimitExceeded):
        client.send(order("b"), pair.now)
    assert store.next_sender_seq() == seq + 1
    assert store.get(seq + 1, seq + 1) == []  # nothing kept under the next number
    assert len(store.get(seq, seq)) == 1


def test_an_unencodable_message_bills_nothing() -> None:
    limiter = RateLimiter("prediction", "Basic")
    pair = logged_on(limiter)
    broken = p.NewOrderSingle(cl_ord_id="x", side=p.Side.BUY, symbol="HIGHNY-23DEC31")  # no qty
    with pytest.raises(EncodeError):
        pair.client.session.send(broken, pair.now)
    assert limiter.available("write", pair.now) == 100


def test_session_messages_are_never_billed() -> None:
    limiter = RateLimiter("prediction", "Basic")
    pair = logged_on(limiter)  # the Logon is not billed either
    assert limiter.available("write", pair.now) == 100
    for _ in range(4):
        pair.advance(31)  # heartbeats both ways, TestRequests when silent
    assert (
        limiter.available("write", pair.now) == 100 and limiter.available("read", pair.now) == 200
    )
    pair.client.session.logout(pair.now)
    pair.pump()
    assert limiter.available("write", pair.now) == 100


def test_send_delay_without_a_limiter_is_zero_and_inf_when_it_never_fits() -> None:
    pair = SessionPair.kalshi()
    pair.start()
    assert pair.client.session.send_delay(order("a"), pair.now) == 0.0
    big = RateLimiter("prediction", "Basic", costs={"D": 500})  # the bucket holds 100
    pair = logged_on(big)
    assert pair.client.session.send_delay(order("a"), pair.now) == math.inf
    with pytest.raises(RateLimitExceeded, match="it can never fit") as err:
        pair.client.session.send(order("a"), pair.now)
    assert err.value.wait == math.inf


def test_the_limiter_is_shared_across_sessions_and_reconnects() -> None:
    limiter = RateLimiter("prediction", Tier("tiny", read=10, write=20, write_burst=1))  # 2 orders
    first = logged_on(limiter)
    first.client.session.send(order("a"), first.now)
    second = logged_on(limiter)  # the same account's next connection (or another session)
    second.client.session.send(order("b"), second.now)
    with pytest.raises(RateLimitExceeded):
        second.client.session.send(order("c"), second.now)


def test_a_rate_limited_reject_drains_the_buckets_the_message_billed() -> None:
    limiter = RateLimiter("prediction", "Basic")
    pair = logged_on(limiter)
    client = pair.client.session
    seq = client.send(order("sharded", shard=2), pair.now)
    client.send(order("plain"), pair.now)
    pair.pump()
    assert limiter.available("write:2", pair.now) == 90
    reject = p.BusinessMessageReject(
        ref_seq_num=seq, ref_msg_type="D", business_reject_ref_id="sharded",
        business_reject_reason=8, text="Rate limit exceeded",
    )  # fmt: skip
    pair.server.session.send(reject, pair.now)
    pair.pump()
    (event,) = [e for e in pair.client.events if isinstance(e, BusinessRejectReceived)]
    assert isinstance(event, RateLimited)
    assert limiter.available("write:2", pair.now) == 0  # the shard bucket it billed
    assert limiter.available("write", pair.now) == 90  # the other bucket is untouched
    assert client.send_delay(order("next", shard=2), pair.now) == pytest.approx(0.1)


def test_a_rate_limited_reject_of_an_unknown_message_drains_its_default_bucket() -> None:
    limiter = RateLimiter("prediction", "Basic")
    pair = logged_on(limiter)
    for ref_seq, ref_type, drained in ((999, "V", "read"), (998, "D", "write")):
        reject = p.BusinessMessageReject(
            ref_seq_num=ref_seq, ref_msg_type=ref_type, business_reject_reason=8
        )
        pair.server.session.send(reject, pair.now)
        pair.pump()
        assert limiter.available(drained, pair.now) == 0
    other = p.BusinessMessageReject(ref_seq_num=5, ref_msg_type="D", business_reject_reason=6)
    pair.advance(1.0)  # refilled
    pair.server.session.send(other, pair.now)
    pair.pump()
    assert limiter.available("write", pair.now) == 100  # only 380=8 drains


def test_the_limiter_must_fit_the_config() -> None:
    with pytest.raises(LocalProtocolError, match="must be a RateLimiter of product 'prediction'"):
        SessionConfig(sender_comp_id="k", rate_limiter=RateLimiter("margin", Tier("t", 1, 1)))
    with pytest.raises(LocalProtocolError, match="must be a RateLimiter"):
        SessionConfig(sender_comp_id="k", rate_limiter="Basic")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="is for an initiator"):
        SessionConfig(sender_comp_id="Kalshi", role=Role.ACCEPTOR, rate_limiter=RateLimiter())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 0.05), st.booleans()), min_size=1, max_size=80))
def test_the_session_never_sends_more_than_the_budget_in_any_window(
    steps: list[tuple[float, bool]],
) -> None:
    """Whatever the timing, the orders that reach the peer fit the bucket in every window, and a
    refusal costs no sequence number (the peer sees no gap)."""
    limiter = RateLimiter("prediction", Tier("t", read=50, write=40, write_burst=1.5))
    pair = logged_on(limiter)
    client = pair.client.session
    sent: list[float] = []
    for i, (dt, wait) in enumerate(steps):
        pair.now += dt
        message = order(f"o-{i}")
        delay = client.send_delay(message, pair.now)
        if wait and math.isfinite(delay):
            pair.now += delay
        try:
            client.send(message, pair.now)
        except RateLimitExceeded as err:
            assert not wait and err.wait == delay > 0
            continue
        sent.append(pair.now)
    pair.pump()
    assert len(orders_received(pair)) == len(sent)
    assert not [e for e in pair.server.events if type(e).__name__ == "GapDetected"]
    for i in range(len(sent)):
        for j in range(i, len(sent)):
            assert (j - i + 1) * 10 <= 60 + 40 * (sent[j] - sent[i] + TIME_TOLERANCE) + 1e-9

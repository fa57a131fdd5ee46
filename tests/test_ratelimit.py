"""Kalshi's FIX rate limits (`kalshi_fix_sansio.session.ratelimit`): the documented model, and the
limiter never admits more than a bucket's budget in any window (hypothesis)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio import BusinessRejectReceived, LocalProtocolError, checksum
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.session.ratelimit import (
    DEFAULT_COST,
    PREDICTION_TIERS,
    TIME_TOLERANCE,
    Charge,
    RateLimited,
    RateLimiter,
    RateLimitExceeded,
    Tier,
    classify,
)
from kalshi_fix_sansio.trading.builders import Requests

D = Decimal
NR = Requests("prediction", "KalshiNR")
RT = Requests("prediction", "KalshiRT")
RFQ = Requests("prediction", "KalshiRFQ")
MD = Requests("prediction", "KalshiMD")
MNR = Requests("margin", "KalshiNR")
ORDER = NR.new_order("M", "buy", 1, D("0.5"), cl_ord_id="o")


def test_prediction_tiers_are_the_documented_budgets() -> None:
    # session.md §12: tokens/s after the 2026-09-24 +20% change; burst per §12 "Burst"
    expected = {"Basic": (200, 100), "Advanced": (300, 300), "Expert": (600, 600),
                "Premier": (1200, 1200), "Paragon": (2400, 2400), "Prime": (4800, 4800),
                "Prestige": (12000, 9600)}  # fmt: skip
    assert {n: (t.read, t.write) for n, t in PREDICTION_TIERS.items()} == expected
    assert PREDICTION_TIERS["Basic"].write_burst == 1
    assert all(t.write_burst == 3 for n, t in PREDICTION_TIERS.items() if n != "Basic")
    assert DEFAULT_COST == 10


def test_basic_tier_admits_its_burst_then_asks_to_wait() -> None:
    lim = RateLimiter("prediction", "Basic")  # 100 tokens/s, holds 1 s -> 10 orders
    assert [lim.try_take(ORDER, 0.0) for _ in range(10)] == [0.0] * 10
    assert lim.check(ORDER, 0.0) == pytest.approx(0.1)
    with pytest.raises(RateLimitExceeded, match=r"'write' bucket .* retry in 0\.100 s") as err:
        lim.take(ORDER, 0.0)
    assert isinstance(err.value, LocalProtocolError)
    assert err.value.bucket == "write" and err.value.msg_type == "D"
    assert err.value.wait == pytest.approx(0.1)
    assert lim.check(ORDER, 0.05) == pytest.approx(0.05)  # check bills nothing
    lim.take(ORDER, 0.1)
    assert lim.available("write", 0.1) == pytest.approx(0)


def test_write_buckets_above_basic_hold_three_seconds() -> None:
    lim = RateLimiter("prediction", "Advanced")
    assert lim.available("write", 0) == 900 and lim.available("read", 0) == 300
    assert sum(lim.try_take(ORDER, 0) == 0 for _ in range(100)) == 90


def test_heartbeat_test_request_and_logout_are_exempt() -> None:
    lim = RateLimiter("prediction", "Basic")
    for msg in (p.Heartbeat(), p.TestRequest(test_req_id="t"), p.Logout(), m.Heartbeat()):
        assert lim.charges(msg) == []
        for _ in range(1000):
            lim.take(msg, 0.0)


def test_which_bucket_each_message_bills() -> None:
    lim = RateLimiter("prediction", "Basic")
    shard2 = NR.new_order("M", "buy", 1, D("0.5"), ex_destination=2)
    auto = NR.new_order("M", "buy", 1, D("0.5"), ex_destination=-1)
    idx0 = NR.new_order("M", "buy", 1, D("0.5"), ex_destination=0)
    quote_accept = NR.new_order("M", "buy", 1, D("0.5"), quote_id="q", time_in_force="ioc")
    assert lim.charges(shard2) == [Charge("write:2", 10)]
    assert lim.charges(NR.cancel(shard2)) == [Charge("write:2", 10)]
    assert lim.charges(auto) == lim.charges(idx0) == lim.charges(ORDER) == [Charge("write", 10)]
    assert lim.charges(quote_accept) == [Charge("write:1", 10)]  # RFQ/quote writes: shard 1
    for msg in (RT.create_rfq("M", order_qty=1), RT.cancel_rfq("r"), RT.accept_quote("q", "buy"),
                RFQ.quote("r", "M", bid_px=D("0.5")), RFQ.cancel_quote("q"),
                RFQ.confirm_quote("q")):  # fmt: skip
        assert lim.charges(msg) == [Charge("write:1", 10)]
    assert lim.charges(NR.create_order_group(5)) == [Charge("write", 10)]
    assert lim.charges(MD.subscribe("M")) == [Charge("read", 10)]
    assert lim.charges(NR.mass_cancel()) == [Charge("write", 10), Charge("mass-cancel", 1)]


def test_shard_buckets_are_separate() -> None:
    lim = RateLimiter("prediction", "Basic")
    shard2 = NR.new_order("M", "buy", 1, D("0.5"), ex_destination=2)
    for _ in range(10):
        lim.take(ORDER, 0)
    assert lim.check(ORDER, 0) > 0 and lim.check(shard2, 0) == 0


def test_mass_cancel_is_limited_to_one_per_second() -> None:
    lim = RateLimiter("prediction", "Prestige")
    mc = NR.mass_cancel()
    lim.take(mc, 10.0)
    with pytest.raises(RateLimitExceeded, match="'mass-cancel'"):
        lim.take(mc, 10.5)
    assert lim.check(mc, 10.5) == pytest.approx(0.5)
    lim.take(mc, 11.0)


def test_margin_per_shard_write_budget_from_the_symbol() -> None:
    tier = Tier("mine", read=100, write=50, write_burst=1)
    lim = RateLimiter("margin", tier, shard_of={"BTC-PERP": 1}, shard_write={1: 20})
    btc = MNR.new_order("BTC-PERP", "buy", 1, D("19.5"), cl_ord_id="b")
    eth = MNR.new_order("ETH-PERP", "buy", 1, D("19.5"), cl_ord_id="e")
    assert lim.charges(btc) == [Charge("write:1", 10)]
    assert lim.charges(MNR.replace(btc, price=D("20"))) == [Charge("write:1", 10)]
    assert lim.charges(eth) == [Charge("write", 10)]  # unresolved -> default margin Write
    assert lim.charges(MNR.cancel(btc)) == [Charge("write", 1)]  # 35=F: 1 token, default bucket
    assert lim.available("write:1", 0) == 20 and lim.available("write", 0) == 50
    lim.take(btc, 0)
    lim.take(btc, 0)
    assert lim.check(btc, 0) == pytest.approx(0.5) and lim.check(eth, 0) == 0
    by_function = RateLimiter("margin", tier, shard_of=lambda s: 3 if s.startswith("B") else None)
    assert by_function.charges(btc) == [Charge("write:3", 10)]
    assert by_function.available("write:3", 0) == 50  # no shard budget given: the Write budget


def test_margin_needs_explicit_budgets_and_bad_settings_are_refused() -> None:
    with pytest.raises(LocalProtocolError, match=r"margin .* not published"):
        RateLimiter("margin", "Basic")
    with pytest.raises(LocalProtocolError, match="unknown prediction tier"):
        RateLimiter("prediction", "Gold")
    with pytest.raises(LocalProtocolError, match="product"):
        RateLimiter("perps", "Basic")
    with pytest.raises(LocalProtocolError, match="write"):
        Tier("t", read=1, write=0)


def test_costs_are_configurable_and_an_oversized_message_never_fits() -> None:
    lim = RateLimiter("prediction", "Basic", costs={"D": 2, "U7+RfqId": 5})
    assert lim.charges(ORDER) == [Charge("write", 2)]
    assert lim.charges(RFQ.confirm_quote("q", "r")) == [Charge("write:1", 5)]
    assert lim.charges(RFQ.confirm_quote("q")) == [Charge("write:1", 10)]
    huge = RateLimiter("prediction", "Basic", costs={"D": 500})
    assert huge.check(ORDER, 0) == math.inf
    with pytest.raises(RateLimitExceeded, match="never fit"):
        huge.take(ORDER, 0)


def test_time_going_backwards_adds_no_tokens_and_drain_empties() -> None:
    lim = RateLimiter("prediction", "Basic")
    for _ in range(10):
        lim.take(ORDER, 5.0)
    assert lim.check(ORDER, 1.0) == pytest.approx(0.1)
    lim.drain("read", 5.0)
    assert lim.check(MD.subscribe("M"), 5.0) == pytest.approx(0.05)


def _frame(body: str) -> bytes:
    raw = ("35=j|49=Kalshi|56=k|34=3|52=20261120-14:30:00.125|" + body).replace("|", "\x01")
    head = b"8=FIXT.1.1\x019=%d\x01" % len(raw.encode())
    return head + raw.encode() + b"10=%03d\x01" % checksum(head + raw.encode())


def test_a_business_reject_380_8_is_classified_as_rate_limited() -> None:
    msg = p.decode(_frame("45=7|58=Rate limit exceeded|372=D|379=o-1|380=8|"))
    event = BusinessRejectReceived(msg.ref_seq_num, msg.ref_msg_type, msg.business_reject_ref_id,
                                   msg.business_reject_reason, msg.text, msg)  # fmt: skip
    limited = classify(event)
    assert isinstance(limited, RateLimited)
    assert (limited.ref_seq_num, limited.ref_msg_type, limited.business_reject_ref_id) == (
        7,
        "D",
        "o-1",
    )
    assert limited.text == "Rate limit exceeded" and limited.message is msg
    other = p.decode(_frame("45=7|372=D|380=6|"))
    not_limited = BusinessRejectReceived(7, "D", None, other.business_reject_reason, None, other)
    assert classify(not_limited) is not_limited
    assert classify("anything else") == "anything else"


# -- property: never more than the budget in any window -----------------------------------------


def is_margin(msg: object) -> bool:
    return type(msg).__module__.endswith(".margin")


def budget(lim: RateLimiter, bucket: str) -> tuple[float, float]:
    """(tokens/s, tokens held) of a bucket, from the documented model."""
    t = lim.tier
    if bucket == "mass-cancel":
        return 1.0, 1.0
    if bucket == "read":
        return t.read, t.read * t.read_burst
    rate = 15.0 if lim.product == "margin" and bucket != "write" else t.write
    return rate, rate * t.write_burst


MESSAGES = [
    ORDER,
    NR.cancel(ORDER),
    NR.new_order("M", "buy", 1, D("0.5"), ex_destination=2),
    NR.mass_cancel(),
    NR.create_order_group(5),
    RT.create_rfq("M", order_qty=1),
    RFQ.confirm_quote("q", "r"),
    MD.subscribe("M"),
    p.Heartbeat(),
    MNR.new_order("BTC-PERP", "buy", 1, D("19.5")),
    MNR.cancel(MNR.new_order("BTC-PERP", "buy", 1, D("19.5"))),
    MNR.new_order("ETH-PERP", "buy", 1, D("19.5")),
]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["Basic", "Advanced", "margin"]),
    st.lists(
        st.tuples(st.integers(0, len(MESSAGES) - 1), st.floats(0, 0.3), st.booleans()),
        max_size=150,
    ),
)
def test_never_more_than_the_budget_in_any_window(
    tier: str, steps: list[tuple[int, float, bool]]
) -> None:
    if tier == "margin":
        lim = RateLimiter("margin", Tier("t", read=40, write=30, write_burst=2),
                          shard_of={"BTC-PERP": 1}, shard_write=15, costs={"D": 7})  # fmt: skip
        msgs = [x for x in MESSAGES if is_margin(x) or x.MSG_TYPE == "0"]
    else:
        lim = RateLimiter("prediction", tier)
        msgs = [x for x in MESSAGES if not is_margin(x)]
    admitted: dict[str, list[tuple[float, float]]] = {}
    now = 0.0
    for index, dt, use_take in steps:
        now += dt
        msg = msgs[index % len(msgs)]
        expected_wait = lim.check(msg, now)
        if use_take:
            try:
                lim.take(msg, now)
                wait = 0.0
            except RateLimitExceeded as err:
                wait = err.wait
        else:
            wait = lim.try_take(msg, now)
        assert wait == expected_wait
        if wait == 0:
            for charge in lim.charges(msg):
                admitted.setdefault(charge.bucket, []).append((now, charge.cost))
        else:  # waiting as told is enough
            assert wait > 0 and lim.check(msg, now + wait + 1e-9) == 0
    for bucket, events in admitted.items():
        rate, capacity = budget(lim, bucket)
        for i in range(len(events)):
            total = 0.0
            for j in range(i, len(events)):
                total += events[j][1]
                window = events[j][0] - events[i][0]
                assert total <= capacity + rate * (window + TIME_TOLERANCE) + 1e-9, (bucket, i, j)


def test_the_docs_page_examples_run() -> None:
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "docs" / "ratelimit.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 4  # the model, a 35=j 380=8, the session, the adapters
    for i, code in enumerate(blocks, 1):
        exec(compile(code, f"docs/ratelimit.md#{i}", "exec"), {"__name__": "ratelimit_md"})


class CountingLock:
    """A lock that counts how often it is taken, and says whether it is held."""

    def __init__(self) -> None:
        self.taken = 0
        self.held = False

    def __enter__(self) -> None:
        assert not self.held, "taken again while held (a nested call)"
        self.taken += 1
        self.held = True

    def __exit__(self, *exc: object) -> None:
        self.held = False


def test_a_guarded_limiter_takes_its_lock_once_in_every_call() -> None:
    lock = CountingLock()
    limiter = RateLimiter("prediction", Tier("t", read=10, write=20, write_burst=1))
    limiter.guard_with(lambda: lock)
    limiter.guard_with(CountingLock)  # the first lock given stays
    assert limiter.guard is lock
    order = Requests().new_order("X", "buy", 1, Decimal("0.5"), cl_ord_id="o1")
    calls = [
        lambda: limiter.check(order, 0.0),
        lambda: limiter.try_take(order, 0.0),
        lambda: limiter.reserve(order, 0.0),  # checked and billed under one hold
        lambda: limiter.refund([Charge("write", 10.0)], 0.0),
        lambda: limiter.take(order, 0.0),
        lambda: limiter.available("write", 0.0),
        lambda: limiter.bill([Charge("write", 1.0)], 0.0),
        lambda: limiter.drain("write", 0.0),
        lambda: limiter.retier(Tier("u", read=10, write=10), 0.0),
        lambda: limiter.learn(RateLimited(1, "D", None, 8, "limited", None), 0.0),
    ]
    for n, call in enumerate(calls, start=1):
        call()
        assert (lock.taken, lock.held) == (n, False)
    with pytest.raises(RateLimitExceeded):
        limiter.admit(order, 0.0)  # drained: refused, and the lock let go
    assert (lock.taken, lock.held) == (len(calls) + 1, False)


def test_threads_sharing_a_guarded_limiter_never_take_more_than_it_holds() -> None:
    import sys
    import threading

    limiter = RateLimiter("prediction", Tier("t", read=10, write=1_000, write_burst=1))  # 100
    limiter.guard_with(threading.Lock)
    order = Requests().new_order("X", "buy", 1, Decimal("0.5"), cl_ord_id="o1")
    taken: list[int] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        count = 0
        for _ in range(50):
            try:
                limiter.reserve(order, 0.0)  # the clock stands still: no refill
            except RateLimitExceeded:
                continue
            count += 1
        taken.append(count)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch inside the check-then-bill if they can
    try:
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert sum(taken) == 100  # the bucket's 1,000 tokens, 10 an order: never one more
    assert limiter.available("write", 0.0) == 0.0

"""Rate limits through each adapter, against the mock gateway: with ``rate_limit="wait"`` the
adapter sleeps as long as the core says and then sends (nothing is lost or rejected); with
``"raise"`` the core's `RateLimitExceeded` reaches the caller and nothing is sent or tracked."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run

from kalshi_fix_sansio import LocalProtocolError
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.ratelimit import RateLimiter, RateLimitExceeded, Tier
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.tracker import OrderStatus

RQ = Requests("prediction", "KalshiNR")


def two_orders_a_second() -> RateLimiter:
    # 20 Write tokens/s, holding 1 s: two orders at once, then one every 0.5 s
    return RateLimiter("prediction", Tier("test", read=100, write=20, write_burst=1))


def order(cl: str) -> Any:
    return RQ.new_order("HIGHNY-23DEC31", "buy", 1, Decimal("0.30"), cl_ord_id=cl)


@ADAPTERS
def test_wait_sleeps_what_the_core_says_then_sends(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway
    limiter = two_orders_a_second()

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry(rate_limiter=limiter)
        assert session.rate_limit == "wait"
        async with d.opened(session):
            start = time.monotonic()
            placed = [await d.call(session.place(order(f"w-{i}"), timeout=5)) for i in range(3)]
            took = time.monotonic() - start
            assert [o.status for o in placed] == [OrderStatus.NEW] * 3
            assert took >= 0.45  # the third waited for its tokens
            cancel = RQ.cancel(session.tracker.order("w-0"), cl_ord_id="w-c")
            canceled = await d.call(session.cancel(cancel, timeout=5))  # waits too
            assert canceled.status is OrderStatus.CANCELED
            assert time.monotonic() - start >= 0.95
            if adapter == "blocking":
                seq = session.send(order("w-send"))  # the blocking send waits as well
            else:
                with pytest.raises(RateLimitExceeded):  # an async send never waits...
                    session.send(order("w-send"))
                seq = await session.send_when_allowed(order("w-send"))  # ...this does
            assert seq == session.session.next_sender_seq - 1
            await d.wait_for(
                session,
                lambda e: getattr(getattr(e, "message", None), "cl_ord_id", None) == "w-send",
            )

    run(adapter, scenario)


@ADAPTERS
def test_raise_refuses_at_once_and_sends_nothing(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry(rate_limiter=two_orders_a_second())
        session.rate_limit = "raise"
        async with d.opened(session):
            for i in range(2):
                await d.call(session.place(order(f"r-{i}"), timeout=5))
            next_seq = session.session.next_sender_seq
            with pytest.raises(RateLimitExceeded, match="'write' bucket") as err:
                await d.call(session.place(order("r-2"), timeout=5))
            assert 0 < err.value.wait <= 0.5
            assert session.tracker.order("r-2") is None  # not tracked: it was never sent
            assert session.session.next_sender_seq == next_seq
            with pytest.raises(RateLimitExceeded):
                await d.call(session.send(order("r-3")))
            if adapter != "blocking":
                with pytest.raises(RateLimitExceeded):
                    await session.send_when_allowed(order("r-3"))
            await d.busy(err.value.wait + 0.05)
            placed = await d.call(session.place(order("r-2"), timeout=5))  # the same ClOrdID
            assert placed.status is OrderStatus.NEW

    run(adapter, scenario)


def test_the_mode_is_checked() -> None:
    from kalshi_fix_sansio.adapters.blocking import FixClient

    session = FixClient(Credentials("k", new_ed25519_keys()[0])).order_entry()
    with pytest.raises(LocalProtocolError, match="rate_limit must be 'wait' or 'raise'"):
        session.rate_limit = "sleep"
    assert session.rate_limit == "wait"


def test_the_client_takes_the_mode_when_it_makes_the_session() -> None:
    from kalshi_fix_sansio.adapters.blocking import FixClient

    client = FixClient(Credentials("k", new_ed25519_keys()[0]))
    session = client.session("KalshiNR", rate_limit="raise", rate_limiter=two_orders_a_second())
    assert session.rate_limit == "raise"
    with pytest.raises(LocalProtocolError, match="rate_limit must be 'wait' or 'raise'"):
        client.session("KalshiNR", rate_limit="sleep")


def test_blocking_sessions_share_a_limiter_under_a_lock_the_async_ones_need_none() -> None:
    import threading
    from contextlib import nullcontext

    from kalshi_fix_sansio.adapters.asyncio import FixClient as AioClient
    from kalshi_fix_sansio.adapters.blocking import FixClient
    from kalshi_fix_sansio.client.account import Account

    key = new_ed25519_keys()[0]
    shared = two_orders_a_second()
    FixClient(Credentials("k", key)).session("KalshiNR", rate_limiter=shared)
    assert type(shared.guard) is type(threading.Lock())  # its sessions run in threads
    account = Account("desk", keys=["k2"])
    FixClient(Credentials("k2", key), account=account)
    assert type(account.limiter.guard) is type(threading.Lock())
    assert type(account.logons.guard) is type(threading.Lock())
    alone = two_orders_a_second()
    AioClient(Credentials("k", key)).session("KalshiNR", rate_limiter=alone)
    assert isinstance(alone.guard, nullcontext)  # one event loop's thread: nothing to guard

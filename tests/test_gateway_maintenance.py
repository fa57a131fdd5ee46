"""The mock gateway's maintenance window, Logon rate limit and rate-limit reject faults, and a
client kept through Kalshi's Thursday maintenance window, end to end on a simulated clock
(`kalshi_fix_sansio.simulator.world.simulation`: hours of simulated time in milliseconds, no socket)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kalshi_fix_sansio import (
    Backoff,
    ConnectionFailed,
    Disconnected,
    LogonRejected,
    RateLimited,
    Reconnected,
    WaitingOutMaintenance,
)
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.cli import apply_fault
from kalshi_fix_sansio.client.desk_watch import DeskWatch, ScheduleRead
from kalshi_fix_sansio.rest.reconcile import RestOptions
from kalshi_fix_sansio.simulator.gateway import mock_api_key
from kalshi_fix_sansio.simulator.gateway.listening import (
    LOGON_RATE_LIMIT_TEXT,
    MAINTENANCE_TEXT,
    Faults,
)
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.simulator.world.simulation import Simulation
from kalshi_fix_sansio.trading.builders import Requests

SYMBOL = "HIGHNY-23DEC31"
KEY_ID, SIGNER, PUBLIC_KEY = mock_api_key("prediction")
THU_0310_ET = 1_767_859_800.0  # 2026-01-08 08:10 UTC = Thursday 03:10 EST
THU_0500_ET = 1_767_866_400.0  # the window's end
MONDAY = 1_767_623_400.0  # 2026-01-05 14:30 UTC: no maintenance
REST = RestOptions(environment="demo")


def simulation(start: float, **keys: Any) -> Simulation:
    sim = Simulation("prediction", keys={KEY_ID: PUBLIC_KEY, **keys}, start=start)
    sim.gateway.seed_market(
        SYMBOL, bids=[(Decimal("0.40"), Decimal(25))], asks=[(Decimal("0.45"), Decimal(30))]
    )
    return sim


def events_of(oe: Any, cls: type) -> list[Any]:
    """Every queued event of ``oe`` of class ``cls`` (reads the queue to its end)."""
    out = []
    while (event := oe.next_event(timeout=0)) is not None:
        if isinstance(event, cls):
            out.append(event)
    return out


def test_a_two_hour_window_ends_in_a_reconnect_without_connection_failed() -> None:
    sim = simulation(THU_0310_ET)
    orders = Requests("prediction", "KalshiNR")
    with sim.client(KEY_ID, SIGNER).order_entry() as oe:  # the default Backoff
        assert sim.gateway.maintenance(until=THU_0500_ET) == 1
        oe.wait_for(lambda e: isinstance(e, Disconnected), timeout=10)
        refused = oe.wait_for(lambda e: isinstance(e, LogonRejected), timeout=10)
        assert refused.text == MAINTENANCE_TEXT  # retried: it says "try again later"
        wait = oe.wait_for(lambda e: isinstance(e, WaitingOutMaintenance), timeout=120)
        assert wait.ends_at == THU_0500_ET and MAINTENANCE_TEXT in wait.reason
        assert sim.clock.time() < THU_0310_ET + 120  # the backoff's 10 attempts, spent
        back = oe.wait_for(lambda e: isinstance(e, Reconnected), timeout=3 * 3600)
        # 1h50 of refused Logons, far more than the backoff's 10 attempts
        assert THU_0500_ET <= sim.clock.time() <= THU_0500_ET + 60
        assert back.attempt > 100 and back.reset_seq_nums
        assert sim.gateway.faults.maintenance_until is None  # the window is over
        report = oe.place(orders.new_order(SYMBOL, "buy", 1, Decimal("0.41")), timeout=10)
        assert report.cl_ord_id


def test_without_the_maintenance_pace_the_window_spends_the_attempts() -> None:
    sim = simulation(THU_0310_ET)
    client = sim.client(
        KEY_ID, SIGNER, backoff=Backoff(seed=0, maintenance_retry=None, reconnect_attempts=10)
    )
    with client.order_entry() as oe:
        sim.gateway.maintenance(until=THU_0500_ET)
        with pytest.raises(ConnectionFailed, match="after 10 attempts"):
            oe.wait_for(lambda e: isinstance(e, Reconnected), timeout=3 * 3600)
        assert sim.clock.time() < THU_0310_ET + 600


def test_maintenance_refuses_logons_until_it_ends_then_serves_them() -> None:
    sim = simulation(MONDAY)
    assert sim.gateway.maintenance(seconds=300) == 0  # nobody connected
    assert sim.gateway.faults.maintenance_until == MONDAY + 300
    client = sim.client(KEY_ID, SIGNER, backoff=Backoff(base=120, cap=120, attempts=30, seed=1))
    with client.order_entry() as oe:  # the "try again later" refusal is retried
        assert sim.clock.time() >= MONDAY + 300
        refused = events_of(oe, LogonRejected)
    assert refused and {e.text for e in refused} == {MAINTENANCE_TEXT}
    with pytest.raises(ValueError, match="either seconds"):
        sim.gateway.maintenance()
    with pytest.raises(ValueError, match="end after now"):
        sim.gateway.maintenance(until=MONDAY)


def test_logon_rate_limit_per_api_key() -> None:
    other_id = "key-2"
    other_signer, other_public = new_ed25519_keys()
    sim = simulation(MONDAY, **{other_id: other_public})
    sim.gateway.faults.logon_rate_limit = (1, 60.0)
    first = sim.client(KEY_ID, SIGNER, backoff=Backoff(base=30, cap=30, attempts=20, seed=2))
    with first.order_entry():
        pass
    with sim.client(other_id, other_signer).order_entry():  # another key: its own budget
        pass
    with first.order_entry() as oe:  # a second Logon of key 1 within 60 s: refused, retried
        refused = [e.text for e in events_of(oe, LogonRejected)]
    assert refused and set(refused) == {LOGON_RATE_LIMIT_TEXT}
    assert sim.clock.time() >= MONDAY + 60  # let in once the minute had passed


def test_rate_limit_reject_answers_the_next_messages_with_380_8() -> None:
    sim = simulation(MONDAY)
    orders = Requests("prediction", "KalshiNR")
    with sim.client(KEY_ID, SIGNER).order_entry() as oe:
        sim.gateway.faults.rate_limit_next = 1
        seq = oe.send(orders.new_order(SYMBOL, "buy", 1, Decimal("0.41")))
        limited = oe.wait_for(lambda e: isinstance(e, RateLimited), timeout=10)
        reject = limited.message
        assert reject.business_reject_reason == p.BusinessRejectReason.RATE_LIMIT_EXCEEDED
        assert reject.text == "Rate limit exceeded"
        assert (reject.ref_seq_num, reject.ref_msg_type) == (seq, "D")
        assert sim.gateway.faults.rate_limit_next == 0
        mine = [o for o in sim.gateway.exchange.open_orders() if o.account != "house"]
        assert not mine  # never reached the book
        oe.place(orders.new_order(SYMBOL, "buy", 1, Decimal("0.41")), timeout=10)
        mine = [o for o in sim.gateway.exchange.open_orders() if o.account != "house"]
        assert len(mine) == 1  # the next one is handled


def test_faults_validate_the_logon_rate_limit() -> None:
    faults = Faults()
    for bad in ((0, 1.0), (1, 0), (1,), "2/10", (True, 1.0)):
        with pytest.raises(ValueError, match="logon_rate_limit must be"):
            faults.logon_rate_limit = bad  # type: ignore[assignment]
    faults.logon_rate_limit = (3, 1)
    assert faults.logon_rate_limit == (3, 1)


def test_an_announced_window_comes_as_maintenance_and_a_reader_of_the_schedule_waits_it_out() -> (
    None
):
    sim = Simulation("prediction", keys={KEY_ID: PUBLIC_KEY}, start=MONDAY, rest=True)
    sim.gateway.seed_market(SYMBOL, bids=[(Decimal("0.40"), Decimal(25))])
    start, end = sim.gateway.schedule_maintenance(600.0, 1800.0)  # Monday: no Thursday window
    backoff = Backoff(seed=0, reconnect_attempts=10)
    with sim.client(KEY_ID, SIGNER, backoff=backoff).order_entry(rest=REST) as oe:
        watch = DeskWatch(oe)
        watch.refresh("exchange_schedule")
        sim.serve_rest(watch)
        read = oe.wait_for(lambda e: isinstance(e, ScheduleRead), timeout=10)
        assert [(w.start, w.end) for w in read.schedule.windows] == [(start, end)]
        oe.wait_for(lambda e: isinstance(e, Disconnected), timeout=900)
        assert sim.clock.time() == start and sim.gateway.faults.maintenance_until == end
        wait = oe.wait_for(lambda e: isinstance(e, WaitingOutMaintenance), timeout=600)
        assert wait.ends_at == end
        back = oe.wait_for(lambda e: isinstance(e, Reconnected), timeout=3600)
        assert end <= sim.clock.time() <= end + 60 and back.attempt > 10
    # the same window unread: the client spends its attempts in it and gives up
    sim = Simulation("prediction", keys={KEY_ID: PUBLIC_KEY}, start=MONDAY)
    sim.gateway.schedule_maintenance(600.0, 1800.0)
    with sim.client(KEY_ID, SIGNER, backoff=backoff).order_entry() as oe:
        with pytest.raises(ConnectionFailed, match="after 10 attempts"):
            oe.wait_for(lambda e: isinstance(e, Reconnected), timeout=3600)
        assert sim.clock.time() < end


def test_the_console_sets_the_new_faults() -> None:
    sim = simulation(MONDAY)
    gw = sim.gateway
    assert apply_fault(gw, ["logon-rate-limit", "2/10"]) is None
    assert gw.faults.logon_rate_limit == (2, 10.0)
    assert apply_fault(gw, ["logon-rate-limit", "off"]) is None
    assert gw.faults.logon_rate_limit is None
    assert apply_fault(gw, ["logon-rate-limit", "0/10"]) is not None
    assert apply_fault(gw, ["rate-limit"]) is None and gw.faults.rate_limit_next == 1
    assert apply_fault(gw, ["rate-limit", "3"]) is None and gw.faults.rate_limit_next == 3
    assert apply_fault(gw, ["maintenance", "600"]) is None
    assert gw.faults.maintenance_until == MONDAY + 600
    assert apply_fault(gw, ["maintenance", "off"]) is None
    assert gw.faults.maintenance_until is None
    assert "bad value" in (apply_fault(gw, ["maintenance", "soon"]) or "")
    assert "maintenance" in (apply_fault(gw, ["bogus"]) or "")

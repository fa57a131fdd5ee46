"""A simulation's edges: nothing but memory and the simulated clock, waits that could never end,
the gateway's strictness and timers, callbacks, and using an API outside its run."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, NoReturn

import pytest
import trio

from kalshi_fix_sansio import (
    ApplicationMessage,
    Backoff,
    ConnectionFailed,
    Disconnected,
    LocalProtocolError,
    LogonRefused,
    OrderStatus,
    Reconnected,
)
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.client import Endpoint
from kalshi_fix_sansio.session.events import Event
from kalshi_fix_sansio.simulator.gateway import mock_api_key
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.simulator.world.simulation import (
    DEFAULT_START,
    Simulation,
    SimulationStalled,
)
from kalshi_fix_sansio.trading.builders import Requests

SYMBOL = "HIGHNY-23DEC31"
KEY_ID, SIGNER, PUBLIC = mock_api_key("prediction")
CANCELED = OrderStatus.CANCELED


def new_simulation(**options: Any) -> Simulation:
    sim = Simulation("prediction", keys={KEY_ID: PUBLIC}, **options)
    sim.gateway.seed_market(SYMBOL, bids=[(Decimal("0.40"), Decimal(10))])
    return sim


def bid(cl_ord_id: str, **fields: Any) -> p.NewOrderSingle:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(1),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.30"),
        symbol=SYMBOL,
        **fields,
    )


def forbidden(what: str) -> Any:
    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError(f"the simulation used {what}")

    return refuse


@pytest.fixture
def no_io_no_thread_no_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every socket, thread and wall-clock read fails the test."""
    for name in ("socket", "socketpair", "create_connection", "getaddrinfo"):
        monkeypatch.setattr(socket, name, forbidden(f"socket.{name}"))
    monkeypatch.setattr(threading.Thread, "start", forbidden("a thread"))
    for name in ("time", "monotonic", "sleep", "time_ns", "monotonic_ns"):
        monkeypatch.setattr(time, name, forbidden(f"time.{name}"))


def place_and_cancel(sim: Simulation) -> OrderStatus:
    client = sim.client(KEY_ID, SIGNER)
    with client.order_entry() as oe:
        oe.place(bid("bid-1"))
        sim.run_for(95)
        return oe.cancel("bid-1").status


async def place_and_cancel_async(
    sim: Simulation, api: str, pause: Callable[[float], Awaitable[object]]
) -> OrderStatus:
    """``pause``: the API's own sleep, on the simulated clock."""
    async with sim.client(KEY_ID, SIGNER, api=api).order_entry() as oe:
        await oe.place(bid("bid-1"))
        await pause(95)
        return (await oe.cancel("bid-1")).status


@pytest.mark.usefixtures("no_io_no_thread_no_wall_clock")
def test_blocking_runs_on_memory_and_the_simulated_clock_alone() -> None:
    sim = new_simulation()
    assert place_and_cancel(sim) is CANCELED
    assert sim.clock.elapsed == 95.0


@pytest.mark.usefixtures("no_io_no_thread_no_wall_clock")
def test_asyncio_runs_on_memory_and_the_simulated_clock_alone() -> None:
    sim = new_simulation()
    assert sim.run_asyncio(place_and_cancel_async(sim, "asyncio", asyncio.sleep)) is CANCELED
    assert sim.clock.elapsed == 95.0


def test_trio_connects_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # trio's run makes its own wake-up socket pair: no connection is made, no TCP stream opened
    monkeypatch.setattr(socket.socket, "connect", forbidden("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", forbidden("socket.connect_ex"))
    monkeypatch.setattr(trio, "open_tcp_stream", forbidden("trio.open_tcp_stream"))
    sim = new_simulation()
    assert sim.run_trio(place_and_cancel_async, sim, "trio", trio.sleep) is CANCELED
    assert sim.clock.elapsed == 95.0


def test_the_clock_starts_where_it_is_told_and_sending_time_follows() -> None:
    start = DEFAULT_START + timedelta(days=3, hours=2)
    sim = new_simulation(start=start)
    assert sim.clock.time() == start.timestamp() and sim.clock.elapsed == 0.0
    place_and_cancel(sim)
    logon = next(r for r in sim.wire if r.msg_types == ("A",))
    assert b"\x0152=20260108-16:30:00.000\x01" in logon.data
    assert sim.wire[-1].time == start.timestamp() + 95


def test_cancel_by_cl_ord_id_takes_the_simulations_numbered_id() -> None:
    sim = new_simulation()
    place_and_cancel(sim)
    (cancel,) = [r for r in sim.wire if r.msg_types == ("F",)]
    assert b"\x0111=sim-1\x01" in cancel.data and b"\x0141=bid-1\x01" in cancel.data


def test_a_wait_that_never_ends_stalls_the_simulation() -> None:
    sim = new_simulation(max_time=600)
    oe = sim.client(KEY_ID, SIGNER).order_entry()
    oe.open()
    while oe.next_event(timeout=0) is not None:
        pass  # the Logon's events
    with pytest.raises(SimulationStalled, match="max_time"):
        oe.next_event(timeout=None)  # nothing will come
    assert 590 < sim.clock.elapsed <= 600
    sim.max_time += 60  # more time: the session is still up, heartbeats flowing
    assert oe.next_event(timeout=5) is None
    oe.close()
    assert sim.wire[-1].msg_types == ("5",) and sim.clock.elapsed < 610


def test_a_close_past_max_time_drops_the_connection() -> None:
    sim = new_simulation(max_time=60)
    oe = sim.client(KEY_ID, SIGNER).order_entry()
    oe.open()
    sim.run_for(58)
    sim.gateway.faults.silent = True  # the gateway answers nothing more
    oe.close()  # the Logout's answer would take longer than the simulation has left
    assert 59.9 < sim.clock.elapsed <= 60
    assert sim.wire[-1].sender == "client" and sim.wire[-1].msg_types == ("5",)
    sim.run_once()  # what is due now: the gateway hears of the dropped connection
    assert sim.gateway.connected() == []


def test_asyncio_and_trio_runs_stall_too() -> None:
    async def wait_forever(sim: Simulation, api: str) -> None:
        async with sim.client(KEY_ID, SIGNER, api=api).order_entry() as oe:
            while await oe.next_event(timeout=0) is not None:
                pass
            await oe.next_event(timeout=None)

    sim = new_simulation(max_time=120)
    with pytest.raises(SimulationStalled, match="max_time"):
        sim.run_asyncio(wait_forever(sim, "asyncio"))
    assert sim.running is None and sim.clock.elapsed >= 120
    sim = new_simulation(max_time=120)
    with pytest.raises(SimulationStalled, match="max_time"):
        sim.run_trio(wait_forever, sim, "trio")
    # past it only the session's close, waiting its logout timeout in vain
    assert sim.running is None and 120 <= sim.clock.elapsed <= 127


def reconnect_after_a_drop() -> Simulation:
    sim = new_simulation()
    with sim.client(KEY_ID, SIGNER).order_entry() as oe:
        sim.gateway.faults.drop_after = 1  # the gateway closes after its next report
        oe.place(bid("bid-1"))
        oe.wait_for(lambda e: isinstance(e, Disconnected), timeout=10)
        sim.gateway.faults.drop_after = None
        back = oe.wait_for(lambda e: isinstance(e, Reconnected), timeout=60)
        assert isinstance(back, Reconnected) and back.reset_seq_nums and oe.connections == 2
    return sim


def test_faults_and_reconnects_run_on_the_simulated_clock() -> None:
    sim = reconnect_after_a_drop()
    assert {r.connection for r in sim.wire} == {1, 2}
    assert 0 < sim.clock.elapsed < 60  # the backoff's delay, simulated
    assert reconnect_after_a_drop().wire == sim.wire  # the backoff's jitter is seeded


def test_sleeping_past_max_time_stalls() -> None:
    sim = new_simulation(max_time=60)
    with pytest.raises(SimulationStalled):
        sim.run_for(61)


def test_nothing_due_at_all_stalls() -> None:
    sim = new_simulation()
    with pytest.raises(SimulationStalled, match="never end"):
        sim.advance(float("inf"))


def test_the_gateway_is_as_strict_as_on_its_ports() -> None:
    sim = new_simulation()
    stranger, _ = new_ed25519_keys()  # the key id is known, the signature is not its key's
    with pytest.raises(LogonRefused):
        sim.client(KEY_ID, stranger).order_entry().open()
    assert sim.gateway.connected() == []


def test_a_port_nobody_serves_is_refused_until_the_backoff_gives_up() -> None:
    sim = new_simulation()
    nowhere = {"KalshiNR": Endpoint("127.0.0.1", 1, tls=False)}
    backoff = Backoff(base=1.0, cap=2.0, attempts=3, seed=1)
    session = sim.client(KEY_ID, SIGNER, endpoints=nowhere, backoff=backoff).order_entry()
    with pytest.raises(ConnectionFailed, match=re.escape("nothing listens on 127.0.0.1:1 ")):
        session.open()
    assert 0 < sim.clock.elapsed <= 3 * 2.0  # three retries, on the simulated clock
    assert sim.wire == []


def test_a_gtd_order_expires_on_the_gateways_ticker() -> None:
    sim = new_simulation()
    expire = DEFAULT_START + timedelta(seconds=60)
    with sim.client(KEY_ID, SIGNER).order_entry() as oe:
        oe.place(bid("gtd-1", time_in_force=p.TimeInForce.GTD, expire_time=expire))
        sim.run_for(120)  # nobody talks: the gateway's timer expires it
        order = oe.tracker.order("gtd-1")
        assert order is not None and order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELED)
    report = next(
        r
        for r in sim.wire
        if r.sender == "gateway"
        and b"\x0111=gtd-1\x01" in r.data
        and b"\x01150=0\x01" not in r.data
    )
    assert 60 <= report.time - sim.clock.start <= 61


def test_blocking_callbacks_run_between_inputs() -> None:
    sim = new_simulation()
    seen: list[str] = []

    def on_event(event: Event) -> None:
        if isinstance(event, ApplicationMessage):
            seen.append(event.message.MSG_TYPE)

    with sim.client(KEY_ID, SIGNER).order_entry(on_event=on_event) as oe:
        oe.send(bid("bid-1"))
        oe.run(until=lambda: "8" in seen)
    assert seen == ["8"] and sim.clock.elapsed == 0.0


def test_trio_callbacks_run_in_a_task_of_the_session() -> None:
    sim = new_simulation()
    seen: list[str] = []

    async def on_event(event: Event) -> None:
        if isinstance(event, ApplicationMessage):
            await trio.lowlevel.checkpoint()  # an awaitable callback, awaited
            seen.append(event.message.MSG_TYPE)

    async def main() -> None:
        client = sim.client(KEY_ID, SIGNER, api="trio")
        async with client.order_entry(on_event=on_event) as oe:
            oe.send(bid("bid-1"))
            await oe.run(until=lambda: "8" in seen)

    sim.run_trio(main)
    assert seen == ["8"] and sim.clock.elapsed == 0.0


def test_each_api_stays_in_its_own_run() -> None:
    sim = new_simulation()

    async def blocking_inside() -> None:
        sim.run_for(1)

    with pytest.raises(LocalProtocolError, match=r"blocking call during Simulation\.run_asyncio"):
        sim.run_asyncio(blocking_inside())

    async def outside() -> None:
        await sim.client(KEY_ID, SIGNER, api="asyncio").order_entry().open()

    with pytest.raises(LocalProtocolError, match=r"Simulation\.run_asyncio"):
        asyncio.run(outside())
    with pytest.raises(LocalProtocolError, match=r"Simulation\.run_trio"):
        trio.run(sim.client(KEY_ID, SIGNER, api="trio").order_entry().open)
    assert sim.running is None and sim.wire == []


def test_options_of_a_listening_gateway_or_of_tls_are_refused() -> None:
    with pytest.raises(LocalProtocolError, match="tls"):
        Simulation("prediction", keys={}, tls=True)
    with pytest.raises(LocalProtocolError, match="aware datetime"):
        Simulation("prediction", keys={}, start=DEFAULT_START.replace(tzinfo=None))
    with pytest.raises(LocalProtocolError, match="max_time must be seconds > 0"):
        Simulation("prediction", keys={}, max_time=0)
    sim = new_simulation()
    with pytest.raises(LocalProtocolError, match="pinned_cert"):
        sim.client(KEY_ID, SIGNER, pinned_cert="gateway.pem")
    with pytest.raises(LocalProtocolError, match="api must be one of"):
        sim.client(KEY_ID, SIGNER, api="twisted")


def _market_data_under(fault: str, way: str = "seed") -> tuple[float, list[Any]]:
    """A 35=X the gateway sends a subscriber as bytes (a seeded level, or a recorded one's
    change replayed in one step: ``way`` ``"replay"``, `Router.replay_market`) with ``fault``
    on: the time it was made and the gateway's writes on the market-data connection from
    then."""
    sim = new_simulation()
    md = sim.client(KEY_ID, SIGNER).market_data()
    md.open()
    md.send(Requests("prediction", "KalshiMD").subscribe(SYMBOL))
    sim.run_for(1)  # the snapshot
    faults = sim.gateway.faults
    if fault == "delay":
        faults.delay = 2.0
    elif fault == "garble_next":
        faults.garble_next = True
    elif fault == "skip_seq":
        faults.skip_seq = 3
    elif fault == "duplicate_next":
        faults.duplicate_next = True
    elif fault == "drop_after":
        faults.drop_after = 1  # the Logon's answer and the snapshot are past it
    start = sim.clock.time()
    if way == "replay":
        level = ("0", SYMBOL, Decimal("0.41"), Decimal(5), "0", None, None)
        assert sim.gateway.replay_market((level,), start) is True
    else:
        sim.gateway.seed_market(SYMBOL, bids=[(Decimal("0.41"), Decimal(5))])
    sim.run_for(5)
    md.close()
    gateway = [
        r
        for r in sim.wire
        if r.sender == "gateway" and r.session_type == "KalshiMD" and r.time >= start
    ]
    return start, gateway


def _seq(data: bytes) -> int:
    found = re.search(rb"\x0134=(\d+)\x01", data)
    assert found is not None
    return int(found.group(1))


@pytest.mark.parametrize("way", ["seed", "replay"])
@pytest.mark.parametrize(
    "fault", ["none", "delay", "garble_next", "skip_seq", "duplicate_next", "drop_after"]
)
def test_market_data_as_bytes_takes_the_gateways_faults(fault: str, way: str) -> None:
    """A 35=X routed as bytes alone (the route's short way, and a replayed level's one step)
    is sent and written at once; with a fault on it takes the whole route, and the fault
    applies to it."""
    start, writes = _market_data_under(fault, way)
    (x,) = [r for r in writes if "X" in r.msg_types][:1]
    plain = _market_data_under("none", way)[1]
    (plain_x,) = [r for r in plain if "X" in r.msg_types][:1]
    if fault == "delay":
        assert x.time == start + 2.0 and plain_x.time == start
        assert x.data == plain_x.data
    elif fault == "garble_next":
        assert x.data != plain_x.data and x.data[:-4] == plain_x.data[:-4]
    elif fault == "skip_seq":
        assert _seq(x.data) == _seq(plain_x.data) + 3
    elif fault == "duplicate_next":
        assert x.msg_types == ("X", "X") and b"\x0143=Y\x01" in x.data
        assert plain_x.msg_types == ("X",)
    elif fault == "drop_after":
        assert x.data == plain_x.data
        # closed after it: nothing more on that connection (the client connects again)
        assert not [r for r in writes if r.connection == x.connection and r.time > x.time]
        assert [r for r in plain if r.time > plain_x.time]  # the Logout, without the fault
    else:
        assert x.time == start


def test_a_replayed_row_replay_market_does_not_take_is_left_to_the_whole_route() -> None:
    """`Router.replay_market` takes a 35=X of one listed market alone: a row of two markets,
    or of a market not listed yet, is handed back with nothing done or sent."""
    sim = new_simulation()
    md = sim.client(KEY_ID, SIGNER).market_data()
    md.open()
    md.send(Requests("prediction", "KalshiMD").subscribe(SYMBOL))
    sim.run_for(1)
    now, writes = sim.clock.time(), len(sim.wire)
    level = ("0", SYMBOL, Decimal("0.45"), Decimal(1), "0", None, None)
    unlisted = ("0", "OTHER-23DEC31", Decimal("0.40"), Decimal(1), "0", None, None)
    assert sim.gateway.replay_market((level, unlisted), now) is None
    assert sim.gateway.replay_market((unlisted,), now) is None
    assert sim.gateway.replay_market((), now) is None
    sim.run_for(1)
    assert len(sim.wire) == writes
    assert sim.gateway.exchange.top_of_book("OTHER-23DEC31") == (None, None)
    assert sim.gateway.exchange.top_of_book(SYMBOL)[0] == (Decimal("0.40"), Decimal(10))
    md.close()


def test_run_once_runs_what_is_due_at_its_end_after_the_tickers_quiet_seconds() -> None:
    """The ticker's idle seconds are skipped in one step; a callback due at the same second
    as the ticker's last one (asked for after it), at ``until`` itself, still runs."""
    sim = Simulation("prediction", keys={KEY_ID: PUBLIC})
    start = sim.clock.time()
    ran: list[float] = []
    sim.scheduler.call_at(start + 1.0, lambda: ran.append(sim.clock.time()))
    sim.scheduler.call_at(start + 5.0, lambda: ran.append(sim.clock.time()))
    assert sim.run_once(start + 1.0) == start + 1.0 and ran == [start + 1.0]
    assert sim.run_once(start + 10.0) == start + 5.0 and ran == [start + 1.0, start + 5.0]
    assert sim.run_once(start + 7.5) == start + 7.5  # only quiet seconds: on to ``until``


def test_run_once_with_only_the_tickers_quiet_seconds_left_stalls_at_max_time() -> None:
    """Nothing but the ticker left and no end given: the quiet seconds are skipped up to
    ``max_time`` at most, then the simulation stalls (the skip once ran on with no bound)."""
    sim = Simulation("prediction", keys={KEY_ID: PUBLIC}, max_time=120)
    start = sim.clock.time()  # a new simulation: its gateway's ticker is all that is due
    with pytest.raises(SimulationStalled, match="max_time"):
        sim.run_once()
    assert start + 119 <= sim.clock.time() <= start + 120

"""Up after any transport fault, on every adapter: the fault matrix.

Each adapter (blocking, asyncio, trio) x each order-entry session type (KalshiNR, KalshiRT) x
each fault, injected from outside both programs by a loopback relay between the client and the
real mock gateway (TLS end to end through it, `kalshi_fix_sansio.simulator.testing.relay.FaultRelay`):

* ``reset-reading``: an RST while the application waits for an order's answer (``place``);
* ``reset-idle``: an RST while the application does something else (not in the session);
* ``reset-sending``: an RST after some bytes of a burst of orders the application is sending;
* ``peer-silent``: the exchange's bytes stop reaching the client (the connection stays up);
* ``app-blocked``: the application blocks its own loop (or thread) until the exchange's next
  heartbeat, past the client's silence limit;
* ``exchange-drops``: the client stops taking bytes while a burst of orders is answered, and
  the connection is reset while the application's loop (or thread) is blocked, as an exchange
  resets a client that does not read.

After each, the session reconnects (`Reconnected`), trades again, the tracker equals the
exchange (every order the exchange holds is tracked with its quantities, every order the
tracker holds open is on the exchange, and an order the tracker could not settle was named in
an `OrdersUnknown` event), and a kill leaves nothing open on the exchange. Every wait is on an
event or bounded by a timeout; heartbeats are short (4 s, a TestRequest after 1.2 s of silence,
given up after 2.4 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trio
from gateway_fixtures import BOOK, SYMBOL, GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run

from kalshi_fix_sansio import Backoff
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.client import Endpoint
from kalshi_fix_sansio.client.supervisor import Reconnected
from kalshi_fix_sansio.codec.errors import FixError
from kalshi_fix_sansio.session.events import Event
from kalshi_fix_sansio.simulator.gateway.server import MockGateway
from kalshi_fix_sansio.simulator.gateway.tls import self_signed, server_context
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.simulator.testing.relay import FaultRelay
from kalshi_fix_sansio.trading.catchup import OrdersUnknown
from kalshi_fix_sansio.trading.tracker import OrderStatus

FAULTS = [
    "reset-reading",
    "reset-idle",
    "reset-sending",
    "peer-silent",
    "app-blocked",
    "exchange-drops",
]
BID = Decimal("0.30")  # below the seeded book: rests
HEARTBEAT = 4  # the shortest HeartBtInt prediction allows
SILENCE = {"test_request_factor": 0.3, "disconnect_factor": 0.6}  # TestRequest 1.2 s, end 2.4 s
RECOVER = 20.0  # seconds a recovery may take at most (backoff, Logon, catch-up)


@pytest.fixture
def relayed(tmp_path: Path) -> Iterator[tuple[GatewayHarness, FaultRelay, FaultRelay]]:
    """A mock gateway over TLS with a relay in front of each order-entry port."""
    cert, key = self_signed(tmp_path)
    signers, public = {}, {}
    for key_id in ("key-1", "key-2"):
        signers[key_id], public[key_id] = new_ed25519_keys()
    gateway = MockGateway(
        "prediction",
        keys=public,
        ssl_context=server_context(cert, key),
        heartbeat_interval=HEARTBEAT,
    )
    gateway.start_in_thread()
    bids, asks = BOOK["prediction"]
    gateway.seed_market(SYMBOL["prediction"], bids=bids, asks=asks)
    h = GatewayHarness(gateway, "prediction", cert, signers)
    relays = [
        FaultRelay("127.0.0.1", gateway.ports[name]).start() for name in ("KalshiNR", "KalshiRT")
    ]
    try:
        yield h, relays[0], relays[1]
    finally:
        for relay in relays:
            relay.close_relay()
        gateway.close()


def order(cl_ord_id: str, qty: int = 1) -> Any:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(qty),
        ord_type=p.OrdType.LIMIT,
        price=BID,
        symbol=SYMBOL["prediction"],
        time_in_force=p.TimeInForce.GTC,
    )


async def in_thread(d: Driver, fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` off the adapter's loop (the application busy elsewhere)."""
    if d.adapter == "blocking":
        return fn(*args)
    if d.adapter == "asyncio":
        return await asyncio.to_thread(fn, *args)
    return await trio.to_thread.run_sync(fn, *args)


class Seen:
    """Every event the test read (the checks look back at them)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, predicate: Any) -> Any:
        def keep(event: Event) -> bool:
            self.events.append(event)
            return bool(predicate(event))

        return keep


async def burst(d: Driver, session: Any, prefix: str, count: int) -> int:
    """Send ``count`` orders without waiting; how many were sent before one was refused (the
    connection went down)."""
    for n in range(count):
        try:
            session.send(order(f"{prefix}-{n}"))
        except FixError:
            return n
        await d.checkpoint()  # an asynchronous application lets its loop run between orders
    return count


async def inject(fault: str, d: Driver, session: Any, relay: FaultRelay) -> None:
    """Do ``fault`` to the live connection (see the module docstring)."""
    if fault == "reset-reading":
        relay.reset_after(1)  # the order goes up, then both ends are reset
        with contextlib.suppress(FixError, TimeoutError):
            await d.call(session.place(order("in-flight"), timeout=RECOVER))
    elif fault == "reset-idle":
        assert await in_thread(d, relay.reset) == 1
        assert await in_thread(d, relay.wait_connections, 2, RECOVER)
    elif fault == "reset-sending":
        relay.reset_after(2000)  # a few orders in
        # orders until one is refused, bounded by time, not by a count: the relay's thread
        # resets after it forwarded 2,000 bytes, and on a loaded machine a blocking client had
        # put all of 400 orders into the socket's buffer before that thread ran again
        deadline = time.monotonic() + RECOVER
        sent = 0
        while time.monotonic() < deadline:
            burst_sent = await burst(d, session, f"burst{sent}", 100)
            sent += burst_sent
            if burst_sent < 100:
                break
        else:
            raise AssertionError(f"the reset never reached the sending application ({sent} sent)")
    elif fault == "peer-silent":
        assert relay.blackhole("down") == 1
        assert await in_thread(d, relay.wait_connections, 2, RECOVER)
    elif fault == "app-blocked":
        # the application's loop (or thread) blocked until the exchange's next heartbeat
        # (HeartBtInt 4 s), past the client's 2.4 s silence limit: a blocking call, not a sleep
        heard = relay.relayed("down")
        assert relay.wait_relayed("down", heard + 1, 2 * HEARTBEAT + 1)
    elif fault == "exchange-drops":
        assert relay.stall("down") == 1  # the client takes nothing more
        await burst(d, session, "burst", 50)  # their answers wait for it
        reset = threading.Thread(target=relay.reset)
        reset.start()
        reset.join(10.0)  # the application's loop (or thread) blocked meanwhile
        assert relay.ends == ["relay reset"]
    else:  # pragma: no cover - the parametrization names every fault
        raise AssertionError(fault)


def mismatch(h: GatewayHarness, session: Any, seen: Seen) -> str | None:
    """How the tracker differs from the exchange (None: it does not)."""
    exchange = {
        o.cl_ord_id: o for o in h.gateway.call(lambda: h.gateway.exchange.open_orders("key-1"))
    }
    tracker = session.tracker
    unknown = {cl for e in seen.events if isinstance(e, OrdersUnknown) for cl in e.cl_ord_ids}
    for cl_ord_id, held in exchange.items():
        tracked = tracker.current(cl_ord_id)
        if tracked is None:
            return f"{cl_ord_id} is open on the exchange, unknown to the tracker"
        if tracked.status is OrderStatus.PENDING_NEW:
            if cl_ord_id not in unknown:
                return f"{cl_ord_id} is open on the exchange, pending in the tracker, never named"
        elif not tracked.is_open:
            return f"{cl_ord_id} is open on the exchange, {tracked.status.name} in the tracker"
        elif (tracked.cum_qty, tracked.leaves_qty) != (held.cum_qty, held.leaves_qty):
            return f"{cl_ord_id}: tracker {tracked.cum_qty}/{tracked.leaves_qty}, exchange {held}"
    for tracked in tracker.open_orders():
        cl_ord_id = tracked.cl_ord_id
        if cl_ord_id not in exchange and cl_ord_id not in unknown:
            return f"{cl_ord_id} is {tracked.status.name} in the tracker, not on the exchange"
    held = h.gateway.call(lambda: h.gateway.exchange.position(SYMBOL["prediction"], "key-1"))
    if tracker.position(SYMBOL["prediction"]).net != held:
        return f"position: tracker {tracker.position(SYMBOL['prediction']).net}, exchange {held}"
    return None


async def tracker_equals_exchange(d: Driver, session: Any, h: GatewayHarness, seen: Seen) -> None:
    """Read events until the tracker equals the exchange (the reports of what was in flight at
    the fault come with the catch-up or the resend), at most `RECOVER` seconds."""
    deadline = time.monotonic() + RECOVER
    while True:
        with contextlib.suppress(TimeoutError):  # the events queued so far are seen
            await d.wait_for(session, seen(lambda e: False), 0.1)
        wrong = mismatch(h, session, seen)
        if wrong is None:
            return
        assert time.monotonic() < deadline, wrong


@ADAPTERS
@pytest.mark.parametrize("session_type", ["KalshiNR", "KalshiRT"])
@pytest.mark.parametrize("fault", FAULTS)
def test_a_session_comes_back_after_the_fault(
    adapter: str,
    session_type: str,
    fault: str,
    relayed: tuple[GatewayHarness, FaultRelay, FaultRelay],
    tmp_path: Path,
) -> None:
    h, nr, rt = relayed
    relay = nr if session_type == "KalshiNR" else rt
    endpoints = h.endpoints()
    endpoints[session_type] = Endpoint("127.0.0.1", relay.port, server_hostname="localhost")
    seen = Seen()

    async def scenario(d: Driver) -> None:
        client = d.client(
            h,
            endpoints=endpoints,
            heartbeat_interval=HEARTBEAT,
            backoff=Backoff(base=0.05, cap=0.3, attempts=None, seed=5),
            store_dir=tmp_path / "stores",
        )
        session = client.order_entry(retransmission=session_type == "KalshiRT", **SILENCE)
        async with d.opened(session):
            for n in range(2):
                placed = await d.call(session.place(order(f"rest-{n}", 5), timeout=RECOVER))
                assert placed.status is OrderStatus.NEW
            await inject(fault, d, session, relay)
            if relay.accepted > 1 or fault != "app-blocked":  # blocking's thread kept it up
                await d.wait_for(session, seen(lambda e: isinstance(e, Reconnected)), RECOVER)
            after = await d.call(session.place(order("after"), timeout=RECOVER))
            assert after.status is OrderStatus.NEW
            await tracker_equals_exchange(d, session, h, seen)
            report = await d.call(session.kill(timeout=RECOVER))
            assert report.done, report
            left = h.gateway.call(lambda: h.gateway.exchange.open_orders("key-1"))
            assert left == [], [o.cl_ord_id for o in left]

    run(adapter, scenario)
    if fault != "app-blocked":
        assert relay.accepted >= 2

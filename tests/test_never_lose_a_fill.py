"""Never lose a fill, end to end, in every adapter, against the real mock gateway over TLS.

Three ways a client misses reports, each ending with the tracker equal to the gateway (orders,
CumQty, positions, nothing counted twice) and the application told what happened:

* fills while the client is disconnected (KalshiNR has no retransmission): drop-copy catch-up
  after the reconnect;
* fills while the application stops reading events for several heartbeat intervals: the
  tracker stays current, the connection stays up, `FallingBehind` says how far behind;
* fills while the client's process is dead (``kill -9``): `restore` from its message log, then
  catch-up from the restored cursor at the first Logon.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from gateway_fixtures import GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run

from kalshi_fix_sansio import (
    Backoff,
    CatchUpComplete,
    CatchUpStarted,
    Disconnected,
    FallingBehind,
    QueuePolicy,
    Reconnected,
)
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters.blocking import FixClient as BlockingClient
from kalshi_fix_sansio.client.restore import restore
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.auth import Ed25519Signer
from kalshi_fix_sansio.trading.tracker import OrderTracker

SYMBOL = "HIGHNY-23DEC31"
BID = Decimal("0.42")  # inside the seeded book (0.40 / 0.45): rests as the best bid


def limit(cl_ord_id: str, side: Any, qty: int, price: Decimal = BID) -> Any:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=side,
        order_qty=Decimal(qty),
        ord_type=p.OrdType.LIMIT,
        price=price,
        symbol=SYMBOL,
        time_in_force=p.TimeInForce.GTC,
    )


def cross(h: GatewayHarness, prefix: str, quantities: list[int]) -> None:
    """key-2 sells into key-1's resting bid, one order per quantity, each until filled."""
    with BlockingClient(h.credentials("key-2"), **h.client_kwargs()).order_entry() as other:
        for n, qty in enumerate(quantities):
            other.place(limit(f"{prefix}-{n}", p.Side.SELL, qty), until="filled", timeout=10)


def assert_equal_to_gateway(
    h: GatewayHarness,
    tracker: OrderTracker,
    cl_ord_id: str,
    filled: int,
    position: int | None = None,
) -> None:
    """The order's CumQty / LeavesQty and the account's position agree with the gateway."""
    gateway_orders = {
        o.cl_ord_id: o for o in h.gateway.call(lambda: h.gateway.exchange.open_orders("key-1"))
    }
    order = tracker.current(cl_ord_id)
    assert order is not None
    assert order.cum_qty == filled and order.leaves_qty == 10 - filled
    assert gateway_orders[cl_ord_id].cum_qty == order.cum_qty
    assert gateway_orders[cl_ord_id].leaves_qty == order.leaves_qty
    exec_ids = [f.exec_id for f in tracker.fills]
    assert len(exec_ids) == len(set(exec_ids))  # nothing counted twice
    held = h.gateway.call(lambda: h.gateway.exchange.position(SYMBOL, "key-1"))
    assert tracker.position(SYMBOL).net == held == (filled if position is None else position)


def outage_options() -> dict[str, Any]:
    # retries forever, quickly, while the gateway refuses this key
    return {"backoff": Backoff(base=0.05, cap=0.2, attempts=None, seed=3)}


@ADAPTERS
def test_fills_while_disconnected_are_recovered_by_catch_up(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = d.client(h, **outage_options()).order_entry()
        async with d.opened(session):
            placed = await d.call(session.place(limit("rest-1", p.Side.BUY, 10)))
            assert placed.cum_qty == 0
            # the connection drops and this key cannot log on while 7 contracts fill
            h.gateway.faults.refuse_keys = frozenset({"key-1"})
            assert h.gateway.disconnect("key-1") == 1
            await d.wait_for(session, lambda e: isinstance(e, Disconnected), 10)
            cross(h, "away", [3, 2, 2])
            h.gateway.faults.refuse_keys = frozenset()
            await d.wait_for(session, lambda e: isinstance(e, Reconnected), 10)
            started = await d.wait_for(session, lambda e: isinstance(e, CatchUpStarted), 10)
            assert started.reason.startswith("reconnected")
            done = await d.wait_for(session, lambda e: isinstance(e, CatchUpComplete), 10)
            assert done.recovered == 3  # the three fills missed while down
            assert_equal_to_gateway(h, session.tracker, "rest-1", 7)

    run(adapter, scenario)


@ADAPTERS
def test_fills_while_the_application_stalls_keep_the_tracker_and_connection(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        # HeartBtInt 4 s; silence from the peer ends the connection after 4.8 s
        client = d.client(h, heartbeat_interval=4)
        session = client.order_entry(
            queue_policy=QueuePolicy(lag_warning=1.0),
            test_request_factor=0.6,
            disconnect_factor=1.2,
        )
        async with d.opened(session):
            await d.call(session.place(limit("rest-1", p.Side.BUY, 10)))
            trader = threading.Thread(target=cross, args=(h, "stall", [4, 3]))
            trader.start()
            await d.busy(6.0)  # the application reads nothing for 1.5 heartbeat intervals
            trader.join(10)
            # nobody read: the tracker is current anyway, the connection never dropped
            assert_equal_to_gateway(h, session.tracker, "rest-1", 7)
            assert session.connections == 1
            first = await d.call(session.next_event(5.0))
            assert isinstance(first, FallingBehind) and first.behind >= 1.0
            rest = []
            while (event := await d.call(session.next_event(0.5))) is not None:
                rest.append(event)
            assert not any(isinstance(e, Disconnected) for e in rest)

    run(adapter, scenario)


CHILD = textwrap.dedent(
    """
    import sys
    from decimal import Decimal
    from kalshi_fix_sansio import prediction as p
    from kalshi_fix_sansio.adapters import make_ssl_context
    from kalshi_fix_sansio.client import Endpoint
    from kalshi_fix_sansio.adapters.blocking import FixClient

    key_path, cert, port, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    client = FixClient.from_key(
        "key-1", path=key_path, ssl_context=make_ssl_context(pinned_cert=cert),
        endpoints={"KalshiNR": Endpoint("127.0.0.1", port, server_hostname="localhost")},
        message_log_path=log, heartbeat_interval=5,
    )
    with client.order_entry() as oe:
        for n in range(3):
            oe.place(p.NewOrderSingle(
                cl_ord_id=f"rest-{n}", side=p.Side.BUY, order_qty=Decimal(10),
                ord_type=p.OrdType.LIMIT, price=Decimal("0.42"), symbol="HIGHNY-23DEC31",
                time_in_force=p.TimeInForce.GTC,
            ))
        print("ready", flush=True)
        sys.stdin.read()  # until killed
    """
)


@ADAPTERS
def test_fills_while_the_process_is_dead_are_recovered_after_restore(
    adapter: str, prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway
    # a key file for the child process: key-1 signs with it from now on
    private = ed25519.Ed25519PrivateKey.generate()
    key_path = tmp_path / "key-1.pem"
    key_path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    h.gateway.keys["key-1"] = Ed25519Signer(private).public_key()
    log = tmp_path / "fix.log"
    port = h.gateway.endpoint("KalshiNR").port
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(key_path), str(h.cert), str(port), str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    finally:
        os.kill(child.pid, signal.SIGKILL)  # no Logout, nothing flushed on the way out
        child.wait(10)
    # while it is dead: rest-0 fills 10 (3 + 7), rest-1 fills 4; rest-2 stays resting
    cross(h, "dead", [3, 7, 4])
    restored = restore(log, key_id="key-1")
    assert {o.cl_ord_id for o in restored.tracker.open_orders()} == {"rest-0", "rest-1", "rest-2"}

    async def scenario(d: Driver) -> None:
        credentials = Credentials.from_key("key-1", path=key_path)
        session = d.client(h, credentials).order_entry(
            tracker=restored.tracker, cursor=restored.cursor
        )
        async with d.opened(session):
            started = await d.wait_for(session, lambda e: isinstance(e, CatchUpStarted), 10)
            assert started.reason.startswith("started from a saved cursor")
            done = await d.wait_for(session, lambda e: isinstance(e, CatchUpComplete), 10)
            assert done.recovered == 3  # rest-0's two trades and rest-1's one, missed while dead
            tracker = session.tracker
            assert tracker.current("rest-0").cum_qty == 10  # type: ignore[union-attr]
            assert tracker.current("rest-0").terminal  # type: ignore[union-attr]
            assert_equal_to_gateway(h, tracker, "rest-1", 4, position=14)
            assert_equal_to_gateway(h, tracker, "rest-2", 0, position=14)

    run(adapter, scenario)


@ADAPTERS
def test_a_loop_that_only_places_and_cancels_never_wedges(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        # nothing queued: place() and cancel() answer from the tracker, however many orders
        session = d.client(h).order_entry(queue_policy=QueuePolicy(queue_events=False))
        async with d.opened(session):
            for n in range(30):
                order = await d.call(session.place(limit(f"only-{n}", p.Side.BUY, 1), timeout=5))
                assert order.acknowledged
                cancel = p.OrderCancelRequest(
                    cl_ord_id=f"cancel-{n}",
                    orig_cl_ord_id=f"only-{n}",
                    side=p.Side.BUY,
                    symbol=SYMBOL,
                )
                done = await d.call(session.cancel(cancel, timeout=5))
                assert done.status.name == "CANCELED"
            assert session.queued_events == 0
            with pytest.raises(LocalProtocolError, match="queue_events=False"):
                await d.call(session.next_event(0))

    run(adapter, scenario)

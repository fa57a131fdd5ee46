"""The dead man's switch: the application says it is alive, or its orders come off.

* The core: `DeadMansSwitch` on a fake clock (alive keeps it armed, a missed interval fires once,
  rearm counts again), then a `Driver` over the exchange in memory (``test_driver.Harness``):
  the firing halts and sends the kill's mass cancel, with its event.
* Faults injected from outside, each against the real mock gateway over TLS, the cancels seen
  by a listener session of another key of the account (the test's eyes on the exchange):
  - blocking: the application's thread is stuck on an Event after placing orders; the
    session's own thread fires the kill;
  - asyncio and trio, a strategy hung on an await (the loop runs): the session's task fires it;
  - asyncio and trio: the loop itself is blocked (a coroutine waits on a `threading.Event`):
    nothing of the library runs, so the gateway drops the silent connection
    (TestRequest unanswered) and CancelOrdersOnDisconnect cancels; once the loop runs again
    the session reports the drop and the switch's firing;
  - a stopped process (SIGSTOP): the same, from the exchange's side only.
* A backtest (blocking, asyncio, trio): a strategy that stops calling ``alive()`` is killed
  on the simulated clock.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from test_driver import Harness

from kalshi_fix_sansio import (
    ApplicationMessage,
    DeadMansSwitch,
    DeadMansSwitchFired,
    Disconnected,
    KillFinished,
    KillStarted,
    TradingHalted,
)
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio.adapters.blocking import MarginFixClient
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.auth import Ed25519Signer
from kalshi_fix_sansio.simulator.gateway import MockGateway
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

SYMBOL = "BTC-PERP"
HEARTBEAT = 3  # margin's shortest HeartBtInt: the gateway drops a silent connection in 7.2 s
SILENCE_BOUND = 2.4 * HEARTBEAT + 5  # the gateway's drop, and slack for a loaded machine


# -- the core on a fake clock ---------------------------------------------------------------


def test_alive_keeps_it_armed_a_missed_interval_fires_once_and_rearm_counts_again() -> None:
    switch = DeadMansSwitch(2)
    assert switch.next_deadline() is None and switch.check(100.0) is None  # not armed yet
    switch.alive(0.0)  # the first alive arms it (a driver's start calls it)
    for now in (1.5, 3.0, 4.5):  # alive in time: never fires
        assert switch.check(now) is None
        switch.alive(now)
    assert switch.next_deadline() == 6.5 and switch.check(6.49) is None
    fired = switch.check(6.75)
    assert isinstance(fired, DeadMansSwitchFired) and switch.firings == 1
    assert fired.reason == "dead man's switch: no alive() for 2 s"
    assert (fired.last_alive, fired.fired_at, fired.silent_for) == (4.5, 6.75, 2.25)
    assert switch.check(9.0) is fired and switch.firings == 1  # once per firing
    switch.alive(9.0)  # alive after it fired lifts nothing
    assert switch.fired and switch.next_deadline() is None
    switch.rearm(10.0)
    assert not switch.fired and switch.next_deadline() == 12.0
    assert switch.check(12.5) is not None and switch.firings == 2
    switch.alive(5.0)  # a time before the last alive moves nothing
    assert switch.last_alive == 10.0


@pytest.mark.parametrize("interval", [0, -1, float("inf"), float("nan"), True, "5"])
def test_an_interval_that_is_not_seconds_is_refused(interval: Any) -> None:
    with pytest.raises(LocalProtocolError, match="interval must be seconds > 0"):
        DeadMansSwitch(interval)
    with pytest.raises(LocalProtocolError, match="dead_man"):
        MarginFixClient(Credentials("k", new_ed25519_keys()[0]), dead_man=interval)


def test_alive_on_a_client_without_a_switch_says_how_to_make_one() -> None:
    client = MarginFixClient(Credentials("k", new_ed25519_keys()[0]), halt_file=False)
    with pytest.raises(LocalProtocolError, match="dead_man=seconds"):
        client.alive()


def test_the_driver_kills_and_halts_when_the_application_goes_quiet() -> None:
    switch = DeadMansSwitch(3)
    h = Harness(dead_man=switch)
    switch.alive(h.now - 100)  # long ago (an earlier session): the start counts as alive
    h.start()
    assert switch.last_alive == h.now and not switch.fired
    h.driver.send(h.order("o-1", "buy", 2), h.now)
    h.pump()
    for _ in range(10):  # 20 s of an application that says it is alive every 2 s
        switch.alive(h.now)
        h.advance(2)
    assert h.driver.gate.halted is None and h.exchange.open_orders("key-1")
    deadline, last = h.driver.next_deadline(), switch.last_alive
    assert deadline is not None and last is not None and deadline <= last + 3
    h.advance_to(last + 3.5)  # then it goes quiet
    assert h.exchange.open_orders("key-1") == []  # the kill's 35=q
    assert h.driver.gate.halted == "dead man's switch: no alive() for 3 s"
    events = h.read()
    kinds = [type(e) for e in events if isinstance(e, (DeadMansSwitchFired, KillStarted))]
    assert kinds == [DeadMansSwitchFired, KillStarted]
    assert any(isinstance(e, KillFinished) and e.report.done for e in events)
    assert h.driver.metrics.snapshot().events["DeadMansSwitchFired"] == 1
    with pytest.raises(TradingHalted, match="dead man's switch"):
        h.driver.send(h.order("o-2", "buy", 1), h.now)
    h.advance(30)  # fired once: no second kill while it stays fired
    assert not [e for e in h.read() if isinstance(e, (DeadMansSwitchFired, KillStarted))]
    h.driver.rearm()  # a loop author lifts the halt and counts again from now
    switch.rearm(h.now)
    assert not switch.fired and switch.last_alive == h.now
    h.driver.send(h.order("o-3", "buy", 1), h.now)
    h.pump()
    h.advance(3.5)
    assert h.exchange.open_orders("key-1") == [] and switch.firings == 2


# -- against the mock gateway, faults from outside -----------------------------------------


class Desk:
    """A margin mock gateway over TLS; ``trader`` trades, ``watcher`` (same account) listens."""

    def __init__(self, gateway: MockGateway, keys: dict[str, ed25519.Ed25519PrivateKey]) -> None:
        self.gateway = gateway
        self.keys = keys
        self.signers = {key: Ed25519Signer(private) for key, private in keys.items()}

    def client(self, key: str = "trader", client_cls: Any = None, **options: Any) -> Any:
        options.setdefault("halt_file", False)
        options.setdefault("heartbeat_interval", HEARTBEAT)
        return self.gateway.client(key, self.signers[key], client_cls=client_cls, **options)

    def open_orders(self, key: str = "trader") -> list[str]:
        orders = self.gateway.call(lambda: self.gateway.exchange.open_orders(key))
        return sorted(o.cl_ord_id for o in orders)

    @staticmethod
    def bid(cl_ord_id: str) -> m.NewOrderSingle:
        return m.NewOrderSingle(
            cl_ord_id=cl_ord_id,
            side=m.Side.BUY,
            order_qty=Decimal(1),
            ord_type=m.OrdType.LIMIT,
            price=Decimal("19.0"),
            symbol=SYMBOL,
            time_in_force=m.TimeInForce.GTC,
        )

    def watch_cancels(self, listener: Any, cl_ord_ids: set[str], timeout: float) -> None:
        """Wait (on the listener's events) until each of ``cl_ord_ids`` is reported
        cancelled."""
        left = set(cl_ord_ids)

        def cancelled(event: Any) -> bool:
            if not isinstance(event, ApplicationMessage) or event.message.MSG_TYPE != "8":
                return False
            report: Any = event.message
            if report.ord_status == m.OrdStatus.CANCELED:
                left.discard(report.cl_ord_id)
            return not left

        listener.wait_for(cancelled, timeout=timeout)


@pytest.fixture
def desk() -> Iterator[Desk]:
    names = ("trader", "watcher", "stopped", "loop-asyncio", "loop-trio")
    keys = {key: ed25519.Ed25519PrivateKey.generate() for key in names}
    public = {key: Ed25519Signer(private).public_key() for key, private in keys.items()}
    gateway = MockGateway("margin", keys=public, tls=True, accounts={"desk": list(keys)})
    gateway.start_in_thread()
    gateway.seed_market(
        SYMBOL, bids=[(Decimal("19.4"), Decimal(25))], asks=[(Decimal("19.6"), Decimal(30))]
    )
    try:
        yield Desk(gateway, keys)
    finally:
        gateway.close()


def listening(desk: Desk) -> Any:
    """The watcher's listener session (open it with ``with``)."""
    return desk.client("watcher", heartbeat_interval=30).order_entry(
        listener_session=True, skip_pending_exec_reports=True
    )


def test_blocking_a_stuck_application_thread_is_killed_by_the_session_thread(
    desk: Desk,
) -> None:
    client = desk.client(dead_man=0.5)
    placed, stuck = threading.Event(), threading.Event()
    seen: list[Any] = []

    def strategy() -> None:  # places, says it is alive once, then hangs
        with client.order_entry() as oe:
            oe.place(desk.bid("b-1"))
            oe.place(desk.bid("b-2"))
            client.alive()
            placed.set()
            stuck.wait()  # the hang: nothing of the application runs from here
            first = oe.wait_for(lambda e: isinstance(e, DeadMansSwitchFired), timeout=5)
            seen.append(oe.wait_for(lambda e: isinstance(e, KillFinished), timeout=5))
            seen.append(oe.halt_reason)
            client.rearm()  # trading again, the switch counting from now
            seen.append(oe.place(desk.bid("b-3")).status.name)
            second = oe.wait_for(lambda e: isinstance(e, DeadMansSwitchFired), timeout=5)
            assert second is not first
            seen.append(second)
            seen.append(oe.wait_for(lambda e: isinstance(e, KillFinished), timeout=5))

    with listening(desk) as listener:
        thread = threading.Thread(target=strategy)
        thread.start()
        try:
            assert placed.wait(10)
            desk.watch_cancels(listener, {"b-1", "b-2"}, timeout=10)
            assert desk.open_orders() == []
            assert client.halted == "dead man's switch: no alive() for 0.5 s"
        finally:
            stuck.set()
            thread.join(10)
    finished, reason, status, again, second = seen
    assert finished.report.done and reason == "dead man's switch: no alive() for 0.5 s"
    assert status == "NEW" and again.fired_at > finished.report.at  # it fired again
    assert "b-3" in {cl_ord_id for cl_ord_id, _ in second.report.canceled}
    assert desk.open_orders() == []


def silent_drop_logged(desk: Desk) -> bool:
    """The gateway dropped a connection of the trader as Kalshi drops a silent one: its
    TestRequest unanswered."""
    return any("TestRequest unanswered" in line for line in desk.gateway.log)


def in_thread(run: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """``run`` in a thread of its own (an event loop's), what it raises kept."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, errors


def async_client(api: str, desk: Desk, key: str = "trader", **options: Any) -> Any:
    """A margin client of the asyncio or trio adapter for ``key``."""
    from kalshi_fix_sansio.adapters import asyncio as aio_adapter
    from kalshi_fix_sansio.adapters import trio as trio_adapter

    adapter: Any = aio_adapter if api == "asyncio" else trio_adapter
    return desk.client(key, client_cls=adapter.MarginFixClient, **options)


def run_async(api: str, main: Callable[[], Any]) -> None:
    """``main`` (a coroutine function) under ``api``'s event loop."""
    if api == "asyncio":
        asyncio.run(main())
    else:
        import trio

        trio.run(main)


async def in_worker_thread(api: str, wait: Callable[[], object]) -> None:
    """Await ``wait`` run in a worker thread: the task hangs, the loop runs."""
    if api == "asyncio":
        await asyncio.to_thread(wait)
    else:
        import trio

        await trio.to_thread.run_sync(wait)


@pytest.mark.parametrize("api", ["asyncio", "trio"])
def test_a_strategy_hung_on_an_await_is_killed_by_the_session_task(api: str, desk: Desk) -> None:
    client = async_client(api, desk, dead_man=0.5)
    placed, stuck = threading.Event(), threading.Event()
    after: list[Any] = []

    async def strategy() -> None:
        async with client.order_entry() as oe:
            await oe.place(desk.bid("h-1"))
            await oe.place(desk.bid("h-2"))
            client.alive()
            placed.set()
            await in_worker_thread(api, stuck.wait)  # hung; the loop and the session run
            first = await oe.wait_for(lambda e: isinstance(e, DeadMansSwitchFired), 10)
            after.append(await oe.wait_for(lambda e: isinstance(e, KillFinished), timeout=10))
            client.rearm()  # the switch counts from now: it fires again, nothing alive
            again = await oe.wait_for(lambda e: isinstance(e, DeadMansSwitchFired), 10)
            after.append(again.fired_at - first.fired_at)

    with listening(desk) as listener:
        thread, errors = in_thread(lambda: run_async(api, strategy))
        try:
            assert placed.wait(10), errors
            desk.watch_cancels(listener, {"h-1", "h-2"}, timeout=10)
            assert desk.open_orders() == [] and not silent_drop_logged(desk)
            assert client.halted == "dead man's switch: no alive() for 0.5 s"
        finally:
            stuck.set()
            thread.join(30)
    assert not errors, errors
    finished, between = after
    assert finished.report.done and [r.msg_type for r in finished.report.sent] == ["q"]
    assert between > 0.5  # the second firing came after the rearm, a full interval later


class BlockedLoop:
    """A strategy of ``api`` trading as ``key`` that blocks its event loop itself (a coroutine
    waits on a `threading.Event`: nothing of the library runs) once its orders rest, and reads
    what happened once the test releases it."""

    def __init__(self, api: str, desk: Desk, key: str) -> None:
        self.api, self.desk = api, desk
        self.client = async_client(api, desk, key=key, dead_man=1.0)
        self.orders = {f"{key}-1", f"{key}-2"}
        self.placed, self.stuck = threading.Event(), threading.Event()
        self.after: list[Any] = []
        self.thread, self.errors = in_thread(lambda: run_async(api, self.strategy))

    async def strategy(self) -> None:
        client, after = self.client, self.after
        async with client.order_entry() as oe:
            for cl_ord_id in sorted(self.orders):
                await oe.place(self.desk.bid(cl_ord_id))
            client.alive()  # a plain call, not awaited
            self.placed.set()
            self.stuck.wait()  # the loop itself blocked
            # once it runs again: the drop, the switch's firing and its kill, in the queue
            after.append(await oe.wait_for(lambda e: isinstance(e, Disconnected), timeout=10))
            after.append(await oe.wait_for(lambda e: isinstance(e, DeadMansSwitchFired), 10))
            after.append(await oe.wait_for(lambda e: isinstance(e, KillFinished), timeout=10))
            after.append(oe.halt_reason)

    def release(self) -> None:
        self.stuck.set()
        self.thread.join(30)


def test_blocked_asyncio_and_trio_loops_are_covered_by_cancel_orders_on_disconnect(
    desk: Desk,
) -> None:
    with listening(desk) as listener:
        loops = [BlockedLoop(api, desk, f"loop-{api}") for api in ("asyncio", "trio")]
        try:  # both at once: each waits out the gateway's drop of its silent connection
            for loop in loops:
                assert loop.placed.wait(10), loop.errors
            orders = set().union(*(loop.orders for loop in loops))
            desk.watch_cancels(listener, orders, timeout=SILENCE_BOUND)
            for key in ("loop-asyncio", "loop-trio"):
                assert desk.open_orders(key) == []
            assert silent_drop_logged(desk)
        finally:
            for loop in loops:
                loop.release()
    for loop in loops:
        assert not loop.errors, (loop.api, loop.errors)
        dropped, fired, finished, reason = loop.after
        assert isinstance(dropped, Disconnected), loop.api
        assert fired.silent_for > 2 * HEARTBEAT  # fired late: the loop could not run till then
        assert finished.report.done and reason == "dead man's switch: no alive() for 1 s"
        assert loop.client.halted == reason


CHILD = textwrap.dedent(
    """
    import sys
    from decimal import Decimal
    from kalshi_fix_sansio import margin as m
    from kalshi_fix_sansio.adapters import make_ssl_context
    from kalshi_fix_sansio.client import Endpoint
    from kalshi_fix_sansio.adapters.blocking import MarginFixClient

    key_path, cert, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = MarginFixClient.from_key(
        "stopped", path=key_path, ssl_context=make_ssl_context(pinned_cert=cert),
        endpoints={"KalshiNR": Endpoint("127.0.0.1", port, server_hostname="localhost")},
        heartbeat_interval=3, halt_file=False, dead_man=1.0,
    )
    with client.order_entry() as oe:
        for n in range(2):
            oe.place(m.NewOrderSingle(
                cl_ord_id=f"s-{n}", side=m.Side.BUY, order_qty=Decimal(1),
                ord_type=m.OrdType.LIMIT, price=Decimal("19.0"), symbol="BTC-PERP",
                time_in_force=m.TimeInForce.GTC,
            ))
            client.alive()
        print("ready", flush=True)
        sys.stdin.read()  # until stopped, then killed
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP")
def test_a_stopped_process_is_covered_by_cancel_orders_on_disconnect(
    desk: Desk, tmp_path: Path
) -> None:
    key_path = tmp_path / "stopped.pem"
    key_path.write_bytes(
        desk.keys["stopped"].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    gateway = desk.gateway
    port = gateway.endpoint("KalshiNR").port
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(key_path), str(gateway.certificate), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        with listening(desk) as listener:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            os.kill(child.pid, signal.SIGSTOP)  # nothing of the process runs from here
            desk.watch_cancels(listener, {"s-0", "s-1"}, timeout=SILENCE_BOUND)
        assert desk.open_orders("stopped") == [] and silent_drop_logged(desk)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)


# -- a backtest, on the simulated clock ------------------------------------------------------


@pytest.mark.parametrize("api", ["blocking", "asyncio", "trio"])
def test_a_backtest_strategy_that_stops_calling_alive_is_killed_on_the_simulated_clock(
    api: str,
) -> None:
    from kalshi_fix_sansio.simulator.backtest import Context, run_backtest
    from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING
    from kalshi_fix_sansio.trading.builders import ClOrdIDGenerator, Requests

    seen: dict[str, Any] = {}

    def fired(event: Any) -> bool:
        return isinstance(event, DeadMansSwitchFired)

    def finished(event: Any) -> bool:
        return isinstance(event, KillFinished)

    def start(ctx: Context) -> tuple[Any, Any]:
        orders = Requests(ctx.product, "KalshiNR", cl_ord_ids=ClOrdIDGenerator("bt-"))
        bid = orders.new_order("KXPAPER-26NOV20-B", "buy", 1, Decimal("0.01"))
        return ctx.client(dead_man=5), bid

    def end(ctx: Context, client: Any, oe: Any, bid: Any) -> None:
        seen["order"] = oe.tracker.order(bid.cl_ord_id)
        seen["halted"] = client.halted

    def blocking(ctx: Context) -> None:
        client, bid = start(ctx)
        with client.order_entry() as oe:
            oe.place(bid)
            for _ in range(6):  # 12 simulated seconds, alive every 2
                client.alive()
                with pytest.raises(TimeoutError):
                    oe.wait_for(fired, timeout=2)
            seen["quiet_from"] = ctx.simulation.time()
            seen["fired"] = oe.wait_for(fired, timeout=60)
            seen["finished"] = oe.wait_for(finished, timeout=60)
            end(ctx, client, oe, bid)

    async def awaiting(ctx: Context) -> None:
        client, bid = start(ctx)
        async with client.order_entry() as oe:
            await oe.place(bid)
            for _ in range(6):
                client.alive()
                with pytest.raises(TimeoutError):
                    await oe.wait_for(fired, timeout=2)
            seen["quiet_from"] = ctx.simulation.time()
            seen["fired"] = await oe.wait_for(fired, timeout=60)
            seen["finished"] = await oe.wait_for(finished, timeout=60)
            end(ctx, client, oe, bid)

    run_backtest(blocking if api == "blocking" else awaiting, SAMPLE_RECORDING, api=api)
    at = seen["fired"].fired_at
    assert at == pytest.approx(seen["quiet_from"] - 2 + 5, abs=0.01)  # to the simulated tick
    assert seen["finished"].report.done and seen["order"].status.name == "CANCELED"
    assert seen["halted"] == "dead man's switch: no alive() for 5 s"

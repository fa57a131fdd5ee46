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
import time
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


def sent_types(frames: list[bytes], cl_ord_id: str) -> list[str]:
    """The MsgTypes the driver wrote (``q``: a mass cancel; ``D`` of ``cl_ord_id``: that
    order)."""
    out = []
    for frame in frames:
        msg_type = frame.split(b"\x0135=", 1)[1].split(b"\x01", 1)[0].decode()
        if msg_type == "q" or (msg_type == "D" and f"\x0111={cl_ord_id}\x01".encode() in frame):
            out.append(msg_type)
    return out


def test_an_order_sent_past_the_deadline_fires_the_switch_there_and_is_refused() -> None:
    switch = DeadMansSwitch(3)
    h = Harness(dead_man=switch)
    h.start()
    h.place("o-1", "buy", 2)
    switch.alive(h.now)
    h.read()
    h.now += 3.5  # the loop did not run (no timer, no read) and the application comes back
    with pytest.raises(TradingHalted, match="dead man's switch: no alive") as refused:
        h.driver.send(h.order("o-2", "buy", 1), h.now)
    assert refused.value.reason == "dead man's switch: no alive() for 3 s"
    assert switch.fired and switch.firings == 1  # fired at once, by the send
    kinds = [type(e) for e in h.read() if isinstance(e, (DeadMansSwitchFired, KillStarted))]
    assert kinds == [DeadMansSwitchFired, KillStarted]
    h.pump()  # the kill's 35=q, queued by the firing, goes; the refused order never does
    assert sent_types(h.sent, "o-2") == ["q"] and h.exchange.open_orders("key-1") == []
    with pytest.raises(TradingHalted):  # fired once: refused again, no second firing
        h.driver.send(h.order("o-3", "buy", 1), h.now + 1)
    assert switch.firings == 1
    assert not [e for e in h.read() if isinstance(e, (DeadMansSwitchFired, KillStarted))]


@pytest.mark.parametrize("how", ["eof", "lost"])
def test_once_past_the_deadline_the_firing_comes_before_the_disconnect_read(how: str) -> None:
    switch = DeadMansSwitch(3)
    h = Harness(dead_man=switch)
    h.start()
    h.place("o-1", "buy", 2)
    h.read()
    h.now += 10  # the loop stopped; meanwhile the exchange dropped the silent connection
    if how == "eof":  # the loop's first read: the peer's close
        h.driver.receive_data(b"", h.now)
    else:  # or the socket's error
        h.driver.connection_lost(h.now, "connection reset by peer")
    kinds = [type(e) for e in h.read() if isinstance(e, (DeadMansSwitchFired, Disconnected))]
    assert kinds == [DeadMansSwitchFired, Disconnected]
    assert h.driver.gate.halted == "dead man's switch: no alive() for 3 s"


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
    def bid(cl_ord_id: str, price: str = "19.0", tif: str = "GTC") -> m.NewOrderSingle:
        return m.NewOrderSingle(
            cl_ord_id=cl_ord_id,
            side=m.Side.BUY,
            order_qty=Decimal(1),
            ord_type=m.OrdType.LIMIT,
            price=Decimal(price),
            symbol=SYMBOL,
            time_in_force=m.TimeInForce[tif],
        )

    def marketable(self, cl_ord_id: str) -> m.NewOrderSingle:
        """A buy IOC at the best ask: it fills at once if it reaches the exchange."""
        return self.bid(cl_ord_id, "19.6", "IOC")

    def key_file(self, key: str, tmp_path: Path) -> Path:
        """``key``'s private key in a PEM file (for a child process)."""
        path = tmp_path / f"{key}.pem"
        path.write_bytes(
            self.keys[key].private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    def exchange_side(self, monkeypatch: pytest.MonkeyPatch) -> ExchangeSide:
        """What the exchange receives and fills from now on."""
        return ExchangeSide(self.gateway, monkeypatch)

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


class ExchangeSide:
    """The gateway's side of a test: every application message its exchange handles (MsgType,
    ClOrdID) and the ClOrdID of every fill it makes, in order."""

    def __init__(self, gateway: MockGateway, monkeypatch: pytest.MonkeyPatch) -> None:
        self.messages: list[tuple[str, object]] = []
        self.fills: list[str] = []
        handle = gateway.exchange.handle

        def handled(session_id: str, message: Any, now: float) -> Any:
            self.messages.append((message.MSG_TYPE, getattr(message, "cl_ord_id", None)))
            return handle(session_id, message, now)

        monkeypatch.setattr(gateway.exchange, "handle", handled)
        gateway.call(lambda: gateway.exchange.fill_listeners.append(self._filled))

    def _filled(self, fill: Any) -> None:
        self.fills.append(fill.cl_ord_id)

    def mass_cancelled(self) -> bool:
        """An OrderMassCancelRequest (35=q, the kill's) arrived."""
        return any(msg_type == "q" for msg_type, _ in self.messages)

    def never_reached(self, cl_ord_id: str) -> bool:
        """No NewOrderSingle ``cl_ord_id`` arrived, and nothing of it was filled."""
        return ("D", cl_ord_id) not in self.messages and cl_ord_id not in self.fills


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


class UntilKillFinished:
    """A `wait_for` predicate that keeps the kind of every event it is shown, in order, until
    a `KillFinished`."""

    def __init__(self) -> None:
        self.kinds: list[type] = []

    def __call__(self, event: Any) -> bool:
        self.kinds.append(type(event))
        return isinstance(event, KillFinished)

    def fired_first(self) -> bool:
        """`DeadMansSwitchFired`, then its `KillStarted`, before anything of the kill's end."""
        kinds = self.kinds
        return DeadMansSwitchFired in kinds and kinds.index(DeadMansSwitchFired) < kinds.index(
            KillStarted
        )


def test_blocking_a_thread_frozen_past_the_deadline_cannot_send_when_it_runs_again(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's clock is moved past the deadline while the strategy's thread is frozen on
    an Event, before the session's own thread could wake (its wait is counted on the wall
    clock): the thread's first act, a marketable order, meets the switch first."""
    from kalshi_fix_sansio.adapters.blocking import BlockingSession

    exchange = desk.exchange_side(monkeypatch)
    skew = [0.0]

    def clock() -> float:  # the session's clock: the wall clock, moved on by the test
        return time.time() + skew[0]

    client = desk.client(heartbeat_interval=30)
    config, options = client.profile("KalshiNR", cancel_orders_on_disconnect=True)
    switch = DeadMansSwitch(5)
    go, seen = threading.Event(), UntilKillFinished()
    outcome: list[Any] = []

    def strategy() -> None:
        go.wait()  # frozen: it reads nothing and calls nothing
        try:
            outcome.append(oe.place(desk.marketable("ioc-f")))
        except TradingHalted as exc:
            outcome.append(exc)

    with BlockingSession(config, options, clock=clock, dead_man=switch) as oe:
        oe.place(desk.bid("f-1"))
        thread = threading.Thread(target=strategy)
        thread.start()
        skew[0] += 6  # six seconds go by for the session while the thread is frozen
        go.set()
        thread.join(10)
        oe.wait_for(seen, timeout=10)
    (refused,) = outcome
    assert isinstance(refused, TradingHalted), refused
    assert refused.reason == "dead man's switch: no alive() for 5 s" and seen.fired_first()
    assert exchange.never_reached("ioc-f") and exchange.mass_cancelled()
    assert desk.open_orders() == []


@pytest.mark.parametrize("api", ["asyncio", "trio"])
def test_a_loop_blocked_past_the_deadline_cannot_send_when_it_runs_again(
    api: str, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strategy blocks its loop itself (a computation that runs until the deadline has
    passed: nothing of the library runs meanwhile), then at once sends a marketable order."""
    exchange = desk.exchange_side(monkeypatch)
    client = async_client(api, desk, dead_man=0.5, heartbeat_interval=30)
    seen = UntilKillFinished()
    outcome: list[Any] = []

    async def strategy() -> None:
        async with client.order_entry() as oe:
            await oe.place(desk.bid("l-1"))
            client.alive()
            deadline = client.dead_man.next_deadline()
            while time.time() <= deadline:  # the loop blocked past the deadline
                pass
            try:
                outcome.append(await oe.place(desk.marketable("ioc-l")))
            except TradingHalted as exc:
                outcome.append(exc)
            await oe.wait_for(seen, timeout=10)

    run_async(api, strategy)
    (refused,) = outcome
    assert isinstance(refused, TradingHalted), refused
    assert refused.reason == "dead man's switch: no alive() for 0.5 s" and seen.fired_first()
    assert exchange.never_reached("ioc-l") and exchange.mass_cancelled()
    assert desk.open_orders() == []


class BlockedLoop:
    """A strategy of ``api`` trading as ``key`` that blocks its event loop itself (a coroutine
    waits on a `threading.Event`: nothing of the library runs) once its orders rest; once the
    test releases it, it sends a marketable order at once and reads what happened."""

    def __init__(self, api: str, desk: Desk, key: str) -> None:
        self.api, self.desk = api, desk
        self.client = async_client(api, desk, key=key, dead_man=1.0)
        self.orders = {f"{key}-1", f"{key}-2"}
        self.placed, self.stuck = threading.Event(), threading.Event()
        self.after: list[Any] = []
        self.key = key
        self.thread, self.errors = in_thread(lambda: run_async(api, self.strategy))

    async def strategy(self) -> None:
        client, after, key = self.client, self.after, self.key
        async with client.order_entry() as oe:
            for cl_ord_id in sorted(self.orders):
                await oe.place(self.desk.bid(cl_ord_id))
            client.alive()  # a plain call, not awaited
            self.placed.set()
            self.stuck.wait()  # the loop itself blocked
            try:  # its first act once it runs again: the switch fires on it, then refuses it
                after.append(await oe.place(self.desk.marketable(f"{key}-ioc")))
            except TradingHalted as exc:
                after.append(exc)
            # then the queue: the switch's firing and its kill, the drop, the kill's end
            seen = UntilKillFinished()
            await oe.wait_for(seen, timeout=10)
            after.append(seen.kinds)
            after.append(await oe.wait_for(lambda e: isinstance(e, DeadMansSwitchFired), 1))
            after.append(oe.halt_reason)

    def release(self) -> None:
        self.stuck.set()
        self.thread.join(30)


def test_blocked_asyncio_and_trio_loops_are_covered_by_cancel_orders_on_disconnect(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    exchange = desk.exchange_side(monkeypatch)
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
        refused, kinds, fired, reason = loop.after
        assert isinstance(refused, TradingHalted) and refused.reason == reason, refused
        # the firing first (on the order), then the drop the loop reads afterwards
        assert kinds.index(DeadMansSwitchFired) < kinds.index(Disconnected), (loop.api, kinds)
        assert fired.silent_for > 2 * HEARTBEAT  # fired late: the loop could not run till then
        assert reason == "dead man's switch: no alive() for 1 s" == loop.client.halted
        assert exchange.never_reached(f"loop-{loop.api}-ioc")


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
    key_path = desk.key_file("stopped", tmp_path)
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


SENDER = textwrap.dedent(
    """
    import asyncio
    import sys
    from decimal import Decimal
    from kalshi_fix_sansio import DeadMansSwitchFired, KillFinished, TradingHalted
    from kalshi_fix_sansio import margin as m
    from kalshi_fix_sansio.adapters import make_ssl_context
    from kalshi_fix_sansio.client import Endpoint

    api, key_path, cert, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if api == "blocking":
        from kalshi_fix_sansio.adapters.blocking import MarginFixClient
    elif api == "asyncio":
        from kalshi_fix_sansio.adapters.asyncio import MarginFixClient
    else:
        from kalshi_fix_sansio.adapters.trio import MarginFixClient
    client = MarginFixClient.from_key(
        "stopped", path=key_path, ssl_context=make_ssl_context(pinned_cert=cert),
        endpoints={"KalshiNR": Endpoint("127.0.0.1", port, server_hostname="localhost")},
        heartbeat_interval=30, halt_file=False, dead_man=1.0,
    )

    def order(cl_ord_id, price, tif):
        return m.NewOrderSingle(
            cl_ord_id=cl_ord_id, side=m.Side.BUY, order_qty=Decimal(1),
            ord_type=m.OrdType.LIMIT, price=Decimal(price), symbol="BTC-PERP",
            time_in_force=tif,
        )

    REST, IOC = order("p-1", "19.0", m.TimeInForce.GTC), order("ioc-p", "19.6", m.TimeInForce.IOC)

    def stopped():  # the test stops the process here, and sends the line before SIGCONT
        client.alive()
        print("ready", client.dead_man.next_deadline(), flush=True)
        sys.stdin.readline()

    def fired(event):
        return isinstance(event, DeadMansSwitchFired)

    def finished(event):
        return isinstance(event, KillFinished)

    def said(what):
        print(what, flush=True)

    if api == "blocking":
        with client.order_entry() as oe:
            oe.place(REST)
            stopped()
            try:
                said(f"sent {oe.place(IOC).status.name}")
            except TradingHalted as exc:
                said(f"refused {exc.reason}")
            said(f"fired {oe.wait_for(fired, timeout=10).silent_for >= 1}")
            said(f"finished {oe.wait_for(finished, timeout=10).report.done}")
    else:
        async def main():
            async with client.order_entry() as oe:
                await oe.place(REST)
                stopped()  # the loop itself blocked
                try:
                    said(f"sent {(await oe.place(IOC)).status.name}")
                except TradingHalted as exc:
                    said(f"refused {exc.reason}")
                said(f"fired {(await oe.wait_for(fired, timeout=10)).silent_for >= 1}")
                said(f"finished {(await oe.wait_for(finished, timeout=10)).report.done}")

        if api == "asyncio":
            asyncio.run(main())
        else:
            import trio

            trio.run(main)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP")
@pytest.mark.parametrize("api", ["blocking", "asyncio", "trio"])
def test_a_process_stopped_past_the_deadline_cannot_send_when_it_continues(
    api: str, desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGSTOP past the deadline, SIGCONT: the child's first act is a marketable order (its
    line already waits on its stdin)."""
    exchange = desk.exchange_side(monkeypatch)
    key_path = desk.key_file("stopped", tmp_path)
    gateway = desk.gateway
    port = gateway.endpoint("KalshiNR").port
    argv = [sys.executable, "-c", SENDER, api, str(key_path), str(gateway.certificate), str(port)]
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        ready, deadline = child.stdout.readline().split()
        assert ready == "ready"
        os.kill(child.pid, signal.SIGSTOP)  # nothing of the process runs from here
        child.stdin.write("go\n")
        child.stdin.flush()
        while time.time() <= float(deadline) + 0.2:  # stopped past its deadline
            os.sched_yield()
        os.kill(child.pid, signal.SIGCONT)
        out, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
    assert out.splitlines() == [
        "refused dead man's switch: no alive() for 1 s",
        "fired True",
        "finished True",
    ]
    assert exchange.never_reached("ioc-p") and exchange.mass_cancelled()
    assert desk.open_orders("stopped") == []


# -- a backtest, on the simulated clock ------------------------------------------------------


@pytest.mark.parametrize("api", ["blocking", "asyncio", "trio"])
def test_a_backtest_strategy_that_stops_calling_alive_is_killed_on_the_simulated_clock(
    api: str,
) -> None:
    from kalshi_fix_sansio.simulator.backtests.backtest import Context, run_backtest
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

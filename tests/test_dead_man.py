"""The dead man's switch: the application says it is alive, or its orders come off.

* The core: `DeadMansSwitch` on a fake clock (alive keeps it armed, a missed interval fires once,
  rearm counts again), then a `Driver` over the exchange in memory (``test_driver.Harness``):
  the firing halts and sends the kill's mass cancel, with its event.
* Faults injected from outside, each against the real mock gateway over TLS, the cancels seen
  by a listener session of another key of the account (the test's eyes on the exchange):
  - blocking: the application's thread is stuck on an Event after placing orders; the
    session's own thread fires the kill;
  - asyncio and trio: the loop itself is blocked (a coroutine waits on a `threading.Event`):
    nothing of the library runs, so the gateway drops the silent connection
    (TestRequest unanswered) and CancelOrdersOnDisconnect cancels; once the loop runs again
    the session reports the drop and the switch's firing;
  - a stopped process (SIGSTOP): the same, from the exchange's side only.
* A backtest: a strategy that stops calling ``alive()`` is killed on the simulated clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from test_driver import Harness

from kalshi_fix_sansio import (
    ApplicationMessage,
    DeadMansSwitch,
    DeadMansSwitchFired,
    KillFinished,
    KillStarted,
    TradingHalted,
)
from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio.adapters import Credentials
from kalshi_fix_sansio.adapters.blocking import MarginFixClient
from kalshi_fix_sansio.codec.errors import LocalProtocolError
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
    switch.arm(0.0)
    for now in (1.5, 3.0, 4.5):  # alive in time: never fires
        assert switch.check(now) is None
        switch.alive(now)
    assert switch.next_deadline() == 6.5 and switch.check(6.5) is None  # due, not past
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
    switch.arm(20.0)  # armed already: arming again moves nothing
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
    h.start()
    h.driver.send(h.order("o-1", "buy", 2), h.now)
    h.pump()
    for _ in range(10):  # 20 s of an application that says it is alive every 2 s
        switch.alive(h.now)
        h.advance(2)
    assert h.driver.gate.halted is None and h.exchange.open_orders("key-1")
    deadline = h.driver.next_deadline()
    assert deadline is not None and deadline <= switch.last_alive + 3  # type: ignore[operator]
    h.advance_to(switch.last_alive + 3.5)  # type: ignore[operator]  # then it goes quiet
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

    def __init__(self, gateway: MockGateway, signers: dict[str, Ed25519Signer]) -> None:
        self.gateway = gateway
        self.signers = signers

    def client(self, key: str = "trader", client_cls: Any = None, **options: Any) -> Any:
        options.setdefault("halt_file", False)
        options.setdefault("heartbeat_interval", HEARTBEAT)
        return self.gateway.client(key, self.signers[key], client_cls=client_cls, **options)

    def open_orders(self) -> list[str]:
        orders = self.gateway.call(lambda: self.gateway.exchange.open_orders("trader"))
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
    signers, public = {}, {}
    for key in ("trader", "watcher"):
        signers[key], public[key] = new_ed25519_keys()
    gateway = MockGateway(
        "margin", keys=public, tls=True, accounts={"desk": ["trader", "watcher"]}
    ).start_in_thread()
    gateway.seed_market(
        SYMBOL, bids=[(Decimal("19.4"), Decimal(25))], asks=[(Decimal("19.6"), Decimal(30))]
    )
    try:
        yield Desk(gateway, signers)
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
            seen.append(oe.wait_for(lambda e: isinstance(e, KillFinished), timeout=5))
            seen.append(oe.halt_reason)

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
    finished, reason = seen
    assert finished.report.done and reason == "dead man's switch: no alive() for 0.5 s"

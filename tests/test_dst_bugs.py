# private: re-introduces bugs by patching the private order desk, a tracker method and the run (`_desk`, `dst._run`)
"""The simulation finds three defects this project had, each re-introduced here behind a switch
(a monkeypatch of the fixed code back to what it did), within a stated number of runs from seed
0, and shrinks each to a short schedule that still fails. The first two are found again from
the faults of the other direction: a reset of a frame the client sends and a restart of the
gateway (the dead session), a frame of the client's garbled on the way (the resend past a kill).
A fourth switch takes the shared Logon budget from the account's sessions: found from the
`session` kind (two sessions of one account) and a drop of both. Four more show the market-data
and RFQ promises catch their defects: subscriptions not sent again after a reconnect (a stale
book), book messages fed to the books but never given to the application (dropped silently),
quotes let through a kill's halt, and a quote's fill counted twice.

* A TCP reset left a session dead for good: the driver did not answer a failed read with
  `Disconnect`, and the pump kept the reset connection (no reconnect, ever).
* A KalshiRT resend carried an order past the kill switch: an order written while Kalshi was
  not reading, then ``kill()``, then the gap: the resend put the order on the wire again.
* A fill lost across a restart before the first report: a log holding an order but no report
  restored it PENDING_NEW, silently (no `OrdersUnknown`): its fills while the process was
  down never reached the tracker, and nothing said so.

The switches patch the code that holds the fixes: the simulated pump's ``MemoryLink.lost``
(`kalshi_fix_sansio.simulator.world.simulation`), the private order desk's ``OrderDesk._logged_on``
(`kalshi_fix_sansio.client._desk`) and the order gate's ``withhold``; the fourth, the run's
``_World._account`` (`kalshi_fix_sansio.simulator.testing.dst._run`: the `Account` its clients
share).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

from kalshi_fix_sansio.client import _desk
from kalshi_fix_sansio.client.steps import Disconnect, Lost
from kalshi_fix_sansio.client.supervisor import Supervisor
from kalshi_fix_sansio.session.events import ApplicationMessage
from kalshi_fix_sansio.simulator.testing.dst import Outcome, Schedule, _run, generate, run, shrink
from kalshi_fix_sansio.simulator.world.simulation import MemoryLink
from kalshi_fix_sansio.trading import gate
from kalshi_fix_sansio.trading.catchup import CatchUpFailed
from kalshi_fix_sansio.trading.gate import OrderGate
from kalshi_fix_sansio.trading.tracker import OrderTracker

# Each proof draws short schedules from the step kinds near its defect (and the workload),
# without REST reconciliation (a REST round recovers some of what the defects lose).
NEAR_A_RESET = ("order", "fill", "kill", "rearm", "restart", "drop", "reset", "stall")
NEAR_A_RESTART = ("order", "fill", "delay", "restart")
# the faults of the client-to-gateway direction and the gateway's restart find them too
NEAR_A_CLIENT_RESET = ("order", "fill", "kill", "rearm", "client_reset")
NEAR_A_GATEWAY_RESTART = ("order", "fill", "kill", "rearm", "gateway_restart")
NEAR_A_GARBLED_ORDER = ("order", "kill", "rearm", "client_garble")
NEAR_SEVERAL_SESSIONS = ("order", "fill", "session", "drop", "maintenance", "gateway_restart")
NEAR_A_SUBSCRIPTION = ("subscribe", "unsubscribe", "order", "fill", "drop", "reset", "stall")
NEAR_A_QUOTE = ("rfq", "quote", "accept", "quote_cancel", "kill", "rearm", "order", "fill")


def reset_leaves_session_dead(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = MemoryLink.lost

    def lost(self: MemoryLink, end: object, exc: Exception | None) -> None:
        if end is self.end and exc is not None and self.end is not None:
            sup = self.end.sup
            actions = sup.step(Lost(f"read failed: {exc}"), sup.clock())
            self.perform(sup, [a for a in actions if type(a) is not Disconnect])
            self.changed(sup)
            return
        fixed(self, end, exc)  # type: ignore[arg-type]

    monkeypatch.setattr(MemoryLink, "lost", lost)


def resend_past_a_kill(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OrderGate, "withhold", lambda self, message: False)


def restart_loses_a_fill_silently(monkeypatch: pytest.MonkeyPatch) -> None:
    def logged_on(self: _desk.OrderDesk, now: float, *, reconnect: bool) -> None:
        catch_up, sup = self.catch_up, self.supervisor
        if catch_up is None or sup.session is None:
            return
        tracker = self.tracker
        begin, problem = catch_up.plan(reconnect=reconnect, orders=len(tracker) > 0)
        if problem is not None:
            self._emit(problem, now)
        self._in_flight = tuple(o.cl_ord_id for o in tracker.open_orders() if not o.acknowledged)
        if isinstance(problem, CatchUpFailed) and self._in_flight:
            self._name_in_flight(now)
        if not begin:
            return  # the defect: restored orders with no report to resume from, unnamed
        requests = self.request_replay(now, begin)
        if requests:
            self._emit(catch_up.started(requests, now), now)

    monkeypatch.setattr(_desk.OrderDesk, "_logged_on", logged_on)


def logons_not_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    """The account's sessions each on its own Logon pace (no shared `Account`): dropped
    together, they log on again within the exchange's limit of one a second."""
    monkeypatch.setattr(_run._World, "_account", lambda self: {})


def subscriptions_not_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reconnect forgets the subscriptions sent with ``resubscribe=True``: the books stay as
    the lost connection left them."""
    monkeypatch.setattr(
        Supervisor, "_send_resubscriptions", lambda self, session, now: self._resubscribe.clear()
    )


def trades_not_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 35=X carrying a trade is fed to the books but never queued for the application: the
    books are right, the message is lost without a word (in `OrderDesk.apply` and in the
    desk's book read, `OrderDesk.read_book`, which does `apply`'s book branch itself)."""
    fixed = _desk.OrderDesk.apply
    fixed_read = _desk.OrderDesk.read_book

    def has_trade(message: Any) -> bool:
        return message.MSG_TYPE == "X" and any(
            str(getattr(e.md_entry_type, "value", "")) == "2" for e in message.md_entries or ()
        )

    def apply(self: _desk.OrderDesk, event: ApplicationMessage, now: float) -> None:
        message = event.message
        if has_trade(message):
            assert self.books is not None
            self.books.apply(message)
            return
        fixed(self, event, now)

    def read_book(self: _desk.OrderDesk, event: ApplicationMessage, now: float) -> bool:
        if not has_trade(event.message):
            return fixed_read(self, event, now)
        if self.books is None or self.kill is not None or self.catch_up is not None:
            return False
        if self._waiters:
            return False
        self.books.apply(event.message)
        return True

    monkeypatch.setattr(_desk.OrderDesk, "apply", apply)
    monkeypatch.setattr(_desk.OrderDesk, "read_book", read_book)


def quotes_past_a_halt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The halt refuses orders and replaces only: a halted maker still quotes and confirms."""
    monkeypatch.setattr(gate, "HALTED_MSG_TYPES", frozenset({"D", "G"}))


def quote_fills_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fill of an order the tracker never sent (a maker's quote, named by its QuoteID)
    counted twice."""
    fixed = OrderTracker._fill

    def fill(self: OrderTracker, order: Any, v: Any, message: Any) -> None:
        fixed(self, order, v, message)
        if order.cl_ord_id.startswith("dstq-"):
            fixed(self, order, v, message)

    monkeypatch.setattr(OrderTracker, "_fill", fill)


def first_failure(kinds: tuple[str, ...], steps: int, limit: int) -> tuple[int, Outcome]:
    """The first seed from 0 whose schedule (without REST, blocking, prediction) fails: runs
    made, its outcome."""
    for seed in range(limit):
        schedule = generate(seed, steps=steps, kinds=kinds, api="blocking", product="prediction")
        outcome = run(attrs.evolve(schedule, rest=False))
        if not outcome.ok:
            return seed + 1, outcome
    raise AssertionError(f"no failure in {limit} runs")


@pytest.mark.parametrize(
    ("switch", "kinds", "steps", "within", "invariant", "needs"),
    [
        (reset_leaves_session_dead, NEAR_A_RESET, 30, 5, "session back", {"reset", "drop"}),
        (resend_past_a_kill, NEAR_A_RESET, 30, 20, "order past a kill", {"kill"}),
        (reset_leaves_session_dead, NEAR_A_CLIENT_RESET, 30, 5, "session back", {"client_reset"}),
        (
            reset_leaves_session_dead,
            NEAR_A_GATEWAY_RESTART,
            30,
            5,
            "session back",
            {"gateway_restart"},
        ),
        (resend_past_a_kill, NEAR_A_GARBLED_ORDER, 30, 60, "order past a kill", {"client_garble"}),
        (logons_not_shared, NEAR_SEVERAL_SESSIONS, 30, 20, "Logon budget exceeded", {"session"}),
        (subscriptions_not_sent_again, NEAR_A_SUBSCRIPTION, 30, 20, "book differs", {"subscribe"}),
        (trades_not_queued, NEAR_A_SUBSCRIPTION, 30, 5, "book message dropped", {"subscribe"}),
        (quotes_past_a_halt, NEAR_A_QUOTE, 30, 20, "quote past a kill", {"kill"}),
        (quote_fills_twice, NEAR_A_QUOTE, 30, 40, "fill lost or doubled", {"accept"}),
        (
            restart_loses_a_fill_silently,
            NEAR_A_RESTART,
            5,
            250,
            "open orders differ",
            {"order", "restart"},
        ),
    ],
)
def test_the_simulation_finds_a_known_defect_and_shrinks_it(
    monkeypatch: pytest.MonkeyPatch,
    switch: Callable[[pytest.MonkeyPatch], None],
    kinds: tuple[str, ...],
    steps: int,
    within: int,
    invariant: str,
    needs: set[str],
) -> None:
    switch(monkeypatch)
    runs, failed = first_failure(kinds, steps, within)
    assert (
        1 <= runs <= within
        and failed.violation is not None
        and failed.violation.invariant == invariant
    )
    small = shrink(failed)
    shown = [step.kind for step in small.schedule.steps]
    assert needs & set(shown) and len(shown) <= 6, small.schedule.text  # the fault at fault
    assert small.violation is not None and small.violation.invariant == invariant
    again = run(small.schedule)  # the shrunk schedule replays: the same bytes, the same failure
    assert (again.digest, again.violation) == (small.digest, small.violation)
    monkeypatch.undo()
    assert run(small.schedule).ok  # and passes with the defect fixed again
    assert run(failed.schedule).ok


# A fill made while the process is down, of an order whose first report never arrived: with
# the defect the restarted client holds the order PENDING_NEW and position 0, silently.
FILL_WHILE_DOWN = "1:KalshiNR:norest:0delay,50,10;0.1order,1,5,45;0.1fill,2,5,45;0.1restart"


def test_a_fill_lost_across_a_restart_is_a_broken_promise(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(Schedule.parse(FILL_WHILE_DOWN)).ok  # named OrdersUnknown: nothing promised
    restart_loses_a_fill_silently(monkeypatch)
    violation = run(Schedule.parse(FILL_WHILE_DOWN)).violation
    assert violation is not None and violation.invariant == "fill lost or doubled"
    assert violation.detail == "the client's position is 0, the exchange's 5"

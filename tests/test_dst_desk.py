# private: re-introduces bugs in the kill switch, the gate, the event book and the inbound numbers
"""The desk's promises (`kalshi_fix_sansio.simulator.testing.dst._promises`, and the sequence
numbers: a gap fill read moves the client to its NewSeqNo, both sides in step at the end) each
catch their defect: each defect is re-introduced behind a switch (a monkeypatch of the code that
holds the rule), a schedule drawn from the step kinds near it fails within a stated number of
seeds from 0 with that promise named, and the same seeds pass with the code as it is. The
schedules the CI smoke run draws (every kind) find each within a few dozen seeds too.

* a kill on KalshiRT that sends no cancel and reports done (orders rest, and fill, after it);
* reduce-only that lets everything through (the check skipped);
* an event limit off by a dollar;
* an unknown order outcome that does not block its market (the gate's lookup misses it);
* a SequenceReset-GapFill that moves the receiver one number on, not to its NewSeqNo;
* an order gate that does not compare an order's time with the dead man's deadline (an
  application that hung sends before the switch's timer ran).

Each defect is put back in the private module that holds its rule: `_inbound` (the session's
inbound numbers), `_eventrisk` (the event book), `_tradingstate` (reduce-only and the
unknown outcomes) and the gate's watched switch (``OrderGate._dead_man``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest

from kalshi_fix_sansio.session import _inbound
from kalshi_fix_sansio.simulator.testing.dst import DESK_KINDS, KINDS, Outcome, generate, run
from kalshi_fix_sansio.trading import _eventrisk, _tradingstate, gate, killswitch


def kill_reports_done_without_cancelling(monkeypatch: pytest.MonkeyPatch) -> None:
    """KalshiRT's kill (no mass cancel there) done at once: no OrderCancelRequest sent."""
    fixed = killswitch.KillSwitch.done

    def done(self: killswitch.KillSwitch) -> bool:
        return self.session.endswith("KalshiRT") or bool(fixed.fget(self))  # type: ignore[attr-defined]

    monkeypatch.setattr(killswitch.KillSwitch, "done", property(done))


def reduce_only_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reduce-only rule judges every order as one that shrinks the position."""
    monkeypatch.setattr(_tradingstate.TradingStateRules, "_shrinks", lambda self, *args: True)


def event_limit_off_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """An order is refused only when it takes the event's worst outcome a dollar past its limit."""

    def check(
        self: _eventrisk.EventBook,
        symbol: str,
        side_buy: bool,
        cost: Decimal,
        chain_cost: Decimal,
        refuse: Any,
    ) -> None:
        event = self.event_of.get(symbol)
        if event is None:
            return
        grows = max(cost, chain_cost) - chain_cost
        if grows <= 0:
            return
        before, _ = self.worst(event)
        extra = {"extra_no": grows} if side_buy else {"extra_yes": grows}
        after, _ = self.worst(event, symbol, **extra)
        limit = self.events[event].max_worst_loss
        if after > limit + 1 and after > before:
            refuse("max_worst_loss", limit, after, f"event {event} past its limit")

    monkeypatch.setattr(_eventrisk.EventBook, "check", check)


def unknown_outcome_not_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's lookup of why a market is blocked misses the unknown orders."""
    monkeypatch.setattr(_tradingstate.UnknownOutcomes, "why", lambda self, symbol: None)


def dead_man_not_rechecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order gate does not compare a message's time with the dead man's deadline: an
    order sent past it before the switch's timer ran goes out."""
    fixed = gate.OrderGate.admit

    def admit(self: gate.OrderGate, message: Any, msg_type: str, now: float) -> str | None:
        watched, self._dead_man = self._dead_man, gate._UNWATCHED
        try:
            return fixed(self, message, msg_type, now)
        finally:
            self._dead_man = watched

    monkeypatch.setattr(gate.OrderGate, "admit", admit)


def gap_fill_not_advancing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SequenceReset-GapFill in turn moves the receiver to MsgSeqNum + 1, not to NewSeqNo."""
    fixed = _inbound.Inbound._process

    def process(self: Any, msg: Any, mt: str, seq: int, poss_dup: bool, frame: bytes) -> None:
        fixed(self, msg, mt, seq, poss_dup, frame)
        if mt == "4" and msg.gap_fill_flag is True and msg.new_seq_no > seq:
            self.store.set_next_target_seq(seq + 1)

    monkeypatch.setattr(_inbound.Inbound, "_process", process)


def _schedule(seed: int, kinds: tuple[str, ...], session_type: str | None) -> Any:
    schedule = generate(seed, steps=20, kinds=kinds, api="blocking", product="prediction")
    schedule = attrs.evolve(schedule, rest=False)
    if session_type is not None:
        schedule = attrs.evolve(schedule, session_type=session_type)
    return schedule


def first_failure(
    kinds: tuple[str, ...], session_type: str | None, limit: int
) -> tuple[int, Outcome]:
    """The first seed from 0 whose schedule fails: the seeds run, its outcome."""
    for seed in range(limit):
        outcome = run(_schedule(seed, kinds, session_type))
        if not outcome.ok:
            return seed + 1, outcome
    raise AssertionError(f"no failure in {limit} runs")


NEAR_A_KILL = ("order", "fill", "kill", "rearm")
NEAR_REDUCE_ONLY = ("order", "fill", "reduce_only", "rearm", "cancel")
NEAR_AN_EVENT_LIMIT = ("order", "fill", "event_limit", "cancel", "replace")
NEAR_A_GAP = ("order", "fill", "gap", "client_garble")
NEAR_AN_UNKNOWN_OUTCOME = ("order", "fill", "ioc_lost", "cancel")
NEAR_A_HANG = ("order", "fill", "hang", "rearm")
UNKNOWN = "order past an unknown outcome"


@pytest.mark.parametrize(
    ("switch", "kinds", "session_type", "within", "invariant"),
    [
        (
            kill_reports_done_without_cancelling,
            NEAR_A_KILL,
            "KalshiRT",
            5,
            "order rests after a kill",
        ),
        (reduce_only_skipped, NEAR_REDUCE_ONLY, None, 5, "position grown while reduce-only"),
        (event_limit_off_by_one, NEAR_AN_EVENT_LIMIT, None, 5, "event limit exceeded"),
        # the restarted program's order at once, while the gateway still holds its answers
        (unknown_outcome_not_blocking, NEAR_AN_UNKNOWN_OUTCOME, "KalshiNR", 5, UNKNOWN),
        (gap_fill_not_advancing, NEAR_A_GAP, "KalshiRT", 5, "sequence numbers out of step"),
        (dead_man_not_rechecked, NEAR_A_HANG, None, 5, "order past the dead man's switch"),
    ],
)
def test_a_desk_promise_catches_its_defect(
    monkeypatch: pytest.MonkeyPatch,
    switch: Callable[[pytest.MonkeyPatch], None],
    kinds: tuple[str, ...],
    session_type: str | None,
    within: int,
    invariant: str,
) -> None:
    switch(monkeypatch)
    runs, failed = first_failure(kinds, session_type, within)
    assert failed.violation is not None and failed.violation.invariant == invariant, (
        failed.violation,
        failed.schedule.text,
    )
    monkeypatch.undo()
    for seed in range(runs):  # the same seeds pass with the code as it is
        outcome = run(_schedule(seed, kinds, session_type))
        assert outcome.ok, (outcome.violation, outcome.schedule.text)


@pytest.mark.parametrize(
    ("switch", "within", "invariants"),
    [
        (kill_reports_done_without_cancelling, 10, {"order rests after a kill"}),
        # the reduce-only rule is the unknown outcome's too: skipped, either promise breaks
        (
            reduce_only_skipped,
            25,
            {"position grown while reduce-only", "order past an unknown outcome"},
        ),
        (event_limit_off_by_one, 40, {"event limit exceeded"}),
        (unknown_outcome_not_blocking, 30, {"order past an unknown outcome"}),
        # a gap fill misread may first leave the client's orders wrong (its reports skipped)
        (gap_fill_not_advancing, 15, {"sequence numbers out of step", "open orders differ"}),
    ],
)
def test_the_smoke_runs_schedules_find_each_defect(
    monkeypatch: pytest.MonkeyPatch,
    switch: Callable[[pytest.MonkeyPatch], None],
    within: int,
    invariants: set[str],
) -> None:
    """Schedules of every kind, as ``kalshi-fix simulate --seeds 0:1000`` draws them (each
    seed's own API and product, REST as drawn)."""
    switch(monkeypatch)
    for seed in range(within):
        outcome = run(generate(seed))
        if not outcome.ok:
            break
    assert outcome.violation is not None, f"no failure in {within} seeds"
    assert outcome.violation.invariant in invariants, outcome.violation
    monkeypatch.undo()
    assert run(outcome.schedule).ok


def test_a_schedule_of_every_kind_reaches_the_desk_states() -> None:
    """One schedule in three drawn from every kind gets two to four of the desk's steps in
    place of others; the rest of the seed's schedule is what it was without them."""
    others = [k for k in KINDS if k not in DESK_KINDS]
    with_desk = 0
    for seed in range(30):
        full, base = generate(seed), generate(seed, kinds=others)
        changed = [a for a, b in zip(full.steps, base.steps, strict=True) if a != b]
        assert all(step.kind in DESK_KINDS for step in changed)
        assert attrs.evolve(full, steps=base.steps) == base
        with_desk += bool(changed)
        assert not changed or 2 <= len(changed) <= 4
    assert 5 <= with_desk <= 15

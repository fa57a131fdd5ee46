"""The kill switch and the outside halt of `kalshi_fix_sansio.client.driver.Driver` (its
methods; private).

`kill` cancels every open order of the session by the fastest documented means and keeps the
`KillSwitch` current as the answers are read; the halt source (a client's `HaltFile`, the halt
of ``kalshi-fix kill``) is asked on the driver's timer, and a halt that begins while the
session runs starts a kill of its orders; so does the dead man's switch (`DeadMansSwitch`)
when the application stops calling ``alive``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..codec.errors import LocalProtocolError
from ..session.events import Event
from ..trading.catchup import CatchUp
from ..trading.deadman import DeadMansSwitch
from ..trading.gate import OrderGate, TradingHalt
from ..trading.killswitch import (
    DEFAULT_FALLBACK_AFTER,
    HaltSource,
    KillReport,
    KillSwitch,
    OutsideHalt,
    cancels_orders,
)
from ..trading.tracker import OrderTracker
from .steps import Kill

if TYPE_CHECKING:
    import logging

    from ..session.config import SessionConfig
    from ._desk import OrderDesk
    from .supervisor import Supervisor


FIRST_LOOK: Final = object()
"""``Driver._release_seen`` before an open's first look at the halt source: a request to
release unknown outcomes already there is older than the session, so not for it."""


class KillDriving:
    """`Driver`'s kill switch, halt source and dead man's switch (it sets the attributes below
    and has ``_emit``)."""

    config: SessionConfig
    gate: OrderGate
    tracker: OrderTracker
    desk: OrderDesk
    supervisor: Supervisor
    catch_up: CatchUp | None
    halt_source: HaltSource | None
    outside_halt: TradingHalt | None
    dead_man: DeadMansSwitch | None
    _halt_due: float | None
    _release_seen: object
    _dead_man_seen: int
    name: str
    logger: logging.Logger
    _log_fields: dict[str, str]
    lock: Any
    clock: Callable[[], float]

    def _emit(self, event: Event, now: float) -> None:  # pragma: no cover - the driver's
        raise NotImplementedError

    def ended(self) -> bool:  # pragma: no cover - the driver's
        raise NotImplementedError

    def closed_error(self) -> Exception:  # pragma: no cover - the driver's
        raise NotImplementedError

    def _arm_dead_man(self, dead_man: DeadMansSwitch | None) -> None:
        if dead_man is not None and not isinstance(dead_man, DeadMansSwitch):
            raise LocalProtocolError(f"dead_man must be a DeadMansSwitch, got {dead_man!r}")
        self.dead_man = dead_man
        """The `DeadMansSwitch` asked on the timer, before a read's or a lost connection's
        events, and by the gate on every order-creating message (None: none)."""
        self._dead_man_seen = 0 if dead_man is None else dead_man.firings  # acted upon
        if dead_man is not None:  # a message sent past the deadline fires it there and then
            self.gate.watch(dead_man, self._check_dead_man)

    def kill_report(self, kill: KillSwitch) -> KillReport:
        """The report of ``kill`` now (a note when the session ended before it was done)."""
        with self.lock:
            report = kill.report(self.clock())
        if not report.done and self.ended():
            why = self.closed_error()
            report = attrs.evolve(report, notes=(*report.notes, f"the session ended: {why}"))
        return report

    def kill(
        self,
        now: float,
        *,
        halt: bool = True,
        use_groups: bool = True,
        fallback_after: float = DEFAULT_FALLBACK_AFTER,
        confirm: bool | None = None,
    ) -> KillSwitch:
        """Cancel every open order of this session by the fastest documented means
        (`kalshi_fix_sansio.trading.killswitch`): what can be sent now is sent now; the driver then
        keeps the returned `KillSwitch` current as the answers are read, sends its follow-ups
        (and, if the connection is down, what it could not send, after the reconnect) until
        ``kill_switch.done``. ``kill_switch.report(now)`` says where it is.

        Args:
            now: the current time.
            halt: also refuse new orders and replaces (`TradingHalted`) until `rearm`.
            use_groups: trigger order groups where 35=q is not available (KalshiRT).
            fallback_after: see `kalshi_fix_sansio.trading.killswitch.DEFAULT_FALLBACK_AFTER`.
            confirm: once the tracker shows nothing open, confirm it with a drop-copy replay
                from the cursor (EventResendRequest; an order it reveals open is cancelled
                too); None: when the session catches up (KalshiNR with ``catch_up`` on).

        Returns:
            The kill switch under way: pressing it again while one is under way returns that
            one (halting again if ``halt``); after one ended, a new one starts. A
            `KillStarted` event says it began, a `KillFinished` (with its report) that it
            ended.

        Raises:
            LocalProtocolError: ``confirm=True`` on a session that cannot request a replay.
        """
        can_confirm = self.catch_up is not None and self.catch_up.enabled
        if confirm and not can_confirm:
            raise LocalProtocolError(
                f"confirm=True: {self.config.session_type} ({self.config.product}) cannot ask "
                "the drop copy to confirm (a KalshiNR session with catch_up on can)"
            )
        if halt:
            self.gate.halt("the kill switch")
        kill = self.desk.kill
        if kill is not None and kill.finished_at is None:
            return kill  # pressed again: the kill under way goes on
        kill = KillSwitch(
            self.config,
            self.tracker,
            now,
            use_groups=use_groups,
            fallback_after=fallback_after,
            halted=self.gate.halted is not None,
            halt_reason=self.gate.halted,
            confirm=can_confirm if confirm is None else confirm,
        )
        self.desk.start_kill(kill, now)
        return kill

    def _kill_fact(self, fact: Kill, now: float) -> None:
        fallback = DEFAULT_FALLBACK_AFTER if fact.fallback_after is None else fact.fallback_after
        fact.switch = self.kill(
            now,
            halt=fact.halt,
            use_groups=fact.use_groups,
            fallback_after=fallback,
            confirm=fact.confirm,
        )

    def _ask_halt_source(self, now: float, *, started: bool = True) -> None:
        """Ask the halt source; a new answer becomes the outside halt (an `OutsideHalt`
        event), and a halt that begins while the session runs starts a kill of its orders.
        A source that fails halts (fail-closed), the reason naming the error."""
        source, outside = self.halt_source, self.outside_halt
        assert source is not None and outside is not None
        if self.supervisor.finished:
            self._halt_due = None
            return
        self._halt_due = now + source.interval
        self._ask_release(source)
        try:
            reason = source.poll(now)
        except Exception as exc:  # the source's own failure must not stop the session
            reason = f"halted: the halt source failed ({type(exc).__name__}: {exc})"
        if reason is not None and not isinstance(reason, str):
            reason = f"halted: the halt source answered {reason!r}"
        reducing = reason is not None and getattr(source, "reducing", False) is True
        before = outside.reason
        if (reason, reducing) == (outside.guard, outside.reducing is not None):
            return
        if reason is None:
            outside.rearm()
        elif reducing:  # reduce-only from outside: the gate judges each order, nothing cancelled
            outside.reduce_only(reason)
            reason = None
        else:
            outside.halt(reason)
        if reason != before:
            self._emit(OutsideHalt(reason), now)
        if reason is not None and before is None and started and cancels_orders(self.config):
            self.kill(now, halt=False)

    def _ask_release(self, source: HaltSource) -> None:
        """A new request from the shell to lift the block of unknown order outcomes
        (``kalshi-fix release-unknown``: `HaltFile.release_request`) is applied as
        ``release_unknown()`` is; the open's first look only remembers what is there."""
        ask = getattr(source, "release_request", None)
        if ask is None:
            return
        try:
            request = ask()
        except Exception:  # a request that cannot be read releases nothing
            return
        stamp = None if request is None else request[0]
        seen, self._release_seen = self._release_seen, stamp
        if request is None or seen is FIRST_LOOK or stamp == seen:
            return
        released = self.gate.release_unknown(request[1])
        if released:
            self.logger.warning(
                "%s: unknown order outcomes released from the shell in %s",
                self.name,
                ", ".join(released),
                extra={**self._log_fields, "event": "release_unknown"},
            )

    def _check_dead_man(self, now: float) -> None:
        """Ask the dead man's switch: at a new firing, halt (the halt shared with the client's
        other sessions if any, else this gate's own) and start a kill of this session's
        orders, with a `DeadMansSwitchFired` event (once per firing). The timer, a read, a
        lost connection and the gate (an order-creating message at or past the deadline)
        call it: the firing comes before anything else of that input."""
        switch = self.dead_man
        assert switch is not None
        if self.supervisor.finished:
            return
        fired = switch.check(now)
        if fired is None or self._dead_man_seen == switch.firings:
            return
        self._dead_man_seen = switch.firings
        gate = self.gate
        (gate.own_halt if gate.shared_halt is None else gate.shared_halt).halt(fired.reason)
        self._emit(fired, now)
        if cancels_orders(self.config):
            self.kill(now, halt=False)

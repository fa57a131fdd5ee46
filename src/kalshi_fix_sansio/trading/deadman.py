"""A dead man's switch (sans-IO): the application says it is alive, or its orders come off.

CancelOrdersOnDisconnect (8013) covers a connection that ends; a strategy that hangs while its
connection stays up keeps its orders live. A `DeadMansSwitch` is the application-level stop:
the application declares an ``interval`` and calls `DeadMansSwitch.alive` (a client's
``alive()``) more often than that; when ``now >= last_alive + interval`` the switch fires, once,
and every `Driver <kalshi_fix_sansio.client.driver.Driver>` that holds it starts its kill: the
same kill as ``kill()`` (a mass cancel, order-group triggers or cancels, followed to the
exchange's answers), with the halt, the reason ``"dead man's switch: no alive() for N s"``, a
`DeadMansSwitchFired` event (logged at WARNING, counted in the session's metrics) and its
`KillStarted` / `KillFinished`.

The switch reads no clock: every call takes ``now`` (the driver's clock: the wall clock live,
the simulated clock in a simulation or a backtest). A driver asks it on its own timer
(`next_deadline`), and its order gate compares the ``now`` of every order-creating message
with `deadline` (one comparison): a message sent at or past it fires the switch at once, so
an application that was stopped past its deadline cannot send before the halt. One switch may
be shared by several drivers (a client's order-entry sessions): each acts once per firing
(`firings`). It stays fired until `rearm`.
"""

from __future__ import annotations

import math

import attrs

from ..codec.errors import LocalProtocolError
from ..session.events import Event

__all__ = ["DeadMansSwitch", "DeadMansSwitchFired"]


@attrs.frozen(slots=True, repr=False)
class DeadMansSwitchFired(Event):
    """The dead man's switch fired on a session: no ``alive()`` for ``interval`` seconds. The
    session's kill starts with it (`KillStarted`), and new orders are refused
    (`TradingHalted`, with ``reason``) until ``rearm()`` (logged at WARNING).

    Attributes:
        reason: ``"dead man's switch: no alive() for N s"``.
        interval: the switch's interval, in seconds.
        last_alive: when ``alive()`` was last called (or a session started).
        fired_at: when the switch fired (the driver's ``now``: late by as long as its loop
            could not run).
    """

    reason: str
    interval: float
    last_alive: float
    fired_at: float

    @property
    def silent_for(self) -> float:
        """Seconds from the last ``alive()`` to the firing."""
        return self.fired_at - self.last_alive

    def __repr__(self) -> str:
        return f"DeadMansSwitchFired({self.reason}; fired {self.silent_for:.3f} s after it)"


class DeadMansSwitch:
    """The application's heartbeat to its own sessions (see the module docstring).

    Args:
        interval: seconds the application may go without `alive` (> 0, finite).

    Raises:
        LocalProtocolError: ``interval`` is not a number of seconds > 0.
    """

    __slots__ = ("_fired", "_last", "deadline", "firings", "interval")

    def __init__(self, interval: float) -> None:
        if (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or not 0 < interval < math.inf
        ):
            raise LocalProtocolError(
                f"dead man's switch: interval must be seconds > 0, got {interval!r}"
            )
        self.interval = float(interval)
        """Seconds the application may go without `alive`."""
        self._last: float | None = None  # the last alive; None: not armed
        self._fired: DeadMansSwitchFired | None = None  # the firing under way
        self.deadline = math.inf
        """When it fires (``last_alive + interval``), or fired, until `rearm`; ``math.inf``:
        not armed. A gate compares a message's ``now`` with it (one comparison)."""
        self.firings = 0
        """How many times it fired (a driver acts once per firing)."""

    def __repr__(self) -> str:
        state = (
            "not armed"
            if self._last is None
            else f"fired at {self._fired.fired_at}"
            if self._fired is not None
            else f"due at {self._last + self.interval}"
        )
        return f"DeadMansSwitch(interval={self.interval:g}, {state})"

    @property
    def reason(self) -> str:
        """The halt's reason when it fires."""
        return f"dead man's switch: no alive() for {self.interval:g} s"

    @property
    def last_alive(self) -> float | None:
        """When `alive` was last called (None: never, not armed yet)."""
        return self._last

    @property
    def fired(self) -> bool:
        """It fired and was not re-armed since."""
        return self._fired is not None

    def alive(self, now: float) -> None:
        """The application is alive at ``now``: the deadline moves to ``now + interval``
        (the first call arms it; a driver calls it at its start: opening a session is the
        application's act). After a firing it lifts nothing: `rearm` does."""
        last = self._last
        if last is None or now > last:
            self._last = now
            if self._fired is None:  # a firing keeps its deadline until `rearm`
                self.deadline = now + self.interval

    def rearm(self, now: float) -> None:
        """Count again from ``now`` after a firing (the halt is lifted by its owner)."""
        self._fired = None
        self._last = now
        self.deadline = now + self.interval

    def next_deadline(self) -> float | None:
        """When it fires unless `alive` is called (None: not armed, or fired)."""
        if self._fired is not None or self._last is None:
            return None
        return self.deadline

    def check(self, now: float) -> DeadMansSwitchFired | None:
        """Fire if ``now`` is at or past the deadline: the `DeadMansSwitchFired` of the firing
        under way (this one or one before, until `rearm`), else None."""
        fired = self._fired
        if fired is not None:
            return fired
        last = self._last
        if last is None or now < self.deadline:
            return None
        self._fired = fired = DeadMansSwitchFired(self.reason, self.interval, last, now)
        self.firings += 1
        return fired

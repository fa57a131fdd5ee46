"""The driver's contract with an event loop: facts in, actions out (sans-IO).

A loop (the blocking, asyncio and trio adapters, the mock gateway's connections, or a loop of
your own) drives a driver through one call, ``driver.step(fact, now) -> actions``:

* a **fact** is something that happened on the loop's side: the loop started the driver
  (`START`), a connection opened (`CONNECTED`) or could not be opened (`ConnectFailed`),
  bytes were read (`Received`; ``b""``: the peer closed), the connection broke (`Lost`), the
  write buffer holds bytes the peer has not taken (`Buffered`), the loop woke (`WOKE`), the
  application sends a message (`Send`), closes (`CLOSE`) or presses the kill switch (`Kill`);
* an **action** is what the loop must do next, in the order given: open a connection
  (`CONNECT`), write bytes (`Write`), close the connection (`Disconnect`), be woken at a
  deadline at the latest (`WakeAt`), stop (`FINISHED`).

``now`` is the driver's clock (UTC epoch seconds): the driver reads no clock and does no I/O.
A step that has nothing for the loop to do returns an empty tuple. What a loop must do for
each action is the table on the maintainers' architecture page; the facts and actions are
plain objects, compared by class (``action.__class__ is Write``).

`Agenda` keeps, for a loop, the actions that are for later (when to wake, whether to connect,
whether it is finished), so that a loop performs only its I/O actions (`Write`, `Disconnect`)
at once. `Pump` is what a driver that lives across connections calls of the loop's part
that performs its actions (a driver driven by hand has `NO_PUMP`).

A `Send` and a `Kill` also carry their result once stepped (``send.seq``, ``send.delay``,
``kill.switch``); a refusal (`TradingHalted`, `RiskLimitExceeded`, `RateLimitExceeded`,
`TransportError`, ...) is raised from ``step``, as from the method it stands for; a `Send` that
fails because the message store cannot write ends the session, so its ``step`` returns the
actions that end the connection and leaves the error on ``send.error``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

from ..codec.errors import LocalProtocolError

if TYPE_CHECKING:
    from ..codec import Message
    from ..session.store import StoreError
    from ..trading.killswitch import KillSwitch

__all__ = [
    "CLOSE",
    "CONNECT",
    "CONNECTED",
    "FINISHED",
    "NO_PUMP",
    "START",
    "WOKE",
    "Action",
    "Agenda",
    "Buffered",
    "Close",
    "Connect",
    "ConnectFailed",
    "Connected",
    "Disconnect",
    "Fact",
    "Finished",
    "Kill",
    "Lost",
    "Pump",
    "Received",
    "Send",
    "Start",
    "WakeAt",
    "Woke",
    "Write",
]


def _repr(obj: object) -> str:
    names: tuple[str, ...] = getattr(type(obj), "__slots__", ())
    fields = ", ".join(f"{name}={getattr(obj, name)!r}" for name in sorted(names))
    return f"{type(obj).__name__}({fields})"


class Fact:
    """Something that happened on the loop's side (see the module docstring)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return _repr(self)


class Start(Fact):
    """The loop begins: the first connection is due at once (an acceptor: the connection
    was accepted, its session waits for the Logon)."""

    __slots__ = ()


class Connected(Fact):
    """The connection the driver asked for (`Connect`) is open (TCP and TLS)."""

    __slots__ = ()


class ConnectFailed(Fact):
    """Opening the connection failed with ``error`` (a `ConnectionFailed` names it, once no
    more attempts are allowed)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Received(Fact):
    """Bytes read from the connection; ``b""``: the peer closed it."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Lost(Fact):
    """The connection broke (a read or write failed); ``reason`` is reported as is. The
    driver answers `Disconnect` (``abort``) for a connection it held: the loop closes the
    socket then, as for every other end of a connection."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Buffered(Fact):
    """The loop's write buffer holds ``size`` bytes the peer has not taken (0: all written):
    the driver's slow-peer verdict (too many bytes, or bytes waiting too long) may lose the
    connection (`Disconnect` with ``abort``)."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


class Woke(Fact):
    """The loop is awake: its `WakeAt` deadline came, or it was woken, or it touched the
    driver otherwise (the gateway's exchange sent on it). What is due fires."""

    __slots__ = ()


class Send(Fact):
    """Send an application message (the driver's ``send``: the order gate, the tracker).

    Args:
        message: a message of the session's dialect.
        resubscribe: send it again after every reconnect (market-data subscriptions).
        paced: when the rate limiter cannot take it now, send nothing and say how long to
            wait (``delay``) instead of raising `RateLimitExceeded`.

    Attributes:
        seq: its MsgSeqNum once sent (None: not sent, see ``delay`` and ``error``).
        delay: seconds until the rate limiter can take it (``paced`` only; 0.0: sent).
        error: the `StoreError` that kept it from being sent (a KalshiRT / KalshiPT store
            that cannot write): the session ended with it, so `step` returns what the loop
            must do about that (close the connection, finish) instead of raising; raise it
            to the application once they are done. None: no such failure.
    """

    __slots__ = ("delay", "error", "message", "paced", "resubscribe", "seq")

    def __init__(self, message: Message, resubscribe: bool = False, paced: bool = False) -> None:
        self.message, self.resubscribe, self.paced = message, resubscribe, paced
        self.seq: int | None = None
        self.delay = 0.0
        self.error: StoreError | None = None


class Close(Fact):
    """Log out (if logged on), then close; idempotent."""

    __slots__ = ()


class Kill(Fact):
    """Press the kill switch (the driver's ``kill``, with its options); ``switch`` is the
    `KillSwitch` under way once stepped."""

    __slots__ = ("confirm", "fallback_after", "halt", "switch", "use_groups")

    def __init__(
        self,
        *,
        halt: bool = True,
        use_groups: bool = True,
        fallback_after: float | None = None,
        confirm: bool | None = None,
    ) -> None:
        self.halt, self.use_groups, self.confirm = halt, use_groups, confirm
        self.fallback_after = fallback_after
        self.switch: KillSwitch | None = None


class Action:
    """What the loop must do next (see the module docstring)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return _repr(self)


class Connect(Action):
    """Open a connection now (TCP, then TLS), then step `CONNECTED` or `ConnectFailed`."""

    __slots__ = ()


class Write(Action):
    """Write ``data`` to the connection, after what waits in the write buffer; when bytes
    are left waiting, step `Buffered` with how many."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Disconnect(Action):
    """Close the connection: the driver is done with it. ``abort``: the connection counts as
    lost, drop what waits in the write buffer; else write what waits first, if the loop
    can without waiting."""

    __slots__ = ("abort",)

    def __init__(self, abort: bool) -> None:
        self.abort = abort


class WakeAt(Action):
    """Step `WOKE` at ``deadline`` (the driver's clock) at the latest, replacing a later wake-up
    armed before: a loop asleep past it must be woken. Told again only when it moves sooner
    or after the loop woke."""

    __slots__ = ("deadline",)

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline


class Finished(Action):
    """Nothing more will happen (closed or failed: the driver's ``failure`` says which): the
    loop ends."""

    __slots__ = ()


START: Final = Start()
"""The `Start` fact (it carries nothing: one object serves every driver)."""
CONNECTED: Final = Connected()
"""The `Connected` fact."""
WOKE: Final = Woke()
"""The `Woke` fact."""
CLOSE: Final = Close()
"""The `Close` fact."""
CONNECT: Final = Connect()
"""The `Connect` action (compare with ``is``)."""
FINISHED: Final = Finished()
"""The `Finished` action (compare with ``is``)."""


class Pump(Protocol):
    """What a driver calls of the pump that performs its actions (an adapter's: the blocking,
    asyncio, trio or in-memory one). The driver is given a factory and makes its pump
    itself (``Driver(..., pump=factory)``); it calls the pump, and the pump writes into no
    field of the driver (it tells it: `Driver.pump_failed`, `pump_ended`, `pump_closed`)."""

    @property
    def lock(self) -> contextlib.AbstractContextManager[Any]:
        """Held around every step the application's thread takes (the blocking pump's lock; a
        ``contextlib.nullcontext()`` for a pump whose loop runs in one thread)."""
        ...

    def clock(self) -> float:
        """UTC epoch seconds: the ``now`` of every step (the pump's clock)."""
        ...

    def perform(self, driver: Any, actions: Sequence[Action]) -> None:
        """Do what the driver answered (`kalshi_fix_sansio.client.steps`), in order."""
        ...

    def write(self, driver: Any, data: bytes) -> None:
        """Write ``data`` now, as performing ``Write(data)`` does: the driver hands a send
        nothing paces its bytes here at once."""
        ...

    def wake(self) -> None:
        """The waiting callers look again: events were queued from outside the pump's loop
        (by a REST companion, holding `lock`)."""
        ...


class _NoPump:
    """The pump of a driver driven by hand (``step(fact, now)``): it has none."""

    lock: Final = contextlib.nullcontext()

    def clock(self) -> float:
        raise LocalProtocolError("this driver has no pump: give now to step(fact, now)")

    def perform(self, driver: Any, actions: Sequence[Action]) -> None:
        raise LocalProtocolError("this driver has no pump to perform its actions")

    def write(self, driver: Any, data: bytes) -> None:
        raise LocalProtocolError("this driver has no pump to write its bytes")

    def wake(self) -> None:
        """Nothing waits."""


NO_PUMP: Final[Pump] = _NoPump()
"""The pump of a driver made without one."""


class Agenda:
    """What a loop keeps of the driver's answers for later: the deadline to wake at
    (`WakeAt`), a connection to open (`CONNECT`) and the end (`FINISHED`). A loop hands every
    action to `note` and performs at once only those it does not keep (`Write`,
    `Disconnect`); its sleeper reads the agenda when it wakes.

    Attributes:
        wake_at: step `WOKE` at this time at the latest (the driver's clock; ``math.inf``:
            no wake-up told).
        connect_due: open a connection now (then step `CONNECTED` or `ConnectFailed`).
        finished: nothing more will happen: the loop ends.
    """

    __slots__ = ("connect_due", "finished", "wake_at")

    def __init__(self) -> None:
        self.wake_at = math.inf
        self.connect_due = False
        self.finished = False

    def note(self, action: Action) -> bool:
        """Keep ``action`` if it is for later: True then (the loop's sleeper must look again);
        False for an action to perform at once."""
        if action.__class__ is WakeAt:
            self.wake_at = action.deadline
        elif action is CONNECT:
            self.connect_due = True
        elif action is FINISHED:
            self.finished = True
        else:
            return False
        return True

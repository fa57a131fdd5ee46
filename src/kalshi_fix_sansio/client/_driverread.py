"""The receive path of `kalshi_fix_sansio.client.driver.Driver` (its methods; private).

A read goes through one call per layer: `received` steps it through the loop part
(`Loop <kalshi_fix_sansio.client._loop.Loop>`), whose `Received` step hands bytes read on an
open connection before any deadline to `quick_read`. There the supervisor's read (`Supervisor.read
<kalshi_fix_sansio.client.supervisor.Supervisor.read>`, written out) asks the session's
`Session.read <kalshi_fix_sansio.session.machine.Session.read>`, which hands back the event of a
read that was one application message and nothing else, and the desk queues it and applies it
to the books (`OrderDesk.read_book <kalshi_fix_sansio.client._desk.OrderDesk.read_book>`). When
that is all the read did, nothing is to be written and no deadline came sooner than the one the
loop last told: the loop has nothing to do, and `quick_read` says so without asking the layers
below for their bytes and deadlines. Every other read takes the general path (`receive_data`,
then the loop's actions).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..session.events import Event
from .steps import Action, Received
from .supervisor import _ACTIVE

if TYPE_CHECKING:
    from ..observability import MessageLog
    from ..observability.metrics import SessionMetrics
    from ..trading.deadman import DeadMansSwitch
    from ..trading.gate import OrderGate
    from ._desk import OrderDesk
    from ._queue import QueuePolicy
    from .supervisor import Supervisor


class ReadDriving:
    """`Driver`'s receive path (it sets the attributes below, and has ``_pump`` and
    ``announce``)."""

    clock: Callable[[], float]
    message_log: MessageLog | None
    metrics: SessionMetrics
    supervisor: Supervisor
    desk: OrderDesk
    gate: OrderGate
    dead_man: DeadMansSwitch | None
    policy: QueuePolicy
    _queue: deque[tuple[Event, float]]
    _reading: bool
    _warned: bool
    _last_input: float
    _read: Callable[[bytes, float], Sequence[Action]]

    if TYPE_CHECKING:  # the driver's, its trading state's and its queue's

        def _pump(self, now: float) -> None: ...

        def announce(self, now: float) -> None: ...

        def _warn(self, now: float) -> None: ...

        def _check_dead_man(self, now: float) -> None: ...

    def received(self, fact: Received) -> Sequence[Action]:
        """Log the bytes read (``b""``: EOF), step them at the pump's time (`read_bytes`)."""
        return self.read_bytes(fact.data)

    def read_bytes(self, data: bytes) -> Sequence[Action]:
        """The pump's read of ``data`` (``b""``: EOF), logged and stepped through the loop
        part's `Received` step (its ``read``) at the pump's time: `received` without the
        fact."""
        now = self.clock()
        if data and self.message_log is not None:
            self.message_log.received(data, now)
        return self._read(data, now)

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes read from the connection (``b""``: the peer closed it).

        ``now`` is the receive time of every event these bytes produce
        (`next_event_with_time`). A dead man's switch past its deadline fires first: its
        `DeadMansSwitchFired` comes before what the bytes bring (a `Disconnected` included).
        (A read before the deadline the loop last told takes `quick_read`: the switch's
        deadline is not earlier than that one, a rearm telling the loop its new one, so it is
        not due there.)
        """
        dead_man = self.dead_man
        if dead_man is not None and now >= dead_man.deadline:
            self._check_dead_man(now)
        self.metrics.bytes_in += len(data)
        self.supervisor.receive_data(data, now)
        self._pump(now)

    def quick_read(self, data: bytes, now: float, told: float) -> bool:
        """`receive_data` of bytes (not EOF) read before the deadline the loop last told
        (``told``): True when the loop has nothing to do after it (nothing to write, no
        deadline sooner than ``told``: a market-data message queued and applied to the books,
        and nothing else); False: the loop's actions after a read are due."""
        self.metrics.bytes_in += len(data)
        # `Supervisor.read`, inline: the session's read when the supervisor is active with
        # nothing of its own waiting, else its `receive_data` (None: what it made queued)
        sup = self.supervisor
        session = sup.session
        if session is None or sup._state is not _ACTIVE or sup._events or sup._out:
            sup.receive_data(data, now)
            event = None
        else:
            event = session.read(data, now)
            if event is None:
                sup._process(session, now)
        if event is None or not self.desk.read_book(event, now):
            if event is not None:
                self.supervisor.pending.append(event)
            self._pump(now)
            return False
        self._last_input = now
        if self.gate.state_changed:
            self.announce(now)
            return False
        queue = self._queue
        if queue and self._reading and not self._warned:  # `FallingBehind`'s deadline
            due = queue[0][1] + self.policy.lag_warning
            if now >= due:
                self._warn(now)
                return False
            return due >= told
        return True

    def read_built(self, data: bytes, now: float, told: float, handed: Any = None) -> bool:
        """`quick_read` of bytes a peer in this process built (the simulator's in-memory link,
        when the loop reads quickly: `Loop.quick_deadline` gives ``told``), the session's read
        `Session.read_built` (``handed``: the frame's values when that peer made it of them)
        rather than `Session.read`: True when the loop has nothing to do after it. (Its own
        copy of `quick_read`: the client's read path stays as it is.)"""
        self.metrics.bytes_in += len(data)
        sup = self.supervisor
        session = sup.session
        if session is None or sup._state is not _ACTIVE or sup._events or sup._out:
            sup.receive_data(data, now)
            event = None
        else:
            event = session.read_built(data, now, handed)
            if event is None:
                sup._process(session, now)
        if event is None or not self.desk.read_book(event, now):
            if event is not None:
                sup.pending.append(event)
            self._pump(now)
            return False
        self._last_input = now
        if self.gate.state_changed:
            self.announce(now)
            return False
        queue = self._queue
        if queue and self._reading and not self._warned:  # `FallingBehind`'s deadline
            due = queue[0][1] + self.policy.lag_warning
            if now >= due:
                self._warn(now)
                return False
            return due >= told
        return True

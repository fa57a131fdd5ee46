"""The connection's life under any sequence of facts: a loop that does exactly what the driver
says can never hold a dead connection, and a driver that is not finished always has a way on.

A model pump (`PumpModel`) keeps only what a loop keeps: whether it holds a connection (from
stepping `CONNECTED` until a `Disconnect`), whether a `CONNECT` is under way, the last
`WakeAt`, and `FINISHED`. Hypothesis steps the driver with every fact a loop can step, in any
order (connections opened, refused, reset, closed by the peer, fed junk, slow, timers, orders,
close), against the mock exchange in memory, and checks after each step that

* every connection the loop opened is ended by exactly one `Disconnect`, whatever ended it (a
  failed read or write, the peer's EOF, the slow-peer verdict, a Logout, `CLOSE`), so a loop
  that closes its socket on `Disconnect` only never keeps one the driver has given up;
* the driver's view of the connection (``driver.loop.connected``) is the loop's;
* `CONNECT` comes only while the loop holds no connection and opens none;
* a driver not finished, with no connection and none being opened, has told a wake-up, and
  waking at it leads to a `CONNECT` or to `FINISHED` (never silence).

A TCP reset while the application sent left the blocking and trio adapters holding a dead
socket while the driver waited to reconnect, because a `Lost` answered no `Disconnect`; these
rules hold that for every loop at once.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from test_driver_loop import Stepped

from kalshi_fix_sansio import Backoff
from kalshi_fix_sansio.client.steps import (
    CLOSE,
    CONNECT,
    CONNECTED,
    FINISHED,
    START,
    WOKE,
    Action,
    Buffered,
    ConnectFailed,
    Disconnect,
    Fact,
    Kill,
    Lost,
    Received,
    Send,
    WakeAt,
)
from kalshi_fix_sansio.codec.errors import FixError


class PumpModel:
    """What a loop keeps of the driver's answers (see the module docstring)."""

    def __init__(self) -> None:
        self.open = False
        self.connecting = False
        self.wake_at = math.inf
        self.finished = False

    def stepped(self, fact: Fact, actions: Sequence[Action]) -> None:
        """Keep what the loop keeps of ``fact`` and the driver's answer, checking the rules."""
        was_open = self.open
        if fact is CONNECTED:
            assert self.connecting, "CONNECTED with no CONNECT told"
            self.connecting, self.open = False, True
        elif type(fact) is ConnectFailed:
            self.connecting = False
        disconnects = [a for a in actions if type(a) is Disconnect]
        assert len(disconnects) <= 1, actions
        if disconnects:
            assert self.open, f"{fact!r} answered Disconnect with no connection held: {actions}"
            self.open = False
        if type(fact) is Lost and was_open:
            assert disconnects, f"Lost on a held connection answered no Disconnect: {actions}"
        if type(fact) is Received and not fact.data and was_open:
            assert disconnects, f"the peer's EOF answered no Disconnect: {actions}"
        for action in actions:
            if action is CONNECT:
                assert not self.open and not self.connecting, f"CONNECT while connected: {actions}"
                self.connecting = True
            elif type(action) is WakeAt:
                self.wake_at = action.deadline
            elif action is FINISHED:
                self.finished = True


class Modelled(Stepped):
    """`Stepped` whose every step, the harness's own included, goes through the model."""

    def __init__(self, pump: PumpModel, **options: Any) -> None:
        self.model = pump
        super().__init__(**options)

    def do(self, fact: Fact) -> Sequence[Action]:
        if fact is CONNECTED:
            self.log.take_outbox()  # what was written to the last connection went with it
        actions = super().do(fact)
        self.model.stepped(fact, actions)
        return actions


class ConnectionLife(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pump = PumpModel()
        self.h = Modelled(self.pump, backoff=Backoff(base=0.5, cap=4.0, attempts=4, seed=3))
        self.orders = 0
        self.h.do(START)

    # -- opening --------------------------------------------------------------------------------

    @precondition(lambda self: self.pump.connecting)
    @rule()
    def connected(self) -> None:
        # closed while connecting: the driver says close
        if self.h.driver.supervisor.connect_at is None:
            self.h.do(CONNECTED)
        else:
            self.h.connect()  # the exchange's acceptor for it, CONNECTED, the Logon answered

    @precondition(lambda self: self.pump.connecting)
    @rule()
    def connect_failed(self) -> None:
        self.h.do(ConnectFailed(OSError("connection refused")))

    # -- what breaks a held connection ----------------------------------------------------------

    @precondition(lambda self: self.pump.open)
    @rule(where=st.sampled_from(["read failed", "write failed"]))
    def reset(self, where: str) -> None:
        self.h.drop(f"{where}: ConnectionResetError(104, 'Connection reset by peer')")

    @precondition(lambda self: self.pump.open)
    @rule()
    def peer_closes(self) -> None:
        self.h.do(Received(b""))
        self.h._gone()

    @precondition(lambda self: self.pump.open)
    @rule(junk=st.binary(min_size=1, max_size=64))
    def junk(self, junk: bytes) -> None:
        self.h.do(Received(junk))

    @precondition(lambda self: self.pump.open)
    @rule(size=st.sampled_from([0, 1, 4096, 9 * 1024 * 1024]))
    def buffered(self, size: int) -> None:
        self.h.do(Buffered(size))

    @precondition(lambda self: self.pump.open)
    @rule()
    def the_exchange_answers(self) -> None:
        """What the driver wrote reaches the exchange; its answers are read."""
        self.h.pump()

    # -- facts about a connection already ended (late callbacks) -------------------------------

    @precondition(lambda self: not self.pump.open)
    @rule(fact=st.sampled_from([Received(b"late"), Received(b""), Lost("late"), Buffered(10)]))
    def late(self, fact: Fact) -> None:
        self.h.do(fact)

    # -- the clock, the application -------------------------------------------------------------

    @rule(seconds=st.sampled_from([0.0, 0.3, 1.0, 5.0, 30.0]))
    def time_passes(self, seconds: float) -> None:
        self.h.now += seconds
        self.h.do(WOKE)

    @rule()
    def send_order(self) -> None:
        self.orders += 1
        with contextlib.suppress(FixError):  # refused while down, halted...: as `send` raises
            self.h.do(Send(self.h.order(f"o-{self.orders}", "buy", 1)))

    @rule()
    def kill(self) -> None:
        with contextlib.suppress(FixError):
            self.h.do(Kill())

    @rule()
    def close(self) -> None:
        self.h.do(CLOSE)

    # -- what always holds ----------------------------------------------------------------------

    @invariant()
    def the_driver_sees_the_loops_connection(self) -> None:
        assert self.h.driver.loop.connected == self.pump.open

    @invariant()
    def never_silent(self) -> None:
        """Not finished, no connection, none being opened: a wake-up told, and waking at it
        (again and again) leads to a `CONNECT` or `FINISHED`."""
        pump = self.pump
        if pump.finished or pump.open or pump.connecting:
            return
        assert pump.wake_at < math.inf, "no connection, none being opened, and no wake-up told"
        for _ in range(50):
            self.h.now = max(self.h.now, pump.wake_at)
            self.h.do(WOKE)
            if pump.connecting or pump.finished:
                return
        raise AssertionError("waking at every deadline told never led to CONNECT or FINISHED")


ConnectionLife.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestConnectionLife = ConnectionLife.TestCase


def test_a_kill_read_late_by_the_exchange_ends_the_connection() -> None:
    """Hypothesis's example: a kill's 35=q reaches the exchange 35 s after it was written, and
    the exchange (strict as Kalshi) rejects its SendingTime and logs the session out; the
    connection ends with one `Disconnect`, and the driver goes on (a wake-up, then `CONNECT`)."""
    machine = ConnectionLife()
    machine.send_order()
    machine.connected()
    assert machine.pump.open
    machine.kill()
    machine.time_passes(5.0)
    machine.time_passes(30.0)
    machine.the_exchange_answers()
    assert not machine.pump.open  # the exchange's Logout and close: the connection ended
    machine.the_driver_sees_the_loops_connection()
    machine.never_silent()
    machine.teardown()

"""What a test loop keeps of a driver's steps: every action, and the bytes still to give out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kalshi_fix_sansio.client.steps import Action, Disconnect, Fact, WakeAt, Write


class Stepped(Protocol):
    def step(self, fact: Fact, now: float) -> Sequence[Action]: ...


class StepLog:
    """Every action a driver's steps gave (``actions``), and what the `Write`s said to write
    that the test has not given out yet (``outbox``)."""

    def __init__(self) -> None:
        self.actions: list[Action] = []
        self.outbox: list[bytes] = []

    def step(self, driver: Stepped, fact: Fact, now: float) -> Sequence[Action]:
        """Step ``fact`` on ``driver`` at ``now``; the actions, kept."""
        actions = driver.step(fact, now)
        self.actions.extend(actions)
        self.outbox.extend(a.data for a in actions if isinstance(a, Write))
        return actions

    def take_outbox(self) -> bytes:
        """What the `Write`s said to write, given out now."""
        data, self.outbox = b"".join(self.outbox), []
        return data

    def wake_at(self) -> float | None:
        """The last `WakeAt` told."""
        told = [a.deadline for a in self.actions if isinstance(a, WakeAt)]
        return told[-1] if told else None

    def disconnect(self) -> Disconnect | None:
        """The last `Disconnect` told."""
        told = [a for a in self.actions if isinstance(a, Disconnect)]
        return told[-1] if told else None

"""Who reads the connection: the reader hand-over of the adapters whose callers read it
themselves (blocking, trio), as a table (`HANDOVER`) that `Readers` follows; sans-IO.

The caller that waits reads the socket itself, so a report reaches it with no hand-off between
threads or tasks. A background reader (the session's thread, a reader task) reads only while
nobody waits, from ``handoff`` seconds after a waiting caller last read, so heartbeats flow
while the application is busy. The socket is read by one reader at a time: nobody, a waiting
caller or the background reader (`Reader`). Each row of `HANDOVER` says, for who reads now and
who asks, what the asker is told and who reads next; ``docs/reader-handover.md`` is the table
drawn (``python -m kalshi_fix_sansio.client._readers``), and a test runs every row on a `Readers`.

The module reads no clock and does no I/O: every time is passed in.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Any, Final

import attrs

__all__ = ["HANDOVER", "Ask", "IdleHandoff", "Reader", "Readers", "Rule", "render_markdown"]


class IdleHandoff:
    """The session setting of the adapters whose waiting caller reads the socket itself, and a
    background reader reads it once nobody has for a while (blocking, trio)."""

    _pump: Any  # the adapter's pump: its `readers` (`Readers`)

    @property
    def idle_handoff(self) -> float:
        """Seconds after a waiting caller last read the socket before the session's background
        reader reads it (see `IDLE_HANDOFF`); settable per session."""
        handoff: float = self._pump.readers.handoff
        return handoff

    @idle_handoff.setter
    def idle_handoff(self, seconds: float) -> None:
        self._pump.readers.handoff = seconds


class Reader(enum.Enum):
    """Who reads the socket now."""

    NOBODY = "nobody"
    CALLER = "a waiting caller"
    BACKGROUND = "the background reader"

    # members are singletons: hashed by identity, in C (Enum's own hash is a Python call, made
    # by `Readers.claim` / `release` on every wait)
    __hash__ = object.__hash__


class Ask(enum.Enum):
    """What a reader, or one that would read, asks of the hand-over."""

    CLAIM = "a waiting caller asks (claim)"
    RELEASE = "the reader read once (release)"
    BACKGROUND = "the background reader asks (background)"
    CLOSING = "the session closes (closing)"


@attrs.frozen
class Rule:
    """One row of the hand-over: who reads now, who asks and when, what the asker is told
    (``answer``: what `Readers` returns) and who reads next."""

    reader: Reader
    ask: Ask
    when: str
    then: Reader
    answer: str
    meaning: str


_N, _C, _B = Reader.NOBODY, Reader.CALLER, Reader.BACKGROUND
_QUIET = "no caller waits, none read in the last ``handoff`` seconds (or the session closes)"

HANDOVER: Final[tuple[Rule, ...]] = (
    Rule(_N, Ask.CLAIM, "", _C, "read", "read now, then release"),
    Rule(_C, Ask.CLAIM, "", _C, "rest", "rest until woken: the reader wakes it"),
    Rule(_B, Ask.CLAIM, "", _B, "preempt", "wake the background reader, then rest"),
    Rule(_C, Ask.RELEASE, "", _N, "", "the hand-off delay starts; a waiting caller is woken"),
    Rule(_B, Ask.RELEASE, "", _N, "", "a waiting caller is woken"),
    Rule(_C, Ask.BACKGROUND, "", _C, "handoff", "rest ``handoff`` seconds, then ask again"),
    Rule(_B, Ask.BACKGROUND, "", _B, "handoff", "(its own read: not asked)"),
    Rule(_N, Ask.BACKGROUND, "a caller waits", _N, "handoff", "rest ``handoff``, then ask"),
    Rule(
        _N,
        Ask.BACKGROUND,
        "a caller read less than ``handoff`` ago",
        _N,
        "quiet",
        "rest until the delay is over, or the core's next timer is due, then ask",
    ),
    Rule(_N, Ask.BACKGROUND, _QUIET, _B, "0", "read now, then release"),
    Rule(_N, Ask.CLOSING, "", _N, "", "the hand-off delay ends: the Logout's answer is read"),
)
"""The reader hand-over, row by row (see the module docstring). `Readers.claim` takes its
answers from the `Ask.CLAIM` rows, `Readers.release` its next reader from the `Ask.RELEASE`
rows; `Readers.background` checks the `Ask.BACKGROUND` rows' conditions in this order."""

_CLAIMS: Final = {rule.reader: rule for rule in HANDOVER if rule.ask is Ask.CLAIM}
_RELEASED: Final = {rule.reader: rule.then for rule in HANDOVER if rule.ask is Ask.RELEASE}


class Readers:
    """Who reads the connection: `HANDOVER`, followed (see the module docstring).

    Once the driver is done with the connection, the reader in it, or anyone when nobody
    reads, closes it (`owns`). Readers are named by any token the adapter likes (a thread's
    ident, a task), compared by equality.

    Args:
        handoff: seconds the socket may go unread after a waiting caller read it before the
            background reader reads it.
    """

    __slots__ = ("active", "handoff", "reader", "state", "waiting")

    def __init__(self, handoff: float) -> None:
        self.handoff = handoff
        self.state = Reader.NOBODY
        """Who reads now."""
        self.reader: object = None
        """The token of who reads now (None: nobody)."""
        self.waiting = 0
        """Callers in a wait (between `enter` and `leave`)."""
        self.active = -math.inf
        """When a waiting caller last finished reading (the adapter's wait clock)."""

    def reset(self) -> None:
        """A new open: nobody has read yet."""
        self.state, self.reader, self.active = Reader.NOBODY, None, -math.inf

    def enter(self) -> None:
        """A caller starts waiting."""
        self.waiting += 1

    def leave(self) -> bool:
        """A caller stops waiting; True when another still waits (wake it: it may read now)."""
        self.waiting -= 1
        return self.waiting > 0

    def claim(self, who: object) -> str:
        """Waiting caller ``who`` wants to read: ``"read"`` (it reads now, then `release`),
        ``"preempt"`` (the background reader has it: stop it, then rest) or ``"rest"``."""
        rule = _CLAIMS[self.state]
        if rule.then is not self.state:  # the socket is the asker's
            self.state, self.reader = rule.then, who
        return rule.answer

    def release(self, now: float) -> bool:
        """The reader read once and gives the socket back at ``now``; True when a caller
        waits (wake it: it takes the socket)."""
        if self.state is Reader.CALLER:
            self.active = now  # the hand-off delay starts
        self.state, self.reader = _RELEASED.get(self.state, Reader.NOBODY), None
        return self.waiting > 0

    def caller_reads(self) -> bool:
        """A waiting caller reads now (not the background reader)."""
        return self.state is Reader.CALLER

    def closing(self) -> None:
        """The session closes: no caller will wait for the Logout's answer, so the background
        reader reads at once (no hand-off delay)."""
        self.active = -math.inf

    def owns(self, who: object) -> bool:
        """``who`` may act on the socket alone (close it, or count on reading what it left to
        write): nobody reads it, or ``who`` does."""
        return self.state is Reader.NOBODY or self.reader == who

    def background(
        self, now: float, who: object, timer_in: Callable[[], float | None] | None = None
    ) -> float:
        """The background reader ``who`` asks at ``now``: 0.0 means read now (then `release`);
        otherwise rest that many seconds and ask again. ``timer_in``: when the background
        reader also fires the timers, a function giving the seconds until the core's next
        timer (None: none), asked only while a caller read lately (one due is not put off)."""
        if self.state is not Reader.NOBODY or self.waiting:
            return self.handoff
        quiet = self.active + self.handoff - now
        if quiet > 0:  # a caller read less than ``handoff`` ago
            timer = None if timer_in is None else timer_in()
            if timer is None:
                return quiet
            if timer > 0:
                return quiet if quiet < timer else timer
        self.state, self.reader = Reader.BACKGROUND, who
        return 0.0


def render_markdown() -> str:
    """The hand-over's page (docs/reader-handover.md), generated from `HANDOVER`.

    Returns:
        Markdown: the table and its drawing.
    """
    from ..session import render_page  # the docs' drawing, not needed to read a socket

    return render_page(
        header="DO NOT EDIT: generated from src/kalshi_fix_sansio/client/_readers.py "
        "(python -m kalshi_fix_sansio.client._readers).",
        title="Who reads the socket",
        intro=[
            "In the blocking and trio adapters, the caller that waits (`next_event`, `place`,",
            "`wait_for`...) reads the socket itself, so a report reaches it with no hand-off;",
            "a background reader (the session's thread, a reader task) reads only while nobody",
            "waits, from `idle_handoff` seconds after a waiting caller last read, so heartbeats",
            "flow while the application is busy. One reader at a time; each row says, for who",
            "reads now and who asks, what the asker is told and who reads next (`Readers`, in",
            "`kalshi_fix_sansio.client.pump`; a pump of your own follows the same rows).",
        ],
        columns=["Reads now", "Asks", "When", "Reads next", "The asker"],
        rows=[
            (r.reader.value, r.ask.value, r.when or "", r.then.value, r.meaning) for r in HANDOVER
        ],
        edges=[(r.reader.value, r.ask.name.lower(), r.then.value) for r in HANDOVER],
        drawing_intro=["The same hand-over drawn (a row that leaves the reader as it is is not)."],
        aria="Reader hand-over diagram",
    )


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(render_markdown())

"""How the asyncio adapter's callers wait for a change (`kalshi_fix_sansio.client.pump.Changes`).

Each waiting caller has a future of its own, resolved by the next change; a cancelled one
leaves the others waiting, and its wait is cleaned up (`Changes.drive`). Deadlines share one
timer, armed again only for a sooner deadline, so waits one after another schedule one timer
per timeout; a new open forgets a timer of an event loop that may be gone. Nothing here
sleeps: the deadlines that must fire are past.
"""

from __future__ import annotations

import asyncio
import math

import pytest

from kalshi_fix_sansio.client.pump import Changes, Wait


def test_a_change_wakes_every_waiter_and_a_cancelled_one_leaves_the_others() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        changes: Changes[asyncio.Future[None]] = Changes(asyncio.get_running_loop)
        first = changes.wait(loop, math.inf)
        second = changes.wait(loop, math.inf)
        third = changes.wait(loop, math.inf)
        second.cancel()
        changes.forget(second)
        assert changes.waiting == [first, third]
        changes.set()
        await asyncio.gather(first, third)
        assert changes.waiting == [] and changes.timer is None  # no deadline: no timer
        later = changes.wait(loop, math.inf)
        assert not later.done()  # nothing is remembered for a later caller
        changes.set()
        await later

    asyncio.run(main())


def test_deadlines_share_one_timer_armed_again_only_when_sooner() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        changes: Changes[asyncio.Future[None]] = Changes(asyncio.get_running_loop)
        now = loop.time()
        changes.set()  # nobody waits: nothing happens
        changes.wait(loop, now + 100)
        timer = changes.timer
        assert timer is not None and changes.at == now + 100
        for later in (now + 101, now + 200):  # later deadlines: the same timer
            changes.wait(loop, later)
            assert changes.timer is timer
        changes.set()
        soon = changes.wait(loop, now - 1)  # sooner (past): a new timer, the old one cancelled
        assert changes.timer is not timer and timer.cancelled()
        await soon  # the timer fired: every waiter looks again
        assert changes.timer is None and changes.at == math.inf

    asyncio.run(main())


def test_a_reset_forgets_a_timer_of_another_loop() -> None:
    changes: Changes[asyncio.Future[None]] = Changes(asyncio.get_running_loop)
    gone = asyncio.new_event_loop()
    changes.wait(gone, gone.time() - 10)  # armed on a loop that never runs again
    gone.close()
    changes.reset()  # what `AsyncSession.open` does
    assert changes.timer is None and changes.at == math.inf

    async def main() -> None:
        loop = asyncio.get_running_loop()
        changes.waiting.clear()
        await asyncio.wait_for(changes.wait(loop, loop.time() - 5), 10)  # fires on this loop

    asyncio.run(main())


def test_a_cancelled_caller_is_forgotten() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        changes: Changes[asyncio.Future[None]] = Changes(asyncio.get_running_loop)
        waiter = changes.wait(loop, math.inf)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        changes.forget(waiter)
        changes.forget(waiter)  # twice: nothing left to forget
        assert changes.waiting == []

    asyncio.run(main())


class Flag(Wait[str]):
    """A wait that ends once ``up`` is set (`Changes.set` tells it to look); ``closed``: its
    clean-up ran."""

    __slots__ = ("closed", "polls", "up")

    def __init__(self, now: float) -> None:
        super().__init__(now)
        self.up, self.closed, self.polls = False, False, 0

    def poll(self, now: float) -> float | None:
        self.polls += 1
        if not self.up:
            return math.inf
        self.result = "up"
        return None

    def close(self) -> None:
        self.closed = True


def test_drive_runs_a_wait_to_its_end_and_a_cancelled_one_is_cleaned_up() -> None:
    """`Changes.drive` stepped by hand (each ``send`` runs it to its next await of a future)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        changes: Changes[asyncio.Future[None]] = Changes(asyncio.get_running_loop)
        flag = Flag(loop.time())
        driving = changes.drive(flag)
        waiter = driving.send(None)  # polled once: waits on a future of its own
        assert flag.polls == 1 and changes.waiting == [waiter]
        changes.set()  # a change, the wait not over: it waits again
        waiter = driving.send(None)
        assert flag.polls == 2 and changes.waiting == [waiter]
        flag.up = True
        changes.set()
        with pytest.raises(StopIteration) as done:
            driving.send(None)
        assert done.value.value == "up" and not flag.closed and changes.waiting == []
        stuck = Flag(loop.time())
        driving = changes.drive(stuck)
        driving.send(None)
        with pytest.raises(asyncio.CancelledError):
            driving.throw(asyncio.CancelledError())  # the caller is cancelled
        assert stuck.closed and changes.waiting == []  # cleaned up, its future forgotten

    asyncio.run(main())

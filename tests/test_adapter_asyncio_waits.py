"""How the asyncio adapter's callers wait for a change (`kalshi_fix_sansio.client.pump.Changes`).

Each waiting caller has a future of its own, resolved by the next change; a cancelled one
leaves the others waiting. Deadlines share one timer, armed again only for a sooner deadline,
so waits one after another schedule one timer per timeout; a new open forgets a timer of an
event loop that may be gone. Nothing here sleeps: the deadlines that must fire are past.
"""

from __future__ import annotations

import asyncio
import math

import pytest

from kalshi_fix_sansio.client.pump import Changes


def test_a_change_wakes_every_waiter_and_a_cancelled_one_leaves_the_others() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        changes: Changes[asyncio.Future[None]] = Changes()
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
        changes: Changes[asyncio.Future[None]] = Changes()
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
    changes: Changes[asyncio.Future[None]] = Changes()
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
        changes: Changes[asyncio.Future[None]] = Changes()
        waiter = changes.wait(loop, math.inf)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        changes.forget(waiter)
        changes.forget(waiter)  # twice: nothing left to forget
        assert changes.waiting == []

    asyncio.run(main())

"""asyncio adapter: a Kalshi FIX session as an async context manager.

    from kalshi_fix_sansio.adapters.asyncio import FixClient

    async def main() -> None:
        async with FixClient.from_env("demo").market_data() as md:
            md.send(subscribe(["HIGHNY-23DEC31"]), resubscribe=True)   # no await: it queues
            async for event in md.events(timeout=30):
                print(event)

A pump (`AioPump`) over the core's `Driver`, which makes every decision. The loop serves the
pump's own non-blocking socket (``loop.add_reader``: a selector event loop, as asyncio's
default on Linux and macOS, or uvloop; not Windows' proactor loop): each read is one ``recv``
and one driver step, so what is read is in the tracker, the books and the queue at once. TLS
(from `ssl_context_for`) is the adapter's own, the ssl module's memory BIOs on the socket, as
trio's. A task per session connects, sleeps until the driver's next deadline, fires its timers
and runs ``on_event`` / ``on_reconnect`` (awaited when awaitable); it is woken only when the
driver needs it sooner, a callback is due or the connection ends. A waiting caller
(`next_event`, `place`...) waits on a future of its own, resolved by the next read.
`AsyncSession.send` is synchronous: the bytes go to the socket at once (what it does not take
waits for it, in order), so a forgotten ``await`` cannot lose a message (and a wrong
``await`` fails loudly).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeAlias

from kalshi_fix_sansio.client.pump import AsyncAPI, AsyncKillAll, ClientBase
from kalshi_fix_sansio.session.events import Event

from ._aiopump import AioPump

__all__ = [
    "AioPump",
    "AsyncSession",
    "EventCallback",
    "FixClient",
    "MarginFixClient",
    "ReconnectHook",
]

EventCallback: TypeAlias = Callable[[Event], Awaitable[None] | None]
"""``on_event``: called with every event (in the session's task); an awaitable is awaited."""

ReconnectHook: TypeAlias = Callable[["AsyncSession"], Awaitable[None] | None]
"""``on_reconnect``: called after each reconnect and Logon; an awaitable is awaited."""


class AsyncSession(AsyncAPI):
    """One Kalshi FIX session over an asyncio transport (``async with``: log on, then log out).

    Takes the arguments of `SessionAPI`; ``on_event`` and ``on_reconnect`` (`EventCallback`,
    `ReconnectHook`) run in the session's task, an awaitable result awaited.
    """

    _PUMP = AioPump
    _pump: AioPump

    async def close(self) -> None:
        """Log out (waiting up to the logout timeout for the answer) and close; idempotent
        (the same as `aclose`)."""
        await self.aclose()


class FixClient(ClientBase[AsyncSession], AsyncKillAll):
    """Kalshi FIX client for prediction (event contracts) on asyncio; sessions are `AsyncSession`."""

    PRODUCT = "prediction"
    _SESSION = AsyncSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on asyncio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"

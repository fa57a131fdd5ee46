"""What the TLS tests of every adapter share: the adapters' prediction clients, and opening a
session the way each adapter opens one (blocking ``open``/``close``, asyncio ``await open()``,
trio ``async with`` for its nursery), returning what opening raised instead of raising it."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import trio

from kalshi_fix_sansio.adapters import asyncio as asyncio_adapter
from kalshi_fix_sansio.adapters import blocking as blocking_adapter
from kalshi_fix_sansio.adapters import trio as trio_adapter

ADAPTERS = ("blocking", "asyncio", "trio")
CLIENTS: dict[str, Any] = {
    "blocking": blocking_adapter.FixClient,
    "asyncio": asyncio_adapter.FixClient,
    "trio": trio_adapter.FixClient,
}

Body = Callable[[Any], Any]
"""What runs while a session is open: given the session; an awaitable result is awaited."""


def open_with(adapter: str, session: Any, *bodies: Body) -> BaseException | None:
    """Open ``session`` with ``adapter``, run a body while it is open, then close it: once per
    body (once when none is given), all in one run of the adapter's loop.

    Returns:
        What opening (or a body) raised, or None.
    """
    if adapter == "blocking":
        for body in bodies or (None,):
            try:
                session.open()
                if body is not None:
                    body(session)
            except Exception as exc:
                return exc
            finally:
                session.close()
        return None

    async def run(body: Body | None) -> None:
        if body is not None:
            result = body(session)
            if inspect.isawaitable(result):
                await result

    async def with_asyncio() -> BaseException | None:
        for body in bodies or (None,):
            try:
                await session.open()
                await run(body)
            except Exception as exc:
                return exc
            finally:
                await session.close()
        return None

    async def with_trio() -> BaseException | None:
        for body in bodies or (None,):
            try:
                async with session:  # trio: the session's task needs a nursery
                    await run(body)
            except Exception as exc:
                return exc
        return None

    if adapter == "asyncio":
        return asyncio.run(with_asyncio())
    return trio.run(with_trio)

"""Timeouts on asyncio awaits for the asyncio adapter and the mock gateway (not the core).

``asyncio.wait_for`` wraps what it waits for in a new task on every call (Python 3.11: about
10 µs and a turn of the event loop more on every read); ``asyncio.timeout`` (3.11+) only
schedules a cancellation. On 3.10, which lacks it, ``wait_for`` stays.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

__all__ = ["within"]


async def within(awaitable: Awaitable[T], timeout: float | None) -> T:
    """``await awaitable``, raising `TimeoutError` after ``timeout`` seconds (None: never).

    Args:
        awaitable: a coroutine (e.g. ``reader.read(n)``).
        timeout: seconds, or None.

    Returns:
        Its result.

    Raises:
        TimeoutError: the time passed first (`asyncio.TimeoutError` on 3.10, the same class
            from 3.11 on).
    """
    if timeout is None:
        return await awaitable
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(timeout):
            return await awaitable
    return await asyncio.wait_for(awaitable, timeout)  # pragma: no cover - Python 3.10

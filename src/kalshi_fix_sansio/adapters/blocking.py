"""Blocking adapter: a Kalshi FIX session in a ten-line script.

    from kalshi_fix_sansio.adapters.blocking import FixClient

    with FixClient.from_env("demo").market_data() as md:
        md.send(subscribe(["HIGHNY-23DEC31"]), resubscribe=True)
        for event in md.events(timeout=30):
            print(event)

A pump (`ThreadPump`) over the core's `Driver`, which makes every decision, under one lock per session. The
thread that waits (`next_event`, ``events``, `wait_for`, `place`, `cancel`, `kill`, `run`,
`open`, a rate-limit wait) reads the socket itself, feeds the driver and writes its answers: a
report reaches the caller with no hand-off between threads. `send` writes from the calling
thread. A background thread connects, reconnects and, while nobody waits (`IDLE_HANDOFF`),
reads and fires the timers, so heartbeats flow while the application is busy. ``on_event``
and ``on_reconnect`` run in a callback thread of the session (a slow callback never stops the
reading).
"""

from __future__ import annotations

import threading

from kalshi_fix_sansio.client.pump import (
    ClientBase,
    IdleHandoff,
    SyncAPI,
    SyncKillAll,
)

from ._threadpump import ThreadPump

__all__ = [
    "BlockingSession",
    "FixClient",
    "MarginFixClient",
]


class BlockingSession(IdleHandoff, SyncAPI):
    """One Kalshi FIX session over a blocking socket (``with``: log on, then log out).

    Takes the arguments of `SessionAPI`; ``on_event`` and ``on_reconnect`` run in the
    session's callback thread.
    """

    _PUMP = ThreadPump
    _pump: ThreadPump


class FixClient(ClientBase[BlockingSession], SyncKillAll):
    """Kalshi FIX client for prediction (event contracts), blocking sockets."""

    PRODUCT = "prediction"
    _SESSION = BlockingSession
    _ACCOUNT_LOCK = threading.Lock  # its sessions share the account from threads of their own
    _AWAITS_CALLBACKS = False  # callbacks run in a thread: a coroutine function is refused


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps), blocking sockets (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"

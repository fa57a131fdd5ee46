"""The blocking session's callback thread: ``on_event`` and ``on_reconnect`` run outside the
pump's lock, so a slow callback never stops the reading."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kalshi_fix_sansio.driver import Driver
from kalshi_fix_sansio.pump import Until, drive

if TYPE_CHECKING:
    from ._threadpump import ThreadPump

__all__ = ["deliver"]


def deliver(pump: ThreadPump, sup: Driver) -> None:
    """``on_event`` with every event, ``on_reconnect`` when due (each outside the lock: a
    slow callback never stops the reading), until the session has ended and nothing is
    left."""
    session, delivery = pump.session, sup.delivery
    due = Until(sup, lambda: delivery.due(sup))
    while True:
        with pump.mu:
            if not drive(due, pump.rest):  # the session ended, nothing is left
                pump.wake()  # `run` waits for the last callback
                return
            event, reconnected = delivery.take_callback(sup.next_event_with_time)
        try:
            if event is not None and session.on_event is not None:
                session.on_event(event)
            if reconnected and session.on_reconnect is not None:
                session.on_reconnect(session)
        finally:
            with pump.mu:
                pump.wake()  # e.g. `run`'s ``until`` may hold now

"""What a REST companion calls of a reconciliation round, whatever runs it: `RestPort`.

A round of REST reconciliation (`kalshi_fix_sansio.rest.reconcile.Reconciliation`) is run by
whatever sends its requests: the adapters' companions over HTTPS
(`kalshi_fix_sansio.adapters.rest`), or a simulation in memory
(`Simulation.serve_rest <kalshi_fix_sansio.simulator.world.simulation.Simulation.serve_rest>`). Each asks the
round what to send next and hands it the answer, under the lock of the session the round
belongs to (a blocking session's driver is called holding it), and tells the session's waiters
when the answer queued events. It does no I/O and reads no clock: ``now`` is passed in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from ..codec.errors import LocalProtocolError
from ..session.events import Event
from ._fetchloop import FetchLoop
from .pages import RestRequest, RestResponse
from .reconcile import Reconciliation

__all__ = ["RestPort"]


class RestPort:
    """A reconciliation's calls, whatever the target, under the target's lock.

    Args:
        target: a `Reconciliation`, a `Driver` made with ``rest=``, a session of an
            adapter (or of a simulation) made with ``rest=``, or a market-history fetch
            (`kalshi_fix_sansio.rest.history.HistoryFetch`) or an instruments fetch
            (`kalshi_fix_sansio.rest.instruments.InstrumentsFetch`), or any other one-pass fetch
            (`kalshi_fix_sansio.rest._fetchloop.FetchLoop`: a desk fetch,
            `kalshi_fix_sansio.rest.desk.DeskFetch`, too), run to its end the same way; or a
            ``DeskWatch`` (`kalshi_fix_sansio.client.desk_watch`), under its session's lock.

    Raises:
        LocalProtocolError: the target has no reconciliation.
    """

    def __init__(self, target: object) -> None:
        self.lock: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        driver: Any = getattr(target, "driver", target)  # an adapter's session: its driver
        self.session: Any = None
        self.notify: Callable[[], None] = lambda: None
        if hasattr(driver, "rest_ended"):  # a driver: its lock, its pump's wake, its round
            self.lock = driver.lock
            self.notify = driver.pump.wake  # its waiters look at the events queued
        watch = getattr(target, "watches_desk", False)  # a DeskWatch: its session's, not a round
        if hasattr(driver, "rest_ended") and not watch:
            self.session = driver  # told when a round is over: the next starts a companion
        rec: Any = target if watch else getattr(driver, "reconciliation", driver)  # a Driver's
        if rec is None:
            raise LocalProtocolError(
                "the session has no REST reconciliation: make it with rest=RestOptions(...)"
            )
        if not watch and not isinstance(rec, (Reconciliation, FetchLoop)):  # a fetch: one pass
            raise LocalProtocolError(
                "a REST companion runs a Reconciliation, a Driver, a session, a "
                f"HistoryFetch, an InstrumentsFetch or a DeskFetch, got {target!r}"
            )
        self.rec: Reconciliation | FetchLoop = (
            rec  # a driver's queues the events of its answers itself (its sink); or a DeskWatch
        )
        supervisor = getattr(driver, "supervisor", None)
        self.ended: Callable[[], bool] = (
            (lambda: bool(supervisor.finished)) if supervisor is not None else (lambda: False)
        )
        """The session the round belongs to ended (a failed round is then not retried)."""

    def step(self, now: float) -> tuple[bool, RestRequest | None, float | None]:
        """(whether the round is under way, the request to send now or None, when to ask
        again after a 429 / 5xx or a failed round's retry delay, or None). A round over lets
        the session start a companion for its next one; a round waiting to retry ends once its
        session ended."""
        with self.lock:
            rec = self.rec
            if rec.retrying_at is not None and self.ended():
                rec.stop()  # its session is closed: nothing to make whole any more
            if not rec.active and self.session is not None:
                self.session.rest_ended()  # a new round starts a new companion
            return rec.active, rec.next_request(now), rec.wake_at

    def next(self, now: float) -> RestRequest | float | None:
        """What a companion does now, its one step whatever its loop: send the request
        returned (then `answer`), sleep the seconds returned (`pause`) and ask again, or end
        (None: the round is over)."""
        active, request, wake = self.step(now)
        if not active:
            return None
        return request if request is not None else self.pause(wake, now)

    @staticmethod
    def pause(wake: float | None, now: float) -> float:
        """Seconds a companion sleeps before asking the round again when `step` gave no
        request: until ``wake``, but at most a second (a round waiting minutes to retry
        notices its session closed within one); 50 ms when the round named no time."""
        return min(max(wake - now, 0.0), 1.0) if wake else 0.05

    def answer(self, response: RestResponse | str, now: float) -> list[Event]:
        """Hand the round the answer to its request (a `RestResponse`), or why none came (a
        str); its events."""
        with self.lock:
            if isinstance(response, str):
                events = self.rec.unreachable(response, now)
            else:
                events = self.rec.receive(response, now)
            if events:
                self.notify()
            return events

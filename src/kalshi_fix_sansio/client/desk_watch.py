"""What a session does with the desk's REST pages: `DeskWatch` (sans-IO).

A `DeskWatch` reads, for one session made with ``rest=RestOptions(...)`` (its REST host and
key), Kalshi's pages of `kalshi_fix_sansio.rest.desk`, once on request (`DeskWatch.refresh`)
or every so many seconds, and makes them change what the session does:

* queue positions (prediction): the tracker shows each resting order's contracts ahead
  (``tracker.queue_ahead(cl_ord_id)``), the metrics their sum (``queue_ahead``), and a
  `QueuePositionsRead` event is queued;
* the exchange's status: while it says trading is paused (or the exchange is down) the order
  gate refuses orders, replaces and quote messages before the wire (`ExchangePausedError`),
  cancels still go; `ExchangePaused` and `ExchangeResumed` are queued as it changes;
* the exchange's schedule (prediction): its maintenance windows become the ones the session's
  reconnection waits out (``Backoff.maintenance``, instead of the fixed Thursday window, which
  stays the default while none was read); `ScheduleRead` is queued.

It does no I/O and reads no clock: a REST companion runs it as it runs a reconciliation
(``RestCompanion().run(watch)``, in a thread; ``await AsyncRestCompanion().run(watch)`` in a
task), until `DeskWatch.stop` or the session's end. A page refused or unreadable is a
`RestProblem` event (403: the key lacks the permission), and the page is asked again at its
next period.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, Final

from ..codec.errors import LocalProtocolError, RemoteProtocolError
from ..rest.desk import (
    PARSERS,
    ExchangePaused,
    ExchangeResumed,
    ExchangeStatus,
    QueuePositionsRead,
    ScheduleRead,
    desk_path,
    refusal,
)
from ..rest.pages import Pager, RestProblem, RestRequest, RestResponse, check_positive, rest_headers
from ..session.events import Event
from ..trading.gate import ExchangePausedError
from .reconnect import MaintenanceSchedule

__all__ = [  # the watch, its events and its refusal (the records: `kalshi_fix_sansio.rest.desk`)
    "DeskWatch",
    "ExchangePaused",
    "ExchangePausedError",
    "ExchangeResumed",
    "QueuePositionsRead",
    "ScheduleRead",
    "serve_desk",
]

_STATUS: Final = ("exchange_status", "exchange_schedule")


class DeskWatch:
    """Keep a session's queue positions, exchange status and schedule current (see the module).

    Args:
        target: a `Driver` made with ``rest=``, or a session of an adapter made with ``rest=``.
        queue_every: seconds between two reads of the queue positions (None: only on
            `refresh`).
        status_every: seconds between two reads of the exchange's status and schedule (None:
            only on `refresh`).
        markets: only these markets' queue positions.

    Raises:
        LocalProtocolError: the session has no REST (``rest=``), a period is not above 0, or
            queue positions on margin (Kalshi has none).
    """

    def __init__(
        self,
        target: object,
        *,
        queue_every: float | None = None,
        status_every: float | None = None,
        markets: Sequence[str] = (),
    ) -> None:
        driver: Any = getattr(target, "driver", target)
        rec = getattr(driver, "reconciliation", None)
        if rec is None:
            raise LocalProtocolError(
                "REST is off for this session: make it with rest=RestOptions(...) to read "
                "queue positions and the exchange's status"
            )
        product = driver.config.product
        if queue_every is not None and product != "prediction":
            raise LocalProtocolError("queue positions are prediction's only: no queue_every")
        for name, every in (("queue_every", queue_every), ("status_every", status_every)):
            if every is not None:
                check_positive(name, every, integer=False)
        self.driver = driver
        self.product = product
        self.credentials = rec.credentials
        self.base_url: str = rec.base_url
        self.lock = driver.lock
        self.sink: Callable[[Sequence[Event], float], Any] = driver._emit_all  # queued
        self.markets = tuple(markets)
        self.every: dict[str, float | None] = {"exchange_status": status_every}
        if product == "prediction":
            self.every["exchange_schedule"] = status_every
            self.every["queue_positions"] = queue_every
        self._due: dict[str, float] = {
            page: -math.inf for page, every in self.every.items() if every is not None
        }
        self._task: tuple[str, Pager] | None = None
        self._in_flight: RestRequest | None = None
        self.stopped = False
        self.status: ExchangeStatus | None = None
        """The exchange status last read (None: not yet)."""
        self.requests = 0

    watches_desk: Final = True
    """What a `RestPort <kalshi_fix_sansio.rest.RestPort>` knows it by: it runs under its
    session's lock and wakes its session's waiters."""

    # -- what the application asks ---------------------------------------------------------------

    def refresh(self, *pages: str) -> None:
        """Read these pages now (``queue_positions``, ``exchange_status``,
        ``exchange_schedule``; none named: every page the product has), then at their
        periods. A companion that ended must be run again.

        Raises:
            LocalProtocolError: a page the product has not.
        """
        for page in pages:
            if page not in self.every:
                raise LocalProtocolError(f"refresh takes one of {tuple(self.every)}, got {page!r}")
        with self.lock:  # the companion's thread reads them under it
            for page in pages or tuple(self.every):
                self._due[page] = -math.inf
            self.stopped = False

    def stop(self) -> None:
        """Read nothing more (the companion running it ends within a second)."""
        with self.lock:
            self.stopped = True
            self._due.clear()

    # -- what a REST companion calls (`kalshi_fix_sansio.rest.RestPort`) ------------------------

    @property
    def active(self) -> bool:
        """Something is to be read now or later (what a companion runs until it is False)."""
        return not self.stopped and (self._task is not None or bool(self._due))

    @property
    def wake_at(self) -> float | None:
        """When the next request may go (None: now, or nothing to send)."""
        if self._in_flight is not None:
            return None
        if self._task is not None:
            return self._task[1].wake_at
        return min(self._due.values()) if self._due else None

    @property
    def retrying_at(self) -> float | None:
        """When it reads next (a companion stops it once its session ended)."""
        return self.wake_at

    def next_request(self, now: float) -> RestRequest | None:
        """The next request to send at ``now`` (None: one in flight, or none due)."""
        if self._in_flight is not None or self.stopped:
            return None
        if self._task is None:
            due = [page for page, at in self._due.items() if at <= now]
            if not due:
                return None
            page = due[0]
            del self._due[page]
            params: tuple[tuple[str, str], ...] = ()
            if page == "queue_positions" and self.markets:
                params = (("market_tickers", ",".join(self.markets)),)
            self._task = (page, Pager(page, params=params))
        page, pager = self._task
        if pager.wake_at is not None and now < pager.wake_at:
            return None
        path = desk_path(self.product, page)
        creds = self.credentials
        headers = rest_headers(creds.key_id, creds.signer, "GET", path, now)
        self._in_flight = RestRequest(page, "GET", self.base_url, path, pager.params(), headers)
        self.requests += 1
        return self._in_flight

    def receive(self, response: RestResponse, now: float) -> list[Event]:
        """The answer to the request in flight; the events it gives (queued too)."""
        if self._in_flight is None or self._task is None:
            return []
        self._in_flight = None
        page, pager = self._task
        events = pager.receive(response, now)
        if not (pager.done or pager.failed):
            return self._sunk(events, now)  # a 429 / 5xx: asked again
        self._task = None
        self._again(page, now)
        if pager.failed:
            events = [
                RestProblem(e.endpoint, refusal(page, e.status, e.reason), e.record, e.status)
                if isinstance(e, RestProblem)
                else e
                for e in events
            ]
            return self._sunk(events, now)
        try:
            value = PARSERS[page](pager.records[0])  # the page, as JSON (the pager read it)
        except RemoteProtocolError as exc:
            return self._sunk([*events, RestProblem(page, str(exc))], now)
        return self._sunk([*events, *self._apply(page, value, now)], now)

    def unreachable(self, error: str, now: float) -> list[Event]:
        """The request in flight got no answer: asked again after a delay, as a 5xx is."""
        if self._in_flight is None or self._task is None:
            return []
        self._in_flight = None
        page, pager = self._task
        events = pager.receive(RestResponse(599), now)
        if pager.failed:
            self._task = None
            self._again(page, now)
            events = [RestProblem(page, f"{page}: no answer ({error}): given up until next time")]
        return self._sunk(events, now)

    # -- what the answers do -------------------------------------------------------------------

    def _again(self, page: str, now: float) -> None:
        every = self.every.get(page)
        if every is not None and not self.stopped and page not in self._due:
            self._due[page] = now + every

    def _sunk(self, events: list[Event], now: float) -> list[Event]:
        if events:
            self.sink(events, now)
        return events

    def _apply(self, page: str, value: Any, now: float) -> list[Event]:
        driver = self.driver
        if page == "queue_positions":
            driver.tracker.set_queue_positions(value, now)
            driver.metrics.queue_ahead = float(sum(p.ahead for p in value))
            return [QueuePositionsRead(value, now)]
        if page == "exchange_schedule":
            spans = [(w.start, w.end) for w in value.windows]
            driver.supervisor.backoff.maintenance = MaintenanceSchedule.from_windows(spans)
            return [ScheduleRead(value)]
        was, self.status = self.status, value
        gate = driver.gate
        if value.paused:
            gate.exchange_paused = value.reason
            if was is None or not was.paused:
                return [ExchangePaused(value)]
        else:
            gate.exchange_paused = None
            if was is not None and was.paused:
                return [ExchangeResumed(value)]
        return []


def serve_desk(companion: Any) -> Callable[..., Any]:
    """How a session's pump runs a watch in the background (``pump.spawn(serve_desk(c), c,
    watch)``): ``companion.run(watch)`` (awaited for an async companion), a failure logged on
    the session's logger, not raised to the thread or task."""
    if inspect.iscoroutinefunction(companion.run):

        async def served(companion: Any, watch: DeskWatch) -> None:
            try:
                await companion.run(watch)
            except Exception:
                watch.driver.logger.exception("the desk pages' REST companion failed")

        return served

    def serve(companion: Any, watch: DeskWatch) -> None:
        try:
            companion.run(watch)
        except Exception:
            watch.driver.logger.exception("the desk pages' REST companion failed")

    return serve

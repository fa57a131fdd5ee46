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
  stays the default while none was read); `ScheduleRead` is queued;
* the margin figures (margin: Kalshi's ``/margin/risk``, ``/margin/notional_risk_limit`` and
  ``/margin/risk_parameters``, read as a `MarginRiskFetch` does): the order gate judges the
  margin limits on them and the metrics show them (``session.margin_figures``);
  `MarginFiguresRead` is queued. Once none was read for ``margin_stale_after`` periods (reads
  refused or unanswered), they are stale: orders that take risk are refused with one line
  until a read comes (`MarginFiguresStale`).

It does no I/O and reads no clock: a REST companion runs it as it runs a reconciliation
(``RestCompanion().run(watch)``, in a thread; ``await AsyncRestCompanion().run(watch)`` in a
task), until `DeskWatch.stop` or the session's end. A page refused or unreadable is a
`RestProblem` event (403: the key lacks the permission), and the page is asked again at its
next period.
"""

from __future__ import annotations

import datetime
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, Final

import attrs

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
from ..rest.marginrisk import MarginFiguresRead, MarginFiguresStale, MarginRiskFetch
from ..rest.pages import Pager, RestProblem, RestRequest, RestResponse, check_positive, rest_headers
from ..session.events import Event
from ..trading.gate import ExchangePausedError
from ..trading.marginrisk import MarginFigures
from .reconnect import MaintenanceSchedule

__all__ = [  # the watch, its events and its refusal (the records: `kalshi_fix_sansio.rest.desk`)
    "DeskWatch",
    "ExchangePaused",
    "ExchangePausedError",
    "ExchangeResumed",
    "MarginFiguresRead",
    "MarginFiguresStale",
    "QueuePositionsRead",
    "ScheduleRead",
    "serve_desk",
]

_STATUS: Final = ("exchange_status", "exchange_schedule")


class DeskWatch:
    """Keep a session's queue positions, exchange status and schedule, and margin figures
    current (see the module).

    Args:
        target: a `Driver` made with ``rest=``, or a session of an adapter made with ``rest=``.
        queue_every: seconds between two reads of the queue positions (None: only on
            `refresh`).
        status_every: seconds between two reads of the exchange's status and schedule (None:
            only on `refresh`).
        markets: only these markets' queue positions.
        margin_every: margin: seconds between two reads of the margin figures (None: none
            read).
        margin_stale_after: margin figures with no read after them for this many
            ``margin_every`` periods are stale: orders that take risk are refused (None: the
            last ones read stay in force however old).

    Raises:
        LocalProtocolError: the session has no REST (``rest=``), a period is not above 0,
            queue positions on margin (Kalshi has none) or margin figures on prediction.
    """

    def __init__(
        self,
        target: object,
        *,
        queue_every: float | None = None,
        status_every: float | None = None,
        markets: Sequence[str] = (),
        margin_every: float | None = None,
        margin_stale_after: int | None = 3,
    ) -> None:
        driver: Any = getattr(target, "driver", target)
        rec = getattr(driver, "reconciliation", None)
        if rec is None:
            raise LocalProtocolError(
                "REST is off for this session: make it with rest=RestOptions(...) to read "
                "queue positions, the exchange's status or the margin figures"
            )
        product = driver.config.product
        if queue_every is not None and product != "prediction":
            raise LocalProtocolError("queue positions are prediction's only: no queue_every")
        if margin_every is not None and product != "margin":
            raise LocalProtocolError("margin figures are margin's only: no margin_every")
        periods = (
            ("queue_every", queue_every),
            ("status_every", status_every),
            ("margin_every", margin_every),
        )
        for name, every in periods:
            if every is not None:
                check_positive(name, every, integer=False)
        if margin_stale_after is not None:
            check_positive("margin_stale_after", margin_stale_after, integer=True)
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
        elif margin_every is not None:  # read only when asked for: a key may lack the right
            self.every["margin_figures"] = margin_every
        self.margin_stale_after = margin_stale_after
        self._stale_at: float | None = None  # when the figures read go stale
        self._figures: MarginFigures | None = None  # the ones this watch set
        self._due: dict[str, float] = {
            page: -math.inf for page, every in self.every.items() if every is not None
        }
        self._task: tuple[str, Pager | MarginRiskFetch] | None = None
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
        ``exchange_schedule``, ``margin_figures`` when watched; none named: every page
        watched), then at their periods. A companion that ended must be run again.

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
            wake = self._task[1].wake_at
            if wake is None:
                return None
            times = [wake]
        else:
            times = list(self._due.values())
        if self._stale_at is not None:
            times.append(self._stale_at)
        return min(times) if times else None

    @property
    def retrying_at(self) -> float | None:
        """When it reads next (a companion stops it once its session ended)."""
        return self.wake_at

    def next_request(self, now: float) -> RestRequest | None:
        """The next request to send at ``now`` (None: one in flight, or none due); margin
        figures read too long ago go stale here."""
        if self._stale_at is not None and now >= self._stale_at:
            self._go_stale(now)
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
            self._task = (page, self._pages(page, params))
        page, pager = self._task
        if isinstance(pager, MarginRiskFetch):
            self._in_flight = pager.next_request(now)
            self.requests += self._in_flight is not None
            return self._in_flight
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
        if isinstance(pager, MarginRiskFetch):
            return self._margin_answer(pager, pager.receive(response, now), now)
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
        if isinstance(pager, MarginRiskFetch):
            return self._margin_answer(pager, pager.unreachable(error, now), now)
        events = pager.receive(RestResponse(599), now)
        if pager.failed:
            self._task = None
            self._again(page, now)
            events = [RestProblem(page, f"{page}: no answer ({error}): given up until next time")]
        return self._sunk(events, now)

    # -- what the answers do -------------------------------------------------------------------

    def _pages(self, page: str, params: tuple[tuple[str, str], ...]) -> Pager | MarginRiskFetch:
        if page == "margin_figures":
            return MarginRiskFetch(self.credentials, base_url=self.base_url)
        return Pager(page, params=params)

    def _margin_answer(
        self, fetch: MarginRiskFetch, events: list[Event], now: float
    ) -> list[Event]:
        """A margin figures read's answer: the figures once every page is in, or one line
        saying why none (the figures set before stay until they go stale)."""
        if not fetch.done:
            return self._sunk(events, now)
        self._task = None
        self._again("margin_figures", now)
        events = [e for e in events if not isinstance(e, RestProblem)]
        if fetch.missing:
            why = fetch.refused or "; ".join(fetch.missing)
            events.append(RestProblem("margin_figures", f"margin_figures: {why}"))
        figures = fetch.figures
        if figures is not None:
            self._figures = self.driver.gate.margin_figures = figures  # the gauges too
            every, periods = self.every["margin_figures"], self.margin_stale_after
            if every is not None and periods is not None:
                self._stale_at = now + periods * every
            events.append(MarginFiguresRead(figures))
        return self._sunk(events, now)

    def _go_stale(self, now: float) -> None:
        """No figures read since the last ones for ``margin_stale_after`` periods: refuse on
        them (unless set by hand since), and say so."""
        self._stale_at = None
        figures, gate = self._figures, self.driver.gate
        if figures is None or gate.margin_figures is not figures:
            return
        periods = f"{self.margin_stale_after} x {self.every['margin_figures']:g} s"
        read = figures.fetched_at
        if read is None:
            reason = f"none read for {periods}"
        else:
            at = datetime.datetime.fromtimestamp(read, datetime.timezone.utc)
            reason = f"none read since {at:%Y-%m-%dT%H:%M:%SZ} ({periods})"
        self._figures = gate.margin_figures = attrs.evolve(figures, stale=reason)
        self._sunk([MarginFiguresStale(reason)], now)
        wake = getattr(getattr(self.driver, "pump", None), "wake", None)
        if wake is not None:
            wake()  # the session's waiters see the event now

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

"""The loop a one-pass REST fetch shares with its companion: one request at a time (sans-IO).

A market-history fetch (`kalshi_fix_sansio.rest.history.HistoryFetch`) and an instruments fetch
(`kalshi_fix_sansio.rest.instruments.InstrumentsFetch`) each hold a queue of paged requests
(``_tasks``: each with its ``kind``, ``pager`` and ``path``); `FetchLoop` gives a REST companion
what it calls of them, as of a reconciliation round: `FetchLoop.next_request`,
`FetchLoop.receive`, `FetchLoop.unreachable`, `FetchLoop.wake_at`. What an answer means is the
fetch's own ``_after``.
"""

from __future__ import annotations

from typing import Any, Final

from ..session import Credentials
from ..session.events import Event
from .pages import RestProblem, RestRequest, RestResponse, rest_headers

__all__ = ["FetchLoop"]


class FetchLoop:
    """The requests of a one-pass fetch, one at a time (see the module)."""

    credentials: Credentials | None
    base_url: str
    requests: int
    _tasks: list[Any]
    _in_flight: RestRequest | None

    @property
    def done(self) -> bool:
        """Every request answered or given up."""
        return not self._tasks and self._in_flight is None

    @property
    def active(self) -> bool:
        """Requests remain (what a REST companion runs until it is False)."""
        return not self.done

    retrying_at: Final = None
    """Never waiting to run again: a fetch is one pass (a companion asks, as of a round)."""

    def stop(self) -> None:
        """Nothing to give up: a fetch has no retry round (a companion may call it)."""

    @property
    def wake_at(self) -> float | None:
        """When the next request may go (after a 429 / 5xx); None: now, or nothing to send."""
        if self._in_flight is not None or not self._tasks:
            return None
        wake: float | None = self._tasks[0].pager.wake_at
        return wake

    def next_request(self, now: float) -> RestRequest | None:
        """The next request to send at ``now``: None while one is in flight, while waiting
        (`wake_at`), or when `done`."""
        if self._in_flight is not None or not self._tasks:
            return None
        task = self._tasks[0]
        if task.pager.wake_at is not None and now < task.pager.wake_at:
            return None
        creds = self.credentials
        headers = (
            rest_headers(creds.key_id, creds.signer, "GET", task.path, now)
            if creds is not None
            else {}
        )
        request = RestRequest(
            task.kind, "GET", self.base_url, task.path, task.pager.params(), headers
        )
        self._in_flight = request
        self.requests += 1
        return request

    def receive(self, response: RestResponse, now: float) -> list[Event]:
        """The answer to the request in flight; the events it gives."""
        if self._in_flight is None or not self._tasks:
            return []
        self._in_flight = None
        task = self._tasks[0]
        return self._after(task, task.pager.receive(response, now), now)

    def unreachable(self, error: str, now: float) -> list[Event]:
        """The request in flight got no answer (refused, timed out, TLS...): asked again after
        a delay, as a 5xx is."""
        if self._in_flight is None or not self._tasks:
            return []
        self._in_flight = None
        task = self._tasks[0]
        events = task.pager.receive(RestResponse(599), now)
        if task.pager.failed:
            tries = task.pager.max_retries + 1
            events = [RestProblem(task.kind, f"no answer ({error}), {tries} times: given up")]
        return self._after(task, events, now)

    def _after(self, task: Any, events: list[Event], now: float) -> list[Event]:
        """What the answer to ``task`` means: the fetch's own."""
        raise NotImplementedError

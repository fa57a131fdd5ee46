"""A one-pass fetch of an account's one-object pages (sans-IO): what the margin risk and the fee
fetches share (`kalshi_fix_sansio.rest.marginrisk`, `kalshi_fix_sansio.rest.fees`).

Each page is asked once (429 / 5xx again, as `Pager` does); a page that fails is named in
``missing``, a 401 or 403 says in ``refused`` why Kalshi refused the key, and a page the result
needs (not in ``optional``) ends the fetch when it fails. What an answer means is the fetch's
own ``_take``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from ..session import Credentials
from ..session.events import Event
from ._fetchloop import FetchLoop
from .pages import (
    Pager,
    RestProblem,
    RestRequest,
    check_base_url,
    check_positive,
    rest_base_url,
)

__all__ = ["AccountPages"]


@attrs.define
class _Task:
    kind: str
    pager: Pager
    path: str


class AccountPages(FetchLoop):
    """The pages ``(kind, path)`` asked in order (see the module), from Kalshi's host of
    ``environment`` or ``base_url``.

    Raises:
        LocalProtocolError: ``max_retries``, ``retry_delay`` or the host out of range (named).
    """

    def __init__(
        self,
        pages: Iterable[tuple[str, str]],
        *,
        credentials: Credentials | None,
        environment: str,
        base_url: str | None,
        max_retries: int,
        retry_delay: float,
        optional: Iterable[str] = (),
    ) -> None:
        check_positive("max_retries", max_retries, integer=True)
        check_positive("retry_delay", retry_delay, integer=False)
        self.credentials = credentials
        self.base_url = (
            check_base_url(base_url) if base_url is not None else rest_base_url(environment)
        )
        self.missing: list[str] = []
        """What could not be fetched or read: one line each."""
        self.refused: str | None = None
        """Why Kalshi refused the key (401, 403), in one line (None: it did not)."""
        self.events: list[Event] = []
        """Every event of the answers (`RestRateLimited`, `RestProblem`)."""
        self.requests = 0
        self._optional = frozenset(optional)
        self._in_flight: RestRequest | None = None
        self._tasks: list[Any] = [
            _Task(kind, Pager(kind, max_retries=max_retries, retry_delay=retry_delay), path)
            for kind, path in pages
        ]

    def _after(self, task: Any, events: list[Event], now: float) -> list[Event]:
        self.events += events
        pager: Pager = task.pager
        if pager.failed:
            self._tasks.pop(0)
            reason = next((e.reason for e in events if isinstance(e, RestProblem)), "refused")
            reason = reason.replace(" (reconcile again later)", "")
            if pager.status in (401, 403) and self.refused is None:
                self.refused = _refusal(pager.status, task.path)
            self.missing.append(f"{task.path}: not fetched ({reason})")
            if task.kind not in self._optional:
                self._tasks.clear()  # no result without it: the rest is not asked
            return events
        if pager.done:
            self._tasks.pop(0)
            self._take(task.kind, task.path, pager.records[0], now)
        return events

    def _take(self, kind: str, path: str, page: dict[str, Any], now: float) -> None:
        """What one page read means: the fetch's own."""
        raise NotImplementedError


def _refusal(status: int, path: str) -> str:
    if status == 403:
        return f"Kalshi refused {path} (403): the API key lacks the permission to read it"
    return (
        f"Kalshi refused {path} (401): the signature was not accepted (check the API key id, "
        "its private key, and the clock)"
    )

"""The desk's REST pages, sans-IO: queue positions of resting orders, the exchange's status and
its schedule.

This module never does I/O and never reads the clock (time is an argument). It builds the
signed requests and reads the answers of Kalshi's Trade API v2 pages a desk reads every day
beside its FIX sessions (paths under ``/trade-api/v2``):

* ``GET /portfolio/orders/queue_positions`` (prediction; ``market_tickers``, ``event_ticker``
  filter it): ``{"queue_positions": [{"order_id", "market_ticker", "queue_position_fp"}]}``,
  the contracts ahead of each resting order of the key's account (price-time priority);
* ``GET /portfolio/orders/{order_id}/queue_position`` (prediction): ``{"queue_position_fp"}``;
* ``GET /exchange/status`` (prediction) and ``GET /margin/exchange/status`` (margin):
  ``exchange_active``, ``trading_active`` and, prediction only, the nullable
  ``exchange_estimated_resume_time``;
* ``GET /exchange/schedule`` (prediction): ``{"schedule": {"standard_hours": [...],
  "maintenance_windows": [{"start_datetime", "end_datetime"}]}}``.

Every field is checked before use: a page that is not Kalshi's shape raises
`RemoteProtocolError` naming the field (`parse_queue_positions`, `parse_queue_position`,
`parse_exchange_status`, `parse_exchange_schedule`). `DeskFetch` reads a set of these pages
once (the REST companion runs it, as an instruments fetch); its answers are kept and each
refusal is one line in `DeskFetch.missing` (403: the key lacks the permission).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import quote

import attrs

from ..codec.errors import LocalProtocolError, RemoteProtocolError
from ..session import Credentials
from ..session.events import Event
from ._fetchloop import FetchLoop
from .pages import (
    API_PREFIX,
    Pager,
    RestProblem,
    check_base_url,
    rest_base_url,
    rest_path,
)

__all__ = [
    "DESK_PAGES",
    "DeskFetch",
    "ExchangePaused",
    "ExchangeResumed",
    "ExchangeSchedule",
    "ExchangeStatus",
    "QueuePosition",
    "QueuePositionsRead",
    "ScheduleRead",
    "ScheduleWindow",
    "desk_path",
    "parse_exchange_schedule",
    "parse_exchange_status",
    "parse_queue_position",
    "parse_queue_positions",
    "queue_log_line",
    "read_queue_log_line",
    "refusal",
]

DESK_PAGES: Final = ("queue_positions", "queue_position", "exchange_status", "exchange_schedule")
"""The pages this module reads, by the names `desk_path` takes (``queue_positions``,
``queue_position`` and ``exchange_schedule`` are prediction's only)."""

_MAX_TEXT: Final = 128  # the longest order id, ticker or date-time read


# --------------------------------------------------------------------------------------------
# Records


@attrs.frozen(slots=True)
class QueuePosition:
    """One resting order's place in its level's queue, as Kalshi's REST API tells it.

    Attributes:
        order_id: Kalshi's order id (the FIX OrderID).
        market: the market ticker.
        ahead: the contracts that must trade before the order fills (price-time priority).
    """

    order_id: str
    market: str
    ahead: Decimal


@attrs.frozen(slots=True)
class ExchangeStatus:
    """The exchange's status (``GET /exchange/status``, margin ``/margin/exchange/status``).

    Attributes:
        exchange_active: False while the exchange is down (maintenance).
        trading_active: False while trading is paused (on every market).
        resume_time: when Kalshi expects the exchange back, UTC epoch seconds (None: not
            said; margin never says).
    """

    exchange_active: bool
    trading_active: bool
    resume_time: float | None = None

    @property
    def paused(self) -> bool:
        """Trading is not possible now (the exchange down or trading paused)."""
        return not (self.exchange_active and self.trading_active)

    @property
    def reason(self) -> str:
        """The pause in words (empty when trading is active)."""
        if not self.exchange_active:
            return "the exchange is inactive (Kalshi's exchange status)"
        if not self.trading_active:
            return "trading is paused by the exchange (Kalshi's exchange status)"
        return ""


@attrs.frozen(slots=True)
class ScheduleWindow:
    """One maintenance window of Kalshi's schedule, UTC epoch seconds (``end`` after
    ``start``)."""

    start: float
    end: float


@attrs.frozen(slots=True)
class ExchangeSchedule:
    """Kalshi's maintenance windows (``GET /exchange/schedule``), earliest first.

    Attributes:
        windows: the maintenance windows Kalshi announces.
    """

    windows: tuple[ScheduleWindow, ...]

    def window(self, now: float) -> ScheduleWindow | None:
        """The window ``now`` falls in, or None."""
        for one in self.windows:
            if one.start <= now < one.end:
                return one
        return None


# --------------------------------------------------------------------------------------------
# Events


@attrs.frozen(slots=True)
class QueuePositionsRead(Event):
    """Kalshi's queue positions of the session's resting orders were read (the tracker shows
    them: ``tracker.queue_ahead``).

    Attributes:
        positions: every resting order's, as read.
        at: when they were read, UTC epoch seconds.
    """

    positions: tuple[QueuePosition, ...]
    at: float


@attrs.frozen(slots=True)
class ExchangePaused(Event):
    """Kalshi's exchange status says trading is paused (or the exchange is down): from now on
    orders, replaces and quote messages are refused before the wire (`ExchangePausedError`
    of ``kalshi_fix_sansio.trading.gate``) until `ExchangeResumed`; cancels still go.

    Attributes:
        status: the status read.
    """

    status: ExchangeStatus


@attrs.frozen(slots=True)
class ExchangeResumed(Event):
    """Kalshi's exchange status says trading is active again after an `ExchangePaused`.

    Attributes:
        status: the status read.
    """

    status: ExchangeStatus


@attrs.frozen(slots=True)
class ScheduleRead(Event):
    """Kalshi's schedule was read: its maintenance windows are the ones the session's
    reconnection waits out from now on (instead of the fixed Thursday window).

    Attributes:
        schedule: the schedule read.
    """

    schedule: ExchangeSchedule


# --------------------------------------------------------------------------------------------
# Paths and requests


def desk_path(product: str, page: str, order_id: str | None = None) -> str:
    """The full path of one of `DESK_PAGES` for a product (``queue_position``: of
    ``order_id``).

    Raises:
        LocalProtocolError: an unknown product or page, a page the product has not, or a
            ``queue_position`` without an order id.
    """
    if page != "queue_position":
        return rest_path(product, page)
    if product != "prediction":
        raise LocalProtocolError(f"queue_position is prediction's only, not {product}'s")
    if not isinstance(order_id, str) or not 0 < len(order_id) <= _MAX_TEXT:
        raise LocalProtocolError(f"queue_position needs an order id, got {order_id!r}")
    return f"{API_PREFIX}/portfolio/orders/{quote(order_id, safe='')}/queue_position"


def refusal(page: str, status: int | None, reason: str) -> str:
    """One line saying why a page could not be read (403 and 401 said in words)."""
    if status == 403:
        return f"{page}: 403 forbidden: the API key lacks the permission to read it"
    if status == 401:
        return f"{page}: 401 unauthorized: Kalshi refused the key's signature"
    return f"{page}: {reason}"


# --------------------------------------------------------------------------------------------
# Parsers


def _problem(page: str, text: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"{page}: {text}")


def _object(page: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _problem(page, f"the answer is not a JSON object: {str(value)[:80]!r}")
    return value


def _text(page: str, record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_TEXT:
        raise _problem(page, f"{name} is not a string of 1 to {_MAX_TEXT} characters: {value!r}")
    return value


def _count(page: str, record: dict[str, Any]) -> Decimal:
    """``queue_position_fp`` (else the legacy integer ``queue_position``): contracts >= 0."""
    value = record.get("queue_position_fp")
    name = "queue_position_fp"
    if value is None:
        value, name = record.get("queue_position"), "queue_position"
    if isinstance(value, bool) or not isinstance(value, (str, int)) or len(str(value)) > 32:
        raise _problem(page, f"{name} is not a contract count: {value!r}")
    try:
        count = Decimal(value)
    except InvalidOperation:
        raise _problem(page, f"{name} is not a contract count: {value!r}") from None
    if not count.is_finite() or count < 0:
        raise _problem(page, f"{name} is not a contract count >= 0: {value!r}")
    return count


def _flag(page: str, record: dict[str, Any], name: str) -> bool:
    value = record.get(name)
    if not isinstance(value, bool):
        raise _problem(page, f"{name} is not true or false: {value!r}")
    return value


def _moment(page: str, name: str, value: object) -> float:
    if isinstance(value, str) and 0 < len(value) <= _MAX_TEXT:
        try:
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.timestamp()
    raise _problem(page, f"{name} is not an RFC 3339 date-time with a zone: {value!r}")


def parse_queue_positions(page: object) -> tuple[QueuePosition, ...]:
    """The queue positions of ``GET /portfolio/orders/queue_positions``'s answer (parsed
    JSON); a null list is none.

    Raises:
        RemoteProtocolError: not Kalshi's shape (the field named).
    """
    body = _object("queue_positions", page)
    rows = body.get("queue_positions")
    if rows is None:
        return ()
    if not isinstance(rows, list):
        raise _problem("queue_positions", "queue_positions is not a list")
    out = []
    for row in rows:
        record = _object("queue_positions", row)
        out.append(
            QueuePosition(
                _text("queue_positions", record, "order_id"),
                _text("queue_positions", record, "market_ticker"),
                _count("queue_positions", record),
            )
        )
    return tuple(out)


def parse_queue_position(page: object) -> Decimal:
    """The contracts ahead in ``GET /portfolio/orders/{order_id}/queue_position``'s answer.

    Raises:
        RemoteProtocolError: not Kalshi's shape.
    """
    return _count("queue_position", _object("queue_position", page))


def parse_exchange_status(page: object) -> ExchangeStatus:
    """``GET /exchange/status`` (or ``/margin/exchange/status``)'s answer.

    Raises:
        RemoteProtocolError: not Kalshi's shape (the field named).
    """
    body = _object("exchange_status", page)
    resume = body.get("exchange_estimated_resume_time")
    return ExchangeStatus(
        _flag("exchange_status", body, "exchange_active"),
        _flag("exchange_status", body, "trading_active"),
        None
        if resume is None
        else _moment("exchange_status", "exchange_estimated_resume_time", resume),
    )


def parse_exchange_schedule(page: object) -> ExchangeSchedule:
    """The maintenance windows of ``GET /exchange/schedule``'s answer (``{"schedule":
    {...}}``), earliest first; a null list is none.

    Raises:
        RemoteProtocolError: not Kalshi's shape, or a window that does not end after it starts.
    """
    body = _object("exchange_schedule", page)
    schedule = _object("exchange_schedule", body.get("schedule", body))
    rows = schedule.get("maintenance_windows")
    if rows is not None and not isinstance(rows, list):
        raise _problem("exchange_schedule", "maintenance_windows is not a list")
    windows = []
    for row in rows or ():
        record = _object("exchange_schedule", row)
        start = _moment("exchange_schedule", "start_datetime", record.get("start_datetime"))
        end = _moment("exchange_schedule", "end_datetime", record.get("end_datetime"))
        if not end > start:
            raise _problem("exchange_schedule", f"a window ends before it starts: {record!r}")
        windows.append(ScheduleWindow(start, end))
    return ExchangeSchedule(tuple(sorted(windows, key=lambda w: w.start)))


PARSERS: Final[Mapping[str, Callable[[object], Any]]] = {
    "queue_positions": parse_queue_positions,
    "queue_position": parse_queue_position,
    "exchange_status": parse_exchange_status,
    "exchange_schedule": parse_exchange_schedule,
}
"""Each page's parser (of its parsed JSON)."""


# --------------------------------------------------------------------------------------------
# Queue positions kept as text (what fit-queue and compare-live take as the truth)


def queue_log_line(positions: Iterable[QueuePosition], at: float) -> str:
    """One line of a queue-positions log: the positions read at ``at`` (UTC epoch seconds) as
    JSON, ``{"at": ..., "positions": [{"order_id", "market", "ahead"}]}`` (``ahead`` a decimal
    string). ``kalshi-fix queue --record FILE`` appends one per read; so may your program on
    each `QueuePositionsRead`."""
    rows = [{"order_id": p.order_id, "market": p.market, "ahead": str(p.ahead)} for p in positions]
    return json.dumps({"at": at, "positions": rows}, sort_keys=True)


def read_queue_log_line(line: str) -> tuple[float, tuple[QueuePosition, ...]]:
    """``(at, positions)`` of a `queue_log_line`.

    Raises:
        LocalProtocolError: not such a line (what is wrong named).
    """
    try:
        body = json.loads(line)
    except (ValueError, RecursionError):
        raise LocalProtocolError("not JSON") from None
    at = body.get("at") if isinstance(body, dict) else None
    rows = body.get("positions") if isinstance(body, dict) else None
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not isinstance(rows, list):
        raise LocalProtocolError('not a queue-positions line: {"at": seconds, "positions": [...]}')
    out = []
    for row in rows:
        if not isinstance(row, dict):
            raise LocalProtocolError(f"a position is not an object: {str(row)[:60]!r}")
        try:
            ahead = Decimal(str(row.get("ahead")))
        except InvalidOperation:
            ahead = Decimal("NaN")
        order_id, market = row.get("order_id"), row.get("market", "")
        if not isinstance(order_id, str) or not isinstance(market, str):
            raise LocalProtocolError(f"order_id and market are strings: {str(row)[:60]!r}")
        if not ahead.is_finite() or ahead < 0:
            raise LocalProtocolError(f"ahead is not a contract count: {row.get('ahead')!r}")
        out.append(QueuePosition(order_id, market, ahead))
    return float(at), tuple(out)


# --------------------------------------------------------------------------------------------
# One pass over some pages


@attrs.define
class _Task:
    kind: str
    path: str
    pager: Pager
    order_id: str | None = None


class DeskFetch(FetchLoop):
    """Read some of the desk's pages once (a REST companion runs it to its end, as an
    instruments fetch: ``RestCompanion().run(fetch)``).

    Args:
        product: ``"prediction"`` or ``"margin"``.
        pages: which of `DESK_PAGES` to read (``queue_position`` once per ``order_ids``).
        credentials: the API key to sign with (needed by the queue pages; the status and
            schedule pages are public).
        environment: ``"demo"`` or ``"production"`` (Kalshi's host) ...
        base_url: ... or ``https://host[:port]`` instead (a mock gateway's ``--rest``).
        markets: only these markets' queue positions (``market_tickers``).
        event: only this event's queue positions (``event_ticker``).
        order_ids: the orders whose ``queue_position`` is read.
        max_retries: 429 / 5xx answers of one page before it is given up.

    Attributes:
        positions: the queue positions read (``queue_positions``; ``queue_position`` adds one
            per order, its market empty).
        status: the exchange status read, or None.
        schedule: the schedule read, or None.
        missing: one line per page that could not be read (what, why).

    Raises:
        LocalProtocolError: a bad argument (named), before any request.
    """

    def __init__(
        self,
        product: str,
        pages: Iterable[str],
        *,
        credentials: Credentials | None = None,
        environment: str = "demo",
        base_url: str | None = None,
        markets: Sequence[str] = (),
        event: str | None = None,
        order_ids: Sequence[str] = (),
        max_retries: int = 4,
    ) -> None:
        self.product = product
        self.credentials = credentials
        self.base_url = check_base_url(base_url) if base_url else rest_base_url(environment)
        self.requests = 0
        self.positions: list[QueuePosition] = []
        self.status: ExchangeStatus | None = None
        self.schedule: ExchangeSchedule | None = None
        self.missing: list[str] = []
        self._in_flight = None
        self._tasks: list[_Task] = []
        for page in dict.fromkeys(pages):
            if page not in DESK_PAGES:
                raise LocalProtocolError(f"pages must be among {DESK_PAGES}, got {page!r}")
            if page in ("queue_positions", "queue_position") and credentials is None:
                raise LocalProtocolError(f"{page} is read with an API key: give credentials")
            params: list[tuple[str, str]] = []
            if page == "queue_positions":
                if markets:
                    params.append(("market_tickers", ",".join(markets)))
                if event:
                    params.append(("event_ticker", event))
            ids = order_ids if page == "queue_position" else (None,)
            if page == "queue_position" and not ids:
                raise LocalProtocolError("queue_position needs order_ids")
            for order_id in ids:
                pager = Pager(page, max_retries=max_retries, params=params)
                path = desk_path(product, page, order_id)
                self._tasks.append(_Task(page, path, pager, order_id))

    def _after(self, task: _Task, events: list[Event], now: float) -> list[Event]:
        pager = task.pager
        if not (pager.done or pager.failed):
            return events  # asked again later
        self._tasks.pop(0)
        for event in events:
            if isinstance(event, RestProblem):
                self.missing.append(refusal(task.kind, event.status, event.reason))
        if pager.done:
            try:
                value = PARSERS[task.kind](pager.records[0])
            except RemoteProtocolError as exc:
                self.missing.append(str(exc))
                return events
            if task.kind == "queue_positions":
                self.positions.extend(value)
            elif task.kind == "queue_position":
                self.positions.append(QueuePosition(str(task.order_id), "", value))
            elif task.kind == "exchange_status":
                self.status = value
            else:
                self.schedule = value
        return events

"""Kalshi's REST portfolio pages as sans-IO requests and answers (the REST companion's protocol).

This module never does I/O and never reads the clock (time is an argument). It builds the
signed requests of Kalshi's Trade API v2 and checks the answers; the thin I/O part
(`kalshi_fix_sansio.adapters.rest`, the ``rest`` extra) only sends them and sleeps.

* Where: `rest_base_url` gives Kalshi's documented REST host of an environment (``demo`` or
  ``production``, as the FIX endpoints); `rest_path` the path of an endpoint of a product:
  prediction under ``/trade-api/v2/portfolio/`` (``orders``, ``fills``, ``positions``),
  ``/trade-api/v2/account/limits`` and Kalshi's historical cutoff and pages
  (``/trade-api/v2/historical/cutoff``, ``fills``, ``orders``: where Kalshi moves the fills and
  finished orders older than its cutoff), margin under ``/trade-api/v2/margin/`` and
  ``/trade-api/v2/account/limits/perps``.
* Records (`order_status`): Kalshi's published shape (its OpenAPI); a margin order record has
  no ``status``: it is told from ``remaining_count`` and ``last_update_reason``.
* Signing (`rest_headers`): Kalshi's three headers ``KALSHI-ACCESS-KEY`` (the API key id),
  ``KALSHI-ACCESS-TIMESTAMP`` (milliseconds) and ``KALSHI-ACCESS-SIGNATURE``: base64 of the
  signature over timestamp + method + path (the path without its query), made by the same
  `kalshi_fix_sansio.session.auth.Signer` as the FIX Logon (RSA-PSS with SHA-256 for Kalshi's keys).
* Pages (`Pager`): one endpoint's records, page by page by ``cursor``; a cursor seen twice, a
  page that is not what the endpoint answers, too many pages, 401 and other refusals end it
  with a `RestProblem`; 429 and 5xx are asked again after a delay (``Retry-After`` when the
  answer gives one, bounded), with a `RestRateLimited` for each 429, until ``max_retries``.

Nothing but events comes out of bad input: every record, cursor and header is checked and
bounded before use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import attrs

from ..codec.errors import LocalProtocolError
from ..session.auth import Signer, signature_b64
from ..session.events import Event

__all__ = [
    "API_PREFIX",
    "ENDPOINT_NAMES",
    "REST_HOSTS",
    "Pager",
    "RestContradiction",
    "RestProblem",
    "RestRateLimited",
    "RestRequest",
    "RestResponse",
    "order_status",
    "rest_base_url",
    "rest_headers",
    "rest_path",
    "rest_signature_payload",
]

REST_HOSTS: Final[Mapping[str, str]] = {
    "demo": "external-api.demo.kalshi.co",
    "production": "external-api.kalshi.com",
}
"""Kalshi's documented REST host per environment (both products share it)."""

API_PREFIX: Final = "/trade-api/v2"
"""The path every Trade API v2 endpoint starts with (and is signed with)."""

_PATHS: Final[Mapping[str, Mapping[str, str]]] = {
    "prediction": {
        "orders": "/portfolio/orders",
        "fills": "/portfolio/fills",
        "positions": "/portfolio/positions",
        "limits": "/account/limits",
        "cutoff": "/historical/cutoff",
        "historical_fills": "/historical/fills",
        "historical_orders": "/historical/orders",
        "queue_positions": "/portfolio/orders/queue_positions",  # `kalshi_fix_sansio.rest.desk`
        "exchange_status": "/exchange/status",
        "exchange_schedule": "/exchange/schedule",
    },
    "margin": {
        "orders": "/margin/orders",
        "fills": "/margin/fills",
        "positions": "/margin/positions",
        "limits": "/account/limits/perps",
        "exchange_status": "/margin/exchange/status",  # `kalshi_fix_sansio.rest.desk`
    },
}

ENDPOINT_NAMES: Final = (
    "orders",
    "fills",
    "positions",
    "limits",
    "cutoff",
    "historical_fills",
    "historical_orders",
)
"""The endpoints this library reads, by the names `rest_path` takes. ``cutoff`` (Kalshi's
``GET /historical/cutoff``), ``historical_fills`` and ``historical_orders`` are prediction's
only: Kalshi moves fills and finished orders older than its cutoff there."""

LIST_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "orders": ("orders",),
    "fills": ("fills",),
    "positions": ("market_positions", "positions"),
    "historical_fills": ("fills",),
    "historical_orders": ("orders",),
    "trades": ("trades",),
    "historical_trades": ("trades",),
    "margin_trades": ("trades",),
    "funding_rates": ("funding_rates",),
    "events": ("events",),
    "markets": ("markets",),
    "margin_markets": ("markets",),
}
"""The key of each paged endpoint's list of records (the first one present is read); an
endpoint not in it (``cutoff``, a market's candlesticks or order book: `kalshi_fix_sansio.rest.history`)
answers one object, the page's only record."""

MAX_CURSOR: Final = 1024
"""The longest cursor accepted (Kalshi documents none; longer is treated as malformed)."""
MAX_RETRY_AFTER: Final = 60.0
"""The longest ``Retry-After`` honoured, seconds (a larger one is cut to this)."""


def rest_base_url(environment: str) -> str:
    """``https://<host>`` of Kalshi's REST API in ``environment`` (``demo`` / ``production``).

    Raises:
        LocalProtocolError: another environment.
    """
    host = REST_HOSTS.get(environment)
    if host is None:
        raise LocalProtocolError(f"environment must be 'demo' or 'production', got {environment!r}")
    return f"https://{host}"


def rest_path(product: str, endpoint: str) -> str:
    """The full path (with `API_PREFIX`) of one of `ENDPOINT_NAMES` for a product.

    Raises:
        LocalProtocolError: an unknown product or endpoint.
    """
    paths = _PATHS.get(product)
    if paths is None:
        raise LocalProtocolError(f"product must be 'prediction' or 'margin', got {product!r}")
    path = paths.get(endpoint)
    if path is None:
        names = tuple(paths)
        raise LocalProtocolError(f"endpoint must be one of {names} for {product}, got {endpoint!r}")
    return API_PREFIX + path


def rest_signature_payload(timestamp_ms: str, method: str, path: str) -> bytes:
    """What a REST request's signature covers: timestamp + METHOD + path (no query)."""
    return f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}".encode()


def rest_headers(key_id: str, signer: Signer, method: str, path: str, now: float) -> dict[str, str]:
    """Kalshi's three authentication headers of a request made at ``now`` (UTC epoch seconds).

    Args:
        key_id: the API key id (the FIX SenderCompID).
        signer: the key's signer (the FIX Logon's).
        method: ``GET`` ...
        path: the request's path, `API_PREFIX` included (a query is ignored).
        now: the time of the request.
    """
    stamp = str(int(now * 1000))
    payload = rest_signature_payload(stamp, method, path)
    return {
        "KALSHI-ACCESS-KEY": key_id,
        "KALSHI-ACCESS-TIMESTAMP": stamp,
        "KALSHI-ACCESS-SIGNATURE": signature_b64(signer, payload),
    }


@attrs.frozen
class RestRequest:
    """One HTTP request to send as it is (the I/O part adds nothing).

    Attributes:
        endpoint: which endpoint (one of `ENDPOINT_NAMES`), for events.
        method: ``GET``.
        base_url: ``https://host[:port]``.
        path: the path (signed).
        params: the query, in order.
        headers: the signed headers.
    """

    endpoint: str
    method: str
    base_url: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)

    @property
    def url(self) -> str:
        """The whole URL, query included."""
        query = urlencode(self.params)
        return f"{self.base_url}{self.path}" + (f"?{query}" if query else "")


@attrs.frozen
class RestResponse:
    """What came back: the status, the headers (names in any case) and the body bytes."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def header(self, name: str) -> str | None:
        """A header's value, whatever the case of its name."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


def check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash, checked to be ``https://host[:port]``.

    Raises:
        LocalProtocolError: not such a URL.
    """
    parts = urlsplit(base_url) if isinstance(base_url, str) else None
    if (
        parts is None
        or parts.scheme != "https"
        or not parts.hostname
        or parts.path not in ("", "/")
    ):
        raise LocalProtocolError(
            f"base_url must be https://host[:port] (Kalshi's REST API speaks TLS only), "
            f"got {base_url!r}"
        )
    return base_url.rstrip("/")


def check_positive(name: str, value: object, *, integer: bool) -> None:
    """An option that must be above 0 (an int with ``integer``, else any number).

    Raises:
        LocalProtocolError: another value (named).
    """
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        raise LocalProtocolError(
            f"{name} must be {'an int' if integer else 'a number'} > 0, got {value!r}"
        )


# --------------------------------------------------------------------------------------------
# Events


@attrs.frozen(slots=True)
class RestProblem(Event):
    """A REST answer could not be used: nothing from it was applied.

    Attributes:
        endpoint: which endpoint (``fills``, ``orders``...).
        reason: what is wrong, in words.
        record: the offending record (or page, cut to 300 characters), if one is to blame.
        status: the HTTP status, if the problem is one.
    """

    endpoint: str
    reason: str
    record: str | None = None
    status: int | None = None


@attrs.frozen(slots=True)
class RestRateLimited(Event):
    """Kalshi answered 429 (too many requests): the same page is asked again later.

    Attributes:
        endpoint: which endpoint.
        retry_in: seconds until it is asked again.
        attempt: how many times this page was refused so far.
    """

    endpoint: str
    retry_in: float
    attempt: int


@attrs.frozen(slots=True)
class RestContradiction(Event):
    """A REST record disagrees with what FIX (or a drop-copy replay) already told the tracker:
    the tracker keeps what it had (never a silent overwrite).

    Attributes:
        endpoint: which endpoint.
        record: the record, cut to 300 characters.
        reason: the disagreement, in words.
    """

    endpoint: str
    record: str
    reason: str


MARGIN_CANCEL_REASONS: Final = frozenset(
    {"Decrease", "MarginCancel", "SelfTradeCancel", "ExpiryCancel", "PostOnlyCrossCancel"}
)
"""Kalshi's ``last_update_reason`` values of a margin order that ended without filling in full
(a cancel is a decrease to zero)."""


def order_status(record: Mapping[str, Any]) -> str | None:
    """An order record's status: its ``status`` (prediction), else what a margin order record
    says without one: ``resting`` while ``remaining_count`` is above zero, then ``canceled``
    when its ``last_update_reason`` is one of `MARGIN_CANCEL_REASONS`, else ``executed``.
    None: neither can be read."""
    status = record.get("status")
    if status is not None:
        return status if isinstance(status, str) else None
    remaining = record.get("remaining_count")
    if not isinstance(remaining, str) or not 0 < len(remaining) <= 32:
        return None
    try:
        left = Decimal(remaining)
    except InvalidOperation:
        return None
    if not left.is_finite() or left < 0:
        return None
    if left > 0:
        return "resting"
    reason = record.get("last_update_reason")
    return "canceled" if reason in MARGIN_CANCEL_REASONS else "executed"


def shown(record: object) -> str:
    """A record as JSON text, at most 300 characters (for events)."""
    try:
        text = json.dumps(record, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(record)
    return text if len(text) <= 300 else text[:297] + "..."


# --------------------------------------------------------------------------------------------
# Pages


def _retry_after(response: RestResponse) -> float | None:
    value = response.header("Retry-After")
    if value is None or not 0 < len(value) <= 8:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not seconds >= 0:  # NaN too
        return None
    return min(seconds, MAX_RETRY_AFTER)


class Pager:
    """The records of one paged endpoint, page by page by cursor (sans-IO).

    Ask `params` for the next page's query, hand its answer to `receive`; `done` when every
    page is in (`records`), `failed` when it cannot be (a `RestProblem` said why).

    Args:
        endpoint: the endpoint's name (``fills``, ``orders``, ``positions``).
        page_size: ``limit`` asked per page.
        max_pages: pages read at most (more is treated as pagination gone wrong).
        max_retries: 429 / 5xx answers of one page before it is given up.
        retry_delay: the first delay after a 429 / 5xx without ``Retry-After`` (doubling).
        params: more query parameters for every page.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        page_size: int = 200,
        max_pages: int = 100,
        max_retries: int = 4,
        retry_delay: float = 0.5,
        params: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.endpoint = endpoint
        self.page_size = page_size
        self.max_pages = max_pages
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.extra = tuple(params)
        self.records: list[dict[str, Any]] = []
        self.cursor: str | None = None
        self.pages = 0
        self.done = False
        self.failed = False
        self.wake_at: float | None = None
        """When the page refused (429 / 5xx) may be asked again (None: now)."""
        self.status: int | None = None
        """The HTTP status it failed on (None: not failed, or on what a page held)."""
        self._cursors: set[str] = set()
        self._attempts = 0

    def params(self) -> tuple[tuple[str, str], ...]:
        """The next page's query."""
        if self.endpoint not in LIST_KEYS:  # one object: no page to size
            return self.extra
        query = [("limit", str(self.page_size)), *self.extra]
        if self.cursor:
            query.append(("cursor", self.cursor))
        return tuple(query)

    def _fail(self, reason: str, record: object = None, status: int | None = None) -> Event:
        self.failed = True
        self.status = status
        return RestProblem(self.endpoint, reason, None if record is None else shown(record), status)

    def receive(self, response: RestResponse, now: float) -> list[Event]:
        """Take one page's answer; returns the events it gives (problems, rate limits)."""
        status = response.status
        if status == 429 or 500 <= status <= 599:
            self._attempts += 1
            if self._attempts > self.max_retries:
                what = "rate limited (429)" if status == 429 else f"server error {status}"
                return [
                    self._fail(
                        f"{what} {self._attempts} times in a row on page {self.pages + 1}: "
                        "given up (reconcile again later)",
                        status=status,
                    )
                ]
            delay = _retry_after(response)
            if delay is None:
                delay = self.retry_delay * 2 ** (self._attempts - 1)
            self.wake_at = now + delay
            if status == 429:
                return [RestRateLimited(self.endpoint, delay, self._attempts)]
            return []
        self.wake_at = None
        if status == 401:
            return [
                self._fail(
                    "401 unauthorized: Kalshi refused the signature (check the API key id, "
                    "its private key, and the clock)",
                    status=status,
                )
            ]
        if status != 200:
            return [
                self._fail(
                    f"HTTP status {status}", response.body[:300].decode("utf-8", "replace"), status
                )
            ]
        self._attempts = 0
        return self._page(response.body)

    def _page(self, body: bytes) -> list[Event]:
        try:
            page = json.loads(body)
        except (ValueError, RecursionError):
            return [self._fail("the page is not JSON", body[:300].decode("utf-8", "replace"))]
        if not isinstance(page, dict):
            return [self._fail("the page is not a JSON object", page)]
        if self.endpoint not in LIST_KEYS:  # one object, not a list
            self.pages += 1
            self.records.append(page)
            self.done = True
            return []
        keys = LIST_KEYS[self.endpoint]
        key = next((k for k in keys if k in page), None)
        entries = page.get(key) if key is not None else None
        if not isinstance(entries, list):
            return [self._fail(f"the page has no {' or '.join(keys)} list", page)]
        if len(entries) > self.page_size:
            return [
                self._fail(
                    f"the page holds {len(entries)} records, more than the limit of "
                    f"{self.page_size} asked: pagination is not what was asked for",
                    page,
                )
            ]
        for entry in entries:
            if not isinstance(entry, dict):
                return [self._fail("a record is not a JSON object", entry)]
        cursor = page.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            return [self._fail("the cursor is not a string", page)]
        if cursor and (
            len(cursor) > MAX_CURSOR or not cursor.isascii() or not cursor.isprintable()
        ):
            return [
                self._fail("the cursor is not printable ASCII of at most 1024 characters", cursor)
            ]
        self.pages += 1
        self.records.extend(entries)
        if not cursor:
            self.done = True
            return []
        if cursor in self._cursors or cursor == self.cursor:
            return [
                self._fail(
                    f"pagination loops: page {self.pages} gives a cursor already followed "
                    f"({cursor[:60]!r})",
                    page,
                )
            ]
        if not entries:
            return [self._fail("an empty page with a cursor to follow: pagination is broken", page)]
        if self.pages >= self.max_pages:
            return [
                self._fail(
                    f"more than {self.max_pages} pages: given up (max_pages), nothing applied"
                )
            ]
        self._cursors.add(cursor)
        self.cursor = cursor
        return []

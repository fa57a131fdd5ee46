"""Reconcile the order tracker from Kalshi's REST API when drop-copy replay cannot (sans-IO).

A KalshiNR session recovers reports it missed by drop-copy replay (`kalshi_fix_sansio.trading.catchup`)
only for accounts Kalshi allowlisted for EventResendRequest, and only within 3 hours. Otherwise
`CatchUpFailed` says the tracker may be behind. A `Reconciliation` makes it whole from Kalshi's
REST portfolio pages instead: it reads every page of fills, orders (and positions), signed with
the same API key as the FIX Logon, then applies them to the tracker at once:

* each REST fill missing from the tracker is added to it as a report (ExecID
  ``rest:<fill_id>``): counted once, whether the same fill also arrives by FIX or by a drop-copy
  replay, before or after, and never past the order's OrderQty;
* an order Kalshi cancelled while the session could not hear it ends CANCELED; an order resting
  at Kalshi that the tracker never saw acknowledged is acknowledged;
* prediction's fills and finished orders older than Kalshi's historical cutoff
  (``GET /historical/cutoff``) are read where Kalshi moved them (``/historical/fills``,
  ``/historical/orders``) when the round reaches back that far; a cutoff that cannot be had
  (404, unreadable) makes the round's `Reconciled` say it is ``incomplete``;
* every fill of a reconciled order is told in a `ReconciledFill` naming who counted it
  (``fix``, ``replay`` or ``rest``), and a `Reconciled` sums the round up;
* a page that is malformed, paginated wrongly, refused (401) or rate limited past the retries
  ends the pass with a `RestProblem` and `ReconcileFailed` (nothing applied), and the round
  runs again after ``round_retry`` seconds (doubling with each failure, up to
  ``round_retry_cap``) until a pass is applied: the tracker is never left behind the exchange
  until the application thinks of asking (``round_retry=None``: not retried); a record that
  cannot be read is a `RestProblem` of its own; a record that disagrees with what FIX said is a
  `RestContradiction` (the tracker keeps what it had). Nothing but events comes out of bad
  REST input.

It is a state machine: `next_request` gives the signed request to send (or None: wait until
`wake_at`, or nothing to do), `receive` takes the answer. `kalshi_fix_sansio.client.driver.Driver`
starts one by itself when catch-up cannot make the order state whole (and on
``driver.reconcile()``); `kalshi_fix_sansio.adapters.rest` sends its requests (the ``rest``
extra). See docs/accounts.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import attrs

from ..codec.errors import LocalProtocolError
from ..session import Credentials
from ..session.events import Event
from ..trading.catchup import CatchUpFailed, OrdersUnknown
from ..trading.corporate import CorporateActions
from ..trading.tracker import FillInferred, OrderTracker
from ._reconcileevents import (
    SOURCES,
    Reconciled,
    ReconciledFill,
    ReconcileFailed,
    ReconcileStarted,
)
from ._restapply import apply_rest
from ._restfills import parse_cutoff
from .pages import (
    Pager,
    RestContradiction,
    RestProblem,
    RestRateLimited,
    RestRequest,
    RestResponse,
    check_base_url,
    check_positive,
    rest_base_url,
    rest_headers,
    rest_path,
)

__all__ = [
    "DEFAULT_ROUND_RETRY",
    "DEFAULT_ROUND_RETRY_CAP",
    "SOURCES",
    "ReconcileFailed",
    "ReconcileStarted",
    "Reconciled",
    "ReconciledFill",
    "Reconciliation",
    "RestContradiction",
    "RestOptions",
    "RestProblem",
    "RestRateLimited",
    "wants_reconciliation",
]

DEFAULT_ROUND_RETRY: Final = 5.0
"""Seconds before a failed reconciliation round runs again (doubling with each failure)."""

DEFAULT_ROUND_RETRY_CAP: Final = 300.0
"""The longest delay between two runs of a failing round: Kalshi's REST API is asked at least
every five minutes until the tracker is whole again."""


def wants_reconciliation(event: Event) -> str | None:
    """Why a session event calls for a REST reconciliation, or None.

    `CatchUpFailed` that the next Logon will not ask again (not allowlisted, outside the replay
    window, no ExecID to resume from, refused), `OrdersUnknown` and `FillInferred` do; a transient failure (rate
    limited, Kalshi's server error, a connection lost mid-replay) does not: the next Logon
    replays.
    """
    if isinstance(event, CatchUpFailed) and not event.retried:
        return f"catch-up failed: {event.reason}"
    if isinstance(event, OrdersUnknown):
        return f"orders of unknown state ({', '.join(event.cl_ord_ids[:5])}): {event.reason}"
    if isinstance(event, FillInferred):
        return f"a fill inferred, its report never seen: {event.text}"
    return None


@attrs.frozen(kw_only=True)
class RestOptions:
    """How a session reconciles from Kalshi's REST API (a `Driver`'s or a client's ``rest=``).

    Attributes:
        environment: ``"demo"`` or ``"production"`` (None: the client's; a bare `Driver` needs
            it or ``base_url``).
        base_url: ``https://host[:port]`` instead of Kalshi's host (e.g. the mock gateway's).
        credentials: the API key to sign with (None: the FIX session's own).
        page_size: records asked per page (as `Reconciliation`).
        max_pages: pages read per endpoint at most.
        max_retries: 429 / 5xx answers of one page before the round fails.
        retry_delay: first delay after a 429 / 5xx without ``Retry-After`` (doubling).
        positions: also read the positions page.
        lookback: seconds of history read (see `Reconciliation`; None: all of it).
        round_retry: seconds before a failed round runs again (`DEFAULT_ROUND_RETRY`), the
            delay doubling with each failure in a row; None: a failed round is not retried.
        round_retry_cap: the longest delay between two runs of a failing round
            (`DEFAULT_ROUND_RETRY_CAP`).
        automatic: start a round by itself when catch-up cannot make the order state whole
            (`wants_reconciliation`); False: only when asked (``reconcile()``).
    """

    environment: str | None = None
    base_url: str | None = None
    credentials: Credentials | None = None
    page_size: int = 200
    max_pages: int = 100
    max_retries: int = 4
    retry_delay: float = 0.5
    positions: bool = True
    automatic: bool = True
    lookback: float | None = None
    round_retry: float | None = DEFAULT_ROUND_RETRY
    round_retry_cap: float = DEFAULT_ROUND_RETRY_CAP

    def build(
        self,
        tracker: OrderTracker,
        credentials: Credentials,
        product: str,
        replayed: Callable[[str], bool] | None = None,
        ours: Callable[[str], bool] | None = None,
    ) -> Reconciliation:
        """The `Reconciliation` of a session: its tracker, key and product (``replayed``,
        ``ours``: as `Reconciliation`'s).

        Raises:
            LocalProtocolError: neither ``environment`` nor ``base_url``, or an option out of
                range.
        """
        if self.environment is None and self.base_url is None:
            raise LocalProtocolError(
                "RestOptions: give environment ('demo' or 'production') or base_url"
            )
        return Reconciliation(
            tracker,
            self.credentials or credentials,
            product=product,
            environment=self.environment or "demo",
            base_url=self.base_url,
            page_size=self.page_size,
            max_pages=self.max_pages,
            max_retries=self.max_retries,
            retry_delay=self.retry_delay,
            positions=self.positions,
            replayed=replayed,
            ours=ours,
            lookback=self.lookback,
            round_retry=self.round_retry,
            round_retry_cap=self.round_retry_cap,
        )


class Reconciliation:
    """Reconcile ``tracker`` from Kalshi's REST API (see the module).

    Args:
        tracker: the order tracker to make whole (a driver's: ``driver.tracker``).
        credentials: the API key (id and signer) of the FIX session: REST requests are signed
            with it.
        product: ``"prediction"`` or ``"margin"`` (which REST paths).
        environment: ``"demo"`` or ``"production"``: Kalshi's REST host of it.
        base_url: ``https://host[:port]`` instead (e.g. the mock gateway's REST server).
        page_size: records asked per page.
        max_pages: pages read per endpoint at most.
        max_retries: 429 / 5xx answers of one page before the round fails.
        retry_delay: first delay after a 429 / 5xx without ``Retry-After`` (doubling).
        positions: also read the positions page (a `RestContradiction` for a reconciled
            market whose position differs from the tracker's).
        replayed: tells whether an ExecID came from a drop-copy replay (for `ReconciledFill`
            sources; a driver gives its catch-up's).
        ours: tells whether a ClOrdID the tracker does not know is the account's own (a
            driver gives its account's `made_quote`: the QuoteID of a Quote its RFQ sessions
            sent, which Kalshi reports a maker's fill under): such an order's fills are in the
            round's scope, as the tracker's own orders are.
        lookback: seconds of history read (``min_ts``): fills and orders of the last
            ``lookback`` seconds, and every order still resting; None: the whole history
            (bounded by ``max_pages``).
        round_retry: seconds before a round that failed runs again (its `ReconcileFailed`
            says when: ``retry_in``), doubling with each failure in a row, until one is
            applied; None (the default here, so that a caller's own loop over one round
            ends): a failed round ends there. A session's (`RestOptions`) retries by
            default.
        round_retry_cap: the longest of those delays.

    Raises:
        LocalProtocolError: an option out of range.
    """

    def __init__(
        self,
        tracker: OrderTracker,
        credentials: Credentials,
        *,
        product: str = "prediction",
        environment: str = "demo",
        base_url: str | None = None,
        page_size: int = 200,
        max_pages: int = 100,
        max_retries: int = 4,
        retry_delay: float = 0.5,
        positions: bool = True,
        replayed: Callable[[str], bool] | None = None,
        ours: Callable[[str], bool] | None = None,
        lookback: float | None = None,
        round_retry: float | None = None,
        round_retry_cap: float = DEFAULT_ROUND_RETRY_CAP,
    ) -> None:
        if not isinstance(tracker, OrderTracker):
            raise LocalProtocolError(f"tracker must be an OrderTracker, got {tracker!r}")
        if not isinstance(credentials, Credentials):
            raise LocalProtocolError("credentials must be Credentials (the FIX session's)")
        rest_path(product, "fills")  # checks the product
        check_positive("page_size", page_size, integer=True)
        check_positive("max_pages", max_pages, integer=True)
        check_positive("max_retries", max_retries, integer=True)
        check_positive("retry_delay", retry_delay, integer=False)
        if lookback is not None:
            check_positive("lookback", lookback, integer=False)
        if round_retry is not None:
            check_positive("round_retry", round_retry, integer=False)
        check_positive("round_retry_cap", round_retry_cap, integer=False)
        self.round_retry = round_retry
        self.round_retry_cap = round_retry_cap
        self.failures = 0
        """How many times in a row the round under way failed (0: none, or none runs)."""
        self._retry_at: float | None = None  # a failed round runs again then
        self.lookback = lookback
        self.corporate: CorporateActions | None = None
        """Margin corporate actions Kalshi applied to the positions (splits, final
        settlements): the tracker's position is compared with Kalshi's after them (None:
        none; settable)."""
        self.tracker = tracker
        self.credentials = credentials
        self.product = product
        self.base_url = (
            check_base_url(base_url) if base_url is not None else rest_base_url(environment)
        )
        self.page_size = page_size
        self.max_pages = max_pages
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.endpoints: tuple[str, ...] = ("fills", "orders") + (
            ("positions",) if positions else ()
        )
        self.replayed: Callable[[str], bool] = replayed or (lambda exec_id: False)
        self.ours = ours
        self.rounds = 0
        """How many rounds were started."""
        self.reason: str | None = None
        """Why the round under way runs (None: none runs)."""
        self.sink: Callable[[list[Event], float], object] | None = None
        """Also given the events of every answer (`receive`, `unreachable`): a driver queues
        them there."""
        self._pagers: list[Pager] = []
        self._done: dict[str, list[dict[str, Any]]] = {}
        self._in_flight: RestRequest | None = None
        self._again: str | None = None
        self._since: float | None = None  # the round's min_ts (None: the whole history)
        self._options: dict[str, Any] = {}
        self._incomplete: str | None = None

    @property
    def active(self) -> bool:
        """A round is under way."""
        return self.reason is not None

    @property
    def in_flight(self) -> RestRequest | None:
        """The request sent and not answered yet."""
        return self._in_flight

    @property
    def wake_at(self) -> float | None:
        """When the next request may go (after a 429 / 5xx, or a failed round's retry); None:
        now, or nothing to send."""
        if self.reason is None or self._in_flight is not None or not self._pagers:
            return None
        if self._retry_at is not None:
            return self._retry_at
        return self._pagers[0].wake_at

    @property
    def retrying_at(self) -> float | None:
        """When the round that failed runs again (None: it is not waiting to)."""
        return self._retry_at if self.reason is not None else None

    def start(self, reason: str, now: float) -> list[Event]:
        """Begin a round (a round under way runs again once it ends; one waiting to retry
        after a failure runs now); its `ReconcileStarted`."""
        if self.reason is not None and self._retry_at is None:
            self._again = reason
            return []
        self.reason = reason
        self.rounds += 1
        self._retry_at = None
        self._pass(now)
        return [ReconcileStarted(reason)]

    def stop(self) -> None:
        """Give up a round that waits to retry after a failure (its session ended); a round
        whose requests are under way goes on."""
        if self._retry_at is not None:
            self._retry_at = None
            self._end([], 0.0)

    def _pass(self, now: float) -> None:
        """Ask every page again, from the first."""
        options: dict[str, Any] = {
            "page_size": self.page_size,
            "max_pages": self.max_pages,
            "max_retries": self.max_retries,
            "retry_delay": self.retry_delay,
        }
        if self.lookback is None:
            self._pagers = [Pager(endpoint, **options) for endpoint in self.endpoints]
        else:  # recent fills and orders, and every order still resting whatever its age
            since = (("min_ts", str(max(int(now - self.lookback), 0))),)
            self._pagers = [
                Pager("fills", params=since, **options),
                Pager("orders", params=since, **options),
                Pager("orders", params=(("status", "resting"),), **options),
            ] + [Pager(endpoint, **options) for endpoint in self.endpoints[2:]]
        self._since = None if self.lookback is None else now - self.lookback
        if self.product == "prediction":  # where Kalshi moved the older fills and orders
            self._pagers.insert(0, Pager("cutoff", **options))
        self._options = options
        self._done = {}
        self._incomplete = None

    def next_request(self, now: float) -> RestRequest | None:
        """The next request to send at ``now``: None while one is in flight, while waiting
        (`wake_at`), or when no round runs."""
        if self.reason is None or self._in_flight is not None or not self._pagers:
            return None
        if self._retry_at is not None:
            if now < self._retry_at:
                return None
            self._retry_at = None
            self._pass(now)  # the failed round again, from its first page (and `min_ts`)
        pager = self._pagers[0]
        if pager.wake_at is not None and now < pager.wake_at:
            return None
        path = rest_path(self.product, pager.endpoint)
        creds = self.credentials
        request = RestRequest(
            pager.endpoint,
            "GET",
            self.base_url,
            path,
            pager.params(),
            rest_headers(creds.key_id, creds.signer, "GET", path, now),
        )
        self._in_flight = request
        return request

    def receive(self, response: RestResponse, now: float) -> list[Event]:
        """The answer to the request in flight; the events it gives (the round's end
        included: `Reconciled` with the fills applied, or `ReconcileFailed`)."""
        if self._in_flight is None or not self._pagers:
            return []
        self._in_flight = None
        pager = self._pagers[0]
        events = pager.receive(response, now)
        return self._told(events + self._after(pager, now), now)

    def _told(self, events: list[Event], now: float) -> list[Event]:
        if self.sink is not None and events:
            self.sink(events, now)
        return events

    def unreachable(self, error: str, now: float) -> list[Event]:
        """The request in flight got no answer (connection refused, timed out, TLS...): asked
        again after a delay, as a 5xx is."""
        if self._in_flight is None or not self._pagers:
            return []
        self._in_flight = None
        pager = self._pagers[0]
        events = pager.receive(RestResponse(599), now)
        if pager.failed:
            events = [
                RestProblem(
                    pager.endpoint, f"no answer ({error}), {pager.max_retries + 1} times: given up"
                )
            ]
        return self._told(events + self._after(pager, now), now)

    def _after(self, pager: Pager, now: float) -> list[Event]:
        reason = self.reason or ""
        events: list[Event] = []
        if pager.failed and pager.endpoint == "cutoff" and pager.status in (None, 404):
            self._incomplete = (  # not served, or not readable: asking again gives the same
                "Kalshi's historical cutoff could not be read: fills and orders it moved to "
                "/historical/fills and /historical/orders were not looked for"
            )
        elif pager.failed:
            return self._failed(reason, pager.endpoint, now)
        elif not pager.done:
            return []
        elif pager.endpoint == "cutoff":
            events = self._historical(pager.records[0])
        else:
            kind = pager.endpoint.removeprefix("historical_")
            self._done.setdefault(kind, []).extend(pager.records)
        self._pagers.pop(0)
        if self._pagers:
            return events
        events += apply_rest(
            self.tracker,
            self.product,
            reason,
            orders=self._done.get("orders", []),
            fills=self._done.get("fills", []),
            positions=self._done.get("positions", []),
            replayed=self.replayed,
            windowed=self.lookback is not None,
            incomplete=self._incomplete,
            ours=self.ours,
            corporate=(self.corporate, now) if self.corporate is not None else None,
        )
        return self._end(events, now)

    def _historical(self, record: dict[str, Any]) -> list[Event]:
        """Read Kalshi's historical cutoff: the historical pages to read too, those whose
        records the round's window reaches back to."""
        cutoff = parse_cutoff(record)
        if isinstance(cutoff, str):
            self._incomplete = f"Kalshi's historical cutoff cannot be read ({cutoff})"
            return [RestProblem("cutoff", f"the historical cutoff cannot be read: {cutoff}")]
        since = self._since
        for endpoint, field in (
            ("historical_fills", "trades_created_ts"),
            ("historical_orders", "orders_updated_ts"),
        ):
            if since is None or since < cutoff[field]:
                self._pagers.append(Pager(endpoint, **self._options))
        return []

    def _failed(self, reason: str, endpoint: str, now: float) -> list[Event]:
        """The pass failed: the round runs again after its delay (or ends, not retried)."""
        self.failures += 1
        retry = self.round_retry
        if retry is None or self._again is not None:  # not retried, or a new round starts now
            return self._end([ReconcileFailed(reason, endpoint, None, self.failures)], now)
        delay = min(self.round_retry_cap, retry * 2.0 ** min(self.failures - 1, 60))
        self._retry_at = now + delay
        return [ReconcileFailed(reason, endpoint, delay, self.failures)]

    def _end(self, events: list[Event], now: float) -> list[Event]:
        self.failures = 0
        self._retry_at = None
        self.reason = None
        self._pagers = []
        again, self._again = self._again, None
        if again is not None:
            events = events + self.start(again, now)
        return events

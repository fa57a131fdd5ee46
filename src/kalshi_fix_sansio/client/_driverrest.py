"""The REST reconciliation part of `kalshi_fix_sansio.client.driver.Driver` (its methods; private).

The driver starts a `kalshi_fix_sansio.rest.reconcile.Reconciliation` round by itself when catch-up
cannot make the tracker whole; these methods let an I/O part (`kalshi_fix_sansio.adapters.rest`)
send its requests and hand the answers back, every event queued as the driver's own.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..codec.errors import LocalProtocolError
from ..rest.pages import RestRequest, RestResponse
from ..rest.reconcile import Reconciliation
from ..session.events import Event


class RestDriving:
    """`Driver`'s REST methods (it sets ``reconciliation`` and has ``_emit``)."""

    reconciliation: Reconciliation | None

    def _emit(self, event: Event, now: float) -> None:  # pragma: no cover - the driver's
        raise NotImplementedError

    def _emit_all(self, events: Sequence[Event], now: float) -> list[Event]:
        for event in events:
            self._emit(event, now)
        return list(events)

    # -- REST reconciliation (the I/O part sends; `kalshi_fix_sansio.rest.reconcile`) ----------------

    def _rest(self) -> Reconciliation:
        if self.reconciliation is None:
            raise LocalProtocolError(
                "this driver has no REST reconciliation: give it rest=RestOptions(...)"
            )
        return self.reconciliation

    def reconcile(self, now: float, reason: str = "asked for (reconcile())") -> None:
        """Start a REST reconciliation now (`ReconcileStarted`; a round under way runs again
        when it ends).

        Raises:
            LocalProtocolError: the driver has no ``rest``.
        """
        self._emit_all(self._rest().start(reason, now), now)

    def rest_request(self, now: float) -> RestRequest | None:
        """The next REST request to send (None: none now; see `rest_wake_at`)."""
        return self._rest().next_request(now)

    @property
    def rest_wake_at(self) -> float | None:
        """When the next REST request may go after a 429 / 5xx (None: now or none)."""
        return None if self.reconciliation is None else self.reconciliation.wake_at

    @property
    def rest_active(self) -> bool:
        """A REST reconciliation round is under way."""
        return self.reconciliation is not None and self.reconciliation.active

    def rest_response(self, response: RestResponse, now: float) -> list[Event]:
        """The answer to the REST request in flight: its events are queued (and returned)."""
        return self._rest().receive(response, now)  # its sink queues them

    def rest_unreachable(self, error: str, now: float) -> list[Event]:
        """The REST request in flight got no answer (``error`` in words): it is asked again
        after a delay; events queued (and returned)."""
        return self._rest().unreachable(error, now)  # its sink queues them

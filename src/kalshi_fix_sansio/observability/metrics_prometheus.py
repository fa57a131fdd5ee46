"""Export sessions' metrics to Prometheus (the ``prometheus`` extra: ``prometheus_client``).

``pip install prometheus_client`` (or, in a checkout, ``pip install ".[prometheus]"``), then
register the sessions to export and serve the registry the way ``prometheus_client`` does
(its HTTP server, a WSGI/ASGI app, a push gateway)::

    from prometheus_client import start_http_server
    from kalshi_fix_sansio.observability.metrics_prometheus import SessionCollector

    collector = SessionCollector.register([order_entry, drop_copy])
    start_http_server(9464)

`SessionCollector` is a custom collector: it reads ``session.metrics.snapshot()`` (one call per
session) only when Prometheus scrapes; between scrapes it costs nothing, and the sessions keep
no Prometheus object. Nothing in the library imports this module: without it,
``prometheus_client`` is never imported.

Every sample has the labels ``product``, ``session_type`` and ``key_id``; counters end in
``_total`` as Prometheus names them:

* ``kalshi_fix_messages_received_total`` / ``kalshi_fix_messages_sent_total`` (``msg_type``);
* ``kalshi_fix_bytes_received_total`` / ``kalshi_fix_bytes_sent_total``;
* ``kalshi_fix_rejects_total`` (``kind``: ``3``, ``j``, ``9``, ``150=8``) and
  ``kalshi_fix_rate_limited_total``;
* ``kalshi_fix_events_total`` (``event``: every session, connection and catch-up event by
  class name: ``GapDetected``, ``ResendRequestSent``, ``Reconnected``...);
* ``kalshi_fix_gaps_total``, ``kalshi_fix_resend_requests_total`` (``direction``: ``sent`` /
  ``received``), ``kalshi_fix_reconnects_total``;
* ``kalshi_fix_queue_depth`` and ``kalshi_fix_queue_high_water`` (gauges);
* ``kalshi_fix_order_round_trip_seconds`` (a histogram, ``request``: ``D``, ``G``, ``F``);
* ``kalshi_fix_orders_awaiting_answer`` (gauge) and ``kalshi_fix_orders_unanswered_total``;
* ``kalshi_fix_trading_state`` (gauge: 0 active, 1 reduce-only, 2 halted) and
  ``kalshi_fix_unknown_outcome_markets`` (gauge: markets blocked by an unknown order outcome,
  -1 every market);
* ``kalshi_fix_queue_ahead_contracts`` (gauge: contracts ahead of the resting orders, as
  Kalshi's queue positions last said).
* ``kalshi_fix_margin`` (gauges, ``figure``: a margin account's figures as Kalshi last gave
  them, e.g. ``total_notional``, ``account_leverage``, ``min_liquidation_distance``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client.core import (
    REGISTRY,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from kalshi_fix_sansio.observability.metrics import TRADING_STATES, MetricsSnapshot, SessionMetrics

__all__ = ["PREFIX", "SessionCollector", "metric_families"]

PREFIX = "kalshi_fix"
"""The prefix of every metric name."""

_LABELS = ["product", "session_type", "key_id"]


def _snapshot(source: Any) -> MetricsSnapshot:
    """The snapshot of a session (``.metrics``), a `SessionMetrics` or a `MetricsSnapshot`."""
    if isinstance(source, MetricsSnapshot):
        return source
    metrics = source if isinstance(source, SessionMetrics) else source.metrics
    return metrics.snapshot()


def metric_families(snapshots: Iterable[MetricsSnapshot]) -> Iterator[Metric]:
    """The Prometheus metric families of some snapshots (one sample set per session).

    Args:
        snapshots: `MetricsSnapshot` objects (``session.metrics.snapshot()``).

    Yields:
        One family per metric name, every session's samples in it.
    """
    snaps = list(snapshots)

    def counter(name: str, doc: str, extra: list[str] | None = None) -> CounterMetricFamily:
        return CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=[*_LABELS, *(extra or [])])

    def gauge(name: str, doc: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=_LABELS)

    received = counter(
        "messages_received", "Messages received in events, by MsgType.", ["msg_type"]
    )
    sent = counter("messages_sent", "Frames written, by MsgType.", ["msg_type"])
    bytes_in = counter("bytes_received", "Bytes read from the connection.")
    bytes_out = counter("bytes_sent", "Bytes written to the connection.")
    rejects = counter("rejects", "Rejects received: 35=3, 35=j, 35=9, ExecType 150=8.", ["kind"])
    rate_limited = counter("rate_limited", "35=j rate-limit refusals (380=8).")
    events = counter("events", "Events other than application messages, by class.", ["event"])
    gaps = counter("gaps", "Inbound sequence gaps.")
    resends = counter("resend_requests", "ResendRequests sent and received.", ["direction"])
    reconnects = counter("reconnects", "Reconnects that logged on again.")
    unanswered = counter("orders_unanswered", "Orders forgotten without a first answer.")
    depth = gauge("queue_depth", "Events waiting unread.")
    high = gauge("queue_high_water", "Most events that ever waited unread.")
    awaiting = gauge("orders_awaiting_answer", "Orders sent whose first answer has not come.")
    trading = gauge("trading_state", "The order gate: 0 active, 1 reduce-only, 2 halted.")
    unknown = gauge(
        "unknown_outcome_markets", "Markets blocked by an unknown order outcome (-1: every one)."
    )
    ahead = gauge("queue_ahead_contracts", "Contracts ahead of the resting orders (REST).")
    margin = GaugeMetricFamily(
        f"{PREFIX}_margin",
        "A margin account's risk as Kalshi last gave it (figure: total_notional, "
        "min_liquidation_distance...).",
        labels=[*_LABELS, "figure"],
    )
    round_trip = HistogramMetricFamily(
        f"{PREFIX}_order_round_trip_seconds",
        "Order sent -> its first answer (35=8, 35=9 or 35=j), by MsgType of the request.",
        labels=[*_LABELS, "request"],
    )
    for snap in snaps:
        labels = [snap.product, snap.session_type, snap.key_id]
        for msg_type, n in sorted(snap.messages_in.items()):
            received.add_metric([*labels, msg_type], n)
        for msg_type, n in sorted(snap.messages_out.items()):
            sent.add_metric([*labels, msg_type], n)
        bytes_in.add_metric(labels, snap.bytes_in)
        bytes_out.add_metric(labels, snap.bytes_out)
        for kind, n in (
            ("3", snap.session_rejects),
            ("j", snap.business_rejects),
            ("9", snap.cancel_rejects),
            ("150=8", snap.order_rejects),
        ):
            rejects.add_metric([*labels, kind], n)
        rate_limited.add_metric(labels, snap.rate_limited)
        for event, n in sorted(snap.events.items()):
            events.add_metric([*labels, event], n)
        gaps.add_metric(labels, snap.gaps)
        resends.add_metric([*labels, "sent"], snap.resend_requests_sent)
        resends.add_metric([*labels, "received"], snap.resend_requests_received)
        reconnects.add_metric(labels, snap.reconnects)
        unanswered.add_metric(labels, snap.unanswered)
        depth.add_metric(labels, snap.queued)
        high.add_metric(labels, snap.queue_high_water)
        awaiting.add_metric(labels, snap.awaiting)
        trading.add_metric(labels, TRADING_STATES.index(snap.trading_state))
        unknown.add_metric(labels, snap.unknown_markets)
        ahead.add_metric(labels, snap.queue_ahead)
        for figure, value in sorted(snap.margin.items()):
            margin.add_metric([*labels, figure.removeprefix("margin_")], value)
        for request, h in snap.round_trips.items():
            cumulative, buckets = 0, []
            for bound, n in zip([*map(repr, h.bounds), "+Inf"], h.counts, strict=True):
                cumulative += n
                buckets.append((bound, float(cumulative)))
            round_trip.add_metric([*labels, request], buckets, h.sum)
    yield from (
        received,
        sent,
        bytes_in,
        bytes_out,
        rejects,
        rate_limited,
        events,
        gaps,
        resends,
        reconnects,
        unanswered,
        depth,
        high,
        awaiting,
        trading,
        unknown,
        ahead,
        margin,
        round_trip,
    )


class SessionCollector(Collector):
    """A Prometheus collector of some sessions' metrics, read at each scrape.

    Args:
        sources: sessions (anything with ``.metrics``), `SessionMetrics` objects, or a
            callable returning them (read at each scrape: sessions opened later are seen).
    """

    def __init__(self, sources: Iterable[Any] | Callable[[], Iterable[Any]] = ()) -> None:
        self._sources: list[Any] | Callable[[], Iterable[Any]] = (
            sources if callable(sources) else list(sources)
        )

    @classmethod
    def register(
        cls,
        sources: Iterable[Any] | Callable[[], Iterable[Any]] = (),
        registry: CollectorRegistry = REGISTRY,
    ) -> SessionCollector:
        """A collector of ``sources``, registered in ``registry`` (the default one).

        Returns:
            The collector (``registry.unregister(collector)`` removes it).
        """
        collector = cls(sources)
        registry.register(collector)
        return collector

    def add(self, source: Any) -> None:
        """Export one more session (not with a callable of sources)."""
        if callable(self._sources):
            raise TypeError("this collector reads its sessions from a callable")
        self._sources.append(source)

    def collect(self) -> Iterator[Metric]:
        """Called by ``prometheus_client`` at each scrape."""
        sources = self._sources() if callable(self._sources) else self._sources
        return metric_families(_snapshot(source) for source in sources)

    def describe(self) -> Iterator[Metric]:
        """The families without samples (so registering reads no session)."""
        return metric_families(())

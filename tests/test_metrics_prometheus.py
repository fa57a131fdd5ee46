"""The Prometheus exporter (``kalshi_fix_sansio.observability.metrics_prometheus``, the
``prometheus`` extra; the dev extra installs it, so CI runs this)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from test_driver import Harness

pytest.importorskip("prometheus_client")

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from kalshi_fix_sansio.observability.metrics import SessionMetrics
from kalshi_fix_sansio.observability.metrics_prometheus import (
    PREFIX,
    SessionCollector,
    metric_families,
)


def scraped(collector_sources: object) -> str:
    registry = CollectorRegistry()
    SessionCollector.register(collector_sources, registry=registry)  # type: ignore[arg-type]
    return generate_latest(registry).decode()


def test_a_scrape_reads_the_snapshot() -> None:
    h = Harness()
    h.start()
    h.place("p-1", "buy", 1, deliver=False)
    h.now += 0.003
    h.pump()
    samples = parse(scraped([h.driver]))  # anything with .metrics
    base = {"key_id": "key-1", "product": "prediction", "session_type": "KalshiNR"}

    def value(name: str, **labels: str) -> float:
        return samples[(f"{PREFIX}_{name}", frozenset({**base, **labels}.items()))]

    assert value("messages_sent_total", msg_type="D") == 1
    assert value("messages_received_total", msg_type="8") == 1
    assert value("order_round_trip_seconds_count", request="D") == 1
    assert value("order_round_trip_seconds_bucket", request="D", le="0.005") == 1
    assert value("order_round_trip_seconds_bucket", request="D", le="0.002") == 0
    assert value("order_round_trip_seconds_bucket", request="D", le="+Inf") == 1
    assert value("rejects_total", kind="9") == 0
    assert value("queue_depth") >= 1
    assert value("bytes_sent_total") > 0


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_sources_from_a_callable_and_added_later() -> None:
    first, second = (
        SessionMetrics("prediction", "KalshiNR", "a"),
        SessionMetrics("margin", "KalshiMD", "b"),
    )
    live = [first]
    registry = CollectorRegistry()
    SessionCollector.register(lambda: live, registry=registry)
    live.append(second)
    text = generate_latest(registry).decode()
    assert 'key_id="a"' in text and 'key_id="b"' in text
    fixed = SessionCollector([first])
    fixed.add(second)
    assert sum(1 for _ in fixed.collect()) == sum(1 for _ in metric_families(()))
    with pytest.raises(TypeError):
        SessionCollector(lambda: []).add(first)


def test_the_library_never_imports_prometheus_client() -> None:
    code = (
        "import sys\n"
        "import kalshi_fix_sansio, kalshi_fix_sansio.adapters, kalshi_fix_sansio.adapters.blocking\n"
        "from kalshi_fix_sansio import Driver, SessionMetrics\n"
        "assert 'prometheus_client' not in sys.modules, 'imported'\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr

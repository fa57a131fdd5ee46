"""`kalshi_fix_sansio.observability.metrics` and the driver's receive times: a fake clock, no socket, no sleep.

The driver (`test_driver.Harness`: the mock exchange behind an acceptor session in memory) keeps
`SessionMetrics` current as it reads and writes; every figure here is checked against what the
harness did, on the fake clock.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import attrs
import pytest
from test_driver import Harness

from kalshi_fix_sansio import QueuePolicy, prediction
from kalshi_fix_sansio.observability.metrics import (
    ROUND_TRIP_BOUNDS,
    Histogram,
    HistogramSnapshot,
    MetricsSnapshot,
    SessionMetrics,
)
from kalshi_fix_sansio.session.events import ApplicationMessage, LoggedOn

PKG = Path(__file__).resolve().parent.parent / "src" / "kalshi_fix_sansio"


# -- the histogram --------------------------------------------------------------------------------


def test_histogram_buckets_count_sum_min_max() -> None:
    h = Histogram((0.001, 0.01, 0.1))
    for value in (0.0005, 0.001, 0.002, 0.05, 3.0, -1.0):
        h.observe(value)
    snap = h.snapshot()
    # <= 0.001 (0.0005, 0.001 and the negative one, as 0), <= 0.01, <= 0.1, above
    assert snap.counts == (3, 1, 1, 1)
    assert snap.count == 6 and snap.min == 0.0 and snap.max == 3.0
    assert math.isclose(snap.sum, 0.0005 + 0.001 + 0.002 + 0.05 + 3.0)
    assert snap.mean is not None and math.isclose(snap.mean, snap.sum / 6)


def test_percentiles_are_within_one_bucket_and_exact_at_the_ends() -> None:
    h = Histogram()
    values = [0.001 * (i + 1) for i in range(1000)]  # 1 ms .. 1 s, uniform
    for v in values:
        h.observe(v)
    snap = h.snapshot()
    assert snap.percentile(0.0) == 0.001 and snap.percentile(1.0) == 1.0
    for q, true in ((0.5, 0.5), (0.9, 0.9), (0.99, 0.99)):
        got = snap.percentile(q)
        assert got is not None
        i = next(k for k, b in enumerate(ROUND_TRIP_BOUNDS) if true <= b)  # the true bucket
        low = ROUND_TRIP_BOUNDS[i - 1] if i else 0.0
        assert low <= got <= ROUND_TRIP_BOUNDS[i], (q, got)
    assert (snap.p50, snap.p90, snap.p99) == (
        snap.percentile(0.5),
        snap.percentile(0.9),
        snap.percentile(0.99),
    )


def test_an_empty_histogram_and_bad_arguments() -> None:
    snap = Histogram().snapshot()
    assert snap.count == 0 and snap.min is None and snap.mean is None and snap.p99 is None
    assert len(snap.counts) == len(ROUND_TRIP_BOUNDS) + 1
    with pytest.raises(ValueError, match="q must be in"):
        snap.percentile(1.5)
    with pytest.raises(ValueError, match="increasing"):
        Histogram((0.1, 0.1))
    with pytest.raises(ValueError, match="increasing"):
        Histogram(())


def test_histogram_memory_is_bounded() -> None:
    h = Histogram()
    for i in range(10_000):
        h.observe(i / 100)  # 0 .. 99.99 s
    assert len(h.snapshot().counts) == len(ROUND_TRIP_BOUNDS) + 1
    above = sum(1 for i in range(10_000) if i / 100 > ROUND_TRIP_BOUNDS[-1])
    assert h.snapshot().as_dict()["buckets"][-1] == ["+Inf", above]


# -- the driver keeps them ------------------------------------------------------------------------


def logged_on(**options: object) -> Harness:
    h = Harness(**options)  # type: ignore[arg-type]
    h.start()
    h.read()
    return h


def cancel_later(h: Harness, cl_ord_id: str, orig: str, after: float) -> MetricsSnapshot:
    """Send a cancel of ``orig``, read the answer ``after`` seconds later: the snapshot then."""
    cancel = prediction.OrderCancelRequest(
        cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, side=prediction.Side.BUY, symbol=h.symbol
    )
    h.driver.send(cancel, h.now)
    h.now += after
    h.pump()
    return h.driver.metrics.snapshot()


def test_messages_bytes_and_round_trips_on_the_fake_clock() -> None:
    h = logged_on()
    h.place("o-1", "buy", 1, deliver=False)
    h.now += 0.25  # the gateway's answer is read 250 ms later
    h.pump()
    h.read()
    snap = h.driver.metrics.snapshot()
    assert snap.messages_in["A"] == 1 and snap.messages_in["8"] == 1
    assert snap.messages_out["A"] == 1 and snap.messages_out["D"] == 1
    assert snap.bytes_out == sum(len(f) for f in h.sent)
    assert snap.bytes_in > 0
    rt = snap.round_trips["D"]
    assert rt.count == 1 and rt.min == rt.max == pytest.approx(0.25)
    assert snap.round_trips["F"].count == 0 and snap.awaiting == 0
    assert (snap.product, snap.session_type, snap.key_id) == ("prediction", "KalshiNR", "key-1")

    snap = cancel_later(h, "c-1", "o-1", 0.5)
    assert snap.round_trips["F"].count == 1 and snap.round_trips["F"].max == pytest.approx(0.5)
    assert snap.messages_out["F"] == 1


def test_rejects_are_counted_and_end_the_round_trip() -> None:
    h = logged_on()
    snap = cancel_later(h, "c-x", "nobody", 0.01)
    assert snap.cancel_rejects == 1 and snap.messages_in["9"] == 1 and snap.rejects >= 1
    assert snap.round_trips["F"].count == 1 and snap.awaiting == 0


def test_an_order_rejected_by_execution_report_is_counted() -> None:
    metrics = SessionMetrics("prediction", "KalshiNR", "k")
    metrics.on_order_sent("D", "r-1", 10.0)
    report = prediction.ExecutionReport(
        order_id="x",
        cl_ord_id="r-1",
        exec_id="e",
        exec_type=prediction.ExecType.REJECTED,
        ord_status=prediction.OrdStatus.REJECTED,
        symbol="S",
        side=prediction.Side.BUY,
    )
    metrics.on_answer(report, "8", 10.002)
    snap = metrics.snapshot()
    assert snap.order_rejects == 1 and snap.round_trips["D"].max == pytest.approx(0.002)


def test_reconnects_and_disconnects_are_counted() -> None:
    h = logged_on()
    h.drop("cut")
    h.reconnect()
    h.read()
    snap = h.driver.metrics.snapshot()
    assert snap.disconnects == 1 and snap.reconnects == 1
    assert snap.events["Disconnected"] == 1 and snap.events["Reconnected"] == 1
    assert snap.messages_in["A"] == 2 and snap.messages_out["A"] == 2


def test_queue_depth_and_high_water() -> None:
    h = logged_on()
    for i in range(3):
        h.place(f"q-{i}", "buy", 1)
    snap = h.driver.metrics.snapshot()
    assert snap.queued == h.driver.queued >= 3
    high = snap.queue_high_water
    assert high >= snap.queued
    h.read()
    after = h.driver.metrics.snapshot()
    assert after.queued == 0 and after.queue_high_water == high


def test_reading_resets_nothing() -> None:
    h = logged_on()
    h.place("n-1", "buy", 1)
    first, second = h.driver.metrics.snapshot(), h.driver.metrics.snapshot()
    assert first == second
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        first.bytes_in = 0  # type: ignore[misc]


def test_awaited_orders_are_bounded() -> None:
    metrics = SessionMetrics(max_awaited=2)
    for i in range(5):
        metrics.on_order_sent("D", f"o-{i}", float(i))
    snap = metrics.snapshot()
    assert snap.awaiting == 2 and snap.unanswered == 3


def test_metrics_kept_across_drivers_and_without_a_queue() -> None:
    shared = SessionMetrics("prediction", "KalshiNR", "key-1")
    h = logged_on(metrics=shared, queue_policy=QueuePolicy(queue_events=False))
    assert h.driver.metrics is shared
    h.place("w-1", "buy", 1)
    assert shared.snapshot().round_trips["D"].count == 1
    assert shared.snapshot().queue_high_water == 0


def test_snapshot_as_dict_and_summary() -> None:
    h = logged_on()
    h.place("s-1", "buy", 1)
    snap = h.driver.metrics.snapshot()
    plain = snap.as_dict()
    assert plain["messages_in"]["8"] == 1 and plain["rejects"] == 0
    assert plain["round_trips"]["D"]["count"] == 1
    assert isinstance(snap, MetricsSnapshot) and isinstance(
        snap.round_trips["D"], HistogramSnapshot
    )
    line = snap.summary()
    assert line.startswith("prediction/KalshiNR | in ") and "rt D n=1" in line


# -- receive times --------------------------------------------------------------------------------


def test_every_event_carries_the_now_of_its_bytes() -> None:
    h = Harness()
    h.start()  # logs on at T0
    logon = h.driver.next_event_with_time()
    assert logon is not None and isinstance(logon[0], LoggedOn) and logon[1] == h.now
    h.place("t-1", "buy", 1, deliver=False)
    sent_at = h.now
    h.now += 1.5
    h.pump()
    item = h.driver.take_with_time(lambda e: isinstance(e, ApplicationMessage))
    assert item is not None and item[1] == sent_at + 1.5
    while (rest := h.driver.next_event_with_time()) is not None:  # the others, in order
        assert rest[1] in (logon[1], sent_at + 1.5)
    assert h.driver.take_with_time(lambda e: False) is None


# -- purity ---------------------------------------------------------------------------------------


def test_metrics_module_is_core_pure() -> None:
    tree = ast.parse((PKG / "observability" / "metrics.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    banned = {
        "socket",
        "ssl",
        "asyncio",
        "trio",
        "threading",
        "select",
        "selectors",
        "time",
        "logging",
    }
    assert not names & banned, names & banned
    assert "prometheus_client" not in names

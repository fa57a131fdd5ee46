"""Metrics, receive times and structured logging on the three adapters' sessions, against the
mock gateway over TLS (the scenario once, spelled per adapter by `test_adapters_behaviour`)."""

from __future__ import annotations

import logging
import time

import pytest
from gateway_fixtures import GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, buy, is_report, run

from kalshi_fix_sansio.client import SESSION_LOGGER_NAME, TRANSPORT_LOGGER_NAME
from kalshi_fix_sansio.session.events import LoggedOn


@ADAPTERS
def test_session_metrics_receive_times_and_loggers(
    adapter: str, prediction_gateway: GatewayHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = prediction_gateway
    seen: dict[str, object] = {}

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry()
        metrics = session.metrics
        assert metrics.snapshot().messages_in == {}  # before the first open
        async with d.opened(session):
            before = time.time()
            await d.call(session.place(buy("m-1")))
            logon = await d.wait_for(session, lambda e: isinstance(e, LoggedOn))
            report = await d.wait_for(session, is_report("m-1"))
            at = session.received_at(report)
            assert at is not None and before <= at <= time.time()
            assert session.received_at(logon) is not None
            assert session.received_at(object()) is None  # type: ignore[arg-type]
            snap = session.metrics.snapshot()
            seen["snap"] = snap
            seen["logger"] = session.logger.name
        assert session.metrics is metrics  # kept by the session across opens

    with caplog.at_level(logging.INFO, logger="kalshi_fix_sansio"):
        run(adapter, scenario)
    snap = seen["snap"]
    assert snap.messages_out["D"] == 1 and snap.messages_in["8"] >= 1  # type: ignore[attr-defined]
    rt = snap.round_trips["D"]  # type: ignore[attr-defined]
    assert rt.count == 1 and 0.0 <= rt.min < 5.0
    assert seen["logger"] == f"{SESSION_LOGGER_NAME}.prediction.KalshiNR.key-1"
    logons = [
        r
        for r in caplog.records
        if r.name == seen["logger"] and r.__dict__.get("event") == "LoggedOn"
    ]
    assert logons, [r.name for r in caplog.records]
    record = logons[0]
    assert (record.product, record.session_type, record.key_id) == (
        "prediction",
        "KalshiNR",
        "key-1",
    )  # type: ignore[attr-defined]
    connecting = [
        r
        for r in caplog.records
        if r.name == TRANSPORT_LOGGER_NAME and "connecting" in r.getMessage()
    ]
    assert connecting and connecting[0].key_id == "key-1"  # type: ignore[attr-defined]

"""Replaying a recording into the mock gateway (`MockGateway.replay`) with real clients.

A blocking market-data client reads every book while the recording is replayed as fast as it
follows; an order-entry client trades against the recorded books; the paper-trading report
counts its fills, fees and P&L, marked to the recorded mid and at settlement.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest
from gateway_fixtures import GatewayHarness

from kalshi_fix_sansio import ApplicationMessage
from kalshi_fix_sansio.adapters.blocking import FixClient
from kalshi_fix_sansio.book import Books
from kalshi_fix_sansio.builders import Requests
from kalshi_fix_sansio.gateway import ReplayClock
from kalshi_fix_sansio.gateway.server import MockGateway
from kalshi_fix_sansio.gateway.tls import self_signed, server_context
from kalshi_fix_sansio.recording import RecordingError, check_recording
from kalshi_fix_sansio.testing import new_ed25519_keys
from kalshi_fix_sansio.testing.recordings import SAMPLE_MARKETS, SAMPLE_RECORDING

A, B = SAMPLE_MARKETS


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "sample.log"
    shutil.copy(SAMPLE_RECORDING, path)
    return path


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[GatewayHarness]:
    cert, key = self_signed(tmp_path)
    signers, public = {}, {}
    for key_id in ("key-1", "key-2"):
        signers[key_id], public[key_id] = new_ed25519_keys()
    gateway = MockGateway(
        "prediction", keys=public, ssl_context=server_context(cert, key), heartbeat_interval=5
    )
    try:
        yield GatewayHarness(gateway, "prediction", cert, signers)
    finally:
        gateway.close()


def test_a_blocking_client_reads_every_recorded_book(
    harness: GatewayHarness, recording: Path
) -> None:
    gateway = harness.gateway
    replay = gateway.replay(recording, as_fast_as_possible=True)
    gateway.start_in_thread()
    client = FixClient(harness.credentials("key-2"), **harness.client_kwargs())
    books = Books()
    with client.market_data() as md:
        md.send(Requests("prediction", "KalshiMD").subscribe([A, B]))
        # as fast as possible: the gateway waits for this client to read each message before
        # it sends the next, so once the replay is done every book is in the session's queue
        quiet = 0
        while True:
            event = md.next_event(timeout=0.2)  # reading is what lets the replay go on
            if event is None:
                if replay.done.is_set():
                    break
                quiet += 1
                assert quiet < 50, f"the replay stalled after {replay.messages} messages"
                continue
            quiet = 0
            if isinstance(event, ApplicationMessage) and event.message.MSG_TYPE in "WX":
                books.apply(event.message)
    assert replay.error is None
    assert replay.messages == check_recording(recording).messages
    # the client's books are the recording's last books
    for symbol in (A,):
        top = gateway.call(lambda s=symbol: gateway.exchange.top_of_book(s))
        assert (books[symbol].best_bid().price, books[symbol].best_offer().price) == (
            top[0][0],
            top[1][0],
        )


def test_orders_trade_against_the_recording_and_the_report_counts_them(
    harness: GatewayHarness, recording: Path, tmp_path: Path
) -> None:
    gateway = harness.gateway
    replay = gateway.replay(recording, start="now", speed=1000.0, settle={A: "no"})
    gateway.start_in_thread()
    client = FixClient(harness.credentials("key-1"), **harness.client_kwargs())
    requests = Requests("prediction", "KalshiNR")
    with client.order_entry() as oe:
        bought = oe.place(requests.new_order(A, "1", D(5), D("0.99")), until="filled")
        assert bought.cum_qty == 5
        # the exchange's clock is the recording's: the fill happened in November 2026
        info = check_recording(recording)
        stamp = bought.fills[0].transact_time.timestamp()
        assert info.first_time is not None and info.last_time is not None
        assert info.first_time <= stamp <= info.last_time
        assert replay.wait(30)
        assert oe.tracker.pnl(A).position == 5
    report = replay.report()
    row = next(r for r in report.rows if r.symbol == A)
    assert row.account.bought == 5 and row.account.fills >= 1
    assert row.account.settled and row.account.result == "no"
    assert row.total == -row.account.buy_cost - row.account.fees  # YES settled at 0
    assert report.end == "end of the recording"
    b = next(r for r in report.rows if r.symbol == B)
    assert b.account.fills == 0 and b.account.settled  # the recording settles B
    paths = report.write(recording, str(tmp_path))
    data = json.loads(paths[0].read_text())
    assert data["schema"] == 1 and data["total"] == str(report.total)
    assert paths[1].read_text().startswith("<svg")
    assert A in report.table()


def test_a_bad_recording_is_refused_before_anything_is_replayed(
    harness: GatewayHarness, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.log"
    lines = SAMPLE_RECORDING.read_bytes().splitlines(keepends=True)
    bad.write_bytes(b"".join(lines[:10]) + lines[10][:80])  # cut mid-frame
    with pytest.raises(RecordingError, match=r"bad\.log: line 11 \(byte \d+\): .*truncated"):
        harness.gateway.replay(bad)
    margin = MockGateway("margin", keys={})
    with pytest.raises(RecordingError, match="a recording of prediction, not margin"):
        margin.replay(SAMPLE_RECORDING)


def test_the_replay_clock_follows_the_recording_and_never_runs_back() -> None:
    clock = ReplayClock(1000.0, 2.0)
    assert clock(5.0) == 1000.0  # not started: the recording's first time
    clock.run(10.0, 2.0)
    assert clock(11.0) == 1002.0  # two recorded seconds per second
    assert clock.apply(1001.0) == 1002.0  # a message recorded earlier: held, not back
    assert clock.apply(1010.0) == 1010.0
    clock.run(20.0, None)  # as fast as possible: stands at the last message's time
    assert clock(30.0) == 1010.0

"""Replaying a recording into the mock gateway (`MockGateway.replay`) with real clients.

A blocking market-data client reads every book while the recording is replayed as fast as it
follows; an order-entry client trades against the recorded books; the paper-trading report
counts its fills, fees and P&L, marked to the recorded mid and at settlement.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness

from kalshi_fix_sansio import ApplicationMessage
from kalshi_fix_sansio.adapters.blocking import FixClient, MarginFixClient
from kalshi_fix_sansio.simulator.data.recording import (
    RecordingError,
    check_recording,
    read_recording,
)
from kalshi_fix_sansio.simulator.gateway import Outbound, ReplayClock
from kalshi_fix_sansio.simulator.gateway.server import MockGateway
from kalshi_fix_sansio.simulator.gateway.tls import self_signed, server_context
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_MARKETS,
    MARGIN_SAMPLE_RECORDING,
    SAMPLE_MARKETS,
    SAMPLE_RECORDING,
)
from kalshi_fix_sansio.trading.book import Books
from kalshi_fix_sansio.trading.builders import Requests

A, B = SAMPLE_MARKETS


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "sample.log"
    shutil.copy(SAMPLE_RECORDING, path)
    return path


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[Callable[[str], GatewayHarness]]:
    """Makes a mock gateway of a product (not started: a replay is set up first); closes it."""
    made: list[GatewayHarness] = []

    def make(product: str) -> GatewayHarness:
        cert, key = self_signed(tmp_path)
        signers, public = {}, {}
        for key_id in ("key-1", "key-2"):
            signers[key_id], public[key_id] = new_ed25519_keys()
        context = server_context(cert, key)
        gateway = MockGateway(product, keys=public, ssl_context=context, heartbeat_interval=5)
        made.append(GatewayHarness(gateway, product, cert, signers))
        return made[-1]

    yield make
    for h in made:
        h.gateway.close()


@pytest.fixture
def harness(gateways: Callable[[str], GatewayHarness]) -> GatewayHarness:
    return gateways("prediction")


def test_a_blocking_client_reads_every_recorded_book(
    harness: GatewayHarness, recording: Path
) -> None:
    gateway = harness.gateway
    replay = gateway.replay(recording, as_fast_as_possible=True)
    exchange = gateway.exchange
    sent = 0  # recorded messages that reached the client (the others need no reading)
    replay_one = exchange.replay

    def counted(message: Any, now: float) -> list[Outbound]:
        nonlocal sent
        out = replay_one(message, now)
        sent += bool(out)
        return out

    exchange.replay = counted  # type: ignore[method-assign]
    gateway.start_in_thread()
    client = FixClient(harness.credentials("key-2"), **harness.client_kwargs())
    books = Books()
    ahead: list[int] = []  # per book message read: how many more the exchange had applied
    with client.market_data() as md:
        md.idle_handoff = 4.0  # only this loop reads, however slowly a loaded machine runs it
        md.send(Requests("prediction", "KalshiMD").subscribe([A, B]))
        read, answers = 0, 2  # the subscription's own two snapshots precede the recording
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
                if answers:
                    answers -= 1
                else:
                    read += 1
                ahead.append(sent - read)
    assert replay.error is None
    # the documented limit: a blocking client's code that reads within its hand-off time,
    # handling message N, has at most N + 1 in the exchange's books (the Heartbeat may go out
    # in the read that returned N)
    assert max(ahead) <= 1 and ahead[-1] == 0
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
    assert data["schema"] == 2 and data["total"] == str(report.total)
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


def test_a_margin_recording_replays_and_the_report_counts_margin_fees(
    gateways: Callable[[str], GatewayHarness], tmp_path: Path
) -> None:
    """The margin sample through the margin gateway: a margin client takes the recorded offer
    (taker fee 0.05 % of the notional, rounded up to the cent), then a resting sell inside the
    spread is filled by the recording (maker fee 0); the report marks the rest to the last
    recorded mid, which the recording itself gives."""
    recording = tmp_path / "margin.log"
    shutil.copy(MARGIN_SAMPLE_RECORDING, recording)
    perp, _ = MARGIN_SAMPLE_MARKETS
    h = gateways("margin")
    gateway = h.gateway
    replay = gateway.replay(recording, as_fast_as_possible=True)
    gateway.start_in_thread()
    requests = Requests("margin", "KalshiNR")
    reader = MarginFixClient(h.credentials("key-2"), **h.client_kwargs())
    trader = MarginFixClient(h.credentials("key-1"), **h.client_kwargs())
    with reader.market_data() as md, trader.order_entry() as oe:
        md.send(Requests("margin", "KalshiMD").subscribe(list(MARGIN_SAMPLE_MARKETS)))
        # as fast as possible: the replay waits for this client, so while it does not read,
        # the book stays the snapshot's (best offer 19.50, 34 contracts)
        while True:
            event = md.next_event(timeout=5)
            assert event is not None, "no snapshot"
            message = getattr(event, "message", None)
            if message is not None and message.MSG_TYPE == "W" and message.symbol == perp:
                break
        bought = oe.place(requests.new_order(perp, "1", D(10), D("19.50")), until="filled")
        # 0.0005 x 10 x 19.50 = 0.0975, rounded up to the cent
        assert [(f.price, f.qty, f.fees) for f in bought.fills] == [(D("19.50"), D(10), D("0.10"))]
        oe.place(requests.new_order(perp, "2", D(5), D("19.49")))  # alone inside the spread
        while not replay.done.is_set():
            md.next_event(timeout=0.5)  # reading lets the replay go on
        live = oe.tracker.pnl(perp)
        assert live.position == 5  # the recording filled the resting sell
        assert live.sell_proceeds == D("97.45") and live.fees == D("0.10")  # maker fee 0
    assert replay.error is None and replay.messages == 202
    books = Books()
    for item in read_recording(recording):
        books.apply(item.message)
    best_bid, best_offer = books[perp].best_bid(), books[perp].best_offer()
    assert best_bid is not None and best_offer is not None
    mid = (best_bid.price + best_offer.price) / 2  # the last recorded mid
    report = replay.report()
    row = next(r for r in report.rows if r.symbol == perp)
    a = row.account
    assert (a.fills, a.bought, a.sold, a.position) == (2, 10, 5, 5)
    assert (a.fees, a.settled, row.mid) == (D("0.10"), False, mid)
    assert a.realized == D("97.45") - D("195.00") - D("0.10") + 5 * D("19.50")  # -0.15
    assert row.unrealized == 5 * (mid - D("19.50"))
    assert row.total == report.total == D("97.45") - D("195.00") - D("0.10") + 5 * mid
    data = json.loads(report.write(recording)[0].read_text())
    assert data["markets"][0]["fees"] == "0.10" and data["markets"][0]["realized"] == "-0.15"
    assert live.realized == a.realized  # the live session's numbers are the report's


def test_a_margin_replay_refuses_settle(gateways: Callable[[str], GatewayHarness]) -> None:
    perp, _ = MARGIN_SAMPLE_MARKETS
    with pytest.raises(ValueError, match="margin markets are not settled over FIX"):
        gateways("margin").gateway.replay(MARGIN_SAMPLE_RECORDING, settle={perp: "yes"})

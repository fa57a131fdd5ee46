"""Recordings, the paper-trading report and settlement-aware P&L, through the public API and
the ``kalshi-fix mock-gateway --replay`` command line."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tracemalloc
from datetime import date, datetime, time, timezone
from decimal import Decimal as D
from pathlib import Path

import pytest

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.cli import main as kalshi_fix
from kalshi_fix_sansio.simulator.data.recording import (
    RecordingError,
    RecordingWriter,
    check_recording,
    read_recording,
)
from kalshi_fix_sansio.simulator.gateway.paper import PaperLedger
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_MARKETS,
    MARGIN_SAMPLE_RECORDING,
    SAMPLE_MARKETS,
    SAMPLE_RECORDING,
    SAMPLE_SETTLED,
    write_recording,
)
from kalshi_fix_sansio.trading.pnl import PnLLedger
from kalshi_fix_sansio.trading.tracker import OrderTracker

A, B = SAMPLE_MARKETS
T = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)


def test_the_shipped_sample_is_what_the_generator_writes() -> None:
    out = io.StringIO()
    write_recording(out, settle=dict(SAMPLE_SETTLED))
    assert SAMPLE_RECORDING.read_text() == out.getvalue()
    info = check_recording(SAMPLE_RECORDING)
    assert (info.product, info.markets, info.messages) == ("prediction", SAMPLE_MARKETS, 403)


def test_the_shipped_margin_sample_is_what_the_generator_writes() -> None:
    out = io.StringIO()
    write_recording(out, product="margin", messages=200, seed=11)
    assert MARGIN_SAMPLE_RECORDING.read_text() == out.getvalue()
    info = check_recording(MARGIN_SAMPLE_RECORDING, product="margin")
    assert (info.product, info.markets, info.messages) == ("margin", MARGIN_SAMPLE_MARKETS, 202)
    prices = {
        e.md_entry_px
        for item in read_recording(MARGIN_SAMPLE_RECORDING)
        for e in item.message.md_entries
    }
    assert min(prices) > 1  # margin prices in dollars, not prediction cents
    with pytest.raises(ValueError, match="margin markets are not settled over FIX"):
        write_recording(io.StringIO(), product="margin", settle={"KXPAPER-PERP-A": "yes"})


def test_kalshi_fix_decode_prints_a_recording(capsys: pytest.CaptureFixture[str]) -> None:
    assert kalshi_fix(["decode", str(SAMPLE_RECORDING)]) == 0
    out = capsys.readouterr().out
    assert out.count("MarketDataIncrementalRefresh (35=X)") == 400
    assert "MarketSettlementReport (35=UMS)" in out


def _lines() -> list[bytes]:
    return SAMPLE_RECORDING.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda ls: [*ls[:5], ls[5][:-30]], r"line 6 \(byte \d+\): .*truncated"),
        (
            lambda ls: [*ls[:3], ls[3].replace(b"|10=", b"|58=x|10="), *ls[4:]],
            r"line 4 .*BodyLength",
        ),
        (
            lambda ls: [*ls[:2], b"hello there\n", *ls[2:]],
            r"line 3 \(byte \d+\): not a message-log",
        ),
        (
            lambda ls: [ls[0].replace(b"prediction", b"margin"), *ls[1:]],
            r"line 1 \(byte 0\): a recording of margin, not prediction",
        ),
        (lambda ls: [ls[0].replace(b"prediction", b"futures"), *ls[1:]], "names no known product"),
        (lambda ls: [ls[0]], r"file: no market data"),
    ],
)
def test_a_bad_recording_is_one_line_naming_where(
    damage: object, message: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.log"
    bad.write_bytes(b"".join(damage(_lines())))  # type: ignore[operator]
    with pytest.raises(RecordingError, match=message) as caught:
        check_recording(bad, product="prediction")
    assert "\n" not in str(caught.value) and str(caught.value).startswith(str(bad))


def test_a_margin_book_without_a_header_is_named(tmp_path: Path) -> None:
    entry = p.MarketDataSnapshotFullRefreshMDEntry(
        md_entry_type=p.MDEntryType.BID,
        md_entry_px=D("19.50"),
        md_entry_size=D(3),
        md_entry_date=date(2026, 11, 20),
        md_entry_time=time(15, 0, tzinfo=timezone.utc),
    )
    snapshot = p.MarketDataSnapshotFullRefresh(symbol="BTC-PERP", md_entries=(entry,))
    header = Header(sender_comp_id="Kalshi", target_comp_id="k", msg_seq_num=2, sending_time=T)
    bad = tmp_path / "margin.log"
    with open(bad, "w", encoding="utf-8") as out:
        writer = RecordingWriter(out, "prediction", [])
        out.seek(0)
        out.truncate()  # no header: the product is not said
        writer.write(p.encode(snapshot, header), T.timestamp())
    with pytest.raises(RecordingError, match=r"line 1 .*19\.50 is not a prediction price"):
        check_recording(bad)


def test_a_recording_streams_in_flat_memory(tmp_path: Path) -> None:
    """Once the decoder's bounded caches are warm, reading on holds less than the file (one
    line at a time)."""
    path = tmp_path / "long.log"
    with open(path, "w", encoding="utf-8") as out:
        write_recording(out, messages=16_000)
    size = path.stat().st_size
    reader = read_recording(path)
    for _ in range(6_000):  # the codec's value caches (4,096 entries each) fill up
        next(reader)
    tracemalloc.start()
    rest = sum(1 for _ in reader)
    growth = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert rest == 16_002 - 6_000
    # the codec's caches are refilled as they are cleared (about 1 MB); the file is 4.4 MB and
    # its 10,000 messages, decoded and kept, would hold many times that
    assert growth < size / 2, (growth, size)


def test_the_report_marks_to_the_mid_and_to_the_settlement() -> None:
    ledger = PaperLedger()

    class Fill:
        account, time, symbol = "k", 10.0, A
        side, price, qty, fee = "1", D("0.40"), D(10), D("0.17")

    ledger.on_fill(Fill())
    ledger.on_mid(A, 11.0, D("0.45"))
    report = ledger.report(SAMPLE_MARKETS)
    row = report.rows[0]
    assert (row.account.position, row.unrealized, row.total) == (10, D("0.50"), D("0.33"))
    ledger.settle(A, "no", 12.0)
    row = ledger.report().rows[0]
    assert (row.account.position, row.total) == (0, D("-4.17"))
    assert [pt.pnl for pt in ledger.points] == [D("-0.17"), D("0.33"), D("-4.17")]
    data = ledger.report().as_json()
    assert data["markets"][0]["realized"] == "-4.17" and data["curve"][-1]["pnl"] == "-4.17"


def test_the_curve_keeps_at_most_max_points() -> None:
    ledger = PaperLedger(max_points=10)
    ledger.ledger.add(A, "1", D("0.5"), D(1), fee=D(0))
    for n in range(1000):
        ledger.on_mid(A, float(n), D("0.5") + D(n % 7) / 100)
    assert len(ledger.points) <= 11 and ledger.points[-1].time > 900


def test_the_tracker_closes_a_position_at_settlement() -> None:
    tracker = OrderTracker()
    tracker.sent(p.NewOrderSingle(cl_ord_id="b1", side=p.Side.BUY, order_qty=D(4), symbol=A))
    tracker.on_message(
        p.ExecutionReport(
            cl_ord_id="b1",
            order_id="o1",
            exec_id="1;1",
            exec_type=p.ExecType.TRADE,
            ord_status=p.OrdStatus.FILLED,
            side=p.Side.BUY,
            symbol=A,
            last_px=D("0.30"),
            last_qty=D(4),
            cum_qty=D(4),
            leaves_qty=D(0),
            avg_px=D("0.30"),
        )
    )
    assert tracker.pnl(A).position == 4 and tracker.pnl(A).unrealized(D("0.50")) == D("0.80")
    assert tracker.pnl(A).fills == 1 and tracker.pnl("OTHER").fills == 0
    tracker.on_message(
        p.MarketSettlementReport(
            market_settlement_report_id="r1",
            symbol=A,
            clearing_business_date=date(2026, 11, 20),
            market_result=p.MarketResult("yes"),
            settlement_price=D("1"),
        )
    )
    pnl = tracker.pnl(A)
    assert (pnl.position, pnl.realized, pnl.result) == (0, D("2.80"), "yes")
    ledger = PnLLedger()
    ledger.add_fills(tracker.fills)
    ledger.apply_settlement(tracker.settlements[A])
    assert ledger.market(A).realized == pnl.realized  # the report's numbers are the tracker's


def test_mock_gateway_replay_prints_and_writes_the_report(tmp_path: Path) -> None:
    recording = tmp_path / "rec.log"
    shutil.copy(SAMPLE_RECORDING, recording)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kalshi_fix_sansio.cli",
            "mock-gateway",
            "--plain",
            "--port-base",
            "0",
            "--replay",
            str(recording),
            "--start",
            "now",
            "--as-fast-as-possible",
            "--settle",
            f"{A}=no",
            "--exit-at-end",
            "--seconds",
            "30",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert f"replaying {recording}: 403 messages, 2 market(s)" in out
    assert "settled no 0" in out and "settled yes 1" in out
    data = json.loads((tmp_path / "rec.log.paper.json").read_text())
    assert [m["result"] for m in data["markets"]] == ["no", "yes"]


def test_mock_gateway_refuses_a_bad_recording_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.log"
    bad.write_bytes(b"".join(_lines()[:4]) + b"garbage\n")
    status = kalshi_fix(["mock-gateway", "--plain", "--port-base", "0", "--replay", str(bad)])
    err = capsys.readouterr().err
    assert status == 1
    checking, refusal = err.splitlines()
    assert checking == (
        f"kalshi-fix mock-gateway: checking the recording {bad} ({bad.stat().st_size:,} bytes) "
        "before the replay (Ctrl-C stops)"
    )
    assert refusal == (
        f"kalshi-fix mock-gateway: {bad}: line 5 (byte {sum(map(len, _lines()[:4]))}): "
        "not a message-log line: 'garbage'"
    )

"""Memory: bytes per message queued behind a sequence gap, and per order-book level.

    .venv/bin/python benchmarks/bench_memory.py [--quick] [--write-docs]

Measured with ``tracemalloc`` (Python allocations still alive after the work, input frames
excluded: they exist before tracing starts).

* Session: a logged-on KalshiRT client session (it recovers gaps by ResendRequest) receives N
  ExecutionReports (fee and collateral groups, ~430 bytes each on the wire) numbered from one
  past the expected MsgSeqNum: the first opens a gap, every one is kept until the gap closes.
  Reported: bytes retained per queued message, and the frame's own size beside it.
* Driver: a logged-on KalshiNR `Driver` (what every adapter runs) receives N ExecutionReports
  that the application does not read: each is queued as an event. Reported: bytes retained per
  unread event, the same run with ``QueuePolicy(queue_events=False)`` (the tracker alone)
  subtracted, so the figure is the queue's own cost (the budget behind
  ``QueuePolicy.max_events``).
* Book: ``Books`` fed S snapshots (35=W) of 20 levels each, one per symbol, decoded lazily;
  the messages are dropped after ``apply``. Reported: bytes retained per level (the book's
  dicts, its Decimal keys and values, the per-symbol ``Book``, amortised over its 20 levels).
* Tag layouts: the decode remembers each tag layout it found clean (a bounded cache): 35=W
  snapshots of 1, 2, ... levels, each a layout of its own, decoded and dropped. Reported: bytes
  retained per remembered layout (its key and tag set) and per field, and what the bounds come to.
"""

from __future__ import annotations

import gc
import platform
import sys
import tracemalloc
from decimal import Decimal

from _docs import arguments, publish, write_block

from kalshi_fix_sansio import Header, QueuePolicy
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.codec._generated.prediction import _CODEC as CODEC  # its layout cache
from kalshi_fix_sansio.session.config import KALSHI_COMP_ID, Role, SessionConfig
from kalshi_fix_sansio.session.machine import Session
from kalshi_fix_sansio.simulator.testing import SessionPair, new_ed25519_keys
from kalshi_fix_sansio.simulator.testing.samples import KEY, T0, prediction_messages
from kalshi_fix_sansio.trading.book import Books

BEGIN = "<!-- memory-results -->"
END = "<!-- /memory-results -->"
NOW = T0.timestamp()


def session_bytes_per_queued(count: int) -> tuple[float, float, int]:
    """(retained bytes per queued message, mean frame size, messages queued)."""
    pair = SessionPair.kalshi(session_type="KalshiRT", now=NOW)
    pair.start()
    client = pair.client.session
    er = next(m for m, _ in prediction_messages() if isinstance(m, p.ExecutionReport))
    first = client.next_target_seq + 1  # one past the expected number: a gap
    frames = []
    for i in range(count):
        hdr = Header(
            sender_comp_id=KALSHI_COMP_ID,
            target_comp_id=client.config.sender_comp_id,
            msg_seq_num=first + i,
            sending_time=T0,
        )
        frames.append(p.encode(er.replace(exec_id=f"{i};1", cum_qty=Decimal(i % 10)), hdr))
    # each frame arrives on its own, as a fresh object made inside the traced region (so a
    # frame the session keeps is counted whether it keeps that object or a copy)
    chunks = [bytearray(f) for f in frames]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for chunk in chunks:
            client.receive_data(bytes(chunk), NOW)
            list(client.events())
            client.data_to_send()
        del chunk
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    gaps = getattr(client, "_gaps", None)  # private: only to check the frames were queued
    queued = sum(1 for f in gaps.pending.values() if f) if gaps is not None else count
    return (after - before) / queued, sum(map(len, frames)) / count, queued


def _driver_retained(count: int, queue_events: bool) -> float:
    """Bytes retained by a logged-on KalshiNR driver after ``count`` unread reports."""
    signer, public = new_ed25519_keys()
    config = SessionConfig(sender_comp_id="key-1", session_type="KalshiNR", signer=signer)
    driver = Driver(config, queue_policy=QueuePolicy(queue_events=queue_events))
    gateway = Session(
        SessionConfig(
            sender_comp_id=KALSHI_COMP_ID,
            session_type="KalshiNR",
            role=Role.ACCEPTOR,
            public_keys={"key-1": public},
        )
    )
    gateway.start(NOW)
    driver.start(NOW)
    driver.connection_made(NOW)
    gateway.receive_data(driver.data_to_send(), NOW)
    list(gateway.events())
    driver.receive_data(gateway.data_to_send(), NOW)
    assert driver.supervisor.connections == 1
    while driver.next_event() is not None:
        pass
    er = next(m for m, _ in prediction_messages() if isinstance(m, p.ExecutionReport))
    chunks = []
    for i in range(count):
        hdr = Header(
            sender_comp_id=KALSHI_COMP_ID,
            target_comp_id="key-1",
            msg_seq_num=2 + i,
            sending_time=T0,
        )
        chunks.append(
            bytearray(p.encode(er.replace(exec_id=f"{i};1", cum_qty=Decimal(i % 10)), hdr))
        )
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for chunk in chunks:
            driver.receive_data(bytes(chunk), NOW)
            driver.data_to_send()
        del chunk
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert driver.queued == (count if queue_events else 0), driver.queued
    return after - before


def driver_bytes_per_unread(count: int) -> float:
    """Retained bytes per unread ExecutionReport event in a driver's queue (tracker excluded)."""
    return (_driver_retained(count, True) - _driver_retained(count, False)) / count


def _snapshot(symbol: str, levels: int, seq: int, salt: int = 0) -> bytes:
    """A 35=W of ``levels`` levels, half bids and half offers."""
    snap = p.MarketDataSnapshotFullRefresh(
        symbol=symbol,
        md_entries=[
            p.MarketDataSnapshotFullRefreshMDEntry(
                md_entry_type=p.MDEntryType.BID if i < levels // 2 else p.MDEntryType.OFFER,
                md_entry_px=Decimal(1 + i * 4 % 99) / 100,
                md_entry_size=Decimal(100 + i * 7 + salt % 13),
                md_entry_date=T0.date(),
                md_entry_time=T0.timetz(),
            )
            for i in range(levels)
        ],
    )
    hdr = Header(
        sender_comp_id=KALSHI_COMP_ID, target_comp_id=KEY, msg_seq_num=seq, sending_time=T0
    )
    return p.encode(snap, hdr)


def book_bytes_per_level(symbols: int, levels: int = 20) -> float:
    """Retained bytes per level of ``Books`` holding ``symbols`` books of ``levels`` levels."""
    frames = [_snapshot(f"MKT-{s:05d}", levels, 2 + s, s) for s in range(symbols)]
    books = Books()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for f in frames:
            books.apply(p.decode(f))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    held = sum(len(b.bids) + len(b.offers) for b in books)
    assert held == symbols * levels, held
    return (after - before) / held


def layout_bytes() -> tuple[float, int, int, float]:
    """(retained bytes per tag layout the decode remembers, layouts, their largest level count,
    retained bytes per field of those layouts): 35=W snapshots of 1, 2, ... levels, each its own
    layout, up to the most fields remembered."""
    frames = []
    levels = 1
    while True:
        frame = _snapshot("MKT-A", levels, 2 + levels)
        if frame.count(b"\x01") > CODEC.layouts.max_tags:
            break
        frames.append(frame)
        levels += 1
    CODEC.layouts.forget()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for f in frames:
            p.decode(f)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    remembered = len(CODEC.layouts)
    assert remembered == len(frames), (remembered, len(frames))
    fields = CODEC.layouts.fields
    CODEC.layouts.forget()
    return (after - before) / remembered, remembered, levels - 1, (after - before) / fields


def report(count: int, symbols: int) -> list[str]:
    per_msg, frame_size, queued = session_bytes_per_queued(count)
    per_event = driver_bytes_per_unread(count)
    per_level = book_bytes_per_level(symbols)
    per_layout, layouts, most, per_field = layout_bytes()
    cache = CODEC.layouts
    return [
        f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}; "
        "tracemalloc, retained after the work",
        "",
        "| what | retained |",
        "|---|---:|",
        f"| Session (KalshiRT): per ExecutionReport queued behind a gap ({queued:,} queued; "
        f"frame {frame_size:.0f} B on the wire) | {per_msg:,.0f} B |",
        f"| Driver (KalshiNR): per ExecutionReport event left unread in the application's "
        f"queue ({count:,} unread; the tracker's own share subtracted) | {per_event:,.0f} B |",
        f"| Books: per price level ({symbols:,} symbols x 20 levels from 35=W snapshots) "
        f"| {per_level:,.0f} B |",
        f"| decode's remembered tag layouts: per layout ({layouts} layouts, 35=W snapshots of 1 to "
        f"{most} levels, up to {cache.max_tags:,} fields; {per_field:,.0f} B per field; at most "
        f"{cache.bound:,} layouts and {cache.budget:,} fields in all are kept: "
        f"{per_field * cache.budget / 1e6:.1f} MB at this mean) | {per_layout:,.0f} B |",
    ]


def write_docs(lines: list[str]) -> None:
    """Write the table between this benchmark's markers in docs/maintainers/benchmarks.md."""
    write_block(BEGIN, END, lines)


def main(argv: list[str]) -> int:
    parser = arguments(__doc__ or "", "small sizes (a smoke test)")
    args = parser.parse_args(argv)
    count, symbols = (200, 20) if args.quick else (5000, 500)
    publish(report(count, symbols), BEGIN, END, args.write_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

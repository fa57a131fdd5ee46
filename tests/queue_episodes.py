"""A recording made so that the exchange's queue models fill differently, and a strategy that
joins its queues: the "live" days of tests/test_fitting.py and tests/test_compare_live.py."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from kalshi_fix_sansio.codec import Header
from kalshi_fix_sansio.codec import prediction as p
from kalshi_fix_sansio.simulator.recording import RecordingWriter
from kalshi_fix_sansio.trading.builders import ClOrdIDGenerator, Requests

SYMBOL = "KXQUEUE-26NOV20"
T0 = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp()
TRADES = (15, 35, 55, 85, 95, 100)
"""One episode per trade size: the level at $0.40 is 100 contracts when the order for 10
joins it; 300 join behind; 200 are cancelled (no trade: where they were in the queue is the
model's answer); then a trade of this size hits the level. FIFO puts every cancellation ahead
(the order is first: every trade fills it), risk-averse every one behind (none of these trades
reaches it), the probabilistic models in between, each at its own share."""


def _entry(action: str, kind: str, px: str, size: int, when: float, **kw: Any) -> Any:
    moment = datetime.fromtimestamp(when, timezone.utc)
    return p.MarketDataIncrementalRefreshMDEntry(
        md_update_action=p.MDUpdateAction(action),
        symbol=SYMBOL,
        md_entry_type=p.MDEntryType(kind),
        md_entry_px=Decimal(px),
        md_entry_size=Decimal(size),
        md_entry_date=moment.date(),
        md_entry_time=moment.timetz(),
        **kw,
    )


def _snapshot_entry(kind: str, px: str, size: int) -> Any:
    moment = datetime.fromtimestamp(T0, timezone.utc)
    return p.MarketDataSnapshotFullRefreshMDEntry(
        md_entry_type=p.MDEntryType(kind),
        md_entry_px=Decimal(px),
        md_entry_size=Decimal(size),
        md_entry_date=moment.date(),
        md_entry_time=moment.timetz(),
    )


def write_episodes(path: Path) -> None:
    """The recording of `TRADES`' episodes, ten seconds apart."""
    seq = 1
    with path.open("w", encoding="utf-8") as out:
        writer = RecordingWriter(out, "prediction", [SYMBOL], "KalshiMD/crafted")

        def emit(message: Any, when: float) -> None:
            nonlocal seq
            seq += 1
            moment = datetime.fromtimestamp(when, timezone.utc)
            header = Header(
                sender_comp_id="Kalshi",
                target_comp_id="crafted",
                msg_seq_num=seq,
                sending_time=moment,
            )
            writer.write(p.encode(message, header, use_dollars=True), when)

        levels = (_snapshot_entry("0", "0.40", 100), _snapshot_entry("1", "0.45", 50))
        emit(p.MarketDataSnapshotFullRefresh(symbol=SYMBOL, md_entries=levels), T0)
        for k, trade in enumerate(TRADES):
            t = T0 + 10 * (k + 1)
            for delay, size in ((0, 100), (2, 400), (3, 200)):
                change = (_entry("1", "0", "0.40", size, t + delay),)
                emit(p.MarketDataIncrementalRefresh(md_entries=change), t + delay)
            hit = _entry(
                "0",
                "2",
                "0.40",
                trade,
                t + 4,
                aggressor_side=p.AggressorSide("2"),
                trade_id=f"t{k}",
            )
            after = _entry("1", "0", "0.40", 200 - trade, t + 4)
            emit(p.MarketDataIncrementalRefresh(md_entries=(hit, after)), t + 4)
        end = T0 + 10 * (len(TRADES) + 1)
        emit(p.MarketDataIncrementalRefresh(md_entries=(_entry("1", "0", "0.40", 100, end),)), end)


def joiner(log: Path) -> Any:
    """The "live" strategy: a buy of 10 at $0.40 a second into each episode, cancelled after
    five seconds if still open; its order-entry session writes the message log ``log``."""

    def strategy(ctx: Any) -> None:
        ids = ClOrdIDGenerator("e-", sequential=True)
        orders = Requests(ctx.product, "KalshiNR", cl_ord_ids=ids)
        with ctx.client(message_log_path=str(log)).order_entry() as oe:
            for k in range(len(TRADES)):
                t = T0 + 10 * (k + 1)
                ctx.simulation.run_for(t + 1 - ctx.time())
                order = orders.new_order(SYMBOL, "buy", Decimal(10), Decimal("0.40"))
                oe.send(order)
                ctx.simulation.run_for(t + 6 - ctx.time())
                current = oe.tracker.current(order.cl_ord_id)
                if current is not None and not current.terminal:
                    oe.send(orders.cancel(current))
            while ctx.seconds > 0:
                ctx.simulation.run_for(ctx.seconds)

    return strategy

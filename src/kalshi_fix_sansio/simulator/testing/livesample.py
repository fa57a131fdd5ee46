"""The shipped live-session sample (generated, not from Kalshi): a day of message logs made with
a known latency and a known queue model, for ``kalshi-fix fit-latency``, ``fit-queue`` and
``compare-live``.

The day is six episodes, ten seconds apart, in one market (`SYMBOL`): the bid at $0.40 is 100
contracts; a second later the `joiner` strategy buys 10 there (it joins the back of the queue);
300 contracts join behind it; 200 are cancelled (no trade explains them: where they were in the
queue is the queue model's answer); then a trade of `TRADES`' size hits the level; the strategy
cancels what is left of its order five seconds after sending it. FIFO puts every cancellation
ahead of the order (each trade fills it), risk-averse every one behind (no trade reaches it),
the probabilistic models in between, each at its own share: the day tells the models apart.

`write_live_sample` writes the two logs a client of this day would have written:

* ``live-md-sample.log`` (`LIVE_MD_SAMPLE`): the market-data session's log, a recording: the
  exchange's messages, each received `MD_LATENCY` after its SendingTime (drawn, seed
  `SEED`).
* ``live-oe-sample.log`` (`LIVE_OE_SAMPLE`): the order-entry session's log, made by the mock
  exchange (`kalshi_fix_sansio.simulator.backtests.backtest.run_backtest`) running `joiner` under the
  queue model `QUEUE_MODEL`, with `OE_LATENCY` each way.

``python -m kalshi_fix_sansio.simulator.testing.livesample`` rewrites the shipped files; a test
checks they are what this module writes.
"""

from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from ...codec import Header
from ...codec import prediction as p
from ...trading.builders import ClOrdIDGenerator, Requests
from ..data.recording import RecordingWriter
from ..world.latency import LatencyModel, LogNormalLatency

__all__ = [
    "LIVE_MD_SAMPLE",
    "LIVE_OE_SAMPLE",
    "MD_LATENCY",
    "OE_LATENCY",
    "QUEUE_MODEL",
    "SEED",
    "SYMBOL",
    "T0",
    "TRADES",
    "joiner",
    "joining",
    "main",
    "write_episodes",
    "write_live_sample",
]

SYMBOL: Final = "KXQUEUE-26NOV20"
"""The day's one market."""
T0: Final = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp()
"""The day's first message (UTC epoch seconds)."""
TRADES: Final = (15, 35, 55, 85, 95, 100)
"""One episode per trade size (see the module docstring)."""
QUEUE_MODEL: Final = "prob-power:3"
"""The queue model the live exchange ran: of the six orders only the last two fill, 2.14 and
7.14 contracts."""
MD_LATENCY: Final = LogNormalLatency(0.05, 0.3)
"""The market-data session's one-way delay: median 50 ms, sigma 0.3."""
OE_LATENCY: Final = LogNormalLatency(0.02, 0.3)
"""The order-entry session's one-way delay: median 20 ms, sigma 0.3."""
SEED: Final = 2
"""The seed of the day's draws (the delays, the queue model's)."""
_SAMPLES: Final = Path(__file__).parent / "samples"
LIVE_MD_SAMPLE: Final = _SAMPLES / "live-md-sample.log"
"""The shipped market-data log (a recording)."""
LIVE_OE_SAMPLE: Final = _SAMPLES / "live-oe-sample.log"
"""The shipped order-entry log."""


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


def _episodes() -> list[tuple[float, Any]]:
    """The exchange's messages of the day, with the times it sent them."""
    levels = (_snapshot_entry("0", "0.40", 100), _snapshot_entry("1", "0.45", 50))
    out: list[tuple[float, Any]] = [
        (T0, p.MarketDataSnapshotFullRefresh(symbol=SYMBOL, md_entries=levels))
    ]
    for k, trade in enumerate(TRADES):
        t = T0 + 10 * (k + 1)
        for delay, size in ((0, 100), (2, 400), (3, 200)):
            change = (_entry("1", "0", "0.40", size, t + delay),)
            out.append((t + delay, p.MarketDataIncrementalRefresh(md_entries=change)))
        hit = _entry(
            "0", "2", "0.40", trade, t + 4, aggressor_side=p.AggressorSide("2"), trade_id=f"t{k}"
        )
        after = _entry("1", "0", "0.40", 200 - trade, t + 4)
        out.append((t + 4, p.MarketDataIncrementalRefresh(md_entries=(hit, after))))
    end = T0 + 10 * (len(TRADES) + 1)
    out.append(
        (end, p.MarketDataIncrementalRefresh(md_entries=(_entry("1", "0", "0.40", 100, end),)))
    )
    return out


def write_episodes(
    path: str | Path,
    *,
    latency: LatencyModel | None = None,
    seed: int = SEED,
    key: str = "crafted",
) -> None:
    """Write the day's market data as a recording: each message received ``latency`` after the
    exchange sent it (None: at once; drawn with ``seed``), on the API key ``key``."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        writer = RecordingWriter(out, "prediction", [SYMBOL], f"KalshiMD/{key}")
        for seq, (sent, message) in enumerate(_episodes(), start=2):
            header = Header(
                sender_comp_id="Kalshi",
                target_comp_id=key,
                msg_seq_num=seq,
                sending_time=datetime.fromtimestamp(sent, timezone.utc),
            )
            received = sent if latency is None else round(sent + latency.draw(rng), 6)
            writer.write(p.encode(message, header, use_dollars=True), received)


def _read_queue(ctx: Any, queue_log_path: str) -> None:
    """Append the exchange's queue positions of the clients' resting orders now to
    ``queue_log_path``, as a desk keeps Kalshi's (``kalshi-fix queue --record``)."""
    from ...rest.desk import QueuePosition, queue_log_line

    rows = ctx.simulation.gateway.exchange.queue_positions(None)
    positions = [QueuePosition(order_id, market, ahead) for order_id, market, ahead in rows]
    with open(queue_log_path, "a", encoding="utf-8") as out:
        out.write(queue_log_line(positions, ctx.time()) + "\n")


def joining(
    message_log_path: str | None = None, queue_log_path: str | None = None
) -> Callable[[Any], None]:
    """The `joiner` strategy, its order-entry session writing the message log
    ``message_log_path`` (None: none); with ``queue_log_path``, the queue positions of its
    orders read 2 s and 4 s after each is sent are appended there
    (`kalshi_fix_sansio.rest.desk.queue_log_line` lines)."""

    def strategy(ctx: Any) -> None:
        ids = ClOrdIDGenerator("e-", sequential=True)
        orders = Requests(ctx.product, "KalshiNR", cl_ord_ids=ids)
        with ctx.client(message_log_path=message_log_path).order_entry() as oe:
            for k in range(len(TRADES)):
                t = T0 + 10 * (k + 1)
                ctx.simulation.run_for(t + 1 - ctx.time())
                order: Any = orders.new_order(SYMBOL, "buy", Decimal(10), Decimal("0.40"))
                oe.send(order)
                for after in (2, 4):
                    if queue_log_path is not None:
                        ctx.simulation.run_for(t + 1 + after - ctx.time())
                        _read_queue(ctx, queue_log_path)
                ctx.simulation.run_for(t + 6 - ctx.time())
                current = oe.tracker.current(order.cl_ord_id)
                if current is not None and not current.terminal:
                    oe.send(orders.cancel(current))
            while ctx.seconds > 0:
                ctx.simulation.run_for(ctx.seconds)

    return strategy


joiner: Final = joining()
"""The day's strategy: a buy of 10 at $0.40 a second into each episode, cancelled five seconds
after it was sent if still open (``kalshi-fix compare-live
kalshi_fix_sansio.simulator.testing.livesample:joiner ...``)."""


def write_live_sample(md_log: str | Path, oe_log: str | Path) -> None:
    """Write the day's market-data log to ``md_log`` and its order-entry log to ``oe_log``
    (see the module docstring); the same files every time."""
    from ..backtests.backtest import run_backtest
    from ..gateway import queue_model

    write_episodes(md_log, latency=MD_LATENCY, key="sample-md-key")
    Path(oe_log).unlink(missing_ok=True)  # a message log is appended to
    with tempfile.TemporaryDirectory() as where:
        exchange = Path(where) / "exchange.log"  # the market data at the exchange's times
        write_episodes(exchange)
        run_backtest(
            joining(str(oe_log)),
            exchange,
            queue_model=queue_model(QUEUE_MODEL),
            latency={"KalshiNR": OE_LATENCY},
            seed=SEED,
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the shipped live-session sample; returns 0."""
    del argv
    write_live_sample(LIVE_MD_SAMPLE, LIVE_OE_SAMPLE)
    print(f"wrote {LIVE_MD_SAMPLE} and {LIVE_OE_SAMPLE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

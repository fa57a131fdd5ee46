# private: the lane is switched off to compare the tables it leaves with the general wait's
# (`booklevel._lane`)
"""The book-level lane leaves each market's table as the general wait leaves it, at every wake;
each table's sorted prices are its levels' prices, their end its best bid and offer (what
``max`` and ``min`` of its levels give).

Private parts tested here: the bulk spans' tables (`spans._Table`: levels, sorted prices, house
orders, credits, best bid and offer, mid, crossed) of the exchange (`Exchange.spans`), and the
book-level lane (`simulator.backtests.booklevel._lane`, turned off for the general wait, where each
message goes through `BulkSpans.level` and `BulkSpans.trade`).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.simulator.backtests import booklevel
from kalshi_fix_sansio.simulator.backtests.backtest import Context, run_backtest
from kalshi_fix_sansio.simulator.data.recording import RecordingWriter
from kalshi_fix_sansio.simulator.gateway.exchange.common import BUY, SELL
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_MARKETS, write_recording

_TRADE = re.compile(r"(\|269=2\|270=[^|]*\|271=)([^|]*)\|")


def with_big_trades(source: Path, path: Path) -> None:
    """``source`` with each trade's size tripled (its level still going down by the size
    recorded): more is owed to a level than it goes down by, so credits are kept and taken
    at later decreases (a frame's body length and checksum made again); and after every
    50th message a trade at 0.02, where no level is, then that level deleted, 0.25 seconds
    on (a credit owed to a level that is not there, dropped by its deletion)."""
    lines = source.read_text().splitlines(keepends=True)
    with path.open("w") as out:
        out.write(lines[0])  # the header
        writer = RecordingWriter(out, "prediction", list(SAMPLE_MARKETS), "KalshiMD/sample-md-key")
        for n, line in enumerate(lines[1:], 1):
            stamp, direction, _session, text = line.rstrip("\n").split(" ", 3)
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
            if "|269=2|" in text:
                text = _TRADE.sub(lambda m: f"{m[1]}{3 * float(m[2]):.2f}|", text)
                writer.write(_frame(text), when, direction)
            else:
                out.write(line)
            if n % 50 == 0 and "|35=X|" in text:
                symbol = SAMPLE_MARKETS[n // 50 % 2]
                head = text[: text.index("|268=")]
                stamped = re.search(r"272=[^|]*\|273=[^|]*", text)[0]  # (its time: the line's)
                for k, entry in enumerate(
                    (
                        f"279=0|55={symbol}|269=2|270=0.02|271=2.00|{stamped}|2446=1",
                        f"279=2|55={symbol}|269=1|270=0.02|271=0|{stamped}",
                    )
                ):
                    when += 0.125
                    head = re.sub(r"\|34=\d+", f"|34={100_000 + 2 * n + k}", head)
                    writer.write(_frame(f"{head}|268=1|{entry}|10=|"), when, direction)


def _frame(text: str) -> bytes:
    """A recorded frame's text (``|`` for SOH) as a frame: its body length and checksum made
    again."""
    body = text[text.index("|35=") + 1 : text.index("|10=") + 1]
    frame = f"8=FIXT.1.1|9={len(body)}|{body}".replace("|", "\x01").encode()
    return frame + b"10=%03d\x01" % (sum(frame) % 256)


def tables(ctx: Context) -> tuple[int, str]:
    """Every table of the exchange's spans, each value as made (`repr`: 5 and 5.00 differ),
    and how many credits they hold."""
    spans = ctx.simulation.gateway.exchange.spans
    if spans is None:
        return 0, ""
    held = sum(len(t.credit) for t in spans.tables.values())
    for t in spans.tables.values():  # each side's sorted prices, its best their end
        bids, asks = t.levels[BUY], t.levels[SELL]
        assert t.bids == sorted(bids) and t.asks == sorted(asks)
        assert t.bid == (max(bids) if bids else None) and t.ask == (min(asks) if asks else None)
    return held, repr(
        sorted(
            (
                name,
                sorted(t.levels[side].items() for side in sorted(t.levels)),
                sorted(t.houses.items(), key=repr),
                sorted(t.credit.items()),
                t.bid,
                t.ask,
                t.mid,
                t.crossed,
            )
            for name, t in spans.tables.items()
        )
    )


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("seed", [3, 11])
def test_the_lane_leaves_the_tables_the_general_wait_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, big: bool
) -> None:
    """A strategy woken by both markets' changes notes every table at each wake: with the
    lane and without it, the same tables (the credits owed to levels, taken as they go
    down, among them). As recorded, each trade's credit is taken whole by the decrease that
    follows it; with ``big`` trades (`with_big_trades`) credits are kept at many wakes."""
    plain, path = tmp_path / "plain.log", tmp_path / "rec.log"
    with plain.open("w") as out:
        write_recording(out, messages=1500, seed=seed)
    if big:
        with_big_trades(plain, path)
    else:
        path = plain
    runs: list[list[Any]] = []
    for follow in (True, False):
        if not follow:
            monkeypatch.setattr(booklevel, "_lane", lambda *_args: iter(()))
        seen: list[Any] = []

        def strategy(ctx: Context, seen: list[Any] = seen) -> None:
            ctx.watch(ctx.symbols)
            while ctx.wait() is not None:
                seen.append(tables(ctx))

        run_backtest(strategy, path, cache=False, mode="book")
        runs.append(seen)
    assert runs[0] == runs[1]
    assert len(runs[0]) > 1000
    assert (sum(held > 0 for held, _tables in runs[0]) > 100) is big

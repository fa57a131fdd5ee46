"""Generated market-data recordings (not from Kalshi): the shipped paper-trading sample, and
recordings of any length for benchmarks.

`write_recording` writes a deterministic synthetic recording (`kalshi_fix_sansio.simulator.data.recording`
format) of prediction or margin markets: a snapshot per market, then incremental refreshes
whose mids wander, levels that are added to and cancelled from, and trades (each with the level
decrease that reports it), at irregular receive times; optionally (prediction) a
MarketSettlementReport per market at the end. Prediction prices are cents between $0.01 and
$0.99; margin prices are cents around $19.50 (the level of Kalshi's margin examples) and sizes
whole contracts. It streams: a recording of millions of messages takes no more memory than a
short one.

``python -m kalshi_fix_sansio.simulator.testing.recordings`` rewrites the shipped samples
(`SAMPLE_RECORDING` and `MARGIN_SAMPLE_RECORDING`, in `kalshi_fix_sansio.simulator.testing.samples`);
a test checks they match.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import IO, Any, Final

from ...codec import Header
from ...codec import margin as m
from ...codec import prediction as p
from ..data.recording import RecordingWriter
from .livesample import LIVE_MD_SAMPLE, LIVE_OE_SAMPLE

__all__ = [
    "MARGIN_SAMPLE_MARKETS",
    "MARGIN_SAMPLE_RECORDING",
    "SAMPLE_MARKETS",
    "SAMPLE_RECORDING",
    "SAMPLE_SETTLED",
    "main",
    "sample_path",
    "write_recording",
]

SAMPLE_MARKETS: Final = ("KXPAPER-26NOV20-A", "KXPAPER-26NOV20-B")
"""The markets of the shipped sample."""
SAMPLE_SETTLED: Final = {"KXPAPER-26NOV20-B": "yes"}
"""The markets the shipped sample settles (a MarketSettlementReport at its end)."""
SAMPLE_RECORDING: Final = Path(__file__).parent / "samples" / "paper-sample.log"
"""The shipped sample recording (about 400 messages over ten minutes of recorded time)."""
MARGIN_SAMPLE_MARKETS: Final = ("KXPAPER-PERP-A", "KXPAPER-PERP-B")
"""The markets of the shipped margin sample."""
MARGIN_SAMPLE_RECORDING: Final = Path(__file__).parent / "samples" / "paper-margin-sample.log"
"""The shipped margin sample recording (200 incremental refreshes, seed 11)."""


def sample_path(name: str) -> Path | None:
    """The shipped sample recording or message log of this file name (``paper-sample.log``,
    ``paper-margin-sample.log``, ``live-md-sample.log``, ``live-oe-sample.log``), None for
    another name: what the commands use when a file named so is not in the current directory."""
    for sample in (SAMPLE_RECORDING, MARGIN_SAMPLE_RECORDING, LIVE_MD_SAMPLE, LIVE_OE_SAMPLE):
        if name == sample.name:
            return sample
    return None


_T0: Final = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp()
_KEY: Final = "sample-md-key"
_CENT: Final = Decimal("0.01")
_ONE: Final = Decimal(1)


class _Market:
    """One market's book in whole ticks of a cent, between ``floor`` and ``top``."""

    def __init__(self, symbol: str, rng: random.Random, d: ModuleType) -> None:
        self.symbol = symbol
        self.rng = rng
        self.d = d
        margin = d is m
        self.floor, self.top = (1, 10**6) if margin else (1, 99)
        self.fraction = _ONE if margin else _CENT  # sizes: whole contracts on margin
        mid = rng.randint(1935, 1965) if margin else rng.randint(35, 65)
        self.bids = {mid - 1 - i: rng.randint(5, 60) for i in range(4)}
        self.offers = {mid + 1 + i: rng.randint(5, 60) for i in range(4)}

    def entries(self, when: float) -> list[Any]:
        """One incremental refresh's entries: a trade, a level change or a move."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            return self._trade(when)
        if roll < 0.85:
            return self._change(when)
        return self._move(when)

    def _trade(self, when: float) -> list[Any]:
        buy = self.rng.random() < 0.5
        levels = self.offers if buy else self.bids
        px = min(levels) if buy else max(levels)
        qty = self.rng.randint(1, levels[px])
        out = [
            self._entry(
                "0",
                "2",
                px,
                qty,
                when,
                aggressor_side=self.d.AggressorSide("1" if buy else "2"),
                trade_id=f"{self.symbol}-t{int(when * 1000)}",
            )
        ]
        out.append(self._set(levels, "1" if buy else "0", px, levels[px] - qty, when))
        return out

    def _change(self, when: float) -> list[Any]:
        bid = self.rng.random() < 0.5
        levels = self.bids if bid else self.offers
        px = self.rng.choice(sorted(levels))
        size = max(0, levels[px] + self.rng.randint(-15, 20))
        return [self._set(levels, "0" if bid else "1", px, size, when)]

    def _move(self, when: float) -> list[Any]:
        """A new level one tick inside the spread (when there is room), or one behind."""
        bid = self.rng.random() < 0.5
        best_bid, best_offer = max(self.bids), min(self.offers)
        if bid:
            px = best_bid + 1 if best_offer - best_bid > 2 else min(self.bids) - 1
            levels, kind = self.bids, "0"
        else:
            px = best_offer - 1 if best_offer - best_bid > 2 else max(self.offers) + 1
            levels, kind = self.offers, "1"
        if not self.floor <= px <= self.top:
            return self._change(when)
        return [self._set(levels, kind, px, self.rng.randint(3, 40), when)]

    def _set(self, levels: dict[int, int], kind: str, px: int, size: int, when: float) -> Any:
        if size <= 0 and len(levels) <= 1:
            size = self.rng.randint(5, 30)  # keep both sides of the book
        if size <= 0:
            del levels[px]
            return self._entry("2", kind, px, 0, when)
        action = "1" if px in levels else "0"
        levels[px] = size
        return self._entry(action, kind, px, size, when)

    def _entry(self, action: str, kind: str, px: int, size: int, when: float, **kw: Any) -> Any:
        d = self.d
        day, clock = _stamp(when)
        return d.MarketDataIncrementalRefreshMDEntry(
            md_update_action=d.MDUpdateAction(action),
            symbol=self.symbol,
            md_entry_type=d.MDEntryType(kind),
            md_entry_px=Decimal(px) * _CENT,
            md_entry_size=Decimal(size).quantize(self.fraction),
            md_entry_date=day,
            md_entry_time=clock,
            **kw,
        )

    def snapshot(self, when: float) -> Any:
        d = self.d
        day, clock = _stamp(when)
        entries = [
            d.MarketDataSnapshotFullRefreshMDEntry(
                md_entry_type=d.MDEntryType(kind),
                md_entry_px=Decimal(px) * _CENT,
                md_entry_size=Decimal(size).quantize(self.fraction),
                md_entry_date=day,
                md_entry_time=clock,
            )
            for kind, levels in (("0", self.bids), ("1", self.offers))
            for px, size in sorted(levels.items(), reverse=kind == "0")
        ]
        return d.MarketDataSnapshotFullRefresh(symbol=self.symbol, md_entries=tuple(entries))


def _stamp(when: float) -> tuple[date, time]:
    moment = datetime.fromtimestamp(round(when, 3), timezone.utc)
    return moment.date(), moment.timetz()


def write_recording(
    out: IO[str],
    *,
    messages: int = 400,
    markets: Sequence[str] | None = None,
    settle: dict[str, str] | None = None,
    seed: int = 7,
    start: float = _T0,
    product: str = "prediction",
) -> int:
    """Write a synthetic recording (see the module docstring).

    Args:
        out: a text file to write to.
        messages: incremental refreshes to write (after one snapshot per market).
        markets: the markets (None: `SAMPLE_MARKETS`, or `MARGIN_SAMPLE_MARKETS` on margin).
        settle: market -> ``"yes"`` / ``"no"``: a MarketSettlementReport for it at the end
            (prediction only: margin markets are not settled over FIX).
        seed: the random seed (same seed, same recording).
        start: the first receive time, UTC epoch seconds.
        product: ``"prediction"`` or ``"margin"``.

    Returns:
        How many market-data messages were written.

    Raises:
        ValueError: an unknown product, or ``settle`` with margin.
    """
    d = {"prediction": p, "margin": m}.get(product)
    if d is None:
        raise ValueError(f"product must be 'prediction' or 'margin', got {product!r}")
    if settle and d is m:
        raise ValueError("margin markets are not settled over FIX: settle is prediction only")
    if markets is None:
        markets = MARGIN_SAMPLE_MARKETS if d is m else SAMPLE_MARKETS
    rng = random.Random(seed)
    writer = RecordingWriter(out, product, list(markets), f"KalshiMD/{_KEY}")
    books = [_Market(symbol, rng, d) for symbol in markets]
    seq = 1
    when = start

    def emit(message: Any, session: str = "KalshiMD") -> None:
        nonlocal seq
        seq += 1
        moment = datetime.fromtimestamp(when, timezone.utc)
        header = Header(
            sender_comp_id="Kalshi", target_comp_id=_KEY, msg_seq_num=seq, sending_time=moment
        )
        writer.session_id = f"{session}/{_KEY}"
        writer.write(d.encode(message, header, use_dollars=True), when)

    for book in books:
        emit(book.snapshot(when))
    for _ in range(messages):
        when = round(when + rng.choice((0.05, 0.2, 0.5, 1.0, 1.5, 3.0)), 3)  # whole ms
        book = rng.choice(books)
        emit(d.MarketDataIncrementalRefresh(md_entries=tuple(book.entries(when))))
    for symbol, result in (settle or {}).items():
        when += 1.0
        emit(
            p.MarketSettlementReport(
                market_settlement_report_id=f"settle-{symbol}",
                symbol=symbol,
                clearing_business_date=_stamp(when)[0],
                market_result=p.MarketResult(result),
                settlement_price=Decimal(100 if result == "yes" else 0) * _CENT,
                last_fragment=True,
            ),
            "KalshiPT",
        )
    return len(books) + messages + len(settle or {})


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the shipped sample recordings; returns 0."""
    del argv
    with open(SAMPLE_RECORDING, "w", encoding="utf-8", newline="\n") as out:
        write_recording(out, settle=dict(SAMPLE_SETTLED))
    with open(MARGIN_SAMPLE_RECORDING, "w", encoding="utf-8", newline="\n") as out:
        write_recording(out, product="margin", messages=200, seed=11)
    print(f"wrote {SAMPLE_RECORDING} and {MARGIN_SAMPLE_RECORDING}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

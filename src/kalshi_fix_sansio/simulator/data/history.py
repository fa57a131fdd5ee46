"""History a user did not record: Kalshi's published history, or another tool's file, as a
recording the backtest and the replay read unchanged.

Two ways in, one way out:

* `import_history` reads Kalshi's public market history over REST (public trades,
  candlesticks, the present order book, and the historical endpoints past Kalshi's cutoff;
  margin: its perps trades, candlesticks, order book and funding rates, the funding written as
  the recording's ``# funding`` lines:
  `kalshi_fix_sansio.rest.history.HistoryFetch`, sent by the REST companion,
  `kalshi_fix_sansio.adapters.rest.RestCompanion`), draws a book from it (`rows_from_fetch`) and writes a
  recording;
* `import_history_file` reads a file of book changes and trades in the documented schema
  (`kalshi_fix_sansio.simulator.data.historyfile`: CSV always, Parquet when pyarrow is
  installed) that any tool can write, and writes a recording (a bad row is a
  `HistoryFileError` there: one line naming the file, the row and the column).

Either way the recording (`write_history_recording`) is a `kalshi_fix_sansio.simulator.data.recording`
file: per market a snapshot (35=W) at its first time, then one incremental refresh (35=X) per
time a market changes: level changes (New, Change, Delete) and trades (MDEntryType 2 with the
AggressorSide), each received at the source's time. `HistoryReport` says what was written,
what could not be fetched and what each source can and cannot tell (`SOURCE_NOTES`).

The history file's schema and its reader (`COLUMNS`, `HistoryRow`, `read_history_file`,
`HistoryFileError`) are `kalshi_fix_sansio.simulator.data.historyfile`'s.
"""

from __future__ import annotations

import datetime
import os
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any, Final

import attrs

from ...adapters.rest import RestCompanion
from ...codec import PRODUCTS, Header, dialect
from ...rest.history import HISTORY_SOURCES, HistoryFetch, PublicTrade
from ...session import Credentials
from ...trading.funding import FundingRate
from .historyfile import HistoryRow, read_history_file
from .recording import RecordingWriter

__all__ = [
    "MARGIN_SOURCE_NOTES",
    "SOURCE_NOTES",
    "HistoryReport",
    "fetch_history",
    "history_report",
    "import_history",
    "import_history_file",
    "rows_from_fetch",
    "write_history_recording",
]

SOURCE_NOTES: Final[Mapping[str, str]] = {
    "trades": (
        "public trades: each trade's time, Yes price, size and taker side; no resting "
        "liquidity, no cancellations, no queue: alone they give a thin book (the maker's level "
        "of the last trade on each side, holding the traded size)"
    ),
    "candles": (
        "candlesticks: the Yes bid and ask at each period's close only; no depth (each level "
        "is given a placeholder size), no queue position, nothing between two closes, no "
        "individual trades (a volume)"
    ),
    "orderbook": (
        "order book: every level's size at one moment (when it was read, which may be after "
        "the window); no history before it, no queue position"
    ),
    "funding": (
        "funding rates: each funding time's rate and mark price, written as the recording's "
        "# funding lines (a backtest pays them with --funding RECORDING); no market data"
    ),
    "file": "a history file: exactly the book changes and trades its rows give",
}
"""What each source can and cannot tell (the import's report and docs/history.md say it)."""

MARGIN_SOURCE_NOTES: Final[Mapping[str, str]] = {
    **SOURCE_NOTES,
    "trades": (
        "public perps trades: each trade's time, price, size and taker side (bid: bought); no "
        "resting liquidity, no cancellations, no queue: alone they give a thin book (the "
        "maker's level of the last trade on each side, holding the traded size)"
    ),
    "candles": (
        "perps candlesticks: the bid and ask at each period's close only; no depth (each "
        "level is given a placeholder size), no queue position, nothing between two closes, "
        "no individual trades (a volume); no mark price"
    ),
}
"""`SOURCE_NOTES` of a margin (perps) import."""

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)

_SESSION: Final = "KalshiMD/history"


# --------------------------------------------------------------------------------------------
# From Kalshi's history to rows


class _Levels:
    """One market's synthesized book, as rows that change it."""

    def __init__(self, market: str) -> None:
        self.market = market
        self.sides: dict[str, dict[Decimal, Decimal]] = {"bid": {}, "offer": {}}

    def to(self, when: float, side: str, levels: Mapping[Decimal, Decimal]) -> list[HistoryRow]:
        """The rows that make ``side`` exactly ``levels``."""
        now = self.sides[side]
        out = [
            HistoryRow(when, self.market, "book", side, price, _ZERO)
            for price in sorted(now)
            if price not in levels
        ]
        out += [
            HistoryRow(when, self.market, "book", side, price, size)
            for price, size in sorted(levels.items())
            if now.get(price) != size
        ]
        self.sides[side] = dict(levels)
        return out

    def trade(self, when: float, trade: PublicTrade) -> list[HistoryRow]:
        """A thin book from a trade: the maker's side shows the traded level (and the other
        side loses what the trade's price crosses)."""
        maker, other = ("offer", "bid") if trade.bought else ("bid", "offer")
        sign = 1 if maker == "offer" else -1  # an offer at p crosses the bids at p and above
        kept = {p: s for p, s in self.sides[other].items() if sign * (p - trade.price) < 0}
        return self.to(when, other, kept) + self.to(when, maker, {trade.price: trade.size})


def rows_from_fetch(fetch: HistoryFetch, *, candle_size: Decimal = _ONE) -> list[HistoryRow]:
    """The book changes and trades a fetch's records tell, in time order (see
    docs/history.md, "How the book is drawn").

    * Each trade is a trade row (the aggressor: ``buy`` when the taker bought Yes).
    * A market with candlesticks: at each period's close the book is its Yes bid and Yes ask,
      ``candle_size`` contracts each (candlesticks carry no depth).
    * A market with trades only: the thin book, the maker's level of the last trade on each
      side with the traded size (a level the trade's price crosses on the other side goes).
    * An order book read: every level at the moment it was read.
    """
    if candle_size <= 0:
        raise ValueError(f"candle_size must be contracts > 0, got {candle_size}")
    with_candles = {c.market for c in fetch.candles}  # (a perps taker on the bid bought)
    timeline: list[tuple[float, int, Any]] = []
    for candle in fetch.candles:
        timeline.append((candle.end, 0, candle))
    for trade in fetch.trades:
        timeline.append((trade.time, 1, trade))
    for book in fetch.books:
        timeline.append((book.time, 2, book))
    timeline.sort(key=lambda item: (item[0], item[1]))
    levels = {market: _Levels(market) for market in fetch.markets}
    rows: list[HistoryRow] = []
    for when, kind, item in timeline:
        drawn = levels[item.market]
        if kind == 0:  # a candle's close
            rows += drawn.to(when, "bid", {item.bid: candle_size} if item.bid else {})
            rows += drawn.to(when, "offer", {item.offer: candle_size} if item.offer else {})
        elif kind == 1:
            if item.market not in with_candles:
                rows += drawn.trade(when, item)
            side = "buy" if item.bought else "sell"
            rows.append(
                HistoryRow(when, item.market, "trade", side, item.price, item.size, item.trade_id)
            )
        else:
            rows += drawn.to(when, "bid", dict(item.bids))
            rows += drawn.to(when, "offer", dict(item.offers))
    return rows


# --------------------------------------------------------------------------------------------
# Rows to a recording


def _stamp(when: float) -> tuple[datetime.date, datetime.time]:
    moment = datetime.datetime.fromtimestamp(round(when, 6), datetime.timezone.utc)
    return moment.date(), moment.timetz()


class _Writer:
    """Encodes the rows' messages and writes them (35=W first per market, then 35=X)."""

    def __init__(self, out: IO[str], product: str, markets: list[str]) -> None:
        self.d = dialect(product)
        self.writer = RecordingWriter(out, product, markets, _SESSION)
        self.seq = 0
        self.messages = 0
        self.books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}

    def emit(self, message: Any, when: float) -> None:
        self.seq += 1
        header = Header(
            sender_comp_id="Kalshi",
            target_comp_id="history",
            msg_seq_num=self.seq,
            sending_time=datetime.datetime.fromtimestamp(when, datetime.timezone.utc),
        )
        self.writer.write(self.d.encode(message, header, use_dollars=True), when)
        self.messages += 1

    def group(self, market: str, when: float, rows: list[HistoryRow]) -> None:
        d = self.d
        day, clock = _stamp(when)
        book = self.books.get(market)
        entries: list[Any] = []
        if book is None:  # the market's first time: its snapshot
            book = self.books[market] = {"bid": {}, "offer": {}}
            for row in rows:
                if row.kind == "book":
                    _set(book[row.side], row.price, row.size)
            snapshot = [
                d.MarketDataSnapshotFullRefreshMDEntry(
                    md_entry_type=d.MDEntryType("0" if side == "bid" else "1"),
                    md_entry_px=price,
                    md_entry_size=size,
                    md_entry_date=day,
                    md_entry_time=clock,
                )
                for side in ("bid", "offer")
                for price, size in sorted(book[side].items(), reverse=side == "bid")
            ]
            self.emit(
                d.MarketDataSnapshotFullRefresh(symbol=market, md_entries=tuple(snapshot)), when
            )
            rows = [row for row in rows if row.kind == "trade"]
        for row in rows:
            entry = self._entry(book, row, day, clock)
            if entry is not None:
                entries.append(entry)
        if entries:
            self.emit(d.MarketDataIncrementalRefresh(md_entries=tuple(entries)), when)

    def _entry(
        self,
        book: dict[str, dict[Decimal, Decimal]],
        row: HistoryRow,
        day: datetime.date,
        clock: datetime.time,
    ) -> Any:
        d = self.d
        common = {
            "symbol": row.market,
            "md_entry_px": row.price,
            "md_entry_date": day,
            "md_entry_time": clock,
        }
        if row.kind == "trade":
            return d.MarketDataIncrementalRefreshMDEntry(
                md_update_action=d.MDUpdateAction("0"),
                md_entry_type=d.MDEntryType("2"),
                md_entry_size=row.size,
                aggressor_side=d.AggressorSide("1" if row.side == "buy" else "2"),
                trade_id=row.trade_id or None,
                **common,
            )
        levels = book[row.side]
        if row.size == 0 and row.price not in levels:
            return None  # nothing there to remove
        action = "2" if row.size == 0 else ("1" if row.price in levels else "0")
        _set(levels, row.price, row.size)
        return d.MarketDataIncrementalRefreshMDEntry(
            md_update_action=d.MDUpdateAction(action),
            md_entry_type=d.MDEntryType("0" if row.side == "bid" else "1"),
            md_entry_size=row.size,
            **common,
        )


def _set(levels: dict[Decimal, Decimal], price: Decimal, size: Decimal) -> None:
    if size == 0:
        levels.pop(price, None)
    else:
        levels[price] = size


def write_history_recording(
    rows: Sequence[HistoryRow],
    out: IO[str],
    *,
    product: str = "prediction",
    funding: Iterable[FundingRate] = (),
) -> int:
    """Write rows as a recording (taken in time order, rows of the same time in their order);
    how many messages were written. ``funding``: perps funding rates, written first as the
    recording's ``# funding`` lines (`kalshi_fix_sansio.simulator.data.recording.read_funding`).

    Raises:
        ValueError: an unknown product, or no rows.
    """
    if product not in PRODUCTS:
        raise ValueError(f"product must be 'prediction' or 'margin', got {product!r}")
    if not rows:
        raise ValueError("no rows: nothing to write")
    rows = sorted(rows, key=lambda row: row.time)  # stable: a time's rows keep their order
    markets = list(dict.fromkeys(row.market for row in rows))
    writer = _Writer(out, product, markets)
    for rate in funding:
        writer.writer.funding(rate)
    start = 0
    for end in range(1, len(rows) + 1):
        here = rows[start]
        if end < len(rows) and (rows[end].time, rows[end].market) == (here.time, here.market):
            continue
        writer.group(here.market, here.time, list(rows[start:end]))
        start = end
    return writer.messages


# --------------------------------------------------------------------------------------------
# The report and the imports


@attrs.frozen
class HistoryReport:
    """What an import wrote, what it could not fetch, and what its sources can tell.

    Attributes:
        output: the recording written.
        product: its product.
        markets: its markets.
        sources: the sources read (``trades``, ``candles``, ``orderbook``, or ``file``).
        counts: per market, how many records of each source were read.
        rows: book changes and trades written.
        messages: messages in the recording.
        first_time: the first message's time (UTC epoch seconds), None when none.
        last_time: the last one's.
        missing: what could not be fetched (one line each); empty: everything asked for.
    """

    output: str
    product: str
    markets: tuple[str, ...]
    sources: tuple[str, ...]
    counts: Mapping[str, Mapping[str, int]]
    rows: int
    messages: int
    first_time: float | None
    last_time: float | None
    missing: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Everything asked for was fetched."""
        return not self.missing

    def notes(self) -> list[str]:
        """What each source read can and cannot tell (`SOURCE_NOTES`, margin
        `MARGIN_SOURCE_NOTES`)."""
        notes = MARGIN_SOURCE_NOTES if self.product == "margin" else SOURCE_NOTES
        return [f"{source}: {notes[source]}" for source in self.sources]

    def lines(self) -> list[str]:
        """The report as lines of text."""
        span = ""
        if self.first_time is not None and self.last_time is not None:
            span = f", {_utc(self.first_time)} to {_utc(self.last_time)}"
        out = [f"wrote {self.output}: {self.messages} messages ({self.rows} rows){span}"]
        for market in self.markets:
            read = ", ".join(f"{n} {k}" for k, n in self.counts.get(market, {}).items())
            out.append(f"  {market}: {read or 'nothing'}")
        out += ["what the sources tell:", *(f"  {note}" for note in self.notes())]
        if self.missing:
            out.append(f"not fetched ({len(self.missing)}):")
            out += [f"  {line}" for line in self.missing]
        return out

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "output": self.output,
            "product": self.product,
            "markets": list(self.markets),
            "sources": list(self.sources),
            "counts": {m: dict(c) for m, c in self.counts.items()},
            "rows": self.rows,
            "messages": self.messages,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "missing": list(self.missing),
            "notes": self.notes(),
        }


def _utc(moment: float) -> str:
    stamp = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _write(
    rows: Sequence[HistoryRow],
    output: str | os.PathLike[str],
    product: str,
    funding: Sequence[FundingRate] = (),
) -> tuple[str, int]:
    name = os.fspath(output)
    if not rows:
        return name, 0
    with open(name, "w", encoding="utf-8", newline="\n") as out:
        return name, write_history_recording(rows, out, product=product, funding=funding)


def import_history_file(
    path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    product: str = "prediction",
) -> HistoryReport:
    """A history file (`COLUMNS`) as a recording at ``output``.

    Raises:
        HistoryFileError: the file or one of its rows (named) is bad: nothing is written.
        OSError: ``output`` cannot be written.
    """
    rows = read_history_file(path, product=product)
    name, messages = _write(rows, output, product)
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        kinds = counts.setdefault(row.market, {"book": 0, "trade": 0})
        kinds[row.kind] += 1
    return HistoryReport(
        output=name,
        product=product,
        markets=tuple(counts),
        sources=("file",),
        counts=counts,
        rows=len(rows),
        messages=messages,
        first_time=rows[0].time,
        last_time=rows[-1].time,
    )


def fetch_history(
    markets: Sequence[str],
    since: float,
    until: float,
    *,
    sources: Sequence[str] | None = None,
    period: int = 1,
    product: str = "prediction",
    environment: str = "demo",
    base_url: str | None = None,
    credentials: Credentials | None = None,
    verify: ssl.SSLContext | bool | str = True,
    timeout: float = 10.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    **options: Any,
) -> HistoryFetch:
    """Read markets' public history from Kalshi's REST API (blocking, with httpx: the ``rest``
    extra); the finished `HistoryFetch` (its records and what it could not fetch).

    Args:
        markets: the market tickers.
        since: the window's start, UTC epoch seconds.
        until: its end (exclusive), UTC epoch seconds.
        sources: which of ``trades``, ``candles``, ``orderbook``, ``funding`` to read (None:
            the product's: ``trades,candles``, margin ``trades,candles,funding``).
        period: the candlestick period, minutes (1, 60 or 1440).
        product: ``"prediction"`` or ``"margin"`` (perps: Kalshi's margin pages).
        environment: ``"demo"`` or ``"production"``: Kalshi's REST host of it.
        base_url: ``https://host[:port]`` instead (e.g. the mock gateway's REST server).
        credentials: an API key to sign the requests with (None: unsigned).
        verify: whom to trust (as `RestCompanion`'s: the mock gateway's ``client_ssl_context``).
        timeout: seconds per request.
        clock: UTC epoch seconds.
        sleep: how to wait between a 429 and its retry.
        **options: more `HistoryFetch` arguments (``series``, ``max_retries``,
            ``retry_delay``, ``page_size``, ``max_pages``).

    Raises:
        LocalProtocolError: an argument out of range (named), or httpx is not installed.
    """
    fetch = HistoryFetch(
        markets,
        since,
        until,
        sources=sources,
        period=period,
        product=product,
        credentials=credentials,
        environment=environment,
        base_url=base_url,
        **options,
    )
    RestCompanion(verify=verify, timeout=timeout, clock=clock, sleep=sleep).run(fetch)
    return fetch


def import_history(
    markets: Sequence[str],
    since: float,
    until: float,
    output: str | os.PathLike[str],
    *,
    candle_size: Decimal = _ONE,
    **options: Any,
) -> HistoryReport:
    """Kalshi's public history of ``markets`` from ``since`` to ``until`` as a recording at
    ``output`` (`fetch_history` with ``**options``, then `rows_from_fetch`): what was fetched
    is written even when some of it could not be (the report's ``missing``); nothing fetched,
    nothing written.

    Raises:
        LocalProtocolError: an argument out of range (named), or httpx is not installed.
        OSError: ``output`` cannot be written.
    """
    fetch = fetch_history(markets, since, until, **options)
    return history_report(fetch, output, candle_size=candle_size)


def history_report(
    fetch: HistoryFetch, output: str | os.PathLike[str], *, candle_size: Decimal = _ONE
) -> HistoryReport:
    """Write what a finished fetch read as a recording at ``output`` (a margin fetch's funding
    rates as its ``# funding`` lines); its report."""
    rows = rows_from_fetch(fetch, candle_size=candle_size)
    name, messages = _write(rows, output, fetch.product, fetch.funding)
    counts: dict[str, dict[str, int]] = {m: {} for m in fetch.markets}
    names = {
        "trades": "trades",
        "candles": "candlesticks",
        "orderbook": "order books",
        "funding": "funding rates",
    }
    read: dict[str, list[str]] = {  # the market of each record read, per source
        "trades": [r.market for r in fetch.trades],
        "candles": [r.market for r in fetch.candles],
        "orderbook": [r.market for r in fetch.books],
        "funding": [r.symbol for r in fetch.funding],
    }
    for source in fetch.sources:
        for market in fetch.markets:
            counts[market][names[source]] = read[source].count(market)
    return HistoryReport(
        output=name,
        product=fetch.product,
        markets=fetch.markets,
        sources=tuple(s for s in HISTORY_SOURCES if s in fetch.sources),
        counts=counts,
        rows=len(rows),
        messages=messages,
        first_time=rows[0].time if rows else None,
        last_time=rows[-1].time if rows else None,
        missing=tuple(fetch.missing),
    )

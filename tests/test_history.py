"""History a user did not record (docs/history.md): Kalshi's public history fetched sans-IO from
the mock gateway's REST pages (in memory on a fake clock, then over real loopback TLS), drawn
into a book and written as a recording the backtest reads; the history file schema (CSV and
Parquet) and its errors; the commands.
"""

from __future__ import annotations

import csv
import datetime
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from gateway_fixtures import GatewayHarness

from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.rest.history import (
    HistoryFetch,
    history_path,
    parse_candle,
    parse_orderbook,
    parse_trade,
    series_of,
)
from kalshi_fix_sansio.rest.pages import RestRateLimited, RestResponse
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.data.history import (
    HistoryReport,
    history_report,
    import_history,
    import_history_file,
    rows_from_fetch,
    write_history_recording,
)
from kalshi_fix_sansio.simulator.data.historyfile import (
    COLUMNS,
    HistoryFileError,
    HistoryRow,
    read_history_file,
)
from kalshi_fix_sansio.simulator.data.recording import check_recording, read_recording
from kalshi_fix_sansio.simulator.gateway import Exchange, Faults, MarketHistory, RestApp
from kalshi_fix_sansio.simulator.gateway.rest import RestServer
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_MARKETS,
    MARGIN_SAMPLE_RECORDING,
    SAMPLE_MARKETS,
    SAMPLE_RECORDING,
)
from kalshi_fix_sansio.simulator.testing.strategies import quoter
from kalshi_fix_sansio.trading.funding import FundingSchedule

A, B = SAMPLE_MARKETS
T0 = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.timezone.utc).timestamp()
SINCE, UNTIL = T0 - 60, T0 + 900  # the sample runs about seven minutes from T0


def recorded_trades(
    path: Path | str = SAMPLE_RECORDING, product: str = "prediction"
) -> list[tuple[str, Decimal, Decimal, str]]:
    """(market, price, size, aggressor) of every trade entry of a recording, in order."""
    out = []
    for item in read_recording(path, product=product):
        for entry in getattr(item.message, "md_entries", None) or ():
            if str(entry.md_entry_type.value) == "2":
                out.append(
                    (
                        entry.symbol,
                        entry.md_entry_px,
                        entry.md_entry_size,
                        str(entry.aggressor_side.value),
                    )
                )
    return out


HISTORY = MarketHistory.from_recordings([SAMPLE_RECORDING])


class Memory:
    """A `HistoryFetch` answered by the mock's `RestApp` in memory, on a fake clock (margin:
    a margin ``history``, with the ``funding`` its app serves)."""

    def __init__(
        self,
        cutoff: float | None = None,
        faults: Faults | None = None,
        history: MarketHistory = HISTORY,
        funding: FundingSchedule | None = None,
    ) -> None:
        self.app = RestApp(
            Exchange(history.product),
            {},
            faults or Faults(),
            history=history,
            historical_cutoff=cutoff,
            funding=funding,
        )
        self.now = T0 + 7 * 86400
        self.sent: list[str] = []

    def run(self, fetch: HistoryFetch) -> list[Any]:
        events: list[Any] = []
        while not fetch.done:
            request = fetch.next_request(self.now)
            if request is None:
                assert fetch.wake_at is not None and fetch.wake_at > self.now
                self.now = fetch.wake_at  # the fake clock jumps to the retry
                continue
            target = request.path + ("?" + urlencode(request.params) if request.params else "")
            self.sent.append(target)
            status, headers, body = self.app.handle("GET", target, request.headers, self.now)
            events += fetch.receive(RestResponse(status, body, headers), self.now)
        return events

    def page(self, path: str, **query: str) -> Any:
        """A page the app answers 200 to, as JSON."""
        status, _, body = self.app.handle("GET", f"{path}?{urlencode(query)}", {}, self.now)
        assert status == 200, body
        return json.loads(body)


def fetch(**options: Any) -> HistoryFetch:
    options.setdefault("base_url", "https://127.0.0.1:1")
    return HistoryFetch([A, B], SINCE, UNTIL, **options)


# -- the sans-IO fetch against the mock's pages ---------------------------------------------


def test_trades_fetched_are_every_recorded_trade() -> None:
    f = fetch(sources=("trades",), page_size=20)
    Memory().run(f)
    assert f.missing == [] and f.cutoff is not None
    got = sorted((t.market, t.price, t.size, t.taker_side, t.time) for t in f.trades)
    assert len(got) == len(recorded_trades()) > 40
    expected = sorted(
        (m, px, size, "yes" if side == "1" else "no") for m, px, size, side in recorded_trades()
    )
    assert [g[:4] for g in got] == expected
    assert all(SINCE <= t.time < UNTIL for t in f.trades)


def test_the_cutoff_splits_trades_between_the_historical_and_the_live_page() -> None:
    cut = T0 + 200
    memory = Memory(cutoff=cut)
    f = fetch(sources=("trades",))
    memory.run(f)
    pages = [s.split("?")[0] for s in memory.sent]
    assert pages[0] == "/trade-api/v2/historical/cutoff"
    assert "/trade-api/v2/historical/trades" in pages and "/trade-api/v2/markets/trades" in pages
    assert len(f.trades) == len(recorded_trades()) and f.missing == []
    assert any(t.time < cut for t in f.trades) and any(t.time >= cut for t in f.trades)


def test_a_settled_markets_candlesticks_come_from_the_historical_page() -> None:
    memory = Memory(cutoff=T0 + 86400)  # the sample's markets ended before it
    f = fetch(sources=("candles",))
    memory.run(f)
    pages = [s.split("?")[0] for s in memory.sent]
    assert f"/trade-api/v2/series/{series_of(A)}/markets/{A}/candlesticks" in pages
    assert f"/trade-api/v2/historical/markets/{A}/candlesticks" in pages  # after the 404
    assert f.missing == []
    closes = [c for c in f.candles if c.market == A]
    assert len(closes) >= 7 and all(c.bid is not None and c.offer is not None for c in closes)
    assert all(c.bid < c.offer for c in closes if c.bid and c.offer)


def test_rate_limits_are_waited_out_and_the_rest_is_kept_when_given_up() -> None:
    faults = Faults()
    faults.rest_rate_limit_next, faults.rest_retry_after = 2, 3.0
    memory = Memory(faults=faults)
    f = fetch(sources=("trades",), retry_delay=0.5)
    start = memory.now
    events = memory.run(f)
    limited = [e for e in events if isinstance(e, RestRateLimited)]
    assert [e.retry_in for e in limited] == [3.0, 3.0] and memory.now == start + 6.0
    assert f.missing == [] and len(f.trades) == len(recorded_trades())
    # B's trades refused past the retries: A's are kept, B's named
    faults.rest_error_next = 0
    refused = Memory(faults=faults)
    g = fetch(sources=("trades",), max_retries=2, retry_delay=0.25)
    original = refused.app.handle

    def handle(method: str, target: str, headers: Any, now: float) -> Any:
        if B in target:
            faults.rest_error_next = 1
        return original(method, target, headers, now)

    refused.app.handle = handle  # type: ignore[method-assign]
    refused.run(g)
    assert {t.market for t in g.trades} == {A}
    (line,) = g.missing
    assert f"the trades of {B}" in line and "server error 503 3 times" in line


def test_signed_requests_are_checked_and_a_forged_one_is_named(tmp_path: Path) -> None:
    from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

    signer, public = new_ed25519_keys()
    other, _ = new_ed25519_keys()
    memory = Memory()
    memory.app.keys = {"key-1": public}
    good = fetch(sources=("orderbook",), credentials=Credentials("key-1", signer))
    memory.run(good)
    assert good.missing == [] and len(good.books) == 2
    assert all(s.startswith("/trade-api/v2/markets/") for s in memory.sent)
    forged = fetch(sources=("orderbook",), credentials=Credentials("key-1", other))
    memory.run(forged)
    assert len(forged.missing) == 2 and "401" in forged.missing[0] and not forged.books


def test_the_orderbook_is_the_recordings_last_book_in_kalshis_shape() -> None:
    status, _, body = HISTORY.orderbook(A, {})
    page = json.loads(body)
    assert status == 200 and set(page["orderbook_fp"]) == {"yes_dollars", "no_dollars"}
    book = parse_orderbook(A, 1.0, page)
    assert not isinstance(book, str)
    assert book.bids[0][0] < book.offers[0][0]  # best bid below best offer
    yes = page["orderbook_fp"]["yes_dollars"]
    assert [Decimal(p) for p, _ in yes] == sorted(Decimal(p) for p, _ in yes)  # best last


def test_kalshis_record_shapes_and_bad_records() -> None:
    trade = parse_trade(
        {
            "trade_id": "t-1",
            "ticker": A,
            "count_fp": "3.00",
            "yes_price_dollars": "0.4200",
            "no_price_dollars": "0.5800",
            "taker_side": "no",
            "created_time": "2026-11-20T15:00:01.123456789Z",
        }
    )
    assert not isinstance(trade, str)
    assert (trade.price, trade.size, trade.taker_side) == (Decimal("0.42"), 3, "no")
    assert trade.time == pytest.approx(T0 + 1.123456)
    assert parse_trade({"ticker": A, "taker_side": "up"}) == "taker_side is not 'yes' or 'no': 'up'"
    bad = parse_trade(
        {"ticker": A, "taker_side": "yes", "count_fp": "1", "yes_price_dollars": "1.5"}
    )
    assert bad == "yes_price_dollars 1.5 is not a Yes price between $0 and $1"
    historical = parse_candle(
        A,
        60,
        {
            "end_period_ts": int(T0),
            "yes_bid": {"open": "0.40", "low": "0.40", "high": "0.41", "close": "0.41"},
            "yes_ask": {"open": "0.45", "low": "0.44", "high": "0.45", "close": "0.44"},
            "price": {"close": None},
            "volume": "10.00",
        },
    )
    assert not isinstance(historical, str)
    assert (historical.bid, historical.offer, historical.last) == (
        Decimal("0.41"),
        Decimal("0.44"),
        None,
    )
    assert parse_candle(A, 1, {"end_period_ts": "soon"}).startswith("end_period_ts is not")
    legacy = parse_orderbook(A, 0.0, {"orderbook": {"yes": [[40, 10]], "no": [[55, 5]]}})
    assert not isinstance(legacy, str)
    assert legacy.bids == ((Decimal("0.4"), Decimal(10)),)
    assert legacy.offers == ((Decimal("0.45"), Decimal(5)),)
    assert parse_orderbook(A, 0.0, {}) == "the answer has no orderbook_fp object"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"sources": ("ticks",)}, "sources must be some of"),
        ({"period": 5}, "period must be one of (1, 60, 1440)"),
        ({"page_size": 5000}, "page_size must be at most 1000"),
        ({"base_url": "http://x"}, "base_url must be https://host[:port]"),
    ],
)
def test_bad_arguments_are_named(options: dict[str, Any], named: str) -> None:
    with pytest.raises(LocalProtocolError, match=re.escape(named)):
        fetch(**options)
    with pytest.raises(LocalProtocolError, match=r"until .* must be after since"):
        HistoryFetch([A], UNTIL, SINCE, base_url="https://h")
    with pytest.raises(LocalProtocolError, match="market ticker"):
        history_path("orderbook", "A/../B")


# -- the book drawn, and the recording ------------------------------------------------------


def fetched(sources: tuple[str, ...]) -> HistoryFetch:
    f = fetch(sources=sources)
    Memory().run(f)
    assert f.missing == []
    return f


def test_trades_only_draw_a_thin_book_and_candles_draw_the_top(tmp_path: Path) -> None:
    thin = rows_from_fetch(fetched(("trades",)))
    for row in (r for r in thin if r.kind == "book" and r.size):
        trade = next(t for t in thin if t.kind == "trade" and t.time == row.time)
        assert (row.price, row.size) == (trade.price, trade.size)
        assert row.side == ("offer" if trade.side == "buy" else "bid")
    top = rows_from_fetch(fetched(("trades", "candles")), candle_size=Decimal(5))
    assert {r.size for r in top if r.kind == "book"} == {0, 5}  # placeholders, and deletions
    for path, rows in (("thin.log", thin), ("top.log", top)):
        with open(tmp_path / path, "w", encoding="utf-8") as out:
            write_history_recording(rows, out)
        info = check_recording(tmp_path / path)
        assert set(info.markets) == {A, B}
        assert sorted(recorded_trades(tmp_path / path)) == sorted(recorded_trades())


def test_the_import_report_names_the_sources_and_what_they_cannot_tell(tmp_path: Path) -> None:
    report = history_report(fetched(("trades", "candles", "orderbook")), tmp_path / "r.log")
    text = "\n".join(report.lines())
    assert "no queue position" in text and "no depth" in text and "thin book" in text
    assert "one moment" in text and report.complete
    assert report.as_json()["counts"][A]["order books"] == 1


# -- the file schema ------------------------------------------------------------------------

KEYS = (*COLUMNS, "trade_id")
GOOD = [
    dict(zip(KEYS, values, strict=False))
    for values in [
        ("2026-11-20T15:00:00Z", A, "book", "bid", "0.40", "10"),
        ("2026-11-20T15:00:00Z", A, "book", "offer", "0.45", "12"),
        ("2026-11-20T15:00:02.5Z", A, "trade", "buy", "0.45", "2", "t1"),
        ("2026-11-20T15:00:02.5Z", A, "book", "offer", "0.45", "10"),
        ("2026-11-20T15:00:04+00:00", A, "book", "bid", "0.40", "0"),
        ("2026-11-20T15:00:05Z", A, "book", "bid", "0.39", "7.50"),
    ]
]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*COLUMNS, "trade_id"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_csv_file_becomes_the_recording_its_rows_say(tmp_path: Path) -> None:
    report = import_history_file(write_csv(tmp_path / "h.csv", GOOD), tmp_path / "h.log")
    assert (report.rows, report.messages, report.counts[A]) == (6, 4, {"book": 5, "trade": 1})
    messages = [item.message for item in read_recording(tmp_path / "h.log")]
    assert [m.MSG_TYPE for m in messages] == ["W", "X", "X", "X"]
    trade, level = messages[1].md_entries
    assert (str(trade.md_entry_type.value), trade.trade_id, str(trade.aggressor_side.value)) == (
        "2",
        "t1",
        "1",
    )
    assert (str(level.md_update_action.value), level.md_entry_size) == ("1", 10)
    assert str(messages[2].md_entries[0].md_update_action.value) == "2"  # the bid's deletion
    assert str(messages[3].md_entries[0].md_update_action.value) == "0"  # a new level


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"time": "2026-11-20 15:00"}, "row 3, column time: '2026-11-20 15:00' has no zone"),
        ({"time": "noon"}, "row 3, column time: 'noon' is not an ISO 8601 time"),
        ({"kind": "quote"}, "row 3, column kind: 'quote' is not book or trade"),
        ({"side": "buy"}, "row 3, column side: 'buy' is not bid or offer (a book row)"),
        ({"price": "1.20"}, "row 3, column price: 1.20 is not a prediction price"),
        ({"price": "abc"}, "row 3, column price: 'abc' is not a decimal number"),
        ({"size": "-1"}, "row 3, column size: -1 is not a book size"),
        ({"size": "1.005"}, "row 3, column size: 1.005 has more than 2 decimals"),
        ({"market": ""}, "row 3, column market: no market ticker"),
    ],
)
def test_a_bad_row_is_one_line_naming_file_row_and_column(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    rows = [dict(GOOD[0]), {**GOOD[1], **change}]
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(HistoryFileError) as caught:
        read_history_file(path)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "\n" not in str(caught.value)
    out = tmp_path / "bad.log"
    assert main(["import-history", str(path), "-o", str(out)]) == 1
    assert not out.exists()  # nothing written from a bad file


def test_a_file_without_a_column_or_rows_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("time,market,kind,side,price\n", encoding="utf-8")
    with pytest.raises(HistoryFileError, match=r"row 1, column size: no such column"):
        read_history_file(path)
    path.write_text(",".join(COLUMNS) + ",venue\n", encoding="utf-8")
    with pytest.raises(HistoryFileError, match=r"row 1, column venue: not a column"):
        read_history_file(path)
    path.write_text(",".join(COLUMNS) + "\n", encoding="utf-8")
    with pytest.raises(HistoryFileError, match=r"file: no rows"):
        read_history_file(path)


def test_a_parquet_file_imports_as_its_csv_twin(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")  # the parquet extra (the dev extra carries it)
    pq = pytest.importorskip("pyarrow.parquet")
    table = {name: [row.get(name) for row in GOOD] for name in [*COLUMNS, "trade_id"]}
    table["time"] = [
        datetime.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in table["time"]
    ]
    table["price"] = [float(p) for p in table["price"]]  # floats read as their shortest decimal
    pq.write_table(pa.table(table), tmp_path / "h.parquet")
    import_history_file(tmp_path / "h.parquet", tmp_path / "p.log")
    import_history_file(write_csv(tmp_path / "h.csv", GOOD), tmp_path / "c.log")
    assert (tmp_path / "p.log").read_text() == (tmp_path / "c.log").read_text()
    naive = dict(table, time=[t.replace(tzinfo=None) for t in table["time"]])
    pq.write_table(pa.table(naive), tmp_path / "naive.parquet")
    with pytest.raises(HistoryFileError, match=r"row 1, column time: a time without a zone"):
        read_history_file(tmp_path / "naive.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(HistoryFileError, match=r"junk.parquet: file: not a readable Parquet"):
        read_history_file(tmp_path / "junk.parquet")


def test_rows_are_written_as_they_are_read() -> None:
    rows = [HistoryRow(T0, A, "trade", "sell", Decimal("0.3"), Decimal(1))]
    import io

    out = io.StringIO()
    assert write_history_recording(rows, out) == 2  # an empty snapshot, then the trade
    with pytest.raises(ValueError, match="no rows"):
        write_history_recording([], io.StringIO())
    late = HistoryRow(T0 + 5, A, "book", "bid", Decimal("0.2"), Decimal(3))
    out = io.StringIO()
    assert write_history_recording([late, *rows], out) == 3  # taken in time order
    stamps = [line.split()[0] for line in out.getvalue().splitlines()[1:]]
    assert stamps == sorted(stamps)


# -- end to end: real loopback TLS, the commands, the backtest ------------------------------


def history_argv(
    markets: Sequence[str], out: Path, base_url: str, cert: Path, *extra: str
) -> list[str]:
    """``kalshi-fix history`` of the samples' window from a mock's REST server into ``out``."""
    window = ["--since", "2026-11-20T14:59:00Z", "--until", "2026-11-20T15:15:00Z"]
    where = ["--base-url", base_url, "--pinned-cert", str(cert)]
    return ["history", "--markets", ",".join(markets), *window, "-o", str(out), *where, *extra]


def import_refused_at_first(
    h: GatewayHarness, rest: RestServer, markets: Sequence[str], output: Path, **options: Any
) -> HistoryReport:
    """`import_history` over loopback TLS from the mock, two 429s and a 503 injected first."""
    faults = h.gateway.faults
    faults.rest_rate_limit_next, faults.rest_retry_after = 2, 0.05
    faults.rest_error_next = 1
    return import_history(
        list(markets),
        SINCE,
        UNTIL,
        output,
        base_url=rest.base_url,
        verify=h.ssl_context(),
        credentials=h.credentials("key-1"),
        retry_delay=0.05,
        **options,
    )


def test_fetch_over_tls_with_429_and_503_then_backtest(
    prediction_gateway: GatewayHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = prediction_gateway
    with RestServer(h.gateway, history=HISTORY) as rest:
        faults = h.gateway.faults
        report = import_refused_at_first(h, rest, [A, B], tmp_path / "api.log")
        assert report.complete and report.messages > 100
        out = tmp_path / "cli.log"
        argv = history_argv([A, B], out, rest.base_url, h.cert)
        capsys.readouterr()
        assert main(argv) == 0
        printed = capsys.readouterr().out
        assert f"wrote {out}" in printed and "no queue position" in printed
        assert out.read_text() == (tmp_path / "api.log").read_text()
        faults.rest_error_next = 10**6  # Kalshi down: nothing fetched, nothing written
        gone = tmp_path / "gone.log"
        assert main(history_argv([A, B], gone, rest.base_url, h.cert, "--max-retries", "1")) == 1
        assert not gone.exists() and "not fetched" in capsys.readouterr().out
        faults.rest_error_next = 0
    assert recorded_trades(out) and len(recorded_trades(out)) == len(recorded_trades())
    result = run_backtest(quoter, out, params={"edge": 0.01})
    assert (
        result.report.rows
        and result.to_json() == run_backtest(quoter, out, params={"edge": 0.01}).to_json()
    )
    bt = tmp_path / "bt"
    assert (
        main(
            [
                "backtest",
                "kalshi_fix_sansio.simulator.testing.strategies:quoter",
                str(out),
                "--out",
                str(bt),
            ]
        )
        == 0
    )
    assert (bt / "cli.log.backtest.json").is_file()


def test_a_history_file_on_the_command_line_then_backtest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "sample.log"
    f = fetched(("trades", "candles"))
    rows = rows_from_fetch(f)
    path = tmp_path / "sample.csv"
    write_csv(
        path,
        [
            {
                "time": datetime.datetime.fromtimestamp(r.time, datetime.timezone.utc).isoformat(),
                "market": r.market,
                "kind": r.kind,
                "side": r.side,
                "price": str(r.price),
                "size": str(r.size),
                "trade_id": r.trade_id,
            }
            for r in rows
        ],
    )
    assert main(["import-history", str(path), "-o", str(rec), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == len(rows) and report["sources"] == ["file"]
    assert (
        main(
            [
                "backtest",
                "kalshi_fix_sansio.simulator.testing.strategies:quoter",
                str(rec),
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--since", "yesterday"], "--since takes a UTC time"),
        (["--sources", "ticks"], "--sources takes some of trades,candles,orderbook"),
        (["--period", "5"], "--period: invalid choice"),
        (["--markets", "A,,B"], "--markets takes tickers separated by commas"),
        (["--until", "2026-11-20T14:00:00Z"], "until (2026-11-20T14:00:00Z) must be after since"),
        (["--base-url", "http://127.0.0.1:1"], "base_url must be https://host[:port]"),
        (["-o", "/nonexistent-dir/x.log"], "-o /nonexistent-dir/x.log: its folder"),
        (["--pinned-cert", "/nonexistent.pem"], "--pinned-cert /nonexistent.pem: no such file"),
    ],
)
def test_history_usage_mistakes_exit_2_with_one_line(
    argv: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {
        "--markets": A,
        "--since": "2026-11-20T14:59:00Z",
        "--until": "2026-11-20T15:15:00Z",
        "-o": str(tmp_path / "x.log"),
        "--base-url": "https://127.0.0.1:1",
    }
    extra = dict(zip(argv[::2], argv[1::2], strict=True))
    args = ["history", *[x for k, v in {**base, **extra}.items() for x in (k, v)]]
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert named in err and "\n" not in err
    assert not (tmp_path / "x.log").exists()
    assert main(["import-history", str(tmp_path / "none.csv"), "-o", str(tmp_path / "y")]) == 2


# -- docs/history.md's commands, as written (Kalshi's host replaced by the mock's) ----------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "history.md"


def docs_blocks(kind: str) -> list[str]:
    """The ```<kind> blocks of docs/history.md."""
    return re.findall(rf"```{kind}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


def docs_commands() -> list[list[str]]:
    """Each ``kalshi-fix`` command of the page's bash blocks, continuation lines joined."""
    import shlex

    out = []
    for block in docs_blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line)
            assert words[0] == "kalshi-fix", line
            out.append(words[1:])
    return out


def serve_docs_fetch(
    h: GatewayHarness,
    fetch_cmd: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    funding: FundingSchedule | None = None,
) -> list[str]:
    """Run a ``kalshi-fix history`` command of the page against the mock serving a recording
    of its markets from its ``--since`` (in ``tmp_path``, with ``my_strategy.py`` beside it);
    its markets."""
    from kalshi_fix_sansio.simulator.testing.recordings import write_recording

    markets = fetch_cmd[fetch_cmd.index("--markets") + 1].split(",")
    since = fetch_cmd[fetch_cmd.index("--since") + 1]
    start = datetime.datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
    recording = tmp_path / "kalshi.log"
    with open(recording, "w", encoding="utf-8") as out:
        write_recording(out, markets=markets, start=start + 30, messages=300, product=h.product)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_strategy.py").write_text(
        "from kalshi_fix_sansio.simulator.testing.strategies import quoter as strategy\n",
        encoding="utf-8",
    )
    history = MarketHistory.from_recordings([recording], product=h.product)
    with RestServer(h.gateway, history=history) as rest:
        rest.app.funding = funding
        mock = ["--base-url", rest.base_url, "--pinned-cert", str(h.cert)]
        assert main([*fetch_cmd, *mock]) == 0
    return markets


def test_the_docs_commands_run_against_the_mock(
    prediction_gateway: GatewayHarness,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # (the margin commands: tests/test_history_margin.py)
    commands = [c for c in docs_commands() if "perps.log" not in c]
    fetch_cmd, backtest_1, import_cmd, backtest_2 = commands
    markets = serve_docs_fetch(prediction_gateway, fetch_cmd, tmp_path, monkeypatch)
    assert set(check_recording("highny.log").markets) == set(markets)
    assert main(backtest_1) == 0
    table = next(b for b in docs_blocks("text") if b.startswith("time,market"))
    (tmp_path / "book-and-trades.csv").write_text(table, encoding="utf-8")
    assert main(import_cmd) == 0
    assert main(backtest_2) == 0
    capsys.readouterr()
    bad = table.replace("trade,buy,0.45", "trade,buy,1.20")
    (tmp_path / "day.csv").write_text(bad, encoding="utf-8")
    assert main(["import-history", "day.csv", "-o", "day.log"]) == 1
    said = capsys.readouterr().err.strip()
    assert said in [b.strip() for b in docs_blocks("text")]  # the page's error line, as printed


def test_the_async_companion_runs_a_fetch_as_the_blocking_one(
    prediction_gateway: GatewayHarness,
) -> None:
    import asyncio

    from kalshi_fix_sansio.adapters.rest import AsyncRestCompanion, RestCompanion

    h = prediction_gateway
    with RestServer(h.gateway, history=HISTORY) as rest:
        h.gateway.faults.rest_rate_limit_next, h.gateway.faults.rest_retry_after = 1, 0.05
        awaited = fetch(base_url=rest.base_url, sources=("trades", "orderbook"))
        events = asyncio.run(AsyncRestCompanion(verify=h.ssl_context()).run(awaited))
        blocking = fetch(base_url=rest.base_url, sources=("trades", "orderbook"))
        RestCompanion(verify=h.ssl_context()).run(blocking)
    assert [type(e).__name__ for e in events] == ["RestRateLimited"]
    assert awaited.missing == blocking.missing == []
    assert sorted(awaited.trades, key=repr) == sorted(blocking.trades, key=repr)
    assert [b.bids for b in awaited.books] == [b.bids for b in blocking.books]


def test_the_mocks_pages_name_their_fields_as_kalshis_docs() -> None:
    memory = Memory(cutoff=T0 + 200)
    page = memory.page

    trade_fields = {
        "trade_id",
        "ticker",
        "count_fp",
        "yes_price_dollars",
        "no_price_dollars",
        "taker_side",
        "created_time",
    }
    for name in ("trades", "historical_trades"):
        trades = page(history_path(name), ticker=A, limit="5")
        assert set(trades) == {"trades", "cursor"} and trades["cursor"]
        assert all(set(t) == trade_fields for t in trades["trades"])
    window = {"start_ts": str(int(T0)), "end_ts": str(int(T0) + 600), "period_interval": "1"}
    live = page(history_path("candlesticks", A), **window)
    memory.app.historical_cutoff = T0 + 86400
    old = page(history_path("historical_candlesticks", A), **window)
    for body, suffix, counts in ((live, "_dollars", "_fp"), (old, "", "")):
        assert set(body) == {"ticker", "candlesticks"} and body["candlesticks"]
        candle = body["candlesticks"][0]
        ohlc = {f"{k}{suffix}" for k in ("open", "low", "high", "close")}
        assert set(candle["yes_bid"]) == set(candle["yes_ask"]) == ohlc
        assert set(candle["price"]) == ohlc | {f"mean{suffix}", f"previous{suffix}"}
        assert {f"volume{counts}", f"open_interest{counts}", "end_period_ts"} <= set(candle)


def test_a_trade_listed_twice_is_read_once_and_a_bad_one_is_named() -> None:
    f = HistoryFetch([A], SINCE, UNTIL, sources=("trades",), base_url="https://h")
    cutoff = {k: "1970-01-01T00:00:00Z" for k in ("trades_created_ts", "market_settled_ts")}
    assert f.next_request(T0) is not None
    f.receive(RestResponse(200, json.dumps(cutoff).encode()), T0)
    record = {
        "trade_id": "t-1",
        "ticker": A,
        "count_fp": "1.00",
        "yes_price_dollars": "0.5000",
        "taker_side": "yes",
        "created_time": "2026-11-20T15:00:01Z",
    }
    page = {"trades": [record, record, {**record, "trade_id": "t-2", "count_fp": "x"}]}
    request = f.next_request(T0)
    assert request is not None and request.endpoint == "trades"
    f.receive(RestResponse(200, json.dumps({**page, "cursor": ""}).encode()), T0)
    assert f.done and [t.trade_id for t in f.trades] == ["t-1"]
    (line,) = f.missing
    assert line.startswith(f"the trades of {A} from") and "1 trade record(s) unreadable" in line
    assert "count_fp is not a number: 'x'" in line


@pytest.mark.parametrize(
    ("product", "recording", "markets"),
    [
        ("prediction", SAMPLE_RECORDING, SAMPLE_MARKETS),
        ("margin", MARGIN_SAMPLE_RECORDING, MARGIN_SAMPLE_MARKETS),
    ],
)
def test_mock_gateway_rest_with_replay_serves_the_recordings_history(
    product: str, recording: Path, markets: tuple[str, str], tmp_path: Path
) -> None:
    """``kalshi-fix mock-gateway --replay FILE --rest`` (a process) serves the recording's
    history (margin: the margin pages, ``--product margin`` on its line); its banner prints
    the ``kalshi-fix history`` line; the console's faults apply."""
    from test_cli_gateway import Gateway

    gw = Gateway("--product", product, "--replay", str(recording), "--rest")
    try:
        (line,) = [x for x in gw.banner if x.startswith("REST market history")]
        words = line.split("kalshi-fix history ", 1)[1].split()
        where = words[: words.index("--markets")]  # --base-url URL --pinned-cert PEM
        assert ("--product" in where) == (product == "margin")
        assert gw.proc.stdout is not None
        assert gw.proc.stdout.readline().startswith("replaying ")  # the replay's own line
        assert gw.admin("fault rest-rate-limit 1") == "fault rest-rate-limit 1 set"
        out = tmp_path / "served.log"
        argv = ["history", *where, "--markets", ",".join(markets), "--sources", "trades"]
        window = ["--since", "2026-11-20T14:59:00Z", "--until", "2026-11-20T15:15:00Z"]
        assert main([*argv, "-o", str(out), *window]) == 0
    finally:
        assert "Traceback" not in gw.stop()
    assert sorted(recorded_trades(out, product)) == sorted(recorded_trades(recording, product))


def test_a_request_given_up_midway_keeps_its_first_pages() -> None:
    faults = Faults()
    memory = Memory(faults=faults)
    f = fetch(sources=("trades",), page_size=10, max_retries=1, retry_delay=0.25)
    original = memory.app.handle

    def handle(method: str, target: str, headers: Any, now: float) -> Any:
        if A in target and "cursor=20" in target:  # A's third page: refused for good
            faults.rest_error_next = 1
        return original(method, target, headers, now)

    memory.app.handle = handle  # type: ignore[method-assign]
    memory.run(f)
    (line,) = f.missing
    assert line.startswith(f"the trades of {A} from") and "server error 503 2 times" in line
    assert line.endswith("; the 20 trades of its first pages kept")
    assert "reconcile" not in line
    assert sum(t.market == A for t in f.trades) == 20
    assert sum(t.market == B for t in f.trades) == sum(t[0] == B for t in recorded_trades())

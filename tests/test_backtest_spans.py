# private: the quiet loop is switched off to compare it with the loop it replaces (`_feed`);
# the simulation's parked ticker read and switched off (`Simulation._parked`, `_parks`)
"""Bulk spans of a book-level backtest (`kalshi_fix_sansio.simulator.gateway.exchange.spans`):
a market with no client order in it runs on a plain table of levels, the exchange's recorded
book set from it when an order reaches the market, and back once the strategy has nothing
there again; the strategy sees, and the report says, the same as at the FIX level.

Private parts tested here: the simulation's parked ticker (`simulation.Simulation._parked`,
read where the scheduler's timers are; `Simulation._parks`, switched off to compare), the
feed's quiet loop (`_feed.Feed._quiet`, replaced by the
message-by-message loop to compare the two; the levels it and `Feed.step` take,
`_feed._LEVELS`, emptied to send every message through the general path), the change-woken
wakes' lane (`_lane.lane`, as `booklevel._lane`: switched off to compare it with the
step-by-step loop; `_lane._drop`, its timer taken from below a callback; the run's ledger read
as `ctx._waker.feed.ledger` to listen to its marks), the trades'
times (`booklevel._micros`) and the change-woken wake and the best level made without attrs'
``__init__`` (`booklevel._wake`, `trading._booksides._level`).
"""

from __future__ import annotations

import io
import json
import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.codec import Header
from kalshi_fix_sansio.codec import prediction as p
from kalshi_fix_sansio.simulator.backtests import booklevel
from kalshi_fix_sansio.simulator.backtests._feed import Feed
from kalshi_fix_sansio.simulator.backtests.backtest import Context, run_backtest
from kalshi_fix_sansio.simulator.backtests.booklevel import MODES, Wake, _micros, _wake
from kalshi_fix_sansio.simulator.data.recording import RecordingWriter
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_MARKETS, write_recording
from kalshi_fix_sansio.simulator.world.latency import ConstantLatency
from kalshi_fix_sansio.simulator.world.simulation import Simulation
from kalshi_fix_sansio.trading.builders import Requests

pytestmark = pytest.mark.filterwarnings("error")

A, B = SAMPLE_MARKETS[0], SAMPLE_MARKETS[1]
HALT_AT, REOPEN_AT = 150, 250  # the recorded messages a SecurityStatus 2, then 3, of B follows
CROSS_AT, UNCROSS_AT = 100, 130  # the recorded messages a bid of A at 0.99 follows, then goes
STILL_AT = 160  # the recorded message a bid of A at 0.10 follows, a trade at it ten later


def _with_halt(source: Path, path: Path) -> None:
    """``source`` with B halted (35=f 326=2) after message HALT_AT and reopened (3) after
    REOPEN_AT, each at the time of the message before it."""

    def status(n: int) -> Callable[[datetime], Any]:
        status = p.SecurityTradingStatus(n)
        return lambda _moment: p.SecurityStatus(symbol=B, security_trading_status=status)

    _with_messages(source, path, {HALT_AT: status(2), REOPEN_AT: status(3)})


def _with_cross(source: Path, path: Path) -> None:
    """``source`` with a bid of A at 0.99 (above any offer: the book crossed) after message
    CROSS_AT, and deleted after UNCROSS_AT (its size still given); a bid of A at 0.10 after
    STILL_AT, then a trade at it (its id drawn) with the level restated at the same size (a
    trade that moves no level); each half way to the next message (an instant of its own:
    the lane takes it, not the rest of an instant's loop)."""

    def x(*entries: tuple[str, str, str, int]) -> Callable[[datetime], Any]:
        def message(moment: datetime) -> Any:
            return p.MarketDataIncrementalRefresh(
                md_entries=tuple(
                    p.MarketDataIncrementalRefreshMDEntry(
                        md_update_action=p.MDUpdateAction(action),
                        symbol=A,
                        md_entry_type=p.MDEntryType(kind),
                        md_entry_px=Decimal(px),
                        md_entry_size=Decimal(size).quantize(Decimal("0.01")),
                        md_entry_date=moment.date(),
                        md_entry_time=moment.timetz(),
                        aggressor_side=p.AggressorSide("2") if kind == "2" else None,
                    )
                    for action, kind, px, size in entries
                )
            )

        return message

    messages = {
        CROSS_AT: x(("0", "0", "0.99", 5)),
        UNCROSS_AT: x(("2", "0", "0.99", 5)),
        STILL_AT: x(("0", "0", "0.10", 3)),
        STILL_AT + 10: x(("0", "2", "0.10", 1), ("1", "0", "0.10", 3)),
    }
    _with_messages(source, path, messages, between=True)


def _with_messages(
    source: Path,
    path: Path,
    messages: dict[int, Callable[[datetime], Any]],
    *,
    between: bool = False,
) -> None:
    """``source`` with the message each of ``messages`` makes (given the moment) after the
    recorded message its key numbers, at the time of that message (``between``: half way
    to the next one)."""
    lines = source.read_text().splitlines(keepends=True)
    out = io.StringIO()
    out.write(lines[0])  # the header
    writer = RecordingWriter(out, "prediction", list(SAMPLE_MARKETS), "KalshiMD/sample-md-key")
    seq = 10_000
    for n, line in enumerate(lines[1:], 1):
        out.write(line)
        make = messages.get(n)
        if make is None:
            continue
        moment = _moment(line)
        if between:
            moment += (_moment(lines[n + 1]) - moment) / 2
        seq += 1
        header = Header(
            sender_comp_id="Kalshi",
            target_comp_id="sample-md-key",
            msg_seq_num=seq,
            sending_time=moment,
        )
        writer.write(p.encode(make(moment), header, use_dollars=True), moment.timestamp())
    path.write_text(out.getvalue())


def _moment(line: str) -> datetime:
    """The receive time of a recording's line."""
    when = datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    return when.replace(tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("spans")
    plain = where / "plain.log"
    with plain.open("w") as out:
        write_recording(out, messages=400, seed=11, settle={A: "yes"})
    halted = where / "halted.log"
    _with_halt(plain, halted)
    crossed = where / "crossed.log"
    _with_cross(plain, crossed)
    return {"plain": plain, "halted": halted, "crossed": crossed}


Plan = dict[int, tuple[Any, ...]]
Seen = dict[str, list[Any]]


def scripted(
    plan: Plan,
    seen: Seen,
    spans: Seen,
    *,
    timer: float | None = None,
    wake: bool | None = None,
    quiet: str | None = None,
) -> Any:
    """A strategy that watches both markets (or, with ``timer``, keeps their books and wakes
    every ``timer`` seconds; ``wake=True``: woken by both; ``quiet``: that market's book kept
    without waking on its changes), notes what it sees at each wake,
    and at the wakes ``plan`` names takes the best offer or bid (IOC), rests an order a cent
    behind the best bid or offer, or cancels what it has resting. ``spans`` gets, at each wake
    of a book-level run, the markets in bulk spans then."""

    on_changes = timer is None if wake is None else wake

    def strategy(ctx: Context) -> None:
        requests = Requests(ctx.product, "KalshiNR")
        ctx.watch([s for s in ctx.symbols if s != quiet], wake=on_changes)
        if quiet is not None:
            ctx.watch(quiet, wake=False)
        exchange = ctx.simulation.gateway.exchange
        n = 0
        with ctx.order_entry() as oe:
            while (wake := ctx.wait(timer)) is not None:
                n += 1
                tops = {
                    b.symbol: (b.top(), len(b.trades), b.consistent, b.last_trade)
                    for b in ctx.books
                }
                events = tuple(_event(e) for e in wake.orders)
                seen[ctx.mode].append((wake.time, wake.markets, tops, events))
                if ctx.mode == "book" and exchange.spans is not None:
                    spans[ctx.mode].append((n, sorted(exchange.spans.tables)))
                action = plan.get(n)
                if action is None:
                    continue
                what, symbol, *rest = action
                book = ctx.books[symbol]
                bid, offer = book.best_bid(), book.best_offer()
                if what == "take" and bid is not None and offer is not None:
                    side = rest[0]
                    price = offer.price if side == "buy" else bid.price
                    oe.send(requests.new_order(symbol, side, 1, price, time_in_force="ioc"))
                elif what == "rest" and bid is not None and offer is not None:
                    side = rest[0]
                    cent = Decimal("0.01")
                    price = bid.price - cent if side == "buy" else offer.price + cent
                    oe.send(requests.new_order(symbol, side, 1, price))
                elif what == "expire" and bid is not None and offer is not None:
                    side, seconds = rest  # a GTD order resting until ``seconds`` from now
                    cent = Decimal("0.01")
                    price = bid.price - cent if side == "buy" else offer.price + cent
                    until = datetime.fromtimestamp(wake.time + seconds, timezone.utc)
                    oe.send(
                        requests.new_order(
                            symbol, side, 1, price, time_in_force="gtd", expire_time=until
                        )
                    )
                elif what == "cancel":
                    for order in oe.tracker.open_orders(symbol):
                        oe.send(requests.cancel(order))

    return strategy


def _both(
    recording: Path,
    plan: Plan,
    *,
    timer: float | None = None,
    wake: bool | None = None,
    quiet: str | None = None,
    **options: Any,
) -> tuple[dict[str, Any], Seen, Seen]:
    seen: Seen = {"fix": [], "book": []}
    spans: Seen = {"fix": [], "book": []}
    reports = {}
    for mode in MODES:
        result = run_backtest(
            scripted(plan, seen, spans, timer=timer, wake=wake, quiet=quiet),
            recording,
            cache=False,
            mode=mode,
            **options,
        )
        data = json.loads(result.to_json())
        assert data["run"].pop("mode", "fix") == mode
        reports[mode] = data
    assert reports["book"] == reports["fix"]
    assert seen["book"] == seen["fix"]
    return reports["fix"], seen, spans


def _in_spans(spans: Seen, symbol: str) -> list[bool]:
    return [symbol in tables for _n, tables in spans["book"]]


def test_a_market_leaves_its_span_for_an_order_and_comes_back_once_flat(
    recordings: dict[str, Path],
) -> None:
    """A taker order (bought), another (sold: flat), then an order resting and cancelled: the
    market leaves its span at each and comes back after, the report the FIX level's."""
    plan: Plan = {
        20: ("take", A, "buy"),
        40: ("take", A, "sell"),
        60: ("rest", A, "buy"),
        100: ("cancel", A),
    }
    report, _seen, spans = _both(recordings["plain"], plan)
    a = _market(report, A)
    assert a["fills"] == 2 and Decimal(a["bought"]) == Decimal(a["sold"]) == 1  # flat again
    inside = _in_spans(spans, A)
    assert inside[0] and not all(inside)  # in a span, out of it...
    left = inside.index(False)
    assert True in inside[left:]  # ...and back
    assert not any(inside[60:99])  # resting from wake 60 until its cancel: out of its span
    assert any(inside[101:])  # cancelled: back
    assert all(_in_spans(spans, B))  # the other market never left its span


def test_a_halt_in_a_bulk_span(recordings: dict[str, Path]) -> None:
    """B halts and reopens while in its span (a recorded SecurityStatus): an order sent to it
    meanwhile is refused as at the FIX level, and B goes back to its span."""
    plan: Plan = {n: ("rest", B, "buy") for n in range(150, 400, 10)}
    plan.update({n + 5: ("cancel", B) for n in range(150, 400, 10)})
    report, seen, spans = _both(recordings["halted"], plan)
    events = [e for *_, events in seen["fix"] for e in events]
    assert "ExecutionReport 8 MARKET_INACTIVE" in events  # refused during the halt
    assert "ExecutionReport 0 None" in events  # accepted, then cancelled, before and after it
    inside = _in_spans(spans, B)
    assert all(inside[:140]) and not all(inside) and any(inside[-40:])
    assert report["statistics"]["total"]["orders"] > 0


def test_a_trade_in_a_bulk_span_with_an_order_resting_in_another_market(
    recordings: dict[str, Path],
) -> None:
    """An order rests in A (out of its span) while B's recorded trades go to B's span: B's
    book has its trades, A's order fills as at the FIX level."""
    plan: Plan = {5: ("rest", A, "buy"), 7: ("rest", A, "sell")}
    report, seen, spans = _both(recordings["plain"], plan)
    assert not _in_spans(spans, A)[40] and _in_spans(spans, B)[40]
    trades_of_b = [tops[B][1] for _t, _m, tops, _e in seen["book"] if B in tops]
    assert trades_of_b[-1] > trades_of_b[40] > 0  # B's trades reached its book in its span
    assert report["statistics"]["total"]["fills"] > 0


def test_a_strategy_woken_by_its_timer_reads_the_same_books(recordings: dict[str, Path]) -> None:
    """``ctx.watch(..., wake=False)``: the books kept, the strategy woken by its timer alone;
    whole spans between two wakes run in one loop, the same books and report as at the FIX
    level."""
    plan: Plan = {3: ("take", A, "buy"), 6: ("rest", B, "sell"), 12: ("cancel", B)}
    report, seen, spans = _both(recordings["plain"], plan, timer=7.0)
    assert all(not markets for _t, markets, _tops, _e in seen["fix"])  # no market woke it
    assert len(seen["fix"]) > 20 and _market(report, A)["fills"] > 0
    assert all(tables for _n, tables in spans["book"][1:])


@pytest.mark.parametrize("timeout", [0.25, 1.0])
def test_a_strategy_woken_by_changes_and_a_timeout_at_recorded_times(
    recordings: dict[str, Path], timeout: float
) -> None:
    """A strategy woken at each change of both markets with a timeout that ends on recorded
    times and on the ticker's seconds (the feed's step at each change, `Feed.step`): what is
    due at the deadline's instant runs before the wake, as at the FIX level; orders taken,
    rested and cancelled among them."""
    plan: Plan = {4: ("take", A, "buy"), 9: ("rest", B, "sell"), 30: ("cancel", B)}
    _report, seen, _spans = _both(recordings["plain"], plan, timer=timeout, wake=True)
    assert any(not markets for _t, markets, _tops, _e in seen["fix"])  # some timeouts
    assert any(markets for _t, markets, _tops, _e in seen["fix"])  # and changes


def test_expiries_among_the_quiet_stretches_of_a_timer_woken_strategy(
    recordings: dict[str, Path],
) -> None:
    """GTD orders expire at seconds inside and at the end of the stretches a timer-woken
    strategy sleeps through (the spans' messages run in one loop, the second's ticker followed
    as a number): each expiry comes at its second, in its place among the recorded messages
    of that second, as at the FIX level."""
    plan: Plan = {
        2: ("expire", A, "buy", 20.5),
        3: ("expire", B, "sell", 3.0),
        5: ("expire", A, "sell", 61.0),
        9: ("expire", B, "buy", 13.0),
        14: ("expire", A, "buy", 1.0),
    }
    report, seen, spans = _both(recordings["plain"], plan, timer=11.0)
    expired = [e for _t, _m, _tops, events in seen["fix"] for e in events if " 4 " in e]
    assert len(expired) == 4, expired  # four expired (35=8 150=4), one filled first
    assert all(tables for _n, tables in spans["book"][20:])  # back in their spans after
    assert report["statistics"]["total"]["fills"] >= 0


_LAZY = {"_lazy_apply": "_apply"}


def _callbacks(sim: Simulation) -> list[tuple[float, str]]:
    """The scheduler's callbacks (time, name) in the order they would run, the parked ticker
    among them where `Simulation._unpark` would put its timer back (at the second it was
    parked at, in its place, while the clock has not passed it; else at the first of its
    seconds after now, after every other callback of that second). The feed's next message
    is ``_apply`` whether its row is made or the lane read it from the columns
    (`Feed._lazy_apply`: the same message, its row made when it runs)."""
    due: list[tuple[float, float, str]] = [
        (when, order, _LAZY.get(timer.callback.__name__, timer.callback.__name__))
        for when, order, timer in sim.scheduler._timers
        if not timer.cancelled
    ]
    if sim._parked is not None:
        when, order = sim._parked
        now = sim.clock.time()
        if when < now:
            while when <= now:
                when += 1.0
            due.append((when, math.inf, "_tick"))
        else:
            due.append((when, order, "_tick"))
    return [(when, name) for when, _order, name in sorted(due)]


@pytest.mark.parametrize("parks", [True, False], ids=["parked ticker", "ticker every second"])
def test_the_quiet_loop_leaves_the_scheduler_as_the_message_by_message_loop(
    recordings: dict[str, Path], monkeypatch: pytest.MonkeyPatch, parks: bool
) -> None:
    """What the scheduler holds at each wake of a timer-woken strategy (each callback's time
    and name, in the order they would run: the second's ticker before or after the next
    recorded message of its second; the ticker where it is parked, with its place, when it
    is) is the same whether the stretches between wakes run in the quiet loop or message by
    message, the ticker parked while nothing can come due or not."""
    monkeypatch.setattr(Simulation, "_parks", parks)

    def noted(into: list[Any]) -> Any:
        def strategy(ctx: Context) -> None:
            ctx.watch(ctx.symbols, wake=False)
            while (wake := ctx.wait(2.5)) is not None:
                into.append((wake.time, _callbacks(ctx.simulation)))

        return strategy

    quiet: list[Any] = []
    run_backtest(noted(quiet), recordings["plain"], cache=False, mode="book")
    monkeypatch.setattr(Feed, "_quiet", lambda self, item, now, until: (item, now))
    each: list[Any] = []
    run_backtest(noted(each), recordings["plain"], cache=False, mode="book")
    assert quiet == each
    names = {name for _t, due in each for _w, name in due}
    assert {"_tick", "_apply"} <= names and len(each) > 100


@pytest.mark.parametrize("timer", [7.0, None], ids=["quiet loop", "step"])
def test_one_market_messages_in_spans_are_what_changes_makes(
    recordings: dict[str, Path], monkeypatch: pytest.MonkeyPatch, timer: float | None
) -> None:
    """The quiet loop of a timer-woken strategy and the feed's step of one woken at each
    change apply a 35=X of one market's level, or of a trade then a level, by
    `BulkSpans.level` and `trade` (the quiet loop reads the subscriptions once a stretch);
    with every 35=X through `BulkSpans.changes` instead (the general path: each entry its own
    call, the book's crossing noted after the message) the tables at each wake (levels, house
    orders and their draws, credits, best bid and offer, mid, crossed), the books and the
    report are the same."""
    from kalshi_fix_sansio.simulator.backtests import _feed
    from kalshi_fix_sansio.simulator.gateway.exchange.spans import BulkSpans

    def noted(into: list[Any]) -> Any:
        def strategy(ctx: Context) -> None:
            ctx.watch(ctx.symbols, wake=timer is None)
            spans = ctx.simulation.gateway.exchange.spans
            while (wake := ctx.wait(timer)) is not None:
                tables = [
                    (n, t.levels, t.houses, t.credit, t.bid, t.ask, t.mid, t.crossed)
                    for n, t in sorted(spans.tables.items())
                ]
                books = [(b.top(), list(b.trades), b.consistent) for b in ctx.books]
                into.append((wake.time, repr(tables), books))

        return strategy

    levels: list[str] = []
    original, changes = BulkSpans.level, BulkSpans.changes
    general_calls: list[float] = []

    def level(self: BulkSpans, table: Any, name: str, *rest: Any) -> bool:
        if len(rest) == 4:  # the feed's call (`changes` also says the entry is not the last)
            levels.append(name)
        return original(self, table, name, *rest)

    def counted(self: BulkSpans, entries: Any, now: float) -> None:
        general_calls.append(now)
        changes(self, entries, now)

    runs: list[tuple[str, list[Any]]] = []
    for general in (False, True):
        if general:
            monkeypatch.setattr(_feed, "_LEVELS", frozenset())
        monkeypatch.setattr(BulkSpans, "level", level)
        monkeypatch.setattr(BulkSpans, "changes", counted)
        seen: list[Any] = []
        result = run_backtest(noted(seen), recordings["plain"], cache=False, mode="book")
        runs.append((result.to_json(), seen))
        # the fast way (`level`, or the lane's own copy of it) takes most of the 400 messages
        assert (len(general_calls) > 300) if general else (len(general_calls) < 100)
        if not general:
            if timer is not None:  # the quiet loop calls `level` (the lane has it inline)
                assert len(levels) > 300
            levels.clear()
            general_calls.clear()
    assert not levels  # none through the fast path
    assert runs[0] == runs[1]
    assert len(runs[0][1]) > 20


def test_the_step_puts_the_next_message_where_the_schedulers_push_would(
    recordings: dict[str, Path],
) -> None:
    """`Feed.step` (a strategy woken at each change) puts the next recorded message back into
    the scheduler with the timer it popped; with a scheduler that has a waker (it then goes
    through `Scheduler.push`, a new timer) the scheduler's timers at each wake (time and
    callback, in their run order), the wakes and the report are the same."""

    def noted(into: list[Any], waker: bool) -> Any:
        def strategy(ctx: Context) -> None:
            ctx.watch(ctx.symbols)
            scheduler = ctx.simulation.scheduler
            if waker:
                scheduler.waker = lambda: None
            while (wake := ctx.wait(0.75)) is not None:
                due = sorted(t for t in scheduler._timers if not t[2].cancelled)
                timers = [(t[0], t[2].callback.__name__, t[2].args) for t in due]
                into.append((wake.time, wake.markets, timers))

        return strategy

    runs = []
    for waker in (False, True):
        seen: list[Any] = []
        result = run_backtest(noted(seen, waker), recordings["plain"], cache=False, mode="book")
        runs.append((result.to_json(), seen))
    assert runs[0] == runs[1]
    assert sum(1 for _t, markets, _due in runs[0][1] if markets) > 300


@pytest.mark.parametrize(
    "latency",
    [ConstantLatency(0.05), {"KalshiNR": ConstantLatency(0.02)}],
    ids=["market data delayed: no spans", "order entry delayed"],
)
def test_latencies(recordings: dict[str, Path], latency: Any) -> None:
    plan: Plan = {20: ("take", A, "buy"), 30: ("rest", A, "sell"), 60: ("cancel", A)}
    _report, _seen, spans = _both(recordings["plain"], plan, latency=latency)
    delayed_md = not isinstance(latency, dict)
    assert (spans["book"] == []) == delayed_md


def _event(event: Any) -> str:
    """An order-entry event as the tests compare it: its type, and a message's type, ExecType
    and text."""
    message = getattr(event, "message", None)
    if message is None:
        return type(event).__name__
    kind = getattr(getattr(message, "exec_type", None), "value", None)
    return f"{type(message).__name__} {kind} {getattr(message, 'text', None)}"


def _market(report: dict[str, Any], symbol: str) -> dict[str, Any]:
    (row,) = [r for r in report["report"]["markets"] if r["symbol"] == symbol]
    assert isinstance(row, dict)
    return row


def test_the_exchange_shows_a_market_in_a_span_as_its_books_do(
    recordings: dict[str, Path],
) -> None:
    """The exchange's queries (top of book, open orders) of a market in a span read its levels
    as the strategy's books show them."""
    looked: list[bool] = []

    def strategy(ctx: Context) -> None:
        ctx.watch(ctx.symbols)
        exchange = ctx.simulation.gateway.exchange
        while (wake := ctx.wait()) is not None:
            for symbol in wake.markets:
                bid, offer = ctx.books[symbol].top()
                shown = exchange.top_of_book(symbol)
                looked.append(
                    shown[0] == (None if bid is None else (bid.price, bid.size))
                    and shown[1] == (None if offer is None else (offer.price, offer.size))
                )
                if len(looked) % 50 == 0:
                    house = [o for o in exchange.open_orders() if o.symbol == symbol]
                    assert len(house) == len(ctx.books[symbol].bids) + len(ctx.books[symbol].offers)

    run_backtest(strategy, recordings["plain"], cache=False, mode="book")
    assert len(looked) > 300 and all(looked)


def test_the_benchmark_rows_of_both_book_level_strategies_run() -> None:
    import importlib

    helpers: Any = importlib.import_module("test_benchmarks")  # it puts benchmarks/ on sys.path
    bench = helpers.load("bench_backtest")
    rows = ["backtest, book level", "backtest, book level, timer"]
    results = bench.measure([40], rows)
    assert {int(r["messages"]) for _, r in results} == {42}  # a snapshot per market, the 40
    lines = bench.report(results)
    assert "`read_books_on_timer`" in lines[0]
    table = [line for line in lines if line.startswith("| 42 |")]
    assert table[-1].startswith("| 42 | backtest, book level, timer | ")
    # the book level's rate target, at the one size run
    assert lines[-1].startswith("* project target: book level, `read_books` (woken at every ")
    assert "(median of 1 runs of 42 messages; best " in lines[-1]


def test_a_mark_is_a_mid_to_the_ledger() -> None:
    """`PaperLedger.mark` (the spans' mark, its unmoved mid with nothing due cut short) leaves
    the ledger as `on_mid` does: the same points (thinned), funding payments, mids and times,
    for mids that move, stay, and are missing, with fills and funding rates between them."""
    import random
    from types import SimpleNamespace

    from kalshi_fix_sansio.simulator.gateway.paper import PaperLedger
    from kalshi_fix_sansio.trading.funding import FundingRate, FundingSchedule

    t0 = 1_700_000_000.0
    rates = [
        FundingRate("M", t0 + 700 * k + 0.5, Decimal("0.0004"), Decimal("0.5")) for k in range(9)
    ]
    rng = random.Random(7)
    steps: list[tuple[str, float, Any]] = []
    now = t0
    for n in range(6_000):
        now += rng.choice((0.0, 0.25, 1.0, 3.0))
        if n in (40, 2_500, 4_000):
            fill = SimpleNamespace(
                time=now,
                symbol="M",
                side="1" if n != 2_500 else "2",
                price=Decimal("0.40"),
                qty=Decimal(3),
                fee=Decimal("0.01"),
                account="a",
                aggressor=True,
            )
            steps.append(("fill", now, fill))
        mid = rng.choice((None, Decimal("0.40"), Decimal("0.40"), Decimal("0.40"), Decimal("0.41")))
        steps.append(("mid", now, (rng.choice(("M", "N")), mid)))
    ledgers = []
    for use_mark in (False, True):
        ledger = PaperLedger(max_points=16, funding=FundingSchedule(rates))
        changed: list[str] = []
        ledger.change_listeners.append(changed.append)
        for what, when, value in steps:
            if what == "fill":
                ledger.on_fill(value)
            else:
                (ledger.mark if use_mark else ledger.on_mid)(value[0], when, value[1])
        ledgers.append((ledger, changed))
    (plain, heard), (marked, heard_marked) = ledgers
    assert len(plain.points) > 8 and len(plain.payments) > 3
    assert marked.points == plain.points
    assert marked.payments == plain.payments
    assert marked.mids == plain.mids
    assert (marked.first_time, marked.last_time) == (plain.first_time, plain.last_time)
    assert heard_marked == heard


def test_a_trade_time_in_microseconds_as_a_timedelta_counts_them() -> None:
    """The trades' MDEntryTime at the book level is made from `_micros` (no timedelta per
    trade): the same whole microseconds as ``timedelta(seconds=...)`` for recorded times,
    random times of both signs, and the times whose fraction falls half way between two
    microseconds (rounded half to even on the total)."""

    def counted(when: float) -> int:
        delta = timedelta(seconds=when)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    rng = random.Random(5)
    times = [round(1.7e9 + rng.random() * 1e7, 3) for _ in range(50_000)]
    times += [rng.uniform(-2e9, 2e9) for _ in range(50_000)]
    # k * 2**-22 past a second of 2026 (a float's step there) is half way when
    # k * 15625 = 2**15 (mod 2**16)
    k = 32768 * pow(15625, -1, 65536) % 65536
    halves = [1795186795 + (k + 65536 * j) * 2**-22 for j in range(64)]
    times += halves + [-t for t in halves] + [0.0, -0.0, 2.5e-6, -2.5e-6, 86399.9999995]
    assert all(math.modf(math.modf(t)[0] * 1e6)[0] == 0.5 for t in halves)
    assert [_micros(t) for t in times] == [counted(t) for t in times]


@pytest.mark.parametrize(
    ("recording", "plan", "quiet"),
    [
        ("plain", {}, None),
        ("plain", {4: ("take", A, "buy"), 9: ("rest", B, "sell"), 30: ("cancel", B)}, None),
        ("halted", {}, None),
        ("plain", {3: ("expire", A, "buy", 20.5), 8: ("expire", B, "sell", 3.0)}, None),
        ("crossed", {}, None),
        ("plain", {}, B),
    ],
    ids=[
        "timers and the end",
        "orders",
        "a status message",
        "expiries",
        "a crossed book",
        "a book kept without waking",
    ],
)
def test_the_lane_is_the_step_by_step_loop(
    recordings: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    recording: str,
    plan: Plan,
    quiet: str | None,
) -> None:
    """A strategy woken at each change of both markets: with the lane (`_lane.lane`: one
    generator from wake to wake) and without it (each step through `Waker.wait`'s loop,
    `Feed.step`) the wakes, the books at each, the scheduler's timers at each (time and
    callback, in their order, the ticker among them when parked: `_callbacks`) and the
    report are the same, and the same as at the FIX level. The lane
    leaves the rest to `step` and to `Feed.run` at each way out the cases make: the
    statistics' sampler run in its place (`Feed.readers`), an order's bytes due before the
    next message, an order event, a
    market with a client order (out of its span), a message of another kind (a 35=f), an
    order that can expire (no loop while one rests), the end of the recording."""
    runs: list[tuple[Any, ...]] = []
    steps: list[int] = []
    step = Feed.step

    def counted(self: Feed, until: float) -> bool:
        steps.append(1)
        return step(self, until)

    monkeypatch.setattr(Feed, "step", counted)
    for follow in (True, False):
        if not follow:
            monkeypatch.setattr(booklevel, "_lane", lambda *_args: iter(()))
        seen: Seen = {"fix": [], "book": []}
        timers: list[Any] = []
        inner = scripted(plan, seen, {"fix": [], "book": []}, quiet=quiet)

        def strategy(ctx: Context, timers: list[Any] = timers, inner: Any = inner) -> None:
            wait, sim = ctx.wait, ctx.simulation

            def noted(timeout: float | None = None) -> Any:
                wake = wait(timeout)
                timers.append(_callbacks(sim))
                # each price and size as made (its exponent too: 5 and 5.00 are equal Decimals)
                timers.append(repr([(b.depth(), list(b.trades)) for b in ctx.books]))
                return wake

            ctx.wait = noted  # type: ignore[method-assign]
            inner(ctx)

        steps.clear()
        result = run_backtest(strategy, recordings[recording], cache=False, mode="book")
        runs.append((result.to_json(), seen["book"], timers))
        assert len(seen["book"]) > (300 if quiet is None else 150)  # (one market's wakes)
        if follow:  # the lane took most messages, `step` the rest
            assert 0 < len(steps) < len(seen["book"]) // 2
    assert runs[0] == runs[1]
    report, fix, _spans = _both(recordings[recording], plan, quiet=quiet)
    assert fix["fix"] == runs[0][1]
    events = [e for _t, _m, _tops, orders in fix["fix"] for e in orders]
    assert (len(events) > 1) == bool(plan)  # the Logon's, and the plan's orders'
    assert json.loads(runs[0][0])["report"] == report["report"]


def test_a_wake_made_at_once_is_the_wake_attrs_makes() -> None:
    """`_wake` (the change-woken common case's `Wake`) and `_level` (`BookSide.best`'s
    `Level`) set every field attrs' ``__init__`` sets, to the same values: equal, the same
    hash and repr, still frozen."""
    import attrs

    from kalshi_fix_sansio.trading._booksides import Level, _level

    assert [f.name for f in attrs.fields(Level)] == ["price", "size"]
    level, plain_level = _level(Decimal("0.42"), Decimal(7)), Level(Decimal("0.42"), Decimal(7))
    assert level == plain_level and hash(level) == hash(plain_level)
    assert repr(level) == repr(plain_level)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        level.size = Decimal(1)  # type: ignore[misc]

    assert [f.name for f in attrs.fields(Wake)] == ["time", "markets", "orders"]
    made, plain = _wake(12.5, (A, B)), Wake(12.5, (A, B))
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert made.orders == () and not made.timer
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.time = 1.0  # type: ignore[misc]


def test_a_callback_put_in_the_heap_while_the_lane_runs_a_message(
    recordings: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane leaves the feed's timer first in the scheduler's heap while a message runs
    and puts the next message's in its place after it (`heapreplace`); a callback put in the
    heap meanwhile, due before it (here by a listener of the ledger's marks, at a time
    already past), moves it from the top, and the lane then takes the timer out the way
    `Feed.step` pops it (`_lane._drop`). The wakes, the scheduler's callbacks at each, the
    callbacks' runs and the report are the same with the lane and without it (each step
    through `Waker.wait`'s loop)."""
    from kalshi_fix_sansio.simulator.backtests import _lane

    drops: list[bool] = []
    drop = _lane._drop

    def noted_drop(timers: list[Any], top: tuple[Any, ...]) -> None:
        drops.append(timers[0] is top)
        drop(timers, top)

    monkeypatch.setattr(_lane, "_drop", noted_drop)
    runs: list[tuple[Any, ...]] = []
    for follow in (True, False):
        if not follow:
            monkeypatch.setattr(booklevel, "_lane", lambda *_args: iter(()))
        wakes: list[Any] = []
        ran: list[float] = []

        def strategy(ctx: Context, wakes: list[Any] = wakes, ran: list[float] = ran) -> None:
            sim = ctx.simulation
            marks = [0]

            def listener(_symbol: str) -> None:  # every other change of a mid: a past callback
                marks[0] += 1
                if marks[0] % 2 == 0:
                    sim.scheduler.call_at(sim.clock.time() - 0.25, lambda: ran.append(marks[0]))

            ctx._waker.feed.ledger.change_listeners.append(listener)  # type: ignore[union-attr]
            ctx.watch(ctx.symbols)
            while (wake := ctx.wait()) is not None:
                wakes.append((wake.time, wake.markets, _callbacks(sim)))
                wakes.append(repr([b.depth() for b in ctx.books]))

        result = run_backtest(strategy, recordings["plain"], cache=False, mode="book")
        runs.append((result.to_json(), wakes, ran))
        assert len(ran) > 20 and len(wakes) > 400
    assert runs[0] == runs[1]
    assert False in drops  # the callback was first: the timer taken from below it

"""Where a backtest's time goes: one run profiled (cProfile), its time shared out by part of
the path (`bench_backtest.py --breakdown N [--modes]`)."""

from __future__ import annotations

import tempfile
from typing import Any

from bench_backtest import _recording, read_books, read_books_on_timer, watch

__all__ = ["breakdown", "breakdown_book"]


# (label, module path suffix, function) of the parts `breakdown` times, cumulative: none calls
# another of them, so their times add up (then the scheduler's own time, then the rest)
PARTS = (
    ("recording check", "recording.py", "check_recording"),
    ("recording read (the run's)", "recording.py", "read_recording"),
    # the rows are made in C under the generator `_raw`: the feed's `next` (`_next`)
    ("compiled rows read (the run's)", "simulator/backtests/_feed.py", "_next"),
    ("exchange (books, 35=X built)", "exchange/__init__.py", "replay_row"),
    ("exchange tick (a second with something due)", "exchange/__init__.py", "tick"),
    ("ledger follows the mids", "simulator/backtests/_feed.py", "_follow"),
    ("gateway session (35=X encoded, written)", "gateway/router.py", "_route"),
    ("client (read, decode, session, books)", "_inmemory/_blocking.py", "received"),
    ("the strategy's waits (each poll: an event taken, or none)", "client/_callers.py", "poll"),
)
SCHEDULER = (
    ("_inmemory/_net.py", "run_due"),
    ("_inmemory/_net.py", "next_deadline"),
    ("_inmemory/_net.py", "_receive"),
    ("simulator/world/simulation.py", "run_once"),
    ("simulator/world/simulation.py", "advance"),
    ("simulator/world/simulation.py", "_tick"),
)
"""The functions whose own time is the scheduler's row of `breakdown` (none runs inside the
parts above: the pipes' writes, inside the gateway session's part, are counted there)."""


def breakdown(messages: int) -> list[str]:
    """The share of one profiled backtest's time each part of the path takes."""
    import cProfile
    import pstats

    from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
    from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording

    with tempfile.TemporaryDirectory() as tmp:
        path = _recording(tmp, messages)
        compile_recording(path)  # before the profile, as a sweep's first run leaves it
        profile = cProfile.Profile()
        profile.runcall(run_backtest, watch, path)
    stats: Any = pstats.Stats(profile).stats  # (file, line, function) -> (.., .., .., cum, ..)
    total = max(v[3] for v in stats.values())
    lines = [
        f"cProfile of one backtest of {messages:,} messages ({total:.2f} s profiled; "
        "the profiler's own cost is in each share):",
        "",
        "| part | share of the run |",
        "|---|---|",
    ]
    counted = 0.0
    for label, where, function in PARTS:
        cum = _cumulative(stats, where, function)
        # the exchange's tick is routed too: its answers are in the gateway session's share
        counted += cum
        lines.append(f"| {label} | {cum / total:.0%} |")
    own = sum(
        v[2]
        for (file, _line, name), v in stats.items()
        if any(name == function and file.endswith(where) for where, function in SCHEDULER)
    )
    counted += own
    lines.append(
        f"| scheduler (run_due, run_once, the clock's moves: own time) | {own / total:.0%} |"
    )
    lines.append(
        f"| the rest (the feed's own steps, the strategy, the waits' loop) "
        f"| {1 - counted / total:.0%} |"
    )
    return lines


# the same for a book-level run with bulk spans (`breakdown_book`)
BOOK_PARTS = (
    # the rows are made in C under the generator `_raw`: their time is in the feed's `next`
    ("compiled rows read", "~", "<built-in method builtins.next>"),
    ("the spans' tables (levels, credits, house ids)", "exchange/spans.py", "changes"),
    # the quiet loop marks inline and calls `on_mid` when the mid moved; `_bulk`, `mark`
    ("the ledger's marks", "simulator/gateway/paper.py", "mark"),
    ("the ledger's marks", "simulator/gateway/paper.py", "on_mid"),
    ("the full path (messages of markets with an order)", "exchange/__init__.py", "replay_row"),
    ("the strategy's books from the tables", "simulator/backtests/booklevel.py", "_apply_pending"),
    ("the ticks skipped", "simulator/world/simulation.py", "skip_tick"),
    ("the strategy's own code", "bench_backtest.py", "read_books"),
)


def breakdown_book(messages: int) -> list[str]:
    """The share of a profiled book-level run's time each part takes, for the watching
    strategy and the timer-woken one (the strategy's own code: its loop, less its waits)."""
    import cProfile
    import pstats

    from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
    from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording

    lines = []
    for strategy in (read_books, read_books_on_timer):
        with tempfile.TemporaryDirectory() as tmp:
            path = _recording(tmp, messages)
            compile_recording(path)  # as a sweep's first run leaves it: not profiled
            profile = cProfile.Profile()
            profile.runcall(run_backtest, strategy, path, mode="book")
        stats: Any = pstats.Stats(profile).stats
        total = max(v[3] for v in stats.values())
        lines += [
            f"cProfile of one book-level run of `{strategy.__name__}`, {messages:,} messages "
            f"({total:.2f} s profiled):",
            "",
            "| part | share of the run |",
            "|---|---|",
        ]
        counted = 0.0
        shares: dict[str, float] = {}
        for label, where, function in BOOK_PARTS:
            if function == "read_books":  # the strategy's own time, without its waits
                cum = sum(v[2] for (file, _l, name), v in stats.items() if file.endswith(where))
            elif function == "on_mid":  # its calls from `mark` are in `mark`'s
                cum = _cumulative(stats, where, function, without="mark")
            else:
                cum = _cumulative(stats, where, function)
            counted += cum
            shares[label] = shares.get(label, 0.0) + cum
        lines += [f"| {label} | {cum / total:.0%} |" for label, cum in shares.items()]
        lines += [
            f"| the rest (the span loop, the waits, the wakes) | {1 - counted / total:.0%} |",
            "",
        ]
    return lines


def _cumulative(stats: Any, where: str, function: str, without: str | None = None) -> float:
    """The cumulative seconds of ``function`` in the module whose path ends with ``where``
    (``without``: less its calls from the function of that name)."""
    total = 0.0
    for (file, _line, name), v in stats.items():
        if name == function and file.endswith(where):
            total += v[3]
            if without is not None:
                total -= sum(c[3] for (_f, _l, caller), c in v[4].items() if caller == without)
    return total

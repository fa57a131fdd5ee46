# private: the fold's segment sizes lowered (`bookstates._SEGMENT`, `_HELD`) to spill often
"""Book states compiled once (`kalshi_fix_sansio.simulator.backtests.bookstates`): the book after each
recorded message as columns, equal to what `Books` makes of the decoded recording, cached
beside the compiled recording and checked as it is."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from kalshi_fix_sansio.simulator.backtests import bookstates
from kalshi_fix_sansio.simulator.backtests.bookstates import BOOK_SUFFIX, book_states
from kalshi_fix_sansio.simulator.backtests.compiled import CompiledCacheError, compile_recording
from kalshi_fix_sansio.simulator.data.recording import check_recording, read_recording
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_RECORDING,
    SAMPLE_RECORDING,
    write_recording,
)
from kalshi_fix_sansio.trading.book import Books


def _written(tmp_path: Path, messages: int = 1500, seed: int = 7) -> Path:
    path = tmp_path / "day.log"
    with open(path, "w", encoding="utf-8") as out:
        write_recording(out, messages=messages, seed=seed)
    return path


def _same_as_books(path: Path, depth: int) -> int:
    """Every market's book state after every recorded message equals the best ``depth``
    levels of `Books` applied to the decoded messages; the rows compared."""
    states = book_states(compile_recording(path, cache=False), depth)
    info = check_recording(path)
    books = Books()
    compared = 0
    for k, item in enumerate(read_recording(path, product=info.product, checked=True)):
        for symbol in dict.fromkeys(books.apply(item.message).symbols):
            market = states[symbol]
            row = market.after(k)
            assert market.messages[row] == k and market.times[row] == item.time
            want = tuple(
                [(lv.price, lv.size) for lv in side] for side in books[symbol].depth(depth)
            )
            assert market.levels(row) == want, (k, symbol)
            bid, offer = books[symbol].top()
            assert market.top(row) == (
                None if bid is None else (bid.price, bid.size),
                None if offer is None else (offer.price, offer.size),
            )
            compared += 1
    return compared


@pytest.mark.parametrize("depth", [1, 3])
def test_states_are_the_books_after_each_message(tmp_path: Path, depth: int) -> None:
    assert _same_as_books(_written(tmp_path), depth) > 1000


@pytest.mark.parametrize("sample", [SAMPLE_RECORDING, MARGIN_SAMPLE_RECORDING])
def test_states_of_the_shipped_samples(tmp_path: Path, sample: Path) -> None:
    copy = tmp_path / sample.name
    shutil.copy(sample, copy)
    assert _same_as_books(copy, 5) > 0


def test_a_search_by_time(tmp_path: Path) -> None:
    path = _written(tmp_path, 200)
    states = book_states(compile_recording(path))
    market = next(iter(states.markets.values()))
    first, second = market.times[0], market.times[1]
    assert market.at(first - 1.0) == -1 and market.top(-1) == (None, None)
    assert market.levels(-1) == ([], []) and market.mid(-1) is None
    assert market.at(first) == 0 and market.at((first + second) / 2) == 0
    assert market.at(second) == 1 and market.at(1e12) == market.count - 1
    bid, offer = market.top(0)
    assert bid is not None and offer is not None
    assert market.mid(0) == (bid[0] + offer[0]) / Decimal(2)
    assert list(market.column("time")) == list(market.times)
    assert market.since(market.messages[0]) == 1 and market.since(-1) == 0


def test_cached_beside_the_compiled_recording(tmp_path: Path) -> None:
    path = _written(tmp_path, 300)
    compiled = compile_recording(path)
    made = book_states(compiled)
    where = tmp_path / f"day.log{BOOK_SUFFIX}"
    assert made.cache_path == str(where) and where.exists() and not made.from_cache
    again = book_states(compiled)
    assert again.from_cache
    for symbol, market in made.markets.items():
        other = again[symbol]
        assert other.count == market.count
        assert [other.levels(i) for i in range(other.count)] == [
            market.levels(i) for i in range(market.count)
        ]
    # another depth, or the recording changed: computed again, never trusted
    assert not book_states(compiled, 2).from_cache
    with open(path, "w", encoding="utf-8") as out:
        write_recording(out, messages=300, seed=8)
    changed = book_states(compile_recording(path))
    assert not changed.from_cache


def test_a_corrupt_cache_is_named(tmp_path: Path) -> None:
    path = _written(tmp_path, 300)
    compiled = compile_recording(path)
    where = Path(book_states(compiled).cache_path or "")
    data = bytearray(where.read_bytes())
    data[-9] ^= 0xFF
    where.write_bytes(bytes(data))
    with pytest.raises(CompiledCacheError, match="do not match their checksum") as caught:
        book_states(compiled)
    assert str(where) in str(caught.value) and "\n" not in str(caught.value)
    where.write_bytes(b"nonsense")
    with pytest.raises(CompiledCacheError, match="not a book-states cache"):
        book_states(compiled)


def test_kept_in_memory_without_a_cache(tmp_path: Path) -> None:
    path = _written(tmp_path, 300)
    states = book_states(compile_recording(path, cache=False))
    assert states.cache_path is None and not list(tmp_path.glob(f"*{BOOK_SUFFIX}"))
    assert sum(m.count for m in states.markets.values()) >= 300


@pytest.mark.parametrize("depth", [0, -1, True, 2.0])
def test_a_wrong_depth(tmp_path: Path, depth: object) -> None:
    compiled = compile_recording(_written(tmp_path, 50), cache=False)
    with pytest.raises(ValueError, match="depth must be a whole number >= 1"):
        book_states(compiled, depth)  # type: ignore[arg-type]


def _folded(path: Path, depth: int) -> int:
    """Every market's book state equals a plain fold of the compiled rows by the exchange's
    rule (a 35=W replaces the levels; a bid or offer entry of a 35=X sets its level, removed
    at an update action of 2 or a size of none or 0; a trade moves nothing); the rows
    compared."""
    compiled = compile_recording(path, cache=False)
    states = book_states(compiled, depth)
    books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    compared = 0
    for k, (_time, kind, symbol, _status, _result, entries) in enumerate(compiled.rows()):
        touched: dict[str, None] = {}
        if kind == "W" and symbol is not None:
            books[symbol] = {"0": {}, "1": {}}
            touched[symbol] = None
        for t, name, px, size, action, _aggressor, _trade_id in entries:
            name = symbol if kind == "W" else name
            if kind not in ("W", "X") or name is None or px is None:
                continue
            touched[name] = None
            if t not in ("0", "1"):
                continue
            levels = books.setdefault(name, {"0": {}, "1": {}})[t]
            if size is None or not size or (kind == "X" and action == "2"):
                levels.pop(px, None)
            else:
                levels[px] = size
        for name in touched:
            market = states[name]
            row = market.after(k)
            assert market.messages[row] == k
            bids = sorted(books[name]["0"].items(), reverse=True)[:depth]
            offers = sorted(books[name]["1"].items())[:depth]
            assert market.levels(row) == (bids, offers), (k, name)
            compared += 1
    return compared


def test_a_snapshot_in_the_middle_replaces_the_market_s_levels(tmp_path: Path) -> None:
    """A 35=W met after many 35=X (the market's first snapshot again, at a later line's time):
    its book is the snapshot's from there on; the 35=X after it that update a level it does
    not have (the recording inconsistent from there) set it, as the exchange's recorded book
    does (`Books` reports them instead)."""
    path = _written(tmp_path, 600)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    snapshot = next(line for line in lines if "|35=W|" in line)
    for at in (200, 450):
        lines.insert(at, lines[at].split(" ", 1)[0] + " " + snapshot.split(" ", 1)[1])
    path.write_text("".join(lines), encoding="utf-8")
    assert _folded(path, 5) > 600
    assert _folded(_written(tmp_path, 600, seed=3), 2) > 600


def test_rows_spilled_in_many_segments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fold's rows go to its spill file a segment at a time (a market's few rows, or every
    market's after a chunk): the same states, cached or in memory, as one segment gives."""
    path = _written(tmp_path, 1500)
    whole = book_states(compile_recording(path, cache=False), 3)
    monkeypatch.setattr(bookstates, "_SEGMENT", 7)
    monkeypatch.setattr(bookstates, "_HELD", 50)
    assert _same_as_books(path, 3) > 1000
    cached = book_states(compile_recording(path), 3)
    assert cached.cache_path is not None and not cached.from_cache
    for states in (cached, book_states(compile_recording(path), 3)):
        for symbol, market in whole.markets.items():
            other = states[symbol]
            assert list(other.messages) == list(market.messages)
            assert [other.levels(i) for i in range(other.count)] == [
                market.levels(i) for i in range(market.count)
            ]

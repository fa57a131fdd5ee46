# private: the receive path's parts (`session._inbound.Inbound`, `client._desk.OrderDesk`,
# `client.driver.Driver`) and the framer's `feed_whole`, each replaced by its general path
"""A client's receive of a FIX-level backtest through its lanes held to the general paths: the
framer's one-frame read (`Framer.feed_whole`) against `feed` then `next_whole`, the session's
clean message in its turn (`Inbound.read_app`) against `on_frame`, the desk's book message
(`OrderDesk.read_book`) against `apply`, and a reader's take of the oldest event
(`Driver.take_event` with `any_event`) against the take by a predicate. The same recording is
run with the lanes and with every one of them replaced by its general path: the strategy sees
the same events (kind, number, bytes, message), the same books after each (both best prices and
the trades), and the session counts the same messages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.client import _desk, driver
from kalshi_fix_sansio.codec.framing import Framer
from kalshi_fix_sansio.session import _inbound
from kalshi_fix_sansio.simulator.backtest import run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import write_recording
from kalshi_fix_sansio.trading.builders import Requests


def _general(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every lane replaced by the general path it stands for."""

    def feed_whole(self: Framer, data: bytes) -> bytes | None:
        self.feed(data)
        return self.next_whole()

    def read_app(self: _inbound.Inbound, frame: bytes) -> None:
        self.on_frame(frame)

    def read_book(self: _desk.OrderDesk, event: Any, now: float) -> bool:
        if (
            self.books is None
            or self.kill is not None
            or self.catch_up is not None
            or self._waiters
            or event.message.MSG_TYPE not in _desk.BOOK_TYPES
        ):
            return False
        self.apply(event, now)
        return True

    take_event = driver.Driver.take_event

    def take_by_predicate(self: driver.Driver, predicate: Callable[[Any], bool]) -> Any:
        return take_event(self, lambda event: predicate(event))

    monkeypatch.setattr(Framer, "feed_whole", feed_whole)
    monkeypatch.setattr(_inbound.Inbound, "read_app", read_app)
    monkeypatch.setattr(_desk.OrderDesk, "read_book", read_book)
    monkeypatch.setattr(driver.Driver, "take_event", take_by_predicate)


def _watched(path: Path, product: str) -> list[Any]:
    seen: list[Any] = []

    def watch(ctx: Any) -> None:
        with ctx.client(market_data=True).market_data() as md:
            md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
            while ctx.seconds > 0 and (event := md.next_event(timeout=ctx.seconds)) is not None:
                line = [type(event).__name__, getattr(event, "seq_num", None)]
                if hasattr(event, "message"):
                    line += [event.raw, repr(event.message)]
                books = md.books
                for symbol in ctx.symbols:
                    book = None if books is None else books.get(symbol)
                    if book is not None:
                        line += [book.best_bid(), book.best_offer(), list(book.trades)]
                seen.append(line)
            seen.append(dict(md.metrics.messages_in))

    run_backtest(watch, path, mode="fix")
    return seen


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_the_lanes_see_what_the_general_paths_see(
    product: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lanes.log"
    with open(path, "w", encoding="utf-8") as out:
        write_recording(out, messages=600, seed=3, product=product)
    fast = _watched(path, product)
    _general(monkeypatch)
    general = _watched(path, product)
    assert len(fast) > 500 and fast == general

# private: the session's inbound part (`session._inbound.Inbound`), the framer's
# `Framer.take_whole`, the desk's `OrderDesk.read_book` and the driver's `take_event`, each
# replaced by the general path
"""A client's receive of a FIX-level backtest through its lanes held to the general paths: the
session's lane for a clean message in its turn (`Inbound.read_app`) to `Inbound.on_frame`, a
chunk taken whole (`Framer.take_whole`) to `Framer.feed_whole`, the desk's book read
(`OrderDesk.read_book`) to `OrderDesk.apply`, and a reader's take of the oldest event
(`take_event` of ``any_event``) to `next_event_with_time` and `Delivery.delivered`. The same
recording run with the lanes and with the general paths alone, the strategy sees the same
events (kind, number, bytes, message, receive time), the same books after each (both best
prices and the trades), and the session counts the same messages and the same queue high
water.

(A test of the private `_inbound` and `_desk` modules: their methods are replaced; the
predicate of a reader's take, `any_event`, is the private `_callers` module's, and the book
messages' types, `BOOK_TYPES`, the private `_queue` module's.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.client._callers import any_event
from kalshi_fix_sansio.client._desk import OrderDesk
from kalshi_fix_sansio.client._queue import BOOK_TYPES
from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.codec.framing import Framer
from kalshi_fix_sansio.session import _inbound
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import write_recording
from kalshi_fix_sansio.trading.builders import Requests


def _general(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lanes replaced by the general paths they stand for."""

    def read_app(self: _inbound.Inbound, frame: bytes, handed: Any = None) -> None:
        self.on_frame(frame)  # (a frame's handed values not read: its bytes decoded)

    def read_book(self: OrderDesk, event: Any, now: float) -> bool:
        if (
            self.books is None
            or self.kill is not None
            or self.catch_up is not None
            or self._waiters
            or event.message.MSG_TYPE not in BOOK_TYPES
        ):
            return False
        self.apply(event, now)
        return True

    def take_event(self: Any, predicate: Any) -> Any:
        if not self.begun:
            return None
        now = None if self._reading else self.clock()
        if self._reading and not self._queue:
            return None
        if predicate is any_event:
            item = self.next_event_with_time(now)
        else:
            item = self.take_with_time(predicate, now)
        return None if item is None else self.delivery.delivered(item)

    monkeypatch.setattr(_inbound.Inbound, "read_app", read_app)
    monkeypatch.setattr(Framer, "take_whole", lambda self, data: False)
    monkeypatch.setattr(OrderDesk, "read_book", read_book)
    monkeypatch.setattr(Driver, "take_event", take_event)


def _watched(path: Path, product: str) -> list[Any]:
    seen: list[Any] = []

    def watch(ctx: Any) -> None:
        with ctx.client(market_data=True).market_data() as md:
            md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
            while ctx.seconds > 0 and (event := md.next_event(timeout=ctx.seconds)) is not None:
                line = [type(event).__name__, getattr(event, "seq_num", None)]
                line.append(md.received_at(event))
                if hasattr(event, "message"):
                    line += [event.raw, repr(event.message)]
                books = md.books
                for symbol in ctx.symbols:
                    book = None if books is None else books.get(symbol)
                    if book is not None:
                        line += [book.best_bid(), book.best_offer(), list(book.trades)]
                seen.append(line)
            seen.append(dict(md.metrics.messages_in))
            seen.append(md.metrics.queue_high_water)

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

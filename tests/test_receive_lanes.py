# private: the session's inbound part (`session._inbound.Inbound`), its lane replaced by the
# general path
"""A client's receive of a FIX-level backtest through the session's lane for a clean message in
its turn (`Inbound.read_app`) held to the general path (`Inbound.on_frame`): the same recording
run with the lane and with `on_frame` alone, the strategy sees the same events (kind, number,
bytes, message), the same books after each (both best prices and the trades), and the session
counts the same messages.

(A test of the private `_inbound` module: its `Inbound.read_app` is replaced.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.session import _inbound
from kalshi_fix_sansio.simulator.backtest import run_backtest
from kalshi_fix_sansio.simulator.testing.recordings import write_recording
from kalshi_fix_sansio.trading.builders import Requests


def _general(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lane replaced by the general path it stands for."""

    def read_app(self: _inbound.Inbound, frame: bytes) -> None:
        self.on_frame(frame)

    monkeypatch.setattr(_inbound.Inbound, "read_app", read_app)


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

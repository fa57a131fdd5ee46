"""The market-data part of a run: a KalshiMD session subscribing to markets, and its book check.

The session is a client of its own key (Kalshi takes one connection per key), opened at the
first ``subscribe`` step and dying with the process at a ``restart`` (the new process opens it
again and subscribes to what it wanted). Subscriptions go out with ``resubscribe=True``: the
library sends them again after every reconnect. What the library names instead of doing is
the application's, as its docs say: a subscription refused by a 35=j (the rate limit) or a
35=Y, or one that could not be sent because the session was logging on again, is sent again;
a book that went inconsistent is reset and subscribed again (`Books`: "re-subscribe").

The promise checked at the end, after the faults are lifted and the recovery: the session is
logged on, and every market the application subscribes to has a book that took its snapshot,
is consistent, and has the exchange's levels and sizes on both sides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ....client.reconnect import Backoff
from ....client.supervisor import Reconnected
from ....session.auth import Ed25519Signer
from ....session.events import ApplicationMessage, BusinessRejectReceived, LoggedOn
from ....trading.builders import Requests
from ._net import _Sim

__all__ = ["HEARTBEAT", "MD_SYMBOLS", "backoff", "fixed_key"]

HEARTBEAT: Final = 30
"""The heartbeat interval of a run's market-data and RFQ sessions: a stall is seen within a
minute (the recovery's 150 s hold it), at a third of the frames of the order entry's 10 s."""

MD_SYMBOLS: Final = {
    "prediction": ("DST-26JAN05", "DST-26JAN06"),
    "margin": ("DST-PERP", "DST-PERP2"),
}
"""The markets a schedule's market-data session subscribes to, by product: the traded one
first (its book moves with the orders and the house's liquidity), then one that only rests."""


def fixed_key(product: str, role: str) -> tuple[str, Ed25519Signer]:
    """An API key of a schedule's own, fixed (the same signatures, so the same bytes, on every
    machine): its id and signer."""
    seed = hashlib.sha256(f"kalshi-fix-sansio dst {role} {product} key".encode()).digest()
    return f"dst-{product}-{role}", Ed25519Signer(Ed25519PrivateKey.from_private_bytes(seed))


def backoff(seed: int) -> Backoff:
    """The reconnect backoff of a run's market-data and RFQ sessions: from 0.5 s up to 30 s
    (the library's cap), never giving up, its jitter from ``seed``."""
    return Backoff(base=0.5, cap=30.0, attempts=None, seed=seed)


def exchange_levels(
    sim: _Sim, symbol: str
) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    """The exchange's aggregated book of ``symbol`` (bids, offers: price -> size), from every
    open order resting there (the house's included)."""
    sides: tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]] = ({}, {})
    for order in sim.gateway.exchange.open_orders():
        if order.symbol == symbol and order.leaves_qty > 0:
            side = sides[0 if order.side == "1" else 1]
            side[order.price] = side.get(order.price, Decimal(0)) + order.leaves_qty
    return sides


class MarketData:
    """A run's market-data session (see the module docstring).

    Args:
        sim: the run's simulation.
        api: the run's API driver (pause, enter, send, abandon, settle, release).
        product: the schedule's product.
        seed: the schedule's seed (the session's reconnect jitter).
        heartbeat: the session's heartbeat interval.
    """

    def __init__(self, sim: _Sim, api: Any, product: str, seed: int, heartbeat: int) -> None:
        self.sim, self.api, self.seed, self.heartbeat = sim, api, seed, heartbeat
        self.key_id, self.signer = fixed_key(product, "md")
        self.symbols = MD_SYMBOLS[product]
        self.requests = Requests(product, "KalshiMD")
        self.session: Any = None
        self.wanted: set[str] = set()  # the application's subscriptions
        self.repair = False  # a subscription refused, unsent or a book inconsistent: again
        self.received = 0  # book messages the application read since the last Logon

    @property
    def public_key(self) -> Any:
        """The key the gateway is told."""
        return self.signer.public_key()

    async def open(self) -> None:
        """Open the session (a new process's), and subscribe to what the application wants."""
        client = self.sim.client(
            self.key_id,
            self.signer,
            api=self.api.name,
            backoff=backoff(self.seed + 2),
        )
        self.session = client.market_data(on_event=self._event, heartbeat_interval=self.heartbeat)
        await self.api.enter_softly(self.session)
        if self.wanted:
            await self._send(self.requests.subscribe(sorted(self.wanted)))

    def _event(self, event: Any) -> None:
        """Book messages are counted (per connection: a Logon starts again); a refusal the
        library names (it does not act on it) makes the application send again."""
        if isinstance(event, ApplicationMessage):
            msg_type = event.message.MSG_TYPE
            if msg_type in ("W", "X"):
                self.received += 1
            elif msg_type == "Y":
                self.repair = True
        elif isinstance(event, (LoggedOn, Reconnected)):
            self.received = 0
        elif isinstance(event, BusinessRejectReceived) and event.ref_msg_type == "V":
            self.repair = True

    async def _send(self, message: Any) -> None:
        try:
            await self.api.send(self.session, message, resubscribe=True)
        except self.api.documented:  # not logged on (a reconnect under way), refused: later
            self.repair = True

    async def subscribe(self, n: int) -> None:
        symbol = self.symbols[n % len(self.symbols)]
        self.wanted.add(symbol)
        if self.session is None:
            await self.open()
        else:
            await self._send(self.requests.subscribe([symbol]))

    async def unsubscribe(self, n: int) -> None:
        symbol = self.symbols[n % len(self.symbols)]
        if symbol not in self.wanted or self.session is None:
            return
        self.wanted.discard(symbol)
        await self._send(self.requests.unsubscribe([symbol]))

    async def react(self) -> None:
        """What the application does between steps: subscribe again where the library named a
        refusal, a send failed, or a book went inconsistent (reset first)."""
        session = self.session
        if session is None or not self.wanted or not session.driver.logged_on():
            return
        books = session.books
        stale = [s for s in sorted(self.wanted) if books is not None and _inconsistent(books, s)]
        if not (self.repair or stale):
            return
        self.repair = False
        if books is not None:
            for symbol in stale:
                books.reset(symbol)
        await self._send(self.requests.subscribe(sorted(self.wanted)))

    def sessions(self) -> list[Any]:
        return [] if self.session is None else [self.session]

    def forget(self) -> None:
        """The process died: its session is gone (what it wanted, the new process wants)."""
        self.session = None

    def check_end(self, violate: Callable[[str, str], None], book_frames: list[int]) -> None:
        """The promises at the end (see the module docstring); ``book_frames``: the session's
        newest connection and the book messages the gateway wrote on it (`WireWatch`)."""
        session = self.session
        if session is None:
            return
        if not session.driver.logged_on() or session.supervisor.state.name != "ACTIVE":
            violate(
                "session back",
                f"the market-data session is {session.supervisor.state.name} after recovery",
            )
            return
        written = book_frames[1] if book_frames else 0
        if written != self.received:  # on a live connection: nothing lost, nothing unsaid
            violate(
                "book message dropped",
                f"the gateway wrote {written} book message(s) on the market-data session's "
                f"connection, the application read {self.received}",
            )
            return
        books = session.books
        for symbol in sorted(self.wanted):
            book = books.get(symbol) if books is not None else None
            bids, offers = exchange_levels(self.sim, symbol)
            if book is None or not book.has_snapshot or not book.consistent:
                state = "none" if book is None else "without its snapshot"
                if book is not None and book.has_snapshot:
                    state = "inconsistent"
                violate("book differs", f"{symbol}: the client's book is {state}")
                return
            ours = (book.bids.as_dict(), book.offers.as_dict())
            if ours != (bids, offers):
                violate(
                    "book differs",
                    f"{symbol}: client bids {_levels(ours[0])} offers {_levels(ours[1])}, "
                    f"exchange bids {_levels(bids)} offers {_levels(offers)}",
                )
                return


def _inconsistent(books: Any, symbol: str) -> bool:
    book = books.get(symbol)
    return book is not None and book.has_snapshot and not book.consistent


def _levels(side: dict[Decimal, Decimal]) -> str:
    return "[" + ", ".join(f"{size:g}@{price:g}" for price, size in sorted(side.items())) + "]"

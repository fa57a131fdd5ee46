"""The RFQ part of a run (prediction only: margin has no RFQ): the account quotes as a market
maker on a KalshiRFQ session, the house asks for quotes and accepts them.

The maker is the process's: a client on a third key of the schedule's account (Kalshi takes
one connection per key), with the run's risk limit, opened at the first RFQ step and dying at a
``restart`` (opened again at the next). Its QuoteIDs come from one numbered generator of the
application's (they go on across restarts, as a desk's ids must). It remembers the newest RFQ
broadcast to it and confirms an accepted quote between steps, as a maker's program does (an
acceptance not confirmed within 30 s is voided by the exchange). A ``kill`` step halts it as
well (its client's ``kill_all``), a ``rearm`` lifts that halt.

The creator is the house: a client of another account on KalshiRT (where Kalshi takes RFQs),
outside the process (a ``restart`` leaves it), faults at the gateway hitting it too. It asks for
quotes on the traded market and accepts the newest quote it was shown.

A confirmed quote trades: the exchange sends the maker's fill (ClOrdID = its QuoteID) to the
account's order-entry session, so the run's end check (position = the exchange's) holds a
quote's fills to counting once. The frame checks (`WireWatch`) hold the quotes to the halt, the
limit and fresh QuoteIDs.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from ....session.events import ApplicationMessage
from ....trading.builders import ClOrdIDGenerator, Requests
from ....trading.risk import RiskLimits
from ._markets import backoff, fixed_key
from ._net import _Sim

__all__ = ["RFQ_KINDS", "Quoting"]

RFQ_KINDS: Final = frozenset({"rfq", "quote", "accept", "quote_cancel"})
"""The steps of the RFQ workload."""
_CENT: Final = Decimal("0.01")


class Quoting:
    """A run's RFQ maker (the account's) and creator (the house's): see the module docstring.

    Args:
        sim: the run's simulation.
        api: the run's API driver.
        symbol: the market RFQs are asked on.
        seed: the schedule's seed (reconnect jitter).
        account: the process's client options of the account (its shared `Account`, if any).
        max_qty: the maker's risk limit on a trade's quantity.
        heartbeat: the sessions' heartbeat interval.
    """

    def __init__(
        self,
        sim: _Sim,
        api: Any,
        symbol: str,
        seed: int,
        account: Callable[[], dict[str, Any]],
        max_qty: int,
        heartbeat: int,
    ) -> None:
        self.sim, self.api, self.symbol, self.seed = sim, api, symbol, seed
        self.account, self.max_qty, self.heartbeat = account, max_qty, heartbeat
        self.maker_key, self.maker_signer = fixed_key("prediction", "maker")
        self.creator_key, self.creator_signer = fixed_key("prediction", "creator")
        self.maker_requests = Requests(
            "prediction", "KalshiRFQ", cl_ord_ids=ClOrdIDGenerator("dstq-", sequential=True)
        )
        self.creator_requests = Requests(
            "prediction", "KalshiRT", cl_ord_ids=ClOrdIDGenerator("dstc-", sequential=True)
        )
        self.maker_client: Any = None
        self.maker: Any = None
        self.creator: Any = None
        self.halted = False  # the maker's client halted by a kill step, until a rearm
        self.rfq_id: str | None = None  # the newest open RFQ the maker was shown
        self.our_quote: tuple[str, str] | None = None  # (QuoteID, RfqId) of the maker's newest
        self.accepted: list[tuple[str, str]] = []  # accepted quotes to confirm
        self.shown: tuple[str, str] | None = None  # the newest quote the creator was shown

    def quotes_halted(self) -> bool:
        """Whether the maker's quotes are refused now (for the frame check)."""
        return self.maker is not None and bool(self.maker.halted)

    # -- the sessions ---------------------------------------------------------------------------

    async def _ensure(self) -> None:
        """Open the creator and the maker if they are not (a refused Logon: they go on trying)."""
        api = self.api
        if self.creator is None:
            client = self.sim.client(
                self.creator_key,
                self.creator_signer,
                api=api.name,
                backoff=backoff(self.seed + 3),
            )
            self.creator = client.order_entry(
                True, on_event=self._creator_event, heartbeat_interval=self.heartbeat
            )
            await api.enter_softly(self.creator)
        if self.maker is None:
            self.maker_client = self.sim.client(
                self.maker_key,
                self.maker_signer,
                api=api.name,
                backoff=backoff(self.seed + 4),
                **self.account(),
            )
            # the session's own limits: a client's `risk_limits` cover its order-entry sessions
            self.maker = self.maker_client.rfq(
                on_event=self._maker_event,
                heartbeat_interval=self.heartbeat,
                risk_limits=RiskLimits(max_order_qty=Decimal(self.max_qty)),
            )
            if self.halted:  # the process's halt holds until a rearm
                await api.kill_all(self.maker_client)
            await api.enter_softly(self.maker)

    def _maker_event(self, event: Any) -> None:
        if not isinstance(event, ApplicationMessage):
            return
        message: Any = event.message
        msg_type = message.MSG_TYPE
        if msg_type == "R":  # an RFQ broadcast
            self.rfq_id = message.quote_req_id
        elif msg_type == "AG" and message.quote_req_id == self.rfq_id:  # the RFQ closed
            self.rfq_id = None
        elif msg_type == "AI" and str(getattr(message.quote_status, "value", "")) == "0":
            rfq_id = message.quote_req_id or (self.our_quote[1] if self.our_quote else "")
            self.accepted.append((message.quote_id, rfq_id))

    def _creator_event(self, event: Any) -> None:
        message: Any = event.message if isinstance(event, ApplicationMessage) else None
        if message is not None and message.MSG_TYPE == "S":
            self.shown = (message.quote_id, message.quote_req_id)

    # -- the steps ------------------------------------------------------------------------------

    async def rfq(self, qty: int) -> None:
        """The house asks for quotes of ``qty`` contracts."""
        await self._ensure()
        # the house's newer RFQ on the market replaces its older one (ReplaceExisting=Y)
        message = self.creator_requests.create_rfq(
            self.symbol, order_qty=qty, replace_existing=True
        )
        await self._send(self.creator, message)

    async def quote(self, bid_cents: int, no_cents: int) -> None:
        """The maker quotes the newest RFQ it was shown: YES bid and NO price, in cents."""
        await self._ensure()
        if self.rfq_id is None:
            return
        rfq_id = self.rfq_id
        message: Any = self.maker_requests.quote(
            rfq_id,
            self.symbol,
            bid_px=Decimal(bid_cents) * _CENT,
            offer_px=Decimal(no_cents) * _CENT,
        )
        if await self._send(self.maker, message):
            self.our_quote = (message.quote_id, rfq_id)

    async def accept(self, side: int) -> None:
        """The house accepts the newest quote it was shown (1 buys YES, 2 sells YES)."""
        await self._ensure()
        if self.shown is None:
            return
        quote_id, rfq_id = self.shown
        message = self.creator_requests.accept_quote(
            quote_id, "buy" if side == 1 else "sell", rfq_id=rfq_id
        )
        await self._send(self.creator, message)

    async def quote_cancel(self) -> None:
        """The maker withdraws its newest quote."""
        await self._ensure()
        if self.our_quote is None:
            return
        quote_id, rfq_id = self.our_quote
        await self._send(self.maker, self.maker_requests.cancel_quote(quote_id, rfq_id=rfq_id))

    async def kill(self) -> None:
        self.halted = True
        if self.maker_client is not None:
            await self.api.kill_all(self.maker_client)

    def rearm(self) -> None:
        self.halted = False
        if self.maker_client is not None:
            self.maker_client.rearm()

    async def react(self) -> None:
        """What the maker's program does between steps: confirm the quotes accepted."""
        maker = self.maker
        while self.accepted and maker is not None and maker.driver.logged_on():
            quote_id, rfq_id = self.accepted.pop(0)
            await self._send(maker, self.maker_requests.confirm_quote(quote_id, rfq_id=rfq_id))

    async def _send(self, session: Any, message: Any) -> bool:
        try:
            await self.api.send(session, message)
        except self.api.documented:  # refused (halted, a limit, not logged on): said, not sent
            return False
        return True

    # -- the process ----------------------------------------------------------------------------

    def process_sessions(self) -> list[Any]:
        """The sessions of the process (the maker's)."""
        return [] if self.maker is None else [self.maker]

    def forget(self) -> None:
        """The process died: the maker and what its program remembered are gone."""
        self.maker = self.maker_client = None
        self.rfq_id, self.our_quote = None, None
        self.accepted.clear()

"""What the drop-copy and RFQ tests of the exchange engine share: the RFQ market, RFQ messages,
fees, and the exchanges they start from (the ``ex`` fixture of `rfq_exchange`, the ``dc``
fixture of `drop_copy_exchange`).

Used by test_engine_dropcopy.py, test_engine_rfq.py and test_engine_rfq_rules.py; the helpers
every engine test uses live in engine_helpers.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING
from decimal import Decimal as D
from typing import Any

import engine_helpers
import pytest
from engine_helpers import BUY, SELL, T0, ers, of, one, with_seq

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import Exchange, Outbound

SYM = "KXRFQ-26JUN15-T50"
OTHER = "KXRFQ-26JUN15-T60"
DOLLARS = ("cnr", "dcd")  # sessions connected with UseDollars


def nos(cl: str, side: Any, qty: str | int, px: str, symbol: str = SYM, **kw: Any) -> Any:
    """`engine_helpers.nos` on the RFQ market."""
    return engine_helpers.nos(cl, side, qty, px, symbol, **kw)


def encode_all(out: Sequence[Outbound], dialect: Any = p) -> None:
    """`engine_helpers.encode_all`, the `DOLLARS` sessions in dollars."""
    engine_helpers.encode_all(out, dialect, DOLLARS)


def to(out: Sequence[Outbound], session: str) -> list[Any]:
    return [o.message for o in out if o.session_id == session]


def resend(begin: str | None, end: str | None = None, seq: int = 9, dialect: Any = p) -> Any:
    message = dialect.EventResendRequest(begin_exec_id=begin, end_exec_id=end)
    return message if begin is None else with_seq(message, seq, dialect)


def key(exec_id: str) -> tuple[int, int]:
    clock, event = exec_id.split(";")
    return int(clock), int(event)


def rfq_req(req_id: str, qty: str | int | None = 100, symbol: str = SYM, **entry: Any) -> Any:
    return p.QuoteRequest(
        quote_req_id=req_id,
        related_sym=(
            p.QuoteRequestRelatedSym(
                symbol=symbol, order_qty=None if qty is None else D(qty), **entry
            ),
        ),
    )


def quote(
    qid: str, rfq_id: str, yes: str | None = "0.75", no: str | None = "0.25", **kw: Any
) -> Any:
    kw.setdefault("symbol", SYM)
    return p.Quote(
        quote_id=qid,
        quote_req_id=rfq_id,
        bid_px=None if yes is None else D(yes),
        offer_px=None if no is None else D(no),
        **kw,
    )


def accept(qid: str, side: Any = BUY, qty: str | int | None = None, **kw: Any) -> Any:
    return p.AcceptQuote(quote_id=qid, side=side, order_qty=None if qty is None else D(qty), **kw)


def taker_fee(qty: D, px: D) -> D:
    return (D("0.07") * qty * px * (1 - px)).quantize(D("0.01"), rounding=ROUND_CEILING)


def maker_fee(qty: D, px: D) -> D:
    return (D("0.0175") * qty * px * (1 - px)).quantize(D("0.01"), rounding=ROUND_CEILING)


@pytest.fixture(name="ex")
def rfq_exchange() -> Exchange:
    """alice creates RFQs (rt), bob and carol make markets (mm, mm2) and trade on NR sessions."""
    ex = Exchange(seed=5)
    ex.seed_market(SYM, now=T0)
    ex.seed_market(OTHER, now=T0)
    ex.connect("rt", "alice", "KalshiRT", now=T0)
    ex.connect("mm", "bob", "KalshiRFQ", now=T0)
    ex.connect("mm2", "carol", "KalshiRFQ", now=T0)
    ex.connect("bnr", "bob", "KalshiNR", now=T0)
    ex.connect("cnr", "carol", "KalshiNR", use_dollars=True, now=T0)
    return ex


def open_rfq(ex: Exchange, req_id: str = "cr1", now: float = T0, **kw: Any) -> str:
    out = ex.handle("rt", rfq_req(req_id, **kw), now)
    encode_all(out)
    return str(one(of(out, p.QuoteRequestAck, "rt")).rfq_id)


def quoted(ex: Exchange, qid: str = "q1", session: str = "mm", **kw: Any) -> str:
    rfq_id = open_rfq(ex)
    out = ex.handle(session, quote(qid, rfq_id, **kw), T0 + 1)
    encode_all(out)
    assert one(of(out, p.QuoteStatusReport, session)).quote_status == p.QuoteStatus.PENDING
    return rfq_id


@pytest.fixture(name="dc")
def drop_copy_exchange() -> Exchange:
    """alice trades on a (KalshiNR) with a listener al; dc is her drop copy; bob trades on b."""
    ex = Exchange(seed=2)
    ex.seed_market(SYM, now=T0)
    ex.connect("a", "alice", "KalshiNR", now=T0)
    ex.connect("al", "alice", "KalshiNR", listener=True, now=T0)
    ex.connect("b", "bob", "KalshiNR", now=T0)
    ex.connect("dc", "alice", "KalshiDC", now=T0)
    ex.handle("a", nos("a1", SELL, 10, "0.60"), T0)  # New
    ex.handle("b", nos("b1", BUY, 4, "0.60"), T0 + 1)  # trade: b New, b Trade, a Trade
    ex.handle("a", nos("a2", BUY, 3, "0.30"), T0 + 2)  # New
    ex.handle("a", nos("bad", BUY, 3, "1.50"), T0 + 3)  # reject: not replayed
    ex.handle(
        "a", p.OrderCancelRequest(cl_ord_id="c1", orig_cl_ord_id="a2", side=BUY, symbol=SYM), T0 + 4
    )
    return ex


def alice_history(ex: Exchange, now: float = T0 + 5, begin: str = "1;1") -> list[Any]:
    """Alice's replayable reports from ``begin`` on, through a fresh drop-copy session."""
    ex.connect("probe", "alice", "KalshiDC", now=now)
    out = ex.handle("probe", resend(begin), now)
    ex.disconnect("probe", now)
    return ers(out, "probe")

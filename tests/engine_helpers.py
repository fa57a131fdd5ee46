"""What the exchange engine's tests share: orders to send, filters over what comes out, and
the exchange most of them start from (the ``ex`` fixture of `two_traders`).

Used by test_engine.py, test_engine_markets.py, test_engine_market_data.py and, through
rfq_helpers.py, the drop-copy and RFQ tests.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal as D
from typing import Any

import pytest

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import Exchange, Outbound
from kalshi_fix_sansio.trading.builders import Requests

UTC = timezone.utc
T0 = datetime(2026, 6, 15, 14, 0, tzinfo=UTC).timestamp()  # 10:00 am EDT
SYM = "KXTEST-26JUN15-T50"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
EXEC_ID = re.compile(r"^\d+;\d+$")
HEADER = Header(
    sender_comp_id="Kalshi",
    target_comp_id="client",
    msg_seq_num=1,
    sending_time=datetime(2026, 6, 15, 14, 0, tzinfo=UTC),
)
BUY, SELL = p.Side.BUY, p.Side.SELL


def nos(cl: str, side: Any, qty: str | int, px: str, symbol: str = SYM, **kw: Any) -> Any:
    kw.setdefault("ord_type", p.OrdType.LIMIT)
    return p.NewOrderSingle(
        cl_ord_id=cl, side=side, order_qty=D(qty), price=D(px), symbol=symbol, **kw
    )


# a replayed recording's markets beside `SYM`: one listed, one not listed before a message names it
OTHER = "KXTEST-26JUN15-T60"
NEW = "KXTEST-26JUN15-T70"


def replay_exchange(subscribers: tuple[str, ...]) -> Exchange:
    """An exchange of `SYM` and `OTHER` with an order-entry session ``"a"`` and the market-data
    ``subscribers`` (a name starting with ``wire`` takes its 35=X as bytes) of `SYM`, `OTHER`
    and `NEW`: what the replayed-row tests run two of, one each way."""
    ex = Exchange(product="prediction", seed=4)
    ex.list_markets([SYM, OTHER], T0)
    ex.connect("a", "carol", "KalshiNR", use_dollars=True, now=T0)
    for session in subscribers:
        wire = session.startswith("wire")
        ex.connect(session, "carol", "KalshiMD", use_dollars=True, wire=wire, now=T0)
        ex.handle(session, Requests("prediction", "KalshiMD").subscribe([SYM, OTHER, NEW]), T0)
    return ex


def random_gtd(rng: Any, cl: str, now: float) -> Any:
    """A GTD order of ``rng``'s side, size and price near the middle of `SYM`'s book, expiring
    1, 5 or 500 seconds after ``now``: a client order among recorded levels (some fill, some
    expire)."""
    side = rng.choice((p.Side.BUY, p.Side.SELL))
    px = f"0.{rng.randint(44, 56)}"
    expire = datetime.fromtimestamp(now + rng.choice((1, 5, 500)), timezone.utc)
    return nos(
        cl, side, rng.randint(1, 20), px, time_in_force=p.TimeInForce.GTD, expire_time=expire
    )


def cxl(cl: str, orig: str, side: Any, symbol: str = SYM, **kw: Any) -> Any:
    return p.OrderCancelRequest(cl_ord_id=cl, orig_cl_ord_id=orig, side=side, symbol=symbol, **kw)


def rpl(cl: str, orig: str, side: Any, qty: str | int, px: str | None = None, **kw: Any) -> Any:
    return p.OrderCancelReplaceRequest(
        cl_ord_id=cl,
        orig_cl_ord_id=orig,
        side=side,
        symbol=SYM,
        order_qty=D(qty),
        ord_type=p.OrdType.LIMIT,
        price=None if px is None else D(px),
        **kw,
    )


def group_req(action: int, gid: str | None = None, limit: int | None = None) -> Any:
    return p.OrderGroupRequest(
        order_group_action=p.OrderGroupAction(action),
        order_group_id=gid,
        order_group_contracts_limit=limit,
    )


def md_req(kind: str, *symbols: str) -> Any:
    related = tuple(p.MarketDataRequestRelatedSym(symbol=s) for s in symbols) or None
    return p.MarketDataRequest(
        subscription_request_type=p.SubscriptionRequestType(kind), related_sym=related
    )


def of(out: Sequence[Outbound], cls: type[Any], session: str | None = None) -> list[Any]:
    return [
        o.message
        for o in out
        if isinstance(o.message, cls) and (session is None or o.session_id == session)
    ]


def ers(out: Sequence[Outbound], session: str) -> list[Any]:
    return of(out, p.ExecutionReport, session)


def one(items: Sequence[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


def kinds(reports: Sequence[Any]) -> list[str]:
    return [r.exec_type.value for r in reports]


def encode_all(out: Sequence[Outbound], dialect: Any = p, dollars: Sequence[str] = ()) -> None:
    for o in out:
        frame = dialect.encode(o.message, HEADER, use_dollars=o.session_id in dollars)
        assert dialect.decode(frame).validate() is not None


def with_seq(message: Any, seq: int, dialect: Any = p) -> Any:
    """The message as the gateway hands it over: decoded from a frame with MsgSeqNum ``seq``."""
    return dialect.decode(dialect.encode(message, HEADER.replace(msg_seq_num=seq)))


def assert_session_reject(out: Sequence[Outbound], session: str, **expected: Any) -> None:
    """``out`` is exactly one Reject (35=3) to ``session`` with the expected fields; it encodes."""
    assert [(o.session_id, type(o.message)) for o in out] == [(session, p.Reject)]
    reject = out[0].message
    got = {name: getattr(reject, name) for name in expected}
    assert got == expected
    encode_all(out)


@pytest.fixture(name="ex")
def two_traders() -> Exchange:
    """Prediction exchange with an empty market, alice (session a) and bob (session b)."""
    ex = Exchange(seed=1)
    ex.seed_market(SYM, now=T0)
    ex.connect("a", "alice", "KalshiNR", now=T0)
    ex.connect("b", "bob", "KalshiNR", now=T0)
    return ex

"""Market data made as bytes (`Exchange.connect(..., wire=True)`, `EncodedMessage`) is the frame
the dialect's encoder makes of the message object a reading session gets, and a session sends
it with the same header, BodyLength and CheckSum (`Session.send_encoded`).

A reading session and an encoding one of the same account subscribe to the same markets; every
35=X the exchange sends them (recorded trades and levels of many prices and sizes, new,
changed and deleted levels, zero sizes, the subscriber's own orders resting, crossing and
cancelled) is compared byte for byte, in both products.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from decimal import Decimal as D
from typing import Any

import pytest
from engine_helpers import SYM, T0, cxl, nos

from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec import Header
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.events import ApplicationMessage
from kalshi_fix_sansio.simulator.gateway import EncodedMessage, Exchange, Outbound
from kalshi_fix_sansio.simulator.testing import SessionPair
from kalshi_fix_sansio.trading.builders import Requests

OTHER = "KXTEST-26JUN15-T60"


def body_of(frame: bytes) -> bytes:
    """The fields of a frame after its standard header (which ends with SendingTime)."""
    start = frame.index(b"\x01", frame.index(b"\x0152=") + 1) + 1
    return frame[start : frame.rindex(b"10=")]


def compare(out: list[Outbound], d: Any) -> int:
    """Each 35=X to the reading session ("md") and to the encoding one ("wire"), in order:
    the same bytes. Returns how many were compared."""
    read = [o.message for o in out if o.session_id == "md" and o.message.MSG_TYPE == "X"]
    wire = [o.message for o in out if o.session_id == "wire" and o.message.MSG_TYPE == "X"]
    assert len(read) == len(wire)
    for message, encoded in zip(read, wire, strict=True):
        assert isinstance(encoded, EncodedMessage)
        frame = d.encode(message, _header(), use_dollars=True)
        assert encoded.body == body_of(frame)
        # what a receiver that reads no bytes gets is the message again
        assert repr(encoded.message(d)) == repr(d.decode(frame, use_dollars=True))
    return len(read)


def _header() -> Any:
    when = datetime(2026, 6, 15, 14, 0, 1, 250000, tzinfo=timezone.utc)
    return Header(sender_comp_id="Kalshi", target_comp_id="x", msg_seq_num=7, sending_time=when)


def _exchange(product: str, subscribers: tuple[str, ...] = ("md", "wire")) -> Exchange:
    ex = Exchange(product=product, seed=4)
    ex.list_markets([SYM, OTHER], T0)
    ex.connect("a", "carol", "KalshiNR", use_dollars=True, now=T0)
    for session in subscribers:
        ex.connect(session, "carol", "KalshiMD", use_dollars=True, wire=session == "wire", now=T0)
        ex.handle(session, Requests(product, "KalshiMD").subscribe([SYM, OTHER]), T0)
    return ex


def _rows(rng: random.Random, n: int, product: str) -> list[tuple[Any, ...]]:
    """Recorded 35=X rows: trades and level changes of two markets, many prices and sizes
    (some written with more digits than the wire keeps), deletions."""
    rows = []
    prices = [D(f"0.{i:02d}") for i in range(30, 71)] + [D("0.5000"), D("0.45"), D("0.4512")]
    if product == "margin":
        prices += [D("12.3456"), D("0.0001"), D("99.99")]
    for _ in range(n):
        entries = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            name = rng.choice((SYM, OTHER))
            px = rng.choice(prices)
            size = rng.choice((D(rng.randint(1, 500)), D("0"), D("2.5"), D("7.125"), D("1E+1")))
            kind = rng.choice(("0", "1", "2", "0", "1"))
            if kind == "2":
                tid = f"t-{rng.getrandbits(32):x}"
                entries.append(("2", name, px, size or D(1), "0", rng.choice(("1", "2")), tid))
            else:
                action = rng.choice(("0", "1", "2"))
                entries.append((kind, name, px, size, action, None, None))
        rows.append(("X", None, None, None, tuple(entries)))
    return rows


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_recorded_market_data_as_bytes_is_the_encoders_frame(product: str) -> None:
    d = p if product == "prediction" else m
    ex = _exchange(product)
    rng = random.Random(11)
    compared = 0
    for i, row in enumerate(_rows(rng, 400, product)):
        compared += compare(ex.replay_row(*row, now=T0 + 1 + i * 0.0015), d)
    assert compared > 300


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_with_encoding_subscribers_alone_each_35_x_is_the_encoders_frame(product: str) -> None:
    """No session that reads messages subscribes (a backtest's market data: a recorded level's
    change is made as bytes in one step): each 35=X is the frame of the message a reading
    session of an exchange in the same state gets."""
    d = p if product == "prediction" else m
    wire, read = _exchange(product, ("wire",)), _exchange(product, ("md",))
    compared = 0
    for i, row in enumerate(_rows(random.Random(13), 400, product)):
        now = T0 + 1 + i * 0.0015
        encoded = [o.message for o in wire.replay_row(*row, now=now)]
        messages = [o.message for o in read.replay_row(*row, now=now)]
        assert len(encoded) == len(messages)
        for data, message in zip(encoded, messages, strict=True):
            assert isinstance(data, EncodedMessage)
            assert data.body == body_of(d.encode(message, _header(), use_dollars=True))
            compared += 1
    assert compared > 300


def test_the_subscribers_own_orders_are_in_the_bytes_as_in_the_message() -> None:
    ex = _exchange("prediction")
    compared = compare(
        ex.replay_row(
            "X",
            None,
            None,
            None,
            (
                ("0", SYM, D("0.40"), D(10), "0", None, None),
                ("1", SYM, D("0.60"), D(10), "0", None, None),
            ),
            now=T0 + 1,
        ),
        p,
    )
    buy, sell = p.Side.BUY, p.Side.SELL
    steps = [
        nos("o1", buy, 5, "0.40"),  # joins a recorded level: ClOrdID and AllocAccount
        nos("o2", buy, 3, "0.45"),  # a new level of its own
        nos("o3", sell, 4, "0.45"),  # crosses its own order
        nos("o4", sell, 2, "0.55", alloc_account=3),
        cxl("o5", "o1", buy),
        nos("o6", buy, 20, "0.60"),  # takes the recorded offer
    ]
    for i, step in enumerate(steps):
        compared += compare(ex.handle("a", step, T0 + 2 + i), p)
    rows = _rows(random.Random(5), 60, "prediction")
    for i, row in enumerate(rows):
        compared += compare(ex.replay_row(*row, now=T0 + 10 + i), p)
    assert compared > 40


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_a_session_heads_an_encoded_body_as_it_heads_a_message(product: str) -> None:
    """Two acceptor sessions in the same state: one sends the message, the other its body
    (`Session.send_encoded`); the same frames, the same numbers, and the client reads it."""
    d = p if product == "prediction" else m
    ex = _exchange(product)
    row = (
        ("2", SYM, D("0.45"), D(3), "0", "1", "t-1"),
        ("1", SYM, D("0.47"), D(9), "0", None, None),
    )
    out = ex.replay_row("X", None, None, None, row, now=T0 + 1)
    message = next(o.message for o in out if o.session_id == "md")
    encoded = next(o.message for o in out if o.session_id == "wire")
    assert isinstance(encoded, EncodedMessage)
    frames = []
    for how in ("message", "body"):
        pair = SessionPair.kalshi(product, "KalshiMD", now=T0)
        pair.start()
        server = pair.server.session
        for i in range(3):
            now = T0 + 1.25 + i
            if how == "message":
                seq = server.send(message, now)
            else:
                seq = server.send_encoded("X", encoded.body, now)
            assert seq == 2 + i
        frames.append(server.data_to_send())
        client = pair.client.session
        client.receive_data(frames[-1], T0 + 3.5)
        got = [e.message for e in client.events() if isinstance(e, ApplicationMessage)]
        assert [repr(g.md_entries) for g in got] == [repr(message.md_entries)] * 3
    assert frames[0] == frames[1]
    assert frames[0].count(b"\x0135=X\x01") == 3 and d.decode(frames[0][: len(frames[0]) // 3])


def test_send_encoded_refuses_what_it_cannot_send() -> None:
    pair = SessionPair.kalshi("prediction", "KalshiMD", now=T0)
    server, client = pair.server.session, pair.client.session
    with pytest.raises(LocalProtocolError, match="state"):
        server.send_encoded("X", b"268=0\x01", T0)  # not logged on yet
    pair.start()
    with pytest.raises(LocalProtocolError, match="acceptor"):
        client.send_encoded("V", b"262=1\x01", T0)
    for msg_type in ("0", "ZZ"):  # a Heartbeat is the session's; no such message
        with pytest.raises(LocalProtocolError, match="application MsgType"):
            server.send_encoded(msg_type, b"", T0)
    with pytest.raises(LocalProtocolError, match="max_message_size"):
        big = b"x" * server.config.max_message_size
        server.send_encoded("X", b"58=" + big + b"\x01", T0)
    assert server.data_to_send() == b""  # nothing numbered or queued
    assert server.send_encoded("X", b"268=0\x01", T0) == 2


def test_the_entries_times_are_the_messages_at_every_kind_of_instant() -> None:
    """MDEntryDate / MDEntryTime written from the time itself: at half milliseconds, the
    ends of a second and of a day, and times float sums leave a hair off a millisecond."""
    ex = _exchange("prediction")
    rng = random.Random(3)
    day = 86_400 * (int(T0) // 86_400 + 1)  # the midnight after T0
    times = [T0 + 0.0005, T0 + 0.9995, T0 + 1.0004999, day - 0.0005, day - 1e-7, day, day + 1e-6]
    times += [day + 2 + i * 0.1 + rng.random() / 1000 for i in range(200)]
    # halves of a microsecond (rounded half to even, as `timedelta` does) and a carry into
    # the next second; in time order and out of it (the second's text is kept)
    times += [T0 + 5e-7, T0 + 1.5e-6, T0 + 0.0015005, T0 + 0.9999995, day - 5e-7, T0 + 3.4995]
    times += [day + 30 + (rng.randrange(10**6) + 0.5) / 1e6 for _ in range(100)]
    compared = 0
    for i, now in enumerate(times):
        entries = (("0", SYM, D("0.40"), D(10 + i), "1", None, None),)
        compared += compare(ex.replay_row("X", None, None, None, entries, now=now), p)
    assert compared == len(times)

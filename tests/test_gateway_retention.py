"""The real mock gateway over TLS forgets finished orders within its bounds, answers cancels
of finished orders as Kalshi does, and keeps a bounded resend store per KalshiRT session; a
connection's store (the gateway's internal `KeyedStore`) follows the store its Logon picked."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest

from kalshi_fix_sansio import ApplicationMessage
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import MockGateway
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.trading.builders import Requests

SYM = "KXBOUND-26NOV20-A"
SIGNER, PUBLIC = new_ed25519_keys()


@pytest.fixture(name="gw")
def bounded_gateway() -> Iterator[MockGateway]:
    with MockGateway(
        "prediction",
        keys={"key-1": PUBLIC},
        tls=True,
        finished_orders=4,
        drop_copy_reports=6,
        resend_messages=8,
    ) as gw:
        gw.seed_market(SYM)
        yield gw


def is_reject(event: Any) -> bool:
    return isinstance(event, ApplicationMessage) and event.message.MSG_TYPE == "9"


def test_the_gateway_forgets_finished_orders_and_still_answers_their_cancels(
    gw: MockGateway,
) -> None:
    requests = Requests("prediction", "KalshiNR")
    with gw.client("key-1", SIGNER).order_entry() as session:
        for n in range(12):  # twelve orders placed and cancelled
            order = session.place(requests.new_order(SYM, "1", D(1), D("0.40"), cl_ord_id=f"o{n}"))
            session.cancel(order)
        gw.seed_market(SYM, asks=[(D("0.45"), D(5))])
        filled = session.place(
            requests.new_order(SYM, "1", D(1), D("0.45"), cl_ord_id="filled"), until="filled"
        )
        sizes = gw.call(gw.exchange.sizes)
        assert (sizes["open_orders"], sizes["orders_by_clordid"]) == (1, 1)  # the house offer
        assert sizes["finished_orders"] == 4
        assert sizes["drop_copy_reports"] <= 6

        def cancel_of(cl: str, new: str) -> Any:
            request = p.OrderCancelRequest(
                cl_ord_id=new, orig_cl_ord_id=cl, side=p.Side.BUY, symbol=SYM
            )
            return session.wait_for(is_reject, timeout=10, send=request).message

        too_late = cancel_of("filled", "x1")
        assert (too_late.order_id, too_late.ord_status, too_late.cxl_rej_reason) == (
            filled.order_id,
            p.OrdStatus.FILLED,
            0,
        )
        remembered = cancel_of("o11", "x2")  # cancelled, still remembered: its OrderID
        assert (remembered.ord_status, remembered.text) == (p.OrdStatus.CANCELED, "NOT_FOUND")
        assert remembered.order_id != "NONE"
        forgotten = cancel_of("o0", "x3")  # long forgotten: unknown
        assert (forgotten.order_id, forgotten.ord_status, forgotten.text) == (
            "NONE",
            p.OrdStatus.REJECTED,
            "NOT_FOUND",
        )


def test_a_kalshirt_session_resends_at_most_its_bound(gw: MockGateway) -> None:
    requests = Requests("prediction", "KalshiRT")
    client = gw.client("key-1", SIGNER)
    with client.order_entry(retransmission=True) as session:
        for n in range(12):  # twelve resting buys: twelve New reports stored
            session.place(requests.new_order(SYM, "1", D(1), D("0.40"), cl_ord_id=f"r{n}"))
    gw.seed_market(SYM, asks=[(D("0.40"), D(12))])  # fills them while the client is away
    with client.order_entry(retransmission=True) as session:
        # the gap is filled (what is stored resent, the rest a gap fill) before the answer to
        # an order sent after the Logon: once it is acknowledged, every resent report is queued
        session.place(requests.new_order(SYM, "1", D(1), D("0.30"), cl_ord_id="after"))
        fills = []
        while (event := session.next_event(timeout=0)) is not None:
            message = getattr(event, "message", None)
            if message is not None and message.MSG_TYPE == "8" and message.exec_type == "F":
                fills.append(message.cl_ord_id)
    # 24 reports were stored; the session keeps the newest 8 (to 9): the first fills are gone
    assert 8 <= len(fills) <= 9, fills
    assert fills == [f"r{n}" for n in range(12 - len(fills), 12)]


def test_mock_gateway_options_set_the_bounds_and_state_the_defaults(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import kalshi_fix_sansio.simulator.gateway as gateway_package
    from kalshi_fix_sansio.cli import main as kalshi_fix
    from kalshi_fix_sansio.simulator.gateway import exchange, server

    assert kalshi_fix(["mock-gateway", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default {exchange.DROP_COPY_WINDOW_SECONDS:g}: Kalshi's 3 hours)" in text
    for constant in (exchange.DROP_COPY_MAX_REPORTS, exchange.FINISHED_ORDERS_KEPT):
        assert f"(default {constant:,})" in text
    assert f"ResendRequest (default {server.RESEND_MAX_MESSAGES:,})" in text

    made: list[dict[str, Any]] = []
    real = gateway_package.MockGateway

    def recording(*args: Any, **kwargs: Any) -> MockGateway:
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(gateway_package, "MockGateway", recording)  # what the CLI makes
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # the admin console: no commands
    options = ["--drop-copy-window", "60", "--drop-copy-reports", "7", "--finished-orders", "8"]
    status = kalshi_fix(
        [
            "mock-gateway",
            "--plain",
            "--port-base",
            "0",
            "--seconds",
            "0",
            *options,
            "--resend-messages",
            "9",
        ]
    )
    assert status == 0, capsys.readouterr().err
    bounds = ("drop_copy_window", "drop_copy_reports", "finished_orders", "resend_messages")
    assert [made[0][name] for name in bounds] == [60.0, 7, 8, 9]
    for option, value, said in (
        ("--finished-orders", "0", "'0' is not a whole number >= 1"),
        ("--drop-copy-window", "-1", "'-1' is not a number of seconds > 0"),
    ):
        assert kalshi_fix(["mock-gateway", option, value]) == 2
        assert said in capsys.readouterr().err


def test_a_connections_store_is_the_one_its_logon_picked_from_then_on() -> None:
    """A connection's store (`KeyedStore`) keeps the methods of the store in use once looked
    up; the Logon's pick (another store) is asked from then on, the first one no more."""
    from kalshi_fix_sansio.session.store import MemoryStore
    from kalshi_fix_sansio.simulator.gateway.connection import KeyedStore

    keyed = KeyedStore()
    first = keyed.target
    keyed.set_next_sender_seq(5)
    assert keyed.next_sender_seq() == 5 == first.next_sender_seq()
    picked = MemoryStore()
    picked.set_next_sender_seq(40)
    keyed.target = picked
    assert keyed.target is picked
    assert keyed.next_sender_seq() == 40
    keyed.set_next_sender_seq(41)
    assert picked.next_sender_seq() == 41 and first.next_sender_seq() == 5

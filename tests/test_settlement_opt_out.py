"""ReceiveSettlementReports(20127) on the Logon: KalshiPT sends settlement reports unless the
Logon says 20127=N, so ``receive_settlement_reports=False`` must send N there; elsewhere N is
Kalshi's default and the flag is left out. The mock gateway follows the Logon's flag."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_fix_sansio import ApplicationMessage
from kalshi_fix_sansio.simulator.gateway import mock_api_key
from kalshi_fix_sansio.simulator.testing import SessionPair
from kalshi_fix_sansio.simulator.world.simulation import Simulation
from kalshi_fix_sansio.trading.builders import Requests

SYMBOL = "HIGHNY-23DEC31"
KEY_ID, SIGNER, PUBLIC_KEY = mock_api_key("prediction")


def logon_field(session_type: str, flag: bool | None) -> bytes | None:
    pair = SessionPair.kalshi("prediction", session_type, receive_settlement_reports=flag)
    pair.client.session.start(pair.now)
    logon = pair.client.session.data_to_send()
    assert b"\x0135=A\x01" in logon
    for field in logon.split(b"\x01"):
        if field.startswith(b"20127="):
            return field[6:]
    return None


@pytest.mark.parametrize(
    ("session_type", "flag", "sent"),
    [
        ("KalshiPT", False, b"N"),  # Kalshi's default there is Y: turning it off takes N
        ("KalshiPT", True, b"Y"),
        ("KalshiPT", None, None),
        ("KalshiRT", False, None),  # N is the default: left out
        ("KalshiRT", True, b"Y"),
        ("KalshiNR", False, None),
    ],
)
def test_the_logon_carries_20127(session_type: str, flag: bool | None, sent: bytes | None) -> None:
    assert logon_field(session_type, flag) == sent


@pytest.mark.parametrize(("flag", "reports"), [(None, 1), (True, 1), (False, 0)])
def test_kalshi_pt_receives_settlement_reports_unless_turned_off(
    flag: bool | None, reports: int
) -> None:
    sim = Simulation("prediction", keys={KEY_ID: PUBLIC_KEY})
    sim.gateway.seed_market(SYMBOL, asks=[(Decimal("0.45"), Decimal(30))])
    client = sim.client(KEY_ID, SIGNER)
    flags = {} if flag is None else {"receive_settlement_reports": flag}
    with client.order_entry() as oe:  # one connection per API key: trade, then log out
        oe.place(Requests("prediction", "KalshiNR").new_order(SYMBOL, "buy", 2, Decimal("0.45")))
    with client.post_trade(**flags) as pt:
        sim.gateway.settle(SYMBOL, "yes")
        sim.run_for(5)
        got = []
        while (event := pt.next_event(timeout=0)) is not None:
            if isinstance(event, ApplicationMessage) and event.message.MSG_TYPE == "UMS":
                got.append(event)
    assert len(got) == reports

"""Realistic sample messages of both dialects (shipped frames, tests and benchmarks).

``python -m kalshi_fix_sansio.simulator.testing.samples`` rewrites the shipped ``prediction.fix`` and
``margin.fix`` beside this module (one frame per line, ``|`` for SOH; ``kalshi-fix decode
--sample`` prints them); a test checks they match `sample_text`.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

from ....codec import Header, Message
from ....codec import margin as m
from ....codec import prediction as p

__all__ = [
    "KEY",
    "ORDER_ID",
    "T0",
    "frames",
    "header",
    "main",
    "margin_messages",
    "prediction_messages",
    "sample_text",
]

T0 = datetime(2026, 11, 20, 14, 30, 0, 125000, tzinfo=timezone.utc)
"""The SendingTime (and TransactTime) of every sample message."""
KEY = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
"""The API key (SenderCompID to Kalshi, TargetCompID from it) of the samples."""
ORDER_ID = "0b9e8f7a-6d5c-4b3a-8291-0f1e2d3c4b5a"
"""The OrderID of the samples' execution reports."""


def header(seq: int, inbound: bool, target: str = "KalshiNR") -> Header:
    """A header from Kalshi (inbound) or to Kalshi (outbound)."""
    if inbound:
        return Header(sender_comp_id="Kalshi", target_comp_id=KEY, msg_seq_num=seq, sending_time=T0)
    return Header(sender_comp_id=KEY, target_comp_id=target, msg_seq_num=seq, sending_time=T0)


def prediction_messages() -> list[tuple[Message, bool]]:
    """(message, inbound) pairs covering the common prediction flows."""
    nos = p.NewOrderSingle(
        cl_ord_id="550e8400-e29b-41d4-a716-446655440000",
        side=p.Side.BUY,
        order_qty=Decimal("10"),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.75"),
        symbol="HIGHNY-23DEC31",
        time_in_force=p.TimeInForce.GTC,
    )
    er = p.ExecutionReport(
        cl_ord_id="550e8400-e29b-41d4-a716-446655440000",
        order_id=ORDER_ID,
        exec_id="4;7",
        exec_type=p.ExecType.TRADE,
        ord_status=p.OrdStatus.PARTIALLY_FILLED,
        side=p.Side.BUY,
        symbol="HIGHNY-23DEC31",
        order_qty=Decimal("10.00"),
        cum_qty=Decimal("4.00"),
        leaves_qty=Decimal("6.00"),
        avg_px=Decimal("0.74"),
        last_px=Decimal("0.74"),
        last_qty=Decimal("4.00"),
        price=Decimal("0.75"),
        transact_time=T0,
        trd_match_id="a1b2c3d4",
        aggressor_indicator=True,
        long_qty=Decimal("4.00"),
        short_qty=Decimal("0.00"),
        clearing_business_date=date(2026, 11, 20),
        misc_fees=[
            p.MiscFee(
                misc_fee_amt=Decimal("0.07"),
                misc_fee_curr="USD",
                misc_fee_type=p.MiscFeeType.EXCHANGE_FEES,
                misc_fee_basis=p.MiscFeeBasis.ABSOLUTE,
            )
        ],
        collateral_amount_changes=[
            p.CollateralAmountChange(
                collateral_amount_change=Decimal("-3.03"),
                collateral_amount_type=p.CollateralAmountType.BALANCE,
            )
        ],
    )
    incremental = p.MarketDataIncrementalRefresh(
        md_entries=[
            p.MarketDataIncrementalRefreshMDEntry(
                md_update_action=p.MDUpdateAction.CHANGE if i % 3 else p.MDUpdateAction.NEW,
                md_entry_type=p.MDEntryType.BID if i % 2 else p.MDEntryType.OFFER,
                symbol="HIGHNY-23DEC31",
                md_entry_px=Decimal("0.30") + Decimal(i) / 100,
                md_entry_size=Decimal("25.00") + i,
                md_entry_date=T0.date(),
                md_entry_time=T0.timetz(),
            )
            for i in range(10)
        ],
    )
    snapshot = p.MarketDataSnapshotFullRefresh(
        symbol="HIGHNY-23DEC31",
        md_entries=[
            p.MarketDataSnapshotFullRefreshMDEntry(
                md_entry_type=p.MDEntryType.BID if i < 10 else p.MDEntryType.OFFER,
                md_entry_px=(
                    Decimal("0.35") - Decimal(i) / 100
                    if i < 10
                    else Decimal("0.36") + Decimal(i - 10) / 100
                ),
                md_entry_size=Decimal("100.00") + i,
                md_entry_date=T0.date(),
                md_entry_time=T0.timetz(),
            )
            for i in range(20)
        ],
    )
    return [
        (p.Heartbeat(), True),
        (nos, False),
        (er, True),
        (incremental, True),
        (snapshot, True),
    ]


def margin_messages() -> list[tuple[Message, bool]]:
    """(message, inbound) pairs covering the common margin flows."""
    nos = m.NewOrderSingle(
        cl_ord_id="550e8400-e29b-41d4-a716-446655440000",
        side=m.Side.BUY,
        order_qty=Decimal("10"),
        ord_type=m.OrdType.LIMIT,
        price=Decimal("19.5000"),
        symbol="BTC-PERP",
        time_in_force=m.TimeInForce.GTC,
    )
    er = m.ExecutionReport(
        cl_ord_id="550e8400-e29b-41d4-a716-446655440000",
        order_id=ORDER_ID,
        exec_id="7;3",
        exec_type=m.ExecType.NEW,
        ord_status=m.OrdStatus.NEW,
        side=m.Side.BUY,
        symbol="BTC-PERP",
        order_qty=Decimal("10"),
        cum_qty=Decimal("0"),
        leaves_qty=Decimal("10"),
        avg_px=Decimal("0"),
        price=Decimal("19.5000"),
        transact_time=T0,
    )
    return [(m.Heartbeat(), True), (nos, False), (er, True)]


def frames(product: str) -> list[bytes]:
    """The encoded sample frames of one product."""
    dialect = p if product == "prediction" else m
    msgs = prediction_messages() if product == "prediction" else margin_messages()
    return [
        dialect.encode(msg, header(seq, inbound))
        for seq, (msg, inbound) in enumerate(msgs, start=1)
    ]


def sample_text(product: str) -> str:
    """The shipped sample file's text: one frame per line, ``|`` for SOH."""
    return "".join(f.replace(b"\x01", b"|").decode() + "\n" for f in frames(product))


def main() -> int:
    """Rewrite the shipped sample files (``python -m kalshi_fix_sansio.simulator.testing.samples``).

    Returns:
        The exit status (0).
    """
    out = Path(__file__).parent
    for product in ("prediction", "margin"):
        (out / f"{product}.fix").write_text(sample_text(product), encoding="utf-8")
    return 0

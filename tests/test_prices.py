"""One price format per product: `kalshi_fix_sansio.trading.prices`, and the four tools that print prices
(`kalshi-fix demo`, `decode`, `replay`, `md`) printing the same price the same way.

The cross-tool test takes the demo's own transcript (``--show-fix``): the prices it prints, and
the FIX frames it exchanged, which are then given to ``decode`` and ``replay``; ``md`` streams the
same book from a mock gateway seeded as the demo seeds it. Each tool must show the best bid and
the resting order's limit price as the demo does: ``$0.40`` / ``$0.42`` on prediction (to the
cent), ``$97400.0000`` / ``$97500.0000`` on margin (to $0.0001).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kalshi_fix_sansio import margin as m
from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.cli.demo import run_demo
from kalshi_fix_sansio.codec.ranges import VALUE_RULES
from kalshi_fix_sansio.session.auth import Ed25519Signer
from kalshi_fix_sansio.simulator.gateway.server import MockGateway
from kalshi_fix_sansio.simulator.gateway.tls import self_signed, server_context
from kalshi_fix_sansio.trading.book import Books
from kalshi_fix_sansio.trading.prices import (
    PRICE_TAGS,
    PRICE_TICK,
    QUANTITY_STEP,
    QUANTITY_TAGS,
    format_amount,
    format_dollars,
    format_price,
    format_quantity,
    format_top,
)

D = Decimal

# what the demo seeds and rests (src/kalshi_fix_sansio/cli/demo.py), as each product shows it
SYMBOL = {"prediction": "HIGHNY-23DEC31", "margin": "BTC-PERP"}
BOOK = {"prediction": (D("0.40"), D("0.45")), "margin": (D("97400"), D("97600"))}
SHOWN = {
    "prediction": {"bid": "$0.40", "ask": "$0.45", "rest": "$0.42"},
    "margin": {"bid": "$97400.0000", "ask": "$97600.0000", "rest": "$97500.0000"},
}


# -- the function ------------------------------------------------------------------------------


def test_ticks_come_from_the_spec() -> None:
    assert PRICE_TICK == {"prediction": D("0.01"), "margin": D("0.0001")}
    ticks = {
        (r.products, r.when): D(r.tick)
        for r in VALUE_RULES
        if r.field == "Price" and r.check == "tick" and r.tick
    }
    assert ticks[(("prediction",), "cents")] == PRICE_TICK["prediction"]
    assert ticks[(("margin",), None)] == PRICE_TICK["margin"]
    assert {6, 31, 44, 270} <= PRICE_TAGS and 38 not in PRICE_TAGS


@pytest.mark.parametrize(
    ("value", "product", "shown"),
    [
        ("0.4", "prediction", "$0.40"),
        ("0.40", "prediction", "$0.40"),
        ("0.4000", "prediction", "$0.40"),  # UseDollars on the wire, on the cent
        ("0.4250", "prediction", "$0.425"),  # subpenny: its digits, never rounded
        ("0.306", "prediction", "$0.306"),
        ("0", "prediction", "$0.00"),
        ("19.6", "margin", "$19.6000"),
        ("19.60000", "margin", "$19.6000"),
        ("19.61235", "margin", "$19.61235"),
        ("1000", "margin", "$1000.0000"),
        ("0.42333333333333333333333333333", "prediction", "$0.42333333333333333333333333333"),
    ],
)
def test_format_price(value: str, product: str, shown: str) -> None:
    assert format_price(D(value), product) == shown


def test_format_dollars_edges() -> None:
    cent = D("0.01")
    assert format_dollars(D("-0.02"), cent) == "-$0.02"
    assert format_dollars(D("-0"), cent) == "$0.00"
    assert format_dollars(3, cent) == "$3.00"
    assert format_dollars(D("1E-9"), cent) == "$0.000000001"  # no exponent
    assert format_dollars(D("1E+40"), cent) == "$" + "1" + "0" * 40  # beyond the context: whole
    assert format_dollars(D("NaN"), cent) == "NaN"
    with pytest.raises(KeyError):
        format_price(D("0.4"), "perps")


def test_quantity_steps_come_from_the_spec() -> None:
    assert QUANTITY_STEP == {"prediction": D("0.01"), "margin": D("1")}
    steps = {
        r.products: D(r.tick)
        for r in VALUE_RULES
        if r.field == "OrderQty" and r.check == "tick" and any(m == "D" for _, m, _ in r.paths)
    }
    assert steps == {("prediction",): D("0.01"), ("margin",): D("1")}
    assert {14, 32, 38, 151, 271} <= QUANTITY_TAGS and not QUANTITY_TAGS & PRICE_TAGS


@pytest.mark.parametrize(
    ("value", "product", "shown"),
    [
        ("25.00", "prediction", "25"),  # a report's scale-2 quantity: whole contracts
        ("25", "prediction", "25"),
        ("1E+2", "prediction", "100"),  # no exponent
        ("2.5", "prediction", "2.50"),  # a fraction: to the hundredth of a contract
        ("2.50", "prediction", "2.50"),
        ("0.125", "prediction", "0.125"),  # finer than the step: every digit, never rounded
        ("-10", "prediction", "-10"),  # a short position
        ("-2.5", "prediction", "-2.50"),
        ("-0", "prediction", "0"),
        ("0.00", "margin", "0"),
        ("30", "margin", "30"),
        ("NaN", "margin", "NaN"),
    ],
)
def test_format_quantity(value: str, product: str, shown: str) -> None:
    assert format_quantity(D(value), product) == shown


def test_format_amount_and_top() -> None:
    assert [format_amount(D(v)) for v in ("0.02", "-1.5", "0.0125", "0")] == [
        "$0.02",
        "-$1.50",
        "$0.0125",
        "$0.00",
    ]
    with pytest.raises(KeyError):
        format_quantity(D(1), "perps")
    entry = m.MarketDataSnapshotFullRefreshMDEntry
    books = Books()
    books.apply(
        m.MarketDataSnapshotFullRefresh(
            symbol="BTC-PERP",
            md_entries=[
                entry(md_entry_type=m.MDEntryType.BID, md_entry_px=D("19.4"), md_entry_size=D(25)),
                entry(
                    md_entry_type=m.MDEntryType.OFFER,
                    md_entry_px=D("19.60"),
                    md_entry_size=D("30.00"),
                ),
            ],
        )
    )
    assert format_top(books["BTC-PERP"], "margin") == (
        "BTC-PERP: bid 25 @ $19.4000 | ask 30 @ $19.6000"
    )
    books.apply(m.MarketDataSnapshotFullRefresh(symbol="BTC-PERP", md_entries=[]))
    assert format_top(books["BTC-PERP"], "margin") == "BTC-PERP: bid - | ask -"


# -- the four tools ----------------------------------------------------------------------------


def _run(argv: list[str]) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code == 0, err.getvalue()
    return out.getvalue()


def _md(product: str, tmp_path: Path) -> str:
    """``kalshi-fix md`` against a mock gateway seeded with the demo's book."""
    private = ed25519.Ed25519PrivateKey.generate()
    key_file = tmp_path / "kalshi-fix.key"
    key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert, key = self_signed(tmp_path)
    gw = MockGateway(
        product,
        keys={"cli-key": Ed25519Signer(private).public_key()},
        ssl_context=server_context(cert, key),
    )
    gw.start_in_thread()
    try:
        bid, ask = BOOK[product]
        gw.seed_market(SYMBOL[product], bids=[(bid, D(25))], asks=[(ask, D(30))])
        prefix = "KALSHI_PERPS_" if product == "margin" else "KALSHI_"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
        env.update({f"{prefix}KEY_ID": "cli-key", f"{prefix}PRIVATE_KEY_PATH": str(key_file)})
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "kalshi_fix_sansio.cli",
                "md",
                "--product",
                product,
                "--endpoint",
                f"127.0.0.1:{gw.ports['KalshiMD']}",
                "--pinned-cert",
                str(cert),
                "--seconds",
                "1",
                SYMBOL[product],
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        gw.close()
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_demo_decode_replay_and_md_print_a_price_the_same_way(product: str, tmp_path: Path) -> None:
    symbol, want = SYMBOL[product], SHOWN[product]
    transcript = io.StringIO()
    assert run_demo(product, transcript, show_fix=True) == 0
    story = transcript.getvalue()

    # demo: the top of book and the resting order
    top = re.search(r"top of book: bid 25 @ (\S+)  \|  ask 30 @ (\S+)", story)
    rest = re.search(r"trader buys 10 at (\S+),", story)
    assert top and rest, story
    demo = {"bid": top[1], "ask": top[2], "rest": rest[1]}

    # the frames the demo's trader exchanged (Logons aside: their signature is redacted)
    frames = [
        m[1]
        for m in re.finditer(r"FIX trader-key [<>]{2} Kalshi\w+  (8=FIXT\S+)", story)
        if "|35=A|" not in m[1]
    ]
    log = tmp_path / "demo.fix"
    log.write_text("\n".join(frames) + "\n", encoding="utf-8")

    # decode: the snapshot's MDEntryPx of each side, the order's Price
    table = _run(["decode", "--dialect", product, str(log)])
    snapshot = table.split("MarketDataSnapshotFullRefresh (35=W)", 1)[1].split("\n#", 1)[0]
    levels = re.findall(r"270  MDEntryPx +(\S+)", snapshot)
    order = table.split("NewOrderSingle (35=D)", 1)[1].split("\n#", 1)[0]
    price = re.search(r"  44  Price +(\S+)", order)
    assert len(levels) == 2 and price, table
    decoded = {"bid": levels[0], "ask": levels[1], "rest": price[1]}

    # replay: the book as it stood before the fill, and the order rest-1
    at = _run(["replay", "--dialect", product, "--depth", "1", str(log)])
    orders = re.search(rf"^  rest-1 +{symbol} +buy +\w+ +(\S+) ", at, re.M)
    assert orders, at
    step = _run(["replay", "--dialect", product, "--step", "--depth", "1", str(log)])
    book = re.search(rf"^    book {symbol}: bids 25@(\S+) \| asks 30@(\S+)$", step, re.M)
    assert book, step
    replayed = {"bid": book[1], "ask": book[2], "rest": orders[1]}

    # md: the top of book
    streamed = _md(product, tmp_path)
    line = re.search(rf"^{symbol}: bid 25 @ (\S+) \| ask 30 @ (\S+)$", streamed, re.M)
    assert line, streamed
    md = {"bid": line[1], "ask": line[2]}

    assert demo == decoded == replayed == want
    assert md == {"bid": want["bid"], "ask": want["ask"]}

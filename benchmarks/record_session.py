"""Record the frames a mock-gateway trading session exchanges, through a message log.

    .venv/bin/python benchmarks/record_session.py [--out benchmarks/corpora/mock_session.log]

`bench_corpora.py` reads the log this writes (committed under ``benchmarks/corpora/``, so the
benchmark does not record each time; run this again to refresh it). An in-process
`MockGateway` (TLS on loopback) lists two markets with five levels a side; two blocking
clients log on, each with its own API key. The trader's clients (one API key for
its KalshiMD session, one for its KalshiNR session: the gateway, as Kalshi, takes one
connection per key) write FIX message logs (`FixClient(message_log_path=...)`, what a user
turns on), merged in time order into one file: the KalshiMD session subscribes to both markets
(snapshots, then incremental refreshes and trades), and on the KalshiNR session the trader,
round after round: places a resting GTC buy, amends it (OrderCancelReplaceRequest)
or cancels it, sells into the other client's resting bid (a fill, the other client's order
partly or wholly filled), buys against the seeded asks with IOC (fills, the rest cancelled),
and sends an order for an unknown market (rejected). The other client (unlogged) rests the
bids the trader sells into. The log holds both directions of both sessions, Logon and Logout
included (RawData redacted, as every message log).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import uuid
from decimal import Decimal
from pathlib import Path

from kalshi_fix_sansio import ApplicationMessage
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.gateway import MockGateway
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.trading.tracker import OrderRejected

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "corpora" / "mock_session.log"
MARKETS = ("BENCH-CORPUS-A", "BENCH-CORPUS-B")
ROUNDS = 24


def _levels(start: str, step: str, count: int) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(start) + i * Decimal(step), Decimal(10 + 5 * i)) for i in range(count)]


def order(symbol: str, side: p.Side, price: str, qty: int, tif: p.TimeInForce) -> p.NewOrderSingle:
    return p.NewOrderSingle(
        cl_ord_id=str(uuid.uuid4()),
        side=side,
        order_qty=Decimal(qty),
        ord_type=p.OrdType.LIMIT,
        price=Decimal(price),
        symbol=symbol,
        time_in_force=tif,
    )


def record(out: Path, rounds: int = ROUNDS) -> int:
    """Run the session; return the number of lines the log holds."""
    signers, keys = {}, {}
    for key_id in ("bench-trader", "bench-trader-md", "bench-other"):
        signers[key_id], keys[key_id] = new_ed25519_keys()
    out.parent.mkdir(parents=True, exist_ok=True)
    md_log, oe_log = out.with_suffix(".md.tmp"), out.with_suffix(".oe.tmp")
    for path in (out, md_log, oe_log):
        path.unlink(missing_ok=True)
    with MockGateway("prediction", keys=keys, tls=True) as gw:
        for symbol in MARKETS:
            gw.seed_market(
                symbol, bids=_levels("0.30", "-0.01", 5), asks=_levels("0.60", "0.01", 5)
            )
        # one connection per API key: the trader's market data logs on with a key of its own
        trader = gw.client("bench-trader", signers["bench-trader"], message_log_path=oe_log)
        feed = gw.client("bench-trader-md", signers["bench-trader-md"], message_log_path=md_log)
        other = gw.client("bench-other", signers["bench-other"])
        with feed.market_data() as md, trader.order_entry() as oe, other.order_entry() as ot:
            md.wait_for(
                lambda e: isinstance(e, ApplicationMessage) and e.message.MSG_TYPE == "W",
                timeout=10,
                send=p.MarketDataRequest(
                    subscription_request_type=p.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
                    related_sym=[p.MarketDataRequestRelatedSym(symbol=s) for s in MARKETS],
                ),
            )
            for i in range(rounds):
                symbol = MARKETS[i % len(MARKETS)]
                cents = 40 + i % 10
                rest = oe.place(
                    order(symbol, p.Side.BUY, f"0.{cents - 8}", 3 + i % 4, p.TimeInForce.GTC)
                )
                if i % 2:
                    oe.place(
                        p.OrderCancelReplaceRequest(
                            cl_ord_id=str(uuid.uuid4()),
                            orig_cl_ord_id=rest.cl_ord_id,
                            order_qty=Decimal(5 + i % 3),
                            ord_type=p.OrdType.LIMIT,
                            price=Decimal(f"0.{cents - 7}"),
                            side=p.Side.BUY,
                            symbol=symbol,
                        )
                    )
                else:
                    oe.cancel(
                        p.OrderCancelRequest(
                            cl_ord_id=str(uuid.uuid4()),
                            orig_cl_ord_id=rest.cl_ord_id,
                            side=p.Side.BUY,
                            symbol=symbol,
                        )
                    )
                ot.place(order(symbol, p.Side.BUY, f"0.{cents}", 4, p.TimeInForce.GTC))
                oe.place(order(symbol, p.Side.SELL, f"0.{cents}", 2 + i % 4, p.TimeInForce.IOC))
                oe.place(order(symbol, p.Side.BUY, "0.61", 1 + i % 3, p.TimeInForce.IOC))
                if i % 6 == 5:
                    try:
                        oe.place(order("NO-SUCH-MARKET", p.Side.BUY, "0.10", 1, p.TimeInForce.GTC))
                    except OrderRejected:
                        pass
                if i % 8 == 7:  # the seeded asks run out: seed them again
                    gw.seed_market(
                        symbol, bids=_levels("0.30", "-0.01", 5), asks=_levels("0.60", "0.01", 5)
                    )
            # let the last market data arrive before logging out
            with contextlib.suppress(TimeoutError):
                md.wait_for(lambda e: False, timeout=0.5)
    # the two sessions' logs as one, in time order (each line starts with its UTC time)
    lines = sorted(
        line for path in (md_log, oe_log) for line in path.read_text(encoding="utf-8").splitlines()
    )
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    md_log.unlink()
    oe_log.unlink()
    return len(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    lines = record(args.out, args.rounds)
    print(f"{args.out}: {lines} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""What the pre-trade limits cost per order, by the live orders a desk holds: instructions
under callgrind.

    .venv/bin/python benchmarks/bench_risk.py [--quick] [--live 0 1000 ...] [--orders N M]

Per order, what a session does with it (the flow of `bench_tracker`'s ``cycle``, through the
`OrderGate` as the session's writer calls it): ``admit`` (the halt, the live-ClOrdID rule and
the limits, then the tracker) and ``sent`` of the NewOrderSingle, its ExecutionReport New fed
to the tracker (and to ``RiskChecker.observe``, which the desk called before the counts moved
into the tracker), the same for its OrderCancelRequest and the Canceled report. Every limit is
on (``max_order_qty``, ``max_order_notional``, ``max_open_orders``,
``max_open_orders_per_symbol``, ``max_position``, ``min_price``, ``max_price``,
``max_price_distance`` against a book with a snapshot), set high enough that nothing is refused.

Before the loop, ``live`` orders are live in the same symbol (sent and acknowledged: the worst
case, the symbol's walk and the account's both meet all of them). Each count runs in a child
process (``--child``) under ``valgrind --tool=callgrind`` with ``PYTHONHASHSEED=0``, four
times: with the limits and without them (the same gate, ``risk_limits=None``), for two counts
of orders. The figure per order is ((limits, M) - (limits, N) - ((none, M) - (none, N))) / (M - N):
the limits' own instructions per order (the check, and what keeping the counts adds to the
tracker's calls); decoding and the tracker cancel out. Only the loop is counted (callgrind's
counting switched on and off around it, `_traced.window_library`; without a C compiler the
whole process is, and seeding 100,000 orders then moves a count by millions from run to run).

Run it on another tree's package with that tree's interpreter (the script imports whatever
``kalshi_fix_sansio`` the interpreter finds), e.g. a checkout before the change:
``/work/main/.venv/bin/python benchmarks/bench_risk.py --live 0 1000 --orders 20 60``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from _traced import counted, traced, window_library  # noqa: E402
from bench_tracker import SYMBOL, Frames, _orders  # noqa: E402

LIVE = (0, 1_000, 10_000, 100_000)


def _limits() -> Any:
    from kalshi_fix_sansio.trading.risk import RiskLimits

    return RiskLimits(
        max_order_qty=1_000_000,
        max_order_notional=1_000_000_000,
        max_open_orders=10_000_000,
        max_open_orders_per_symbol=10_000_000,
        max_position=1_000_000_000_000,
        min_price="0.01",
        max_price="0.99",
        max_price_distance="0.99",
    )


def _books() -> Any:
    from kalshi_fix_sansio import prediction as p
    from kalshi_fix_sansio.trading.book import Books

    books = Books()
    entries = [
        p.MarketDataSnapshotFullRefreshMDEntry(
            md_entry_type=p.MDEntryType(kind), md_entry_px=Decimal(px), md_entry_size=Decimal(100)
        )
        for kind, px in (("0", "0.04"), ("1", "0.06"))
    ]
    books.apply(p.MarketDataSnapshotFullRefresh(symbol=SYMBOL, md_entries=entries))
    return books


def child(live: int, orders: int, limits: bool, window: str | None = None) -> None:
    """``orders`` orders through a gate with every limit on (or none), ``live`` live before;
    ``window``: the counting switch's library, turned on around the loop alone."""
    import ctypes
    import gc

    from kalshi_fix_sansio import prediction as p
    from kalshi_fix_sansio.session.events import ApplicationMessage
    from kalshi_fix_sansio.trading.gate import OrderGate

    gate = OrderGate("prediction", risk_books=_books())
    tracker = gate.tracker
    frames = Frames()
    frames.built = True
    for new, first, _cancel, _later in _orders(frames, 0, live, 0):
        tracker.sent(new)
        tracker.on_message(first)
    frames.built = False
    if limits:  # set once the live orders are in: counted once, as a restored tracker is
        gate.risk_limits = _limits()
    risk = gate.risk
    batch = _orders(frames, live, orders, 0)
    decode = p.decode

    def received(frame: bytes) -> ApplicationMessage:
        msg = decode(frame, tolerant=True)  # as the session: tolerant, then validated
        return ApplicationMessage(msg, 0, False, frame, msg.check())

    gc.collect()
    gc.freeze()
    toggle = ctypes.CDLL(window).kfs_toggle_collect if window else None
    admit, sent, on_event = gate.admit, gate.sent, tracker.on_event
    if toggle is not None:
        toggle()
    for new, first, cancel, later in batch:
        cl = admit(new, "D", 0.0)
        sent(new, "D", cl, 0.0)
        event = received(first)
        on_event(event)
        if risk is not None:
            risk.observe(event.message)
        cl = admit(cancel, "F", 0.0)
        sent(cancel, "F", cl, 0.0)
        for frame in later:
            event = received(frame)
            on_event(event)
            if risk is not None:
                risk.observe(event.message)
    if toggle is not None:
        toggle()
    assert len(tracker.open_orders()) == live, len(tracker.open_orders())
    if risk is not None:
        assert risk.open_orders() == live, risk.open_orders()


def callgrind(live: int, orders: int, limits: bool, window: Path | None) -> int:
    """Instructions of one child run (user space; ``window``: of its loop alone)."""
    mode = "limits" if limits else "none"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        child_cmd = [sys.executable, str(HERE), "--child", str(live), str(orders), mode]
        if window is not None:
            child_cmd.append(str(window))
        cmd, env = traced("callgrind", child_cmd, out, collect_at_start=window is None)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{cmd}: {done.stderr[-2000:]}")
        total = counted("callgrind", out)
        assert isinstance(total, int)
        return total


def measure(live: int, n: int, m: int, window: Path | None) -> float:
    """The limits' instructions per order with ``live`` orders live."""
    runs = {(on, k): callgrind(live, k, on, window) for on in (False, True) for k in (n, m)}
    return (runs[True, m] - runs[True, n] - (runs[False, m] - runs[False, n])) / (m - n)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", nargs="+", metavar="LIVE ORDERS MODE [WINDOW]")
    ap.add_argument("--quick", action="store_true", help="20 and 60 orders (else 50 and 250)")
    ap.add_argument("--orders", nargs=2, type=int, metavar=("N", "M"), help="the two counts")
    ap.add_argument("--live", nargs="*", type=int, default=list(LIVE), help="live orders before")
    args = ap.parse_args(argv)
    if args.child:
        live, orders, mode, *window = args.child
        child(int(live), int(orders), mode == "limits", window[0] if window else None)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is missing (apt-get install -y valgrind)", file=sys.stderr)
        return 1
    n, m = args.orders or ((20, 60) if args.quick else (50, 250))
    print(
        f"instructions per order of every limit ({m} - {n} orders), Python "
        f"{sys.version.split()[0]}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        switch = window_library(Path(tmp))
        window = switch if isinstance(switch, Path) else None
        if window is None:  # counted whole: seeding many orders then adds run-to-run noise
            print(f"the whole child process counted ({switch})", flush=True)
        for live in args.live:
            per = measure(live, n, m, window)
            print(f"{live:>9,} live {per:>14,.0f} per order", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

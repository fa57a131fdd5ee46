"""The order tracker's cost per event, alone: instructions under callgrind.

    .venv/bin/python benchmarks/bench_tracker.py [--quick] [--only NAME ...]
    .venv/bin/python benchmarks/bench_tracker.py --profile [--scenario cycle]

What the driver feeds the tracker for one order and its cancel (the flow of
`bench_instructions`): ``sent(NewOrderSingle)``, the ExecutionReport New, ``sent(
OrderCancelRequest)``, the ExecutionReport Canceled (11 = the cancel's ClOrdID, 41 = the
order's, OrderQty = CumQty as Kalshi sends it). The reports are real frames, shaped as the mock
gateway renders them, decoded as the session does (tolerant, then ``check()``: a session
validates messages by default, so every value is converted before the tracker reads it) and
wrapped in the `ApplicationMessage` the driver passes to ``tracker.on_event``; the requests are
built objects, as the application hands them to ``send``.

Each scenario runs in a child process (``--child``) under ``valgrind --tool=callgrind`` with
``PYTHONHASHSEED=0``, four times: without and with the tracker, for two counts of orders. The
figure per order is ((with, M) - (with, N) - ((without, M) - (without, N))) / (M - N): start-up,
imports, building the frames, decoding and what the tracker held before the loop cancel out,
and what remains is the tracker's own work per order (its calls and what they allocate).

Scenarios (each prints instructions per order, or per fill):

* ``cycle``: order -> New -> cancel -> Canceled on an empty tracker;
* ``cycle+10k live``: the same with 10,000 live orders already tracked;
* ``cycle+10k final``: the same with ``max_terminal_orders`` (10,000) final orders already
  tracked: every order that finishes evicts the oldest (the steady state of a long session);
* ``fill x1`` / ``fill x10``: order -> New -> 1 or 10 fills (Trade reports, the last one
  filling it); per fill = (x10 - x1) / 9.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
SYMBOL = "HIGHNY-23DEC31"
ORDER_ID = "0b9e8f7a-6d5c-4b3a-8291-0f1e2d3c4b5a"


@dataclass(frozen=True)
class Scenario:
    name: str
    fills: int = 0  # 0: the cancel cycle; k: k fills instead of the cancel
    live: int = 0  # live orders tracked before the loop
    final: int = 0  # final orders tracked before the loop
    per: int = 1  # events the figure is divided by (fills per order for ``fill``)


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("cycle"),
        Scenario("cycle+10k live", live=10_000),
        Scenario("cycle+10k final", final=10_000),
        Scenario("fill x1", fills=1),
        Scenario("fill x10", fills=10),
    )
}


# -- the child ---------------------------------------------------------------------------------


def _cl(i: int) -> str:
    return str(uuid.UUID(int=i, version=4))


class Frames:
    """Encoded inbound frames of order ``i`` (built before the loop, in both runs)."""

    def __init__(self) -> None:
        from kalshi_fix_sansio import prediction as p
        from kalshi_fix_sansio.simulator.testing.samples import T0, header

        self.p = p
        self.header = header
        self.t0 = T0
        self.seq = 0
        self.clock = 0
        self.built = False

    def _er(self, **kw: Any) -> Any:
        """The frame of a report (``self.built``: the message itself, for the tracker's fill)."""
        p = self.p
        self.seq += 1
        self.clock += 1
        base: dict[str, Any] = {
            "exec_id": f"{self.clock};1",
            "order_id": ORDER_ID,
            "side": p.Side.BUY,
            "symbol": SYMBOL,
            "price": Decimal("0.05"),
            "avg_px": Decimal(0),
            "transact_time": self.t0,
        }
        base.update(kw)
        message = p.ExecutionReport(**base)
        return message if self.built else p.encode(message, self.header(self.seq, True))

    def new(self, cl: str, qty: int) -> Any:
        p = self.p
        return self._er(
            cl_ord_id=cl,
            exec_type=p.ExecType.NEW,
            ord_status=p.OrdStatus.NEW,
            order_qty=Decimal(qty).quantize(Decimal("0.01")),
            cum_qty=Decimal("0.00"),
            leaves_qty=Decimal(qty).quantize(Decimal("0.01")),
        )

    def canceled(self, cx: str, cl: str) -> Any:
        p = self.p
        return self._er(
            cl_ord_id=cx,
            orig_cl_ord_id=cl,
            exec_type=p.ExecType.CANCELED,
            ord_status=p.OrdStatus.CANCELED,
            order_qty=Decimal("0.00"),
            cum_qty=Decimal("0.00"),
            leaves_qty=Decimal("0.00"),
        )

    def fill(self, cl: str, qty: int, cum: int) -> Any:
        p = self.p
        c = Decimal("0.01")
        return self._er(
            cl_ord_id=cl,
            exec_type=p.ExecType.TRADE,
            ord_status=p.OrdStatus.FILLED if cum == qty else p.OrdStatus.PARTIALLY_FILLED,
            order_qty=Decimal(qty).quantize(c),
            cum_qty=Decimal(cum).quantize(c),
            leaves_qty=Decimal(qty - cum).quantize(c),
            avg_px=Decimal("0.05"),
            last_px=Decimal("0.05"),
            last_qty=Decimal(1).quantize(c),
            trd_match_id=f"m{self.clock}",
            aggressor_indicator=False,
            misc_fees=(
                p.MiscFee(
                    misc_fee_amt=Decimal("0.01"),
                    misc_fee_curr="USD",
                    misc_fee_type=p.MiscFeeType("4"),
                    misc_fee_basis=p.MiscFeeBasis(0),
                ),
            ),
            collateral_amount_changes=(
                p.CollateralAmountChange(
                    collateral_amount_change=Decimal("-0.06"),
                    collateral_amount_type=p.CollateralAmountType("BALANCE"),
                ),
            ),
        )


def _orders(frames: Frames, start: int, count: int, fills: int) -> list[tuple[Any, ...]]:
    """(NewOrderSingle, its reports' frames, OrderCancelRequest or None, ...) per order."""
    p = frames.p
    out = []
    for i in range(start, start + count):
        cl, cx = _cl(2 * i + 1), _cl(2 * i + 2)
        qty = max(fills, 1)
        new = p.NewOrderSingle(
            cl_ord_id=cl,
            side=p.Side.BUY,
            order_qty=Decimal(qty),
            ord_type=p.OrdType.LIMIT,
            price=Decimal("0.05"),
            symbol=SYMBOL,
            time_in_force=p.TimeInForce.GTC,
        )
        first = frames.new(cl, qty)
        if fills:
            out.append((new, first, None, [frames.fill(cl, qty, k) for k in range(1, fills + 1)]))
        else:
            cancel = p.OrderCancelRequest(
                cl_ord_id=cx, orig_cl_ord_id=cl, side=p.Side.BUY, symbol=SYMBOL
            )
            out.append((new, first, cancel, [frames.canceled(cx, cl)]))
    return out


def child(scenario: Scenario, orders: int, track: bool, prof: Any = None) -> None:
    """Feed ``orders`` orders to a tracker (after what the scenario holds before), or only
    decode their reports (``track`` False)."""
    import gc

    from kalshi_fix_sansio import prediction as p
    from kalshi_fix_sansio.session.events import ApplicationMessage
    from kalshi_fix_sansio.trading.tracker import OrderTracker

    decode = p.decode
    tracker = OrderTracker()
    frames = Frames()

    def received(frame: bytes) -> ApplicationMessage:
        msg = decode(frame, tolerant=True)  # as the session: tolerant, then validated
        return ApplicationMessage(msg, 0, False, frame, msg.check())

    def feed(batch: list[tuple[Any, ...]], on: bool) -> None:
        sent, on_event = tracker.sent, tracker.on_event
        for new, first, cancel, later in batch:
            if on:
                sent(new)
            event = received(first)
            if on:
                on_event(event)
            if cancel is not None and on:
                sent(cancel)
            for frame in later:
                event = received(frame)
                if on:
                    on_event(event)

    # what the tracker holds before the loop: built messages (not frames), tracking runs only
    if track:
        frames.built = True
        for new, first, _cancel, _later in _orders(frames, 0, scenario.live, scenario.fills):
            tracker.sent(new)
            tracker.on_message(first)
        for new, first, cancel, later in _orders(
            frames, scenario.live, scenario.final, scenario.fills
        ):
            tracker.sent(new)
            tracker.on_message(first)
            if cancel is not None:
                tracker.sent(cancel)
            for message in later:
                tracker.on_message(message)
        frames.built = False
    batch = _orders(frames, scenario.live + scenario.final, orders, scenario.fills)
    # What is built before the loop stays out of the collector's way (its full collections
    # would otherwise fall at different places in the two runs); the loop's garbage is collected.
    gc.collect()
    gc.freeze()
    if prof is not None:
        prof.enable()  # the decoding is profiled too: the tracker's own calls are by name
    feed(batch, track)
    if prof is not None:
        prof.disable()
    if track:
        expect = scenario.live + min(
            scenario.final + orders, tracker.max_terminal_orders or sys.maxsize
        )
        assert len(tracker.open_orders()) == scenario.live, len(tracker.open_orders())
        assert len(tracker) == expect, (len(tracker), expect)


# -- the parent --------------------------------------------------------------------------------


def callgrind(scenario: Scenario, orders: int, track: bool) -> int:
    """Instructions of one child run (every thread, user space)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        cmd = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "--trace-children=no",
            sys.executable,
            str(HERE),
            "--child",
            scenario.name,
            str(orders),
            "track" if track else "decode",
        ]
        env = dict(os.environ, PYTHONHASHSEED="0")
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{cmd}: {done.stderr[-2000:]}")
        found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
        if found is None:
            raise RuntimeError(f"no instruction count in callgrind's output: {done.stderr[-500:]}")
        return int(found.group(1))


def measure(scenario: Scenario, n: int, m: int) -> float:
    """The tracker's instructions per order (or per fill, see ``per``)."""
    runs = {(track, k): callgrind(scenario, k, track) for track in (False, True) for k in (n, m)}
    tracked = runs[True, m] - runs[True, n]
    base = runs[False, m] - runs[False, n]
    return (tracked - base) / (m - n) / scenario.per


def profile(scenario: Scenario, orders: int) -> None:
    """cProfile of the tracker's calls in the loop alone (a first look: where the time goes)."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    child(scenario, orders, True, prof)
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def rows(names: list[str], n: int, m: int) -> Iterator[tuple[str, float]]:
    for name in names:
        yield name, measure(SCENARIOS[name], n, m)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", nargs=3, metavar=("SCENARIO", "ORDERS", "MODE"))
    ap.add_argument("--quick", action="store_true", help="100 and 400 orders (else 200 and 1200)")
    ap.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="these scenarios")
    ap.add_argument("--profile", action="store_true", help="cProfile instead of callgrind")
    ap.add_argument("--scenario", default="cycle", choices=sorted(SCENARIOS))
    args = ap.parse_args(argv)
    if args.child:
        name, orders, mode = args.child
        child(SCENARIOS[name], int(orders), mode == "track")
        return 0
    if args.profile:
        profile(SCENARIOS[args.scenario], 2000)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is missing (apt-get install -y valgrind)", file=sys.stderr)
        return 1
    n, m = (100, 400) if args.quick else (200, 1200)
    print(f"tracker instructions, ({m} - {n} orders), Python {sys.version.split()[0]}", flush=True)
    results: dict[str, float] = {}
    for name, value in rows(args.only or list(SCENARIOS), n, m):
        results[name] = value
        print(f"{name:18} {value:>10,.0f} per order", flush=True)
    if "fill x1" in results and "fill x10" in results:
        per_fill = (results["fill x10"] - results["fill x1"]) / 9
        print(f"{'per fill':18} {per_fill:>10,.0f} (fill x10 - fill x1) / 9")
    return 0


if __name__ == "__main__":
    sys.exit(main())

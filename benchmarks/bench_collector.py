"""What the cyclic garbage collector pays for the orders a tracker holds.

    .venv/bin/python benchmarks/bench_collector.py [--quick] [--live 100000 1000000]
        [--before DIR] [--rounds N] [--risk] [--write-docs]

An `OrderTracker` is fed, in a child process of its own per figure (``--child``), ``LIVE``
orders that stay live: per order the NewOrderSingle sent (``tracker.sent``) and its
ExecutionReport New (``tracker.on_event``, wrapped as the driver wraps it), both built in the
loop as the application and the decoder build them (`bench_tracker.Frames`). The child reports:

* **tracked per order**: the objects the collector tracks (``len(gc.get_objects())``, after a
  full collection) with the orders held, less those before the first order, per order;
* **full collection**: the CPU time (``time.process_time``) of one ``gc.collect()`` with the
  orders held (the median of five): what a generation-2 collection, the one that walks every
  tracked object of the process, costs at that size. Python runs one automatically whenever
  the objects that survived into the oldest generation since the last grew by a quarter of
  those already there;
* **collector CPU per order** and its **share**: the CPU time spent inside collections
  (``gc.callbacks``, every generation) while the ``LIVE`` orders came in, per order and over the
  CPU time of that whole loop (the messages' construction included: it stands for the decode
  a client makes per report, and allocates as much): what the collector adds to each order
  while the book of live orders grows;
* with ``--risk``, the tracker keeps the live counts a `RiskChecker` reads
  (``tracker.open_counts()`` asked before the first order).

``--before DIR`` runs the same children a second time with ``DIR/src`` first on the path (an
export of another commit: ``git archive REV src | tar -x -C DIR``), alternating before and after
``--rounds`` times; each figure is the median over its rounds. Wall time is not used: the
machine is shared, and CPU time moves with its load, so the collection times are to be read
with the load the run names; the objects tracked do not move.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _docs import arguments, publish

HERE = Path(__file__).resolve()
BEGIN = "<!-- collector-results -->"
END = "<!-- /collector-results -->"
LIVE = (100_000, 1_000_000)


def child(live: int, risk: bool) -> dict[str, Any]:
    """Feed ``live`` orders to a tracker; the figures as a dict (see the module docstring)."""
    import gc

    from bench_tracker import Frames, _orders

    from kalshi_fix_sansio.session.events import ApplicationMessage
    from kalshi_fix_sansio.trading.tracker import OrderTracker

    tracker = OrderTracker()
    if risk:
        tracker.open_counts()
    frames = Frames()
    frames.built = True
    spent = [0.0, 0.0]  # CPU inside collections; the start of the current one
    full = [0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            spent[1] = time.process_time()
        else:
            spent[0] += time.process_time() - spent[1]
            if info["generation"] == 2:
                full[0] += 1

    gc.collect()
    before = len(gc.get_objects())
    gc.callbacks.append(callback)
    sent, on_event = tracker.sent, tracker.on_event
    begun = time.process_time()
    for i in range(live):  # each order's messages built as it comes, as a client decodes them
        ((new, first, _cancel, _later),) = _orders(frames, i, 1, 0)
        sent(new)
        on_event(ApplicationMessage(first, 0, False, b"", ()))
    cpu = time.process_time() - begun
    gc.callbacks.remove(callback)
    assert len(tracker) == live, len(tracker)
    gc.collect()
    after = len(gc.get_objects())
    times = []
    for _ in range(5):
        begun = time.process_time()
        gc.collect()
        times.append(time.process_time() - begun)
    return {
        "live": live,
        "baseline": before,
        "tracked_per_order": (after - before) / live,
        "full_ms": statistics.median(times) * 1e3,
        "share": spent[0] / cpu if cpu else 0.0,
        "gc_us": spent[0] / live * 1e6,
        "loop_us": cpu / live * 1e6,
        "full_in_loop": full[0],
    }


def run(live: int, risk: bool, before: Path | None) -> dict[str, Any]:
    """One child; ``before``: with that tree's ``src`` first on the path."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    if before is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(before / "src"), str(HERE.parent)])
    cmd = [sys.executable, str(HERE), "--child", str(live)] + (["--risk"] if risk else [])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def table(results: dict[tuple[str, int], list[dict[str, Any]]], risk: bool) -> list[str]:
    load = os.getloadavg()[0]
    counts = {len(rows) for rows in results.values()}
    rounds = "one round each" if counts == {1} else f"medians of {max(counts)} rounds"
    lines = [
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load:.1f} at "
        f"the end; an `OrderTracker`{' with its risk counts kept' if risk else ''} fed LIVE "
        "orders that stay live (NewOrderSingle sent + ExecutionReport New), one child process "
        f"per figure; {rounds} (before and after alternating). Columns: live "
        "orders; objects the collector tracks per live order; one full collection's CPU (median "
        "of 5); the collections' CPU "
        "per order while the orders arrive, and its share of the loop's CPU; full collections "
        "in the loop; the loop's CPU per order",
        "",
        "| code | live | tracked / order | full collection | collector / order | share | "
        "full ones | loop / order |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (side, live), rows in sorted(
        results.items(), key=lambda kv: (kv[0][1], kv[0][0] != "before")
    ):
        lines.append(
            f"| {side} | {live:,} | {_median(rows, 'tracked_per_order'):.2f} | "
            f"{_median(rows, 'full_ms'):,.1f} ms | {_median(rows, 'gc_us'):.2f} µs | "
            f"{_median(rows, 'share') * 100:.1f} % | "
            f"{_median(rows, 'full_in_loop'):.0f} | {_median(rows, 'loop_us'):.1f} µs |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__ or "", "10,000 live orders, one round")
    ap.add_argument("--child", type=int, metavar="LIVE")
    ap.add_argument("--risk", action="store_true", help="keep the risk counts too")
    ap.add_argument("--live", nargs="*", type=int, default=list(LIVE))
    ap.add_argument("--before", type=Path, help="a tree whose src is the code before")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.risk)))
        return 0
    lives = [10_000] if args.quick else args.live
    sides: list[tuple[str, Path | None]] = [("after", None)]
    if args.before is not None:
        sides.insert(0, ("before", args.before.resolve()))
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for live in lives:
        for _ in range(1 if args.quick else args.rounds):
            for side, tree in sides:
                row = run(live, args.risk, tree)
                print(side, json.dumps(row), file=sys.stderr, flush=True)
                results.setdefault((side, live), []).append(row)
    publish(table(results, args.risk), BEGIN, END, args.write_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What makes a backtest's answer worth ranking, measured: the same run repeated gives the same
report, a latency model changes the fills, and a sweep ranks alike however it runs.

    .venv/bin/python benchmarks/bench_backtest_trust.py [--repeat N] [--quick] [--no-dask]

Three tables, each on the shipped sample recording (``paper-sample.log``) with the shipped
quoter (`kalshi_fix_sansio.simulator.testing.strategies`):

* **Determinism**: the quoter run ``--repeat`` times on each API (blocking, asyncio, trio),
  with no latency and with a seeded log-normal latency; the number of distinct SHA-256 digests
  of the JSON reports (1 means byte-identical every time).
* **Latency's effect**: one run per order-entry latency (none, then constant one-way delays):
  orders, fills, fill ratio, fees and P&L from the report. Market data keeps no latency, so
  what moves is the time an order takes to reach the book the recording moves.
* **A sweep, three ways**: a grid of the quoter's ``edge`` run in this process (``jobs=1``), on
  local worker processes and on a local Dask cluster (the ``sweep`` extra; the row says so when
  it is missing or ``--no-dask``): the digest of each ranking table.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
from kalshi_fix_sansio.simulator.research.sweep import grid, run_sweep
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING
from kalshi_fix_sansio.simulator.testing.strategies import async_quoter, quoter
from kalshi_fix_sansio.simulator.world.latency import (
    ConstantLatency,
    LatencyModel,
    LogNormalLatency,
    NoLatency,
)

APIS = ("blocking", "asyncio", "trio")
DELAYS = (
    0.0,
    0.001,
    0.01,
    0.1,
    1.0,
    2.0,
)  # one-way order-entry latency, seconds (a Logon waits 10 s)
EDGES = (0.01, 0.02, 0.03, 0.05)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def determinism(repeat: int) -> list[tuple[str, str, int, str]]:
    """(API, latency, distinct digests over ``repeat`` runs, the first digest) per case."""
    rows = []
    models: dict[str, LatencyModel] = {
        "none": NoLatency(),
        "log-normal (median 20 ms)": LogNormalLatency(0.02, 0.5),
    }
    for api in APIS:
        strategy = quoter if api == "blocking" else async_quoter
        for label, model in models.items():
            digests = [
                _digest(
                    run_backtest(
                        strategy, SAMPLE_RECORDING, api=api, seed=7, latency=model
                    ).to_json()
                )
                for _ in range(repeat)
            ]
            rows.append((api, label, len(set(digests)), digests[0]))
    return rows


def latency_effect(delays: Sequence[float]) -> list[dict[str, Any]]:
    """One row per order-entry delay: what the report says of the run."""
    rows = []
    for delay in delays:
        model: LatencyModel = ConstantLatency(delay) if delay else NoLatency()
        result = run_backtest(quoter, SAMPLE_RECORDING, seed=7, latency={"KalshiNR": model})
        total = result.statistics["total"]
        rows.append(
            {
                "latency": "none" if not delay else f"{delay * 1000:g} ms",
                "orders": total["orders"],
                "fills": total["fills"],
                "fill_ratio": total["fill_ratio"],
                "fees": Decimal(total["fees"]),
                "total": Decimal(total["total"]),
            }
        )
    return rows


def sweep_ways(use_dask: bool) -> list[tuple[str, str]]:
    """(how, the digest of the ranking table, or why there is none) per way of running."""
    reference = "kalshi_fix_sansio.simulator.testing.strategies:quoter"
    points = grid(edge=EDGES)
    ways: dict[str, dict[str, Any]] = {
        "in this process (jobs=1)": {"jobs": 1},
        "local processes (jobs=2)": {"jobs": 2},
    }
    note = None
    if use_dask and importlib.util.find_spec("distributed") is not None:
        ways["Dask, a local cluster (2 workers)"] = {"engine": "dask", "jobs": 2}
    elif use_dask:
        note = ("Dask", "not run: the sweep extra (distributed) is not installed")
    else:
        note = ("Dask", "not run (--no-dask)")
    rows = []
    for how, options in ways.items():
        result = run_sweep(reference, [SAMPLE_RECORDING], points, seed=7, **options)
        rows.append((how, f"`{_digest(result.table())}`"))
    if note is not None:
        rows.append(note)
    return rows


def report(
    determined: list[tuple[str, str, int, str]],
    effect: list[dict[str, Any]],
    ways: list[tuple[str, str]],
    repeat: int,
) -> list[str]:
    """The three tables, as markdown."""
    lines = [
        f"Python {sys.version.split()[0]}; `{SAMPLE_RECORDING.name}`, the shipped quoter, seed 7.",
        "",
        f"| API | latency | distinct reports in {repeat} runs | report digest |",
        "|---|---|---:|---|",
    ]
    lines += [f"| {api} | {label} | {n} | `{d}` |" for api, label, n, d in determined]
    lines += [
        "",
        "| order-entry latency | orders | fills | fill ratio | fees | P&L |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in effect:
        ratio = "-" if row["fill_ratio"] is None else f"{row['fill_ratio']:.3f}"
        lines.append(
            f"| {row['latency']} | {row['orders']} | {row['fills']} | {ratio} | "
            f"{row['fees']} | {row['total'].quantize(Decimal('0.0001'))} |"
        )
    lines += ["", f"| sweep of {len(EDGES)} edges, run | ranking table digest |", "|---|---|"]
    lines += [f"| {how} | {digest} |" for how, digest in ways]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="runs per determinism case")
    parser.add_argument("--quick", action="store_true", help="2 runs, 3 latencies, no Dask")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask row")
    args = parser.parse_args(argv)
    repeat = 2 if args.quick else args.repeat
    delays = DELAYS[:3] if args.quick else DELAYS
    lines = report(
        determinism(repeat),
        latency_effect(delays),
        sweep_ways(not (args.quick or args.no_dask)),
        repeat,
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

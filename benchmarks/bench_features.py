"""What the library's own bookkeeping costs in client CPU per order, beside kalshi-sdk's.

    .venv-peers/bin/python benchmarks/bench_features.py [--quick] [--procs N] [--orders N]
        [--write-docs]

`bench_latency.py`'s processes (order -> acknowledgement round trips on loopback TLS against
the mock gateway in its own process, `bench_latency.child_main`) for each of our adapters twice:
as users run it, and with three parts of the library's own work per order made no-ops in that
process (`features_off`): the order tracker (recording each request and applying each report),
the session's metrics (bytes, answers, round-trip histograms) and the catch-up cursor (the
last ExecID seen). That is a measurement, never a setting: the tracker is what keeps ``place``,
the risk limits and the kill switch right, and a user cannot turn any of the three off. Beside
them run kalshi-sdk's own client and the asyncio floor (asyncio's TLS transport and pre-built
frames: no FIX library), all kinds rotating from one pass to the next.

Each row: the median client CPU per order over its processes and, pass by pass, its ratio to
kalshi-sdk's process of the same pass (`_procs.paired_cpu`: median and interquartile range);
for the rows without the bookkeeping, how much less CPU they took than the same adapter with it
in the same pass. It says how near the project's CPU target (0.6x kalshi-sdk's) removing the
library's own work per order could bring an adapter, and what is left: the event loop, TLS, the
kernel and the protocol work itself (encode, framing, decode, checks, the session).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _kalshi_sdk
from _docs import arguments, publish, write_block
from _gateway import Gateway, GatewayView
from _procs import Adapter, Proc, paired_cpu, spread, us

BEGIN = "<!-- features-results -->"
END = "<!-- /features-results -->"
HERE = Path(__file__).resolve()

OURS = ("blocking", "asyncio", "trio")
#: (kind, bookkeeping on) in the order of the table; kalshi-sdk's last, the ratios' peer.
KINDS: tuple[tuple[str, bool], ...] = (
    *((kind, on) for kind in OURS for on in (True, False)),
    ("aio-floor", True),
    ("kalshi-sdk", True),
)


def features_off() -> None:
    """Make the tracker's, the metrics' and the catch-up cursor's work per order no-ops in this
    process (an experiment's child only)."""
    from kalshi_fix_sansio.observability import metrics
    from kalshi_fix_sansio.trading import catchup, tracker

    def nothing(self: Any, *args: Any) -> None:
        return None

    tracker.OrderTracker.sent = nothing  # type: ignore[method-assign]
    tracker.OrderTracker._execution_report = nothing  # type: ignore[method-assign]
    metrics.SessionMetrics.on_answer = nothing  # type: ignore[method-assign]
    metrics.SessionMetrics.on_sent_bytes = nothing  # type: ignore[method-assign]
    catchup.ExecCursor.observe = nothing  # type: ignore[method-assign]


def name(kind: str, on: bool) -> str:
    import bench_latency

    base = bench_latency.KIND_NAMES[kind]
    if kind == "kalshi-sdk":
        return f"{_kalshi_sdk.label()} (its own asyncio client)"
    return base if on else f"{base}, without the tracker, metrics and catch-up cursor"


def spawn(kind: str, on: bool, gw: GatewayView, orders: int, index: int) -> Proc:
    cmd = [sys.executable, str(HERE), "--child", kind, "--gateway", gw.to_arg()]
    cmd += ["--orders", str(orders)] + ([] if on else ["--features-off"])
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} process failed:\n{done.stderr[-3000:]}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return Proc(kind, index, got["rtts"], got["cpu"], got["gw_cpu"])


def measure(orders: int, procs: int, log: Any = print) -> list[Adapter]:
    """``procs`` passes, each one process of every kind (the kinds rotating), one gateway."""
    adapters = [Adapter(name(k, on), None, floor=k == "aio-floor", kind=k) for k, on in KINDS]
    rows = list(zip(KINDS, adapters, strict=True))
    with tempfile.TemporaryDirectory(prefix="bench-features-keys-") as keydir:
        keys, own_key, sdk_key = _kalshi_sdk.gateway_keys(Path(keydir))
        gw = Gateway(keys, own_key, sdk_key)
        try:
            for i in range(procs):
                for (kind, on), a in rows[i % len(rows) :] + rows[: i % len(rows)]:
                    proc = spawn(kind, on, gw, orders, i + 1)
                    a.procs.append(proc)
                    log(f"  {a.name} #{i + 1}: CPU {us(proc.cpu_per_order())} per order")
        finally:
            gw.close()
    return adapters


def report(adapters: list[Adapter]) -> list[str]:
    import platform

    sdk = adapters[-1]
    passes = len(sdk.procs)
    lines = [
        f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}; "
        f"gateway in its own process, loopback TLS, KalshiNR; {passes} passes of one process per "
        f"row, the rows rotating; orders timed per process: {sdk.procs[0].orders:,}",
        "",
        "| client | CPU per order (median) | ÷ kalshi-sdk, pass by pass (median, quartiles) "
        "| less CPU than with the bookkeeping, pass by pass |",
        "|---|---:|---:|---:|",
    ]
    with_it: dict[str, Adapter] = {}
    for (kind, on), a in zip(KINDS, adapters, strict=True):
        cpu = us(statistics.median(pr.cpu_per_order() for pr in a.procs))
        mid, low, high = spread(paired_cpu(a, sdk))
        ratio = "1.00x" if a is sdk else f"{mid:.2f}x ({low:.2f}-{high:.2f})"
        saved = "—"
        if on:
            with_it[kind] = a
        else:
            full = {pr.index: pr.cpu_per_order() for pr in with_it[kind].procs}
            cuts = [1 - pr.cpu_per_order() / full[pr.index] for pr in a.procs]
            cut, cut_low, cut_high = spread(cuts)
            saved = f"{cut:.1%} ({cut_low:.1%} to {cut_high:.1%})"
        lines.append(f"| {a.name} | {cpu} | {ratio} | {saved} |")
    return lines


def child(kind: str, gw: GatewayView, orders: int, off: bool) -> dict[str, Any]:
    if off:
        features_off()
    import bench_latency

    return bench_latency.child_main(kind, gw, orders, 500)


def write_docs(lines: list[str]) -> None:
    """Write the table between this benchmark's markers in docs/maintainers/benchmarks.md."""
    write_block(BEGIN, END, lines)


def main(argv: list[str]) -> int:
    parser = arguments(__doc__ or "", "2 passes of 20 orders per process (smoke)")
    parser.add_argument("--orders", type=int, default=1000, help="orders per process")
    parser.add_argument("--procs", type=int, default=8, help="passes (processes per row)")
    parser.add_argument("--child", help="(internal) run one process of this kind")
    parser.add_argument("--gateway", help="(internal) the gateway of the run")
    parser.add_argument("--features-off", action="store_true", help="(internal) see the doc")
    args = parser.parse_args(argv)
    if args.child is not None:
        got = child(args.child, GatewayView.from_arg(args.gateway), args.orders, args.features_off)
        print(json.dumps(got))
        return 0
    missing = _kalshi_sdk.status()
    if missing is not None:
        print(f"needs kalshi-sdk, the ratios' peer: {missing} (bash scripts/bench-peers)")
        return 1
    orders, procs = (20, 2) if args.quick else (args.orders, max(2, args.procs))
    adapters = measure(orders, procs, log=lambda s: print(s, file=sys.stderr, flush=True))
    publish(report(adapters), BEGIN, END, args.write_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

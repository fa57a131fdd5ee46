"""Where an order's Python work goes, by package: bytecodes and calls per order, per adapter.

    .venv/bin/python benchmarks/bench_bytecodes.py [--kinds asyncio,trio] [--orders 20 120]

The flow of `bench_instructions.py` (order -> New -> cancel -> Canceled, each report waited
for, against the mock gateway in its own process), run by the asyncio and trio adapters'
children under a tracer (``sys.settrace`` with ``f_trace_opcodes``) that counts every bytecode
executed and every Python call, by the file's package: the event loop's own (``trio`` with
``outcome`` and ``sortedcontainers``; ``asyncio`` with ``selectors``), the library (core,
generated codecs, adapters), ``ssl`` / ``socket``, the rest of the standard library, the
benchmark's own loop. Per order = (run of B orders - run of A) / (B - A), as in
`bench_instructions.py`. A bytecode is not an instruction (C calls, TLS and the system calls
are not in it), so this says how the Python part divides, deterministically: what an adapter's
event loop costs per order beside the library's own work. The background reader of the trio
adapter is kept from looking during the run (its `idle_handoff` set to an hour): at native
speed it looks once per 50 ms, once per hundred orders or more, and under the tracer it would
look once per order or two. Run it with Python 3.11 (``.venv``): under 3.12's tracer the
opcode events of this tracer do not come (the counts read 0; the calls still count).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
STDLIB = sysconfig.get_paths()["stdlib"]
PACKAGES = (
    "event loop",
    "library: core",
    "library: generated codecs",
    "library: adapter",
    "ssl, socket",
    "other stdlib",
    "benchmark, other",
)


def _package_dirs(*names: str) -> tuple[str, ...]:
    """The directories of the installed packages ``names`` (those found), each ending in "/"."""
    dirs = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin is not None:
            dirs.append(os.path.dirname(spec.origin).replace(os.sep, "/") + "/")
    return tuple(dirs)


# the event loops' own code: by where it is installed (a checkout may sit under any directory
# name, e.g. a worktree named trio)
LOOP_DIRS = _package_dirs("trio", "outcome", "sortedcontainers", "asyncio")
SELECTORS = os.path.join(STDLIB, "selectors.py").replace(os.sep, "/")


def package(filename: str) -> str:
    """The row a code object's file counts in."""
    path = filename.replace(os.sep, "/")
    if "/kalshi_fix_sansio/" in path:
        inside = path.rpartition("/kalshi_fix_sansio/")[2]
        if "_generated/" in inside:
            return "library: generated codecs"
        if inside.startswith("adapters/"):
            return "library: adapter"
        return "library: core"
    if path.startswith(LOOP_DIRS) or path == SELECTORS:
        return "event loop"
    if path.endswith(("/ssl.py", "/socket.py")):
        return "ssl, socket"
    if path.startswith(STDLIB.replace(os.sep, "/")) and "site-packages" not in path:
        return "other stdlib"
    return "benchmark, other"


def child(kind: str, orders: int, target: str) -> dict[str, Any]:
    """Run the flow under the tracer; the counts by package."""
    import threading

    from bench_instructions import Target, run_ours

    codes: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    where: dict[str, str] = {}
    by_file = os.environ.get("BENCH_BYTECODES_BY_FILE") == "1"

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        name = frame.f_code.co_filename
        row = where.get(name)
        if row is None:
            row = where[name] = name if by_file else package(name)
        if event == "call":
            calls[row] += 1
        frame.f_trace_opcodes = True

        def local(frame: Any, event: str, arg: Any) -> Any:
            if event == "opcode":
                codes[row] += 1
            return local

        return local

    port, cert, key_id, key_path, base = target.split(",")
    t = Target(int(port), cert, key_id, key_path, int(base))
    threading.settrace(tracer)
    sys.settrace(tracer)
    try:
        run_ours(kind, orders, t, handoff_scale=72_000.0)  # 0.05 s -> an hour: no look
    finally:
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]
    return {"codes": dict(codes), "calls": dict(calls)}


def main(argv: list[str] | None = None) -> int:
    import _kalshi_sdk
    from _gateway import Gateway

    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--kinds", default="asyncio,trio")
    ap.add_argument("--orders", type=int, nargs=2, default=(20, 120))
    ap.add_argument("--child", nargs=3, metavar=("KIND", "ORDERS", "TARGET"))
    ap.add_argument("--by-file", action="store_true", help="rows by file, the 30 largest")
    args = ap.parse_args(argv)
    if args.by_file:
        os.environ["BENCH_BYTECODES_BY_FILE"] = "1"
    if args.child:
        kind, orders, target = args.child
        print(json.dumps(child(kind, int(orders), target)))
        return 0
    lo, hi = args.orders
    kinds = args.kinds.split(",")
    per: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-bytecodes-") as tmp:
        keys, own_key, _ = _kalshi_sdk.gateway_keys(Path(tmp))
        gw = Gateway(keys, own_key)
        try:
            for kind in kinds:
                runs = []
                for n in (lo, hi):
                    target = (
                        f"{gw.ports['KalshiNR']},{gw.cert},{gw.key_id},{gw.key_path},"
                        f"{uuid.uuid4().int}"
                    )
                    cmd = [sys.executable, str(HERE), "--child", kind, str(n), target]
                    env = dict(os.environ, PYTHONHASHSEED="0")
                    done = subprocess.run(
                        cmd, env=env, capture_output=True, text=True, check=False, timeout=1800
                    )
                    if done.returncode != 0:
                        raise RuntimeError(f"{kind}: {done.stderr[-2000:]}")
                    runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                rows = PACKAGES
                if args.by_file:
                    rows = tuple(sorted(set(runs[1]["codes"]) | set(runs[0]["codes"])))
                per[kind] = {
                    what: {
                        row: (runs[1][what].get(row, 0) - runs[0][what].get(row, 0)) / (hi - lo)
                        for row in rows
                    }
                    for what in ("codes", "calls")
                }
        finally:
            gw.close()
    head = " | ".join(f"{k}: bytecodes | {k}: calls" for k in kinds)
    print(f"| package | {head} |")
    print("|---|" + "---:|" * (2 * len(kinds)))
    shown: list[str] = list(PACKAGES)
    if args.by_file:
        largest = Counter(
            {
                r: max(abs(per[k]["codes"].get(r, 0)) for k in kinds)
                for r in {r for k in kinds for r in per[k]["codes"]}
            }
        )
        shown = [r for r, _ in largest.most_common(30)]
    for row in (*shown, "total"):
        cells = []
        for k in kinds:
            for what in ("codes", "calls"):
                value = sum(per[k][what].values()) if row == "total" else per[k][what].get(row, 0)
                cells.append(f"{value:,.0f}")
        print(f"| {row} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

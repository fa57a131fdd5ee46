"""A change to the per-order path judged in instructions (or, with ``--tool strace``, system
calls): `bench_instructions.py`'s child run under callgrind (or strace) with the code before
(another tree's ``src`` first on the path, its ``adapters`` as the package's adapters) and after
(this checkout), alternating, against one gateway.

    git archive REV src adapters | tar -x -C /tmp/before
    .venv/bin/python benchmarks/ab_instructions.py /tmp/before [--kinds blocking,asyncio,trio]
        [--rounds 2] [--orders 20 120]

Each round runs, per kind, before then after (the next round after then before), each side's
two order counts back to back; a figure per order is (run of B - run of A) / (B - A) as in
`bench_instructions.py` (whose `traced_run` scales the sessions' `idle_handoff` by callgrind's
slowdown). Kind ``kalshi-sdk`` (Python >= 3.12 with it installed) is counted once per round,
for the ratios. Both sides' bytecode is compiled once first, outside the counts (`compile_once`).
Prints every run, then per kind each side's mean and the change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from bench_instructions import Target, traced_run


def before_src(tree: Path) -> Path:
    """The directory to put first on the path for the code before: ``tree/src``, whose package
    also finds its adapters there. The editable install maps ``kalshi_fix_sansio.adapters`` to
    this checkout's ``adapters/``, which Python's path search would otherwise fall back to
    (the "before" side measured with the adapters after): a tree whose package has no
    ``adapters`` gets a link to ``tree/adapters``.

    Raises:
        ValueError: ``tree`` has no ``src/kalshi_fix_sansio``, or neither that package nor
            ``tree`` has the adapters.
    """
    package = tree / "src" / "kalshi_fix_sansio"
    if not package.is_dir():
        raise ValueError(f"{tree}: no src/kalshi_fix_sansio (git archive REV src adapters)")
    inside = package / "adapters"
    if not inside.exists():
        if not (tree / "adapters").is_dir():
            raise ValueError(f"{tree}: no adapters/ (git archive REV src adapters)")
        inside.symlink_to(tree / "adapters", target_is_directory=True)
    return tree / "src"


def compile_once(*trees: Path) -> None:
    """Write the cached bytecode of every module under ``trees``, whatever
    ``PYTHONDONTWRITEBYTECODE`` says. Otherwise the first run of a side whose modules have none
    (a freshly exported tree) compiles what it imports, in its smaller order count only: the
    side's figure per order comes out lower by that compile (65k instructions per order seen)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cmd = [sys.executable, "-m", "compileall", "-q", *map(str, trees)]
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    import _kalshi_sdk
    from _gateway import Gateway

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path, help="a tree whose src and adapters are the code before")
    ap.add_argument("--kinds", default="blocking,asyncio,trio")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--orders", type=int, nargs=2, default=(20, 120))
    ap.add_argument(
        "--tool",
        choices=("callgrind", "strace"),
        default="callgrind",
        help="count instructions (callgrind) or system calls (strace -f -c)",
    )
    args = ap.parse_args(argv)

    def fmt(x: float) -> str:
        return f"{x / 1000:,.1f}k" if args.tool == "callgrind" else f"{x:.2f}"

    lo, hi = args.orders
    here = os.environ.get("PYTHONPATH", "")
    try:
        src = before_src(args.before.resolve())
    except ValueError as exc:
        ap.error(str(exc))
    before = os.pathsep.join([str(src), here]).rstrip(os.pathsep)
    compile_once(src, Path(__file__).resolve().parent.parent / "src")
    kinds = args.kinds.split(",")
    got: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="ab-instructions-") as tmp:
        keys, own_key, sdk_key = _kalshi_sdk.gateway_keys(Path(tmp))
        gw = Gateway(keys, own_key)
        try:
            for r in range(args.rounds):
                for kind in kinds:
                    sides = [("before", before), ("after", here)]
                    if kind == "kalshi-sdk":
                        sides = [("after", here)]  # not ours: the same on both sides
                    for side, path in sides if r % 2 == 0 else sides[::-1]:
                        os.environ["PYTHONPATH"] = path
                        counts = []
                        key_id, key_path = (
                            (_kalshi_sdk.SDK_KEY_ID, str(sdk_key))
                            if kind == "kalshi-sdk"
                            else (gw.key_id, gw.key_path)
                        )
                        for n in (lo, hi):
                            t = Target(
                                gw.ports["KalshiNR"], gw.cert, key_id, key_path, uuid.uuid4().int
                            )
                            out = Path(tmp) / "cg.out"
                            got_n = traced_run(args.tool, kind, n, t, out)
                            # strace counts (system calls, futex): the system calls
                            counts.append(got_n[0] if isinstance(got_n, tuple) else got_n)
                        per = (counts[1] - counts[0]) / (hi - lo)
                        got.setdefault((kind, side), []).append(per)
                        print(f"round {r + 1} {kind} {side}: {fmt(per)}", flush=True)
        finally:
            os.environ["PYTHONPATH"] = here
            gw.close()
    print(f"load average {os.getloadavg()[0]:.1f}")
    sdk = statistics.mean(got["kalshi-sdk", "after"]) if "kalshi-sdk" in kinds else None
    for kind in kinds:
        if kind == "kalshi-sdk":
            runs = ", ".join(fmt(x) for x in got[kind, "after"])
            print(f"kalshi-sdk: {fmt(sdk)} ({runs})" if sdk else "")
            continue
        b = statistics.mean(got[kind, "before"])
        a = statistics.mean(got[kind, "after"])
        print(
            f"{kind}: before {fmt(b)} ({', '.join(fmt(x) for x in got[kind, 'before'])}) "
            f"-> after {fmt(a)} ({', '.join(fmt(x) for x in got[kind, 'after'])}): "
            f"{(a / b - 1) * 100:+.1f} %"
            + (f"; to kalshi-sdk {b / sdk:.3f}x -> {a / sdk:.3f}x" if sdk else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

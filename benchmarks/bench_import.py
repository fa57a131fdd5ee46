"""Start-up: what importing a client costs, beside kalshi-sdk's, in the same run.

    .venv-peers/bin/python benchmarks/bench_import.py [--quick] [--write-docs]

(``bash scripts/bench-peers`` runs it with kalshi-sdk installed; without it, our rows alone.)

Each row is a fresh interpreter running one import statement under ``valgrind
--tool=callgrind``: its instructions less those of an interpreter that imports nothing, the
median of the rounds (the bytecode compiled before, as a program's second start, or as
``pip install`` leaves a package, whatever ``PYTHONDONTWRITEBYTECODE`` says). Peer:
kalshi-sdk's ``from kalshi.fix import FixClient`` (its asyncio client). Ours: each adapter's
``FixClient``; then the same with the prediction dialect loaded, which a prediction program
has by its first session (each dialect is loaded on first use: `_dialects`); then with both,
what every client import loaded before the dialects were made lazy. The modules column counts
``sys.modules`` after the statement less before it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import _kalshi_sdk
from _docs import arguments, publish
from _traced import counted, tools_missing, traced

BEGIN = "<!-- import-results -->"
END = "<!-- /import-results -->"
SDK = "from kalshi.fix import FixClient"
PREDICTION = "import kalshi_fix_sansio.codec.prediction"
BOTH = "import kalshi_fix_sansio.codec.prediction, kalshi_fix_sansio.codec.margin"


def client(adapter: str) -> str:
    return f"from kalshi_fix_sansio.adapters.{adapter} import FixClient"


def adapters() -> list[str]:
    try:
        import trio  # noqa: F401
    except ImportError:  # pragma: no cover - trio extra not installed
        return ["blocking", "asyncio"]
    return ["blocking", "asyncio", "trio"]


def rows(with_sdk: bool) -> list[tuple[str, str]]:
    """(label, statement) of every row; the empty statement first (the interpreter alone)."""
    out = [("interpreter alone", "pass")]
    if with_sdk:
        out.append((f"{_kalshi_sdk.label()}: `{SDK}`", SDK))
    for a in adapters():
        out.append((f"kalshi-fix-sansio {a}: `{client(a)}`", client(a)))
    for a in adapters():
        out.append(
            (f"kalshi-fix-sansio {a} + the prediction dialect", f"{client(a)}; {PREDICTION}")
        )
    out.append(
        (
            "kalshi-fix-sansio blocking + both dialects (every import, before)",
            f"{client('blocking')}; {BOTH}",
        )
    )
    return out


def modules(statement: str) -> int:
    probe = f"import sys; n = len(sys.modules); {statement}; print(len(sys.modules) - n)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


def instructions(statement: str, out: Path) -> int:
    cmd, env = traced("callgrind", [sys.executable, "-c", statement], out)
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    got = counted("callgrind", out)
    assert isinstance(got, int)
    return got


def measure(rounds: int) -> list[tuple[str, str, float, int]]:
    """(label, statement, instructions less the interpreter's, modules) of every row."""
    table = rows(_kalshi_sdk.status() is None)
    counts: dict[str, list[int]] = {s: [] for _, s in table}
    # compile the bytecode once, outside the counts, as installing a package does (pip writes
    # every module's .pyc): with PYTHONDONTWRITEBYTECODE set, every counted start would compile
    # our source again while the peer, installed by pip, reads its cached bytecode
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for _, statement in table:
        subprocess.run([sys.executable, "-c", statement], check=True, env=env)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        for _ in range(rounds):
            for _, statement in table:
                counts[statement].append(instructions(statement, out))
    alone = statistics.median(counts["pass"])
    return [(label, s, statistics.median(counts[s]) - alone, modules(s)) for label, s in table[1:]]


def report(measured: list[tuple[str, str, float, int]], rounds: int) -> list[str]:
    sdk = next((m for m in measured if m[1] == SDK), None)
    lines = [
        f"Python {sys.version.split()[0]}; callgrind, median of {rounds} fresh interpreters per "
        "row, the interpreter alone subtracted",
        "",
        "| import | instructions | x kalshi-sdk's | modules loaded |",
        "|---|---:|---:|---:|",
    ]
    for label, _, count, mods in measured:
        rel = f"{count / sdk[2]:.2f}x" if sdk is not None else "—"
        lines.append(f"| {label} | {count / 1e6:.1f}M | {rel} | {mods} |")
    lines.append("")
    if sdk is None:
        why = _kalshi_sdk.status()
        lines.append(
            "* project target: importing a client <= kalshi-sdk's instructions, every adapter: "
            f"not compared ({why}) — not compared"
        )
        return lines
    by = {s: count for _, s, count, _ in measured}
    plain = {a: by[client(a)] / sdk[2] for a in adapters()}
    dialect = {a: by[f"{client(a)}; {PREDICTION}"] / sdk[2] for a in adapters()}

    def said(figures: dict[str, float]) -> str:
        held = "held" if all(v <= 1.0 for v in figures.values()) else "NOT held"
        return ", ".join(f"{a} {v:.2f}x" for a, v in figures.items()) + f" — {held}"

    lines.append(
        "* project target: importing a client <= kalshi-sdk's instructions, every adapter: "
        + said(plain)
    )
    lines.append(
        "* with the prediction dialect loaded (a prediction program by its first session): "
        + said(dialect)
    )
    return lines


def main(argv: list[str]) -> int:
    parser = arguments(__doc__ or "", "one round (a smoke test)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if "callgrind" in tools_missing():
        print(f"bench_import: {tools_missing()['callgrind']}: nothing measured")
        return 0
    rounds = 1 if args.quick else args.rounds
    publish(report(measure(rounds), rounds), BEGIN, END, args.write_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

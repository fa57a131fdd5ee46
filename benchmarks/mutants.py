"""Mutation testing of the simulation testing: does ``kalshi-fix simulate`` find real bugs?

    .venv/bin/python benchmarks/mutants.py [--seeds 1000] [--jobs 2] [--only NAME,...] [--write]

Each mutant (`MUTANTS`) is a small patch of the library that puts back a realistic defect of
the kind this project has had (a report dropped after a reconnect, a resend past a kill, a
limit off by one...): a file under ``src/kalshi_fix_sansio``, an exact text that must occur in
it once, the text that replaces it, and a line saying what bug it is. For each mutant the
harness copies ``src/`` to a temporary directory, applies the patch there (a text that is not
found exactly once fails at once, naming the mutant: mutants do not rot silently as the code
changes), and runs the schedules ``kalshi-fix simulate`` runs (every kind, each seed's own API
and product: `generate(seed)`) on seeds 0, 1, 2... up to ``--seeds`` in a subprocess whose
``PYTHONPATH`` is the copy, stopping at the first run that breaks a promise. ``--jobs``
mutants run at once. It prints one row per mutant: found or not, the seeds run to the first
failure, the promise broken, and the CPU seconds; ``--write`` puts the table in
docs/simulation-testing.md (between its ``mutants-table`` markers). The exit status is 1 when
a mutant was not found within the budget (a missing invariant or workload), else 0.

    .venv/bin/python benchmarks/mutants.py --hunt FIRST END

is the subprocess's side (the package on ``PYTHONPATH``): one JSON line, the first failing seed
of FIRST..END-1 (or none), its promise, the runs made and their CPU seconds.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
DOC = ROOT / "docs" / "simulation-testing.md"
MARKERS = ("<!-- mutants-table -->", "<!-- /mutants-table -->")
PACKAGE = "kalshi_fix_sansio"


@dataclass(frozen=True)
class Mutant:
    """A defect put back: ``old`` (exactly once in ``path``, under ``src/kalshi_fix_sansio``)
    becomes ``new``; ``what`` says what bug it is."""

    name: str
    path: str
    old: str
    new: str
    what: str


class MutantRotted(Exception):
    """A mutant's text is not in its file exactly once (the code changed: update the mutant)."""


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "report-dropped-after-reconnect",
        "client/_desk.py",
        "        self._put(event, now)\n        tracker = self.tracker\n",
        "        self._put(event, now)\n        if new:\n            return\n"
        "        tracker = self.tracker\n",
        "a report the catch-up recovers after a reconnect is queued but never tracked",
    ),
    Mutant(
        "resend-past-a-kill",
        "trading/gate.py",
        "        elif msg_type not in HALTED_MSG_TYPES or self.halted is None:\n",
        "        elif True:\n",
        "a stored order a ResendRequest asks for is resent while the session is halted",
    ),
    Mutant(
        "gap-fill-not-advancing",
        "session/_inbound.py",
        "            if new > seq:\n                store.set_next_target_seq(new)\n",
        "            if new > seq:\n                store.set_next_target_seq(seq + 1)\n",
        "a SequenceReset-GapFill moves the receiver one number on, not to its NewSeqNo",
    ),
    Mutant(
        "fill-counted-twice",
        "trading/tracker.py",
        "        if key in seen:\n            return\n        orig = v[_ORIG_CL_ORD_ID]\n",
        '        if key in seen and exec_type != "F":\n            return\n'
        "        orig = v[_ORIG_CL_ORD_ID]\n",
        "a fill report seen again (a PossDup resend, a replay) is counted again",
    ),
    Mutant(
        "kill-done-without-cancels-on-rt",
        "trading/killswitch.py",
        "            return False\n        return not self.tracker.open_orders()\n",
        "            return False\n"
        "        return not self.can_mass_cancel or not self.tracker.open_orders()\n",
        "KalshiRT's kill (no mass cancel there) reports done before its cancels are answered",
    ),
    Mutant(
        "store-one-behind",
        "session/filestore.py",
        "        self._gen, self._sender, self._target = gen, sender, target\n",
        "        self._gen, self._sender, self._target = gen, max(sender - 1, 1), target\n",
        "a reopened store hands out its last sender MsgSeqNum again",
    ),
    Mutant(
        "order-qty-limit-off-by-one",
        "trading/risk.py",
        "        if lim is not None and qty > lim and qty > old_qty:\n",
        "        if lim is not None and qty > lim + 1 and qty > old_qty:\n",
        "the order quantity limit lets an order one contract over it through",
    ),
    Mutant(
        "event-limit-off-by-one",
        "trading/_eventrisk.py",
        "        if after > limit and after > before:\n",
        "        if after > limit + 1 and after > before:\n",
        "an event limit refuses only what takes the worst outcome a dollar past it",
    ),
    Mutant(
        "reduce-only-skipped-on-replace",
        "trading/_tradingstate.py",
        "            new = qty - target.cum_qty\n            if new <= chain:\n",
        "            new = qty - target.cum_qty\n            if True:\n",
        "reduce-only (and an unknown outcome) lets every replace through, one that grows too",
    ),
    Mutant(
        "reduce-only-skipped-on-orders",
        "trading/_tradingstate.py",
        "            if state is TradingState.REDUCE_ONLY and not self._shrinks(",
        "            if False and not self._shrinks(",
        "reduce-only refuses nothing: an order that grows the position goes",
    ),
    Mutant(
        "dead-man-not-rechecked-on-send",
        "trading/gate.py",
        "        if now >= self._dead_man.deadline:  # the one comparison on the order path\n",
        "        if False:  # the one comparison on the order path\n",
        "an order sent past the dead man's deadline, before its timer ran, goes out",
    ),
    Mutant(
        "unknown-outcome-not-blocking",
        "trading/_tradingstate.py",
        "            why = None if unknown is None else unknown.why(symbol)\n",
        "            why = None\n",
        "an order whose outcome is unknown does not block growing orders in its market",
    ),
    Mutant(
        "restart-with-orders-unnamed",
        "client/_desk.py",
        "            if unknown and not reconnect and problem is None:",
        "            if unknown and reconnect and problem is None:",
        "a restart with open orders and no ExecID to resume from says nothing (OrdersUnknown)",
    ),
    Mutant(
        "reset-connection-kept",
        "client/_loop.py",
        "        if self._open:\n            self._lose(now, fact.reason)",
        "        if False:\n            self._lose(now, fact.reason)",
        "a failed read (a reset) is ignored: the dead connection is kept, never reconnected",
    ),
    Mutant(
        "quotes-past-a-halt",
        "trading/gate.py",
        'HALTED_MSG_TYPES: Final = frozenset({"D", "G", "S", "UA", "U7", "R"})',
        'HALTED_MSG_TYPES: Final = frozenset({"D", "G"})',
        "a halt refuses orders and replaces only: a killed maker still quotes and confirms",
    ),
    Mutant(
        "subscriptions-forgotten",
        "client/supervisor.py",
        "        self._resubscribe_at = None\n        while self._resubscribe:\n",
        "        self._resubscribe_at = None\n        self._resubscribe.clear()\n"
        "        while self._resubscribe:\n",
        "a reconnect forgets the market-data subscriptions it was asked to send again",
    ),
    Mutant(
        "logons-spaced-too-close",
        "client/_logons.py",
        "        self.interval = 1.0 / rate + self.margin + LOGON_SPACING_SLACK\n",
        "        self.interval = 0.9 / rate\n",
        "an account's sessions space their Logons under the exchange's one a second",
    ),
)
"""The mutants, each a defect of the kind this library has had (see the module docstring)."""


def mutant(name: str) -> Mutant:
    """The mutant of that name (KeyError: none)."""
    for m in MUTANTS:
        if m.name == name:
            return m
    raise KeyError(name)


def apply(m: Mutant, src: Path) -> None:
    """Patch the copy of ``src/`` at ``src`` with ``m``.

    Raises:
        MutantRotted: its text is not in its file exactly once.
    """
    path = src / PACKAGE / m.path
    text = path.read_text(encoding="utf-8")
    count = text.count(m.old)
    if count != 1:
        raise MutantRotted(
            f"mutant {m.name}: its text is in src/{PACKAGE}/{m.path} {count} times, not once "
            f"(the code changed: update the mutant): {m.old.strip()[:70]!r}"
        )
    path.write_text(text.replace(m.old, m.new), encoding="utf-8")


def mutated_copy(m: Mutant, into: Path) -> Path:
    """A copy of ``src/`` in ``into`` with ``m`` applied; its path (a ``PYTHONPATH``)."""
    src = into / "src"
    shutil.copytree(SRC, src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    apply(m, src)
    return src


@dataclass(frozen=True)
class Hunt:
    """What running a mutant's seeds found: the first failing seed (None: none), the promise
    it broke, the runs made and their CPU seconds."""

    seed: int | None
    invariant: str | None
    detail: str | None
    runs: int
    cpu_seconds: float


def hunt(m: Mutant, first: int, end: int) -> Hunt:
    """Run seeds ``first``..``end - 1`` against the library with ``m`` applied (a
    subprocess), stopping at the first failure."""
    with tempfile.TemporaryDirectory(prefix=f"mutant-{m.name}-") as tmp:
        src = mutated_copy(m, Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(
            [sys.executable, __file__, "--hunt", str(first), str(end)],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"mutant {m.name}: the hunt failed:\n{done.stderr[-2000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return Hunt(**found)


def _hunt_here(first: int, end: int) -> dict[str, object]:
    """The subprocess's side: the package on ``PYTHONPATH`` (checked), its seeds run."""
    import kalshi_fix_sansio
    from kalshi_fix_sansio.simulator.testing.dst import generate, run

    where = Path(kalshi_fix_sansio.__file__).resolve()
    wanted = Path(os.environ["PYTHONPATH"]).resolve()
    if wanted not in where.parents:
        raise SystemExit(f"imported {where}, not the mutated copy under {wanted}")
    started = time.process_time()
    for seed in range(first, end):
        outcome = run(generate(seed))
        violation = outcome.violation
        if violation is not None:
            cpu = time.process_time() - started
            return dict(
                seed=seed,
                invariant=violation.invariant,
                detail=violation.detail[:200],
                runs=seed - first + 1,
                cpu_seconds=cpu,
            )
    return dict(
        seed=None,
        invariant=None,
        detail=None,
        runs=end - first,
        cpu_seconds=time.process_time() - started,
    )


def table(found: list[tuple[Mutant, Hunt]], budget: int) -> list[str]:
    """The Markdown table of a run of the mutants."""
    lines = [
        "| mutant | the bug | found | seeds run | promise broken | CPU s |",
        "|---|---|---|---:|---|---:|",
    ]
    for m, h in found:
        verdict = f"seed {h.seed}" if h.seed is not None else f"**not in {budget:,}**"
        lines.append(
            f"| `{m.name}` | {m.what} | {verdict} | {h.runs:,} | {h.invariant or '-'} | "
            f"{h.cpu_seconds:.1f} |"
        )
    return lines


def write(lines: list[str]) -> None:
    """Put the table in docs/simulation-testing.md, between its markers."""
    text = DOC.read_text(encoding="utf-8")
    begin, end = MARKERS
    start, stop = text.index(begin) + len(begin), text.index(end)
    DOC.write_text(text[:start] + "\n" + "\n".join(lines) + "\n" + text[stop:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=1000, help="seeds per mutant (1000)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants at once (2)")
    parser.add_argument("--only", help="these mutants (NAME,NAME)")
    parser.add_argument("--write", action="store_true", help="the table into the docs page")
    parser.add_argument("--hunt", nargs=2, type=int, metavar=("FIRST", "END"))
    args = parser.parse_args(argv)
    if args.hunt is not None:
        print(json.dumps(_hunt_here(*args.hunt)))
        return 0
    chosen = list(MUTANTS)
    if args.only:
        try:
            chosen = [mutant(name) for name in args.only.split(",") if name]
        except KeyError as exc:
            parser.error(f"--only: no mutant {exc.args[0]!r}")
    for m in chosen:  # every one applies before any runs
        with tempfile.TemporaryDirectory() as tmp:
            mutated_copy(m, Path(tmp))
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(hunt, m, 0, args.seeds) for m in chosen]
        found = [(m, f.result()) for m, f in zip(chosen, futures, strict=True)]
    lines = table(found, args.seeds)
    print("\n".join(lines))
    missed = [m.name for m, h in found if h.seed is None]
    cpu = sum(h.cpu_seconds for _, h in found)
    print(
        f"{len(found) - len(missed)} of {len(found)} mutants found within {args.seeds:,} seeds; "
        f"{cpu:.1f} CPU s, {time.perf_counter() - started:.0f} s wall"
    )
    if missed:
        print(f"not found: {', '.join(missed)}")
    if args.write:
        write(lines)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())

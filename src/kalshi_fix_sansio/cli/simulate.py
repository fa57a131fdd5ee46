"""``kalshi-fix simulate``: deterministic simulation testing from the shell.

Runs the generated fault schedule of each seed (``--seeds FIRST:END``, or ``--runs N`` from
``--first``) against the mock exchange in memory (`kalshi_fix_sansio.simulator.testing.dst`), on
``--jobs`` local processes or a Dask cluster (``--engine dask``), and prints a summary line
(runs, failures, runs per CPU second); each failure prints its seed, the promise it broke, the
command that replays it and, unless ``--no-shrink``, its shrunk schedule and that one's
command. ``--schedule TEXT`` runs one schedule (what those commands print), showing its steps
and the digest of its bytes. ``--out DIR`` (a nightly run) runs the seeds in chunks of
``--chunk`` seeds, each recorded in DIR as it ends, with a summary there (``summary.txt``,
``summary.json``); the same command again resumes where a run cut off stopped.

Exit status: 0 every run kept every promise, 1 a run broke one, 2 usage error.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import IO, Any, Final

from ..codec.errors import LocalProtocolError
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, emit

__all__ = ["add_simulate_parser", "seeds_joined", "simulate_command"]

_ADDRESS: Final = re.compile(r"(?:[a-z]+://)?(?:\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):\d{1,5}")
"""A Dask scheduler's address: ``[scheme://]host:port`` (``tcp://10.0.0.5:8786``)."""


def seeds_joined(argv: Sequence[str]) -> list[str]:
    """``argv`` with a ``--seeds`` value that starts with ``-`` joined to its option
    (``--seeds -5:10`` -> ``--seeds=-5:10``): argparse would take ``-5:10`` for an option and
    say only "expected one argument"; joined, the range is judged and refused by its rule."""
    out = list(argv)
    for i in range(len(out) - 1):
        if out[i] == "--seeds" and out[i + 1].startswith("-") and out[i + 1][1:2].isdigit():
            out[i : i + 2] = [f"--seeds={out[i + 1]}"]
            break
    return out


def add_simulate_parser(sub: Any) -> None:
    """Add ``kalshi-fix simulate``."""
    parser = sub.add_parser(
        "simulate",
        description="Run the client against the mock exchange in one process on a simulated "
        "clock, under a random workload and random faults drawn from each seed, checking the "
        "library's promises (no fill lost, nothing past a kill, sessions back after the "
        "faults...). A failing run prints the command that replays it and a shrunk schedule.",
        epilog="exit status: 0 every promise kept in every run, 1 a run broke one (its seed "
        "and replay command printed), a Dask scheduler could not be reached or --out could not "
        "be written, 2 usage error",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--seeds", metavar="FIRST:END", help="the seeds FIRST to END-1")
    which.add_argument("--runs", type=int, help="how many seeds, from --first (default 100)")
    which.add_argument("--schedule", metavar="TEXT", help="run this one schedule")
    parser.add_argument("--first", type=int, default=0, help="the first seed of --runs")
    parser.add_argument("--steps", type=int, default=30, help="steps per schedule (30)")
    parser.add_argument(
        "--kinds", metavar="KIND,KIND", help="draw only these step kinds (default: all)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (1)")
    parser.add_argument("--engine", choices=("local", "dask"), default="local")
    parser.add_argument("--address", help="the Dask scheduler (default: a local cluster)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="run in chunks, each recorded in DIR with a summary (summary.txt); run again, "
        "it resumes with the seeds no chunk of DIR ran",
    )
    parser.add_argument("--chunk", type=int, help="seeds per chunk of --out (10000)")
    parser.add_argument(
        "--no-shrink", action="store_true", help="print failures without shrinking them"
    )
    parser.add_argument(
        "--max-failures", type=int, default=3, help="shrink and show at most this many (3)"
    )


def _seeds(args: argparse.Namespace) -> range:
    if args.seeds is not None:
        match = re.fullmatch(r"(-?\d+):(-?\d+)", args.seeds)
        if match is None:
            raise LocalProtocolError(
                f"--seeds must be FIRST:END (two whole numbers), got {args.seeds!r}"
            )
        first, end = int(match.group(1)), int(match.group(2))
        if first < 0:
            raise LocalProtocolError(
                f"--seeds: FIRST must be >= 0 in FIRST:END (seeds are never negative), "
                f"got {args.seeds!r}"
            )
        if first >= end:
            raise LocalProtocolError(f"--seeds: FIRST must be < END, got {args.seeds!r}")
        return range(first, end)
    runs = 100 if args.runs is None else args.runs
    if runs < 1 or args.first < 0:
        raise LocalProtocolError("--runs must be >= 1 and --first >= 0")
    return range(args.first, args.first + runs)


def simulate_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix simulate`` (see the module docstring)."""
    from ..simulator.testing import dst

    try:
        kinds = None if args.kinds is None else [k for k in args.kinds.split(",") if k]
        if args.max_failures < 0:
            raise LocalProtocolError("--max-failures must be >= 0")
        if args.schedule is not None:
            if args.out is not None:
                raise LocalProtocolError("--out records ranges of seeds: not with --schedule")
            schedule = dst.Schedule.parse(args.schedule)
            return _one(dst, schedule, args, out)
        seeds = _seeds(args)
        dst.generate(0, steps=args.steps, kinds=kinds)  # bad arguments: before any work
        if args.address is not None and args.engine != "dask":
            raise LocalProtocolError("--address is a Dask scheduler's: add --engine dask")
        if args.address is not None and not _ADDRESS.fullmatch(args.address):
            raise LocalProtocolError(
                f"--address {args.address!r} is not a Dask scheduler's address: "
                "[SCHEME://]HOST:PORT, e.g. tcp://10.0.0.5:8786"
            )
        if args.jobs < 1:
            raise LocalProtocolError("--jobs must be >= 1")
        if args.chunk is not None and args.out is None:
            raise LocalProtocolError("--chunk is a chunk of --out: add --out DIR")
        if args.chunk is not None and args.chunk < 1:
            raise LocalProtocolError("--chunk must be >= 1")
        if args.out is not None:  # a directory of other runs: refused before any work
            dst.explore_chunks(seeds[:0], args.out, steps=args.steps, kinds=kinds)
    except LocalProtocolError as exc:
        emit(err, f"kalshi-fix simulate: {exc}")
        return EXIT_USAGE
    except OSError as exc:  # --out cannot be made or read
        emit(err, f"kalshi-fix simulate: --out {args.out}: {exc.strerror or exc}")
        return EXIT_USAGE
    options: dict[str, Any] = dict(
        steps=args.steps, kinds=kinds, jobs=args.jobs, engine=args.engine
    )
    try:
        if args.out is None:
            found = dst.explore(seeds, address=args.address, **options)
        else:
            if args.chunk is not None:
                options["chunk"] = args.chunk

            def chunk_done(chunk: range, ran: Any) -> None:
                emit(
                    out,
                    f"seeds {chunk.start}:{chunk.stop}: {ran.runs} run(s), "
                    f"{len(ran.failures)} failed; {ran.cpu_seconds:.1f} CPU s",
                )

            found = dst.explore_chunks(
                seeds,
                args.out,
                address=args.address,
                on_chunk=chunk_done,
                **options,
            )
    except LocalProtocolError as exc:  # a Dask scheduler that cannot be reached
        emit(err, f"kalshi-fix simulate: {exc}")
        return EXIT_FAILED
    except OSError as exc:  # a chunk or the summary of --out could not be written
        emit(err, f"kalshi-fix simulate: --out {args.out}: {exc.strerror or exc}")
        return EXIT_FAILED
    emit(
        out,
        f"{found.runs} run(s), {len(found.failures)} failed; {found.cpu_seconds:.1f} CPU s "
        f"({found.runs_per_cpu_second:.1f} runs per CPU second), "
        f"{found.simulated / 3600:.1f} simulated hours",
    )
    if args.out is not None:
        emit(out, f"(every chunk of {args.out}; its summary: {args.out}/{dst.SUMMARY_FILE})")
    for outcome in found.failures[: args.max_failures]:
        _show_failure(dst, outcome, args, out)
    if len(found.failures) > args.max_failures:
        more = ", ".join(str(o.schedule.seed) for o in found.failures[args.max_failures :])
        emit(out, f"more failing seeds: {more}")
    return EXIT_FAILED if found.failures else EXIT_OK


def _show_failure(dst: Any, outcome: Any, args: argparse.Namespace, out: IO[str]) -> None:
    emit(out, f"seed {outcome.schedule.seed}: {outcome.violation.text}")
    emit(out, f"  replay: {outcome.command}")
    if not args.no_shrink:
        small = dst.shrink(outcome)
        emit(out, f"  shrunk to {len(small.schedule.steps)} step(s): {small.violation.text}")
        emit(out, f"  replay: {small.command}")


def _one(dst: Any, schedule: Any, args: argparse.Namespace, out: IO[str]) -> int:
    outcome = dst.run(schedule)
    for n, step in enumerate(schedule.steps):
        mark = "  <- failed here" if outcome.violation and outcome.violation.step == n else ""
        emit(out, f"{n:3d} {step.text}{mark}")
    emit(
        out,
        f"digest {outcome.digest}; {outcome.frames} frames, {outcome.simulated:.1f} simulated s",
    )
    if outcome.ok:
        emit(out, "ok: every promise kept")
        return EXIT_OK
    emit(out, f"FAILED: {outcome.violation.text}")
    if not args.no_shrink and len(schedule.steps) > 1:
        small = dst.shrink(outcome)
        emit(out, f"shrunk to {len(small.schedule.steps)} step(s): {small.command}")
    return EXIT_FAILED

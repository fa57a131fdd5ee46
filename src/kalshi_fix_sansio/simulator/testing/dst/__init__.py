"""Deterministic simulation testing: the whole client against the mock exchange, under faults.

A seed makes a `Schedule` (`generate`): a random workload (orders, replaces, cancels, kills and
rearms, house liquidity that fills, crash-restarts of the client from its message log and
store, a second session of the account, market-data subscriptions, RFQ quotes the account
makes as a market maker) interleaved with faults at the byte and connection
level, both ways (drops, resets in the middle of a frame, stalls past the heartbeat, slow
writes, duplicated and garbled frames, sequence gaps, refused Logons, key outages, rate-limit
rejects, maintenance windows, restarts of the gateway, REST errors and delays, jumps of the
clock). `run` plays it in a `Simulation <kalshi_fix_sansio.simulator.world.simulation.
Simulation>` (the client and the mock gateway in one process, on a simulated clock: seconds of
CPU for an hour of trading) and checks the library's promises on every frame, after every step
and at the end (`Violation`). A run is deterministic: its `Outcome.digest` (every byte written,
when and by whom) is the same on every machine, and `Outcome.command` is the one line that
replays it. `shrink` cuts a failing schedule down to a few steps that still fail; `explore`
runs many seeds on local processes or a Dask cluster, `explore_chunks` a nightly-sized range
in chunks recorded in a directory (resumable, with a summary). ``kalshi-fix simulate`` is the
same from the shell.

    >>> from kalshi_fix_sansio.simulator.testing.dst import generate, run
    >>> outcome = run(generate(1, steps=5))
    >>> outcome.ok, outcome.steps_run
    (True, 5)
"""

from __future__ import annotations

from ._explore import (
    CHUNKS_FILE,
    ENGINES,
    SUMMARY_FILE,
    Exploration,
    explore,
    explore_chunks,
    run_seeds,
)
from ._invariants import Violation, WireWatch
from ._run import MAX_QTY, RECOVERY, SYMBOL, SYMBOLS, Outcome, replay_command, run
from ._schedule import (
    APIS,
    DESK_KINDS,
    FAULT_KINDS,
    KINDS,
    NOT_YET,
    PRODUCTS,
    SESSION_TYPES,
    WORKLOAD_KINDS,
    Schedule,
    Step,
    generate,
)
from ._shrink import shrink

__all__ = [
    "APIS",
    "CHUNKS_FILE",
    "DESK_KINDS",
    "ENGINES",
    "FAULT_KINDS",
    "KINDS",
    "MAX_QTY",
    "NOT_YET",
    "PRODUCTS",
    "RECOVERY",
    "SESSION_TYPES",
    "SUMMARY_FILE",
    "SYMBOL",
    "SYMBOLS",
    "WORKLOAD_KINDS",
    "Exploration",
    "Outcome",
    "Schedule",
    "Step",
    "Violation",
    "WireWatch",
    "explore",
    "explore_chunks",
    "generate",
    "replay_command",
    "run",
    "run_seeds",
    "shrink",
]

"""The simulator's side of a FIX-level backtest, in instructions per recorded message
(`bench_backtest.py --instructions --side [--src DIR]`).

The simulator's side of a recorded message is what happens between the compiled row and the
client's read: the feed, the exchange (books, the call's changes, the 35=X bytes), the gateway's
session (headed, numbered, written), the in-memory pipe, the scheduler's hops and the ticker.
Counted under callgrind with counting switched from Python (`_traced.window_library`): on
inside `Simulation.run_once` (every step of the simulation a blocking wait runs), off inside
the client's read of a delivered chunk (`_End.data_received` of the blocking pump: the client's
driver, session, decode and books), wherever it runs. The parts (``--side`` prints them too)
are each one function's inclusive count (the client's read left out), from a run of its own:
`Feed._apply` (the recorded message's callback: all of the feed's, the exchange's and the
gateway's work, and the delivery's hop where the callback runs it), and inside it
`Exchange.replay_row`, `Router._route` (the gateway's session and the pipe's write),
`Router.replay_market` (a 35=X of one market, the common message: the exchange's call and its
route in one step, which `replay_row` and `_route` then see only for the other messages),
`Feed._follow` (the ledger's marks) and `Feed._next` (the next row read and scheduled).

Each figure is a 3,000-message run's count less a 1,000-message run's, over 2,000
(``PYTHONHASHSEED=0``, a warm cache, the watching strategy): start-up and Logon cancel out.
The switch's own cost (two ctypes calls and a Python wrapper per counted call, about 3,000
instructions a message for the side's two windows) is in the figures, the same in every tree.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from _traced import callgrind_total, traced, window_library

__all__ = ["side_instructions"]

# (label, what is counted: "side" or "module:Class:function")
WINDOWS = (
    ("the simulator's side (run_once less the client's reads)", "side"),
    ("the recorded message's callback (Feed._apply)", "simulator.backtests._feed:Feed:_apply"),
    ("  the exchange (Exchange.replay_row)", "simulator.gateway.exchange:Exchange:replay_row"),
    (
        "  the gateway's session and the pipe (Router._route)",
        "simulator.gateway.router:Router:_route",
    ),
    (
        "  a 35=X of one market in one step (Router.replay_market; 0: a tree without it)",
        "simulator.gateway.router:Router:replay_market",
    ),
    ("  the ledger's marks (Feed._follow)", "simulator.backtests._feed:Feed:_follow"),
    ("  the next row read and scheduled (Feed._next)", "simulator.backtests._feed:Feed:_next"),
)

CHILD = r"""
import ctypes, importlib, math, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
toggle = ctypes.CDLL(sys.argv[5]).kfs_toggle_collect
import bench_backtest
from kalshi_fix_sansio.simulator.world._inmemory import _blocking
from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest

on = [False]  # counting now


def switched(owner, name, count):
    function = getattr(owner, name)

    def switch(*args, **kwargs):
        if on[0] == count:  # already so (a window inside a window, a read outside one)
            return function(*args, **kwargs)
        toggle()
        on[0] = count
        try:
            return function(*args, **kwargs)
        finally:
            toggle()
            on[0] = not count

    setattr(owner, name, switch)


if sys.argv[4] == "side":
    from kalshi_fix_sansio.simulator import simulation

    switched(simulation.Simulation, "run_once", True)
else:
    module, cls, name = sys.argv[4].split(":")
    owner = getattr(importlib.import_module("kalshi_fix_sansio." + module), cls)
    if hasattr(owner, name):  # (a tree without it counts nothing there)
        switched(owner, name, True)
switched(_blocking._End, "data_received", False)  # the client's read: never counted
run_backtest(bench_backtest.watch, sys.argv[3])
"""


def side_instructions(src: str | None) -> list[str]:
    """The simulator's side's instructions per recorded message, and its parts (see the
    module docstring); ``src``: another tree's ``src`` (None: this checkout's)."""
    from bench_backtest import _two_recordings

    here = str(Path(__file__).resolve().parent)
    tree = src or str(Path(__file__).resolve().parent.parent / "src")
    lines = [
        f"Python {platform.python_version()}; callgrind, `PYTHONHASHSEED=0`, the watching "
        f"strategy, a warm cache, {tree}:",
        "",
        "| counted | instructions per recorded message |",
        "|---|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        library = window_library(Path(tmp))
        if isinstance(library, str):
            return [f"not counted: {library}"]
        paths = _two_recordings(tmp)
        for label, what in WINDOWS:
            counts = {}
            for n, path in paths.items():
                args = [sys.executable, "-c", CHILD, tree, here, str(path), what, str(library)]
                subprocess.run(args, check=True, capture_output=True)  # the cache, compiled
                out = Path(tmp) / f"cg-{n}.out"
                cmd, env = traced("callgrind", args, out, collect_at_start=False)
                subprocess.run(cmd, env=env, check=True, capture_output=True)
                counts[n] = callgrind_total(out.read_text(encoding="utf-8", errors="replace"))
            lines.append(f"| {label} | {(counts[3_000] - counts[1_000]) / 2_000:,.0f} |")
    return lines

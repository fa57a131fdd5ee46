"""Where a backtest's Python work goes: bytecodes and calls per recorded message, by function.

    .venv/bin/python benchmarks/backtest_bytecodes.py MODE N [--top K] [--lines L]

MODE is the strategy and the mode of `bench_backtest.py`'s rows: ``watch`` (the FIX level's
watching strategy), ``fix`` (``read_books`` at the FIX level), ``book`` (``read_books`` at the
book level) or ``timer`` (``read_books_on_timer`` at the book level). A recording of N
messages is written and compiled, the backtest run once untraced (caches and layouts warm),
then again under a tracer (``sys.settrace`` with ``f_trace_opcodes``) that counts every
bytecode executed and every Python call, by function; the table divides them by the messages
run. ``--lines L`` adds the L busiest lines. A bytecode is not an instruction (what C does
under a call is not in it: callgrind's `bench_backtest.py --instructions` is the verdict), but
the counts are exact and say which function a cut must change. Run it with Python 3.11: under
3.12's tracer the opcode events do not come.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from types import FrameType
from typing import Any

import bench_backtest as bb

STRATEGIES = {
    "watch": (bb.watch, "fix"),
    "fix": (bb.read_books, "fix"),
    "book": (bb.read_books, "book"),
    "timer": (bb.read_books_on_timer, "book"),
}


def _key(frame: FrameType) -> str:
    """The function of ``frame``, its file named from the package or the benchmarks."""
    code = frame.f_code
    name = code.co_filename.split("/src/")[-1].split("/benchmarks/")[-1]
    return f"{name}:{code.co_name}"


def count(mode: str, messages: int) -> tuple[int, Counter[str], Counter[str], Counter[Any]]:
    """Messages run, and bytecodes, calls and bytecodes by line of one traced backtest."""
    from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
    from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording

    strategy, run_mode = STRATEGIES[mode]
    ops: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    lines: Counter[Any] = Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            calls[_key(frame)] += 1
            frame.f_trace_opcodes = True
            frame.f_trace_lines = True
        elif event == "opcode":
            key = _key(frame)
            ops[key] += 1
            lines[(key, frame.f_lineno)] += 1
        return tracer

    with tempfile.TemporaryDirectory() as tmp:
        path = bb._recording(tmp, messages)
        compile_recording(path)
        run_backtest(strategy, path, mode=run_mode)  # warm: caches, layouts, imports
        sys.settrace(tracer)
        try:
            result = run_backtest(strategy, path, mode=run_mode)
        finally:
            sys.settrace(None)
    return result.messages, ops, calls, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=sorted(STRATEGIES))
    parser.add_argument("messages", type=int)
    parser.add_argument("--top", type=int, default=40, help="functions listed (default 40)")
    parser.add_argument("--lines", type=int, default=0, help="busiest lines listed")
    args = parser.parse_args()
    messages, ops, calls, lines = count(args.mode, args.messages)
    total = sum(ops.values())
    print(
        f"messages {messages}  bytecodes/msg {total / messages:.0f}  "
        f"calls/msg {sum(calls.values()) / messages:.1f}"
    )
    for key, n in ops.most_common(args.top):
        print(f"{n / messages:8.1f} {calls[key] / messages:6.2f}  {key}")
    for (key, line), n in lines.most_common(args.lines):
        print(f"{n / messages:8.1f}  {key}:{line}")


if __name__ == "__main__":
    main()

"""What the count benchmarks share: a child process under callgrind or strace, and its counts.

`bench_instructions.py` (instructions and syscalls per order) and `bench_tick.py` (instructions
per tick) run a client in a child process of their own under ``valgrind --tool=callgrind``
(``PYTHONHASHSEED=0``: the same hashes every run) or ``strace -f -c``, and read the count back
from the tool's output file. A figure per order (or tick) is the difference of two runs of
different lengths divided by the difference of their lengths: start-up and Logon cancel out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOOLS = {"callgrind": "valgrind", "strace": "strace"}  # tool -> the program that runs it


def traced(
    tool: str, cmd: list[str], out: Path, *, collect_at_start: bool = True
) -> tuple[list[str], dict[str, str]]:
    """``cmd`` run under ``tool`` ("callgrind" or "strace") writing to ``out``, and its
    environment (``PYTHONHASHSEED=0``). ``collect_at_start=False``: callgrind counts nothing
    until the program turns counting on (`window_library`)."""
    if tool == "callgrind":
        lead = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        if not collect_at_start:
            lead.append("--collect-atstart=no")
        cmd = [*lead, *cmd]
    elif tool == "strace":
        cmd = ["strace", "-f", "-c", "-o", str(out), *cmd]
    else:
        raise ValueError(f"unknown tool {tool!r}")
    return cmd, {**os.environ, "PYTHONHASHSEED": "0"}


# callgrind's client request, as valgrind's own header spells it, in a function ctypes can call
WINDOW_SOURCE = """\
#include <valgrind/callgrind.h>
void kfs_toggle_collect(void) { CALLGRIND_TOGGLE_COLLECT; }
"""


def window_library(directory: Path) -> Path | str:
    """Build the shared library whose ``kfs_toggle_collect()`` turns callgrind's counting on
    or off, for the calling thread only (callgrind keeps that state per thread), so that a run
    under ``collect_at_start=False`` counts exactly the instructions between two calls: its
    path, or why it cannot be built here (no C compiler, or no ``valgrind/callgrind.h``)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return "no C compiler (cc or gcc) to build the callgrind counting switch"
    source, lib = directory / "kfs_window.c", directory / "kfs_window.so"
    source.write_text(WINDOW_SOURCE, encoding="utf-8")
    done = subprocess.run(
        [cc, "-O2", "-shared", "-fPIC", "-o", str(lib), str(source)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return f"building the callgrind counting switch failed: {done.stderr.strip()[-300:]}"
    return lib


def counted(tool: str, out: Path) -> int | tuple[int, int]:
    """What a traced run counted: callgrind's instructions, strace's (syscalls, futex)."""
    text = out.read_text(encoding="utf-8", errors="replace")
    return callgrind_total(text) if tool == "callgrind" else strace_counts(text)


def callgrind_total(text: str) -> int:
    """The instructions (Ir) a callgrind output file counts: its ``totals:`` or ``summary:``."""
    found = re.search(r"^(?:totals|summary):\s+(\d+)", text, re.M)
    if found is None:
        raise ValueError("no totals/summary line in the callgrind output")
    return int(found.group(1))


def strace_counts(text: str) -> tuple[int, int]:
    """(all system calls, futex calls) from ``strace -c`` output (summed over its rows)."""
    total = futex = 0
    for line in text.splitlines():
        cols = line.split()
        # % time, seconds, usecs/call, calls, [errors,] syscall
        if len(cols) < 5 or not cols[0][0].isdigit() or cols[-1] == "total":
            continue
        calls = int(cols[3])
        total += calls
        if cols[-1] == "futex":
            futex += calls
    return total, futex


def tools_missing() -> dict[str, str]:
    """Tool -> why it cannot run here (not on PATH)."""
    return {
        tool: f"`{exe}` not installed" for tool, exe in TOOLS.items() if shutil.which(exe) is None
    }


def per_unit(counts: dict[int, Any], pick: Callable[[Any], int] = int) -> float | None:
    """(count of the longer run - count of the shorter) / (the difference of their lengths);
    ``counts`` maps a run's length to what it counted (``pick`` reads the figure)."""
    if len(counts) < 2:
        return None
    lo, hi = min(counts), max(counts)
    return (pick(counts[hi]) - pick(counts[lo])) / (hi - lo)

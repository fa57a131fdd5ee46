"""A ``kalshi-fix`` command in a child process, for what only a process shows: how a signal
stops it and how much memory it took.

`child` starts the command with SIGINT at its default (the suite may run with it ignored, from
a background shell); `signal_once_started` waits for its first line of output (it has started:
no sleep), signals it and collects the rest; `reap` waits for it with ``os.wait4``, whose
resource usage gives the child's peak RSS.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

# ``kalshi-fix`` with Python's own SIGINT handling, whatever the suite inherited: set in the
# child itself, not by a ``preexec_fn`` (which makes subprocess fork instead of vfork, so the
# child's peak RSS would count the copy of this process it began as)
CLI = [
    sys.executable,
    "-c",
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'kalshi-fix'; runpy.run_module('kalshi_fix_sansio.cli', run_name='__main__')",
]


def child(args: list[str], **options: Any) -> subprocess.Popen[str]:
    """``kalshi-fix args`` started (text streams; ``options`` as for `subprocess.Popen`)."""
    return subprocess.Popen([*CLI, *args], text=True, **options)


def signal_once_started(
    proc: subprocess.Popen[str], signum: signal.Signals, *, on: str = "stdout"
) -> tuple[str, str, str, float]:
    """Wait for the first line the child prints on ``on`` (``stdout`` or ``stderr``), send it
    ``signum``, and collect the rest: (that line, stdout, stderr, seconds it took to exit)."""
    stream = getattr(proc, on)
    assert stream is not None
    try:
        first = stream.readline()
        assert first, f"{on} ended without a line"
        sent = time.monotonic()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return first, out or "", err or "", took


def reap(proc: subprocess.Popen[str]) -> tuple[int, int]:
    """(exit status, peak RSS in bytes) of a child whose output goes elsewhere (a file)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss * 1024  # kilobytes on Linux

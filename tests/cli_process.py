"""A ``kalshi-fix`` command in a child process, for what only a process shows: how a signal
stops it and how much memory it took.

`child` starts the command with SIGINT at its default (the suite may run with it ignored, from
a background shell); `signal_once_started` waits for its first line of output (it has started:
no sleep), signals it and collects the rest; `reap` waits for it and reads the peak RSS the
child wrote as it exited.

The peak comes from the child's own ``VmHWM`` (``/proc/self/status``), not from
``os.wait4``: Linux carries a process's peak across ``exec`` from the memory it began with,
which for a vfork'd child is its parent's, so ``ru_maxrss`` told the test process's peak (an
xdist worker that had decoded large frames: 694 MB) instead of the command's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PEAK_FILE = "KFS_TEST_PEAK_RSS_FILE"

# ``kalshi-fix`` with Python's own SIGINT handling, whatever the suite inherited: set in the
# child itself, not by a ``preexec_fn`` (which makes subprocess fork instead of vfork, so the
# child's peak RSS would count the copy of this process it began as)
CLI = [
    sys.executable,
    "-c",
    "import atexit, os, runpy, signal, sys; "
    "signal.signal(signal.SIGINT, signal.default_int_handler); "
    f"peak = os.environ.get('{PEAK_FILE}'); "
    "peak and atexit.register(lambda: open(peak, 'w').write(next("
    "line for line in open('/proc/self/status') if line.startswith('VmHWM:')))); "
    "sys.argv[0] = 'kalshi-fix'; runpy.run_module('kalshi_fix_sansio.cli', run_name='__main__')",
]


def child(args: list[str], **options: Any) -> subprocess.Popen[str]:
    """``kalshi-fix args`` started (text streams; ``options`` as for `subprocess.Popen`); it
    writes its peak RSS to a file of its own as it exits (`reap` reads it)."""
    fd, peak = tempfile.mkstemp(prefix="kfs-peak-rss-")
    os.close(fd)
    env = {**(options.pop("env", None) or os.environ), PEAK_FILE: peak}
    proc = subprocess.Popen([*CLI, *args], text=True, env=env, **options)
    proc.peak_file = peak  # type: ignore[attr-defined]
    return proc


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
    """(exit status, peak RSS in bytes) of a `child` whose output goes elsewhere (a file)."""
    proc.wait()
    peak = Path(proc.peak_file)  # type: ignore[attr-defined]
    try:
        line = peak.read_text()
    finally:
        peak.unlink()
    assert line.startswith("VmHWM:") and line.split()[2] == "kB", line
    return proc.returncode, int(line.split()[1]) * 1024

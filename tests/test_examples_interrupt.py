"""Ctrl-C ends each long-running example as examples/README.md says, whatever its adapter.

Each script runs as a user runs it (a subprocess, ``--mock``: the mock gateway in the script's
own process); once it has printed its first progress after logging on (its output is read line
by line as it comes: no sleeping), it gets SIGINT. It must then print exactly one line on
stderr, the README's ``<script>: interrupted``, and exit with the README's status; what it says
it did on the way out (quotes cancelled, a Logout) shows it cleaned up first. The market maker
also runs against a gateway this test holds, which shows nothing is left open on the exchange.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import IO

import pytest
from test_examples import EXAMPLES, Gateway

README = (EXAMPLES / "README.md").read_text(encoding="utf-8")
STATUS = int(re.search(r"\b(\d+) interrupted\b", README)[1])  # type: ignore[index]
LINE = re.search(r"`(<script>: [^`]+)`", README)[1]  # type: ignore[index]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")


class Running:
    """A script in a subprocess; threads hand its stdout and stderr over line by line."""

    def __init__(self, script: str, *args: str) -> None:
        self.script = script
        # A suite started in the background of a shell runs with SIGINT ignored, and a child
        # inherits an ignored signal: Python then leaves it ignored (so does asyncio.run), as a
        # user's script started that way would. The child is started as from a terminal.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, str(EXAMPLES / script), *args],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
        finally:
            signal.signal(signal.SIGINT, previous)
        self.lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._queues: dict[str, queue.Queue[str | None]] = {}
        self._readers = []
        for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            self._queues[name] = lines = queue.Queue()
            reader = threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            reader.start()
            self._readers.append(reader)

    @staticmethod
    def _read(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
        assert stream is not None
        for line in stream:
            lines.put(line.rstrip("\n"))
        lines.put(None)  # the end

    def _take(self, name: str, timeout: float) -> str | None:
        line = self._queues[name].get(timeout=timeout)
        if line is not None:
            self.lines[name].append(line)
        return line

    def wait_for(self, name: str, text: str, timeout: float = 30) -> None:
        """Read ``name`` until a line containing ``text`` (failing on the end of the output)."""
        while (line := self._take(name, timeout)) is not None:
            if text in line:
                return
        self.proc.wait(timeout)
        pytest.fail(f"{self.script} ended ({self.proc.returncode}) before {text!r}: {self.lines}")

    def interrupt(self, timeout: float = 60) -> tuple[int, list[str], list[str]]:
        """Ctrl-C; then the exit status and the stdout and stderr lines that came after it."""
        before = {name: len(lines) for name, lines in self.lines.items()}
        self.proc.send_signal(signal.SIGINT)
        status = self.proc.wait(timeout)
        for name in self.lines:
            while self._take(name, timeout) is not None:
                pass
        for reader in self._readers:
            reader.join(timeout)
        out, err = (self.lines[name][before[name] :] for name in ("stdout", "stderr"))
        return status, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# script, its options, the stream and text of its first progress after logging on, the lines
# it prints on stderr before that (a recorder's data is stdout: its own messages go to stderr)
LONG_RUNNING = [
    ("asyncio_market_maker.py", ["--seconds", "600"], "stdout", "quote ask 5 @", []),
    ("trio_md_recorder.py", ["--seconds", "600", "--messages", "1000000"], "stdout", "|35=W|",
     ["subscribed to HIGHNY-23DEC31"]),
    ("selectors_loop.py", ["--seconds", "600", "--messages", "1000000"], "stdout",
     "HIGHNY-23DEC31: bid 25 @ $0.40", []),
]  # fmt: skip


def test_the_readme_documents_what_ctrl_c_does() -> None:
    assert STATUS == 130 and LINE == "<script>: interrupted"
    covered = {script for script, *_ in LONG_RUNNING}
    assert covered == {"asyncio_market_maker.py", "trio_md_recorder.py", "selectors_loop.py"}


@pytest.mark.parametrize(
    ("script", "options", "stream", "progress", "stderr_before"), LONG_RUNNING,
    ids=[case[0] for case in LONG_RUNNING],
)  # fmt: skip
def test_ctrl_c_ends_an_example_with_one_line_and_the_documented_status(
    script: str, options: list[str], stream: str, progress: str, stderr_before: list[str]
) -> None:
    running = Running(script, "--mock", *options)
    try:
        running.wait_for(stream, progress)
        for line in stderr_before:
            running.wait_for("stderr", line)
        assert running.lines["stderr"] == stderr_before
        status, out, err = running.interrupt()
    finally:
        running.kill()
    assert err == [LINE.replace("<script>", script)], err
    assert status == STATUS, (out, err)
    if script == "asyncio_market_maker.py":  # the kill switch took both quotes off, then the group
        assert sum(line.startswith("canceled ") for line in out) == 2, out
        assert out[-1].startswith("deleted order group"), out
    elif script == "selectors_loop.py":  # its own loop sent the Logout and read the answer
        assert out == ["logged out (by us)"], out


def test_ctrl_c_leaves_nothing_open_on_the_exchange(tmp_path: Path) -> None:
    gateway = Gateway("prediction", tmp_path)
    running = Running("asyncio_market_maker.py",
                      *gateway.args("KalshiNR", "KalshiMD", md_key=True), "--seconds", "600")  # fmt: skip
    try:
        running.wait_for("stdout", "quote ask 5 @ $0.44")
        resting = sorted((o.side, o.price) for o in gateway.open_orders())
        assert resting == [("1", Decimal("0.41")), ("2", Decimal("0.44"))]
        status, out, err = running.interrupt()
        assert (status, err) == (STATUS, ["asyncio_market_maker.py: interrupted"]), out
        assert gateway.open_orders() == []  # cancelled before the process ended
    finally:
        running.kill()
        gateway.gw.close()

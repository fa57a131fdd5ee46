"""A ``kalshi-fix mock-gateway`` process as a page tells a user to start it, and its banner.

`gateway_process` starts the command on free ports with a bound on its life, reads the banner
it prints (up to its ``admin commands`` line) into a `Banner`, and on exit types ``quit`` and
holds it to what the pages promise: exit status 0, no traceback, its key file removed.
`Banner.shape` blanks what changes from one start to the next (the temporary folder, the
ports), so a page's copy of a banner compares with a real one; `Banner.same_values` puts the
real values into text copied from a page's banner.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Banner:
    """What a page explains of a banner: ports, certificate, API key and its key file."""

    lines: list[str]
    ports: dict[str, str]
    certificate: str
    key_id: str
    private_key: str

    @classmethod
    def parse(cls, lines: list[str]) -> Banner:
        ports = dict(re.findall(r"(Kalshi\w+)=(\d+)", lines[0]))
        (certificate,) = [ln.split(": ", 1)[1] for ln in lines if ln.startswith("TLS certificate")]
        ((key_id, private_key),) = [
            m.groups() for ln in lines if (m := re.match(r"API key (\S+): private key (\S+) ", ln))
        ]
        return cls(lines, ports, certificate, key_id, private_key)

    @property
    def folder(self) -> str:
        """The temporary folder of the certificate and the key file."""
        return str(Path(self.certificate).parent)

    def command(self, name: str) -> str:
        """The printed command line running ``kalshi-fix NAME`` (``order``, ``md``, ...)."""
        (line,) = [ln.strip() for ln in self.lines if re.search(rf"kalshi-fix {name} ", ln)]
        return line

    def shape(self) -> list[str]:
        """The lines with what changes from one start to the next (paths, ports) blanked."""
        return [self.blank(line) for line in self.lines]

    def blank(self, text: str) -> str:
        """``text`` with this banner's folder and ports blanked."""
        text = text.replace(self.folder, "<dir>")
        for port in self.ports.values():
            text = re.sub(rf"\b{port}\b", "<port>", text)
        return text

    def same_values(self, text: str, real: Banner) -> str:
        """``text``, written with this banner's folder and ports, with ``real``'s instead."""
        text = text.replace(self.folder, real.folder)
        for session, port in self.ports.items():
            text = re.sub(rf"\b{port}\b", real.ports[session], text)
        return text


@dataclass
class Running:
    proc: subprocess.Popen[str]
    banner: Banner


@contextlib.contextmanager
def gateway_process(
    command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[Running]:
    """Run ``command`` (a ``kalshi-fix mock-gateway`` line) on free ports, for 120 s at most."""
    proc = subprocess.Popen(
        # free ports (the defaults may be taken here), and a bound on its life
        [*command, "--port-base", "0", "--seconds", "120"],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("admin commands"):
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            pytest.fail(f"the gateway stopped: {lines} {proc.communicate(timeout=10)[1]}")
        lines.append(line.rstrip("\n"))
    banner = Banner.parse(lines)
    try:
        yield Running(proc, banner)
    finally:
        assert proc.stdin is not None
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        try:
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            err = proc.communicate(timeout=10)[1]
        assert "Traceback" not in err, err
        assert not Path(banner.private_key).exists()  # removed on quit

"""The mock gateway in its own process, for the wall-clock benchmarks, and the order they send.

`bench_latency.py`, `bench_tick.py` and `bench_instructions.py` start ``kalshi-fix mock-gateway
--port-base 0`` with `Gateway` (TLS on free loopback ports, a throwaway certificate, the
well-known mock API key or the keys given) and measure against it from other processes, which
reach it through a `GatewayView`. The order is a GTC limit buy on `SYMBOL` that rests (it
crosses nothing), acknowledged by an ExecutionReport matched on its ClOrdID (`acked`).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from kalshi_fix_sansio import ApplicationMessage
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.client import Endpoint

SYMBOL = "BENCH-LAT"

#: How `Gateway` starts the gateway when its garbage collections are logged: ``python -c`` this,
#: the log file, then ``kalshi-fix``'s arguments. One line per collection, written as it ends:
#: ``<generation> <time.perf_counter() at its start> <seconds>`` (``perf_counter`` is the
#: system's monotonic clock on Linux: the clients' processes read the same one).
GC_LOGGING_GATEWAY = """
import gc, sys, time
log = open(sys.argv[1], "w", buffering=1)
start = [0.0]
def logged(phase, info):
    if phase == "start":
        start[0] = time.perf_counter()
    else:
        log.write(f"{info['generation']} {start[0]!r} {time.perf_counter() - start[0]!r}\\n")
gc.callbacks.append(logged)
from kalshi_fix_sansio.cli import main
sys.exit(main(sys.argv[2:]))
"""


# -- the gateway in its own process --------------------------------------------------------


class GatewayView:
    """What a client needs to reach a running gateway: ports, certificate, key, process id.

    `Gateway` starts one; a child process of this benchmark gets one from its command line
    (`to_arg` / `from_arg`) and measures against the parent's gateway.
    """

    def __init__(
        self,
        ports: dict[str, int],
        cert: str,
        key_id: str,
        key_path: str,
        pid: int,
        sdk_key: str = "",
        gc_log: str = "",
    ) -> None:
        self.ports, self.cert, self.key_id, self.key_path = ports, cert, key_id, key_path
        self.pid, self.sdk_key, self.gc_log = pid, sdk_key, gc_log

    def to_arg(self) -> str:
        return json.dumps(
            {
                "ports": self.ports,
                "cert": self.cert,
                "key_id": self.key_id,
                "key_path": self.key_path,
                "pid": self.pid,
                "sdk_key": self.sdk_key,
                "gc_log": self.gc_log,
            }
        )

    @classmethod
    def from_arg(cls, text: str) -> GatewayView:
        return cls(**json.loads(text))

    def cpu(self) -> float:
        """The gateway process's CPU seconds so far, all threads (0.0 where Linux's
        ``/proc/<pid>/task/*/schedstat`` is not there: the column then says nothing)."""
        total = 0
        try:
            for task in Path(f"/proc/{self.pid}/task").iterdir():
                with contextlib.suppress(OSError):  # a thread that ended meanwhile
                    total += int((task / "schedstat").read_text().split()[0])
        except OSError:
            return 0.0
        return total / 1e9

    def collections(self) -> list[tuple[int, float, float]]:
        """The gateway's garbage collections so far, (generation, start, seconds), when it was
        started with a log of them (``gc_log``); else none."""
        if not self.gc_log:
            return []
        out = []
        for line in Path(self.gc_log).read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 3:  # a line being written is skipped
                out.append((int(parts[0]), float(parts[1]), float(parts[2])))
        return out

    def client_kwargs(self) -> dict[str, Any]:
        return {
            "path": self.key_path,
            "endpoints": {
                name: Endpoint("127.0.0.1", port, server_hostname="localhost")
                for name, port in self.ports.items()
            },
            "ssl_context": make_ssl_context(pinned_cert=self.cert),
            "heartbeat_interval": 30,
        }


class Gateway(GatewayView):
    """``kalshi-fix mock-gateway --port-base 0`` in a subprocess; its banner parsed.

    ``keys`` (key id -> public key file) are registered with ``--key``; ``own_key`` (key id,
    private key file) is then the key our clients log on with. Without them the gateway
    generates its well-known mock key and prints where its private key is. With ``gc_log`` (a
    file path) the gateway logs its garbage collections there (`GC_LOGGING_GATEWAY`,
    `collections`).
    """

    def __init__(
        self,
        keys: dict[str, Path] | None = None,
        own_key: tuple[str, Path] | None = None,
        sdk_key: Path | None = None,
        gc_log: Path | None = None,
    ) -> None:
        exe = Path(sys.executable).with_name("kalshi-fix")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "kalshi_fix_sansio.cli"]
        if gc_log is not None:
            cmd = [sys.executable, "-c", GC_LOGGING_GATEWAY, str(gc_log)]
        key_args = [a for k, pem in (keys or {}).items() for a in ("--key", f"{k}={pem}")]
        self.proc = subprocess.Popen(
            [*cmd, "mock-gateway", "--port-base", "0", "--market", SYMBOL, *key_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        banner: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise RuntimeError(f"mock gateway did not start: {err.strip()}")
            banner.append(line)
            if line.startswith("admin commands"):
                break
        text = "".join(banner)
        ports = {k: int(v) for k, v in re.findall(r"(Kalshi\w+)=(\d+)", text.splitlines()[0])}
        found_cert = re.search(r"TLS certificate \(clients pin it\): (\S+)", text)
        assert found_cert is not None, text
        cert = found_cert.group(1)
        if own_key is not None:
            key_id, key_path = own_key[0], str(own_key[1])
        else:
            found = re.search(r"API key (\S+): private key (\S+)", text)
            assert found is not None, text
            key_id, key_path = found.group(1), found.group(2)
        super().__init__(
            ports,
            cert,
            key_id,
            key_path,
            self.proc.pid,
            str(sdk_key) if sdk_key else "",
            str(gc_log) if gc_log is not None else "",
        )
        # keep the pipe drained so the gateway never blocks on a full stdout
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# -- the order, its acknowledgement, one block of round trips ---------------------------------


def order() -> p.NewOrderSingle:
    return p.NewOrderSingle(
        cl_ord_id=str(uuid.uuid4()),
        side=p.Side.BUY,
        order_qty=Decimal("1"),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.05"),
        symbol=SYMBOL,
        time_in_force=p.TimeInForce.GTC,
    )


def acked(cl_ord_id: str) -> Callable[[Any], bool]:
    def match(ev: Any) -> bool:
        if not isinstance(ev, ApplicationMessage):
            return False
        msg = ev.message
        return msg.MSG_TYPE == "8" and msg.cl_ord_id == cl_ord_id

    return match


class Block:
    """Round trips (seconds), when each began (``time.perf_counter``) and client CPU seconds
    of one block."""

    def __init__(self) -> None:
        self.rtts: list[float] = []
        self.starts: list[float] = []
        self.cpu = 0.0
        self.gw_cpu = 0.0

"""End-to-end latency: order -> acknowledgement round trip on loopback TLS, per adapter.

    .venv/bin/python benchmarks/bench_latency.py [--quick] [--orders N] [--procs N] [--block N]
        [--write-docs]

The mock gateway (``kalshi-fix mock-gateway``) runs in its own process, serving TLS on free
loopback ports with a throwaway certificate and the well-known mock API key. Each client kind
(our blocking, asyncio and trio adapters on KalshiNR, the two floors, kalshi-sdk's client) runs
in ``--procs`` processes of its own (``--child``: a fresh interpreter each), one at a time, the
kinds rotating from one pass to the next. A process sends ``--orders`` orders in blocks of
``--block`` (each block a fresh Logon, not timed): for each, a NewOrderSingle (a GTC limit buy
that rests: it crosses nothing), then it waits for its ExecutionReport (ExecType NEW, matched
on ClOrdID). The round trip is the time from just before ``send`` to the moment the matching
event is returned to the application: our encode, TLS write, the gateway's decode / matching /
encode, TLS read, framing, decode, header checks and the event hand-off.

Why processes: a client process runs fast or about 25 % slower for its whole life, at random,
so a single process per kind can show 1.24x or 0.78x for the same code. Each process is
labelled fast or slow (`speed_modes`: a kind's processes split at the widest step of their
client CPU per order above `MODE_GAP`), and the targets compare a client with kalshi-sdk's
processes of the same mode (`mode_ratios`). Reported per process: median and p99 of the round
trips, the client's CPU time per order (``time.process_time`` of the process over its timed
loops, background threads included) and the gateway process's CPU time per order over the
same loops (Linux: the sum of its threads' ``/proc/<pid>/task/*/schedstat``; "—" elsewhere).

The two floor rows are not clients (they are not judged against the target). Both log on once
with a Logon built by our encoder, then send pre-encoded NewOrderSingle frames (MsgSeqNum,
SendingTime and ClOrdID spliced in as bytes, BodyLength and CheckSum recomputed) and scan the
bytes read for the ExecutionReport carrying the ClOrdID, answering TestRequests (`RawFrames`):
no FIX library. `RawFix` moves the bytes with a blocking TLS socket: what is left of its round
trip is the gateway, TLS and the kernel, the least any client's round trip can be on this
gateway. `AioRawFix` moves them through an asyncio `Protocol` on asyncio's own TLS transport
(``loop.create_connection(ssl=...)``, as our asyncio adapter and kalshi-sdk's client do),
resolving a future in its read callback: the least an asyncio client's round trip can be.

Market data (in the parent process): messages per second through a logged-on client Session
(4 KiB chunks, framing, checks, decode) with a ``Books`` applying every message, in process (no
socket): the client-side cost of a market-data stream.

kalshi-sdk (PyPI ``kalshi-sdk``; needs Python >= 3.12, ``bash scripts/bench-peers`` runs this
benchmark with it installed): when importable, its own asyncio ``FixClient`` takes part in the
same rotation of processes against the same gateway process (KalshiNR, TLS with the gateway's
certificate as its CA, a fresh RSA key registered with the gateway with ``--key``: it signs its
Logon with RSA-PSS only; our clients keep the mock Ed25519 key; the Logon is not timed). Its
round trip ends when the ExecutionReport, decoded in its ``on_message`` callback with
``decode_app_message``, resumes the awaiting code (`_kalshi_sdk.latency_block`). Otherwise its
row says why it is empty ("not installed ...").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import itertools
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import _kalshi_sdk
from _docs import arguments, publish, write_block

from kalshi_fix_sansio import ApplicationMessage, Header
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters import Endpoint, make_ssl_context
from kalshi_fix_sansio.auth import load_signer_file, logon_payload, signature_b64
from kalshi_fix_sansio.book import Books
from kalshi_fix_sansio.config import KALSHI_COMP_ID
from kalshi_fix_sansio.testing import SessionPair

try:
    import trio
except ImportError:  # pragma: no cover - trio extra not installed
    trio = None

SYMBOL = "BENCH-LAT"
BEGIN = "<!-- latency-results -->"
END = "<!-- /latency-results -->"
NOW = 1_800_000_000.0
T0 = datetime.fromtimestamp(NOW, timezone.utc)


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
    ) -> None:
        self.ports, self.cert, self.key_id, self.key_path = ports, cert, key_id, key_path
        self.pid, self.sdk_key = pid, sdk_key

    def to_arg(self) -> str:
        return json.dumps(
            {
                "ports": self.ports,
                "cert": self.cert,
                "key_id": self.key_id,
                "key_path": self.key_path,
                "pid": self.pid,
                "sdk_key": self.sdk_key,
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
    generates its well-known mock key and prints where its private key is.
    """

    def __init__(
        self,
        keys: dict[str, Path] | None = None,
        own_key: tuple[str, Path] | None = None,
        sdk_key: Path | None = None,
    ) -> None:
        exe = Path(sys.executable).with_name("kalshi-fix")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "kalshi_fix_sansio.cli"]
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
            ports, cert, key_id, key_path, self.proc.pid, str(sdk_key) if sdk_key else ""
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


# -- one block of orders per adapter ---------------------------------------------------------


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
    """Round trips (seconds) and client CPU seconds of one block."""

    def __init__(self) -> None:
        self.rtts: list[float] = []
        self.cpu = 0.0
        self.gw_cpu = 0.0


def blocking_block(gw: GatewayView, n: int) -> Block:
    from kalshi_fix_sansio.adapters.blocking import FixClient

    out = Block()
    client = FixClient.from_key(gw.key_id, **gw.client_kwargs())
    orders = [order() for _ in range(n)]
    with client.order_entry() as oe:
        oe.wait_for(acked(orders[0].cl_ord_id), 10, send=orders[0])  # warm-up, not timed
        perf, cpu = time.perf_counter, time.process_time
        c0, g0 = cpu(), gw.cpu()
        for o in orders[1:]:
            match = acked(o.cl_ord_id)
            t = perf()
            oe.send(o)
            oe.wait_for(match, 10)
            out.rtts.append(perf() - t)
        out.cpu, out.gw_cpu = cpu() - c0, gw.cpu() - g0
    return out


async def _async_orders(
    oe: Any, orders: list[p.NewOrderSingle], out: Block, gw: GatewayView
) -> None:
    await oe.wait_for(acked(orders[0].cl_ord_id), 10, send=orders[0])
    perf, cpu = time.perf_counter, time.process_time
    c0, g0 = cpu(), gw.cpu()
    for o in orders[1:]:
        match = acked(o.cl_ord_id)
        t = perf()
        oe.send(o)
        await oe.wait_for(match, 10)
        out.rtts.append(perf() - t)
    out.cpu, out.gw_cpu = cpu() - c0, gw.cpu() - g0


def asyncio_block(gw: GatewayView, n: int) -> Block:
    from kalshi_fix_sansio.adapters.asyncio import FixClient

    out = Block()
    orders = [order() for _ in range(n)]

    async def main() -> None:
        client = FixClient.from_key(gw.key_id, **gw.client_kwargs())
        async with client.order_entry() as oe:
            await _async_orders(oe, orders, out, gw)

    asyncio.run(main())
    return out


def trio_block(gw: GatewayView, n: int) -> Block:
    from kalshi_fix_sansio.adapters.trio import FixClient

    out = Block()
    orders = [order() for _ in range(n)]

    async def main() -> None:
        client = FixClient.from_key(gw.key_id, **gw.client_kwargs())
        async with client.order_entry() as oe:
            await _async_orders(oe, orders, out, gw)

    trio.run(main)
    return out


# -- the floor: no FIX library at all ---------------------------------------------------------

FLOOR_NAME = "floor: raw TLS socket, pre-built frames (no FIX library, not a client)"
AIO_FLOOR_NAME = (
    "asyncio floor: asyncio's TLS transport, pre-built frames (no FIX library, not a client)"
)


def _frame(body: bytes) -> bytes:
    """BeginString, BodyLength and CheckSum around ``body`` (bytes formatting only)."""
    head = b"8=FIXT.1.1\x019=%d\x01" % len(body)
    return b"%s%s10=%03d\x01" % (head, body, (sum(head) + sum(body)) % 256)


def _stamp(now: float) -> bytes:
    """A UTCTimestamp with microseconds, as our encoder writes SendingTime."""
    return b"%s.%06d" % (
        time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(now)).encode(),
        int(now % 1 * 1e6),
    )


class RawFrames:
    """The bytes side of a client with no FIX library, whatever moves them.

    The Logon is built once with our encoder (signed with the gateway's key); each
    NewOrderSingle is a pre-encoded body whose header (MsgSeqNum, SendingTime) and ClOrdID are
    spliced in with bytes formatting; inbound bytes are split into frames on BodyLength and
    scanned for the one a test accepts (a TestRequest is answered, any other frame skipped). No
    checks, no decode, no session.
    """

    def __init__(self, gw: GatewayView) -> None:
        self.sender = gw.key_id.encode()
        self.buf = b""
        now = time.time()
        stamp = _stamp(now)
        sig = signature_b64(
            load_signer_file(gw.key_path),
            logon_payload(stamp.decode(), 1, gw.key_id, "KalshiNR"),
        ).encode()
        logon = p.Logon(
            encrypt_method=0,
            heart_bt_int=30,
            default_appl_ver_id="9",
            reset_seq_num_flag=True,
            raw_data_length=len(sig),
            raw_data=sig,
        )
        hdr = Header(
            sender_comp_id=gw.key_id,
            target_comp_id="KalshiNR",
            msg_seq_num=1,
            sending_time=datetime.fromtimestamp(now, timezone.utc),
        )
        frame = p.encode(logon, hdr)
        # the signed stamp must be the one on the wire: put it there as bytes
        start = frame.index(b"\x0152=") + 4
        end = frame.index(b"\x01", start)
        self.logon = _frame(frame[frame.index(b"35=") : start] + stamp + frame[end:-7])
        self.seq = 2  # the Logon is 1
        # the body of a NewOrderSingle after the header, with a ClOrdID to replace
        tmpl = p.encode(order(), hdr)
        body = tmpl[tmpl.index(b"\x0111=") + 1 : -7]
        self.after_id = body[body.index(b"\x01") :]

    def scan(self, data: bytes, match: Callable[[bytes], bool]) -> tuple[bool, bytes]:
        """Take ``data`` read: (whether a frame satisfied ``match``, what to send back: the
        Heartbeats answering TestRequests). What follows the matching frame stays buffered."""
        buf = self.buf + data
        answers = b""
        found = False
        while len(buf) > 20:
            start = buf.index(b"\x019=") + 3
            stop = buf.index(b"\x01", start)
            end = stop + 1 + int(buf[start:stop]) + 7
            if len(buf) < end:
                break
            frame, buf = buf[:end], buf[end:]
            if match(frame):
                found = True
                break
            if b"\x0135=1\x01" in frame:  # TestRequest: a Heartbeat with its TestReqID
                at = frame.index(b"\x01112=") + 1
                answers += self.header(b"0") + frame[at : frame.index(b"\x01", at) + 1]
        self.buf = buf
        return found, answers

    def header(self, msg_type: bytes) -> bytes:
        seq, self.seq = self.seq, self.seq + 1
        return b"35=%s\x0149=%s\x0156=KalshiNR\x0134=%d\x0152=%s\x01" % (
            msg_type, self.sender, seq, _stamp(time.time())
        )

    def order(self, cl_ord_id: bytes) -> bytes:
        return _frame(self.header(b"D") + b"11=" + cl_ord_id + self.after_id)

    def logout(self) -> bytes:
        return _frame(self.header(b"5"))


def is_ack(cl: bytes) -> Callable[[bytes], bool]:
    """The ExecutionReport carrying ClOrdID ``cl``, found in a raw frame."""
    tag = b"\x0111=" + cl + b"\x01"
    return lambda f: tag in f and b"\x0135=8\x01" in f


def is_type(msg_type: bytes) -> Callable[[bytes], bool]:
    tag = b"\x0135=" + msg_type + b"\x01"
    return lambda f: tag in f


class RawFix:
    """The least a program can do to round-trip orders: one blocking TLS socket moving
    `RawFrames`' bytes. What is left of its round trip is the gateway, TLS and the kernel."""

    def __init__(self, gw: GatewayView) -> None:
        ctx = make_ssl_context(pinned_cert=gw.cert)
        raw = socket.create_connection(("127.0.0.1", gw.ports["KalshiNR"]), timeout=10)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.frames = RawFrames(gw)
        self.round_trip(self.frames.logon, is_type(b"A"))

    def round_trip(self, data: bytes, match: Callable[[bytes], bool]) -> None:
        """Send ``data``, then read until a frame satisfies ``match``."""
        self.sock.sendall(data)
        data = b""  # first what is buffered already
        while True:
            found, answers = self.frames.scan(data, match)
            if answers:
                self.sock.sendall(answers)
            if found:
                return
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the gateway closed the connection")

    def close(self) -> None:
        try:
            self.round_trip(self.frames.logout(), is_type(b"5"))
        finally:
            self.sock.close()


def floor_block(gw: GatewayView, n: int) -> Block:
    out = Block()
    client = RawFix(gw)
    try:
        ids = [str(uuid.uuid4()).encode() for _ in range(n)]
        perf, cpu = time.perf_counter, time.process_time
        client.round_trip(client.frames.order(ids[0]), is_ack(ids[0]))  # warm-up, not timed
        c0, g0 = cpu(), gw.cpu()
        for cl in ids[1:]:
            t = perf()
            client.round_trip(client.frames.order(cl), is_ack(cl))
            out.rtts.append(perf() - t)
        out.cpu, out.gw_cpu = cpu() - c0, gw.cpu() - g0
    finally:
        client.close()
    return out


class _RawProtocol(asyncio.Protocol):
    """`AioRawFix`'s transport callbacks: what is read is scanned at once, in the callback."""

    def __init__(self, frames: RawFrames) -> None:
        self.frames = frames
        self.transport: asyncio.Transport | None = None
        self.match: Callable[[bytes], bool] | None = None
        self.done: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.match is None:
            self.frames.buf += data  # nobody waits: kept for the next scan
            return
        found, answers = self.frames.scan(data, self.match)
        if answers and self.transport is not None:
            self.transport.write(answers)
        if found and self.done is not None and not self.done.done():
            self.match = None
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("the gateway closed the connection"))


class AioRawFix:
    """`RawFix` on asyncio: `RawFrames`' bytes through an asyncio `Protocol` on
    ``loop.create_connection`` with TLS (asyncio's own TLS transport, as asyncio clients use:
    ours and kalshi-sdk's), a future resolved in the read callback. The least an asyncio
    client's round trip can be on this gateway."""

    def __init__(self, protocol: _RawProtocol) -> None:
        self.protocol = protocol
        self.frames = protocol.frames

    @classmethod
    async def open(cls, gw: GatewayView) -> AioRawFix:
        loop = asyncio.get_running_loop()
        frames = RawFrames(gw)
        _, protocol = await loop.create_connection(
            lambda: _RawProtocol(frames),
            "127.0.0.1",
            gw.ports["KalshiNR"],
            ssl=make_ssl_context(pinned_cert=gw.cert),
            server_hostname="localhost",
        )
        client = cls(protocol)
        await client.round_trip(frames.logon, is_type(b"A"))
        return client

    async def round_trip(self, data: bytes, match: Callable[[bytes], bool]) -> None:
        """Send ``data``, then wait until a frame read satisfies ``match``."""
        proto = self.protocol
        assert proto.transport is not None
        proto.transport.write(data)
        found, answers = self.frames.scan(b"", match)  # first what is buffered already
        if answers:
            proto.transport.write(answers)
        if found:
            return
        proto.match, proto.done = match, asyncio.get_running_loop().create_future()
        await proto.done

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.round_trip(self.frames.logout(), is_type(b"5")), 10)
        finally:
            if self.protocol.transport is not None:
                self.protocol.transport.close()


def aio_floor_block(gw: GatewayView, n: int) -> Block:
    out = Block()

    async def main() -> None:
        client = await AioRawFix.open(gw)
        try:
            ids = [str(uuid.uuid4()).encode() for _ in range(n)]
            perf, cpu = time.perf_counter, time.process_time
            await client.round_trip(client.frames.order(ids[0]), is_ack(ids[0]))  # warm-up
            c0, g0 = cpu(), gw.cpu()
            for cl in ids[1:]:
                t = perf()
                await client.round_trip(client.frames.order(cl), is_ack(cl))
                out.rtts.append(perf() - t)
            out.cpu, out.gw_cpu = cpu() - c0, gw.cpu() - g0
        finally:
            await client.close()

    asyncio.run(main())
    return out


def kalshi_sdk_block(gw: GatewayView, n: int, key_path: Path) -> Block:
    """The same round trips through kalshi-sdk's own asyncio client (see `_kalshi_sdk`)."""
    out = Block()
    out.rtts, out.cpu, out.gw_cpu = _kalshi_sdk.latency_block(
        port=gw.ports["KalshiNR"],
        gateway_cpu=gw.cpu,
        cafile=gw.cert,
        key_path=key_path,
        symbol=SYMBOL,
        orders=n,
        cl_ord_ids=lambda: str(uuid.uuid4()),
    )
    return out


# -- one process per (client kind, run): the speed mode of each process ----------------------

#: The clients, in the order of the table: our adapters, the two floors, then the peer.
KINDS = ("blocking", "asyncio", "trio", "floor", "aio-floor", "kalshi-sdk")
KIND_NAMES = {
    "blocking": "blocking (threads)",
    "asyncio": "asyncio",
    "trio": "trio",
    "floor": FLOOR_NAME,
    "aio-floor": AIO_FLOOR_NAME,
    "kalshi-sdk": "kalshi-sdk (its own asyncio client)",
}
#: Speed modes: a kind's processes sorted by client CPU per order split at the widest step
#: between neighbours when that step is above this ratio (the two modes differ by about 25 %;
#: processes of one mode on a quiet machine by under 10 %): those above it are "slow".
MODE_GAP = 1.12
HERE = Path(__file__).resolve()


def block_runner(kind: str, gw: GatewayView) -> Callable[[GatewayView, int], Block]:
    """The function that runs one block of ``kind``'s orders in this process."""
    if kind == "kalshi-sdk":
        return functools.partial(kalshi_sdk_block, key_path=Path(gw.sdk_key))
    return {
        "blocking": blocking_block,
        "asyncio": asyncio_block,
        "trio": trio_block,
        "floor": floor_block,
        "aio-floor": aio_floor_block,
    }[kind]


def child_main(kind: str, gw: GatewayView, orders: int, block: int) -> dict[str, Any]:
    """One process's life: ``orders`` timed orders in blocks (a fresh Logon per block,
    untimed); what it measured, for the parent."""
    run = block_runner(kind, gw)
    rtts: list[float] = []
    cpu = gw_cpu = 0.0
    left = orders
    while left > 0:
        gc.collect()
        b = run(gw, min(block, left) + 1)  # +1: the untimed warm-up order
        rtts += b.rtts
        cpu += b.cpu
        gw_cpu += b.gw_cpu
        left -= len(b.rtts)
    return {"rtts": rtts, "cpu": cpu, "gw_cpu": gw_cpu}


class Proc:
    """What one process of one client kind measured, and its speed mode."""

    def __init__(self, kind: str, index: int, rtts: list[float], cpu: float, gw_cpu: float) -> None:
        self.kind, self.index = kind, index
        self.rtts, self.cpu, self.gw_cpu = rtts, cpu, gw_cpu
        self.mode = ""  # "fast" or "slow", set by `speed_modes`

    @property
    def orders(self) -> int:
        return len(self.rtts)

    def p50(self) -> float:
        return statistics.median(self.rtts)

    def cpu_per_order(self) -> float:
        return self.cpu / self.orders


class Adapter:
    """One client kind: its processes (each a `Proc`), or why it was not run."""

    def __init__(
        self,
        name: str,
        run: Callable[[GatewayView, int], Block] | None,
        why: str = "",
        *,
        floor: bool = False,
        kind: str = "",
    ) -> None:
        self.name = name
        self.run = run
        self.why = why
        self.floor = floor  # not a client: not judged against the target
        self.kind = kind
        self.procs: list[Proc] = []
        self.rtts: list[float] = []

    def in_mode(self, mode: str) -> list[Proc]:
        return [pr for pr in self.procs if pr.mode == mode]


def speed_modes(adapters: list[Adapter], gap: float = MODE_GAP) -> None:
    """Label each process fast or slow from its kind's processes' client CPU per order.

    Sorted by CPU per order, a kind's processes split at the widest step between neighbours
    if that step is above ``gap``: those above it ran slow, the others fast. Without such a
    step they all ran in one mode, called fast (the slow processes of a kind cannot be told
    apart from an all-slow run: several processes per kind make that unlikely).
    """
    for a in adapters:
        ranked = sorted(a.procs, key=Proc.cpu_per_order)
        steps = [
            (hi.cpu_per_order() / lo.cpu_per_order(), i + 1)
            for i, (lo, hi) in enumerate(itertools.pairwise(ranked))
        ]
        widest, at = max(steps, default=(1.0, len(ranked)))
        cut = at if widest > gap else len(ranked)
        for i, pr in enumerate(ranked):
            pr.mode = "fast" if i < cut else "slow"


def spawn(kind: str, gw: GatewayView, orders: int, block: int, index: int) -> Proc:
    """Run one child process of ``kind`` against ``gw``; its measurements."""
    cmd = [
        sys.executable,
        str(HERE),
        "--child",
        kind,
        "--gateway",
        gw.to_arg(),
        "--orders",
        str(orders),
        "--block",
        str(block),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} process failed:\n{done.stderr[-3000:]}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return Proc(kind, index, got["rtts"], got["cpu"], got["gw_cpu"])


def adapters_here(sdk_missing: str | None) -> list[Adapter]:
    """Every client kind, with why it cannot run here when it cannot."""
    out = []
    for kind in KINDS:
        name, why = KIND_NAMES[kind], ""
        if kind == "trio" and trio is None:
            why = "trio not installed"
        if kind == "kalshi-sdk":
            if sdk_missing is None:
                name = f"{_kalshi_sdk.label()} (its own asyncio client)"
            else:
                why = sdk_missing
        out.append(
            Adapter(name, None, why, floor=kind in ("floor", "aio-floor"), kind=kind)
        )
    return out


def measure(
    orders: int,
    block: int,
    procs: int = 2,
    log: Callable[[str], None] = lambda s: None,
    kinds: tuple[str, ...] = KINDS,
) -> list[Adapter]:
    """``procs`` processes per client kind, ``orders`` orders each, against one gateway.

    The processes run one at a time, the kinds rotating from one pass to the next (blocking,
    asyncio, ...; then asyncio, trio, ..., blocking), so a machine whose speed drifts treats
    every kind alike.
    """
    sdk_missing = _kalshi_sdk.status()
    adapters = [a for a in adapters_here(sdk_missing) if a.kind in kinds]
    with tempfile.TemporaryDirectory(prefix="bench-latency-keys-") as keydir:
        if sdk_missing is not None:
            gw = Gateway()
        else:
            keys, own_key, sdk_key = _kalshi_sdk.gateway_keys(Path(keydir))
            gw = Gateway(keys, own_key, sdk_key)
        try:
            live = [a for a in adapters if not a.why]
            for i in range(procs):
                for a in live[i % len(live) :] + live[: i % len(live)]:
                    proc = spawn(a.kind, gw, orders, block, i + 1)
                    log(
                        f"  {a.name} #{i + 1}: p50 {_us(proc.p50())}, "
                        f"CPU {_us(proc.cpu_per_order())} per order"
                    )
                    a.procs.append(proc)
                    a.rtts += proc.rtts
        finally:
            gw.close()
    speed_modes(adapters)
    return adapters


# -- market data through a client session with a book ----------------------------------------


def md_frames(count: int, api_key: str, start_seq: int) -> list[bytes]:
    """``count`` incremental refreshes (2 entries each: a level change on each side)."""
    frames = []
    for i in range(count):
        msg = p.MarketDataIncrementalRefresh(
            md_entries=[
                p.MarketDataIncrementalRefreshMDEntry(
                    md_update_action=p.MDUpdateAction.CHANGE,
                    md_entry_type=p.MDEntryType.BID if k == 0 else p.MDEntryType.OFFER,
                    symbol=f"MKT-{i % 50}",
                    md_entry_px=Decimal(10 + (i % 30) + 40 * k) / 100,
                    md_entry_size=Decimal(1 + i % 97),
                    md_entry_date=T0.date(),
                    md_entry_time=T0.timetz(),
                )
                for k in range(2)
            ]
        )
        hdr = Header(
            sender_comp_id=KALSHI_COMP_ID,
            target_comp_id=api_key,
            msg_seq_num=start_seq + i,
            sending_time=T0,
        )
        frames.append(p.encode(msg, hdr))
    return frames


def market_data_rate(count: int, repeat: int) -> tuple[float, float]:
    """(best, median) messages per second: session path + Books.apply, in process."""
    rates = []
    for _ in range(repeat):
        pair = SessionPair.kalshi(session_type="KalshiMD", now=NOW)
        pair.start()
        client = pair.client.session
        frames = md_frames(count, client.config.sender_comp_id, client.next_target_seq)
        stream = b"".join(frames)
        chunks = [stream[i : i + 4096] for i in range(0, len(stream), 4096)]
        # the frames are CHANGEs only (the pre-2026-06-16 feed), each symbol opened by a snapshot
        books = Books(legacy_actions=True)
        for i in range(50):
            books.apply(p.MarketDataSnapshotFullRefresh(symbol=f"MKT-{i}", md_entries=[]))
        got = 0
        t = time.perf_counter()
        for chunk in chunks:
            client.receive_data(chunk, NOW)
            for ev in client.events():
                if isinstance(ev, ApplicationMessage):
                    books.apply(ev.message)
                    got += 1
        elapsed = time.perf_counter() - t
        assert got == count, f"{got} of {count} market-data messages arrived"
        rates.append(count / elapsed)
    return max(rates), statistics.median(rates)


# -- report --------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def report(adapters: list[Adapter], md: tuple[float, float], md_count: int) -> list[str]:
    lines = [
        f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} cores; gateway in its own process (`kalshi-fix mock-gateway`), "
        f"loopback TLS, KalshiNR; one row per process (each its own interpreter, one at a "
        f"time, the kinds rotating). Speed mode: a kind's processes sorted by client CPU per "
        f"order, split at the widest step between neighbours when it is above {MODE_GAP:.2f}x "
        f"(those above it slow)",
        "",
        "| client | process | speed mode | orders | round trip p50 | p99 "
        "| client CPU per order (÷ kind's lowest) | gateway CPU per order |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for a in adapters:
        if not a.procs:
            lines.append(f"| {a.name} | — | — | — | {a.why or 'not run'} | — | — | — |")
            continue
        low = min(pr.cpu_per_order() for pr in a.procs)
        for pr in a.procs:
            gw_cpu = _us(pr.gw_cpu / pr.orders) if pr.gw_cpu else "—"
            lines.append(
                f"| {a.name} | #{pr.index} | {pr.mode} | {pr.orders:,} | {_us(pr.p50())} "
                f"| {_us(pct(pr.rtts, 0.99))} "
                f"| {_us(pr.cpu_per_order())} ({pr.cpu_per_order() / low:.2f}x) | {gw_cpu} |"
            )
    lines += ["", *same_mode_table(adapters)]
    lines += [
        "",
        f"* market data through a client Session + Books, in process (no socket; "
        f"{md_count:,} incremental refreshes of 2 entries in 4 KiB chunks): "
        f"best {md[0]:,.0f} msg/s, median {md[1]:,.0f} msg/s",
        *target_lines(adapters),
    ]
    return lines


#: The project's targets for this benchmark: order -> ack p50 and client CPU per order, each
#: as a ratio of kalshi-sdk's, processes compared in the same speed mode.
TARGET_P50 = 0.85
TARGET_CPU = 0.6


def _sdk(adapters: list[Adapter]) -> Adapter | None:
    return next((a for a in adapters if a.kind == "kalshi-sdk"), None)


def mode_ratios(a: Adapter, sdk: Adapter, mode: str) -> tuple[float, float] | None:
    """(p50 ratio, CPU-per-order ratio) of ``a``'s processes in ``mode`` to kalshi-sdk's in the
    same mode: medians over each side's processes; None when either has none in that mode."""
    ours, theirs = a.in_mode(mode), sdk.in_mode(mode)
    if not ours or not theirs:
        return None
    med = statistics.median
    return (
        med(pr.p50() for pr in ours) / med(pr.p50() for pr in theirs),
        med(pr.cpu_per_order() for pr in ours) / med(pr.cpu_per_order() for pr in theirs),
    )


def same_mode_table(adapters: list[Adapter]) -> list[str]:
    """Per client and speed mode: the median over its processes, and its ratio to kalshi-sdk's
    processes of the same mode (the only comparison this page draws conclusions from)."""
    sdk = _sdk(adapters)
    lines = [
        "| client | speed mode | processes | p50 (median of processes) | p50 ÷ kalshi-sdk "
        "| client CPU per order | CPU ÷ kalshi-sdk |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for a in adapters:
        for mode in ("fast", "slow"):
            procs = a.in_mode(mode)
            if not procs:
                continue
            ratios = mode_ratios(a, sdk, mode) if sdk is not None and a is not sdk else None
            if a is sdk:
                r50 = rcpu = "1.00x"
            elif ratios is None:
                r50 = rcpu = "no kalshi-sdk process in this mode"
            else:
                r50, rcpu = f"{ratios[0]:.2f}x", f"{ratios[1]:.2f}x"
            lines.append(
                f"| {a.name} | {mode} | {len(procs)} "
                f"| {_us(statistics.median(pr.p50() for pr in procs))} | {r50} "
                f"| {_us(statistics.median(pr.cpu_per_order() for pr in procs))} | {rcpu} |"
            )
    return lines


def target_lines(adapters: list[Adapter]) -> list[str]:
    """The latency targets, judged against kalshi-sdk's processes of the same speed mode.

    The floors are not clients and are not judged; their ratios follow in parentheses: no
    client moving its bytes the same way can do better than its floor.
    """
    heads = (
        f"* project target: every adapter's order -> ack p50 <= {TARGET_P50}x kalshi-sdk's, "
        "same speed mode",
        f"* project target: every adapter's client CPU per order <= {TARGET_CPU}x kalshi-sdk's, "
        "same speed mode",
    )
    sdk = _sdk(adapters)
    if sdk is None or not sdk.procs:
        why = sdk.why if sdk is not None else "not run"
        return [f"{head} — not measurable here: kalshi-sdk {why}" for head in heads]
    out = []
    for index, (head, bound) in enumerate(zip(heads, (TARGET_P50, TARGET_CPU), strict=True)):
        parts, floors, held, compared = [], [], True, False
        for a in adapters:
            if a is sdk or not a.procs:
                continue
            by_mode = []
            for mode in ("fast", "slow"):
                ratios = mode_ratios(a, sdk, mode)
                if ratios is None:
                    continue
                by_mode.append(f"{mode} {ratios[index]:.2f}x")
                if not a.floor:
                    compared = True
                    held = held and ratios[index] <= bound
            text = f"{a.name.split(':')[0]} {', '.join(by_mode) or 'no common mode'}"
            (floors if a.floor else parts).append(text)
        verdict = "held" if held and compared else "NOT held" if compared else "not compared"
        line = f"{head}: {'; '.join(parts)} — {verdict}"
        if floors:
            line += f" (no FIX library, not judged: {'; '.join(floors)})"
        out.append(line)
    return out


def write_docs(lines: list[str]) -> None:
    """Write the table between this benchmark's markers in docs/benchmarks.md."""
    write_block(BEGIN, END, lines)


def main(argv: list[str]) -> int:
    parser = arguments(__doc__ or "", "2 processes of 20 orders per client (smoke)")
    parser.add_argument("--orders", type=int, default=1000, help="orders per process")
    parser.add_argument("--procs", type=int, default=4, help="processes per client kind")
    parser.add_argument("--block", type=int, default=500, help="orders per Logon")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--gateway", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        gw = GatewayView.from_arg(args.gateway)
        got = child_main(args.child, gw, args.orders, args.block)
        print(json.dumps(got))
        return 0
    orders, procs = (20, 2) if args.quick else (args.orders, max(2, args.procs))
    block = min(args.block, orders)
    md_count, md_repeat = (500, 2) if args.quick else (5000, 5)
    adapters = measure(orders, block, procs, log=lambda s: print(s, file=sys.stderr, flush=True))
    md = market_data_rate(md_count, md_repeat)
    publish(report(adapters, md, md_count), BEGIN, END, args.write_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

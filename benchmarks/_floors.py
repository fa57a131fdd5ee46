"""The two floor rows of `bench_latency.py`: order round trips with no FIX library at all.

Neither is a client (neither is judged against the target). Both log on once with a Logon
built by our encoder, then send pre-encoded NewOrderSingle frames (MsgSeqNum, SendingTime and
ClOrdID spliced in as bytes, BodyLength and CheckSum recomputed) and scan the bytes read for
the ExecutionReport carrying the ClOrdID, answering TestRequests (`RawFrames`). `RawFix` moves
the bytes with a blocking TLS socket: what is left of its round trip is the gateway, TLS and
the kernel. `AioRawFix` moves them through an asyncio `Protocol` on asyncio's own TLS transport
(``loop.create_connection(ssl=...)``), resolving a future in its read callback.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from _gateway import Block, GatewayView, order

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.session.auth import load_signer_file, logon_payload, signature_b64

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
            msg_type,
            self.sender,
            seq,
            _stamp(time.time()),
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
            out.starts.append(t)
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
                out.starts.append(t)
            out.cpu, out.gw_cpu = cpu() - c0, gw.cpu() - g0
        finally:
            await client.close()

    asyncio.run(main())
    return out

# private: the asyncio pump's own TLS protocol (`adapters._aio`) and write (`adapters._sockio`)
"""The asyncio adapter's own TLS (`adapters._aio.TLSProtocol`: `adapters._tls.MemoryTLS`, memory
BIOs, on a plain transport), written through the pump's write (`adapters._sockio`).

The protocol is driven here by hand against a server-side ``ssl.SSLObject`` (no socket, no
loop turn between the two ends): records cut anywhere and several in one read come out whole
and in order, bytes TLS refuses for now (a renegotiation) go out after the next read and before
later ones, the peer's close_notify and its TCP close end the stream, a forged record aborts,
a connection closed in the handshake (`adapters._tls.MemoryTLS.handshake`, asyncio's and
trio's) fails it; end to end, a pinned certificate that does not match fails the connection
with the certificate error.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness

from kalshi_fix_sansio.adapters import Backoff, ConnectionFailed, Endpoint, make_ssl_context
from kalshi_fix_sansio.adapters._aio import Conn, TLSProtocol
from kalshi_fix_sansio.adapters._sockio import TransportWriter
from kalshi_fix_sansio.adapters._tls import MemoryTLS
from kalshi_fix_sansio.adapters.asyncio import FixClient
from kalshi_fix_sansio.client.pump import PumpParts
from kalshi_fix_sansio.simulator.gateway.tls import self_signed


class FakeTransport(asyncio.Transport):
    """Collects what the protocol writes; ``aborted`` once it gave up."""

    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.out += data

    def get_write_buffer_size(self) -> int:
        return 0

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.aborted

    def take(self) -> bytes:
        data = bytes(self.out)
        self.out.clear()
        return data


class Told:
    """The driver the pump's write tells: the `Buffered` sizes, recorded."""

    message_log = None

    def __init__(self) -> None:
        self.buffered: list[int] = []

    def step(self, fact: Any, now: float) -> tuple[()]:
        self.buffered.append(fact.size)
        return ()


class Sink(TransportWriter, PumpParts):
    """What the protocol tells its pump (`PumpParts`' callbacks), recorded; it writes as the
    asyncio pump does."""

    def __init__(self) -> None:
        self.made_count = 0
        self.received: list[bytes] = []
        self.ended: list[Exception | None] = []
        self.driver: Any = Told()
        self.conn: Any = None
        self.buffered = False
        self.clock = lambda: 0.0
        self.perform = lambda sup, actions: None

    def made(self, conn: Conn) -> None:
        self.made_count += 1
        self.conn = conn

    def data(self, conn: Conn, data: bytes) -> None:
        self.received.append(data)

    def lost(self, conn: Conn, exc: Exception | None) -> None:
        self.ended.append(exc)


class Recorder(TLSProtocol):
    """The protocol with a recording sink, read back as ``made`` / ``data`` / ``lost``."""

    def __init__(self, tls: MemoryTLS) -> None:
        self.recorded = Sink()
        super().__init__(tls, self.recorded)

    @property
    def made(self) -> int:
        return self.recorded.made_count

    @property
    def data(self) -> list[bytes]:
        return self.recorded.received

    @property
    def lost(self) -> list[Exception | None]:
        return self.recorded.ended

    def write(self, data: bytes) -> int:
        """The pump's write of ``data``: what waits after it (the transport's and TLS's)."""
        told = self.recorded.driver.buffered
        told.clear()
        self.recorded.write(self.recorded.driver, data)
        return told[-1] if told else 0


class Server:
    """A TLS server over memory BIOs: what it writes is in `take`, what it reads in `feed`."""

    def __init__(self, cert: Path, key: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def feed(self, data: bytes) -> None:
        self.incoming.write(data)

    def take(self) -> bytes:
        return self.outgoing.read()

    def shake(self) -> bool:
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True

    def read(self) -> bytes:
        out = b""
        try:
            while chunk := self.tls.read(65536):
                out += chunk
        except ssl.SSLWantReadError:
            pass
        return out


def deliver(protocol: TLSProtocol, data: bytes) -> None:
    """What a transport does with bytes read."""
    protocol.data_received(data)


def connected(tmp_path: Path) -> tuple[Recorder, FakeTransport, Server]:
    """A protocol and a server with the handshake done between them (the client's TLS first,
    as the pump does it over the socket, then the protocol on the transport)."""
    cert, key = self_signed(tmp_path)
    tls = MemoryTLS(make_ssl_context(pinned_cert=str(cert)), "localhost")
    server = Server(cert, key)
    reply = b""
    while True:
        done, out = tls.shake(reply)
        server.feed(out)
        if done:
            break
        server.shake()
        reply = server.take()
        assert reply, "the server answered nothing in the handshake"
    assert server.shake()  # the client's Finished
    protocol, transport = Recorder(tls), FakeTransport()
    protocol.connection_made(transport)
    return protocol, transport, server


def records(server: Server, *messages: bytes) -> bytes:
    """One TLS record per message, as the server sends them."""
    for message in messages:
        server.tls.write(message)
    return server.take()


def test_records_cut_anywhere_or_several_in_a_read_come_out_whole_and_in_order(
    tmp_path: Path,
) -> None:
    protocol, transport, server = connected(tmp_path)
    assert protocol.made == 1
    messages = [b"8=FIXT.1.1\x019=5\x0135=0\x01" + bytes([65 + i]) * i for i in range(6)]
    for cut in (1, 5, 7, 300):  # cut inside headers, inside bodies, across records
        protocol.data.clear()
        stream = records(server, *messages)  # (TLS 1.3: the session tickets first)
        for at in range(0, len(stream), cut):
            deliver(protocol, stream[at : at + cut])
        assert b"".join(protocol.data) == b"".join(messages)
        assert all(protocol.data), "an empty read was delivered as data (it means EOF)"
    protocol.data.clear()
    deliver(protocol, records(server, *messages))
    assert b"".join(protocol.data) == b"".join(messages)
    assert len(protocol.data) == 1  # several records in one read: one delivery
    protocol.write(b"8=FIXT.1.1\x01")
    server.feed(transport.take())
    assert server.read() == b"8=FIXT.1.1\x01"
    assert protocol.lost == [] and not transport.aborted


class Refusing:
    """An ``SSLObject`` whose writes are refused (``SSLWantReadError``, as during a
    renegotiation) until ``refuse`` is cleared."""

    def __init__(self, tls: ssl.SSLObject) -> None:
        self.tls, self.refuse = tls, True

    def write(self, data: bytes) -> int:
        if self.refuse:
            raise ssl.SSLWantReadError("the peer must be read first")
        return self.tls.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tls, name)


def test_bytes_tls_refuses_go_out_after_the_next_read_before_later_ones(tmp_path: Path) -> None:
    protocol, transport, server = connected(tmp_path)
    refusing = Refusing(protocol.tls._tls)
    protocol.tls.write = refusing.write  # what the pump's write seals through
    assert protocol.write(b"first|") == len(b"first|")  # waits for TLS
    assert protocol.write(b"second|") == len(b"first|second|")
    assert transport.take() == b"" and protocol.buffered() == len(b"first|second|")
    refusing.refuse = False
    deliver(protocol, records(server, b"ping"))  # a read: what waited goes out now
    assert protocol.data == [b"ping"] and protocol.buffered() == 0
    protocol.write(b"third|")
    server.feed(transport.take())
    assert server.read() == b"first|second|third|"


def test_the_peers_close_notify_and_its_tcp_close_end_the_stream(tmp_path: Path) -> None:
    protocol, _, server = connected(tmp_path)
    with pytest.raises(ssl.SSLWantReadError):
        server.tls.unwrap()  # sends close_notify, then waits for ours
    deliver(protocol, server.take())
    assert protocol.data[-1:] == [b""]
    protocol, _, server = connected(tmp_path)
    assert protocol.eof_received() is None  # the transport closes itself
    protocol.connection_lost(None)
    assert protocol.data == [b""] and protocol.lost == [None]


def test_garbage_after_the_handshake_aborts_with_the_tls_error(tmp_path: Path) -> None:
    protocol, transport, _ = connected(tmp_path)
    deliver(protocol, b"\x17\x03\x03\x00\x10" + b"\x00" * 16)  # an application record, forged
    assert transport.aborted and protocol.data == []
    protocol.connection_lost(None)  # what the aborted transport calls next
    assert len(protocol.lost) == 1 and isinstance(protocol.lost[0], ssl.SSLError)


def test_a_connection_closed_in_the_handshake_fails_it(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    tls = MemoryTLS(make_ssl_context(pinned_cert=str(cert)), "localhost")
    sent: list[bytes] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    async def receive() -> bytes:
        return b""  # the peer closed

    with pytest.raises(ssl.SSLEOFError):
        asyncio.run(tls.handshake(send, receive))
    assert len(sent) == 1 and sent[0][:1] == b"\x16"  # a handshake record: the ClientHello


def test_a_pin_that_does_not_match_fails_with_the_certificate_error(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway
    (tmp_path / "other").mkdir()
    other_cert, _ = self_signed(tmp_path / "other")
    quick = Backoff(base=0.01, cap=0.01, attempts=1, seed=3)
    kwargs: dict[str, Any] = h.client_kwargs(
        ssl_context=make_ssl_context(pinned_cert=str(other_cert)), backoff=quick
    )
    wrong_pin = FixClient(h.credentials(), **kwargs)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens once the probe is closed
    nobody = FixClient(
        h.credentials(),
        **h.client_kwargs(
            endpoints={"KalshiNR": Endpoint("127.0.0.1", closed_port, server_hostname="localhost")},
            backoff=quick,
        ),
    )

    async def main() -> None:
        with pytest.raises(ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED") as pinned:
            async with wrong_pin.order_entry():
                pass
        assert isinstance(pinned.value.last_error, ssl.SSLError)
        with pytest.raises(ConnectionFailed) as refused:
            async with nobody.order_entry():
                pass
        assert isinstance(refused.value.last_error, OSError)

    asyncio.run(main())
    assert h.gateway.connected() == []

# private: the asyncio pump's socket (`adapters._aiopump`), its TLS and write (`adapters._sockio`)
"""The asyncio adapter on its own non-blocking socket (`adapters._aiopump.AioPump`): TLS in
memory on it (`adapters._sockio.SocketTLS`, trio's too), read once per ``add_reader`` callback,
and written by the shared `adapters._sockio.SocketWriter`.

TLS is driven here against a server-side ``ssl.SSLObject`` over a socket pair: records cut
anywhere and several in one read come out whole and in order, bytes TLS refuses for now (a
renegotiation) go out before later ones, a forged record is a `Lost` naming the TLS error, a
connection closed in the handshake (`adapters._tls.MemoryTLS.handshake`, asyncio's and trio's)
fails it; the pump's write leaves what the socket does not take for the loop's ``add_writer``,
which writes it, in order, once the peer reads (the driver told `Buffered` until none waits);
a loop that cannot watch a socket is refused before anything begins; end to end, a pinned
certificate that does not match fails the connection with the certificate error.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from gateway_fixtures import GatewayHarness

from kalshi_fix_sansio import Backoff, ConnectionFailed
from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.adapters._aiopump import AioPump
from kalshi_fix_sansio.adapters._sockio import SocketTLS
from kalshi_fix_sansio.adapters._tls import MemoryTLS
from kalshi_fix_sansio.adapters.asyncio import FixClient
from kalshi_fix_sansio.client import Endpoint
from kalshi_fix_sansio.client.steps import Buffered, Lost, Received
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.simulator.gateway.tls import self_signed


class Told:
    """The driver the pump's write tells: the `Buffered` sizes, recorded."""

    message_log = None

    def __init__(self) -> None:
        self.buffered: list[int] = []

    def step(self, fact: Any, now: float) -> tuple[()]:
        if isinstance(fact, Buffered):
            self.buffered.append(fact.size)
        return ()


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


@contextlib.contextmanager
def connected(tmp_path: Path) -> Iterator[tuple[SocketTLS, socket.socket, socket.socket, Server]]:
    """The client's TLS and a server with the handshake done between them (in memory, as the
    pump does it over its socket), and a socket pair: the client's end (non-blocking), the
    server's."""
    cert, key = self_signed(tmp_path)
    tls = SocketTLS(make_ssl_context(pinned_cert=str(cert)), "localhost")
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
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    with ours, theirs:
        yield tls, ours, theirs, server


def records(server: Server, *messages: bytes) -> bytes:
    """One TLS record per message, as the server sends them."""
    for message in messages:
        server.tls.write(message)
    return server.take()


def plaintext(tls: SocketTLS, sock: socket.socket) -> list[bytes]:
    """What each read of ``sock`` gave (none: nothing whole yet), until the socket is empty."""
    out: list[bytes] = []
    while (fact := tls.recv(sock)) is not None:
        assert isinstance(fact, Received), fact
        out.append(fact.data)
    return out


def test_records_cut_anywhere_or_several_in_a_read_come_out_whole_and_in_order(
    tmp_path: Path,
) -> None:
    with connected(tmp_path) as (tls, ours, theirs, server):
        messages = [b"8=FIXT.1.1\x019=5\x0135=0\x01" + bytes([65 + i]) * i for i in range(6)]
        for cut in (1, 5, 7, 300):  # cut inside headers, inside bodies, across records
            got: list[bytes] = []
            stream = records(server, *messages)  # (TLS 1.3: the session tickets first)
            for at in range(0, len(stream), cut):
                theirs.sendall(stream[at : at + cut])
                got += plaintext(tls, ours)
            assert b"".join(got) == b"".join(messages)
            assert all(got), "an empty read was delivered as data (it means EOF)"
        theirs.sendall(records(server, *messages))
        assert plaintext(tls, ours) == [b"".join(messages)]  # several records: one read


def writer(tls: SocketTLS | None, sock: socket.socket) -> AioPump:
    """The asyncio pump around ``sock`` (and ``tls``), its driver `Told`: its write only."""
    pump = AioPump(SimpleNamespace(clock=lambda: 0.0), Told())  # type: ignore[arg-type]
    pump.sock, pump.tls = sock, tls
    return pump


async def connected_pump(sock: socket.socket) -> AioPump:
    """The asyncio pump, its connection ``sock`` (its driver `Told`), as its `connect` makes
    it: served by the running loop from then on."""
    options = SimpleNamespace(connect_timeout=5.0, endpoint=None)
    session = SimpleNamespace(clock=lambda: 0.0, options=options)
    pump = AioPump(session, Told())  # type: ignore[arg-type]
    pump.loop = asyncio.get_running_loop()

    async def given(*_: object) -> tuple[socket.socket, None]:
        return sock, None

    pump.open_socket = given  # type: ignore[assignment]
    await pump.connect(pump.driver)
    assert pump.sock is sock
    return pump


class Refusing:
    """An ``SSLObject`` whose writes are refused (``SSLWantReadError``, as during a
    renegotiation) until ``refuse`` is cleared."""

    def __init__(self, tls: ssl.SSLObject) -> None:
        self.tls, self.refuse = tls, True

    def write(self, data: bytes) -> int:
        if self.refuse:
            raise ssl.SSLWantReadError("the peer must be read first")
        return self.tls.write(data)


def test_bytes_tls_refuses_go_out_before_later_ones(tmp_path: Path) -> None:
    with connected(tmp_path) as (tls, ours, theirs, server):
        pump = writer(tls, ours)
        refusing = Refusing(tls._tls)
        tls.write = refusing.write  # what the pump's write seals through
        pump.write(pump.driver, b"first|")
        pump.write(pump.driver, b"second|")
        assert tls.unsent == b"first|second|" and pump.unsent == b""  # waiting for TLS
        refusing.refuse = False
        pump.write(pump.driver, b"third|")
        server.feed(theirs.recv(65536))
        assert server.read() == b"first|second|third|"


def test_a_forged_record_is_lost_with_the_tls_error(tmp_path: Path) -> None:
    with connected(tmp_path) as (tls, ours, theirs, _):
        theirs.sendall(b"\x17\x03\x03\x00\x10" + b"\x00" * 16)  # an application record
        fact = tls.recv(ours)
        assert isinstance(fact, Lost) and "SSL" in fact.reason, fact


def test_what_the_socket_does_not_take_is_written_once_the_peer_reads() -> None:
    """The write leaves what the socket does not take (`Buffered`: the driver judges it); the
    loop's ``add_writer`` writes it, in order, as the peer reads, and stops once none waits."""
    data = bytes(range(256)) * 16384  # 4 MiB: more than a socket pair takes

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        with ours, theirs:
            ours.setblocking(False)
            theirs.setblocking(False)
            pump = await connected_pump(ours)
            loop.remove_reader(ours)  # (the pump's read: not this test's)
            told = pump.driver.buffered  # type: ignore[attr-defined]
            pump.write(pump.driver, data[:-1])
            pump.write(pump.driver, data[-1:])  # after what waits
            assert told and told[0] > 0 and pump.unsent
            got = bytearray()
            while len(got) < len(data):
                got += await loop.sock_recv(theirs, 1 << 16)  # the writer goes on meanwhile
            assert bytes(got) == data
            assert pump.unsent == b"" and told[-1] == 0
            assert not loop.remove_writer(ours)  # the loop stopped asking

    asyncio.run(main())


class NoWatch(asyncio.SelectorEventLoop):
    """An event loop that cannot watch a socket (as Windows' proactor loop)."""

    add_reader = asyncio.AbstractEventLoop.add_reader


def test_a_loop_that_cannot_watch_a_socket_is_refused_before_anything_begins(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    session = FixClient(h.credentials(), **h.client_kwargs()).order_entry()

    async def main() -> None:
        with pytest.raises(LocalProtocolError, match=r"loop.add_reader.*WindowsSelector"):
            await session.open()

    loop = NoWatch()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert h.gateway.connected() == []


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

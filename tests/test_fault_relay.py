"""`FaultRelay` itself, against a plain echo server on loopback: each fault does what it says
to both ends, acts on the connections live when asked (a later one starts clean), and every
wait it offers is bounded."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from kalshi_fix_sansio.simulator.testing.relay import FaultRelay


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    """An echo server: each connection gets back what it sends, until it closes."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()
    stop.set()
    thread.join(5)
    server.close()


def connect(relay: FaultRelay) -> socket.socket:
    """A connection through ``relay``, returned once the relay relays it."""
    before = relay.accepted
    sock = socket.create_connection(("127.0.0.1", relay.port), timeout=5.0)
    assert relay.wait_connections(before + 1, 5.0)
    return sock


def roundtrip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def test_bytes_pass_both_ways_and_are_counted(echo: tuple[str, int]) -> None:
    with FaultRelay(*echo) as relay, connect(relay) as sock:
        assert roundtrip(sock, b"hello") == b"hello"
        assert relay.wait_relayed("down", 5, 5.0)
        assert (relay.relayed("up"), relay.relayed("down"), relay.live) == (5, 5, 1)


def test_reset_reaches_the_client_as_a_reset(echo: tuple[str, int]) -> None:
    with FaultRelay(*echo) as relay, connect(relay) as sock:
        assert roundtrip(sock, b"x") == b"x"
        assert relay.reset() == 1
        with pytest.raises(ConnectionResetError):
            sock.recv(10)
        assert relay.ends == ["relay reset"] and relay.live == 0


def test_close_reaches_the_client_as_an_end_of_file(echo: tuple[str, int]) -> None:
    with FaultRelay(*echo) as relay, connect(relay) as sock:
        assert relay.close() == 1
        assert sock.recv(10) == b""
        assert relay.ends == ["relay close"]


def test_stall_holds_bytes_until_resume(echo: tuple[str, int]) -> None:
    with FaultRelay(*echo) as relay, connect(relay) as sock:
        assert relay.stall("up") == 1
        sock.sendall(b"held")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(10)
        assert relay.relayed("up") == 0
        assert relay.resume("up") == 1
        sock.settimeout(5.0)
        assert sock.recv(10) == b"held"


def test_blackhole_throws_bytes_away_and_keeps_the_connection(echo: tuple[str, int]) -> None:
    with FaultRelay(*echo) as relay, connect(relay) as sock:
        assert relay.blackhole("down") == 1
        sock.sendall(b"lost")
        assert relay.wait_relayed("up", 4, 5.0)
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(10)
        relay.resume("down")
        sock.settimeout(5.0)
        assert roundtrip(sock, b"back") == b"back"
        assert relay.live == 1


def test_a_fault_acts_on_the_live_connections_only(echo: tuple[str, int]) -> None:
    with FaultRelay(*echo) as relay:
        with connect(relay) as first:
            assert relay.stall("both") == 1
            with connect(relay) as second:
                assert roundtrip(second, b"fresh") == b"fresh"  # a later one starts clean
            first.settimeout(0.3)
            first.sendall(b"x")
            with pytest.raises(TimeoutError):
                first.recv(10)


def test_reset_after_forwards_then_resets(echo: tuple[str, int]) -> None:
    with FaultRelay(*echo) as relay, connect(relay) as sock:
        relay.reset_after(3)
        sock.sendall(b"abc")
        with pytest.raises(ConnectionResetError):
            while sock.recv(10):
                pass
        assert relay.relayed("up") == 3 and relay.ends == ["relay reset"]


def test_refuse_resets_the_next_connections(echo: tuple[str, int]) -> None:
    with FaultRelay(*echo) as relay:
        relay.refuse(1)
        with pytest.raises(ConnectionResetError):  # at the connect, or at the first read
            with connect(relay) as refused:
                while refused.recv(10):
                    pass
        with connect(relay) as served:
            assert roundtrip(served, b"ok") == b"ok"
        assert relay.accepted == 2


def test_an_end_closing_is_passed_on(echo: tuple[str, int]) -> None:
    with FaultRelay(*echo) as relay:
        sock = connect(relay)
        sock.close()
        assert relay.wait_ends(1, 5.0)
        assert relay.ends == ["client closed"]


def test_bad_arguments_and_an_unstarted_relay() -> None:
    relay = FaultRelay("127.0.0.1", 9)
    with pytest.raises(RuntimeError, match="start"):
        relay.reset()
    relay.start()
    try:
        with pytest.raises(ValueError, match="direction"):
            relay.stall("sideways")  # type: ignore[arg-type]
    finally:
        relay.close_relay()

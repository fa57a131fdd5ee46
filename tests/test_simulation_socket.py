# private: the simulation's socket in memory (`simulator.world._inmemory._loop`)
"""The simulation's socket in memory (`SimSocket`, of the private `_inmemory` package's `_loop`
module), as its asyncio loop serves it: a watcher runs once per turn of the loop while the
socket has something for it (level-triggered, as a selector's), `recv` gives what came and then
says the end (a reset raised once), `send` takes everything, and `close` resets the peer only
when bytes came that were never read. Each turn of the loop is run by hand (`turn`): nothing
sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from kalshi_fix_sansio.simulator.world._inmemory._loop import SimSocket


class FakePipe(asyncio.Transport):
    """The other end as the socket sees it: what was written, and how it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.how: str | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.how is not None

    def close(self) -> None:
        self.how = self.how or "close"

    def abort(self) -> None:
        self.how = self.how or "abort"


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def turn(loop: asyncio.AbstractEventLoop) -> None:
    """One turn of the loop: what was ready before it runs (the loop stops after it)."""
    loop.call_soon(loop.stop)
    loop.run_forever()


def connected(loop: asyncio.AbstractEventLoop) -> tuple[SimSocket, FakePipe]:
    sock, pipe = SimSocket(loop), FakePipe()
    sock.connection_made(pipe)
    return sock, pipe


def test_a_reader_runs_each_turn_while_bytes_wait_and_stops_once_they_are_read(
    loop: asyncio.AbstractEventLoop,
) -> None:
    sock, _ = connected(loop)
    with pytest.raises(BlockingIOError):
        sock.recv(4)
    got: list[bytes] = []
    assert not sock.watch(0, lambda: got.append(sock.recv(4)))
    turn(loop)
    assert got == []  # nothing came: not called
    sock.data_received(b"abcdef")
    sock.data_received(b"gh")  # two chunks before the turn: one call, one read
    turn(loop)
    assert got == [b"abcd"]
    turn(loop)  # bytes still wait: called again
    assert got == [b"abcd", b"efgh"]
    turn(loop)
    assert got == [b"abcd", b"efgh"]  # all read: not called
    assert sock.watch(0, None)  # a watcher was set
    sock.data_received(b"ij")
    turn(loop)
    assert got == [b"abcd", b"efgh"]  # nobody watches


def test_the_end_reads_empty_and_a_reset_is_raised_once(loop: asyncio.AbstractEventLoop) -> None:
    sock, _ = connected(loop)
    sock.data_received(b"last")
    assert sock.eof_received() is True  # this end stays open until closed
    assert sock.recv(100) == b"last" and sock.recv(100) == b"" and sock.recv(100) == b""
    sock, _ = connected(loop)
    sock.connection_lost(ConnectionResetError("reset"))
    with pytest.raises(ConnectionResetError):
        sock.recv(100)
    assert sock.recv(100) == b""
    ended: list[bytes] = []
    sock.watch(0, lambda: ended.append(sock.recv(100)))
    turn(loop)
    assert ended == [b""]  # the end is something to read: the reader is called


def test_a_writer_runs_each_turn_until_removed_and_send_takes_all(
    loop: asyncio.AbstractEventLoop,
) -> None:
    sock, pipe = connected(loop)
    calls: list[int] = []
    sock.watch(1, lambda: calls.append(sock.send(b"x" * 70_000)))
    turn(loop)
    turn(loop)
    assert calls == [70_000, 70_000] and pipe.written == [b"x" * 70_000] * 2
    sock.watch(1, None)
    turn(loop)
    assert len(calls) == 2
    sock.close()
    assert pipe.how == "close"  # nothing unread: the peer reads the end after what was sent
    with pytest.raises(BrokenPipeError):
        sock.send(b"late")


def test_closing_with_bytes_unread_resets_the_peer(loop: asyncio.AbstractEventLoop) -> None:
    sock, pipe = connected(loop)
    sock.data_received(b"never read")
    sock.close()
    assert pipe.how == "abort"
    sock, pipe = connected(loop)
    sock.abort()
    assert pipe.how == "abort"

"""`Connection.write` on a simulation's `Pipe` (`kalshi_fix_sansio.simulator.gateway.net`) writes
at once, without asking the transport whether it is closing or what it buffers; the general path
asks both. A `Pipe` of a subclass takes the general path: both give the peer the same bytes, in
the same order, with the same records, and write nothing once the pipe is closing."""

from __future__ import annotations

import asyncio

from kalshi_fix_sansio.simulator.gateway.connection import Connection
from kalshi_fix_sansio.simulator.gateway.net import Pipe, Scheduler, SimClock


class _General(Pipe):
    """A `Pipe` that `Connection.write` does not know: its general path."""


class _Peer(asyncio.Protocol):
    def __init__(self) -> None:
        self.got: list[bytes] = []
        self.lost = 0

    def data_received(self, data: bytes) -> None:
        self.got.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost += 1


def _written(kind: type[Pipe]) -> tuple[list[bytes], list[bytes], int, list[float]]:
    """What the peer received, what was recorded, how often it heard of the end and the
    scheduler's timers, after writes before and after the gateway's end closed."""
    clock = SimClock(1_000.0)
    scheduler = Scheduler(clock)
    records: list[bytes] = []
    client, server = _Peer(), _Peer()
    near = kind(scheduler, client, lambda data: None)
    far = kind(scheduler, server, records.append)
    near.peer, far.peer = far, near
    conn = Connection(None, "KalshiMD")  # type: ignore[arg-type]  # (write asks no gateway)
    conn.transport = far
    conn.write(b"8=FIXT.1.1\x01one", 1_000.0)
    conn.write(b"", 1_000.0)
    conn.write(b"two", 1_000.0)
    scheduler.run_due()
    conn.write(b"three", 1_000.0)
    far.close()
    conn.write(b"four", 1_000.0)
    scheduler.run_due()
    return client.got, records, client.lost, [t[0] for t in scheduler._timers]


def test_the_pipe_path_equals_the_general_one() -> None:
    fast = _written(Pipe)
    assert fast == _written(_General)
    assert fast[0] == [b"8=FIXT.1.1\x01one", b"two", b"three"]

"""The I/O step the blocking and trio adapters share: a non-blocking socket (plain or TLS)
between the core's `Driver` and the wire, without waiting (each adapter waits its own way).

* `recv_now`: read what the socket has, once;
* `write_now`: write what waited, then what the core answered; return what the socket did not
  take (written first next time, in order), having told the driver what still waits (its
  slow-peer verdict, `Driver.wrote`: dropped once it counts the connection lost).

When to close the socket is the core's rule (`Readers.after_write`); nothing here decides anything.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from kalshi_fix_sansio.driver import Driver

from ._transport import READ_CHUNK, WOULD_BLOCK

__all__ = ["recv_now", "send_now", "write_now"]


def recv_now(driver: Driver, sock: socket.socket, clock: Callable[[], float]) -> bytes | None:
    """Read once from a non-blocking socket: up to `READ_CHUNK` bytes (``b""``: the peer
    closed it), or None: nothing to read yet, or the read failed (told to ``driver`` at
    ``clock()`` as a lost connection)."""
    try:
        return sock.recv(READ_CHUNK)
    except WOULD_BLOCK:
        return None
    except OSError as exc:
        driver.connection_lost(clock(), f"read failed: {exc!r}")
        return None


def send_now(driver: Driver, sock: socket.socket, data: bytes, clock: Callable[[], float]) -> bytes:
    """Write ``data`` to a non-blocking socket: what it did not take is returned (TLS: all or
    nothing, the same bytes go again). A failed write is a lost connection, told to ``driver``
    at ``clock()`` (nothing is returned then)."""
    try:
        sent = sock.send(data)
    except WOULD_BLOCK:
        return data
    except OSError as exc:
        driver.connection_lost(clock(), f"write failed: {exc!r}")
        return b""
    return data[sent:]


def write_now(
    driver: Driver, sock: socket.socket, unsent: bytes, data: bytes, clock: Callable[[], float]
) -> bytes:
    """Write ``unsent`` (what the socket did not take before), then ``data`` (what the core
    answered), without waiting: what the socket did not take is returned. When bytes are left
    or had waited, the driver is told (`Driver.wrote`); once it counts the connection lost,
    nothing is returned."""
    if unsent:
        data = unsent + data
    if not data:
        return b""
    left = send_now(driver, sock, data, clock)
    if (left or unsent) and not driver.wrote(len(left), clock()):
        return b""
    return left

"""The pumps' I/O steps that do not wait (each adapter waits its own way): between the core's
`Driver` and the wire, an order's bytes cross this one module.

* `read_fact`: read what a non-blocking socket has, once, as the fact to step (`Received`, or
  `Lost` when the read failed); `SocketTLS.recv`, the same through TLS in memory (asyncio,
  trio);
* `SocketWriter.write` (every pump): write what waited, then what the driver answered, sealed
  here when TLS is in memory (`_tls.MemoryTLS`); what the socket does not take waits and the
  driver is told (`Buffered`, for the slow-peer verdict; `Lost` when the write failed).

Nothing here decides anything: the driver does, through its actions.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Sequence

from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.client.pump import READ_CHUNK
from kalshi_fix_sansio.client.steps import Action, Buffered, Lost, Received

from ._tls import WOULD_BLOCK, MemoryTLS

__all__ = ["SocketTLS", "SocketWriter", "read_fact"]


def read_fact(sock: socket.socket) -> Received | Lost | None:
    """Read once from a non-blocking socket: `Received` with up to `READ_CHUNK` bytes
    (``b""``: the peer closed it), `Lost` when the read failed, or None: nothing to read yet."""
    try:
        return Received(sock.recv(READ_CHUNK))
    except WOULD_BLOCK:
        return None
    except OSError as exc:
        return Lost(f"read failed: {exc!r}")


class SocketWriter:
    """The write of the pumps, each of which owns a non-blocking socket (blocking: a TLS socket;
    asyncio and trio: a plain one under `tls`): an order's bytes go from the driver through `write` to the socket,
    sealed here when TLS is in memory, with no other call of ours on the way."""

    sock: socket.socket | None
    tls: MemoryTLS | None  # TLS in memory on `sock` (asyncio, trio); None: `sock` does its own TLS
    unsent: bytes  # bytes the socket did not take yet (written first, in order)
    clock: Callable[[], float]
    perform: Callable[[Driver, Sequence[Action]], None]  # the pump's
    later: Callable[[], None]  # bytes wait for the socket: the pump's writer waits for it

    def write(self, sup: Driver, data: bytes) -> None:
        """Write what waits, then ``data`` (sealed by `tls`), as far as the socket takes them
        now; what it does not take waits (`Buffered`: the driver judges it), a failed write is
        `Lost`."""
        sock, tls = self.sock, self.tls
        if sock is None:
            return  # no connection: nothing to write them to
        if data and (log := sup.message_log) is not None:
            log.sent(data, self.clock())
        if tls is not None and (data or tls.unsent or tls.outgoing.pending):  # sealed here
            if tls.unsent:
                data, tls.unsent = tls.unsent + data, b""
            if data:
                try:
                    tls.write(data)
                except ssl.SSLWantReadError:
                    tls.unsent = data  # TLS reads first (a renegotiation): sealed next time
            data = tls.outgoing.read()
        unsent = self.unsent
        if unsent:
            data = unsent + data
        if not data:
            return  # after most reads: nothing (no TLS or socket call)
        try:
            left = data[sock.send(data) :]  # TLS socket: all or nothing, the same bytes again
        except WOULD_BLOCK:
            left = data
        except OSError as exc:
            self.unsent = b""
            self.perform(sup, sup.step(Lost(f"write failed: {exc!r}"), self.clock()))
            return
        self.unsent = left
        if left or unsent:
            self.perform(sup, sup.step(Buffered(len(left)), self.clock()))
            if left and self.sock is sock:
                self.later()


class SocketTLS(MemoryTLS):
    """TLS in memory (`_tls.MemoryTLS`) on the raw socket: the session moves its bytes, one
    ``recv`` per read."""

    __slots__ = ("closed",)

    def __init__(self, context: ssl.SSLContext, hostname: str | None) -> None:
        super().__init__(context, hostname)
        self.closed = False  # the peer's close_notify came after the plaintext `recv` returned

    def recv(self, sock: socket.socket) -> Received | Lost | None:
        """`read_fact` through TLS: the plaintext read (``b""``: the peer closed; when some
        came, `closed` says whether the peer's close_notify came after it), `Lost` when the
        read or TLS failed, or None: no whole record yet."""
        try:
            data = sock.recv(READ_CHUNK)  # `read_fact` without its fact of the ciphertext
        except WOULD_BLOCK:
            return None
        except OSError as exc:
            return Lost(f"read failed: {exc!r}")
        if not data:
            return Received(b"")
        try:
            out, self.closed = self.open(data)
        except ssl.SSLError as exc:
            return Lost(f"read failed: {exc!r}")
        return Received(out) if out or self.closed else None

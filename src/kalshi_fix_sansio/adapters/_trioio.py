"""What the trio adapter's pump asks of the system: a socket connected within the connect timeout
(`open_socket`), TLS in memory on it (`SocketTLS`), an end to every wait on it (`poke`,
`close_socket`), and the session's task's nap (`Alarm`)."""

from __future__ import annotations

import functools
import socket
import ssl
from typing import Final

import trio

from kalshi_fix_sansio.client.pump import (
    READ_CHUNK,
    ConnectOptions,
    Deadlines,
    loopback_addresses,
)
from kalshi_fix_sansio.client.steps import Lost, Received

from ._tls import WOULD_BLOCK, MemoryTLS

__all__ = ["STREAM_ERRORS", "Alarm", "SocketTLS", "close_socket", "open_socket", "poke"]

STREAM_ERRORS: Final = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


def poke(sock: socket.socket) -> None:
    """End every wait on ``sock`` (ClosedResourceError): its waiters look again."""
    trio.lowlevel.notify_closing(sock)


def close_socket(sock: socket.socket) -> None:
    poke(sock)
    sock.close()


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


async def open_socket(
    options: ConnectOptions, context: ssl.SSLContext | None
) -> tuple[socket.socket, SocketTLS | None]:
    """A connected non-blocking socket to ``options.endpoint``, and its TLS with ``context``
    (plain TCP only to checked loopback addresses), within ``options.connect_timeout``
    (`trio.TooSlowError`)."""
    ep = options.endpoint
    with trio.fail_after(options.connect_timeout):
        if context is None:
            rows = await trio.socket.getaddrinfo(ep.host, ep.port, type=trio.socket.SOCK_STREAM)
            tcp = await trio.open_tcp_stream(loopback_addresses(ep, rows)[0], ep.port)
        else:
            tcp = await trio.open_tcp_stream(ep.host, ep.port)
        tls = None
        try:
            if context is not None:
                tls = SocketTLS(context, ep.server_hostname)
                await tls.handshake(tcp.send_all, functools.partial(tcp.receive_some, READ_CHUNK))
        except BaseException:
            await trio.aclose_forcefully(tcp)
            raise
    # the connected socket (TCP_NODELAY), driven here from now on (non-blocking)
    sock = socket.socket(fileno=tcp.socket.detach())
    sock.setblocking(False)
    return sock, tls


class Alarm(Deadlines):
    """Wakes the session's task (`TrioPump.wake` sets it): ends its nap, or the next
    one at once when it rang between naps. ``at`` is the nap's deadline, as a float (trio's is
    a property)."""

    def __init__(self) -> None:
        super().__init__()
        self.rung = False
        self.nap = trio.CancelScope()  # the task's nap (under way, or the last one)

    def set(self) -> None:
        self.rung = True
        self.nap.cancel()

    def by(self, deadline: float) -> None:
        """End the nap under way at ``deadline`` at the latest."""
        if self.sooner(deadline):
            self.nap.deadline = deadline

    def sleep(self, seconds: float) -> trio.CancelScope:
        """The next nap: ``seconds`` long, over at once if rung since the last one ended."""
        self.at = trio.current_time() + seconds
        self.nap = trio.CancelScope(deadline=self.at)
        if self.rung:
            self.nap.cancel()
        return self.nap

"""What the trio adapter's pump asks of the system: a socket connected within the connect timeout
and TLS in memory on it (`open_socket`; `_sockio.SocketTLS`), an end to every wait on it (`poke`,
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

from ._sockio import SocketTLS

__all__ = ["STREAM_ERRORS", "Alarm", "close_socket", "open_socket", "poke"]

STREAM_ERRORS: Final = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


def poke(sock: socket.socket) -> None:
    """End every wait on ``sock`` (ClosedResourceError): its waiters look again."""
    trio.lowlevel.notify_closing(sock)


def close_socket(sock: socket.socket) -> None:
    poke(sock)
    sock.close()


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

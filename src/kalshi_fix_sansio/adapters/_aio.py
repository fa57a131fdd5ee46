"""What the asyncio adapter's pump asks of the system: a non-blocking socket connected and TLS
in memory on it (`open_socket`: plain TCP only to checked loopback addresses; the handshake
`_tls.MemoryTLS.handshake`, trio's too), which the loop then serves (``loop.add_reader`` /
``add_writer``: a selector event loop's, uvloop's).

From there the asyncio pump moves the socket's bytes as trio's does: a read is one ``recv``
(`_sockio.read_fact`, or `_sockio.SocketTLS.recv`), a write the shared `_sockio.SocketWriter`
(what the socket does not take waits for the loop's ``add_writer``), with no transport or
protocol of asyncio's between them and the driver.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl

from kalshi_fix_sansio.client.pump import READ_CHUNK, ConnectOptions, loopback_addresses

from ._sockio import SocketTLS

__all__ = ["open_socket"]


async def open_socket(
    options: ConnectOptions, context: ssl.SSLContext | None
) -> tuple[socket.socket, SocketTLS | None]:
    """A connected non-blocking socket to ``options.endpoint`` (TCP_NODELAY), and its TLS with
    ``context``, its handshake done (plain TCP only to checked loopback addresses). Each address
    the name resolves to is tried in turn; the last one's error is raised.

    Raises:
        OSError: no address took the connection, or the handshake failed (`ssl.SSLError`;
            the peer's close in the handshake: `ssl.SSLEOFError`).
        LocalProtocolError: plain TCP to an address that is not loopback.
    """
    ep, loop = options.endpoint, asyncio.get_running_loop()
    rows = await loop.getaddrinfo(ep.host, ep.port, type=socket.SOCK_STREAM)
    allowed = None if context is not None else loopback_addresses(ep, rows)
    error: OSError = OSError(f"no address for {ep}")
    for family, kind, proto, _, address in rows:
        if allowed is not None and address[0] not in allowed:
            continue  # connect only to checked addresses
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if context is None:
                return sock, None
            tls = SocketTLS(context, ep.server_hostname)
            send = functools.partial(loop.sock_sendall, sock)
            await tls.handshake(send, functools.partial(loop.sock_recv, sock, READ_CHUNK))
            return sock, tls
        except ssl.SSLError:
            sock.close()
            raise  # TLS refused this peer: not another address's to try
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:
            sock.close()
            raise
    raise error

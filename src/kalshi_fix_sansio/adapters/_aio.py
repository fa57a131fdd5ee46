"""The asyncio adapter's connections (`TLSProtocol`: TLS of the adapter's own over a plain
transport, or plain TCP to loopback); the callers waiting for a change are the client's
(`kalshi_fix_sansio.client.pump.Changes`).

`TLSProtocol` with a context is the adapter's TLS: `_tls.MemoryTLS` (the ssl module's memory
BIOs) on a plain transport, cheaper per message than asyncio's own SSL transport; without one,
the transport's bytes as they are. It tells its sink (the adapter's pump: what a connection
means is the client's, `kalshi_fix_sansio.client.pump.PumpParts`) what happens on the
connection.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TypeAlias

from kalshi_fix_sansio.client.pump import PumpParts

from ._tls import MemoryTLS

__all__ = ["Conn", "TLSProtocol"]


Conn: TypeAlias = "TLSProtocol"
"""A connection of the asyncio adapter: TLS in memory, or plain TCP to loopback."""


class TLSProtocol(asyncio.Protocol):
    """TLS over a plain asyncio transport with the ssl module's memory BIOs (without a
    ``context``: plain TCP, each callback passed on as it is).

    What ``loop.create_connection(ssl=...)`` does (asyncio's ``sslproto``), with less in the
    way of each message: a read decrypts what the bytes hold without raising at its end (it
    stops once the incoming BIO is empty), and a write goes through the TLS object to the
    transport with no write backlog or flow-control callbacks. It works on every event loop
    (the transport is the loop's own). The transport's ``data_received`` costs less here than
    a ``BufferedProtocol``'s ``get_buffer`` / ``buffer_updated`` (4k instructions per order).

    The handshake starts once the transport is connected; ``handshake`` (a future of the
    loop) gets its outcome. Then ``sink`` is told each step (`PumpParts`: the handshake done,
    the bytes decrypted, the end), and writes through `tls` itself.

    Args:
        context: the client TLS context (None: plain TCP).
        server_hostname: the name checked against the certificate (and sent in SNI).
        handshake: resolved when the handshake is done, or failed with its error.
        sink: told what happens on the connection once the handshake is done.
    """

    def __init__(
        self,
        context: ssl.SSLContext | None,
        server_hostname: str | None,
        handshake: asyncio.Future[None] | None,
        sink: PumpParts,
    ) -> None:
        self.sink = sink
        self.transport: asyncio.Transport | None = None
        self.handshake = handshake  # None once done (plain TCP: none)
        self.tls = None if context is None else MemoryTLS(context, server_hostname)
        self._error: Exception | None = None  # what ended the connection on our side

    def buffered(self) -> int:
        """Bytes waiting in the transport's buffer and for TLS."""
        transport, tls = self.transport, self.tls
        if transport is None:
            return 0
        return transport.get_write_buffer_size() + (0 if tls is None else len(tls.unsent))

    # -- the transport's callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.tls is None:
            self.sink.made(self)
        else:
            self._shake()  # the ClientHello

    def data_received(self, data: bytes) -> None:
        tls = self.tls
        if tls is None:
            self.sink.data(self, data)
            return
        if self.handshake is not None:
            self._shake(data)
            return
        try:
            data, closed = tls.open(data)
        except ssl.SSLError as exc:
            self.fail(exc)
            return
        if tls.unsent or tls.outgoing.pending:  # TLS answered, or may take what waited now
            self.sink.write(self.sink.driver, b"")
        if data:
            self.sink.data(self, data)
        if closed:
            self.sink.data(self, b"")

    def eof_received(self) -> bool | None:
        if self.handshake is not None:
            self._failed(
                ConnectionResetError("the peer closed the connection in the TLS handshake")
            )
        else:
            self.sink.data(self, b"")
        return None  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        if self.handshake is not None:
            self._failed(exc or ConnectionResetError("the connection closed in the TLS handshake"))
        else:
            self.sink.lost(self, exc or self._error)

    # -- TLS ----------------------------------------------------------------------------------

    def _shake(self, data: bytes = b"") -> None:
        tls = self.tls
        assert tls is not None
        try:
            done, out = tls.shake(data)
        except Exception as exc:  # the certificate refused, a TLS alert...
            self._failed(exc)
            return
        if out and self.transport is not None:
            self.transport.write(out)
        if not done:
            return
        handshake, self.handshake = self.handshake, None
        if handshake is not None and not handshake.done():
            handshake.set_result(None)
        self.sink.made(self)
        if tls.incoming.pending:  # bytes after the handshake's last message
            self.data_received(b"")

    def _failed(self, exc: Exception) -> None:
        handshake, self.handshake = self.handshake, None
        if handshake is not None and not handshake.done():
            handshake.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def fail(self, exc: Exception) -> None:
        """TLS failed on the connection: abort it (`connection_lost` tells the sink why)."""
        self._error = exc
        if self.transport is not None:
            self.transport.abort()  # `connection_lost` follows, with ``exc``

"""The asyncio adapter's connections (`TLSProtocol`: TLS of the adapter's own over a plain
transport, its handshake done by the pump with `_tls.MemoryTLS.handshake` as trio's is, or plain
TCP to loopback); the callers waiting for a change are the client's
(`kalshi_fix_sansio.client.pump.Changes`).

`TLSProtocol` with TLS is the adapter's TLS: `_tls.MemoryTLS` (the ssl module's memory BIOs)
on a plain transport, cheaper per message than asyncio's own SSL transport; without it, the
transport's bytes as they are. It tells its sink (the adapter's pump: what a connection
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
    """TLS over a plain asyncio transport with the ssl module's memory BIOs, its handshake done
    (without ``tls``: plain TCP, each callback passed on as it is).

    What ``loop.create_connection(ssl=...)`` does (asyncio's ``sslproto``), with less in the
    way of each message: a read decrypts what the bytes hold without raising at its end (it
    stops once the incoming BIO is empty), and a write goes through the TLS object to the
    transport with no write backlog or flow-control callbacks. It works on every event loop
    (the transport is the loop's own). The transport's ``data_received`` costs less here than
    a ``BufferedProtocol``'s ``get_buffer`` / ``buffer_updated`` (4k instructions per order).

    ``sink`` is told each step (`PumpParts`: the connection made, the bytes decrypted, the
    end), and writes through `tls` itself.

    Args:
        tls: the connection's TLS, its handshake done (None: plain TCP).
        sink: told what happens on the connection.
    """

    def __init__(self, tls: MemoryTLS | None, sink: PumpParts) -> None:
        self.sink = sink
        self.transport: asyncio.Transport | None = None
        self.tls = tls
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
        self.sink.made(self)
        if self.tls is not None and self.tls.incoming.pending:  # after the handshake's end
            self.data_received(b"")

    def data_received(self, data: bytes) -> None:
        tls = self.tls
        if tls is None:
            self.sink.data(self, data)
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
        self.sink.data(self, b"")
        return None  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.sink.lost(self, exc or self._error)

    def fail(self, exc: Exception) -> None:
        """TLS failed on the connection: abort it (`connection_lost` tells the sink why)."""
        self._error = exc
        if self.transport is not None:
            self.transport.abort()  # `connection_lost` follows, with ``exc``

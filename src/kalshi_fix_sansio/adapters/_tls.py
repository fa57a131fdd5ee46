"""TLS in memory, for the adapters that move a connection's bytes themselves (asyncio, trio).

`MemoryTLS` is the ssl module's `ssl.SSLObject` over two `ssl.MemoryBIO` buffers: the adapter
reads the socket (or gets the transport's bytes) once, hands them to `MemoryTLS.open` and
writes what `MemoryTLS.seal` returns; TLS never touches the socket itself, so a read is one
``recv`` (a TLS socket reads each record's header and body apart) and a renegotiation or a
key update is bytes to send like any other. It does no I/O and reads no clock.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from kalshi_fix_sansio.client.pump import READ_CHUNK, ConnectOptions, ssl_context_for

__all__ = ["MemoryTLS"]


def tls_context(options: ConnectOptions) -> ssl.SSLContext | None:
    """The TLS context of a session's open, built by its pump from the session's options
    (TLS settings as data); None: plain TCP to a checked loopback address.

    Raises:
        LocalProtocolError: the context is refused (`ssl_context_for`).
    """
    return ssl_context_for(
        options.endpoint, options.ssl_context, allow_insecure_tls=options.allow_insecure_tls
    )


class MemoryTLS:
    """One connection's TLS state in memory (see the module).

    Args:
        context: the client TLS context.
        server_hostname: the name checked against the certificate (and sent in SNI).

    Attributes:
        incoming: the peer's bytes not decrypted yet (the handshake writes here itself).
        outgoing: TLS's bytes to send, not taken yet (`to_send`).
        unsent: plaintext TLS did not take yet (it wanted to read first: a renegotiation),
            sealed before what comes next.
    """

    __slots__ = ("_read", "_tls", "_write", "incoming", "outgoing", "unsent")

    def __init__(self, context: ssl.SSLContext, server_hostname: str | None) -> None:
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=server_hostname)
        self.unsent = b""
        self._read: Callable[[int], bytes] = self._tls.read  # bound once
        self._write: Callable[[bytes], int] = self._tls.write

    def shake(self) -> bool:
        """One step of the handshake: True once it is done (its bytes are in `to_send`).

        Raises:
            ssl.SSLError: the handshake failed (a certificate refused, an alert, the peer's
                end of the connection, `ssl.SSLEOFError`, once ``incoming`` has its EOF).
        """
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True

    def to_send(self) -> bytes:
        """What TLS has to send of its own (handshake, alerts, answers), taken."""
        outgoing = self.outgoing
        return outgoing.read() if outgoing.pending else b""

    def seal(self, data: bytes) -> bytes:
        """What to send for ``data`` (after what waited in `unsent`), encrypted.

        Raises:
            ssl.SSLError: the TLS connection failed.
        """
        if self.unsent:
            data, self.unsent = self.unsent + data, b""
        if data:
            try:
                self._write(data)
            except ssl.SSLWantReadError:
                self.unsent = data  # sealed again at the next `seal`
        return self.to_send()

    def open(self, data: bytes) -> tuple[bytes, bool]:
        """The plaintext of the peer's ``data`` (a record not whole yet waits for the rest),
        and whether the peer's close_notify came after it.

        Raises:
            ssl.SSLError: a record failed (forged, or an alert from the peer).
        """
        incoming = self.incoming
        incoming.write(data)
        read = self._read
        out = b""
        try:
            while incoming.pending:  # a record (at most 16 KiB) at a time; empty: all is read
                chunk = read(READ_CHUNK)
                if not chunk:
                    return out, True
                out += chunk
        except ssl.SSLWantReadError:
            pass  # the rest of a record comes later
        return out, False

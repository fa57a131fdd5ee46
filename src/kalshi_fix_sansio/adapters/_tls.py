"""How a pump secures a connection: the TLS contexts it builds from a session's TLS settings
(data, `kalshi_fix_sansio.client.TLSSettings`), what it checks of a caller's own, what a failed
handshake means, and TLS in memory for the adapters that move a connection's bytes themselves.

* A TLS endpoint always gets TLS: every pump takes its context from `ssl_context_for` (the
  library's, `make_ssl_context`, when the caller gives none). A context weaker than the
  library's (`tls_weaknesses`) follows the client's rule (refused off this machine unless
  allowed; warned with `InsecureTLSWarning`).
* A connection that could not be opened is reported by `connect_error`: a refused
  certificate as `CertificateRefused` (what did not match, and what to do).
* `MemoryTLS` is the ssl module's `ssl.SSLObject` over two `ssl.MemoryBIO` buffers: the
  asyncio or trio pump reads the socket once, hands the bytes to `MemoryTLS.open` and writes
  what its write seals (`_sockio`); TLS never touches the socket itself, so a read is one
  ``recv`` (a TLS socket reads each record's header and body apart) and a renegotiation or a
  key update is bytes to send like any other.
"""

from __future__ import annotations

import os
import ssl
import weakref
from collections.abc import Awaitable, Callable
from typing import ClassVar, Final

from kalshi_fix_sansio.client import Endpoint, InsecureTLSWarning, TLSSettings, tls_settings
from kalshi_fix_sansio.client.pump import (
    READ_CHUNK,
    TLS12_CIPHERS,
    ConnectOptions,
    judge_weaknesses,
    refuse_context,
    refused_certificate_text,
)

__all__ = [
    "WOULD_BLOCK",
    "CertificateRefused",
    "InsecureTLSWarning",
    "MemoryTLS",
    "build_ssl_context",
    "connect_error",
    "make_ssl_context",
    "rest_verify",
    "ssl_context_for",
    "tls_context",
    "tls_weaknesses",
]

WOULD_BLOCK: Final = (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError)
"""What a non-blocking socket (plain or TLS) raises when it cannot go on now."""

_PINNING: weakref.WeakSet[ssl.SSLContext] = weakref.WeakSet()
"""The contexts `make_ssl_context` made to pin a certificate, so that a refusal under one says
it is not the pinned certificate. Not told by OpenSSL's partial-chain flag: Python 3.13's default
context sets it too."""


def make_ssl_context(
    *,
    cafile: str | os.PathLike[str] | None = None,
    pinned_cert: str | os.PathLike[str] | None = None,
    verify: bool = True,
) -> ssl.SSLContext:
    """Build the client TLS context for Kalshi FIX.

    The default (`ssl.create_default_context`) verifies the server certificate against the
    system's CA store and checks the host name; the minimum protocol version is TLS 1.2 (Kalshi
    accepts TLS 1.2 or higher). The cipher suites are those of the AWS load balancer security
    policies Kalshi's pages point to: under TLS 1.2 only ECDHE with AES-GCM
    (ECDHE-ECDSA/RSA-AES256-GCM-SHA384, ECDHE-ECDSA/RSA-AES128-GCM-SHA256); under TLS 1.3
    AES-GCM and ChaCha20-Poly1305.

    The files are read and checked as `kalshi_fix_sansio.client.tls_settings` does (what a
    pin means: `kalshi_fix_sansio.client.TLSSettings`); a session's pump builds the same
    context from its options' settings (`build_ssl_context`).

    Args:
        cafile: a PEM CA bundle trusted in addition to the system store (e.g. a corporate TLS
            proxy's CA, or the mock gateway's test CA).
        pinned_cert: PEM file of the one server certificate to trust, as Kalshi documents
            obtaining it; excludes ``cafile``.
        verify: **for tests only**: ``False`` turns off certificate *and* host name
            verification, so anyone on the path can read and alter the session, including
            the signed Logon. Never use it against Kalshi.

    Returns:
        A client-side `ssl.SSLContext`.

    Raises:
        LocalProtocolError: ``pinned_cert`` with ``cafile`` or with ``verify=False``; a file
            that is missing, unreadable or not a valid PEM certificate (the message names it);
            a pin file holding more than one certificate.
    """
    return build_ssl_context(tls_settings(cafile=cafile, pinned_cert=pinned_cert, verify=verify))


def build_ssl_context(settings: TLSSettings) -> ssl.SSLContext:
    """The library's client context for ``settings`` (what `make_ssl_context` builds once the
    files are read).

    Args:
        settings: whom to trust, as data.

    Returns:
        A client-side `ssl.SSLContext`.
    """
    if settings.pinned is not None:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=settings.pinned)
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        _PINNING.add(context)
    else:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if settings.cadata is not None:
            context.load_verify_locations(cadata=settings.cadata)
    if context.minimum_version < ssl.TLSVersion.TLSv1_2:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    if not settings.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class CertificateRefused(ssl.SSLCertVerificationError):
    """The server's TLS certificate failed verification: not trusted, not valid for the host
    name, expired, or not the pinned one (``pinned_cert``).

    Final: the same certificate would be refused on every attempt, so the connection is not
    retried through the `Backoff` (`final`); the session fails at once with `ConnectionFailed`
    (``attempts == 1``, this error as its ``last_error``). The message names the endpoint, the
    host name checked and what OpenSSL found; the handshake's own
    `ssl.SSLCertVerificationError` is the ``__cause__``, and ``verify_code`` /
    ``verify_message`` are copied from it (an ``except ssl.SSLCertVerificationError`` or
    ``except OSError`` still catches this error).

    Attributes:
        final: True: the supervisor gives up at once, without retrying.
        endpoint: where the connection went.
    """

    final: ClassVar[bool] = True
    endpoint: Endpoint


def connect_error(
    endpoint: Endpoint, context: ssl.SSLContext | None, error: BaseException
) -> BaseException:
    """What an adapter reports to the core (``Driver.connection_failed``) for a connection
    attempt that failed with ``error``: the error itself, except a certificate the TLS
    handshake refused, which becomes a final `CertificateRefused` naming the endpoint.

    Args:
        endpoint: where the adapter connected.
        context: the TLS context of the attempt (None for plain TCP); a pinning context of
            `make_ssl_context` (made with ``pinned_cert``) makes the message say the
            certificate is not the pinned one.
        error: what the attempt raised.

    Returns:
        The error to report.
    """
    if not isinstance(error, ssl.SSLCertVerificationError) or isinstance(error, CertificateRefused):
        return error
    code = getattr(error, "verify_code", None)
    found = getattr(error, "verify_message", None) or error.reason or str(error)
    pinned = context is not None and context in _PINNING
    refused = CertificateRefused(
        error.errno, refused_certificate_text(endpoint, code, error.reason, found, pinned=pinned)
    )
    if code is not None:
        refused.verify_code = code
    refused.verify_message = getattr(error, "verify_message", found)
    refused.library, refused.reason = error.library, error.reason
    refused.endpoint = endpoint
    refused.__cause__ = error
    return refused


_MIN_TLS: Final = ssl.TLSVersion.TLSv1_2


def tls_weaknesses(context: ssl.SSLContext) -> list[str]:
    """How a client TLS context is weaker than `make_ssl_context()`'s (empty: it is not).

    Checked: certificate verification (``verify_mode`` `ssl.CERT_NONE`), host name checking
    (``check_hostname`` False) and the protocol floor (``minimum_version`` below TLS 1.2,
    including `ssl.TLSVersion.MINIMUM_SUPPORTED`). A pinned or extra-CA context of
    `make_ssl_context` has none of these.

    Args:
        context: a client-side context.

    Returns:
        One phrase per weakness, e.g. ``"certificate verification is off (verify_mode
        CERT_NONE)"``.
    """
    weaknesses: list[str] = []
    if context.verify_mode == ssl.CERT_NONE:
        weaknesses.append("certificate verification is off (verify_mode CERT_NONE)")
    if not context.check_hostname:
        weaknesses.append("the host name is not checked (check_hostname False)")
    minimum = context.minimum_version
    if minimum < _MIN_TLS:  # MINIMUM_SUPPORTED (-2) included
        weaknesses.append(f"minimum_version {minimum.name} is below TLS 1.2")
    return weaknesses


def ssl_context_for(
    endpoint: Endpoint,
    ssl_context: ssl.SSLContext | None = None,
    *,
    allow_insecure_tls: bool = False,
    settings: TLSSettings | None = None,
) -> ssl.SSLContext | None:
    """The TLS context an adapter uses for ``endpoint``: the one place that decides.

    Every adapter (blocking, asyncio, trio) calls this when it opens a session and wraps the
    connection in the returned context whenever it is not ``None``: a TLS endpoint never gets
    plain TCP, whatever the caller passed. A context of the caller's is checked here, before
    any connection: not an `ssl.SSLContext`, or a server-side one, is refused; one weaker than
    the library's (`tls_weaknesses`) follows the client's rule
    (`kalshi_fix_sansio.client.pump.judge_weaknesses`: refused off this machine unless
    allowed, else warned with `InsecureTLSWarning`), the others' words too
    (`kalshi_fix_sansio.client.pump.refuse_context`). A pinned or extra-CA context of
    `make_ssl_context` has no weakness: nothing is warned.

    Args:
        endpoint: where the adapter connects.
        ssl_context: the caller's context, if any.
        allow_insecure_tls: use a weak context for a non-loopback endpoint too (still warned).
        settings: whom the library's context trusts when no ``ssl_context`` is given (None:
            the system's CAs).

    Returns:
        ``ssl_context``, or the library's context (`build_ssl_context` of ``settings``) when
        the endpoint uses TLS and none was given; ``None`` for plain TCP.

    Raises:
        LocalProtocolError: a context was given for a plain-TCP endpoint, the context is not an
            `ssl.SSLContext`, it is a server-side context (`ssl.PROTOCOL_TLS_SERVER`), or it
            is weaker than the library's, for a non-loopback endpoint, without
            ``allow_insecure_tls``.
    """
    if ssl_context is None:
        return build_ssl_context(settings or TLSSettings()) if endpoint.tls else None
    is_context = isinstance(ssl_context, ssl.SSLContext)
    server_side = is_context and ssl_context.protocol == ssl.PROTOCOL_TLS_SERVER
    refuse_context(endpoint, ssl_context, is_context=is_context, server_side=server_side)
    judge_weaknesses(endpoint, tls_weaknesses(ssl_context), allow_insecure_tls=allow_insecure_tls)
    return ssl_context


def tls_context(options: ConnectOptions) -> ssl.SSLContext | None:
    """The TLS context of a session's open, built by its pump from the session's options
    (TLS settings as data); None: plain TCP to a checked loopback address.

    Raises:
        LocalProtocolError: the context is refused (`ssl_context_for`).
    """
    return ssl_context_for(
        options.endpoint,
        options.ssl_context,
        allow_insecure_tls=options.allow_insecure_tls,
        settings=options.tls,
    )


def rest_verify(options: ConnectOptions) -> ssl.SSLContext | bool:
    """Whom a session's REST companion trusts: the session's TLS context (the caller's, else
    the library's of its settings: the same pin or CA file), or the system's (True) for a
    plain-TCP session."""
    if options.ssl_context is not None:
        return options.ssl_context
    return build_ssl_context(options.tls) if options.endpoint.tls else True


class MemoryTLS:
    """One connection's TLS state in memory (see the module).

    Args:
        context: the client TLS context.
        server_hostname: the name checked against the certificate (and sent in SNI).

    Attributes:
        incoming: the peer's bytes not decrypted yet (the handshake writes here itself).
        outgoing: TLS's bytes to send, not taken yet (`to_send`).
        unsent: plaintext TLS did not take yet (it wanted to read first: a renegotiation),
            sealed before what comes next (by the pump's write, `_sockio`).
        write: TLS's ``write`` of plaintext (its records go to ``outgoing``), bound once.
    """

    __slots__ = ("_read", "_tls", "incoming", "outgoing", "unsent", "write")

    def __init__(self, context: ssl.SSLContext, server_hostname: str | None) -> None:
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=server_hostname)
        self.unsent = b""
        self._read: Callable[[int], bytes] = self._tls.read  # bound once
        self.write: Callable[[bytes], int] = self._tls.write

    def shake(self, data: bytes | None = b"") -> tuple[bool, bytes]:
        """One step of the handshake, given the peer's ``data`` (None: the peer closed the
        connection): whether it is done, and TLS's bytes to send (the pump writes them).

        Raises:
            ssl.SSLError: the handshake failed (a certificate refused, an alert, the peer's
                end of the connection: `ssl.SSLEOFError`).
        """
        if data is None:
            self.incoming.write_eof()
        elif data:
            self.incoming.write(data)
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            return False, self.to_send()
        return True, self.to_send()

    async def handshake(
        self, send: Callable[[bytes], Awaitable[object]], receive: Callable[[], Awaitable[bytes]]
    ) -> None:
        """The whole handshake over a connection, in its loop's own calls (``send`` some bytes;
        ``receive`` what came, ``b""``: the peer closed): the asyncio pump's (its loop's
        ``sock_sendall`` / ``sock_recv``) and trio's (a stream's ``send_all`` /
        ``receive_some``).

        Raises:
            ssl.SSLError: as `shake`.
        """
        data: bytes | None = b""
        while True:
            done, out = self.shake(data)
            if out:
                await send(out)
            if done:
                return
            data = await receive() or None  # None: the peer closed

    def to_send(self) -> bytes:
        """What TLS has to send of its own (handshake, alerts, answers), taken."""
        outgoing = self.outgoing
        return outgoing.read() if outgoing.pending else b""

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

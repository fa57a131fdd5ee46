"""How an adapter secures a connection: the TLS contexts, and what a failed handshake means.

* A TLS endpoint always gets TLS: every adapter takes its context from `ssl_context_for` (the
  library's default when the caller gives none, `make_ssl_context`). A context weaker than the
  library's (`tls_weaknesses`) is refused for a non-loopback endpoint unless the caller opts
  in (``allow_insecure_tls=True``); when it is used, an `InsecureTLSWarning` (the `warnings`
  module, so it shows without logging configured) and a WARNING log line name the endpoint.
* Certificate pinning: Kalshi documents fetching the server certificate with
  ``openssl s_client -showcerts -connect <host>:<port> < /dev/null | openssl x509 >
  kalshi-fix.pem``; pass that file as ``make_ssl_context(pinned_cert=...)``.
* A connection that could not be opened is reported by `connect_error`: a refused
  certificate as `CertificateRefused` (what did not match, and what to do), and whether
  another attempt can help.

This module imports no event loop (neither asyncio nor trio), so every adapter can use it.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import sys
import warnings
import weakref
from types import FrameType
from typing import ClassVar, Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from kalshi_fix_sansio.codec.errors import LocalProtocolError

from ._endpoints import Endpoint
from ._transport import TRANSPORT_LOGGER_NAME

__all__ = [
    "CertificateRefused",
    "InsecureTLSWarning",
    "connect_error",
    "make_ssl_context",
    "ssl_context_for",
    "tls_weaknesses",
]

_log = logging.getLogger(TRANSPORT_LOGGER_NAME)


def _read_certificates(path: str | os.PathLike[str], what: str) -> list[x509.Certificate]:
    where = os.fspath(path)
    try:
        with open(where, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise LocalProtocolError(f"{what} file not found: {where!r}: check the path") from None
    except IsADirectoryError:
        raise LocalProtocolError(
            f"{what} {where!r} is a directory: pass the path of a PEM file"
        ) from None
    except PermissionError:
        raise LocalProtocolError(f"cannot read {what} file {where!r}: permission denied") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise LocalProtocolError(f"cannot read {what} file {where!r}: {reason}") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        if b"PRIVATE KEY-----" in data:
            hint = "it holds a private key, not a certificate (never share or pin a key)"
        elif data[:1] == b"\x30":
            hint = (
                "it looks like binary DER: convert it with "
                f"'openssl x509 -inform DER -in {where} -out cert.pem'"
            )
        elif not data.strip():
            hint = "the file is empty"
        else:
            hint = "no '-----BEGIN CERTIFICATE-----' block found"
        raise LocalProtocolError(f"{what} {where!r} is not a PEM certificate file: {hint}")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise LocalProtocolError(
            f"{what} {where!r} holds a damaged or truncated PEM certificate: fetch it again"
        ) from None


def _pem(certificates: list[x509.Certificate]) -> str:
    return "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certificates)


_TLS12_CIPHERS: Final = ":".join(
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    )
)
"""The TLS 1.2 cipher suites the library's context offers: ECDHE key exchange with AES-GCM, the
four that every AWS Network Load Balancer security policy allowing TLS 1.2 has (Kalshi's FIX
gateways sit behind such load balancers; docs/maintainers/decisions.md, "TLS policy of the
default context"). Python's default list adds ECDHE with CBC or ChaCha20 and DHE suites, which
the restricted policies do not take. TLS 1.3 suites are OpenSSL's (AES-256-GCM, ChaCha20-Poly1305,
AES-128-GCM: the AWS policies' three); Python cannot set them."""

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

    Pinning: ``pinned_cert`` is the PEM file of the server certificate, as Kalshi documents
    obtaining it (``openssl s_client -showcerts -connect <host>:<port> < /dev/null | openssl
    x509 > kalshi-fix.pem``). It is loaded as the *only* trust anchor, with OpenSSL's
    partial-chain flag, so the connection succeeds only if the server presents exactly that
    certificate (a self-signed certificate or a CA-issued leaf alike); the system CA store is
    not consulted and the host name is still checked. Pin the leaf certificate only: a file
    with several certificates is refused, since trusting an intermediate CA is not pinning.
    When Kalshi rotates its certificate, fetch the new one.

    Args:
        cafile: a PEM CA bundle trusted in addition to the system store (e.g. a corporate TLS
            proxy's CA, or the mock gateway's test CA).
        pinned_cert: PEM file of the one server certificate to trust (see above); excludes
            ``cafile``.
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
    if pinned_cert is not None and cafile is not None:
        raise LocalProtocolError(
            "pass pinned_cert or cafile, not both: a pinned certificate is the only one trusted"
        )
    if pinned_cert is not None and not verify:
        raise LocalProtocolError(
            "pinned_cert with verify=False makes no sense: verification is what checks the pin"
        )
    if pinned_cert is not None:
        certificates = _read_certificates(pinned_cert, "pinned certificate")
        if len(certificates) != 1:
            raise LocalProtocolError(
                f"pinned certificate {os.fspath(pinned_cert)!r} holds {len(certificates)} "
                "certificates; pinning trusts exactly one, the server's: extract it with "
                "'openssl x509 -in <file> -out kalshi-fix.pem' (which keeps the first)"
            )
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=_pem(certificates))
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        _PINNING.add(context)
    else:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if cafile is not None:
            certificates = _read_certificates(cafile, "CA file")
            context.load_verify_locations(cadata=_pem(certificates))
    if context.minimum_version < ssl.TLSVersion.TLSv1_2:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(_TLS12_CIPHERS)
    if not verify:
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


# OpenSSL's verify codes: X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH; and
# X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
_NAME_MISMATCH: Final = frozenset({62, 64})
_OUT_OF_DATE: Final = frozenset({9, 10})


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
    name = endpoint.server_hostname or endpoint.host
    if code in _NAME_MISMATCH:
        hint = (
            f"the certificate does not name {name!r}: check the endpoint's host, or set "
            "Endpoint(server_hostname=...) to the name the server's certificate is for"
        )
    elif context is not None and context in _PINNING:
        hint = (
            "it is not the pinned certificate (pinned_cert): if Kalshi rotated its "
            "certificate, fetch the new one ('openssl s_client -showcerts -connect "
            f"{name}:{endpoint.port} < /dev/null | openssl x509 > kalshi-fix.pem')"
        )
    elif code in _OUT_OF_DATE:
        hint = "it is outside its validity period: check this machine's clock"
    else:
        hint = (
            "the trusted CAs (the system's store, cafile=) do not vouch for it: for a TLS "
            "proxy or a test gateway pass cafile= or pinned_cert="
        )
    refused = CertificateRefused(
        error.errno,
        f"the TLS certificate of {endpoint} (host name {name!r}) was refused "
        f"({error.reason or 'CERTIFICATE_VERIFY_FAILED'}): {found}; {hint}. Not retried: the "
        "same certificate would be refused again",
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


class InsecureTLSWarning(UserWarning):
    """A session opened with a TLS context weaker than the library's (`tls_weaknesses`):
    certificate verification off, no host name check, or a floor below TLS 1.2.

    Issued through the `warnings` module, so it shows on stderr without any logging set up
    (Python's default filter prints it once per calling line), once per session open, located
    at the line of your code that opened the session (``with``/``async with``, ``open()``).
    A weak context reaches a non-loopback endpoint only with ``allow_insecure_tls=True``;
    without it the session is refused before connecting. The same text is logged as a WARNING
    on the ``kalshi_fix_sansio.transport`` logger.

    To make it an error: ``warnings.simplefilter("error", InsecureTLSWarning)`` (the session
    then fails to open); to silence it where a weak context is meant (a test of one):
    ``warnings.filterwarnings("ignore", category=InsecureTLSWarning)``.
    """


def _path(filename: str) -> str:
    return os.path.normcase(os.path.abspath(filename))


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    """The directory of the library's code (the package, its adapters inside it)."""
    return (os.path.dirname(os.path.dirname(_path(__file__))) + os.sep,)


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside the library, for `warnings.warn` called
    from the function that calls this one (so a warning names the application's line)."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and _path(frame.f_code.co_filename).startswith(_library_dirs()):
        frame, level = frame.f_back, level + 1
    return level


def ssl_context_for(
    endpoint: Endpoint,
    ssl_context: ssl.SSLContext | None = None,
    *,
    allow_insecure_tls: bool = False,
) -> ssl.SSLContext | None:
    """The TLS context an adapter uses for ``endpoint``: the one place that decides.

    Every adapter (blocking, asyncio, trio) calls this when it opens a session and wraps the
    connection in the returned context whenever it is not ``None``: a TLS endpoint never gets
    plain TCP, whatever the caller passed. A context weaker than the library's (see
    `tls_weaknesses`) would let anyone on the path read or alter the session, including the
    signed Logon, so:

    * to a non-loopback endpoint it is refused unless ``allow_insecure_tls`` is True;
    * when it is used (loopback, or allowed), an `InsecureTLSWarning` is issued at the
      caller's line (the first frame outside the library) and the same text is logged as a
      WARNING on the ``kalshi_fix_sansio.transport`` logger, both naming the endpoint and the
      weaknesses.

    A pinned or extra-CA context of `make_ssl_context` (a test gateway's certificate
    included) has no weakness: nothing is warned.

    Args:
        endpoint: where the adapter connects.
        ssl_context: the caller's context, if any.
        allow_insecure_tls: use a weak context for a non-loopback endpoint too (still warned).

    Returns:
        ``ssl_context``, or `make_ssl_context()` when the endpoint uses TLS and none was given;
        ``None`` for plain TCP.

    Raises:
        LocalProtocolError: a context was given for a plain-TCP endpoint, the context is not an
            `ssl.SSLContext`, it is a server-side context (`ssl.PROTOCOL_TLS_SERVER`), or it
            is weaker than the library's, for a non-loopback endpoint, without
            ``allow_insecure_tls``.
    """
    if not endpoint.tls:
        if ssl_context is not None:
            raise LocalProtocolError(
                f"an ssl_context was given but {endpoint} is plain TCP: use tls=True or drop it"
            )
        return None
    if ssl_context is None:
        return make_ssl_context()
    if not isinstance(ssl_context, ssl.SSLContext):
        raise LocalProtocolError(
            f"ssl_context for {endpoint} must be an ssl.SSLContext, got "
            f"{type(ssl_context).__name__}: build one with make_ssl_context()"
        )
    if ssl_context.protocol == ssl.PROTOCOL_TLS_SERVER:
        raise LocalProtocolError(
            f"the ssl_context for {endpoint} is a server-side context (PROTOCOL_TLS_SERVER): "
            "a client needs make_ssl_context() or ssl.create_default_context()"
        )
    weaknesses = "; ".join(tls_weaknesses(ssl_context))
    if not weaknesses:
        return ssl_context
    if not endpoint.loopback and not allow_insecure_tls:
        raise LocalProtocolError(
            f"{endpoint}: the TLS context is weaker than the library's: {weaknesses}; anyone on "
            "the path could read or alter this session, including the signed Logon. Use "
            "make_ssl_context() (pinned_cert= for a server's own certificate, cafile= for a TLS "
            "proxy's CA), or pass allow_insecure_tls=True to connect anyway"
        )
    text = (
        f"{endpoint}: the TLS context is weaker than the library's: {weaknesses}; anyone on "
        "the path can read or alter this session, including the signed Logon"
    )
    warnings.warn(text, InsecureTLSWarning, stacklevel=_caller_stacklevel())
    _log.warning("%s", text)
    return ssl_context

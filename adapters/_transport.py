"""Transport helpers shared by the blocking, asyncio and trio adapters.

Everything here is about the pipe, never about FIX: where to connect (`Endpoint`,
`kalshi_endpoint`, `check_endpoint`), how to secure the connection (`make_ssl_context`), how
to log the frames that cross the wire (`MessageLog`, from ``_messagelog``) and where the API key comes from
(`Credentials`). The sans-IO core makes every protocol decision, the reconnect policy included
(`kalshi_fix_sansio.supervisor`: `Backoff`, `reconnect_plan`, the maintenance calendar and the
errors, re-exported here for older imports); an adapter pumps bytes between a socket and the
core and uses this module for the rest.

This module imports no event loop (neither asyncio nor trio), so every adapter can use it.

Transport rules (Kalshi FIX reference, session.md §1):

* Kalshi accepts TCP + TLS 1.2 or higher only; plain TCP is refused here unless it goes to
  loopback (a local TLS proxy such as stunnel, or the mock gateway). Loopback is checked twice:
  on the endpoint's host (`check_endpoint`: a loopback IP literal or ``localhost``) and on every
  address that host resolves to (`loopback_addresses`), and the adapters connect only to the
  addresses they checked.
* A TLS endpoint always gets TLS: every adapter takes its context from `ssl_context_for` (the
  library's default when the caller gives none), which logs a WARNING naming the endpoint when
  the context is weaker than the library's (`tls_weaknesses`).
* The documented hosts are in ``ENVIRONMENTS`` (``_generated/tables.py``); each session type has
  its own port (``SESSIONS``); ports are the same in demo and production.
* Certificate pinning: Kalshi documents fetching the server certificate with
  ``openssl s_client -showcerts -connect <host>:<port> < /dev/null | openssl x509 >
  kalshi-fix.pem``; pass that file as ``make_ssl_context(pinned_cert=...)``.

Back-pressure: an adapter reads at most `READ_CHUNK` bytes at a time and stops feeding the
session while it cannot write. If the transport cannot take our bytes and more than
`MAX_BUFFERED_OUTBOUND` bytes are queued for it, the adapter raises `TransportError` (and
closes the connection) rather than let memory grow without bound: a peer that does not read
is treated like a dead connection.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final

import attrs
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from kalshi_fix_sansio.auth import KeyLoadError, Signer, load_signer, load_signer_file
from kalshi_fix_sansio.errors import LocalProtocolError
from kalshi_fix_sansio.redaction import redact_frame
from kalshi_fix_sansio.spec import ENVIRONMENTS, SESSIONS
from kalshi_fix_sansio.supervisor import (
    Backoff,
    ConnectionFailed,
    ReconnectPlan,
    TransportError,
    in_maintenance_window,
    reconnect_plan,
    seconds_until_maintenance_ends,
)

from ._keyenv import env_key_error
from ._messagelog import MESSAGE_LOGGER_NAME, MessageLog, MessageLogError

__all__ = [
    "KALSHI_FIX_HOSTS",
    "MAX_BUFFERED_OUTBOUND",
    "MESSAGE_LOGGER_NAME",
    "READ_CHUNK",
    "SESSION_LOGGER_NAME",
    "TRANSPORT_LOGGER_NAME",
    "WOULD_BLOCK",
    "Backoff",
    "CertificateRefused",
    "ConnectionFailed",
    "Credentials",
    "Endpoint",
    "MessageLog",
    "MessageLogError",
    "ReconnectPlan",
    "TransportError",
    "check_endpoint",
    "connect_error",
    "in_maintenance_window",
    "kalshi_endpoint",
    "loopback_addresses",
    "make_ssl_context",
    "reconnect_plan",
    "redact_frame",
    "seconds_until_maintenance_ends",
    "session_logger",
    "ssl_context_for",
    "tls_weaknesses",
]

MAX_BUFFERED_OUTBOUND: Final = 8 * 1024 * 1024
"""Most bytes an adapter queues for a transport that is not taking them (8 MiB).

When the socket cannot accept our bytes and more than this is waiting, the adapter raises
`TransportError` and closes the connection instead of growing memory.
"""

WOULD_BLOCK: Final = (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError)
"""What a non-blocking socket (plain or TLS) raises when it cannot go on now."""

READ_CHUNK: Final = 65536
"""Bytes an adapter asks the transport for per read (64 KiB)."""

TRANSPORT_LOGGER_NAME: Final = "kalshi_fix_sansio.transport"
"""The stdlib logger for connection events (connects, retries, TLS failures) of the adapters."""

logging.getLogger(TRANSPORT_LOGGER_NAME).addHandler(logging.NullHandler())
_log = logging.getLogger(TRANSPORT_LOGGER_NAME)

SESSION_LOGGER_NAME: Final = "kalshi_fix_sansio.session"
"""The parent of the per-session loggers: ``kalshi_fix_sansio.session.<product>.<session
type>.<API key>`` (`session_logger`) carries each session's protocol events (Logon, Logout,
gaps, resends, rejects, garbled input, timeouts), every record with the ``extra`` fields
``product``, ``session_type``, ``key_id`` and ``event``."""

logging.getLogger(SESSION_LOGGER_NAME).addHandler(logging.NullHandler())


def session_logger(product: str, session_type: str, key_id: str) -> logging.Logger:
    """The logger of one session: ``kalshi_fix_sansio.session.<product>.<session_type>.<key>``
    (a dot in the key is replaced by ``_``, so the name keeps four levels)."""
    return logging.getLogger(
        f"{SESSION_LOGGER_NAME}.{product}.{session_type}.{key_id.replace('.', '_')}"
    )


PRODUCTS: Final = ("prediction", "margin")

KALSHI_FIX_HOSTS: Final[frozenset[str]] = frozenset(
    host
    for environments in ENVIRONMENTS.values()
    for roles in environments.values()
    for host in roles.values()
)
"""Every FIX host Kalshi documents, for both products and both environments."""


# --------------------------------------------------------------------------------------------
# Endpoints and host policy


def _normalise_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") else host


def _is_loopback(host: str) -> bool:
    name = _normalise_host(host)
    if name == "localhost":
        return True
    return _is_loopback_address(name)  # a DNS name is not: never resolved here


def _bare_host(host: str) -> str:
    if isinstance(host, str):
        host = host.strip()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]  # "[::1]" -> "::1", as the socket API wants it
    return host


def _check_host(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise LocalProtocolError(f"Endpoint.{attribute.name} must be a non-empty host name")
    if any(c.isspace() for c in value) or "/" in value:
        raise LocalProtocolError(
            f"Endpoint.{attribute.name} must be a bare host name or IP address, got {value!r}"
        )


def _check_port(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise LocalProtocolError(f"Endpoint.port must be an int in 1-65535, got {value!r}")


def _default_server_hostname(endpoint: Endpoint) -> str | None:
    return _normalise_host(endpoint.host) if endpoint.tls else None


@attrs.frozen
class Endpoint:
    """Where to connect, and whether to speak TLS.

    Attributes:
        host: DNS name or IP address literal (brackets around an IPv6 literal are removed).
        port: TCP port.
        tls: wrap the connection in TLS (Kalshi requires it; plain TCP only to loopback).
        server_hostname: name sent in SNI and checked against the server certificate. Default:
            the host for TLS, ``None`` for plain TCP. Set it when connecting through another
            address (AWS PrivateLink, a TLS-passthrough proxy) to the Kalshi host name.

    Raises:
        LocalProtocolError: empty host, port out of range, or a server_hostname on plain TCP.
    """

    host: str = attrs.field(converter=_bare_host, validator=_check_host)
    port: int = attrs.field(validator=_check_port)
    tls: bool = True
    server_hostname: str | None = attrs.field(
        default=attrs.Factory(_default_server_hostname, takes_self=True)
    )

    def __attrs_post_init__(self) -> None:
        if not self.tls and self.server_hostname is not None:
            raise LocalProtocolError(
                "Endpoint.server_hostname only applies to TLS: leave it None for plain TCP"
            )
        if self.tls and self.server_hostname is not None:
            _check_host(self, attrs.fields(Endpoint).server_hostname, self.server_hostname)

    @property
    def loopback(self) -> bool:
        """The host is ``localhost``, an address in 127.0.0.0/8 or ``::1`` (no DNS lookup)."""
        return _is_loopback(self.host)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'tls' if self.tls else 'tcp'}://{host}:{self.port}"


def session_types(product: str) -> list[str]:
    """The session type names of ``product``, in the spec's order (from ``SESSIONS``)."""
    return [spec.name for spec in SESSIONS.values() if spec.product == product]


def documented_environment(endpoint: Endpoint, product: str | None = None) -> str | None:
    """The Kalshi environment whose documented FIX host ``endpoint`` names, if any.

    The endpoint names a host by its ``host`` or, for TLS, by its ``server_hostname`` (the
    name checked against the certificate: AWS PrivateLink, a TLS-passthrough tunnel). The port
    is not considered. No DNS lookup.

    Args:
        endpoint: the endpoint.
        product: look among this product's hosts only (default: both products').

    Returns:
        ``"demo"`` or ``"production"``, or None when neither name is one of Kalshi's hosts.
    """
    names = {_normalise_host(endpoint.host)}
    if endpoint.tls and endpoint.server_hostname is not None:
        names.add(_normalise_host(endpoint.server_hostname))
    for name, environments in ENVIRONMENTS.items():
        if product is not None and name != product:
            continue
        for environment, roles in environments.items():
            if names.intersection(roles.values()):
                return environment
    return None


def kalshi_endpoint(product: str, environment: str, session_type: str) -> Endpoint:
    """The documented endpoint of a Kalshi FIX session type (TLS on).

    Args:
        product: ``"prediction"`` or ``"margin"``.
        environment: ``"demo"`` or ``"production"``.
        session_type: the TargetCompID, e.g. ``"KalshiNR"`` or ``"KalshiMD"``.

    Returns:
        The host (order-entry or market-data host of the environment) and the session type's
        port, with TLS and SNI set to the host.

    Raises:
        LocalProtocolError: unknown product or environment, or a session type the product
            does not have (e.g. KalshiPT on margin).
    """
    if product not in ENVIRONMENTS:
        raise LocalProtocolError(
            f"unknown product {product!r}: use one of {', '.join(map(repr, PRODUCTS))}"
        )
    environments = ENVIRONMENTS[product]
    if environment not in environments:
        known = ", ".join(repr(e) for e in environments)
        raise LocalProtocolError(
            f"unknown environment {environment!r} for {product}: use one of {known}"
        )
    spec = SESSIONS.get((product, session_type))
    if spec is None:
        known = ", ".join(session_types(product))
        raise LocalProtocolError(
            f"{session_type!r} is not a {product} session type (known: {known})"
        )
    host = environments[environment][spec.host]
    return Endpoint(host=host, port=spec.port, tls=True, server_hostname=host)


def check_endpoint(endpoint: Endpoint, *, allow_unlisted_hosts: bool = False) -> None:
    """Refuse connections Kalshi would not accept, or that go somewhere unexpected.

    Plain TCP is allowed only to loopback (a local TLS proxy such as stunnel, the mock
    gateway). A non-loopback host must be one of Kalshi's documented FIX hosts
    (`KALSHI_FIX_HOSTS`) unless ``allow_unlisted_hosts`` is set (a PrivateLink endpoint, a
    proxy, a test server). Literal IP addresses are recognised with `ipaddress`; DNS is not
    consulted here, so a name that merely resolves to loopback is not loopback. For plain TCP
    this is the first of two checks: the adapters also resolve the host and refuse the
    connection unless every address is loopback (`loopback_addresses`).

    Args:
        endpoint: the endpoint an adapter is about to connect to.
        allow_unlisted_hosts: accept TLS to hosts Kalshi does not document.

    Raises:
        LocalProtocolError: plain TCP to a non-loopback host, or an unlisted host without
            the opt-in.
    """
    if endpoint.loopback:
        return
    if not endpoint.tls:
        raise LocalProtocolError(
            f"plain TCP to {endpoint.host}:{endpoint.port} refused: Kalshi requires TLS; plain "
            "TCP is only allowed to loopback (e.g. a local stunnel): use tls=True"
        )
    if allow_unlisted_hosts or _normalise_host(endpoint.host) in KALSHI_FIX_HOSTS:
        return
    raise LocalProtocolError(
        f"{endpoint.host} is not one of Kalshi's documented FIX hosts "
        f"({', '.join(sorted(KALSHI_FIX_HOSTS))}); to connect to another host (PrivateLink, a "
        "proxy, a test gateway) pass allow_unlisted_hosts=True"
    )


# --------------------------------------------------------------------------------------------
# TLS


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


def make_ssl_context(
    *,
    cafile: str | os.PathLike[str] | None = None,
    pinned_cert: str | os.PathLike[str] | None = None,
    verify: bool = True,
) -> ssl.SSLContext:
    """Build the client TLS context for Kalshi FIX.

    The default (`ssl.create_default_context`) verifies the server certificate against the
    system's CA store and checks the host name; the minimum protocol version is TLS 1.2 (Kalshi
    accepts TLS 1.2 or higher).

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
    else:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if cafile is not None:
            certificates = _read_certificates(cafile, "CA file")
            context.load_verify_locations(cadata=_pem(certificates))
    if context.minimum_version < ssl.TLSVersion.TLSv1_2:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
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
            `make_ssl_context` (OpenSSL's partial-chain flag) makes the message say the
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
    elif context is not None and context.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN:
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


def ssl_context_for(
    endpoint: Endpoint, ssl_context: ssl.SSLContext | None = None
) -> ssl.SSLContext | None:
    """The TLS context an adapter uses for ``endpoint``: the one place that decides.

    Every adapter (blocking, asyncio, trio) calls this when it opens a session and wraps the
    connection in the returned context whenever it is not ``None``: a TLS endpoint never gets
    plain TCP, whatever the caller passed. A context weaker than the library's (see
    `tls_weaknesses`) is used as given, but logged as a WARNING on the
    ``kalshi_fix_sansio.transport`` logger naming the endpoint: anyone on the path could then
    read or alter the session, including the signed Logon.

    Args:
        endpoint: where the adapter connects.
        ssl_context: the caller's context, if any.

    Returns:
        ``ssl_context``, or `make_ssl_context()` when the endpoint uses TLS and none was given;
        ``None`` for plain TCP.

    Raises:
        LocalProtocolError: a context was given for a plain-TCP endpoint, the context is not an
            `ssl.SSLContext`, or it is a server-side context (`ssl.PROTOCOL_TLS_SERVER`).
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
    weaknesses = tls_weaknesses(ssl_context)
    if weaknesses:
        _log.warning(
            "%s: the TLS context is weaker than the library's: %s; anyone on the path can "
            "read or alter this session, including the signed Logon",
            endpoint,
            "; ".join(weaknesses),
        )
    return ssl_context


def loopback_addresses(endpoint: Endpoint, resolved: Iterable[Sequence[Any]]) -> list[str]:
    """The addresses a plain-TCP connection may use: all of them loopback, or none at all.

    Adapters call this with what ``getaddrinfo(host, port)`` returned for a plain-TCP endpoint
    (after `check_endpoint`) and connect only to the returned addresses, never by name again,
    so the name cannot resolve elsewhere between the check and the connect.

    Args:
        endpoint: the plain-TCP endpoint.
        resolved: ``getaddrinfo`` rows ``(family, type, proto, canonname, sockaddr)``.

    Returns:
        The distinct addresses, in resolver order.

    Raises:
        LocalProtocolError: the endpoint is TLS, the name resolved to nothing, or any address
            is not loopback (the message names them).
    """
    if endpoint.tls:
        raise LocalProtocolError(f"{endpoint} uses TLS: loopback_addresses is for plain TCP")
    addresses: list[str] = []
    outside: list[str] = []
    for row in resolved:
        address = str(row[4][0])
        if address in addresses or address in outside:
            continue
        (addresses if _is_loopback_address(address) else outside).append(address)
    if outside:
        raise LocalProtocolError(
            f"plain TCP to {endpoint.host}:{endpoint.port} refused: {endpoint.host} resolves to "
            f"{', '.join(outside)}, which is not loopback; plain TCP is only allowed to "
            "loopback addresses (a local TLS proxy, the mock gateway): use tls=True"
        )
    if not addresses:
        raise LocalProtocolError(
            f"plain TCP to {endpoint.host}:{endpoint.port} refused: the name resolved to no address"
        )
    return addresses


def _is_loopback_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 scope id
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


# --------------------------------------------------------------------------------------------
# Credentials

_ENV_PREFIX: Final = {"prediction": "KALSHI_", "margin": "KALSHI_PERPS_"}


def _check_key_id(key_id: object) -> str:
    if not isinstance(key_id, str) or not key_id.strip():
        raise LocalProtocolError("the API key id must be a non-empty string (a UUID)")
    key_id = key_id.strip()
    if any(c.isspace() or c == "\x01" for c in key_id):
        raise LocalProtocolError("the API key id must not contain whitespace or SOH")
    return key_id


def _unescape_pem(pem: str) -> str:
    # .env files and container secrets often carry a PEM on one line with literal "\n"
    if "-----BEGIN" in pem and "\n" not in pem.strip() and "\\n" in pem:
        return pem.replace("\\n", "\n")
    return pem


@attrs.frozen(repr=False)
class Credentials:
    """A FIX API key id and the signer of its private key.

    The repr shows the key id and the signature algorithm, never key material or passphrase.

    Attributes:
        key_id: the API key id (a UUID): the SenderCompID.
        signer: signs the Logon (`kalshi_fix_sansio.auth.Signer`).
    """

    key_id: str = attrs.field(converter=_check_key_id)
    signer: Signer

    def __repr__(self) -> str:
        algorithm = getattr(self.signer, "algorithm", "?")
        return f"Credentials(key_id={self.key_id!r}, signer=<{algorithm} signer>)"

    @classmethod
    def from_key(
        cls,
        key_id: str,
        *,
        pem: bytes | str | None = None,
        path: str | os.PathLike[str] | None = None,
        passphrase: bytes | str | None = None,
    ) -> Credentials:
        """Credentials from a key id and a PEM private key (text or file).

        Args:
            key_id: the API key id.
            pem: the PEM text of the private key.
            path: the private key file (instead of ``pem``).
            passphrase: the passphrase of an encrypted key.

        Returns:
            The credentials.

        Raises:
            LocalProtocolError: no or both of ``pem`` / ``path``, or a bad key id.
            KeyLoadError: the key cannot be loaded (see `kalshi_fix_sansio.auth.load_signer`).
        """
        if (pem is None) == (path is None):
            raise LocalProtocolError(
                "pass exactly one of pem= (the PEM text) or path= (the key file)"
            )
        key_id = _check_key_id(key_id)
        if pem is not None:
            if isinstance(pem, str):
                pem = _unescape_pem(pem)
            signer = load_signer(pem, passphrase)
        else:
            assert path is not None
            signer = load_signer_file(path, passphrase)
        return cls(key_id, signer)

    @classmethod
    def from_env(
        cls, product: str = "prediction", environ: Mapping[str, str] | None = None
    ) -> Credentials:
        """Credentials from environment variables.

        prediction: ``KALSHI_KEY_ID`` and ``KALSHI_PRIVATE_KEY`` (PEM text) or
        ``KALSHI_PRIVATE_KEY_PATH`` (key file), optional ``KALSHI_PRIVATE_KEY_PASSPHRASE``.
        margin: the same names with ``KALSHI_PERPS_`` (Kalshi says not to share keys between
        the products). Empty variables count as unset; a PEM given on one line with literal
        ``\\n`` sequences is accepted.

        Args:
            product: ``"prediction"`` or ``"margin"``.
            environ: the variables (default ``os.environ``).

        Returns:
            The credentials.

        Raises:
            LocalProtocolError: unknown product, or variables missing or conflicting (the
                message lists exactly which to set).
            KeyLoadError: the key cannot be loaded (the message names the variable to fix).
        """
        if product not in _ENV_PREFIX:
            raise LocalProtocolError(
                f"unknown product {product!r}: use one of {', '.join(map(repr, PRODUCTS))}"
            )
        env = os.environ if environ is None else environ
        prefix = _ENV_PREFIX[product]
        id_var = f"{prefix}KEY_ID"
        pem_var = f"{prefix}PRIVATE_KEY"
        path_var = f"{prefix}PRIVATE_KEY_PATH"
        pass_var = f"{prefix}PRIVATE_KEY_PASSPHRASE"

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value and value.strip() else None

        key_id, pem, path, passphrase = get(id_var), get(pem_var), get(path_var), get(pass_var)
        path = path.strip() if path is not None else None
        missing: list[str] = []
        if key_id is None:
            missing.append(id_var)
        if pem is None and path is None:
            missing.append(f"{pem_var} (the PEM text) or {path_var} (the key file)")
        if missing:
            text = f"{product} FIX credentials are not set: set {' and '.join(missing)}"
            text += f" (optional: {pass_var} for an encrypted key)"
            if product == "margin" and get("KALSHI_KEY_ID") is not None:
                text += (
                    "; margin reads the KALSHI_PERPS_* variables, not KALSHI_*: Kalshi says "
                    "not to share API keys between the products"
                )
            raise LocalProtocolError(text)
        if pem is not None and path is not None:
            raise LocalProtocolError(f"both {pem_var} and {path_var} are set: set only one of them")
        assert key_id is not None
        try:
            return cls.from_key(key_id, pem=pem, path=path, passphrase=passphrase)
        except KeyLoadError as exc:  # its advice names the variable to set, not passphrase=...
            raise env_key_error(exc, pem_var, path_var, pass_var) from None

"""TLS settings as data, and the rules a pump's TLS context must meet: the client's side of
securing a connection (the pumps, `kalshi_fix_sansio.adapters`, build and inspect the
`ssl.SSLContext`; this module loads no ``ssl``).

* Whom the library's context trusts (`TLSSettings`): the system's CAs, plus a CA bundle
  (``cafile``), or exactly one pinned server certificate (``pinned_cert``), read and checked
  here when a session is made (`tls_settings`), so a missing or wrong file is refused before
  any connection.
* A context weaker than the library's is refused for a non-loopback endpoint unless the
  caller opts in (``allow_insecure_tls=True``); when it is used, an `InsecureTLSWarning` (the
  `warnings` module, so it shows without logging configured) and a WARNING log line name the
  endpoint (`judge_weaknesses`, given the weaknesses the pump found).
* The library's context offers TLS 1.2 or 1.3, under TLS 1.2 the cipher suites of Kalshi's
  load balancers (`TLS12_CIPHERS`).
* A certificate the handshake refused is told in words (`refused_certificate_text`): what did
  not match, and what to do.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import warnings
from types import FrameType
from typing import TYPE_CHECKING, Final

import attrs

from kalshi_fix_sansio.codec.errors import LocalProtocolError

from ._endpoints import Endpoint
from ._transport import TRANSPORT_LOGGER_NAME

if TYPE_CHECKING:  # a caller's own context is carried as given: only the pumps use ssl
    from ssl import SSLContext as SSLContext

__all__ = [
    "TLS12_CIPHERS",
    "InsecureTLSWarning",
    "TLSSettings",
    "judge_weaknesses",
    "refuse_context",
    "refuse_rest_trust",
    "refused_certificate_text",
    "tls_settings",
]

_log = logging.getLogger(TRANSPORT_LOGGER_NAME)

TLS12_CIPHERS: Final = ":".join(
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    )
)
"""The TLS 1.2 cipher suites the library's context offers (the pumps set them): ECDHE key
exchange with AES-GCM, the four that every AWS Network Load Balancer security policy allowing
TLS 1.2 has (Kalshi's FIX gateways sit behind such load balancers). Python's default list adds
ECDHE with CBC or ChaCha20 and DHE suites, which the restricted policies do not take. TLS 1.3
suites are OpenSSL's (AES-256-GCM, ChaCha20-Poly1305, AES-128-GCM: the AWS policies' three);
Python cannot set them."""


def _read_certificates(path: str | os.PathLike[str], what: str) -> list[str]:
    """The PEM text of each certificate of the file at ``path`` (``what`` names it in a
    refusal)."""
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
    # loaded when a file is read: cryptography's x509 loads the email package, and so socket
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise LocalProtocolError(
            f"{what} {where!r} holds a damaged or truncated PEM certificate: fetch it again"
        ) from None
    return [c.public_bytes(Encoding.PEM).decode("ascii") for c in found]


@attrs.frozen(kw_only=True)
class TLSSettings:
    """Whom the library's TLS context of a session trusts, as data (`tls_settings` reads and
    checks the files): the pump builds the context from it (``make_ssl_context`` of
    `kalshi_fix_sansio.adapters`).

    Pinning: ``pinned_cert`` is the PEM file of the server certificate, as Kalshi documents
    obtaining it (``openssl s_client -showcerts -connect <host>:<port> < /dev/null | openssl
    x509 > kalshi-fix.pem``). It is the *only* trust anchor of the context, with OpenSSL's
    partial-chain flag, so the connection succeeds only if the server presents exactly that
    certificate (a self-signed certificate or a CA-issued leaf alike); the system CA store is
    not consulted and the host name is still checked. Pin the leaf certificate only: a file
    with several certificates is refused, since trusting an intermediate CA is not pinning.
    When Kalshi rotates its certificate, fetch the new one.

    Attributes:
        cadata: PEM certificates of CAs trusted besides the system's store (``cafile``).
        pinned: the PEM of the one server certificate trusted, alone (``pinned_cert``).
        verify: False only in tests: no certificate nor host name verification.
    """

    cadata: str | None = None
    pinned: str | None = None
    verify: bool = True


def tls_settings(
    *,
    cafile: str | os.PathLike[str] | None = None,
    pinned_cert: str | os.PathLike[str] | None = None,
    verify: bool = True,
) -> TLSSettings:
    """Read and check what the library's context of a session trusts.

    Args:
        cafile: a PEM CA bundle trusted in addition to the system store.
        pinned_cert: PEM file of the one server certificate to trust; excludes ``cafile``.
        verify: ``False`` (tests only) turns off certificate and host name verification.

    Returns:
        The settings, the files' certificates as PEM text.

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
        return TLSSettings(pinned=certificates[0])
    if cafile is not None:
        return TLSSettings(cadata="".join(_read_certificates(cafile, "CA file")), verify=verify)
    return TLSSettings(verify=verify)


# OpenSSL's verify codes: X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH; and
# X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
_NAME_MISMATCH: Final = frozenset({62, 64})
_OUT_OF_DATE: Final = frozenset({9, 10})


def refused_certificate_text(
    endpoint: Endpoint, code: int | None, reason: str | None, found: str, *, pinned: bool
) -> str:
    """What a certificate the TLS handshake refused means, and what to do (the message of the
    adapters' ``CertificateRefused``).

    Args:
        endpoint: where the connection went.
        code: OpenSSL's verify code, if any.
        reason: OpenSSL's reason (``CERTIFICATE_VERIFY_FAILED``), if any.
        found: what OpenSSL found (its verify message).
        pinned: the context trusted one pinned certificate (``pinned_cert``).

    Returns:
        One sentence naming the endpoint, the host name checked and the remedy.
    """
    name = endpoint.server_hostname or endpoint.host
    if code in _NAME_MISMATCH:
        hint = (
            f"the certificate does not name {name!r}: check the endpoint's host, or set "
            "Endpoint(server_hostname=...) to the name the server's certificate is for"
        )
    elif pinned:
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
    return (
        f"the TLS certificate of {endpoint} (host name {name!r}) was refused "
        f"({reason or 'CERTIFICATE_VERIFY_FAILED'}): {found}; {hint}. Not retried: the "
        "same certificate would be refused again"
    )


class InsecureTLSWarning(UserWarning):
    """A session opened with a TLS context weaker than the library's (the adapters' ``tls_weaknesses``):
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


def refuse_context(
    endpoint: Endpoint, given: object, *, is_context: bool, server_side: bool
) -> None:
    """The checks of a caller's own TLS context ``given`` for ``endpoint`` that are words, not
    ``ssl`` (the pump inspects the context: ``ssl_context_for`` of
    `kalshi_fix_sansio.adapters`), made before any connection; its weaknesses are
    `judge_weaknesses`'.

    Args:
        endpoint: where the pump connects.
        given: the caller's context.
        is_context: ``given`` is an `ssl.SSLContext`.
        server_side: it is a server-side context (``ssl.PROTOCOL_TLS_SERVER``).

    Raises:
        LocalProtocolError: a context given for a plain-TCP endpoint, not an
            `ssl.SSLContext`, or a server-side one (the message says what to do).
    """
    if not endpoint.tls:
        raise LocalProtocolError(
            f"an ssl_context was given but {endpoint} is plain TCP: use tls=True or drop it"
        )
    if not is_context:
        raise LocalProtocolError(
            f"ssl_context for {endpoint} must be an ssl.SSLContext, got "
            f"{type(given).__name__}: build one with make_ssl_context()"
        )
    if server_side:
        raise LocalProtocolError(
            f"the ssl_context for {endpoint} is a server-side context (PROTOCOL_TLS_SERVER): "
            "a client needs make_ssl_context() or ssl.create_default_context()"
        )


def refuse_rest_trust(verify: object, timeout: object, *, is_context: bool) -> None:
    """The checks of whom a REST companion (or an account-limit reading) trusts and how long a
    request may take, as words (the pump looks whether ``verify`` is an `ssl.SSLContext`).

    Args:
        verify: an `ssl.SSLContext` (``is_context``), a CA file path or a bool.
        timeout: seconds per request, > 0.

    Raises:
        LocalProtocolError: either is not that (the message names it and what it got).
    """
    if not is_context and not isinstance(verify, (bool, str)):
        raise LocalProtocolError(
            f"verify must be an ssl.SSLContext, a CA file path or a bool, got {verify!r}"
        )
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise LocalProtocolError(f"timeout must be seconds > 0, got {timeout!r}")


def judge_weaknesses(
    endpoint: Endpoint, weaknesses: list[str], *, allow_insecure_tls: bool = False
) -> None:
    """The rule for a TLS context weaker than the library's (the pump finds ``weaknesses``:
    ``tls_weaknesses`` of `kalshi_fix_sansio.adapters`): it would let anyone on the path read
    or alter the session, including the signed Logon, so

    * to a non-loopback endpoint it is refused unless ``allow_insecure_tls`` is True;
    * when it is used (loopback, or allowed), an `InsecureTLSWarning` is issued at the
      caller's line (the first frame outside the library) and the same text is logged as a
      WARNING on the ``kalshi_fix_sansio.transport`` logger, both naming the endpoint and the
      weaknesses.

    Args:
        endpoint: where the pump connects.
        weaknesses: one phrase per weakness (none: nothing is said).
        allow_insecure_tls: use a weak context for a non-loopback endpoint too (still warned).

    Raises:
        LocalProtocolError: weaknesses, a non-loopback endpoint, no ``allow_insecure_tls``.
    """
    if not weaknesses:
        return
    found = "; ".join(weaknesses)
    if not endpoint.loopback and not allow_insecure_tls:
        raise LocalProtocolError(
            f"{endpoint}: the TLS context is weaker than the library's: {found}; anyone on "
            "the path could read or alter this session, including the signed Logon. Use "
            "make_ssl_context() (pinned_cert= for a server's own certificate, cafile= for a TLS "
            "proxy's CA), or pass allow_insecure_tls=True to connect anyway"
        )
    text = (
        f"{endpoint}: the TLS context is weaker than the library's: {found}; anyone on "
        "the path can read or alter this session, including the signed Logon"
    )
    warnings.warn(text, InsecureTLSWarning, stacklevel=_caller_stacklevel())
    _log.warning("%s", text)

"""Where an adapter connects: Kalshi's documented endpoints and the checks on any other.

* The documented hosts are in ``ENVIRONMENTS`` (``_generated/tables.py``); each session type has
  its own port (``SESSIONS``); ports are the same in demo and production (`kalshi_endpoint`).
* Kalshi accepts TCP + TLS 1.2 or higher only; plain TCP is refused here unless it goes to
  loopback (a local TLS proxy such as stunnel, or the mock gateway). Loopback is checked twice:
  on the endpoint's host (`check_endpoint`: a loopback IP literal or ``localhost``) and on every
  address that host resolves to (`loopback_addresses`), and the adapters connect only to the
  addresses they checked.

This module imports no event loop (neither asyncio nor trio), so every adapter can use it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.codec.spec import ENVIRONMENTS, SESSIONS

__all__ = [
    "KALSHI_FIX_HOSTS",
    "PRODUCTS",
    "Endpoint",
    "check_endpoint",
    "documented_environment",
    "kalshi_endpoint",
    "loopback_addresses",
    "session_types",
]

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

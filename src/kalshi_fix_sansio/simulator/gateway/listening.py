"""What the mock gateway listens on and how it fails: host checks, one-line listen errors,
and the faults it can inject."""

from __future__ import annotations

import errno
import ipaddress
import socket

import attrs

__all__ = [
    "LOGON_RATE_LIMIT_TEXT",
    "MAINTENANCE_TEXT",
    "Faults",
    "GatewayError",
    "is_loopback_host",
    "is_wildcard_host",
    "listen_error",
]


class GatewayError(OSError):
    """The gateway cannot serve: a port is taken, the host is not this machine's, ...

    Attributes:
        hint: what to change (phrased for the ``kalshi-fix mock-gateway`` options).
    """

    def __init__(self, text: str, hint: str = "", code: int | None = None) -> None:
        super().__init__(code or 0, text)
        self.text = text
        self.hint = hint

    def __str__(self) -> str:
        return self.text


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP literal (no DNS lookup)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_wildcard_host(host: str) -> bool:
    """An address that listens on every interface (``0.0.0.0``, ``::`` or empty)."""
    name = host.strip().strip("[]")
    if not name:
        return True
    try:
        return ipaddress.ip_address(name).is_unspecified
    except ValueError:
        return False


def _logon_rate_limit(
    _: object, __: attrs.Attribute[tuple[int, float] | None], value: tuple[int, float] | None
) -> None:
    if value is None:
        return
    items: tuple[object, ...] = tuple(value) if isinstance(value, tuple) else ()
    count = items[0] if len(items) == 2 else None
    window = items[1] if len(items) == 2 else None
    if not (
        isinstance(count, int)
        and not isinstance(count, bool)
        and count >= 1
        and isinstance(window, (int, float))
        and not isinstance(window, bool)
        and window > 0
    ):
        raise ValueError(
            "logon_rate_limit must be (n, seconds) with n >= 1 and seconds > 0, or None; "
            f"got {value!r}"
        )


@attrs.define
class Faults:
    """Failures the gateway injects (change them at any time, from any thread).

    Attributes:
        drop_after: close each connection after it has sent this many application messages.
        skip_seq: skip this many outbound MsgSeqNums once (the client sees a gap).
        duplicate_next: send the next application message a second time with PossDupFlag=Y.
        garble_next: corrupt the CheckSum of the next outbound frame.
        silent: the gateway hangs on the connections open when this is set: it stops reading,
            sending and heartbeating (a TestRequest goes unanswered); connections made later
            are served normally, so a client that reconnects recovers.
        delay: seconds each write is held (in order; reading goes on).
        reject_next_logon: refuse the next Logon with this Logout text.
        refuse_keys: API keys whose Logons are refused (Logout "temporarily unavailable, try
            again later": a client retries) while they are listed: with
            `MockGateway.disconnect`, an outage of one client while others trade.
        maintenance_until: every Logon is refused (Logout `MAINTENANCE_TEXT`) until this time
            on the gateway's clock (UTC epoch seconds; a simulation's clock in a simulation).
            `MockGateway.maintenance` sets it and drops every connection: Kalshi's weekly
            maintenance window.
        logon_rate_limit: ``(n, seconds)``: at most ``n`` Logons per account (its keys
            together; a key in no ``accounts`` entry is an account of its own) in any
            ``seconds``; one more is refused with Kalshi's Logout
            ``58=rate limit exceeded`` (`LOGON_RATE_LIMIT_TEXT`). A refused Logon takes none
            of the ``n``. ``None``: no limit.
        rate_limit_next: answer the next this many application messages (any session) with
            Kalshi's rate-limit reject, 35=j 380=8 ``Rate limit exceeded``, instead of handling
            them.
        rest_rate_limit_next: answer the next this many REST requests (`kalshi_fix_sansio.simulator.gateway.rest`)
            429 Too Many Requests, with ``Retry-After: rest_retry_after``.
        rest_error_next: answer the next this many REST requests 503 Service Unavailable.
        rest_retry_after: the ``Retry-After`` seconds of those answers.
        rest_delay: seconds each REST page is held before it is answered (slow pages).
        rest_forbidden: REST pages (``queue_positions``, ``exchange_status``... the names of
            `kalshi_fix_sansio.rest.desk.DESK_PAGES`) answered 403: a key that lacks the
            permission.
        maintenance_windows: the maintenance windows ``GET /exchange/schedule`` announces,
            ``(start, end)`` on the gateway's clock (`MockGateway.maintenance` adds its own).
    """

    drop_after: int | None = None
    skip_seq: int = 0
    duplicate_next: bool = False
    garble_next: bool = False
    silent: bool = False
    delay: float = 0.0
    reject_next_logon: str | None = None
    refuse_keys: frozenset[str] = frozenset()
    maintenance_until: float | None = None
    logon_rate_limit: tuple[int, float] | None = attrs.field(
        default=None, validator=_logon_rate_limit, on_setattr=attrs.setters.validate
    )
    rate_limit_next: int = 0
    rest_rate_limit_next: int = 0
    rest_error_next: int = 0
    rest_retry_after: float = 0.0
    rest_delay: float = 0.0
    rest_forbidden: frozenset[str] = frozenset()
    maintenance_windows: list[tuple[float, float]] = attrs.Factory(list)


MAINTENANCE_TEXT = "exchange under maintenance, try again later"
"""The Logout text of a Logon refused in `MockGateway.maintenance` (Kalshi documents none: a
client must retry whatever it says in the Thursday window)."""
LOGON_RATE_LIMIT_TEXT = "rate limit exceeded"
"""Kalshi's Logout text for a Logon over the rate limit."""


_LISTEN_HINTS = {
    errno.EADDRINUSE: (
        "address already in use",
        "another process (maybe another mock gateway) has this port: choose another "
        "--port-base, or --port-base 0 for free ports",
    ),
    errno.EADDRNOTAVAIL: (
        "not an address of this machine",
        "use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)",
    ),
    errno.EACCES: (
        "permission denied",
        "ports below 1024 need privileges: choose a --port-base of 1024 or more",
    ),
}


def listen_error(host: str, port: int, session_type: str, exc: BaseException) -> GatewayError:
    """A one-line `GatewayError` for a port the gateway cannot bind."""
    shown = f"[{host}]" if ":" in host else host
    where = f"{shown}:{port}" if port else f"{shown} (a free port)"
    code = getattr(exc, "errno", None)
    if code is None and str(exc).startswith("could not bind on any address"):
        # Python 3.13's create_server reports an address of no interface this way, without
        # the errno (it skips EADDRNOTAVAIL per address, then fails when none is left)
        code = errno.EADDRNOTAVAIL
    if isinstance(exc, OverflowError):
        why, hint = "port out of range", "choose a --port-base between 1024 and 65530"
    elif code in _LISTEN_HINTS:
        why, hint = _LISTEN_HINTS[code]
    elif isinstance(exc, socket.gaierror):
        why, hint = "unknown host", "give --host an address of this machine, e.g. 127.0.0.1"
    else:
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        hint = ""
    text = f"cannot listen on {where} ({session_type}): {why}"
    return GatewayError(text, hint, code)

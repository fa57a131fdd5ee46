"""Transport adapters: put a `kalshi_fix_sansio.Session` on the wire.

`kalshi_fix_sansio.adapters.blocking`, `.asyncio` and `.trio` each pump bytes between a TLS
socket and the sans-IO core and drive its timers; they make no protocol decision.

The TLS contexts are the pumps' own, here: `make_ssl_context` (the library's context),
`build_ssl_context` (the same from `TLSSettings`), `ssl_context_for` (the context a pump uses),
`tls_weaknesses`, `connect_error` and `CertificateRefused` (a refused certificate), and
`WOULD_BLOCK` (what a non-blocking socket raises): the sans-IO client below loads no ``ssl``.

Import the adapter itself from its module (``kalshi_fix_sansio.adapters.blocking`` & co): the
trio adapter needs the ``trio`` extra, so it is not imported here. What the three adapters share
(where to connect, TLS settings as data, credentials, the reconnect policy, the events, the
limits and the kill switch) lives in the sans-IO core, each name in one module and importable
from `kalshi_fix_sansio`.
"""

from ._tls import (
    WOULD_BLOCK,
    CertificateRefused,
    build_ssl_context,
    connect_error,
    make_ssl_context,
    ssl_context_for,
    tls_weaknesses,
)

__all__ = [
    "WOULD_BLOCK",
    "CertificateRefused",
    "build_ssl_context",
    "connect_error",
    "make_ssl_context",
    "ssl_context_for",
    "tls_weaknesses",
]

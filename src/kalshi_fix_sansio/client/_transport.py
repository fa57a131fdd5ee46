"""What every adapter's I/O shares: the bounds of a read and of what waits to be written,
what a non-blocking socket raises when it cannot go on, and the loggers.

The rest of the transport is in its own modules: where to connect (`_endpoints`: `Endpoint`,
`kalshi_endpoint`, `check_endpoint`, `loopback_addresses`), how to secure the connection
(`_tlsconfig`: the TLS settings as data, `TLSSettings`; the pumps build the contexts), where the API key comes
from (`_credentials`: `Credentials`) and how to log the frames that cross the wire
(`_messagelog`: `MessageLog`). The sans-IO core makes every protocol decision, the reconnect
policy included (`kalshi_fix_sansio.client.supervisor`).

Back-pressure: an adapter reads at most `READ_CHUNK` bytes at a time. If the transport cannot
take our bytes and more than `MAX_BUFFERED_OUTBOUND` bytes are queued for it, the driver loses
the connection (`TransportError`) rather than let memory grow without bound: a peer that does
not read is treated like a dead connection.

This module imports no event loop, no socket and no ssl, so every adapter can use it.
"""

from __future__ import annotations

import logging
from typing import Final

__all__ = [
    "MAX_BUFFERED_OUTBOUND",
    "READ_CHUNK",
    "SESSION_LOGGER_NAME",
    "TRANSPORT_LOGGER_NAME",
    "session_logger",
]

MAX_BUFFERED_OUTBOUND: Final = 8 * 1024 * 1024
"""Most bytes an adapter queues for a transport that is not taking them (8 MiB).

When the socket cannot accept our bytes and more than this is waiting, the adapter raises
`TransportError` and closes the connection instead of growing memory.
"""

READ_CHUNK: Final = 65536
"""Bytes an adapter asks the transport for per read (64 KiB)."""

TRANSPORT_LOGGER_NAME: Final = "kalshi_fix_sansio.transport"
"""The stdlib logger for connection events (connects, retries, TLS failures) of the adapters."""

logging.getLogger(TRANSPORT_LOGGER_NAME).addHandler(logging.NullHandler())

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

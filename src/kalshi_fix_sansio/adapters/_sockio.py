"""The I/O step the blocking and trio adapters share: a non-blocking socket (plain or TLS)
between the core's `Driver` and the wire, without waiting (each adapter waits its own way).

* `read_fact`: read what the socket has, once, as the fact to step (`Received`, or `Lost`
  when the read failed);
* `write_now`: write what waited, then what the driver answered; return what the socket did
  not take (written first next time, in order) and the actions of the fact stepped about it
  (`Buffered` with what is left, for the slow-peer verdict; `Lost` when the write failed).

Nothing here decides anything: the driver does, through its actions.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any

from kalshi_fix_sansio.client.driver import Driver
from kalshi_fix_sansio.client.pump import READ_CHUNK
from kalshi_fix_sansio.client.steps import Action, Buffered, Lost, Received

from ._tls import WOULD_BLOCK

__all__ = ["IdleHandoff", "read_fact", "send_now", "write_now"]

_NOTHING: tuple[Action, ...] = ()


class IdleHandoff:
    """The session setting of the adapters whose waiting caller reads the socket itself, and a
    background reader reads it once nobody has for a while (blocking, trio)."""

    _pump: Any  # the adapter's pump: its `readers` (`kalshi_fix_sansio.client.pump.Readers`)

    @property
    def idle_handoff(self) -> float:
        """Seconds after a waiting caller last read the socket before the session's background
        reader reads it (see `IDLE_HANDOFF`); settable per session."""
        handoff: float = self._pump.readers.handoff
        return handoff

    @idle_handoff.setter
    def idle_handoff(self, seconds: float) -> None:
        self._pump.readers.handoff = seconds


def read_fact(sock: socket.socket) -> Received | Lost | None:
    """Read once from a non-blocking socket: `Received` with up to `READ_CHUNK` bytes
    (``b""``: the peer closed it), `Lost` when the read failed, or None: nothing to read yet."""
    try:
        return Received(sock.recv(READ_CHUNK))
    except WOULD_BLOCK:
        return None
    except OSError as exc:
        return Lost(f"read failed: {exc!r}")


def send_now(sock: socket.socket, data: bytes) -> bytes:
    """Write ``data`` to a non-blocking socket: what it did not take is returned (TLS: all or
    nothing, the same bytes go again).

    Raises:
        OSError: the write failed (not for a full send buffer).
    """
    try:
        sent = sock.send(data)
    except WOULD_BLOCK:
        return data
    return data[sent:]


def write_now(
    driver: Driver, sock: socket.socket, unsent: bytes, data: bytes, clock: Callable[[], float]
) -> tuple[bytes, Sequence[Action]]:
    """Write ``unsent`` (what the socket did not take before), then ``data``, without waiting:
    what the socket did not take, and what the driver says about it (when bytes are left or
    had waited: `Buffered`; when the write failed: `Lost`, nothing left)."""
    if unsent:
        data = unsent + data
    if not data:
        return b"", _NOTHING
    try:
        left = send_now(sock, data)
    except OSError as exc:
        return b"", driver.step(Lost(f"write failed: {exc!r}"), clock())
    if left or unsent:
        return left, driver.step(Buffered(len(left)), clock())
    return left, _NOTHING

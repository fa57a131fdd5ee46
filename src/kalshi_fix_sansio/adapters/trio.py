"""Trio adapter: a Kalshi FIX session in a trio program.

    from kalshi_fix_sansio.adapters.trio import FixClient

    async def main() -> None:
        async with FixClient.from_env("demo").market_data() as md:
            md.send(subscribe(["HIGHNY-23DEC31"]), resubscribe=True)   # no await: it queues
            async for event in md.events(timeout=30):
                print(event)

    trio.run(main)

A pump (`TrioPump`) over the core's `Driver`, which makes every decision. It connects with
`trio.open_tcp_stream`, then does TLS (`ssl_context_for`) in memory on the connected socket
(an `ssl.SSLObject` over two BIOs: one ``recv`` per read, and TLS never waits on the socket;
the same adapter on trio's stream API (`trio.SSLStream`, ``receive_some`` / ``send_all``),
measured against this path, took 2.2x the instructions and 1.4x the system calls per order:
docs/maintainers/decisions.md). ``async with`` opens a nursery (or pass yours to `TrioSession.open`) for
the session's task, which connects, sleeps until the driver's next deadline, fires its timers,
finishes writes and runs ``on_event`` / ``on_reconnect``. The task that waits (`next_event`,
`wait_for`, `place`...) reads the socket itself and feeds the driver, so a report reaches it
without a task switch, and with no cancel scope per read: the session's task ends the read at
the wait's deadline (`trio.lowlevel.notify_closing` wakes it). A reader task per connection
reads while no task waits (from `IDLE_HANDOFF` after the last one read), so the tracker stays
current. `TrioSession.send` is synchronous: its bytes go to the socket at once (what it cannot
take yet, the session's task writes, in order), so a forgotten ``await`` cannot lose a message
(and a wrong ``await`` fails loudly).
"""

from __future__ import annotations

try:
    import trio
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the trio adapter needs trio: pip install trio (the trio extra: in a checkout, "
        "pip install '.[trio]')"
    ) from exc

from kalshi_fix_sansio.client.pump import AsyncAPI, AsyncKillAll, ClientBase, IdleHandoff
from kalshi_fix_sansio.codec.errors import LocalProtocolError

from ._triopump import TrioPump

__all__ = [
    "FixClient",
    "MarginFixClient",
    "TrioSession",
]


class TrioSession(IdleHandoff, AsyncAPI):
    """One Kalshi FIX session over a trio-driven socket (``async with``: log on, then log out).

    Takes the arguments of `SessionAPI`; ``on_event`` and ``on_reconnect`` run in the session's
    task, an awaitable result awaited; ``clock`` is the core's (trio's own times the waits).
    """

    _PUMP = TrioPump
    _pump: TrioPump

    async def open(self, nursery: trio.Nursery | None = None) -> None:
        """Connect and log on; the session's task runs in ``nursery`` until `aclose`.

        Raises:
            LogonRefused: Kalshi refused the Logon for good (its text is in the message).
            ConnectionFailed: every attempt the backoff allows failed.
            LocalProtocolError: no ``nursery`` (outside ``async with``), the endpoint is not
                allowed, or the session is already open.
        """
        if nursery is not None:
            self._pump.nursery = nursery  # the REST companion's task runs there too
        elif self._pump.nursery is None:  # none of ``async with`` either (`TrioPump.around`)
            raise LocalProtocolError("a trio session runs in a nursery: open(nursery)")
        await super().open()


class FixClient(ClientBase[TrioSession], AsyncKillAll):
    """Kalshi FIX client for prediction (event contracts) on trio; sessions are `TrioSession`."""

    PRODUCT = "prediction"
    _SESSION = TrioSession


class MarginFixClient(FixClient):
    """Kalshi FIX client for margin (perps) on trio (no KalshiPT / KalshiRFQ)."""

    PRODUCT = "margin"

"""The simulation a run plays in: the client's connections, and the faults on them that the
mock gateway's own `Faults <kalshi_fix_sansio.simulator.gateway.Faults>` do not make (a reset in the
middle of a frame either way, the client's frames corrupted or held, the gateway down)."""

from __future__ import annotations

import errno
import functools
import math
import re
from collections.abc import Callable
from typing import Any, Final

from ...world.simulation import Simulation

__all__ = ["MAX_CALLBACKS", "MAX_SIMULATED", "MAX_TURNS"]

MAX_TURNS: Final = 100_000
"""Most turns of the simulation at one simulated instant before a run counts as stuck."""

MAX_CALLBACKS: Final = 500_000
"""Most callbacks of the simulation in one run before it counts as stuck: 35 times the most
any of seeds 0-999 ran (13,999), a few CPU seconds; a run whose time moves on without end, in
steps too small for the simulated-time cap to stop it soon, fails here with its seed, the
step it was at and the last callback run."""

MAX_SIMULATED: Final = 10 * 86_400.0
"""Most simulated seconds of one run (the simulation's ``max_time``) before it counts as stuck:
a run of 30 steps takes minutes; a wait that moves time on in large steps without end fails
here, as past `MAX_CALLBACKS`, with its step."""


class _Sim(Simulation):
    """A simulation that keeps the client's current connection and can cut it mid-frame (either
    way), corrupt what the client writes, hold it, or refuse connections (the gateway down)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipe: Any = None
        self.cut_next = False  # the gateway's next chunk cut, the connection reset
        self.cut_client_next = False  # the client's next chunk cut, the connection reset
        self.garble_client_next = False  # the client's next frame's CheckSum corrupted
        self.client_delay = 0.0  # seconds each chunk the client writes is held (in order)
        self.down_until = -math.inf  # the gateway restarting: connections refused until then
        self.scheduler.max_turns = MAX_TURNS  # a run stuck at one instant: a broken promise
        self.scheduler.max_callbacks = MAX_CALLBACKS  # a run stuck in time moving on

    def connect(self, host: str, port: int, protocol: Any) -> Any:
        if self.clock.time() < self.down_until:
            raise ConnectionRefusedError(
                errno.ECONNREFUSED, f"the gateway is restarting ({host}:{port} refused)"
            )
        peer = _Cutter(self, protocol)
        self.pipe = super().connect(host, port, peer)
        if self.client_delay:
            self.hold_client_writes()
        return self.pipe

    def hold_client_writes(self) -> None:
        """Delay what the client writes on its connection by `client_delay` (from now on; in
        order: the pipe's latency, kept once set, as 0 after the fault is lifted)."""
        if self.pipe is not None:
            self.pipe._delay = lambda: self.client_delay


def _client_write(sim: _Sim, pipe: Any, write: Callable[[bytes], None], data: Any) -> None:
    """What the client writes on ``pipe`` (its ``write``): passed on, except the chunk its
    simulation says to cut (half of it written, then the connection reset) or to corrupt (the
    CheckSum of its first frame)."""
    chunk = bytes(data)
    if sim.garble_client_next and _CHECKSUM.search(chunk):
        sim.garble_client_next = False
        chunk = _CHECKSUM.sub(_wrong_checksum, chunk, count=1)
    if sim.cut_client_next and len(chunk) > 1 and not pipe.is_closing():
        sim.cut_client_next = False
        write(chunk[: len(chunk) // 2])
        pipe._deliver(pipe.peer._reset)  # the gateway's end reset, after the half it read
        pipe._closing = True  # and the client's: nothing it writes after goes out
        reset = ConnectionResetError("the connection was reset")
        sim.scheduler.call_soon(pipe._gone, reset)  # its read fails (not within its write)
        return
    write(chunk)


_CHECKSUM: Final = re.compile(rb"\x0110=(\d{3})\x01")


def _wrong_checksum(match: re.Match[bytes]) -> bytes:
    return b"\x0110=%03d\x01" % ((int(match.group(1)) + 1) % 256)


class _Cutter:
    """The client's end of a connection: passes everything on, but when its simulation says
    ``cut_next`` delivers only the first half of the next chunk, then resets the connection."""

    def __init__(self, sim: _Sim, protocol: Any) -> None:
        self._sim, self._protocol = sim, protocol
        self._transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        transport.write = functools.partial(_client_write, self._sim, transport, transport.write)
        self._protocol.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._sim.cut_next and len(data) > 1:
            self._sim.cut_next = False
            self._protocol.data_received(data[: len(data) // 2])
            self._transport.peer.abort()  # the gateway's end: the client's is reset
            return
        self._protocol.data_received(data)

    def eof_received(self) -> bool | None:
        result: bool | None = self._protocol.eof_received()
        return result

    def connection_lost(self, exc: Exception | None) -> None:
        self._protocol.connection_lost(exc)

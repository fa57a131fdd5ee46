"""A backtest's recordings, fed into a simulation's exchange on the simulated clock.

`Feed` reads the recordings one message at a time (never the whole file in memory) and hands
each recorded message to the exchange (`Exchange.replay`) at its recorded time, as a callback of
the simulation's scheduler: the books follow the recording, market-data subscribers get its
messages, resting client orders fill as its trades and level changes reach them. Several
recordings run in sequence: the markets of each are listed when it starts; a recording that
starts before the one before it ends is refused. When the last one ends, the markets
``settle`` names are settled (a recorded 35=UMS settles its market where it is), and the
ledger is told how the recordings ended.

Nothing here reads a clock: the time is the simulation's, which the recordings move.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..codec.errors import LocalProtocolError
from .gateway.replay import follow
from .paper import PaperLedger
from .recording import Recorded, RecordingError, RecordingInfo, check_recording, read_recording
from .simulation import Simulation

__all__ = ["Feed", "check_recordings"]


def check_recordings(
    paths: Sequence[str | os.PathLike[str]], product: str | None
) -> list[RecordingInfo]:
    """Check each recording whole (`check_recording`), all of one product, in time order.

    Raises:
        RecordingError: a recording's first problem (file, line, byte).
        LocalProtocolError: no recording, recordings of two products, or one that starts
            before the one before it ends.
    """
    if not paths:
        raise LocalProtocolError("a backtest needs at least one recording")
    infos: list[RecordingInfo] = []
    for path in paths:
        info = _checked(os.fspath(path), product)
        product = product or info.product
        if infos and info.product != infos[0].product:
            raise LocalProtocolError(
                f"{os.fspath(path)} is a {info.product} recording, {os.fspath(paths[0])} a "
                f"{infos[0].product} one: a backtest runs one product"
            )
        before = infos[-1] if infos else None
        if (
            before is not None
            and before.last_time is not None
            and info.first_time is not None
            and info.first_time < before.last_time
        ):
            raise LocalProtocolError(
                f"{os.fspath(path)} starts before {os.fspath(paths[len(infos) - 1])} ends: "
                "recordings run in sequence (give them in time order)"
            )
        infos.append(info)
    return infos


_CHECKED: dict[tuple[str, int, int, str | None], RecordingInfo] = {}
_MOST_CHECKED = 256


def _stamp(path: str) -> tuple[int, int]:
    """A recording's size and modification time: what says it changed since it was checked."""
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)  # the reader says what is wrong with it
    return (st.st_size, st.st_mtime_ns)


def _checked(path: str, product: str | None) -> RecordingInfo:
    """`check_recording`, once per file and content in this process (a sweep runs the same
    recordings many times)."""
    key = (os.path.realpath(path), *_stamp(path), product)
    info = _CHECKED.get(key)
    if info is None:
        info = check_recording(path, product=product)
        if len(_CHECKED) >= _MOST_CHECKED:
            del _CHECKED[next(iter(_CHECKED))]
        _CHECKED[key] = info
    return info


class Feed:
    """The recordings of one run, fed into ``sim``'s exchange (see the module docstring).

    Args:
        sim: the simulation (its clock starts at or before the first recorded time).
        paths: the recordings, in time order (checked by `check_recordings`).
        infos: what `check_recordings` found in them.
        ledger: the run's ledger (fills, mids, settlements).
        settle: market -> ``"yes"`` / ``"no"``, settled when the last recording ends.
        on_message: called with each recorded message after the exchange took it.
    """

    def __init__(
        self,
        sim: Simulation,
        paths: Sequence[str | os.PathLike[str]],
        infos: Sequence[RecordingInfo],
        ledger: PaperLedger,
        settle: Mapping[str, str],
        on_message: Callable[[Any, float], None] | None = None,
    ) -> None:
        self.sim = sim
        self.paths = [os.fspath(p) for p in paths]
        self.infos = list(infos)
        self.ledger = ledger
        self.settle = dict(settle)
        self.on_message = on_message
        self.messages = 0
        """Recorded messages fed so far."""
        self.done = False
        """The last recording ended (or one failed: `error`)."""
        self.error: RecordingError | None = None
        self._index = -1
        self._stamps = [_stamp(p) for p in self.paths]  # as checked (`check_recordings` just ran)
        self._items: Iterator[Recorded] = iter(())
        exchange = sim.gateway.exchange
        exchange.fill_listeners.append(ledger.on_fill)
        exchange.settlement_listeners.append(ledger.on_settlement)  # a settlement's fee

    @property
    def end_time(self) -> float:
        """The last recorded time of the last recording (its start when it has no message)."""
        for info in reversed(self.infos):
            if info.last_time is not None:
                return info.last_time
        return self.sim.clock.start

    def start(self) -> None:
        """Begin with the first recording (its first message is due at its recorded time)."""
        self._next_recording()

    def _next_recording(self) -> None:
        self._index += 1
        if self._index >= len(self.paths):
            self._finish()
            return
        info = self.infos[self._index]
        path = self.paths[self._index]
        gateway = self.sim.gateway
        now = self.sim.clock.time()
        gateway._route(gateway.exchange.list_markets(info.markets, now), now)
        # checked whole before the run: read without verifying again, unless it changed since
        unchanged = self._stamps[self._index] == _stamp(path)
        self._items = read_recording(path, product=info.product, checked=unchanged)
        self._next()

    def _next(self) -> None:
        try:
            item = next(self._items, None)
        except RecordingError as exc:  # a file changed since it was checked
            self._fail(exc)
            return
        if item is None:
            self._next_recording()
            return
        self.sim.scheduler.call_at(item.time, self._apply, item)

    def _apply(self, item: Recorded) -> None:
        gateway = self.sim.gateway
        now = self.sim.clock.time()
        gateway._route(gateway.exchange.replay(item.message, now), now)
        self.messages += 1
        follow(self.ledger, gateway.exchange, item.message, now)
        if self.on_message is not None:
            self.on_message(item.message, now)
        self._next()

    def _finish(self) -> None:
        gateway, now = self.sim.gateway, self.sim.clock.time()
        exchange = gateway.exchange
        for symbol, result in sorted(self.settle.items()):
            if exchange.settled(symbol):
                continue
            gateway._route(exchange.settle(symbol, result, now), now)
            self.ledger.settle(symbol, result, now)
        self.ledger.end = (
            "end of the recording" if len(self.paths) == 1 else "end of the recordings"
        )
        self.done = True

    def _fail(self, exc: RecordingError) -> None:
        self.error = exc
        self.ledger.end = f"stopped: {exc}"
        self.done = True

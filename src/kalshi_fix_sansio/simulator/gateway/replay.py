"""Replaying a recording into the mock gateway: paper trading on a recorded market.

`Replay` streams a recording (`kalshi_fix_sansio.simulator.data.recording`) into a running `MockGateway`'s
exchange (`Exchange.replay`): the books follow the recording, market-data subscribers get its
messages (re-sequenced and re-stamped by their sessions, with their own orders in the levels),
and client orders trade against the recorded books (the assumptions are listed in
`kalshi_fix_sansio.simulator.gateway.exchange.recorded` and docs/paper-trading.md).

Time: the exchange's clock is the recording's (TransactTime, MDEntryTime, order-group windows,
GTD and Day expiry, the clearing date all read it); the sessions' own clock (SendingTime,
heartbeats) stays the wall clock, as the client's checks expect. With ``speed`` the recorded
messages go out at the recording's pace (2.0: twice as fast), so a strategy's timers see the
market move as it did; between two messages the exchange's clock runs at that pace too. With
``as_fast_as_possible`` each message goes out once every market-data session it reached has
shown it read the one before (a TestRequest answered), so the replay runs as fast as the
slowest subscribed client follows, never further ahead; the exchange's clock then stands at the
last message's time between messages.

The replay starts when the first client subscribes to market data (``start="subscribe"``, the
default) or at once (``"now"``). When the recording ends, the markets ``settle`` names are
settled, and the exchange's clock runs on from the last recorded time at the wall clock's pace.
`Replay.report` is the paper-trading report (`kalshi_fix_sansio.simulator.gateway.paper.PaperReport`).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from ...codec.errors import FixError
from ..data.recording import RecordingError, RecordingInfo, check_recording, read_recording
from .exchange import Exchange, Outbound
from .paper import PaperLedger, PaperReport

if TYPE_CHECKING:
    from ...trading.corporate import CorporateActions
    from ...trading.funding import FundingSchedule, Rebates
    from .connection import Connection

T = TypeVar("T")


class _Gateway(Protocol):
    """What a replay uses of `MockGateway`."""

    product: str
    exchange: Exchange
    clock: Callable[[float], float] | None
    input_listeners: list[Callable[[Connection], None]]
    log: list[str]

    def call(self, fn: Callable[[], T]) -> T: ...

    def md_connection(self, session_id: str) -> Connection | None: ...

    def _route(self, outbound: list[Outbound], now: float) -> None: ...


__all__ = ["STARTS", "Replay", "ReplayClock", "follow"]

STARTS: Final = ("subscribe", "now")
"""When a replay starts: at the first market-data subscription, or at once."""

_BARRIER_TIMEOUT: Final = 30.0


class ReplayClock:
    """The exchange's clock during a replay: the recording's time, never running backwards.

    Args:
        first: the recording's first time (the clock before the replay starts).
        speed: recorded seconds per wall-clock second while pacing; None: the clock stands at
            the last message's time (``as_fast_as_possible``).
    """

    def __init__(self, first: float, speed: float | None) -> None:
        self.speed = speed
        self.last = first
        self._anchor: tuple[float, float, float] | None = None  # (wall, recorded, speed)

    def run(self, wall: float, speed: float | None) -> None:
        """From ``wall`` on, run at ``speed`` from the current time (None: stand still)."""
        self._anchor = None if speed is None else (wall, self.last, speed)

    def __call__(self, wall: float) -> float:
        """The exchange's time at wall-clock time ``wall``."""
        anchor = self._anchor
        if anchor is not None:
            start_wall, start, speed = anchor
            self.last = max(self.last, start + (wall - start_wall) * speed)
        return self.last

    def apply(self, recorded: float) -> float:
        """The exchange's time for a message recorded at ``recorded``."""
        self.last = max(self.last, recorded)
        return self.last


class Replay:
    """One recording replayed into a gateway (see the module docstring); made by
    `MockGateway.replay`.

    Attributes:
        path: the recording.
        info: what `check_recording` found in it (markets, messages, times).
        ledger: the fills, mids and settlements so far (`PaperLedger`).
        messages: recorded messages replayed so far.
        error: the problem that stopped the replay early (a `RecordingError`), else None.
        done: set once the replay is over (the end of the recording, an error, or `stop`).
    """

    def __init__(
        self,
        gateway: _Gateway,
        path: str | os.PathLike[str],
        *,
        speed: float = 1.0,
        as_fast_as_possible: bool = False,
        start: str = "subscribe",
        settle: Mapping[str, str] | None = None,
        accounts: Iterable[str] | None = None,
        funding: FundingSchedule | None = None,
        rebates: Rebates | None = None,
        corporate: CorporateActions | None = None,
    ) -> None:
        if not as_fast_as_possible and not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        if start not in STARTS:
            raise ValueError(f"start must be one of {', '.join(STARTS)}, got {start!r}")
        results = dict(settle or {})
        if results and gateway.product != "prediction":
            raise ValueError(
                f"margin markets are not settled over FIX: settle ({', '.join(results)}) is for "
                "prediction recordings"
            )
        for symbol, result in results.items():
            if result not in ("yes", "no"):
                raise ValueError(f"the result of {symbol} must be yes or no, got {result!r}")
        self.path = os.fspath(path)
        self.info: RecordingInfo = check_recording(self.path, product=gateway.product)
        unknown = sorted(set(results) - set(self.info.markets))
        if unknown:
            raise ValueError(f"{unknown[0]} is not a market of the recording {self.path}")
        self.gateway = gateway
        self.speed = None if as_fast_as_possible else speed
        self.start = start
        self.settle = results
        self.ledger = PaperLedger(
            None if accounts is None else list(accounts),
            funding=funding,
            rebates=rebates,
            corporate=corporate,
        )
        self.messages = 0
        self.error: RecordingError | None = None
        self.done = threading.Event()
        self.clock = ReplayClock(self.info.first_time or 0.0, self.speed)
        self._heard: asyncio.Event | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.on_done: list[Callable[[Replay], None]] = []
        """Called (in the gateway's loop) once the replay is over."""

    # -- control --------------------------------------------------------------------------------

    def begin(self) -> None:
        """Start the replay task in the running gateway loop (`MockGateway.replay` calls it)."""
        gateway = self.gateway
        now = time.time()
        gateway.clock = self.clock
        gateway.exchange.fill_listeners.append(self.ledger.on_fill)
        gateway.exchange.settlement_listeners.append(self.ledger.on_settlement)
        gateway._route(gateway.exchange.list_markets(self.info.markets, self.clock(now)), now)
        self._heard = asyncio.Event()
        gateway.input_listeners.append(self._on_input)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        """Stop replaying (thread-safe); the gateway goes on serving."""
        self._stopping = True
        self.gateway.call(self._wake)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the replay is over; True when it is."""
        return self.done.wait(timeout)

    def report(self) -> PaperReport:
        """The paper-trading report now (thread-safe)."""
        return self.gateway.call(lambda: self.ledger.report(self.info.markets))

    def _on_input(self, _conn: Connection) -> None:
        self._wake()

    def _wake(self) -> None:
        if self._heard is not None:
            self._heard.set()

    async def _until(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        """Wait until ``ready()`` (checked after each client input), or the timeout."""
        heard = self._heard
        assert heard is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while not ready():
            if self._stopping:
                return False
            heard.clear()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            try:
                await asyncio.wait_for(heard.wait(), left)
            except asyncio.TimeoutError:
                return False
        return True

    # -- the replay task ------------------------------------------------------------------------

    async def _run(self) -> None:
        gateway = self.gateway
        exchange = gateway.exchange
        try:
            if self.start == "subscribe":
                await self._until(lambda: bool(exchange.subscribers()), None)
            wall0 = time.time()
            first = self.info.first_time or 0.0
            self.clock.run(wall0, self.speed)
            for item in read_recording(self.path, product=gateway.product):
                if self._stopping:
                    self.ledger.end = f"stopped at line {item.line}"
                    return
                if self.speed is not None:
                    delay = wall0 + (item.time - first) / self.speed - time.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                wall = time.time()
                now = self.clock.apply(item.time)
                out = exchange.replay(item.message, now)
                gateway._route(out, wall)
                self.messages += 1
                self._follow(item.message, now)
                if self.speed is None:
                    await self._barrier(out, wall)
                else:
                    await asyncio.sleep(0)
            now = self.clock.apply(self.info.last_time or first)
            for symbol, result in self.settle.items():
                if exchange.settled(symbol):
                    continue
                gateway._route(exchange.settle(symbol, result, now), time.time())
                self.ledger.settle(symbol, result, now)
            self.ledger.end = "end of the recording"
        except RecordingError as exc:
            self.error = exc
            self.ledger.end = f"stopped: {exc}"
            gateway.log.append(f"replay stopped: {exc}")
        finally:
            self.clock.run(time.time(), 1.0)
            self.done.set()
            for callback in self.on_done:
                callback(self)

    def _follow(self, message: Any, now: float) -> None:
        follow(self.ledger, self.gateway.exchange, message, now)

    async def _barrier(self, out: list[Outbound], wall: float) -> None:
        """``as_fast_as_possible``: wait until each market-data session this message reached
        has answered a TestRequest sent after it (it has read the message)."""
        reached = {o.session_id for o in out}
        marks: list[tuple[Any, int]] = []
        for session_id in reached:
            conn = self.gateway.md_connection(session_id)
            if conn is None:
                continue
            session = conn.session
            try:
                session.send_test_request(wall, f"REPLAY-{self.messages}")
            except FixError:  # the session is logging out: nothing to wait for
                continue
            marks.append((conn, session.next_target_seq))
            conn.flush(wall)
        if not marks:
            await asyncio.sleep(0)
            return
        await self._until(
            lambda: all(c.dropped or c.session.next_target_seq > m for c, m in marks),
            _BARRIER_TIMEOUT,
        )


def follow(ledger: PaperLedger, exchange: Exchange, message: Any, now: float) -> None:
    """The ledger follows a replayed message: the recorded mid of each market it moves, and a
    recorded settlement (35=UMS) once the exchange settled the market."""
    msg_type = message.MSG_TYPE
    if msg_type == "UMS":
        result = str(getattr(message.market_result, "value", message.market_result))
        if result.lower() in ("yes", "no") and exchange.settled(message.symbol):
            ledger.settle(message.symbol, result.lower(), now)
        return
    if msg_type == "W" or msg_type == "f":
        symbols = [message.symbol]
    else:  # 35=X: the markets of its entries, each once
        symbols = list(dict.fromkeys(e.symbol for e in getattr(message, "md_entries", None) or ()))
    for symbol in symbols:
        if isinstance(symbol, str):
            ledger.on_mid(symbol, now, exchange.recorded_mid(symbol))

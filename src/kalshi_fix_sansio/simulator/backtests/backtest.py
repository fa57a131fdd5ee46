"""Backtests: a strategy against recordings, in one process, on the recordings' clock.

`run_backtest` runs a strategy — the same code that trades live, on the blocking, asyncio or
trio API — against the mock exchange replaying one or more market-data recordings
(`kalshi_fix_sansio.simulator.data.recording`), all in memory on a `Simulation
<kalshi_fix_sansio.simulator.world.simulation.Simulation>`'s clock: no socket, no thread, no wall clock. The
clock starts ``lead`` seconds before the first recorded message (time to log on and subscribe)
and jumps from event to event; each recorded message reaches the exchange at its recorded
time, and the clients' sessions see what the exchange sends, after the latency model's delay.

A strategy is a function of one argument, a `Context`: ``def strategy(ctx)`` for the blocking
API, ``async def strategy(ctx)`` for asyncio (or trio, with ``api="trio"``). It makes its
clients with `Context.client` (one API key for trading, another for market data, as Kalshi
allows one connection per key), reads its parameters from `Context.params`, and ends when it
likes; `Context.seconds` is how long the recordings run from now, the duration a live strategy
would be given. The run goes on after the strategy returns until the recordings end (resting
orders may still fill; the markets ``settle`` names settle), then `BacktestResult` has the
paper-trading report (`kalshi_fix_sansio.simulator.gateway.paper.PaperReport`: fills, fees, positions, P&L per
market, the P&L and position curves) and the statistics (drawdown, Sharpe, fill ratio,
inventory).

A strategy that reads books rather than every message can also run with no market-data
session, ``mode="book"`` (`kalshi_fix_sansio.simulator.backtests.booklevel`): `Context.watch`,
`Context.books`, `Context.order_entry` and `Context.wait` run it the same way in both modes, to
the same report.

A run is deterministic: the same recordings, strategy, parameters and seed give a
byte-identical `BacktestResult.to_json` on every run, on every API's clock, on any machine
(times are the recordings', ids and random draws come from ``seed``, nothing reads the wall
clock). A strategy that raises, or runs past the recordings' end by more than ``overrun``
simulated seconds, fails the run with `BacktestFailed`, naming the run, the simulated time and
what happened.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import math
import os
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs
from cryptography.hazmat.primitives.asymmetric import ed25519

from ...codec.errors import LocalProtocolError
from ...session.auth import Ed25519Signer
from ...trading.book import Books
from ...trading.corporate import CorporateActions
from ...trading.funding import FundingSchedule, Rebates
from ..data.recording import RecordingInfo
from ..gateway.paper import PaperLedger, PaperReport, _write_new
from ..world.latency import LatencyModel
from ..world.simulation import APIS, QUIET, Simulation, SimulationStalled
from ._feed import Feed, compile_recordings
from ._stats import Statistics
from .booklevel import BookWaker, FixWaker, Wake, Waker, check_mode

__all__ = [
    "JSON_SCHEMA_VERSION",
    "BacktestFailed",
    "BacktestResult",
    "Context",
    "Strategy",
    "run_backtest",
]

JSON_SCHEMA_VERSION: Final = 3
"""The ``schema`` of `BacktestResult.as_json` (raised when a field changes meaning or goes;
2: ``max_drawdown`` is an exact decimal string, over every change of the P&L curve; 3: a
market's ``fees`` in the report are its trading and settlement fees, as in the table)."""

Strategy = Callable[["Context"], Any]
"""A strategy: ``def strategy(ctx)`` (blocking) or ``async def strategy(ctx)`` (asyncio, trio)."""

_MODELS: Final = ("queue_model", "fees")  # recorded in the run's "models"

_PROGRESS_EVERY = 1_000  # recorded messages between two calls of a run's ``progress``

TRADING_KEY: Final = "backtest-trading"
MARKET_DATA_KEY: Final = "backtest-market-data"


class BacktestFailed(RuntimeError):
    """A backtest run that could not finish: the strategy raised, ran past its simulated-time
    budget, or a recording failed. The message names the run, the simulated time and what
    happened; ``__cause__`` is the original error.

    Attributes:
        run: the run's name.
        time: the simulated time it failed at (UTC epoch seconds).
    """

    def __init__(self, run: str, time: float, what: str) -> None:
        super().__init__(f"backtest {run}: at {_iso(time)} (simulated): {what}")
        self.run = run
        self.time = time

    def __reduce__(self) -> tuple[Any, ...]:  # a sweep's worker sends it to its parent
        what = str(self).split(" (simulated): ", 1)[-1]
        return (BacktestFailed, (self.run, self.time, what))


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _key(name: str) -> Ed25519Signer:
    """A well-known Ed25519 key (the same every run: Ed25519 signs deterministically)."""
    seed = hashlib.sha256(f"kalshi-fix-sansio {name} key".encode()).digest()
    return Ed25519Signer(ed25519.Ed25519PrivateKey.from_private_bytes(seed))


class Context:
    """What a strategy is given (see the module docstring).

    Attributes:
        product: ``"prediction"`` or ``"margin"``.
        api: ``"blocking"``, ``"asyncio"`` or ``"trio"``.
        symbols: the recordings' markets, in the order they name them.
        params: the run's parameters (a sweep's grid point).
        seed: the run's seed.
        random: a random generator for the strategy, seeded from ``seed``.
        simulation: the simulation (its gateway, clock and scheduler).
        start_time: when the simulated clock started (UTC epoch seconds).
        end_time: the last recorded time of the last recording.
    """

    def __init__(
        self,
        sim: Simulation,
        api: str,
        symbols: tuple[str, ...],
        params: Mapping[str, Any],
        seed: int,
        end_time: float,
        feed: Feed,
    ) -> None:
        self.simulation = sim
        self.product: str = sim.product
        self.api = api
        self.symbols = symbols
        self.params: Mapping[str, Any] = params
        self.seed = seed
        self.random = random.Random(f"strategy {seed}")
        self.start_time = sim.clock.start
        self.end_time = end_time
        self._feed = feed
        self._signers = {TRADING_KEY: _key(TRADING_KEY), MARKET_DATA_KEY: _key(MARKET_DATA_KEY)}
        self.time: Callable[[], float] = sim.clock.time
        """Now: the simulated clock (UTC epoch seconds)."""
        self._clock = sim.clock  # `seconds` reads it: a strategy's loop asks twice a message
        self.sleep: Callable[[float], None] = sim.run_for
        """Let seconds of simulated time pass (the blocking API's `time.sleep`; asyncio and
        trio strategies ``await asyncio.sleep`` / ``trio.sleep``)."""
        self.mode = "fix"
        """``"fix"`` or ``"book"`` (`kalshi_fix_sansio.simulator.backtests.booklevel`)."""
        self._waker: Waker = FixWaker(sim, self.client, end_time)

    @property
    def symbol(self) -> str:
        """The first market of the recordings."""
        return self.symbols[0]

    @property
    def seconds(self) -> float:
        """Seconds from now until the last recorded message (0 once past it)."""
        clock = self._clock  # `time`, inline: ``clock.time()`` when trio's clock is followed
        left = self.end_time - (clock._now if clock._follow is None else clock.time())
        return left if left > 0.0 else 0.0

    # -- the book-level API (both modes: `kalshi_fix_sansio.simulator.backtests.booklevel`) -------------

    @property
    def books(self) -> Books:
        """The books of the markets `watch` named, as a market-data session shows them (the
        exchange's books, your resting orders in them, after the market-data latency)."""
        return self._waker.books

    def watch(self, symbols: str | Sequence[str], *, wake: bool = True) -> None:
        """Keep the books of ``symbols`` in `books` and wake `wait` when one changes (at the
        FIX level: the context's market-data session subscribes to them); ``wake=False``:
        keep their books without waking on their changes (a strategy woken by its own
        timer reads them at its wakes)."""
        self._waker.watch(symbols, wake)

    def order_entry(self, **options: Any) -> Any:
        """The strategy's order-entry session (``with ctx.order_entry() as oe``: it logs on;
        ``options`` as for `client`); its events wake `wait`. The same session every call."""
        return self._waker.order_entry(**options)

    def wait(self, timeout: float | None = None) -> Wake | None:
        """Let simulated time pass until a watched market changes, an event reaches the
        `order_entry` session, or ``timeout`` seconds pass (None: no timeout): a `Wake`
        saying which; None once the recordings have ended. Blocking strategies only.

        Raises:
            LocalProtocolError: a timeout that is not seconds >= 0.
        """
        waker = self._waker
        lane = waker._lane
        # `BookWaker.wait`'s common case without its call (a wake at almost every recorded
        # message): the lane's next wake; where the lane has stopped, `BookWaker.wait` finds it
        # stopped too and goes on the general way
        if lane is not None and timeout is None:
            wake = next(lane, None)
            if wake is not None:
                return wake
        return waker.wait(timeout)

    def client(self, *, market_data: bool = False, **options: Any) -> Any:
        """A client of the run's API (the same class of client as that adapter's
        `FixClient`, or `MarginFixClient`), on the trading key or, ``market_data=True``, the
        market-data key (Kalshi allows one connection per key). ``options`` as for
        `Simulation.client <kalshi_fix_sansio.simulator.world.simulation.Simulation.client>`."""
        key = MARKET_DATA_KEY if market_data else TRADING_KEY
        return self.simulation.client(key, self._signers[key], api=self.api, **options)


@attrs.frozen
class BacktestResult:
    """What a backtest run gave (see the module docstring).

    Attributes:
        name: the run's name.
        report: the paper-trading report (`PaperReport`: fills, fees, P&L, the curves).
        statistics: per market and in total (`as_json`'s ``"statistics"``; see
            docs/backtest.md for each figure).
        run: what the run was (recordings, parameters, seed, API, models, times, messages).
        messages: recorded messages fed to the exchange.
        simulated_seconds: simulated time the run took.
    """

    name: str
    report: PaperReport
    statistics: Mapping[str, Any]
    run: Mapping[str, Any]
    messages: int
    simulated_seconds: float

    def as_json(self) -> dict[str, Any]:
        """The run, the report and the statistics, for programs (exact decimal strings, times
        as ISO UTC)."""
        return {
            "schema": JSON_SCHEMA_VERSION,
            "name": self.name,
            "run": dict(self.run),
            "report": self.report.as_json(),
            "statistics": dict(self.statistics),
        }

    def to_json(self) -> str:
        """`as_json` as text: the same bytes for the same run, on any machine."""
        return json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n"

    def write(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write ``<name>.backtest.json`` and ``<name>.backtest.svg`` (the P&L and position
        curves) in ``directory`` (by default the name is the first recording's file name:
        ``day-1.log.backtest.json``, as paper trading writes ``day-1.log.paper.json``).

        Each file goes through a new temporary file renamed over its path (a reader never sees
        half a report; a symbolic link at the path is refused, as `PaperReport.write` does).

        Raises:
            OSError: a file cannot be written; the message names it.
        """
        where = Path(directory)
        json_path = where / f"{self.name}.backtest.json"
        svg_path = where / f"{self.name}.backtest.svg"
        _write_new(json_path, self.to_json())
        _write_new(svg_path, self.report.svg(f"backtest {self.name}"))
        return [json_path, svg_path]


def _api_of(strategy: Strategy, api: str | None) -> str:
    asynchronous = inspect.iscoroutinefunction(strategy)
    if api is None:
        return "asyncio" if asynchronous else "blocking"
    if api not in APIS:
        raise LocalProtocolError(f"api must be one of {', '.join(APIS)}, got {api!r}")
    if asynchronous != (api != "blocking"):
        kind = "an async function" if asynchronous else "a plain function"
        raise LocalProtocolError(
            f"api={api!r} but the strategy is {kind}: blocking strategies are plain functions, "
            "asyncio and trio ones async functions"
        )
    return api


def _plain(value: Any) -> Any:
    """A parameter as JSON holds it, the same text on every machine."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)


def run_backtest(
    strategy: Strategy,
    recordings: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    params: Mapping[str, Any] | None = None,
    api: str | None = None,
    product: str | None = None,
    seed: int = 0,
    settle: Mapping[str, str] | None = None,
    latency: LatencyModel | Mapping[str, LatencyModel] | None = None,
    lead: float = 5.0,
    overrun: float = 600.0,
    sample_interval: float = 60.0,
    name: str | None = None,
    progress: Callable[[int, float], None] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    cache: bool = True,
    funding: FundingSchedule | None = None,
    rebates: Rebates | None = None,
    mode: str = "fix",
    corporate: CorporateActions | None = None,
    **gateway_options: Any,
) -> BacktestResult:
    """Run ``strategy`` against ``recordings`` (see the module docstring).

    Args:
        strategy: ``def strategy(ctx)`` or ``async def strategy(ctx)`` (a `Context`).
        recordings: one recording or several, in time order (run in sequence).
        params: the strategy's parameters (`Context.params`; in the report's ``run``).
        api: ``"blocking"``, ``"asyncio"`` or ``"trio"`` (None: blocking for a plain
            function, asyncio for an async one).
        product: the recordings' product (None: their header's).
        seed: the seed of the exchange's ids, the latency draws, the clients' reconnect
            jitter and `Context.random`.
        settle: market -> ``"yes"`` / ``"no"``: settled when the recordings end (prediction).
        latency: the one-way latency model of every connection, or one per session type
            (`kalshi_fix_sansio.simulator.world.latency`; None: none).
        lead: simulated seconds before the first recorded message, to log on and subscribe.
        overrun: simulated seconds the strategy may run past the recordings' end before the
            run fails (a strategy that never returns).
        sample_interval: seconds of the recordings' clock between two samples of the
            statistics (drawdown, Sharpe, inventory).
        name: the run's name (default: the first recording's file name, so that the report
            files are ``<recording>.backtest.json``, as paper trading's are
            ``<recording>.paper.json``).
        progress: called with (recorded messages so far, simulated time) every 1,000
            messages (the command line prints at most a line a second from it, on a
            terminal).
        cache_dir: where the recordings' compiled caches go (`compile_recording
            <kalshi_fix_sansio.simulator.backtests.compiled.compile_recording>`; None: beside each
            recording, ``<recording>.kfc``).
        cache: False: compile the recordings in memory, neither reading nor writing a cache.
        funding: perps funding rates paid on the positions at their times
            (`kalshi_fix_sansio.trading.funding.FundingSchedule`; None: no funding, the report
            as without it).
        rebates: the user's fee rebates and incentives (`kalshi_fix_sansio.trading.funding.Rebates`;
            None: none).
        corporate: margin corporate actions applied to the positions and P&L at their times
            (`kalshi_fix_sansio.trading.corporate.CorporateActions`; None: none, the report as
            without them).
        mode: ``"fix"``: the strategy's market data through a FIX session; ``"book"``: none,
            its `Context.books` fed by the exchange directly (blocking strategies that wait
            with `Context.wait`; `kalshi_fix_sansio.simulator.backtests.booklevel`).
        **gateway_options: more `MockGateway` options (``finished_orders``...).

    Returns:
        The run's `BacktestResult`.

    Raises:
        BacktestFailed: the strategy raised, ran past its budget, or a recording failed
            while it ran.
        RecordingError: a recording's first problem, found before the run starts (or a
            corrupt compiled cache, `CompiledCacheError
            <kalshi_fix_sansio.simulator.backtests.compiled.CompiledCacheError>`).
        LocalProtocolError: bad arguments (an unknown API, a strategy of the other kind,
            recordings out of order or of two products, a bad model, a ``settle`` market not
            in the recordings or a result other than yes / no, an unknown ``mode``, or
            ``mode="book"`` with an awaitable strategy or a drawn market-data latency).
    """
    paths = [recordings] if isinstance(recordings, (str, os.PathLike)) else list(recordings)
    api = _api_of(strategy, api)
    check_mode(mode, api, latency)
    _check_seconds(lead=lead, overrun=overrun, sample_interval=sample_interval)
    compiled = compile_recordings(paths, product, cache_dir=cache_dir, cache=cache)
    infos = [c.info for c in compiled]
    product = infos[0].product
    _check_settle(settle or {}, infos)
    first = next((i.first_time for i in infos if i.first_time is not None), None)
    start = (first if first is not None else 0.0) - lead
    symbols = tuple(dict.fromkeys(m for info in infos for m in info.markets))
    run_name = name or Path(paths[0]).name
    params = dict(params or {})
    keys = {k: _key(k).public_key() for k in (TRADING_KEY, MARKET_DATA_KEY)}
    last = next((i.last_time for i in reversed(infos) if i.last_time is not None), start)
    # a model that draws (a seeded queue model) starts from its own state in every run
    gateway_options = copy.deepcopy(gateway_options)
    sim = Simulation(
        product,
        keys=keys,
        start=start,
        seed=seed,
        max_time=(last - start) + overrun,
        latency=latency,
        record_wire=False,
        **gateway_options,
    )
    ledger = PaperLedger(funding=funding, rebates=rebates, corporate=corporate)
    stats = Statistics(ledger, float(sample_interval), symbols)
    # a book-level run reads its recordings a chunk of columns at a time: its lane takes the
    # messages from them by index (`Feed`'s ``columns``)
    feed = Feed(
        sim,
        compiled,
        ledger,
        settle or {},
        on_message=_progress(progress),
        columns=mode == "book",
    )
    sim.client_listeners.append(stats.client_bytes)
    _sample_every(sim, feed, stats, float(sample_interval))
    feed.start()
    ctx = Context(sim, api, symbols, params, seed, feed.end_time, feed)
    if mode == "book":
        ctx.mode = mode
        waker = ctx._waker = BookWaker(sim, ctx.client, feed.end_time, MARKET_DATA_KEY)
        waker.start_spans(feed)
    _drive(sim, api, strategy, ctx, feed, run_name, overrun)
    stats.sample()
    report = ledger.report(symbols)
    run = _run_facts(
        paths, product, api, params, seed, latency, sim, gateway_options, (start, last), feed
    )
    if funding is not None:  # only then: a run without them gives the bytes it always gave
        run["funding"] = {"rates": len(funding), "markets": list(funding.markets)}
    if rebates is not None:
        run["rebates"] = rebates.as_json()
    if corporate is not None:
        run["corporate_actions"] = {"actions": len(corporate), "markets": list(corporate.markets)}
    if mode != "fix":  # a FIX-level run's report as before the modes
        run["mode"] = mode
    return BacktestResult(
        run_name,
        report,
        stats.as_json(report),
        run,
        feed.messages,
        sim.clock.elapsed,
    )


def _check_seconds(**durations: float) -> None:
    """Each of ``durations`` (a name -> its value) is seconds > 0, or a `LocalProtocolError`."""
    for label, value in durations.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise LocalProtocolError(f"{label} must be seconds > 0, got {value!r}")


def _drive(
    sim: Simulation,
    api: str,
    strategy: Strategy,
    ctx: Context,
    feed: Feed,
    run_name: str,
    overrun: float,
) -> None:
    """Run the strategy, then the recordings to their end; every failure a `BacktestFailed`."""
    try:
        _run_strategy(sim, api, strategy, ctx)
        ctx._waker.close()
        while not feed.done:
            if not (feed.spans is not None and feed.run(feed.end_time, _never)):
                sim.run_once(feed.end_time)
    except SimulationStalled as exc:
        what = str(exc)
        if what.startswith("simulated time would pass max_time"):  # the budget run_backtest set
            what = (
                f"the strategy ran on past the recordings' end by more than overrun "
                f"({overrun:g} s of simulated time; --overrun on the command line) without "
                "returning: a wait with no end, or a loop that does not stop when ctx.seconds "
                "reaches 0"
            )
        raise BacktestFailed(run_name, sim.clock.time(), what) from exc
    except BacktestFailed:
        raise
    except Exception as exc:
        what = f"the strategy raised {type(exc).__name__}: {exc}"
        raise BacktestFailed(run_name, sim.clock.time(), what) from exc
    if feed.error is not None:
        raise BacktestFailed(run_name, sim.clock.time(), str(feed.error)) from feed.error


def _run_facts(
    paths: Sequence[str | os.PathLike[str]],
    product: str,
    api: str,
    params: Mapping[str, Any],
    seed: int,
    latency: LatencyModel | Mapping[str, LatencyModel] | None,
    sim: Simulation,
    gateway_options: Mapping[str, Any],
    span: tuple[float, float],
    feed: Feed,
) -> dict[str, Any]:
    """The report's ``run``: what ran, on what, with which models."""
    start, last = span
    return {
        "recordings": [Path(p).name for p in paths],
        "product": product,
        "api": api,
        "params": _plain(params),
        "seed": seed,
        "latency": _plain(latency),
        "models": {  # the exchange's, as given or by default
            "queue_model": _plain(sim.gateway.exchange.queue_model),
            "fees": _plain(sim.gateway.exchange.fees),
        },
        "gateway_options": {
            k: _plain(v) for k, v in sorted(gateway_options.items()) if k not in _MODELS
        },
        "start": _iso(start),
        "end": _iso(last),
        "messages": feed.messages,
    }


def _never() -> bool:
    return False


def _check_settle(settle: Mapping[str, str], infos: Sequence[RecordingInfo]) -> None:
    """``settle`` names markets of the recordings, each ``"yes"`` or ``"no"``."""
    markets = {m for info in infos for m in info.markets}
    for symbol, result in settle.items():
        if result not in ("yes", "no"):
            raise LocalProtocolError(f"settle {symbol}={result!r}: the result is yes or no")
        if symbol not in markets:
            raise LocalProtocolError(
                f"settle {symbol}: not a market of the recordings ({', '.join(sorted(markets))})"
            )


def _run_strategy(sim: Simulation, api: str, strategy: Strategy, ctx: Context) -> None:
    if api == "blocking":
        strategy(ctx)
    elif api == "asyncio":
        sim.run_asyncio(strategy(ctx))
    else:
        sim.run_trio(strategy, ctx)


def _progress(progress: Callable[[int, float], None] | None) -> Callable[[Any, float], None] | None:
    if progress is None:
        return None
    count = 0

    def on_message(_message: Any, now: float) -> None:
        nonlocal count
        count += 1
        if count % _PROGRESS_EVERY == 0:
            progress(count, now)

    return on_message


def _sample_every(sim: Simulation, feed: Feed, stats: Statistics, interval: float) -> None:
    """Sample the statistics now (the run's start: every market at 0) and every ``interval``
    simulated seconds until the recordings end."""

    def sample() -> object:
        if feed.done:
            return QUIET
        stats.sample()
        sim.scheduler.call_later(interval, sample)
        return QUIET  # the statistics: nothing a wait looks at

    feed.readers.add(sample)  # a lane runs it in its place (`Feed.readers`)
    sample()

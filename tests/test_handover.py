# private: the in-memory pipe's `Pipe.hand_over` (`simulator.gateway.net`), refused for the
# general path, the client end's `_End.data_built` counted, and the blocking wait
# (`simulator.world._inmemory._blocking`)
"""A FIX-level backtest's 35=X handed over (`Pipe.hand_over`: the gateway's chunk delivered by
the feed's step itself, `Feed._apply`, not through the scheduler, to the client's read of one
whole frame its gateway built, `_End.data_built`: its values given to the client's session,
`Session.handed_in`, then the pumps' read, `Driver.read_bytes`) held to the general path (the
chunk written, `Pipe.write`, delivered as the scheduler's next callback to
`_End.data_received`), as `Router._write_encoded` writes it through
`AcceptorDriver.send_encoded_now` and `Pipe.hand_over`, and the
blocking wait that runs it (`SimulatedSession.next_event`: `Simulation.run_once`'s common case
and `Driver.take_event` written out) held to the general wait (`SyncAPI.next_event`): the same
recordings run both ways, the strategies see the same events (kind, number, bytes, message,
receive time, both best prices and the trades after each), the clients receive the same bytes,
count the same (`SessionMetrics`) and consume the same stream (their framers' offsets), the
gateway's and the clients' sessions end with the same sequence numbers and the gateway
holds the same frames for a resend, and the reports are the same bytes. The cases: the shipped
samples and generated recordings of both products, a quoter's orders placed and filled mid-run
with its two sessions, a reader of its events by ``on_event`` (unset for a while: the
blocking pump told of a read only when it has callbacks), a reader that leaves its market
data unread for a while (folded, a lag warning), a gap the gateway opens mid-run (the
client's ResendRequest answered from what the gateway holds), and a compiled cache that
changes mid-run (the run stops there).
Each case counts the frames handed over (`_End.data_built`): the lane ran where it should,
and never with it off.

(A test of the private `_net` and `_blocking` modules of `simulator.world._inmemory`, the private
package of a simulation's plumbing: `Pipe.hand_over` is replaced and refused,
`_End.data_built` counted, and `SimulatedSession.next_event` replaced.)
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.client import QueuePolicy
from kalshi_fix_sansio.client.pump import SyncAPI
from kalshi_fix_sansio.simulator.backtests.backtest import BacktestFailed, run_backtest
from kalshi_fix_sansio.simulator.gateway.net import Pipe
from kalshi_fix_sansio.simulator.testing.recordings import (
    MARGIN_SAMPLE_RECORDING,
    SAMPLE_RECORDING,
    SAMPLE_SETTLED,
    write_recording,
)
from kalshi_fix_sansio.simulator.testing.strategies import Quotes
from kalshi_fix_sansio.simulator.world._inmemory import _blocking
from kalshi_fix_sansio.simulator.world.simulation import WireRecord
from kalshi_fix_sansio.trading.builders import Requests

_DATA_BUILT = _blocking._End.data_built


class Run:
    """What one run showed: each event as the strategy saw it, the gateway's bytes per
    connection, the sessions' numbers and the gateway's stored frames at the end."""

    def __init__(self) -> None:
        self.lines: list[Any] = []
        self.wire: dict[tuple[str, int], Any] = {}
        self.handed = 0

    def hear(self, record: WireRecord) -> None:
        if record.sender == "gateway":
            key = (record.session_type, record.connection)
            self.wire.setdefault(key, hashlib.sha256()).update(record.data)

    def see(self, ctx: Any, md: Any, event: Any) -> None:
        line = [type(event).__name__, getattr(event, "seq_num", None), md.received_at(event)]
        if hasattr(event, "message"):
            line += [event.raw, repr(event.message), event.defects]
        books = md.books
        for symbol in ctx.symbols:
            book = None if books is None else books.get(symbol)
            if book is not None:
                line += [book.best_bid(), book.best_offer(), list(book.trades)]
        line.append(ctx.simulation.time())
        self.lines.append(line)

    def end(self, ctx: Any, *sessions: Any) -> None:
        """The sessions' numbers, both ends, and what the gateway holds to resend."""
        for session in sessions:
            driver = session._driver
            store = driver.supervisor.session.store
            self.lines.append(("client", store.next_sender_seq(), store.next_target_seq()))
            metrics = driver.metrics
            counts = {k: getattr(metrics, k, None) for k in type(metrics).__slots__}
            self.lines.append({k: v for k, v in counts.items() if type(v) is int})
            framer = driver.supervisor.session._framer
            self.lines.append((driver._last_input, framer.stream_offset, framer._work))
            delivery = driver.delivery
            self.lines.append((driver._market_data, driver._warned, list(delivery.times)))
        for conn in ctx.simulation.gateway._conns.values():
            machine = conn.driver.session
            store = machine.store
            kept = store.get(1, store.next_sender_seq())
            self.lines.append(("gateway", store.next_sender_seq(), store.next_target_seq(), kept))
            self.lines.append(("gateway sent", conn.driver.app_sent))


def _watch(run: Run, gap_at: int = -1, spoil: Path | None = None) -> Any:
    def watch(ctx: Any) -> None:
        ctx.simulation.wire_listeners.append(run.hear)
        with ctx.client(market_data=True).market_data() as md:
            md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
            n = 0
            while ctx.seconds > 0 and (event := md.next_event(timeout=ctx.seconds)) is not None:
                run.see(ctx, md, event)
                n += 1
                if n == gap_at:  # the gateway skips a number: the client asks for a resend
                    ctx.simulation.gateway.faults.skip_seq = 1
                if spoil is not None and n == 150:  # the compiled cache changes mid-run
                    spoil.write_bytes(spoil.read_bytes()[:-40])
            run.end(ctx, md)

    return watch


def _backlog(run: Run) -> Any:
    """Every 40th event, a wait on the order-entry session instead (60 s): the market-data
    events pile up unread meanwhile (folded past 8, a lag warning after 1 s)."""

    def lag(ctx: Any) -> None:
        ctx.simulation.wire_listeners.append(run.hear)
        policy = QueuePolicy(max_market_data=8, lag_warning=1.0)
        with (
            ctx.client(market_data=True).market_data(queue_policy=policy) as md,
            ctx.client().order_entry() as oe,
        ):
            md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
            n = 0
            while ctx.seconds > 0 and (event := md.next_event(timeout=ctx.seconds)) is not None:
                run.see(ctx, md, event)
                n += 1
                if n % 40 == 0:
                    run.lines.append(repr(oe.next_event(timeout=60.0)))
            run.end(ctx, md, oe)

    return lag


def _callbacks(run: Run) -> Any:
    """The market data read by ``on_event`` (delivered between two inputs of the simulation,
    `_Inline._deliver`) while the strategy sleeps, ``on_event`` unset for a while mid-run."""

    def hear(ctx: Any) -> None:
        ctx.simulation.wire_listeners.append(run.hear)
        held: list[Any] = []
        seen: list[Any] = []
        with ctx.client(market_data=True).market_data(on_event=seen.append) as md:
            held.append(md)
            md.send(Requests(ctx.product, "KalshiMD").subscribe(list(ctx.symbols)))
            n = 0
            while ctx.seconds > 0:
                ctx.simulation.run_for(min(ctx.seconds, 7.0))  # the simulated clock driven
                for event in seen:
                    run.see(ctx, md, event)
                seen.clear()
                n += 1
                if n == 5:  # no callback for a while: the events wait in the queue
                    md.on_event = None
                elif n == 9:
                    md.on_event = seen.append
                    while (event := md.next_event(timeout=0.0)) is not None:
                        run.see(ctx, md, event)
            run.end(ctx, md)

    return hear


def _quote(run: Run) -> Any:
    def quote(ctx: Any) -> None:
        ctx.simulation.wire_listeners.append(run.hear)
        quotes = Quotes(ctx)
        with ctx.client(market_data=True).market_data() as md, ctx.client().order_entry() as oe:
            md.send(quotes.subscribe(), resubscribe=True)
            while ctx.seconds > 0 and (event := md.next_event(timeout=ctx.seconds)) is not None:
                run.see(ctx, md, event)
                for request in quotes.on_event(event, oe.tracker):
                    oe.send(request)
            run.lines.append(sorted(repr(o) for o in oe.tracker.orders.values()))
            run.end(ctx, md, oe)
            oe.kill()

    return quote


def _recording(where: Path, case: str) -> tuple[Path, dict[str, Any]]:
    if case == "sample":
        return SAMPLE_RECORDING, {"settle": {"KXPAPER-26NOV20-A": "no", **SAMPLE_SETTLED}}
    if case == "margin-sample":
        return MARGIN_SAMPLE_RECORDING, {}
    path = where / f"{case}.log"
    margin = case.endswith("margin")
    messages = 4500 if case == "long" else 700  # long: two chunks of its compiled cache
    with open(path, "w", encoding="utf-8") as out:
        write_recording(
            out, messages=messages, seed=11, product="margin" if margin else "prediction"
        )
    return path, {}


def _run(
    case: str, strategy: str, where: Path, monkeypatch: pytest.MonkeyPatch, lane: str
) -> tuple[Run, str]:
    """A run of ``case`` by ``strategy``, ``lane`` ``hand-over`` (`Router._write_encoded` and
    `Pipe.hand_over`) or ``general`` (the pipe's write and the general wait)."""
    run = Run()

    def data_built(end: Any, data: bytes, handed: Any = None) -> None:
        run.handed += 1
        _DATA_BUILT(end, data, handed)

    path, options = _recording(where, case)
    if strategy == "spoiled":  # its own copy: its cache spoiled mid-run
        copy = where / lane / path.name
        copy.parent.mkdir()
        copy.write_bytes(path.read_bytes())
        path = copy
    with monkeypatch.context() as patch:
        patch.setattr(_blocking._End, "data_built", data_built)
        if lane == "general":  # the pipe's write, the general wait (`SyncAPI.next_event`)
            patch.setattr(Pipe, "hand_over", lambda pipe, data: False)
            patch.setattr(_blocking.SimulatedSession, "next_event", SyncAPI.next_event)
        if strategy == "quote":
            run_strategy = _quote(run)
        elif strategy == "backlog":
            run_strategy = _backlog(run)
        elif strategy == "callbacks":
            run_strategy = _callbacks(run)
        elif strategy == "gap":
            run_strategy = _watch(run, gap_at=120)
        elif strategy == "spoiled":
            cache = where / f"cache-{lane}"
            run_backtest(lambda ctx: None, path, cache_dir=cache)  # compiled before
            (spoil,) = cache.iterdir()
            run_strategy = _watch(run, spoil=spoil)
            options["cache_dir"] = cache
        else:
            run_strategy = _watch(run)
        try:
            result = run_backtest(run_strategy, path, seed=4, **options)
        except BacktestFailed as exc:  # the spoiled cache: the run stops where it was read
            return run, re.sub(r"/\S+\.kfc", "<cache>", str(exc))
    return run, result.to_json()


CASES = [
    ("sample", "watch"),
    ("margin-sample", "watch"),
    ("generated", "watch"),
    ("generated-margin", "watch"),
    ("sample", "quote"),
    ("generated", "quote"),
    ("generated-margin", "quote"),
    ("generated", "backlog"),
    ("generated-margin", "backlog"),
    ("generated", "callbacks"),
    ("generated", "gap"),
    ("generated-margin", "gap"),
    ("long", "spoiled"),
]


@pytest.mark.parametrize(("case", "strategy"), CASES, ids=[f"{c}-{s}" for c, s in CASES])
def test_the_hand_over_equals_the_pipe_s_write(
    case: str, strategy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    general, general_json = _run(case, strategy, tmp_path, monkeypatch, "general")
    assert general.handed == 0
    wire = {k: v.digest() for k, v in general.wire.items()}
    for way in ("hand-over",):
        lane, lane_json = _run(case, strategy, tmp_path, monkeypatch, way)
        assert lane.handed > 50
        assert len(lane.lines) > 50
        assert lane.lines == general.lines
        assert {k: v.digest() for k, v in lane.wire.items()} == wire
        assert lane_json == general_json
    if strategy == "spoiled":
        assert "the compiled cache changed" in general_json

"""Run one `Schedule` against the mock exchange in a `Simulation`, checking its invariants.

The client is a client of the schedule's API (`_apis`) on its session type (KalshiNR or
KalshiRT), with risk limits, a message log (what a restart restores from) and, when the
schedule says so, REST reconciliation; a schedule with market-data steps has a market-data
session (`_markets`), one with RFQ steps on prediction an RFQ maker and the house's creator
(`_quotes`). Each step runs after its ``after`` seconds of simulated time, once the
application's programs have acted (subscribe again, confirm quotes); the frame invariants
(`WireWatch`) are checked as frames are written, the others after every step; then every fault
is lifted, the run goes on for `RECOVERY` seconds and the end invariants are checked: the
sessions logged on again, the books equal to the exchange's, and the client's position and
open orders equal to the exchange's.
"""

from __future__ import annotations

import math
import os
import shlex
import tempfile
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, Final

import attrs

from ....client.account import Account, AccountLimits
from ....client.reconnect import Backoff
from ....client.restore import restore
from ....codec.errors import LocalProtocolError
from ....rest.reconcile import Reconciled, ReconcileFailed, RestOptions
from ....session.auth import Ed25519Signer
from ....session.events import SequenceReset
from ....trading.builders import ClOrdIDGenerator, Requests
from ....trading.catchup import CatchUpComplete, CatchUpFailed, OrdersUnknown
from ....trading.risk import EventLimit, RiskLimits
from ...gateway import Faults, mock_api_key
from ...world.simulation import SimulationStalled
from . import _net
from ._apis import APIS_BY_NAME, DOCUMENTED, Blocking
from ._invariants import Violation, WireWatch
from ._markets import HEARTBEAT as AUX_HEARTBEAT
from ._markets import MD_SYMBOLS, MarketData, fixed_key
from ._net import _Sim
from ._promises import EVENT, DeskWatch
from ._quotes import RFQ_KINDS, Quoting
from ._schedule import Schedule, Step

__all__ = ["MAX_QTY", "RECOVERY", "SYMBOL", "SYMBOLS", "Outcome", "replay_command", "run"]

SYMBOLS: Final = {"prediction": "DST-26JAN05", "margin": "DST-PERP"}
"""The market every schedule trades, by product (seeded with house liquidity at 0.20 and
0.80)."""
SYMBOL: Final = SYMBOLS["prediction"]
"""The prediction market schedules trade."""
MAX_QTY: Final = 10
"""The client's risk limit on an order's quantity (schedules draw up to 12)."""
RECOVERY: Final = 150.0
"""Simulated seconds a session has, after the last fault is lifted, to be logged on again with
its order state whole: the longest backoff (5 s), a Logon timeout (10 s), a heartbeat interval
and its TestRequest (2 x 10 s), a catch-up and a REST round, with room."""
MAX_TIMERS: Final = 2_000
"""Most callbacks the simulation may hold at once (memory stays bounded)."""
OPEN_BOUND: Final = 600.0
"""Simulated seconds a (re)started client has to log on (the longest fault a schedule draws
lasts 120 s)."""
HEARTBEAT: Final = 10
ACCOUNT: Final = "dst-account"
"""The gateway's account of the two keys of a schedule with several sessions (`session`)."""
LOGONS_PER_SECOND: Final = 1
"""The account's Logon budget: the gateway refuses a Logon past it in any second, and the
client's `Account` is told it (the promise: none refused)."""
CRASH_NOTICED: Final = 60
"""Most simulated seconds a restarted client waits for the gateway to see its dead
connection closed before it logs on (the troubleshooting page: "after a crash, wait a
minute")."""
DEAD_MAN: Final = 5.0
"""The dead man's switch of a schedule with a `hang` step (``dead_man=`` seconds): its program
calls ``alive()`` every `ALIVE_EVERY` simulated seconds while it is not hung."""
ALIVE_EVERY: Final = 1.0
# without CancelOrdersOnDisconnect (the switch's default): on KalshiRT the mock gateway's
# cancels at a disconnect reach the account's other sessions only, and the reconnected session
# is never told (what Kalshi sends it is not documented): 8013 stays out until it is known
_DEAD_MAN: Final = {"dead_man": DEAD_MAN, "config": {"cancel_orders_on_disconnect": False}}
_SLICE: Final = 10.0  # the recovery's slices, when the application's programs act between
_KEYS: Final = {product: mock_api_key(product) for product in ("prediction", "margin")}


def _second_key(product: str) -> tuple[str, Ed25519Signer]:
    """The second API key of a schedule's account: fixed, as the first (the same signatures,
    so the same bytes, on every machine)."""
    return fixed_key(product, "second")


_CENT: Final = Decimal("0.01")
# what a session says of its order state: whole again, or not (documented: the tracker may
# then differ from the exchange, and the application is told)
_WHOLE: Final = (CatchUpComplete, Reconciled)
_NOT_WHOLE: Final = (CatchUpFailed, OrdersUnknown, ReconcileFailed)
_DOCUMENTED: Final = DOCUMENTED


@attrs.frozen
class Outcome:
    """What one run of a schedule did.

    Attributes:
        schedule: the schedule run.
        violation: the first promise broken (None: the run passed).
        steps_run: how many steps ran (all of them unless one broke a promise).
        simulated: simulated seconds the run took.
        frames: FIX frames written, both sides.
        digest: SHA-256 of every chunk written (the same for every run of the schedule).
    """

    schedule: Schedule
    violation: Violation | None
    steps_run: int
    simulated: float
    frames: int
    digest: str

    @property
    def ok(self) -> bool:
        """No promise broken."""
        return self.violation is None

    @property
    def command(self) -> str:
        """The one-line command that replays this run, byte for byte, on any machine."""
        return replay_command(self.schedule)


def replay_command(schedule: Schedule) -> str:
    """``kalshi-fix simulate --schedule '...'``: the command that runs ``schedule`` again."""
    return f"kalshi-fix simulate --schedule {shlex.quote(schedule.text)}"


class _RestartFailed(Exception):
    """The client could not start again from its message log and store."""


class _NeverBack(Exception):
    """The client's session did not log on within `OPEN_BOUND` of its start."""


class _World:
    """One run: the simulation, the client, its session and the checks."""

    def __init__(self, schedule: Schedule, log_path: str) -> None:
        self.schedule = schedule
        self.log_path = log_path
        product = schedule.product
        self.key_id, self.signer, public = _KEYS[product]
        # several sessions of one account: a listener on a second key of it, from the first
        # `session` step; the account's Logon budget shared (`Account`), the gateway counting
        kinds = {step.kind for step in schedule.steps}
        self.several = "session" in kinds
        keys = {self.key_id: public}
        account_keys = [self.key_id]
        if self.several:
            second, self.second_signer = _second_key(product)
            keys[second] = self.second_signer.public_key()
            account_keys.append(second)
        # RFQ (prediction only): the account quotes on a third key of it, the house asks
        self.quoting: Quoting | None = None
        quoting = bool(kinds & RFQ_KINDS) and product == "prediction"
        if quoting:
            maker, creator = fixed_key(product, "maker"), fixed_key(product, "creator")
            keys[maker[0]] = maker[1].public_key()
            keys[creator[0]] = creator[1].public_key()
            account_keys.append(maker[0])
        self.account_keys = account_keys
        # the process's clients of the account's keys share one `Account`, as a desk's do: its
        # Logon budget, and the QuoteIDs its maker sent (a REST round counts their fills)
        self.shared = self.several or quoting
        accounts = {ACCOUNT: account_keys} if len(account_keys) > 1 else None
        markets = [SYMBOLS[product]]
        if "subscribe" in kinds:  # a market-data session of its own key, and a second market
            md_key, md_signer = fixed_key(product, "md")
            keys[md_key] = md_signer.public_key()
            markets = list(MD_SYMBOLS[product])
        sim = self.sim = _Sim(
            product,
            keys=keys,
            seed=schedule.seed,
            record_wire=False,
            rest=schedule.rest,
            max_time=_net.MAX_SIMULATED,
            accounts=accounts,
        )
        self.api: Blocking = APIS_BY_NAME[schedule.api](sim)
        self.md: MarketData | None = None
        if "subscribe" in kinds:
            self.md = MarketData(sim, self.api, product, schedule.seed, AUX_HEARTBEAT)
        for market in markets:
            sim.gateway.seed_market(
                market,
                bids=[(Decimal("0.20"), Decimal(50))],
                asks=[(Decimal("0.80"), Decimal(50))],
            )
        self.symbol = SYMBOLS[product]
        if quoting:
            self.quoting = Quoting(
                sim, self.api, self.symbol, schedule.seed, self._account, MAX_QTY, AUX_HEARTBEAT
            )
        # a key in no account of the gateway is an account of its own
        self.account = ACCOUNT if accounts else self.key_id
        self.desk: Account | None = None  # the process's Account (several sessions)
        self.listener: Any = None  # the second session of the account, when on
        if self.several:
            sim.gateway.faults.logon_rate_limit = (LOGONS_PER_SECOND, 1.0)
        self.filled = Decimal(0)  # the exchange's net position of the client, from its fills
        sim.gateway.exchange.fill_listeners.append(self._filled)
        self.oe: Any = None
        self.client: Any = None
        self.opening = False  # a (re)started client is logging on
        self.watch = WireWatch(
            self._halted,
            MAX_QTY,
            schedule.session_type == "KalshiNR",
            logon_budget=self.several,
            budget_keys=account_keys,
            quotes_halted=None if self.quoting is None else self.quoting.quotes_halted,
        )
        sim.wire_listeners.append(self.watch)
        # the desk's promises, held against the exchange's state (`_promises`)
        self.desk_watch = DeskWatch(
            sim.gateway.exchange,
            self.account,
            _ours,
            self._gate,
            self._violate,
            prices_in_cents=product == "prediction",
        )
        self.watch.frame_listeners.append(self.desk_watch.frame)
        self.event_limit: Decimal | None = None  # the `event_limit` step's, kept by a restart
        self.requests = Requests(
            product,
            schedule.session_type,
            cl_ord_ids=ClOrdIDGenerator("dst-", sequential=True),
        )
        self.lifts: list[Callable[[], None]] = []
        # a dead man's switch (schedules with a `hang`): the program keeps it alive
        self.dead_man = "hang" in kinds
        if self.dead_man:
            sim.scheduler.call_later(ALIVE_EVERY, self._alive)
        self.unknown: set[str] = set()
        self.not_whole: str | None = None  # the session's last word on its order state

    def _filled(self, fill: Any) -> None:
        if fill.account == self.account:  # not the house creator's of RFQs
            self.filled += fill.qty if fill.side == "1" else -fill.qty

    def _halted(self) -> bool:
        return self.oe is not None and bool(self.oe.halted)

    def _gate(self) -> Any:
        """The order-entry session's order gate (None: no session)."""
        return None if self.oe is None else self.oe.driver.gate

    def _risk_limits(self) -> RiskLimits:
        """The session's risk limits: the quantity limit, and the event limit once set."""
        if self.event_limit is None:
            return RiskLimits(max_order_qty=Decimal(MAX_QTY))
        event = EventLimit(max_worst_loss=self.event_limit, markets=(self.symbol,))
        return RiskLimits(max_order_qty=Decimal(MAX_QTY), events={EVENT: event})

    # -- the client ---------------------------------------------------------------------------

    def _account(self) -> dict[str, Any]:
        """The ``account=`` of the process's clients (a new process: a new `Account`)."""
        if not self.shared:
            return {}
        if self.desk is None:
            product = self.schedule.product
            budget = float(10**6)  # writes unthrottled: the Logon budget is what is tested
            limits = AccountLimits(
                product=product,
                tier="Basic",
                read=budget,
                write=budget,
                logons_per_second=float(LOGONS_PER_SECOND),
            )
            self.desk = Account(ACCOUNT, self.account_keys, limits)
        return {"account": self.desk}

    async def open(self, restored: bool) -> None:
        sim = self.sim
        client = sim.client(
            self.key_id,
            self.signer,
            api=self.schedule.api,
            backoff=Backoff(base=0.5, cap=5.0, attempts=None, seed=self.schedule.seed),
            **self._account(),
            risk_limits=self._risk_limits(),
            message_log_path=self.log_path,
            store_dir=os.path.dirname(self.log_path),  # KalshiRT's numbers survive a restart
            rest=RestOptions(environment="demo") if self.schedule.rest else None,
            **(_DEAD_MAN if self.dead_man else {}),
        )
        retransmission = self.schedule.session_type == "KalshiRT"
        options: dict[str, Any] = {"on_event": self._event, "heartbeat_interval": HEARTBEAT}
        if restored:
            # strict=False: a frame the gateway garbled is logged as such (and was skipped)
            state = restore(self.log_path, key_id=self.key_id, strict=False)
            options["tracker"] = state.tracker
            if not retransmission:  # KalshiRT does not catch up from drop copy
                options["cursor"] = state.cursor
        self.client = client
        session = client.order_entry(retransmission, **options)
        self.oe = session
        limit = sim.max_time
        sim.max_time = sim.clock.elapsed + OPEN_BOUND
        self.opening = True
        try:
            await self.api.enter(session)
        except _DOCUMENTED:  # refused or cut while logging on: it reconnects by itself
            pass
        except SimulationStalled:
            raise _NeverBack(f"not logged on {OPEN_BOUND:g} s after it started") from None
        finally:
            sim.max_time = limit
            self.opening = False

    def _event(self, event: Any) -> None:
        """Events are read (the queue stays empty); the checks read the tracker, and the
        orders a session names unknown (`OrdersUnknown`: its documented word on them)."""
        if isinstance(event, OrdersUnknown):
            self.unknown.update(event.cl_ord_ids)
        elif isinstance(event, SequenceReset):
            self._moved(event)
        if isinstance(event, _NOT_WHOLE):
            self.not_whole = f"{type(event).__name__}: {getattr(event, 'reason', '')}"
        elif isinstance(event, _WHOLE):
            self.not_whole = None

    def _moved(self, event: SequenceReset) -> None:
        """A SequenceReset the session read moved what it expects next to its NewSeqNo (or past
        it: messages held in the gap follow)."""
        session = None if self.oe is None else self.oe.session
        if session is not None and session.next_target_seq < event.new_seq_num:
            kind = "SequenceReset-GapFill" if event.gap_fill else "SequenceReset"
            self._violate(
                "sequence numbers out of step",
                f"the client expects MsgSeqNum {session.next_target_seq} after a {kind} to "
                f"{event.new_seq_num}",
            )

    def _others(self) -> list[Any]:
        """The process's sessions beside its order entry: the account's second session, the
        market-data session, the RFQ maker."""
        others = [] if self.listener is None else [self.listener]
        if self.md is not None:
            others += self.md.sessions()
        if self.quoting is not None:
            others += self.quoting.process_sessions()
        return others

    async def crash(self) -> None:
        """The process dies: its connections reset, nothing closed or logged out."""
        for session in ([] if self.oe is None else [self.oe]) + self._others():
            self.api.abandon(session)
            await self.api.settle(session)
        self.release()

    def release(self) -> None:
        """What is left of the dead process: its files closed (the session's message log, the
        client's stores)."""
        oe, self.oe = self.oe, None
        self.desk_watch.killed = False  # the new process is not halted
        others = self._others()
        self.listener = None
        if self.md is not None:
            self.md.forget()
        if self.quoting is not None:
            self.quoting.forget()
        self.desk = None
        for session in others:
            self.api.release(session)
        if oe is None:
            return
        self.api.release(oe)
        for store in self.client._stores.values():  # the process's files close as it dies
            store.close()

    def stop(self) -> None:
        """The run is over (or stopped): the client's connections reset, its files closed (and
        the house's RFQ creator's)."""
        for session in ([] if self.oe is None else [self.oe]) + self._others():
            self.api.abandon(session)
        self.release()
        creator = None if self.quoting is None else self.quoting.creator
        if creator is not None:
            self.quoting.creator = None  # type: ignore[union-attr]
            self.api.abandon(creator)
            self.api.release(creator)

    # -- steps --------------------------------------------------------------------------------

    async def do(self, step: Step) -> None:
        kind, args = step.kind, step.args
        # market data and RFQ steps are their parts' (none: a margin schedule's RFQ steps)
        part = self.md if kind in ("subscribe", "unsubscribe") else self.quoting
        if kind in ("subscribe", "unsubscribe") or kind in RFQ_KINDS:
            if part is None:
                return
            handler = getattr(part, kind)
        else:
            handler = getattr(self, f"_{kind}")
        try:
            await handler(*args)
        except _DOCUMENTED:
            pass

    def _alive(self) -> None:
        """The program's loop: ``alive()`` every `ALIVE_EVERY` seconds (a `hang` freezes it:
        the clock jumps past its calls)."""
        if self.oe is not None:
            self.client.alive()
        self.sim.scheduler.call_later(ALIVE_EVERY, self._alive)

    async def _send(self, request: Any) -> None:
        """Send an order or replace of the program's; one sent at or past the dead man's
        switch's deadline breaks its promise (the switch fires as it is sent: refused)."""
        switch = None if self.client is None else self.client.dead_man
        late = switch is not None and self.sim.time() >= switch.deadline
        await self.api.send(self.oe, request)
        if late and switch is not None:
            self._violate(
                "order past the dead man's switch",
                f"an order sent {self.sim.time() - switch.deadline:.3f} s past the deadline of "
                f"the switch (no alive() for {switch.interval:g} s) went out",
            )

    def _open_order(self, n: int) -> Any:
        orders = [o for o in self.oe.tracker.open_orders() if o.order_id is not None]
        return orders[n % len(orders)] if orders else None

    async def _order(self, side: int, qty: int, cents: int) -> None:
        order = self.requests.new_order(
            self.symbol, "buy" if side == 1 else "sell", qty, Decimal(cents) * _CENT
        )
        await self._send(order)

    async def _replace(self, n: int, qty: int, cents: int) -> None:
        order = self._open_order(n)
        if order is not None:
            request = self.requests.replace(
                order, order_qty=Decimal(qty), price=Decimal(cents) * _CENT
            )
            await self._send(request)

    async def _cancel(self, n: int) -> None:
        order = self._open_order(n)
        if order is not None:
            await self.api.send(self.oe, self.requests.cancel(order))

    async def _kill(self) -> None:
        if self.quoting is not None:  # the process's kill halts its quotes too
            await self.quoting.kill()
        report = await self.api.kill(self.oe)
        if report is not None and report.done:
            self.desk_watch.kill_done()

    async def _rearm(self) -> None:
        if self.quoting is not None:
            self.quoting.rearm()
        self.oe.rearm()
        if self.dead_man:  # the switch's halt is the client's
            self.client.rearm()
        self.desk_watch.killed = False

    async def _reduce_only(self) -> None:
        self.oe.reduce_only("the schedule's reduce_only step")
        self.desk_watch.killed = False  # reduce-only lifts the kill's halt (documented)

    async def _hang(self, seconds: int) -> None:
        """The application hangs ``seconds`` (its process frozen: the clock jumps, nothing of
        it runs), then its program sends an order at once (a buy that rests)."""
        self.api.jump(seconds)
        await self._order(1, 1, 30)

    async def _event_limit(self, dollars: int) -> None:
        """An event limit on the traded market's event (prediction), ``dollars`` above what its
        worst outcome loses at the exchange now: near the position."""
        if self.schedule.product != "prediction":
            return
        markets = (self.symbol,)
        self.event_limit = self.desk_watch.worst(markets) + dollars
        self.desk_watch.event_limit = (self.event_limit, markets)
        self.oe.risk_limits = self._risk_limits()

    async def _ioc_lost(self, side: int, qty: int, cents: int) -> None:
        """An IOC order whose outcome is lost: the gateway's answers are held, the order goes
        out, and the process crashes before any answer reaches it; the restarted client holds
        the order's outcome unknown (`OrdersUnknown`). Its program, back, sends at once an
        order on the same side that rests (50 cents away): one that could grow the position
        while the outcome is unknown, which the session must refuse until it knows. An order
        that could not be sent has nothing to lose: no crash then."""
        self._faults.delay = 5.0
        order = self.requests.new_order(
            self.symbol,
            "buy" if side == 1 else "sell",
            qty,
            Decimal(cents) * _CENT,
            time_in_force="ioc",
        )
        try:
            await self.api.send(self.oe, order)
        except _DOCUMENTED:  # not sent (refused, or a reconnect under way): nothing to lose
            self._faults.delay = 0.0
            return
        await self.api.pause(0.1)
        try:
            await self._restart()
            await self._order(side, qty, cents - 50 if side == 1 else cents + 50)
        finally:
            self._faults.delay = 0.0

    async def react(self) -> None:
        """What the application's programs do between steps (subscribe again, confirm)."""
        try:
            if self.md is not None:
                await self.md.react()
            if self.quoting is not None:
                await self.quoting.react()
        except _DOCUMENTED:
            pass

    async def _fill(self, side: int, qty: int, cents: int) -> None:
        level = [(Decimal(cents) * _CENT, Decimal(qty))]
        if side == 2:
            self.sim.gateway.seed_market(self.symbol, asks=level)
        else:
            self.sim.gateway.seed_market(self.symbol, bids=level)

    async def _session(self) -> None:
        """The account's second session (a listener on its second key) logs on, if it is not
        on already; it lives until the process dies (`restart`)."""
        if self.listener is not None or self.oe is None:
            return
        product = self.schedule.product
        second = _second_key(product)[0]
        client = self.sim.client(
            second,
            self.second_signer,
            api=self.schedule.api,
            backoff=Backoff(base=0.5, cap=5.0, attempts=None, seed=self.schedule.seed + 1),
            **self._account(),
        )
        self.listener = client.order_entry(
            listener_session=True, skip_pending_exec_reports=True, heartbeat_interval=HEARTBEAT
        )
        try:
            await self.api.enter(self.listener)
        except _DOCUMENTED:  # refused or cut while logging on: it reconnects by itself
            pass

    async def _restart(self) -> None:
        await self.crash()
        await self.api.pause(1.0)
        # Kalshi refuses a Logon while it holds the dead process's connection ("already
        # exists", final for a new process: the troubleshooting page says to wait after a
        # crash); held client writes can bring the reset after the new Logon: wait it out
        keys = {self.key_id, _second_key(self.schedule.product)[0], *self.account_keys}
        if self.md is not None:
            keys.add(self.md.key_id)
        waited = 0
        while keys & set(self.sim.gateway.connected()) and waited < CRASH_NOTICED:
            await self.api.pause(1.0)
            waited += 1
        try:
            await self.open(restored=True)
        except _DOCUMENTED as exc:
            raise _RestartFailed(f"{type(exc).__name__}: {exc}") from None
        if self.md is not None and self.md.wanted:  # the new process subscribes again
            await self.md.open()

    @property
    def _faults(self) -> Faults:
        faults: Faults = self.sim.gateway.faults
        return faults

    def _lift_later(self, seconds: float, lift: Callable[[], None]) -> None:
        self.lifts.append(lift)
        self.sim.scheduler.call_later(seconds, lift)

    async def _drop(self) -> None:
        self.sim.gateway.disconnect(self.key_id)

    async def _reset(self) -> None:
        self.sim.cut_next = True

    async def _stall(self, seconds: int) -> None:
        self._faults.silent = True
        self._lift_later(seconds, lambda: setattr(self._faults, "silent", False))

    async def _delay(self, tenths: int, seconds: int) -> None:
        self._faults.delay = tenths / 10
        self._lift_later(seconds, lambda: setattr(self._faults, "delay", 0.0))

    async def _duplicate(self) -> None:
        self._faults.duplicate_next = True

    async def _gap(self, n: int) -> None:
        self._faults.skip_seq = n

    async def _garble(self) -> None:
        self._faults.garble_next = True

    async def _refuse_logon(self) -> None:
        self._faults.reject_next_logon = "temporarily unavailable, try again later"

    async def _outage(self, seconds: int) -> None:
        self._faults.refuse_keys = frozenset({self.key_id})
        self.sim.gateway.disconnect(self.key_id)
        self._lift_later(seconds, lambda: setattr(self._faults, "refuse_keys", frozenset()))

    async def _rate_limit(self, n: int) -> None:
        self._faults.rate_limit_next = n

    async def _maintenance(self, seconds: int) -> None:
        self.sim.gateway.maintenance(seconds)

    async def _rest_error(self, n: int) -> None:
        self._faults.rest_error_next = n

    async def _rest_limit(self, n: int, retry_after: int) -> None:
        self._faults.rest_rate_limit_next = n
        self._faults.rest_retry_after = float(retry_after)

    async def _rest_slow(self, seconds: int) -> None:
        self._faults.rest_delay = float(seconds)
        self._lift_later(60.0, lambda: setattr(self._faults, "rest_delay", 0.0))

    async def _clock_jump(self, seconds: int) -> None:
        self.api.jump(seconds)

    async def _client_reset(self) -> None:
        self.sim.cut_client_next = True

    async def _client_garble(self) -> None:
        self.sim.garble_client_next = True

    async def _client_delay(self, tenths: int, seconds: int) -> None:
        sim = self.sim
        sim.client_delay = tenths / 10
        sim.hold_client_writes()
        # a Logon held past the Logon margin reaches the exchange late (what is held last:
        # until the lift, plus the hold, plus the spacing of the next)
        until = sim.time() + seconds + tenths / 10 + 1 / LOGONS_PER_SECOND
        self.watch.budget_excused_until = max(self.watch.budget_excused_until, until)
        self._lift_later(seconds, lambda: setattr(sim, "client_delay", 0.0))

    async def _gateway_restart(self, seconds: int) -> None:
        """The gateway process restarts: every connection reset, connections refused for
        ``seconds``; what Kalshi keeps durably stays (the exchange's orders, KalshiRT's
        sequence numbers and resend store: its continuity across a restart is documented)."""
        sim = self.sim
        sim.down_until = sim.clock.time() + seconds
        for key in sorted({self.key_id, *sim.gateway.connected()}):
            sim.gateway.disconnect(key)
        self._lift_later(seconds, lambda: setattr(sim, "down_until", -math.inf))

    # -- checks -------------------------------------------------------------------------------

    def check_step(self) -> None:
        self.desk_watch.check_resting()
        pending = len(self.sim.scheduler)
        if pending > MAX_TIMERS:
            self.watch.violations.append(
                Violation("memory bounded", self.watch.step, f"{pending} callbacks pending at once")
            )

    def lift_all(self) -> None:
        for lift in self.lifts:
            lift()
        self.lifts.clear()
        faults = self._faults
        for field in attrs.fields(Faults):
            setattr(faults, field.name, field.default)
        if self.several:  # the account's Logon limit is the exchange's, not a fault
            faults.logon_rate_limit = (LOGONS_PER_SECOND, 1.0)
        sim = self.sim
        sim.cut_next = sim.cut_client_next = sim.garble_client_next = False
        sim.client_delay, sim.down_until = 0.0, -math.inf

    def _violate(self, invariant: str, detail: str) -> None:
        self.watch.violations.append(Violation(invariant, self.watch.step, detail))

    def check_end(self) -> None:
        oe, watch = self.oe, self.watch
        if oe is None or not oe.driver.logged_on() or oe.supervisor.finished:
            failure = None if oe is None or oe.driver is None else oe.driver.failure
            watch.violations.append(
                Violation(
                    "session back",
                    watch.step,
                    f"not logged on {RECOVERY:g} s after the last fault"
                    + (f": {failure}" if failure else ""),
                )
            )
            return
        state = oe.supervisor.state.name
        if self.key_id not in self.sim.gateway.connected():  # it may think it is: the exchange says
            state = f"{state} for the client, logged off for the exchange"
        if state != "ACTIVE":
            watch.violations.append(
                Violation("session back", watch.step, f"the session is {state} after recovery")
            )
            return
        others = [] if self.listener is None else [("the account's second", self.listener)]
        if self.quoting is not None:
            others += [("the RFQ maker's", s) for s in self.quoting.process_sessions()]
        for name, other in others:
            if not other.driver.logged_on() or other.supervisor.state.name != "ACTIVE":
                detail = f"{name} session is {other.supervisor.state.name} after recovery"
                watch.violations.append(Violation("session back", watch.step, detail))
                return
        if self.md is not None:
            self.md.check_end(self._violate, watch.book_frames.get(self.md.key_id, []))
            if watch.violations:
                return
        self._check_numbers(oe)
        if watch.violations:
            return
        if self.not_whole is not None:  # the session said so: nothing more is promised
            return
        net = oe.tracker.position(self.symbol).net
        if net != self.filled:
            watch.violations.append(
                Violation(
                    "fill lost or doubled",
                    watch.step,
                    f"the client's position is {net}, the exchange's {self.filled}",
                )
            )
        ours = {
            str(o.order_id)
            for o in oe.tracker.open_orders()
            if o.order_id is not None or o.cl_ord_id not in self.unknown
        }
        theirs = {str(o.order_id) for o in self.sim.gateway.exchange.open_orders(self.account)}
        if ours != theirs:
            watch.violations.append(
                Violation(
                    "open orders differ",
                    watch.step,
                    f"client {sorted(ours)}, exchange {sorted(theirs)}",
                )
            )

    def _check_numbers(self, oe: Any) -> None:
        """The sequence numbers, both ways, once nothing is in flight: what each side expects
        next is what the other will write next (a gap fill moved the receiver to its
        NewSeqNo, every gap is closed)."""
        gateway = self.sim.gateway
        conn = gateway._conns.get(gateway._by_key.get(self.key_id, ""))
        client = oe.session
        if conn is None or client is None:
            return
        server = conn.session
        for side, expects, peer, writes in (
            ("the client", client.next_target_seq, "the gateway", server.next_sender_seq),
            ("the gateway", server.next_target_seq, "the client", client.next_sender_seq),
        ):
            if expects != writes:
                self._violate(
                    "sequence numbers out of step",
                    f"{side} expects MsgSeqNum {expects} next, {peer} writes {writes} next",
                )


def _ours(cl_ord_id: str) -> bool:
    """A ClOrdID of the order-entry session's orders (not the RFQ maker's quotes, ``dstq-``)."""
    return cl_ord_id.startswith("dst-")


def run(schedule: Schedule) -> Outcome:
    """Run ``schedule`` (see the module docstring).

    Returns:
        Its `Outcome`: the first promise broken, if any.
    """
    with tempfile.TemporaryDirectory(prefix="kalshi-dst-") as tmp:
        return _run(schedule, os.path.join(tmp, "session.log"))


def _run(schedule: Schedule, log_path: str) -> Outcome:
    world = _World(schedule, log_path)
    watch, sim = world.watch, world.sim
    done = [0]  # steps run
    try:
        if schedule.api == "asyncio":
            sim.run_asyncio(_play(world, done))
        elif schedule.api == "trio":
            # trio's scheduler seeded from the schedule's seed (the simulation's), whatever
            # the process imported before (`Simulation.run_trio`)
            sim.run_trio(_play, world, done)
        else:
            _complete(_play(world, done))
    except _NeverBack as exc:
        watch.violations.append(Violation("session back", watch.step, str(exc)))
    except _RestartFailed as exc:
        watch.violations.append(Violation("restart failed", watch.step, str(exc)))
    except SimulationStalled as exc:
        if world.opening:  # the loop stopped in the (re)started client's Logon
            detail = f"not logged on {OPEN_BOUND:g} s after it started"
            watch.violations.append(Violation("session back", watch.step, detail))
        else:
            detail = f"{exc}; stuck in {_where(schedule, watch.step)}"
            watch.violations.append(Violation("wait never ends", watch.step, detail))
    except LocalProtocolError as exc:
        watch.violations.append(Violation("wait never ends", watch.step, str(exc)))
    except Exception as exc:  # the point: nothing but the documented errors escapes
        watch.violations.append(
            Violation("exception escaped", watch.step, f"{type(exc).__name__}: {exc}")
        )
    finally:
        world.stop()
    violation = watch.violations[0] if watch.violations else None
    return Outcome(schedule, violation, done[0], sim.clock.elapsed, watch.frames, watch.digest)


def _where(schedule: Schedule, step: int) -> str:
    """Where a run was: its step (its text), or the recovery after the last step."""
    if step < len(schedule.steps):
        return f"step {step} ({schedule.steps[step].text})"
    return f"the recovery after the last step ({RECOVERY:g} s with no fault)"


def _complete(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that never suspends (the blocking API's: its waits run the simulation
    themselves) to its end."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise LocalProtocolError("the blocking run suspended: it awaited something of a loop")


async def _play(world: _World, done: list[int]) -> None:
    """The run itself, under every API: the steps, then the faults lifted and the recovery."""
    watch, schedule, api = world.watch, world.schedule, world.api
    try:
        await world.open(restored=False)
        for index, step in enumerate(schedule.steps):
            watch.step = index
            await api.pause(step.after)
            await world.react()
            await world.do(step)
            world.check_step()
            done[0] = index + 1
            if watch.violations:
                return
        watch.step = len(schedule.steps)
        world.lift_all()
        if world.md is None and world.quoting is None:
            await api.pause(RECOVERY)
        else:  # the application's programs go on between slices (subscribe again, confirm)
            for _ in range(int(RECOVERY // _SLICE)):
                await world.react()
                await api.pause(_SLICE)
        world.check_end()
        await world.crash()
    finally:
        world.stop()

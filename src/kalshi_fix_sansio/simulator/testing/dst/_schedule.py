"""Fault schedules: what a deterministic simulation run does, step by step, drawn from a seed.

A `Schedule` is data: the session type it trades on, whether REST reconciliation is served,
the seed of the simulation (the gateway's ids, the reconnect jitter), the API the client uses
(blocking, asyncio or trio), the product (prediction or margin) and its `Step` list. Its
`Schedule.text` is one line that `Schedule.parse` reads back, so a schedule (a shrunk one too)
replays from a command line on any machine.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from typing import Final

import attrs

from ....codec.errors import LocalProtocolError
from ...world.simulation import APIS

__all__ = [
    "APIS",
    "DESK_KINDS",
    "FAULT_KINDS",
    "KINDS",
    "NOT_YET",
    "PRODUCTS",
    "SESSION_TYPES",
    "WORKLOAD_KINDS",
    "Schedule",
    "Step",
    "generate",
]

WORKLOAD_KINDS: Final = {
    "order": "a limit order: side (1 buy, 2 sell), quantity, price in cents",
    "replace": "replace the n-th open order (modulo the open orders): new quantity, price",
    "cancel": "cancel the n-th open order (modulo the open orders)",
    "kill": "the session's kill switch (halts it until rearm)",
    "rearm": "lift the session's halt",
    "fill": "house liquidity at a price in cents, quantity (trades with resting orders)",
    "restart": "the client crashes (its connection reset, nothing closed) and starts again "
    "from its message log (restore)",
    "session": "a second session of the account (a listener on its second key) logs on, if it "
    "is not on; the account's Logon budget shared",
    "subscribe": "the market-data session (its own key; opened at the first) subscribes to "
    "market n (modulo the markets), resubscribe=True",
    "unsubscribe": "the market-data session unsubscribes from market n (modulo the markets)",
    "rfq": "the house (another account, on KalshiRT) asks for quotes: quantity (prediction "
    "only, as every RFQ step)",
    "quote": "the account's RFQ session (a third key of it) quotes the newest RFQ it was shown: "
    "YES bid, NO price, in cents",
    "accept": "the house accepts the newest quote it was shown: side (1 buys YES, 2 sells YES)",
    "quote_cancel": "the account's RFQ session cancels its newest quote",
    "reduce_only": "the session goes reduce-only (until rearm)",
    "event_limit": "an event limit on the traded market's event (prediction), this many dollars "
    "above what its worst outcome loses at the exchange now",
    "ioc_lost": "an IOC order (side, quantity, price in cents) whose outcome is lost: the "
    "gateway's answers held, the client crashes and starts again before any reaches it, then "
    "sends at once an order on the same side that rests (refused while the outcome is unknown)",
    "hang": "the application hangs this many seconds (its process frozen: the clock jumps, its "
    "dead man's switch of 5 s gets no alive()), then its program sends an order at once",
}
"""The workload a schedule draws from: kind -> what its arguments mean."""

DESK_KINDS: Final = ("reduce_only", "event_limit", "ioc_lost", "hang")
"""The workload that puts the session where a desk's promises bind (reduce-only, an event
limit near the position, an unknown outcome, a hang past the dead man's switch): a schedule
drawn from every kind gets them apart from its other steps (`generate`)."""

FAULT_KINDS: Final = {
    "drop": "the gateway closes the connection",
    "reset": "the connection is reset in the middle of a frame the gateway sends",
    "stall": "the gateway goes silent on the open connection (past the heartbeat)",
    "delay": "the gateway holds each write this many tenths of a second, for seconds",
    "duplicate": "the gateway sends its next application message twice (PossDup)",
    "gap": "the gateway skips outbound sequence numbers (a gap the client must fill)",
    "garble": "the gateway corrupts the checksum of its next frame",
    "refuse_logon": "the next Logon is refused",
    "outage": "the key's Logons are refused for seconds, its connection dropped",
    "rate_limit": "the gateway answers the next n messages with its rate-limit reject",
    "maintenance": "a maintenance window of seconds: every connection dropped, Logons refused",
    "rest_error": "the next n REST requests answer 503",
    "rest_limit": "the next n REST requests answer 429, with Retry-After: this many seconds",
    "rest_slow": "REST pages answer this many seconds late",
    "clock_jump": "the simulated clock jumps this many seconds at once (timers run late)",
    "client_reset": "the connection is reset in the middle of a frame the client sends",
    "client_garble": "the CheckSum of the client's next frame is corrupted on the way",
    "client_delay": "each chunk the client writes is held this many tenths of a second, for "
    "seconds",
    "gateway_restart": "the gateway restarts: every connection reset, connections refused for "
    "seconds (the exchange's orders and KalshiRT's numbers and store kept)",
}
"""The faults a schedule draws from: kind -> what its arguments mean."""

KINDS: Final = {**WORKLOAD_KINDS, **FAULT_KINDS}
"""Every step kind: `WORKLOAD_KINDS` and `FAULT_KINDS` together."""

NOT_YET: Final[tuple[str, ...]] = ()
"""What the issue asks a schedule to draw that it does not draw yet (nothing now)."""

SESSION_TYPES: Final = ("KalshiNR", "KalshiRT")
"""The session types a schedule trades on."""

PRODUCTS: Final = ("prediction", "margin")
"""The products a schedule trades (event contracts, or perpetual futures on margin)."""

_ARITY: Final = {
    "order": 3,
    "replace": 3,
    "cancel": 1,
    "fill": 3,
    "delay": 2,
    "stall": 1,
    "gap": 1,
    "outage": 1,
    "rate_limit": 1,
    "maintenance": 1,
    "rest_error": 1,
    "rest_limit": 2,
    "rest_slow": 1,
    "clock_jump": 1,
    "client_delay": 2,
    "gateway_restart": 1,
    "subscribe": 1,
    "unsubscribe": 1,
    "rfq": 1,
    "quote": 2,
    "accept": 1,
    "event_limit": 1,
    "ioc_lost": 3,
    "hang": 1,
}
_STEP = re.compile(r"^(\d+(?:\.\d+)?)([a-z_]+)((?:,-?\d+)*)$")


@attrs.frozen
class Step:
    """One step of a `Schedule`.

    Attributes:
        after: simulated seconds the run goes on before the step (heartbeats, timers...).
        kind: one of `KINDS`.
        args: its integer arguments (see `WORKLOAD_KINDS` and `FAULT_KINDS`).
    """

    after: float
    kind: str
    args: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        """The step as `Schedule.text` writes it: ``2.5order,1,3,41``."""
        return f"{self.after:g}{self.kind}" + "".join(f",{a}" for a in self.args)

    @property
    def fault(self) -> bool:
        """A fault (else workload)."""
        return self.kind in FAULT_KINDS


@attrs.frozen
class Schedule:
    """A run of the deterministic simulation, as data (see the module docstring).

    Attributes:
        seed: the simulation's seed (and, for a generated schedule, the generator's).
        session_type: ``"KalshiNR"`` or ``"KalshiRT"``.
        rest: REST reconciliation served (``Simulation(rest=True)``) and used by the session.
        steps: the steps, in order.
        api: the client's API: ``"blocking"``, ``"asyncio"`` or ``"trio"`` (`APIS`).
        product: ``"prediction"`` or ``"margin"`` (`PRODUCTS`).
    """

    seed: int
    session_type: str
    rest: bool
    steps: tuple[Step, ...]
    api: str = "blocking"
    product: str = "prediction"

    @property
    def text(self) -> str:
        """One line: ``<seed>:<session type>:<rest|norest>:<api>:<product>:<step>;<step>...``
        (`parse` also reads the older ``<seed>:<session type>:<rest|norest>:<steps>``: the
        blocking API, prediction)."""
        rest = "rest" if self.rest else "norest"
        head = f"{self.seed}:{self.session_type}:{rest}:{self.api}:{self.product}"
        return head + ":" + ";".join(step.text for step in self.steps)

    def with_steps(self, steps: Iterable[Step]) -> Schedule:
        """The same schedule with other steps (what the shrinker tries)."""
        return attrs.evolve(self, steps=tuple(steps))

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """Read a schedule back from its `text`.

        Raises:
            LocalProtocolError: the text is not a schedule (naming the part that is not).
        """
        parts = text.strip().split(":")
        if len(parts) == 4:  # a schedule printed before it named its API and product
            parts[3:3] = ["blocking", "prediction"]
        if len(parts) != 6:
            raise LocalProtocolError(
                "a schedule is <seed>:<session type>:<rest|norest>:<api>:<product>:<steps>, "
                f"got {text[:60]!r}"
            )
        seed_text, session_type, rest, api, product, steps_text = parts
        if not re.fullmatch(r"\d+", seed_text):
            raise LocalProtocolError(f"schedule seed {seed_text!r} is not a number >= 0")
        if session_type not in SESSION_TYPES:
            raise LocalProtocolError(
                f"schedule session type {session_type!r} is not one of {', '.join(SESSION_TYPES)}"
            )
        if rest not in ("rest", "norest"):
            raise LocalProtocolError(f"schedule REST flag {rest!r} is not rest or norest")
        if api not in APIS:
            raise LocalProtocolError(f"schedule API {api!r} is not one of {', '.join(APIS)}")
        if product not in PRODUCTS:
            raise LocalProtocolError(
                f"schedule product {product!r} is not one of {', '.join(PRODUCTS)}"
            )
        steps = []
        for n, piece in enumerate(p for p in steps_text.split(";") if p):
            match = _STEP.match(piece)
            kind = match.group(2) if match else ""
            if match is None or kind not in KINDS:
                raise LocalProtocolError(
                    f"schedule step {n + 1} {piece!r} is not <seconds><kind>[,<int>...] with a "
                    f"kind of {', '.join(KINDS)}"
                )
            args = tuple(int(a) for a in match.group(3).split(",")[1:])
            if len(args) != _ARITY.get(kind, 0):
                raise LocalProtocolError(
                    f"schedule step {n + 1} {piece!r}: {kind} takes {_ARITY.get(kind, 0)} "
                    f"argument(s), got {len(args)}"
                )
            steps.append(Step(float(match.group(1)), kind, args))
        return cls(int(seed_text), session_type, rest == "rest", tuple(steps), api, product)


# How often each kind is drawn (workload heavier than faults).
_WEIGHTS: Final = {
    "order": 10,
    "replace": 3,
    "cancel": 3,
    "kill": 1.5,
    "rearm": 2,
    "fill": 5,
    "restart": 1,
    "session": 0.5,
    "drop": 1,
    "reset": 1.5,
    "stall": 0.7,
    "delay": 0.7,
    "duplicate": 0.7,
    "gap": 0.7,
    "garble": 0.5,
    "refuse_logon": 0.5,
    "outage": 0.5,
    "rate_limit": 0.7,
    "maintenance": 0.3,
    "rest_error": 0.5,
    "rest_limit": 0.4,
    "rest_slow": 0.3,
    "clock_jump": 0.5,
    "client_reset": 0.7,
    "client_garble": 0.5,
    "client_delay": 0.5,
    "gateway_restart": 0.4,
    "subscribe": 0.8,
    "unsubscribe": 0.3,
    "rfq": 0.8,
    "quote": 1.0,
    "accept": 0.8,
    "quote_cancel": 0.3,
    "reduce_only": 1.5,
    "event_limit": 1.5,
    "ioc_lost": 1,
    "hang": 1,
}


def _args(rng: random.Random, kind: str) -> tuple[int, ...]:
    if kind == "order":
        side = rng.choice((1, 2))
        price = rng.randint(30, 55) if side == 1 else rng.randint(45, 70)
        return (side, rng.randint(1, 12), price)
    if kind == "replace":
        return (rng.randint(0, 9), rng.randint(1, 12), rng.randint(30, 70))
    if kind == "fill":
        side = rng.choice((1, 2))  # the house's side: 2 sells (fills our bids)
        return (side, rng.randint(1, 8), rng.randint(30, 70))
    if kind == "cancel":
        return (rng.randint(0, 9),)
    if kind in ("delay", "client_delay"):
        return (rng.randint(1, 20), rng.randint(1, 30))
    if kind == "gateway_restart":
        return (rng.randint(1, 60),)
    if kind in ("subscribe", "unsubscribe"):
        return (rng.randint(0, 1),)
    if kind == "rfq":
        return (rng.randint(1, 12),)
    if kind == "quote":
        bid = rng.randint(20, 60)
        return (bid, rng.randint(10, 95 - bid))
    if kind == "accept":
        return (rng.choice((1, 2)),)
    if kind == "stall":
        return (rng.randint(5, 90),)
    if kind in ("gap", "rate_limit", "rest_error"):
        return (rng.randint(1, 3),)
    if kind in ("outage", "maintenance"):
        return (rng.randint(1, 120),)
    if kind == "rest_limit":
        return (rng.randint(1, 3), rng.randint(1, 20))
    if kind == "rest_slow":
        return (rng.randint(1, 10),)
    if kind == "clock_jump":
        return (rng.randint(1, 600),)
    if kind == "event_limit":
        return (rng.randint(0, 4),)
    if kind == "hang":  # past the dead man's switch's 5 s mostly, not always
        return (rng.randint(1, 30),)
    if kind == "ioc_lost":  # priced to trade with the house's seeded liquidity (0.20 / 0.80)
        side = rng.choice((1, 2))
        return (side, rng.randint(1, 8), rng.randint(80, 85) if side == 1 else rng.randint(15, 20))
    return ()


def generate(
    seed: int,
    *,
    steps: int = 30,
    kinds: Iterable[str] | None = None,
    api: str | None = None,
    product: str | None = None,
) -> Schedule:
    """A random schedule from ``seed`` (the same seed gives the same schedule on any machine).

    Args:
        seed: the seed (>= 0).
        steps: how many steps.
        kinds: draw only these kinds (None: every kind of `KINDS`).
        api: the client's API (None: the seed's, ``APIS[seed % 3]``: consecutive seeds spread
            over the three).
        product: the product (None: the seed's; one schedule in four trades margin).

    Raises:
        LocalProtocolError: a negative seed, ``steps`` < 1, an unknown kind, API or product.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LocalProtocolError(f"seed must be an int >= 0, got {seed!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise LocalProtocolError(f"steps must be an int >= 1, got {steps!r}")
    # every kind: the desk's drawn apart (below), so the other steps of a seed stay as they were
    chosen = [k for k in KINDS if k not in DESK_KINDS] if kinds is None else list(kinds)
    unknown = sorted(set(chosen) - set(KINDS))
    if unknown or not chosen:
        raise LocalProtocolError(
            f"unknown step kind(s) {', '.join(unknown) or '(none given)'}: "
            f"kinds are {', '.join(KINDS)}"
        )
    if api is not None and api not in APIS:
        raise LocalProtocolError(f"api must be one of {', '.join(APIS)}, got {api!r}")
    if product is not None and product not in PRODUCTS:
        raise LocalProtocolError(f"product must be one of {', '.join(PRODUCTS)}, got {product!r}")
    # drawn apart from the steps: a seed's steps are the same whatever its API and product
    if product is None:
        product = "margin" if random.Random(f"product {seed}").random() < 0.25 else "prediction"
    rng = random.Random(seed)
    session_type = rng.choice(SESSION_TYPES)
    rest = rng.random() < 0.5
    weights = [_WEIGHTS[k] for k in chosen]
    drawn = []
    for _ in range(steps):
        kind = rng.choices(chosen, weights)[0]
        after = round(rng.expovariate(1 / 4.0), 1)
        drawn.append(Step(after, kind, _args(rng, kind)))
    if kinds is None:
        _desk_steps(seed, drawn)
    chosen_api = APIS[seed % len(APIS)] if api is None else api
    return Schedule(seed, session_type, rest, tuple(drawn), chosen_api, product)


def _desk_steps(seed: int, drawn: list[Step]) -> None:
    """One schedule in three: two to four of its steps after the first few become the desk's
    (`DESK_KINDS`), so that it reaches reduce-only, an event limit near its position, an
    unknown outcome and a hang past its dead man's switch while its orders rest (drawn from a
    generator of their own: a seed's other steps are the same as without them)."""
    rng = random.Random(f"desk {seed}")
    if rng.random() >= 1 / 3 or len(drawn) < 6:
        return
    for index in sorted(rng.sample(range(3, len(drawn)), rng.randint(2, 4))):
        kind = rng.choice(DESK_KINDS)
        drawn[index] = Step(drawn[index].after, kind, _args(rng, kind))

"""Queue models fitted to your own fills: which model reproduces what the exchange did.

A live session's order-entry message log (clients write one with ``message_log_path=``) holds
every order you sent (35=D, 35=G, 35=F, 35=q, with the times you sent them) and every fill
Kalshi reported (35=8 with ExecType F). `replay_orders` sends the same orders, at the same
times, into a backtest of the market data you received (your market-data session's message
log is a recording: `kalshi_fix_sansio.simulator.data.recording`), under a given queue model and
latency, and gives each order's simulated fills. `fit_queue` does so under each candidate
queue model (`QUEUE_CANDIDATES`: FIFO, risk-averse, the probabilistic ones at several powers,
log) and ranks them by how far their fills are from yours: the *mismatch*, the contracts filled
in one and not the other, summed over your orders, as a share of the contracts you ordered.
The best model and its figures are a `QueueFit`; `save_queue_fit` keeps it under a name and a
backtest takes it with ``--queue-model fitted:NAME`` (`load_queue_fit`).

What it assumes: the replay sends your orders as they were sent, not as your strategy would
have sent them in the simulated market (for that, run the strategy: a backtest); orders go out
at the times the log gives, and reach the exchange after the latency model you pass (a fit of
your own delays, `kalshi_fix_sansio.simulator.world.latency.fit_message_logs`, or none); the
recording holds the market data of every market you traded. A mismatch of 0 means the model
reproduces every fill of the log; the ranking says which of the candidates comes closest,
not that it is the queue (a day with few fills at the back of a queue tells the models apart
little: `QueueFit.fills` and `QueueFit.scores` say how much there was to go on).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from ...codec import dialect
from ...codec.errors import LocalProtocolError
from ...rest.desk import QueuePosition, read_queue_log_line
from ..data.recording import _message_log
from ..world.latency import MAX_LATENCY

__all__ = [
    "QUEUE_CANDIDATES",
    "QUEUE_FIT_SUFFIX",
    "LoggedOrders",
    "QueueFit",
    "fit_queue",
    "load_queue_fit",
    "read_order_log",
    "read_queue_log",
    "replay_orders",
    "save_queue_fit",
]

QUEUE_CANDIDATES: Final = (
    "fifo",
    "risk-averse",
    "prob-power:0.5",
    "prob-power:1",
    "prob-power:2",
    "prob-power:3",
    "prob-power:4",
    "prob-power:6",
    "prob-power:8",
    "prob-log",
)
"""The queue models `fit_queue` tries by default (`kalshi_fix_sansio.simulator.gateway.queue_model`
names), simplest first: a tie goes to the earlier."""

QUEUE_FIT_SUFFIX: Final = ".queue.json"
"""The file name ending of a queue fit saved under a name (`save_queue_fit`)."""

_SENT: Final = frozenset({b"D", b"F", b"G", b"q"})
_MSG_TYPE: Final = re.compile(rb"\x0135=([^\x01]+)\x01")
_CL_ORD_ID: Final = re.compile(rb"\x0111=([^\x01]+)\x01")
_EXEC_TYPE: Final = re.compile(rb"\x01150=([^\x01]+)\x01")
_LAST_QTY: Final = re.compile(rb"\x0132=([^\x01]+)\x01")
_ORDER_QTY: Final = re.compile(rb"\x0138=([^\x01]+)\x01")
_ORIG_CL_ORD_ID: Final = re.compile(rb"\x0141=([^\x01]+)\x01")
_ORDER_ID: Final = re.compile(rb"\x0137=([^\x01]+)\x01")
_SCHEMA: Final = 1


@attrs.frozen
class LoggedOrders:
    """What an order-entry message log says was sent and filled.

    Attributes:
        sends: each order message sent (35=D, 35=G, 35=F, 35=q), in time order: (the send
            time, UTC epoch seconds; the frame, SOH-separated).
        ordered: each order (the ClOrdID of its 35=D) -> the contracts it asked for.
        fills: each order (its 35=D's ClOrdID, whichever version of it a 35=G made the report
            names) -> the contracts Kalshi reported filled (35=8, ExecType F).
        replaced: a 35=G's ClOrdID -> the OrigClOrdID it replaced.
        order_ids: Kalshi's OrderID(37) of each order (as its reports give it) -> the order
            (its 35=D's ClOrdID): what names an order in Kalshi's REST queue positions.
    """

    sends: tuple[tuple[float, bytes], ...]
    ordered: Mapping[str, Decimal]
    fills: Mapping[str, Decimal]
    replaced: Mapping[str, str] = attrs.field(factory=dict)
    order_ids: Mapping[str, str] = attrs.field(factory=dict)

    def by_order(self, filled: Mapping[str, Decimal]) -> dict[str, Decimal]:
        """Contracts filled per ClOrdID, added up per order (`order_of`)."""
        out: dict[str, Decimal] = {}
        for cl, qty in filled.items():
            order = self.order_of(cl)
            out[order] = out.get(order, Decimal(0)) + qty
        return out

    def order_of(self, cl_ord_id: str) -> str:
        """The order a ClOrdID is a version of (its 35=D's ClOrdID)."""
        seen = 0
        while cl_ord_id in self.replaced and seen < len(self.replaced):
            cl_ord_id = self.replaced[cl_ord_id]
            seen += 1  # a log that replaces in a circle ends here
        return cl_ord_id


def _utc(stamp: bytes, where: str) -> float:
    try:
        return datetime.fromisoformat(stamp.decode("ascii").replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise LocalProtocolError(f"{where}: not a receive time: {stamp[:40]!r}") from None


def _field(pattern: re.Pattern[bytes], frame: bytes) -> bytes | None:
    found = pattern.search(frame)
    return None if found is None else found.group(1)


def _contracts(value: bytes | None, where: str) -> Decimal:
    try:
        return Decimal(value.decode("ascii")) if value is not None else Decimal(0)
    except ArithmeticError:
        raise LocalProtocolError(f"{where}: not a quantity: {value!r}") from None


def read_order_log(paths: Sequence[str | os.PathLike[str]]) -> LoggedOrders:
    """Read the orders sent and the fills reported in order-entry message logs.

    Raises:
        LocalProtocolError: a file that cannot be read, or a line that is not a message-log
            line (naming the file, the line and the byte offset).
    """
    sends: list[tuple[float, bytes]] = []
    ordered: dict[str, Decimal] = {}
    reported: dict[str, Decimal] = {}
    replaced: dict[str, str] = {}
    order_ids: dict[str, str] = {}  # OrderID -> the ClOrdID of a report naming it
    for path in paths:
        for where, stamp, direction, _session, text in _message_log(path):
            frame = b"\x01" + text.replace(b"|", b"\x01")
            kind = _field(_MSG_TYPE, frame)
            cl = _field(_CL_ORD_ID, frame)
            if direction == b"OUT" and kind in _SENT:
                sends.append((_utc(stamp, where), frame[1:]))
                orig = _field(_ORIG_CL_ORD_ID, frame)
                if kind == b"D" and cl is not None:
                    qty = _contracts(_field(_ORDER_QTY, frame), where)
                    ordered[cl.decode("utf-8", "replace")] = qty
                elif kind == b"G" and cl is not None and orig is not None:
                    new = cl.decode("utf-8", "replace")
                    replaced[new] = orig.decode("utf-8", "replace")
            elif direction == b"IN" and kind == b"8" and cl is not None:
                key = cl.decode("utf-8", "replace")
                order_id = _field(_ORDER_ID, frame)
                if order_id is not None:  # its first report: the order's (later: a cancel's)
                    order_ids.setdefault(order_id.decode("utf-8", "replace"), key)
                if _field(_EXEC_TYPE, frame) == b"F":
                    qty = _contracts(_field(_LAST_QTY, frame), where)
                    reported[key] = reported.get(key, Decimal(0)) + qty
    sends.sort(key=lambda send: send[0])  # stable: a file's own order within a time
    logged = LoggedOrders(tuple(sends), ordered, {}, replaced)
    ids = {oid: logged.order_of(cl) for oid, cl in order_ids.items()}
    return attrs.evolve(logged, fills=logged.by_order(reported), order_ids=ids)


QueueReads = tuple[tuple[float, tuple[QueuePosition, ...]], ...]
"""Queue positions read live: ``(when, the positions then)``, in time order."""


def read_queue_log(paths: Sequence[str | os.PathLike[str]]) -> QueueReads:
    """The queue positions of queue-positions logs (`kalshi_fix_sansio.rest.desk.queue_log_line`
    lines: ``kalshi-fix queue --record FILE``), in time order.

    Raises:
        LocalProtocolError: a file that cannot be read, or a line that is not such a line
            (naming the file and the line).
    """
    reads: list[tuple[float, tuple[QueuePosition, ...]]] = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise LocalProtocolError(f"{os.fspath(path)}: cannot read it: {why}") from None
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    reads.append(read_queue_log_line(line))
                except LocalProtocolError as exc:
                    raise LocalProtocolError(f"{os.fspath(path)}: line {number}: {exc}") from None
    reads.sort(key=lambda read: read[0])
    return tuple(reads)


def _sample(ctx: Any, oe: Any, moment: float, sampled: dict[tuple[float, str], Decimal]) -> None:
    """The simulated exchange's queue ahead of each resting order of ``oe``, into ``sampled``
    under (``moment``, its ClOrdID), once the simulation reached ``moment``."""
    while (wait := moment - ctx.time()) > 0 and ctx.seconds > 0:
        ctx.sleep(wait)
    mine = {o.order_id: o.cl_ord_id for o in oe.tracker.open_orders() if o.order_id}
    for order_id, _market, ahead in ctx.simulation.gateway.exchange.queue_positions(None):
        cl = mine.get(order_id)
        if cl is not None:
            sampled[(moment, cl)] = ahead


def _scripted(
    sends: Sequence[tuple[float, bytes]],
    decode: Any,
    refused: list[str],
    filled: dict[str, Decimal],
    samples: Sequence[float] = (),
    sampled: dict[tuple[float, str], Decimal] | None = None,
) -> Any:
    """A blocking backtest strategy that sends ``sends`` at their times (what the order
    entry refuses before sending is noted in ``refused``), waits for the recordings' end, and
    adds up its tracker's fills per ClOrdID into ``filled``; at each of ``samples`` it notes
    the queue ahead of its resting orders in ``sampled`` (`_sample`)."""
    timeline = sorted(
        [(moment, 1, frame) for moment, frame in sends] + [(t, 0, b"") for t in samples],
        key=lambda item: item[:2],  # a read at the time of a send: before it
    )

    def strategy(ctx: Any) -> None:
        with ctx.client().order_entry() as oe:
            for moment, kind, frame in timeline:
                if kind == 0:
                    _sample(ctx, oe, moment, sampled if sampled is not None else {})
                    continue
                wait = moment - ctx.time()
                if wait > 0:
                    ctx.sleep(wait)
                message = decode(frame)
                orig = getattr(message, "orig_cl_ord_id", None)
                if orig is not None and getattr(message, "order_id", None) is not None:
                    # the live exchange's OrderID: the simulation gave the order its own
                    order = oe.tracker.current(str(orig))
                    if order is not None and order.order_id is not None:
                        message = message.replace(order_id=order.order_id)
                try:
                    oe.send(message)
                except LocalProtocolError as exc:
                    refused.append(str(exc))
            while ctx.seconds > 0:  # a sleep ends early when the client has work
                ctx.sleep(ctx.seconds)
            ctx.sleep(MAX_LATENCY + 1)  # the reports of the last recorded moment's fills
            for fill in oe.tracker.fills:
                filled[fill.cl_ord_id] = filled.get(fill.cl_ord_id, Decimal(0)) + fill.qty

    return strategy


def replay_orders(
    recordings: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    orders: LoggedOrders,
    *,
    queue_model: str = "fifo",
    latency: Any = None,
    product: str | None = None,
    seed: int = 0,
    samples: Sequence[float] = (),
    sampled: dict[tuple[float, str], Decimal] | None = None,
) -> dict[str, Decimal]:
    """Send ``orders`` at their times into a backtest of ``recordings`` under ``queue_model``
    (a `queue_model` name) and ``latency`` (as `run_backtest` takes it); the contracts filled
    per order (as `LoggedOrders.fills` counts them). At each time of ``samples`` the queue
    ahead of every resting order goes into ``sampled``, under (the time, its order: its 35=D's
    ClOrdID).

    Raises:
        LocalProtocolError: a bad queue model name; as `run_backtest`.
    """
    from ..backtests.backtest import run_backtest
    from ..gateway import queue_model as make_queue_model

    try:
        model = make_queue_model(queue_model)
    except ValueError as exc:
        raise LocalProtocolError(f"queue model: {exc}") from None
    filled: dict[str, Decimal] = {}
    refused: list[str] = []
    product_name = product or _product(recordings)
    seen: dict[tuple[float, str], Decimal] = {}
    strategy = _scripted(orders.sends, dialect(product_name).decode, refused, filled, samples, seen)
    run_backtest(
        strategy,
        recordings,
        product=product,
        latency=latency,
        seed=seed,
        queue_model=model,
        name="fit",
    )
    if sampled is not None:
        sampled.update({(t, orders.order_of(cl)): ahead for (t, cl), ahead in seen.items()})
    return orders.by_order(filled)


def _product(recordings: Any) -> str:
    from ..data.recording import check_recording

    first = recordings if isinstance(recordings, (str, os.PathLike)) else recordings[0]
    info = check_recording(first)
    return info.product


@attrs.frozen
class QueueFit:
    """The queue model whose fills come closest to a log's (see the module docstring).

    Attributes:
        model: the best model's name (``--queue-model`` takes it).
        mismatch: its mismatch: contracts filled in the log and not in the simulation or the
            other way round, over the contracts ordered (0: every fill reproduced).
        orders: the orders (35=D, with the versions 35=G made of them) compared.
        ordered: the contracts they asked for.
        fills: the contracts the log reports filled.
        matched: the orders whose filled contracts the model reproduced exactly (against
            queue positions: the positions reproduced exactly).
        scores: every candidate's mismatch, in the order tried.
        truth: what the models were judged against: ``"fills"`` (the log's), or ``"queue"``:
            the queue positions read live (`read_queue_log`); the mismatch is then the
            contracts ahead the model put where Kalshi said otherwise (an order not resting in
            the simulation counts all of Kalshi's), over the contracts ahead Kalshi said.
        positions: the queue positions read live that were compared (0 against fills).
    """

    model: str
    mismatch: float
    orders: int
    ordered: Decimal
    fills: Decimal
    matched: int
    scores: tuple[tuple[str, float], ...]
    truth: str = "fills"
    positions: int = 0

    def as_json(self) -> dict[str, Any]:
        """The fit as plain values."""
        return {
            "schema": _SCHEMA,
            "model": self.model,
            "mismatch": self.mismatch,
            "orders": self.orders,
            "ordered": str(self.ordered),
            "fills": str(self.fills),
            "matched": self.matched,
            "scores": [[name, score] for name, score in self.scores],
            "truth": self.truth,
            "positions": self.positions,
        }

    def table(self) -> str:
        """The candidates' mismatches, best first, and what the fit had to go on."""
        lines = [
            f"{self.orders} orders, {self.ordered} contracts ordered, {self.fills} filled in the log"
        ]
        if self.truth == "queue":
            lines.append(f"judged against {self.positions} queue positions read live")
        ranked = sorted(self.scores, key=lambda item: item[1])  # stable: the order tried
        for name, score in ranked:
            mark = "  <- best" if name == self.model else ""
            lines.append(f"  {name:<16} mismatch {score:.2%}{mark}")
        if self.truth == "queue":
            lines.append(f"{self.matched} of {self.positions} queue positions reproduced exactly")
        else:
            lines.append(f"{self.matched} of {self.orders} orders' fills reproduced exactly")
        return "\n".join(lines)


def _mismatch(orders: LoggedOrders, simulated: Mapping[str, Decimal]) -> tuple[Decimal, int]:
    gap = Decimal(0)
    matched = 0
    for cl in orders.ordered:
        live = orders.fills.get(cl, Decimal(0))
        sim = simulated.get(cl, Decimal(0))
        gap += abs(live - sim)
        matched += live == sim
    return gap, matched


def _live_queue(orders: LoggedOrders, reads: QueueReads) -> dict[tuple[float, str], Decimal]:
    """The queue positions read live, under (when, the order: its 35=D's ClOrdID); those of
    orders the logs do not name left out.

    Raises:
        LocalProtocolError: none names an order of the logs.
    """
    live = {
        (at, orders.order_ids[p.order_id]): p.ahead
        for at, positions in reads
        for p in positions
        if p.order_id in orders.order_ids
    }
    if not live:
        raise LocalProtocolError(
            "no queue position read names an order of the order logs (Kalshi's OrderIDs, "
            "tag 37 of their reports)"
        )
    return live


def _queue_gap(
    live: Mapping[tuple[float, str], Decimal], simulated: Mapping[tuple[float, str], Decimal]
) -> tuple[Decimal, int]:
    gap, matched = Decimal(0), 0
    for key, ahead in live.items():
        sim = simulated.get(key)
        gap += ahead if sim is None else abs(sim - ahead)
        matched += sim == ahead
    return gap, matched


def fit_queue(
    recordings: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    order_logs: Sequence[str | os.PathLike[str]],
    *,
    candidates: Sequence[str] = QUEUE_CANDIDATES,
    latency: Any = None,
    product: str | None = None,
    seed: int = 0,
    queue_reads: QueueReads | None = None,
) -> QueueFit:
    """Rank ``candidates`` by how closely their fills reproduce the order logs' (see the
    module docstring), or, given ``queue_reads`` (`read_queue_log`), by how closely the queue
    ahead of the orders in the simulation reproduces the positions Kalshi gave at those times.

    Raises:
        LocalProtocolError: no candidate, no order in the logs, no queue position of an order
            of the logs, a bad model name; as `read_order_log` and `run_backtest`.
    """
    if not candidates:
        raise LocalProtocolError("fitting a queue model needs at least one candidate")
    orders = read_order_log(order_logs)
    if not orders.ordered:
        names = ", ".join(os.fspath(p) for p in order_logs)
        raise LocalProtocolError(f"{names}: no order sent (35=D or 35=G) to fit to")
    ordered = sum(orders.ordered.values(), Decimal(0))
    live = _live_queue(orders, queue_reads) if queue_reads is not None else {}
    total = max(sum(live.values(), Decimal(0)), Decimal(1)) if live else ordered
    samples = sorted({at for at, _ in live})
    scores: list[tuple[str, float]] = []
    best: tuple[Decimal, int, str] | None = None
    for name in candidates:
        sampled: dict[tuple[float, str], Decimal] = {}
        simulated = replay_orders(
            recordings,
            orders,
            queue_model=name,
            latency=latency,
            product=product,
            seed=seed,
            samples=samples,
            sampled=sampled,
        )
        gap, matched = _queue_gap(live, sampled) if live else _mismatch(orders, simulated)
        scores.append((name, float(f"{float(gap / total):.10g}")))
        if best is None or gap < best[0]:
            best = (gap, matched, name)
    assert best is not None
    return QueueFit(
        model=best[2],
        mismatch=float(f"{float(best[0] / total):.10g}"),
        orders=len(orders.ordered),
        ordered=ordered,
        fills=sum(orders.fills.values(), Decimal(0)),
        matched=best[1],
        scores=tuple(scores),
        truth="queue" if live else "fills",
        positions=len(live),
    )


def _fit_path(name: str, directory: str | os.PathLike[str]) -> Path:
    if not name or "/" in name or os.sep in name or name.startswith("."):
        raise LocalProtocolError(f"a fitted model's name is a plain file name, got {name!r}")
    return Path(directory) / f"{name}{QUEUE_FIT_SUFFIX}"


def save_queue_fit(name: str, fit: QueueFit, directory: str | os.PathLike[str] = ".") -> Path:
    """Save ``fit`` as ``<directory>/<name>.queue.json``.

    Raises:
        LocalProtocolError: a name that is not a plain file name, or the file cannot be
            written.
    """
    path = _fit_path(name, directory)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(fit.as_json(), indent=2, sort_keys=True) + "\n", "utf-8")
    except OSError as exc:
        raise LocalProtocolError(f"{path}: cannot write it: {exc.strerror or exc}") from None
    return path


def load_queue_fit(name: str, directory: str | os.PathLike[str] = ".") -> QueueFit:
    """The queue fit saved under ``name`` (or in the file ``name`` ending in ``.json``).

    Raises:
        LocalProtocolError: no such file, or one that is not a queue fit (naming it).
    """
    path = Path(name) if name.endswith(".json") else _fit_path(name, directory)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LocalProtocolError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise LocalProtocolError(f"{path}: not JSON: {exc}") from None
    try:
        if document["schema"] != _SCHEMA:
            raise KeyError("schema")
        return QueueFit(
            model=str(document["model"]),
            mismatch=float(document["mismatch"]),
            orders=int(document["orders"]),
            ordered=Decimal(document["ordered"]),
            fills=Decimal(document["fills"]),
            matched=int(document["matched"]),
            scores=tuple((str(n), float(s)) for n, s in document["scores"]),
            truth=str(document.get("truth", "fills")),
            positions=int(document.get("positions", 0)),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise LocalProtocolError(f"{path}: not a queue fit ({exc!r})") from None

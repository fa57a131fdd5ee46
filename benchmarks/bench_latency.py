"""End-to-end latency: order -> acknowledgement round trip on loopback TLS, per adapter.

    .venv/bin/python benchmarks/bench_latency.py [--quick] [--orders N] [--procs N] [--block N]
        [--write-docs]

The mock gateway (``kalshi-fix mock-gateway``) runs in its own process, serving TLS on free
loopback ports with a throwaway certificate and the well-known mock API key. Each client kind
(our blocking, asyncio and trio adapters on KalshiNR, the two floors, kalshi-sdk's client) runs
in ``--procs`` processes of its own (``--child``: a fresh interpreter each), one at a time, the
kinds rotating from one pass to the next. A process sends ``--orders`` orders in blocks of
``--block`` (each block a fresh Logon, not timed): for each, a NewOrderSingle (a GTC limit buy
that rests: it crosses nothing), then it waits for its ExecutionReport (ExecType NEW, matched
on ClOrdID); before the timed ones our clients read every event queued so far (the Logon's),
as an application reads its events. The round trip is the time from just before ``send`` to the moment the matching
event is returned to the application: our encode, TLS write, the gateway's decode / matching /
encode, TLS read, framing, decode, header checks and the event hand-off.

Why processes: a client process runs fast or about 25 % slower for its whole life, at random,
so a single process per kind can show 1.24x or 0.78x for the same code. Each process is
labelled fast or slow (`speed_modes`: a kind's processes split at the widest step of their
client CPU per order above `MODE_GAP`), and the targets compare a client with kalshi-sdk's
processes of the same mode (`mode_ratios`); the CPU target is also read pass by pass, each
process over kalshi-sdk's process of the same pass (`paired_line`, `_procs.paired_cpu`: no
speed mode needed, a drift of the machine within a run cancelled). Reported per process: median, p99 and maximum of
the round trips, the garbage collections that began inside a timed round trip, the client
process's own (`_procs.GcLog`, a ``gc.callbacks`` entry) and the gateway process's (started
with a callback logging each collection to a file, `_gateway.GC_LOGGING_GATEWAY`, on the same
monotonic clock): "full" is generation 2, which walks every object its process tracks,
"young" generations 0 and 1; a machine's load cannot make one up, so they tell a pause of the
client's own, or the gateway's, from the machine's), the client's CPU time
per order (``time.process_time`` of the process over its timed loops, background threads
included) and the gateway process's CPU time per order over the same loops (Linux: the sum of
its threads' ``/proc/<pid>/task/*/schedstat``; "—" elsewhere). The maximum is the statistic a
loaded machine distorts most: a process preempted once for a few milliseconds shows it.

The two floor rows are not clients (they are not judged against the target). Both log on once
with a Logon built by our encoder, then send pre-encoded NewOrderSingle frames (MsgSeqNum,
SendingTime and ClOrdID spliced in as bytes, BodyLength and CheckSum recomputed) and scan the
bytes read for the ExecutionReport carrying the ClOrdID, answering TestRequests (`RawFrames`):
no FIX library. `RawFix` moves the bytes with a blocking TLS socket: what is left of its round
trip is the gateway, TLS and the kernel, the least any client's round trip can be on this
gateway. `AioRawFix` moves them through an asyncio `Protocol` on asyncio's own TLS transport
(``loop.create_connection(ssl=...)``, as our asyncio adapter and kalshi-sdk's client do),
resolving a future in its read callback: the least an asyncio client's round trip can be.

Market data (in the parent process): messages per second through a logged-on client Session
(4 KiB chunks, framing, checks, decode) with a ``Books`` applying every message, in process (no
socket): the client-side cost of a market-data stream.

kalshi-sdk (PyPI ``kalshi-sdk``; needs Python >= 3.12, ``bash scripts/bench-peers`` runs this
benchmark with it installed): when importable, its own asyncio ``FixClient`` takes part in the
same rotation of processes against the same gateway process (KalshiNR, TLS with the gateway's
certificate as its CA, a fresh RSA key registered with the gateway with ``--key``: it signs its
Logon with RSA-PSS only; our clients keep the mock Ed25519 key; the Logon is not timed). Its
round trip ends when the ExecutionReport, decoded in its ``on_message`` callback with
``decode_app_message``, resumes the awaiting code (`_kalshi_sdk.latency_block`). Otherwise its
row says why it is empty ("not installed ...").

The gateway process and the order (`_gateway.py`), the floors (`_floors.py`) and the processes'
speed modes (`_procs.py`) live in modules of their own, shared with `bench_tick.py` and
`bench_instructions.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import _kalshi_sdk
from _docs import arguments, write_block
from _floors import AIO_FLOOR_NAME, FLOOR_NAME, aio_floor_block, floor_block
from _gateway import SYMBOL, Block, Gateway, GatewayView, acked, order
from _procs import (
    MODE_GAP,
    Adapter,
    GcLog,
    Proc,
    mode_ratios,
    paired_cpu,
    pct,
    speed_modes,
    spread,
    us,
)

from kalshi_fix_sansio import ApplicationMessage, Header
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.session.config import KALSHI_COMP_ID
from kalshi_fix_sansio.simulator.testing import SessionPair
from kalshi_fix_sansio.trading.book import Books

try:
    import trio
except ImportError:  # pragma: no cover - trio extra not installed
    trio = None

BEGIN = "<!-- latency-results -->"
END = "<!-- /latency-results -->"
NOW = 1_800_000_000.0
T0 = datetime.fromtimestamp(NOW, timezone.utc)


# -- one block of orders per adapter (the gateway: _gateway.py; the floors: _floors.py) -------


def blocking_block(gw: GatewayView, n: int) -> Block:
    from kalshi_fix_sansio.adapters.blocking import FixClient

    out = Block()
    client = FixClient.from_key(gw.key_id, **gw.client_kwargs())
    orders = [order() for _ in range(n)]
    with client.order_entry() as oe:
        oe.wait_for(acked(orders[0].cl_ord_id), 10, send=orders[0])  # warm-up, not timed
        while oe.next_event(timeout=0) is not None:  # the rest read, as an application reads
            pass
        perf, cpu = time.perf_counter, time.process_time
        c0, g0 = cpu(), gw.cpu()
        for o in orders[1:]:
            match = acked(o.cl_ord_id)
            t = perf()
            oe.send(o)
            oe.wait_for(match, 10)
            out.rtts.append(perf() - t)
            out.starts.append(t)
        out.cpu, out.gw_cpu = cpu() - c0, gw.cpu() - g0
    return out


async def _async_orders(
    oe: Any, orders: list[p.NewOrderSingle], out: Block, gw: GatewayView
) -> None:
    await oe.wait_for(acked(orders[0].cl_ord_id), 10, send=orders[0])
    while await oe.next_event(timeout=0) is not None:  # the rest read, as an application reads
        pass
    perf, cpu = time.perf_counter, time.process_time
    c0, g0 = cpu(), gw.cpu()
    for o in orders[1:]:
        match = acked(o.cl_ord_id)
        t = perf()
        oe.send(o)
        await oe.wait_for(match, 10)
        out.rtts.append(perf() - t)
        out.starts.append(t)
    out.cpu, out.gw_cpu = cpu() - c0, gw.cpu() - g0


def _async_block(gw: GatewayView, n: int, client_class: Any, run: Callable[[Any], Any]) -> Block:
    """One block through an async adapter's ``FixClient``, its loop started by ``run(main)``."""
    out = Block()
    orders = [order() for _ in range(n)]

    async def main() -> None:
        client = client_class.from_key(gw.key_id, **gw.client_kwargs())
        async with client.order_entry() as oe:
            await _async_orders(oe, orders, out, gw)

    run(main)
    return out


def asyncio_block(gw: GatewayView, n: int) -> Block:
    from kalshi_fix_sansio.adapters.asyncio import FixClient

    return _async_block(gw, n, FixClient, lambda main: asyncio.run(main()))


def trio_block(gw: GatewayView, n: int) -> Block:
    from kalshi_fix_sansio.adapters.trio import FixClient

    return _async_block(gw, n, FixClient, trio.run)


def kalshi_sdk_block(gw: GatewayView, n: int, key_path: Path) -> Block:
    """The same round trips through kalshi-sdk's own asyncio client (see `_kalshi_sdk`)."""
    out = Block()
    out.rtts, out.starts, out.cpu, out.gw_cpu = _kalshi_sdk.latency_block(
        port=gw.ports["KalshiNR"],
        gateway_cpu=gw.cpu,
        cafile=gw.cert,
        key_path=key_path,
        symbol=SYMBOL,
        orders=n,
        cl_ord_ids=lambda: str(uuid.uuid4()),
    )
    return out


# -- one process per (client kind, run): the speed mode of each process ----------------------

#: The clients, in the order of the table: our adapters, the two floors, then the peer.
KINDS = ("blocking", "asyncio", "trio", "floor", "aio-floor", "kalshi-sdk")
KIND_NAMES = {
    "blocking": "blocking (threads)",
    "asyncio": "asyncio",
    "trio": "trio",
    "floor": FLOOR_NAME,
    "aio-floor": AIO_FLOOR_NAME,
    "kalshi-sdk": "kalshi-sdk (its own asyncio client)",
}
HERE = Path(__file__).resolve()


def block_runner(kind: str, gw: GatewayView) -> Callable[[GatewayView, int], Block]:
    """The function that runs one block of ``kind``'s orders in this process."""
    if kind == "kalshi-sdk":
        return functools.partial(kalshi_sdk_block, key_path=Path(gw.sdk_key))
    return {
        "blocking": blocking_block,
        "asyncio": asyncio_block,
        "trio": trio_block,
        "floor": floor_block,
        "aio-floor": aio_floor_block,
    }[kind]


def child_main(kind: str, gw: GatewayView, orders: int, block: int) -> dict[str, Any]:
    """One process's life: ``orders`` timed orders in blocks (a fresh Logon per block,
    untimed); what it measured, for the parent, with the garbage collections that fell inside
    its round trips."""
    run = block_runner(kind, gw)
    rtts: list[float] = []
    starts: list[float] = []
    cpu = gw_cpu = 0.0
    left = orders
    with GcLog() as collections:
        while left > 0:
            gc.collect()
            b = run(gw, min(block, left) + 1)  # +1: the untimed warm-up order
            rtts += b.rtts
            starts += b.starts
            cpu += b.cpu
            gw_cpu += b.gw_cpu
            left -= len(b.rtts)
    pauses = collections.inside(starts, rtts)
    return {"rtts": rtts, "starts": starts, "cpu": cpu, "gw_cpu": gw_cpu, "pauses": pauses}


def spawn(kind: str, gw: GatewayView, orders: int, block: int, index: int) -> Proc:
    """Run one child process of ``kind`` against ``gw``; its measurements."""
    cmd = [
        sys.executable,
        str(HERE),
        "--child",
        kind,
        "--gateway",
        gw.to_arg(),
        "--orders",
        str(orders),
        "--block",
        str(block),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} process failed:\n{done.stderr[-3000:]}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    pauses = [(int(i), int(gen), float(s)) for i, gen, s in got["pauses"]]
    proc = Proc(kind, index, got["rtts"], got["cpu"], got["gw_cpu"], pauses)
    if gw.gc_log:  # the gateway's collections inside this process's round trips
        gateway = GcLog()
        gateway.events = gw.collections()
        proc.gw_pauses = gateway.inside(got["starts"], got["rtts"])
    return proc


def adapters_here(sdk_missing: str | None) -> list[Adapter]:
    """Every client kind, with why it cannot run here when it cannot."""
    out = []
    for kind in KINDS:
        name, why = KIND_NAMES[kind], ""
        if kind == "trio" and trio is None:
            why = "trio not installed"
        if kind == "kalshi-sdk":
            if sdk_missing is None:
                name = f"{_kalshi_sdk.label()} (its own asyncio client)"
            else:
                why = sdk_missing
        out.append(Adapter(name, None, why, floor=kind in ("floor", "aio-floor"), kind=kind))
    return out


def measure(
    orders: int,
    block: int,
    procs: int = 2,
    log: Callable[[str], None] = lambda s: None,
    kinds: tuple[str, ...] = KINDS,
) -> list[Adapter]:
    """``procs`` processes per client kind, ``orders`` orders each, against one gateway.

    The processes run one at a time, the kinds rotating from one pass to the next (blocking,
    asyncio, ...; then asyncio, trio, ..., blocking), so a machine whose speed drifts treats
    every kind alike.
    """
    sdk_missing = _kalshi_sdk.status()
    adapters = [a for a in adapters_here(sdk_missing) if a.kind in kinds]
    with tempfile.TemporaryDirectory(prefix="bench-latency-keys-") as keydir:
        if sdk_missing is not None:
            gw = Gateway(gc_log=Path(keydir) / "gateway-gc.log")
        else:
            keys, own_key, sdk_key = _kalshi_sdk.gateway_keys(Path(keydir))
            gw = Gateway(keys, own_key, sdk_key, gc_log=Path(keydir) / "gateway-gc.log")
        try:
            live = [a for a in adapters if not a.why]
            for i in range(procs):
                for a in live[i % len(live) :] + live[: i % len(live)]:
                    proc = spawn(a.kind, gw, orders, block, i + 1)
                    log(
                        f"  {a.name} #{i + 1}: p50 {us(proc.p50())}, max {us(proc.worst())}, "
                        f"CPU {us(proc.cpu_per_order())} per order"
                    )
                    a.procs.append(proc)
                    a.rtts += proc.rtts
        finally:
            gw.close()
    speed_modes(adapters)
    return adapters


# -- market data through a client session with a book ----------------------------------------


def md_frames(count: int, api_key: str, start_seq: int) -> list[bytes]:
    """``count`` incremental refreshes (2 entries each: a level change on each side)."""
    frames = []
    for i in range(count):
        msg = p.MarketDataIncrementalRefresh(
            md_entries=[
                p.MarketDataIncrementalRefreshMDEntry(
                    md_update_action=p.MDUpdateAction.CHANGE,
                    md_entry_type=p.MDEntryType.BID if k == 0 else p.MDEntryType.OFFER,
                    symbol=f"MKT-{i % 50}",
                    md_entry_px=Decimal(10 + (i % 30) + 40 * k) / 100,
                    md_entry_size=Decimal(1 + i % 97),
                    md_entry_date=T0.date(),
                    md_entry_time=T0.timetz(),
                )
                for k in range(2)
            ]
        )
        hdr = Header(
            sender_comp_id=KALSHI_COMP_ID,
            target_comp_id=api_key,
            msg_seq_num=start_seq + i,
            sending_time=T0,
        )
        frames.append(p.encode(msg, hdr))
    return frames


def market_data_rate(count: int, repeat: int) -> tuple[float, float]:
    """(best, median) messages per second: session path + Books.apply, in process."""
    rates = []
    for _ in range(repeat):
        pair = SessionPair.kalshi(session_type="KalshiMD", now=NOW)
        pair.start()
        client = pair.client.session
        frames = md_frames(count, client.config.sender_comp_id, client.next_target_seq)
        stream = b"".join(frames)
        chunks = [stream[i : i + 4096] for i in range(0, len(stream), 4096)]
        # the frames are CHANGEs only (the pre-2026-06-16 feed), each symbol opened by a snapshot
        books = Books(legacy_actions=True)
        for i in range(50):
            books.apply(p.MarketDataSnapshotFullRefresh(symbol=f"MKT-{i}", md_entries=[]))
        got = 0
        t = time.perf_counter()
        for chunk in chunks:
            client.receive_data(chunk, NOW)
            for ev in client.events():
                if isinstance(ev, ApplicationMessage):
                    books.apply(ev.message)
                    got += 1
        elapsed = time.perf_counter() - t
        assert got == count, f"{got} of {count} market-data messages arrived"
        rates.append(count / elapsed)
    return max(rates), statistics.median(rates)


# -- report --------------------------------------------------------------------------------


def report(
    adapters: list[Adapter], md: tuple[float, float], md_count: int, per_process: bool = True
) -> list[str]:
    """The printed report; without ``per_process`` (what the docs keep) the table of every
    process is left out and the same-mode medians carry the figures."""
    lines = [
        f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} cores; gateway in its own process (`kalshi-fix mock-gateway`), "
        f"loopback TLS, KalshiNR; several processes per kind (each its own interpreter, one at a "
        f"time, the kinds rotating). Speed mode: a kind's processes sorted by client CPU per "
        f"order, split at the widest step between neighbours when it is above {MODE_GAP:.2f}x "
        f"(those above it slow). Orders timed per process: "
        f"{', '.join(sorted({f'{pr.orders:,}' for a in adapters for pr in a.procs})) or '—'}",
        "",
    ]
    if per_process:
        lines += ["", *process_table(adapters)]
    lines += ["", *same_mode_table(adapters)]
    lines += [
        "",
        f"* market data through a client Session + Books, in process (no socket; "
        f"{md_count:,} incremental refreshes of 2 entries in 4 KiB chunks): "
        f"best {md[0]:,.0f} msg/s, median {md[1]:,.0f} msg/s",
        *target_lines(adapters),
        *paired_line(adapters),
    ]
    return lines


def process_table(adapters: list[Adapter]) -> list[str]:
    """One row per process: its round trips, collections and CPU per order."""
    lines = [
        "| client | process, speed mode | round trip p50 | p99 | max "
        "| collections in timed trips: client; gateway "
        "| client CPU per order (÷ lowest) | gateway CPU per order |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for a in adapters:
        if not a.procs:
            lines.append(f"| {a.name} | — | {a.why or 'not run'} | — | — | — | — | — |")
            continue
        low = min(pr.cpu_per_order() for pr in a.procs)
        for pr in a.procs:
            gw_cpu = us(pr.gw_cpu / pr.orders) if pr.gw_cpu else "—"
            lines.append(
                f"| {a.name} | #{pr.index} {pr.mode} | {us(pr.p50())} "
                f"| {us(pct(pr.rtts, 0.99))} | {us(pr.worst())} "
                f"| {pr.gc_text()}; {pr.gc_text(gateway=True)} "
                f"| {us(pr.cpu_per_order())} ({pr.cpu_per_order() / low:.2f}x) | {gw_cpu} |"
            )
    return lines


#: The project's targets for this benchmark: order -> ack p50, its worst round trip (the
#: median over a kind's processes of each one's longest) and client CPU per order, each as a
#: ratio of kalshi-sdk's, processes compared in the same speed mode.
TARGET_P50 = 0.85
TARGET_MAX = 2.0
TARGET_CPU = 0.6


def _sdk(adapters: list[Adapter]) -> Adapter | None:
    return next((a for a in adapters if a.kind == "kalshi-sdk"), None)


def _worst(procs: list[Proc]) -> float:
    """The median over ``procs`` of each one's longest round trip."""
    return statistics.median(pr.worst() for pr in procs)


def ratios_in_mode(a: Adapter, sdk: Adapter, mode: str) -> tuple[float, float, float] | None:
    """(p50, max, CPU per order) of ``a``'s processes in ``mode`` as ratios of kalshi-sdk's in
    the same mode (medians over each side's processes); None when either has none in it."""
    ratios = mode_ratios(a, sdk, mode)
    if ratios is None:
        return None
    return ratios[0], _worst(a.in_mode(mode)) / _worst(sdk.in_mode(mode)), ratios[1]


def same_mode_table(adapters: list[Adapter]) -> list[str]:
    """Per client and speed mode: the median over its processes, and its ratio to kalshi-sdk's
    processes of the same mode (the only comparison this page draws conclusions from)."""
    sdk = _sdk(adapters)
    lines = [
        "| client | speed mode (processes) | p50 (median) | p50 ÷ kalshi-sdk "
        "| max (median) | max ÷ kalshi-sdk "
        "| CPU per order | CPU ÷ kalshi-sdk |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for a in adapters:
        for mode in ("fast", "slow"):
            procs = a.in_mode(mode)
            if not procs:
                continue
            ratios = ratios_in_mode(a, sdk, mode) if sdk is not None and a is not sdk else None
            if a is sdk:
                r50 = rmax = rcpu = "1.00x"
            elif ratios is None:
                r50 = rmax = rcpu = "none (no peer in this mode)"
            else:
                r50, rmax, rcpu = (f"{r:.2f}x" for r in ratios)
            lines.append(
                f"| {a.name} | {mode} ({len(procs)}) "
                f"| {us(statistics.median(pr.p50() for pr in procs))} | {r50} "
                f"| {us(_worst(procs))} | {rmax} "
                f"| {us(statistics.median(pr.cpu_per_order() for pr in procs))} | {rcpu} |"
            )
    return lines


def target_lines(adapters: list[Adapter]) -> list[str]:
    """The latency targets, judged against kalshi-sdk's processes of the same speed mode.

    The floors are not clients and are not judged; their ratios follow in parentheses: no
    client moving its bytes the same way can do better than its floor.
    """
    heads = (
        f"* project target: every adapter's order -> ack p50 <= {TARGET_P50}x kalshi-sdk's, "
        "same speed mode",
        f"* project target: every adapter's worst order -> ack (median of its processes' max) "
        f"<= {TARGET_MAX}x kalshi-sdk's, same speed mode",
        f"* project target: every adapter's client CPU per order <= {TARGET_CPU}x kalshi-sdk's, "
        "same speed mode",
    )
    sdk = _sdk(adapters)
    if sdk is None or not sdk.procs:
        why = sdk.why if sdk is not None else "not run"
        return [f"{head} — not measurable here: kalshi-sdk {why}" for head in heads]
    out = []
    bounds = (TARGET_P50, TARGET_MAX, TARGET_CPU)
    for index, (head, bound) in enumerate(zip(heads, bounds, strict=True)):
        parts, floors, held, compared = [], [], True, False
        for a in adapters:
            if a is sdk or not a.procs:
                continue
            by_mode = []
            for mode in ("fast", "slow"):
                ratios = ratios_in_mode(a, sdk, mode)
                if ratios is None:
                    continue
                by_mode.append(f"{mode} {ratios[index]:.2f}x")
                if not a.floor:
                    compared = True
                    held = held and ratios[index] <= bound
            text = f"{a.name.split(':')[0]} {', '.join(by_mode) or 'no common mode'}"
            (floors if a.floor else parts).append(text)
        verdict = "held" if held and compared else "NOT held" if compared else "not compared"
        line = f"{head}: {'; '.join(parts)} — {verdict}"
        if floors:
            line += f" (no FIX library, not judged: {'; '.join(floors)})"
        out.append(line)
    return out


def paired_line(adapters: list[Adapter]) -> list[str]:
    """The CPU target read pass by pass (`paired_cpu`): each client process's CPU per order
    over kalshi-sdk's process of the same pass, the median over the passes with its
    interquartile range; held when every adapter's median is within the target. No line
    without kalshi-sdk's processes."""
    sdk = _sdk(adapters)
    if sdk is None or not sdk.procs:
        return []
    parts, floors, held = [], [], True
    for a in adapters:
        ratios = paired_cpu(a, sdk) if a is not sdk else []
        if not ratios:
            continue
        mid, low, high = spread(ratios)
        text = f"{a.name.split(':')[0]} {mid:.2f}x ({low:.2f}-{high:.2f})"
        (floors if a.floor else parts).append(text)
        held = held and (a.floor or mid <= TARGET_CPU)
    line = (
        f"* the same CPU target read pass by pass (each process over kalshi-sdk's process of "
        f"the same pass; median over {len(sdk.procs)} passes, interquartile range): "
        f"{'; '.join(parts)} — {'held' if held else 'NOT held'}"
    )
    if floors:
        line += f" (no FIX library, not judged: {'; '.join(floors)})"
    return [line]


def write_docs(lines: list[str]) -> None:
    """Write the table between this benchmark's markers in docs/maintainers/benchmarks.md."""
    write_block(BEGIN, END, lines)


def main(argv: list[str]) -> int:
    parser = arguments(__doc__ or "", "2 processes of 20 orders per client (smoke)")
    parser.add_argument("--orders", type=int, default=1000, help="orders per process")
    parser.add_argument("--procs", type=int, default=4, help="processes per client kind")
    parser.add_argument("--block", type=int, default=500, help="orders per Logon")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--gateway", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        gw = GatewayView.from_arg(args.gateway)
        got = child_main(args.child, gw, args.orders, args.block)
        print(json.dumps(got))
        return 0
    orders, procs = (20, 2) if args.quick else (args.orders, max(2, args.procs))
    block = min(args.block, orders)
    md_count, md_repeat = (500, 2) if args.quick else (5000, 5)
    adapters = measure(orders, block, procs, log=lambda s: print(s, file=sys.stderr, flush=True))
    md = market_data_rate(md_count, md_repeat)
    print("\n".join(report(adapters, md, md_count)))
    if args.write_docs:  # the docs keep the same-mode medians, not every process's row
        write_docs(report(adapters, md, md_count, per_process=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Tick to trade: a 35=X arrives, the handler reads the level and sends a NewOrderSingle.

    .venv-peers/bin/python benchmarks/bench_tick.py [--quick] [--ticks N] [--procs N]
        [--no-callgrind] [--write-docs] [--keep DIR [--python-frames]]

The mock gateway (``kalshi-fix mock-gateway``, `_gateway.Gateway`) runs in its own process
with two markets. A client process (one per client kind and run) logs on a KalshiMD session
subscribed to the first market (``BENCH-TICK``) and a KalshiNR session (two API keys: the
gateway, as Kalshi, takes one connection per key). Its handler, on each 35=X, reads the first
entry's price and size and sends a NewOrderSingle for the second market (``BENCH-TICK-OUT``, a
GTC buy at that price that rests: nobody in the client's process subscribes to that market, so
the order makes no market data for it). The ticks come from this process (the "ticker",
our blocking adapter, not measured): it places or cancels a resting order in the first market,
each a change of its book the gateway sends to the subscriber as one 35=X, then waits until
its own market-data session (subscribed to the second market) shows the client's order
arrived, and makes the next tick. So one tick is in flight at a time.

Clients: each of our adapters (blocking ``md.events()`` / asyncio and trio ``await
md.next_event()``, the event's ``message.md_entries[0]`` read, ``oe.send(order)``; the
KalshiNR session, whose events the handler never reads, opened with
``QueuePolicy(queue_events=False)``: its acknowledgements are read, checked and followed by
the order tracker, not queued for a reader that never comes) and
kalshi-sdk's asyncio ``FixClient`` (its KalshiMD session's ``on_message`` callback decodes the
RawMessage with ``decode_app_message``, reads ``entries[0]``, Price in cents from the entry's
dollars, and awaits its KalshiNR session's ``send``).

Four measures per client kind:

* wall time, tick to trade, plaintext window: from the moment the plaintext bytes holding the 35=X come out of
  TLS (``ssl.SSLSocket.recv``, used by the blocking adapter, or ``ssl.SSLObject.read``, used
  where TLS runs in memory: our asyncio and trio adapters, and kalshi-sdk through asyncio's
  TLS transport) to the moment the NewOrderSingle's plaintext goes into TLS to be written
  (``SSLSocket.send`` / ``sendall`` or ``SSLObject.write``). These methods are wrapped in the
  client's process (`install_hooks`): ``time.perf_counter`` when the bytes hold ``35=X`` /
  ``35=D``. Measured in ``--procs`` processes per kind (at least two), each labelled fast or
  slow as in bench_latency.py (a kind's processes split at the widest step of their CPU per
  tick above 1.12x), compared in the same speed mode;
* wall time, tick to trade, socket window, in the same processes: from the return of the read
  system call that brought the 35=X's bytes to the call of the write system call that takes
  the order's. A small C library preloaded into the client (``LD_PRELOAD``,
  `_traced.socket_library`, built with the machine's C compiler) wraps libc's read and write
  calls (``read``, ``recv``, ``write``, ``send`` and their kin): on a TCP socket it keeps, per
  thread, when the last read that returned bytes returned, and, once armed, when the next
  write was called (CLOCK_MONOTONIC, the clock of ``time.perf_counter``). The wrappers above
  ask it for the reading thread's last read when a 35=X's plaintext comes out of TLS (before
  their own timestamp) and arm it after the order's plaintext went in (after theirs): the
  plaintext window is inside the socket window, which adds TLS on both sides, the bytes'
  way through the client's I/O code, and two ctypes calls (under 1 µs). The same library and
  the same wrappers for every client, nothing of the clients' internals;
* instructions, tick to trade (the project target's measure): the same two moments switch
  callgrind's counting on and off (``--collect-atstart=no`` and a one-line C function that
  issues callgrind's client request, built with the machine's C compiler:
  `_traced.window_library`), so the run counts exactly the instructions from the tick's
  plaintext read to the order's plaintext written. Callgrind keeps the switch per thread: what
  is counted is the thread that read the tick (in every client here, the one that also
  writes the order: under callgrind the blocking market-data session's ``idle_handoff`` is
  scaled by ``VALGRIND_SLOWDOWN``, so its waiting thread keeps reading as at full speed; a run
  where another thread still wrote one is made again, up to ``SPLIT_TRIES`` times, then fails
  loudly). The count includes the
  wrappers' own work, about 8k instructions per tick, the same code in every client. Two tick
  counts, the difference divided by the difference of counts (the first ticks' one-off work,
  each message layout's first sight, cancels out);
* instructions per tick, all the process does: the client process under callgrind
  (``PYTHONHASHSEED=0``, no hooks, every thread), for two tick counts; the difference divided
  by the difference of counts (start-up, imports, TLS handshakes, Logons and the subscription
  cancel out). It holds all the process does for a tick: the 35=X read, decoded and handed to
  the handler, the order built, encoded and written, and its acknowledgement (35=8) read and
  decoded when it comes back.

kalshi-sdk's tick-window count moves from run to run (588k-775k per tick within one full run;
604-607k in pairs run alone against a fresh gateway), while its whole count and ours repeat
within about 1% (trio's a little more): kalshi-sdk's two instruction measures are made
``--peer-runs`` times (3), the table gives their spread, and every ratio is to its lowest.

``--keep DIR`` keeps each callgrind output as ``DIR/<kind>.<ticks>.cg`` (for
``callgrind_annotate``); with ``--python-frames`` the clients run with ``PYTHONPERFSUPPORT=1``
(Python 3.12): every Python function then has a trampoline of its own, which callgrind counts
as a function named by its address, and ``/tmp/perf-<pid>.map`` (the pid is in the output's
header) names it: inclusive cost per Python function. The trampolines add 12-14 % to the
counts (docs/maintainers/benchmarks.md, "Where a tick's instructions go").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from _tick_client import (
    HEARTBEAT,
    OUT_SYMBOL,
    SYMBOL,
    VALGRIND_SLOWDOWN,
    WAIT,
    Target,
    child_main,
)
from _traced import counted, per_unit, socket_library, tools_missing, traced, window_library

HERE = Path(__file__).resolve()
BEGIN = "<!-- tick-results -->"
END = "<!-- /tick-results -->"
KINDS = ("blocking", "asyncio", "trio", "blocking-lazy", "kalshi-sdk")
NAMES = {
    "blocking": "blocking (threads)",
    "asyncio": "asyncio",
    "trio": "trio",
    "blocking-lazy": "blocking (threads), validate_messages=False",
    "kalshi-sdk": "kalshi-sdk (its own asyncio client)",
}
WARMUP = 3  # ticks before the timed ones (wall time)
# A window's count follows one thread: a run where an order was written by another thread than
# its tick's reader (timing under valgrind: see `VALGRIND_SLOWDOWN`) is made again, this often
SPLIT_TRIES = 3
TARGET_INSTRUCTIONS = 0.5  # project target: instructions per tick <= 0.5x kalshi-sdk's


# -- the parent: gateway, keys, ticker ----------------------------------------------------------


def write_key(directory: Path, name: str, rsa_key: bool) -> tuple[Path, Path]:
    """A fresh private key (RSA for kalshi-sdk, which signs with RSA-PSS only; Ed25519 for ours)
    and its public key, as PEM files: (private, public)."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ed25519.Ed25519PrivateKey.generate()
    )
    private, public = directory / f"{name}.pem", directory / f"{name}.pub.pem"
    private.touch(mode=0o600)
    private.write_bytes(
        key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


class Rig:
    """The gateway with both markets, every key, and the ticker's two sessions."""

    def __init__(self, directory: Path) -> None:
        from _gateway import Gateway

        names = {"tick-oe": False, "tick-md": False, "ours-oe": False, "ours-md": False}
        names |= {"sdk-oe": True, "sdk-md": True}
        self.keys = {name: write_key(directory, name, rsa) for name, rsa in names.items()}
        public = {name: pub for name, (_, pub) in self.keys.items()}
        self.gw = Gateway(public, ("ours-oe", self.keys["ours-oe"][0]))
        assert self.gw.proc.stdin is not None
        self.gw.proc.stdin.write(
            f"seed {SYMBOL} 0.20:10 0.80:10\nseed {OUT_SYMBOL} 0.01:1 0.99:1\n"
        )
        self.gw.proc.stdin.flush()
        self.stack = contextlib.ExitStack()
        self.runs = 0

    def target(self, kind: str) -> Target:
        who = "sdk" if kind == "kalshi-sdk" else "ours"
        md, oe = self.keys[f"{who}-md"][0], self.keys[f"{who}-oe"][0]
        ports = self.gw.ports
        self.runs += 1
        return Target(
            ports["KalshiMD"],
            ports["KalshiNR"],
            self.gw.cert,
            (f"{who}-md", str(md)),
            (f"{who}-oe", str(oe)),
            self.runs * 1_000_000,
        )

    def start_ticker(self) -> None:
        from kalshi_fix_sansio import ApplicationMessage
        from kalshi_fix_sansio import prediction as p
        from kalshi_fix_sansio.adapters import make_ssl_context
        from kalshi_fix_sansio.adapters.blocking import FixClient
        from kalshi_fix_sansio.client import Endpoint

        def client(name: str) -> Any:
            return FixClient.from_key(
                name,
                path=str(self.keys[name][0]),
                endpoints={
                    s: Endpoint("127.0.0.1", port, server_hostname="localhost")
                    for s, port in self.gw.ports.items()
                },
                ssl_context=make_ssl_context(pinned_cert=self.gw.cert),
                heartbeat_interval=HEARTBEAT,
            )

        self.oe = self.stack.enter_context(client("tick-oe").order_entry())
        self.md = self.stack.enter_context(client("tick-md").market_data())
        self.md.wait_for(
            lambda e: isinstance(e, ApplicationMessage) and e.message.MSG_TYPE == "W",
            WAIT,
            send=p.MarketDataRequest(
                subscription_request_type=p.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
                related_sym=[p.MarketDataRequestRelatedSym(symbol=OUT_SYMBOL)],
            ),
        )
        self.p, self.resting, self.made = p, None, 0

    def tick(self) -> None:
        """One change of the first market's book; then wait for the client's order."""
        p = self.p
        if self.resting is None:
            self.made += 1
            self.resting = self.oe.place(
                p.NewOrderSingle(
                    cl_ord_id=f"00000000-0000-4000-9000-{self.made:012d}",
                    side=p.Side.BUY,
                    order_qty=Decimal(1 + self.made % 5),
                    ord_type=p.OrdType.LIMIT,
                    price=Decimal("0.30") + Decimal(self.made % 7) / 100,
                    symbol=SYMBOL,
                    time_in_force=p.TimeInForce.GTC,
                ),
                timeout=WAIT,
            )
        else:
            self.made += 1
            self.oe.cancel(
                p.OrderCancelRequest(
                    cl_ord_id=f"00000000-0000-4000-9000-{self.made:012d}",
                    orig_cl_ord_id=self.resting.cl_ord_id,
                    side=p.Side.BUY,
                    symbol=SYMBOL,
                ),
                timeout=WAIT,
            )
            self.resting = None
        self.md.wait_for(self._order_seen, WAIT)

    def _order_seen(self, ev: Any) -> bool:
        msg = getattr(ev, "message", None)
        return (
            msg is not None
            and msg.MSG_TYPE == "X"
            and any(e.symbol == OUT_SYMBOL for e in msg.md_entries)
        )

    def close(self) -> None:
        try:
            self.stack.close()
        finally:
            self.gw.close()


def run_child(
    rig: Rig,
    kind: str,
    ticks: int,
    *,
    callgrind: Path | None = None,
    frames: bool = False,
    window: Path | None = None,
    sockets: Path | None = None,
    python: str | None = None,
) -> dict[str, Any]:
    """One client process driven through ``ticks`` ticks; what it printed (and, under
    callgrind, its instruction count as ``instructions``: with ``window``, the counting
    switch's library, only those from each tick's read to its order's write). ``sockets``:
    the socket timestamps library, preloaded into the client (wall time only): its socket
    windows as ``socket``. ``python``: the client's interpreter (another checkout's, for an
    A/B of the client's library; default this one)."""
    cmd = [python or sys.executable, str(HERE), "--child", kind, "--ticks", str(ticks)]
    cmd += ["--target", rig.target(kind).to_arg()]
    if window is not None:
        cmd += ["--window", str(window)]
    env = dict(os.environ)
    if sockets is not None:
        cmd += ["--sockets", str(sockets)]
        env["LD_PRELOAD"] = " ".join(filter(None, (str(sockets), env.get("LD_PRELOAD"))))
    if callgrind is not None:
        cmd += ["--slowdown", str(VALGRIND_SLOWDOWN)]
        cmd, env = traced("callgrind", cmd, callgrind, collect_at_start=window is None)
        if frames:
            env["PYTHONPERFSUPPORT"] = "1"
    else:
        cmd.append("--hooks")
    with tempfile.TemporaryFile("w+") as err:  # valgrind writes there: never a full pipe
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        assert child.stdout is not None
        try:
            line = child.stdout.readline()
            if line.strip() != "ready":
                child.wait(timeout=WAIT)
                err.seek(0)
                raise RuntimeError(f"{kind} client did not start: {line}{err.read()[-3000:]}")
            for _ in range(ticks):
                rig.tick()
            out, _ = child.communicate(timeout=WAIT * 5)
        except BaseException:
            child.kill()
            child.wait()
            raise
        if child.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{kind} client failed:\n{err.read()[-3000:]}")
    got: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if callgrind is not None:
        got["instructions"] = counted("callgrind", callgrind)
    return got


# -- measure and report -------------------------------------------------------------------------


@dataclass
class KindResult:
    kind: str
    name: str
    why: str = ""
    adapter: Any = None  # _procs.Adapter: its processes (wall time)
    instructions: dict[int, int] | None = None
    window: dict[int, int] | None = None  # the same runs, counting each tick's window only
    sockets: list[list[float]] = field(default_factory=list)  # per process: socket windows
    # further pairs of callgrind runs (kalshi-sdk's, whose counts move with the machine's load)
    more_instructions: list[dict[int, int]] = field(default_factory=list)
    more_window: list[dict[int, int]] = field(default_factory=list)

    def tick_runs(self) -> list[float]:
        """Instructions per tick, all the process does, of each pair of runs."""
        return _per_pair([self.instructions, *self.more_instructions])

    def window_runs(self) -> list[float]:
        """Instructions per tick window of each pair of runs."""
        return _per_pair([self.window, *self.more_window])

    def per_tick(self) -> float | None:
        """The lowest of `tick_runs` (None: not counted)."""
        return min(self.tick_runs(), default=None)

    def per_window(self) -> float | None:
        """The lowest of `window_runs` (None: not counted)."""
        return min(self.window_runs(), default=None)


def _per_pair(pairs: list[dict[int, int] | None]) -> list[float]:
    return [n for pair in pairs if (n := per_unit(pair or {})) is not None]


def measure(
    ticks: int,
    procs: int,
    counts: tuple[int, int] | None,
    kinds: tuple[str, ...] = KINDS,
    log: Callable[[str], None] = lambda s: None,
    keep: Path | None = None,
    frames: bool = False,
    peer_runs: int = 1,
) -> tuple[list[KindResult], str]:
    """Every client kind's processes (wall time) and, with ``counts``, its callgrind counts
    (kalshi-sdk's from ``peer_runs`` pairs of runs); and why the socket windows were not
    measured ("" when they were)."""
    import _kalshi_sdk
    from _procs import Adapter, Proc, speed_modes

    sdk_missing = _kalshi_sdk.status()
    results = []
    for kind in kinds:
        name, why = NAMES[kind], ""
        if kind == "kalshi-sdk":
            if sdk_missing is None:
                name = f"{_kalshi_sdk.label()} (its own asyncio client)"
            else:
                why = sdk_missing
        if kind == "trio":
            try:
                import trio  # noqa: F401
            except ImportError:  # pragma: no cover - trio extra not installed
                why = "trio not installed"
        results.append(KindResult(kind, name, why, Adapter(name, None, why, kind=kind)))
    live = [r for r in results if not r.why]
    with tempfile.TemporaryDirectory(prefix="bench-tick-") as tmp:
        rig = Rig(Path(tmp))
        built = socket_library(Path(tmp))
        sockets, why_no_sockets = (built, "") if isinstance(built, Path) else (None, built)
        try:
            rig.start_ticker()
            for i in range(procs):
                for r in live[i % len(live) :] + live[: i % len(live)]:
                    got = run_child(rig, r.kind, ticks + WARMUP, sockets=sockets)
                    lat = got["latencies"][WARMUP:]
                    if len(lat) < ticks:
                        raise RuntimeError(f"{r.kind}: {len(lat)} of {ticks} ticks timed")
                    cpu = got["cpu"] * ticks / (ticks + WARMUP)  # the timed ticks' share
                    r.adapter.procs.append(Proc(r.kind, i + 1, lat, cpu, 0.0))
                    r.sockets.append(got.get("socket", [])[WARMUP:])
                    log(
                        f"  {r.name} #{i + 1}: p50 {statistics.median(lat) * 1e6:.0f} µs"
                        + (
                            f", socket {statistics.median(r.sockets[-1]) * 1e6:.0f} µs"
                            if r.sockets[-1]
                            else ""
                        )
                    )
            if counts is not None:
                switch = window_library(Path(tmp))
                if isinstance(switch, str):
                    raise RuntimeError(f"tick-to-trade instructions not countable: {switch}")
                for r in live:
                    pairs = peer_runs if r.kind == "kalshi-sdk" else 1
                    for run in range(pairs):
                        into = keep or Path(tmp)  # the callgrind outputs
                        whole = count_pair(rig, r, counts, None, run, log, into, frames)
                        window = count_pair(rig, r, counts, switch, run, log, into, frames)
                        if run == 0:
                            r.instructions, r.window = whole, window
                        else:
                            r.more_instructions.append(whole)
                            r.more_window.append(window)
        finally:
            rig.close()
    speed_modes([r.adapter for r in results])
    return results, why_no_sockets


def count_pair(
    rig: Rig,
    r: KindResult,
    counts: tuple[int, int],
    window: Path | None,
    run: int,
    log: Callable[[str], None],
    into: Path,
    frames: bool,
    python: str | None = None,
) -> dict[int, int]:
    """One client kind's callgrind counts for each tick count of ``counts``: of all the
    process does, or with ``window`` (the counting switch's library) of the tick windows;
    callgrind's outputs written into ``into`` (``<kind>.<ticks>[.window][.<run>].cg``);
    ``python``: the client's interpreter (`run_child`)."""
    counted: dict[int, int] = {}
    what = ", counting each window" if window else ""
    for n in counts:
        log(f"  {r.name}: {n} ticks under callgrind{what}{f' (run {run + 1})' if run else ''} ...")
        name = f"{r.kind}.{n}{'.window' if window else ''}{f'.{run + 1}' if run else ''}.cg"
        out = into / name
        for attempt in range(1, SPLIT_TRIES + 1):
            got = run_child(
                rig, r.kind, n, callgrind=out, frames=frames, window=window, python=python
            )
            if window is None or (got["windows"] == n and not got["split"]):
                break
            log(
                f"  {r.name}: {got['windows']} of {n} tick windows counted, {got['split']} "
                f"written by another thread than the reader (run {attempt} of {SPLIT_TRIES})"
            )
        else:
            raise RuntimeError(
                f"{r.kind}: in {SPLIT_TRIES} runs, an order was written by another thread than "
                "its tick's reader: not countable"
            )
        counted[n] = got["instructions"]
    return counted


def compare(
    kinds: tuple[str, ...],
    other: str,
    pairs: int,
    counts: tuple[int, int],
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, tuple[list[float], list[float]]]:
    """An A/B of the client's library on the tick-to-trade window: each kind's window counted
    ``pairs`` times with the client run by ``other`` (another checkout's interpreter, its
    library installed there: "A") and by this one ("B"), alternating, against one gateway and
    one ticker (this checkout's), so that only the client's code differs. Per kind, A's and
    B's instructions per tick (`ab_table` prints them)."""
    runs: dict[str, tuple[list[float], list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-tick-ab-") as tmp:
        rig = Rig(Path(tmp))
        try:
            switch = window_library(Path(tmp))
            if isinstance(switch, str):
                raise RuntimeError(f"tick-to-trade instructions not countable: {switch}")
            rig.start_ticker()
            for kind in kinds:
                a_runs, b_runs = runs.setdefault(kind, ([], []))
                r = KindResult(kind, NAMES[kind])
                for run in range(pairs):
                    for python, into in ((other, a_runs), (None, b_runs)):
                        log(f"  {kind}: pair {run + 1} of {pairs}, {'A' if python else 'B'} ...")
                        got = count_pair(
                            rig, r, counts, switch, 0, lambda s: None, Path(tmp), False, python
                        )
                        per_tick = per_unit(got)
                        if per_tick is None:  # two tick counts were run: never
                            raise RuntimeError(f"{kind}: no count per tick from {got}")
                        into.append(per_tick)
        finally:
            rig.close()
    return runs


def ab_table(
    other: str, counts: tuple[int, int], runs: dict[str, tuple[list[float], list[float]]]
) -> list[str]:
    """`compare`'s result as a table: each run's count per tick, the means, B's change."""
    lines = [
        f"A: the clients run by {other}; B: by {sys.executable}. Tick-to-trade window, "
        f"instructions per tick (callgrind, runs of {counts[0]} and {counts[1]} ticks), one "
        "gateway and one ticker for both.",
        "",
        "| client | A runs | B runs | A mean | B mean | change |",
        "|---|---|---|---:|---:|---:|",
    ]
    for kind, (a_runs, b_runs) in runs.items():
        a_mean, b_mean = statistics.mean(a_runs), statistics.mean(b_runs)
        lines.append(
            f"| {NAMES[kind]} | {', '.join(f'{n / 1000:.1f}k' for n in a_runs)} "
            f"| {', '.join(f'{n / 1000:.1f}k' for n in b_runs)} | {a_mean / 1000:.1f}k "
            f"| {b_mean / 1000:.1f}k | {(b_mean / a_mean - 1) * 100:+.1f} % |"
        )
    return lines


def report(
    results: list[KindResult],
    counts: tuple[int, int] | None,
    why_no_count: str,
    why_no_sockets: str = "",
) -> list[str]:
    from _procs import MODE_GAP, pct, us

    sdk = next((r for r in results if r.kind == "kalshi-sdk"), None)
    lines = [
        f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} cores; mock gateway in its own process; a 35=X on KalshiMD -> the "
        "handler reads the first entry's price and size -> a NewOrderSingle on KalshiNR. Wall "
        "time, two windows per tick: plaintext, from the 35=X's plaintext out of TLS to the "
        "order's plaintext into TLS (wrapped ssl methods in the client's process); socket, from "
        "the return of the read system call that brought the 35=X's bytes to the call of the "
        "write system call that took the order's (libc's socket calls wrapped by a preloaded "
        "library). One row per process, speed mode as in the latency table (CPU per tick split "
        f"at its widest step above {MODE_GAP:.2f}x)",
        "",
        "| client | process, speed mode | ticks | plaintext p50 | p99 "
        "| socket p50 | p99 | CPU per tick |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.why or not r.adapter.procs:
            why = r.why or "not run"
            lines.append(f"| {r.name} | — | — | {why} | — | {why} | — | — |")
            continue
        for pr, sock in zip(r.adapter.procs, r.sockets or [[]] * len(r.adapter.procs), strict=True):
            socket_cells = (
                f"{us(statistics.median(sock))} | {us(pct(sock, 0.99))}"
                if sock
                else f"{why_no_sockets or 'not measured'} | —"
            )
            lines.append(
                f"| {r.name} | #{pr.index} {pr.mode} | {pr.orders:,} | {us(pr.p50())} "
                f"| {us(pct(pr.rtts, 0.99))} | {socket_cells} | {us(pr.cpu_per_order())} |"
            )
    lines += [
        "",
        "| client | tick to trade: instructions from the 35=X read to the order written "
        "| ratio to kalshi-sdk | instructions per tick, all the process does "
        "| ratio to kalshi-sdk | p50 ÷ kalshi-sdk, same speed mode |",
        "|---|---:|---:|---:|---:|---|",
    ]
    base = sdk.per_tick() if sdk is not None else None
    base_window = sdk.per_window() if sdk is not None else None
    from _procs import mode_ratios

    def cells(runs: list[float], sdk_instr: float | None, r: KindResult) -> tuple[str, str]:
        instr = min(runs, default=None)
        cell = f"{instr / 1000:,.0f}k" if instr is not None else (r.why or why_no_count)
        if len(runs) > 1:
            cell += f" ({spread(runs)} over {len(runs)} runs)"
        ratio = "—"
        if instr is not None and sdk_instr:
            ratio = "1.00x" if r is sdk else f"{instr / sdk_instr:.2f}x"
        return cell, ratio

    for r in results:
        window, window_ratio = cells(r.window_runs(), base_window, r)
        whole, whole_ratio = cells(r.tick_runs(), base, r)
        modes = "—"
        if sdk is not None and r is not sdk and sdk.adapter.procs and r.adapter.procs:
            found = []
            for mode in ("fast", "slow"):
                got = mode_ratios(r.adapter, sdk.adapter, mode)
                if got is not None:
                    found.append(f"{mode} {got[0]:.2f}x")
            modes = ", ".join(found) or "no common mode"
        lines.append(
            f"| {r.name} | {window} | {window_ratio} | {whole} | {whole_ratio} | {modes} |"
        )
    if counts is not None:
        lines += [
            "",
            f"Instructions: per tick = (run of {counts[1]} ticks - run of {counts[0]}) / "
            f"{counts[1] - counts[0]}, the client process under callgrind. Tick to trade: "
            "callgrind counting only from the read whose plaintext holds the 35=X to the write "
            "whose plaintext holds the order (switched on and off there, in the thread that "
            "read the tick, by the wrapped ssl methods); all the process does: no hooks, every "
            "thread, the order's acknowledgement included. Under callgrind the blocking "
            f"client's market-data session has its idle_handoff scaled by {VALGRIND_SLOWDOWN}, "
            "the process's slowdown there.",
        ]
        if sdk is not None and len(sdk.window_runs()) > 1:
            lines[-1] += (
                f" kalshi-sdk: {len(sdk.window_runs())} pairs of runs, as its tick-window count "
                f"moves from run to run (tick to trade {spread(sdk.window_runs())}, "
                f"all the process does {spread(sdk.tick_runs())}); every ratio is to its lowest "
                "count, the least favourable to the others."
            )
    lines.append("")
    head = f"* project target: tick to trade <= {TARGET_INSTRUCTIONS}x kalshi-sdk's instructions"
    if sdk is None or sdk.why or base_window is None:
        why = sdk.why if sdk is not None and sdk.why else why_no_count or "not counted"
        lines.append(f"{head} — not measurable here: kalshi-sdk {why}")
        return lines
    whole = [(r.name, r.per_tick()) for r in results if r is not sdk]
    lines.append(
        "* all the process does per tick (not the target's measure; reported beside it): "
        + "; ".join(f"{name} {n / base:.2f}x" for name, n in whole if n is not None and base)
    )
    parts, held = [], True
    for r in results:
        instr = r.per_window()
        if r is sdk or instr is None:
            continue
        held = held and instr / base_window <= TARGET_INSTRUCTIONS
        parts.append(f"{r.name} {instr / base_window:.2f}x")
    lines.append(f"{head}: {'; '.join(parts)} — {'held' if held else 'not held'}")
    return lines


def spread(runs: list[float]) -> str:
    """Lowest-highest of per-tick counts, in thousands."""
    return f"{min(runs) / 1000:,.0f}k-{max(runs) / 1000:,.0f}k"


def write_docs(lines: list[str]) -> None:
    """Write the table between this benchmark's markers in docs/maintainers/benchmarks.md."""
    from _docs import write_block

    write_block(BEGIN, END, lines)


def main(argv: list[str]) -> int:
    from _docs import arguments, publish

    parser = arguments(__doc__ or "", "2 processes of 5 ticks, no callgrind")
    parser.add_argument("--ticks", type=int, default=300, help="timed ticks per process")
    parser.add_argument("--procs", type=int, default=3, help="processes per client kind")
    parser.add_argument(
        "--counts",
        type=int,
        nargs=2,
        default=(10, 60),
        metavar=("A", "B"),
        help="the two tick counts run under callgrind",
    )
    parser.add_argument("--no-callgrind", action="store_true", help="wall time only")
    parser.add_argument(
        "--peer-runs",
        type=int,
        default=3,
        help="pairs of callgrind runs for kalshi-sdk, whose counts move with the machine's load",
    )
    parser.add_argument("--keep", type=Path, help="keep the callgrind outputs in this directory")
    parser.add_argument(
        "--python-frames",
        action="store_true",
        help="clients with PYTHONPERFSUPPORT=1: a callgrind function per Python function",
    )
    parser.add_argument(
        "--ab",
        metavar="PYTHON",
        help="an A/B of the client's library instead: the tick windows counted with the "
        "clients run by PYTHON (another checkout's interpreter) and by this one, one gateway",
    )
    parser.add_argument("--pairs", type=int, default=3, help="--ab: pairs of counts per kind")
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS[:3]),
        help="--ab: the client kinds, comma-separated (default: our three adapters)",
    )
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--hooks", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--window", help=argparse.SUPPRESS)
    parser.add_argument("--sockets", help=argparse.SUPPRESS)
    parser.add_argument("--slowdown", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        target = Target.from_arg(args.target)
        child_main(
            args.child, args.ticks, target, args.hooks, args.window, args.sockets, args.slowdown
        )
        return 0
    if args.ab is not None:
        kinds = tuple(args.kinds.split(","))
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            parser.error(f"--kinds: unknown {', '.join(unknown)} (one of {', '.join(KINDS)})")
        counts_ab: tuple[int, int] = tuple(args.counts)
        runs = compare(
            kinds,
            args.ab,
            max(1, args.pairs),
            counts_ab,
            log=lambda s: print(s, file=sys.stderr, flush=True),
        )
        print("\n".join(ab_table(args.ab, counts_ab, runs)))
        return 0
    ticks, procs = (5, 2) if args.quick else (args.ticks, max(2, args.procs))
    why_no_count = ""
    counts: tuple[int, int] | None = tuple(args.counts)  # type: ignore[assignment]
    if args.quick or args.no_callgrind:
        counts, why_no_count = None, "not counted (--quick / --no-callgrind)"
    elif "callgrind" in tools_missing():
        counts, why_no_count = None, tools_missing()["callgrind"]
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    results, why_no_sockets = measure(
        ticks,
        procs,
        counts,
        log=lambda s: print(s, file=sys.stderr, flush=True),
        keep=args.keep,
        frames=args.python_frames,
        peer_runs=max(1, args.peer_runs),
    )
    publish(report(results, counts, why_no_count, why_no_sockets), BEGIN, END, args.write_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

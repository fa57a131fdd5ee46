"""The client process of bench_tick.py: the hooks where plaintext leaves and enters TLS, and
one client of each kind (ours through each adapter, kalshi-sdk's) answering ticks with orders.

The parent (bench_tick.py) starts this code as ``bench_tick.py --child KIND``; see its docstring
for what is measured and how.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

SYMBOL = "BENCH-TICK"
OUT_SYMBOL = "BENCH-TICK-OUT"
WAIT = 120.0  # seconds to wait for one tick's order (slow under valgrind)
HEARTBEAT = 300  # no Heartbeat inside a run
# Under valgrind a process runs about this many times slower: the blocking adapter's hand-off
# to its background reader (`idle_handoff`, wall-clock seconds) is scaled by it there, so the
# thread that waits keeps reading the socket as it does at full speed (`run_ours`)
VALGRIND_SLOWDOWN = 50
TICK_IN = b"\x0135=X\x01"
ORDER_OUT = b"\x0135=D\x01"


# -- the hooks: timestamps where plaintext leaves and enters TLS --------------------------------


class Stamps:
    """Tick-to-trade times (seconds): from a read holding a 35=X to the next write holding a
    35=D. With ``toggle`` (callgrind's counting switch, `_traced.window_library`), the same
    two moments also turn callgrind's counting on and off: the run counts the instructions of
    the windows only (``windows`` of them; ``split``: a window whose order was written by
    another thread than the one that read the tick, which its count would not follow).

    With ``sockets`` (the preloaded socket timestamps library, `_traced.socket_library`, or
    anything with its three functions), each timed tick also notes when the reading thread's
    last TCP read returned, before the tick's plaintext came out of TLS, and arms the library
    so that the next TCP write after the order's plaintext went into TLS is timestamped:
    `socket_latencies` gives the ticks' socket-level windows."""

    def __init__(self, toggle: Callable[[], object] | None = None, sockets: Any = None) -> None:
        self.tick_at: float | None = None
        self.latencies: list[float] = []
        self.toggle = toggle
        self.counting: int | None = None  # the thread counting (its ident), or None
        self.windows = 0
        self.split = 0
        self.sockets = sockets
        self.read_ns = 0  # the pending tick's socket read (CLOCK_MONOTONIC, ns)
        self.socket_reads: list[int] = []  # per timed tick

    def read(self, data: Any) -> None:
        if TICK_IN in bytes(data):  # bytes(b) is b itself; a memoryview is copied
            if self.sockets is not None:  # before the clock: outside the plaintext window
                self.read_ns = self.sockets.kfs_last_read()
            self.tick_at = time.perf_counter()
            if self.toggle is not None and self.counting is None:
                self.counting = threading.get_ident()
                self.toggle()

    def wrote(self, data: Any) -> None:
        if self.tick_at is not None and ORDER_OUT in bytes(data):
            if self.counting is not None:
                if self.counting == threading.get_ident():
                    self.toggle()  # type: ignore[misc]
                    self.windows += 1
                else:
                    self.split += 1
                self.counting = None
            self.latencies.append(time.perf_counter() - self.tick_at)
            self.tick_at = None
            if self.sockets is not None:  # after the clock: outside the plaintext window
                self.sockets.kfs_arm(len(self.latencies) - 1)
                self.socket_reads.append(self.read_ns)

    def socket_latencies(self) -> list[float]:
        """Each timed tick's socket-level window (seconds): from the return of the last TCP
        read of the thread that then decrypted the 35=X to the call of the first TCP write
        after the order's plaintext went into TLS.

        Raises:
            RuntimeError: a tick's read or write was not timestamped (the library not
                preloaded) or its window is shorter than the plaintext one inside it.
        """
        out = []
        for i, (read_ns, plain) in enumerate(zip(self.socket_reads, self.latencies, strict=True)):
            wrote_ns = self.sockets.kfs_written(i)
            if not read_ns or not wrote_ns:
                raise RuntimeError(
                    f"tick {i}: socket read or write not timestamped (read {read_ns}, "
                    f"write {wrote_ns}): is the socket timestamps library preloaded?"
                )
            window = (wrote_ns - read_ns) / 1e9
            if window < plain:
                raise RuntimeError(
                    f"tick {i}: socket window {window * 1e6:.1f} µs shorter than the "
                    f"plaintext window {plain * 1e6:.1f} µs inside it"
                )
            out.append(window)
        return out


def load_sockets(path: str) -> Any:
    """The preloaded socket timestamps library (`_traced.socket_library`) through ctypes."""
    import ctypes

    lib = ctypes.CDLL(path)
    lib.kfs_last_read.restype = ctypes.c_int64
    lib.kfs_last_read.argtypes = []
    lib.kfs_arm.restype = None
    lib.kfs_arm.argtypes = [ctypes.c_int]
    lib.kfs_written.restype = ctypes.c_int64
    lib.kfs_written.argtypes = [ctypes.c_int]
    return lib


def install_hooks(stamps: Stamps) -> None:
    """Wrap the TLS methods every client here reads and writes plaintext through."""
    sock_recv, sock_send = ssl.SSLSocket.recv, ssl.SSLSocket.send
    sock_sendall = ssl.SSLSocket.sendall
    obj_read, obj_write = ssl.SSLObject.read, ssl.SSLObject.write

    def recv(self: ssl.SSLSocket, *args: Any, **kwargs: Any) -> bytes:
        data = sock_recv(self, *args, **kwargs)
        stamps.read(data)
        return data

    def send(self: ssl.SSLSocket, data: Any, *args: Any, **kwargs: Any) -> int:
        stamps.wrote(data)
        return sock_send(self, data, *args, **kwargs)

    def sendall(self: ssl.SSLSocket, data: Any, *args: Any, **kwargs: Any) -> None:
        stamps.wrote(data)
        return sock_sendall(self, data, *args, **kwargs)

    def read(self: ssl.SSLObject, n: int = 1024, buffer: Any = None) -> Any:
        got = obj_read(self, n, buffer) if buffer is not None else obj_read(self, n)
        stamps.read(buffer[:got] if buffer is not None else got)
        return got

    def write(self: ssl.SSLObject, data: Any) -> int:
        stamps.wrote(data)
        return obj_write(self, data)

    ssl.SSLSocket.recv = recv  # type: ignore[method-assign]
    ssl.SSLSocket.send = send  # type: ignore[method-assign]
    ssl.SSLSocket.sendall = sendall  # type: ignore[method-assign]
    ssl.SSLObject.read = read  # type: ignore[method-assign]
    ssl.SSLObject.write = write  # type: ignore[method-assign]


# -- the client process -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a client process needs: the gateway's ports and certificate, its two keys."""

    md_port: int
    oe_port: int
    cert: str
    md_key: tuple[str, str]  # key id, private key file
    oe_key: tuple[str, str]
    base: int  # ClOrdIDs from base on: unique across the run's processes (open orders stay)

    def to_arg(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_arg(cls, text: str) -> Target:
        d = json.loads(text)
        md_key, oe_key = tuple(d["md_key"]), tuple(d["oe_key"])
        return cls(d["md_port"], d["oe_port"], d["cert"], md_key, oe_key, d["base"])


def cl_ord_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"  # no uuid4: it reads /dev/urandom


def run_ours(
    kind: str, ticks: int, t: Target, ready: Callable[[], None], slowdown: float = 1.0
) -> None:
    """``ticks`` ticks through our adapter ``kind`` (``-lazy``: both sessions with
    ``validate_messages=False``, values converted when read). ``slowdown``: how many times
    slower than at full speed the process runs (under valgrind: `VALGRIND_SLOWDOWN`); the
    blocking market-data session's `idle_handoff` is scaled by it."""
    flags = {"validate_messages": False} if kind.endswith("-lazy") else {}
    kind = kind.removesuffix("-lazy")
    from kalshi_fix_sansio import ApplicationMessage, QueuePolicy
    from kalshi_fix_sansio import prediction as p
    from kalshi_fix_sansio.adapters import make_ssl_context
    from kalshi_fix_sansio.client import Endpoint

    # the handler never reads the order-entry session's events (the tracker follows the
    # orders): it opens it without an event queue, as such an application must (unread events
    # would fill the queue to its bound and end the session with EventQueueOverflow)
    untaken = QueuePolicy(queue_events=False)

    def client(cls: Any, key: tuple[str, str], session: str, port: int) -> Any:
        return cls.from_key(
            key[0],
            path=key[1],
            endpoints={session: Endpoint("127.0.0.1", port, server_hostname="localhost")},
            ssl_context=make_ssl_context(pinned_cert=t.cert),
            heartbeat_interval=HEARTBEAT,
        )

    subscribe = p.MarketDataRequest(
        subscription_request_type=p.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
        related_sym=[p.MarketDataRequestRelatedSym(symbol=SYMBOL)],
    )

    def snapshot(ev: Any) -> bool:
        return isinstance(ev, ApplicationMessage) and ev.message.MSG_TYPE == "W"

    def tick(ev: Any) -> Any:
        """The order for a tick (None: the event is not one)."""
        if not isinstance(ev, ApplicationMessage) or ev.message.MSG_TYPE != "X":
            return None
        entry = ev.message.md_entries[0]
        px, size = entry.md_entry_px, entry.md_entry_size
        return p.NewOrderSingle(
            cl_ord_id=cl_ord_id(t.base + tick.n),  # type: ignore[attr-defined]
            side=p.Side.BUY,
            order_qty=Decimal(1) if size else Decimal(2),
            ord_type=p.OrdType.LIMIT,
            price=px if px is not None else Decimal("0.01"),
            symbol=OUT_SYMBOL,
            time_in_force=p.TimeInForce.GTC,
        )

    tick.n = 0  # type: ignore[attr-defined]

    if kind == "blocking":
        from kalshi_fix_sansio.adapters.blocking import FixClient

        md_client = client(FixClient, t.md_key, "KalshiMD", t.md_port)
        oe_client = client(FixClient, t.oe_key, "KalshiNR", t.oe_port)
        with (
            md_client.market_data(**flags) as md,
            oe_client.order_entry(queue_policy=untaken, **flags) as oe,
        ):
            # the seconds a caller may be away before the session's thread reads, scaled to the
            # process's speed: under valgrind the handler's send alone can take the 50 ms, the
            # session's thread would then read the next tick and the order be written by
            # another thread than its tick's reader (a tick window callgrind cannot count)
            md.idle_handoff *= slowdown
            md.wait_for(snapshot, WAIT, send=subscribe)
            ready()
            while tick.n < ticks:  # type: ignore[attr-defined]
                ev = md.next_event(WAIT)
                order = tick(ev)
                if order is not None:
                    oe.send(order)
                    tick.n += 1  # type: ignore[attr-defined]
            ready()
        return

    async def loop(cls: Any) -> None:
        md_client = client(cls, t.md_key, "KalshiMD", t.md_port)
        oe_client = client(cls, t.oe_key, "KalshiNR", t.oe_port)
        async with (
            md_client.market_data(**flags) as md,
            oe_client.order_entry(queue_policy=untaken, **flags) as oe,
        ):
            await md.wait_for(snapshot, WAIT, send=subscribe)
            ready()
            while tick.n < ticks:  # type: ignore[attr-defined]
                order = tick(await md.next_event(WAIT))
                if order is not None:
                    oe.send(order)
                    tick.n += 1  # type: ignore[attr-defined]
            ready()

    if kind == "asyncio":
        from kalshi_fix_sansio.adapters.asyncio import FixClient as AioClient

        asyncio.run(loop(AioClient))
    else:
        import trio

        from kalshi_fix_sansio.adapters.trio import FixClient as TrioClient

        trio.run(loop, TrioClient)


def run_kalshi_sdk(ticks: int, t: Target, ready: Callable[[], None]) -> None:
    """The same through kalshi-sdk's asyncio ``FixClient`` (nothing of ours imported)."""
    import _kalshi_sdk

    kf = _kalshi_sdk._kf()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        subscribed = loop.create_future()
        count = 0
        oe_session: Any = None

        async def on_md(raw: Any) -> None:
            nonlocal count
            if raw.msg_type == "W" and not subscribed.done():
                subscribed.set_result(None)
            if raw.msg_type != "X" or count >= ticks:
                return
            msg = kf.decode_app_message(raw)
            entry = msg.entries[0]
            px, size = entry.md_entry_px, entry.md_entry_size
            cents = int(px * 100) if px is not None else 1
            order = _kalshi_sdk.new_order(
                cl_ord_id(t.base + count), OUT_SYMBOL, cents=cents, qty=1 if size else 2
            )
            count += 1
            await oe_session.send(order)
            if count >= ticks and not done.done():
                done.set_result(None)

        async def on_oe(raw: Any) -> None:
            return None

        def client(key: tuple[str, str], port: int) -> Any:
            return kf.FixClient(
                kf.FixSigner.from_key_path(key[0], Path(key[1])),
                config=kf.FixConfig.prediction(
                    host="127.0.0.1", port=port, heartbeat_interval=HEARTBEAT
                ),
                ssl_context=ssl.create_default_context(cafile=t.cert),
            )

        md_client, oe_client = client(t.md_key, t.md_port), client(t.oe_key, t.oe_port)
        async with (
            md_client.market_data(on_message=on_md) as md,
            oe_client.order_entry(on_message=on_oe) as oe,
        ):
            oe_session = oe
            await md.send(kf.MarketDataRequest.subscribe([SYMBOL]))
            await asyncio.wait_for(subscribed, WAIT)
            ready()
            await asyncio.wait_for(done, WAIT * max(1, ticks))
            ready()

    asyncio.run(main())


def child_main(
    kind: str,
    ticks: int,
    t: Target,
    hooks: bool,
    window: str | None = None,
    sockets: str | None = None,
    slowdown: float = 1.0,
) -> None:
    """One client process: subscribe, say ready on stdout, handle ``ticks`` ticks, then print
    what it measured (one JSON line). The client calls ``ready`` when subscribed and again
    after its last order: its CPU per tick is the process's CPU between the two. ``window``:
    the counting switch's library (`_traced.window_library`), the run under callgrind counting
    only from each tick's read to its order's write. ``sockets``: the socket timestamps
    library, preloaded into this process (`_traced.socket_library`): each tick's socket-level
    window is measured too. ``slowdown``: as `run_ours`'s."""
    toggle = None
    if window is not None:
        import ctypes

        toggle = ctypes.CDLL(window).kfs_toggle_collect
    stamps = Stamps(toggle, load_sockets(sockets) if sockets is not None else None)
    if hooks or toggle is not None:
        install_hooks(stamps)
    cpu: list[float] = []

    def ready() -> None:
        cpu.append(time.process_time())
        if len(cpu) == 1:
            print("ready", flush=True)

    if kind == "kalshi-sdk":
        run_kalshi_sdk(ticks, t, ready)
    else:
        run_ours(kind, ticks, t, ready, slowdown)
    used = cpu[1] - cpu[0] if len(cpu) > 1 else 0.0
    got = {"latencies": stamps.latencies, "cpu": used, "windows": stamps.windows}
    got["split"] = stamps.split
    if sockets is not None:
        got["socket"] = stamps.socket_latencies()
    print(json.dumps(got), flush=True)

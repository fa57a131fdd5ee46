"""An account's Logon budget on real sockets: no Logon refused for rate, in every start shape.

    .venv/bin/python benchmarks/bench_logon_spacing.py [--repetitions 50] [--sessions 3]

The real mock gateway (TLS on loopback, in a thread) counts the Logons of an account's keys
together and refuses one over ``faults.logon_rate_limit = (2, 1.0)`` (a third in any second)
with a Logout ``58=rate limit exceeded``; the clients (the blocking adapter) share one
`Account` with ``logons_per_second=2``. The start shapes, each repeated:

* ``one-after-another``: the sessions are opened one at a time, each once the one before it
  logged on;
* ``all-at-once``: the sessions are opened together, one thread each;
* ``all-at-once-asyncio``: the same with the asyncio adapter, one task each;
* ``after-a-drop``: the sessions stay open; each repetition the gateway drops them all at once
  and they log on again (``sessions`` of them: 6 gives the six-session drop).

A repetition passes when the gateway refused no Logon and each session sent one Logon (a
refused one would be retried: one more). The result is printed as one line per shape: the
repetitions, the refusals, the smallest spacing of two Logons the gateway counted, and the
wall time. ``tests/test_account_logon_tls.py`` runs the same with fewer repetitions;
docs/maintainers/benchmarks.md records a full run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import attrs

from kalshi_fix_sansio import Backoff, Reconnected
from kalshi_fix_sansio.adapters.asyncio import FixClient as AsyncFixClient
from kalshi_fix_sansio.client.account import DEFAULT_LOGON_MARGIN, Account, AccountLimits
from kalshi_fix_sansio.simulator.gateway import MockGateway
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

SHAPES = ("one-after-another", "all-at-once", "all-at-once-asyncio", "after-a-drop")
RATE_LIMIT = (2, 1.0)  # the gateway: at most 2 Logons of the account in any second


@attrs.frozen
class ShapeResult:
    """What one shape's repetitions gave."""

    shape: str
    repetitions: int
    sessions: int
    refusals: int  # Logons the gateway refused for rate, over every repetition
    failed: int  # repetitions with a refusal or a Logon too many
    closest: float  # the smallest spacing of two Logons the gateway counted, in seconds
    seconds: float  # wall time of the repetitions

    def line(self) -> str:
        return (
            f"{self.shape}: {self.repetitions} repetitions of {self.sessions} sessions, "
            f"{self.refusals} refused, {self.failed} failed, closest Logons "
            f"{self.closest:.3f} s apart at the gateway, {self.seconds:.1f} s"
        )


class _Counted:
    """The times the gateway counted each Logon of the account (its own clock, as its Logon
    window sees them), and its refusals for rate, read in its thread."""

    def __init__(self, gateway: MockGateway) -> None:
        self.gateway = gateway
        self.times: list[float] = []
        self.refused = 0
        allowed = gateway._logon_allowed

        def counting(account: str, now: float, limit: tuple[int, float]) -> bool:
            ok = allowed(account, now, limit)
            if ok:
                self.times.append(now)
            else:
                self.refused += 1
            return ok

        gateway._logon_allowed = counting  # type: ignore[method-assign]

    def take(self) -> tuple[list[float], int]:
        """The Logon times counted and the refusals since the last `take`."""

        def read() -> tuple[list[float], int]:
            taken = (self.times, self.refused)
            self.times, self.refused = [], 0
            return taken

        return self.gateway.call(read)


def _keys(sessions: int) -> dict[str, tuple[Any, Any]]:
    return {f"desk-{i}": new_ed25519_keys() for i in range(sessions)}


Sessions = tuple[MockGateway, Callable[[str], Any], Callable[[str], Any]]


@contextmanager
def _desk(sessions: int, margin: float) -> Iterator[Sessions]:
    keys = _keys(sessions)
    public = {key: pair[1] for key, pair in keys.items()}
    account = Account("desk", keys, AccountLimits(logons_per_second=2.0), logon_margin=margin)
    with MockGateway("prediction", keys=public, accounts={"desk": list(keys)}, tls=True) as gw:
        gw.faults.logon_rate_limit = RATE_LIMIT
        backoff = Backoff(base=0.2, cap=1.0, attempts=None)

        def session(key: str, client_cls: type[Any] | None = None) -> Any:
            client = gw.client(
                key, keys[key][0], account=account, backoff=backoff, client_cls=client_cls
            )
            return client.order_entry()

        yield gw, session, functools.partial(session, client_cls=AsyncFixClient)


def _spacing(times: list[float]) -> float:
    return min((b - a for a, b in itertools.pairwise(times)), default=float("inf"))


def run_shape(
    shape: str, repetitions: int, sessions: int, margin: float = DEFAULT_LOGON_MARGIN
) -> ShapeResult:
    """Run ``repetitions`` of ``shape`` with ``sessions`` sessions of one account."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")
    refusals = failed = 0
    closest = float("inf")
    started = time.perf_counter()
    with _desk(sessions, margin) as (gw, session, async_session):
        keys = sorted(gw.keys)
        counted = _Counted(gw)
        with ExitStack() as kept:
            if shape == "after-a-drop":
                opened = [kept.enter_context(session(key)) for key in keys]
                counted.take()
            for _ in range(repetitions):
                if shape == "one-after-another":
                    with ExitStack() as stack:
                        for key in keys:
                            stack.enter_context(session(key))
                elif shape == "all-at-once":
                    _all_at_once(session, keys)
                elif shape == "all-at-once-asyncio":
                    asyncio.run(_all_at_once_asyncio(async_session, keys))
                else:
                    for key in keys:
                        gw.disconnect(key)
                    for oe in opened:
                        oe.wait_for(lambda e: isinstance(e, Reconnected), timeout=60)
                times, refused = counted.take()
                refusals += refused
                failed += bool(refused) or len(times) != sessions
                closest = min(closest, _spacing(times))
    return ShapeResult(
        shape, repetitions, sessions, refusals, failed, closest, time.perf_counter() - started
    )


def _all_at_once(session: Callable[[str], Any], keys: list[str]) -> None:
    """Open one session a thread, all released together; close them once all logged on."""
    barrier = threading.Barrier(len(keys))
    opened: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def open_one(key: str) -> None:
        manager = session(key)
        barrier.wait()
        try:
            manager.__enter__()
        except BaseException as exc:  # reported by the caller
            with lock:
                errors.append(exc)
            return
        with lock:
            opened.append(manager)

    threads = [threading.Thread(target=open_one, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for manager in opened:
        manager.__exit__(None, None, None)
    if errors:
        raise errors[0]


async def _all_at_once_asyncio(session: Callable[[str], Any], keys: list[str]) -> None:
    """Open one session a task, all started together; close them once all logged on."""
    everyone = asyncio.Event()
    opened: list[str] = []

    async def open_one(key: str) -> None:
        async with session(key):
            opened.append(key)
            if len(opened) == len(keys):
                everyone.set()
            await everyone.wait()

    await asyncio.gather(*(open_one(key) for key in keys))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repetitions", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=3, help="one-after-another, all-at-once")
    parser.add_argument("--dropped", type=int, default=6, help="sessions of after-a-drop")
    parser.add_argument("--margin", type=float, default=DEFAULT_LOGON_MARGIN)
    args = parser.parse_args(argv)
    bad = 0
    for shape in SHAPES:
        sessions = args.dropped if shape == "after-a-drop" else args.sessions
        result = run_shape(shape, args.repetitions, sessions, args.margin)
        print(result.line(), flush=True)
        bad += result.failed
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Who reads a session's socket (blocking and trio): the caller that waits, else the session's
background reader (the blocking session's thread, the trio session's reader task).

Through the public API: each frame of the FIX message log goes to the
``kalshi_fix_sansio.messages`` logger from the thread or task that read it, so a handler sees
who it was. A caller waiting in `wait_for` reads its own report (no hand-off on the way);
while the application waits for nothing, the background reader reads (after `IDLE_HANDOFF`),
and the next waits take the socket back. The rule itself is the core's (``Readers``), tested
on a fake clock in `test_driver_waits`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import trio
from gateway_fixtures import GatewayHarness
from test_adapter_blocking import buy, make_client
from test_adapter_trio import buy_at_ask, client_for, is_er

from kalshi_fix_sansio.adapters.blocking import BlockingSession
from kalshi_fix_sansio.client import IDLE_HANDOFF


class _Flag(Protocol):
    def set(self) -> None: ...


F = TypeVar("F", bound=_Flag)


class Readers(logging.Handler, Generic[F]):
    """Who (``who()``: a thread's name, a trio task) read each inbound frame, by ClOrdID; a
    flag (``flag()``: a `threading.Event`, a `trio.Event`) set per ClOrdID read."""

    def __init__(self, who: Callable[[], object], flag: Callable[[], F]) -> None:
        super().__init__(logging.INFO)
        self.who, self.flag = who, flag
        self.by_order: dict[str, list[Any]] = {}
        self.seen: dict[str, F] = {}

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if " IN " not in line or "|11=" not in line:
            return
        cl = line.split("|11=", 1)[1].split("|", 1)[0]
        self.by_order.setdefault(cl, []).append(self.who())
        self.event(cl).set()

    def event(self, cl: str) -> F:
        return self.seen.setdefault(cl, self.flag())


@contextmanager
def readers(who: Callable[[], object], flag: Callable[[], F]) -> Iterator[Readers[F]]:
    logger = logging.getLogger("kalshi_fix_sansio.messages")
    handler, level = Readers(who, flag), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _thread_name() -> str:
    return threading.current_thread().name


def test_blocking_the_waiting_thread_reads_its_report_and_the_session_thread_while_nobody_waits(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway
    me = threading.current_thread().name
    client = make_client(h, message_log_path=tmp_path / "fix.log")
    with readers(_thread_name, threading.Event) as seen, client.order_entry() as oe:
        assert isinstance(oe, BlockingSession) and oe.idle_handoff == IDLE_HANDOFF
        # the handoff after a second without a wait, not 50 ms: the pause between two waits
        # below stays far shorter than that even on a loaded machine (it was not, once)
        oe.idle_handoff = 1.0
        oe.wait_for(is_er("w-1"), 5.0, send=buy(h, "w-1"))
        assert set(seen.by_order["w-1"]) == {me}
        # nobody waits: the session's thread reads the report (the test blocks on the log)
        oe.send(buy(h, "b-1"))
        assert seen.event("b-1").wait(5.0)
        assert all(name.startswith("kalshi-fix ") for name in seen.by_order["b-1"])
        assert oe.tracker.order("b-1") is not None  # the tracker followed meanwhile
        # the next wait takes the socket back (what the session's thread was already reading
        # when it was asked for the socket goes to the driver first), and keeps it
        oe.wait_for(is_er("w-2"), 5.0, send=buy(h, "w-2"))
        oe.wait_for(is_er("w-3"), 5.0, send=buy(h, "w-3"))
        assert set(seen.by_order["w-3"]) == {me}


def test_trio_the_waiting_task_reads_its_report_and_the_reader_task_while_nobody_waits(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway

    async def main() -> None:
        me = trio.lowlevel.current_task()
        client = client_for(h, message_log_path=tmp_path / "fix.log")
        with readers(trio.lowlevel.current_task, trio.Event) as seen:
            async with client.order_entry() as oe:
                assert oe.idle_handoff == IDLE_HANDOFF  # settable per session, as blocking's
                oe.idle_handoff = IDLE_HANDOFF / 2
                assert oe.idle_handoff == IDLE_HANDOFF / 2
                await oe.wait_for(is_er("w-1"), 5.0, send=buy_at_ask(h, "w-1"))
                assert set(seen.by_order["w-1"]) == {me}
                # nobody waits on the session: its reader task reads the report
                oe.send(buy_at_ask(h, "b-1"))
                with trio.fail_after(5.0):
                    await seen.event("b-1").wait()
                assert me not in seen.by_order["b-1"]
                assert oe.tracker.order("b-1") is not None  # the tracker followed meanwhile
                # the next waits take the socket back
                await oe.wait_for(is_er("w-2"), 5.0, send=buy_at_ask(h, "w-2"))
                await oe.wait_for(is_er("w-3"), 5.0, send=buy_at_ask(h, "w-3"))
                assert set(seen.by_order["w-3"]) == {me}

    trio.run(main)


def test_blocking_run_until_may_call_the_session_from_inside_the_wait(
    prediction_gateway: GatewayHarness,
) -> None:
    """``until`` runs holding the session's lock (reentrant): it may send."""
    h = prediction_gateway
    oe = make_client(h).order_entry()
    oe.open()
    sent: list[int] = []

    def until() -> bool:
        if not sent:
            sent.append(oe.send(buy(h, "r-1")))
        order = oe.tracker.order("r-1")
        return order is not None and order.acknowledged

    done = threading.Thread(target=oe.run, kwargs={"until": until}, daemon=True)
    done.start()
    done.join(5.0)
    assert not done.is_alive() and len(sent) == 1  # a deadlock fails here (not closed)
    oe.close()

"""Who reads a blocking session's socket: the thread that waits, else the session's thread.

Through the public API: each frame of the FIX message log goes to the
``kalshi_fix_sansio.messages`` logger from the thread that read it, so its record names that
thread. A thread waiting in `wait_for` reads its own report (no hand-off between threads);
while the application waits for nothing, the session's thread reads (after `IDLE_HANDOFF`),
and the next wait takes the socket back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway_fixtures import GatewayHarness
from test_adapter_blocking import buy, make_client

from kalshi_fix_sansio.adapters.blocking import IDLE_HANDOFF, BlockingSession
from kalshi_fix_sansio.events import ApplicationMessage, Event


class Readers(logging.Handler):
    """The thread that read each inbound frame; an event per ClOrdID awaited."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.by_order: dict[str, list[str]] = {}
        self.seen: dict[str, threading.Event] = {}

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if " IN " not in line or "|11=" not in line:
            return
        cl = line.split("|11=", 1)[1].split("|", 1)[0]
        self.by_order.setdefault(cl, []).append(record.threadName or "")
        self.seen.setdefault(cl, threading.Event()).set()

    def event(self, cl: str) -> threading.Event:
        return self.seen.setdefault(cl, threading.Event())


@contextmanager
def readers() -> Iterator[Readers]:
    logger = logging.getLogger("kalshi_fix_sansio.messages")
    handler, level = Readers(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def report_of(cl: str) -> Callable[[Event], bool]:
    def match(event: Event) -> bool:
        message = event.message if isinstance(event, ApplicationMessage) else None
        return getattr(message, "cl_ord_id", None) == cl

    return match


def test_the_waiting_thread_reads_its_report_and_the_session_thread_reads_while_nobody_waits(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway
    me = threading.current_thread().name
    client = make_client(h, message_log_path=tmp_path / "fix.log")
    with readers() as seen, client.order_entry() as oe:
        assert isinstance(oe, BlockingSession) and oe.idle_handoff == IDLE_HANDOFF
        oe.wait_for(report_of("w-1"), 5.0, send=buy(h, "w-1"))
        assert seen.by_order["w-1"] == [me] * len(seen.by_order["w-1"])
        # nobody waits: the session's thread reads the report (the test blocks on the log)
        oe.send(buy(h, "b-1"))
        assert seen.event("b-1").wait(5.0)
        assert all(name.startswith("kalshi-fix ") for name in seen.by_order["b-1"])
        assert oe.tracker.order("b-1") is not None  # the tracker followed meanwhile
        # the next wait takes the socket back (what the session's thread was already reading
        # when it was asked for the socket goes to the driver first), and keeps it
        oe.wait_for(report_of("w-2"), 5.0, send=buy(h, "w-2"))
        oe.wait_for(report_of("w-3"), 5.0, send=buy(h, "w-3"))
        assert seen.by_order["w-3"] == [me] * len(seen.by_order["w-3"])


def test_run_until_may_call_the_session_from_inside_the_wait(
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

"""Who reads a trio session's socket: the task that waits, else the session's reader task.

Through the public API: each frame of the FIX message log goes to the
``kalshi_fix_sansio.messages`` logger from the task that read it, so a handler sees that task.
A task waiting in `wait_for` reads its own report (no switch to another task on the way); while
the application waits for nothing, the reader task reads (after `IDLE_HANDOFF`), and the next
waits take the socket back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import trio
from gateway_fixtures import GatewayHarness
from test_adapter_trio import buy_at_ask, client_for, is_er


class Readers(logging.Handler):
    """The trio task that read each inbound frame, by ClOrdID; an event per ClOrdID."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.by_order: dict[str, list[trio.lowlevel.Task]] = {}
        self.seen: dict[str, trio.Event] = {}

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if " IN " not in line or "|11=" not in line:
            return
        cl = line.split("|11=", 1)[1].split("|", 1)[0]
        self.by_order.setdefault(cl, []).append(trio.lowlevel.current_task())
        self.event(cl).set()

    def event(self, cl: str) -> trio.Event:
        return self.seen.setdefault(cl, trio.Event())


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


def test_the_waiting_task_reads_its_report_and_the_reader_task_reads_while_nobody_waits(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway

    async def main() -> None:
        me = trio.lowlevel.current_task()
        client = client_for(h, message_log_path=tmp_path / "fix.log")
        with readers() as seen:
            async with client.order_entry() as oe:
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

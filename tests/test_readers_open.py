# private: holds the blocking pump's opener back (`adapters._threadpump`)
"""Opening a blocking session: the thread in `open` waits for the Logon from the start, so the
session's thread, once connected, leaves the Logon's answer to it (the rule is the core's
``Readers``, private `_callers`: the background reader reads only while nobody waits; see
`test_readers`).

The opener (the blocking pump's wait for the Logon, in the private `_threadpump.ThreadPump`) is held
back until the session's thread has connected and asked whether to read (a thread descheduled
that long under load): that answer must be "not now".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from gateway_fixtures import GatewayHarness
from test_adapter_blocking import make_client

from kalshi_fix_sansio.adapters._threadpump import ThreadPump
from kalshi_fix_sansio.client.pump import Readers, Until, Wait


class _LogonReaders(logging.Handler):
    """The names of the threads that read an inbound Logon (35=A) from the message log."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.names: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if " IN " in record.getMessage() and "|35=A|" in record.getMessage():
            self.names.append(threading.current_thread().name)


def test_blocking_the_session_thread_leaves_the_logon_answer_to_a_late_opener(
    prediction_gateway: GatewayHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[float] = []
    first_asked = threading.Event()
    background, drive = Readers.background, ThreadPump.drive

    def recording(
        self: Readers, now: float, who: object, timer_in: Callable[[], float | None] | None = None
    ) -> float:
        rest = background(self, now, who, timer_in)
        asked.append(rest)
        first_asked.set()
        return rest

    def late(self: ThreadPump, wait: Wait[object]) -> object:
        if isinstance(wait, Until):  # the opener's wait for the Logon
            assert first_asked.wait(5.0)  # the session's thread is connected and has asked
        return drive(self, wait)

    monkeypatch.setattr(Readers, "background", recording)
    monkeypatch.setattr(ThreadPump, "drive", late)
    logger, handler = logging.getLogger("kalshi_fix_sansio.messages"), _LogonReaders()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        client = make_client(prediction_gateway, message_log_path=tmp_path / "fix.log")
        with client.order_entry() as oe:
            assert oe.connections == 1
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert asked[0] > 0.0  # not now: the opener waits
    assert handler.names == [threading.current_thread().name]

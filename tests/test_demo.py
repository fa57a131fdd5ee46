"""The main job: `kalshi-fix demo` runs the whole story against a real mock gateway (TLS), and
the gateway shuts down without an asyncio error."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest

from kalshi_fix_sansio.gateway import MockGateway


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_demo_runs_the_whole_story(product: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kalshi_fix_sansio.cli", "demo", "--product", product],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "TLS" in out and "top of book: bid 25.00" in out
    assert out.count("ExecutionReport TRADE    FILLED") == 2  # both sides of the cross
    assert "CANCELED         BUY" in out
    assert out.count("[ORDER_GROUP_CANCEL]") == 2
    assert "[EXCEEDED_ORDER_GROUP_RISK_LIMIT]" in out
    assert out.rstrip().endswith("done: every step behaved as Kalshi documents")
    assert result.stderr == ""  # no traceback, no warning, nothing


def test_stopping_the_gateway_with_open_connections_reports_no_asyncio_error() -> None:
    """The demo's rare CancelledError traceback after "done": `stop` cancels the connection
    tasks, and asyncio's start_server callback (3.11.7, 3.12.0) calls ``task.exception()`` on a
    finished connection task, which raises for a cancelled one. The tasks must end normally."""

    async def main() -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        errors: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        gw = MockGateway("prediction", keys={})
        await gw.start()
        writers = []
        for partial in (b"", b"8=FIXT.1.1\x019=", b""):  # idle, mid-frame, idle
            _, writer = await asyncio.open_connection("127.0.0.1", gw.ports["KalshiNR"])
            writer.write(partial)
            writers.append(writer)
        await asyncio.sleep(0.2)  # every connection task waits for its Logon
        await gw.stop()
        for _ in range(10):  # let the tasks' done callbacks run
            await asyncio.sleep(0)
        for writer in writers:
            writer.close()
        return errors

    errors = asyncio.run(main())
    assert errors == [], [e.get("message") for e in errors]

"""The main job: `kalshi-fix demo` runs the whole story against a real mock gateway (TLS), reads
as a trader would want it (labelled ExecType / OrdStatus, one price precision per product, maker
and taker fees, the cancel's quantities explained), shows the FIX messages with ``--show-fix``
(secrets redacted), and the gateway shuts down without an asyncio error."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from typing import Any

import pytest

from kalshi_fix_sansio.cli.demo import run_demo
from kalshi_fix_sansio.simulator.gateway import MockGateway

PRICE_DECIMALS = {"prediction": 2, "margin": 4}
PRICE = {"prediction": "$0.42", "margin": "$97500.0000"}


def _story_lines(out: str) -> list[str]:
    """The transcript without the FIX lines of --show-fix."""
    return [line for line in out.splitlines() if not line.lstrip().startswith("FIX ")]


def check_story(out: str, product: str) -> None:
    story = "\n".join(_story_lines(out))
    assert "TLS" in story
    assert f"top of book: bid 25 @ {'$0.40' if product == 'prediction' else '$97400.0000'}" in story
    assert f"trader buys 10 at {PRICE[product]}" in story
    # ExecType and OrdStatus with code and meaning; both sides of the cross filled
    labels = re.findall(r"ExecType=(\S+ \([\w ]+\)) +OrdStatus=(\S+ \([\w ]+\))", story)
    assert sorted(labels) == sorted(
        [("0 (New)", "0 (New)")] * 4
        + [("F (Trade)", "2 (Filled)")] * 2  # both sides of the cross
        + [("4 (Canceled)", "4 (Canceled)")] * 3
        + [("8 (Rejected)", "8 (Rejected)")]
    ), labels
    # one price precision per product, everywhere a price is shown (book, orders, fills)
    prices = re.findall(r"@ \$(\d+\.\d+)", story)
    assert len(prices) >= 12 and {len(p.split(".")[1]) for p in prices} == {
        PRICE_DECIMALS[product]
    }, prices
    # the fees are named: the aggressor pays the taker fee, the resting order the maker fee
    taker = re.search(
        r"SELL @ .*\n\s+fill 10 @ \S+ \(LastQty @ LastPx\), taker fee \$\d+\.\d\d "
        r"\(AggressorIndicator=Y",
        story,
    )
    maker = re.search(
        r"BUY  @ .*CumQty 10.*\n\s+fill 10 @ \S+ \(LastQty @ LastPx\), maker fee "
        r"\$\d+\.\d\d \(AggressorIndicator=N",
        story,
    )
    assert taker and maker, story
    # the cancel's quantities: OrderQty 0 explained as CumQty + LeavesQty, 5 canceled
    assert "OrderQty 0  CumQty 0  LeavesQty 0\n" in story
    assert (
        "Kalshi reports OrderQty as CumQty + LeavesQty: after the cancel nothing is open "
        "(LeavesQty 0) and 0 filled (CumQty), so OrderQty reads 0 for an order of 5: "
        "5 contracts canceled"
    ) in story
    assert story.count("Text=ORDER_GROUP_CANCEL") == 2
    assert "Text=EXCEEDED_ORDER_GROUP_RISK_LIMIT" in story
    # the order-group trip said in words, without --show-fix: the limit, what is placed, that
    # the trader triggers the group and what that does, and why the last order is refused
    group = story[story.index("6. an order group") :]
    for words in (
        "an order group caps the contracts its orders may FILL within a rolling 15 seconds",
        "cancels every resting order in it and refuses new ones until the group is reset",
        "trader creates a group with a 5-contract limit (OrderGroupRequest, Create): ",
        "trader places two 2-contract bids in the group at ",
        "the group has used 0 of its 5 contracts",
        "trader triggers the group (OrderGroupRequest, Trigger): Kalshi cancels both resting "
        "orders",
        "trader sends one more bid of 1 contract in the group: Kalshi rejects it with "
        "EXCEEDED_ORDER_GROUP_RISK_LIMIT (OrdRejReason 3) because the group is triggered, not "
        "because of its count",
        "a triggered group takes no order until it is reset (OrderGroupRequest, Reset)",
    ):
        assert words in group, (words, group)
    trigger = group.index("trader triggers the group")
    assert group.index("Text=ORDER_GROUP_CANCEL") > trigger > group.rindex("ExecType=0 (New)")
    assert story.rstrip().endswith("done: every step behaved as Kalshi documents")


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
    check_story(result.stdout, product)
    assert " FIX " not in result.stdout and "8=FIXT" not in result.stdout  # only with --show-fix
    assert result.stderr == ""  # no traceback, no warning, nothing


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_show_fix_prints_every_message_both_ways_with_secrets_redacted(product: str) -> None:
    out = io.StringIO()
    assert run_demo(product, out, show_fix=True) == 0, out.getvalue()
    text = out.getvalue()
    check_story(text, product)  # the story reads the same with the FIX lines in between
    fix = [line.strip() for line in text.splitlines() if line.lstrip().startswith("FIX ")]
    frames = [line.split("  ", 1)[1] for line in fix]
    assert all(f.startswith("8=FIXT.1.1|9=") and f.endswith("|") for f in frames), fix
    assert "\x01" not in text
    for session in ("KalshiMD", "KalshiNR"):
        assert any(f"trader-key >> {session}" in line for line in fix), session
        assert any(f"trader-key << {session}" in line for line in fix), session
    assert any("other-key >> KalshiNR  8=FIXT.1.1|9=" in line and "|35=D|" in line for line in fix)
    # ExecutionReports received: trader 9 (New, Trade; New, Canceled; 2 New, 2 Canceled,
    # Rejected), other 2 (New, Trade): the transcript prints 10 of them, the FIX lines show all
    assert sum("|35=8|" in line and "<< KalshiNR" in line for line in fix) == 11
    # three Logons went out (MD, and NR for each key): each signature is redacted, none shows
    logons = [f for line, f in zip(fix, frames, strict=True) if ">>" in line and "|35=A|" in f]
    assert len(logons) == 3
    assert all(re.search(r"\|95=(\d+)\|96=<redacted \1 bytes>\|", f) for f in logons), logons
    assert re.findall(r"\|0*96=(?!<redacted)", text) == []
    assert re.findall(r"\|0*89=(?!<redacted)", text) == []


def test_the_cli_passes_show_fix_to_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    from kalshi_fix_sansio.cli import build_parser, demo, main

    assert build_parser().parse_args(["demo"]).show_fix is False
    calls: list[tuple[str, bool]] = []

    def fake_run_demo(product: str, out: Any = None, show_fix: bool = False) -> int:
        calls.append((product, show_fix))
        return 0

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    assert main(["demo", "--product", "margin", "--show-fix"]) == 0
    assert main(["demo"]) == 0
    assert calls == [("margin", True), ("prediction", False)]


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
        # every connection task waits for its Logon: the gateway counts a connection in its
        # task's first step, which runs to the first read; turns of the loop, no timer
        while gw._counter < len(writers):
            await asyncio.sleep(0)
        await gw.stop()
        for _ in range(10):  # let the tasks' done callbacks run
            await asyncio.sleep(0)
        for writer in writers:
            writer.close()
        return errors

    errors = asyncio.run(main())
    assert errors == [], [e.get("message") for e in errors]

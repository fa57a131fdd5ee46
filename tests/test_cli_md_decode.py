"""`kalshi-fix md` when a market has no data (unknown ticker, refused subscription, no snapshot
in time) and `kalshi-fix decode` of a real message log keeping each line's time and direction,
against a real mock gateway over TLS (the fixture of `test_cli_kill`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from test_cli_kill import (
    SYMBOL,
    Live,
    live,  # noqa: F401 - `live` is a fixture
    rest,
)

CLI = [sys.executable, "-m", "kalshi_fix_sansio.cli"]


def md(gw: Live, *args: str) -> subprocess.CompletedProcess[str]:
    where = [
        "--endpoint",
        f"127.0.0.1:{gw.gateway.ports['KalshiMD']}",
        "--pinned-cert",
        str(gw.cert),
    ]
    return subprocess.run(
        [*CLI, "md", *where, *args],
        env=gw.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_md_on_an_unknown_ticker_says_so_and_exits_1(live: Live) -> None:  # noqa: F811
    result = md(live, "--seconds", "1", SYMBOL, "HIGHNY-XXX")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == f"{SYMBOL}: bid 7 @ $0.40 | ask 9 @ $0.45\n"  # no empty book shown
    first, last = result.stderr.splitlines()
    assert first.startswith(
        "kalshi-fix md: HIGHNY-XXX: empty snapshot (no bids, no offers): no such market"
    )
    assert "Kalshi answers an unknown ticker with an empty snapshot" in first
    assert (
        last
        == "kalshi-fix md: HIGHNY-XXX: no bids or offers in 1 s: no such market, or nothing rests on it"
    )
    assert md(live, "--seconds", "1", SYMBOL).returncode == 0  # a listed market alone: success


def test_md_of_only_unknown_tickers_without_seconds_exits_1_instead_of_streaming_forever(
    live: Live,  # noqa: F811
) -> None:
    result = md(live, "--timeout", "0.5", "NOPE-1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    first, last = result.stderr.splitlines()
    assert first.startswith("kalshi-fix md: NOPE-1: empty snapshot (no bids, no offers)")
    assert last == (
        "kalshi-fix md: NOPE-1: empty snapshot and no bid or offer within 0.5 s (--timeout): no "
        "such market (Kalshi answers an unknown ticker with an empty snapshot, not a reject), or "
        "nothing rests on it: check the ticker (--seconds N watches an empty book for N seconds)"
    )


def test_md_names_a_refused_subscription(live: Live) -> None:  # noqa: F811
    many = [f"SYM-{i}" for i in range(1001)]  # over Kalshi's 1,000 symbols per request
    result = md(live, "--seconds", "30", *many)
    assert result.returncode == 1 and result.stdout == "", result.stderr
    assert result.stderr == (
        "kalshi-fix md: SYM-0, SYM-1, SYM-2 and 998 more: Kalshi refused the subscription: more than "
        "1000 symbols in one request (MDReqRejReason 2 (Insufficient bandwidth))\n"
    )


def test_md_without_a_snapshot_in_time_exits_1(live: Live) -> None:  # noqa: F811
    live.gateway.faults.delay = 1.0  # every write held a second: the snapshot comes too late
    result = md(live, "--timeout", "0.2", SYMBOL)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"kalshi-fix md: {SYMBOL}: no snapshot within 0.2 s of subscribing: Kalshi sent no market "
        "data for it (--timeout sets the wait)\n"
    )


def test_decode_keeps_the_time_and_direction_of_each_log_line(live: Live, tmp_path: Path) -> None:  # noqa: F811
    log = tmp_path / "trading.log"
    with live.client(message_log_path=log).session("KalshiNR") as trading:
        trading.place(rest("log-1"))
    lines = log.read_text(encoding="utf-8").splitlines()
    stamps = [line.split(" ", 3)[:3] for line in lines]  # time, IN|OUT, session id
    assert [s[1] for s in stamps] == ["OUT", "IN", "OUT", "IN", "OUT", "IN"]
    result = subprocess.run(
        [*CLI, "decode", str(log)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    titles = [line for line in result.stdout.splitlines() if line.startswith("#")]
    arrows = {"OUT": "cli-key >> KalshiNR", "IN": "cli-key << KalshiNR"}
    names = ["Logon", "Logon", "NewOrderSingle", "ExecutionReport", "Logout", "Logout"]
    for n, (title, (time, direction, session), name) in enumerate(
        zip(titles, stamps, names, strict=True), 1
    ):
        assert session == "KalshiNR/cli-key"
        assert re.fullmatch(
            rf"#{n} {re.escape(time)} {arrows[direction]} {name} \(35=\w\) at byte \d+.*", title
        )
    as_json = subprocess.run(
        [*CLI, "decode", "--json", str(log)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(r["time"], r["direction"], r["session"]) for r in records] == [
        tuple(s) for s in stamps
    ]
    # the same frames without the log's prefix print as before: no time, no direction
    bare = tmp_path / "bare.fix"
    bare.write_text(
        "\n".join(line.split(" ", 3)[3] for line in lines[2:4]) + "\n", encoding="utf-8"
    )
    plain = subprocess.run(
        [*CLI, "decode", str(bare)], capture_output=True, text=True, timeout=60, check=False
    )
    assert [line for line in plain.stdout.splitlines() if line.startswith("#")] == [
        "#1 NewOrderSingle (35=D) at byte 0",
        f"#2 ExecutionReport (35=8) at byte {len(lines[2].split(' ', 3)[3]) + 1}",
    ]

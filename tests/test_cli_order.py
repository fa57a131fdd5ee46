"""`kalshi-fix order` and `kalshi-fix cancel` against a real mock gateway over TLS (the fixture
of `test_cli_kill`): one order placed, refused before the wire, dry-run, canceled."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli_kill import (
    SYMBOL,
    Live,
    live,  # noqa: F401 - `live` is a fixture
    rest,
)

from kalshi_fix_sansio.trading.builders import Requests

CLI = [sys.executable, "-m", "kalshi_fix_sansio.cli"]


def run(gw: Live, *args: str, session: str = "KalshiNR") -> subprocess.CompletedProcess[str]:
    """``kalshi-fix ARGS`` in a process, pointed at the gateway's ``session`` port."""
    where = [
        "--endpoint",
        f"127.0.0.1:{gw.gateway.ports[session]}",
        "--pinned-cert",
        str(gw.cert),
    ]
    return subprocess.run(
        [*CLI, *args, *where], env=gw.env, capture_output=True, text=True, timeout=60, check=False
    )


def offline(*args: str) -> subprocess.CompletedProcess[str]:
    """``kalshi-fix ARGS`` in a process with no credentials and no gateway to reach."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


ORDER = ["order", "--symbol", SYMBOL, "--side", "buy", "--qty", "2", "--price", "0.41"]


def test_order_rests_on_the_gateway_and_prints_kalshis_answer(live: Live) -> None:  # noqa: F811
    result = run(live, *ORDER, "--cl-ord-id", "cli-1")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert re.fullmatch(
        rf"cli-1: OrdStatus=0 \(New\)  OrderID [-0-9a-f]{{36}}  buy 2 {SYMBOL} @ \$0\.41  "
        r"CumQty 0  LeavesQty 2",
        line,
    ), line
    assert live.open_orders() == ["cli-1"]  # logged out, the order still rests
    assert live.gateway.connected() == []


def test_an_order_that_fills_shows_what_filled(live: Live) -> None:  # noqa: F811
    result = run(live, *ORDER[:-1], "0.50", "--tif", "ioc", "--cl-ord-id", "take-1")
    assert result.returncode == 0, result.stderr
    assert "take-1: OrdStatus=2 (Filled)" in result.stdout
    assert "CumQty 2  AvgPx $0.45  LeavesQty 0" in result.stdout  # filled at the seeded ask
    assert live.open_orders() == []


@pytest.mark.parametrize(
    ("limit", "value", "named"),
    [("--max-qty", "1", "max_order_qty=1"), ("--max-notional", "0.50", "max_order_notional=0.50")],
)
def test_a_limit_refuses_before_the_wire(live: Live, limit: str, value: str, named: str) -> None:  # noqa: F811
    result = run(live, *ORDER, "--cl-ord-id", "big-1", limit, value)
    error = one_line(result, 1)
    assert (
        f"refused before sending ({limit})" in error
        and named in error
        and "nothing was sent" in error
    )
    assert result.stdout == ""
    assert live.open_orders() == []
    within = run(live, *ORDER, "--cl-ord-id", "ok-1", limit, "2")  # the same limit, not reached
    assert within.returncode == 0, within.stderr
    assert live.open_orders() == ["ok-1"]


def test_kalshis_reject_of_an_order_is_one_line_with_its_reason(live: Live) -> None:  # noqa: F811
    result = run(
        live,
        "order",
        "--symbol",
        "NOPE-26JAN01",
        "--side",
        "buy",
        "--qty",
        "1",
        "--price",
        "0.41",
        "--cl-ord-id",
        "nope-1",
    )
    error = one_line(result, 1)
    assert "Kalshi rejected nope-1: MARKET_NOT_FOUND (OrdRejReason 1 (Unknown symbol)" in error
    assert result.stdout == ""


def test_no_answer_in_time_exits_1_and_says_the_order_may_be_live(live: Live) -> None:  # noqa: F811
    live.gateway.faults.delay = 1.0  # every write held a second: the acknowledgement comes late
    result = run(live, *ORDER, "--cl-ord-id", "slow-1", "--timeout", "0.2")
    error = one_line(result, 1)
    assert "no answer from Kalshi within 0.2 s (--timeout): order slow-1 may be live" in error
    assert result.stdout == ""
    assert live.open_orders() == ["slow-1"]  # it did reach the exchange


@pytest.mark.parametrize(
    ("product", "price", "shown", "wire"),
    [("prediction", "0.41", "$0.41", "|44=41|"), ("margin", "19.5", "$19.5000", "|44=19.5|")],
)
def test_dry_run_prints_the_frame_and_connects_to_nothing(
    product: str, price: str, shown: str, wire: str
) -> None:
    result = offline(
        "order",
        "--product",
        product,
        "--symbol",
        "MKT-1",
        "--side",
        "sell",
        "--qty",
        "3",
        "--price",
        price,
        "--cl-ord-id",
        "dry-1",
        "--max-qty",
        "5",
        "--dry-run",
    )
    assert result.returncode == 0, result.stderr  # no credentials, no gateway: nothing connected
    summary, frame = result.stdout.splitlines()
    assert summary.startswith(f"dry run, nothing sent: sell 3 MKT-1 @ {shown} GTC, ClOrdID dry-1;")
    assert f"NewOrderSingle for KalshiNR ({product}, Kalshi demo), " in summary
    assert frame.startswith("8=FIXT.1.1|") and re.search(r"\|10=\d{3}\|$", frame)
    for field in (
        "|35=D|",
        "|49=YOUR-KEY-ID|",
        "|56=KalshiNR|",
        "|11=dry-1|",
        "|38=3|",
        wire,
        "|54=2|",
        "|55=MKT-1|",
        "|59=1|",
    ):
        assert field in frame, (field, frame)
    over = offline(
        "order",
        "--symbol",
        "MKT-1",
        "--side",
        "buy",
        "--qty",
        "6",
        "--price",
        "0.41",
        "--max-qty",
        "5",
        "--dry-run",
    )
    assert "refused before sending (--max-qty)" in one_line(over, 1) and over.stdout == ""


def test_bad_values_are_named_by_their_flag() -> None:
    price = one_line(offline(*ORDER[:-1], "1.30", "--dry-run"), 2)
    assert "kalshi-fix order: --price: 35=D Price(44): prediction prices are 1-99 cents" in price
    side = one_line(
        offline("order", "--symbol", "X", "--side", "no", "--qty", "1", "--price", "0.3"), 2
    )
    assert "--side" in side and "buy No at P is --side sell --price 1-P" in side
    gtd = one_line(offline(*ORDER, "--tif", "gtd", "--dry-run"), 2)
    assert "--tif gtd takes --expire-time" in gtd
    cancel = one_line(offline("cancel", "--cl-ord-id", "x-1", "--dry-run"), 2)
    assert "--symbol and --side are required without --from-log" in cancel


def test_cancel_takes_the_placed_order_off_the_book(live: Live) -> None:  # noqa: F811
    assert run(live, *ORDER, "--cl-ord-id", "cli-2").returncode == 0
    assert live.open_orders() == ["cli-2"]
    dry = run(
        live, "cancel", "--cl-ord-id", "cli-2", "--symbol", SYMBOL, "--side", "buy", "--dry-run"
    )
    assert dry.returncode == 0 and "|35=F|" in dry.stdout and "|41=cli-2|" in dry.stdout
    assert live.open_orders() == ["cli-2"]  # the dry run sent nothing
    result = run(live, "cancel", "--cl-ord-id", "cli-2", "--symbol", SYMBOL, "--side", "buy")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        rf"cli-2: OrdStatus=4 \(Canceled\)  OrderID [-0-9a-f]{{36}}  buy {SYMBOL} @ \$0\.41  "
        r"CumQty 0  LeavesQty 0\n",
        result.stdout,
    ), result.stdout
    assert live.open_orders() == []


def test_cancel_of_an_unknown_order_shows_kalshis_reject(live: Live) -> None:  # noqa: F811
    result = run(live, "cancel", "--cl-ord-id", "never-sent", "--symbol", SYMBOL, "--side", "sell")
    error = one_line(result, 1)
    assert "Kalshi rejected the cancel of never-sent (ClOrdID " in error
    assert "NOT_FOUND (CxlRejReason 1 (Unknown order); OrderCancelReject 35=9)" in error
    assert result.stdout == ""


def test_cancel_finds_the_order_in_the_trading_process_log(live: Live, tmp_path: Path) -> None:  # noqa: F811
    log = tmp_path / "trading.log"
    with live.client(message_log_path=log).session("KalshiNR") as trading:
        trading.place(rest("left-1"))
        done = trading.place(rest("done-1"))
        trading.cancel(Requests("prediction", "KalshiNR").cancel(done))
    assert live.open_orders() == ["left-1"]
    final = run(live, "cancel", "--cl-ord-id", "done-1", "--from-log", str(log))
    assert "done-1 is canceled in" in one_line(final, 1)
    missing = run(live, "cancel", "--cl-ord-id", "other-1", "--from-log", str(log))
    assert "no order with ClOrdID 'other-1'" in one_line(missing, 2)
    result = run(live, "cancel", "--cl-ord-id", "left-1", "--from-log", str(log))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("left-1: OrdStatus=4 (Canceled)")
    assert live.open_orders() == []


def test_numbers_in_other_scripts_a_port_out_of_range_and_a_past_expiry_are_refused(
    live: Live,  # noqa: F811
) -> None:
    """Python reads a full-width ``１`` as 1: a command-line number is ASCII or refused; a port
    over 65535 is called out of range; a GTD order that expired is refused before sending, even
    with a gateway to send it to (exit 2, one line, nothing on the book)."""
    for flag, value in (("--qty", "\uff11"), ("--price", "0.\u0664\u0661")):
        args = {"--qty": "2", "--price": "0.41", flag: value}
        refused = one_line(
            offline(
                "order",
                "--symbol",
                SYMBOL,
                "--side",
                "buy",
                *(x for kv in args.items() for x in kv),
            ),
            2,
        )
        assert f"argument {flag}: {flag} takes a number (ASCII digits), got {value!r}" in refused
    timeout = one_line(offline(*ORDER, "--timeout", "\uff15", "--dry-run"), 2)
    assert "--timeout takes seconds > 0 (ASCII digits), got '\uff15'" in timeout
    port = one_line(offline(*ORDER, "--endpoint", "127.0.0.1:99999"), 2)
    assert port.endswith("--endpoint '127.0.0.1:99999': port 99999 is out of range: 1 to 65535\n")
    wide = one_line(offline(*ORDER, "--endpoint", "127.0.0.1:\uff18\uff12\uff12\uff18"), 2)
    assert "(PORT in ASCII digits)" in wide
    past = ["--tif", "gtd", "--expire-time", "2020-01-01T00:00:00Z"]
    for extra in (["--dry-run"], []):
        expired = one_line(run(live, *ORDER, *past, "--cl-ord-id", "gtd-old", *extra), 2)
        assert expired.startswith(
            "kalshi-fix order: --expire-time 2020-01-01T00:00:00Z is in the past (now "
        ), expired
        assert expired.endswith("a GTD order expires after it is sent; nothing was sent\n")
    assert live.open_orders() == []
    later = ["--tif", "gtd", "--expire-time", "2099-01-01T00:00:00Z"]
    assert run(live, *ORDER, *later, "--cl-ord-id", "gtd-new").returncode == 0
    assert live.open_orders() == ["gtd-new"]
    off = run(live, "cancel", "--cl-ord-id", "gtd-new", "--symbol", SYMBOL, "--side", "buy")
    assert off.returncode == 0 and live.open_orders() == []


def test_a_dry_run_names_where_it_would_connect() -> None:
    """Not "(prediction, demo)" when --endpoint names a mock gateway: the host it names."""
    for where, said in (
        (
            ["--endpoint", "127.0.0.1:18228"],
            "not Kalshi: the gateway at 127.0.0.1:18228 given by --endpoint",
        ),
        (
            ["--endpoint", "tcp://[::1]:18228"],
            "not Kalshi: the gateway at [::1]:18228 given by --endpoint, plain TCP",
        ),
        (["--env", "production"], "Kalshi production"),
    ):
        result = offline(*ORDER, "--dry-run", *where)
        assert result.returncode == 0, result.stderr
        assert f"NewOrderSingle for KalshiNR (prediction, {said}), " in result.stdout

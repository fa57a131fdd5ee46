"""Every script in examples/ runs, as a user runs it, against the mock gateway.

Most tests start a `MockGateway` here (TLS, the product's well-known mock API key written to a
file) and run the script as a separate process with the options a user gives for Kalshi
(``--key-id``, ``--key-file``, ``--pinned-cert``, ``--endpoint TYPE=HOST:PORT``): the code path
is the one that talks to Kalshi, and the test can look at the exchange while the script runs
and after it ends. Others use the script's own ``--mock`` switch. Each script bounds its own
run time; each test takes a few seconds.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.cli import main as kalshi_fix
from kalshi_fix_sansio.simulator.data.recording import check_recording
from kalshi_fix_sansio.simulator.gateway import (
    Exchange,
    MockGateway,
    mock_api_key,
    write_mock_api_key,
)
from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_MARKETS, SAMPLE_RECORDING
from kalshi_fix_sansio.trading.tracker import OrderTracker

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SYMBOL = {"prediction": "HIGHNY-23DEC31", "margin": "BTC-PERP"}
BOOK = {
    "prediction": ([(Decimal("0.40"), Decimal(25))], [(Decimal("0.45"), Decimal(30))]),
    "margin": ([(Decimal("19.4"), Decimal(25))], [(Decimal("19.6"), Decimal(30))]),
}
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


class Gateway:
    """A TLS mock gateway and the command-line options that point a script at it."""

    def __init__(self, product: str, tmp: Path, *, exchange: Exchange | None = None) -> None:
        self.product = product
        self.key_id, _, public = mock_api_key(product)
        self.key_file = write_mock_api_key(product, tmp)
        # a second API key (Kalshi allows one connection per key): the other product's mock key
        other = "margin" if product == "prediction" else "prediction"
        _, _, md_public = mock_api_key(other)
        self.md_key_file = write_mock_api_key(other, tmp)
        keys = {self.key_id: public, "md-key": md_public}
        self.gw = MockGateway(product, keys=keys, tls=True)
        if exchange is not None:
            self.gw.exchange = exchange
        # every message the exchange handles is counted and told (wait_for waits on it)
        self.changed = threading.Condition()
        self.handled: list[str] = []
        handle = self.gw.exchange.handle

        def handle_and_tell(session_id: str, message: Any, now: float) -> Any:
            try:
                return handle(session_id, message, now)
            finally:
                with self.changed:
                    self.handled.append(message.MSG_TYPE)
                    self.changed.notify_all()

        self.gw.exchange.handle = handle_and_tell  # type: ignore[method-assign]
        self.gw.start_in_thread()
        bids, asks = BOOK[product]
        self.gw.seed_market(SYMBOL[product], bids=bids, asks=asks)

    def args(self, *session_types: str, md_key: bool = False) -> list[str]:
        args = [
            "--product",
            self.product,
            "--key-id",
            self.key_id,
            "--key-file",
            str(self.key_file),
            "--pinned-cert",
            str(self.gw.certificate),
        ]
        for name in session_types:
            args += ["--endpoint", f"{name}=127.0.0.1:{self.gw.ports[name]}"]
        if md_key:
            args += ["--md-key-id", "md-key", "--md-key-file", str(self.md_key_file)]
        return args

    def open_orders(self) -> list[Any]:
        return self.gw.call(lambda: self.gw.exchange.open_orders(self.key_id))

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
        """Wait until ``condition()`` holds, checking it after each message the exchange
        handles (no polling)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.changed:
                count = len(self.handled)
            if condition():  # outside the lock: it may ask the gateway's loop (`call`)
                return
            with self.changed:
                remaining = deadline - time.monotonic()
                if not self.changed.wait_for(lambda n=count: len(self.handled) > n, remaining):
                    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(params=["prediction", "margin"])
def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Gateway]:
    gw = Gateway(request.param, tmp_path)
    try:
        yield gw
    finally:
        gw.gw.close()


def run(script: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(EXAMPLES / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def load(script: str) -> ModuleType:
    """Import an example by path (its directory on sys.path for the shared `_support`)."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), EXAMPLES / script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLES))


def test_there_are_the_five_examples_with_a_readme() -> None:
    assert SCRIPTS == [
        "asyncio_market_maker.py",
        "blocking_order_entry.py",
        "dropcopy_reconciler.py",
        "selectors_loop.py",
        "trio_md_recorder.py",
    ]
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_example_says_what_is_missing_without_credentials(script: str) -> None:
    env_free = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env_free,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "missing --key-id and --key-file" in result.stderr
    assert "Traceback" not in result.stderr


def test_blocking_order_entry_places_takes_and_cancels(gateway: Gateway) -> None:
    take = "0.45" if gateway.product == "prediction" else "19.6"
    result = run("blocking_order_entry.py", *gateway.args("KalshiNR"), "--take", take)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"logged on to KalshiNR as {gateway.key_id}" in out
    assert "-> NEW (OrderID " in out and "IOC -> FILLED, filled 2" in out
    assert "-> CANCELED (filled 0 of 2)" in out and out.rstrip().endswith("logged out")
    assert gateway.open_orders() == []  # the resting order is gone from the exchange
    position = gateway.gw.call(
        lambda: gateway.gw.exchange.position(SYMBOL[gateway.product], gateway.key_id)
    )
    assert position == 2 and "position in" in out and ": 2 contracts" in out


def test_blocking_order_entry_with_its_own_mock_gateway() -> None:
    result = run("blocking_order_entry.py", "--mock", "--product", "margin")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BTC-PERP @ $15.0000 -> NEW" in result.stdout and "-> CANCELED" in result.stdout


def test_market_maker_quotes_requotes_and_cancels_on_shutdown(tmp_path: Path) -> None:
    gateway = Gateway("prediction", tmp_path)
    try:
        proc = start(
            "asyncio_market_maker.py",
            *gateway.args("KalshiNR", "KalshiMD", md_key=True),
            "--seconds",
            "5",
        )

        def quotes() -> list[tuple[str, Decimal]]:
            return sorted((o.side, o.price) for o in gateway.open_orders())

        # around the mid of 0.40 / 0.45 (0.425), one cent away, on the cent, in one group
        gateway.wait_for(
            lambda: quotes() == [("1", Decimal("0.41")), ("2", Decimal("0.44"))], "quotes"
        )
        groups = {o.order_group_id for o in gateway.open_orders()}
        assert len(groups) == 1 and None not in groups
        # a better bid moves the mid to 0.435: the quotes are replaced (same orders, new prices)
        order_ids = {o.order_id for o in gateway.open_orders()}
        gateway.gw.seed_market("HIGHNY-23DEC31", bids=[(Decimal("0.42"), Decimal(10))])
        gateway.wait_for(
            lambda: quotes() == [("1", Decimal("0.42")), ("2", Decimal("0.45"))], "requotes"
        )
        assert {o.order_id for o in gateway.open_orders()} == order_ids
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, out + err
        assert gateway.open_orders() == []  # cancelled on shutdown
        assert out.count("canceled ") == 2 and "deleted order group" in out
        assert "quote bid 5 @ $0.41" in out and "requote bid 5 @ $0.42" in out
    finally:
        gateway.gw.close()


def test_market_maker_with_its_own_mock_gateway() -> None:
    result = run("asyncio_market_maker.py", "--mock", "--product", "margin", "--seconds", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "quote bid 5 @ $19.4500" in out and "quote ask 5 @ $19.5500" in out
    assert out.count("canceled ") == 2 and out.rstrip().endswith("logged out")


def test_recorder_writes_frames_that_kalshi_fix_decode_reads(
    gateway: Gateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "md.log"
    proc = start(
        "trio_md_recorder.py",
        *gateway.args("KalshiMD"),
        "--messages",
        "3",
        "--seconds",
        "20",
        "--out",
        str(out_file),
    )
    # the subscription is handled (its snapshot goes out first) before the book changes
    gateway.wait_for(lambda: "V" in gateway.handled, "the subscription")
    bids, _ = BOOK[gateway.product]
    for step in (1, 2):  # two more bid levels: two incremental refreshes
        price = bids[0][0] - Decimal(step) / 100
        gateway.gw.seed_market(SYMBOL[gateway.product], bids=[(price, Decimal(5))])
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    header, *lines = out_file.read_text().splitlines()
    symbol = SYMBOL[gateway.product]
    assert header == f"# kalshi-fix recording v1 product={gateway.product} markets={symbol}"
    assert [line.split("|35=")[1].split("|")[0] for line in lines] == ["W", "X", "X"], lines
    assert all(
        line.split(" ", 3)[1:3] == ["IN", f"KalshiMD/{gateway.key_id}"]
        and line.split(" ", 3)[3].startswith("8=FIXT.1.1|9=")
        for line in lines
    )
    assert check_recording(out_file, product=gateway.product).messages == 3
    assert "recorded 3 messages" in err
    assert "1 MarketDataSnapshotFullRefresh (35=W), 2 MarketDataIncrementalRefresh (35=X)" in err
    capsys.readouterr()
    assert kalshi_fix(["decode", "--dialect", gateway.product, str(out_file)]) == 0
    decoded = capsys.readouterr().out
    assert decoded.count("MarketDataIncrementalRefresh (35=X)") == 2, decoded


def test_recorder_with_its_own_mock_gateway_stops_after_n_messages() -> None:
    result = run("trio_md_recorder.py", "--mock", "--messages", "1", "--seconds", "20")
    assert result.returncode == 0, result.stderr
    frames = [line for line in result.stdout.splitlines() if "8=FIXT" in line]
    assert len(frames) == 1 and "|35=W|" in frames[0] and "|55=HIGHNY-23DEC31|" in frames[0]
    assert "recorded 1 messages" in result.stderr


def test_recorder_stops_after_n_seconds(gateway: Gateway, tmp_path: Path) -> None:
    began = time.monotonic()
    result = run("trio_md_recorder.py", *gateway.args("KalshiMD"), "--seconds", "1")
    assert result.returncode == 0, result.stderr
    assert 1 <= time.monotonic() - began < 10
    assert "recorded 1 messages in 1." in result.stderr  # the snapshot, then nothing for 1 s


def test_reconciler_matches_the_replay(gateway: Gateway) -> None:
    take = "0.45" if gateway.product == "prediction" else "19.6"
    result = run("dropcopy_reconciler.py", *gateway.args("KalshiNR", "KalshiDC"), "--take", take)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # rest New, IOC New + Trade, Canceled: four reports replayed, both orders match
    assert "4 ExecutionReports" in out
    assert out.count(": match (") == 2 and ": match (FILLED, filled 2" in out
    assert ": match (CANCELED, filled 0)" in out
    assert out.rstrip().endswith("reconciled: every order matches")


def test_reconciler_reports_a_refused_replay(tmp_path: Path) -> None:
    gateway = Gateway("prediction", tmp_path, exchange=Exchange("prediction", replay_allowlist=()))
    try:
        result = run("dropcopy_reconciler.py", *gateway.args("KalshiNR", "KalshiDC"))
        assert result.returncode == 1, result.stdout + result.stderr
        assert (
            "DC: replay refused (EventResendReject, reason <EventResendRejectReason."
            "NOT_ENABLED: 5>)" in result.stdout
        )
    finally:
        gateway.gw.close()


def _report(cl: str, exec_id: str, exec_type: Any, status: Any, cum: int, **kw: Any) -> Any:
    return p.ExecutionReport(
        cl_ord_id=cl,
        order_id=f"id-{cl}",
        exec_id=exec_id,
        exec_type=exec_type,
        ord_status=status,
        side=p.Side.BUY,
        symbol="HIGHNY-23DEC31",
        order_qty=Decimal(2),
        price=Decimal("0.45"),
        cum_qty=Decimal(cum),
        leaves_qty=Decimal(2 - cum),
        avg_px=Decimal("0.45"),
        **kw,
    )


def test_reconciler_names_each_difference() -> None:
    differences = load("dropcopy_reconciler.py").differences
    new = _report("a", "1;1", p.ExecType.NEW, p.OrdStatus.NEW, 0)
    fill = _report(
        "a",
        "1;2",
        p.ExecType.TRADE,
        p.OrdStatus.FILLED,
        2,
        last_qty=Decimal(2),
        last_px=Decimal("0.45"),
    )
    ours, replay = OrderTracker(), OrderTracker()
    ours.on_messages([new, fill, _report("b", "1;3", p.ExecType.NEW, p.OrdStatus.NEW, 0)])
    replay.on_messages([new, _report("c", "1;4", p.ExecType.NEW, p.OrdStatus.NEW, 0)])
    lines = differences(ours, replay, "prediction")
    assert lines == [
        (
            False,
            "a: status FILLED here, NEW replayed; filled 2 here, 0 replayed; fills ['1;2'] "
            "here, [] replayed (FILLED, filled 2)",
        ),
        (False, "b: MISSING from the replay (NEW)"),
        (False, "c: not seen by this session (NEW, filled 0): placed elsewhere"),
    ]
    same = OrderTracker()
    same.on_messages([new, fill])
    assert differences(same, same, "prediction") == [(True, "a: match (FILLED, filled 2)")]


def test_selectors_loop_streams_the_book_and_logs_out(gateway: Gateway) -> None:
    result = run("selectors_loop.py", *gateway.args("KalshiMD"), "--messages", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    bid, ask = ("$0.40", "$0.45") if gateway.product == "prediction" else ("$19.4000", "$19.6000")
    assert result.stdout.splitlines() == [
        f"logged on to KalshiMD as {gateway.key_id}",
        f"{SYMBOL[gateway.product]}: bid 25 @ {bid} | ask 30 @ {ask}",
        "logged out (by us)",
    ]
    assert gateway.gw.connected() == []  # released before the gateway answered the Logout


def test_selectors_loop_reports_a_refused_logon(gateway: Gateway) -> None:
    args = gateway.args("KalshiMD")
    args[args.index("--key-id") + 1] = "unknown-key"
    result = run("selectors_loop.py", *args, "--messages", "1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("Logon refused: unknown API key"), result.stderr


def test_selectors_loop_with_its_own_mock_gateway() -> None:
    result = run("selectors_loop.py", "--mock", "--messages", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "HIGHNY-23DEC31: bid 25 @ $0.40 | ask 30 @ $0.45" in result.stdout


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("PT=127.0.0.1:8228", "margin has no KalshiPT session (NR, DC, RT, MD)"),
        ("NR=127.0.0.1", "--endpoint takes TYPE=HOST:PORT"),
        ("NR=127.0.0.1:99999", "Endpoint.port must be an int in 1-65535"),
    ],
)
def test_a_bad_endpoint_is_one_line_naming_it(endpoint: str, message: str, tmp_path: Path) -> None:
    key_file = write_mock_api_key("margin", tmp_path)
    result = run(
        "blocking_order_entry.py",
        "--product",
        "margin",
        "--key-id",
        "k",
        "--key-file",
        str(key_file),
        "--endpoint",
        endpoint,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("blocking_order_entry.py: --endpoint "), result.stderr
    assert message in result.stderr and len(result.stderr.splitlines()) == 1


def test_blocking_order_entry_leaves_nothing_open_when_it_fails(gateway: Gateway) -> None:
    # an IOC price the builders refuse (prediction: >= 1.00; margin: off the tick) after the
    # resting order is placed: the script fails, and the kill switch cancels what it placed
    take = "1.5" if gateway.product == "prediction" else "19.55555"
    result = run("blocking_order_entry.py", *gateway.args("KalshiNR"), "--take", take)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "-> NEW (OrderID " in result.stdout and "Price" in result.stderr
    assert "Traceback" not in result.stderr
    assert "canceled " in result.stdout and ": CANCELED" in result.stdout
    assert gateway.open_orders() == []  # nothing left on the exchange


def test_market_maker_paper_trades_the_shipped_recording(tmp_path: Path) -> None:
    """The documented paper-trading command, against the shipped sample, in seconds."""
    recording = tmp_path / "paper-sample.log"
    shutil.copy(SAMPLE_RECORDING, recording)
    result = run(
        "asyncio_market_maker.py",
        "--replay",
        str(recording),
        "--as-fast-as-possible",
        "--seconds",
        "5",  # the sample replays in about 0.5 s; on a loaded machine 2 s fell short of its end
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "quote bid 5 @ " in out and out.count("logged out") == 1
    report = json.loads((tmp_path / "paper-sample.log.paper.json").read_text())
    assert report["end"] == "end of the recording"
    market = next(m for m in report["markets"] if m["symbol"] == SAMPLE_MARKETS[0])
    assert market["fills"] == out.count("\nfill "), out  # every fill printed is counted
    assert f"total{' ' * 2}" in out and f"report: {recording}.paper.json" in out
    assert (tmp_path / "paper-sample.log.paper.svg").read_text().startswith("<svg")

"""`kalshi-fix mock-gateway` as a real process: TLS, keys, admin console, faults, and the client
command lines it prints working as printed; every way of pointing a client at the wrong place
is one line that says what to do."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from cli_process import child, signal_once_started
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kalshi_fix_sansio import Backoff
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.adapters.blocking import FixClient
from kalshi_fix_sansio.client import Endpoint
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.auth import Ed25519Signer
from kalshi_fix_sansio.session.events import ApplicationMessage
from kalshi_fix_sansio.simulator.gateway import (
    MockGateway,
    mock_api_key,
    self_signed,
    write_mock_api_key,
)

CLI = [sys.executable, "-m", "kalshi_fix_sansio.cli"]
SESSIONS = {"KalshiNR", "KalshiDC", "KalshiRT", "KalshiPT", "KalshiRFQ", "KalshiMD"}


class Gateway:
    """A running ``kalshi-fix mock-gateway`` process and what it printed on start."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "mock-gateway", "--port-base", "0", "--seconds", "90", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.banner: list[str] = []
        while not self.banner or not self.banner[-1].startswith("admin commands"):
            line = self.proc.stdout.readline()
            assert line, f"the gateway stopped: {self.banner} {self.stop()}"
            self.banner.append(line.rstrip("\n"))
        self.ports = dict(re.findall(r"(Kalshi\w+)=(\d+)", self.banner[0]))

    def command(self, name: str) -> str:
        return next(line.strip() for line in self.banner if f"kalshi-fix {name} " in line)

    def admin(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        _, err = self.proc.communicate(timeout=10)
        return err


@pytest.fixture
def tls_gateway() -> Iterator[Gateway]:
    gw = Gateway("--market", "MKT")
    try:
        yield gw
    finally:
        assert "Traceback" not in gw.stop()


@pytest.fixture
def plain_gateway() -> Iterator[Gateway]:
    gw = Gateway("--plain")
    try:
        yield gw
    finally:
        assert "Traceback" not in gw.stop()


def run_printed(
    line: str, *edits: tuple[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a command line the gateway printed (``VAR=value ... kalshi-fix ...``), edited."""
    for old, new in edits:
        assert re.search(old, line), (old, line)
        line = re.sub(old, new, line)
    words = shlex.split(line)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == "kalshi-fix"
    return subprocess.run(
        [*CLI, *words[1:]], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


def test_printed_command_lines_work_as_printed(tls_gateway: Gateway) -> None:
    gw = tls_gateway
    assert set(gw.ports) == SESSIONS and "(TLS)" in gw.banner[0]
    assert any(line.startswith("TLS certificate (clients pin it): ") for line in gw.banner)
    logon = gw.command("logon-test")
    assert f"--endpoint 127.0.0.1:{gw.ports['KalshiNR']} --pinned-cert " in logon
    assert logon.startswith("KALSHI_KEY_ID=mock-prediction-key KALSHI_PRIVATE_KEY_PATH=")
    result = run_printed(logon)
    assert result.returncode == 0, result.stderr
    assert (
        f"logged on to KalshiNR (prediction, not Kalshi: the gateway at 127.0.0.1:"
        f"{gw.ports['KalshiNR']} given by --endpoint) as mock-prediction-key"
    ) in result.stdout
    md = run_printed(gw.command("md"), (r"MKT$", "MKT --seconds 1"))
    assert md.returncode == 0, md.stderr
    assert "MKT: bid 100 @ $0.49 | ask 100 @ $0.51" in md.stdout
    assert_order_and_cancel_work_as_printed(gw, "MKT", "$0.45")


def assert_order_and_cancel_work_as_printed(gw: Gateway, symbol: str, price: str) -> None:
    """The banner's ``order`` line rests an order under the seeded book (it stays after the
    command logs out), and its ``cancel`` line takes that order off."""
    order = gw.command("order")
    assert order.startswith(gw.command("logon-test").split(" kalshi-fix ")[0] + " kalshi-fix ")
    assert f"--endpoint 127.0.0.1:{gw.ports['KalshiNR']} --pinned-cert " in order
    placed = run_printed(order)
    assert placed.returncode == 0, placed.stderr
    assert placed.stdout.startswith("order-1: OrdStatus=0 (New)  OrderID ")
    assert f"buy 1 {symbol} @ {price}  CumQty 0  LeavesQty 1" in placed.stdout
    canceled = run_printed(gw.command("cancel"))
    assert canceled.returncode == 0, canceled.stderr
    assert canceled.stdout.startswith("order-1: OrdStatus=4 (Canceled)  OrderID ")
    assert "LeavesQty 0" in canceled.stdout


def test_margin_order_and_cancel_lines_work_as_printed() -> None:
    gw = Gateway("--product", "margin", "--market", "PERP")
    try:
        assert gw.command("order").startswith("KALSHI_PERPS_KEY_ID=mock-margin-key ")
        assert_order_and_cancel_work_as_printed(gw, "PERP", "$95.0000")
    finally:
        assert "Traceback" not in gw.stop()


def test_another_session_types_port_says_which_session_to_use(tls_gateway: Gateway) -> None:
    err = one_line(
        run_printed(tls_gateway.command("logon-test"), ("--session NR", "--session RT")), 1
    )
    assert (
        "serves KalshiNR, not KalshiRT: use --session NR here, or point --endpoint at the KalshiRT port"
        in err
    )


def test_tls_client_on_a_plain_port_says_use_tcp(
    plain_gateway: Gateway, tls_gateway: Gateway
) -> None:
    # the plain gateway's printed line uses tcp://; TLS against its port fails fast, in one line
    plain_port = plain_gateway.ports["KalshiNR"]
    assert f"--endpoint tcp://127.0.0.1:{plain_port}" in plain_gateway.command("logon-test")
    assert run_printed(plain_gateway.command("logon-test")).returncode == 0
    tls_line = tls_gateway.command("logon-test")
    err = one_line(
        run_printed(tls_line, (r"127\.0\.0\.1:\d+", f"127.0.0.1:{plain_port}"), timeout=20), 1
    )
    assert "TLS handshake with" in err and "use --endpoint tcp://HOST:PORT" in err
    # and plain TCP against a TLS port
    tls_port = tls_gateway.ports["KalshiNR"]
    err = one_line(
        run_printed(
            plain_gateway.command("logon-test"), (r"127\.0\.0\.1:\d+", f"127.0.0.1:{tls_port}")
        ),
        1,
    )
    assert "if it serves TLS, drop tcp:// from --endpoint" in err


def test_untrusted_certificate_says_pin_it(tls_gateway: Gateway) -> None:
    err = one_line(run_printed(tls_gateway.command("logon-test"), (r" --pinned-cert \S+", "")), 1)
    assert "is not trusted" in err and "--pinned-cert PEM" in err


def test_other_products_key_is_refused_by_name(tls_gateway: Gateway, tmp_path: Path) -> None:
    margin_key = write_mock_api_key("margin", tmp_path)
    err = one_line(
        run_printed(
            tls_gateway.command("logon-test"),
            ("--product prediction", "--product margin"),
            ("KALSHI_KEY_ID=mock-prediction-key", "KALSHI_PERPS_KEY_ID=mock-margin-key"),
            (r"KALSHI_PRIVATE_KEY_PATH=\S+", f"KALSHI_PERPS_PRIVATE_KEY_PATH={margin_key}"),
        ),
        1,
    )
    assert "API key mock-margin-key is a margin key, but this is the prediction gateway" in err


def test_other_product_key_in_process() -> None:
    """The reverse (a prediction key on a margin gateway), through the Python API."""
    key_id, signer, public = mock_api_key("margin")
    other_id, other_signer, other_public = mock_api_key("prediction")
    with MockGateway(
        "margin", keys={key_id: public}, other_product_keys={other_id: other_public}, tls=True
    ) as gw:
        client = gw.client(other_id, other_signer, backoff=Backoff(attempts=0))
        with pytest.raises(Exception, match="is a prediction key, but this is the margin gateway"):
            with client.order_entry():
                pass
        with gw.client(key_id, signer).order_entry():
            assert gw.connected() == [key_id]


def test_busy_port_and_foreign_host_are_one_line(tls_gateway: Gateway) -> None:
    base = tls_gateway.ports["KalshiNR"]
    busy = subprocess.run(
        [*CLI, "mock-gateway", "--port-base", base, "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    err = one_line(busy, 1)
    assert f"cannot listen on 127.0.0.1:{base} (KalshiNR): address already in use" in err
    assert "--port-base" in err
    # a host that is not this machine's (TEST-NET-1, never assigned to a local interface)
    foreign = subprocess.run(
        [*CLI, "mock-gateway", "--port-base", "0", "--host", "192.0.2.1", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert "not an address of this machine" in one_line(foreign, 1)


def test_every_interface_is_warned_about() -> None:
    with socket.socket() as probe:  # skip where binding 0.0.0.0 is not allowed
        try:
            probe.bind(("0.0.0.0", 0))
        except OSError:
            pytest.skip("cannot bind 0.0.0.0 here")
    result = subprocess.run(
        [*CLI, "mock-gateway", "--port-base", "0", "--host", "0.0.0.0", "--seconds", "0.5"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "warning: --host 0.0.0.0 serves every network interface" in one_line(result, 0)
    assert "--endpoint 127.0.0.1:" in result.stdout  # clients on this machine use loopback


def test_gateway_process_serves_tls_and_takes_admin_commands(tmp_path: Path) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    pub = tmp_path / "key.pub"
    pub.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    cert, key = self_signed(tmp_path)
    gw = Gateway("--tls", str(cert), str(key), "--key", f"k1={pub}", "--market", "MKT")
    try:
        assert set(gw.ports) == SESSIONS and "(TLS)" in gw.banner[0]
        assert "KALSHI_PRIVATE_KEY_PATH='<private key of k1>'" in gw.command("logon-test")
        assert gw.admin("book MKT") == "MKT: bid 100 @ $0.49 | ask 100 @ $0.51"
        replaced = "the house's levels replaced (clients' orders stay)"
        assert gw.admin("seed MKT2 0.30:5 0.35:6") == (
            f"seeded MKT2: {replaced}: bid 5 @ $0.30 | ask 6 @ $0.35"
        )
        # seeding again moves the book (it used to add levels: the old 0.30 bid stayed best)
        assert gw.admin("seed MKT 0.20:7 0.25:8") == (
            f"seeded MKT: {replaced}: bid 7 @ $0.20 | ask 8 @ $0.25"
        )
        assert gw.admin("book MKT") == "MKT: bid 7 @ $0.20 | ask 8 @ $0.25"
        assert gw.admin("fault bogus").startswith("unknown fault 'bogus'")
        assert gw.admin("fault reject-logon go away") == "fault reject-logon go away set"
        client = FixClient(  # another process's gateway: the client built from public parts
            Credentials("k1", Ed25519Signer(private)),
            endpoints={
                name: Endpoint("127.0.0.1", int(port), server_hostname="localhost")
                for name, port in gw.ports.items()
            },
            ssl_context=make_ssl_context(pinned_cert=str(cert)),
            backoff=Backoff(base=0.05, cap=0.1, attempts=3, seed=1),
        )
        # the fault refuses the next Logon: final (the refusal is raised) or retried, depending
        # on the adapter's policy; either way it is used up
        try:
            with client.order_entry():
                pass
        except Exception as exc:
            assert "go away" in str(exc)
        with client.order_entry() as oe:
            oe.send(
                p.NewOrderSingle(
                    cl_ord_id="c1",
                    side=p.Side.BUY,
                    order_qty=Decimal(2),
                    ord_type=p.OrdType.LIMIT,
                    price=Decimal("0.35"),
                    symbol="MKT2",
                )
            )
            fill = oe.wait_for(
                lambda e: (
                    isinstance(e, ApplicationMessage)
                    and getattr(e.message, "exec_type", None) == p.ExecType.TRADE
                ),
                10,
            )
            assert fill.message.last_px == Decimal("0.35")  # type: ignore[attr-defined]
        assert gw.admin("book MKT2") == "MKT2: bid 5 @ $0.30 | ask 4 @ $0.35"
        assert gw.admin("pause") == "paused" and gw.admin("resume") == "resumed"
        assert gw.admin("settle MKT2 yes") == "settled MKT2 yes"
        assert gw.admin("nonsense") == "unknown command: nonsense"
        assert gw.proc.stdin is not None
        gw.proc.stdin.write("quit\n")
        gw.proc.stdin.flush()
        assert gw.proc.wait(20) == 0
    finally:
        assert "Traceback" not in gw.stop()


def test_command_line_names_what_it_cannot_print() -> None:
    key_id, _, public = mock_api_key("prediction")
    with MockGateway("prediction", keys={key_id: public}, tls=True) as gw:
        with pytest.raises(ValueError, match=r"command_line\('order'\) takes price="):
            gw.command_line("order")
        with pytest.raises(ValueError, match="unknown command 'kill'"):
            gw.command_line("kill")
        rt = gw.command_line("cancel", session_type="KalshiRT", symbols=("M",), side="sell")
        assert f"--session RT --endpoint 127.0.0.1:{gw.ports['KalshiRT']} " in rt
        assert rt.endswith("--cl-ord-id order-1 --symbol M --side sell")


def test_rest_pages_are_served_with_their_faults() -> None:
    """``--rest`` serves Kalshi's REST pages over HTTPS beside the FIX ports (the banner says
    where); ``--fault rest-rate-limit=N`` and the console's ``fault rest-error N`` answer 429 and
    503 before the pages answer again."""
    import ssl

    from kalshi_fix_sansio.adapters.rest import read_account_limits
    from kalshi_fix_sansio.codec.errors import RemoteProtocolError

    gw = Gateway("--rest", "--market", "MKT", "--fault", "rest-rate-limit=1")
    try:
        (line,) = [x for x in gw.banner if x.startswith("REST API ")]
        base_url = re.search(r"(https://127\.0\.0\.1:\d+) ", line + " ")
        assert base_url is not None, line
        certificate = next(
            x.split(": ", 1)[1] for x in gw.banner if x.startswith("TLS certificate")
        )
        key = next(re.search(r"private key (\S+)", x) for x in gw.banner if "private key" in x)
        assert key is not None
        credentials = Credentials.from_key("mock-prediction-key", path=key.group(1))
        how = {
            "base_url": base_url.group(1),
            "verify": ssl.create_default_context(cafile=certificate),
        }
        with pytest.raises(RemoteProtocolError, match="HTTP 429"):
            read_account_limits(credentials, **how)
        assert read_account_limits(credentials, **how).tier == "Basic"
        assert gw.admin("fault rest-error 1") == "fault rest-error 1 set"
        with pytest.raises(RemoteProtocolError, match="HTTP 503"):
            read_account_limits(credentials, **how)
        assert read_account_limits(credentials, **how).write == 100.0
    finally:
        assert "Traceback" not in gw.stop()


def test_rest_needs_tls() -> None:
    result = subprocess.run(
        [*CLI, "mock-gateway", "--plain", "--rest", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "--rest serves HTTPS" in one_line(result, 2)


# -- a signal before serving -------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 30 MB of valid market data: far longer to check than a signal takes to arrive."""
    from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_RECORDING

    header, *body = SAMPLE_RECORDING.read_bytes().splitlines(keepends=True)
    update = next(line for line in body if b"|35=X|" in line)
    path = tmp_path_factory.mktemp("big") / "big.log"
    with open(path, "wb") as out:
        out.write(header)
        out.writelines(body[: body.index(update)])  # the snapshots, then one update repeated
        out.write(update * (30_000_000 // len(update)))
    return path


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("moment", ["set-up", "check"])
def test_a_signal_before_serving_stops_at_once_and_writes_nothing(
    big_recording: Path, tmp_path: Path, signum: signal.Signals, moment: str
) -> None:
    """Over TLS (a certificate made first): signalled on its first stderr line, the set-up's
    warning about --host 0.0.0.0 (before the check) or the check's own line, it stops at once
    with 128 + the signal's number: nothing served, replayed or written."""
    reports = tmp_path / "reports"
    reports.mkdir()
    host = ["--host", "0.0.0.0"] if moment == "set-up" else []
    proc = child(
        [
            "mock-gateway",
            *host,
            "--port-base",
            "0",
            "--replay",
            str(big_recording),
            "--report-dir",
            str(reports),
            "--start",
            "now",
            "--as-fast-as-possible",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first, out, err, took = signal_once_started(proc, signum, on="stderr")
    if moment == "set-up":
        assert first.startswith("kalshi-fix mock-gateway: warning: --host 0.0.0.0"), first
    else:
        assert first.startswith(f"kalshi-fix mock-gateway: checking the recording {big_recording}")
    assert proc.returncode == 128 + signum, err
    assert out == ""  # no banner: nothing served, no report table
    assert list(reports.iterdir()) == []
    last = err.splitlines()[-1]
    assert re.fullmatch(
        rf"kalshi-fix mock-gateway: {signum.name}: stopped (while checking the recording "
        rf"{re.escape(str(big_recording))}|before serving); nothing was replayed",
        last,
    ), err
    assert took < 10, took  # checking the whole recording takes far longer


def test_a_port_out_of_range_or_a_number_in_another_script_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kalshi_fix_sansio.cli import main as kalshi_fix

    cases = [
        (["--port-base", "99999"], "--port-base 99999 is out of range: a port is 0 to 65535"),
        (["--port-base", "\uff11\uff18\uff12\uff12\uff18"], "(0-65535, ASCII digits)"),
        (["--rest", "70000"], "--rest 70000 is out of range: a port is 0 to 65535"),
        (["--seconds", "\uff13"], "--seconds takes seconds >= 0 (ASCII digits), got '\uff13'"),
        (
            ["--port-base", "65534"],
            "port_base 65534 is out of range: the prediction ports run from it to 5 above, "
            "within 1-65535 (port_base 1 to 65530; None: free ports)",
        ),
    ]
    for args, named in cases:
        assert kalshi_fix(["mock-gateway", "--plain", *args]) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and named in err, err
    with pytest.raises(ValueError, match="port_base 0 is out of range"):
        MockGateway("margin", keys={}, port_base=0)

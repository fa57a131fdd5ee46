"""`kalshi-fix kill` against a real mock gateway over TLS: an API key's orders off the book."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kalshi_fix_sansio import Backoff
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.adapters.blocking import FixClient
from kalshi_fix_sansio.client import Endpoint
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.auth import Ed25519Signer
from kalshi_fix_sansio.simulator.gateway.server import MockGateway
from kalshi_fix_sansio.simulator.gateway.tls import self_signed, server_context

SYMBOL = "HIGHNY-23DEC31"


class Live:
    def __init__(
        self, gateway: MockGateway, env: dict[str, str], cert: Path, signer: Ed25519Signer
    ) -> None:
        self.gateway, self.env, self.cert, self.signer = gateway, env, cert, signer

    def client(self, **options: object) -> FixClient:
        endpoints = {
            name: Endpoint("127.0.0.1", port, server_hostname="localhost")
            for name, port in self.gateway.ports.items()
        }
        return FixClient(
            Credentials("cli-key", self.signer),
            endpoints=endpoints,
            ssl_context=make_ssl_context(pinned_cert=str(self.cert)),
            backoff=Backoff(base=0.05, cap=0.2, attempts=4, seed=1),
            **options,  # type: ignore[arg-type]
        )

    def open_orders(self) -> list[str]:
        gw = self.gateway
        return sorted(o.cl_ord_id for o in gw.call(lambda: gw.exchange.open_orders("cli-key")))

    def kill(self, *args: str, session: str = "KalshiNR") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "kalshi_fix_sansio.cli",
                "kill",
                "--endpoint",
                f"127.0.0.1:{self.gateway.ports[session]}",
                "--pinned-cert",
                str(self.cert),
                *args,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    private = ed25519.Ed25519PrivateKey.generate()
    key_file = tmp_path / "kalshi-fix.key"
    key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert, key = self_signed(tmp_path)
    signer = Ed25519Signer(private)
    gw = MockGateway(
        "prediction", keys={"cli-key": signer.public_key()}, ssl_context=server_context(cert, key)
    )
    gw.start_in_thread()
    gw.seed_market(
        SYMBOL, bids=[(Decimal("0.40"), Decimal(7))], asks=[(Decimal("0.45"), Decimal(9))]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
    env.update(KALSHI_KEY_ID="cli-key", KALSHI_PRIVATE_KEY_PATH=str(key_file))
    try:
        yield Live(gw, env, cert, signer)
    finally:
        gw.close()


def rest(cl_ord_id: str) -> p.NewOrderSingle:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(2),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.41"),
        symbol=SYMBOL,
        time_in_force=p.TimeInForce.GTC,
    )


@pytest.mark.parametrize("session_type", ["KalshiNR", "KalshiRT"])
def test_kill_cancels_what_the_trading_process_left_open(
    live: Live, tmp_path: Path, session_type: str
) -> None:
    log = tmp_path / "trading.log"
    with live.client(message_log_path=log).session(session_type) as trading:
        trading.place(rest("left-1"))
        trading.place(rest("left-2"))
    assert live.open_orders() == ["left-1", "left-2"]  # logged out without 8013: still resting
    short = session_type.removeprefix("Kalshi")
    result = live.kill(
        "--session", short, "--from-log", str(log), "--fallback-after", "0.2", session=session_type
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 open order(s) known" in result.stdout and "done: nothing open" in result.stdout
    assert "left-1: CANCELED" in result.stdout and "left-2: CANCELED" in result.stdout
    assert live.open_orders() == []
    assert live.gateway.connected() == []


def test_kill_without_the_log_takes_off_what_the_killed_process_left_on_kalshi_nr(
    live: Live,
) -> None:
    with live.client().session("KalshiNR") as trading:
        trading.place(rest("left-1"))
    assert live.open_orders() == ["left-1"]
    result = live.kill()  # a fresh process: its tracker knows no order
    assert result.returncode == 0, result.stdout + result.stderr
    assert "confirmed by the exchange" in result.stdout and live.open_orders() == []


def test_kill_without_the_log_on_kalshi_rt_cannot_say_done(live: Live) -> None:
    with live.client().session("KalshiRT") as trading:
        trading.place(rest("left-rt"))
    result = live.kill("--session", "RT", session="KalshiRT")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT confirmed by the exchange" in result.stdout and "--from-log" in result.stderr
    assert live.open_orders() == ["left-rt"]  # honest: it is still there


def test_kill_with_nothing_open_succeeds(live: Live) -> None:
    result = live.kill()
    assert result.returncode == 0, result.stderr
    assert (
        "sent OrderMassCancelRequest" in result.stdout and "MassCancelResponse=6" in result.stdout
    )
    port = live.gateway.ports["KalshiNR"]
    assert (  # the mock, not "(prediction, demo)"
        f"logged on to KalshiNR (prediction, not Kalshi: the gateway at 127.0.0.1:{port} given "
        "by --endpoint) as "
    ) in result.stdout


def test_kill_refuses_a_session_type_that_cannot_cancel(live: Live) -> None:
    result = live.kill("--session", "MD")
    assert result.returncode == 2
    assert "only order-entry sessions cancel orders" in result.stderr


def test_kill_reports_a_refused_logon(live: Live) -> None:
    live.env["KALSHI_KEY_ID"] = "not-registered"
    result = live.kill()
    assert result.returncode == 1
    assert (
        "Kalshi refused the Logon: unknown API key" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_kill_names_the_endpoint_nothing_listens_at(live: Live) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nothing listens at once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "kalshi_fix_sansio.cli", "kill", "--endpoint", f"127.0.0.1:{port}"],
        env=live.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"nothing listens at 127.0.0.1:{port} (connection refused)" in result.stderr, (
        result.stderr
    )


def test_kill_warns_when_others_may_write_the_halt_directory(live: Live, tmp_path: Path) -> None:
    """A kill still halts (fail-closed) and cancels, but says who else could lift its halt."""
    shared = tmp_path / "team-halts"
    shared.mkdir()
    shared.chmod(0o770)
    result = live.kill("--halt-dir", str(shared))
    assert result.returncode == 0, result.stderr
    assert "halted key cli-key on this machine (a kill from the shell at " in result.stdout
    assert f"kalshi-fix kill: warning: the halt directory {shared} is writable by the group " in (
        result.stderr
    )
    shared.chmod(0o777)
    result = live.kill("--halt-dir", str(shared))
    assert result.returncode == 0, result.stderr
    assert (
        f"kalshi-fix kill: warning: the halt directory {shared} is writable by every user (mode "
        "0777): any of them could lift or plant a halt there"
    ) in result.stderr
    assert "every session of the key stays halted while it is" in result.stderr
    shared.chmod(0o700)


def test_kill_reduce_only_writes_the_mode_and_cancels_nothing(live: Live, tmp_path: Path) -> None:
    """``--reduce-only``: the key's halt file in its reduce-only mode; no session logs on, so
    the order resting on the exchange stays; ``--no-halt`` with it is a usage error."""
    from kalshi_fix_sansio.trading.haltfile import HaltFile

    with live.client(halt_file=False).order_entry() as session:
        session.place(rest("resting"), timeout=10)
    halts = tmp_path / "halts"
    result = live.kill("--reduce-only", "--halt-dir", str(halts))
    assert result.returncode == 0, result.stderr
    assert "made key cli-key reduce-only on this machine (a reduce-only order from the " in (
        result.stdout
    )
    assert "lets through only orders that can only shrink a position" in result.stdout
    record = HaltFile("cli-key", halts).read()
    assert record is not None and record.mode == "reduce_only"
    assert record.command == "kalshi-fix kill --reduce-only"
    assert live.open_orders() == ["resting"]
    result = live.kill("--reduce-only", "--no-halt")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "kalshi-fix kill: --reduce-only and --no-halt: reduce-only is written to the halt "
        "file, which --no-halt leaves alone"
    )


def test_kill_from_a_log_it_cannot_read_whole_names_the_option_that_goes_on(
    live: Live, tmp_path: Path
) -> None:
    """A damaged ``--from-log`` is refused before any work in one line that names the option
    going on without the damaged parts (no Python advice); with it the kill names each part
    left out and takes the orders off."""
    log = tmp_path / "trading.log"
    with live.client(message_log_path=log).session("KalshiNR") as trading:
        trading.place(rest("left-1"))
    with log.open("ab") as damaged:
        damaged.write(b"8=FIXT.1.1\x019=5\x0135=D\x0110=000\x01\n")  # a bad CheckSum
    refused = live.kill("--from-log", str(log))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert len(refused.stderr.splitlines()) == 1 and refused.stdout == ""
    assert "strict=False" not in refused.stderr and "Restored" not in refused.stderr
    assert "or add --skip-unreadable to go on without them" in refused.stderr
    assert live.open_orders() == ["left-1"]  # before any work: nothing cancelled
    done = live.kill("--from-log", str(log), "--skip-unreadable")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "left out (--skip-unreadable)" in done.stderr and "CheckSum(10)" in done.stderr
    assert "1 open order(s) known" in done.stdout and live.open_orders() == []

"""`kalshi-fix logon-test` and `kalshi-fix md` against a real mock gateway over TLS."""

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

from kalshi_fix_sansio.session.auth import Ed25519Signer
from kalshi_fix_sansio.simulator.gateway.server import MockGateway
from kalshi_fix_sansio.simulator.gateway.tls import self_signed, server_context


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[MockGateway, dict[str, str], Path]]:
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
    gw = MockGateway(
        "prediction",
        keys={"cli-key": Ed25519Signer(private).public_key()},
        ssl_context=server_context(cert, key),
    )
    gw.start_in_thread()
    gw.seed_market(
        "HIGHNY-23DEC31", bids=[(Decimal("0.40"), Decimal(7))], asks=[(Decimal("0.45"), Decimal(9))]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
    env.update(KALSHI_KEY_ID="cli-key", KALSHI_PRIVATE_KEY_PATH=str(key_file))
    try:
        yield gw, env, cert
    finally:
        gw.close()


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kalshi_fix_sansio.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_logon_test_succeeds_and_logs_out(live: tuple[MockGateway, dict[str, str], Path]) -> None:
    gw, env, cert = live
    result = run(
        [
            "logon-test",
            "--session",
            "NR",
            "--endpoint",
            f"127.0.0.1:{gw.ports['KalshiNR']}",
            "--pinned-cert",
            str(cert),
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    assert (
        f"logged on to KalshiNR (prediction, not Kalshi: the gateway at 127.0.0.1:"
        f"{gw.ports['KalshiNR']} given by --endpoint) as cli-key"
    ) in result.stdout
    assert gw.connected() == []


def test_logon_test_reports_kalshis_refusal(live: tuple[MockGateway, dict[str, str], Path]) -> None:
    gw, env, cert = live
    env = dict(env, KALSHI_KEY_ID="not-registered")
    result = run(
        [
            "logon-test",
            "--endpoint",
            f"127.0.0.1:{gw.ports['KalshiNR']}",
            "--pinned-cert",
            str(cert),
        ],
        env,
    )
    assert result.returncode == 1
    assert "Kalshi refused the Logon: unknown API key" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_credentials_are_named(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
    result = run(["logon-test"], env)
    assert result.returncode == 2
    assert "KALSHI_KEY_ID" in result.stderr and "KALSHI_PRIVATE_KEY_PATH" in result.stderr
    perps = run(["md", "--product", "margin", "BTC-PERP"], env)
    assert perps.returncode == 2 and "KALSHI_PERPS_KEY_ID" in perps.stderr


def test_md_streams_top_of_book(live: tuple[MockGateway, dict[str, str], Path]) -> None:
    gw, env, cert = live
    result = run(
        [
            "md",
            "--endpoint",
            f"127.0.0.1:{gw.ports['KalshiMD']}",
            "--pinned-cert",
            str(cert),
            "--seconds",
            "2",
            "HIGHNY-23DEC31",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    assert "HIGHNY-23DEC31: bid 7 @ $0.40 | ask 9 @ $0.45" in result.stdout

"""`kalshi-fix mock-gateway` as a real process: TLS, keys from files, admin console, faults."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters._transport import Backoff, Credentials, Endpoint, make_ssl_context
from kalshi_fix_sansio.adapters.blocking import FixClient
from kalshi_fix_sansio.auth import Ed25519Signer
from kalshi_fix_sansio.events import ApplicationMessage
from kalshi_fix_sansio.gateway.tls import self_signed


def test_gateway_process_serves_tls_and_takes_admin_commands(tmp_path: Path) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    pub = tmp_path / "key.pub"
    pub.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    cert, key = self_signed(tmp_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kalshi_fix_sansio.cli",
            "mock-gateway",
            "--port-base",
            "0",
            "--tls",
            str(cert),
            str(key),
            "--key",
            f"k1={pub}",
            "--market",
            "MKT",
            "--seconds",
            "60",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        banner = proc.stdout.readline()
        ports = dict(re.findall(r"(Kalshi\w+)=(\d+)", banner))
        assert "TLS" in banner and set(ports) == {
            "KalshiNR",
            "KalshiDC",
            "KalshiRT",
            "KalshiPT",
            "KalshiRFQ",
            "KalshiMD",
        }
        proc.stdout.readline()  # the admin help line

        def admin(line: str) -> str:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
            return proc.stdout.readline().strip()

        assert admin("book MKT") == "MKT: bid 100 @ 0.49 | ask 100 @ 0.51"
        assert admin("seed MKT2 0.30:5 0.35:6") == "seeded MKT2"
        assert admin("fault bogus").startswith("unknown fault 'bogus'")
        assert admin("fault reject-logon go away") == "fault reject-logon go away set"
        endpoints = {
            n: Endpoint("127.0.0.1", int(v), server_hostname="localhost") for n, v in ports.items()
        }
        client = FixClient(
            Credentials("k1", Ed25519Signer(private)),
            endpoints=endpoints,
            ssl_context=make_ssl_context(pinned_cert=str(cert)),
            backoff=Backoff(base=0.05, cap=0.1, attempts=3, seed=1),
        )
        with client.order_entry() as oe:  # first Logon refused by the fault, the retry succeeds
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
        assert admin("book MKT2") == "MKT2: bid 5 @ 0.30 | ask 4 @ 0.35"
        assert admin("pause") == "paused" and admin("resume") == "resumed"
        assert admin("settle MKT2 yes") == "settled MKT2 yes"
        assert admin("nonsense") == "unknown command: nonsense"
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)

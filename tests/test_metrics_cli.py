"""``kalshi-fix logon-test --metrics`` and ``kalshi-fix md --metrics`` against a real mock
gateway over TLS (the fixture and runner of `test_cli_live`)."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli_live import live, run  # noqa: F401 - `live` is a fixture

from kalshi_fix_sansio.simulator.gateway.server import MockGateway


def endpoint(gw: MockGateway, session_type: str, cert: Path) -> list[str]:
    return ["--endpoint", f"127.0.0.1:{gw.ports[session_type]}", "--pinned-cert", str(cert)]


def test_logon_test_prints_metrics_while_logged_on(
    live: tuple[MockGateway, dict[str, str], Path],  # noqa: F811
) -> None:
    gw, env, cert = live
    result = run(
        [
            "logon-test",
            *endpoint(gw, "KalshiNR", cert),
            "--metrics",
            "--seconds",
            "0.6",
            "--metrics-every",
            "0.2",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("metrics: ")]
    assert len(lines) >= 2, result.stdout
    assert lines[-1].startswith("metrics: prediction/KalshiNR | in 1 (A=1)"), lines[-1]
    assert "out 1 (A=1)" in lines[-1] and "reconnects 0" in lines[-1]
    assert result.stdout.rstrip().endswith("logging out")
    assert gw.connected() == []


def test_metrics_json_once_without_seconds(live: tuple[MockGateway, dict[str, str], Path]) -> None:  # noqa: F811
    gw, env, cert = live
    result = run(
        ["logon-test", *endpoint(gw, "KalshiNR", cert), "--metrics", "--metrics-json"], env
    )
    assert result.returncode == 0, result.stderr
    objects = [json.loads(ln) for ln in result.stdout.splitlines() if ln.startswith("{")]
    assert len(objects) == 1
    snap = objects[0]
    assert snap["key_id"] == "cli-key" and snap["messages_in"] == {"A": 1}
    assert snap["round_trips"]["D"]["count"] == 0 and snap["rejects"] == 0


def test_md_prints_metrics_with_the_books(live: tuple[MockGateway, dict[str, str], Path]) -> None:  # noqa: F811
    gw, env, cert = live
    result = run(
        [
            "md",
            *endpoint(gw, "KalshiMD", cert),
            "--seconds",
            "0.5",
            "--metrics",
            "--metrics-every",
            "0.2",
            "HIGHNY-23DEC31",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    assert "HIGHNY-23DEC31" in result.stdout
    last = [ln for ln in result.stdout.splitlines() if ln.startswith("metrics: ")][-1]
    assert last.startswith("metrics: prediction/KalshiMD") and "W=" in last and "V=1" in last


def test_a_bad_interval_is_one_line(live: tuple[MockGateway, dict[str, str], Path]) -> None:  # noqa: F811
    _, env, _ = live
    result = run(["logon-test", "--metrics", "--metrics-every", "0"], env)
    assert result.returncode == 2
    assert "--metrics-every takes seconds > 0" in result.stderr

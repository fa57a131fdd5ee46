"""The main job: `kalshi-fix demo` runs the whole story against a real mock gateway (TLS)."""

from __future__ import annotations

import subprocess
import sys

import pytest


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
    assert "Traceback" not in result.stderr

"""The README's examples: the first order runs (tests/test_docs_code.py runs every block); the
live example compiles and names real API; the comparison with the other clients is a table."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
LIVE = next(b for b in BLOCKS if 'FixClient.from_env("demo")' in b)


def test_live_example_uses_real_api() -> None:
    code = compile(LIVE, "README.md", "exec")
    assert "FixClient" in code.co_names
    from kalshi_fix_sansio import prediction
    from kalshi_fix_sansio.adapters.blocking import FixClient

    assert callable(FixClient.from_env) and callable(FixClient.market_data)
    for name in ("MarketDataRequest", "SubscriptionRequestType", "MarketDataRequestRelatedSym"):
        assert hasattr(prediction, name)
    assert "(Not run in CI: there is no internet there." in README
    assert "bash scripts/demo" in README and "bash scripts/test" in README


def test_the_first_screens_show_limits_a_kill_switch_and_metrics() -> None:
    first = BLOCKS[0]  # the first code a reader meets
    assert "RiskLimits(" in first and "kill_all(" in first and "metrics.snapshot()" in first
    assert README.index("A first order with limits") < README.index("## Install")


def test_it_says_why_beside_the_other_clients() -> None:
    why = README.split("## Why this one", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in why.splitlines() if line.startswith("|")]
    assert rows[0].split("|")[2:5] == [" kalshi-fix-sansio ", " kalshi-sdk 22.4.0 ", " QuickFIX "]
    assert all(line.count("|") == 5 for line in rows) and len(rows) <= 12
    assert README.index("## Why this one") < README.index("A first order with limits")

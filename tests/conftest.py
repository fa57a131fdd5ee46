"""Make the tests directory importable (scenario_runner, strategies, doc_examples), and give
every test its own state directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

from gateway_fixtures import (  # noqa: F401  (shared fixtures)
    margin_gateway,
    prediction_gateway,
    tls_gateway,
)

# Property tests draw the same examples on every run (a hash of each test, hypothesis's
# ``derandomize``): a suite's verdict is the code's, never the luck of one draw. A test that
# sets ``derandomize`` itself keeps its own; ``KALSHI_FIX_HYPOTHESIS_RANDOM=1`` explores anew.
settings.register_profile(
    "kalshi-fix", derandomize=os.environ.get("KALSHI_FIX_HYPOTHESIS_RANDOM", "") in ("", "0")
)
settings.load_profile("kalshi-fix")

# scripts/test runs a subset against the wheel installed in a fresh venv of another Python:
# the package must come from there, never from src/
_INSTALLED = os.environ.get("KALSHI_FIX_TESTS_INSTALLED_PREFIX")
if _INSTALLED:
    import kalshi_fix_sansio

    if not (kalshi_fix_sansio.__file__ or "").startswith(_INSTALLED):
        raise pytest.UsageError(
            f"the tests imported kalshi_fix_sansio from {kalshi_fix_sansio.__file__}, "
            f"not from the installed wheel in {_INSTALLED}"
        )


@pytest.fixture(autouse=True)
def _own_state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test has its own halt directory (``$XDG_STATE_HOME/kalshi-fix``): a kill from the
    shell in one test (or on this machine, outside the tests) never halts another test's
    sessions, and no test writes into the user's real state directory."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))

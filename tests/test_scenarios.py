"""Every scenario file in tests/scenarios/ runs against a real Session."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_runner import run_scenario

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.scn"))


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 50


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    run_scenario(path)

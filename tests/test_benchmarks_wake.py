"""bench_wake.py: each loop's wakes run (plainly: CI has no valgrind), and its table."""

from __future__ import annotations

import pytest
from test_benchmarks import load  # it puts benchmarks/ on sys.path


@pytest.mark.parametrize("kind", ["asyncio", "trio"])
def test_each_wake_reads_its_byte(kind: str) -> None:
    assert load("bench_wake").wakes(kind, 5) == 5


def test_the_table_says_what_trio_pays_per_order_beyond_asyncio() -> None:
    lines = load("bench_wake").report({"asyncio": 40_600.0, "trio": 58_500.0})
    assert lines[2:] == [
        "| asyncio | 40.6k |",
        "| trio | 58.5k |",
        "trio's wake - asyncio's: +17.9k; per order (2 wakes): +35.8k",
    ]

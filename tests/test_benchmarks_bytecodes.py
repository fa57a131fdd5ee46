"""bench_bytecodes.py's rows: a file counts by what it is, wherever the checkout sits."""

from __future__ import annotations

import os
from pathlib import Path

import trio
from test_benchmarks import load  # it puts benchmarks/ on sys.path


def test_a_file_counts_in_its_package_row_whatever_the_checkout_is_named() -> None:
    package = load("bench_bytecodes").package
    loop = Path(trio.__file__).parent / "_core" / "_run.py"
    for checkout in ("/work/trio", "/home/asyncio/outcome"):  # named like an event loop
        src = f"{checkout}/src/kalshi_fix_sansio"
        assert package(f"{src}/adapters/_triopump.py") == "library: adapter"
        assert package(f"{src}/codec/_generated/prediction.py") == "library: generated codecs"
        assert package(f"{src}/client/driver.py") == "library: core"
        assert package(f"{checkout}/benchmarks/bench_instructions.py") == "benchmark, other"
    assert package(str(loop).replace(os.sep, "/")) == "event loop"
    assert package(os.path.dirname(os.__file__) + "/asyncio/base_events.py") == "event loop"

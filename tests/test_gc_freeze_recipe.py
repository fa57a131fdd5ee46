"""The recipe of docs/troubleshooting.md ("Now and then one call takes milliseconds") does
what it says: run as written in a fresh interpreter (it changes the whole process's garbage
collector, so never in the test process), it leaves start-up's objects frozen, out of the
reach of later collections, and the library itself freezes nothing on import."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

PAGE = Path(__file__).resolve().parent.parent / "docs" / "troubleshooting.md"
MARKER = "<!-- tested-by: tests/test_gc_freeze_recipe.py -->"


def recipe() -> str:
    text = PAGE.read_text(encoding="utf-8")
    found = re.search(re.escape(MARKER) + r"\n```python\n(.*?)```", text, re.S)
    assert found is not None, f"{PAGE.name}: no python block after {MARKER}"
    return found.group(1)


def run(code: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


REPORT = """
import gc, json
gc.collect()
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "walked": len(gc.get_objects()),
    "settings": [gc.isenabled(), *gc.get_threshold()],
}))
"""


def test_the_recipe_freezes_start_up_and_the_library_does_not() -> None:
    bare = run(REPORT)
    imported = run("from kalshi_fix_sansio.adapters.blocking import FixClient\n" + REPORT)
    # importing the library leaves the collector alone: nothing frozen, the same settings
    assert imported["frozen"] == 0 and imported["settings"] == bare["settings"]
    frozen = run(recipe() + REPORT)
    # start-up's objects are frozen: a full collection walks a small part of what it did
    assert frozen["frozen"] >= imported["walked"] * 0.9
    assert frozen["walked"] < imported["walked"] / 10

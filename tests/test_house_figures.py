"""The figures of the house stated in the architecture page are the ones the source gives now.

`scripts/house-figures --markdown` takes them again (driver members the adapters use, adapter
lines, private names shared across adapters/, positional layout reads, import circles,
formatter diff); the page holds its table between ``<!-- house-figures -->`` markers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_architecture_page_states_the_figures_the_source_gives() -> None:
    (page,) = [p for p in (ROOT / "docs").rglob("architecture.md")]
    text = page.read_text(encoding="utf-8")
    stated = text.split("<!-- house-figures -->\n", 1)[1].split("<!-- /house-figures -->", 1)[0]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "house-figures"), "--markdown"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert stated == done.stdout, (
        f"{page.relative_to(ROOT)} states other figures than the source gives: run "
        "scripts/house-figures --markdown and put its table between the markers"
    )

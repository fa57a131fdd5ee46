"""The architecture page's floors are the code's: the table is `scripts/floors --markdown`, every
package of the top level is a floor of the import contract, and every module says what it is in
the first line of its docstring."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "maintainers" / "architecture.md"
FLOORS = runpy.run_path(str(ROOT / "scripts" / "floors"), run_name="floors")


def test_the_architecture_page_draws_the_floors_the_contract_holds() -> None:
    page = PAGE.read_text(encoding="utf-8")
    begin, end = FLOORS["BEGIN"], FLOORS["END"]
    drawn = page[page.index(begin) : page.index(end) + len(end)]
    assert drawn == FLOORS["markdown"](), (
        "docs/maintainers/architecture.md's floors are stale: paste "
        f"`{sys.executable} scripts/floors --markdown` between its markers"
    )


def test_every_package_of_the_top_level_is_a_floor() -> None:
    package = ROOT / "src" / "kalshi_fix_sansio"
    top = {
        f"kalshi_fix_sansio.{p.name}" for p in package.iterdir() if (p / "__init__.py").is_file()
    }
    assert top == set(FLOORS["layers"]())


def test_every_module_says_what_it_is() -> None:
    silent = [
        f"{layer}/{name}"
        for layer, _, inside in FLOORS["rows"]()
        for name, line in inside
        if not line
    ]
    assert not silent, f"modules without a docstring's first line: {silent}"
    assert all(what for _, what, _ in FLOORS["rows"]())

"""The architecture page's floors are the code's: the table is `scripts/floors --markdown`, every
package of the top level is a floor of the import contract, and every module says what it is in
the first line of its docstring. The simulator is a building of its own: each of its subpackages
(market data, the exchange, the simulated world, backtests, research, testing) is a floor."""

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


def _packages(folder: Path, dotted: str) -> set[str]:
    return {f"{dotted}.{p.name}" for p in folder.iterdir() if (p / "__init__.py").is_file()}


def test_every_package_of_the_top_level_is_a_floor_and_the_simulators_too() -> None:
    package = ROOT / "src" / "kalshi_fix_sansio"
    simulator = "kalshi_fix_sansio.simulator"
    top = _packages(package, "kalshi_fix_sansio") - {simulator}
    floors = _packages(package / "simulator", simulator)
    assert top | floors == set(FLOORS["layers"]())


def test_every_module_says_what_it_is() -> None:
    silent = [
        f"{layer}/{name}"
        for layer, _, inside in FLOORS["rows"]()
        for name, line in inside
        if not line
    ]
    assert not silent, f"modules without a docstring's first line: {silent}"
    assert all(what for _, what, _ in FLOORS["rows"]())

"""Kalshi's inputs live in spec/sources/, documented, and a missing one fails loudly.

The drift report and the doc-example tests read Kalshi's dictionary and examples from the
repository, never from beside it; spec/sources/README.md says where each came from.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from doc_examples import EXAMPLES_MD, load_examples  # noqa: E402

import codegen.drift as drift  # noqa: E402

SOURCES = ROOT / "spec" / "sources"


def test_every_source_is_read_and_documented() -> None:
    readers = {drift.DEFAULT_DICTIONARY, EXAMPLES_MD}
    assert {p.parent for p in readers} == {SOURCES}
    files = {p for p in SOURCES.iterdir() if p.name != "README.md"}
    assert files == readers, "spec/sources/ holds exactly what a tool or test reads"
    readme = (SOURCES / "README.md").read_text(encoding="utf-8")
    table = {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", readme, re.M)}
    assert table == {p.name for p in files}
    assert "https://assets.kalshi.com/fix/kalshi-fix-dictionary.xml" in readme
    assert "v1.03" in readme and "## Updating" in readme


def test_the_sources_are_what_they_claim() -> None:
    xml = drift.DEFAULT_DICTIONARY.read_text(encoding="utf-8")
    assert "<!-- Kalshi FIX Dictionary v1.03 -->" in xml
    assert drift.parse_dictionary(drift.DEFAULT_DICTIONARY).messages
    examples = load_examples()
    assert examples and all(e.url.startswith("https://docs.kalshi.com/") for e in examples)


def test_a_missing_examples_file_fails_naming_it(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(ROOT / "tests" / "doc_examples.py", tests)
    proc = subprocess.run(
        [sys.executable, "-c", "import doc_examples"],
        cwd=tests,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    missing = tmp_path / "spec" / "sources" / "examples.md"
    assert f"FileNotFoundError: Kalshi's doc examples not found: {missing}" in proc.stderr


def test_nothing_reads_files_beside_the_repository() -> None:
    outside = re.compile(r"kalshi-fix-reference|[\"']shared[\"']|parents\[[2-9]\]|ROOT\.parent\b")
    found = []
    for top in ("tests", "codegen", "benchmarks", "scripts", "adapters", "src"):
        for path in sorted((ROOT / top).rglob("*.py")) if (ROOT / top).is_dir() else []:
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in outside.finditer(text)]
    this = Path(__file__).relative_to(ROOT)
    assert [f for f in found if not f.startswith(f"{this}:")] == []

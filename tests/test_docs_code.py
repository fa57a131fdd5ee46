"""Every ```python block of README.md and docs/**/*.md runs in a test, or says why it cannot.

A block runs here unless the line before its opening fence (blank lines aside) is a marker:

* ``<!-- needs: kalshi -->``: the code needs Kalshi's real endpoints and API keys. It must
  compile, and its imports must resolve (they are executed), so it cannot name a function or
  module that does not exist.
* ``<!-- tested-by: tests/test_x.py -->``: another test executes the block. That file must
  exist and name the page (e.g. ``docs/book.md``), so the marker cannot point nowhere.

Unmarked blocks run: the blocks of one page in order, in one namespace (a later block may use
what an earlier one defined), in a fresh temporary working directory. A mock gateway a page
leaves running is closed after the page.

A block that is not a program (a signature, a transcript) is fenced as ``text``, not
``python``.
"""

from __future__ import annotations

import ast
import logging
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio.simulator.gateway import MockGateway

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>needs|tested-by):\s*(?P<value>\S+)\s*-->\s*$")
NEEDS = ("kalshi",)


@dataclass(frozen=True)
class Block:
    """One ```python block: its page, number on the page (from 1), line, code and marker."""

    page: str
    number: int
    line: int
    code: str
    marker: str | None  # "needs: kalshi", "tested-by: tests/x.py" or None

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line} (block {self.number})"

    @property
    def first_line(self) -> str:
        return next((ln.strip() for ln in self.code.splitlines() if ln.strip()), "")


def python_blocks(text: str, page: str) -> list[Block]:
    """The ```python blocks of a Markdown text, each with the marker written before it."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        if end is None:
            raise AssertionError(f"{page}:{i + 1}: unterminated code block")
        if m["lang"] == "python":
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            found = MARKER.match(lines[k]) if k >= 0 else None
            marker = f"{found['kind']}: {found['value']}" if found else None
            code = textwrap.dedent("\n".join(lines[i + 1 : end])) + "\n"
            blocks.append(Block(page, len(blocks) + 1, i + 1, code, marker))
        i = end + 1
    return blocks


def page_blocks(path: Path) -> list[Block]:
    """The ```python blocks of a page."""
    page = path.relative_to(ROOT).as_posix()
    return python_blocks(path.read_text(encoding="utf-8"), page)


ALL_BLOCKS = [b for path in PAGES for b in page_blocks(path)]
RUN_PAGES = sorted({b.page for b in ALL_BLOCKS if b.marker is None})


def check_marker(block: Block) -> None:
    """A marked block: needs-kalshi code compiles and its imports resolve; tested-by points at
    an existing test that names the page."""
    assert block.marker is not None
    kind, value = block.marker.split(": ", 1)
    if kind == "tested-by":
        test = ROOT / value
        assert test.is_file(), f"{block.name}: {value} does not exist"
        assert block.page in test.read_text(encoding="utf-8"), (
            f"{block.name}: {value} does not mention {block.page}"
        )
        return
    assert kind == "needs" and value in NEEDS, f"{block.name}: unknown marker {block.marker!r}"
    source = block.code
    if source.lstrip().startswith(">>>"):  # a REPL transcript: its input lines
        source = "\n".join(ln[4:] for ln in source.splitlines() if ln.startswith((">>> ", "... ")))
    tree = ast.parse(source, filename=block.name)
    compile(tree, block.name, "exec")
    imports: list[ast.stmt] = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    exec(compile(ast.Module(body=imports, type_ignores=[]), block.name, "exec"), {})


def _library_loggers() -> dict[str, tuple[int, bool, list[logging.Handler]]]:
    """Level, propagate and handlers of the library's loggers (a page may configure them)."""
    return {
        name: (logger.level, logger.propagate, list(logger.handlers))
        for name, logger in logging.Logger.manager.loggerDict.items()
        if name.startswith("kalshi_fix_sansio") and isinstance(logger, logging.Logger)
    }


def _restore_loggers(saved: dict[str, tuple[int, bool, list[logging.Handler]]]) -> None:
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if not (name.startswith("kalshi_fix_sansio") and isinstance(logger, logging.Logger)):
            continue
        level, propagate, handlers = saved.get(name, (logging.NOTSET, True, []))
        logger.setLevel(level)
        logger.propagate = propagate
        logger.handlers[:] = handlers


def run_page(page: str) -> dict[str, Any]:
    """Execute the unmarked blocks of ``page`` in order, in one namespace (the library's
    loggers are put back as they were afterwards: a page may show how to configure them)."""
    namespace: dict[str, Any] = {"__name__": "docs_" + re.sub(r"\W", "_", page)}
    loggers = _library_loggers()
    try:
        for block in (b for b in ALL_BLOCKS if b.page == page and b.marker is None):
            exec(compile(block.code, block.name, "exec"), namespace)
    finally:
        for value in list(namespace.values()):
            if isinstance(value, MockGateway):
                value.close()
        _restore_loggers(loggers)
    return namespace


@pytest.mark.parametrize("page", RUN_PAGES)
def test_page_examples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_page(page)


@pytest.mark.parametrize(
    "block", [b for b in ALL_BLOCKS if b.marker is not None], ids=lambda b: b.name
)
def test_marked_blocks_are_checked(block: Block) -> None:
    check_marker(block)


def test_every_page_is_seen() -> None:
    """The walk finds the pages and blocks it should (a broken parser cannot test nothing)."""
    pages = {b.page for b in ALL_BLOCKS}
    assert {"README.md", "docs/concepts.md", "docs/guide-embedding.md"} <= pages
    assert len(ALL_BLOCKS) >= 30
    assert any(b.marker == "needs: kalshi" for b in ALL_BLOCKS)
    assert all(b.code.strip() for b in ALL_BLOCKS), "empty code block"


def test_the_parser_reads_markers_and_indentation() -> None:
    text = textwrap.dedent(
        """\
        intro
        <!-- needs: kalshi -->

        ```python
        import kalshi_fix_sansio
        ```
        ```console
        $ not python
        ```
        1. a list item:

            ```python
            x = 1
            ```
        <!-- tested-by: tests/test_readme.py -->
        ```python
        y = 2
        ```
        """
    )
    blocks = python_blocks(text, "page.md")
    assert [(b.number, b.line, b.marker, b.code) for b in blocks] == [
        (1, 4, "needs: kalshi", "import kalshi_fix_sansio\n"),
        (2, 12, None, "x = 1\n"),
        (3, 16, "tested-by: tests/test_readme.py", "y = 2\n"),
    ]
    check_marker(blocks[0])
    with pytest.raises(AssertionError, match=r"does not mention page\.md"):
        check_marker(blocks[2])


def test_marked_blocks_fail_when_wrong() -> None:
    def block(marker: str, code: str) -> Block:
        return Block("page.md", 1, 1, code, marker)

    with pytest.raises(ImportError):
        check_marker(block("needs: kalshi", "from kalshi_fix_sansio import NoSuchName\n"))
    with pytest.raises(SyntaxError):
        check_marker(block("needs: kalshi", "client = (\n"))
    with pytest.raises(AssertionError, match="unknown marker"):
        check_marker(block("needs: internet", "x = 1\n"))
    with pytest.raises(AssertionError, match="does not exist"):
        check_marker(block("tested-by: tests/test_nothing_here.py", "x = 1\n"))

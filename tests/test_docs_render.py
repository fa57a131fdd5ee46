# private: renders the state page and sizes tables from private tables (`_states`, `_fields`)
"""The docs site renders: build it with mkdocs and inspect the HTML, not just the exit status.

The reference pages and the state page are rendered afresh from their sources (the codegen
templates and `render_markdown()`) into a copy of docs/, so a template that produces broken
Markdown fails here even before anyone regenerates the committed pages. Expected table sizes come
from the generated classes, not from the Markdown (read from the private modules: the state table
`_states`, the generated classes' member infos `_fields`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from kalshi_fix_sansio import State, margin, prediction
from kalshi_fix_sansio.codec._fields import GroupInfo
from kalshi_fix_sansio.codec.spec import ENVIRONMENTS, FIELDS, SESSIONS
from kalshi_fix_sansio.session._states import TRANSITIONS, render_markdown

ROOT = Path(__file__).resolve().parent.parent
DIALECTS = {"prediction": prediction, "margin": margin}
PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")


class _Page(HTMLParser):
    """Headings, tables (rows of cell texts) and text lines outside <pre> of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[tuple[str, list[list[list[str]]]]] = [("", [])]
        self.text: list[str] = []
        self.svgs: list[str] = []  # text inside each <svg>
        self._table: list[list[str]] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_body = False
        self._pre = 0
        self._svg: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2"):
            self.sections.append((dict(attrs).get("id") or "", []))
        elif tag == "table":
            self._table = []
            self.sections[-1][1].append(self._table)
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "pre":
            self._pre += 1
        elif tag == "svg":
            self._svg = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).replace("\xa0", " ").strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None
        elif tag == "pre":
            self._pre -= 1
        elif tag == "svg" and self._svg is not None:
            self.svgs.append(" ".join(self._svg))
            self._svg = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._svg is not None:
            self._svg.append(data.strip())
        if not self._pre:
            self.text.append(data)

    def text_lines(self) -> list[str]:
        return "".join(self.text).splitlines()


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def built_site() -> Path | None:
    """The site scripts/test built with ``mkdocs build --strict`` from this checkout, after
    ``codegen --check`` (so the generated pages are current): the same build as `site`'s,
    shared instead of made again by each test worker (None: pytest run alone)."""
    path = os.environ.get("KALSHI_FIX_DOCS_SITE")
    return Path(path) if path else None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = built_site()
    if built is not None:
        return built
    from codegen.generate import make_env, render_docs
    from codegen.loader import load_spec

    work = tmp_path_factory.mktemp("docs")
    shutil.copy(ROOT / "mkdocs.yml", work / "mkdocs.yml")
    for source in ("src", "scripts"):  # the code the pages read; the mkdocs hooks
        (work / source).symlink_to(ROOT / source, target_is_directory=True)
    shutil.copytree(ROOT / "docs", work / "docs")
    for rel, text in render_docs(load_spec(ROOT / "spec"), make_env()).items():
        (work / rel).write_text(text, encoding="utf-8")
    (work / "docs" / "session-states.md").write_text(render_markdown(), encoding="utf-8")
    out = work / "site"
    result = subprocess.run(  # no -q: it would hide the warnings --strict counts
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=work,
        capture_output=True,
        text=True,
        # about 30 s of CPU; 85 s of wall time was measured with the 2 cores shared
        # (docs/maintainers/decisions.md, "Docs toolchain")
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _tags(cls: Any) -> list[str]:
    """The Tag column of a message's table: its members in order, group members after the count."""
    tags: list[str] = []
    for m in cls._MEMBERS:
        tags.append(str(m.tag))
        if isinstance(m, GroupInfo):
            tags += _tags(m.entry)
    return tags


@pytest.mark.parametrize("product", sorted(DIALECTS))
def test_reference_tables_are_tables_with_a_row_per_field(site: Path, product: str) -> None:
    mod = DIALECTS[product]
    page = _parse(site / "reference" / f"{product}.html")
    sections = dict(page.sections)
    overview = [t for _, tables in page.sections[:2] for t in tables]
    assert len(overview) == 1, "the page opens with one table of its message types"
    assert sorted(row[0] for row in overview[0]) == sorted(mod.MESSAGES)
    for msgtype, cls in mod.MESSAGES.items():
        anchor = cls.__name__.lower()
        assert anchor in sections, f"{product}: no section for {cls.__name__}"
        tables = sections[anchor]
        assert len(tables) == 1, f"{product} {cls.__name__}: {len(tables)} tables, expected 1"
        got = [row[0] for row in tables[0]]
        assert got == _tags(cls), f"{product} {cls.__name__} (35={msgtype}): rows {got}"
        assert all(len(row) == 6 for row in tables[0]), f"{product} {cls.__name__}: short rows"


def test_no_page_shows_markdown_table_text(site: Path) -> None:
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    assert len(pages) > 10
    bad = [
        f"{p.relative_to(site)}: {line.strip()[:80]}"
        for p in pages
        for line in _parse(p).text_lines()
        if PIPE_ROW.match(line)
    ]
    assert not bad, "literal Markdown table rows in the HTML:\n" + "\n".join(bad)


def test_tags_and_sessions_tables_have_a_row_each(site: Path) -> None:
    tags = _parse(site / "reference" / "tags.html")
    rows = [row[0] for _, tables in tags.sections for t in tables for row in t]
    assert sorted(map(int, rows)) == sorted(FIELDS)
    sessions = _parse(site / "reference" / "sessions.html")
    sections = dict(sessions.sections)
    for product, envs in ENVIRONMENTS.items():
        env_table, session_table, flags_table = sections[product]
        assert [row[0] for row in env_table] == list(envs)
        names = [name for p, name in SESSIONS if p == product]
        assert [row[0] for row in session_table] == names
        assert [row[0] for row in flags_table] == names
        for row in flags_table:
            flags = SESSIONS[(product, row[0])].logon_flags
            assert row[1] == (", ".join(flags) if flags else "none"), row


def test_state_diagram_is_a_drawing(site: Path) -> None:
    page = _parse(site / "session-states.html")
    drawings = [svg for svg in page.svgs if svg.strip()]  # the theme's icons are SVGs without text
    assert len(drawings) == 1, "the state page carries one inline SVG diagram"
    drawn = drawings[0]
    for state in State:
        assert state.value in drawn, f"state {state.value!r} missing from the diagram"
    for trigger in {t for _, t in TRANSITIONS}:
        assert trigger.value in drawn, f"trigger {trigger.value!r} missing from the diagram"
    assert not any("stateDiagram" in line for line in page.text_lines())
    table = [t for _, ts in page.sections for t in ts]
    assert sum(len(t) for t in table) == len(TRANSITIONS) + 1  # + the acceptor's start


# The public modules and where the API reference documents them (the adapters live in adapters/
# and are documented under that name, with the import name as heading).
API_PAGES = {
    "kalshi_fix_sansio": "package",
    "kalshi_fix_sansio.codec.prediction": "codec",
    "kalshi_fix_sansio.codec.margin": "codec",
    "kalshi_fix_sansio.codec.framing": "codec",
    "kalshi_fix_sansio.session.machine": "session",
    "kalshi_fix_sansio.session.config": "session",
    "kalshi_fix_sansio.session.events": "session",
    "kalshi_fix_sansio.codec.errors": "session",
    "kalshi_fix_sansio.session.store": "stores",
    "kalshi_fix_sansio.session.filestore": "stores",
    "kalshi_fix_sansio.session.auth": "auth",
    "kalshi_fix_sansio.client.supervisor": "supervisor",
    "kalshi_fix_sansio.trading.book": "book",
    "kalshi_fix_sansio.trading.tracker": "tracker",
    "kalshi_fix_sansio.trading.settlement": "settlement",
    "kalshi_fix_sansio.trading.builders": "builders",
    "kalshi_fix_sansio.session.ratelimit": "ratelimit",
    "kalshi_fix_sansio.codec.redaction": "redaction",
    "kalshi_fix_sansio.codec.spec": "spec",
    "kalshi_fix_sansio.simulator.testing": "testing",
    "kalshi_fix_sansio.simulator.gateway": "gateway",
    "kalshi_fix_sansio.adapters": "adapters",
    "kalshi_fix_sansio.adapters.blocking": "adapters",
    "kalshi_fix_sansio.adapters.asyncio": "adapters",
    "kalshi_fix_sansio.adapters.trio": "adapters",
}


def _ids(path: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8")))


@pytest.mark.parametrize(("module", "page"), sorted(API_PAGES.items()))
def test_api_reference_documents_each_public_module(site: Path, module: str, page: str) -> None:
    assert f"::: {module}\n" in (ROOT / "docs" / "api" / f"{page}.md").read_text(encoding="utf-8")
    assert module in _ids(site / "api" / f"{page}.html"), f"{module} not rendered"


def test_api_reference_renders_the_classes_users_need(site: Path) -> None:
    wanted = {
        "book": [
            "kalshi_fix_sansio.trading.book.Books",
            "kalshi_fix_sansio.trading.book.Books.apply",
        ],
        "testing": [
            "kalshi_fix_sansio.simulator.testing.SessionPair",
            "kalshi_fix_sansio.simulator.testing.SessionPair.kalshi",
        ],
        "session": [
            "kalshi_fix_sansio.session.machine.Session.receive_data",
            "kalshi_fix_sansio.session.config.SessionConfig",
            "kalshi_fix_sansio.session.events.LoggedOn",
        ],
        "adapters": [
            "kalshi_fix_sansio.adapters.blocking.FixClient.order_entry",
            "kalshi_fix_sansio.adapters.asyncio.AsyncSession.place",
            "kalshi_fix_sansio.adapters.trio.TrioSession.open",
        ],
        "client": ["kalshi_fix_sansio.client.Endpoint"],
        "auth": ["kalshi_fix_sansio.session.Credentials"],
        "gateway": [
            "kalshi_fix_sansio.simulator.gateway.MockGateway",
            "kalshi_fix_sansio.simulator.gateway.Faults",
        ],
    }
    for page, ids in wanted.items():
        missing = set(ids) - _ids(site / "api" / f"{page}.html")
        assert not missing, f"api/{page}: {sorted(missing)} not rendered"
    adapters = (site / "api" / "adapters.html").read_text(encoding="utf-8")
    assert "kalshi_fix_sansio.adapters.blocking" in adapters  # the import name is shown


def test_guides_render_their_code_as_code(site: Path) -> None:
    for page in ("getting-started", "concepts", "guide-blocking", "guide-embedding", "security"):
        html = (site / f"{page}.html").read_text(encoding="utf-8")
        assert html.count("<pre") >= 3, page
        assert "```" not in "".join(_parse(site / f"{page}.html").text_lines()), page


def test_api_examples_render_as_code(site: Path) -> None:
    """A docstring's `>>>` examples are code, not run-on prose in nested blockquotes.

    Google style's `Example:` (singular) is an admonition whose `>>>` lines Markdown reads as
    blockquote markers; `Examples:` is the section griffe renders as highlighted code.
    """
    for html_path in sorted((site / "api").glob("*.html")):
        html = html_path.read_text(encoding="utf-8")
        assert "<blockquote" not in html, f"api/{html_path.stem}: a docstring example quoted"
    for page in ("builders", "codec", "ranges"):
        html = (site / "api" / f"{page}.html").read_text(encoding="utf-8")
        assert '<span class="gp">&gt;&gt;&gt; </span>' in html, f"api/{page}: no example as code"


def test_search_finds_the_guides_before_the_generated_dumps(site: Path) -> None:
    import json

    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    boost: dict[str, float] = {}
    for doc in index["docs"]:
        boost.setdefault(doc["location"].split("#")[0], doc.get("boost", 1.0))
    assert not any(page.startswith("api/spec.html") for page in boost)  # the FIELDS dump
    for page in ("reference/prediction.html", "reference/tags.html", "api/prediction.html"):
        assert boost[page] < 1, page
    for page in ("getting-started.html", "risk-controls.html", "performance.html"):
        assert boost[page] == 1.0, page


def test_the_site_works_opened_from_disk(site: Path) -> None:
    """Pages are files (`use_directory_urls: false`): a link opened from disk lands on a page,
    not on a directory listing."""
    html = (site / "index.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="([^"#:]+)"', html)) - {"."}
    pages = {link for link in links if not link.startswith(("assets/", "stylesheets/"))}
    assert pages and all(link.endswith(".html") for link in pages), sorted(pages)
    assert all((site / link).is_file() for link in pages)


def _plugin_names(config: dict[str, Any]) -> list[str]:
    return [p if isinstance(p, str) else next(iter(p)) for p in config.get("plugins", [])]


def test_the_quick_preview_is_the_site_without_the_api_reference() -> None:
    """mkdocs-quick.yml (the README's quick preview) is mkdocs.yml with every plugin but
    mkdocstrings, and not strict: a plugin added to mkdocs.yml must be added there too."""
    import yaml

    full = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    quick = yaml.safe_load((ROOT / "mkdocs-quick.yml").read_text(encoding="utf-8"))
    assert quick["INHERIT"] == "mkdocs.yml"
    assert set(quick) == {"INHERIT", "strict", "plugins"} and quick["strict"] is False
    assert "mkdocstrings" in _plugin_names(full)
    assert _plugin_names(quick) == [p for p in _plugin_names(full) if p != "mkdocstrings"]
    assert all(isinstance(p, str) for p in quick["plugins"])  # no options: the full ones'
    assert [p for p in full["plugins"] if isinstance(p, dict) and "search" in p] == []

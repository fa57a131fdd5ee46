"""mkdocs hooks: search finds the guide pages before the generated dumps.

The message reference (docs/reference/, generated from the spec) and the "every name" pages of
the API reference list every field of every message: a search for "order group" would
otherwise open on a table row of a dump instead of the page that explains order groups. They
are buried (the search plugin's ``boost`` below 1); the dump of the spec's tables
(docs/api/spec.md: the ``FIELDS`` dict and its kin) is left out of the search entirely.
"""

from __future__ import annotations

from typing import Any

BURIED = ("reference/", "api/prediction.md", "api/margin.md")
"""Generated pages, or pages listing every generated name: found, but after the guides."""
EXCLUDED = ("api/spec.md",)
"""Raw dumps of the spec's tables: not searched."""
BURY = 0.1


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Set the search plugin's per-page options (as front matter would) by path."""
    path = page.file.src_uri
    search = page.meta.setdefault("search", {})
    if path in EXCLUDED:
        search["exclude"] = True
    elif path.startswith(BURIED):
        search.setdefault("boost", BURY)
    return markdown

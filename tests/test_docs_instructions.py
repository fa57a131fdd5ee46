"""What the pages tell a user to type or import exists.

* Every ``kalshi_fix_sansio.<...>`` dotted path written in README.md and docs/**/*.md (not
  docs/reference/, generated from the spec, nor docs/api/, whose pages are ``::: target`` lines)
  resolves: the longest prefix that imports, then attributes for the rest. docs/api/'s pages
  render docstrings, so each ``:::`` target resolves and the dotted paths in the docstrings of
  the modules they render resolve too (the metrics page is `kalshi_fix_sansio.observability.metrics`'s).
  Skipped: logger names (``kalshi_fix_sansio.transport``, ``kalshi_fix_sansio.messages``,
  ``kalshi_fix_sansio.session.<product>.<session type>.<key>``), which are `logging` names,
  not modules; the adapters' constants give them.
* Every ``pip install`` of this package in README.md and docs/ names only extras that
  pyproject.toml defines, and its local paths exist relative to the checkout: ``.``, or the
  wheel in ``dist/`` that the build makes (name and version from pyproject.toml).
* README's install block runs where it says (the checkout's top directory): the wheel it
  installs is the one its build line makes.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

from kalshi_fix_sansio.client import SESSION_LOGGER_NAME, TRANSPORT_LOGGER_NAME
from kalshi_fix_sansio.codec.spec import SESSIONS
from kalshi_fix_sansio.observability import MESSAGE_LOGGER_NAME

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GENERATED = ("reference", "api")
PAGES = [
    ROOT / "README.md",
    *(p for p in sorted(DOCS.rglob("*.md")) if p.relative_to(DOCS).parts[0] not in GENERATED),
]
DOTTED = re.compile(r"kalshi_fix_sansio(?:\.[A-Za-z_]\w*)+")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS = set(PROJECT["optional-dependencies"])
WHEEL = f"dist/{PROJECT['name'].replace('-', '_')}-{{version}}-py3-none-any.whl"
OURS = (PROJECT["name"], PROJECT["name"].replace("-", "_"), "<wheel>")
REQUIREMENT = re.compile(r"^(?P<base>[^\[\]=<>~!;]+)(?:\[(?P<extras>[^\]]*)\])?(?P<rest>.*)$")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def found(name: str) -> tuple[Any, bool]:
    """What ``name`` names: the longest prefix of it that imports, then attributes for the
    rest; and whether every attribute was there."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:end]))
        except ModuleNotFoundError:
            continue
        for attr in parts[end:]:
            if not hasattr(obj, attr):
                return None, False
            obj = getattr(obj, attr)
        return obj, True
    return None, False


def resolves(name: str) -> bool:
    return found(name)[1]


def is_logger_name(name: str) -> bool:
    """A `logging` name of the library (not a module): the connection and FIX message logs,
    and the per-session ``kalshi_fix_sansio.session.<product>.<session type>.<key>``."""
    if name in (TRANSPORT_LOGGER_NAME, MESSAGE_LOGGER_NAME):
        return True
    rest = name.removeprefix(SESSION_LOGGER_NAME + ".")
    return rest != name and rest.split(".")[0] in {product for product, _ in SESSIONS}


def unresolved(text: str) -> list[str]:
    return sorted({
        m.group() for m in DOTTED.finditer(text)
        if not resolves(m.group()) and not is_logger_name(m.group())
    })  # fmt: skip


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_module_path_on_a_page_imports(page: Path) -> None:
    assert not unresolved(page.read_text(encoding="utf-8")), (
        f"{rel(page)} names what does not exist"
    )


def api_targets() -> dict[str, str]:
    """``:::`` target -> its docs/api page; ``adapters`` is installed as
    ``kalshi_fix_sansio.adapters`` (docs/api/adapters.md says so)."""
    targets = {}
    for page in sorted((DOCS / "api").glob("*.md")):
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("::: "):
                target = line.removeprefix("::: ").strip()
                if target.split(".")[0] == "adapters":
                    target = f"kalshi_fix_sansio.{target}"
                targets[target] = rel(page)
    return targets


def docstrings(source: Path) -> str:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return "\n".join(
        doc for node in ast.walk(tree)
        if isinstance(node, kinds) and (doc := ast.get_docstring(node, clean=False))
    )  # fmt: skip


def rendered_source(target: str) -> Path:
    """The source file whose docstrings a ``:::`` target renders: the module, or the module
    defining the class or function (a constant: the module holding it)."""
    obj, ok = found(target)
    assert ok, f"::: {target} does not exist"
    if not inspect.ismodule(obj):
        obj = inspect.getmodule(obj) or found(target.rsplit(".", 1)[0])[0]
    return Path(inspect.getfile(obj))


def test_every_api_page_target_and_the_paths_its_docstrings_name_import() -> None:
    targets = api_targets()
    assert "kalshi_fix_sansio.observability.metrics" in targets and len(targets) > 30
    sources = {rendered_source(target): page for target, page in targets.items()}
    wrong = {f"{rel(source)} ({page})": bad for source, page in sources.items()
             if (bad := unresolved(docstrings(source)))}  # fmt: skip
    assert not wrong, f"docstrings rendered on docs/api pages name what does not exist: {wrong}"


def pip_installs(text: str) -> list[list[str]]:
    """The arguments of each ``pip install`` in a page (a command in a console block, or
    inline code, which may wrap onto the next line), up to a comment, ``&&`` or the code's end."""
    found = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        for match in re.finditer(r"pip install\b", line):
            rest = line[match.end() :]
            if not rest.strip() and number + 1 < len(lines):
                rest = lines[number + 1]
            rest = re.split(r"`|#|&&|;|\|", rest)[0]
            found.append(shlex.split(rest))
    return found


def our_requirements(args: list[str]) -> list[re.Match[str]]:
    """The requirements of ``args`` that install this package (by name, path or wheel)."""
    ours = []
    for arg in args:
        match = REQUIREMENT.match(arg)
        if arg.startswith("-") or match is None:
            continue
        base = match["base"]
        if base in OURS or base.endswith(".whl") or base == "." or base.startswith(("./", "../")):
            ours.append(match)
    return ours


INSTALLS = [(rel(page), args) for page in PAGES for args in pip_installs(page.read_text("utf-8"))]


def test_the_pages_install_this_package_in_several_places() -> None:
    pages = {page for page, args in INSTALLS if our_requirements(args)}
    assert {"README.md", "docs/getting-started.md", "docs/observability.md"} <= pages


@pytest.mark.parametrize(
    ("page", "args"), INSTALLS, ids=[f"{p}:{' '.join(a)}" for p, a in INSTALLS]
)
def test_every_pip_install_names_real_extras_and_paths(page: str, args: list[str]) -> None:
    for requirement in our_requirements(args):
        extras = {e.strip() for e in (requirement["extras"] or "").split(",") if e.strip()}
        assert extras <= EXTRAS, (
            f"{page}: {requirement.string!r}: pyproject.toml has no extra "
            f"{sorted(extras - EXTRAS)} (it has {sorted(EXTRAS)})"
        )
        base = requirement["base"]
        if base.startswith("dist/"):  # what the build makes, from the checkout's top directory
            versions = (PROJECT["version"], "<version>")
            assert base in {WHEEL.format(version=v) for v in versions}, f"{page}: {base!r}"
        elif base == "." or base.startswith(("./", "../")):
            assert (ROOT / base / "pyproject.toml").is_file(), (
                f"{page}: {requirement.string!r}: no {base}/pyproject.toml relative to the checkout"
            )


def test_the_readme_install_block_works_from_the_checkout() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert "top directory" in section and "pyproject.toml" in section  # it says where
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block is not None
    lines = [line.split("#", 1)[0].strip() for line in block[1].splitlines()]
    assert any(
        re.fullmatch(r"(python -m pip install build && )?python -m build", ln) for ln in lines
    )
    paths = [
        r["base"] for ln in lines if "pip install" in ln for r in our_requirements(shlex.split(ln))
    ]
    assert paths == [WHEEL.format(version=PROJECT["version"]), "."], paths
    for line in filter(None, lines):  # commands from PATH: a fresh checkout has no .venv/bin/
        assert "/" not in line.split(" ", 1)[0], line


def test_a_page_installing_from_pypi_says_the_package_is_not_published_yet() -> None:
    """Until the first release, the PyPI line finds nothing: a page giving it says so."""
    by_name = {page for page, args in INSTALLS
               if any(r["base"] == PROJECT["name"] for r in our_requirements(args))}  # fmt: skip
    assert "docs/observability.md" in by_name
    for page in by_name:
        text = (ROOT / page).read_text(encoding="utf-8")
        assert re.search(r"not (on PyPI|published) yet", text), (
            f"{page}: say it is not published yet"
        )


KALSHI_FIX_LINE = re.compile(r"^(?:[A-Z_]+=\S+ )*(?:\.venv/bin/)?(?P<command>kalshi-fix .*)$")
"""A command line running ``kalshi-fix`` (or the checkout's ``.venv/bin/kalshi-fix``), after
environment variables set for it."""


def kalshi_fix_lines(text: str) -> list[str]:
    """Every ``kalshi-fix ...`` command line of the page's console blocks (prompt, comment,
    ``VAR=value`` words before it and a ``.venv/bin/`` path taken off; a line continued with
    ``\\`` joined). In a block with ``$`` prompts only the prompted lines are commands (the
    others are what they print)."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        lines = [line.strip() for line in block.replace("\\\n", " ").splitlines()]
        if any(line.startswith("$ ") for line in lines):
            lines = [line[2:] for line in lines if line.startswith("$ ")]
        for line in lines:
            if match := KALSHI_FIX_LINE.match(line):
                found.append(match["command"].split(" #", 1)[0].strip())
    return found


COMMANDS = [
    (rel(page), line) for page in PAGES for line in kalshi_fix_lines(page.read_text("utf-8"))
]


def test_the_readme_and_the_guides_give_kalshi_fix_commands() -> None:
    pages = {page for page, _ in COMMANDS}
    assert {"README.md", "docs/getting-started.md"} <= pages
    readme = {line.split()[1] for page, line in COMMANDS if page == "README.md"}
    assert {"order", "cancel"} <= readme


@pytest.mark.parametrize(("page", "line"), COMMANDS, ids=[f"{p}:{c}" for p, c in COMMANDS])
def test_every_kalshi_fix_command_line_parses(page: str, line: str) -> None:
    """What a page tells a user to type is a command the installed ``kalshi-fix`` accepts."""
    from kalshi_fix_sansio.cli import build_parser

    words = [w for w in shlex.split(line) if not re.fullmatch(r"\.\.\.|<[^>]+>", w)]
    try:
        build_parser().parse_args(words[1:])
    except SystemExit as exc:  # argparse's usage error, or --help / --version
        assert exc.code == 0, f"{page}: {line!r} does not parse"

"""Strict YAML loading that remembers where every value came from.

PyYAML silently keeps the last of two equal keys and forgets line numbers; the spec loader needs
both: a duplicate key is an error, and every error names the file and line it is about.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

#: libyaml's parser when PyYAML was built with it (its wheels are): the same nodes and marks as
#: the pure-Python one, twelve times faster on the spec (0.65 s -> 0.05 s for every file)
_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)


class SpecError(Exception):
    """One or more problems found in the spec, each naming its file and line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class Where:
    """A position in a spec file (1-based line)."""

    __slots__ = ("line", "path")

    def __init__(self, path: str, line: int) -> None:
        self.path = path
        self.line = line

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class Node(dict[str, Any]):
    """A YAML mapping that knows where it and each of its keys stand."""

    where: Where
    key_where: dict[str, Where]


class Seq(list[Any]):
    """A YAML sequence that knows where it and each of its items stand."""

    where: Where
    item_where: list[Where]

    def positioned(self) -> Iterator[tuple[Any, Where]]:
        """Each item with its position (scalars included)."""
        return zip(self, self.item_where, strict=True)


def _build(node: yaml.Node, path: str, constructor: yaml.constructor.SafeConstructor) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = Node()
        out.where = Where(path, line)
        out.key_where = {}
        for key_node, value_node in node.value:
            key = _build(key_node, path, constructor)
            kw = Where(path, key_node.start_mark.line + 1)
            if not isinstance(key, str):
                raise SpecError([f"{kw}: mapping key {key!r} must be a string"])
            if key in out:
                raise SpecError(
                    [f"{kw}: duplicate key {key!r} (first at line {out.key_where[key].line})"]
                )
            out[key] = _build(value_node, path, constructor)
            out.key_where[key] = kw
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = Seq(_build(item, path, constructor) for item in node.value)
        seq.where = Where(path, line)
        seq.item_where = [Where(path, item.start_mark.line + 1) for item in node.value]
        return seq
    return constructor.construct_object(node, deep=True)


def load_yaml(path: Path, shown_as: str) -> Any:
    """Load one YAML file into `Node` / `Seq` / scalars.

    Args:
        path: the file to read.
        shown_as: how the file is named in error messages (e.g. ``spec/fields.yaml``).

    Returns:
        The document, with `Node` for mappings and `Seq` for sequences.

    Raises:
        SpecError: the file is not valid YAML, has a duplicate key or a non-string key.
    """
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise SpecError([f"{shown_as}:{line}: invalid YAML: {exc}"]) from None
    if root is None:
        return None
    constructor = yaml.constructor.SafeConstructor()
    return _build(root, shown_as, constructor)

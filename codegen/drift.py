"""Compare the spec with a Kalshi FIX XML dictionary.

``python -m codegen drift [--dictionary PATH] [--spec DIR] [--all]`` lists every difference
between the YAML spec (both products together) and a QuickFIX-style XML dictionary, hides the
ones accepted in ``spec/drift.yaml`` (the spec is newer or more precise than the dictionary) and
reports accepted entries that no longer match anything, so the accepted list stays honest.

Exit status: 0 when nothing remains, 1 when differences or stale entries remain, 2 when the
comparison cannot run (dictionary missing or unreadable, spec invalid).
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .loader import load_spec
from .model import DRIFT_KINDS, FRAMING_TAGS, DriftEntry, FieldUse, GroupUse, Member, Spec
from .yamlload import SpecError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT / "spec"
DEFAULT_DICTIONARY = (
    ROOT.parent / "shared" / "kalshi-fix-reference" / "kalshi-fix-dictionary-v1.03.xml"
)

KINDS = DRIFT_KINDS
"""Every kind of difference, in report order."""

DiffKey = tuple[str, int | None, str | None, str | None]
"""Identity of a difference: (kind, tag, msgtype, value)."""


_STRENGTH = {"N": 0, "C": 1, "Y": 2}


class DictionaryError(Exception):
    """The XML dictionary cannot be read or refers to something it does not define."""


# ---------------------------------------------------------------------------------------------
# The dictionary


@dataclass
class DictField:
    """A field of the dictionary's ``<fields>`` section."""

    tag: int
    name: str
    type: str
    values: list[str]


@dataclass
class DictMessage:
    """A message of the dictionary, its fields flattened (groups and components resolved)."""

    msgtype: str
    name: str
    category: str
    fields: dict[int, str]  # tag -> required attribute: Y, N or C (conditional)

    def required(self, tag: int) -> bool:
        """Whether the dictionary marks a field required (C counts as not required)."""
        return self.fields[tag] == "Y"


@dataclass
class Dictionary:
    """What the drift check needs from a FIX XML dictionary."""

    path: Path
    fields: dict[int, DictField]
    messages: dict[str, DictMessage]
    header: dict[int, str]
    trailer: dict[int, str]


def parse_dictionary(path: Path) -> Dictionary:
    """Read a QuickFIX-style XML dictionary.

    Args:
        path: the XML file.

    Returns:
        The parsed `Dictionary`; message, header and trailer fields are flattened by tag, with
        groups (nested) and component references resolved.

    Raises:
        DictionaryError: the file cannot be read or parsed, or it refers to an undefined field or
            component.
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise DictionaryError(f"{path}: cannot read the dictionary: {exc}") from exc

    fields: dict[int, DictField] = {}
    by_name: dict[str, int] = {}
    for fe in root.iterfind("fields/field"):
        number, name = fe.get("number"), fe.get("name")
        if number is None or name is None or not number.strip().isdigit():
            raise DictionaryError(f"{path}: <field> needs a numeric number and a name: {fe.attrib}")
        tag = int(number)
        values = [v.get("enum", "") for v in fe.iterfind("value")]
        fields[tag] = DictField(tag, name, (fe.get("type") or "").upper(), values)
        by_name[name] = tag

    components = {c.get("name", ""): c for c in root.iterfind("components/component")}

    def flatten(elem: ET.Element, owner: str, out: dict[int, str], seen: tuple[str, ...]) -> None:
        for child in elem:
            name = child.get("name", "")
            if child.tag in ("field", "group"):
                if name not in by_name:
                    raise DictionaryError(f"{path}: {owner} uses undefined field {name!r}")
                tag = by_name[name]
                req = child.get("required", "N").upper()
                req = req if req in _STRENGTH else "N"
                if _STRENGTH[req] > _STRENGTH.get(out.get(tag, ""), -1):
                    out[tag] = req
                if child.tag == "group":
                    flatten(child, f"{owner}.{name}", out, seen)
            elif child.tag == "component":
                comp = components.get(name)
                if comp is None:
                    raise DictionaryError(f"{path}: {owner} uses undefined component {name!r}")
                if name in seen:
                    raise DictionaryError(f"{path}: component {name!r} includes itself")
                flatten(comp, f"{owner}.{name}", out, (*seen, name))

    messages: dict[str, DictMessage] = {}
    for me in root.iterfind("messages/message"):
        msgtype = me.get("msgtype", "")
        name = me.get("name", "")
        flat: dict[int, str] = {}
        flatten(me, f"message {name} ({msgtype})", flat, ())
        messages[msgtype] = DictMessage(msgtype, name, me.get("msgcat", ""), flat)

    header: dict[int, str] = {}
    trailer: dict[int, str] = {}
    for section, out in (("header", header), ("trailer", trailer)):
        elem = root.find(section)
        if elem is not None:
            flatten(elem, section, out, ())
    return Dictionary(path, fields, messages, header, trailer)


# ---------------------------------------------------------------------------------------------
# Differences


@dataclass(frozen=True)
class Difference:
    """One difference between the dictionary and the spec."""

    kind: str
    tag: int | None = None
    msgtype: str | None = None
    value: str | None = None
    detail: str = ""

    @property
    def key(self) -> DiffKey:
        """The stable identity an accepted entry in drift.yaml matches."""
        return (self.kind, self.tag, self.msgtype, self.value)

    def line(self) -> str:
        """One report line: kind, identifiers and what differs."""
        ids = []
        if self.msgtype is not None:
            ids.append(f"msgtype={self.msgtype}")
        if self.tag is not None:
            ids.append(f"tag={self.tag}")
        if self.value is not None:
            ids.append(f"value={self.value}")
        return f"{self.kind} {' '.join(ids)}: {self.detail}"


def _sort_key(d: Difference) -> tuple[int, str, int, str]:
    return (KINDS.index(d.kind), d.msgtype or "", d.tag or 0, d.value or "")


def _spec_members(
    members: Iterable[Member], products: tuple[str, ...], out: dict[int, bool]
) -> None:
    """Flatten spec members (groups nested) into tag -> required for any product."""
    for m in members:
        live = tuple(p for p in m.products if p in products)
        if not live:
            continue
        required = any(m.required.get(p) is True for p in live)
        tag = m.field.tag if isinstance(m, FieldUse) else m.count.tag
        out[tag] = out.get(tag, False) or required
        if isinstance(m, GroupUse):
            _spec_members(m.members, live, out)


def _flatten_message(members: Iterable[Member], products: tuple[str, ...]) -> dict[int, bool]:
    out: dict[int, bool] = {}
    _spec_members(members, products, out)
    return out


def compare(spec: Spec, dictionary: Dictionary) -> list[Difference]:
    """List every difference between the dictionary and the union of both products of the spec.

    Args:
        spec: the loaded spec.
        dictionary: the parsed XML dictionary.

    Returns:
        The differences, sorted by kind (in `KINDS` order), msgtype, tag and value.
    """
    diffs: list[Difference] = []
    spec_fields = spec.by_tag
    dict_fields = dictionary.fields

    def fname(tag: int) -> str:
        f = spec_fields.get(tag)
        if f is not None:
            return f.name
        d = dict_fields.get(tag)
        return d.name if d is not None else "?"

    for tag in sorted(set(spec_fields) | set(dict_fields)):
        sf, df = spec_fields.get(tag), dict_fields.get(tag)
        if df is None and sf is not None:
            diffs.append(
                Difference(
                    "field-missing-in-dictionary",
                    tag,
                    detail=f"{sf.name} ({sf.type}) is only in the spec",
                )
            )
            continue
        if sf is None and df is not None:
            diffs.append(
                Difference(
                    "field-missing-in-spec",
                    tag,
                    detail=f"{df.name} ({df.type}) is only in the dictionary",
                )
            )
            continue
        assert sf is not None and df is not None
        if sf.name != df.name:
            diffs.append(
                Difference("field-name", tag, detail=f"dictionary {df.name}, spec {sf.name}")
            )
        if sf.type != df.type:
            diffs.append(
                Difference(
                    "field-type", tag, detail=f"{sf.name}: dictionary {df.type}, spec {sf.type}"
                )
            )
        spec_values = {str(v.value): v.name for v in sf.values}
        dict_values = set(df.values)
        for value in sorted(set(spec_values) - dict_values):
            diffs.append(
                Difference(
                    "enum-missing-in-dictionary",
                    tag,
                    value=value,
                    detail=f"{sf.name}={value} ({spec_values[value]}) is only in the spec",
                )
            )
        for value in sorted(dict_values - set(spec_values)):
            diffs.append(
                Difference(
                    "enum-missing-in-spec",
                    tag,
                    value=value,
                    detail=f"{sf.name}={value} is only in the dictionary",
                )
            )

    spec_msgs = {m.msgtype: m for m in spec.messages}
    for mt in sorted(set(spec_msgs) | set(dictionary.messages)):
        sm, dm = spec_msgs.get(mt), dictionary.messages.get(mt)
        if dm is None and sm is not None:
            diffs.append(
                Difference(
                    "message-missing-in-dictionary",
                    msgtype=mt,
                    detail=f"{sm.name} is only in the spec",
                )
            )
            continue
        if sm is None and dm is not None:
            diffs.append(
                Difference(
                    "message-missing-in-spec",
                    msgtype=mt,
                    detail=f"{dm.name} is only in the dictionary",
                )
            )
            continue
        assert sm is not None and dm is not None
        sflat = _flatten_message(sm.members, sm.products)
        for tag in sorted(set(sflat) | set(dm.fields)):
            if tag not in dm.fields:
                diffs.append(
                    Difference(
                        "message-field-missing-in-dictionary",
                        tag,
                        mt,
                        detail=f"{sm.name}.{fname(tag)} is only in the spec",
                    )
                )
            elif tag not in sflat:
                diffs.append(
                    Difference(
                        "message-field-missing-in-spec",
                        tag,
                        mt,
                        detail=f"{sm.name}.{fname(tag)} is only in the dictionary",
                    )
                )
            elif sflat[tag] != dm.required(tag):
                diffs.append(
                    Difference(
                        "message-field-required",
                        tag,
                        mt,
                        detail=f"{sm.name}.{fname(tag)}: dictionary {dm.fields[tag]}, "
                        f"spec {'required' if sflat[tag] else 'not required'}",
                    )
                )

    spec_hdr = {u.field.tag for u in (*spec.header, *spec.trailer)}
    dict_hdr = (set(dictionary.header) | set(dictionary.trailer)) - FRAMING_TAGS
    for tag in sorted(spec_hdr - dict_hdr):
        diffs.append(
            Difference(
                "header-field-missing-in-dictionary",
                tag,
                detail=f"{fname(tag)} is in the spec's header/trailer only",
            )
        )
    for tag in sorted(dict_hdr - spec_hdr):
        diffs.append(
            Difference(
                "header-field-missing-in-spec",
                tag,
                detail=f"{fname(tag)} is in the dictionary's header/trailer only",
            )
        )
    return sorted(diffs, key=_sort_key)


# ---------------------------------------------------------------------------------------------
# Accepted differences


def entry_key(entry: DriftEntry) -> DiffKey:
    """The difference key an accepted entry of drift.yaml stands for.

    Args:
        entry: an entry of ``accepted:``.

    Returns:
        (kind, tag, msgtype, value), msgtype and value as strings as in `Difference.key`.
    """
    return (
        entry.kind,
        entry.tag,
        None if entry.msgtype is None else str(entry.msgtype),
        None if entry.value is None else str(entry.value),
    )


@dataclass
class Outcome:
    """The differences split by what drift.yaml says about them."""

    remaining: list[Difference] = field(default_factory=list)
    accepted: list[Difference] = field(default_factory=list)
    stale: list[DriftEntry] = field(default_factory=list)
    duplicates: list[tuple[DriftEntry, DriftEntry]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing needs attention."""
        return not (self.remaining or self.stale or self.duplicates)


def apply_accepted(diffs: list[Difference], entries: list[DriftEntry]) -> Outcome:
    """Split differences into accepted and remaining; find stale and duplicate entries.

    Args:
        diffs: the differences found by `compare`.
        entries: the accepted entries of drift.yaml.

    Returns:
        The `Outcome`.
    """
    out = Outcome()
    first: dict[DiffKey, DriftEntry] = {}
    for e in entries:
        k = entry_key(e)
        if k in first:
            out.duplicates.append((e, first[k]))
        else:
            first[k] = e
    found = {d.key for d in diffs}
    for d in diffs:
        (out.accepted if d.key in first else out.remaining).append(d)
    out.stale = [e for k, e in first.items() if k not in found]
    return out


def format_report(outcome: Outcome, dictionary_path: Path, show_all: bool = False) -> list[str]:
    """Render the report lines.

    Args:
        outcome: the result of `apply_accepted`.
        dictionary_path: the dictionary compared with (named in the summary).
        show_all: also list accepted differences, marked ``(accepted)``.

    Returns:
        The lines to print.
    """
    lines: list[str] = []
    shown = [(d, False) for d in outcome.remaining]
    if show_all:
        shown += [(d, True) for d in outcome.accepted]
    shown.sort(key=lambda item: _sort_key(item[0]))
    for kind in KINDS:
        group = [(d, acc) for d, acc in shown if d.kind == kind]
        if not group:
            continue
        n_acc = sum(acc for _, acc in group)
        count = f"{len(group)}, {n_acc} accepted" if n_acc else f"{len(group)}"
        lines.append(f"{kind} ({count}):")
        lines.extend(f"  {d.line()}{' (accepted)' if acc else ''}" for d, acc in group)
    for e in outcome.stale:
        lines.append(
            f"stale accepted entry at {e.where}: {e.kind} (no such difference any more; remove it)"
        )
    for e, orig in outcome.duplicates:
        lines.append(f"duplicate accepted entry at {e.where} (same as line {orig.where.line})")
    n_acc = len(outcome.accepted)
    if outcome.clean:
        lines.append(f"spec matches {dictionary_path} ({n_acc} accepted differences)")
    else:
        lines.append(
            f"spec differs from {dictionary_path}: {len(outcome.remaining)} unaccepted "
            f"differences, {len(outcome.stale)} stale and {len(outcome.duplicates)} "
            f"duplicate accepted entries ({n_acc} accepted differences)"
        )
    return lines


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run(
    dictionary_path: Path,
    spec_dir: Path,
    show_all: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Compare a spec directory with a dictionary and print the report.

    Args:
        dictionary_path: the XML dictionary.
        spec_dir: the spec directory (with drift.yaml, optional).
        show_all: also list accepted differences.
        out: where the report goes (default stdout).
        err: where errors go (default stderr).

    Returns:
        0 nothing remains, 1 differences or stale entries remain, 2 the comparison cannot run.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if not dictionary_path.is_file():
        print(
            f"dictionary not found: {dictionary_path}\n"
            "pass the Kalshi FIX XML dictionary with --dictionary PATH",
            file=err,
        )
        return 2
    try:
        dictionary = parse_dictionary(dictionary_path)
    except DictionaryError as exc:
        print(str(exc), file=err)
        return 2
    try:
        spec = load_spec(spec_dir, _shown(spec_dir))
    except SpecError as exc:
        print(f"spec error{'s' if len(exc.problems) > 1 else ''}:", file=err)
        for p in exc.problems:
            print(f"  {p}", file=err)
        return 2
    outcome = apply_accepted(compare(spec, dictionary), spec.drift)
    for line in format_report(outcome, dictionary_path, show_all):
        print(line, file=out)
    return 0 if outcome.clean else 1


def main(argv: list[str]) -> int:
    """Entry point of ``python -m codegen drift``.

    Args:
        argv: the arguments after ``drift``.

    Returns:
        The exit status (see `run`).
    """
    parser = argparse.ArgumentParser(
        prog="python -m codegen drift",
        description="Compare the spec with a Kalshi FIX XML dictionary.",
    )
    parser.add_argument(
        "--dictionary",
        type=Path,
        default=DEFAULT_DICTIONARY,
        help=f"the XML dictionary (default: {DEFAULT_DICTIONARY})",
    )
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="spec directory")
    parser.add_argument(
        "--all", action="store_true", dest="show_all", help="also list accepted differences"
    )
    args = parser.parse_args(argv)
    return run(args.dictionary, args.spec, args.show_all)

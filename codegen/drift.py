"""Compare the spec with a Kalshi FIX XML dictionary.

``python -m codegen drift [--dictionary PATH] [--spec DIR] [--product NAME] [--all]`` lists every
difference between one product of the YAML spec (prediction by default: Kalshi's dictionary is the
prediction one) and a QuickFIX-style XML dictionary that would change the codec: fields, their
names, types and enum values; messages, their category, their fields, where each field sits
(body or which repeating group), whether it is required, optional or conditional, which tags are
repeating groups, each group's first field (its delimiter) and count tag; the members of shared
components; the header and trailer. It hides the differences accepted in ``spec/drift.yaml``
(the spec is newer or more precise than the dictionary) and reports accepted entries that no
longer match anything, so the accepted list stays honest.

The dictionary says nothing about direction (who sends a message): QuickFIX dictionaries have no
such attribute, so direction is not compared.

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
from .model import DRIFT_KINDS, FRAMING_TAGS, PRODUCTS, DriftEntry, Spec
from .view import RField, RGroup
from .yamlload import SpecError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT / "spec"
SOURCES = DEFAULT_SPEC / "sources"
"""Kalshi's published inputs kept in the repository (see ``spec/sources/README.md``)."""
DEFAULT_DICTIONARY = SOURCES / "kalshi-fix-dictionary-v1.03.xml"
DICTIONARY_PRODUCT = "prediction"
"""The product Kalshi's dictionary describes; ``spec/drift.yaml`` records differences for it."""

KINDS = DRIFT_KINDS
"""Every kind of difference, in report order."""

DiffKey = tuple[str, int | None, str | None, str | None]
"""Identity of a difference: (kind, tag, msgtype, value)."""

REQUIRED_WORDS = {"Y": "required", "N": "optional", "C": "conditional"}
"""The dictionary's ``required`` attribute (Y, N, C) and the spec's words for it."""


class DictionaryError(Exception):
    """The XML dictionary cannot be read or refers to something it does not define."""


# ---------------------------------------------------------------------------------------------
# Structure: what both sides are turned into


@dataclass(frozen=True)
class Slot:
    """A field or a repeating group where a message, group or component holds it.

    Attributes:
        tag: the field's tag (a group's count tag).
        required: ``Y`` required, ``N`` optional, ``C`` conditional.
        members: a repeating group's members in order (None: a plain field).
    """

    tag: int
    required: str
    members: tuple[Slot, ...] | None = None


@dataclass(frozen=True)
class Place:
    """Where a tag sits in a message: its slot and the count tags of the groups around it."""

    slot: Slot
    path: tuple[int, ...]  # outermost group first; () = the message body

    @property
    def delimiter(self) -> int | None:
        """The first member's tag, when the tag is a repeating group's count."""
        members = self.slot.members
        return members[0].tag if members else None


def places(slots: Iterable[Slot], path: tuple[int, ...] = ()) -> dict[int, Place]:
    """Every tag of a slot tree with its place (the first place, when a tag occurs twice)."""
    out: dict[int, Place] = {}
    for s in slots:
        out.setdefault(s.tag, Place(s, path))
        if s.members is not None:
            for tag, p in places(s.members, (*path, s.tag)).items():
                out.setdefault(tag, p)
    return out


def spec_slots(members: Iterable[RField | RGroup]) -> tuple[Slot, ...]:
    """One product's resolved members as slots."""
    out = []
    for m in members:
        req = "Y" if m.required else "C" if m.conditional else "N"
        kids = spec_slots(m.members) if isinstance(m, RGroup) else None
        out.append(Slot(m.tag, req, kids))
    return tuple(out)


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
    """A message of the dictionary, its members as slots (components resolved)."""

    msgtype: str
    name: str
    category: str
    members: tuple[Slot, ...]

    @property
    def fields(self) -> dict[int, str]:
        """Every tag of the message, groups flattened, with its required attribute (Y, N, C)."""
        return {tag: p.slot.required for tag, p in places(self.members).items()}


@dataclass
class Dictionary:
    """What the drift check needs from a FIX XML dictionary."""

    path: Path
    fields: dict[int, DictField]
    messages: dict[str, DictMessage]
    header: dict[int, str]
    trailer: dict[int, str]
    components: dict[str, tuple[Slot, ...]] = field(default_factory=dict)


def parse_dictionary(path: Path) -> Dictionary:
    """Read a QuickFIX-style XML dictionary.

    Args:
        path: the XML file.

    Returns:
        The parsed `Dictionary`: messages and components as slot trees (component references
        resolved), header and trailer as tag -> required attribute.

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

    def slots(elem: ET.Element, owner: str, seen: tuple[str, ...]) -> tuple[Slot, ...]:
        out: list[Slot] = []
        for child in elem:
            name = child.get("name", "")
            if child.tag in ("field", "group"):
                if name not in by_name:
                    raise DictionaryError(f"{path}: {owner} uses undefined field {name!r}")
                req = child.get("required", "N").upper()
                req = req if req in REQUIRED_WORDS else "N"
                kids = slots(child, f"{owner}.{name}", seen) if child.tag == "group" else None
                out.append(Slot(by_name[name], req, kids))
            elif child.tag == "component":
                comp = components.get(name)
                if comp is None:
                    raise DictionaryError(f"{path}: {owner} uses undefined component {name!r}")
                if name in seen:
                    raise DictionaryError(f"{path}: component {name!r} includes itself")
                out.extend(slots(comp, f"{owner}.{name}", (*seen, name)))
        return tuple(out)

    messages: dict[str, DictMessage] = {}
    for me in root.iterfind("messages/message"):
        msgtype, name = me.get("msgtype", ""), me.get("name", "")
        members = slots(me, f"message {name} ({msgtype})", ())
        messages[msgtype] = DictMessage(msgtype, name, me.get("msgcat", ""), members)
    comps = {name: slots(c, f"component {name}", (name,)) for name, c in components.items()}
    header: dict[int, str] = {}
    trailer: dict[int, str] = {}
    for section, out in (("header", header), ("trailer", trailer)):
        elem = root.find(section)
        if elem is not None:
            out.update(
                (tag, p.slot.required) for tag, p in places(slots(elem, section, ())).items()
            )
    return Dictionary(path, fields, messages, header, trailer, comps)


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
        """One report line: kind, identifiers and what differs on each side."""
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


class _Comparison:
    """Collects the differences of one spec product and one dictionary."""

    def __init__(self, spec: Spec, dictionary: Dictionary, product: str) -> None:
        self.view = spec.view(product)
        self.dictionary = dictionary
        self.spec_fields = {f.tag: f for f in self.view.fields}
        self.diffs: list[Difference] = []

    def add(
        self,
        kind: str,
        tag: int | None = None,
        msgtype: str | None = None,
        value: str | None = None,
        detail: str = "",
    ) -> None:
        """Record one difference."""
        self.diffs.append(Difference(kind, tag, msgtype, value, detail))

    def name(self, tag: int) -> str:
        """``Name(tag)`` from the spec, else from the dictionary."""
        f = self.spec_fields.get(tag) or self.dictionary.fields.get(tag)
        return f"{f.name if f is not None else '?'}({tag})"

    def where(self, path: tuple[int, ...]) -> str:
        """A place in words: the body, or the groups around a tag (outermost first)."""
        if not path:
            return "the body"
        return "group " + " > ".join(self.name(t) for t in path)

    # -- fields and enums ------------------------------------------------------------------------

    def fields(self) -> None:
        """Tags: defined on both sides, with the same name, type and enum values."""
        spec, dic = self.spec_fields, self.dictionary.fields
        for tag in sorted(set(spec) | set(dic)):
            sf, df = spec.get(tag), dic.get(tag)
            if df is None and sf is not None:
                self.add(
                    "field-missing-in-dictionary",
                    tag,
                    detail=f"{sf.name} ({sf.type}) is only in the spec",
                )
                continue
            if sf is None and df is not None:
                self.add(
                    "field-missing-in-spec",
                    tag,
                    detail=f"{df.name} ({df.type}) is only in the dictionary",
                )
                continue
            assert sf is not None and df is not None
            if sf.name != df.name:
                self.add("field-name", tag, detail=f"dictionary {df.name}, spec {sf.name}")
            if sf.type != df.type:
                self.add(
                    "field-type", tag, detail=f"{sf.name}: dictionary {df.type}, spec {sf.type}"
                )
            spec_values = {str(v.value): v.name for v in sf.values_for(self.view.product)}
            for value in sorted(set(spec_values) - set(df.values)):
                self.add(
                    "enum-missing-in-dictionary",
                    tag,
                    value=value,
                    detail=f"{sf.name}={value} ({spec_values[value]}) is only in the spec",
                )
            for value in sorted(set(df.values) - set(spec_values)):
                self.add(
                    "enum-missing-in-spec",
                    tag,
                    value=value,
                    detail=f"{sf.name}={value} is only in the dictionary",
                )

    # -- messages ------------------------------------------------------------------------------

    def messages(self) -> None:
        """Messages: on both sides, of the same category, with the same members."""
        spec = {m.msgtype: m for m in self.view.messages}
        dic = self.dictionary.messages
        for mt in sorted(set(spec) | set(dic)):
            sm, dm = spec.get(mt), dic.get(mt)
            if dm is None and sm is not None:
                self.add(
                    "message-missing-in-dictionary",
                    msgtype=mt,
                    detail=f"{sm.name} is only in the spec",
                )
                continue
            if sm is None and dm is not None:
                detail = f"{dm.name} is only in the dictionary"
                self.add("message-missing-in-spec", msgtype=mt, detail=detail)
                continue
            assert sm is not None and dm is not None
            if sm.msg.category != dm.category:
                self.add(
                    "message-category",
                    msgtype=mt,
                    detail=f"{sm.name}: dictionary {dm.category or '(none)'}, "
                    f"spec {sm.msg.category}",
                )
            self.members(sm.name, mt, spec_slots(sm.members), dm.members)

    def members(
        self, owner: str, msgtype: str, spec_side: tuple[Slot, ...], dict_side: tuple[Slot, ...]
    ) -> None:
        """Compare the fields and groups of one message, tag by tag."""
        sp, dp = places(spec_side), places(dict_side)
        renamed = self._renamed_groups(owner, msgtype, sp, dp)
        skip = set(renamed) | set(renamed.values())

        def norm(path: tuple[int, ...]) -> tuple[int, ...]:
            return tuple(renamed.get(t, t) for t in path)

        for tag in sorted((set(sp) | set(dp)) - skip):
            s, d = sp.get(tag), dp.get(tag)
            what = f"{owner} {self.name(tag)}"
            if d is None and s is not None:
                self.add(
                    "message-field-missing-in-dictionary",
                    tag,
                    msgtype,
                    detail=f"{what} is only in the spec (in {self.where(s.path)})",
                )
                continue
            if s is None and d is not None:
                self.add(
                    "message-field-missing-in-spec",
                    tag,
                    msgtype,
                    detail=f"{what} is only in the dictionary (in {self.where(d.path)})",
                )
                continue
            assert s is not None and d is not None
            if (s.slot.members is None) != (d.slot.members is None):
                kinds = ["a plain field", "a repeating group"]
                self.add(
                    "message-field-is-group",
                    tag,
                    msgtype,
                    detail=f"{what}: dictionary {kinds[d.slot.members is not None]}, "
                    f"spec {kinds[s.slot.members is not None]}",
                )
            elif s.delimiter != d.delimiter:
                self.add(
                    "group-delimiter",
                    tag,
                    msgtype,
                    detail=f"{owner} group {self.name(tag)}: first field "
                    f"{self._first(d)} in the dictionary, {self._first(s)} in the spec",
                )
            dpath = norm(d.path)
            # a member of a group that moved as a whole is reported once, with its group
            if dpath != s.path and not (dpath and s.path and dpath[-1] == s.path[-1]):
                self.add(
                    "message-field-location",
                    tag,
                    msgtype,
                    detail=f"{what}: dictionary in {self.where(d.path)}, "
                    f"spec in {self.where(s.path)}",
                )
            if s.slot.required != d.slot.required:
                self.add(
                    "message-field-required",
                    tag,
                    msgtype,
                    detail=f"{what}: dictionary {REQUIRED_WORDS[d.slot.required]} "
                    f"({d.slot.required}), spec {REQUIRED_WORDS[s.slot.required]}",
                )

    def _first(self, p: Place) -> str:
        return "(none)" if p.delimiter is None else self.name(p.delimiter)

    def _renamed_groups(
        self, owner: str, msgtype: str, sp: dict[int, Place], dp: dict[int, Place]
    ) -> dict[int, int]:
        """Groups whose count tag differs (same first field): dictionary tag -> spec tag."""
        spec_only = [t for t, p in sp.items() if p.slot.members and t not in dp]
        renamed: dict[int, int] = {}
        for dt, d in dp.items():
            if not d.slot.members or dt in sp:
                continue
            match = next((st for st in spec_only if sp[st].delimiter == d.delimiter), None)
            if match is None or match in renamed.values():
                continue
            renamed[dt] = match
            self.add(
                "group-count-tag",
                match,
                msgtype,
                str(dt),
                detail=f"{owner} group starting with {self._first(d)}: count tag "
                f"{self.name(dt)} in the dictionary, {self.name(match)} in the spec",
            )
        return renamed

    # -- components, header and trailer -----------------------------------------------------------

    def components(self) -> None:
        """Members of the shared groups, matched by count tag (the names differ)."""
        by_count = {
            slots[0].tag: (name, slots[0])
            for name, slots in self.dictionary.components.items()
            if len(slots) == 1 and slots[0].members is not None
        }
        for cname, comp in sorted(self.view.components.items()):
            if comp.tag not in by_count:
                continue
            dname, dslot = by_count[comp.tag]
            spec_tags = set(places(spec_slots(comp.members)))
            dict_tags = set(places(dslot.members or ()))
            label = f"component {cname} (dictionary {dname}, group {self.name(comp.tag)})"
            for tag in sorted(spec_tags - dict_tags):
                self.add(
                    "component-field-missing-in-dictionary",
                    tag,
                    value=cname,
                    detail=f"{label}: {self.name(tag)} is only in the spec",
                )
            for tag in sorted(dict_tags - spec_tags):
                self.add(
                    "component-field-missing-in-spec",
                    tag,
                    value=cname,
                    detail=f"{label}: {self.name(tag)} is only in the dictionary",
                )

    def header(self) -> None:
        """The standard header and trailer (framing tags aside): members and requirement."""
        view = self.view
        spec = {s.tag: s.required for s in spec_slots((*view.header, *view.trailer))}
        dic = {
            t: r
            for t, r in (*self.dictionary.header.items(), *self.dictionary.trailer.items())
            if t not in FRAMING_TAGS
        }
        for tag in sorted(set(spec) | set(dic)):
            if tag not in dic:
                self.add(
                    "header-field-missing-in-dictionary",
                    tag,
                    detail=f"{self.name(tag)} is in the spec's header/trailer only",
                )
            elif tag not in spec:
                self.add(
                    "header-field-missing-in-spec",
                    tag,
                    detail=f"{self.name(tag)} is in the dictionary's header/trailer only",
                )
            elif spec[tag] != dic[tag]:
                self.add(
                    "header-field-required",
                    tag,
                    detail=f"{self.name(tag)}: dictionary {REQUIRED_WORDS[dic[tag]]} "
                    f"({dic[tag]}), spec {REQUIRED_WORDS[spec[tag]]}",
                )


def compare(
    spec: Spec, dictionary: Dictionary, product: str = DICTIONARY_PRODUCT
) -> list[Difference]:
    """List every difference between the dictionary and one product of the spec.

    Args:
        spec: the loaded spec.
        dictionary: the parsed XML dictionary.
        product: the product the dictionary describes (Kalshi's is the prediction one).

    Returns:
        The differences, sorted by kind (in `KINDS` order), msgtype, tag and value.
    """
    c = _Comparison(spec, dictionary, product)
    c.fields()
    c.messages()
    c.components()
    c.header()
    return sorted(c.diffs, key=_sort_key)


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
    product: str = DICTIONARY_PRODUCT,
) -> int:
    """Compare a spec directory with a dictionary and print the report.

    Args:
        dictionary_path: the XML dictionary.
        spec_dir: the spec directory (with drift.yaml, optional).
        show_all: also list accepted differences.
        out: where the report goes (default stdout).
        err: where errors go (default stderr).
        product: the spec product to compare; drift.yaml's accepted list applies to
            `DICTIONARY_PRODUCT` only (it records the differences of Kalshi's dictionary).

    Returns:
        0 nothing remains, 1 differences or stale entries remain, 2 the comparison cannot run.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if not dictionary_path.is_file():
        print(
            f"dictionary not found: {dictionary_path}\n"
            f"Kalshi's dictionary belongs in {_shown(SOURCES)}/ (see its README.md); "
            "or pass one with --dictionary PATH",
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
    accepted = spec.drift if product == DICTIONARY_PRODUCT else []
    if product != DICTIONARY_PRODUCT:
        print(f"comparing the {product} spec: drift.yaml's accepted list is not applied", file=out)
    outcome = apply_accepted(compare(spec, dictionary, product), accepted)
    for line in format_report(outcome, Path(_shown(dictionary_path)), show_all):
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
        "--product",
        choices=PRODUCTS,
        default=DICTIONARY_PRODUCT,
        help=f"the spec product to compare (default: {DICTIONARY_PRODUCT}, "
        "the product Kalshi's dictionary describes)",
    )
    parser.add_argument(
        "--all", action="store_true", dest="show_all", help="also list accepted differences"
    )
    args = parser.parse_args(argv)
    return run(args.dictionary, args.spec, args.show_all, product=args.product)

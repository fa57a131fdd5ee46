"""Load and validate the YAML spec in ``spec/`` into a `Spec` (`load_spec`).

Each file is read in a fixed order and checked in one named step; the shape of every node comes
from the tables in `codegen.schema`, and the steps here add what a table cannot say (duplicates,
references between files, rules that depend on another key). Every problem is reported with its
file and line, all at once. A definition that has problems is reported once: uses of it are not
reported again as undefined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .members import MemberParser, products_of
from .model import (
    INT_TYPES,
    PRODUCTS,
    STR_ENUM_TYPES,
    Dialect,
    DriftEntry,
    EnumValue,
    FieldDef,
    FieldUse,
    MessageDef,
    SessionDef,
    Spec,
    snake,
)
from .rules import enum_rules, read_rules, resolve_rules
from .schema import (
    COMPONENT,
    COMPONENTS_FILE,
    DIALECT,
    DRIFT_ENTRY,
    DRIFT_FILE,
    ENUM_VALUE,
    ENVIRONMENTS,
    FIELD,
    FIELDS_FILE,
    MESSAGE,
    MESSAGES_FILE,
    PRODUCT_SESSIONS,
    SESSION,
    SESSION_PRODUCTS,
    SESSIONS_FILE,
    Problems,
    Shape,
)
from .yamlload import Node, SpecError, Where, load_yaml


def load_spec(root: Path, shown_root: str = "spec") -> Spec:
    """Read and validate every file of a spec directory.

    Args:
        root: the spec directory (holding fields.yaml, components.yaml, messages/, ...).
        shown_root: how the directory is named in error messages.

    Returns:
        The validated `Spec`.

    Raises:
        SpecError: listing every problem found, each with its file and line.
    """
    files = SpecFiles(root, shown_root)
    p = files.problems
    fields, broken_fields = _load_fields(files)
    components, broken_components = _load_components(files)
    parser = MemberParser(
        p, {f.name: f for f in fields}, broken_fields, components, broken_components
    )
    header, trailer = _load_header_and_trailer(parser, components)
    messages, broken_messages = _load_messages(files, parser)
    dialect_docs = _read_dialects(files)
    sessions = _load_sessions(files, parser, {m.msgtype: m for m in messages}, broken_messages)
    drift = _load_drift(files)
    _check_rfq_price_units(p, dialect_docs, sessions.names)
    raw_rules = read_rules(files, parser.fields, parser.broken_fields)
    p.raise_if_any()
    spec = Spec(
        root,
        fields,
        components,
        header,
        trailer,
        parser.group_components,
        messages,
        {product: _dialect(product, d) for product, d in dialect_docs.items()},
        sessions.environments,
        sessions.sessions,
        drift,
        files.read_paths,
    )
    spec.rules = resolve_rules(p, spec, raw_rules)
    p.raise_if_any()
    spec.enum_rules = enum_rules(spec)
    return spec


@dataclass
class SpecFiles:
    """The spec directory being loaded: reads files, remembers which, collects problems."""

    root: Path
    shown_root: str
    problems: Problems = field(default_factory=Problems)
    read_paths: list[Path] = field(default_factory=list)

    def shown(self, rel: str) -> str:
        """How a file is named in messages (``spec/fields.yaml``)."""
        return f"{self.shown_root}/{rel}"

    def read(self, rel: str, shape: Shape) -> Node | None:
        """Read one file and check its top level; None (after reporting why) if unusable."""
        path = self.root / rel
        if not path.exists():
            self.problems.add(None, f"{self.shown(rel)}: file is missing")
            return None
        self.read_paths.append(path)
        try:
            doc = load_yaml(path, self.shown(rel))
        except SpecError as exc:
            self.problems.extend(exc.problems)
            return None
        if doc is None:
            self.problems.add(None, f"{self.shown(rel)}: file is empty")
            return None
        return self.problems.check(doc, shape, Where(self.shown(rel), 1))


def _first_definition(
    p: Problems, seen: dict[Any, Where], key: Any, at: Where, defined: Where, what: str
) -> bool:
    """Remember `key` as defined at `defined`; if it already was, report it at `at`."""
    if key in seen:
        first = seen[key]
        ref = f"line {first.line}" if first.path == at.path else str(first)
        p.add(at, f"duplicate {what} {key!r} (first defined at {ref})")
        return False
    seen[key] = defined
    return True


def _name_of(item: Any, key: str = "name") -> str | None:
    """The text under `key` of a node that may be broken (for reports and broken sets)."""
    val = item.get(key) if isinstance(item, Node) else None
    return val if isinstance(val, str) else None


# ---------------------------------------------------------------------------------------------
# fields.yaml


def _load_fields(files: SpecFiles) -> tuple[list[FieldDef], set[str]]:
    """The fields of ``fields.yaml``, and the names of those that have problems."""
    out: list[FieldDef] = []
    broken: set[str] = set()
    doc = files.read("fields.yaml", FIELDS_FILE)
    if doc is None:
        return out, broken
    seen: dict[str, dict[Any, Where]] = {"tag number": {}, "field name": {}}
    for raw, where in doc["fields"].positioned():
        f = _field(files.problems, raw, where, seen)
        if f is not None:
            out.append(f)
        elif (name := _name_of(raw)) is not None:
            broken.add(name)
    _check_length_fields(files.problems, out, broken)
    return out, broken


def _field(
    p: Problems, raw: Any, where: Where, seen: dict[str, dict[Any, Where]]
) -> FieldDef | None:
    """One field item, or None after reporting what is wrong with it."""
    before = len(p.found)
    good = p.entries(raw, FIELD, where)
    if not {"tag", "name", "type"} <= good.keys():
        return None
    tag, name, ftype = good["tag"], good["name"], good["type"]
    for key, what in (("tag", "tag number"), ("name", "field name")):
        if not _first_definition(p, seen[what], good[key], raw.key_where[key], raw.where, what):
            return None
    products = products_of(good, PRODUCTS)
    values = _enum_values(p, raw, products) if "values" in good else []
    length_field = good.get("length_field")
    if ftype == "DATA" and length_field is None:
        p.add(
            raw.where, f"DATA field {name} ({tag}) needs length_field (the LENGTH field before it)"
        )
    if length_field is not None and ftype != "DATA":
        p.add(raw.key_where["length_field"], f"field {name}: only DATA fields have length_field")
    if len(p.found) != before:
        return None
    return FieldDef(
        tag,
        name,
        ftype,
        good["description"],
        products,
        good.get("source", "doc"),
        good.get("python_name", snake(name)),
        length_field,
        values,
        list(good.get("history", [])),
        good.get("notes", ""),
        raw.where,
        raw.key_where["values"] if "values" in good else None,
    )


def _enum_values(p: Problems, item: Node, products: tuple[str, ...]) -> list[EnumValue]:
    """The enum values of a field item whose tag, name and type are right (reporting the wrong)."""
    tag, name, ftype = item["tag"], item["name"], item["type"]
    if item["values"] and ftype not in INT_TYPES and ftype not in STR_ENUM_TYPES:
        p.add(
            item.key_where["values"],
            f"field {name} ({tag}) of type {ftype} cannot have enum values",
        )
        return []
    out: list[EnumValue] = []
    names: set[str] = set()
    what = f"enum value of {name}"
    for raw, where in item["values"].positioned():
        v = p.check(raw, ENUM_VALUE, where, what, f"enum value of field {name}")
        if v is None:
            continue
        val, vname = v["value"], v["name"]
        vproducts = products_of(v, products)
        problem = _enum_value_problem(ftype, val)
        if problem:
            p.add(
                v.key_where["value"],
                f"field {name} ({tag}) is {ftype}: enum value {val!r} {problem}",
            )
        elif vname in names:
            p.add(v.key_where["name"], f"duplicate enum name {vname!r} in field {name}")
        elif any(val == o.value and set(vproducts) & set(o.products) for o in out):
            p.add(v.key_where["value"], f"duplicate enum value {val!r} in field {name}")
        else:
            names.add(vname)
            out.append(EnumValue(val, vname, v.get("description", ""), vproducts))
    return out


def _enum_value_problem(ftype: str, val: Any) -> str | None:
    """What is wrong with an enum value of a field of type `ftype`, if anything."""
    if ftype in INT_TYPES:
        return None if isinstance(val, int) and not isinstance(val, bool) else "must be an integer"
    if not isinstance(val, str) or not val:
        return "must be a non-empty quoted string"
    if ftype == "CHAR" and len(val) != 1:
        return "must be one character"
    return None


def _check_length_fields(p: Problems, fields: list[FieldDef], broken: set[str]) -> None:
    """Each DATA field's length_field is a defined LENGTH field."""
    by_name = {f.name: f for f in fields}
    for f in fields:
        if f.length_field is not None and f.length_field not in broken:
            lf = by_name.get(f.length_field)
            if lf is None or lf.type != "LENGTH":
                p.add(
                    f.where,
                    f"DATA field {f.name}: length_field {f.length_field!r} is not a defined "
                    "LENGTH field",
                )


# ---------------------------------------------------------------------------------------------
# components.yaml and messages/*.yaml


def _load_components(files: SpecFiles) -> tuple[dict[str, Node], set[str]]:
    """The (checked) component nodes of ``components.yaml`` by name, and the broken names."""
    p = files.problems
    out: dict[str, Node] = {}
    broken: set[str] = set()
    doc = files.read("components.yaml", COMPONENTS_FILE)
    if doc is None:
        return out, broken
    seen: dict[Any, Where] = {}
    for raw, where in doc["components"].positioned():
        item = p.check(raw, COMPONENT, where)
        if item is None:
            if (name := _name_of(raw)) is not None:
                broken.add(name)
        elif _first_definition(
            p, seen, item["name"], item.key_where["name"], item.where, "component"
        ):
            out[item["name"]] = item
    return out, broken


def _load_header_and_trailer(
    parser: MemberParser, components: dict[str, Node]
) -> tuple[list[FieldUse], list[FieldUse]]:
    """The header and trailer fields; group components are parsed on the way, in file order."""
    uses: dict[str, list[FieldUse]] = {"header": [], "trailer": []}
    for name, comp in components.items():
        if comp["kind"] == "group":
            parser.component_group(name, comp)
            continue
        members = parser.members(comp["fields"], f"component {name}", PRODUCTS)
        plain = [m for m in members if isinstance(m, FieldUse)]
        if len(plain) != len(members):
            parser.p.add(comp.where, f"component {name}: header/trailer cannot hold groups")
        uses[comp["kind"]].extend(plain)
    return uses["header"], uses["trailer"]


def _load_messages(files: SpecFiles, parser: MemberParser) -> tuple[list[MessageDef], set[str]]:
    """The messages of ``messages/*.yaml`` (files in name order), and the broken msgtypes."""
    out: list[MessageDef] = []
    broken: set[str] = set()
    if not (files.root / "messages").is_dir():
        files.problems.add(None, f"{files.shown('messages')}/: directory is missing")
        return out, broken
    seen: dict[str, dict[Any, Where]] = {"msgtype": {}, "message name": {}}
    for path in sorted((files.root / "messages").glob("*.yaml")):
        doc = files.read(f"messages/{path.name}", MESSAGES_FILE)
        if doc is None:
            continue
        for raw, where in doc["messages"].positioned():
            m = _message(files.problems, parser, raw, where, seen)
            if m is not None:
                out.append(m)
            elif (mt := _name_of(raw, "msgtype")) is not None:
                broken.add(mt)
    return out, broken


def _message(
    p: Problems, parser: MemberParser, raw: Any, where: Where, seen: dict[str, dict[Any, Where]]
) -> MessageDef | None:
    """One message item, or None after reporting what is wrong with it.

    Its members are read (and their problems reported) whenever its msgtype and name are right.
    """
    before = len(p.found)
    good = p.entries(raw, MESSAGE, where)
    if not {"msgtype", "name"} <= good.keys():
        return None
    mt, name = good["msgtype"], good["name"]
    for key, what in (("msgtype", "msgtype"), ("name", "message name")):
        if not _first_definition(p, seen[what], good[key], raw.key_where[key], raw.where, what):
            return None
    ok = len(p.found) == before
    products = products_of(good, PRODUCTS)
    owner = f"message {name} ({mt})"
    members = parser.members(good["fields"], owner, products) if "fields" in good else []
    if not ok:
        return None
    return MessageDef(
        mt,
        name,
        good["category"],
        good["direction"],
        products,
        good.get("description", ""),
        members,
        good.get("notes", ""),
        raw.where,
    )


# ---------------------------------------------------------------------------------------------
# dialects/*.yaml, sessions.yaml, drift.yaml


def _read_dialects(files: SpecFiles) -> dict[str, Node]:
    """The (checked) dialect node of each product."""
    out: dict[str, Node] = {}
    for product in PRODUCTS:
        rel = f"dialects/{product}.yaml"
        d = files.read(rel, DIALECT_OF[product])
        if d is None:
            continue
        if d["product"] != product:
            files.problems.add(d.key_where["product"], f"{rel} must say product: {product}")
        out[product] = d
    return out


DIALECT_OF = {p: Shape(f"dialect {p}", DIALECT.keys) for p in PRODUCTS}
"""The dialect shape, named after the product its file is for."""


def _dialect(product: str, d: Node) -> Dialect:
    """One (checked) dialect node."""
    return Dialect(
        product,
        d.get("doc_state", ""),
        d["session_price_units"],
        d["use_dollars_switch"],
        d["max_price_decimals"],
        d.get("notes", ""),
        dict(d.get("rfq_price_units", {})),
    )


@dataclass
class _Sessions:
    """What ``sessions.yaml`` gives: hosts, session types, and every session name written."""

    environments: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    sessions: list[SessionDef] = field(default_factory=list)
    names: dict[str, set[str]] = field(default_factory=dict)  # product -> names, broken too


def _load_sessions(
    files: SpecFiles,
    parser: MemberParser,
    messages: dict[str, MessageDef],
    broken_messages: set[str],
) -> _Sessions:
    """The hosts per product and environment, and the session types, of ``sessions.yaml``."""
    p = files.problems
    out = _Sessions()
    doc = files.read("sessions.yaml", SESSIONS_FILE)
    if doc is None:
        return out
    where = doc.key_where["products"]
    for product, raw in p.entries(doc["products"], SESSION_PRODUCTS, where, "products").items():
        pdoc = p.entries(raw, PRODUCT_SESSIONS, raw.where, f"sessions of {product}")
        envs = p.entries(
            pdoc.get("environments"),
            ENVIRONMENTS,
            raw.key_where.get("environments", raw.where),
            f"environments of {product}",
        )
        out.environments[product] = {e: dict(hosts) for e, hosts in envs.items()}
        out.names[product] = set()
        for raw_s, where_s in pdoc["sessions"].positioned() if "sessions" in pdoc else ():
            if (name := _name_of(raw_s)) is not None:
                out.names[product].add(name)
            s = _session(
                p,
                raw_s,
                where_s,
                product,
                out.environments[product],
                parser,
                messages,
                broken_messages,
            )
            if s is not None:
                out.sessions.append(s)
    return out


def _session(
    p: Problems,
    raw: Any,
    where: Where,
    product: str,
    environments: dict[str, dict[str, str]],
    parser: MemberParser,
    messages: dict[str, MessageDef],
    broken_messages: set[str],
) -> SessionDef | None:
    """One session item of a product, or None after reporting what is wrong with it.

    Its host must be a host of every environment, its Logon flags defined fields, and the
    messages it sends and receives messages of its product.
    """
    before = len(p.found)
    name = _name_of(raw)
    label = f"session {product}/{name}" if name else f"session of {product}"
    s = p.entries(raw, SESSION, where, f"session of {product}", label)
    for env, hosts in environments.items():
        if "host" in s and s["host"] not in hosts:
            p.add(
                raw.key_where["host"],
                f"{label}: host {s['host']!r} is not a host of environment {env}",
            )
    for flag in s.get("logon_flags", []):
        if flag not in parser.fields and flag not in parser.broken_fields:
            p.add(
                raw.key_where["logon_flags"], f"{label}: logon flag {flag!r} is not a defined field"
            )
    if s.get("listener_refused") and not s.get("listener"):
        p.add(
            raw.key_where["listener_refused"],
            f"{label}: listener_refused is given but the session type takes no listener",
        )
    for mt in s.get("listener_refused", []):
        if mt not in s.get("send", []):
            p.add(
                raw.key_where["listener_refused"],
                f"{label}: listener_refused names {mt!r}, which the session type does not send",
            )
    for flag in s.get("logon_flags_default_y", []):
        if flag not in s.get("logon_flags", []):
            p.add(
                raw.key_where["logon_flags_default_y"],
                f"{label}: logon_flags_default_y names {flag!r}, which is not in logon_flags",
            )
    for key in ("send", "receive"):
        for mt in s.get(key, []):
            m = messages.get(mt)
            if m is None and mt not in broken_messages:
                p.add(raw.key_where[key], f"{label}: {key} names unknown message {mt!r}")
            elif m is not None and product not in m.products:
                p.add(
                    raw.key_where[key],
                    f"{label}: message {mt} ({m.name}) does not exist on {product}",
                )
    if len(p.found) != before:
        return None
    return SessionDef(
        product,
        s["name"],
        s["port"],
        s["host"],
        s["retransmission"],
        s["reset_seq_num"],
        s["listener"],
        list(s["logon_flags"]),
        list(s["send"]),
        list(s["receive"]),
        s.get("notes", ""),
        list(s.get("listener_refused", [])),
        list(s.get("logon_flags_default_y", [])),
    )


def _check_rfq_price_units(
    p: Problems, dialects: dict[str, Node], session_names: dict[str, set[str]]
) -> None:
    """A dialect's rfq_price_units name session types of its product (if they could be read)."""
    for product, d in dialects.items():
        for name in d.get("rfq_price_units", {}):
            if product in session_names and name not in session_names[product]:
                p.add(
                    d["rfq_price_units"].key_where[name],
                    f"rfq_price_units names {name!r}, not a {product} session type",
                )


def _load_drift(files: SpecFiles) -> list[DriftEntry]:
    """The accepted differences of ``drift.yaml`` (optional file)."""
    if not (files.root / "drift.yaml").exists():
        return []
    doc = files.read("drift.yaml", DRIFT_FILE)
    out: list[DriftEntry] = []
    if doc is None:
        return out
    for raw, where in doc["accepted"].positioned() if doc["accepted"] else ():
        e = files.problems.check(raw, DRIFT_ENTRY, where, label="")
        if e is not None:
            out.append(
                DriftEntry(
                    e["kind"],
                    e.get("tag"),
                    e.get("msgtype"),
                    e["reason"],
                    e.where,
                    value=e.get("value"),
                    name=e.get("name"),
                )
            )
    return out

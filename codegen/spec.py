"""Load, validate and resolve the YAML spec in ``spec/``.

`load_spec` reads every file, checks it strictly and returns a `Spec`; `Spec.view(product)` gives
the resolved message set of one dialect (fields filtered by product, requirements and price units
decided) that the templates render. Every problem is reported with its file and line, all at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .yamlload import Node, Seq, SpecError, Where, load_yaml

PRODUCTS = ("prediction", "margin")

FIX_TYPES = {
    "STRING": "str",
    "CURRENCY": "str",
    "MULTIPLEVALUESTRING": "str",
    "EXCHANGE": "str",
    "CHAR": "str",
    "BOOLEAN": "bool",
    "INT": "int",
    "LENGTH": "int",
    "SEQNUM": "int",
    "NUMINGROUP": "int",
    "PRICE": "Decimal",
    "QTY": "Decimal",
    "AMT": "Decimal",
    "FLOAT": "Decimal",
    "UTCTIMESTAMP": "datetime",
    "UTCDATEONLY": "date",
    "LOCALMKTDATE": "date",
    "UTCTIMEONLY": "time",
    "DATA": "bytes",
}
INT_TYPES = {"INT", "LENGTH", "SEQNUM", "NUMINGROUP"}
STR_ENUM_TYPES = {"STRING", "CHAR", "MULTIPLEVALUESTRING", "CURRENCY", "EXCHANGE"}
PRICE_UNITS = ("session", "dollars", "cents", "rfq")
REQUIRED_WORDS = (True, False, "conditional")
FRAMING_TAGS = {8, 9, 35, 10}


@dataclass
class EnumValue:
    value: str | int
    name: str
    description: str
    products: tuple[str, ...]


@dataclass
class FieldDef:
    tag: int
    name: str
    type: str
    description: str
    products: tuple[str, ...]
    source: str
    python_name: str
    length_field: str | None
    values: list[EnumValue]
    history: list[str]
    notes: str
    where: Where

    @property
    def py_type(self) -> str:
        return FIX_TYPES[self.type]

    def values_for(self, product: str) -> list[EnumValue]:
        return [v for v in self.values if product in v.products]


@dataclass
class FieldUse:
    field: FieldDef
    required: dict[str, bool | str]
    condition: str
    products: tuple[str, ...]
    units: str | None
    notes: str
    where: Where


@dataclass
class GroupUse:
    count: FieldDef
    component: str | None
    required: dict[str, bool | str]
    condition: str
    products: tuple[str, ...]
    members: list[FieldUse | GroupUse]
    notes: str
    where: Where


Member = FieldUse | GroupUse


@dataclass
class MessageDef:
    msgtype: str
    name: str
    category: str
    direction: str
    products: tuple[str, ...]
    description: str
    members: list[Member]
    notes: str
    where: Where


@dataclass
class Dialect:
    product: str
    doc_state: str
    session_price_units: str
    use_dollars_switch: bool
    max_price_decimals: int
    notes: str
    # session type -> wire unit of `rfq` PRICE fields (BidPx/OfferPx) on that session
    rfq_price_units: dict[str, str] = field(default_factory=dict)


@dataclass
class SessionDef:
    product: str
    name: str
    port: int
    host: str
    retransmission: bool
    reset_seq_num: str
    listener: bool
    logon_flags: list[str]
    send: list[str]
    receive: list[str]
    notes: str


@dataclass
class DriftEntry:
    kind: str
    tag: int | None
    msgtype: str | None
    reason: str
    where: Where
    value: str | int | None = None
    name: str | None = None


@dataclass
class Spec:
    root: Path
    fields: list[FieldDef]
    components: dict[str, Node]
    header: list[FieldUse]
    trailer: list[FieldUse]
    group_components: dict[str, GroupUse]
    messages: list[MessageDef]
    dialects: dict[str, Dialect]
    environments: dict[str, dict[str, dict[str, str]]]
    sessions: list[SessionDef]
    drift: list[DriftEntry]
    files: list[Path] = field(default_factory=list)

    @property
    def by_name(self) -> dict[str, FieldDef]:
        return {f.name: f for f in self.fields}

    @property
    def by_tag(self) -> dict[int, FieldDef]:
        return {f.tag: f for f in self.fields}

    def view(self, product: str) -> DialectView:
        return DialectView(self, product)


# ---------------------------------------------------------------------------------------------
# Resolved per-dialect view (what the templates see)


@dataclass
class RField:
    field: FieldDef
    required: bool
    conditional: bool
    condition: str
    units: str | None  # PRICE fields: "session" | "dollars" | "cents"
    attr: str

    @property
    def tag(self) -> int:
        return self.field.tag


@dataclass
class RGroup:
    count: FieldDef
    required: bool
    conditional: bool
    condition: str
    members: list[RField | RGroup]
    entry_class: str
    attr: str

    @property
    def tag(self) -> int:
        return self.count.tag

    @property
    def delimiter(self) -> RField | RGroup:
        return self.members[0]

    def all_tags(self) -> list[int]:
        """Every tag an entry of this group may hold, nested groups included."""
        out: list[int] = []
        for m in self.members:
            out.append(m.tag)
            if isinstance(m, RGroup):
                out.extend(m.all_tags())
        return out


@dataclass
class RMessage:
    msg: MessageDef
    members: list[RField | RGroup]

    @property
    def name(self) -> str:
        return self.msg.name

    @property
    def msgtype(self) -> str:
        return self.msg.msgtype

    def groups(self) -> list[RGroup]:
        """All groups of the message, nested ones after their parents."""
        out: list[RGroup] = []

        def walk(members: list[RField | RGroup]) -> None:
            for m in members:
                if isinstance(m, RGroup):
                    out.append(m)
                    walk(m.members)

        walk(self.members)
        return out


def snake(name: str) -> str:
    """CamelCase FIX name to a Python attribute name (ClOrdID -> cl_ord_id)."""
    s = re.sub(r"IDs\b", "Ids", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def group_attr(count: FieldDef) -> str:
    base = count.name[2:] if count.name.startswith("No") else count.name
    return snake(base)


class DialectView:
    """The spec as one product sees it."""

    def __init__(self, spec: Spec, product: str) -> None:
        self.spec = spec
        self.product = product
        self.dialect = spec.dialects[product]
        self.fields = [f for f in spec.fields if product in f.products]
        self.header = [self._field(u) for u in spec.header if product in u.products]
        self.trailer = [self._field(u) for u in spec.trailer if product in u.products]
        self.components: dict[str, RGroup] = {}
        for cname, g in spec.group_components.items():
            self.components[cname] = self._group(g, singular(cname))
        self.messages = [
            RMessage(m, self._members(m.members, m.name))
            for m in spec.messages
            if product in m.products
        ]
        self.sessions = [s for s in spec.sessions if s.product == product]

    def _req(self, req: dict[str, bool | str]) -> tuple[bool, bool]:
        r = req.get(self.product, False)
        return r is True, r == "conditional"

    def _field(self, u: FieldUse) -> RField:
        required, conditional = self._req(u.required)
        units = u.units
        if u.field.type == "PRICE" and units is None:
            units = "session"
        return RField(u.field, required, conditional, u.condition, units, u.field.python_name)

    def _group(self, g: GroupUse, entry_class: str) -> RGroup:
        required, conditional = self._req(g.required)
        return RGroup(
            g.count,
            required,
            conditional,
            g.condition,
            self._members(g.members, entry_class),
            entry_class,
            group_attr(g.count),
        )

    def _members(self, members: list[Member], owner: str) -> list[RField | RGroup]:
        out: list[RField | RGroup] = []
        for m in members:
            if self.product not in m.products:
                continue
            if isinstance(m, FieldUse):
                out.append(self._field(m))
            elif m.component is not None:
                comp = self.components[m.component]
                required, conditional = self._req(m.required)
                out.append(
                    RGroup(
                        comp.count,
                        required,
                        conditional,
                        m.condition,
                        comp.members,
                        comp.entry_class,
                        snake(m.component),
                    )
                )
            else:
                base = m.count.name[2:] if m.count.name.startswith("No") else m.count.name
                out.append(self._group(m, owner + singular(base)))
        return out

    def enum_fields(self) -> list[FieldDef]:
        return [f for f in self.fields if f.values_for(self.product)]

    def entry_classes(self) -> list[RGroup]:
        """Distinct group entry classes, nested ones first (they are referenced by parents)."""
        seen: dict[str, RGroup] = {}
        order: list[RGroup] = []

        def visit(g: RGroup) -> None:
            for m in g.members:
                if isinstance(m, RGroup):
                    visit(m)
            if g.entry_class not in seen:
                seen[g.entry_class] = g
                order.append(g)

        for comp in self.components.values():
            visit(comp)
        for msg in self.messages:
            for m in msg.members:
                if isinstance(m, RGroup):
                    visit(m)
        return order


# ---------------------------------------------------------------------------------------------
# Loading and validation


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def err(self, where: Where | None, text: str) -> None:
        self.problems.append(f"{where}: {text}" if where else text)

    def keys(
        self, node: Any, allowed: set[str], required: set[str], what: str, where: Where
    ) -> bool:
        if not isinstance(node, Node):
            self.err(where, f"{what} must be a mapping, got {type(node).__name__}")
            return False
        ok = True
        for k in node:
            if k not in allowed:
                self.err(
                    node.key_where[k],
                    f"unknown key {k!r} in {what} (allowed: {', '.join(sorted(allowed))})",
                )
                ok = False
        for k in sorted(required - set(node)):
            self.err(node.where, f"{what} is missing required key {k!r}")
            ok = False
        return ok

    def products(self, node: Node, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        if key not in node:
            return default
        val = node[key]
        if not isinstance(val, list) or not val or any(p not in PRODUCTS for p in val):
            self.err(
                node.key_where[key],
                f"{key} must be a non-empty list of {list(PRODUCTS)}, got {val!r}",
            )
            return default
        return tuple(p for p in PRODUCTS if p in val)

    def text(self, node: Node, key: str, what: str, default: str = "") -> str:
        val = node.get(key, default)
        if not isinstance(val, str):
            self.err(
                node.key_where.get(key, node.where), f"{what}.{key} must be a string, got {val!r}"
            )
            return str(val)
        return val


FIELD_KEYS = {
    "tag",
    "name",
    "type",
    "description",
    "products",
    "source",
    "length_field",
    "python_name",
    "values",
    "history",
    "notes",
}
VALUE_KEYS = {"value", "name", "description", "products"}
USE_KEYS = {"field", "required", "condition", "products", "units", "notes"}
GROUP_KEYS = {"group", "component", "required", "condition", "products", "fields", "notes"}
MESSAGE_KEYS = {
    "msgtype",
    "name",
    "category",
    "direction",
    "products",
    "description",
    "fields",
    "notes",
}
COMPONENT_KEYS = {"name", "kind", "group", "fields", "notes"}
DIALECT_KEYS = {
    "product",
    "doc_state",
    "session_price_units",
    "use_dollars_switch",
    "max_price_decimals",
    "rfq_price_units",
    "notes",
}
SESSION_KEYS = {
    "name",
    "port",
    "host",
    "retransmission",
    "reset_seq_num",
    "listener",
    "logon_flags",
    "send",
    "receive",
    "notes",
}


def _load_fields(c: _Checker, doc: Any, path: str) -> list[FieldDef]:
    if not isinstance(doc, Node) or not c.keys(
        doc, {"fields"}, {"fields"}, "fields file", Where(path, 1)
    ):
        return []
    items = doc["fields"]
    if not isinstance(items, Seq):
        c.err(doc.key_where["fields"], "fields must be a list")
        return []
    out: list[FieldDef] = []
    seen_tag: dict[int, Where] = {}
    seen_name: dict[str, Where] = {}
    for item in items:
        w = item.where if isinstance(item, (Node, Seq)) else items.where
        if not c.keys(item, FIELD_KEYS, {"tag", "name", "type", "description"}, "field", w):
            continue
        tag, name, ftype = item["tag"], item["name"], item["type"]
        if not isinstance(tag, int) or isinstance(tag, bool) or tag <= 0:
            c.err(item.key_where["tag"], f"field tag must be a positive integer, got {tag!r}")
            continue
        if not isinstance(name, str) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
            c.err(item.key_where["name"], f"field name must be CamelCase text, got {name!r}")
            continue
        if tag in seen_tag:
            c.err(
                item.key_where["tag"],
                f"duplicate tag number {tag} (first defined at line {seen_tag[tag].line})",
            )
            continue
        if name in seen_name:
            c.err(
                item.key_where["name"],
                f"duplicate field name {name!r} (first defined at line {seen_name[name].line})",
            )
            continue
        seen_tag[tag] = item.where
        seen_name[name] = item.where
        if ftype not in FIX_TYPES:
            c.err(
                item.key_where["type"],
                f"field {name} ({tag}): unknown type {ftype!r} (known: {', '.join(sorted(FIX_TYPES))})",
            )
            continue
        products = c.products(item, "products", PRODUCTS)
        values: list[EnumValue] = []
        raw_values = item.get("values", [])
        if raw_values and ftype not in INT_TYPES and ftype not in STR_ENUM_TYPES:
            c.err(
                item.key_where["values"],
                f"field {name} ({tag}) of type {ftype} cannot have enum values",
            )
            raw_values = []
        seen_v: set[Any] = set()
        seen_vn: set[str] = set()
        for v in raw_values:
            vw = v.where if isinstance(v, Node) else item.where
            if not c.keys(v, VALUE_KEYS, {"value", "name"}, f"enum value of {name}", vw):
                continue
            val = v["value"]
            if ftype in INT_TYPES:
                if not isinstance(val, int) or isinstance(val, bool):
                    c.err(
                        v.key_where["value"],
                        f"field {name} ({tag}) is {ftype}: enum value {val!r} must be an integer",
                    )
                    continue
            elif not isinstance(val, str) or not val:
                c.err(
                    v.key_where["value"],
                    f"field {name} ({tag}) is {ftype}: enum value {val!r} must be a non-empty quoted string",
                )
                continue
            elif ftype == "CHAR" and len(val) != 1:
                c.err(
                    v.key_where["value"],
                    f"field {name} ({tag}) is CHAR: enum value {val!r} must be one character",
                )
                continue
            vname = v["name"]
            if not isinstance(vname, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", vname):
                c.err(
                    v.key_where["name"], f"enum name {vname!r} of field {name} must be UPPER_SNAKE"
                )
                continue
            if vname in seen_vn:
                c.err(v.key_where["name"], f"duplicate enum name {vname!r} in field {name}")
                continue
            vproducts = c.products(v, "products", products)
            key = (val, vproducts)
            if any(val == s[0] and set(vproducts) & set(s[1]) for s in seen_v):
                c.err(v.key_where["value"], f"duplicate enum value {val!r} in field {name}")
                continue
            seen_v.add(key)
            seen_vn.add(vname)
            values.append(EnumValue(val, vname, c.text(v, "description", "enum value"), vproducts))
        history = item.get("history", [])
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            c.err(
                item.key_where.get("history", item.where),
                f"field {name}: history must be a list of strings",
            )
            history = []
        source = item.get("source", "doc")
        if source not in ("doc", "dict"):
            c.err(
                item.key_where["source"],
                f"field {name}: source must be 'doc' or 'dict', got {source!r}",
            )
        python_name = item.get("python_name", snake(name))
        if not isinstance(python_name, str) or not python_name.isidentifier():
            c.err(
                item.key_where.get("python_name", item.where),
                f"field {name}: bad python_name {python_name!r}",
            )
            python_name = snake(name)
        length_field = item.get("length_field")
        if ftype == "DATA" and not length_field:
            c.err(
                item.where,
                f"DATA field {name} ({tag}) needs length_field (the LENGTH field before it)",
            )
        if length_field is not None and ftype != "DATA":
            c.err(
                item.key_where["length_field"], f"field {name}: only DATA fields have length_field"
            )
        out.append(
            FieldDef(
                tag,
                name,
                ftype,
                c.text(item, "description", "field"),
                products,
                str(source),
                python_name,
                length_field,
                values,
                list(history),
                c.text(item, "notes", "field"),
                item.where,
            )
        )
    by_name = {f.name: f for f in out}
    for f in out:
        if f.length_field is not None:
            lf = by_name.get(f.length_field)
            if lf is None or lf.type != "LENGTH":
                c.err(
                    f.where,
                    f"DATA field {f.name}: length_field {f.length_field!r} is not a defined LENGTH field",
                )
    return out


class _MemberParser:
    def __init__(
        self, c: _Checker, fields: dict[str, FieldDef], components: dict[str, Node]
    ) -> None:
        self.c = c
        self.fields = fields
        self.components = components
        self.group_components: dict[str, GroupUse] = {}

    def required(self, node: Node, what: str) -> dict[str, bool | str]:
        val = node.get("required", False)
        if isinstance(val, Node):
            out: dict[str, bool | str] = {}
            for p, r in val.items():
                if p not in PRODUCTS:
                    self.c.err(
                        val.key_where[p],
                        f"{what}: required mapping key must be one of {list(PRODUCTS)}, got {p!r}",
                    )
                elif r not in REQUIRED_WORDS:
                    self.c.err(
                        val.key_where[p],
                        f"{what}: required must be true, false or conditional, got {r!r}",
                    )
                else:
                    out[p] = r
            return out
        if val not in REQUIRED_WORDS:
            self.c.err(
                node.key_where.get("required", node.where),
                f"{what}: required must be true, false, conditional or a per-product mapping, got {val!r}",
            )
            val = False
        return dict.fromkeys(PRODUCTS, val)

    def members(
        self, items: Any, owner: str, owner_products: tuple[str, ...], where: Where
    ) -> list[Member]:
        c = self.c
        if not isinstance(items, Seq):
            c.err(where, f"{owner}: fields must be a list")
            return []
        out: list[Member] = []
        seen: dict[str, Where] = {}
        for item in items:
            iw = item.where if isinstance(item, (Node, Seq)) else items.where
            if isinstance(item, Node) and ("group" in item or "component" in item):
                g = self.group(item, owner, owner_products)
                if g is not None:
                    key = g.count.name
                    if key in seen:
                        c.err(
                            item.where,
                            f"{owner}: group {key} appears twice (first at line {seen[key].line})",
                        )
                    seen[key] = item.where
                    out.append(g)
                continue
            if not c.keys(item, USE_KEYS, {"field"}, f"field entry of {owner}", iw):
                continue
            fname = item["field"]
            f = self.fields.get(fname) if isinstance(fname, str) else None
            if f is None:
                c.err(item.key_where["field"], f"{owner} uses undefined field {fname!r}")
                continue
            if f.tag in FRAMING_TAGS:
                c.err(
                    item.key_where["field"],
                    f"{owner}: {f.name} ({f.tag}) is framing, written by the codec; do not list it",
                )
                continue
            if fname in seen:
                c.err(
                    item.key_where["field"],
                    f"{owner}: field {fname} appears twice (first at line {seen[fname].line})",
                )
                continue
            seen[fname] = item.where
            products = c.products(item, "products", owner_products)
            bad = [p for p in products if p not in f.products]
            if bad and "products" not in item:
                products = tuple(p for p in products if p in f.products)
            elif bad:
                c.err(
                    item.where,
                    f"{owner}: field {fname} is not defined for {', '.join(bad)} (fields.yaml products)",
                )
            units = item.get("units")
            if units is not None and f.type != "PRICE":
                c.err(
                    item.key_where["units"],
                    f"{owner}: units apply to PRICE fields only; {fname} is {f.type}",
                )
                units = None
            elif units is not None and units not in PRICE_UNITS:
                c.err(
                    item.key_where["units"],
                    f"{owner}: units must be one of {list(PRICE_UNITS)}, got {units!r}",
                )
                units = None
            if f.type == "NUMINGROUP":
                c.err(
                    item.key_where["field"],
                    f"{owner}: {fname} is a NUMINGROUP count; declare it as `group: {fname}` with its fields",
                )
                continue
            out.append(
                FieldUse(
                    f,
                    self.required(item, f"{owner}.{fname}"),
                    c.text(item, "condition", "field entry"),
                    products,
                    units,
                    c.text(item, "notes", "field entry"),
                    item.where,
                )
            )
        # A DATA field must directly follow its length field.
        for i, m in enumerate(out):
            if isinstance(m, FieldUse) and m.field.type == "DATA":
                prev = out[i - 1] if i else None
                if not (isinstance(prev, FieldUse) and prev.field.name == m.field.length_field):
                    c.err(
                        m.where,
                        f"{owner}: DATA field {m.field.name} must directly follow its length "
                        f"field {m.field.length_field}",
                    )
        return out

    def group(self, item: Node, owner: str, owner_products: tuple[str, ...]) -> GroupUse | None:
        c = self.c
        if not c.keys(item, GROUP_KEYS, set(), f"group entry of {owner}", item.where):
            return None
        if "component" in item:
            cname = item["component"]
            if "group" in item or "fields" in item:
                c.err(item.where, f"{owner}: a component reference takes no group/fields keys")
            comp = self.component_group(cname, item.key_where["component"])
            if comp is None:
                return None
            return GroupUse(
                comp.count,
                cname,
                self.required(item, f"{owner}.{cname}"),
                c.text(item, "condition", "group"),
                c.products(item, "products", owner_products),
                comp.members,
                c.text(item, "notes", "group"),
                item.where,
            )
        count_name = item["group"]
        count = self.fields.get(count_name) if isinstance(count_name, str) else None
        if count is None:
            c.err(
                item.key_where["group"], f"{owner}: group count field {count_name!r} is undefined"
            )
            return None
        if count.type != "NUMINGROUP":
            c.err(
                item.key_where["group"],
                f"{owner}: group count field {count_name} must be NUMINGROUP, is {count.type}",
            )
            return None
        if "fields" not in item or not item["fields"]:
            c.err(item.where, f"{owner}: group {count_name} has no members, so no delimiter")
            return None
        products = c.products(item, "products", owner_products)
        members = self.members(
            item["fields"], f"{owner}.{count_name}", products, item.key_where["fields"]
        )
        if members and not isinstance(members[0], FieldUse):
            c.err(
                item.where,
                f"{owner}: group {count_name} must start with a plain field (its delimiter)",
            )
        return GroupUse(
            count,
            None,
            self.required(item, f"{owner}.{count_name}"),
            c.text(item, "condition", "group"),
            products,
            members,
            c.text(item, "notes", "group"),
            item.where,
        )

    def component_group(self, cname: Any, where: Where) -> GroupUse | None:
        if cname in self.group_components:
            return self.group_components[cname]
        comp = self.components.get(cname) if isinstance(cname, str) else None
        if comp is None or comp.get("kind") != "group":
            self.c.err(where, f"unknown group component {cname!r}")
            return None
        inner = Node(comp)
        inner.where = comp.where
        inner.key_where = comp.key_where
        del inner["name"], inner["kind"]
        g = self.group(inner, f"component {cname}", PRODUCTS)
        if g is not None:
            self.group_components[cname] = g
        return g


def _load_messages(c: _Checker, docs: list[tuple[str, Any]], mp: _MemberParser) -> list[MessageDef]:
    out: list[MessageDef] = []
    seen_type: dict[str, Where] = {}
    seen_name: dict[str, Where] = {}
    for path, doc in docs:
        if not isinstance(doc, Node) or not c.keys(
            doc, {"messages"}, {"messages"}, "messages file", Where(path, 1)
        ):
            continue
        items = doc["messages"]
        if not isinstance(items, Seq):
            c.err(doc.key_where["messages"], "messages must be a list")
            continue
        for item in items:
            iw = item.where if isinstance(item, Node) else items.where
            if not c.keys(
                item,
                MESSAGE_KEYS,
                {"msgtype", "name", "category", "direction", "fields"},
                "message",
                iw,
            ):
                continue
            mt, name = item["msgtype"], item["name"]
            if not isinstance(mt, str) or not re.fullmatch(r"[0-9A-Za-z]{1,4}", mt):
                c.err(
                    item.key_where["msgtype"],
                    f"msgtype must be a quoted string of 1-4 letters/digits, got {mt!r}",
                )
                continue
            if not isinstance(name, str) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
                c.err(item.key_where["name"], f"message name must be CamelCase, got {name!r}")
                continue
            if mt in seen_type:
                c.err(
                    item.key_where["msgtype"],
                    f"duplicate msgtype {mt!r} (first at {seen_type[mt]})",
                )
                continue
            if name in seen_name:
                c.err(
                    item.key_where["name"],
                    f"duplicate message name {name!r} (first at {seen_name[name]})",
                )
                continue
            seen_type[mt] = item.where
            seen_name[name] = item.where
            if item["category"] not in ("admin", "app"):
                c.err(item.key_where["category"], f"message {name}: category must be admin or app")
            if item["direction"] not in ("client", "server", "both"):
                c.err(
                    item.key_where["direction"],
                    f"message {name}: direction must be client, server or both",
                )
            products = c.products(item, "products", PRODUCTS)
            members = mp.members(
                item["fields"], f"message {name} ({mt})", products, item.key_where["fields"]
            )
            out.append(
                MessageDef(
                    mt,
                    name,
                    item["category"],
                    item["direction"],
                    products,
                    c.text(item, "description", "message"),
                    members,
                    c.text(item, "notes", "message"),
                    item.where,
                )
            )
    return out


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
    c = _Checker()
    files: list[Path] = []

    def load(rel: str) -> Any:
        path = root / rel
        if not path.exists():
            c.err(None, f"{shown_root}/{rel}: file is missing")
            return None
        files.append(path)
        try:
            return load_yaml(path, f"{shown_root}/{rel}")
        except SpecError as exc:
            c.problems.extend(exc.problems)
            return None

    fields = _load_fields(c, load("fields.yaml"), f"{shown_root}/fields.yaml")
    by_name = {f.name: f for f in fields}

    comp_doc = load("components.yaml")
    components: dict[str, Node] = {}
    if isinstance(comp_doc, Node) and c.keys(
        comp_doc, {"components"}, {"components"}, "components file", comp_doc.where
    ):
        for item in comp_doc["components"]:
            if not c.keys(
                item, COMPONENT_KEYS, {"name", "kind", "fields"}, "component", item.where
            ):
                continue
            if item["kind"] not in ("header", "trailer", "group"):
                c.err(
                    item.key_where["kind"],
                    f"component kind must be header, trailer or group, got {item['kind']!r}",
                )
                continue
            if item["name"] in components:
                c.err(item.key_where["name"], f"duplicate component {item['name']!r}")
                continue
            components[item["name"]] = item
    mp = _MemberParser(c, by_name, components)
    header: list[FieldUse] = []
    trailer: list[FieldUse] = []
    for name, comp in components.items():
        if comp["kind"] == "group":
            mp.component_group(name, comp.where)
        else:
            members = mp.members(
                comp["fields"], f"component {name}", PRODUCTS, comp.key_where["fields"]
            )
            plain = [m for m in members if isinstance(m, FieldUse)]
            if len(plain) != len(members):
                c.err(comp.where, f"component {name}: header/trailer cannot hold groups")
            (header if comp["kind"] == "header" else trailer).extend(plain)

    msg_dir = root / "messages"
    msg_docs: list[tuple[str, Any]] = []
    if not msg_dir.is_dir():
        c.err(None, f"{shown_root}/messages/: directory is missing")
    else:
        for p in sorted(msg_dir.glob("*.yaml")):
            msg_docs.append((f"{shown_root}/messages/{p.name}", load(f"messages/{p.name}")))
    messages = _load_messages(c, msg_docs, mp)

    dialects: dict[str, Dialect] = {}
    for product in PRODUCTS:
        rel = f"dialects/{product}.yaml"
        d = load(rel)
        if d is None:
            continue
        if not c.keys(
            d,
            DIALECT_KEYS,
            DIALECT_KEYS - {"notes", "doc_state", "rfq_price_units"},
            f"dialect {product}",
            d.where if isinstance(d, Node) else Where(rel, 1),
        ):
            continue
        if d["product"] != product:
            c.err(d.key_where["product"], f"{rel} must say product: {product}")
        if d["session_price_units"] not in ("cents", "dollars"):
            c.err(
                d.key_where["session_price_units"], "session_price_units must be cents or dollars"
            )
        if not isinstance(d["use_dollars_switch"], bool):
            c.err(d.key_where["use_dollars_switch"], "use_dollars_switch must be true or false")
        mpd = d["max_price_decimals"]
        if not isinstance(mpd, int) or isinstance(mpd, bool) or not 0 <= mpd <= 8:
            c.err(d.key_where["max_price_decimals"], "max_price_decimals must be an integer 0-8")
        rfq_units: dict[str, str] = {}
        raw_rfq = d.get("rfq_price_units")
        if raw_rfq is not None:
            if not isinstance(raw_rfq, dict) or not all(
                isinstance(k, str) and v in ("cents", "dollars") for k, v in raw_rfq.items()
            ):
                c.err(
                    d.key_where["rfq_price_units"],
                    "rfq_price_units must map session type names to cents or dollars",
                )
            else:
                rfq_units = {str(k): str(v) for k, v in raw_rfq.items()}
        dialects[product] = Dialect(
            product,
            str(d.get("doc_state", "")),
            d["session_price_units"],
            bool(d["use_dollars_switch"]),
            int(mpd),
            c.text(d, "notes", "dialect"),
            rfq_units,
        )

    environments: dict[str, dict[str, dict[str, str]]] = {}
    sessions: list[SessionDef] = []
    sdoc = load("sessions.yaml")
    msg_by_type = {m.msgtype: m for m in messages}
    if isinstance(sdoc, Node) and c.keys(
        sdoc, {"products"}, {"products"}, "sessions file", sdoc.where
    ):
        for product, pdoc in sdoc["products"].items():
            if product not in PRODUCTS:
                c.err(sdoc["products"].key_where[product], f"unknown product {product!r}")
                continue
            if not c.keys(
                pdoc,
                {"environments", "sessions", "notes"},
                {"environments", "sessions"},
                f"sessions of {product}",
                pdoc.where,
            ):
                continue
            envs = pdoc["environments"]
            environments[product] = {}
            for env, hosts in envs.items():
                if env not in ("demo", "production"):
                    c.err(
                        envs.key_where[env], f"environment must be demo or production, got {env!r}"
                    )
                    continue
                if not isinstance(hosts, Node) or not all(
                    isinstance(v, str) for v in hosts.values()
                ):
                    c.err(
                        envs.key_where[env],
                        f"{product}.{env}: hosts must be a mapping of names to host strings",
                    )
                    continue
                environments[product][env] = dict(hosts)
            for s in pdoc["sessions"]:
                if not c.keys(
                    s, SESSION_KEYS, SESSION_KEYS - {"notes"}, f"session of {product}", s.where
                ):
                    continue
                name = s["name"]
                for env, hosts in environments[product].items():
                    if s["host"] not in hosts:
                        c.err(
                            s.key_where["host"],
                            f"session {product}/{name}: host {s['host']!r} is not a host of environment {env}",
                        )
                if s["reset_seq_num"] not in ("required", "optional"):
                    c.err(
                        s.key_where["reset_seq_num"],
                        f"session {product}/{name}: reset_seq_num must be required or optional",
                    )
                for key in ("retransmission", "listener"):
                    if not isinstance(s[key], bool):
                        c.err(
                            s.key_where[key],
                            f"session {product}/{name}: {key} must be true or false",
                        )
                for flag in s["logon_flags"]:
                    if flag not in by_name:
                        c.err(
                            s.key_where["logon_flags"],
                            f"session {product}/{name}: logon flag {flag!r} is not a defined field",
                        )
                for key in ("send", "receive"):
                    for mt in s[key]:
                        m = msg_by_type.get(str(mt))
                        if m is None:
                            c.err(
                                s.key_where[key],
                                f"session {product}/{name}: {key} names unknown message {mt!r}",
                            )
                        elif product not in m.products:
                            c.err(
                                s.key_where[key],
                                f"session {product}/{name}: message {mt} ({m.name}) does not exist on {product}",
                            )
                sessions.append(
                    SessionDef(
                        product,
                        name,
                        int(s["port"]),
                        s["host"],
                        bool(s["retransmission"]),
                        s["reset_seq_num"],
                        bool(s["listener"]),
                        list(s["logon_flags"]),
                        [str(x) for x in s["send"]],
                        [str(x) for x in s["receive"]],
                        c.text(s, "notes", "session"),
                    )
                )

    drift: list[DriftEntry] = []
    if (root / "drift.yaml").exists():
        ddoc = load("drift.yaml")
        if isinstance(ddoc, Node) and c.keys(
            ddoc, {"accepted", "notes"}, {"accepted"}, "drift file", ddoc.where
        ):
            from .drift import KINDS as DRIFT_KINDS

            for e in ddoc["accepted"] or []:
                if not c.keys(
                    e,
                    {"kind", "tag", "msgtype", "value", "name", "reason"},
                    {"kind", "reason"},
                    "drift entry",
                    e.where,
                ):
                    continue
                if e["kind"] not in DRIFT_KINDS:
                    c.err(
                        e.key_where["kind"],
                        f"unknown drift kind {e['kind']!r} (known: {', '.join(DRIFT_KINDS)})",
                    )
                    continue
                drift.append(
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

    for product, dia in dialects.items():
        names = {s.name for s in sessions if s.product == product}
        for name in dia.rfq_price_units:
            if name not in names:
                c.err(
                    Where(f"dialects/{product}.yaml", 1),
                    f"rfq_price_units names {name!r}, not a {product} session type",
                )

    if c.problems:
        raise SpecError(c.problems)
    return Spec(
        root,
        fields,
        components,
        header,
        trailer,
        mp.group_components,
        messages,
        dialects,
        environments,
        sessions,
        drift,
        files,
    )

"""Render the spec into Python modules and docs pages (jinja2 templates in ``templates/``).

`render_all` returns {relative path: file text}; `__main__` writes or checks them. Output is
deterministic: the same spec gives byte-identical files.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import jinja2

from .fill import CACHE_LOOKUPS, at_fill, enum_lookups, fill_expr, lazy_on_miss
from .model import INT_TYPES, PRODUCTS, FieldDef, Spec, ValueRule
from .view import DialectView, RField, RGroup, RMessage

TEMPLATES = Path(__file__).parent / "templates"

DEC = {
    "str": "_v.dec_str",
    "bool": "_v.dec_bool",
    "int": "_v.dec_int",
    "Decimal": "_VALUES.dec_decimal",
    "datetime": "_VALUES.dec_timestamp",
    "date": "_VALUES.dec_date",
    "time": "_VALUES.dec_time",
    "bytes": "_v.dec_bytes",
}
ENC = {
    "str": "_v.enc_str",
    "bool": "_v.enc_bool",
    "int": "_v.enc_int",
    "Decimal": "_v.enc_decimal",
    "datetime": "_v.enc_timestamp",
    "date": "_v.enc_date",
    "time": "_v.enc_time",
    "bytes": "_v.enc_bytes",
}


@dataclass
class FieldRender:
    attr: str
    slot: str
    tag: int
    name: str
    info: str  # module-level FieldInfo constant
    annotation: str
    required: bool
    doc: str
    encode: str  # expression producing the value bytes from `v`
    length_attr: str | None  # for DATA fields: the attribute of the length field
    data_attr: str | None  # for LENGTH fields that precede a DATA field
    fill: str = ""  # expression of the raw value `r` giving the typed value (codegen.fill)
    # a group entry's walk: the cache lookup of a value that rarely repeats from one message to
    # the next (a time of day, a timestamp) when its converter is that lookup alone; a miss
    # leaves the field lazy (converted when read) instead of converting it (codegen.fill)
    cached: str | None = None


@dataclass
class GroupRender:
    attr: str
    slot: str
    tag: int
    name: str
    info: str
    entry: str
    annotation: str
    required: bool
    doc: str


@dataclass
class ClassRender:
    name: str
    base: str
    doc: str
    msgtype: str | None
    category: str
    members: list[FieldRender | GroupRender]
    required_tags: list[int]
    all_tags: list[int]  # entries: every tag an entry may hold
    delimiter: int | None
    has_groups: bool
    group_tags: list[int] | None = None  # messages: tags that may repeat (inside groups)
    rfq_prices: bool = False  # messages: holds PRICE fields whose units follow `rfq_units`
    # private method name -> its definition, as the class body would hold it (`_macros.j2`)
    method_defs: dict[str, str] = field(default_factory=dict)
    # what the class body holds for each private method: its definition, or the line binding
    # the shared module's copy (`_share`)
    methods: list[str] = field(default_factory=list)
    # entries of an incremental market-data group: the members `level_values()` returns and
    # those it requires absent (`LEVEL_VALUES`, `LEVEL_ABSENT`); empty: no such method
    level_values: list[FieldRender] = field(default_factory=list)
    level_absent: list[FieldRender] = field(default_factory=list)


# The public ``level_values()`` of a group entry holding these members (a 35=X entry, both
# dialects): the values a book applies a level change from, in one call, and the members that
# make it an own-order entry (read through the attributes instead).
LEVEL_VALUES: Final = (
    "symbol",
    "md_entry_type",
    "md_update_action",
    "md_entry_px",
    "md_entry_size",
)
LEVEL_ABSENT: Final = ("cl_ord_id", "alloc_account")


def _level_members(
    members: list[FieldRender | GroupRender], names: tuple[str, ...]
) -> list[FieldRender]:
    """The members ``names`` names (`LEVEL_VALUES`, `LEVEL_ABSENT`), of an entry class holding
    every member both name; none otherwise."""
    fields = {m.attr: m for m in members if isinstance(m, FieldRender)}
    if not set(LEVEL_VALUES + LEVEL_ABSENT) <= fields.keys():
        return []
    return [fields[a] for a in names]


def _walk_fields(members: Sequence[RField | RGroup]) -> list[RField]:
    """Every field of a member list, group members included (recursively)."""
    out: list[RField] = []
    for m in members:
        if isinstance(m, RField):
            out.append(m)
        else:
            out += _walk_fields(m.members)
    return out


def _enum_class(f: FieldDef, taken: frozenset[str] = frozenset()) -> str:
    """The enum class of a field: its FIX name, plus ``Value`` when a message is named alike."""
    return f.name + "Value" if f.name in taken else f.name


class _Renderer:
    def __init__(self, view: DialectView) -> None:
        self.view = view
        self.dialect = view.dialect
        self.infos: dict[str, str] = {}  # constant name -> constructor expression
        self.fills: dict[str, str] = {}  # constant name -> straight-line converter of `r`
        self.dec_tables: set[str] = set()  # enums whose member lookup the converters use
        self.enum_names = {f.name for f in view.enum_fields()}
        self.enum_tables: set[str] = set()
        self.taken = frozenset(m.name for m in view.messages) | frozenset(
            g.entry_class for g in view.entry_classes()
        )

    def dec_expr(self, f: FieldDef) -> str:
        base = DEC[f.py_type]
        if f.name in self.enum_names:
            return f"_v.enum_decoder({_enum_class(f, self.taken)}, {base})"
        return base

    def annotation(self, f: FieldDef) -> str:
        t = f.py_type
        if f.name in self.enum_names:
            t = f"{_enum_class(f, self.taken)} | {t}"
        return f"{t} | None"

    def field_info(self, rf: RField) -> str:
        f = rf.field
        suffix = f"__{rf.units}" if f.type == "PRICE" else ""
        const = f"_f_{f.python_name}{suffix}"
        if const in self.infos:
            return const
        dec = self.dec_expr(f)
        dec_dollars = "None"
        if f.type == "PRICE" and rf.units == "rfq":
            # RFQ quote prices: integer cents (never a fraction divided by 100) or dollars, as
            # the decode's `rfq_units` says; the flag the message carries picks dec_dollars.
            dec = "_v.dec_int_cents"
            dec_dollars = "_VALUES.dec_decimal"
        elif f.type == "PRICE":
            units = rf.units
            if units == "session":
                units = self.dialect.session_price_units
                if units == "cents" and self.dialect.use_dollars_switch:
                    dec_dollars = "_VALUES.dec_decimal"
            dec = "_VALUES.dec_cents" if units == "cents" else "_VALUES.dec_decimal"
        secret = "True" if f.type == "DATA" else "False"
        self.fills[const] = fill_expr(dec, None if dec_dollars == "None" else dec_dollars)
        self.dec_tables.update(enum_lookups(self.fills[const]))
        self.infos[const] = (
            f'_F("{f.python_name}", "_{f.python_name}", {f.tag}, b"{f.tag}", "{f.name}", '
            f"{dec}, {dec_dollars}, {secret})"
        )
        return const

    def encode_expr(self, rf: RField) -> str:
        """An expression turning ``v`` (not None) into the value bytes, with a fast path."""
        f = rf.field
        label = f'"{f.name}({f.tag})"'
        if f.type == "PRICE":
            maxd = self.dialect.max_price_decimals
            units = rf.units
            if units == "rfq":  # `use_dollars` here is the message's rfq_units (encode_message)
                return (
                    f"(_v.enc_dollars(v, {label}, {maxd}) if use_dollars "
                    f"else _VALUES.enc_cents(v, {label}, 0, _v.RFQ_CENTS_HINT))"
                )
            if units == "cents":
                return f"_VALUES.enc_cents(v, {label}, {max(maxd - 2, 0)})"
            if units == "dollars":
                return f"_v.enc_dollars(v, {label}, {maxd})"
            if self.dialect.session_price_units == "dollars":
                return f"_v.enc_dollars(v, {label}, {maxd})"
            if self.dialect.use_dollars_switch:
                return f"(_v.enc_dollars(v, {label}, {maxd}) if use_dollars else _VALUES.enc_cents(v, {label}))"
            return f"_VALUES.enc_cents(v, {label})"
        if f.name in self.enum_names:
            cls = _enum_class(f, self.taken)
            self.enum_tables.add(cls)
            return f"(_e_{cls}[v] if v.__class__ is {cls} else _v.enc_enum(_e_{cls}, v, {label}))"
        t = f.py_type
        if t == "str":
            return f'(v.encode() if v.__class__ is str and v and "\\x01" not in v else _v.enc_str(v, {label}))'
        if t == "int":
            # the range check keeps the fast path as strict as enc_int (and the decoder)
            return f'(b"%d" % v if v.__class__ is int and _v.INT_MIN <= v <= _v.INT_MAX else _v.enc_int(v, {label}))'
        if t == "bool":
            return f'(b"Y" if v is True else b"N" if v is False else _v.enc_bool(v, {label}))'
        return f"{ENC[t]}(v, {label})"

    def field_doc(self, rf: RField) -> str:
        f = rf.field
        req = (
            "required"
            if rf.required
            else ("conditional: " + rf.condition if rf.conditional else "optional")
        )
        units = ""
        if f.type == "PRICE":
            units = {
                "session": " Dollars; wire units follow the session (cents unless UseDollars)."
                if self.dialect.use_dollars_switch
                else " Dollars.",
                "dollars": " Dollars on the wire.",
                "cents": " Dollars here; cents on the wire.",
                "rfq": " Dollars here; on the wire integer cents or dollars per the session's "
                "RFQ units (`rfq_units`: dollars towards the creator on KalshiRT, integer cents "
                "on the market maker's KalshiRFQ).",
            }[rf.units or "session"]
        return f"{f.name}({f.tag}), {req}. {f.description}{units}".strip()

    def members(self, members: Sequence[RField | RGroup]) -> list[FieldRender | GroupRender]:
        out: list[FieldRender | GroupRender] = []
        data_of = {
            m.field.length_field: m.field.python_name
            for m in members
            if isinstance(m, RField) and m.field.length_field
        }
        by_name = {m.field.name: m.field.python_name for m in members if isinstance(m, RField)}
        for m in members:
            if isinstance(m, RField):
                f = m.field
                out.append(
                    FieldRender(
                        attr=f.python_name,
                        slot=f"_{f.python_name}",
                        tag=f.tag,
                        name=f.name,
                        info=self.field_info(m),
                        annotation=self.annotation(f),
                        required=m.required,
                        doc=self.field_doc(m),
                        encode=re.sub(r"\bv\b", f"v_{f.python_name}", self.encode_expr(m)),
                        length_attr=by_name.get(f.length_field) if f.length_field else None,
                        data_attr=data_of.get(f.name),
                        fill=re.sub(r"\bx\b", f"x_{f.python_name}", self.fills[self.field_info(m)]),
                        cached=lazy_on_miss(self.fills[self.field_info(m)]),
                    )
                )
            else:
                const = f"_g_{m.entry_class}_{m.attr}"
                self.infos[const] = (
                    f'_G("{m.attr}", "_{m.attr}", {m.tag}, b"{m.tag}", "{m.count.name}", {m.entry_class})'
                )
                req = (
                    "required"
                    if m.required
                    else ("conditional: " + m.condition if m.conditional else "optional")
                )
                out.append(
                    GroupRender(
                        attr=m.attr,
                        slot=f"_{m.attr}",
                        tag=m.tag,
                        name=m.count.name,
                        info=const,
                        entry=m.entry_class,
                        annotation=f"Sequence[{m.entry_class}] | None",
                        required=m.required,
                        doc=f"{m.count.name}({m.tag}) repeating group of {m.entry_class} entries, {req}.",
                    )
                )
        return out

    def entry_class(self, g: RGroup) -> ClassRender:
        members = self.members(g.members)
        return ClassRender(
            name=g.entry_class,
            base="FixRecord",
            doc=f"One entry of the {g.count.name}({g.tag}) repeating group.",
            msgtype=None,
            category="",
            members=members,
            required_tags=sorted(m.tag for m in members if m.required),
            all_tags=sorted(set(g.all_tags())),
            delimiter=g.delimiter.tag,
            has_groups=any(isinstance(m, RGroup) for m in g.members),
            level_values=_level_members(members, LEVEL_VALUES),
            level_absent=_level_members(members, LEVEL_ABSENT),
        )

    def message_class(self, msg: RMessage) -> ClassRender:
        members = self.members(msg.members)
        d = msg.msg
        direction = {
            "client": "client to Kalshi",
            "server": "Kalshi to client",
            "both": "both ways",
        }[d.direction]
        sessions = [
            s.name for s in self.view.sessions if msg.msgtype in s.send or msg.msgtype in s.receive
        ]
        where = (
            ", ".join(sessions)
            if sessions
            else ("every session" if d.category == "admin" else "none listed")
        )
        doc = f"{d.name} (35={d.msgtype}): {d.description}\n\nDirection: {direction}. Sessions: {where}."
        all_tags: list[int] = []
        for g in msg.groups():
            all_tags.extend(g.all_tags())
        units = {m.units for m in _walk_fields(msg.members) if m.field.type == "PRICE" and m.units}
        if "rfq" in units and units & {"session"}:
            # one flag per decoded message picks the wire unit of its switchable prices
            raise ValueError(
                f"{d.name} (35={d.msgtype}): PRICE fields with units rfq and session cannot "
                "share a message"
            )
        return ClassRender(
            name=d.name,
            base="Message",
            doc=doc,
            msgtype=d.msgtype,
            category=d.category,
            members=members,
            required_tags=sorted(m.tag for m in members if m.required),
            all_tags=sorted({m.tag for m in msg.members} | set(all_tags)),
            delimiter=None,
            has_groups=bool(msg.groups()),
            group_tags=sorted(set(all_tags)),
            rfq_prices="rfq" in units,
        )

    def enums(self) -> list[dict[str, Any]]:
        out = []
        for f in self.view.enum_fields():
            values = f.values_for(self.view.product)
            is_int = f.type in INT_TYPES
            out.append(
                {
                    "name": _enum_class(f, self.taken),
                    "base": "enum.IntEnum" if is_int else "str, enum.Enum",
                    "doc": f"{f.name}({f.tag}) values. {f.description}",
                    "values": [
                        {"name": v.name, "value": repr(v.value), "doc": v.description}
                        for v in values
                    ],
                }
            )
        return out


# the private methods a class body may hold, in class-body order (macros of `_macros.j2`)
METHODS: Final = ("blank", "fast_fill", "walk", "fill_at", "encode_into")
# names a generated method may use and still be shared by both dialects: what the shared module
# imports (the same objects the dialect modules import) and the builtins; any other name (an
# enum class, an enum table, an entry class, a module's value caches) is the dialect's own
SHARED_IMPORTS: Final = (
    "from collections.abc import Sequence",
    "from datetime import date, datetime, time",
    "from decimal import Decimal",
    "from typing import TYPE_CHECKING, Any, TypeVar",
    "",
    "from .. import _values as _v",
    "from .._encode import missing as _missing",
    "from .._fields import FieldInfo as _F",
    "from .._fields import _LAZY, _new, _set",
    "from .._message import FixRecord",
    "from .._fields import WireSource as _WireSource",
    "from ..errors import EncodeError as _EncodeError",
)
_SHARED_NAMES: Final = frozenset(
    {"Sequence", "date", "datetime", "time", "Decimal", "Any", "_v", "_missing", "_F"}
    | {"_LAZY", "_new", "_set", "FixRecord", "_WireSource", "_EncodeError"}
    | set(dir(builtins))
)


@dataclass
class _Dialect:
    """One dialect's renders, before the shared parts are taken out (`_share`)."""

    product: str
    view: DialectView
    r: _Renderer
    enums: list[dict[str, Any]]
    entries: list[ClassRender]
    messages: list[ClassRender]
    shared_infos: set[str] = field(default_factory=set)  # infos the shared module holds
    shared_functions: set[str] = field(default_factory=set)  # its functions the classes bind

    @property
    def classes(self) -> list[ClassRender]:
        return self.entries + self.messages


def _method_defs(c: ClassRender, env: jinja2.Environment) -> ClassRender:
    """Fill ``c.method_defs`` (and, unshared, ``c.methods``) from the macros."""
    macros = env.get_template("_macros.j2").module
    for name in METHODS:
        text = str(getattr(macros, name)(c)).strip("\n")
        if text:
            c.method_defs["_" + name] = text
    c.methods = list(c.method_defs.values())
    return c


def _dialect(spec: Spec, product: str, env: jinja2.Environment) -> _Dialect:
    view = spec.view(product)
    r = _Renderer(view)
    enums = r.enums()
    entries = [_method_defs(r.entry_class(g), env) for g in view.entry_classes()]
    messages = [_method_defs(r.message_class(m), env) for m in view.messages]
    return _Dialect(product, view, r, enums, entries, messages)


def _free_names(text: str) -> set[str]:
    """The global names a function definition's text reads (annotations included)."""
    fn = ast.parse(text).body[0]
    assert isinstance(fn, ast.FunctionDef)
    a = fn.args
    bound = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
    loads: set[str] = set()
    stores: set[str] = set()
    for n in ast.walk(fn):
        if isinstance(n, ast.Name):
            (loads if isinstance(n.ctx, ast.Load) else stores).add(n.id)
    return loads - stores - bound


def _shared_function(cls: str, method: str, text: str) -> tuple[str, str] | None:
    """A class's method as a module-level function of the shared module, or None when its text
    reads a name of the dialect's own (an entry walk, a staticmethod, always names its class).

    Returns:
        (function name, its text).
    """
    text = textwrap.dedent(text)
    if not text.startswith("def ") or not _free_names(text) <= _SHARED_NAMES:
        return None
    name = f"_{cls}{method}"
    # ``self`` is either dialect's class: typed Any, since naming the dialect modules here would
    # make shared.py and the dialects import each other (a circle, even under TYPE_CHECKING)
    return name, text.replace(f"def {method}(self", f"def {name}(self: Any", 1)


def _share(dialects: Sequence[_Dialect]) -> tuple[list[str], list[tuple[str, str]]]:
    """Take out of the dialects what both would write alike and that reads nothing of either's
    own: private methods of the same class (bound in each class body to a copy, `_own` in
    ``shared.py.j2``) and field infos.

    Returns:
        The shared functions' texts and the shared infos (name, constructor expression).
    """
    first, *others = dialects
    functions: list[str] = []
    for c in first.classes:
        twins = [next((o for o in d.classes if o.name == c.name), None) for d in others]
        bound: dict[str, str] = {}  # method -> the shared function the class binds
        for method, text in c.method_defs.items():
            if any(t is None or t.method_defs.get(method) != text for t in twins):
                continue
            shared = _shared_function(c.name, method, text)
            if shared is not None:
                bound[method], fn_text = shared
                functions.append(fn_text)
        for d, rec in zip(dialects, [c, *twins], strict=True):
            if rec is not None and bound:
                d.shared_functions.update(bound.values())
                rec.methods = [
                    f"    {m} = _own({bound[m]})" if m in bound else t
                    for m, t in rec.method_defs.items()
                ]
    infos: list[tuple[str, str]] = []
    for name, expr in sorted(first.r.infos.items()):
        if all(d.r.infos.get(name) == expr for d in others) and _names(expr) <= {"_F", "_v"}:
            infos.append((name, expr))
    for d in dialects:
        d.shared_infos = {name for name, _ in infos}
    return functions, infos


def _names(expr: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)}


def render_shared(
    spec: Spec, functions: list[str], infos: list[tuple[str, str]], env: jinja2.Environment
) -> str:
    return env.get_template("shared.py.j2").render(
        imports=SHARED_IMPORTS,
        products=PRODUCTS,
        functions=functions,
        infos=infos,
        sources=_sources(spec),
    )


def render_dialect(spec: Spec, d: _Dialect, env: jinja2.Environment) -> str:
    view = d.view
    r = d.r
    data_tags = sorted(
        (view.spec.by_name[f.length_field].tag, f.tag) for f in view.fields if f.length_field
    )
    shared = sorted(d.shared_infos | d.shared_functions)
    return env.get_template("dialect.py.j2").render(
        product=d.product,
        dialect=view.dialect,
        enums=d.enums,
        entries=d.entries,
        messages=d.messages,
        infos=[(k, v) for k, v in sorted(r.infos.items()) if k not in d.shared_infos],
        shared=shared,
        data_tags=data_tags,
        sources=_sources(spec),
        enum_tables=sorted(r.enum_tables),
        dec_tables=sorted(r.dec_tables),
        cache_lookups=sorted(CACHE_LOOKUPS.items()),
    )


def render_common(spec: Spec, env: jinja2.Environment) -> str:
    view = spec.view("prediction")
    r = _Renderer(view)
    r.enum_names = set()  # header values stay plain types: the header is shared by both dialects
    header = ClassRender(
        name="Header",
        base="FixRecord",
        doc="The standard header (BeginString, BodyLength and MsgType are written by the codec).",
        msgtype=None,
        category="",
        members=r.members(view.header),
        required_tags=sorted(f.tag for f in view.header if f.required),
        all_tags=sorted(f.tag for f in view.header),
        delimiter=None,
        has_groups=False,
    )
    _method_defs(header, env)
    trailer_tags = sorted(f.tag for f in view.trailer)
    return env.get_template("common.py.j2").render(
        header=header,
        infos=sorted(r.infos.items()),
        cache_lookups=sorted(CACHE_LOOKUPS.items()),
        trailer_tags=trailer_tags,
        sources=_sources(spec),
    )


def render_tables(spec: Spec, env: jinja2.Environment) -> str:
    fields = [
        {
            "tag": f.tag,
            "name": f.name,
            "type": f.type,
            "attr": f.python_name,
            "products": f.products,
            "description": f.description,
        }
        for f in spec.fields
    ]
    messages = [
        {"msgtype": m.msgtype, "name": m.name, "category": m.category, "products": m.products}
        for m in spec.messages
    ]
    rules = [_rule_row(r) for r in spec.rules]
    enum_rules = [_rule_row(r) for r in spec.enum_rules]
    return env.get_template("tables.py.j2").render(
        rules=rules,
        enum_rules=enum_rules,
        fields=fields,
        messages=messages,
        sessions=spec.sessions,
        environments=spec.environments,
        sources=_sources(spec),
    )


def _rule_row(r: ValueRule) -> dict[str, object]:
    """One `ValueRule` as the tables template writes it."""

    def text(key: str) -> str | None:
        v = r.bounds.get(key)
        return None if v is None else str(v)

    return {
        "field": r.fdef.name,
        "tag": r.fdef.tag,
        "check": r.check,
        "products": tuple(sorted({product for product, _, _ in r.paths}, key=PRODUCTS.index)),
        "when": r.when,
        **{k: text(k) for k in ("min", "max", "above", "below", "tick")},
        **{k: r.bounds.get(k) for k in ("min_length", "max_length")},
        "pattern": r.pattern,
        "values": tuple(r.values),
        "says": r.says,
        "source": r.source,
        "basis": r.basis,
        "where": str(r.where),
        "paths": tuple(r.paths),
    }


def _sources(spec: Spec) -> str:
    return ", ".join(p.relative_to(spec.root).as_posix() for p in spec.files)


def render_docs(spec: Spec, env: jinja2.Environment) -> dict[str, str]:
    out = {}
    for product in ("prediction", "margin"):
        view = spec.view(product)
        out[f"docs/reference/{product}.md"] = env.get_template("reference.md.j2").render(
            view=view,
            product=product,
            r=_Renderer(view),
        )
    out["docs/reference/tags.md"] = env.get_template("tags.md.j2").render(spec=spec)
    out["docs/reference/sessions.md"] = env.get_template("sessions.md.j2").render(spec=spec)
    return out


_KALSHI_PAGES: Final = {
    "session": "Session",
    "order-entry": "Order Entry",
    "order-groups": "Order Groups",
    "drop-copy": "Drop Copy",
    "market-data": "Market Data",
    "rfq": "RFQ",
    "settlement": "Settlement",
    "errors": "Errors",
    "tags": "Tags",
}
_NOTE_CITATION: Final = re.compile(
    r"(?:(?P<the>[Tt]he) )?(?<![\w/.-])(?P<page>"
    + "|".join(map(re.escape, _KALSHI_PAGES))
    + r")\.md(?P<section> §[\d.]+)?(?P<s>'s)?"
)
_OPEN_QUESTION: Final = re.compile(
    r"\(open questions? [\d, and]+\)|open questions? \d+(?:(?:, | and )\d+)*"
)


def public_citations(text: str) -> str:
    """Spec text as a user reads it in the generated docs: the spec cites the project's notes on
    Kalshi's FIX pages by file name (``order-entry.md §5.1``) and its open questions by number;
    the docs name Kalshi's page instead (``Kalshi's Order Entry page, §5.1``) and say a point is
    not settled by Kalshi's docs (the Decisions page records what was chosen)."""

    def page(m: re.Match[str]) -> str:
        name = f"Kalshi's {_KALSHI_PAGES[m['page']]} page"
        if m["the"] and m["the"][0] == "T":
            name = name[0].upper() + name[1:]
        if m["s"]:
            return name + "'s"
        return name + (f",{m['section']}" if m["section"] else "")

    text = _NOTE_CITATION.sub(page, text)
    return _OPEN_QUESTION.sub(
        lambda m: (
            "(not settled by Kalshi's docs: see Decisions)"
            if m[0].startswith("(")
            else "a point Kalshi's docs leave open (see Decisions)"
        ),
        text,
    )


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["pyrepr"] = repr
    env.filters["at_fill"] = at_fill
    env.filters["tuple"] = tuple
    env.filters["cite"] = public_citations
    env.filters["mdcell"] = lambda s: (
        public_citations(str(s)).replace("|", "\\|").replace("\n", " ")
    )
    env.globals["RField"] = RField
    env.globals["isfield"] = lambda m: isinstance(m, FieldRender)
    env.globals["isrfield"] = lambda m: isinstance(m, RField)
    return env


def render_all(
    spec: Spec, package: str = "src/kalshi_fix_sansio/codec/_generated", docs: bool = True
) -> dict[str, str]:
    """Every generated file of a spec.

    Args:
        spec: the loaded spec.
        package: where the generated package goes, relative to the project root.
        docs: also render the docs' reference pages.

    Returns:
        relative path -> file text.
    """
    env = make_env()
    files = {
        f"{package}/__init__.py": env.get_template("init.py.j2").render(sources=_sources(spec)),
        f"{package}/common.py": render_common(spec, env),
        f"{package}/tables.py": render_tables(spec, env),
    }
    dialects = [_dialect(spec, product, env) for product in PRODUCTS]
    functions, infos = _share(dialects)
    files[f"{package}/shared.py"] = render_shared(spec, functions, infos, env)
    for d in dialects:
        files[f"{package}/{d.product}.py"] = render_dialect(spec, d, env)
    if docs:
        files.update(render_docs(spec, env))
    return files

"""The spec's value rules: ``ranges.yaml``'s checks (range, tick, length, pattern, values,
future) resolved against the fields and messages they name, and a ``values`` rule for every
enumerated field of the messages a client sends (from ``fields.yaml``).

`codegen.loader.load_spec` reads the rules (`read_rules`) once the fields are known, resolves
them (`resolve_rules`) once the messages are, and derives the enum rules (`enum_rules`) last.
Every problem is reported with its file and line, as the loader's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .members import products_of
from .model import PRODUCTS, RULE_CHECKS, FieldDef, Spec, ValueRule
from .schema import RANGES_FILE, VALUE_RULE, Problems
from .view import RField, RGroup
from .yamlload import Node

if TYPE_CHECKING:
    from .loader import SpecFiles

__all__ = ["MULTI_VALUE_TYPES", "enum_rules", "read_rules", "resolve_rules"]


_RULE_TYPES = {
    "range": {"PRICE", "QTY", "AMT", "FLOAT", "INT"},
    "tick": {"PRICE", "QTY", "AMT", "FLOAT"},
    "length": {"STRING"},
    "pattern": {"STRING"},
    "values": {"STRING", "CHAR", "MULTIPLEVALUESTRING"},
    "future": {"UTCTIMESTAMP"},
}
"""The FIX types each kind of check applies to."""


def read_rules(
    files: SpecFiles, fields: dict[str, FieldDef], broken_fields: set[str]
) -> list[tuple[Node, FieldDef, str]]:
    """The rule nodes of ``ranges.yaml`` (optional file) whose shape, field and keys are right,
    each with its field and its kind of check."""
    if not (files.root / "ranges.yaml").exists():
        return []
    doc = files.read("ranges.yaml", RANGES_FILE)
    out: list[tuple[Node, FieldDef, str]] = []
    if doc is None:
        return out
    p = files.problems
    for raw, where in doc["rules"].positioned():
        r = p.check(raw, VALUE_RULE, where, label="value rule")
        if r is None:
            continue
        f = fields.get(r["field"])
        if f is None:
            if r["field"] not in broken_fields:
                p.add(r.key_where["field"], f"value rule: unknown field {r['field']!r}")
            continue
        kinds = [k for k, keys in RULE_CHECKS.items() if any(key in r for key in keys)]
        if len(kinds) != 1:
            p.add(
                r.where,
                f"value rule on {f.name}: give exactly one check (one of: "
                + "; ".join(" / ".join(keys) for keys in RULE_CHECKS.values())
                + f"), got {kinds or 'none'}",
            )
            continue
        kind = kinds[0]
        if f.type not in _RULE_TYPES[kind]:
            p.add(r.where, f"value rule on {f.name}: a {kind} check does not apply to {f.type}")
            continue
        if "when" in r and f.type != "PRICE":
            p.add(r.key_where["when"], f"value rule on {f.name}: when is for PRICE fields")
            continue
        for key in ("min", "max", "above", "below", "tick"):
            if key in r and f.type == "INT" and not isinstance(r[key], int):
                p.add(r.key_where[key], f"value rule on {f.name}: {key} must be an integer")
        if "tick" in r and float(r["tick"]) <= 0:
            p.add(r.key_where["tick"], f"value rule on {f.name}: tick must be positive")
        listed = {str(v.value) for v in f.values}
        unlisted = [v for v in r.get("values", ()) if listed and v not in listed]
        if unlisted:
            p.add(
                r.key_where["values"],
                f"value rule on {f.name}: {unlisted} not among its values in fields.yaml",
            )
        if "pattern" in r:
            try:
                re.compile(r["pattern"])
            except re.error as exc:
                p.add(r.key_where["pattern"], f"value rule on {f.name}: bad pattern: {exc}")
        out.append((r, f, kind))
    return out


def _field_path(
    members: list[RField | RGroup], name: str, attrs: tuple[str, ...] = ()
) -> tuple[str, ...] | None:
    """The attributes leading to the field `name` in a member list (groups searched too)."""
    for m in members:
        if isinstance(m, RField) and m.field.name == name:
            return (*attrs, m.attr)
    for m in members:
        if isinstance(m, RGroup):
            found = _field_path(m.members, name, (*attrs, m.attr))
            if found is not None:
                return found
    return None


def resolve_rules(
    p: Problems, spec: Spec, raw_rules: list[tuple[Node, FieldDef, str]]
) -> list[ValueRule]:
    """Each rule with where its field sits in each message it names, per product.

    A rule names application messages a client sends; each must carry the field on at least
    one product of the rule (a product whose message lacks the field is skipped).
    """
    views = {product: spec.view(product) for product in PRODUCTS}
    by_type = {m.msgtype: m for m in spec.messages}
    out: list[ValueRule] = []
    for r, f, kind in raw_rules:
        before = len(p.found)
        products = products_of(r, PRODUCTS)
        paths: list[tuple[str, str, tuple[str, ...]]] = []
        for mt in r["messages"]:
            m = by_type.get(mt)
            if m is None:
                p.add(r.key_where["messages"], f"value rule on {f.name}: unknown message {mt!r}")
                continue
            if m.category != "app" or m.direction == "server":
                p.add(
                    r.key_where["messages"],
                    f"value rule on {f.name}: {m.name} ({mt}) is not an application message a "
                    "client sends",
                )
                continue
            found = False
            for product in products:
                if product not in m.products:
                    continue
                rm = next(x for x in views[product].messages if x.msgtype == mt)
                path = _field_path(rm.members, f.name)
                if path is not None:
                    paths.append((product, mt, path))
                    found = True
            if not found:
                p.add(
                    r.key_where["messages"],
                    f"value rule on {f.name}: {m.name} ({mt}) has no {f.name} on "
                    + " or ".join(products),
                )
        if not paths and len(p.found) == before:
            p.add(r.where, f"value rule on {f.name}: applies to no message of {list(products)}")
        if len(p.found) != before:
            continue
        keys = RULE_CHECKS[kind]
        out.append(
            ValueRule(
                f,
                kind,
                list(r["messages"]),
                products,
                r.get("when"),
                {k: r[k] for k in keys if k in r and k not in ("pattern", "values")},
                r.get("pattern"),
                list(r.get("values", [])),
                r["says"],
                r["source"],
                r.get("basis", "documented"),
                r.get("notes", ""),
                r.where,
                paths,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# fields.yaml enums: membership rules

MULTI_VALUE_TYPES = {"MULTIPLEVALUESTRING", "MULTIPLECHARVALUE", "MULTIPLESTRINGVALUE"}
"""FIX types whose value is several enum values separated by spaces (each one is checked)."""


def _enum_uses(
    members: list[RField | RGroup], attrs: tuple[str, ...] = ()
) -> Iterator[tuple[FieldDef, tuple[str, ...]]]:
    """Every enumerated field of a member list (groups too), with the attributes leading to it."""
    for m in members:
        if isinstance(m, RGroup):
            yield from _enum_uses(m.members, (*attrs, m.attr))
        elif m.field.values:
            yield m.field, (*attrs, m.attr)


def enum_rules(spec: Spec) -> list[ValueRule]:
    """A ``values`` rule for each enumerated field of the application messages a client sends.

    The values are the field's ``values:`` in ``fields.yaml`` as each product has them (a field
    whose values differ per product gets one rule per set of values); the rule's place is that
    list's line. A message and product on which ``ranges.yaml`` already gives the field a values
    rule (TimeInForce: Kalshi narrows it on a replace) are left to that rule. In the order of
    ``fields.yaml``.
    """
    hand = {
        (product, mt, r.fdef.name)
        for r in spec.rules
        if r.check == "values"
        for product, mt, _ in r.paths
    }
    # field name -> the values one product has -> where it is on the messages of those products
    uses: dict[str, dict[tuple[str, ...], list[tuple[str, str, tuple[str, ...]]]]] = {}
    for product in PRODUCTS:
        for rm in spec.view(product).messages:
            if rm.msg.category != "app" or rm.msg.direction == "server":
                continue
            for f, path in _enum_uses(rm.members):
                values = tuple(str(v.value) for v in f.values_for(product))
                if values and (product, rm.msgtype, f.name) not in hand:
                    uses.setdefault(f.name, {}).setdefault(values, []).append(
                        (product, rm.msgtype, path)
                    )
    out: list[ValueRule] = []
    for f in spec.fields:
        per_product = uses.get(f.name, {})
        for values, paths in per_product.items():
            products = tuple(dict.fromkeys(product for product, _, _ in paths))
            names = {str(v.value): v.name for v in f.values}
            listed = ", ".join(f"{v} ({names[v]})" for v in values)
            restricted = any(v.products != f.products for v in f.values)
            whose = f"Kalshi's {'/'.join(products)} values" if restricted else "Kalshi's values"
            says = f"not one of {whose}: {listed}"
            if f.type in MULTI_VALUE_TYPES:
                says = f"each space-separated value must be one of {whose}: {listed}"
            where = f.values_where or f.where
            out.append(
                ValueRule(
                    f,
                    "values",
                    list(dict.fromkeys(mt for _, mt, _ in paths)),
                    products,
                    None,
                    {},
                    None,
                    list(values),
                    says,
                    f"Kalshi's {'documented' if f.source == 'doc' else 'XML dictionary'} "
                    f"values of {f.name}({f.tag})",
                    "documented",
                    "",
                    where,
                    paths,
                )
            )
    return out

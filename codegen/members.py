"""Reading the members of a message, group or header/trailer: field uses and repeating groups.

Used by the loader (`codegen.loader`) once fields and components are known. The shape of each
entry is checked by `codegen.schema`; this adds what needs the other files: that a field or
component exists, its products, PRICE units, group count fields and delimiters, DATA fields
after their length field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import FRAMING_TAGS, PRODUCTS, FieldDef, FieldUse, GroupUse, Member, Required
from .schema import FIELD_USE, GROUP_USE, Problems
from .yamlload import Node, Seq, Where


def products_of(node: Mapping[str, Any], default: tuple[str, ...]) -> tuple[str, ...]:
    """The node's (checked) ``products``, in `PRODUCTS` order; `default` when it has none."""
    if "products" not in node:
        return default
    return tuple(p for p in PRODUCTS if p in node["products"])


def required_of(node: Mapping[str, Any]) -> Required:
    """The node's (checked) ``required`` per product."""
    val = node.get("required", False)
    if isinstance(val, dict):
        return dict(val)
    return dict.fromkeys(PRODUCTS, val)


class MemberParser:
    """Turns checked member lists into `FieldUse` / `GroupUse`, reporting what is wrong.

    Args:
        problems: where to report.
        fields: the defined fields by name.
        broken_fields: names of fields defined with problems (already reported, so uses of them
            are not reported again as undefined).
        components: the component nodes by name (checked).
        broken_components: names of components defined with problems.
    """

    def __init__(
        self,
        problems: Problems,
        fields: dict[str, FieldDef],
        broken_fields: set[str],
        components: dict[str, Node],
        broken_components: set[str],
    ) -> None:
        self.p = problems
        self.fields = fields
        self.broken_fields = broken_fields
        self.components = components
        self.broken_components = broken_components
        self.group_components: dict[str, GroupUse] = {}

    def members(self, items: Seq, owner: str, owner_products: tuple[str, ...]) -> list[Member]:
        """The members of `owner` in wire order.

        Args:
            items: the owner's (checked) ``fields`` list.
            owner: how messages name the owner ("message NewOrderSingle (D)").
            owner_products: the products a member has unless it says otherwise.
        """
        out: list[Member] = []
        seen: dict[str, Where] = {}
        for item, where in items.positioned():
            m: Member | None
            if isinstance(item, Node) and ("group" in item or "component" in item):
                m = self.group(item, owner, owner_products)
                kind = "group"
            else:
                m = self.field_use(item, owner, owner_products, where)
                kind = "field"
            if m is None:
                continue
            name = m.count.name if isinstance(m, GroupUse) else m.field.name
            if name in seen:
                self.p.add(
                    m.where,
                    f"{owner}: {kind} {name} appears twice (first at line {seen[name].line})",
                )
                continue
            seen[name] = m.where
            out.append(m)
        self._check_data_fields(out, owner)
        return out

    def field_use(
        self, item: Any, owner: str, owner_products: tuple[str, ...], where: Where
    ) -> FieldUse | None:
        """One field entry of `owner`, or None after reporting what is wrong with it."""
        fname = item.get("field") if isinstance(item, Node) else None
        label = f"{owner}.{fname}" if isinstance(fname, str) else owner
        before = len(self.p.found)
        good = self.p.entries(item, FIELD_USE, where, f"field entry of {owner}", label)
        f = self.fields.get(good["field"]) if "field" in good else None
        if f is None:
            if "field" in good and good["field"] not in self.broken_fields:
                self.p.add(item.key_where["field"], f"{owner} uses undefined field {fname!r}")
            return None
        if f.tag in FRAMING_TAGS:
            self.p.add(
                item.key_where["field"],
                f"{owner}: {f.name} ({f.tag}) is framing, written by the codec; do not list it",
            )
        elif f.type == "NUMINGROUP":
            self.p.add(
                item.key_where["field"],
                f"{owner}: {f.name} is a NUMINGROUP count; declare it as `group: {f.name}` "
                "with its fields",
            )
        products = products_of(good, owner_products)
        missing = [p for p in products if p not in f.products]
        if missing and "products" not in item:
            products = tuple(p for p in products if p in f.products)
        elif missing:
            self.p.add(
                item.where,
                f"{owner}: field {f.name} is not defined for {', '.join(missing)} "
                "(fields.yaml products)",
            )
        if "units" in good and f.type != "PRICE":
            self.p.add(
                item.key_where["units"],
                f"{owner}: units apply to PRICE fields only; {f.name} is {f.type}",
            )
        if len(self.p.found) != before:
            return None
        return FieldUse(
            f,
            required_of(good),
            good.get("condition", ""),
            products,
            good.get("units"),
            good.get("notes", ""),
            item.where,
        )

    def group(self, item: Node, owner: str, owner_products: tuple[str, ...]) -> GroupUse | None:
        """One group entry (inline or a component reference), or None after reporting why.

        Problems inside the group's members are reported but keep the group (so that a group
        component is read, and its problems reported, once).
        """
        before = len(self.p.found)
        good = self.p.entries(item, GROUP_USE, item.where, f"group entry of {owner}", owner)
        if "component" in item:
            if "group" in item or "fields" in item:
                self.p.add(item.where, f"{owner}: a component reference takes no group/fields keys")
            comp = self.component_group(good["component"], item) if "component" in good else None
            if comp is None or len(self.p.found) != before:
                return None
            return GroupUse(
                comp.count,
                good["component"],
                required_of(good),
                good.get("condition", ""),
                products_of(good, owner_products),
                comp.members,
                good.get("notes", ""),
                item.where,
            )
        count = self._count_field(item, good, owner)
        if count is None or len(self.p.found) != before:
            return None
        products = products_of(good, owner_products)
        members = self.members(item["fields"], f"{owner}.{count.name}", products)
        if members and not isinstance(members[0], FieldUse):
            self.p.add(
                item.where,
                f"{owner}: group {count.name} must start with a plain field (its delimiter)",
            )
        return GroupUse(
            count,
            None,
            required_of(good),
            good.get("condition", ""),
            products,
            members,
            good.get("notes", ""),
            item.where,
        )

    def _count_field(self, item: Node, good: dict[str, Any], owner: str) -> FieldDef | None:
        """The count field of an inline group; None after reporting why it has none."""
        if "group" not in item:
            self.p.add(item.where, f"{owner}: a group needs `group` (its count field)")
            return None
        count = self.fields.get(good["group"]) if "group" in good else None
        at = item.key_where["group"]
        if count is None:
            if "group" in good and good["group"] not in self.broken_fields:
                self.p.add(at, f"{owner}: group count field {item['group']!r} is undefined")
            return None
        if count.type != "NUMINGROUP":
            self.p.add(
                at, f"{owner}: group count field {count.name} must be NUMINGROUP, is {count.type}"
            )
            return None
        if not item.get("fields"):
            self.p.add(item.where, f"{owner}: group {count.name} has no members, so no delimiter")
            return None
        return count if "fields" in good else None

    def component_group(self, cname: str, ref: Node) -> GroupUse | None:
        """The group a ``kind: group`` component defines (read once), or None if it has none.

        Args:
            cname: the component's name.
            ref: the node that names it, for positions.
        """
        if cname in self.group_components:
            return self.group_components[cname]
        comp = self.components.get(cname)
        if comp is None or comp["kind"] != "group":
            if cname not in self.broken_components:
                self.p.add(
                    ref.key_where.get("component", ref.where), f"unknown group component {cname!r}"
                )
            return None
        inner = Node((k, v) for k, v in comp.items() if k not in ("name", "kind"))
        inner.where = comp.where
        inner.key_where = comp.key_where
        g = self.group(inner, f"component {cname}", PRODUCTS)
        if g is None:
            self.broken_components.add(cname)
        else:
            self.group_components[cname] = g
        return g

    def _check_data_fields(self, members: list[Member], owner: str) -> None:
        """A DATA field must directly follow its length field."""
        for i, m in enumerate(members):
            if isinstance(m, FieldUse) and m.field.type == "DATA":
                prev = members[i - 1] if i else None
                if not (isinstance(prev, FieldUse) and prev.field.name == m.field.length_field):
                    self.p.add(
                        m.where,
                        f"{owner}: DATA field {m.field.name} must directly follow its length "
                        f"field {m.field.length_field}",
                    )

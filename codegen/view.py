"""The spec as one product sees it: what the templates render.

`DialectView` keeps the fields, header, trailer, messages and sessions of one product, decides
each use's requirement for that product (required, optional or conditional), gives PRICE fields
their units (``session`` unless the use says otherwise) and names group entry classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import FieldDef, FieldUse, GroupUse, Member, MessageDef, Required, Spec, snake


@dataclass
class RField:
    """A field use resolved for one product."""

    field: FieldDef
    required: bool
    conditional: bool
    condition: str
    units: str | None  # PRICE fields: "session" | "dollars" | "cents" | "rfq"
    attr: str

    @property
    def tag(self) -> int:
        """The field's tag number."""
        return self.field.tag


@dataclass
class RGroup:
    """A group use resolved for one product; `entry_class` names its entries' class."""

    count: FieldDef
    required: bool
    conditional: bool
    condition: str
    members: list[RField | RGroup]
    entry_class: str
    attr: str

    @property
    def tag(self) -> int:
        """The count field's tag number."""
        return self.count.tag

    @property
    def delimiter(self) -> RField | RGroup:
        """The first member, which starts every entry."""
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
    """A message resolved for one product."""

    msg: MessageDef
    members: list[RField | RGroup]

    @property
    def name(self) -> str:
        """The message name (e.g. NewOrderSingle)."""
        return self.msg.name

    @property
    def msgtype(self) -> str:
        """The MsgType(35) value."""
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


def singular(name: str) -> str:
    """English singular of a group name (Parties -> Party, MiscFees -> MiscFee)."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def _count_base(count: FieldDef) -> str:
    """The group's name from its count field (NoMiscFees -> MiscFees)."""
    return count.name[2:] if count.name.startswith("No") else count.name


def group_attr(count: FieldDef) -> str:
    """The attribute holding a group's entries (NoMiscFees -> misc_fees)."""
    return snake(_count_base(count))


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

    def _req(self, req: Required) -> tuple[bool, bool]:
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
                out.append(self._group(m, owner + singular(_count_base(m.count))))
        return out

    def enum_fields(self) -> list[FieldDef]:
        """Fields with at least one enum value on this product."""
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

"""The spec as Python objects: fields, messages, groups, dialects, sessions, accepted drift.

`codegen.loader.load_spec` builds a `Spec` from the YAML in ``spec/`` (validating it); nothing here
reads files or reports problems. `Spec.view(product)` resolves one dialect for the templates (see
`codegen.view`). The constants below are the vocabulary of the spec format (``spec/README.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .yamlload import Node, Where

if TYPE_CHECKING:
    from .view import DialectView

PRODUCTS = ("prediction", "margin")
"""The two Kalshi products; each is a dialect of its own."""

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
"""FIX type -> the Python type its values decode to."""

INT_TYPES = {"INT", "LENGTH", "SEQNUM", "NUMINGROUP"}
"""FIX types whose enum values are integers."""

STR_ENUM_TYPES = {"STRING", "CHAR", "MULTIPLEVALUESTRING", "CURRENCY", "EXCHANGE"}
"""FIX types whose enum values are strings."""

PRICE_UNITS = ("session", "dollars", "cents", "rfq")
"""The `units` a PRICE field use may carry (``session`` is the default)."""

REQUIRED_WORDS = (True, False, "conditional")
"""The values of a field or group use's `required` (or of each product in its mapping)."""

FRAMING_TAGS = {8, 9, 35, 10}
"""BeginString, BodyLength, MsgType, CheckSum: written by the codec, never listed in the spec."""

DRIFT_KINDS = (
    "field-missing-in-dictionary",
    "field-missing-in-spec",
    "field-name",
    "field-type",
    "enum-missing-in-dictionary",
    "enum-missing-in-spec",
    "message-missing-in-dictionary",
    "message-missing-in-spec",
    "message-category",
    "message-field-missing-in-dictionary",
    "message-field-missing-in-spec",
    "message-field-required",
    "message-field-location",
    "message-field-is-group",
    "group-delimiter",
    "group-count-tag",
    "component-field-missing-in-dictionary",
    "component-field-missing-in-spec",
    "header-field-missing-in-dictionary",
    "header-field-missing-in-spec",
    "header-field-required",
)
"""Every kind of difference from Kalshi's XML dictionary, in report order (see `codegen.drift`)."""

Required = dict[str, bool | str]
"""Product -> True, False or "conditional"."""


@dataclass
class EnumValue:
    """One value of an enumerated field."""

    value: str | int
    name: str
    description: str
    products: tuple[str, ...]


@dataclass
class FieldDef:
    """A tag of ``fields.yaml``."""

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
    values_where: Where | None = None  # where its `values:` list starts

    @property
    def py_type(self) -> str:
        """The Python type name its values decode to."""
        return FIX_TYPES[self.type]

    def values_for(self, product: str) -> list[EnumValue]:
        """The enum values that exist on one product."""
        return [v for v in self.values if product in v.products]


@dataclass
class FieldUse:
    """A field as a message, group or header/trailer carries it."""

    field: FieldDef
    required: Required
    condition: str
    products: tuple[str, ...]
    units: str | None
    notes: str
    where: Where


@dataclass
class GroupUse:
    """A repeating group as a message or group carries it (inline, or a reused component)."""

    count: FieldDef
    component: str | None
    required: Required
    condition: str
    products: tuple[str, ...]
    members: list[FieldUse | GroupUse]
    notes: str
    where: Where


Member = FieldUse | GroupUse


@dataclass
class MessageDef:
    """A message of ``messages/*.yaml``; its members in wire order."""

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
    """What differs per product (``dialects/*.yaml``): price units."""

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
    """A session type of one product (``sessions.yaml``)."""

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
    listener_refused: list[str] = field(default_factory=list)
    logon_flags_default_y: list[str] = field(default_factory=list)


@dataclass
class DriftEntry:
    """An accepted difference from Kalshi's XML dictionary (``drift.yaml``)."""

    kind: str
    tag: int | None
    msgtype: str | None
    reason: str
    where: Where
    value: str | int | None = None
    name: str | None = None


RULE_CHECKS = {
    "range": ("min", "max", "above", "below"),
    "tick": ("tick",),
    "length": ("min_length", "max_length"),
    "pattern": ("pattern",),
    "values": ("values",),
    "future": ("future",),
}
"""The kinds of check a value rule of ``ranges.yaml`` makes, and the keys that name each."""


@dataclass
class ValueRule:
    """One check of ``ranges.yaml`` on one field of the messages a client sends.

    `paths` holds, per (product, msgtype) the rule applies to, the attributes leading to the
    field: ``("price",)`` for a body field, ``("related_sym", "order_qty")`` inside a group.
    """

    fdef: FieldDef  # the field checked
    check: str  # a key of RULE_CHECKS
    msgtypes: list[str]
    products: tuple[str, ...]
    when: str | None
    bounds: dict[str, str | int]  # the RULE_CHECKS keys given (text of decimals, or ints)
    pattern: str | None
    values: list[str]
    says: str
    source: str
    basis: str
    notes: str
    where: Where
    paths: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)


@dataclass
class Spec:
    """Everything in ``spec/``, validated."""

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
    rules: list[ValueRule] = field(default_factory=list)
    enum_rules: list[ValueRule] = field(default_factory=list)
    """The membership rules derived from the enums of ``fields.yaml`` (`ENUM_RULES`)."""

    @property
    def by_name(self) -> dict[str, FieldDef]:
        """Fields by FIX name."""
        return {f.name: f for f in self.fields}

    @property
    def by_tag(self) -> dict[int, FieldDef]:
        """Fields by tag number."""
        return {f.tag: f for f in self.fields}

    def view(self, product: str) -> DialectView:
        """The spec as one product sees it (what the templates render)."""
        from .view import DialectView

        return DialectView(self, product)


def snake(name: str) -> str:
    """CamelCase FIX name to a Python attribute name (ClOrdID -> cl_ord_id)."""
    s = re.sub(r"IDs\b", "Ids", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()

"""The shape of every kind of node in ``spec/``, as tables, and the checker that applies them.

Each `Shape` lists a node's keys: which are required and what each value must be (a `Value`: a
test and the words an error message uses). `Problems.check` applies a shape to a YAML mapping and
reports, with file and line, every unknown key, missing key and wrong value. What a table cannot
say — references between files, duplicates, rules that depend on another key (an enum value's
type follows its field's type) — is checked by the loader (`codegen.loader`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import DRIFT_KINDS, FIX_TYPES, PRICE_UNITS, PRODUCTS, REQUIRED_WORDS
from .yamlload import Node, SpecError, Where

# ---------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Value:
    """What a value must be.

    Attributes:
        test: true when the value is acceptable.
        says: what it must be, as an error message puts it ("true or false").
        noun: for long enumerations: report "unknown <noun> 'x' (known: ...)" instead.
    """

    test: Callable[[Any], bool]
    says: str
    noun: str | None = None

    def problem(self, key: str, value: Any) -> str:
        """The message for a value of `key` that fails the test."""
        if self.noun is not None:
            return f"unknown {self.noun} {value!r} (known: {self.says})"
        return f"{key} must be {self.says}, got {value!r}"


def _words(choices: tuple[Any, ...]) -> str:
    names = [str(c) for c in choices]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def one_of(*choices: str, noun: str | None = None) -> Value:
    """One of a few words; with `noun`, a longer list reported as "unknown <noun>"."""
    says = ", ".join(choices) if noun else _words(choices)
    return Value(lambda v: isinstance(v, str) and v in choices, says, noun)


def integer(low: int, high: int | None = None, says: str | None = None) -> Value:
    """An integer (never a boolean) from `low` to `high`."""

    def test(v: Any) -> bool:
        ok = isinstance(v, int) and not isinstance(v, bool) and v >= low
        return ok and (high is None or v <= high)

    return Value(test, says or f"an integer {low}-{high}")


def pattern(regex: str, says: str) -> Value:
    """A string matching `regex` entirely."""
    compiled = re.compile(regex)
    return Value(lambda v: isinstance(v, str) and compiled.fullmatch(v) is not None, says)


def list_of(item: Value, says: str, non_empty: bool = False) -> Value:
    """A list whose every item passes `item`."""
    return Value(
        lambda v: isinstance(v, list) and (bool(v) or not non_empty) and all(map(item.test, v)),
        says,
    )


def mapping_of(key: Value, value: Value, says: str) -> Value:
    """A mapping whose keys pass `key` and values pass `value`."""
    return Value(
        lambda v: isinstance(v, dict) and all(key.test(k) and value.test(x) for k, x in v.items()),
        says,
    )


def _required_word(v: Any) -> bool:
    return isinstance(v, (bool, str)) and v in REQUIRED_WORDS


ANY = Value(lambda v: True, "anything")
TEXT = Value(lambda v: isinstance(v, str), "a string")
BOOL = Value(lambda v: isinstance(v, bool), "true or false")
LIST = Value(lambda v: isinstance(v, list), "a list")
MAPPING = Value(lambda v: isinstance(v, dict), "a mapping")
CAMEL = pattern(r"[A-Z][A-Za-z0-9]*", "CamelCase text")
UPPER_SNAKE = pattern(r"[A-Z][A-Z0-9_]*", "UPPER_SNAKE text")
IDENTIFIER = Value(lambda v: isinstance(v, str) and v.isidentifier(), "a Python identifier")
POSITIVE_INT = integer(1, says="a positive integer")
PORT = integer(1, 65535, says="a port number 1-65535")
MSGTYPE = pattern(r"[0-9A-Za-z]{1,4}", "a quoted string of 1-4 letters/digits")
PRODUCT_LIST = list_of(one_of(*PRODUCTS), f"a non-empty list of {list(PRODUCTS)}", non_empty=True)
REQUIRED = Value(
    lambda v: (
        _required_word(v)
        or (isinstance(v, dict) and all(p in PRODUCTS and _required_word(r) for p, r in v.items()))
    ),
    f"true, false, conditional or a per-product mapping of those (keys {list(PRODUCTS)})",
)
UNITS = one_of(*PRICE_UNITS)
WIRE_UNITS = one_of("cents", "dollars")
HOSTS = mapping_of(TEXT, TEXT, "a mapping of names to host strings")


@dataclass(frozen=True)
class Key:
    """One key of a shape: what its value must be, whether it must be there."""

    value: Value
    required: bool = False


def req(value: Value) -> Key:
    """A required key."""
    return Key(value, required=True)


def opt(value: Value) -> Key:
    """An optional key."""
    return Key(value)


@dataclass(frozen=True)
class Shape:
    """The keys a kind of node may have, in the order their values are checked."""

    what: str
    keys: dict[str, Key]

    @property
    def allowed(self) -> str:
        """The allowed keys, for messages."""
        return ", ".join(sorted(self.keys))


# ---------------------------------------------------------------------------------------------
# The spec format (spec/README.md), node kind by node kind

FIELDS_FILE = Shape("fields file", {"fields": req(LIST)})
FIELD = Shape(
    "field",
    {
        "tag": req(POSITIVE_INT),
        "name": req(CAMEL),
        "type": req(one_of(*sorted(FIX_TYPES), noun="type")),
        "description": req(TEXT),
        "products": opt(PRODUCT_LIST),
        "source": opt(one_of("doc", "dict")),
        "length_field": opt(TEXT),
        "python_name": opt(IDENTIFIER),
        "values": opt(LIST),
        "history": opt(list_of(TEXT, "a list of strings")),
        "notes": opt(TEXT),
    },
)
ENUM_VALUE = Shape(
    "enum value",
    {
        "value": req(ANY),  # its type follows the field's type: checked by the loader
        "name": req(UPPER_SNAKE),
        "description": opt(TEXT),
        "products": opt(PRODUCT_LIST),
    },
)

COMPONENTS_FILE = Shape("components file", {"components": req(LIST)})
COMPONENT = Shape(
    "component",
    {
        "name": req(CAMEL),
        "kind": req(one_of("header", "trailer", "group")),
        "group": opt(TEXT),
        "fields": req(LIST),
        "notes": opt(TEXT),
    },
)

MESSAGES_FILE = Shape("messages file", {"messages": req(LIST)})
MESSAGE = Shape(
    "message",
    {
        "msgtype": req(MSGTYPE),
        "name": req(CAMEL),
        "category": req(one_of("admin", "app")),
        "direction": req(one_of("client", "server", "both")),
        "products": opt(PRODUCT_LIST),
        "description": opt(TEXT),
        "fields": req(LIST),
        "notes": opt(TEXT),
    },
)
FIELD_USE = Shape(
    "field entry",
    {
        "field": req(TEXT),
        "required": opt(REQUIRED),
        "condition": opt(TEXT),
        "products": opt(PRODUCT_LIST),
        "units": opt(UNITS),
        "notes": opt(TEXT),
    },
)
GROUP_USE = Shape(
    "group entry",
    {
        "group": opt(TEXT),
        "component": opt(TEXT),
        "required": opt(REQUIRED),
        "condition": opt(TEXT),
        "products": opt(PRODUCT_LIST),
        "fields": opt(LIST),
        "notes": opt(TEXT),
    },
)

DIALECT = Shape(
    "dialect",
    {
        "product": req(one_of(*PRODUCTS)),
        "doc_state": opt(TEXT),
        "session_price_units": req(WIRE_UNITS),
        "use_dollars_switch": req(BOOL),
        "max_price_decimals": req(integer(0, 8)),
        "rfq_price_units": opt(
            mapping_of(TEXT, WIRE_UNITS, "a mapping of session type names to cents or dollars")
        ),
        "notes": opt(TEXT),
    },
)

SESSIONS_FILE = Shape("sessions file", {"products": req(MAPPING)})
SESSION_PRODUCTS = Shape("products", {p: opt(MAPPING) for p in PRODUCTS})
PRODUCT_SESSIONS = Shape(
    "sessions", {"environments": req(MAPPING), "sessions": req(LIST), "notes": opt(TEXT)}
)
ENVIRONMENTS = Shape("environments", {"demo": opt(HOSTS), "production": opt(HOSTS)})
SESSION = Shape(
    "session",
    {
        "name": req(TEXT),
        "port": req(PORT),
        "host": req(TEXT),
        "retransmission": req(BOOL),
        "reset_seq_num": req(one_of("required", "optional")),
        "listener": req(BOOL),
        "logon_flags": req(list_of(TEXT, "a list of field names")),
        "send": req(list_of(MSGTYPE, "a list of quoted msgtypes")),
        "receive": req(list_of(MSGTYPE, "a list of quoted msgtypes")),
        "listener_refused": opt(list_of(MSGTYPE, "a list of quoted msgtypes")),
        "logon_flags_default_y": opt(list_of(TEXT, "a list of field names")),
        "notes": opt(TEXT),
    },
)

RANGES_FILE = Shape("ranges file", {"rules": req(LIST)})
DECIMAL_TEXT = Value(
    lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, str) and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", v) is not None)
    ),
    'an integer or a quoted decimal ("0.01")',
)
VALUE_RULE = Shape(
    "value rule",
    {
        "field": req(TEXT),
        "messages": req(list_of(MSGTYPE, "a non-empty list of quoted msgtypes", non_empty=True)),
        "products": opt(PRODUCT_LIST),
        "when": opt(WIRE_UNITS),
        "min": opt(DECIMAL_TEXT),
        "max": opt(DECIMAL_TEXT),
        "above": opt(DECIMAL_TEXT),
        "below": opt(DECIMAL_TEXT),
        "tick": opt(DECIMAL_TEXT),
        "min_length": opt(integer(0, says="an integer >= 0")),
        "max_length": opt(POSITIVE_INT),
        "pattern": opt(TEXT),
        "values": opt(list_of(TEXT, "a non-empty list of quoted values", non_empty=True)),
        "future": opt(Value(lambda v: v is True, "true")),
        "basis": opt(one_of("documented", "decision")),
        "says": req(TEXT),
        "source": req(TEXT),
        "notes": opt(TEXT),
    },
)

DRIFT_FILE = Shape(
    "drift file",
    {
        "accepted": req(Value(lambda v: v is None or isinstance(v, list), "a list")),
        "notes": opt(TEXT),
    },
)
DRIFT_ENTRY = Shape(
    "drift entry",
    {
        "kind": req(one_of(*DRIFT_KINDS, noun="drift kind")),
        "tag": opt(POSITIVE_INT),
        "msgtype": opt(MSGTYPE),
        "value": opt(Value(lambda v: isinstance(v, (str, int)), "a string or an integer")),
        "name": opt(TEXT),
        "reason": req(TEXT),
    },
)

# ---------------------------------------------------------------------------------------------
# Reporting


def _kind(value: Any) -> str:
    """What a YAML value is, in the words of the spec format."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "nothing" if value is None else f"{value!r}"


class Problems:
    """The problems found so far, each naming its file and line."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, where: Where | str | None, text: str) -> None:
        """Record one problem at `where` (a position, or a file name alone)."""
        self.found.append(f"{where}: {text}" if where else text)

    def extend(self, problems: list[str]) -> None:
        """Record problems already formatted (e.g. from `SpecError`)."""
        self.found.extend(problems)

    def raise_if_any(self) -> None:
        """Raise `SpecError` listing everything found, if anything was."""
        if self.found:
            raise SpecError(self.found)

    def check(
        self,
        node: Any,
        shape: Shape,
        where: Where,
        what: str | None = None,
        label: str | None = None,
    ) -> Node | None:
        """Check `node` against `shape`, reporting every problem.

        Args:
            node: the YAML value to check.
            shape: its expected shape.
            where: the node's position, for when it is not a mapping.
            what: how to name the node in key messages (default: ``shape.what``).
            label: what value messages start with (default: `what` and the node's ``name``,
                when it has one; ``""``: nothing).

        Returns:
            The node, when it has the shape; None when it has not.
        """
        what = what or shape.what
        if not isinstance(node, Node):
            self.add(where, f"{what} must be a mapping, got {_kind(node)}")
            return None
        before = len(self.found)
        for k in node:
            if k not in shape.keys:
                self.add(
                    node.key_where[k], f"unknown key {k!r} in {what} (allowed: {shape.allowed})"
                )
        for k in sorted(k for k, key in shape.keys.items() if key.required and k not in node):
            self.add(node.where, f"{what} is missing required key {k!r}")
        if label is None:
            name = node.get("name") if "name" in shape.keys else None
            label = f"{what} {name}" if isinstance(name, str) else what
        prefix = f"{label}: " if label else ""
        for k, key in shape.keys.items():
            if k in node and not key.value.test(node[k]):
                self.add(node.key_where[k], prefix + key.value.problem(k, node[k]))
        return node if len(self.found) == before else None

    def entries(
        self,
        node: Any,
        shape: Shape,
        where: Where,
        what: str | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """Check like `check`, but keep what is right: the entries with a known key and a right value.

        For nodes whose parts can be checked further on their own (a message's members, a
        session's references, one product's sessions): one wrong key does not hide the problems
        of the others. A mapping that is not one gives ``{}``.
        """
        self.check(node, shape, where, what, label)
        if not isinstance(node, Node):
            return {}
        return {k: v for k, v in node.items() if k in shape.keys and shape.keys[k].value.test(v)}

    def check_file(self, doc: Any, shape: Shape, path: str) -> Node | None:
        """Check a whole file (`doc` is None when it could not be read: already reported)."""
        if doc is None:
            return None
        return self.check(doc, shape, Where(path, 1))

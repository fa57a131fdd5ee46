"""The spec: its model, its per-dialect view and its loader, under one name.

Kept so that ``from codegen.spec import load_spec`` (and the model names) keep working; the code
lives in `codegen.model` (fields, messages, groups, dialects, sessions), `codegen.view` (one
product's resolved view), `codegen.schema` (the shape of every node, as tables) and
`codegen.loader` (`load_spec`).
"""

from __future__ import annotations

from .loader import load_spec
from .model import (
    DRIFT_KINDS,
    FIX_TYPES,
    FRAMING_TAGS,
    INT_TYPES,
    PRICE_UNITS,
    PRODUCTS,
    REQUIRED_WORDS,
    STR_ENUM_TYPES,
    Dialect,
    DriftEntry,
    EnumValue,
    FieldDef,
    FieldUse,
    GroupUse,
    Member,
    MessageDef,
    SessionDef,
    Spec,
    snake,
)
from .view import DialectView, RField, RGroup, RMessage, group_attr, singular

__all__ = [
    "DRIFT_KINDS",
    "FIX_TYPES",
    "FRAMING_TAGS",
    "INT_TYPES",
    "PRICE_UNITS",
    "PRODUCTS",
    "REQUIRED_WORDS",
    "STR_ENUM_TYPES",
    "Dialect",
    "DialectView",
    "DriftEntry",
    "EnumValue",
    "FieldDef",
    "FieldUse",
    "GroupUse",
    "Member",
    "MessageDef",
    "RField",
    "RGroup",
    "RMessage",
    "SessionDef",
    "Spec",
    "group_attr",
    "load_spec",
    "singular",
    "snake",
]

"""A small validator of JSON values against the OpenAPI 3.0 schema subset Kalshi's REST specs use.

The subset of `tests/kalshi_rest_openapi.yaml`: ``type`` (object, array, string, integer, number,
boolean), ``required``, ``properties``, ``items``, ``enum``, ``nullable``, ``$ref`` (to
``#/<Name>`` in the same product's ``schemas``), ``allOf``, ``additionalProperties`` (a schema
every value of a map meets) and ``format: date-time``. Properties
a schema does not name are allowed (OpenAPI's default), as Kalshi adds fields.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).with_name("kalshi_rest_openapi.yaml")

_TYPES: Mapping[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def load_spec() -> dict[str, Any]:
    """The schema excerpt (`SPEC_PATH`), parsed."""
    with SPEC_PATH.open(encoding="utf-8") as file:
        spec: dict[str, Any] = yaml.safe_load(file)
    return spec


def _date_time(text: str) -> bool:
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.tzinfo is not None and "T" in text


def errors(value: object, schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``value`` against ``schema`` (empty: valid), each with its JSON path."""
    out: list[str] = []
    _check(value, schema, schemas, "$", out)
    return out


def _check(
    value: object, schema: Mapping[str, Any], schemas: Mapping[str, Any], at: str, out: list[str]
) -> None:
    if value is None:
        if not schema.get("nullable", False):
            out.append(f"{at}: null where {schema} is not nullable")
        return
    ref = schema.get("$ref")
    if ref is not None:
        _check(value, schemas[ref.removeprefix("#/")], schemas, at, out)
    for part in schema.get("allOf", ()):
        _check(value, part, schemas, at, out)
    kind = schema.get("type")
    if kind is not None:
        ok = isinstance(value, _TYPES[kind]) and not (
            kind in ("integer", "number") and isinstance(value, bool)
        )
        if not ok:
            out.append(f"{at}: {type(value).__name__} {value!r:.60} is not {kind}")
            return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{at}: {value!r} is not one of {schema['enum']}")
    if schema.get("format") == "date-time" and isinstance(value, str) and not _date_time(value):
        out.append(f"{at}: {value!r} is not an RFC 3339 date-time")
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                out.append(f"{at}: required {name!r} is missing")
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                _check(value[name], sub, schemas, f"{at}.{name}", out)
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            for name, item in value.items():
                _check(item, extra, schemas, f"{at}[{name!r}]", out)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], schemas, f"{at}[{index}]", out)


def page_errors(product: str, endpoint: str, page: object) -> list[str]:
    """What is wrong with one page of ``endpoint`` of ``product`` against Kalshi's schema, and
    the fields kalshi-sdk also requires (``also_required``)."""
    spec = load_spec()[product]
    schemas = spec["schemas"]
    name = spec["endpoints"][endpoint]
    out = errors(page, schemas[name], schemas)
    if not isinstance(page, dict):
        return out
    for key, sub in schemas[name].get("properties", {}).items():
        records = page.get(key)
        if sub.get("type") != "array" or not isinstance(records, list):
            continue
        item = sub["items"].get("$ref", "").removeprefix("#/")
        for wanted in spec["also_required"].get(item, ()):
            out += [
                f"$.{key}[{i}]: {wanted!r} (kalshi-sdk requires it) is missing"
                for i, record in enumerate(records)
                if isinstance(record, dict) and wanted not in record
            ]
    return out

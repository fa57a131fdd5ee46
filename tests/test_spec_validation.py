"""Broken specs are refused with errors naming the file and line."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen.spec import PRODUCTS, load_spec
from codegen.yamlload import SpecError
from kalshi_fix_sansio.codec import spec as tables

SPEC = Path(__file__).resolve().parent.parent / "spec"


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    target = tmp_path / "spec"
    shutil.copytree(SPEC, target)
    return target


def append(path: Path, text: str) -> int:
    """Append text; return the 1-based line number where it starts."""
    before = path.read_text(encoding="utf-8")
    if not before.endswith("\n"):
        before += "\n"
    path.write_text(before + text, encoding="utf-8")
    return before.count("\n") + 1


def problems(spec_dir: Path) -> list[str]:
    with pytest.raises(SpecError) as ei:
        load_spec(spec_dir, "spec")
    return ei.value.problems


def _raw(rel: str) -> Any:
    """A spec file read with plain PyYAML, independently of the loader."""
    return yaml.safe_load((SPEC / rel).read_text(encoding="utf-8"))


def test_shipped_spec_loads() -> None:
    """Every tag and message of the YAML reaches the model, each dialect and the generated code.

    The expected sets come from the YAML itself (read with plain PyYAML), so the test needs no
    update when Kalshi adds a tag, yet fails if the loader or the generator drops or adds one.
    """
    spec = load_spec(SPEC)
    tags = [f["tag"] for f in _raw("fields.yaml")["fields"]]
    assert tags and [f.tag for f in spec.fields] == tags
    assert set(tables.FIELDS) == set(tags)
    raw_messages = [
        m
        for path in sorted((SPEC / "messages").glob("*.yaml"))
        for m in _raw(f"messages/{path.name}")["messages"]
    ]
    assert [m.msgtype for m in spec.messages] == [m["msgtype"] for m in raw_messages]
    assert set(tables.MESSAGES) == {m["msgtype"] for m in raw_messages}
    per_product = {
        product: {m["msgtype"] for m in raw_messages if product in m.get("products", PRODUCTS)}
        for product in PRODUCTS
    }
    assert per_product["prediction"] != per_product["margin"]  # the products do differ
    for product, expected in per_product.items():
        assert expected and {m.msgtype for m in spec.view(product).messages} == expected
        generated = importlib.import_module(f"kalshi_fix_sansio.codec.{product}")
        assert set(generated.MESSAGES) == expected


def test_unknown_key_in_field(spec_dir: Path) -> None:
    line = append(
        spec_dir / "fields.yaml",
        "  - tag: 29999\n    name: NewThing\n    type: STRING\n    description: x\n    colour: red\n",
    )
    assert any(
        p.startswith(f"spec/fields.yaml:{line + 4}: unknown key 'colour'")
        for p in problems(spec_dir)
    )


def test_duplicate_tag_and_name(spec_dir: Path) -> None:
    line = append(
        spec_dir / "fields.yaml",
        "  - {tag: 11, name: Other, type: STRING, description: x}\n"
        "  - {tag: 29998, name: ClOrdID, type: STRING, description: x}\n",
    )
    found = problems(spec_dir)
    assert any(p.startswith(f"spec/fields.yaml:{line}: duplicate tag number 11") for p in found)
    assert any(
        p.startswith(f"spec/fields.yaml:{line + 1}: duplicate field name 'ClOrdID'") for p in found
    )


def test_enum_value_of_wrong_type(spec_dir: Path) -> None:
    line = append(
        spec_dir / "fields.yaml",
        "  - tag: 29997\n    name: Count2\n    type: INT\n    description: x\n"
        '    values:\n      - {value: "1", name: ONE}\n',
    )
    found = problems(spec_dir)
    assert any(
        p.startswith(
            f"spec/fields.yaml:{line + 5}: field Count2 (29997) is INT: enum value '1' must be an integer"
        )
        for p in found
    ), found


def test_message_using_undefined_field(spec_dir: Path) -> None:
    line = append(
        spec_dir / "messages" / "order_groups.yaml",
        '  - msgtype: "UZZ"\n    name: Broken\n    category: app\n    direction: client\n'
        "    fields:\n      - {field: NoSuchField, required: true}\n",
    )
    found = problems(spec_dir)
    assert any(
        p.startswith(
            f"spec/messages/order_groups.yaml:{line + 5}: message Broken (UZZ) uses undefined field 'NoSuchField'"
        )
        for p in found
    ), found


def test_group_without_delimiter_and_bad_count_field(spec_dir: Path) -> None:
    line = append(
        spec_dir / "messages" / "order_groups.yaml",
        '  - msgtype: "UZY"\n    name: Broken2\n    category: app\n    direction: client\n'
        "    fields:\n      - group: NoMiscFees\n        fields: []\n"
        "      - group: Symbol\n        fields:\n          - {field: Text}\n"
        "      - group: NoSuchCount\n        fields:\n          - {field: Text}\n",
    )
    found = problems(spec_dir)
    assert any(
        p.startswith(
            f"spec/messages/order_groups.yaml:{line + 5}: message Broken2 (UZY): group NoMiscFees has no members"
        )
        for p in found
    ), found
    assert any(
        p.startswith(
            f"spec/messages/order_groups.yaml:{line + 7}: message Broken2 (UZY): "
            "group count field Symbol must be NUMINGROUP"
        )
        for p in found
    ), found
    assert any(
        p.startswith(
            f"spec/messages/order_groups.yaml:{line + 10}: message Broken2 (UZY): "
            "group count field 'NoSuchCount' is undefined"
        )
        for p in found
    ), found


def test_session_referencing_unknown_message(spec_dir: Path) -> None:
    path = spec_dir / "sessions.yaml"
    text = path.read_text(encoding="utf-8")
    first_send = text.index("        send: [")
    path.write_text(
        text[:first_send] + '        send: ["QQQ", ' + text[first_send + len("        send: [") :],
        encoding="utf-8",
    )
    line = text[:first_send].count("\n") + 1
    found = problems(spec_dir)
    assert any(
        p.startswith(
            f"spec/sessions.yaml:{line}: session prediction/KalshiNR: send names unknown message 'QQQ'"
        )
        for p in found
    ), found


def test_duplicate_yaml_key_and_invalid_yaml(spec_dir: Path) -> None:
    line = append(spec_dir / "dialects" / "margin.yaml", "product: prediction\n")
    found = problems(spec_dir)
    assert any(
        p.startswith(f"spec/dialects/margin.yaml:{line}: duplicate key 'product'") for p in found
    ), found
    (spec_dir / "dialects" / "margin.yaml").write_text("product: [unclosed\n", encoding="utf-8")
    found = problems(spec_dir)
    assert any(p.startswith("spec/dialects/margin.yaml:") and "invalid YAML" in p for p in found), (
        found
    )


def test_data_field_must_follow_its_length_field(spec_dir: Path) -> None:
    line = append(
        spec_dir / "messages" / "order_groups.yaml",
        '  - msgtype: "UZX"\n    name: Broken3\n    category: app\n    direction: client\n'
        "    fields:\n      - {field: RawData}\n",
    )
    found = problems(spec_dir)
    assert any(
        p.startswith(
            f"spec/messages/order_groups.yaml:{line + 5}: message Broken3 (UZX): "
            "DATA field RawData must directly follow"
        )
        for p in found
    ), found


def test_all_problems_are_reported_at_once(spec_dir: Path) -> None:
    append(spec_dir / "fields.yaml", "  - {tag: 11, name: Dup1, type: STRING, description: x}\n")
    append(spec_dir / "dialects" / "prediction.yaml", "bogus: 1\n")
    found = problems(spec_dir)
    assert any("duplicate tag number 11" in p for p in found)
    assert any(
        p.startswith("spec/dialects/prediction.yaml:") and "unknown key 'bogus'" in p for p in found
    )


def replace(path: Path, old: str, new: str) -> int:
    """Replace the first `old`; return the 1-based line number where it stood."""
    text = path.read_text(encoding="utf-8")
    at = text.index(old)
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")
    return text[:at].count("\n") + 1


@pytest.mark.parametrize(
    ("rel", "text", "reason"),
    [
        ("components.yaml", "  - 5\n", "component must be a mapping, got 5"),
        ("drift.yaml", "  - 5\n", "drift entry must be a mapping, got 5"),
        (
            "drift.yaml",
            '  - {kind: field-name, tag: x, reason: "r"}\n',
            "tag must be a positive integer, got 'x'",
        ),
        (
            "fields.yaml",
            "  - {tag: 29999, name: NewThing, type: STRING, description: x, source: web}\n",
            "field NewThing: source must be doc or dict, got 'web'",
        ),
        (
            "messages/order_groups.yaml",
            '  - {msgtype: "UZW", name: Broken4, category: apps, direction: client, fields: []}\n',
            "message Broken4: category must be admin or app, got 'apps'",
        ),
    ],
)
def test_wrong_values_name_file_line_and_reason(
    spec_dir: Path, rel: str, text: str, reason: str
) -> None:
    line = append(spec_dir / rel, text)
    found = problems(spec_dir)
    assert f"spec/{rel}:{line}: {reason}" in found, found


def test_session_values_are_checked(spec_dir: Path) -> None:
    path = spec_dir / "sessions.yaml"
    line = replace(path, "        port: 8228\n", "        port: http\n")
    found = problems(spec_dir)
    assert (
        f"spec/sessions.yaml:{line}: session prediction/KalshiNR: port must be a port number "
        "1-65535, got 'http'"
    ) in found, found
    path.write_text("products: []\n", encoding="utf-8")
    assert "spec/sessions.yaml:1: sessions file: products must be a mapping, got []" in problems(
        spec_dir
    )


def test_a_broken_definition_is_reported_once(spec_dir: Path) -> None:
    """A field with a problem is not reported again as undefined at each of its uses."""
    line = replace(
        spec_dir / "fields.yaml",
        "    name: ClOrdID\n    type: STRING\n",
        "    name: ClOrdID\n    type: WORD\n",
    )
    found = problems(spec_dir)
    assert [p for p in found if "ClOrdID" in p or "WORD" in p] == [
        f"spec/fields.yaml:{line + 1}: field ClOrdID: unknown type 'WORD' (known: "
        "AMT, BOOLEAN, CHAR, CURRENCY, DATA, EXCHANGE, FLOAT, INT, LENGTH, LOCALMKTDATE, "
        "MULTIPLEVALUESTRING, NUMINGROUP, PRICE, QTY, SEQNUM, STRING, UTCDATEONLY, UTCTIMEONLY, "
        "UTCTIMESTAMP)"
    ], found


def test_rfq_price_units_must_name_session_types(spec_dir: Path) -> None:
    line = replace(
        spec_dir / "dialects" / "prediction.yaml",
        "KalshiRFQ: cents}",
        "KalshiRFQ: cents, KalshiZZ: cents}",
    )
    assert (
        f"spec/dialects/prediction.yaml:{line}: rfq_price_units names 'KalshiZZ', "
        "not a prediction session type"
    ) in problems(spec_dir)


def test_empty_file_is_reported(spec_dir: Path) -> None:
    (spec_dir / "dialects" / "margin.yaml").write_text("# nothing\n", encoding="utf-8")
    assert "spec/dialects/margin.yaml: file is empty" in problems(spec_dir)

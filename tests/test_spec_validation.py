"""Broken specs are refused with errors naming the file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codegen.spec import load_spec
from codegen.yamlload import SpecError

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


def test_shipped_spec_loads() -> None:
    spec = load_spec(SPEC)
    assert len(spec.fields) == 167
    assert len(spec.view("prediction").messages) == 40
    assert len(spec.view("margin").messages) == 24


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

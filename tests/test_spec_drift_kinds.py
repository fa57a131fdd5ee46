"""Each kind of difference ``python -m codegen drift`` knows is reported, naming both sides.

Each case edits a copy of Kalshi's dictionary (spec/sources/) or of spec/ in tmp_path the way a
real change would look, and checks that exactly the expected difference appears (the differences
of the unedited pair are subtracted, so the cases do not depend on the shipped state).
"""

from __future__ import annotations

import functools
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import codegen.drift as drift  # noqa: E402
from codegen.spec import load_spec  # noqa: E402

SPEC = ROOT / "spec"
XML = drift.DEFAULT_DICTIONARY.read_text(encoding="utf-8")


@functools.cache
def baseline(product: str) -> frozenset[drift.DiffKey]:
    spec = load_spec(SPEC)
    return frozenset(
        d.key
        for d in drift.compare(spec, drift.parse_dictionary(drift.DEFAULT_DICTIONARY), product)
    )


def new_differences(
    tmp_path: Path,
    xml: Callable[[str], str] | None = None,
    spec: Callable[[Path], None] | None = None,
    product: str = drift.DICTIONARY_PRODUCT,
) -> dict[drift.DiffKey, str]:
    """The differences an edit adds, key -> report line."""
    spec_dir = tmp_path / "spec"
    shutil.copytree(SPEC, spec_dir)
    if spec is not None:
        spec(spec_dir)
    path = tmp_path / "dictionary.xml"
    path.write_text(xml(XML) if xml is not None else XML, encoding="utf-8")
    diffs = drift.compare(load_spec(spec_dir), drift.parse_dictionary(path), product)
    return {d.key: d.line() for d in diffs if d.key not in baseline(product)}


# -- edits -------------------------------------------------------------------------------------


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"expected one {old!r}"
    return text.replace(old, new)


def in_block(text: str, start: str, end: str, old: str, new: str) -> str:
    """Replace `old` once inside the block that opens with `start` and ends at `end`."""
    a = text.index(start)
    b = text.index(end, a)
    return text[:a] + replace_once(text[a:b], old, new) + text[b:]


def in_message(msgtype: str, old: str, new: str) -> Callable[[str], str]:
    return lambda x: in_block(x, f"msgtype='{msgtype}'", "</message>", old, new)


def in_component(name: str, old: str, new: str) -> Callable[[str], str]:
    return lambda x: in_block(x, f"<component name='{name}'>", "</component>", old, new)


def add_field_def(number: int, name: str, type_: str) -> Callable[[str], str]:
    field = f"    <field number='{number}' name='{name}' type='{type_}'/>\n  </fields>"
    return lambda x: replace_once(x, "  </fields>", field)


def both(*edits: Callable[[str], str]) -> Callable[[str], str]:
    def run(text: str) -> str:
        for e in edits:
            text = e(text)
        return text

    return run


def yaml_edit(rel: str, anchor: str, after: str, line: str) -> Callable[[Path], None]:
    """Insert `line` after the first `after` that follows `anchor` in a spec file."""

    def run(spec_dir: Path) -> None:
        path = spec_dir / rel
        text = path.read_text(encoding="utf-8")
        pos = text.index(after, text.index(anchor)) + len(after)
        path.write_text(text[:pos] + line + text[pos:], encoding="utf-8")

    return run


PARTIES_D = (
    "<group name='NoPartyIDs' required='N'>\n"
    "        <field name='PartyID' required='N'/>\n"
    "        <field name='PartyRole' required='N'/>\n"
    "      </group>"
)
UOH_TEXT = yaml_edit(
    "messages/order_groups.yaml", 'msgtype: "UOH"', "    fields:\n", "      - {field: Text}\n"
)


@dataclass(frozen=True)
class Case:
    kind: str
    key: drift.DiffKey
    says: str  # a part of the report line that names both sides
    xml: Callable[[str], str] | None = None
    spec: Callable[[Path], None] | None = None


CASES = [
    Case(
        "field-missing-in-dictionary",
        ("field-missing-in-dictionary", 29001, None, None),
        "StrategyTag (STRING) is only in the spec",
        spec=lambda d: (d / "fields.yaml").write_text(
            (d / "fields.yaml").read_text(encoding="utf-8")
            + "  - {tag: 29001, name: StrategyTag, type: STRING, description: new}\n",
            encoding="utf-8",
        ),
    ),
    Case(
        "field-missing-in-spec",
        ("field-missing-in-spec", 29002, None, None),
        "Extra (STRING) is only in the dictionary",
        xml=add_field_def(29002, "Extra", "STRING"),
    ),
    Case(
        "field-name",
        ("field-name", 58, None, None),
        "dictionary FreeText, spec Text",
        xml=lambda x: x.replace("name='Text'", "name='FreeText'"),
    ),
    Case(
        "field-type",
        ("field-type", 58, None, None),
        "Text: dictionary INT, spec STRING",
        xml=lambda x: replace_once(x, "name='Text' type='STRING'", "name='Text' type='INT'"),
    ),
    Case(
        "enum-missing-in-dictionary",
        ("enum-missing-in-dictionary", 54, None, "2"),
        "Side=2 (SELL) is only in the spec",
        xml=lambda x: replace_once(x, "      <value enum='2' description='SELL_NO'/>\n", ""),
    ),
    Case(
        "enum-missing-in-spec",
        ("enum-missing-in-spec", 54, None, "7"),
        "Side=7 is only in the dictionary",
        xml=lambda x: replace_once(
            x,
            "<value enum='2' description='SELL_NO'/>",
            "<value enum='2' description='SELL_NO'/><value enum='7' description='SEVEN'/>",
        ),
    ),
    Case(
        "message-missing-in-dictionary",
        ("message-missing-in-dictionary", None, "UOH", None),
        "OrderGroupResponse is only in the spec",
        xml=lambda x: re.sub(r"<message[^>]*msgtype='UOH'.*?</message>", "", x, flags=re.S),
    ),
    Case(
        "message-missing-in-spec",
        ("message-missing-in-spec", None, "UZ", None),
        "Brand is only in the dictionary",
        xml=lambda x: replace_once(
            x,
            "  </messages>",
            "<message msgcat='app' msgtype='UZ' name='Brand'><field name='Text' required='N'/>"
            "</message>\n  </messages>",
        ),
    ),
    Case(
        "message-category",
        ("message-category", None, "0", None),
        "Heartbeat: dictionary app, spec admin",
        xml=lambda x: replace_once(x, "msgcat='admin' msgtype='0'", "msgcat='app' msgtype='0'"),
    ),
    Case(
        "message-field-missing-in-dictionary",
        ("message-field-missing-in-dictionary", 58, "UOH", None),
        "OrderGroupResponse Text(58) is only in the spec (in the body)",
        spec=UOH_TEXT,
    ),
    Case(
        "message-field-missing-in-spec",
        ("message-field-missing-in-spec", 58, "UOH", None),
        "OrderGroupResponse Text(58) is only in the dictionary (in the body)",
        xml=in_message(
            "UOH",
            "<field name='AllocAccount' required='N'/>",
            "<field name='AllocAccount' required='N'/><field name='Text' required='N'/>",
        ),
    ),
    Case(
        "message-field-required",
        ("message-field-required", 55, "D", None),
        "NewOrderSingle Symbol(55): dictionary optional (N), spec required",
        xml=in_message(
            "D", "<field name='Symbol' required='Y'/>", "<field name='Symbol' required='N'/>"
        ),
    ),
    Case(
        "message-field-location",
        ("message-field-location", 526, "D", None),
        "NewOrderSingle SecondaryClOrdID(526): dictionary in group NoPartyIDs(453), "
        "spec in the body",
        xml=in_message(
            "D",
            PARTIES_D + "\n      <field name='SecondaryClOrdID' required='N'/>",
            PARTIES_D.replace(
                "</group>", "  <field name='SecondaryClOrdID' required='N'/>\n      </group>"
            ),
        ),
    ),
    Case(
        "message-field-is-group",
        ("message-field-is-group", 453, "D", None),
        "NewOrderSingle NoPartyIDs(453): dictionary a plain field, spec a repeating group",
        xml=in_message(
            "D",
            PARTIES_D,
            "<field name='NoPartyIDs' required='N'/><field name='PartyID' required='N'/>"
            "<field name='PartyRole' required='N'/>",
        ),
    ),
    Case(
        "group-delimiter",
        ("group-delimiter", 453, "D", None),
        "NewOrderSingle group NoPartyIDs(453): first field PartyRole(452) in the dictionary, "
        "PartyID(448) in the spec",
        xml=in_message(
            "D",
            PARTIES_D,
            "<group name='NoPartyIDs' required='N'><field name='PartyRole' required='N'/>"
            "<field name='PartyID' required='N'/></group>",
        ),
    ),
    Case(
        "group-count-tag",
        ("group-count-tag", 453, "D", "29003"),
        "NewOrderSingle group starting with PartyID(448): count tag NoParties(29003) in the "
        "dictionary, NoPartyIDs(453) in the spec",
        xml=both(
            add_field_def(29003, "NoParties", "NUMINGROUP"),
            in_message("D", "<group name='NoPartyIDs'", "<group name='NoParties'"),
        ),
    ),
    Case(
        "component-field-missing-in-dictionary",
        ("component-field-missing-in-dictionary", 452, None, "Parties"),
        "component Parties (dictionary Parties, group NoPartyIDs(453)): PartyRole(452) is only "
        "in the spec",
        xml=in_component("Parties", "<field name='PartyRole' required='N'/>", ""),
    ),
    Case(
        "component-field-missing-in-spec",
        ("component-field-missing-in-spec", 58, None, "MiscFees"),
        "component MiscFees (dictionary MiscFeesGrp, group NoMiscFees(136)): Text(58) is only in "
        "the dictionary",
        xml=in_component(
            "MiscFeesGrp",
            "<field name='MiscFeeBasis' required='Y'/>",
            "<field name='MiscFeeBasis' required='Y'/><field name='Text' required='N'/>",
        ),
    ),
    Case(
        "header-field-missing-in-dictionary",
        ("header-field-missing-in-dictionary", 43, None, None),
        "PossDupFlag(43) is in the spec's header/trailer only",
        xml=lambda x: replace_once(x, "    <field name='PossDupFlag' required='N'/>\n", ""),
    ),
    Case(
        "header-field-missing-in-spec",
        ("header-field-missing-in-spec", 58, None, None),
        "Text(58) is in the dictionary's header/trailer only",
        xml=lambda x: replace_once(
            x, "  </header>", "    <field name='Text' required='N'/>\n  </header>"
        ),
    ),
    Case(
        "header-field-required",
        ("header-field-required", 50, None, None),
        "SenderSubID(50): dictionary required (Y), spec optional",
        xml=lambda x: replace_once(
            x,
            "<field name='SenderSubID' required='N'/>",
            "<field name='SenderSubID' required='Y'/>",
        ),
    ),
]


def test_every_kind_has_a_case() -> None:
    assert sorted(c.kind for c in CASES) == sorted(drift.KINDS)


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_kind_is_reported(case: Case, tmp_path: Path) -> None:
    found = new_differences(tmp_path, xml=case.xml, spec=case.spec)
    assert case.key in found, sorted(found)
    assert found[case.key].startswith(f"{case.kind} "), found[case.key]
    assert case.says in found[case.key], found[case.key]


# -- the cases and what the cases above imply ------------------------------------------


def test_conditional_versus_optional_is_a_difference(tmp_path: Path) -> None:
    """A field the dictionary makes conditional (C) where the spec says optional is reported."""
    found = new_differences(
        tmp_path,
        xml=in_message(
            "D",
            "<field name='TimeInForce' required='N'/>",
            "<field name='TimeInForce' required='C'/>",
        ),
    )
    assert found == {
        ("message-field-required", 59, "D", None): "message-field-required msgtype=D tag=59: "
        "NewOrderSingle TimeInForce(59): dictionary conditional (C), spec optional"
    }


def test_field_moved_out_of_a_group(tmp_path: Path) -> None:
    found = new_differences(
        tmp_path,
        xml=in_message(
            "D",
            PARTIES_D,
            "<group name='NoPartyIDs' required='N'><field name='PartyID' required='N'/></group>"
            "<field name='PartyRole' required='N'/>",
        ),
    )
    assert found == {
        ("message-field-location", 452, "D", None): "message-field-location msgtype=D tag=452: "
        "NewOrderSingle PartyRole(452): dictionary in the body, spec in group NoPartyIDs(453)"
    }


def test_a_renamed_group_is_one_difference_not_a_move_of_its_members(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.kind == "group-count-tag")
    found = new_differences(tmp_path, xml=case.xml)
    assert set(found) == {case.key, ("field-missing-in-spec", 29003, None, None)}


def test_a_group_moved_as_a_whole_reports_the_group_only(tmp_path: Path) -> None:
    """Moving NoPartyIDs into NoMiscFees moves PartyID and PartyRole with it: one line."""
    found = new_differences(
        tmp_path,
        xml=in_message(
            "8",
            "<field name='MiscFeeBasis' required='Y'/>\n      </group>",
            "<field name='MiscFeeBasis' required='Y'/>\n"
            "<group name='NoPartyIDs' required='N'><field name='PartyID' required='N'/>"
            "<field name='PartyRole' required='N'/></group></group>",
        ),
    )
    # the dictionary's 35=8 now has NoPartyIDs twice: places() keeps the first, in NoMiscFees
    assert set(found) == {("message-field-location", 453, "8", None)}
    assert (
        "dictionary in group NoMiscFees(136), spec in the body"
        in found[("message-field-location", 453, "8", None)]
    )


def test_per_product_field_is_compared_for_its_product_only(tmp_path: Path) -> None:
    edit = yaml_edit(
        "messages/order_groups.yaml",
        'msgtype: "UOH"',
        "    fields:\n",
        "      - {field: Text, products: [margin]}\n",
    )
    key = ("message-field-missing-in-dictionary", 58, "UOH", None)
    assert key not in new_differences(tmp_path / "p", spec=edit, product="prediction")
    assert key in new_differences(tmp_path / "m", spec=edit, product="margin")


def test_direction_is_not_compared(tmp_path: Path) -> None:
    """Kalshi's dictionary (QuickFIX format) says nothing about direction: nothing to compare."""
    assert "direction" not in XML

    def edit(spec_dir: Path) -> None:
        path = spec_dir / "messages" / "order_groups.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(
            in_block(text, 'msgtype: "UOH"', "fields:", "direction: server", "direction: client"),
            encoding="utf-8",
        )

    assert new_differences(tmp_path, spec=edit) == {}

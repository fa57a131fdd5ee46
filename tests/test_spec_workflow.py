"""Kalshi changed its spec: adding a tag to a message is one YAML edit plus ``python -m codegen``.

Proved on a copy: a field of ``fields.yaml`` is put on NewOrderSingle with one line in
``messages/order_entry.yaml``, the generator writes a copy of the package into tmp_path, and the
regenerated class has the field and round-trips it; the drift report names exactly the one
difference a doc-page change must record in ``drift.yaml``. Also: no test or hand-written page
states how many tags or messages the spec has (they follow from the YAML).
"""

from __future__ import annotations

import importlib
import io
import re
import shutil
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import codegen.drift as drift  # noqa: E402
from codegen.cli import main as codegen_main  # noqa: E402
from codegen.spec import FRAMING_TAGS, load_spec  # noqa: E402
from kalshi_fix_sansio import prediction  # noqa: E402

SPEC = ROOT / "spec"
SIMPLE = {"STRING", "INT", "QTY", "AMT"}


def pick_field() -> tuple[str, int, str]:
    """A prediction field of a simple type that NewOrderSingle (spec and dictionary) lacks."""
    spec = load_spec(SPEC)
    view = spec.view("prediction")
    nos = next(m for m in view.messages if m.msgtype == "D")
    on_nos = set(drift.places(drift.spec_slots(nos.members)))
    on_nos |= set(drift.parse_dictionary(drift.DEFAULT_DICTIONARY).messages["D"].fields)
    on_nos |= {u.field.tag for u in (*spec.header, *spec.trailer)} | FRAMING_TAGS
    field = next(
        f for f in view.fields if f.type in SIMPLE and not f.values and f.tag not in on_nos
    )
    return field.name, field.tag, field.python_name


def test_one_yaml_edit_adds_a_tag_to_a_message(tmp_path: Path) -> None:
    name, tag, attr = pick_field()
    spec_dir = tmp_path / "spec"
    shutil.copytree(SPEC, spec_dir)
    path = spec_dir / "messages" / "order_entry.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = text.index("    fields:\n", text.index('msgtype: "D"')) + len("    fields:\n")
    path.write_text(f"{text[:anchor]}      - {{field: {name}}}\n{text[anchor:]}", encoding="utf-8")

    package = tmp_path / "pkg" / "kfs_one_edit"
    shutil.copytree(
        ROOT / "src" / "kalshi_fix_sansio", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    argv = ["--spec", str(spec_dir), "--out", str(tmp_path / "pkg")]
    assert codegen_main([*argv, "--package", "kfs_one_edit/codec/_generated", "--no-docs"]) == 0
    assert (
        codegen_main([*argv, "--package", "kfs_one_edit/codec/_generated", "--check", "--no-docs"])
        == 0
    )

    sys.path.insert(0, str(tmp_path / "pkg"))
    try:
        revised: Any = importlib.import_module("kfs_one_edit.codec.prediction")
        common: Any = importlib.import_module("kfs_one_edit.codec._generated.common")
    finally:
        sys.path.remove(str(tmp_path / "pkg"))
    ftype = next(f.type for f in load_spec(spec_dir).fields if f.tag == tag)
    value: Any = "alpha" if ftype == "STRING" else 7 if ftype == "INT" else Decimal("2.5")
    order = revised.NewOrderSingle(
        cl_ord_id="c",
        side=revised.Side.BUY,
        order_qty=Decimal(1),
        ord_type=revised.OrdType.LIMIT,
        price=Decimal("0.5"),
        symbol="X",
        **{attr: value},
    )
    header = common.Header(
        sender_comp_id="k",
        target_comp_id="KalshiNR",
        msg_seq_num=1,
        sending_time=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )
    frame = revised.encode(order, header)
    assert re.search(rb"\x01%d=[^\x01]+\x01" % tag, frame)
    again = revised.decode(frame)
    assert getattr(again, attr) == value and again.extra_fields == ()
    # the shipped package, generated before the edit, keeps the tag as an unknown field
    assert tag in {t for t, _ in prediction.decode(frame).extra_fields}

    # the drift report names the one thing left to record when the change is only on a doc page
    out = io.StringIO()
    assert drift.run(drift.DEFAULT_DICTIONARY, spec_dir, out=out, err=io.StringIO()) == 1
    shipped = {
        d.key
        for d in drift.compare(load_spec(SPEC), drift.parse_dictionary(drift.DEFAULT_DICTIONARY))
    }
    edited = {
        d.key
        for d in drift.compare(
            load_spec(spec_dir), drift.parse_dictionary(drift.DEFAULT_DICTIONARY)
        )
    }
    assert edited - shipped == {("message-field-missing-in-dictionary", tag, "D", None)}
    assert shipped - edited == set()
    assert (
        f"message-field-missing-in-dictionary msgtype=D tag={tag}: NewOrderSingle {name}({tag})"
        in out.getvalue()
    )


def _spec_counts() -> set[int]:
    spec = load_spec(SPEC)
    counts = {len(spec.fields), len(spec.messages)}
    for product in ("prediction", "margin"):
        view = spec.view(product)
        counts |= {len(view.fields), len(view.messages)}
        counts.add(len([m for m in view.messages if m.msg.category == "app"]))
    counts.add(len([f for f in spec.fields if f.tag >= 5000]))
    return counts


def test_no_hand_written_file_states_the_spec_counts() -> None:
    """Tests compare with the YAML, never with a number of tags or messages typed in."""
    counts = _spec_counts()
    numbers = "|".join(str(n) for n in sorted(counts))
    in_tests = re.compile(rf"len\([^()]*(?:\([^()]*\))?[^()]*\)\s*==\s*(?:{numbers})\b")
    in_prose = re.compile(rf"\b(?:{numbers})\s+(?:distinct\s+)?(?:tags|fields|message types)\b")
    generated = ROOT / "docs" / "reference"
    found = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        found += [f"{path.name}: {m.group(0)}" for m in in_tests.finditer(path.read_text("utf-8"))]
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(SPEC / "README.md",)]
    for path in pages:
        if generated in path.parents:
            continue  # generated from the spec by `python -m codegen`
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in in_prose.finditer(text)]
    assert found == []

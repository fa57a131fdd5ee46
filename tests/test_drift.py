"""Tests for ``python -m codegen drift`` (codegen/drift.py) and the drift part of the spec loader.

The shipped spec must match Kalshi's dictionary (kept in spec/sources/) up to the differences
accepted in spec/drift.yaml. The other tests work on a temporary copy of spec/ (an accepted entry
removed, a bogus one added) or on a small dictionary written here, and compare against the
differences of the shipped spec so that they do not depend on its current state. Every kind of
difference is exercised on a mutated copy in tests/test_spec_drift_kinds.py.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import codegen.drift as drift  # noqa: E402
from codegen.cli import main as codegen_main  # noqa: E402
from codegen.spec import DRIFT_KINDS, load_spec  # noqa: E402
from codegen.yamlload import SpecError  # noqa: E402

SPEC = ROOT / "spec"
DICTIONARY = drift.DEFAULT_DICTIONARY
SHOWN_DICTIONARY = "spec/sources/kalshi-fix-dictionary-v1.03.xml"


def run(dictionary: Path, spec_dir: Path, show_all: bool = False) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = drift.run(dictionary, spec_dir, show_all, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def outcome(dictionary: Path, spec_dir: Path) -> drift.Outcome:
    spec = load_spec(spec_dir)
    return drift.apply_accepted(drift.compare(spec, drift.parse_dictionary(dictionary)), spec.drift)


def remaining_keys(dictionary: Path, spec_dir: Path) -> set[drift.DiffKey]:
    return {d.key for d in outcome(dictionary, spec_dir).remaining}


@functools.cache
def shipped() -> drift.Outcome:
    """The outcome for the shipped spec and the reference dictionary (loaded once)."""
    return outcome(DICTIONARY, SPEC)


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "spec"
    shutil.copytree(SPEC, dst)
    return dst


# ---------------------------------------------------------------------------------------------
# The shipped spec


def test_the_dictionary_is_in_the_repository() -> None:
    assert DICTIONARY.is_file(), f"{DICTIONARY} is missing: see spec/sources/README.md"
    assert DICTIONARY.is_relative_to(ROOT / "spec" / "sources")


def test_shipped_spec_matches_dictionary() -> None:
    result = shipped()
    assert [d.line() for d in result.remaining] == []
    assert [str(e.where) for e in result.stale] == []
    assert result.duplicates == []
    assert result.accepted

    proc = subprocess.run(
        [sys.executable, "-m", "codegen", "drift"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == (
        f"spec matches {SHOWN_DICTIONARY} ({len(result.accepted)} accepted differences)"
    )


def test_every_accepted_entry_has_a_reason() -> None:
    spec = load_spec(SPEC)
    assert spec.drift
    for e in spec.drift:
        assert e.kind in drift.KINDS
        assert isinstance(e.reason, str) and len(e.reason) > 20, e.where
        assert e.tag is not None or e.msgtype is not None, e.where


def test_kinds_of_the_loader_are_kinds_of_drift() -> None:
    assert set(DRIFT_KINDS) <= set(drift.KINDS)
    assert len(set(drift.KINDS)) == len(drift.KINDS)


def test_show_all_lists_accepted_differences() -> None:
    status, out, _ = run(DICTIONARY, SPEC, show_all=True)
    assert (
        "field-missing-in-dictionary tag=2446: AggressorSide (CHAR) is only in the spec"
        " (accepted)" in out
    )
    assert status == (0 if shipped().clean else 1)


def test_the_dictionary_is_compared_with_its_own_product() -> None:
    """The dictionary describes prediction: margin-only facts are not differences from it."""
    spec = load_spec(SPEC)
    dictionary = drift.parse_dictionary(DICTIONARY)
    keys = {d.key for d in drift.compare(spec, dictionary)}
    margin_only = {
        (v.value, f.tag)
        for f in spec.fields
        for v in f.values
        if v.products == ("margin",) and str(v.value) not in dictionary.fields[f.tag].values
    }
    assert margin_only, "the spec has margin-only enum values missing from the dictionary"
    for value, tag in margin_only:
        key = ("enum-missing-in-dictionary", tag, None, str(value))
        assert key not in keys
        assert key in {d.key for d in drift.compare(spec, dictionary, "margin")}


def test_other_product_reports_without_the_accepted_list() -> None:
    out = io.StringIO()
    status = drift.run(DICTIONARY, SPEC, out=out, err=io.StringIO(), product="margin")
    text = out.getvalue()
    assert status == 1
    assert text.startswith("comparing the margin spec: drift.yaml's accepted list is not applied")
    assert "stale accepted entry" not in text


# ---------------------------------------------------------------------------------------------
# drift.yaml edits on a copy of the spec


def test_removed_entry_is_reported(spec_copy: Path) -> None:
    baseline = {d.key for d in shipped().remaining}
    path = spec_copy / "drift.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    target = [ln for ln in lines if "{kind: field-missing-in-dictionary, tag: 2446," in ln]
    assert len(target) == 1
    path.write_text("".join(ln for ln in lines if ln not in target), encoding="utf-8")

    key = ("field-missing-in-dictionary", 2446, None, None)
    assert remaining_keys(DICTIONARY, spec_copy) == baseline | {key}
    status, out, _ = run(DICTIONARY, spec_copy)
    assert status == 1
    assert (
        "  field-missing-in-dictionary tag=2446: AggressorSide (CHAR) is only in the spec\n" in out
    )
    assert "spec differs from" in out


def test_bogus_entry_is_stale(spec_copy: Path) -> None:
    path = spec_copy / "drift.yaml"
    with path.open("a", encoding="utf-8") as f:
        f.write('  - {kind: field-name, tag: 99999, name: Bogus, reason: "no such difference"}\n')
    line = len(path.read_text(encoding="utf-8").splitlines())

    result = outcome(DICTIONARY, spec_copy)
    assert [e.where.line for e in result.stale] == [line]
    status, out, _ = run(DICTIONARY, spec_copy)
    assert status == 1
    assert re.search(rf"^stale accepted entry at \S*drift\.yaml:{line}: field-name", out, re.M)


def test_duplicate_entry_is_reported(spec_copy: Path) -> None:
    path = spec_copy / "drift.yaml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    first = next(i for i, ln in enumerate(lines, 1) if "tag: 2446," in ln)
    path.write_text(text + lines[first - 1] + "\n", encoding="utf-8")

    status, out, _ = run(DICTIONARY, spec_copy)
    assert status == 1
    assert re.search(
        rf"duplicate accepted entry at \S*drift\.yaml:{len(lines) + 1} "
        rf"\(same as line {first}\)",
        out,
    )


def test_unknown_kind_is_a_spec_error(spec_copy: Path) -> None:
    path = spec_copy / "drift.yaml"
    with path.open("a", encoding="utf-8") as f:
        f.write('  - {kind: field-colour, tag: 54, reason: "not a kind"}\n')
    line = len(path.read_text(encoding="utf-8").splitlines())
    with pytest.raises(SpecError) as info:
        load_spec(spec_copy, "spec")
    assert any(
        p.startswith(f"spec/drift.yaml:{line}: unknown drift kind 'field-colour'")
        for p in info.value.problems
    ), info.value.problems


# ---------------------------------------------------------------------------------------------
# A small dictionary

SMALL_DICTIONARY = """<?xml version='1.0' encoding='UTF-8'?>
<fix type='FIXT' major='1' minor='1' servicepack='0'>
  <header>
    <field name='BeginString' required='Y'/>
    <field name='SenderCompID' required='Y'/>
    <field name='Bogus' required='N'/>
  </header>
  <trailer>
    <field name='CheckSum' required='Y'/>
  </trailer>
  <messages>
    <message msgcat='admin' msgtype='0' name='Heartbeat'>
      <field name='TestReqID' required='Y'/>
      <component name='Parties'/>
    </message>
    <message msgcat='app' msgtype='ZZ' name='Extra'>
      <field name='Symbol' required='Y'/>
      <group name='NoPartyIDs' required='N'>
        <field name='PartyID' required='Y'/>
        <group name='NoMiscFees' required='C'>
          <field name='MiscFeeAmt' required='Y'/>
        </group>
      </group>
    </message>
  </messages>
  <components>
    <component name='Parties'>
      <group name='NoPartyIDs' required='N'>
        <field name='PartyID' required='N'/>
        <field name='PartyRole' required='N'/>
      </group>
    </component>
  </components>
  <fields>
    <field number='8' name='BeginString' type='STRING'/>
    <field number='10' name='CheckSum' type='STRING'/>
    <field number='11' name='ClOrdIdentifier' type='STRING'/>
    <field number='49' name='SenderCompID' type='STRING'/>
    <field number='54' name='Side' type='CHAR'>
      <value enum='1' description='BUY'/>
      <value enum='9' description='NINE'/>
    </field>
    <field number='55' name='Symbol' type='STRING'/>
    <field number='108' name='HeartBtInt' type='SEQNUM'/>
    <field number='112' name='TestReqID' type='string'/>
    <field number='136' name='NoMiscFees' type='NUMINGROUP'/>
    <field number='137' name='MiscFeeAmt' type='AMT'/>
    <field number='448' name='PartyID' type='STRING'/>
    <field number='452' name='PartyRole' type='INT'/>
    <field number='453' name='NoPartyIDs' type='NUMINGROUP'/>
    <field number='9001' name='Bogus' type='STRING'/>
  </fields>
</fix>
"""


@pytest.fixture
def small_dictionary(tmp_path: Path) -> Path:
    path = tmp_path / "small.xml"
    path.write_text(SMALL_DICTIONARY, encoding="utf-8")
    return path


def test_parse_dictionary_keeps_groups_and_resolves_components(small_dictionary: Path) -> None:
    d = drift.parse_dictionary(small_dictionary)
    assert d.fields[112].type == "STRING"
    assert d.fields[54].values == ["1", "9"]
    assert d.messages["0"].fields == {112: "Y", 453: "N", 448: "N", 452: "N"}
    assert d.messages["ZZ"].fields == {55: "Y", 453: "N", 448: "Y", 136: "C", 137: "Y"}
    assert d.messages["ZZ"].name == "Extra"
    assert d.messages["ZZ"].category == "app"
    parties = drift.places(d.messages["ZZ"].members)
    assert parties[448].path == (453,) and parties[137].path == (453, 136)
    assert parties[453].delimiter == 448 and parties[136].delimiter == 137
    assert parties[55].delimiter is None and parties[55].path == ()
    assert [s.tag for s in d.components["Parties"]] == [453]
    assert set(d.header) == {8, 49, 9001}
    assert set(d.trailer) == {10}


def test_small_dictionary_differences(small_dictionary: Path) -> None:
    spec = load_spec(SPEC)
    keys = {d.key for d in drift.compare(spec, drift.parse_dictionary(small_dictionary))}
    expected = {
        ("field-type", 108, None, None),
        ("field-name", 11, None, None),
        ("field-missing-in-spec", 9001, None, None),
        ("field-missing-in-dictionary", 44, None, None),
        ("enum-missing-in-spec", 54, None, "9"),
        ("enum-missing-in-dictionary", 54, None, "2"),
        ("message-missing-in-spec", None, "ZZ", None),
        ("message-missing-in-dictionary", None, "D", None),
        ("message-field-required", 112, "0", None),
        ("message-field-missing-in-spec", 453, "0", None),
        ("message-field-missing-in-spec", 448, "0", None),
        ("message-field-missing-in-spec", 452, "0", None),
        ("header-field-missing-in-spec", 9001, None, None),
        ("header-field-missing-in-dictionary", 56, None, None),
    }
    assert expected <= keys, expected - keys
    # Types compare case-insensitively; framing tags never count as header differences.
    assert ("field-type", 112, None, None) not in keys
    assert not {k for k in keys if k[0].startswith("header-") and k[1] in {8, 9, 10, 35}}


def test_small_dictionary_report(small_dictionary: Path, spec_copy: Path) -> None:
    (spec_copy / "drift.yaml").unlink()
    status, out, _ = run(small_dictionary, spec_copy)
    assert status == 1
    assert "  field-type tag=108: HeartBtInt: dictionary SEQNUM, spec INT\n" in out
    assert "  message-missing-in-spec msgtype=ZZ: Extra is only in the dictionary\n" in out
    assert (
        "  message-field-required msgtype=0 tag=112: Heartbeat TestReqID(112): "
        "dictionary required (Y), spec optional\n" in out
    )
    assert (
        "  message-field-missing-in-spec msgtype=0 tag=448: Heartbeat PartyID(448) is only in "
        "the dictionary (in group NoPartyIDs(453))\n" in out
    )
    assert re.search(r"^field-type \(1\):$", out, re.M)
    assert re.search(r"^message-missing-in-spec \(1\):$", out, re.M)
    # Groups appear in KINDS order.
    assert out.index("field-missing-in-dictionary (") < out.index("field-type (")


def test_missing_dictionary_fails_naming_it(tmp_path: Path) -> None:
    status, out, err = run(tmp_path / "missing.xml", SPEC)
    assert status == 2
    assert out == ""
    assert f"dictionary not found: {tmp_path / 'missing.xml'}" in err
    assert "spec/sources" in err and "--dictionary" in err


def test_undefined_component_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(
        SMALL_DICTIONARY.replace("<component name='Parties'/>", "<component name='Nope'/>"),
        encoding="utf-8",
    )
    status, _, err = run(path, SPEC)
    assert status == 2
    assert "undefined component 'Nope'" in err


def test_command_line_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m codegen drift`` is `codegen.cli.main(["drift"])`, with its options."""
    status = codegen_main(["drift", "--all", "--product", "prediction"])
    out = capsys.readouterr().out
    assert status == (0 if shipped().clean else 1)
    last = out.splitlines()[-1]
    assert DICTIONARY.name in last and last.endswith(
        f"({len(shipped().accepted)} accepted differences)"
    )
    assert "(accepted)" in out
    with pytest.raises(SystemExit):
        codegen_main(["drift", "--product", "futures"])

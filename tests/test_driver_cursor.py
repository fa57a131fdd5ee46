"""ExecIDs and the drop-copy cursor the `Driver`'s catch-up resumes from: parsing, the newest per
exchange index, saving and loading (owner-only), the errors named.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.trading.catchup import (
    ExecCursor,
    parse_exec_id,
)

# -- 1. ExecIDs and the cursor ---------------------------------------------------------------------


def test_parse_exec_id_reads_both_formats() -> None:
    assert parse_exec_id("12;3") == (12, 3, 0)
    assert parse_exec_id("12;3;0") == (12, 3, 0)
    assert parse_exec_id("7;1;2") == (7, 1, 2)
    assert parse_exec_id("0012;03") == (12, 3, 0)
    big = "9" * 20
    assert parse_exec_id(f"{big};{big};{big}") == (int(big), int(big), int(big))


@pytest.mark.parametrize(
    "text",
    [
        "-1;-1",  # pending reports: never a cursor
        "",
        ";",
        "1",
        "1;",
        ";1",
        "1;;2",
        "1;2;3;4",
        "a;b",
        "1;2x",
        " 1;2",
        "+1;2",
        "1_0;2",
        "١;٢",  # Arabic-Indic digits are digits to str.isdigit, not ASCII
        "１;２",  # fullwidth digits
        "1" * 21 + ";1",  # over-long: bounded before int()
        "1;" + "1" * 21,
        "1;1;" + "1" * 21,
        "1" * 5000 + ";1",
    ],
)
def test_parse_exec_id_refuses_what_is_not_a_kalshi_exec_id(text: str) -> None:
    assert parse_exec_id(text) is None


def test_the_cursor_keeps_the_newest_exec_id_per_exchange_index() -> None:
    cursor = ExecCursor()
    assert not cursor and cursor.last == {} and list(cursor) == []
    assert cursor.observe("9;5")
    assert cursor.observe("10;1")  # numeric order, not text order ("10" < "9" as text)
    assert not cursor.observe("9;7")
    assert not cursor.observe("10;1")  # the same again is not newer
    assert cursor.observe("10;2")
    assert cursor.observe("3;1;2")  # another exchange index: its own order
    assert not cursor.observe("2;9;2")
    assert cursor.observe("4;1;2")
    assert not cursor.observe("-1;-1") and not cursor.observe("junk")
    assert cursor.last == {0: "10;2", 2: "4;1;2"}
    assert list(cursor) == [(0, "10;2"), (2, "4;1;2")]
    assert repr(cursor) == "ExecCursor({0: '10;2', 2: '4;1;2'})"
    copy = cursor.last
    copy[0] = "1;1"
    assert cursor.last[0] == "10;2"  # `last` is a copy
    other = ExecCursor()
    other.observe_all(["4;1;2", "10;2", "1;1"])
    assert other == cursor and other != {0: "10;2", 2: "4;1;2"}


def test_a_cursor_entry_must_be_an_exec_id_of_its_exchange_index() -> None:
    assert ExecCursor({0: "5;1", 3: "6;1;3"}).last == {0: "5;1", 3: "6;1;3"}
    with pytest.raises(LocalProtocolError, match=r"'5;1' is not an ExecID of exchange index 1"):
        ExecCursor({1: "5;1"})
    with pytest.raises(LocalProtocolError, match="'-1;-1' is not an ExecID of exchange index 0"):
        ExecCursor({0: "-1;-1"})


def test_a_cursor_is_saved_owner_only_and_loaded_back(tmp_path: Path) -> None:
    cursor = ExecCursor({0: "10;2", 2: "4;1;2"})
    path = tmp_path / "cursor.json"
    cursor.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cursor.json"]  # no temporary left
    assert ExecCursor.load(path) == cursor
    assert ExecCursor.loads(cursor.dumps()) == cursor
    newer = ExecCursor({0: "11;1"})
    newer.save(str(path))  # over the old one
    assert ExecCursor.load(path) == newer and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ExecCursor.load(tmp_path / "missing.json") == ExecCursor()


def test_a_stale_temporary_file_does_not_lend_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "cursor.json"
    stale = tmp_path / "cursor.json.tmp"  # left by an interrupted save, or by someone else
    stale.write_text("{}", encoding="ascii")
    stale.chmod(0o644)
    ExecCursor({0: "1;1"}).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and not stale.exists()
    assert ExecCursor.load(path).last == {0: "1;1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "ExecCursor: not JSON"),
        ("", "ExecCursor: not JSON"),
        ('["0", "1;1"]', 'expected {"<exchange index>": "<ExecID>", ...}'),
        ('{"zero": "1;1"}', 'expected {"<exchange index>": "<ExecID>", ...}'),
        ('{"-1": "1;1"}', 'expected {"<exchange index>": "<ExecID>", ...}'),
        ('{"0": 11}', 'expected {"<exchange index>": "<ExecID>", ...}'),
        ('{"1": "1;1"}', "'1;1' is not an ExecID of exchange index 1"),
        ('{"0": "-1;-1"}', "'-1;-1' is not an ExecID of exchange index 0"),
        ('{"' + "9" * 5000 + '": "1;1"}', "expected"),  # bounded before int()
        ('{"٣": "1;1;3"}', "expected"),  # a digit, not an ASCII one
    ],
)
def test_loads_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(LocalProtocolError) as caught:
        ExecCursor.loads(text)
    assert str(caught.value).startswith("ExecCursor: ") and message in str(caught.value)


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cursor.json"
    path.write_text('{"0": 5}', encoding="ascii")
    with pytest.raises(LocalProtocolError, match=rf"^{path}: ExecCursor: expected"):
        ExecCursor.load(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(LocalProtocolError, match=rf"cannot read {path}"):
        ExecCursor.load(path)

"""The FIX message log holds the account's whole order flow (what the tracker is fed): owner-only.

(Beside the tracker's tests: the log is the order flow on disk, and this file's owner keeps
both.)
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.observability import MessageLog

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")

FRAME = b"8=FIXT.1.1\x019=5\x0135=0\x0110=000\x01"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_message_log_is_created_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "fix.log"
    old = os.umask(0)  # open() would create 0666 here
    try:
        with MessageLog("KalshiNR/key-1", path=path) as log:
            log.log_frame("OUT", FRAME, now=0.0)
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    assert path.read_text().count("\n") == 1 and "35=0|" in path.read_text()


def test_an_existing_log_keeps_its_mode_and_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "fix.log"
    path.write_text("earlier line\n")
    path.chmod(0o640)  # the user's choice (e.g. a log shipper's group): left as it is
    with MessageLog("KalshiNR/key-1", path=path) as log:
        log.log_frame("IN", FRAME, now=0.0)
    assert mode(path) == 0o640
    lines = path.read_text().splitlines()
    assert lines[0] == "earlier line" and len(lines) == 2  # appended


def test_a_log_that_cannot_be_opened_names_its_path(tmp_path: Path) -> None:
    path = tmp_path / "missing-dir" / "fix.log"
    with pytest.raises(LocalProtocolError, match="missing-dir"):
        MessageLog("KalshiNR/key-1", path=path).open()

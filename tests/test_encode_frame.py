"""The frame's BodyLength and CheckSum (the head cache and the CheckSum table in `finish_frame`)
hold for bodies of every length, short and over the lengths whose head is cached."""

from __future__ import annotations

from datetime import date, time, timezone
from decimal import Decimal

import attrs
import pytest
from engine_helpers import BUY, HEADER, nos
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio import EncodeError
from kalshi_fix_sansio import prediction as p


def _frame(symbol: str, seq: int) -> bytes:
    order = nos("00000000-0000-4000-8000-000000000001", BUY, 1, "0.35", symbol)
    return p.encode(order, attrs.evolve(HEADER, msg_seq_num=seq))


@settings(max_examples=200, deadline=None)
@given(
    length=st.one_of(st.integers(1, 300), st.integers(8_000, 8_400)),
    seq=st.integers(1, 10**9),
)
def test_body_length_and_checksum(length: int, seq: int) -> None:
    frame = _frame("S" * length, seq)
    body_start = frame.index(b"\x01", frame.index(b"9=")) + 1
    trailer = frame.rindex(b"10=")
    assert frame.startswith(b"8=FIXT.1.1\x019=%d\x01" % (trailer - body_start))
    assert frame[trailer:] == b"10=%03d\x01" % (sum(frame[:trailer]) % 256)
    assert p.decode(frame, verify=True).symbol == "S" * length  # type: ignore[attr-defined]


def test_same_length_twice_reuses_nothing_wrong() -> None:
    """Two bodies of one length (the cached head) with different bytes: each its own sum."""
    a, b = _frame("AAAA", 7), _frame("ZZZZ", 7)
    assert len(a) == len(b) and a[-4:] != b[-4:]
    for frame in (a, b):
        assert p.decode(frame, verify=True) is not None


def test_group_entries_checked_before_encoding() -> None:
    """A group entry with no field set, or one of several without the group's first field,
    is refused by name (the checks read the first field alone when it is set)."""
    entry = p.MarketDataIncrementalRefreshMDEntry
    whole = entry(
        md_update_action=p.MDUpdateAction("0"),
        symbol="KX",
        md_entry_type=p.MDEntryType("0"),
        md_entry_px=Decimal("0.35"),
        md_entry_size=Decimal("10"),
        md_entry_date=date(2026, 1, 5),
        md_entry_time=time(14, 30, tzinfo=timezone.utc),
    )
    frame = p.encode(p.MarketDataIncrementalRefresh(md_entries=(whole, whole)), HEADER)
    assert frame.count(b"\x01279=0\x01") == 2
    with pytest.raises(EncodeError, match="entry 2 has no field set"):
        p.encode(p.MarketDataIncrementalRefresh(md_entries=(whole, entry())), HEADER)
    headless = attrs.evolve(whole, md_update_action=None)
    with pytest.raises(EncodeError, match="entry 1 lacks the group's first field MDUpdateAction"):
        p.encode(p.MarketDataIncrementalRefresh(md_entries=(headless, whole)), HEADER)

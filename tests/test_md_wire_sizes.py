# private: the 35=X entry bytes' cache (`_Wire`) has no public name; its bytes are compared here
"""A 35=X level entry's size bytes, kept by the size's text (the private
`kalshi_fix_sansio.simulator.gateway.exchange.md_wire._Wire`), are the codec's own
(`enc_decimal` of the size quantized to the cent) for every size, new or kept: equal sizes of
other exponents, both zeros, sizes made new by arithmetic as `Book.resize` makes a level's."""

from __future__ import annotations

import random
from decimal import Decimal as D

from kalshi_fix_sansio.codec import enc_decimal
from kalshi_fix_sansio.simulator.gateway.exchange.common import CENT
from kalshi_fix_sansio.simulator.gateway.exchange.md_wire import _Wire

SIZES = ["0", "-0", "0.00", "-0.00", "6", "6.0", "6.000", "5.5", "5.50", "12.345", "0.01", "999"]


def _size_of(entry: bytes) -> bytes:
    return entry.split(b"\x01271=")[1].split(b"\x01")[0]


def test_a_level_entry_s_size_is_the_codec_s_whatever_was_kept_before() -> None:
    wire = _Wire(str)
    rng = random.Random(5)
    now = 1_790_000_000.25
    for step in range(2_000):
        text = rng.choice(SIZES)
        # a new object each time, as a level's sum is (the same text: a kept one's bytes)
        size = D(text) + D(0) if rng.random() < 0.5 else D(text)
        entry = wire.level("KXTEST", "0", D("0.45"), size, "1", now + step)
        assert entry is not None
        assert _size_of(entry) == enc_decimal(size.quantize(CENT), "MDEntrySize(271)"), text

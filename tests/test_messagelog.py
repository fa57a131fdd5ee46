"""The message-log reader of the library (`kalshi_fix_sansio.observability.messagelog`): its docstring's
example runs as written, the frames of a log come out located, and a product that is not one
is named."""

from __future__ import annotations

import doctest

import pytest

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.observability import messagelog


def test_the_module_example_runs_as_written() -> None:
    result = doctest.testmod(messagelog, raise_on_error=False, report=True)
    assert result.attempted >= 5 and result.failed == 0


def test_a_log_line_gives_its_frame_located_and_its_prefix() -> None:
    frame = (
        b"8=FIXT.1.1\x019=57\x0135=0\x0149=KalshiNR\x0156=my-key\x0134=7\x01"
        b"52=20261122-10:15:00.250\x0110=114\x01"
    )
    line = b"2026-11-22T10:15:00.250000Z IN KalshiNR/my-key " + frame.replace(b"\x01", b"|")
    data = b"text before\n" + line + b"\n"
    found, problem = None, None
    for item in messagelog.scan(data):
        if isinstance(item, messagelog.Found):
            found = item
        else:
            problem = item
    assert found is not None and found.frame == frame
    assert found.offset == data.index(b"8=FIXT")  # the input offset, before the rewriting
    assert isinstance(problem, messagelog.Problem) and problem.text and problem.offset == 0
    assert messagelog.log_prefix(data, found.offset) == messagelog.LogPrefix(
        "2026-11-22T10:15:00.250000Z", "IN", "KalshiNR/my-key"
    )
    decoded = messagelog.decode_frame(
        messagelog.dialect("prediction"), found, 1, use_dollars=False, rfq_units="cents"
    )
    assert not isinstance(decoded, messagelog.Problem)
    assert isinstance(decoded[0], p.Heartbeat)


def test_a_damaged_frame_is_a_located_problem_and_a_product_must_be_one() -> None:
    data = b"8=FIXT.1.1|9=5|35=0|10=000|\n"
    items = messagelog.scan(data)
    assert items and all(isinstance(item, messagelog.Problem) for item in items)
    assert items[0].offset == 0 and not items[0].text
    assert messagelog.dialect("margin").__name__ == "kalshi_fix_sansio.codec.margin"
    with pytest.raises(ValueError, match="product must be one of margin, prediction, got 'x'"):
        messagelog.dialect("x")
    assert messagelog.printable("a\nb\u2028") == "a\\x0ab\\u2028"

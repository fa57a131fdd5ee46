"""An account's Logon budget holds on real sockets: over loopback TLS against the real mock
gateway, which refuses a third Logon of the account in any second (``logon_rate_limit = (2,
1.0)``), clients of one ``Account(logons_per_second=2)`` are never refused, in each start shape:
opened one after another, all at once (threads of the blocking adapter, or tasks of the asyncio
one), and dropped together by the gateway.

The CI-sized run (5 repetitions of each shape, two or three sessions each: about 35 s);
``benchmarks/bench_logon_spacing.py`` runs the full 50 repetitions of each shape (with the
brief's 3 sessions, and a drop of six), and docs/maintainers/benchmarks.md records its result.
"""

from __future__ import annotations

import pytest
from test_benchmarks import load  # it puts benchmarks/ on sys.path

from kalshi_fix_sansio.client.account import DEFAULT_LOGON_MARGIN

bench = load("bench_logon_spacing")
REPETITIONS = 5


@pytest.mark.parametrize(
    ("shape", "sessions"), [(s, 3 if s == "after-a-drop" else 2) for s in bench.SHAPES]
)
def test_no_logon_is_refused_for_rate_in_any_start_shape(shape: str, sessions: int) -> None:
    result = bench.run_shape(shape, REPETITIONS, sessions)
    assert (result.refusals, result.failed) == (0, 0), result.line()
    assert result.repetitions == REPETITIONS and result.closest < 1.0 + DEFAULT_LOGON_MARGIN


def test_an_unknown_shape_is_named() -> None:
    with pytest.raises(ValueError, match="unknown shape 'sideways'"):
        bench.run_shape("sideways", 1, 2)

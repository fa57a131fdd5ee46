"""Each dialect is loaded only when used: importing a client (any adapter) loads neither
product's generated module, and a program of one product, from Logon to an order decoded and
encoded, never loads the other's (`_dialects`). Every public spelling still imports.

Each case runs in a fresh interpreter (a test process has imported everything already) and
reads its ``sys.modules``. (A test of the private module names ``_generated.prediction`` and
``_generated.margin``, the generated modules it checks for.)
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest

GENERATED = (
    "kalshi_fix_sansio.codec._generated.prediction",
    "kalshi_fix_sansio.codec._generated.margin",
)
ADAPTERS = ["blocking", "asyncio"] + (["trio"] if importlib.util.find_spec("trio") else [])


def loaded_after(code: str) -> set[str]:
    """Which of the generated dialect modules are loaded once ``code`` has run, fresh."""
    probe = textwrap.dedent(code) + textwrap.dedent(f"""
        import json, sys
        print(json.dumps([m for m in {list(GENERATED)!r} if m in sys.modules]))
        """)
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_importing_a_client_loads_no_dialect(adapter: str) -> None:
    assert loaded_after(f"from kalshi_fix_sansio.adapters.{adapter} import FixClient") == set()


def _program(product: str) -> str:
    """Logon, an order sent and read by the acceptor, a frame encoded and decoded: ``product``
    alone, through the blocking client's module, the builders and the sans-IO session."""
    return f"""
        from datetime import datetime, timezone
        from decimal import Decimal
        from kalshi_fix_sansio import ApplicationMessage, Header
        from kalshi_fix_sansio import {product} as dialect
        from kalshi_fix_sansio.adapters.blocking import FixClient, MarginFixClient
        from kalshi_fix_sansio.trading.builders import Requests
        from kalshi_fix_sansio.simulator.testing import SessionPair

        pair = SessionPair.kalshi({product!r})
        pair.start()
        order = Requests({product!r}, "KalshiNR").new_order(
            "HIGHNY-23DEC31", "buy", Decimal(1), Decimal("0.5"), cl_ord_id="o-1"
        )
        pair.client.session.send(order, pair.now)
        pair.pump()
        got = [e.message for e in pair.server.events if isinstance(e, ApplicationMessage)]
        assert [m.cl_ord_id for m in got] == ["o-1"], pair.server.events
        when = datetime(2026, 1, 1, tzinfo=timezone.utc)
        header = Header(sender_comp_id="k", target_comp_id="K", msg_seq_num=2, sending_time=when)
        assert dialect.decode(dialect.encode(order, header)) == order
        """


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_a_program_of_one_product_never_loads_the_others(product: str) -> None:
    assert loaded_after(_program(product)) == {f"kalshi_fix_sansio.codec._generated.{product}"}


def test_every_public_spelling_still_imports() -> None:
    loaded = loaded_after("""
        from kalshi_fix_sansio.codec.margin import NewOrderSingle as M
        from kalshi_fix_sansio.codec.prediction import NewOrderSingle as P
        import kalshi_fix_sansio
        from kalshi_fix_sansio import margin, prediction
        assert kalshi_fix_sansio.codec.margin is margin and kalshi_fix_sansio.codec.prediction is prediction
        assert M is margin.NewOrderSingle and P is prediction.NewOrderSingle and M is not P
        """)
    assert loaded == set(GENERATED)

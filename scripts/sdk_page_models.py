"""kalshi-sdk 22.4.0's models read every desk page the mock served (not CI; no Python 3.12).

``python3 scripts/sdk_page_models.py PAGES.json SDK_DIR``: ``PAGES.json`` is what
``scripts/sdk_desk_pages.py --save-pages`` wrote, ``SDK_DIR`` the kalshi-sdk wheel unzipped
(``pip download kalshi-sdk==22.4.0 --no-deps --python-version 3.12 --only-binary=:all:``, then
``python3 -m zipfile -e WHEEL SDK_DIR``). Any Python with pydantic 2 runs it: the SDK's model
modules are loaded without its package's ``__init__`` (which wants httpx and Python 3.12), and
each page is validated with the model the SDK's client validates it with (its resources'
``model_validate``). One line per page; exit 1 when a model refuses one.
"""

from __future__ import annotations

import importlib
import json
import sys
import types
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

CHECKS: Final[dict[str, dict[str, tuple[str, str, Callable[[Any], list[Any]]]]]] = {
    "prediction": {
        "queue_positions": (
            "kalshi.models.orders",
            "OrderQueuePosition",
            lambda body: body["queue_positions"],
        ),
        "exchange_status": ("kalshi.models.exchange", "ExchangeStatus", lambda body: [body]),
        "exchange_schedule": (
            "kalshi.models.exchange",
            "Schedule",
            lambda body: [body.get("schedule", body)],
        ),
        "series_list": ("kalshi.models.series", "Series", lambda body: body["series"]),
    },
    "margin": {
        "perps_exchange_status": (
            "kalshi.perps.models.exchange",
            "ExchangeStatus",
            lambda body: [body],
        ),
        "margin_risk": (
            "kalshi.perps.models.margin_account",
            "GetMarginRiskResponse",
            lambda body: [body],
        ),
        "notional_risk_limit": (
            "kalshi.perps.models.margin_account",
            "NotionalRiskLimitResponse",
            lambda body: [body],
        ),
        "risk_parameters": (
            "kalshi.perps.models.exchange",
            "GetMarginRiskParametersResponse",
            lambda body: [body],
        ),
        "fee_tiers": (
            "kalshi.perps.models.margin_account",
            "GetMarginFeeTiersResponse",
            lambda body: [body],
        ),
        "fee_tier_rates": (
            "kalshi.perps.models.margin_account",
            "GetMarginFeeTierRatesResponse",
            lambda body: [body],
        ),
        "corporate_actions": (
            "kalshi.perps.models.margin_account",
            "GetMarginCorporateActionsResponse",
            lambda body: [body],
        ),
    },
}
"""Per product and page: the SDK's module and model, and the records its client validates."""


def _load_sdk(root: Path) -> None:
    """The SDK's packages importable without running their ``__init__``."""
    for name in ("kalshi", "kalshi.perps"):
        package = types.ModuleType(name)
        package.__path__ = [str(root.joinpath(*name.split(".")))]
        sys.modules[name] = package


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: sdk_page_models.py PAGES.json SDK_DIR", file=sys.stderr)
        return 2
    pages = json.loads(Path(argv[0]).read_text())
    _load_sdk(Path(argv[1]))
    failures = 0
    for product, checks in CHECKS.items():
        for page, (module, model, records) in checks.items():
            cls = getattr(importlib.import_module(module), model)
            try:
                read = [cls.model_validate(record) for record in records(pages[product][page])]
            except Exception as exc:  # the model's refusal is the finding
                failures += 1
                print(f"FAIL {product} {page} ({model}): {exc}")
                continue
            print(f"ok   {product} {page}: {len(read)} x {model}")
    for body in pages["prediction"]["queue_position"]:  # the SDK reads one Decimal
        ok = isinstance(Decimal(body["queue_position_fp"]), Decimal)
        print(f"{'ok  ' if ok else 'FAIL'} prediction queue_position: {body}")
    print("every page read" if not failures else f"{failures} page(s) refused")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

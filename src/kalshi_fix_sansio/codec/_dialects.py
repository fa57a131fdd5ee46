"""Each product's dialect, imported when first used: a program that trades one product never
imports the other's generated module (of a client import's 3,330M instructions before,
prediction's took about 830M and margin's about 450M: ``benchmarks/bench_import.py``).

The modules of the package that pick a dialect by product (`Session`, `Requests` and its RFQ
family, the inbound side, recordings) ask here instead of importing both dialect modules at
their top; ``kalshi_fix_sansio.codec.prediction`` and ``kalshi_fix_sansio.codec.margin`` stay importable as
ever (importing one loads that one). ``tests/test_dialects_lazy.py`` holds this in a fresh
process.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Final

__all__ = ["PRODUCTS", "dialect", "dialect_codec"]

PRODUCTS: Final = ("prediction", "margin")


def _unknown(product: object) -> ValueError:
    return ValueError(f"product must be 'prediction' or 'margin', got {product!r}")


def dialect(product: str) -> ModuleType:
    """The public dialect module of ``product`` (``kalshi_fix_sansio.codec.prediction`` or
    ``kalshi_fix_sansio.codec.margin``), imported on first use.

    Raises:
        ValueError: ``product`` is neither.
    """
    if product == "prediction":
        from . import prediction

        return prediction
    if product == "margin":
        from . import margin

        return margin
    raise _unknown(product)


def dialect_codec(product: str) -> Any:
    """The `_decode.Codec` of ``product``'s generated module (its ``_CODEC``), the module
    imported on first use.

    Raises:
        ValueError: ``product`` is neither.
    """
    if product == "prediction":
        from ._generated import prediction

        return prediction._CODEC
    if product == "margin":
        from ._generated import margin

        return margin._CODEC
    raise _unknown(product)

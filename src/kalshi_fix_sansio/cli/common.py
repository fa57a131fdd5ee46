"""What every ``kalshi-fix`` command shares: exit statuses, printing that survives a terminal
which cannot show every character, and how a FIX code and a quantity read (``0 (New)``,
``10``), as the demo shows them. The products and the codec of a product are the library's
(`kalshi_fix_sansio.messagelog`), re-exported here for the commands.

Loads no codec dialect: ``kalshi-fix --help`` imports none.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from decimal import Decimal
from typing import IO, Any, Final

from ..messagelog import PRODUCTS, dialect

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PRODUCTS",
    "code_label",
    "dialect",
    "emit",
    "qty_text",
    "whole_number",
]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


def emit(stream: IO[str], text: str) -> None:
    """Print one line, escaping what the stream's encoding cannot show."""
    try:
        print(text, file=stream)
    except UnicodeEncodeError:  # a terminal that cannot show every character
        encoding = getattr(stream, "encoding", None) or "ascii"
        print(text.encode(encoding, "backslashreplace").decode(encoding), file=stream)


def code_label(code: Any) -> str:
    """``F (Trade)`` for an enum member (its FIX code, then its name in words)."""
    if not hasattr(code, "name"):
        return str(code)
    return f"{code.value} ({code.name.replace('_', ' ').capitalize()})"


def qty_text(value: Decimal | None, product: str) -> str:
    """A quantity in the product's one format (`kalshi_fix_sansio.prices.format_quantity`:
    ``25``, ``2.50``); ``-`` for none."""
    from ..prices import format_quantity  # the spec's tables: loaded when a command prints

    return "-" if value is None else format_quantity(value, product)


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` taking a whole number >= ``minimum`` (else a usage error saying so)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= {minimum}")
        return value

    return parse

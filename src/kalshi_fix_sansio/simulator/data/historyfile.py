"""The history file: book changes and trades in a documented schema, CSV or Parquet, that any
tool can write and `kalshi_fix_sansio.simulator.data.history.import_history_file` turns into a
recording.

The schema (`COLUMNS`), one row per book change or trade:

* ``time``: UTC, ISO 8601 with its zone (``2026-11-20T15:00:00.125Z``, ``+00:00``); Parquet:
  a timestamp with a time zone, or such a string;
* ``market``: the market ticker;
* ``kind``: ``book`` (a level's new size) or ``trade``;
* ``side``: ``bid`` / ``offer`` for a book row (prediction: the Yes bid and Yes offer),
  ``buy`` / ``sell`` for a trade (the aggressor's side: prediction ``buy`` = the taker bought
  Yes);
* ``price``: dollars as a decimal (``0.42``; prediction: the Yes price, above 0 and below 1);
* ``size``: contracts as a decimal (``10`` or ``2.50``): a book row's level size after the
  change (``0`` removes the level), a trade's traded count (above 0);
* ``trade_id`` (optional): a trade's id.

Rows are taken in time order (rows of the same time in file order); the rows of one market at
one time become one message.

`read_history_file` checks every row: a bad one is a `HistoryFileError`, one line naming the
file, the row and the column. Parquet needs pyarrow (the ``parquet`` extra).
"""

from __future__ import annotations

import csv
import datetime
import importlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import IO, Any, Final

import attrs

from ...codec import PRODUCTS

__all__ = [
    "COLUMNS",
    "KINDS",
    "OPTIONAL_COLUMNS",
    "HistoryFileError",
    "HistoryRow",
    "read_history_file",
]

COLUMNS: Final = ("time", "market", "kind", "side", "price", "size")
"""The columns a history file must have (in any order)."""
OPTIONAL_COLUMNS: Final = ("trade_id",)
"""The columns it may have."""
KINDS: Final[Mapping[str, tuple[str, str]]] = {"book": ("bid", "offer"), "trade": ("buy", "sell")}
"""Each kind of row and its two sides."""

_CENT: Final = Decimal("0.01")
_MICRO: Final = Decimal("0.000001")
_TICK: Final = Decimal("0.0001")


def _px(price: Decimal) -> Decimal:
    """A price as market data writes it: four decimals at least (``0.4200``)."""
    return price.quantize(_TICK) if price == price.quantize(_TICK) else price


class HistoryFileError(ValueError):
    """A history file cannot be imported: one line naming the file, the row and the column.

    Attributes:
        path: the file.
        row: the row's number (1: a CSV file's header line; a Parquet file's rows count from
            1), 0: the file as a whole.
        column: the column (empty: the row or the file as a whole).
        reason: what is wrong, in words.
    """

    def __init__(self, path: str, row: int, column: str, reason: str) -> None:
        self.path, self.row, self.column, self.reason = path, row, column, reason
        where = f"row {row}" if row else "file"
        if column:
            where += f", column {column}"
        super().__init__(f"{path}: {where}: {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.row, self.column, self.reason))


@attrs.frozen
class HistoryRow:
    """One book change or trade (the schema's row, checked).

    Attributes:
        time: UTC epoch seconds.
        market: the market ticker.
        kind: ``book`` or ``trade``.
        side: ``bid`` / ``offer`` (book), ``buy`` / ``sell`` (trade: the aggressor's).
        price: dollars.
        size: contracts (a book row: the level's size after it; 0 removes it).
        trade_id: a trade's id (empty: none).
    """

    time: float
    market: str
    kind: str
    side: str
    price: Decimal
    size: Decimal
    trade_id: str = ""


# --------------------------------------------------------------------------------------------
# Reading a file


class _Bad(ValueError):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column


def _time(value: object) -> float:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise _Bad("time", "a time without a zone: give UTC (a timestamp with tz=UTC)")
        return value.timestamp()
    text = str(value).strip() if isinstance(value, str) else ""
    if not text:
        raise _Bad("time", f"{value!r} is not a UTC time (ISO 8601, e.g. 2026-11-20T15:00:00Z)")
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad("time", f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise _Bad("time", f"{text!r} has no zone: write it in UTC with Z or +00:00")
    return moment.timestamp()


def _number(column: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise _Bad(column, f"{value!r:.40} is not a decimal number")
    text = str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _Bad(column, f"{text[:40]!r} is not a decimal number") from None
    if not number.is_finite():
        raise _Bad(column, f"{text!r} is not a finite number")
    return number


def _row(values: Mapping[str, Any], product: str) -> HistoryRow:
    when = _time(values.get("time"))
    market = values.get("market")
    if not isinstance(market, str) or not market.strip():
        raise _Bad("market", "no market ticker")
    market = market.strip()
    if not market.isprintable() or " " in market or len(market) > 64:
        raise _Bad("market", f"{market[:40]!r} is not a market ticker")
    kind = str(values.get("kind") or "").strip()
    if kind not in KINDS:
        raise _Bad("kind", f"{kind!r} is not book or trade")
    side = str(values.get("side") or "").strip()
    if side not in KINDS[kind]:
        raise _Bad("side", f"{side!r} is not {' or '.join(KINDS[kind])} (a {kind} row)")
    price = _number("price", values.get("price"))
    if price <= 0 or (product == "prediction" and price >= 1):
        within = "above $0 and below $1 (a Yes price)" if product == "prediction" else "above 0"
        raise _Bad("price", f"{price} is not a {product} price: dollars {within}")
    if price != price.quantize(_MICRO):
        raise _Bad("price", f"{price} has more than 6 decimals (dollars to a millionth at most)")
    size = _number("size", values.get("size"))
    if size < 0 or (kind == "trade" and size == 0):
        raise _Bad(
            "size",
            f"{size} is not a {kind} size (contracts, {'> 0' if kind == 'trade' else '>= 0'})",
        )
    if size != size.quantize(_CENT):
        raise _Bad("size", f"{size} has more than 2 decimals (contracts count to 0.01)")
    trade_id = values.get("trade_id")
    trade_id = "" if trade_id is None else str(trade_id).strip()
    if kind == "book" and trade_id:
        raise _Bad("trade_id", "a book row has no trade id")
    if not trade_id.isprintable() or "|" in trade_id or len(trade_id) > 64:
        raise _Bad("trade_id", f"{trade_id[:40]!r} is not a trade id")
    return HistoryRow(when, market, kind, side, _px(price), size.quantize(_CENT), trade_id)


def _csv_rows(name: str, fh: IO[str]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.reader(fh)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise HistoryFileError(name, 1, "", f"not CSV: {exc}") from None
    if header is None:
        raise HistoryFileError(name, 0, "", "empty: no header line")
    columns = [c.strip() for c in header]
    _check_columns(name, columns, 1)
    try:
        for values in reader:
            number = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                raise HistoryFileError(
                    name, number, "", f"{len(values)} values for the {len(columns)} columns"
                )
            yield number, dict(zip(columns, values, strict=True))
    except csv.Error as exc:
        raise HistoryFileError(name, reader.line_num, "", f"not CSV: {exc}") from None


def _check_columns(name: str, columns: Sequence[str], row: int) -> None:
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise HistoryFileError(
            name, row, missing[0], f"no such column (a history file has {', '.join(COLUMNS)})"
        )
    known = set(COLUMNS) | set(OPTIONAL_COLUMNS)
    extra = [c for c in columns if c not in known]
    if extra:
        raise HistoryFileError(
            name, row, extra[0], f"not a column of the schema ({', '.join(sorted(known))})"
        )


def _parquet_rows(name: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    try:
        pq: Any = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise HistoryFileError(
            name,
            0,
            "",
            "a Parquet file needs pyarrow: pip install pyarrow (the parquet extra), or write CSV",
        ) from None
    try:
        parquet = pq.ParquetFile(name)
        columns = list(parquet.schema_arrow.names)
        _check_columns(name, columns, 0)
        number = 0
        for batch in parquet.iter_batches(batch_size=10_000):
            for values in batch.to_pylist():
                number += 1
                yield number, values
    except HistoryFileError:
        raise
    except Exception as exc:  # pyarrow's errors: a file that is not Parquet, a bad page
        raise HistoryFileError(name, 0, "", f"not a readable Parquet file: {exc}") from None


def read_history_file(
    path: str | os.PathLike[str], *, product: str = "prediction"
) -> list[HistoryRow]:
    """The rows of a history file (`COLUMNS`), checked, in time order (stable).

    Args:
        path: a CSV file, or a Parquet file (``.parquet`` / ``.pq``, needs pyarrow).
        product: ``"prediction"`` or ``"margin"`` (which prices are valid).

    Raises:
        HistoryFileError: the file cannot be read, lacks a column, or has a bad row (the first
            one, with its column).
        ValueError: an unknown product.
    """
    if product not in PRODUCTS:
        raise ValueError(f"product must be 'prediction' or 'margin', got {product!r}")
    name = os.fspath(path)
    if not os.path.isfile(name):
        what = "a directory" if os.path.isdir(name) else "no such file"
        raise HistoryFileError(name, 0, "", f"{what}: a history file is a CSV or Parquet file")
    rows: list[HistoryRow] = []
    if name.lower().endswith((".parquet", ".pq")):
        source: Iterable[tuple[int, Mapping[str, Any]]] = _parquet_rows(name)
        for number, values in source:
            rows.append(_checked(name, number, values, product))
    else:
        try:
            with open(name, encoding="utf-8", newline="") as fh:
                for number, values in _csv_rows(name, fh):
                    rows.append(_checked(name, number, values, product))
        except UnicodeDecodeError as exc:
            raise HistoryFileError(name, 0, "", f"not UTF-8 text: {exc.reason}") from None
        except OSError as exc:
            raise HistoryFileError(name, 0, "", f"cannot read: {exc.strerror or exc}") from None
    if not rows:
        raise HistoryFileError(name, 0, "", "no rows: nothing to import")
    rows.sort(key=lambda r: r.time)
    return rows


def _checked(name: str, number: int, values: Mapping[str, Any], product: str) -> HistoryRow:
    try:
        return _row(values, product)
    except _Bad as exc:
        raise HistoryFileError(name, number, exc.column, str(exc)) from None

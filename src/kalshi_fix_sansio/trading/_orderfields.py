"""What the order tracker reads of a message: its fields at once, through a named route.

The tracker takes most of the plain fields of every ExecutionReport, and of each request sent,
on every order. It reads them with the message class's `_message.field_reader` (the "named
fields" route of ``docs/maintainers/value-path.md``): one call returning a tuple of the values,
each what its property reads (None where the class has no such field). A report's tuple is
read by position (`tracker`'s ``_EXEC_ID``...), a request's unpacked at once. The tracker's
own work per order (``benchmarks/bench_tracker.py``, Python 3.11): 87.7k instructions so, 116.2k
with a property read per field (about 4 % of an order's), 99.9k with the tuple kept in an
object of named slots (its allocation and slot writes). Reading the generated classes' private
slots here instead would tie the tracker to how the codec keeps its values.
"""

from __future__ import annotations

from typing import Any

from ..codec import FieldReader, field_reader

__all__ = ["REPORT", "REQUEST", "Values", "report_reader", "request_reader"]

Values = tuple[Any, ...]
"""What a reader returns: a message's values of `REPORT` or `REQUEST`, in that order."""

REPORT = (
    "aggressor_indicator",
    "alloc_account",
    "avg_px",
    "cl_ord_id",
    "cum_qty",
    "exec_id",
    "exec_type",
    "last_px",
    "last_qty",
    "ord_rej_reason",
    "ord_status",
    "order_id",
    "order_qty",
    "orig_cl_ord_id",
    "price",
    "side",
    "symbol",
    "text",
    "transact_time",
    "trd_match_id",
)
"""The fields of a report the tracker reads, in the order of its reader's tuple. Its groups
are read through their properties, only when needed: a group's entries are typed on first read
(a party's, about 20k instructions)."""

REQUEST = (
    "alloc_account",
    "cl_ord_id",
    "ex_destination",
    "order_group_id",
    "order_qty",
    "orig_cl_ord_id",
    "parties",
    "price",
    "secondary_cl_ord_id",
    "side",
    "symbol",
)
"""The fields of a request sent (35=D, 35=G, 35=F) the tracker reads, in its reader's order
(its parties too: a request's are kept on the order)."""

# each message class's reader (`_message.field_reader`), made on its first message
REPORT_READERS: dict[type, FieldReader] = {}
REQUEST_READERS: dict[type, FieldReader] = {}


def report_reader(cls: type) -> FieldReader:
    """The reader of `REPORT` for a report class, made once (kept in `REPORT_READERS`)."""
    read = REPORT_READERS[cls] = field_reader(cls, REPORT)
    return read


def request_reader(cls: type) -> FieldReader:
    """The reader of `REQUEST` for a request class, made once (kept in `REQUEST_READERS`)."""
    read = REQUEST_READERS[cls] = field_reader(cls, REQUEST)
    return read

# private: the tracker's positional field reads (`_orderfields`, `tracker._EXEC_ID`)
"""The order tracker and the value ranges read messages through public names only.

A generated class keeps each field's value in a private slot (``_exec_id``), which only the
codec reads: its properties, and `_message.field_reader`, the route that reads several fields
at once (``docs/maintainers/value-path.md``, "named fields"). The tracker (`tracker`,
`_orders`, `_orderfields`, `_retention`) and `ranges` read a message's fields through its
properties or such a reader, so a change of the slots' names or meaning (`_LAZY`, conversion)
stays the codec's. This scans their source for a slot of any generated class or a record's
private state, read as an attribute, named in a string, or spelled into generated source.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from framing_helpers import make_frame

from kalshi_fix_sansio import Header, Message, margin, prediction
from kalshi_fix_sansio.trading import _orderfields as orderfields
from kalshi_fix_sansio.trading import tracker
from kalshi_fix_sansio.trading.tracker import OrderStatus, OrderTracker

PKG = Path(__file__).resolve().parent.parent / "src" / "kalshi_fix_sansio"
READERS = (
    "trading/tracker.py",
    "trading/_orders.py",
    "trading/_orderfields.py",
    "trading/_retention.py",
    "codec/ranges.py",
)
SAMPLES = PKG / "simulator" / "testing" / "samples"
SLOT_IN_TEXT = re.compile(r"\._([a-z]\w*)")


def record_classes() -> set[type]:
    """Every generated record class: both dialects' messages, their entries, the header."""
    seen: set[type] = set()
    todo: list[type] = [Header, *prediction.MESSAGES.values(), *margin.MESSAGES.values()]
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.add(cls)
            todo += [g.entry for g in cls._GROUPS]
    return seen


SLOTS = frozenset(m.slot for cls in record_classes() for m in cls._MEMBERS)
# a record's own state and methods (`_eager`, `_src`, `_fill`...): the codec's too
STATE = frozenset(
    name
    for cls in Message.__mro__
    for name in vars(cls)
    if name.startswith("_") and not name.startswith("__")
)
PRIVATE = SLOTS | STATE


def slot_reads(source: str) -> list[str]:
    """Where ``source`` reads a generated slot or a record's private state: ``x._exec_id``,
    ``x._eager`` (but ``self``'s own attributes), ``getattr(x, "_exec_id")``,
    ``"v = m._exec_id"`` or ``f"v = m._{name}"``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE:
            if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text in PRIVATE or any(f"_{m}" in PRIVATE for m in SLOT_IN_TEXT.findall(text)):
                found.append(f"{node.lineno}: {text!r}")
        elif isinstance(node, ast.JoinedStr):
            for part in node.values:
                if isinstance(part, ast.Constant) and str(part.value).endswith("._"):
                    found.append(f"{node.lineno}: f-string {part.value!r}")
    return found


def test_the_slots_are_known_and_the_scan_finds_each_way_of_reading_one() -> None:
    assert len(SLOTS) > 150 and {"_exec_id", "_cl_ord_id", "_parties", "_misc_fees"} <= SLOTS
    assert {"_eager", "_src", "_fill"} <= STATE
    old = (  # the tracker's and the ranges' reads before they went through the public names
        "def f(er, req, m, attr):\n"
        "    a = er._exec_id\n"
        "    b = getattr(req, '_orig_cl_ord_id', None)\n"
        "    lines = [f'    v = m._{attr}', '    g = m._parties']\n"
        "    if er._eager is not None and er._fill() is None:\n"
        "        self._orders, er.exec_id, req.parties\n"
    )
    found = [line.split(":")[0] for line in slot_reads(old)]
    assert sorted(found) == ["2", "3", "4", "4", "5", "5"]


@pytest.mark.parametrize("name", READERS)
def test_no_private_slot_is_read(name: str) -> None:
    source = (PKG / name).read_text(encoding="utf-8")
    assert slot_reads(source) == []
    assert len(list(ast.walk(ast.parse(source)))) > 100  # the scan read the module


def test_the_tracker_reads_through_the_named_route() -> None:
    tree = ast.parse((PKG / "trading" / "tracker.py").read_text(encoding="utf-8"))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert {"REPORT_READERS", "report_reader", "REQUEST_READERS", "request_reader"} <= names
    assert {"_EXEC_ID", "_CL_ORD_ID", "_ORD_STATUS", "_LAST_PX"} <= names


def report_frame() -> bytes:
    text = (SAMPLES / "prediction.fix").read_bytes().replace(b"|", b"\x01")
    return next(line for line in text.splitlines() if b"\x0135=8\x01" in line)


def test_a_reports_values_are_its_properties_at_the_positions_the_tracker_reads() -> None:
    """The tracker reads a report's values by position (``tracker._EXEC_ID``...): each
    position must hold the property of its own name (a constant out of order would not)."""
    message = prediction.decode(report_frame())
    values = orderfields.report_reader(type(message))(message)
    assert len({repr(getattr(message, n)) for n in orderfields.REPORT}) > 10  # values apart
    for i, name in enumerate(orderfields.REPORT):
        assert getattr(tracker, f"_{name.upper()}") == i, name
        assert values[i] == getattr(message, name), name
    assert orderfields.REPORT_READERS[type(message)] is not None  # made once, kept


def test_a_requests_values_read_none_for_what_its_class_lacks() -> None:
    cancel = margin.OrderCancelRequest(
        cl_ord_id="c-1", orig_cl_ord_id="o-1", side=margin.Side("1"), symbol="BTC-PERP"
    )
    values = dict(
        zip(orderfields.REQUEST, orderfields.request_reader(type(cancel))(cancel), strict=True)
    )
    assert values["cl_ord_id"] == "c-1" and values["orig_cl_ord_id"] == "o-1"
    assert values["price"] is None and values["order_qty"] is None and values["parties"] is None


def stand_in(**values: Any) -> Any:
    """A report of no generated class: public names only, no slots."""
    return SimpleNamespace(MSG_TYPE="8", **values)


def test_a_report_of_another_class_is_read_through_its_public_names() -> None:
    t = OrderTracker()
    t.on_message(
        stand_in(
            exec_id="1;1",
            cl_ord_id="o-1",
            exec_type="0",
            ord_status="0",
            symbol="X",
            side="1",
            order_qty=prediction.ExecutionReport(order_qty=5).order_qty,
            cum_qty=0,
        )
    )
    order = t.order("o-1")
    assert order is not None and order.status is OrderStatus.NEW and order.symbol == "X"


def test_a_value_that_does_not_convert_reads_none_and_is_recorded() -> None:
    """Decoded tolerantly, a report with a bad TransactTime is tracked (the value reads None
    through its property) and the message keeps the defect."""
    frame = report_frame()
    body = frame.split(b"\x01", 2)[2].rsplit(b"\x0110=", 1)[0] + b"\x01"
    body = re.sub(rb"\x0160=[^\x01]*", b"\x0160=2026-99", body)
    message = prediction.decode(make_frame(body), tolerant=True)
    t = OrderTracker()
    t.on_message(message)
    order = t.order(message.cl_ord_id)
    assert order is not None and order.fills[0].transact_time is None
    assert [d.tag for d in message.defects] == [60]

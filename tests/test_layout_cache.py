# private: the codec's layout and value caches (`_decode`, `_values`)
"""The tag layouts a codec remembers, and who owns the codec's caches.

* Each dialect's codec remembers at most its bound of layouts and of their fields in all,
  whatever a peer sends; past the bound it forgets the layouts longest unread (a clock,
  `_decode.LayoutCache`): layouts read often stay through a flood of new ones, and a new working
  set is remembered from its first frame whatever the codec met before (a read's cost does not
  depend on history).
* Every cache belongs to one dialect's codec (layouts, value caches, the cents written, the
  heads of the frames written): one product's traffic fills nothing of the other's.
* No codec module keeps a cache of its own, and no class gets a table at run time: decoding,
  reading, checking and encoding change no module-level container and no class.

(A test of private modules: the generated modules' ``_CODEC`` and their tables, `_decode.Codec`
and `_decode.LayoutCache`, the value caches of `_values`, the decoded records' ``_src``; and the
benchmarks' `_layouts`.)
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from engine_helpers import BUY, HEADER, nos
from strategies import forget_layouts, generated_module

from kalshi_fix_sansio import DecodeError, FixRecord, Header, margin, prediction
from kalshi_fix_sansio.codec._decode import Codec
from kalshi_fix_sansio.codec._values import ValueCaches
from kalshi_fix_sansio.simulator.testing.samples import frames

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from _layouts import distinct_frames

GEN = generated_module(prediction)
BOUND = 16


def small_codec(bound: int = BOUND) -> Codec:
    """A prediction codec of its own with a small bound (the dialect's tables, fresh caches)."""
    return Codec(
        GEN._CLASSES,
        GEN._DATA_TAGS,
        GEN._RFQ_CLASSES,
        header=Header,
        spec_tags=GEN._CODEC._spec_tags,
        values=ValueCaches(),
        max_layouts=bound,
    )


def remembered(codec: Codec, frame: bytes) -> bool:
    """Decode ``frame``: was its layout remembered already?"""
    msg = codec.decode(frame)
    assert msg._src is not None
    return msg._src.layout is not None


def held(codec: Codec) -> list[Any]:
    """The layouts the codec's lookups find (each must be in its queue: the bound)."""
    return [layout for layouts in codec.layouts.by_class.values() for layout in layouts.values()]


def fields_of(layouts: list[Any]) -> int:
    return sum(layout.key.count(b"\x01") + 1 for layout in layouts)


def test_the_bound_holds_whatever_the_frames() -> None:
    codec = small_codec()
    many = distinct_frames(frames("prediction"), 10 * BOUND)
    for _ in range(3):
        for frame in many:
            codec.decode(frame)
            queued = codec.layouts._queue
            assert len(held(codec)) == len(codec.layouts) <= len(queued) <= BOUND
            assert {id(layout) for layout in held(codec)} <= {id(x) for x in queued}
            assert codec.layouts.fields == fields_of(list(queued))
    assert len(codec.layouts) == BOUND


def test_the_bound_on_fields_in_all_holds() -> None:
    """A budget of fields smaller than the bound's worth of layouts: the budget binds."""
    codec = small_codec(10 * BOUND)
    codec.layouts.budget = budget = 300
    many = distinct_frames(frames("prediction"), 10 * BOUND)
    for frame in many * 2:
        codec.decode(frame)
        assert fields_of(held(codec)) == codec.layouts.fields <= budget
    assert 0 < len(codec.layouts) < 10 * BOUND


def test_a_codec_of_bound_zero_remembers_nothing() -> None:
    codec = small_codec(0)
    for frame in frames("prediction") * 2:
        assert not remembered(codec, frame)
    assert len(codec.layouts) == 0


def test_a_new_working_set_is_remembered_whatever_the_codec_met_before() -> None:
    """After a storm of more distinct layouts than the bound, each read twice (all marked read),
    a working set is found from its second frame on, as in a fresh codec: no history."""
    live = frames("prediction")
    fresh, storm = small_codec(), small_codec()
    for frame in distinct_frames(live, 3 * BOUND + len(live), seed=5):
        if frame in live:  # its own layouts are not the storm's
            continue
        storm.decode(frame)
        storm.decode(frame)
    for codec in (fresh, storm):
        assert [remembered(codec, frame) for frame in live] == [False] * len(live)
        for _ in range(3):
            assert all(remembered(codec, frame) for frame in live)


def test_layouts_read_often_stay_through_a_flood_of_new_ones() -> None:
    codec = small_codec()
    live, flood = frames("prediction")[:4], distinct_frames(frames("prediction")[4:], 20 * BOUND)
    for frame in live:
        codec.decode(frame)
    for new in flood:
        codec.decode(new)
        assert all(remembered(codec, frame) for frame in live)


def test_a_new_working_set_replaces_the_old_one() -> None:
    codec = small_codec()
    old, new = (distinct_frames(frames("prediction"), 2 * BOUND, seed) for seed in (1, 2))
    old, new = old[:BOUND], [f for f in new if f not in old][: BOUND // 2]
    for _ in range(5):
        for frame in old:
            codec.decode(frame)
    for frame in new:
        codec.decode(frame)
    for _ in range(3):
        assert all(remembered(codec, frame) for frame in new)


def _caches(codec: Codec) -> dict[str, int]:
    values = codec.values
    return {
        "layouts": len(codec.layouts),
        "heads": len(codec.heads),
        "cents written": len(values.cents_written),
        "values": sum(
            map(len, (values.decimals, values.cents, values.timestamps, values.dates, values.times))
        ),
    }


def _traffic(dialect: ModuleType) -> None:
    """Frames of ``dialect`` decoded and read, and orders of it encoded."""
    name = dialect.__name__.rsplit(".", 1)[-1]
    for frame in frames(name):
        msg = dialect.decode(frame)
        msg.validate()
    order = nos("00000000-0000-4000-8000-000000000001", BUY, 1, "0.35")
    if dialect is margin:
        order = margin.NewOrderSingle(**order.to_dict())
    for cents in range(1, 40):
        dialect.encode(order.replace(price=Decimal(cents) / 100), HEADER)


@pytest.mark.parametrize("busy, idle", [(prediction, margin), (margin, prediction)])
def test_one_products_traffic_fills_none_of_the_others_caches(
    busy: ModuleType, idle: ModuleType
) -> None:
    forget_layouts()
    _traffic(idle)
    idle_codec, busy_codec = generated_module(idle)._CODEC, generated_module(busy)._CODEC
    before, busy_before = _caches(idle_codec), _caches(busy_codec)
    _traffic(busy)
    assert _caches(idle_codec) == before
    grew = _caches(busy_codec)
    assert grew["layouts"] > 0 and grew["heads"] > 0 and grew["values"] > 0, grew
    if busy is prediction:  # prices in cents: margin writes dollars
        assert grew["cents written"] > busy_before["cents written"]


CODEC_MODULES = ("_fields", "_wire", "_message", "_valuecheck", "_decode", "_encode", "_values")


def _module_state() -> dict[str, Any]:
    """Each codec module's module-level containers, copied."""
    state = {}
    for name in CODEC_MODULES:
        module = sys.modules[f"kalshi_fix_sansio.codec.{name}"]
        for attr, value in vars(module).items():
            if isinstance(value, (dict, list, set, bytearray)) and not attr.startswith("__"):
                state[f"{name}.{attr}"] = copy.copy(value)
    return state


def _records() -> Iterator[type]:
    todo: list[type] = [FixRecord]
    while todo:
        cls = todo.pop()
        yield cls
        todo += cls.__subclasses__()


def _class_state() -> dict[str, frozenset[str]]:
    """Every record class's own attribute names."""
    return {f"{c.__module__}.{c.__qualname__}": frozenset(vars(c)) for c in _records()}


def _everything(dialect: ModuleType) -> None:
    """Decode, read, check and encode every sample of ``dialect``, strictly, tolerantly and
    with each of its values broken, on layouts first seen and remembered."""
    name = dialect.__name__.rsplit(".", 1)[-1]
    for frame in frames(name):
        for broken in (frame, frame.replace(b"=1", b"=x"), frame.replace(b"52=2", b"52=x")):
            for _ in range(3):
                for read in _READS:
                    read(dialect, broken)
        dialect.encode(dialect.decode(frame), Header(**HEADER.to_dict()))


def _tolerant(dialect: ModuleType, frame: bytes) -> None:
    msg = dialect.decode(frame, tolerant=True)
    msg.check()
    msg.header.items()
    msg.to_dict()


def _strict(dialect: ModuleType, frame: bytes) -> None:
    try:
        dialect.decode(frame).validate()
    except DecodeError:
        pass


_READS: tuple[Callable[[ModuleType, bytes], None], ...] = (_tolerant, _strict)


def test_no_module_or_class_state_changes_at_run_time() -> None:
    forget_layouts()
    _everything(prediction)  # anything made on first use is made now
    modules, classes = _module_state(), _class_state()
    assert "_decode._NO_LAYOUTS" in modules and len(classes) > 80
    forget_layouts()
    for dialect in (prediction, margin):
        _everything(dialect)
    assert _module_state() == modules
    assert _class_state() == classes

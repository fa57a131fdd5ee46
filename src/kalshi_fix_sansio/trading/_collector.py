"""Records the cyclic garbage collector need not walk (sans-IO; CPython).

A full collection walks every object the collector tracks, and an instance of a Python class
is tracked from birth whatever it holds: a tracker keeping a million live orders made each
full collection walk a million `TrackedOrder` objects (1.5 s of CPU a collection on a loaded
2-core machine; docs/maintainers/benchmarks.md, "The collector and the orders kept"). Such a
record holds only strings, numbers, enum members and tuples of frozen records, none of which
can lead back to it, so it is never part of a reference cycle: reference counting frees it,
and the collector has nothing to find in it. `untracker` returns CPython's
``PyObject_GC_UnTrack`` (through ctypes; about 0.5 µs a call), which takes such an object out
of the collector's lists; the objects it refers to stay tracked (a tracked object referred to
by an untracked one is held alive by that reference, as by any reference from outside the
collector's generations). On other interpreters, or without ctypes, it returns a function
that does nothing.

The same holds for a container of strings: a set (or a deque) of a million ClOrdIDs costs a
full collection a visit per entry (two such sets: 0.3 s), and untracked once it stays so (what
is added to a set or a deque never tracks it again; a dict, by contrast, is tracked again when
a tracked object is put in it, so the tracker's dict of orders stays walked: a million entries
whose values are untracked cost a full collection about 20 ms).

Only for records that can never be in a reference cycle: an untracked object in a cycle would
keep the cycle alive for good.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["untracker"]

_found: list[Callable[[Any], None]] = []


def _keep(record: Any) -> None:
    """Where the collector cannot be told: the record stays tracked."""


def untracker() -> Callable[[Any], None]:
    """``PyObject_GC_UnTrack`` on CPython, else a function that does nothing (loaded once: the
    first call imports ctypes, a few milliseconds, so it is asked where a tracker is made, not
    when the package is imported)."""
    if not _found:
        found: Callable[[Any], None] = _keep
        if sys.implementation.name == "cpython":
            try:
                import ctypes

                function = ctypes.pythonapi.PyObject_GC_UnTrack
                function.argtypes = (ctypes.py_object,)
                function.restype = None
                found = function
            except (ImportError, AttributeError, OSError):  # pragma: no cover - no ctypes
                pass
        _found.append(found)
    return _found[0]

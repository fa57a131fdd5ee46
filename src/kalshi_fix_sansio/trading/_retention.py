"""The order tracker's retention: which final orders it forgets, and what it keeps of them.

Memory stays flat however long a session runs. Live orders are never forgotten; once more than
``max_terminal`` orders are final, the oldest final one is evicted with its whole replace
chain, its fills, rejections and request ClOrdIDs (positions keep every fill). Request
ClOrdIDs that no tracked order owns (a cancel or a reject of an unknown order) are kept among
as many loose ends. A report of an evicted order arriving again (a PossDup resend, a drop-copy
replay) is recognised by `ForgottenReports` and ignored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from ._collector import untracker
from ._opencounts import OpenCounts
from ._orders import PENDING_EXEC_ID, TERMINAL, Rejection, TrackedOrder, _exec_position

__all__ = ["ForgottenReports", "Retention"]


def _link(order: TrackedOrder, request: str) -> None:
    """``request`` (a cancel's ClOrdID) is an alias of ``order``: dropped with it."""
    if order._requests is None:
        order._requests = [request]
    elif request not in order._requests:
        order._requests.append(request)


class Retention:
    """Eviction of final orders from the tracker's state (the dicts are the tracker's own)."""

    __slots__ = (
        "_alias",
        "_answered",
        "_cancels",
        "_groups",
        "_loose",
        "_orders",
        "_rejections",
        "_seen",
        "_terminal",
        "counts",
        "evicted",
        "forgotten",
        "max_terminal",
        "max_unordered",
    )

    def __init__(
        self,
        orders: dict[str, TrackedOrder],
        alias: dict[str, str],
        cancels: dict[str, str],
        rejections: dict[str, Rejection],
        seen: set[Any],
        answered: set[str],
        groups: dict[str, str],
        *,
        max_terminal: int | None,
        max_unordered: int,
    ) -> None:
        self._orders, self._alias, self._cancels = orders, alias, cancels
        self._rejections, self._seen, self._answered, self._groups = (
            rejections,
            seen,
            answered,
            groups,
        )
        self.counts: OpenCounts | None = None  # the tracker's live-order counts, when kept
        self.max_terminal = max_terminal  # final orders kept; None: every order
        self.max_unordered = max_unordered
        self._terminal: deque[str] = deque()  # ClOrdIDs in the order they became final
        self._loose: deque[str] = deque()  # request ClOrdIDs tied to no tracked order
        self.evicted = False  # an order was evicted: reports of unknown orders are checked
        self.forgotten = ForgottenReports(max_unordered)  # the evicted orders' ExecIDs
        # Sets and deques of strings (and of tuples of strings), one entry per order kept or
        # forgotten: a full collection would visit every entry (two sets of a million strings:
        # 0.3 s), though none can be in a cycle. Out of the collector's walk, once: a set or a
        # deque is never tracked again by what is added to it (`_collector`).
        untrack = untracker()
        for strings in (seen, answered, self._terminal, self._loose, *self.forgotten.containers()):
            untrack(strings)

    def loosen(self, cl: str) -> None:
        """Keep a request ClOrdID no tracked order owns among the bounded loose ends."""
        if self.max_terminal is None:
            return
        self._loose.append(cl)
        while len(self._loose) > self.max_terminal:
            old = self._loose.popleft()
            if old in self._orders:
                continue  # it became an order: dropped with it
            target = self._orders.get(self._alias.get(old, ""))
            if target is not None:  # the cancel of an order known since: dropped with it
                _link(target, old)
                continue
            self._alias.pop(old, None)
            self._cancels.pop(old, None)
            self._rejections.pop(old, None)
            self._answered.discard(old)
            self._groups.pop(old, None)

    def finished(self, order: TrackedOrder) -> None:
        """``order`` just became final: evict the oldest final orders beyond the limit."""
        limit = self.max_terminal
        if limit is None or order.replaced_by is not None:
            return  # a replaced version goes with its chain's latest version
        terminal = self._terminal
        terminal.append(order.cl_ord_id)
        if len(terminal) > limit:  # one in, one out: the deque holds at most ``limit``
            self._evict(terminal.popleft())

    def _evict(self, cl: str) -> None:
        """Forget the replace chain whose version ``cl`` became final, if all of it is."""
        order = self._orders.get(cl)
        if order is None or order.status not in TERMINAL:
            return  # gone already (with its chain), or a ClOrdID sent again since
        if order.replaced_by is not None:
            visited = {cl}
            while order.replaced_by is not None and order.replaced_by not in visited:
                later = self._orders.get(order.replaced_by)
                if later is None:
                    break
                visited.add(later.cl_ord_id)
                order = later
        if order.status not in TERMINAL:
            return  # the order lives on under a later ClOrdID: evicted when that one is final
        version: TrackedOrder | None = order
        while version is not None:
            self._drop(version)
            earlier = self._orders.get(version.orig_cl_ord_id) if version.orig_cl_ord_id else None
            version = (
                earlier
                if earlier is not None and earlier.replaced_by == version.cl_ord_id
                else None
            )

    def _drop(self, order: TrackedOrder) -> None:
        cl = order.cl_ord_id
        del self._orders[cl]
        if self.counts is not None:  # (a final order counts for nothing: in case)
            self.counts.drop(cl)
        self.evicted = True
        keys = order._keys
        self._seen.difference_update(keys)
        self.forgotten.forget(keys)
        self._answered.discard(cl)
        self._rejections.pop(cl, None)
        for request in order._requests or ():
            self._alias.pop(request, None)
            self._cancels.pop(request, None)
            self._answered.discard(request)
            self._rejections.pop(request, None)

    def replay_of_evicted(self, er: Any, cl: str, orig: str | None, exec_id: str) -> bool:
        """A report not seen yet, after an eviction: is it an evicted order's, arriving again?

        Only a report of an order not tracked (neither its ClOrdID nor OrigClOrdID known) can
        be: it is when its ExecID is at or below its exchange index's watermark. A pending
        report (ExecID ``-1;-1``, no position) of an unknown order is taken for an evicted
        order's when it is a PossDup resend; the reports after it create the order anyway.
        """
        orders, alias = self._orders, self._alias
        if cl in orders or cl in alias or (orig is not None and (orig in orders or orig in alias)):
            return False
        if exec_id == PENDING_EXEC_ID:
            header = getattr(er, "header", None)
            return header is not None and getattr(header, "poss_dup_flag", None) is True
        return exec_id in self.forgotten


class ForgottenReports:
    """ExecIDs of evicted orders: a watermark per exchange index, the others exactly."""

    __slots__ = ("_exact", "_fifo", "_limit", "_marks")

    def __init__(self, limit: int) -> None:
        self._limit = limit  # ExecIDs without a position remembered exactly, >= 0
        self._marks: dict[int, tuple[int, int]] = {}  # index -> highest evicted (clock, event)
        self._exact: set[str] = set()  # evicted ExecIDs with no position
        self._fifo: deque[str] = deque()

    def containers(self) -> tuple[set[str], deque[str]]:
        """What holds the ExecIDs remembered exactly (strings only)."""
        return self._exact, self._fifo

    def forget(self, keys: Iterable[Any]) -> None:
        """An evicted order's de-duplication keys: raise the watermarks, keep the others."""
        marks = self._marks
        for key in keys:
            if key.__class__ is not str:
                continue  # a pending report's: never replayed by drop copy (PossDup instead)
            position = _exec_position(key)
            if position is None:
                self._remember(key)
                continue
            index, clock_event = position
            mark = marks.get(index)
            if mark is None or clock_event > mark:
                marks[index] = clock_event

    def __contains__(self, exec_id: str) -> bool:
        position = _exec_position(exec_id)
        if position is None:
            return exec_id in self._exact
        mark = self._marks.get(position[0])
        return mark is not None and position[1] <= mark

    def _remember(self, exec_id: str) -> None:
        if self._limit == 0 or exec_id in self._exact:
            return
        self._exact.add(exec_id)
        self._fifo.append(exec_id)
        if len(self._fifo) > self._limit:
            self._exact.discard(self._fifo.popleft())

"""Drop copy: replaying execution reports on EventResendRequest (35=U1).

The exchange keeps every ExecutionReport event it produced for a client account (not rejects,
not house orders) for `DROP_COPY_WINDOW_SECONDS` (3 hours, Kalshi's lookback), one event per
report (copies to listeners are not separate events), and at most `DROP_COPY_MAX_REPORTS` of
them (the mock's bound, so that a load test's memory stays flat: at 10 orders a second the 3
hours would hold about 300,000 reports). Both are `Exchange` arguments (``drop_copy_window``,
``drop_copy_reports``). Past the count the oldest engine call's reports go together, as when
they leave the window: a BeginExecID of that call or older is then answered 35=U3 reason 3.

A 35=U1 (on the session types the spec lets send it: KalshiDC and KalshiNR) replays, to the
requesting session only, the account's events with ``BeginExecID <= ExecID <= EndExecID`` in
ExecID order (clock, then event, numerically), rendered for that session's own logon flags
(UseDollars, PreserveOriginalOrderQty, UseExpiredOrdStatus), with the original ExecIDs, then
35=U2 with ResendEventCount and RefSeqNum = the request's MsgSeqNum. EndExecID omitted = the
latest ExecID; End < Begin replays nothing (35=U2 count 0).

35=U3 reasons: 5 when the account is not in the exchange's ``replay_allowlist`` (None, the
default, allows everyone); 3 when BeginExecID is missing, malformed, of another exchange index
(the mock has only index 0; ``c;e;0`` is read as ``c;e``), names a clock that has left the
window, or lies beyond the latest ExecID issued (an unknown ExecID); 4 when EndExecID is
malformed, of another exchange index, or beyond the latest ExecID. Codes 1 (rate limit) and 2
(server error) are never sent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any, Final

from .common import as_text, exec_key
from .model import ClientSession, Report
from .reports import render_report
from .state import ExchangeState

__all__ = ["DROP_COPY_MAX_REPORTS", "DROP_COPY_WINDOW_SECONDS", "DropCopy"]

DROP_COPY_WINDOW_SECONDS: Final = 3 * 3600.0
"""How far back an EventResendRequest (35=U1) can replay execution reports (Kalshi: 3 hours)."""
DROP_COPY_MAX_REPORTS: Final = 100_000
"""The most execution reports the mock keeps for 35=U1 (its own bound; Kalshi states none)."""


class DropCopy:
    """The replayable report history and the 35=U1 handler.

    Args:
        state: the exchange's state.
        replay_allowlist: the accounts allowed to replay (None: every one).
        window: seconds a report stays replayable.
        max_reports: the most reports kept (the ExecID clocks noted too).
    """

    def __init__(
        self,
        state: ExchangeState,
        replay_allowlist: Iterable[str] | None,
        window: float = DROP_COPY_WINDOW_SECONDS,
        max_reports: int = DROP_COPY_MAX_REPORTS,
    ) -> None:
        self.state = state
        self.window = window
        self.max_reports = max_reports
        self._replay_allowlist = None if replay_allowlist is None else frozenset(replay_allowlist)
        # (ExecID key, time, report) of every replayable report, oldest first
        self._history: deque[tuple[tuple[int, int], float, Report]] = deque()
        self._clock_log: deque[tuple[int, float]] = deque()  # (ExecID clock, time it was used)
        self._pruned_clock = 0  # newest ExecID clock forgotten (older than the window, or count)
        self.last_exec: tuple[int, int] = (0, 0)
        """The latest ExecID issued, as (clock, event)."""

    def __len__(self) -> int:
        """How many reports are kept for replay."""
        return len(self._history)

    @property
    def clocks(self) -> int:
        """How many ExecID clocks are noted (each leaves with its time or past the count)."""
        return len(self._clock_log)

    def clock_used(self, clock: int) -> None:
        """Note that ExecID clock ``clock`` was drawn now (it leaves the window with its time)."""
        self._clock_log.append((clock, self.state.now))
        if len(self._clock_log) > self.max_reports:
            self._forget(self._clock_log[0][0])

    def record(self, report: Report) -> None:
        """Keep a report for replay."""
        key = exec_key(report.exec_id)
        if key is not None:
            history = self._history
            history.append((key, self.state.now, report))
            if len(history) > self.max_reports and history[0][0][0] < key[0]:
                self._forget(history[0][0][0])  # never the current call's: it is still adding

    def _forget(self, clock: int) -> None:
        """Forget the reports and noted clocks up to ExecID clock ``clock`` (whole clocks: a
        BeginExecID of a forgotten clock is answered 35=U3 reason 3)."""
        self._pruned_clock = max(self._pruned_clock, clock)
        history, log = self._history, self._clock_log
        while history and history[0][0][0] <= self._pruned_clock:
            history.popleft()
        while log and log[0][0] <= self._pruned_clock:
            log.popleft()

    def prune(self) -> None:
        """Forget reports (and ExecID clocks) older than the replay window."""
        cutoff = self.state.now - self.window
        history = self._history
        while history and history[0][1] < cutoff:
            history.popleft()
        log = self._clock_log
        while log and log[0][1] < cutoff:
            self._pruned_clock = max(self._pruned_clock, log.popleft()[0])

    def on_event_resend(self, session: ClientSession, msg: Any) -> None:
        """EventResendRequest (35=U1): replay, then 35=U2; or 35=U3."""
        d = self.state.d
        ref = self.state.ref_seq(msg)

        def reject(reason: int) -> None:
            self.state.send(
                session,
                d.EventResendReject(
                    ref_seq_num=ref,
                    event_resend_reject_reason=self.state.enum("EventResendRejectReason", reason),
                ),
            )

        allowlist = self._replay_allowlist
        if allowlist is not None and session.account not in allowlist:
            return reject(5)
        latest = self.last_exec
        begin = exec_key(as_text(msg.begin_exec_id))
        if begin is None or begin[0] <= self._pruned_clock or begin > latest:
            return reject(3)
        end = latest
        if msg.end_exec_id is not None:
            end_key = exec_key(as_text(msg.end_exec_id))
            if end_key is None or end_key > latest:
                return reject(4)
            end = end_key
        count = 0
        for key, _when, report in self._history:
            if key > end:
                break
            if key >= begin and report.account == session.account:
                self.state.send(session, render_report(self.state, report, session))
                count += 1
        self.state.send(session, d.EventResendComplete(ref_seq_num=ref, resend_event_count=count))

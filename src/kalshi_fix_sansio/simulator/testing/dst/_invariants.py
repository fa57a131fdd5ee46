"""What a deterministic simulation run checks on every frame, after every step and at the end.

`WireWatch` hears every chunk either side writes (`Simulation.wire_listeners`) and checks, as it
is written, the promises that are about frames: no order or replace reaches the exchange while
the session is halted by its kill switch, nor past its risk limit; no ClOrdID goes out twice;
no sequence number is used twice by either side (a resend or a duplicate says PossDup); and,
for sessions sharing an account's Logon budget, no Logon refused for the account's limit. It
also folds every byte into a digest: two runs of one schedule have the same digest, or the run
is not deterministic.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Collection
from typing import Final

import attrs

from ...gateway.listening import LOGON_RATE_LIMIT_TEXT
from ...world.simulation import WireRecord

__all__ = ["Violation", "WireWatch"]

_FRAME: Final = re.compile(rb"8=FIXT\.1\.1\x019=(\d+)\x01")
_RETRANSMISSION: Final = frozenset({"KalshiRT", "KalshiPT"})  # numbers go on across connections
_FIELD: Final = re.compile(rb"\x01(11|34|35|38|41|43|44|49|54|55|58|117|131|141)=([^\x01]*)")
_QUOTING: Final = frozenset({b"S", b"U7"})  # a maker's messages that can trade (halted)


@attrs.frozen
class Violation:
    """A promise a run broke.

    Attributes:
        invariant: which (``"order past a kill"``, ``"fill lost or doubled"``...).
        step: the index of the step during which it was seen (``len(steps)``: at the end).
        detail: what was seen.
    """

    invariant: str
    step: int
    detail: str

    @property
    def text(self) -> str:
        """One line."""
        return f"{self.invariant} (step {self.step}): {self.detail}"


def _fields(frame: bytes) -> dict[bytes, bytes]:
    return {tag: value for tag, value in _FIELD.findall(frame)}


def _shown(frame: bytes) -> str:
    return frame.replace(b"\x01", b"|")[:160].decode("ascii", "replace")


class WireWatch:
    """Checks the frames of a run as they are written (see the module docstring).

    Args:
        halted: whether the client's session is halted now (its kill switch).
        max_qty: the client's risk limit on an order's quantity.
        resets_numbers: whether the session type numbers each connection from 1 (KalshiNR);
            otherwise numbers go on across connections unless a Logon resets them (141=Y).
            Only KalshiRT and KalshiPT keep numbers: another session type's frames (a second
            session's) are numbered per connection whatever this says.
        logon_budget: the sessions share an `Account <kalshi_fix_sansio.client.account.Account>`
            told the exchange's Logon limit: a Logon the gateway refuses for that limit
            (Logout ``rate limit exceeded``) breaks the promise that the account's Logon
            budget is never exceeded.
        budget_keys: the API keys of that account (None: every key the run logs on with); a
            Logon of another key refused for its own limit is not the account's.
        quotes_halted: whether the market maker's KalshiRFQ session is halted now (its
            client's ``kill_all``): no Quote (35=S) or QuoteConfirm (35=U7) may be written on
            a KalshiRFQ connection while it is, nor a Quote answering an RFQ (35=R) of more
            than ``max_qty``, nor a QuoteID twice. None: nothing quotes.

    Attributes:
        budget_excused_until: a Logon refused for the account's limit before this time (the
            simulated clock) breaks no promise: the run held what the client writes longer
            than the account's Logon margin (``client_delay``), so the exchange counted two
            Logons closer together than the client wrote them (the margin is the promise's
            bound: `Account <kalshi_fix_sansio.client.account.Account>`'s ``logon_margin``).
    """

    def __init__(
        self,
        halted: Callable[[], bool],
        max_qty: int,
        resets_numbers: bool,
        *,
        logon_budget: bool = False,
        budget_keys: Collection[str] | None = None,
        quotes_halted: Callable[[], bool] | None = None,
    ) -> None:
        self._budget_keys = None if budget_keys is None else {k.encode() for k in budget_keys}
        self._halted = halted
        self._quotes_halted = quotes_halted
        self._rfq_qty: dict[bytes, float] = {}  # RFQ id -> its OrderQty (from 35=R)
        self._quote_ids: set[bytes] = set()
        self._logon_budget = logon_budget
        self.budget_excused_until = -math.inf
        self._max_qty = max_qty
        self._per_connection = resets_numbers
        self._digest = hashlib.sha256()
        self._last_seq: dict[tuple[object, str], int] = {}
        self._cl_ord_ids: set[bytes] = set()
        self._partial: dict[tuple[int, str], bytes] = {}
        self._established: set[int] = set()
        self._key_of: dict[int, bytes] = {}  # connection -> the API key its Logon named
        self.book_frames: dict[str, list[int]] = {}
        """API key -> [its newest KalshiMD connection, the market-data book messages (35=W /
        35=X, not PossDup) the gateway wrote on it]."""
        self.step = -1
        """The step under way (set by the runner)."""
        self.violations: list[Violation] = []
        self.frames = 0
        """Frames seen, both sides."""
        self.frame_listeners: list[Callable[[WireRecord, dict[bytes, bytes], str], None]] = []
        """Called with every frame either side writes: its record, its fields (MsgType, ClOrdID,
        MsgSeqNum, OrderQty, OrigClOrdID, PossDupFlag, Price, Side, Symbol...) and the frame as
        a line, after this watch's own checks (the runner's `DeskWatch`)."""

    @property
    def digest(self) -> str:
        """The SHA-256 of every chunk so far, with when, where and who wrote it."""
        return self._digest.hexdigest()

    def __call__(self, record: WireRecord) -> None:
        head = f"{record.time!r} {record.connection} {record.sender} {len(record.data)}\n"
        self._digest.update(head.encode())
        self._digest.update(record.data)
        key = (record.connection, record.sender)
        data = self._partial.pop(key, b"") + record.data
        start = 0
        for match in _FRAME.finditer(data):
            if match.start() < start:
                continue
            end = match.end() + int(match.group(1)) + 7  # the body, then 10=nnn<SOH>
            if end > len(data):
                self._partial[key] = data[match.start() :]
                return
            frame = data[match.start() : end]
            fields, shown = _fields(frame), _shown(frame)
            self._frame(record, fields, shown)
            for listener in self.frame_listeners:
                listener(record, fields, shown)
            start = end

    def _violate(self, invariant: str, detail: str) -> None:
        self.violations.append(Violation(invariant, self.step, detail))

    def _frame(self, record: WireRecord, fields: dict[bytes, bytes], shown: str) -> None:
        self.frames += 1
        msg_type = fields.get(b"35", b"")
        poss_dup = fields.get(b"43") == b"Y"
        if msg_type == b"A" and record.sender == "gateway":
            self._established.add(record.connection)
        elif msg_type == b"A":
            key = self._key_of[record.connection] = fields.get(b"49", b"")
            if record.session_type == "KalshiMD":
                self.book_frames[key.decode()] = [record.connection, 0]
        # numbers go on across the connections of a session type (KalshiRT) once a Logon is
        # accepted; a refused Logon (and the gateway's Logout of it) starts no session
        across = (
            not self._per_connection
            and record.session_type in _RETRANSMISSION
            and record.connection in self._established
        )
        # a session is its type and its key (two KalshiRT sessions of two keys: two sessions)
        session = (record.session_type, self._key_of.get(record.connection))
        seq_key = (session if across else record.connection, record.sender)
        if msg_type == b"A" and fields.get(b"141") == b"Y":
            self._last_seq.pop(seq_key, None)
        seq = int(fields.get(b"34", b"0") or 0)
        if not poss_dup:
            last = self._last_seq.get(seq_key, 0)
            if seq <= last:
                self._violate(
                    "sequence number reused",
                    f"{record.sender} sent MsgSeqNum {seq} after {last}: {shown}",
                )
            self._last_seq[seq_key] = max(seq, last)
        if record.session_type == "KalshiMD" and msg_type in (b"W", b"X") and not poss_dup:
            counted = self.book_frames.get(self._key_of.get(record.connection, b"").decode())
            if counted is not None and counted[0] == record.connection:
                counted[1] += 1
        if record.session_type == "KalshiRFQ" and self._quotes_halted is not None:
            self._quote(record, msg_type, fields, shown)
            return
        if record.sender != "client":
            if (
                self._logon_budget
                and record.time >= self.budget_excused_until
                and msg_type == b"5"
                and fields.get(b"58", b"") == LOGON_RATE_LIMIT_TEXT.encode()
                and (
                    self._budget_keys is None
                    or self._key_of.get(record.connection) in self._budget_keys
                )
            ):
                self._violate("Logon budget exceeded", f"a Logon refused: {shown}")
            return
        if msg_type in (b"D", b"G"):
            if self._halted():
                self._violate("order past a kill", f"written while halted: {shown}")
            qty = fields.get(b"38")
            if qty is not None and float(qty) > self._max_qty:
                self._violate("order past a limit", f"quantity over {self._max_qty}: {shown}")
        if msg_type in (b"D", b"F", b"G", b"q") and not poss_dup:
            cl_ord_id = fields.get(b"11", b"")
            if cl_ord_id in self._cl_ord_ids:
                self._violate("ClOrdID twice", f"{cl_ord_id.decode()} sent again: {shown}")
            self._cl_ord_ids.add(cl_ord_id)

    def _quote(
        self, record: WireRecord, msg_type: bytes, fields: dict[bytes, bytes], shown: str
    ) -> None:
        """A frame of the market maker's KalshiRFQ session (see the class docstring)."""
        if record.sender != "client":
            if msg_type == b"R" and b"38" in fields:
                self._rfq_qty[fields.get(b"131", b"")] = float(fields[b"38"])
            return
        if msg_type not in _QUOTING:
            return
        assert self._quotes_halted is not None
        if self._quotes_halted():
            self._violate("quote past a kill", f"written while halted: {shown}")
        if msg_type != b"S":
            return
        if self._rfq_qty.get(fields.get(b"131", b""), 0.0) > self._max_qty:
            self._violate("quote past a limit", f"an RFQ over {self._max_qty} quoted: {shown}")
        quote_id = fields.get(b"117", b"")
        if quote_id in self._quote_ids:
            self._violate("QuoteID twice", f"{quote_id.decode()} sent again: {shown}")
        self._quote_ids.add(quote_id)

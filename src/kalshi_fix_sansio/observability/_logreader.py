"""Reading a FIX message log: its lines as `Entry` records, what each session type feeds.

Private: `kalshi_fix_sansio.client.restore` exports `Entry`, `LogIssue`, `LogReader`, `parse_time` and
`session_feeds` (and documents the log's format); this module reads the log, `restore` rebuilds
the state from what it reads.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Final

import attrs

from .messagelog import Problem, decode_frame, dialect, scan_stream

if TYPE_CHECKING:
    from ..codec import Message

__all__ = ["Entry", "LogIssue", "LogReader", "Reporter", "parse_time", "session_feeds"]

_FIX_TIME: Final = ("%Y%m%d-%H:%M:%S.%f", "%Y%m%d-%H:%M:%S")


def parse_time(text: str) -> datetime:
    """A moment written as text, as an aware UTC datetime.

    Accepts ISO 8601 (``2026-11-22T10:15:00``, ``...Z``, ``...+00:00``, fractional seconds,
    a space instead of ``T``) and FIX UTCTimestamp (``20261122-10:15:00.123``); a time without
    an offset is UTC.

    Raises:
        ValueError: not such a time (the message shows an example).
    """
    value = text.strip()
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        for pattern in _FIX_TIME:
            try:
                moment = datetime.strptime(value, pattern)
                break
            except ValueError:
                continue
    if moment is None:
        raise ValueError(
            f"{text!r} is not an ISO 8601 UTC time (e.g. 2026-11-22T10:15:00Z or "
            "2026-11-22T10:15:00.250)"
        )
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# ---------------------------------------------------------------------------------------------
# Sessions: which session type a line is, and what it feeds


@functools.cache
def _session_specs() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Session type -> (MsgTypes a client sends, MsgTypes it receives), both products."""
    from ..codec.spec import SESSIONS

    found: dict[str, tuple[set[str], set[str]]] = {}
    for (_, name), spec in SESSIONS.items():
        send, receive = found.setdefault(name, (set(), set()))
        send.update(spec.send)
        receive.update(spec.receive)
    return {name: (frozenset(s), frozenset(r)) for name, (s, r) in found.items()}


def session_feeds(session_type: str | None) -> tuple[bool, bool]:
    """Whether a session type's messages feed the order tracker, and the books.

    The tracker takes the sessions that receive ExecutionReports (KalshiNR, KalshiRT,
    KalshiDC), the books those that receive market data (KalshiMD); a session type that is
    None or unknown feeds both (each ignores the message types it does not know).

    Args:
        session_type: e.g. ``"KalshiNR"``, or None.

    Returns:
        ``(feeds the tracker, feeds the books)``.
    """
    spec = _session_specs().get(session_type or "")
    if spec is None:
        return True, True
    receive = spec[1]
    return "8" in receive, bool(receive & {"W", "X"})


@functools.cache
def _sent_and_received(product: str) -> tuple[frozenset[str], frozenset[str]]:
    """MsgTypes a client sends / receives on the product's session types (spec tables)."""
    from ..codec.spec import SESSIONS

    send: set[str] = set()
    receive: set[str] = set()
    for (prod, _), spec in SESSIONS.items():
        if prod == product:
            send.update(spec.send)
            receive.update(spec.receive)
    return frozenset(send - receive), frozenset(receive - send)


def _direction(msg: Message, product: str) -> str:
    """``IN``, ``OUT`` or ``?`` for a message of a log that does not say.

    SenderCompID starting with ``Kalshi``: received; TargetCompID starting with ``Kalshi``:
    sent; else the message types Kalshi's session types send or receive decide.
    """
    sender = msg.header.sender_comp_id
    target = msg.header.target_comp_id
    if isinstance(sender, str) and sender.startswith("Kalshi"):
        return "IN"
    if isinstance(target, str) and target.startswith("Kalshi"):
        return "OUT"
    send, receive = _sent_and_received(product)
    if msg.MSG_TYPE in send:
        return "OUT"
    if msg.MSG_TYPE in receive:
        return "IN"
    return "?"


# ---------------------------------------------------------------------------------------------
# What the log holds


@dataclass(frozen=True)
class Entry:
    """One decoded message of the log, where and when it was.

    Attributes:
        index: its 1-based position among the frames of its input.
        offset: the input offset of its first byte.
        time: the log line's time, else its SendingTime(52), else None.
        direction: ``"IN"`` (received), ``"OUT"`` (sent) or ``"?"`` (unknown).
        inferred: the direction was inferred (the log did not say).
        session: the message log's session id (``<session type>/<API key id>``), or None.
        message: the decoded message (secrets masked).
        source: the input it came from (a file name, ``<stdin>``, ``<bytes #1>``).
    """

    index: int
    offset: int
    time: datetime | None
    direction: str
    inferred: bool
    session: str | None
    message: Message
    source: str = ""

    def _comp_ids(self) -> tuple[str | None, str | None]:
        """(our CompID, Kalshi's CompID) from the header, as the direction says."""
        if self.direction not in ("IN", "OUT"):
            return None, None
        header = self.message.header
        sender, target = header.sender_comp_id, header.target_comp_id
        ours, theirs = (sender, target) if self.direction == "OUT" else (target, sender)
        return (
            ours if isinstance(ours, str) and ours else None,
            theirs if isinstance(theirs, str) and theirs else None,
        )

    def _logged(self) -> tuple[str, str] | None:
        """(session type, API key id) of a message-log session id naming a session type."""
        if self.session is None:
            return None
        kind, sep, key = self.session.partition("/")
        if not sep or not key or kind not in _session_specs():
            return None
        return kind, key

    @property
    def session_type(self) -> str | None:
        """The session type (``KalshiNR``...): the log's session id, else the TargetCompID of a
        message we sent (Kalshi's SenderCompID on received messages names no session type)."""
        logged = self._logged()
        if logged is not None:
            return logged[0]
        theirs = self._comp_ids()[1]
        return theirs if theirs in _session_specs() else None

    @property
    def key_id(self) -> str | None:
        """Our API key id: the log's session id, else our CompID in the header."""
        logged = self._logged()
        if logged is not None:
            return logged[1]
        return self._comp_ids()[0]


@attrs.frozen(slots=True)
class LogIssue:
    """Something about one place of a log: a part that could not be read, or a caveat.

    Attributes:
        source: the input (a file name, ``<stdin>``, ``<bytes #1>``).
        offset: the byte offset in that input.
        reason: what, in words (``message #N`` names the frame's number in the input).
        applied: False: that part was not applied (a problem: bytes that are not a frame, a
            frame that cannot be decoded); True: the message was applied, with this caveat (a
            defect, a refused request, market data that does not fit the book).
    """

    source: str
    offset: int
    reason: str
    applied: bool = False

    def __str__(self) -> str:
        return f"{self.source}: byte {self.offset}: {self.reason}"


Reporter = Callable[[LogIssue], None]


class LogReader:
    """Reads logs into `Entry`s in order, following each session's UseDollars(21005).

    Reads any input ``kalshi-fix decode`` reads: the adapters' message log, raw captures, log
    lines with text before ``8=``. What cannot be read is told to ``on_issue`` (with its byte
    offset) and skipped; a message with defects is yielded, as a session delivers it, and told
    too. A session's Logon sent with UseDollars=Y makes its prices dollars from then on, across
    inputs (a log continued in a second file).

    Args:
        product: ``"prediction"`` or ``"margin"`` (the dialect of the frames).
        use_dollars: read every session's prices as dollars (for a log without its Logon).
        rfq_units: units of RFQ quote prices, ``"cents"`` or ``"dollars"``.
        on_issue: called with each `LogIssue`, in input order.

    Attributes:
        frames: frames found so far.
        failures: parts that could not be read so far (`LogIssue.applied` False).

    Raises:
        ValueError: ``product`` is not one of `kalshi_fix_sansio.observability.messagelog.PRODUCTS`.
    """

    def __init__(
        self,
        *,
        product: str = "prediction",
        use_dollars: bool = False,
        rfq_units: str = "cents",
        on_issue: Reporter | None = None,
    ) -> None:
        self.product = product
        self.use_dollars = use_dollars
        self.rfq_units = rfq_units
        self.codec = dialect(product)  # ValueError: not a product
        self.dollars: dict[str, bool] = {}  # session -> logged on with UseDollars=Y
        self.frames = 0
        self.failures = 0
        self._on_issue = on_issue

    def report(self, issue: LogIssue) -> None:
        """Tell an issue (a problem is counted in `failures`)."""
        if not issue.applied:
            self.failures += 1
        if self._on_issue is not None:
            self._on_issue(issue)

    def entries(self, data: bytes | IO[bytes], source: str) -> Iterator[Entry]:
        """The messages of one input in order; unreadable parts are reported and skipped.

        Args:
            data: the whole input, or a binary file open for reading (a file, a pipe, stdin's
                buffer), read line by line as it is consumed
                (`kalshi_fix_sansio.observability.messagelog.scan_stream`: a line longer than
                `kalshi_fix_sansio.observability.messagelog.MAX_LINE_BYTES` is a problem, and the input is
                read no further).
            source: its name, for `Entry.source` and the issues.
        """
        stream = io.BytesIO(data) if isinstance(data, bytes) else data
        index = 0
        for item in scan_stream(stream):
            if isinstance(item, Problem):
                self.report(LogIssue(source, item.offset, f"malformed: {item.reason}"))
                continue
            index += 1
            self.frames += 1
            prefix = item.prefix
            session = prefix.session if prefix is not None else None
            key = session or ""
            decoded = decode_frame(
                self.codec,
                item,
                index,
                use_dollars=self.use_dollars or self.dollars.get(key, False),
                rfq_units=self.rfq_units,
            )
            if isinstance(decoded, Problem):
                self.report(LogIssue(source, decoded.offset, decoded.reason))
                continue
            msg, defects = decoded
            if defects:
                first = defects[0]
                where = f"tag {first.tag}" if first.tag is not None else "message"
                self.report(
                    LogIssue(
                        source,
                        item.offset,
                        f"message #{index} ({type(msg).__name__}): {len(defects)} defect(s), "
                        f"first {where}: {first.text} (applied, as a session delivers it)",
                        applied=True,
                    )
                )
            moment: datetime | None = None
            if prefix is not None:
                direction, inferred = prefix.direction, False
                try:
                    moment = parse_time(prefix.time)
                except ValueError:
                    self.report(
                        LogIssue(
                            source,
                            item.offset,
                            f"message #{index}: the log line's time {prefix.time!r} is not a "
                            "time: SendingTime(52) is used",
                            applied=True,
                        )
                    )
            else:
                direction, inferred = _direction(msg, self.product), True
            if moment is None:
                sending = msg.header.sending_time
                moment = sending if isinstance(sending, datetime) else None
            if msg.MSG_TYPE == "A" and direction == "OUT":
                self.dollars[key] = getattr(msg, "use_dollars", None) is True
            yield Entry(index, item.offset, moment, direction, inferred, session, msg, source)

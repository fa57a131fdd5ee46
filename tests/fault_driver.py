"""The fault contract of issue 9, section 3, as reusable test machinery: the driver.

`receive_data`, `next_event` / `events`, `handle_timer`, `next_deadline` and `data_to_send` raise
nothing but `RemoteProtocolError` whatever the peer sends (a `LocalProtocolError` only for the
caller's own misuse, which the `ContractDriver` never commits: it stops feeding a session once it
has ended). Every frame a session writes is well formed: ``8=FIXT.1.1``, correct BodyLength and
CheckSum, MsgSeqNum(34) an integer >= 1, no empty value.

Here:

* wire helpers: `build_frame` (BodyLength and CheckSum computed), `split_fields` (data-aware),
  `well_formed_frames` (the strict checker of what a session writes);
* `ContractDriver`: wraps one session under test, plays its peer with hand-built frames, and turns
  any escape or malformed output into a `ContractViolation` carrying a copy-pasteable reproducer;
* session factories for every state a peer can reach: logged on (either role), an initiator
  waiting for the Logon answer, an acceptor waiting for the client's Logon.

What the peer sends (hypothesis strategies) is in fault_strategies.py.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import ModuleType
from typing import Any, TypeVar

from strategies import generated_module

from kalshi_fix_sansio import (
    NEED_DATA,
    CloseTransport,
    Event,
    LocalProtocolError,
    RemoteProtocolError,
    Role,
    Session,
    SessionConfig,
    checksum,
    margin,
    prediction,
)
from kalshi_fix_sansio.codec.spec import SESSIONS
from kalshi_fix_sansio.session.auth import logon_payload, signature_b64
from kalshi_fix_sansio.simulator.testing import SessionPair, new_ed25519_keys

UTC = timezone.utc
SOH = b"\x01"
T0 = 1_800_000_000.0
API_KEY = "key-1"
KALSHI = "Kalshi"
BEGIN_STRING = b"FIXT.1.1"

DIALECTS: dict[str, ModuleType] = {"prediction": prediction, "margin": margin}
SESSION_KINDS: list[tuple[str, str]] = sorted(SESSIONS)
"""Every (product, session type) the spec defines."""
ROLES: list[Role] = [Role.INITIATOR, Role.ACCEPTOR]
ADMIN_TYPES = ("0", "1", "2", "3", "4", "5", "A")

Field = tuple[bytes, bytes | None]
"""One field: (tag, value). A value of None writes the tag alone, without '='."""

T = TypeVar("T")


# -- wire helpers ----------------------------------------------------------------------------


def stamp(now: float) -> bytes:
    """``now`` as a UTCTimestamp with milliseconds, like Kalshi writes SendingTime."""
    dt = datetime.fromtimestamp(now, UTC)
    return dt.strftime("%Y%m%d-%H:%M:%S.").encode() + b"%03d" % (dt.microsecond // 1000)


def field_bytes(f: Field) -> bytes:
    tag, value = f
    return tag + SOH if value is None else tag + b"=" + value + SOH


def build_frame(body: Iterable[Field], begin: bytes = BEGIN_STRING) -> bytes:
    """A frame with ``8=begin``, a correct BodyLength(9) and CheckSum(10) around ``body``."""
    payload = b"".join(field_bytes(f) for f in body)
    head = b"8=" + begin + SOH + b"9=%d" % len(payload) + SOH + payload
    return head + b"10=%03d" % checksum(head) + SOH


def data_tags(dialect: ModuleType) -> dict[bytes, bytes]:
    """Length tag -> Data tag for the dialect's Length/Data pairs (95 -> 96, ...)."""
    table: dict[bytes, bytes] = generated_module(dialect)._DATA_TAGS
    return table


def split_fields(payload: bytes, lengths: dict[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    """Split ``tag=value<SOH>...`` into fields, reading Data fields by their declared length.

    Raises:
        ValueError: a field without '=' or a Data field that does not end where declared.
    """
    out: list[tuple[bytes, bytes]] = []
    pos = 0
    pending: tuple[bytes, int] | None = None
    while pos < len(payload):
        eq = payload.find(b"=", pos)
        soh = payload.find(SOH, pos)
        if eq < 0 or soh < 0 or soh < eq:
            raise ValueError(
                f"field at byte {pos} has no '=' or no SOH: {payload[pos : pos + 40]!r}"
            )
        tag = payload[pos:eq]
        if pending is not None and tag == pending[0]:
            end = eq + 1 + pending[1]
            if payload[end : end + 1] != SOH:
                raise ValueError(f"data field {tag!r} does not end at its declared length")
            out.append((tag, payload[eq + 1 : end]))
            pos = end + 1
            pending = None
            continue
        value = payload[eq + 1 : soh]
        out.append((tag, value))
        pending = None
        if tag in lengths and value.isdigit() and len(value) < 10:
            pending = (lengths[tag], int(value))
        pos = soh + 1
    return out


def frame_body(frame: bytes, lengths: dict[bytes, bytes]) -> list[Field]:
    """The fields of a (valid) frame between BodyLength(9) and CheckSum(10)."""
    fields = split_fields(frame, lengths)
    assert fields[0][0] == b"8" and fields[1][0] == b"9" and fields[-1][0] == b"10", frame
    return list(fields[2:-1])


_BODY_LENGTH = re.compile(rb"8=FIXT\.1\.1\x019=(0|[1-9][0-9]{0,8})\x01")
_TRAILER = re.compile(rb"10=([0-9]{3})\x01")
_TAG = re.compile(rb"[1-9][0-9]{0,8}")


class MalformedFrame(AssertionError):
    """A session wrote something that is not a well-formed FIX frame."""


def well_formed_frames(data: bytes, lengths: dict[bytes, bytes]) -> list[bytes]:
    """Cut what a session wrote into frames, checking each one strictly.

    Checks: ``8=FIXT.1.1`` first, BodyLength(9) second and exact, CheckSum(10) last and right,
    MsgType(35) third and non-empty, every tag a number, no empty value, MsgSeqNum(34) present
    once as an integer >= 1 (no sign, no leading zero), SenderCompID(49) / TargetCompID(56) /
    SendingTime(52) present.

    Raises:
        MalformedFrame: the first problem, with the offending bytes.
    """
    frames: list[bytes] = []
    pos = 0
    while pos < len(data):
        m = _BODY_LENGTH.match(data, pos)
        if m is None:
            raise MalformedFrame(
                f"no '8=FIXT.1.1<SOH>9=n<SOH>' at byte {pos}: {data[pos : pos + 60]!r}"
            )
        body_start = m.end()
        body_end = body_start + int(m.group(1))
        trailer = _TRAILER.match(data, body_end)
        if body_end > len(data) or data[body_end - 1 : body_end] != SOH or trailer is None:
            raise MalformedFrame(
                f"BodyLength {int(m.group(1))} is wrong: {data[pos : pos + 200]!r}"
            )
        frame = data[pos : trailer.end()]
        expected_sum = checksum(data[pos:body_end])
        if int(trailer.group(1)) != expected_sum:
            raise MalformedFrame(f"CheckSum {trailer.group(1)!r} != {expected_sum:03d}: {frame!r}")
        try:
            fields = split_fields(data[body_start:body_end], lengths)
        except ValueError as exc:
            raise MalformedFrame(f"{exc}: {frame!r}") from None
        if not fields or fields[0][0] != b"35" or not fields[0][1]:
            raise MalformedFrame(f"MsgType(35) is not the third field or is empty: {frame!r}")
        for tag, value in fields:
            if _TAG.fullmatch(tag) is None:
                raise MalformedFrame(f"invalid tag {tag!r}: {frame!r}")
            if not value:
                raise MalformedFrame(f"empty value for tag {tag.decode()}: {frame!r}")
        seqs = [value for tag, value in fields if tag == b"34"]
        if len(seqs) != 1:
            raise MalformedFrame(f"{len(seqs)} MsgSeqNum(34) fields: {frame!r}")
        if re.fullmatch(rb"[1-9][0-9]{0,18}", seqs[0]) is None or int(seqs[0]) >= 2**63:
            raise MalformedFrame(f"MsgSeqNum(34)={seqs[0]!r} is not an integer >= 1: {frame!r}")
        present = {tag for tag, _ in fields}
        for required in (b"49", b"56", b"52"):
            if required not in present:
                raise MalformedFrame(f"tag {required.decode()} missing: {frame!r}")
        frames.append(frame)
        pos = trailer.end()
    return frames


def field_value(
    frame: bytes, tag: bytes, lengths: dict[bytes, bytes] | None = None
) -> bytes | None:
    """The first value of ``tag`` in a well-formed frame, or None."""
    for t, v in split_fields(frame, lengths or {}):
        if t == tag:
            return v
    return None


def py_bytes(data: bytes) -> str:
    """A copy-pasteable Python expression for ``data``, runs of one byte written as ``b'9' * n``."""
    parts: list[str] = []
    literal = bytearray()
    i = 0
    while i < len(data):
        j = i
        while j < len(data) and data[j] == data[i]:
            j += 1
        if j - i >= 16:
            if literal:
                parts.append(repr(bytes(literal)))
                literal.clear()
            parts.append(f"{bytes(data[i : i + 1])!r} * {j - i}")
        else:
            literal += data[i:j]
        i = j
    if literal or not parts:
        parts.append(repr(bytes(literal)))
    return " + ".join(parts)


# -- the contract driver ---------------------------------------------------------------------


class ContractViolation(AssertionError):
    """Something other than RemoteProtocolError escaped, or a malformed frame was written."""


@dataclass
class ContractDriver:
    """Plays the peer of one session under test and enforces the fault contract on every call.

    The driver feeds bytes only while the session runs: after a `RemoteProtocolError` or a
    `CloseTransport` it stops (feeding then would be the caller's misuse), but it keeps calling
    the timer, deadline and output methods, which must stay quiet.
    """

    session: Session
    dialect: ModuleType
    peer_sender: str
    peer_target: str
    now: float = T0
    events: list[Event] = field(default_factory=list)
    written: list[bytes] = field(default_factory=list)
    error: RemoteProtocolError | None = None
    closed: bool = False
    steps: list[str] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.error is not None or self.closed

    @property
    def lengths(self) -> dict[bytes, bytes]:
        return data_tags(self.dialect)

    # -- enforcing the contract

    def _violation(self, call: str, exc: BaseException) -> ContractViolation:
        return ContractViolation(
            f"fault contract violated: {call} raised {type(exc).__name__}: {exc}\n"
            f"{self.reproducer()}"
        )

    def _guard(self, call: str, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except RemoteProtocolError as exc:
            self.error = self.error or exc
            return None
        except ContractViolation:
            raise
        except Exception as exc:
            raise self._violation(call, exc) from exc

    def reproducer(self) -> str:
        """The calls made on the session so far, as a script."""
        head = (
            f"session: {self.session.config.product} {self.session.config.session_type} "
            f"{self.session.config.role.value}; calls since it was set up (now0 = {T0!r}):"
        )
        return "\n".join([head, *(f"  {s}" for s in self.steps)])

    def collect(self) -> list[bytes]:
        """Drain ``data_to_send()`` and check every frame in it."""
        data = self._guard("data_to_send()", self.session.data_to_send)
        if data is None:
            return []
        if not isinstance(data, bytes):
            raise ContractViolation(
                f"data_to_send() returned {type(data).__name__}\n{self.reproducer()}"
            )
        try:
            frames = well_formed_frames(data, self.lengths)
        except MalformedFrame as exc:
            raise ContractViolation(
                f"the session wrote a malformed frame: {exc}\n{self.reproducer()}"
            ) from None
        self.written.extend(frames)
        return frames

    def pump(self) -> None:
        """``next_event()`` until NEED_DATA (or the session's error), then collect the output."""
        for _ in range(100_000):
            if self.error is not None:
                # the error stays: next_event() raises it again, and nothing else
                self._guard("next_event() after its RemoteProtocolError", self.session.next_event)
                break
            event = self._guard("next_event()", self.session.next_event)
            if event is None or event is NEED_DATA:
                break
            self.events.append(event)
            if isinstance(event, CloseTransport):
                self.closed = True
        else:  # pragma: no cover - a livelock is a failure of its own
            raise ContractViolation(f"next_event() never returned NEED_DATA\n{self.reproducer()}")
        self.collect()
        self.check_deadline()

    def check_deadline(self) -> float | None:
        deadline = self._guard("next_deadline()", self.session.next_deadline)
        if deadline is not None and not (
            isinstance(deadline, (int, float)) and math.isfinite(deadline)
        ):
            raise ContractViolation(f"next_deadline() returned {deadline!r}\n{self.reproducer()}")
        return deadline

    # -- inputs

    def feed(self, data: bytes, chunks: Sequence[int] = ()) -> None:
        """Deliver ``data`` (cut at the ``chunks`` offsets) and process it, if the session runs."""
        if self.ended:
            return
        cuts = sorted({c for c in chunks if 0 < c < len(data)})
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        for piece in pieces:
            self.steps.append(f"receive_data({py_bytes(piece)}, now0 + {self.now - T0!r})")
            self._guard(
                "receive_data()", functools.partial(self.session.receive_data, piece, self.now)
            )
            self.steps.append("events()")
            self.pump()
            if self.ended:
                return

    def eof(self) -> None:
        if self.ended:
            return
        self.steps.append(f"receive_data(b'', now0 + {self.now - T0!r})")
        self._guard("receive_data(b'')", lambda: self.session.receive_data(b"", self.now))
        self.pump()

    def timer(self, advance: float) -> None:
        """Move the clock, then ``next_deadline()`` / ``handle_timer(now)`` / ``events()``."""
        self.now += advance
        self.steps.append(f"handle_timer(now0 + {self.now - T0!r})")
        self.check_deadline()
        self._guard("handle_timer()", lambda: self.session.handle_timer(self.now))
        self.pump()

    def run_timers(self, rounds: int = 6) -> None:
        """Fire the timers the session asks for, ``rounds`` times (or until it ends)."""
        for _ in range(rounds):
            deadline = self.check_deadline()
            if deadline is None:
                self.timer(60.0)
                return
            self.timer(max(deadline - self.now, 0.0) + 0.001)

    def send_app(self, message: Any) -> None:
        """The application sends ``message`` (a LocalProtocolError here is the caller's own)."""
        if self.ended:
            return
        self.steps.append(f"send({type(message).__name__}(...), now0 + {self.now - T0!r})")
        try:
            self.session.send(message, self.now)
        except LocalProtocolError:
            pass
        except RemoteProtocolError as exc:  # pragma: no cover - send() does not read input
            self.error = self.error or exc
        except Exception as exc:
            raise self._violation("send()", exc) from exc
        self.collect()

    # -- what the peer would write

    @property
    def expected_seq(self) -> int:
        expected: int = self.session.next_target_seq
        return expected

    def header(self, msg_type: bytes, seq: int | bytes | None = None) -> list[Field]:
        """35, 49, 56, 34, 52 as the peer writes them, MsgSeqNum the one expected by default."""
        seq_value = (
            seq if isinstance(seq, bytes) else b"%d" % (self.expected_seq if seq is None else seq)
        )
        return [
            (b"35", msg_type),
            (b"49", self.peer_sender.encode()),
            (b"56", self.peer_target.encode()),
            (b"34", seq_value),
            (b"52", stamp(self.now)),
        ]

    def frame(
        self, msg_type: bytes, body: Sequence[Field] = (), seq: int | bytes | None = None
    ) -> bytes:
        return build_frame([*self.header(msg_type, seq), *body])

    # -- what the session wrote

    def written_types(self) -> list[bytes | None]:
        return [field_value(f, b"35", self.lengths) for f in self.written]

    def written_of_type(self, msg_type: bytes) -> list[bytes]:
        return [f for f in self.written if field_value(f, b"35", self.lengths) == msg_type]

    def event_types(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


# -- sessions in every state a peer can reach ------------------------------------------------


def logged_on(product: str, session_type: str, role: Role, **options: Any) -> ContractDriver:
    """A session of ``role`` logged on through an in-memory pair; the driver plays its peer."""
    pair = SessionPair.kalshi(product, session_type, api_key=API_KEY, now=T0, **options)
    pair.start()
    side = pair.client if role is Role.INITIATOR else pair.server
    other = pair.server if role is Role.INITIATOR else pair.client
    assert side.error is None and other.error is None, (side.error, other.error)
    assert side.session.state.value == other.session.state.value == "active", side.events
    if role is Role.INITIATOR:
        peer_sender, peer_target = KALSHI, API_KEY
    else:
        peer_sender, peer_target = API_KEY, session_type
    driver = ContractDriver(side.session, DIALECTS[product], peer_sender, peer_target, pair.now)
    driver.steps.append("(logged on through SessionPair.kalshi(...).start())")
    return driver


def awaiting_logon_answer(product: str, session_type: str, **options: Any) -> ContractDriver:
    """An initiator that sent its Logon; the driver plays Kalshi answering it."""
    signer, _public = new_ed25519_keys()
    config = SessionConfig(
        sender_comp_id=API_KEY,
        product=product,
        session_type=session_type,
        signer=signer,
        **options,
    )
    driver = started(config, KALSHI, API_KEY)
    driver.collect()
    return driver


def started(config: SessionConfig, peer_sender: str, peer_target: str) -> ContractDriver:
    """A session of ``config`` started at T0, the driver playing ``peer_sender``."""
    session = Session(config)
    driver = ContractDriver(session, DIALECTS[config.product], peer_sender, peer_target, T0)
    session.start(T0)
    driver.steps.append("start(now0)")
    return driver


@dataclass
class AcceptorUnderTest:
    """An acceptor waiting for a Logon, and the client key that signs Logons for it."""

    driver: ContractDriver
    signer: Any

    def logon(
        self,
        seq: bytes = b"1",
        heartbeat: bytes = b"30",
        extra: Sequence[Field] = (),
        reset: bool = True,
    ) -> bytes:
        """A client Logon signed over exactly the MsgSeqNum text ``seq``."""
        d = self.driver
        sent = stamp(d.now)
        payload = logon_payload(sent.decode(), 1, d.peer_sender, d.peer_target)
        # sign over the MsgSeqNum text exactly as written, whatever it is
        payload = payload.replace(b"\x01A\x011\x01", b"\x01A\x01" + seq + SOH, 1)
        sig = signature_b64(self.signer, payload).encode()
        body: list[Field] = [(b"98", b"0"), (b"108", heartbeat)]
        if reset:
            body.append((b"141", b"Y"))
        body += [(b"95", b"%d" % len(sig)), (b"96", sig), (b"1137", b"9"), *extra]
        return build_frame(
            [
                (b"35", b"A"),
                (b"49", d.peer_sender.encode()),
                (b"56", d.peer_target.encode()),
                (b"34", seq),
                (b"52", sent),
                *body,
            ]
        )


def awaiting_client_logon(product: str, session_type: str) -> AcceptorUnderTest:
    """An acceptor started and waiting; the driver plays the client."""
    signer, public = new_ed25519_keys()
    config = SessionConfig(
        sender_comp_id=KALSHI,
        product=product,
        session_type=session_type,
        role=Role.ACCEPTOR,
        public_keys={API_KEY: public},
    )
    return AcceptorUnderTest(started(config, API_KEY, session_type), signer)

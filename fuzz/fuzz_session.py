"""atheris harness: a logged-on `Session` (every session type, both products, both roles) fed
the peer's bytes.

The contract (docs/session.md, ``tests/test_fault_contract.py``): whatever the peer sends,
``receive_data``, ``next_event``, ``handle_timer``, ``next_deadline`` and ``data_to_send`` let
nothing but `RemoteProtocolError` escape (and ``next_event`` raises it again, and nothing else,
once raised); every frame the session writes is well formed: cut whole by the Framer,
MsgSeqNum(34) an integer >= 1, no empty value, SenderCompID, TargetCompID and SendingTime
present, and it decodes strictly with the session's dialect.

An input is ``<kind><flags><payload>``:

* kind: which session, an index into `KINDS` (product, session type, role), modulo its length;
* flags (bits): `PIPES` turns ``|`` into SOH; `FRAMES` cuts the payload into lines and makes a
  frame of each (BodyLength and CheckSum computed); `RESTAMP` (with FRAMES) writes the header
  the session expects (SenderCompID, TargetCompID, the next MsgSeqNum, SendingTime now), so
  the fuzzer reaches the application layer; `TIMERS` advances the clock between frames and
  fires the timers; `HALVES` feeds each frame in two pieces; `EOF` closes the connection at the
  end. Without FRAMES the payload is fed as it is.

    python fuzz/fuzz_session.py -max_total_time=28800 corpus/session seeds/session
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from types import ModuleType

from kalshi_fix_sansio import (
    NEED_DATA,
    CloseTransport,
    DecodeError,
    Frame,
    Framer,
    RemoteProtocolError,
    Role,
    Session,
    checksum,
    margin,
    prediction,
)
from kalshi_fix_sansio.codec.spec import SESSIONS
from kalshi_fix_sansio.simulator.testing import SessionPair

PIPES, FRAMES, RESTAMP, TIMERS, HALVES, EOF = 1, 2, 4, 8, 16, 32
KINDS: tuple[tuple[str, str, Role], ...] = tuple(
    (product, session_type, role)
    for product, session_type in sorted(SESSIONS)
    for role in (Role.INITIATOR, Role.ACCEPTOR)
)
DIALECTS: dict[str, ModuleType] = {"prediction": prediction, "margin": margin}
API_KEY = "key-1"
T0 = 1_800_000_000.0
SOH = b"\x01"
_SEQ = re.compile(rb"[1-9][0-9]{0,18}")


def kinds_of(product: str) -> list[int]:
    """The indexes of `KINDS` of one product."""
    return [i for i, kind in enumerate(KINDS) if kind[0] == product]


class Peer:
    """Plays the peer of one logged-on session and checks the contract on every call."""

    def __init__(self, product: str, session_type: str, role: Role) -> None:
        pair = SessionPair.kalshi(product, session_type, api_key=API_KEY, now=T0)
        pair.start()
        side = pair.client if role is Role.INITIATOR else pair.server
        assert side.error is None and side.session.state.value == "active", side.events
        self.session: Session = side.session
        self.dialect = DIALECTS[product]
        self.now = pair.now
        if role is Role.INITIATOR:
            self.sender, self.target = b"Kalshi", API_KEY.encode()
        else:
            self.sender, self.target = API_KEY.encode(), session_type.encode()
        self.error: RemoteProtocolError | None = None
        self.closed = False
        self.events: list[str] = []

    @property
    def ended(self) -> bool:
        return self.error is not None or self.closed

    def feed(self, data: bytes) -> None:
        if self.ended:
            return
        try:
            self.session.receive_data(data, self.now)
        except RemoteProtocolError as exc:
            self.error = exc
        self.pump()

    def timer(self, advance: float) -> None:
        self.now += advance
        try:
            self.session.next_deadline()
            self.session.handle_timer(self.now)
        except RemoteProtocolError as exc:
            self.error = self.error or exc
        self.pump()

    def pump(self) -> None:
        """``next_event()`` until NEED_DATA (or the error), then check what the session wrote."""
        for _ in range(100_000):
            try:
                event = self.session.next_event()
            except RemoteProtocolError as exc:
                if self.error is not None:
                    break  # raised again, as it must be
                self.error = exc
                continue
            assert self.error is None, f"next_event() returned {event!r} after its error"
            if event is NEED_DATA:
                break
            self.events.append(type(event).__name__)
            if isinstance(event, CloseTransport):
                self.closed = True
        else:  # pragma: no cover
            raise AssertionError("next_event() never returned NEED_DATA")
        check_written(self.session.data_to_send(), self.dialect)
        deadline = self.session.next_deadline()
        assert deadline is None or isinstance(deadline, (int, float)), deadline

    def stamp(self) -> bytes:
        moment = datetime.fromtimestamp(self.now, timezone.utc)
        return moment.strftime("%Y%m%d-%H:%M:%S.%f")[:-3].encode()

    def frame_of(self, line: bytes, restamp: bool) -> bytes:
        """A frame (BodyLength, CheckSum computed) of the fields of ``line``; with ``restamp``,
        the header the session expects."""
        fields = [piece for piece in line.split(SOH) if piece]
        drop = {b"8", b"9", b"10"} | ({b"49", b"56", b"34", b"52"} if restamp else set())
        kept = [f for f in fields if f.partition(b"=")[0] not in drop]
        head = [f for f in kept if f.startswith(b"35=")][:1]
        if restamp:
            head += [
                b"49=" + self.sender,
                b"56=" + self.target,
                b"34=%d" % self.session.next_target_seq,
                b"52=" + self.stamp(),
            ]
        body = b"".join(f + SOH for f in head + [f for f in kept if f not in head[:1]])
        message = b"8=FIXT.1.1\x019=%d\x01" % len(body) + body
        return message + b"10=%03d\x01" % checksum(message)


def check_written(data: bytes, dialect: ModuleType) -> None:
    """Every byte the session wrote belongs to a well-formed frame."""
    assert isinstance(data, bytes), type(data)
    if not data:
        return
    framer = Framer()
    framer.feed(data)
    for item in framer:
        assert isinstance(item, Frame), f"the session wrote garbled bytes: {item!r}"
        frame = item.data
        pieces = [piece.partition(b"=") for piece in frame.split(SOH)[:-1]]
        for tag, eq, value in pieces:  # (a value may hold '=': RefMsgType echoes what came)
            assert tag.isdigit() and eq and value, f"bad field {tag + eq + value!r}: {frame!r}"
        fields = {tag: value for tag, _, value in pieces[2:-1]}
        assert _SEQ.fullmatch(fields.get(b"34", b"")), f"MsgSeqNum: {frame!r}"
        assert int(fields[b"34"]) < 2**63, frame
        assert {b"35", b"49", b"56", b"52"} <= fields.keys(), frame
        try:
            dialect.decode(frame, verify=True).validate()
        except DecodeError as exc:  # pragma: no cover - a finding
            raise AssertionError(f"the session wrote a frame it cannot decode: {exc}") from exc
    assert framer.buffered == 0, f"the session wrote a partial frame: {data!r}"


def TestOneInput(data: bytes) -> None:
    play(data)


def play(data: bytes) -> Peer | None:
    """Run one input; the peer, for a look at what happened (None: input too short)."""
    if len(data) < 2:
        return None
    product, session_type, role = KINDS[data[0] % len(KINDS)]
    flags = data[1]
    payload = data[2:]
    if flags & PIPES:
        payload = payload.replace(b"|", SOH)
    peer = Peer(product, session_type, role)
    hb = float(peer.session.config.heartbeat_interval)
    lines = payload.split(b"\n") if flags & FRAMES else [payload]
    for n, line in enumerate(lines):
        if flags & TIMERS and n:
            peer.timer((0.5, 1.0, hb, 2.5 * hb)[n % 4])
        # a frame made when it is sent: with RESTAMP, it has the MsgSeqNum expected now
        chunk = peer.frame_of(line, bool(flags & RESTAMP)) if flags & FRAMES else line
        if flags & HALVES:
            peer.feed(chunk[: len(chunk) // 2])
            chunk = chunk[len(chunk) // 2 :]
        peer.feed(chunk)
    if flags & EOF:
        peer.feed(b"")
    for _ in range(3):  # let the timers run out
        deadline = peer.session.next_deadline()
        peer.timer(60.0 if deadline is None else max(deadline - peer.now, 0.0) + 0.001)
    return peer


if __name__ == "__main__":
    from fuzz_support import run

    run(TestOneInput)

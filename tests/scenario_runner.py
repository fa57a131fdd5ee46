"""Runner for session scenario files (tests/scenarios/*.scn).

A scenario is a text file of directives, one per line (``#`` starts a comment):

``config key=value ...``
    Session config: ``product`` (prediction|margin), ``session`` (KalshiNR...), ``role``
    (initiator|acceptor), ``hb`` (HeartBtInt), ``reset`` (Y|N|default), ``tolerance`` (seconds or
    none), ``validate`` (Y|N), ``listener`` (Y|N: listener + SkipPendingExecReports), and any
    other SessionConfig boolean/int field by name (``use_dollars=Y``). Must come first.
``start``
    ``session.start(now)``.
``time +N`` / ``time N``
    Move the clock forward by N seconds / to T0+N (no timer fired).
``timer``
    ``session.handle_timer(now)``.
``in 35=X|34=N|...``
    Deliver one frame from the peer. 8, 9 and 10 are computed; 49, 56 and 52 are filled in
    (peer's CompIDs, SendingTime = now) unless given. Values may use ``{now}`` or
    ``{now-N}`` / ``{now+N}`` for a SendingTime relative to the clock.
``in-raw TEXT``
    Deliver bytes as written (``|`` = SOH), e.g. a frame with a bad CheckSum.
``in-logon k=v ...``
    (acceptor scenarios) a correctly signed client Logon; ``seq``, ``hb``, ``reset`` (Y|N),
    ``badsig``, ``key`` (API key id), ``skew`` (seconds added to SendingTime), ``omit`` (tags
    left out, comma-separated), and extra ``tag=value`` fields.
``eof``
    ``receive_data(b"", now)``.
``send Name attr=value ...``
    ``session.send(dialect.Name(...), now)`` (values typed by the field; Decimal for prices);
    ``send! Name ...`` expects a LocalProtocolError whose text contains the rest after ``!!``.
    ``Name`` may be qualified as ``prediction.Name`` / ``margin.Name`` to build the message
    from the other product's dialect (e.g. an RFQ message offered to a margin session).
``logout [text]``
    ``session.logout(now, text)``.
``out 35=X|34=N|tag=*|!tag``
    The next outbound frame must have these fields (``*`` any value, ``!tag`` absent).
``no-out``
    No outbound frame is pending.
``event Name attr=value ...``
    The next event must be of this class, with these attributes (compared as strings). An
    attribute may be a dotted path into the event, e.g. ``message.cl_ord_id=c1`` or
    ``message.price=0.50`` (the decoded message of an ApplicationMessage).
``no-event``
    ``next_event()`` returns NEED_DATA.
``error TEXT``
    ``next_event()`` raises RemoteProtocolError containing TEXT.
``deadline N``
    ``next_deadline()`` equals T0+N (``deadline none`` for None).
``seqs S T``
    next sender seq is S, next target seq is T.
"""

from __future__ import annotations

import shlex
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from kalshi_fix_sansio import Framer, checksum, margin, prediction
from kalshi_fix_sansio.codec.errors import LocalProtocolError, RemoteProtocolError
from kalshi_fix_sansio.codec.spec import FIELDS
from kalshi_fix_sansio.session.auth import Ed25519Signer, logon_payload, signature_b64
from kalshi_fix_sansio.session.config import KALSHI_COMP_ID, Role, SessionConfig
from kalshi_fix_sansio.session.events import NEED_DATA
from kalshi_fix_sansio.session.machine import Session, sending_time

T0 = 1_800_000_000.0
API_KEY = "key-1"
# a fixed key so scenario files are reproducible (generated once, for tests only)
_SEED = bytes(range(32))


def utc_timestamp(moment: datetime) -> str:
    """SendingTime(52) text of an aware UTC datetime, in milliseconds as the session writes
    it (microseconds when it has them)."""
    text = moment.strftime("%Y%m%d-%H:%M:%S.%f")
    return text if moment.microsecond % 1000 else text[:-3]


def _signer() -> Ed25519Signer:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return Ed25519Signer(ed25519.Ed25519PrivateKey.from_private_bytes(_SEED))


class ScenarioError(AssertionError):
    """A scenario step did not hold."""


@dataclass
class Runner:
    path: Path
    now: float = T0
    session: Session | None = None
    dialect: Any = prediction
    out: deque[bytes] = field(default_factory=deque)
    framer: Framer = field(default_factory=Framer)
    peer: str = KALSHI_COMP_ID
    me: str = API_KEY
    role: Role = Role.INITIATOR
    line_no: int = 0

    # -- helpers ----------------------------------------------------------------------------

    def fail(self, text: str) -> ScenarioError:
        return ScenarioError(f"{self.path.name}:{self.line_no}: {text}")

    def expand(self, value: str) -> str:
        if value.startswith("{now") and value.endswith("}"):
            inner = value[4:-1]
            offset = float(inner) if inner else 0.0
            return utc_timestamp(sending_time(self.now + offset))
        return value

    def frame(self, spec: str, fill: bool = True) -> bytes:
        pairs = [p.split("=", 1) for p in spec.strip().strip("|").split("|") if p]
        pairs = [(t, self.expand(v)) for t, v in pairs]
        if pairs[0][0] != "35":
            raise self.fail("an 'in' frame starts with 35=")
        tags = {t for t, _ in pairs}
        head = [pairs[0]]
        if fill:
            if "49" not in tags:
                head.append(("49", self.peer))
            if "56" not in tags:
                head.append(("56", self.me))
            if "52" not in tags:
                head.append(("52", utc_timestamp(sending_time(self.now))))
        body = "".join(f"{t}={v}\x01" for t, v in head + pairs[1:]).encode()
        msg = b"8=FIXT.1.1\x019=%d\x01" % len(body) + body
        return msg + b"10=%03d\x01" % checksum(msg)

    def collect_out(self) -> None:
        assert self.session is not None
        data = self.session.data_to_send()
        if data:
            self.framer.feed(data)
            for item in self.framer:
                if not hasattr(item, "data"):
                    raise self.fail(f"the session wrote a garbled frame: {item}")
                self.out.append(item.data)

    def deliver(self, data: bytes) -> None:
        assert self.session is not None
        self.session.receive_data(data, self.now)

    # -- directives -------------------------------------------------------------------------

    def d_config(self, args: list[str]) -> None:
        opts = dict(a.split("=", 1) for a in args)
        product = opts.pop("product", "prediction")
        self.dialect = prediction if product == "prediction" else margin
        session_type = opts.pop("session", "KalshiNR")
        role = Role(opts.pop("role", "initiator"))
        self.role = role
        kwargs: dict[str, Any] = {
            "product": product,
            "session_type": session_type,
            "role": role,
            "heartbeat_interval": int(opts.pop("hb", "30")),
        }
        reset = opts.pop("reset", "default")
        if reset != "default":
            kwargs["reset_seq_num"] = reset == "Y"
        tol = opts.pop("tolerance", None)
        if tol is not None:
            kwargs["sending_time_tolerance"] = None if tol == "none" else float(tol)
        if opts.pop("validate", "Y") == "N":
            kwargs["validate_messages"] = False
        if opts.pop("listener", "N") == "Y":
            kwargs["listener_session"] = True
            kwargs["skip_pending_exec_reports"] = True
        for k, v in opts.items():
            kwargs[k] = v == "Y" if v in ("Y", "N") else int(v)
        signer = _signer()
        if role is Role.INITIATOR:
            kwargs["sender_comp_id"] = API_KEY
            kwargs["signer"] = signer
            self.peer, self.me = KALSHI_COMP_ID, API_KEY
        else:
            kwargs["sender_comp_id"] = KALSHI_COMP_ID
            kwargs["public_keys"] = {API_KEY: signer.public_key()}
            self.peer, self.me = API_KEY, session_type
        self.session = Session(SessionConfig(**kwargs))

    def d_start(self, args: list[str]) -> None:
        assert self.session is not None
        self.session.start(self.now)

    def d_time(self, args: list[str]) -> None:
        value = args[0]
        self.now = self.now + float(value[1:]) if value.startswith("+") else T0 + float(value)

    def d_timer(self, args: list[str]) -> None:
        assert self.session is not None
        self.session.handle_timer(self.now)

    def d_in(self, args: list[str], raw_line: str = "") -> None:
        self.deliver(self.frame(raw_line))

    def d_in_raw(self, args: list[str], raw_line: str = "") -> None:
        self.deliver(raw_line.replace("|", "\x01").encode())

    def d_in_logon(self, args: list[str]) -> None:
        opts = dict(a.split("=", 1) if "=" in a else (a, "Y") for a in args)
        seq = int(opts.pop("seq", "1"))
        key = opts.pop("key", API_KEY)
        skew = float(opts.pop("skew", "0"))
        stamp = utc_timestamp(sending_time(self.now + skew))
        target = opts.pop("target", self.me)
        sig = signature_b64(_signer(), logon_payload(stamp, seq, key, target))
        if opts.pop("badsig", None):
            sig = signature_b64(_signer(), logon_payload(stamp, seq + 1, key, target))
        fields = [
            ("35", "A"),
            ("49", key),
            ("56", target),
            ("34", str(seq)),
            ("52", stamp),
            ("98", "0"),
            ("108", opts.pop("hb", "30")),
            ("96", sig),
            ("1137", "9"),
        ]
        reset = opts.pop("reset", "Y")
        if reset == "Y":
            fields.append(("141", "Y"))
        omit = set(opts.pop("omit", "").split(","))  # e.g. omit=108,1137
        fields = [(t, v) for t, v in fields if t not in omit]
        fields += list(opts.items())
        self.deliver(self.frame("|".join(f"{t}={v}" for t, v in fields), fill=False))

    def d_eof(self, args: list[str]) -> None:
        self.deliver(b"")

    def _typed(self, cls: Any, attr: str, value: str) -> Any:
        info = next((f for f in cls._FIELDS if f.attr == attr), None)
        if info is None:
            raise self.fail(f"{cls.__name__} has no attribute {attr}")
        ftype = FIELDS[info.tag].type
        if ftype in ("PRICE", "QTY", "AMT", "FLOAT"):
            return Decimal(value)
        if ftype in ("INT", "SEQNUM", "LENGTH"):
            return int(value)
        if ftype == "BOOLEAN":
            return value == "Y"
        return value

    def _message_class(self, name: str) -> Any:
        dialect = self.dialect
        if "." in name:
            product, _, name = name.partition(".")
            dialect = {"prediction": prediction, "margin": margin}.get(product)
            if dialect is None:
                raise self.fail(f"unknown product {product!r} in send")
        cls = getattr(dialect, name, None)
        if cls is None:
            raise self.fail(f"{dialect.__name__} has no message {name!r}")
        return cls

    def d_send(self, args: list[str], expect_error: str | None = None) -> None:
        assert self.session is not None
        cls = self._message_class(args[0])
        kwargs = {}
        for a in args[1:]:
            k, v = a.split("=", 1)
            kwargs[k] = self._typed(cls, k, v)
        msg = cls(**kwargs)
        if expect_error is None:
            self.session.send(msg, self.now)
            return
        try:
            self.session.send(msg, self.now)
        except LocalProtocolError as exc:
            if expect_error not in str(exc):
                raise self.fail(f"send raised {exc!r}, expected text {expect_error!r}") from None
            return
        raise self.fail("send did not raise")

    def d_logout(self, args: list[str]) -> None:
        assert self.session is not None
        self.session.logout(self.now, " ".join(args) or None)

    def d_out(self, args: list[str], raw_line: str = "") -> None:
        self.collect_out()
        if not self.out:
            raise self.fail(f"expected an outbound frame {raw_line!r}, none was sent")
        frame = self.out.popleft()
        pairs = dict(p.split("=", 1) for p in frame.decode().split("\x01") if p)
        for want in raw_line.strip().strip("|").split("|"):
            if not want:
                continue
            if want.startswith("!"):
                if want[1:] in pairs:
                    raise self.fail(f"tag {want[1:]} should be absent in {frame!r}")
                continue
            tag, value = want.split("=", 1)
            value = self.expand(value)
            if tag not in pairs:
                raise self.fail(f"tag {tag} missing in outbound {frame!r}")
            if value != "*" and pairs[tag] != value:
                raise self.fail(f"tag {tag} is {pairs[tag]!r}, expected {value!r} in {frame!r}")

    def d_no_out(self, args: list[str]) -> None:
        self.collect_out()
        if self.out:
            raise self.fail(f"unexpected outbound frame {self.out[0]!r}")

    def d_event(self, args: list[str]) -> None:
        assert self.session is not None
        ev = self.session.next_event()
        if ev is NEED_DATA or type(ev).__name__ != args[0]:
            raise self.fail(f"expected event {args[0]}, got {ev!r}")
        for a in args[1:]:
            k, v = a.split("=", 1)
            got = ev
            for part in k.split("."):
                got = getattr(got, part)
            got_s = str(got.value if hasattr(got, "value") else got)
            if got_s != v and not (v.endswith("*") and got_s.startswith(v[:-1])):
                raise self.fail(f"event {args[0]}.{k} is {got_s!r}, expected {v!r}")

    def d_no_event(self, args: list[str]) -> None:
        assert self.session is not None
        ev = self.session.next_event()
        if ev is not NEED_DATA:
            raise self.fail(f"expected no event, got {ev!r}")

    def d_error(self, args: list[str], raw_line: str = "") -> None:
        assert self.session is not None
        try:
            ev = self.session.next_event()
        except RemoteProtocolError as exc:
            if raw_line.strip() not in str(exc):
                raise self.fail(f"error {exc!r} lacks {raw_line.strip()!r}") from None
            return
        raise self.fail(f"expected RemoteProtocolError, got {ev!r}")

    def d_deadline(self, args: list[str]) -> None:
        assert self.session is not None
        got = self.session.next_deadline()
        want = None if args[0] == "none" else T0 + float(args[0])
        if got != want:
            raise self.fail(f"next_deadline() is {got}, expected {want}")

    def d_seqs(self, args: list[str]) -> None:
        assert self.session is not None
        got = (self.session.next_sender_seq, self.session.next_target_seq)
        want = (int(args[0]), int(args[1]))
        if got != want:
            raise self.fail(f"(next sender, next target) is {got}, expected {want}")

    def run(self) -> None:
        raw_directives = {"in", "in-raw", "out", "error"}
        for line_no, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            self.line_no = line_no
            line = (
                line.split(" #", 1)[0].strip()
                if not line.lstrip().startswith("in-raw")
                else line.strip()
            )
            if not line or line.startswith("#"):
                continue
            word, _, rest = line.partition(" ")
            if word == "send!":
                body, _, text = rest.partition("!!")
                self.d_send(shlex.split(body), expect_error=text.strip())
                continue
            handler = getattr(self, "d_" + word.replace("-", "_"), None)
            if handler is None:
                raise self.fail(f"unknown directive {word!r}")
            if word in raw_directives:
                handler([], raw_line=rest)
            else:
                handler(shlex.split(rest))
        # every scenario must account for all output and events
        self.d_no_out([])


def run_scenario(path: Path) -> None:
    """Run one scenario file; raise ScenarioError naming the line on failure."""
    Runner(path).run()

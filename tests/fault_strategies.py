"""The fault contract of issue 9, section 3, as reusable test machinery: what the peer sends.

Hypothesis strategies for a `fault_driver.ContractDriver`'s peer: admin and application frames
of the dialect, mutations of them (absurd values, dropped / duplicated / swapped fields, another
MsgType...), arbitrary bytes. The driver, the wire helpers and the session factories are in
fault_driver.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fault_driver import ADMIN_TYPES, DIALECTS, SOH, UTC, ContractDriver, Field, frame_body, stamp
from hypothesis import strategies as st
from strategies import messages, text_values

from kalshi_fix_sansio import Header, Role
from kalshi_fix_sansio.codec.spec import SESSIONS

# -- values and mutations --------------------------------------------------------------------

NON_UTF8 = (b"\xff", b"\xc3\x28", b"\x80abc", b"ok\xfe\xff")
ABSURD_INTEGERS = (
    b"0",
    b"-1",
    b"-5",
    b"-" + b"9" * 30,
    b"9" * 19,
    b"9223372036854775807",  # 2**63 - 1
    b"9223372036854775808",  # 2**63
    b"18446744073709551616",  # 2**64
    b"9" * 400,
    b"9" * 5000,
    b"+3",
    b" 3",
    b"3_0",
    b"03",
    b"1e3",
    b"1.5",
    b"NaN",
    b"inf",
    b"\xd9\xa3",  # ARABIC-INDIC DIGIT THREE
    b"x",
    b"",
)
"""Values that are not a usable integer, or are one far outside any sensible range."""

absurd_values: st.SearchStrategy[bytes] = st.one_of(
    st.sampled_from(ABSURD_INTEGERS),
    st.sampled_from(ABSURD_INTEGERS),
    st.sampled_from(NON_UTF8),
    st.sampled_from(NON_UTF8),
    st.just(b""),
    st.binary(min_size=1, max_size=24).map(lambda b: b.replace(SOH, b"?")),
    st.integers(1, 5000).map(lambda n: b"7" * n),
    st.just(b"x" * 5000),
)
"""Bytes (never SOH) to put where a value goes."""

_TEXT = text_values.map(lambda s: s.encode("utf-8"))


def seq_values(expected: int, ours: int) -> st.SearchStrategy[bytes]:
    """Sequence numbers near the session's own counters, and sometimes absurd ones."""
    near = st.sampled_from(
        sorted(
            {
                1,
                max(expected - 1, 1),
                expected,
                expected + 1,
                expected + 3,
                max(ours - 1, 1),
                ours,
                ours + 2,
            }
        )
    ).map(lambda n: b"%d" % n)
    return st.one_of(near, near, near, st.sampled_from(ABSURD_INTEGERS))


def admin_bodies(msg_type: bytes, expected: int, ours: int) -> st.SearchStrategy[list[Field]]:
    """Bodies of the session messages, mostly sensible for the session's current counters."""
    seq = seq_values(expected, ours)
    text = st.one_of(_TEXT, _TEXT, st.sampled_from(NON_UTF8), st.just(b""))

    def maybe(tag: bytes, values: st.SearchStrategy[bytes]) -> st.SearchStrategy[list[Field]]:
        return st.one_of(st.just([]), values.map(lambda v: [(tag, v)]))

    def join(*parts: list[Field]) -> list[Field]:
        return [f for part in parts for f in part]

    if msg_type == b"0":
        return maybe(b"112", text)
    if msg_type == b"1":
        return text.map(lambda v: [(b"112", v)])
    if msg_type == b"2":
        return st.builds(lambda b, e: [(b"7", b), (b"16", e)], seq, st.one_of(st.just(b"0"), seq))
    if msg_type == b"4":
        flag = st.sampled_from([[], [(b"123", b"Y")], [(b"123", b"N")]])
        return st.builds(join, flag, seq.map(lambda v: [(b"36", v)]))
    if msg_type == b"3":
        return st.builds(
            join,
            seq.map(lambda v: [(b"45", v)]),
            maybe(b"371", st.sampled_from([b"34", b"58", b"9" * 30])),
            maybe(b"372", st.sampled_from([b"D", b"0", b"ZZ", b""])),
            maybe(b"373", st.sampled_from([b"1", b"5", b"99", b"-1"])),
            maybe(b"58", text),
        )
    if msg_type == b"5":
        return maybe(b"58", text)
    if msg_type == b"A":
        return st.builds(
            join,
            st.just([(b"98", b"0")]),
            st.sampled_from([b"30", b"4", b"0", b"-30", b"9" * 400]).map(lambda v: [(b"108", v)]),
            st.sampled_from([[], [(b"141", b"Y")], [(b"141", b"N")]]),
            st.just([(b"1137", b"9")]),
        )
    raise ValueError(msg_type)


def app_types(product: str, session_type: str, role: Role) -> list[str]:
    """What the peer of a ``role`` session of this type sends (from the spec)."""
    spec = SESSIONS[(product, session_type)]
    types = spec.receive if role is Role.INITIATOR else spec.send
    return [t for t in types if t in DIALECTS[product].MESSAGES]


@st.composite
def app_body(
    draw: st.DrawFn, driver: ContractDriver, msg_types: Sequence[str]
) -> tuple[bytes, list[Field]]:
    """An application message of the dialect, encoded as the peer would, split into fields."""
    dialect = driver.dialect
    every = [
        t for t, c in dialect.MESSAGES.items() if c.CATEGORY != "admin" and t not in ADMIN_TYPES
    ]
    msg_type = draw(st.one_of(st.sampled_from(list(msg_types) or every), st.sampled_from(every)))
    message = draw(messages(dialect, dialect.MESSAGES[msg_type]))
    header = Header(
        sender_comp_id=driver.peer_sender,
        target_comp_id=driver.peer_target,
        msg_seq_num=1,
        sending_time=datetime.fromtimestamp(driver.now, UTC),
    )
    frame = dialect.encode(message, header, use_dollars=driver.session.config.dollars)
    body = frame_body(frame, driver.lengths)
    # the header is rebuilt by the caller; keep what follows it
    rest = [f for f in body if f[0] not in (b"35", b"49", b"56", b"34", b"52")]
    return msg_type.encode(), rest


@st.composite
def valid_frame_parts(
    draw: st.DrawFn, driver: ContractDriver, msg_types: Sequence[str]
) -> list[Field]:
    """A frame's fields (8, 9 and 10 left out) of an admin or application message."""
    expected = driver.expected_seq
    ours = driver.session.next_sender_seq
    if draw(st.integers(0, 9)) < 5:
        msg_type = draw(st.sampled_from([t.encode() for t in ADMIN_TYPES]))
        body = draw(admin_bodies(msg_type, expected, ours))
    else:
        msg_type, body = draw(app_body(driver, msg_types))
    # mostly in sequence: a gap ends a session without retransmission, so keep them rarer
    if draw(st.integers(0, 9)) == 0:
        seq = draw(st.sampled_from([expected + 1, expected + 2, max(expected - 1, 1)]))
    else:
        seq = expected
    head = driver.header(msg_type, seq)
    if draw(st.integers(0, 9)) == 0:  # a possible duplicate, with or without OrigSendingTime
        head.append((b"43", b"Y"))
        if draw(st.booleans()):
            head.append((b"122", stamp(driver.now - 1)))
    return [*head, *body]


ALL_MSG_TYPES: list[bytes] = sorted({t.encode() for d in DIALECTS.values() for t in d.MESSAGES})
msg_type_values: st.SearchStrategy[bytes] = st.one_of(
    st.sampled_from(ALL_MSG_TYPES),
    st.sampled_from([b"", b"ZZ", b"\xff", b"0" * 40, b"A\xc3"]),
)
tag_values: st.SearchStrategy[bytes] = st.one_of(
    st.sampled_from(
        [
            b"34",
            b"35",
            b"49",
            b"56",
            b"52",
            b"43",
            b"122",
            b"7",
            b"16",
            b"36",
            b"45",
            b"108",
            b"112",
            b"123",
            b"141",
            b"58",
            b"95",
            b"96",
            b"373",
            b"9",
            b"10",
            b"8",
            b"1137",
            b"50",
        ]
    ),
    st.integers(1, 99_999).map(lambda n: b"%d" % n),
    st.sampled_from([b"0", b"055", b"", b"x", b"9" * 12, b"-1", b"\xff"]),
)


HEADER_SIZE = 5  # 35, 49, 56, 34, 52 (PossDupFlag / OrigSendingTime may follow)
MUTATIONS = [
    *["body value"] * 5,
    "header value",
    "drop",
    "duplicate",
    "swap",
    "msg_type",
    "insert",
    "no_equals",
    "move_to_end",
]


@st.composite
def mutated(draw: st.DrawFn, fields: list[Field]) -> list[Field]:
    """``fields`` with one to three mutations applied (BodyLength and CheckSum fixed later).

    Mostly a body value is replaced (that reaches the message's own handling); header fields,
    structure and MsgType are mutated too, less often (most of those end the session).
    """
    out = list(fields)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(MUTATIONS))
        if not out:
            out.append((b"35", draw(msg_type_values)))
            continue
        if kind == "body value" and len(out) > HEADER_SIZE:
            i = draw(st.integers(HEADER_SIZE, len(out) - 1))
        else:
            i = draw(st.integers(0, len(out) - 1))
        tag, value = out[i]
        if kind in ("body value", "header value"):
            out[i] = (tag, draw(absurd_values))
        elif kind == "drop":
            del out[i]
        elif kind == "duplicate":
            j = draw(st.integers(0, len(out)))
            replacement = draw(st.one_of(st.just(value), absurd_values))
            out.insert(j, (tag, replacement))
        elif kind == "swap":
            j = draw(st.integers(0, len(out) - 1))
            out[i], out[j] = out[j], out[i]
        elif kind == "msg_type":
            out = [(t, draw(msg_type_values)) if t == b"35" else (t, v) for t, v in out]
        elif kind == "insert":
            j = draw(st.integers(0, len(out)))
            out.insert(j, (draw(tag_values), draw(st.one_of(absurd_values, _TEXT))))
        elif kind == "no_equals":
            out[i] = (tag + (value or b""), None)
        elif kind == "move_to_end":
            out.append(out.pop(i))
    return out


fix_tokens: st.SearchStrategy[bytes] = st.sampled_from(
    [
        b"8=FIXT.1.1\x01",
        b"9=",
        b"9=5\x01",
        b"35=0\x01",
        b"34=",
        b"10=000\x01",
        b"\x01",
        b"=",
        b"8=FIX.4.4\x01",
        b"95=3\x01",
        b"96=",
        b"9" * 20,
        b"10=",
    ]
)
arbitrary_chunks: st.SearchStrategy[bytes] = st.one_of(
    st.binary(min_size=1, max_size=200),
    st.lists(st.one_of(fix_tokens, st.binary(max_size=6)), min_size=1, max_size=20).map(b"".join),
).filter(bool)
"""Byte chunks: random, or random-but-FIX-shaped."""

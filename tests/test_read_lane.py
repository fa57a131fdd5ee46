# private: the session's inbound part (`session._inbound`), told the store is not a plain
# `MemoryStore` so that its lane asks the store's methods
"""A client's read of one whole frame (`Session.read`, whose clean application message in its
turn takes `Inbound.read_app`'s lane) held to the general path (`receive_data`, then
`next_event`): frame by frame, the same events, the same bytes written, the same numbers and
the same state, for frames the lane takes and every kind it hands on (a session message, a
35=j, a number too high or too low, a possible duplicate, another CompID, a SendingTime out of
the window, a value out of its form, a frame with a wrong CheckSum or a byte short, a store that
fails).

(It reads the session's inbound part's ``last_rx`` and wraps its ``_read_app`` to count the
frames the lane took; `MemoryStore.set_next_target_seq` is made to fail, and the private module
``kalshi_fix_sansio.session._inbound`` is told that the session's store is not a plain
`MemoryStore`, so that the lane asks the store's methods as it asks any other store's: a plain
one's number is read and set inline, and it cannot fail.)
"""

from __future__ import annotations

from typing import Any

import pytest
from strategies import forget_layouts
from test_differential_check import _reads
from test_session import logged_on

from kalshi_fix_sansio.session import _inbound
from kalshi_fix_sansio.session.events import NEED_DATA
from kalshi_fix_sansio.session.store import MemoryStore, StoreError

_BODY = "6=0|11=c|14=0|17=1;1|37=o|38=1|39=0|54=1|55=X|150=0|151={leaves}"


def _report(seq: int | str, leaves: str = "1", head: str = "") -> str:
    return f"35=8|34={seq}|{head}" + _BODY.format(leaves=leaves)


def _seen(events: list[Any]) -> list[Any]:
    return [
        (
            type(e).__name__,
            getattr(e, "seq_num", None),
            getattr(e, "poss_dup", None),
            getattr(e, "defects", None),
            getattr(e, "raw", None),
            _reads(e.message) if hasattr(e, "message") else None,
        )
        for e in events
    ]


def _drain(session: Any) -> list[Any]:
    out = []
    while True:
        try:
            event = session.next_event()
        except Exception as exc:  # the session's end, as it raises it
            out.append((type(exc).__name__, str(exc)))
            return out
        if event is NEED_DATA:
            return out
        out.append(event)


def _run(specs: list[Any], lane: bool, fail_at: int | None = None) -> tuple[list[Any], int]:
    """What a logged-on session makes of each frame (``lane``: read by `Session.read`, else
    by `receive_data`), and how many took the lane (`Inbound.read_app` returned their event). A frame's spec is
    its text, or its text, its SenderCompID, how much older its SendingTime is than the read
    (the header's places as in every other frame) and its damage ("checksum": a wrong
    CheckSum, "short": a byte short, its head the same)."""
    forget_layouts()  # the first frame teaches the codec its layout, on either path
    r = logged_on("session=KalshiNR")
    session = r.session
    assert session is not None
    out: list[Any] = []
    taken: list[Any] = []
    read_app = session._read_app
    session._read_app = lambda frame, *handed: taken.append(read_app(frame, *handed)) or taken[-1]
    for i, spec in enumerate(specs):
        full = (spec, r.peer, 0.0, "") if isinstance(spec, str) else (*spec, "")[:4]
        text, peer, older, damage = full
        r.peer, r.now, kept = peer, r.now - older, r.peer
        frame = r.frame(text)
        if damage == "checksum":
            frame = frame[:-4] + b"%03d\x01" % ((int(frame[-4:-1]) + 1) % 256)
        elif damage == "short":  # the same head, a byte short: the framer waits for more
            frame = frame[:40] + frame[41:]
        r.peer, r.now = kept, r.now + older
        MemoryStore.fail_target = i == fail_at  # type: ignore[attr-defined]
        if session.state.value in ("closed", "failed"):
            break  # the session ended: a read raises (`receive_data`'s error)
        if lane:
            event = session.read(frame, r.now)
            events = ([event] if event is not None else []) + _drain(session)
        else:
            session.receive_data(frame, r.now)
            events = _drain(session)
        MemoryStore.fail_target = False  # type: ignore[attr-defined]
        out.append(
            [
                [e if isinstance(e, tuple) else _seen([e])[0] for e in events],
                session.data_to_send(),
                session.next_target_seq,
                session._inbound.last_rx,
                session.state,
            ]
        )
        r.now += 0.5
    return out, sum(e is not None for e in taken)


@pytest.fixture(autouse=True)
def _failing_store(monkeypatch: pytest.MonkeyPatch) -> None:
    real = MemoryStore.set_next_target_seq

    def set_next_target_seq(self: MemoryStore, seq: int) -> None:
        if getattr(MemoryStore, "fail_target", False):
            raise StoreError("the disk is full")
        real(self, seq)

    monkeypatch.setattr(MemoryStore, "fail_target", False, raising=False)
    monkeypatch.setattr(MemoryStore, "set_next_target_seq", set_next_target_seq)
    # the lane's inline number is a plain `MemoryStore`'s: this one's methods are asked
    monkeypatch.setattr(_inbound, "MemoryStore", type("NotThisStore", (), {}))


CASES = {
    "clean in turn": [_report(2), _report(3), _report(4), _report(5, "0.5"), _report(6)],
    "a session message, a 35=j": [
        _report(2),
        "35=0|34=3",
        _report(4),
        "35=j|34=5|45=2|372=D|380=8|58=slow down",
        "35=j|34=6|45=2|372=D|380=8|58=slow down",
        _report(7),
    ],
    "a number too high, then the gap": [_report(2), _report(3), _report(6), _report(4)],
    "a number too low": [_report(2), _report(3), _report(3)],
    "a possible duplicate": [
        _report(2),
        _report(3),
        _report(2, head="43=Y|122=20270115-08:00:00.000|"),
        _report(4),
    ],
    "another SenderCompID": [_report(2), _report(3), (_report(4), "Other", 0.0), _report(5)],
    "a SendingTime out of the window": [
        _report(2),
        _report(3),
        (_report(4), "Kalshi", 30.0),
        (_report(5), "Kalshi", 3600.0),
        _report(6),
    ],
    "a damaged frame": [
        _report(2),
        _report(3),
        (_report(4), "Kalshi", 0.0, "checksum"),
        _report(4),
        (_report(5), "Kalshi", 0.0, "short"),
        _report(5),
        _report(6),
    ],
    "a value out of its form": [_report(2), _report(3), _report(4, "x"), _report(5)],
    "MsgSeqNum not a number": [_report(2), _report(3), _report("4a")],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_read_makes_what_the_general_path_makes(name: str) -> None:
    specs = CASES[name]
    lane, quick = _run(specs, True)
    assert lane == _run(specs, False)[0]
    if name == "clean in turn":
        # every frame after the layout's first two (the second finds its header's places)
        assert quick == 3


def test_a_store_that_fails_loses_no_message() -> None:
    """The store fails as the lane consumes the message's number: the message is delivered
    (before the session's end), as the general path delivers it."""
    specs = [_report(2), _report(3), _report(4), _report(5), _report(6)]
    lane, quick = _run(specs, True, fail_at=3)
    assert lane == _run(specs, False, fail_at=3)[0]
    assert quick == 1  # the third frame took the lane; the fourth's raised in it
    events = lane[3][0]
    assert events[0][0] == "ApplicationMessage" and events[0][1] == 5
    assert events[-1][0] == "StoreError"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_plain_memory_store_is_numbered_inline_as_its_methods_number_it(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane reads and sets a plain `MemoryStore`'s next inbound number itself: frame by
    frame, the same events, bytes, numbers and state as when it asks the store's methods (the
    general path of any other store), and as many frames take the lane."""
    asked = _run(CASES[name], True)
    monkeypatch.setattr(_inbound, "MemoryStore", MemoryStore)  # the inline number, taken
    assert _run(CASES[name], True) == asked

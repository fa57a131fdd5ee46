"""The adapters' FIX message log (``kalshi_fix_sansio.adapters.MessageLog``, with
``kalshi_fix_sansio.codec.redaction``): secrets redacted from frames, the log's lines, file and logger."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kalshi_fix_sansio.observability as observability
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.codec.framing import checksum
from kalshi_fix_sansio.codec.redaction import redact_frame
from kalshi_fix_sansio.session.config import SessionConfig

SOH = b"\x01"
JAN_1_2026 = 1767225600.0  # 2026-01-01T00:00:00Z (a Thursday)


# --------------------------------------------------------------------------------------------
# FIX message log


def frame(body: bytes) -> bytes:
    head = b"8=FIXT.1.1\x019=" + str(len(body)).encode() + SOH + body
    return head + b"10=%03d\x01" % checksum(head)


SIGNATURE_WITH_SOH = b"SIGA\x01SIGB=SIGC\x01SIGD"  # 19 bytes, containing SOH and '='
LOGON = frame(
    b"35=A\x0149=key\x0156=KalshiNR\x0134=1\x0152=20260101-00:00:00.000\x0198=0\x01108=30\x01"
    b"95=" + str(len(SIGNATURE_WITH_SOH)).encode() + b"\x0196=" + SIGNATURE_WITH_SOH
    + b"\x011137=9\x01"
)  # fmt: skip
LOGON_NO_95 = frame(b"35=A\x0149=key\x0156=KalshiNR\x0134=1\x0196=SIGXYZ+/=\x011137=9\x01")
SECRETS = (b"SIGA", b"SIGB", b"SIGC", b"SIGD", b"SIGXYZ")


def test_redact_frame_with_length_field_and_soh_in_data() -> None:
    redacted = redact_frame(LOGON)
    assert b"\x0195=19\x0196=<redacted 19 bytes>\x011137=9\x01" in redacted
    assert not any(s in redacted for s in SECRETS)


def test_redact_frame_without_length_field() -> None:
    redacted = redact_frame(LOGON_NO_95)
    assert b"\x0196=<redacted 9 bytes>\x011137=9\x01" in redacted
    assert b"SIGXYZ" not in redacted


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"95=3\x0196=SIGXYZSIG\x0110=000\x01", b"95=3\x0196=<redacted 9 bytes>\x0110=000\x01"),
        (b"95=99\x0196=SIGXYZ", b"95=99\x0196=<redacted 6 bytes>"),
        (b"95=x\x0196=SIGXYZ\x011=2\x01", b"95=x\x0196=<redacted 6 bytes>\x011=2\x01"),
        (b"junk\x0196=SIGXYZ\x01", b"junk\x0196=<redacted 6 bytes>\x01"),
        (b"93=6\x0189=SIGX\x01Z\x01", b"93=6\x0189=<redacted 6 bytes>\x01"),
        (b"554=SIGXYZ\x01925=SIGXYZ", b"554=<redacted 6 bytes>\x01925=<redacted 6 bytes>"),
        (b"96=", b"96=<redacted 0 bytes>"),
        (b"58=no secrets here\x01", b"58=no secrets here\x01"),
        (b"196=ok\x01960=ok\x01", b"196=ok\x01960=ok\x01"),
    ],
)
def test_redact_frame_edge_cases(data: bytes, expected: bytes) -> None:
    assert redact_frame(data) == expected


@settings(max_examples=300, deadline=None)
@given(prefix=st.binary(max_size=40), secret=st.binary(min_size=1, max_size=40))
def test_redaction_never_shows_a_length_framed_secret(prefix: bytes, secret: bytes) -> None:
    marked = b"\xffS" + secret + b"S\xff"  # a marker that cannot come from the prefix alone
    data = prefix + SOH + b"95=" + str(len(marked)).encode() + SOH + b"96=" + marked + SOH
    redacted = redact_frame(data)
    assert marked not in redacted
    assert redacted.endswith(b"96=<redacted %d bytes>\x01" % len(marked))


LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (IN|OUT) KalshiNR/key \S.*$")


def test_message_log_to_file(tmp_path: Path) -> None:
    path = tmp_path / "messages.log"
    path.write_text("earlier line\n")
    with observability.MessageLog("KalshiNR/key", path=path) as log:
        assert log.enabled
        log.log_frame("OUT", LOGON, now=JAN_1_2026 + 0.25)
        log.log_frame("IN", LOGON_NO_95, now=JAN_1_2026 + 1)
        # line-buffered: visible before close
        assert len(path.read_text().splitlines()) == 3
    log.close()  # idempotent
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "earlier line"  # append mode
    assert all(LINE.match(line) for line in lines[1:])
    assert lines[1].startswith("2026-01-01T00:00:00.250000Z OUT KalshiNR/key 8=FIXT.1.1|9=")
    assert "|95=19|96=<redacted 19 bytes>|1137=9|10=" in lines[1]
    assert lines[2].startswith("2026-01-01T00:00:01.000000Z IN KalshiNR/key ")
    assert "|96=<redacted 9 bytes>|" in lines[2]
    text = path.read_text(encoding="latin-1")
    assert not any(s.decode() in text for s in SECRETS)
    assert "\x01" not in text


def test_message_log_through_caplog(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=observability.MESSAGE_LOGGER_NAME)
    log = observability.MessageLog("KalshiNR/key")
    assert log.enabled and log.path is None
    log.log_frame("OUT", LOGON, now=JAN_1_2026)
    log.log_frame("IN", LOGON_NO_95, now=JAN_1_2026)
    records = [r for r in caplog.records if r.name == observability.MESSAGE_LOGGER_NAME]
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]
    assert [r.fix_direction for r in records] == ["OUT", "IN"]  # type: ignore[attr-defined]
    assert all(LINE.match(r.getMessage()) for r in records)
    assert "96=<redacted 19 bytes>" in records[0].getMessage()
    assert not any(s.decode() in caplog.text for s in SECRETS)


def test_message_log_is_off_unless_configured() -> None:
    logger = logging.getLogger(observability.MESSAGE_LOGGER_NAME)
    assert logger.level == logging.NOTSET  # the library never turns it on
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    quiet = logging.getLogger("kalshi_fix_sansio.tests.quiet")
    quiet.setLevel(logging.WARNING)
    log = observability.MessageLog("x", logger=quiet)
    assert not log.enabled
    log.received(LOGON, now=0.0)  # no work, no error
    log.log_frame("IN", LOGON, now=0.0)


def test_message_log_cuts_stream_chunks_into_frames(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=observability.MESSAGE_LOGGER_NAME)
    log = observability.MessageLog("KalshiNR/key")
    heartbeat = frame(b"35=0\x0149=Kalshi\x0156=key\x0134=2\x01")
    stream = LOGON + heartbeat + b"garbage!" + heartbeat
    for i in range(len(stream)):  # byte by byte
        log.received(stream[i : i + 1], now=JAN_1_2026)
    log.sent(LOGON + heartbeat, now=JAN_1_2026)  # one chunk, two frames
    log.received(b"garbage!" + heartbeat, now=JAN_1_2026)  # junk in one chunk: one record
    messages = [
        r.getMessage() for r in caplog.records if r.name == observability.MESSAGE_LOGGER_NAME
    ]
    fields = [m.split(" ", 3)[1:] for m in messages]
    assert all(sid == "KalshiNR/key" for _, sid, _ in fields)
    frames = [(d, text) for d, _, text in fields if not text.startswith("<garbled")]
    garbled = [text for _, _, text in fields if text.startswith("<garbled")]
    assert [d for d, _ in frames] == ["IN", "IN", "IN", "OUT", "OUT", "IN"]
    assert "|96=<redacted 19 bytes>|" in frames[0][1] and frames[0][1] == frames[3][1]
    assert frames[1][1] == frames[2][1] == frames[4][1] == frames[5][1]
    assert frames[1][1].endswith(
        "|35=0|49=Kalshi|56=key|34=2|10=" + heartbeat[-4:-1].decode() + "|"
    )
    # byte by byte the junk shows as one record per feed; content is never logged
    assert garbled[:-1] == ["<garbled: junk before BeginString: 1 bytes skipped>"] * 8
    assert garbled[-1] == "<garbled: junk before BeginString: 8 bytes skipped>"
    assert "garbage" not in caplog.text
    assert not any(s.decode() in caplog.text for s in SECRETS)


def test_message_log_escapes_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "m.log"
    with observability.MessageLog("s", path=path) as log:
        log.log_frame("IN", b"58=line1\nFAKE 2026 IN s 8=\r\x00\xff\xe2\x80\xa8|", now=0.0)
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") == 1
    assert "58=line1\\x0aFAKE 2026 IN s 8=\\x0d\\x00\\xff\\u2028|" in text


def test_message_log_errors(tmp_path: Path) -> None:
    with pytest.raises(LocalProtocolError, match="whitespace"):
        observability.MessageLog("a b")
    target = tmp_path / "missing-dir" / "m.log"
    log = observability.MessageLog("s", path=target)  # building a log opens nothing
    assert not target.parent.exists()
    with pytest.raises(LocalProtocolError, match=re.escape(repr(str(target)))):
        log.open()


def test_message_log_file_is_opened_on_open_not_at_construction(tmp_path: Path) -> None:
    target = tmp_path / "m.log"
    log = observability.MessageLog("s", path=target)
    log.log_frame("OUT", LOGON, now=JAN_1_2026)  # before open: the logger only
    assert not target.exists()
    assert log.open() is log and log.open() is log  # idempotent
    log.log_frame("OUT", LOGON, now=JAN_1_2026)
    log.close()
    log.log_frame("OUT", LOGON, now=JAN_1_2026)  # after close: the logger only
    assert len(target.read_text(encoding="utf-8").splitlines()) == 1


def test_message_log_for_config(tmp_path: Path) -> None:
    config = SessionConfig(sender_comp_id="key", product="margin", session_type="KalshiRT")
    log = observability.MessageLog.for_config(config, path=tmp_path / "x.log")
    assert log.session_id == "KalshiRT/key" and log.path == str(tmp_path / "x.log")
    log.close()


def test_redact_frame_treats_leading_zero_tags_as_the_secret_tag() -> None:
    assert redact_frame(b"35=0\x01096=SIG\x01") == b"35=0\x01096=<redacted 3 bytes>\x01"
    assert redact_frame(b"0095=4\x010096=S\x01G!\x011=2\x01") == (
        b"0095=4\x010096=<redacted 4 bytes>\x011=2\x01"
    )

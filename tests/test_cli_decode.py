"""`kalshi-fix decode`: defects, unparsable input, message logs, redaction, usage errors.

The property test at the end feeds arbitrary bytes and mutated frames (and message-log lines)
through the CLI's `main`: it always returns an exit status and never shows a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio.cli import build_parser, main
from kalshi_fix_sansio.codec.framing import checksum
from kalshi_fix_sansio.observability import MessageLog
from kalshi_fix_sansio.simulator.testing import SessionPair, samples

DOCS = Path(__file__).resolve().parent.parent / "docs" / "codec.md"
SECRET = b"S3CR3T-SIGNATURE+base64/AAAA=="
HEADER = b"49=Kalshi\x0156=key-1\x0134=2\x0152=20270115-08:00:05.000\x01"
NOW = 1_800_000_000.0


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def run(args: list[str], stdin: bytes = b"") -> tuple[int, str, str]:
    """Run ``kalshi-fix`` in-process; (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.object(sys, "stdin", _Stdin(stdin)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def frame(body: bytes, header: bytes = HEADER) -> bytes:
    """A frame with correct BodyLength and CheckSum; ``body`` starts with 35=."""
    msg_type, _, rest = body.partition(b"\x01")
    payload = msg_type + b"\x01" + header + rest
    head = b"8=FIXT.1.1\x019=%d\x01" % len(payload)
    return head + payload + b"10=%03d\x01" % checksum(head + payload)


def piped(data: bytes) -> bytes:
    return data.replace(b"\x01", b"|")


def message_log(tmp_path: Path, **client_options: object) -> tuple[Path, list[bytes]]:
    """A real message log of a Logon exchange; the frames as they crossed the wire."""
    pair = SessionPair.kalshi(**client_options)
    path = tmp_path / "session.log"
    wire: list[bytes] = []
    with MessageLog("KalshiNR/key-1", path=path) as log:

        def tap(direction: str, data: bytes) -> bytes:
            wire.append(data)
            (log.sent if direction == "c2s" else log.received)(data, NOW)
            return data

        pair.filter_bytes = tap
        pair.start()
    return path, wire


def signature_of(wire: list[bytes]) -> bytes:
    logon = wire[0]
    start = logon.index(b"\x0196=") + 4
    return logon[start : logon.index(b"\x01141=", start)]


# -- the message log ------------------------------------------------------------------------


@pytest.mark.parametrize("with_length", [True, False], ids=["RawDataLength", "no-RawDataLength"])
def test_reads_its_own_message_log_with_redacted_logon(tmp_path: Path, with_length: bool) -> None:
    path, wire = message_log(tmp_path, send_raw_data_length=with_length)
    text = path.read_bytes()
    assert b"96=<redacted 88 bytes>" in text
    signature = signature_of(wire)
    assert len(signature) == 88
    code, out, err = run(["decode", str(path)])
    assert code == 0, err
    assert err == ""
    first = text.index(b"8=FIXT")
    sent = "2027-01-15T08:00:00.000000Z key-1 >> KalshiNR"  # the log line's time and direction
    assert (
        f"#1 {sent} Logon (35=A) at byte {first} [redacted in the log: CheckSum not verified]"
        in out
    )
    assert re.search(r"\n +96  RawData +<redacted 88 bytes>\n", out)
    assert ("95  RawDataLength" in out) == with_length
    assert "#2 2027-01-15T08:00:00.000000Z key-1 << KalshiNR Logon (35=A) at byte" in out
    assert "[redacted" not in out.split("#2 ")[1]  # Kalshi's answer carries no secret
    assert signature.decode() not in out
    # --strict: a redaction is not a defect
    assert run(["decode", "--strict", str(path)])[0] == 0
    code, out, _ = run(["decode", "--json", str(path)])
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["name"], r["redacted"], r["defects"]) for r in records] == [
        ("Logon", True, []),
        ("Logon", False, []),
    ]
    assert records[0]["body"]["raw_data"] == "<redacted>"
    assert records[0]["offset"] == first


def test_redacted_frame_with_a_real_body_length_problem_is_still_reported(
    tmp_path: Path,
) -> None:
    path, _ = message_log(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    broken = lines[0].replace(b"|34=1|", b"|34=12|")  # BodyLength no longer matches
    code, out, err = run(["decode", "-"], broken + lines[1])
    assert code == 1
    assert "BodyLength(9) says 179" in err and "(a value was redacted in the log)" in err
    assert f"<stdin>: byte {broken.index(b'8=FIXT')}: malformed:" in err
    assert "#1 2027-01-15T08:00:00.000000Z key-1 << KalshiNR Logon (35=A)" in out  # the next line


def test_log_escapes_are_undone(tmp_path: Path) -> None:
    text = b"line one\nline two\x7f\x1b[31m"
    data = frame(b"35=5\x0158=" + text + b"\x01")
    path = tmp_path / "escaped.log"
    with MessageLog("KalshiNR/key-1", path=path) as log:
        log.received(data, NOW)
    assert b"\\x0a" in path.read_bytes()
    code, out, err = run(["decode", str(path)])
    assert code == 0, err
    assert "58  Text" in out and "line one\\x0aline two\\x7f\\x1b[31m" in out
    assert "\x1b" not in out  # a value cannot drive the terminal
    code, out, _ = run(["decode", "--json", str(path)])
    assert json.loads(out)["body"]["text"] == text.decode()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("nel\u0085x".encode(), "nel\\x85x"),  # U+0085 and a raw 0x85 byte log alike
        ("sep\u2028x".encode(), "sep\\u2028x"),
        (b"back\\x41slash", "back\\x41slash"),  # a literal backslash sequence
    ],
)
def test_ambiguous_log_escapes(tmp_path: Path, text: bytes, shown: str) -> None:
    path = tmp_path / "escaped.log"
    with MessageLog("KalshiNR/key-1", path=path) as log:
        log.received(frame(b"35=5\x0158=" + text + b"\x01"), NOW)
    code, out, err = run(["decode", str(path)])
    assert (code, err) == (0, "")
    assert re.search(r"\n +58  Text +" + re.escape(shown) + "\n", out)
    assert json.loads(run(["decode", "--json", str(path)])[1])["body"]["text"] == text.decode()


def test_garbled_line_of_the_log_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "garbled.log"
    with MessageLog("KalshiNR/key-1", path=path) as log:
        log.received(b"8=FIXT.1.1\x019=x\x01" + frame(b"35=0\x01"), NOW)
    code, out, err = run(["decode", str(path)])
    assert code == 1
    assert "the log records garbled input: <garbled: BodyLength(9) is not a number" in err
    assert "#1 2027-01-15T08:00:00.000000Z key-1 << KalshiNR Heartbeat (35=0)" in out


# -- defects ---------------------------------------------------------------------------------


def test_defects_are_marked_in_table_and_json() -> None:
    data = frame(b"35=D\x0111=c-1\x0138=10\x0140=2\x0144=abc\x0154=7\x0155=X\x0121999=z\x01")
    code, out, err = run(["decode", "-"], data)
    assert code == 0, err
    assert out.startswith("#1 NewOrderSingle (35=D) at byte 0 [3 defects]\n")
    marks = [line for line in out.splitlines() if line.startswith("  ! ")]
    assert len(marks) == 3
    assert any("tag 44:" in m and "373=6 IncorrectDataFormat" in m and "'abc'" in m for m in marks)
    assert any("tag 54:" in m and "373=5" in m for m in marks)
    assert any("tag 21999:" in m for m in marks)
    assert "21999  (unknown tag)" in out
    assert "message(s) with defects" in err
    code, out, _ = run(["decode", "--json", "-"], data)
    record = json.loads(out)
    assert {d["tag"] for d in record["defects"]} == {44, 54, 21999}
    bad_price = next(d for d in record["defects"] if d["tag"] == 44)
    assert bad_price["value"] == "abc" and bad_price["reason"] == 6
    assert "price" not in record["body"]  # did not convert: only the defect has it
    assert run(["decode", "--strict", "-"], data)[0] == 1
    assert run(["decode", "--strict", "-"], frame(b"35=0\x01"))[0] == 0


def test_unknown_msg_type_is_shown_with_a_defect() -> None:
    code, out, _ = run(["decode", "-"], frame(b"35=ZZ\x0158=hi\x01"))
    assert code == 0
    assert "#1 Unknown (35=ZZ) at byte 0 [1 defect]" in out
    assert "373=11 InvalidMsgType" in out and "58  Text (not in this message)" in out


# -- what cannot be parsed --------------------------------------------------------------------


def test_located_reasons_for_unparsable_input() -> None:
    good = frame(b"35=0\x01")
    bad_sum = good[:-4] + b"000\x01"
    bad_length = re.sub(rb"\x019=\d+", b"\x019=50", good)
    fix44 = good.replace(b"FIXT.1.1", b"FIX.4.4")
    no_equals = frame(b"35=0\x01oops\x01")
    lines = [good, bad_sum, bad_length, fix44, no_equals, good[:40]]
    data = b"\n".join(piped(x) for x in lines) + b"\n"
    starts = [sum(len(x) + 1 for x in lines[:i]) for i in range(len(lines))]
    code, out, err = run(["decode", "-"], data)
    assert code == 1
    problems = err.splitlines()
    computed = checksum(good[:-7])
    assert problems[0] == (
        f"<stdin>: byte {starts[1]}: malformed: CheckSum(10) is 000, computed {computed:03d}; "
        f"{len(good)} bytes skipped"
    )
    assert problems[1].startswith(f"<stdin>: byte {starts[2]}: malformed: BodyLength(9) says 50")
    assert problems[2] == (
        f"<stdin>: byte {starts[3]}: malformed: BeginString(8) is 'FIX.4.4', expected 'FIXT.1.1'"
    )
    assert problems[3].startswith(
        f"<stdin>: byte {starts[4] + no_equals.index(b'oops')}: message #2"
    )
    assert "has no '='" in problems[3]
    assert problems[4].startswith(f"<stdin>: byte {starts[5]}: malformed: incomplete frame")
    assert problems[5] == "kalshi-fix decode: 5 malformed frame(s)"
    assert out.count("Heartbeat (35=0)") == 1
    assert "Traceback" not in err


def test_offsets_count_input_bytes_with_caret_a_separators() -> None:
    good = frame(b"35=0\x01")
    first = b"prefix " + good.replace(b"\x01", b"^A") + b"\n"
    data = first + b"log: " + piped(good[:-4] + b"000\x01") + b"\n"
    code, _, err = run(["decode", "-"], data)
    assert code == 1
    assert f"byte {len(first) + 5}: malformed: CheckSum(10)" in err


def test_frame_spanning_lines_in_a_raw_capture() -> None:
    data = frame(b"35=5\x0158=two\nlines\x01") + frame(b"35=0\x01")
    code, out, err = run(["decode", "-"], data)
    assert code == 0, err
    assert "two\\x0alines" in out and "#2 Heartbeat" in out


@pytest.mark.parametrize(
    "data", [b"", b"\n\n", b"just some text\n", b"\x00\xff\x10 binary", b"a=b|c=d|\n"]
)
def test_no_fix_messages_found(data: bytes) -> None:
    code, out, err = run(["decode", "-"], data)
    assert (code, out) == (1, "")
    assert err == "kalshi-fix decode: <stdin>: no FIX messages found\n"


# -- redaction --------------------------------------------------------------------------------

SECRET_FRAMES = {
    "logon": b"35=A\x0198=0\x01108=30\x0195=%d\x0196=%s\x01141=Y\x011137=9\x01"
    % (len(SECRET), SECRET),
    "logon-no-length": b"35=A\x0198=0\x01108=30\x0196=%s\x011137=9\x01" % SECRET,
    "logon-data-with-soh": b"35=A\x0198=0\x01108=30\x0195=%d\x0196=%s\x011137=9\x01"
    % (len(SECRET) + 4, SECRET[:5] + b"\x01ab=" + SECRET[5:]),
    "extra-field": b"35=0\x0196=%s\x01" % SECRET,
    "extra-after-length": b"35=0\x0195=%d\x0196=%s\x01" % (len(SECRET), SECRET),
    "signature": b"35=0\x0193=%d\x0189=%s\x01" % (len(SECRET), SECRET),
    "leading-zero": b"35=0\x01096=%s\x01" % SECRET,
    "leading-zeros-89": b"35=0\x010089=%s\x01" % SECRET,
    "repeated": b"35=0\x0196=x\x0196=%s\x01" % SECRET,
    "unknown-msg-type": b"35=ZZ\x0196=%s\x01" % SECRET,
    "password": b"35=0\x01554=%s\x01925=%s\x01" % (SECRET, SECRET),
    "in-a-group": b"35=V\x01262=r\x01263=1\x01264=0\x01146=1\x0155=X\x0196=%s\x01" % SECRET,
}


def _fragments(secret: bytes) -> Iterator[str]:
    yield secret.decode()
    yield secret[5:].decode()  # past an SOH put in the middle
    yield "S3CR3T"


@pytest.mark.parametrize("mode", [[], ["--json"], ["--no-verify"], ["--strict", "--json"]])
@pytest.mark.parametrize("name", sorted(SECRET_FRAMES))
def test_secrets_never_shown(name: str, mode: list[str]) -> None:
    data = frame(SECRET_FRAMES[name])
    for form in (data, piped(data) + b"\n", b"log ^A " + data.replace(b"\x01", b"^A") + b"\n"):
        _, out, err = run(["decode", *mode, "-"], form)
        assert "#1 " in out or '"index": 1' in out, err
        for fragment in _fragments(SECRET):
            assert fragment not in out and fragment not in err, (name, form)
        assert "<redacted" in out, (name, out)


def test_logon_signature_redacted_in_the_table() -> None:
    code, out, _ = run(["decode", "-"], frame(SECRET_FRAMES["logon"]))
    assert code == 0
    assert f"RawData                            <redacted {len(SECRET)} bytes>" in out


def test_secret_extra_field_redacted_as_extra_field() -> None:
    code, out, _ = run(["decode", "-"], frame(SECRET_FRAMES["extra-field"]))
    assert code == 0
    assert re.search(
        rf"\n +96  RawData \(not in this message\) +<redacted {len(SECRET)} bytes>\n", out
    )
    code, out, _ = run(["decode", "-"], frame(SECRET_FRAMES["leading-zero"]))
    assert f"value '<redacted {len(SECRET)} bytes>'" in out  # the defect's value
    code, out, _ = run(["decode", "--json", "-"], frame(SECRET_FRAMES["extra-field"]))
    assert json.loads(out)["body"]["extra_fields"] == [[96, "<redacted>"]]


# -- usage ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["decode", "--bogus"],
        ["decode", "--dialect", "forex"],
        ["decode", "--json=1"],
        [],
        ["nonsense"],
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str]) -> None:
    code, out, err = run(args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("kalshi-fix") and "error:" in err


def test_help_exits_0() -> None:
    code, out, _ = run(["decode", "--help"])
    assert code == 0 and "--strict" in out and "exit status" in out


def test_directory_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run(["decode", str(tmp_path)])
    assert code == 2 and err.count("\n") == 1 and "cannot read" in err


# -- the documentation ------------------------------------------------------------------------


def _decode_section() -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("## `kalshi-fix decode`")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _blocks(section: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", section, flags=re.S)


def _visible(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def test_doc_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section = _decode_section()
    (log,) = _blocks(section, "text")
    (tmp_path / "session.log").write_text(log, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    consoles = _blocks(section, "console")
    for line in consoles[0].splitlines():  # the synopsis: every command line parses
        words = shlex.split(line.split("#")[0].removeprefix("$ "))
        words = [w for w in words if w not in ("<",) and not w.endswith(".fix")]
        build_parser().parse_args(words[1:])
    code = None
    ran = 0
    for chunk in re.split(r"^\$ ", consoles[1], flags=re.M)[1:]:
        command, _, expected = chunk.partition("\n")
        if command == "echo $?":
            assert _visible(expected) == [str(code)]
            continue
        words = shlex.split(command)
        quiet = words[-2:] == [">", "/dev/null"]
        if quiet:
            words = words[:-2]
        assert words[0] == "kalshi-fix"
        code, out, err = run(words[1:])
        assert _visible(("" if quiet else out) + err) == _visible(expected), command
        ran += 1
    assert ran == 2


# -- never a traceback --------------------------------------------------------------------------


def _seed_frames() -> list[bytes]:
    frames = list(samples.frames("prediction")) + list(samples.frames("margin"))
    frames += [frame(body) for body in SECRET_FRAMES.values()]
    return frames


SEEDS = _seed_frames()
LOG_LINE = (
    b"2027-01-15T08:00:00.000000Z OUT KalshiNR/key-1 8=FIXT.1.1|9=179|35=A|49=key-1|"
    b"56=KalshiNR|34=1|52=20270115-08:00:00.000|98=0|108=30|95=88|96=<redacted 88 bytes>|"
    b"141=Y|1137=9|10=046|\n"
)
SEEDS.append(LOG_LINE)

_NASTY = [
    b"\x01",
    b"=",
    b"|",
    b"^A",
    b"\n",
    b"\r\n",
    b"8=FIXT.1.1\x01",
    b"9=99999999999\x01",
    b"10=000\x01",
    b"\x0195=5\x01",
    b"96=<redacted 999999999 bytes>",
    b"96=<redacted 3 bytes>",
    b"\\x0a",
    b"\\u2028",
    b"\xff\xfe",
    b"35=",
    b"0=",
    b"=\x01",
    b"268=9999\x01",
    b"<garbled: x>",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    parts = draw(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=3))
    data = bytearray(b"".join(parts))
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "nasty", "truncate"]))
        if kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif kind == "replace" and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif kind == "nasty":
            data[pos:pos] = draw(st.sampled_from(_NASTY))
        else:
            del data[pos:]
    if draw(st.booleans()):
        data = bytearray(piped(bytes(data)))
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(st.binary(max_size=300), mutated()),
    options=st.lists(
        st.sampled_from(["--json", "--no-verify", "--strict", "--use-dollars"]), unique=True
    ),
    dialect=st.sampled_from(["prediction", "margin"]),
)
def test_never_a_traceback(data: bytes, options: list[str], dialect: str) -> None:
    code, out, err = run(["decode", "--dialect", dialect, *options, "-"], data)
    assert isinstance(code, int) and code in (0, 1)
    assert "Traceback" not in out + err
    assert "internal error" not in err, err  # a codec exception leaking through decode
    if code == 1 and "--strict" not in options:
        assert err, "exit 1 always says why"
    for line in err.splitlines():  # every problem is located
        assert re.match(r"(<stdin>: byte \d+: |kalshi-fix decode: )", line), line
    if "--json" in options:
        for line in out.splitlines():
            json.loads(line)


def test_console_script_on_an_ascii_terminal(tmp_path: Path) -> None:
    path = tmp_path / "caf\u00e9.fix"
    path.write_bytes(frame("35=5\x0158=caf\u00e9 \u2603\x01".encode()) + b"8=FIXT.1.1\x019=x\x01")
    result = subprocess.run(
        [sys.executable, "-m", "kalshi_fix_sansio.cli", "decode", str(path), "--json"],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        check=False,
    )
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    assert json.loads(result.stdout)["body"]["text"] == "caf\u00e9 \u2603"
    result = subprocess.run(
        [sys.executable, "-m", "kalshi_fix_sansio.cli", "decode", str(path)],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        check=False,
    )
    assert result.returncode == 1 and b"Traceback" not in result.stderr
    assert b"caf\\xe9 \\u2603" in result.stdout
    assert b"caf\\xe9.fix: byte" in result.stderr


def test_rfq_units_option_reads_quotes_in_the_units_asked() -> None:
    quote = frame(b"35=S\x01" + b"117=q\x01131=r\x0155=X\x01132=0.7500\x01133=0.2500\x01")
    code, out, _err = run(["decode", "--rfq-units", "dollars", "-"], quote)
    assert code == 0 and "BidPx                              $0.75" in out and "defect" not in out
    code, out, _err = run(["decode", "--strict", "-"], quote)  # integer cents by default
    assert code == 1 and "expected a price in integer cents" in out


def test_every_skipped_line_is_told_with_its_offset_and_fails() -> None:
    # a message-log with a good frame, a plain text line, a log line whose frame part is
    # destroyed, a blank line and the good frame again: the two bad lines are told, the rest quiet
    destroyed = b"2027-01-15T08:00:01.000000Z IN KalshiNR/key-1 #### destroyed ####\n"
    text = b"some note that is not a frame\n"
    data = LOG_LINE + text + destroyed + b"\n" + LOG_LINE
    code, out, err = run(["decode", "-"], data)
    assert code == 1
    assert out.count("Logon (35=A)") == 2
    lines = err.splitlines()
    at_text, at_destroyed = len(LOG_LINE), len(LOG_LINE) + len(text) + destroyed.index(b"####")
    assert lines == [
        f"<stdin>: byte {at_text}: malformed: text, not a FIX frame: 'some note that is not a frame'",
        f"<stdin>: byte {at_destroyed}: malformed: a message-log line without a FIX frame: "
        "'#### destroyed ####'",
        "kalshi-fix decode: 2 malformed frame(s)",
    ]
    # text beside a frame on its own line, log prefixes and blank lines stay quiet
    code, _, err = run(["decode", "-"], b"\n" + b"note: " + LOG_LINE.split(b" ", 3)[3] + b"\n\n")
    assert (code, err) == (0, "")
    # replay reads the same way: both lines told, exit status 1
    code, out, err = run(["replay", "-"], data)
    assert code == 1 and "2 message(s) applied" in out
    assert f"byte {at_text}: malformed: text, not a FIX frame" in err
    assert f"byte {at_destroyed}: malformed: a message-log line without a FIX frame" in err

"""Every verbatim FIX example of Kalshi's docs decodes, and encode(decode(x)) round-trips.

The examples come from ``examples.md`` (``spec/sources/examples.md``; see `doc_examples`, which
turns each published message into a complete frame: comments, annotations and elisions dropped,
missing header fields supplied with fake values, BodyLength and CheckSum recomputed, since the
published ``9=`` / ``10=`` are placeholders and wrong).

Each message must decode with its product's dialect and ``.validate()``, or fail with a
`DecodeError` for a reason listed in `ALLOWED`: the docs abbreviate their examples, so a required
field may be left out (a) or elided with ``...`` / hold a placeholder (b). The lists are strict:
a new failure fails, and an allow-listed example that starts decoding (or fails differently)
fails too, so the lists stay exact. `KNOWN_BUGS` holds library or spec bugs the examples expose;
those tests xfail while the bug shows exactly the recorded symptom and fail once it is gone.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType

import pytest
from doc_examples import (
    EXAMPLES_MD,
    Candidate,
    DocExample,
    all_candidates,
    load_examples,
    normalise,
    split_messages,
)

from kalshi_fix_sansio import DecodeError, Frame, Framer, margin, prediction
from kalshi_fix_sansio.codec import spec as tables

DIALECTS: dict[str, ModuleType] = {"prediction": prediction, "margin": margin}

# SessionRejectReason(373) values carried by DecodeError.reject_reason.
REQUIRED_TAG_MISSING = 1
INCORRECT_DATA_FORMAT = 6

OMITTED = "omitted"  # (a) a required field the abbreviated doc example leaves out
ELIDED = "elided"  # (b) a required field hidden behind a `...` elision (its value or the rest)
PLACEHOLDER = "placeholder"  # (b) a placeholder such as <price> in a typed field


@dataclass(frozen=True)
class Expected:
    """The one documented way an allow-listed example fails to decode."""

    kind: str  # OMITTED, ELIDED or PLACEHOLDER
    tag: int  # the tag the DecodeError must name
    why: str


@dataclass(frozen=True)
class KnownBug:
    """A library/spec bug an example exposes: `symptom` must appear in the failure."""

    symptom: str
    why: str


_MD_DATE = "MDEntryDate(272)/MDEntryTime(273) (added 2026-08-19; required on prediction)"

# Allow-list: example id -> the only accepted decode failure. Every entry must still fail in
# exactly this way (test_doc_example checks the tag, the reason and that the tag is really
# absent from the published example).
ALLOWED: dict[str, Expected] = {
    # (a) required fields the doc example leaves out
    "s2-03-new-order-single": Expected(
        OMITTED, 11, "subpenny page shows only the price fields of 35=D (no ClOrdID, Symbol)"
    ),
    "s2-04-execution-report": Expected(
        OMITTED, 11, "subpenny page shows only the price/quantity fields of 35=8 (no ClOrdID...)"
    ),
    # (the margin examples without 272/273 decode: the spec makes them optional on margin)
    "s4-19-example-snapshot-response": Expected(
        OMITTED, 272, f"historical variant lacks {_MD_DATE}"
    ),
    "s4-20-example-incremental-update": Expected(
        OMITTED, 272, f"historical variant lacks {_MD_DATE}"
    ),
    "s4-21-example-trade-update": Expected(OMITTED, 272, f"historical variant lacks {_MD_DATE}"),
    "s4-22-example-trade-update": Expected(OMITTED, 272, f"historical variant lacks {_MD_DATE}"),
    "s1-02-logon": Expected(
        ELIDED, 98, "subpenny page elides the Logon body: 98/108/1137 are not shown (96 is cut)"
    ),
    "s6-03-untitled": Expected(OMITTED, 730, "historical UMS before SettlementPrice(730) existed"),
    "s6-04-untitled": Expected(OMITTED, 730, "historical UMS before SettlementPrice(730) existed"),
    "s6-05-untitled": Expected(OMITTED, 730, "historical UMS before SettlementPrice(730) existed"),
    # (the historical 35=b examples before ExDestination(100) decode: 100 is optional)
    # (b) required fields elided with `...`
    "s8-01-untitled-m1-sent": Expected(ELIDED, 40, "'Sent' 35=D ends with '...'"),
    "s8-02-untitled-m1-sent": Expected(ELIDED, 40, "'Sent' 35=D ends with '...'"),
    "s8-02-untitled-m2-response-executionreport-rejected": Expected(
        ELIDED, 6, "rejected 35=8 ends with '...'"
    ),
    "s8-03-untitled": Expected(ELIDED, 6, "rejected 35=8 ends with '...'"),
    "s8-04-untitled-m1-sent": Expected(ELIDED, 40, "'Sent' 35=D ends with '...'"),
    "s8-05-untitled-m1-sent": Expected(ELIDED, 40, "'Sent' 35=D ends with '...'"),
    "s8-05-untitled-m2-response-executionreport-rejected": Expected(
        ELIDED, 6, "rejected 35=8 ends with '...'"
    ),
    "s8-06-untitled": Expected(ELIDED, 6, "rejected 35=8 ends with '...'"),
    "s8-07-untitled-m1-sent": Expected(ELIDED, 40, "'Sent' 35=D ends with '...'"),
    "s8-08-untitled": Expected(ELIDED, 6, "rejected 35=8 ends with '...'"),
}

# Tags of an example that its message does not define (kept in extra_fields, never dropped).
UNKNOWN_TAGS: dict[str, frozenset[int]] = {
    # the subpenny sample shows TransactTime(60) on 35=D; the spec leaves it out on purpose
    "s2-03-new-order-single": frozenset({60}),
    # the error-handling page sends an undefined tag on purpose
    "s8-01-untitled-m1-sent": frozenset({333333}),
    "s8-04-untitled-m1-sent": frozenset({333333}),
}

# Library/spec bugs exposed by the examples: xfail while the symptom shows exactly; fail once
# fixed so the entry gets removed. (Empty: the QuoteRequest entries with OrderQty before Symbol,
# once lost silently, now decode whole.)
KNOWN_BUGS: dict[str, KnownBug] = {}


# -- helpers -------------------------------------------------------------------------------------


# -- wire units: from the example's session and direction, never from the shape of a value -----

# The subpenny-pricing page shows a session that logged on with UseDollars(21005)=Y; every other
# prediction page shows the default (cents) session. Margin is always in dollars.
USE_DOLLARS_PAGES = frozenset({"subpenny-pricing"})

# Historical examples whose page documented other RFQ units for their direction than the current
# page: example id -> (rfq_units, why).
RFQ_UNITS_THEN: dict[str, tuple[str, str]] = {
    "s7-25-quote-notification-exchange-creator": (
        "cents",
        "the 2026-04-02 page showed the creator's quote notification in integer cents "
        "(132=75); from 2026-05-13 the page shows dollars (132=0.7500)",
    ),
}


def session_type(c: Candidate) -> str:
    """The session type the example's message travels on, from the page and the direction.

    The RFQ page's titles name the direction: the creator's side is KalshiRT, the market maker's
    KalshiRFQ; its untitled-direction historical variants predate the creator flow (until
    ≈2026-04-03 the page described only the market maker's side).
    """
    if c.product == "prediction" and c.example.url.endswith("/rfq-messages"):
        title = c.example.title
        if "Creator" in title:
            return "KalshiRT"
        assert "MM" in title or "→" not in title, title
        return "KalshiRFQ"
    return "KalshiRT" if c.product == "prediction" else "KalshiNR"


def wire_units(c: Candidate) -> tuple[bool, str]:
    """``(use_dollars, rfq_units)`` of the example's session, as a client there would decode."""
    use_dollars = c.product == "margin" or c.example.url.rsplit("/", 1)[-1] in USE_DOLLARS_PAGES
    then = RFQ_UNITS_THEN.get(c.id)
    if then is not None:
        return use_dollars, then[0]
    rfq_units = DIALECTS[c.product].rfq_units_for(session_type(c), use_dollars=use_dollars)
    return use_dollars, rfq_units


def price_values(msg: object) -> list[tuple[str, Decimal]]:
    """Every PRICE field's value of a decoded message and its group entries."""
    out: list[tuple[str, Decimal]] = []
    for tag, name, value in msg.items():  # type: ignore[attr-defined]
        if isinstance(value, tuple):
            for entry in value:
                out += price_values(entry)
        elif tables.FIELDS[tag].type == "PRICE":
            out.append((f"{name}({tag})", value))
    return out


def wire_fields(frame: bytes) -> list[tuple[int, bytes]]:
    """The frame's fields without BeginString, BodyLength and CheckSum."""
    out = []
    for raw in frame.split(b"\x01")[:-1]:
        tag, _, value = raw.partition(b"=")
        if tag not in (b"8", b"9", b"10"):
            out.append((int(tag), value))
    return out


def unknown_tags(c: Candidate) -> frozenset[int]:
    """Tags of the example that its message class does not define."""
    cls = DIALECTS[c.product].MESSAGES[c.msg_type]
    known = cls._KNOWN  # header, body, group and trailer tags of the message
    return frozenset(tag for tag, _ in wire_fields(c.frame) if str(tag).encode() not in known)


def describe(c: Candidate) -> str:
    return (
        f"{c.id} ({c.product}, {c.example.status}; {c.example.url})\n"
        f"  published: {c.original}\n  frame: {c.frame!r}\n  notes: " + "; ".join(c.notes)
    )


def decode_and_round_trip(c: Candidate) -> None:
    """Decode, validate and round-trip one example.

    Raises:
        DecodeError: the example does not decode.
        AssertionError: it decodes, but not as a message that round-trips without loss.
    """
    dialect = DIALECTS[c.product]
    use_dollars, rfq_units = wire_units(c)
    units = {"use_dollars": use_dollars, "rfq_units": rfq_units}
    msg = dialect.decode(c.frame, verify=True, **units).validate()
    cls = dialect.MESSAGES[c.msg_type]
    assert type(msg) is cls, f"decoded as {type(msg).__name__}, expected {cls.__name__}"
    if c.product == "prediction":  # event-contract prices are 0 to 1 dollar: units read right
        wrong = [(n, v) for n, v in price_values(msg) if not 0 <= v <= 1]
        assert not wrong, f"prices out of 0..1 dollars (wrong units?): {wrong} with {units}"
    extra = frozenset(tag for tag, _ in msg.extra_fields)
    assert extra == UNKNOWN_TAGS.get(c.id, frozenset()), (
        f"unknown tags {sorted(extra)} not in UNKNOWN_TAGS"
    )
    frame = dialect.encode(msg, msg.header, **units)
    again = dialect.decode(frame, verify=True, **units).validate()
    assert again == msg, f"re-encoded message differs:\n  {msg!r}\n  {again!r}"
    assert again.header == msg.header, f"header differs: {msg.header!r} != {again.header!r}"
    for tag, value in msg.extra_fields:
        assert b"\x01%d=%s\x01" % (tag, value) in frame, f"unknown tag {tag} not re-encoded"
    # Equality above compares what decode read; every published field must also come back.
    published, encoded = Counter(wire_fields(c.frame)), Counter(wire_fields(frame))
    lost = " ".join(f"{t}={v.decode()}" for t, v in published - encoded)
    gained = " ".join(f"{t}={v.decode()}" for t, v in encoded - published)
    assert not lost and not gained, f"lost by decode: {lost} | added by encode: {gained}"


def check_expected_failure(c: Candidate, exc: DecodeError, expected: Expected) -> None:
    """The DecodeError is exactly the allow-listed one and the reason holds for the example."""
    text = str(exc)
    assert exc.tag == expected.tag, f"error names tag {exc.tag}, expected {expected.tag}: {text}"
    frame_tags = {tag for tag, _ in wire_fields(c.frame)}
    if expected.kind == PLACEHOLDER:
        value = dict(c.fields).get(str(expected.tag), "")
        assert re.fullmatch(r"<[^<>]+>", value), f"{expected.tag}={value!r} is no placeholder"
        assert exc.reject_reason == INCORRECT_DATA_FORMAT, text
        assert f"({expected.tag}) has an invalid value" in text, text
        return
    assert exc.reject_reason == REQUIRED_TAG_MISSING, text
    assert re.search(rf"\brequired tag {expected.tag}\b", text), text
    assert expected.tag not in c.tags and expected.tag not in frame_tags, (
        f"tag {expected.tag} is in the example, yet reported missing: {text}"
    )
    if expected.kind == OMITTED:
        assert not c.was_elided, "the example elides fields: classify as ELIDED"
    else:
        assert expected.kind == ELIDED, expected.kind
        assert c.was_elided, f"the example elides nothing, yet {expected.tag} is ELIDED"


def _params() -> list[object]:
    return [pytest.param(c, id=c.id) for c in all_candidates(load_examples())]


# -- the examples --------------------------------------------------------------------------------


@pytest.mark.parametrize("c", _params())
def test_doc_example(c: Candidate) -> None:
    """The example decodes and round-trips, or fails exactly as allow-listed."""
    context = describe(c)
    assert c.frame.startswith(b"8=FIXT.1.1\x019=%d\x0135=" % c.body_length), context
    unknown = unknown_tags(c)
    assert unknown == UNKNOWN_TAGS.get(c.id, frozenset()), (
        f"{context}\nunknown tags {sorted(unknown)}: the spec lacks them, or list them in "
        "UNKNOWN_TAGS"
    )
    expected = ALLOWED.get(c.id)
    bug = KNOWN_BUGS.get(c.id)
    try:
        decode_and_round_trip(c)
    except DecodeError as exc:
        if bug is not None:
            assert bug.symptom in str(exc), f"{context}\nknown bug, other failure: {exc}"
            pytest.xfail(bug.why)
        assert expected is not None, f"{context}\nnew decode failure: {exc} (tag {exc.tag})"
        check_expected_failure(c, exc, expected)
        return
    except AssertionError as exc:
        assert bug is not None, f"{context}\n{exc}"
        assert bug.symptom in str(exc), f"{context}\nknown bug, other failure: {exc}"
        pytest.xfail(bug.why)
    assert expected is None, f"{context}\nnow decodes: remove it from ALLOWED ({expected})"
    assert bug is None, f"{context}\nknown bug fixed: remove it from KNOWN_BUGS ({bug})"


def test_lists_name_real_examples() -> None:
    """No stale entry: every listed id is an example of the file."""
    ids = {c.id for c in all_candidates(load_examples())}
    for name, listed in (("ALLOWED", ALLOWED), ("KNOWN_BUGS", KNOWN_BUGS)):
        assert set(listed) <= ids, f"{name} names unknown examples: {set(listed) - ids}"
    assert set(UNKNOWN_TAGS) <= ids, f"UNKNOWN_TAGS: {set(UNKNOWN_TAGS) - ids}"
    assert set(RFQ_UNITS_THEN) <= ids, f"RFQ_UNITS_THEN: {set(RFQ_UNITS_THEN) - ids}"
    assert not set(ALLOWED) & set(KNOWN_BUGS)


def _quote_examples() -> list[Candidate]:
    return [
        c
        for c in all_candidates(load_examples())
        if c.product == "prediction" and {t for t, _ in c.fields} & {"132", "133"}
    ]


@pytest.mark.parametrize("c", [pytest.param(c, id=c.id) for c in _quote_examples()])
def test_quote_prices_only_read_right_in_their_session_units(c: Candidate) -> None:
    """Each quote example is read in its direction's units, and those units matter: read in the
    other unit it is refused (a fraction as integer cents) or leaves the 0..1 dollar range."""
    use_dollars, rfq_units = wire_units(c)
    decode_and_round_trip(c)
    other = "cents" if rfq_units == "dollars" else "dollars"
    try:
        msg = prediction.decode(c.frame, use_dollars=use_dollars, rfq_units=other).validate()
    except DecodeError as exc:
        assert other == "cents" and exc.tag in (132, 133), exc
        assert "integer cents" in str(exc), exc
        return
    assert any(not 0 <= v <= 1 for _, v in price_values(msg)), describe(c)


def test_session_type_follows_the_direction() -> None:
    rt = {"KalshiRT": "dollars", "KalshiRFQ": "cents"}
    assert prediction.RFQ_PRICE_UNITS == rt
    for c in _quote_examples():
        expected = "KalshiRT" if "Creator" in c.example.title else "KalshiRFQ"
        assert session_type(c) == expected, c.id
        assert c.msg_type in ("S", "AI")
        if c.msg_type == "AI":
            assert session_type(c) == "KalshiRFQ", c.id


def test_extractor_found_every_example() -> None:
    """A parser regression cannot silently test nothing: every numbered section, every code block."""
    examples = load_examples()
    per_section = Counter(e.section_number for e in examples)
    sections = re.findall(r"^## (\d+)\. ", EXAMPLES_MD.read_text(encoding="utf-8"), re.M)
    numbers = sorted(map(int, sections))
    assert sorted(per_section) == numbers == list(range(1, len(sections) + 1)), per_section
    assert all(n >= 1 for n in per_section.values()), per_section
    candidates = all_candidates(examples)
    per_section_msgs = Counter(c.example.section_number for c in candidates)
    assert all(per_section_msgs[n] >= per_section[n] for n in per_section), per_section_msgs
    # every code block became an example and every published `8=` line a message
    lines = EXAMPLES_MD.read_text(encoding="utf-8").splitlines()
    fences = [i for i, line in enumerate(lines) if line.startswith("```")]
    assert len(fences) % 2 == 0 and len(examples) == len(fences) // 2
    starts = sum(
        line.strip().startswith("8=")
        for a, b in zip(fences[0::2], fences[1::2], strict=True)
        for line in lines[a + 1 : b]
    )
    assert len(candidates) == starts
    assert len({c.id for c in candidates}) == len(candidates), "ids must be unique"
    assert {c.product for c in candidates} == {"prediction", "margin"}
    assert all(c.product == "margin" for c in candidates if "fix-margin" in c.example.url)


def test_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Report the counts (printed even under -q): decoded, allow-listed, recomputed 9/10."""
    examples = load_examples()
    candidates = all_candidates(examples)
    outcome: Counter[str] = Counter()
    for c in candidates:
        try:
            decode_and_round_trip(c)
        except (DecodeError, AssertionError):
            if c.id in KNOWN_BUGS:
                outcome["known bug"] += 1
            elif c.id in ALLOWED:
                outcome[f"allow-listed ({ALLOWED[c.id].kind})"] += 1
            else:
                outcome["NEW FAILURE"] += 1
        else:
            outcome["known bug (decodes)" if c.id in KNOWN_BUGS else "decode fully"] += 1
    wrong_len = sum(c.body_length_wrong for c in candidates)
    wrong_sum = sum(c.checksum_wrong for c in candidates)
    wrong = [c for c in candidates if c.body_length_wrong or c.checksum_wrong]
    published = sum(c.published_body_length is not None for c in candidates)
    supplied = sum(bool(c.supplied) for c in candidates)
    elided = sum(c.was_elided for c in candidates)
    with capsys.disabled():
        print(
            f"\ndoc examples: {len(examples)} examples, {len(candidates)} messages: "
            + ", ".join(f"{n} {k}" for k, n in sorted(outcome.items()))
            + f"\n  published BodyLength/CheckSum wrong and recomputed: {len(wrong)} messages "
            f"(BodyLength wrong {wrong_len} of {published} published, CheckSum wrong "
            f"{wrong_sum}); header fields supplied: {supplied}; elided: {elided}"
        )
    assert outcome["NEW FAILURE"] == 0
    for c in wrong:
        assert any("is wrong; recomputed" in n for n in c.notes), c.notes


# -- the extractor on hand-written blocks ---------------------------------------------------------


def _example() -> DocExample:
    return DocExample(
        section="9. Test",
        section_number=9,
        subsection="",
        index=1,
        title="(untitled)",
        url="https://docs.kalshi.com/fix/test",
        status="test",
        product="prediction",
        text="",
    )


def test_split_joins_wrapped_lines_and_drops_annotations() -> None:
    block = (
        "// Sent\n"
        "8=FIXT.1.1|9=200|35=D|34=2|\n"
        "  38=100.0|40=2|44=0.7500|\n"
        "              ^^ price\n"
        "10=092|\n"
        "\n"
        "// Response\n"
        "8=FIXT.1.1|35=3|45=5|...\n"
        "8=FIXT.1.1|35=0|"
    )
    assert split_messages(block) == [
        ("Sent", "8=FIXT.1.1|9=200|35=D|34=2|38=100.0|40=2|44=0.7500|10=092|"),
        ("Response", "8=FIXT.1.1|35=3|45=5|..."),
        (None, "8=FIXT.1.1|35=0|"),
    ]


def test_normalise_supplies_header_recomputes_and_records() -> None:
    text = "8=FIXT.1.1|9=300|35=A|34=7|96=QhA8...|95=11|96=<signature>|21005=Y|10=123| note"
    c = normalise(text, "t", _example())
    assert c.supplied == ("49", "56", "52")
    assert c.elided == ("96=QhA8...",)
    assert c.annotations == ("note",)
    assert c.published_body_length == "300" and c.body_length_wrong
    assert c.published_checksum == "123" and c.checksum_wrong
    body = (
        b"35=A\x0149=Kalshi\x0156=TEST\x0152=20260101-00:00:00.000\x0134=7\x01"
        b"95=11\x0196=<signature>\x0121005=Y\x01"
    )
    assert c.frame.startswith(b"8=FIXT.1.1\x019=%d\x01" % len(body) + body)
    framer = Framer()
    framer.feed(c.frame)
    assert list(framer) == [Frame(c.frame, 0)]  # BodyLength and CheckSum are right
    notes = " / ".join(c.notes)
    assert "supplied missing header fields 49=Kalshi, 56=TEST, 52=" in notes
    assert f"BodyLength(9)=300 is wrong; recomputed {c.body_length}" in notes
    assert "CheckSum(10)=123 is wrong" in notes and "elided fields dropped: 96=QhA8..." in notes

"""Extract the verbatim FIX examples of Kalshi's docs (``examples.md``) as complete frames.

``examples.md`` (``spec/sources/examples.md``, see its README there) copies every FIX example
of Kalshi's FIX docs exactly as published: ``|`` stands for SOH, long messages are wrapped over
several lines, and code blocks carry ``//`` comment lines, ``^^`` annotation lines (pointing at a
field of the line above), ``...`` elisions and placeholders such as ``<signature>``. Header fields
are often left out, and the published BodyLength(9) / CheckSum(10) are placeholders.

`load_examples` parses the file into `DocExample` records (one per published example) and
`DocExample.messages` into `Candidate` frames (one per FIX message in the code block): the
published fields with comments, annotations and elisions removed, then normalised into a frame
the codec accepts: ``8=FIXT.1.1`` first, ``35=`` third, missing standard header fields supplied
with clearly fake values, and BodyLength and CheckSum recomputed. Every change made to the
published text is recorded in `Candidate.notes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kalshi_fix_sansio import checksum

EXAMPLES_MD = Path(__file__).resolve().parents[1] / "spec" / "sources" / "examples.md"
if not EXAMPLES_MD.is_file():  # a missing input fails every test that uses it, never skips them
    raise FileNotFoundError(
        f"Kalshi's doc examples not found: {EXAMPLES_MD} (kept in the repository; see "
        "spec/sources/README.md)"
    )

SOH = b"\x01"

# The standard header fields the codec requires, with the clearly fake value used when a doc
# example leaves one out (49 keeps the example's own value when it has one).
SUPPLIED_HEADER: tuple[tuple[str, str], ...] = (
    ("49", "Kalshi"),
    ("56", "TEST"),
    ("34", "1"),
    ("52", "20260101-00:00:00.000"),
)

_SECTION = re.compile(r"^## (?P<number>\d+)\. (?P<title>.+?)\s*$")
_SUBSECTION = re.compile(r"^### (?P<title>.+?)\s*$")
_EXAMPLE = re.compile(
    r"^\*\*(?P<title>.+?)\*\*(?P<qualifier>[^—]*?)\s*— source `(?P<url>[^`]+)`(?P<rest>.*)$"
)
_STATUS = re.compile(r"status: (?P<status>.+?)\s*$")
_FIELD = re.compile(r"^(?P<tag>\d+)=(?P<value>.*)$", re.DOTALL)
_ELISION = "..."


@dataclass(frozen=True)
class Candidate:
    """One FIX message of a doc example, normalised into a complete frame.

    Attributes:
        id: stable, readable id: ``s<section>-<index in section>-<title slug>``, plus
            ``-m<k>[-<comment slug>]`` when the code block holds several messages.
        product: ``"prediction"`` or ``"margin"`` (margin when the source URL has fix-margin).
        example: the published example this message comes from.
        original: the message's published text (its lines, comments and annotations dropped).
        fields: the published fields kept, as ``(tag, value)`` strings, in published order
            (9 and 10 included when published).
        frame: the complete frame (SOH-separated, BodyLength and CheckSum computed).
        supplied: the header tags supplied because the example left them out.
        elided: the elision fields dropped (``...`` alone or values ending with ``...``).
        annotations: trailing non-field text stripped from the message.
        published_body_length: the example's ``9=`` value (None when it has none).
        published_checksum: the example's ``10=`` value (None when it has none).
        body_length: the recomputed BodyLength of `frame`.
        checksum: the recomputed CheckSum of `frame`.
        comment: the ``//`` comment line just before the message, if any.
    """

    id: str
    product: str
    example: DocExample
    original: str
    fields: tuple[tuple[str, str], ...]
    frame: bytes
    supplied: tuple[str, ...]
    elided: tuple[str, ...]
    annotations: tuple[str, ...]
    published_body_length: str | None
    published_checksum: str | None
    body_length: int
    checksum: int
    comment: str | None = None

    @property
    def msg_type(self) -> str:
        """The published MsgType(35)."""
        return dict(self.fields)["35"]

    @property
    def tags(self) -> frozenset[int]:
        """Every tag published in the example's message (placeholders 9/10 included)."""
        return frozenset(int(tag) for tag, _ in self.fields)

    @property
    def was_elided(self) -> bool:
        """Whether the published message elides fields with ``...``."""
        return bool(self.elided)

    @property
    def body_length_wrong(self) -> bool:
        """The example publishes a BodyLength(9) that differs from the recomputed one."""
        return self.published_body_length is not None and self.published_body_length != str(
            self.body_length
        )

    @property
    def checksum_wrong(self) -> bool:
        """The example publishes a CheckSum(10) that differs from the recomputed one."""
        return (
            self.published_checksum is not None
            and self.published_checksum != f"{self.checksum:03d}"
        )

    @property
    def notes(self) -> tuple[str, ...]:
        """What was supplied, recomputed, elided or stripped to turn the text into a frame."""
        out = []
        if self.supplied:
            out.append(
                "supplied missing header fields "
                + ", ".join(f"{t}={v}" for t, v in SUPPLIED_HEADER if t in self.supplied)
            )
        if self.published_body_length is None:
            out.append(f"BodyLength(9) not published; computed {self.body_length}")
        elif self.body_length_wrong:
            out.append(
                f"published BodyLength(9)={self.published_body_length} is wrong; "
                f"recomputed {self.body_length}"
            )
        if self.published_checksum is None:
            out.append(f"CheckSum(10) not published; computed {self.checksum:03d}")
        elif self.checksum_wrong:
            out.append(
                f"published CheckSum(10)={self.published_checksum} is wrong; "
                f"recomputed {self.checksum:03d}"
            )
        if self.elided:
            out.append("elided fields dropped: " + " | ".join(self.elided))
        if self.annotations:
            out.append("trailing annotations stripped: " + " | ".join(self.annotations))
        return tuple(out)


@dataclass(frozen=True)
class DocExample:
    """One published example of ``examples.md``.

    Attributes:
        section: the ``##`` heading, e.g. ``"2. Order entry (35=D, 35=8)"``.
        section_number: the section's number (1-8).
        subsection: the ``###`` heading the example sits under.
        index: 1-based position of the example within its section.
        title: the bold title (``"(untitled)"`` when the docs give none).
        url: the source page.
        status: the status clause (or the subsection heading when the example has none).
        product: ``"margin"`` when the URL contains fix-margin, else ``"prediction"``.
        text: the code block, verbatim.
    """

    section: str
    section_number: int
    subsection: str
    index: int
    title: str
    url: str
    status: str
    product: str
    text: str

    @property
    def id(self) -> str:
        """Stable id: ``s<section>-<index in section>-<title slug>``."""
        return f"s{self.section_number}-{self.index:02d}-{slug(self.title)}"

    @property
    def messages(self) -> tuple[Candidate, ...]:
        """The FIX messages of the code block, normalised into frames (see `normalise`)."""
        parts = split_messages(self.text)
        out = []
        for k, (comment, text) in enumerate(parts, 1):
            cid = self.id
            if len(parts) > 1:
                cid += f"-m{k}" + (f"-{slug(comment)}" if comment else "")
            out.append(normalise(text, cid, self, comment))
        return tuple(out)


def slug(text: str) -> str:
    """Lower-case ASCII words joined by '-' (``"(untitled)"`` -> ``"untitled"``)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words) or "x"


def load_examples(path: Path = EXAMPLES_MD) -> list[DocExample]:
    """Parse ``examples.md`` into its examples, each with its candidate messages.

    Raises:
        ValueError: the file's layout is not the one this parser knows (a code block without an
            example line before it or without a FIX message, an unterminated code block, text
            outside a message), so a change of layout fails loudly instead of testing nothing.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    examples: list[DocExample] = []
    section = subsection = ""
    section_number = 0
    index = 0
    pending: re.Match[str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := _SECTION.match(line):
            section = f"{m['number']}. {m['title']}"
            section_number = int(m["number"])
            subsection = ""
            index = 0
            pending = None
        elif m := _SUBSECTION.match(line):
            subsection = m["title"]
            pending = None
        elif m := _EXAMPLE.match(line):
            pending = m
        elif line.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), None)
            if end is None:
                raise ValueError(f"{path}:{i + 1}: unterminated code block")
            if pending is None or not section_number:
                raise ValueError(f"{path}:{i + 1}: code block without an example line before it")
            index += 1
            url = pending["url"]
            status_match = _STATUS.search(pending["rest"])
            example = DocExample(
                section=section,
                section_number=section_number,
                subsection=subsection,
                index=index,
                title=pending["title"].strip(),
                url=url,
                status=status_match["status"] if status_match else subsection,
                product="margin" if "fix-margin" in url else "prediction",
                text="\n".join(lines[i + 1 : end]),
            )
            if not example.messages:  # also: a message the parser cannot read fails the load
                raise ValueError(f"{path}:{i + 1}: code block holds no FIX message")
            examples.append(example)
            pending = None
            i = end
        i += 1
    return examples


def all_candidates(examples: list[DocExample]) -> list[Candidate]:
    """Every candidate message of every example, in file order."""
    return [c for e in examples for c in e.messages]


# -- code block -> messages -----------------------------------------------------------------------


def split_messages(text: str) -> list[tuple[str | None, str]]:
    """Split a code block into its messages: ``(preceding // comment, joined text)`` pairs.

    ``^^`` annotation lines and ``//`` comment lines are dropped; a message starts at a line
    beginning with ``8=`` and continues over the following (wrapped, possibly indented) lines
    until the next ``8=`` line or a blank line. Wrapped lines are joined as published (they break
    after a ``|``); a line that does not end with ``|`` is treated as ending its last field.
    """
    messages: list[tuple[str | None, str]] = []
    comment: str | None = None
    current: list[str] | None = None
    current_comment: str | None = None

    def flush() -> None:
        nonlocal current
        if current is not None:
            messages.append((current_comment, "".join(current)))
        current = None

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("^^"):
            continue
        if line.startswith("//"):
            flush()
            comment = line[2:].strip()
            continue
        if not line:
            flush()
            continue
        if line.startswith("8="):
            flush()
            current, current_comment, comment = [], comment, None
        if current is None:
            # text outside any message (none in the published examples): keep it visible
            raise ValueError(f"line outside a FIX message: {raw!r}")
        if current and not current[-1].endswith("|"):
            current.append("|")
        current.append(line)
    flush()
    return messages


def normalise(text: str, cid: str, example: DocExample, comment: str | None = None) -> Candidate:
    """Turn one message's published text into a `Candidate` with a complete frame."""
    fields: list[tuple[str, str]] = []
    elided: list[str] = []
    annotations: list[str] = []
    for piece in text.split("|"):
        piece = piece.strip()
        if not piece:
            continue
        if piece == _ELISION or piece.endswith(_ELISION):
            elided.append(piece)
            continue
        m = _FIELD.match(piece)
        if m is None:
            annotations.append(piece)
            continue
        fields.append((m["tag"], m["value"]))
    published = dict(fields)
    if not fields or fields[0] != ("8", "FIXT.1.1"):
        raise ValueError(f"{cid}: message does not start with 8=FIXT.1.1: {text!r}")
    body_fields = [(t, v) for t, v in fields[1:] if t not in ("8", "9", "10")]
    if not body_fields or body_fields[0][0] != "35":
        msg_type = [(t, v) for t, v in body_fields if t == "35"]
        if len(msg_type) != 1:
            raise ValueError(f"{cid}: no single MsgType(35): {text!r}")
        body_fields.remove(msg_type[0])
        body_fields.insert(0, msg_type[0])
    supplied = [(t, v) for t, v in SUPPLIED_HEADER if t not in published]
    # MsgType first, then the supplied header fields, then the published fields in their order.
    ordered = [body_fields[0], *supplied, *body_fields[1:]]
    body = b"".join(f"{t}={v}".encode() + SOH for t, v in ordered)
    head = b"8=FIXT.1.1" + SOH + b"9=%d" % len(body) + SOH
    cs = checksum(head + body)
    frame = head + body + b"10=%03d" % cs + SOH
    return Candidate(
        id=cid,
        product=example.product,
        example=example,
        original=text,
        fields=tuple(fields),
        frame=frame,
        supplied=tuple(t for t, _ in supplied),
        elided=tuple(elided),
        annotations=tuple(annotations),
        published_body_length=published.get("9"),
        published_checksum=published.get("10"),
        body_length=len(body),
        checksum=cs,
        comment=comment,
    )

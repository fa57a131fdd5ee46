"""What the atheris harnesses share: seeds, the FIX dictionary, frame helpers, the runner.

* `seed_frames`: every FIX message of the project's samples
  (``src/kalshi_fix_sansio/simulator/testing/samples/*.fix``) and of Kalshi's verbatim doc examples
  (``spec/sources/examples.md``), each as published (``|`` turned into SOH) and re-framed
  (BodyLength and CheckSum computed, header fields the example leaves out supplied), with the
  product it belongs to.
* `seeds_for`: the seed inputs of one harness (``"framer"``, ``"decode"``, ``"session"``);
  `write_seeds` writes them, and the dictionary, as files for libFuzzer.
* `dictionary`: the FIX tokens libFuzzer splices into inputs: ``<SOH>tag=`` for every tag of the
  spec's tables (`kalshi_fix_sansio.codec.spec.FIELDS`), ``35=<MsgType><SOH>`` for every message type,
  the BeginString prefix, the trailer, SOH, ``=`` and ``|``.
* `run`: the ``__main__`` of every harness: atheris is imported there only, so the test suite
  imports the harnesses' ``TestOneInput`` without atheris (``tests/test_fuzz_harnesses.py``).

Run ``python fuzz/fuzz_support.py DIR`` to write ``DIR/framer``, ``DIR/decode``,
``DIR/session`` and ``DIR/fix.dict`` (see docs/fuzzing.md).
"""

from __future__ import annotations

import gc
import hashlib
import re
import sys
import tempfile
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from kalshi_fix_sansio import checksum
from kalshi_fix_sansio.codec.spec import FIELDS, MESSAGES

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = ROOT / "src" / "kalshi_fix_sansio" / "simulator" / "testing" / "samples"
EXAMPLES_MD = ROOT / "spec" / "sources" / "examples.md"
HARNESSES = ("framer", "decode", "session")

SOH = b"\x01"
BEGIN = b"8=FIXT.1.1\x01"
# header fields a doc example often leaves out, with clearly fake values
SUPPLIED_HEADER = (
    (b"49", b"Kalshi"),
    (b"56", b"TEST"),
    (b"34", b"1"),
    (b"52", b"20260101-00:00:00.000"),
)


class SeedFrame(NamedTuple):
    """One FIX message of the samples or the doc examples."""

    name: str
    product: str
    verbatim: bytes
    """As published, ``|`` replaced by SOH (BodyLength and CheckSum as published, often wrong)."""
    framed: bytes
    """A frame the Framer accepts: standard header completed, BodyLength and CheckSum computed."""


def make_frame(body: bytes) -> bytes:
    """``8=FIXT.1.1|9=n|`` + ``body`` (from 35= to its last SOH) + ``10=ddd|``."""
    head = BEGIN + b"9=%d\x01" % len(body) + body
    return head + b"10=%03d\x01" % checksum(head)


def fields_of(text: bytes) -> list[tuple[bytes, bytes]]:
    """The ``tag=value`` fields of a SOH-separated text (pieces without ``=`` are dropped)."""
    out = []
    for piece in text.split(SOH):
        tag, eq, value = piece.partition(b"=")
        if eq:
            out.append((tag, value))
    return out


def reframe(text: bytes) -> bytes:
    """A complete frame from the fields of ``text``: 8, 9 and 10 recomputed, 35 first, the
    standard header fields it lacks supplied (fake values)."""
    fields = [(t, v) for t, v in fields_of(text) if t not in (b"8", b"9", b"10")]
    msg_type = [f for f in fields if f[0] == b"35"][:1] or [(b"35", b"0")]
    rest = [f for f in fields if f[0] != b"35"]
    present = {t for t, _ in rest}
    header = [f for f in SUPPLIED_HEADER if f[0] not in present]
    return make_frame(b"".join(t + b"=" + v + SOH for t, v in [*msg_type, *header, *rest]))


def _sample_frames() -> list[SeedFrame]:
    out = []
    paths = sorted(SAMPLES_DIR.glob("*.fix"))
    if not paths:  # a missing input is an error, never an empty corpus
        raise FileNotFoundError(f"no samples in {SAMPLES_DIR}")
    for path in paths:
        for n, line in enumerate(path.read_bytes().splitlines(), 1):
            if line.strip():
                text = line.strip().replace(b"|", SOH)
                out.append(SeedFrame(f"sample-{path.stem}-{n}", path.stem, text, reframe(text)))
    return out


_FENCE = re.compile(r"^```[a-z]*\s*$")
_SOURCE = re.compile(r"source `([^`]+)`")


def _example_frames() -> list[SeedFrame]:
    """The messages of the code blocks of examples.md: ``//`` comments and ``^^`` annotation
    lines dropped, wrapped lines joined, ``...`` elisions removed, one message per ``8=`` or per
    comment-separated part."""
    if not EXAMPLES_MD.is_file():
        raise FileNotFoundError(f"Kalshi's doc examples not found: {EXAMPLES_MD}")
    out: list[SeedFrame] = []
    url = ""
    block: list[str] | None = None
    count = 0
    for line in EXAMPLES_MD.read_text(encoding="utf-8").splitlines():
        if block is None:
            if _FENCE.match(line):
                block = []
            elif (m := _SOURCE.search(line)) is not None:
                url = m.group(1)
            continue
        if not _FENCE.match(line):
            block.append(line)
            continue
        product = "margin" if "fix-margin" in url else "prediction"
        parts: list[str] = [""]
        for raw in block:
            text = raw.strip()
            if text.startswith("//") or set(text) <= set("^ ") or text.startswith("^^"):
                parts.append("")
                continue
            if text.startswith("8=") and parts[-1]:
                parts.append("")
            parts[-1] += text
        for part in parts:
            cleaned = part.replace("...", "").encode("utf-8")
            if b"=" not in cleaned:
                continue
            count += 1
            verbatim = cleaned.replace(b"|", SOH)
            out.append(SeedFrame(f"example-{count}", product, verbatim, reframe(verbatim)))
        block = None
    return out


def seed_frames() -> list[SeedFrame]:
    """Every message of the samples and of the doc examples (samples first)."""
    return [*_sample_frames(), *_example_frames()]


# -- the inputs of each harness ------------------------------------------------------------


def session_input(kind: int, flags: int, payload: bytes) -> bytes:
    """An input of the session harness: session kind, flags, then the payload."""
    return bytes([kind % 256, flags % 256]) + payload


def seeds_for(harness: str) -> list[bytes]:
    """The seed inputs of one harness, in a stable order without duplicates."""
    frames = seed_frames()
    seeds: list[bytes] = []
    if harness == "framer":
        seeds += [f.framed for f in frames] + [f.verbatim for f in frames]
        # a stream of every sample, and the same with junk between frames
        stream = b"".join(f.framed for f in frames if f.name.startswith("sample"))
        seeds += [stream, stream.replace(BEGIN, b"junk" + BEGIN)]
    elif harness == "decode":
        seeds += [f.framed for f in frames] + [f.verbatim for f in frames]
    elif harness == "session":
        import fuzz_session  # the kinds are defined by the harness itself

        for i, f in enumerate(frames):
            kinds = fuzz_session.kinds_of(f.product)
            kind = kinds[i % len(kinds)]
            line = f.framed.replace(SOH, b"|")
            # re-framed and re-stamped (reaches the application), and fed as it is
            seeds.append(
                session_input(
                    kind, fuzz_session.PIPES | fuzz_session.FRAMES | fuzz_session.RESTAMP, line
                )
            )
            seeds.append(session_input(kind + 1, 0, f.framed))
        for product in ("prediction", "margin"):
            lines = b"\n".join(
                f.framed.replace(SOH, b"|")
                for f in frames
                if f.name.startswith(f"sample-{product}")
            )
            for kind in fuzz_session.kinds_of(product):
                seeds.append(
                    session_input(
                        kind,
                        fuzz_session.PIPES
                        | fuzz_session.FRAMES
                        | fuzz_session.RESTAMP
                        | fuzz_session.TIMERS,
                        lines,
                    )
                )
    else:
        raise ValueError(f"unknown harness {harness!r}: one of {', '.join(HARNESSES)}")
    return list(dict.fromkeys(seeds))


def _dict_entry(token: bytes) -> str:
    return (
        '"'
        + "".join(
            chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02X}" for b in token
        )
        + '"'
    )


def dictionary() -> list[bytes]:
    """The FIX tokens of the spec, for libFuzzer's ``-dict=``."""
    tokens = [BEGIN + b"9=", SOH + b"10=", SOH, b"=", b"|", b"FIXT.1.1", b"Y", b"N"]
    for tag in sorted(FIELDS):
        tokens += [SOH + b"%d=" % tag, b"%d=" % tag]
    for msg_type in sorted(MESSAGES):
        tokens.append(b"\x0135=" + msg_type.encode("ascii") + SOH)
    return list(dict.fromkeys(tokens))


def dictionary_text() -> str:
    return "".join(f"{_dict_entry(t)}\n" for t in dictionary())


def write_seeds(directory: Path, harnesses: Iterable[str] = HARNESSES) -> None:
    """Write ``directory/<harness>/<sha1>`` for every seed and ``directory/fix.dict``."""
    directory.mkdir(parents=True, exist_ok=True)
    for harness in harnesses:
        sub = directory / harness
        sub.mkdir(exist_ok=True)
        for seed in seeds_for(harness):
            (sub / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    (directory / "fix.dict").write_text(dictionary_text(), encoding="ascii")


# Not instrumented: the generated message classes (attrs' __init__/__eq__/__repr__ and the
# field properties, ~800 functions without branches worth guiding by, which would add seconds to
# every start) and the event records. The codec's logic (_decode, _message, _fields, _values,
# _wire, _encode), the framer and the session are.
NOT_INSTRUMENTED = ("kalshi_fix_sansio.codec._generated", "kalshi_fix_sansio.session.events")


def library_functions() -> list[types.FunctionType]:
    """The loaded functions of kalshi_fix_sansio that the harnesses instrument."""
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType):
            module = getattr(obj, "__module__", None) or ""
            if (module == "kalshi_fix_sansio" or module.startswith("kalshi_fix_sansio.")) and not (
                module.startswith(NOT_INSTRUMENTED)
            ):
                found.append(obj)
    return found


def run(test_one_input: Callable[[bytes], None]) -> None:
    """The ``__main__`` of a harness: instrument the library, then hand argv to libFuzzer.

    Only the library's own functions are instrumented (`library_functions`), in place, after
    the harness imported it: ``atheris.instrument_all()`` would take ~20 s more per start, and
    ``atheris.instrument_imports()`` compiles every module imported under it from source.
    ``-dict=`` defaults to the FIX dictionary (written to the temporary directory).
    """
    # only here: the harnesses import without it (atheris has no type hints)
    import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

    argv = list(sys.argv)
    if not any(arg.startswith("-dict=") for arg in argv[1:]):
        text = dictionary_text()
        digest = hashlib.sha1(text.encode("ascii")).hexdigest()[:12]
        path = Path(tempfile.gettempdir()) / f"kalshi-fix-{digest}.dict"
        path.write_text(text, encoding="ascii")
        argv.append(f"-dict={path}")
    functions = library_functions()
    for function in functions:
        atheris.instrument_func(function)
    print(f"INFO: instrumented {len(functions)} functions of kalshi_fix_sansio", file=sys.stderr)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(
            f"usage: python {sys.argv[0]} DIR  (writes DIR/framer, DIR/decode, "
            "DIR/session and DIR/fix.dict)"
        )
    write_seeds(Path(sys.argv[1]))
    print(f"seeds and fix.dict written under {sys.argv[1]}")

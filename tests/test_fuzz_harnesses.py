"""The atheris harnesses of ``fuzz/`` run without atheris: their ``TestOneInput`` on every seed.

The coverage-guided campaigns (docs/fuzzing.md) need atheris, which has wheels for Linux x86_64
only; these tests keep the harnesses, their seeds and their dictionary working everywhere: each
harness's entry function is fed every seed it ships with (a contract violation is an
AssertionError or an unexpected exception, as under atheris), and a harness is shown to catch a
violation.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fuzz"))

import fuzz_decode  # noqa: E402
import fuzz_framer  # noqa: E402
import fuzz_session  # noqa: E402
import fuzz_support  # noqa: E402

from kalshi_fix_sansio import Frame, Framer, prediction  # noqa: E402
from kalshi_fix_sansio.codec.spec import FIELDS, MESSAGES  # noqa: E402

HARNESSES: dict[str, ModuleType] = {
    "framer": fuzz_framer,
    "decode": fuzz_decode,
    "session": fuzz_session,
}


def test_the_harnesses_import_without_atheris() -> None:
    for module in HARNESSES.values():
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        top = source.split('if __name__ == "__main__":')[0]
        assert "atheris" not in re.sub(r'""".*?"""', "", top, flags=re.DOTALL), module.__name__
    support = Path(fuzz_support.__file__ or "").read_text(encoding="utf-8")
    assert "\nimport atheris" not in support and "\nfrom atheris" not in support


@pytest.mark.parametrize("harness", sorted(HARNESSES))
def test_every_seed_passes_the_harness(harness: str) -> None:
    seeds = fuzz_support.seeds_for(harness)
    assert len(seeds) > 100
    for seed in seeds:
        HARNESSES[harness].TestOneInput(seed)


@pytest.mark.parametrize("harness", sorted(HARNESSES))
def test_edge_inputs(harness: str) -> None:
    entry: Any = HARNESSES[harness].TestOneInput
    for data in (
        b"",
        b"\x00",
        b"\xff\xff",
        b"8=FIXT.1.1\x019=",
        b"\x00\xff" + b"|" * 50,
        b"\x07\x3f" + b"35=0|\n" * 20,
        b"\x03\x06" + b"35=A|98=0|108=30|\n35=5|",
        # found by atheris: a Reject echoes RefMsgType(372)='D434=', a value ending with '='
        b"\x05\x078=FIXT.1.1|9=78|35=D434=|49=Kalshi|56=TEST|34=1|52=20260101-00:00:00.000"
        b"|11=123|38=10|333333=test|10=037|",
    ):
        entry(data)


def test_the_seeds_hold_every_sample_and_doc_example() -> None:
    frames = fuzz_support.seed_frames()
    samples = [f for f in frames if f.name.startswith("sample-")]
    lines = [
        line
        for path in sorted(fuzz_support.SAMPLES_DIR.glob("*.fix"))
        for line in path.read_bytes().splitlines()
        if line.strip()
    ]
    assert len(samples) == len(lines) > 0
    examples = [f for f in frames if f.name.startswith("example-")]
    assert len(examples) > 60
    assert {f.product for f in examples} == {"prediction", "margin"}
    for f in frames:  # the re-framed seeds pass the Framer whole
        framer = Framer()
        framer.feed(f.framed)
        assert list(framer) == [Frame(f.framed, 0)], f.name
    # the samples are real frames: re-framing them changes nothing
    assert all(f.framed == f.verbatim for f in samples)


def test_the_dictionary_has_every_tag_and_msg_type() -> None:
    tokens = set(fuzz_support.dictionary())
    for tag in FIELDS:
        assert b"\x01%d=" % tag in tokens
    for msg_type in MESSAGES:
        assert b"\x0135=" + msg_type.encode() + b"\x01" in tokens
    for line in fuzz_support.dictionary_text().splitlines():
        assert re.fullmatch(r'"([\x20-\x21\x23-\x5b\x5d-\x7e]|\\x[0-9A-F]{2})+"', line), line


def test_write_seeds(tmp_path: Path) -> None:
    fuzz_support.write_seeds(tmp_path)
    for harness in fuzz_support.HARNESSES:
        assert len(list((tmp_path / harness).iterdir())) == len(fuzz_support.seeds_for(harness))
    assert (tmp_path / "fix.dict").read_text(encoding="ascii") == fuzz_support.dictionary_text()


def test_a_violation_fails_the_harness(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception other than DecodeError escaping decode is a finding, not swallowed."""
    seed = fuzz_support.seeds_for("decode")[0]

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(prediction, "decode", broken)
    with pytest.raises(ValueError, match="boom"):
        fuzz_decode.TestOneInput(seed)


def test_the_session_seeds_reach_the_application() -> None:
    """The re-stamped seeds are in turn: they reach the application as messages."""
    reached = 0
    for seed in fuzz_support.seeds_for("session"):
        peer = fuzz_session.play(seed)
        assert peer is not None
        reached += "ApplicationMessage" in peer.events
    assert reached > 50
    assert len(fuzz_session.KINDS) == 2 * len({(p, s) for p, s, _ in fuzz_session.KINDS})


def test_the_fuzz_extra_is_what_ci_installs() -> None:
    """scripts/test installs exactly the fuzz extra's requirements (with their markers)."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    m = re.search(r"^fuzz = \[(.+)\]$", pyproject, flags=re.MULTILINE)
    assert m is not None
    requirements = re.findall(r"'([^']+)'", m.group(1))
    assert len(requirements) == 2 and all(r.startswith("atheris") for r in requirements)
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    assert " ".join(f"'{r}'" for r in requirements) in script

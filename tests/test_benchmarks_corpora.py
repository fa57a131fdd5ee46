"""bench_corpora.py: its three corpora are what its page says, and it runs (a quick smoke run).

The benchmark reads the generated classes' member lists (``_MEMBERS``, ``_REQUIRED``) to build
records again and to generate them from the spec, as bench_read.py's reader does.
"""

from __future__ import annotations

import pytest
from test_benchmarks import load  # it puts benchmarks/ on sys.path

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import prediction as p


def test_it_runs_quickly_and_judges_both_targets_on_every_corpus(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bench = load("bench_corpora")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for corpus in ("| samples |", "| mock session |", "| generated |"):
        assert corpus in out, corpus
    targets = [line for line in out.splitlines() if line.startswith("* project target")]
    assert len(targets) == 2
    for line in targets:
        assert "samples " in line and "mock session " in line and "generated " in line
        assert line.endswith(("— held", "— NOT held"))
    assert "| mock session | X |" in out  # the per-MsgType breakdown


def test_the_session_corpus_is_read_back_from_the_message_log() -> None:
    bench = load("bench_corpora")
    corpus = bench.session_corpus()
    kinds = [p.decode(f).MSG_TYPE for f in corpus.frames]
    lines = bench.SESSION_LOG.read_text(encoding="utf-8").splitlines()
    assert len(corpus.frames) == len(lines) > 300
    for kind in ("A", "V", "W", "X", "D", "F", "G", "8", "5"):
        assert kind in kinds, kind
    fills = [f for f in corpus.frames if b"\x01150=F\x01" in f]
    assert fills and len(corpus.orders) == sum(k in "DFG" for k in kinds)
    logon = p.decode(corpus.frames[0], verify=True)  # framed again: BodyLength and CheckSum
    assert logon.MSG_TYPE == "A"
    assert logon.raw_data == b"x" * logon.raw_data_length  # RawData: the redacted length


def test_log_lines_become_frames() -> None:
    bench = load("bench_corpora")
    frame = b"8=FIXT.1.1\x019=5\x0135=0\x0110=123\x01"
    line = "2026-11-23T08:32:31.974722Z IN KalshiNR/key 8=FIXT.1.1|9=5|35=0|10=123|"
    garbled = "2026-11-23T08:32:31.974722Z IN KalshiNR/key <garbled: bad checksum>"
    (got,) = bench.log_frames(f"{line}\n{garbled}\n")
    assert got == bench.join_encoder([(35, "0")]) and got.split(b"\x01")[2] == b"35=0"
    assert got != frame  # BodyLength and CheckSum recomputed


def test_the_generated_corpus_is_the_same_for_a_seed_and_reads_strictly() -> None:
    bench = load("bench_corpora")
    one, two = bench.generated_corpus(1, 2), bench.generated_corpus(1, 2)
    assert one.frames == two.frames
    assert bench.generated_corpus(1, 2, seed=1).frames != one.frames
    kinds = {p.decode(f).MSG_TYPE for f in one.frames}
    assert {"8", "D", "F", "G", "W", "X"} <= kinds
    assert sorted(k for k in kinds if k in "DFG") == ["D", "F", "G"]
    for frame in one.frames:
        msg = p.decode(frame)  # strict: every required tag, no unknown or repeated tag
        bench.full_reader(frame)(msg)  # every field converts
    for recipe, hdr, frame in one.orders:  # built again from typed values: the same bytes
        assert p.encode(recipe.build(), Header(**hdr)) == frame
    groups = [len(e) for r, _, _ in one.orders for e in r.groups.values()]
    entries = [len(getattr(p.decode(f), "md_entries", None) or ()) for f in one.frames]
    assert max(entries) > 1 and all(1 <= n <= 3 for n in groups)

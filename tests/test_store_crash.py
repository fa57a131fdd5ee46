"""`FileStore` against a model and under SIGKILL.

* A hypothesis state machine compares `FileStore` (reopened and compacted at random) with
  `MemoryStore` as the model.
* The SIGKILL test kills ``store_writer.py`` at moments the writer's own reports choose
  (mid-write, mid-compaction) over and over on the same file and checks no completed call was
  lost. (A small ``os.write`` is practically never cut by a signal, so torn records are covered
  by the cutting tests of ``test_store.py``.)
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from store_writer import frame_for

from kalshi_fix_sansio.session.filestore import FileStore
from kalshi_fix_sansio.session.store import MemoryStore

WRITER = Path(__file__).with_name("store_writer.py")


# ----------------------------------------------------------------------------------- stateful

seqs = st.integers(min_value=1, max_value=40)
times = st.integers(min_value=0, max_value=100).map(float)


class FileStoreMatchesMemoryStore(RuleBasedStateMachine):
    """FileStore, reopened and compacted at random, behaves exactly like MemoryStore."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="kfix-store-"))
        self.path = self.dir / "s.log"
        self.model = MemoryStore()
        self.store = FileStore(self.path, compact_bytes=512)

    @initialize(fsync=st.booleans())
    def open_with(self, fsync: bool) -> None:
        self.store.close()
        self.store = FileStore(self.path, compact_bytes=512, fsync=fsync)

    @rule(data=st.binary(max_size=80), now=times)
    def save_next(self, data: bytes, now: float) -> None:
        seq = self.model.next_sender_seq()
        self.model.save(seq, data, now)
        self.store.save(seq, data, now)

    @rule(seq=seqs, data=st.binary(max_size=80), now=times)
    def save_any(self, seq: int, data: bytes, now: float) -> None:
        self.model.save(seq, data, now)
        self.store.save(seq, data, now)

    @rule(seq=seqs)
    def set_sender(self, seq: int) -> None:
        self.model.set_next_sender_seq(seq)
        self.store.set_next_sender_seq(seq)

    @rule(seq=seqs)
    def set_target(self, seq: int) -> None:
        self.model.set_next_target_seq(seq)
        self.store.set_next_target_seq(seq)

    @rule(begin=st.integers(0, 45), end=st.integers(0, 45))
    def get(self, begin: int, end: int) -> None:
        assert self.store.get(begin, end) == self.model.get(begin, end)

    @rule(now=times)
    def reset(self, now: float) -> None:
        self.model.reset(now)
        self.store.reset(now)

    @rule(cutoff=times)
    def prune(self, cutoff: float) -> None:
        self.model.prune(cutoff)
        self.store.prune(cutoff)

    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = FileStore(self.path, compact_bytes=512)
        assert self.store.recovery.clean

    @rule(cut=st.integers(1, 60))
    def crash_mid_write(self, cut: int) -> None:
        """A kill during the next write: a partial record at the end, then a reopen."""
        seq = self.model.next_sender_seq()
        self.store.close()
        with self.path.open("ab") as f:
            f.write(b"\xc5\xd2\x8f\x5a" + bytes(range(cut)))
        self.store = FileStore(self.path, compact_bytes=512)
        assert self.store.recovery.truncated_bytes == 4 + cut
        assert self.store.next_sender_seq() == seq

    @rule()
    def compact(self) -> None:
        self.store.compact()

    @invariant()
    def same_state(self) -> None:
        assert self.store.next_sender_seq() == self.model.next_sender_seq()
        assert self.store.next_target_seq() == self.model.next_target_seq()
        assert self.store.get(1, 0) == self.model.get(1, 0)

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)


FileStoreMatchesMemoryStore.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_file_store_matches_memory_store = FileStoreMatchesMemoryStore.TestCase


# ----------------------------------------------------------------------------------- SIGKILL

CHAINS = 6  # independent store files, three killed in parallel
KILLS_PER_CHAIN = 9  # runs on the same file, each continuing the previous one


@dataclass
class ChainReport:
    kills: int = 0
    saves: int = 0
    mid_compaction: int = 0
    stale_tmp: int = 0
    torn_tails: int = 0


_FORKING = threading.Lock()
"""Held while a chain starts a writer and while it opens a store: a child forked by one chain's
thread while another chain's thread holds its store open would hold that store's lock until
the child execs, and the other chain's next writer would find the file in use."""


def run_chain(directory: Path, seed: int) -> ChainReport:
    rng = random.Random(seed)
    path = directory / f"chain{seed}.log"
    report = ChainReport()
    printed: set[int] = set()  # every seq whose save() completed, over all runs
    last_sender = last_target = 1
    for run in range(KILLS_PER_CHAIN):
        with _FORKING:
            proc = subprocess.Popen(
                [sys.executable, str(WRITER), str(path), "4096", "1000"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            if not first:
                proc.wait()
                assert proc.stderr is not None
                raise AssertionError(f"writer failed (run {run}): {proc.stderr.read()!r}")
            # the kill's moment, chosen by what the writer reports, not by a timer: after a
            # random number of completed calls, or (one run in two) as a compaction starts
            read = [first]
            wanted, at_compaction = rng.randrange(0, 1500), rng.random() < 1 / 2
            while len(read) < wanted or at_compaction:
                line = proc.stdout.readline()
                if not line:
                    break
                read.append(line)
                if at_compaction and line == b"C\n":
                    break
            proc.send_signal(signal.SIGKILL)
            # through the buffered pipe: readline may have read ahead (communicate() would read
            # the file descriptor past that buffer and lose those lines)
            assert proc.stdout is not None and proc.stderr is not None
            rest = b"".join(read[1:]) + proc.stdout.read()
            err = proc.stderr.read()
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL, err
        report.kills += 1
        lines = (first + rest).decode().split("\n")[:-1]  # a cut last line is dropped
        assert lines, "the writer printed nothing"
        promised_sender = promised_target = 0
        for line in lines:
            kind, *fields = line.split()
            if kind == "S":
                seq, target = int(fields[0]), int(fields[1])
                printed.add(seq)
                report.saves += 1
                promised_sender = max(promised_sender, seq)
                promised_target = max(promised_target, target)
            elif kind == "H":
                promised_sender = max(promised_sender, int(fields[0]))
        if lines[-1] == "C":
            report.mid_compaction += 1
        tmp = Path(str(path) + ".compact-tmp")
        report.stale_tmp += tmp.exists()

        with _FORKING:
            with FileStore(path) as s:  # opens without error
                assert not s.recovery.skipped  # a kill only ever tears the tail
                report.torn_tails += s.recovery.truncated_bytes > 0
                sender, target = s.next_sender_seq(), s.next_target_seq()
                assert sender > promised_sender, (run, sender, promised_sender)
                assert target >= promised_target, (run, target, promised_target)
                assert sender >= last_sender and target >= last_target  # never backwards
                last_sender, last_target = sender, target
                stored = dict(s.get(1, 0))
                missing = printed - stored.keys()
                assert not missing, f"completed saves lost: {sorted(missing)[:10]}"
                for seq, data in stored.items():  # and every stored frame is intact
                    assert data == frame_for(seq), seq
                    assert seq < sender
        assert not tmp.exists()
    return report


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_at_random_moments_loses_no_completed_call(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = list(pool.map(lambda seed: run_chain(tmp_path, seed), range(CHAINS)))
    kills = sum(r.kills for r in reports)
    assert kills >= 50
    assert sum(r.saves for r in reports) > kills  # the writers did make progress
    print(
        f"{kills} kills, {sum(r.saves for r in reports)} completed saves, "
        f"{sum(r.mid_compaction for r in reports)} kills during an explicit compaction, "
        f"{sum(r.stale_tmp for r in reports)} left a compaction file, "
        f"{sum(r.torn_tails for r in reports)} left a torn record"
    )

"""Session path benchmark: inbound ExecutionReports through a whole Session vs decode alone.

    .venv/bin/python benchmarks/bench_session.py [--quick] [--write-docs]

Both sides are measured in the same run, on the same frames. The session path is: receive_data
(4 KiB chunks) -> framing with BodyLength and CheckSum -> decode -> header checks (CompIDs,
SendingTime, MsgSeqNum, PossDup) -> an ApplicationMessage event, read with ``events()``.

Two pairs, each comparing a session with the decoding that session does:

* the default session (``validate_messages=True``: every value converted and checked on arrival,
  so a malformed fill is rejected at once) vs ``prediction.decode(frame).validate()``;
* a lazy session (``validate_messages=False``: values convert on first access) vs
  ``prediction.decode(frame)``.

Timing: many short rounds; each round times the two sides of a pair back to back (their order
alternating) with garbage collection off, like timeit. The figure reported for a pair is the
median of the per-round throughput ratios, with the quartiles: on a shared machine whose speed
drifts, sides measured a few milliseconds apart see the same machine, while best-of-N taken
seconds apart may not.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from kalshi_fix_sansio import Header, prediction
from kalshi_fix_sansio._samples import ORDER_ID, T0, prediction_messages
from kalshi_fix_sansio.config import KALSHI_COMP_ID
from kalshi_fix_sansio.events import ApplicationMessage
from kalshi_fix_sansio.session import Session
from kalshi_fix_sansio.testing import SessionPair

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_800_000_000.0
TARGET = 0.7
BEGIN = "<!-- session-results -->"
END = "<!-- /session-results -->"


def make_frames(count: int, api_key: str, start_seq: int, now: float) -> list[bytes]:
    """``count`` ExecutionReports (fee and collateral groups) from Kalshi to ``api_key``."""
    er = next(m for m, _ in prediction_messages() if isinstance(m, prediction.ExecutionReport))
    frames = []
    for i in range(count):
        msg = er.replace(exec_id=f"{i};1", order_id=ORDER_ID, cum_qty=Decimal(i % 10))
        hdr = Header(
            sender_comp_id=KALSHI_COMP_ID,
            target_comp_id=api_key,
            msg_seq_num=start_seq + i,
            sending_time=T0.fromtimestamp(now, T0.tzinfo),
        )
        frames.append(prediction.encode(msg, hdr))
    return frames


def logged_on_client(validate: bool, now: float, **extra: object) -> Session:
    """A KalshiNR client session, logged on, expecting the next ExecutionReport."""
    pair = SessionPair.kalshi(session_type="KalshiNR", now=now, validate_messages=validate, **extra)
    pair.start()
    return pair.client.session


def session_side(validate: bool, stream: bytes, count: int) -> Callable[[], float]:
    """Time ``count`` frames through a fresh logged-on session (set up outside the timing)."""

    def run() -> float:
        client = logged_on_client(validate, NOW)
        chunks = [stream[i : i + 4096] for i in range(0, len(stream), 4096)]
        got = 0
        t = time.perf_counter()
        for chunk in chunks:
            client.receive_data(chunk, NOW)
            for ev in client.events():
                if isinstance(ev, ApplicationMessage):
                    got += 1
        elapsed = time.perf_counter() - t
        assert got == count, f"{got} of {count} ExecutionReports arrived"
        return elapsed / count

    return run


def decode_side(validate: bool, frames: list[bytes]) -> Callable[[], float]:
    """Time decoding the frames alone (with ``validate()`` when the session validates)."""
    decode = prediction.decode

    def run() -> float:
        t = time.perf_counter()
        if validate:
            for f in frames:
                decode(f).validate()
        else:
            for f in frames:
                decode(f)
        return (time.perf_counter() - t) / len(frames)

    return run


class Pair:
    """Per-round ratios of one session mode against its decode-alone baseline."""

    def __init__(self, name: str, baseline: str, validate: bool, frames: list[bytes]) -> None:
        self.name = name
        self.baseline = baseline
        self.decode = decode_side(validate, frames)
        self.session = session_side(validate, b"".join(frames), len(frames))
        self.ratios: list[float] = []
        self.best_decode = float("inf")
        self.best_session = float("inf")

    def round(self, session_first: bool) -> None:
        if session_first:
            s = self.session()
            d = self.decode()
        else:
            d = self.decode()
            s = self.session()
        self.ratios.append(d / s)
        self.best_decode = min(self.best_decode, d)
        self.best_session = min(self.best_session, s)

    def quartiles(self) -> tuple[float, float, float]:
        q1, median, q3 = statistics.quantiles(self.ratios, n=4)
        return q1, median, q3


def run(rounds: int, count: int) -> list[Pair]:
    """Measure both pairs over ``rounds`` rounds of ``count`` ExecutionReports each."""
    client = logged_on_client(False, NOW)
    frames = make_frames(count, client.config.sender_comp_id, client.next_target_seq, NOW)
    pairs = [
        Pair("session path, default (validate_messages=True)", "decode + validate()", True, frames),
        Pair("session path, lazy (validate_messages=False)", "decode alone", False, frames),
    ]
    for p in pairs:  # warm up: imports, caches, the allocator
        p.round(False)
        p.ratios.clear()
    gc.collect()
    gc.disable()  # like timeit: no garbage collection inside the timed loops (both sides)
    try:
        for i in range(rounds):
            for p in pairs:
                p.round(session_first=bool(i % 2))
    finally:
        gc.enable()
    return pairs


def report(pairs: list[Pair], rounds: int, count: int) -> list[str]:
    """The results as Markdown lines."""
    lines = [
        f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}; "
        f"{rounds} rounds of {count:,} ExecutionReports",
        "",
        "| session | best time per ExecutionReport | compared with | its best time "
        "| throughput vs decode (median of rounds, quartiles) |",
        "|---|---|---|---|---|",
    ]
    for p in pairs:
        q1, med, q3 = p.quartiles()
        lines.append(
            f"| {p.name} | {p.best_session * 1e6:.1f} µs | {p.baseline} "
            f"| {p.best_decode * 1e6:.1f} µs | **{med:.2f}x** ({q1:.2f}-{q3:.2f}) |"
        )
    lines.append("")
    for p in pairs:
        med = p.quartiles()[1]
        verdict = "meets" if med >= TARGET else "below"
        lines.append(
            f"* {p.name}: {med:.2f}x {p.baseline} ({verdict} the {TARGET}x target)"
        )
    return lines


def write_docs(lines: list[str]) -> None:
    """Replace the block between the session markers in docs/benchmarks.md."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8")
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END)
    path.write_text(text[:start] + "\n" + "\n".join(lines) + "\n" + text[end:], encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a few short rounds (a smoke test)")
    parser.add_argument(
        "--write-docs", action="store_true", help="write the table into docs/benchmarks.md"
    )
    args = parser.parse_args(argv)
    rounds, count = (4, 300) if args.quick else (41, 1000)
    pairs = run(rounds, count)
    lines = report(pairs, rounds, count)
    print("\n".join(lines))
    if args.write_docs:
        write_docs(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

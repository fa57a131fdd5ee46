"""Session path benchmark: inbound ExecutionReports through a whole Session vs decode alone.

    .venv/bin/python benchmarks/bench_session.py [--quick]

Both sides are measured in the same run. The session path is: receive_data (4 KiB chunks) ->
framing with CheckSum -> decode -> header checks (CompIDs, SendingTime, MsgSeqNum) -> an
ApplicationMessage event. Decode alone is `prediction.decode(frame)` on the same frames.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from decimal import Decimal

from kalshi_fix_sansio import Header, prediction
from kalshi_fix_sansio._samples import ORDER_ID, T0, prediction_messages
from kalshi_fix_sansio.config import KALSHI_COMP_ID
from kalshi_fix_sansio.events import ApplicationMessage
from kalshi_fix_sansio.session import Session
from kalshi_fix_sansio.testing import SessionPair


def make_frames(count: int, api_key: str, start_seq: int, now: float) -> list[bytes]:
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
    pair = SessionPair.kalshi(session_type="KalshiNR", now=now, validate_messages=validate, **extra)
    pair.start()
    return pair.client.session


def run(count: int, repeat: int) -> None:
    # like timeit: no garbage collection inside the timed loops (the same for both sides)
    gc.collect()
    gc.disable()
    try:
        _run(count, repeat)
    finally:
        gc.enable()


def _session_once(validate: bool, count: int, now: float) -> float:
    client = logged_on_client(validate, now)
    frames = make_frames(count, client.config.sender_comp_id, client.next_target_seq, now)
    stream = b"".join(frames)
    t = time.perf_counter()
    got = 0
    for i in range(0, len(stream), 4096):
        client.receive_data(stream[i : i + 4096], now)
        for ev in client.events():
            if isinstance(ev, ApplicationMessage):
                got += 1
    elapsed = time.perf_counter() - t
    assert got == count, got
    return elapsed


def _decode_once(frames: list[bytes], validate: bool) -> float:
    t = time.perf_counter()
    if validate:
        for f in frames:
            prediction.decode(f).validate()
    else:
        for f in frames:
            prediction.decode(f)
    return time.perf_counter() - t


def _run(count: int, repeat: int) -> None:
    now = 1_800_000_000.0
    frames = make_frames(count, "key-1", 2, now)
    best = {
        "decode": float("inf"),
        "validate": float("inf"),
        "lazy": float("inf"),
        "full": float("inf"),
    }
    # interleaved, so a machine that speeds up or slows down during the run affects both sides
    for _ in range(repeat):
        best["decode"] = min(best["decode"], _decode_once(frames, False))
        best["lazy"] = min(best["lazy"], _session_once(False, count, now))
        best["validate"] = min(best["validate"], _decode_once(frames, True))
        best["full"] = min(best["full"], _session_once(True, count, now))
    decode = best["decode"] / count
    decode_validate = best["validate"] / count
    results = {
        "session path (validate_messages=False)": best["lazy"] / count,
        "session path (validate_messages=True)": best["full"] / count,
    }
    print("| path | time per ExecutionReport | throughput vs decode alone |")
    print("|---|---|---|")
    print(f"| decode alone | {decode * 1e6:.1f} µs | 1.00x |")
    print(
        f"| decode + validate() | {decode_validate * 1e6:.1f} µs | {decode / decode_validate:.2f}x |"
    )
    for name, t in results.items():
        print(f"| {name} | {t * 1e6:.1f} µs | {decode / t:.2f}x |")
    print()
    lazy = results["session path (validate_messages=False)"]
    full = results["session path (validate_messages=True)"]
    print(f"* session path, lazy values: {decode / lazy:.2f}x decode alone (target >= 0.7x)")
    print(f"* session path, validated values: {decode_validate / full:.2f}x decode + validate()")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    run(500 if args.quick else 5000, 2 if args.quick else 5)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

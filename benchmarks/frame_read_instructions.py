"""What the client's clean read of a FIX-level backtest's frames costs in C, by part: callgrind
instructions per frame of `Codec.decode_clean` and of the steps it is made of, and of the ways
round 17 measured to make the same fields without its frame pattern.

    .venv/bin/python benchmarks/frame_read_instructions.py [--frames 2000]

The frames are the ones a `watch` backtest hands its market-data client (`_End.data_built`,
captured from one run of `bench_backtest.py`'s recording); the codec is the dialect's, its
layouts learned from the first 50 (decoded and checked, so each layout has its pattern). Each
part runs over the frames 5 times and 25 times in a child under callgrind (PYTHONHASHSEED=0:
the counts repeat to the instruction); its figure is the difference divided by the 20 extra
passes' frames, less the empty loop's. Parts:

* ``count``: ``frame.count(b"=")`` (the guess of the layout);
* ``match``: the layout's pattern over the whole frame (the guess and the match);
* ``groups``: the match and its ``groups()`` (the values);
* ``decode_clean``: the whole step, the message made (`_decode._message`);
* ``floor``: a pattern of the same tags whose every value is ``[^\\x01]++`` (the cheapest
  pattern that still finds every value);
* ``split``: ``frame.replace(b"=", SOH).split(SOH)`` (`Codec.decode`'s split);
* ``split_soh``: ``frame.split(SOH)`` (the fields, each ``tag=value``).
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PARTS = ("none", "count", "match", "groups", "decode_clean", "floor", "split", "split_soh")
SOH = b"\x01"


def capture(path: Path, messages: int) -> None:
    """The frames a `watch` backtest of ``messages`` recorded messages hands its client,
    pickled to ``path``."""
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_backtest as bb

    from kalshi_fix_sansio.simulator.backtests.backtest import run_backtest
    from kalshi_fix_sansio.simulator.backtests.compiled import compile_recording
    from kalshi_fix_sansio.simulator.world._inmemory import _blocking

    frames: list[bytes] = []
    built = _blocking._End.data_built

    def kept(end: Any, data: bytes, handed: Any = None) -> None:
        frames.append(data)
        built(end, data, handed)

    _blocking._End.data_built = kept  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            recording = bb._recording(tmp, messages)
            compile_recording(recording)
            run_backtest(bb.watch, recording, mode="fix")
    finally:
        _blocking._End.data_built = built  # type: ignore[method-assign]
    path.write_bytes(pickle.dumps(frames))


def run_part(path: Path, part: str, passes: int, frames: int) -> None:
    """One child's work: ``part`` over ``frames`` of the captured frames, ``passes`` times."""
    from kalshi_fix_sansio.codec import dialect_codec

    captured: list[bytes] = pickle.loads(path.read_bytes())
    codec: Any = dialect_codec("prediction")
    for frame in captured[:50]:
        codec.decode(frame, False, False, True, False)
        codec.decode(frame, False, False, True, False).check()
    work = captured[200 : 200 + frames] * passes
    recent = codec._recent
    if part == "none":
        for _frame in work:
            pass
    elif part == "count":
        for frame in work:
            frame.count(b"=")
    elif part == "match":
        for frame in work:
            recent[frame.count(b"=")].pattern_cents(frame)
    elif part == "groups":
        for frame in work:
            recent[frame.count(b"=")].pattern_cents(frame).groups()
    elif part == "decode_clean":
        clean = codec.decode_clean
        for frame in work:
            clean(frame, False, False)
    elif part == "floor":
        floors = {
            n: re.compile(
                b"".join(re.escape(t) + rb"=([^\x01]++)" + SOH for t in hit.key.split(SOH))
            ).fullmatch
            for n, hit in recent.items()
        }
        for frame in work:
            floors[frame.count(b"=")](frame)
    elif part == "split":
        for frame in work:
            frame.replace(b"=", SOH).split(SOH)
    elif part == "split_soh":
        for frame in work:
            frame.split(SOH)


def counted(path: Path, part: str, passes: int, frames: int) -> int:
    """Callgrind's instructions of one child running ``part``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = dict(os.environ, PYTHONHASHSEED="0")
        args = [__file__, "--child", str(path), part, str(passes), str(frames)]
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        assert found is not None, done.stderr[-2000:]
        return int(found.group(1))


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        path, part, passes, frames = sys.argv[2:6]
        run_part(Path(path), part, int(passes), int(frames))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frames.pickle"
        capture(path, args.frames + 2200)
        per: dict[str, float] = {}
        for part in PARTS:
            low, high = (counted(path, part, n, args.frames) for n in (5, 25))
            per[part] = (high - low) / (20 * args.frames)
            mark = "" if part == "none" else f"{per[part] - per['none']:10,.0f}"
            print(f"{part:>14} {mark}", flush=True)


if __name__ == "__main__":
    main()

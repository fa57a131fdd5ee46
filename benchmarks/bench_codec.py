"""Codec benchmarks, with peers measured side by side in the same run.

    .venv/bin/python benchmarks/bench_codec.py [--quick] [--write-docs]

Prints a table of ratios (the numbers that matter on a shared, noisy machine) and, with
``--write-docs``, writes it into docs/maintainers/benchmarks.md.

* typed decode of a mixed corpus (Heartbeat, NewOrderSingle, ExecutionReport with a fee group,
  MarketDataIncrementalRefresh with 10 entries, 20-level snapshot) vs the pure-Python split
  floor ``[f.split(b"=", 1) for f in frame.split(b"\\x01")]`` and simplefix;
* NewOrderSingle encode vs a minimal pure-Python join encoder and simplefix;
* framing 10,000 frames: fed in 4 KiB chunks, all buffered at once, and one frame per feed.
"""

from __future__ import annotations

import argparse
import platform
import sys
import timeit
from collections.abc import Callable
from decimal import Decimal

from _docs import write_block

from kalshi_fix_sansio import Framer
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.simulator.testing.samples import frames, header

try:
    import simplefix
except ImportError:  # pragma: no cover - dev extra not installed
    simplefix = None


def race(fns: dict[str, tuple[Callable[[], object], int]], repeat: int) -> dict[str, float]:
    """Best time of one call of each function, measured interleaved (name -> (fn, number)).

    Interleaving keeps a machine that speeds up or slows down during the run from favouring
    whichever side happened to be measured in the fast moment.
    """
    out = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, (fn, number) in fns.items():
            out[name] = min(out[name], timeit.timeit(fn, number=number) / number)
    return out


def bench_decode(number: int, repeat: int) -> dict[str, float]:
    corpus = frames("prediction")

    def floor() -> None:
        for f in corpus:
            [x.split(b"=", 1) for x in f.split(b"\x01")]

    def typed() -> None:
        for f in corpus:
            p.decode(f)

    fns: dict[str, tuple[Callable[[], object], int]] = {
        "split floor": (floor, number),
        "kalshi-fix-sansio decode": (typed, number),
    }
    if simplefix is not None:

        def sf() -> None:
            parser = simplefix.FixParser()
            for f in corpus:
                parser.append_buffer(f)
                parser.get_message()

        fns["simplefix parse"] = (sf, max(number // 10, 1))
    return race(fns, repeat)


def join_encoder(pairs: list[tuple[int, str]]) -> bytes:
    """A minimal correct FIX encoder: join, BodyLength, CheckSum."""
    body = "".join(f"{t}={v}\x01" for t, v in pairs).encode()
    head = b"8=FIXT.1.1\x019=%d\x01" % len(body)
    msg = head + body
    return msg + b"10=%03d\x01" % (sum(msg) % 256)


def bench_encode(number: int, repeat: int) -> dict[str, float]:
    order = p.NewOrderSingle(
        cl_ord_id="550e8400-e29b-41d4-a716-446655440000",
        side=p.Side.BUY,
        order_qty=Decimal("10"),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.75"),
        symbol="HIGHNY-23DEC31",
        time_in_force=p.TimeInForce.GTC,
    )
    hdr = header(2, False)
    pairs = [
        (35, "D"),
        (49, hdr.sender_comp_id or ""),
        (56, "KalshiNR"),
        (34, "2"),
        (52, "20261120-14:30:00.125"),
        (11, "550e8400-e29b-41d4-a716-446655440000"),
        (38, "10"),
        (40, "2"),
        (44, "75"),
        (54, "1"),
        (55, "HIGHNY-23DEC31"),
        (59, "1"),
    ]
    assert p.decode(join_encoder(pairs)) == order
    fns: dict[str, tuple[Callable[[], object], int]] = {
        "minimal join encoder": (lambda: join_encoder(pairs), number),
        "kalshi-fix-sansio encode": (lambda: p.encode(order, hdr), number),
    }
    if simplefix is not None:

        def sf() -> bytes:
            msg = simplefix.FixMessage()
            msg.append_pair(8, "FIXT.1.1")
            for t, v in pairs:
                msg.append_pair(t, v)
            return bytes(msg.encode())

        fns["simplefix encode"] = (sf, number)
    return race(fns, repeat)


def bench_framing(repeat: int, count: int) -> dict[str, float]:
    corpus = frames("prediction")
    stream_frames = [corpus[i % len(corpus)] for i in range(count)]
    stream = b"".join(stream_frames)

    def drain(framer: Framer) -> int:
        n = 0
        while framer.next() is not None:
            n += 1
        return n

    def chunks() -> None:
        framer = Framer()
        n = 0
        for i in range(0, len(stream), 4096):
            framer.feed(stream[i : i + 4096])
            n += drain(framer)
        assert n == count

    def all_at_once() -> None:
        framer = Framer()
        framer.feed(stream)
        assert drain(framer) == count

    def one_per_feed() -> None:
        framer = Framer()
        n = 0
        for f in stream_frames:
            framer.feed(f)
            n += drain(framer)
        assert n == count

    times = race(
        {
            "4 KiB chunks": (chunks, 1),
            f"{count:,} frames buffered": (all_at_once, 1),
            "one frame per feed": (one_per_feed, 1),
        },
        repeat,
    )
    return {name: t / count for name, t in times.items()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="write the table into docs/maintainers/benchmarks.md",
    )
    args = parser.parse_args(argv)
    number, repeat = (200, 3) if args.quick else (3000, 7)
    dec = bench_decode(number, repeat)
    enc = bench_encode(number * 2, repeat)
    fr = bench_framing(3 if args.quick else 7, 10_000)

    floor = dec["split floor"]
    join = enc["minimal join encoder"]
    one = fr["one frame per feed"]
    lines = [
        f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}",
        "",
        "| benchmark | time per op | throughput vs peer |",
        "|---|---|---|",
    ]
    for name, t in dec.items():
        lines.append(
            f"| decode mixed corpus (5 frames): {name} | {t * 1e6:.1f} µs | {floor / t:.2f}x split floor |"
        )
    for name, t in enc.items():
        lines.append(
            f"| NewOrderSingle encode: {name} | {t * 1e6:.1f} µs | {join / t:.2f}x join encoder |"
        )
    for name, t in fr.items():
        lines.append(
            f"| framing, per frame: {name} | {t * 1e6:.2f} µs | cost {t / one:.2f}x one-per-feed |"
        )
    decode_ratio = floor / dec["kalshi-fix-sansio decode"]
    encode_ratio = join / enc["kalshi-fix-sansio encode"]
    frame_ratio = fr["10,000 frames buffered"] / one
    lines += [
        "",
        f"* typed decode throughput: {decode_ratio:.2f}x the split floor (target >= 0.75x)",
        f"* NewOrderSingle encode throughput: {encode_ratio:.2f}x the join encoder (target >= 0.5x)",
        f"* framing cost per frame with 10,000 buffered: {frame_ratio:.2f}x one per feed (target <= 1.2x)",
    ]
    table = "\n".join(lines)
    print(table)
    if args.write_docs:
        write_block("<!-- results -->", "<!-- /results -->", ["", table])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

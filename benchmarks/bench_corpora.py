"""The codec held on three corpora: the samples, a recorded trading session, generated frames.

    .venv/bin/python benchmarks/bench_corpora.py [--quick] [--write-docs]

`bench_read.py` measures every way of reading on one corpus, the library's samples, which the
speed work was tuned on. This benchmark measures the two headline rows on that corpus and on
two it was not tuned on, side by side:

* ``samples``: `bench_read.corpus` (Heartbeat, NewOrderSingle, ExecutionReport with fee and
  collateral groups, a 10-entry 35=X, a 20-level 35=W; Kalshi's header order on the frames
  Kalshi sends);
* ``mock session``: every frame a trading session with the mock gateway exchanged, both
  directions, read back from its FIX message log (``benchmarks/corpora/mock_session.log``,
  written by ``record_session.py``: Logons, 35=V, 35=W, 123 35=X, orders placed, amended,
  cancelled, filled and rejected, their ExecutionReports, Logouts); RawData, which every
  message log redacts, is put back as as many bytes as the log says it had;
* ``generated``: frames made from the spec with a fixed seed (`generated_corpus`): for each
  message type a KalshiNR or KalshiMD session sends or receives, frames whose optional fields
  are each present with probability 1/2, group sizes drawn at random (market-data entries 1-20,
  other groups 1-3, an optional group absent half the time), values of each field's FIX type
  (enums from the dialect's enum classes), built with the public message classes and
  ``prediction.encode``.

Rows per corpus (each against a baseline over the same frames, timed in the same round):

* read every field present: decode + every header, body and group-entry field read by
  attribute (`bench_read.full_reader`), against the split floor over the corpus's frames;
* build + encode: the corpus's orders (35=D, F and G) built from typed values (the message,
  its group entries and its Header constructed) and encoded, against the minimal join encoder
  given the same frames' (tag, str) pairs.

Timing as `bench_read.py`: short interleaved rounds with garbage collection off, baselines
timed before and after the rows, the median of the per-round ratios with the quartiles.
"""

from __future__ import annotations

import enum
import gc
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from time import perf_counter_ns as time_ns
from typing import Any

from _docs import arguments, publish, write_block
from bench_read import Row, calibrate, full_reader, join_encoder
from bench_read import corpus as samples_corpus

from kalshi_fix_sansio import Header
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.codec import spec

BEGIN = "<!-- corpora-results -->"
END = "<!-- /corpora-results -->"
HERE = Path(__file__).resolve().parent
SESSION_LOG = HERE / "corpora" / "mock_session.log"
ORDER_TYPES = frozenset({"D", "F", "G"})
SEED = 20261123
#: Targets (the project's, as in bench_read.py): on every corpus.
TARGET_READ = 0.25
TARGET_BUILD = 0.35


# -- the corpora -------------------------------------------------------------------------------


@dataclass
class Corpus:
    """Frames to read, and orders to build: (message recipe, header kwargs, frame)."""

    name: str
    describe: str
    frames: list[bytes]
    orders: list[tuple[Recipe, dict[str, Any], bytes]] = field(default_factory=list)


@dataclass
class Recipe:
    """How a record is built from typed values: its class, its fields, its groups' entries."""

    cls: type
    fields: dict[str, Any]
    groups: dict[str, list[Recipe]]

    def build(self) -> Any:
        groups = {name: [e.build() for e in entries] for name, entries in self.groups.items()}
        return self.cls(**self.fields, **groups)


def recipe_of(record: Any) -> Recipe:
    """The recipe that builds ``record`` again (its members as the generated class lists them)."""
    fields: dict[str, Any] = {}
    groups: dict[str, list[Recipe]] = {}
    for member in type(record)._MEMBERS:
        value = getattr(record, member.attr)
        if value is None:
            continue
        if hasattr(member, "entry"):
            groups[member.attr] = [recipe_of(e) for e in value]
        else:
            fields[member.attr] = value
    return Recipe(type(record), fields, groups)


def header_kwargs(msg: Any) -> dict[str, Any]:
    """A decoded message's header fields as `Header` keyword arguments."""
    return {spec.FIELDS[tag].attr: value for tag, _, value in msg.header.items()}


def with_orders(name: str, describe: str, frames: list[bytes]) -> Corpus:
    """A corpus of ``frames``; its orders are those of its frames that are 35=D, F or G."""
    out = Corpus(name, describe, frames)
    for frame in frames:
        msg = p.decode(frame)
        if msg.MSG_TYPE in ORDER_TYPES:
            out.orders.append((recipe_of(msg), header_kwargs(msg), frame))
    return out


_ESCAPE = re.compile(rb"\\x([0-9a-f]{2})")
_REDACTED = re.compile(rb"\x0196=<redacted (\d+) bytes>\x01")


def log_frames(text: str) -> list[bytes]:
    """The frames of a FIX message log (``<time> <IN|OUT> <session> <frame>`` lines; SOH shown
    as ``|``, control characters escaped, RawData redacted: put back as that many bytes)."""
    frames = []
    for line in text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[1] not in ("IN", "OUT") or parts[3].startswith("<"):
            continue
        raw = parts[3].encode("utf-8").replace(b"|", b"\x01")
        raw = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
        raw = _REDACTED.sub(lambda m: b"\x0196=" + b"x" * int(m.group(1)) + b"\x01", raw)
        fields = raw.split(b"\x01")[2:-2]  # without 8, 9 and 10: framed again below
        pairs = [(int(t), v.decode()) for t, _, v in (f.partition(b"=") for f in fields)]
        frames.append(join_encoder(pairs))
    return frames


def session_corpus(path: Path = SESSION_LOG) -> Corpus:
    frames = log_frames(path.read_text(encoding="utf-8"))
    kinds = sorted({p.decode(f).MSG_TYPE for f in frames})
    return with_orders(
        "mock session",
        f"{len(frames)} frames a mock-gateway trading session exchanged, both directions, read "
        f"back from its message log (MsgTypes {', '.join(kinds)})",
        frames,
    )


# -- generated from the spec -------------------------------------------------------------------


T0 = datetime(2026, 11, 20, 14, 30, tzinfo=timezone.utc)


class Values:
    """Values of each FIX type, drawn from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def enum_of(self, tag: int) -> type[enum.Enum] | None:
        name = spec.FIELDS[tag].name
        for candidate in (name, f"{name}Value"):
            cls = getattr(p, candidate, None)
            if isinstance(cls, type) and issubclass(cls, enum.Enum):
                return cls
        return None

    def of(self, tag: int) -> Any:
        r, info = self.rng, spec.FIELDS[tag]
        kind = info.type
        found = self.enum_of(tag)
        if found is not None:
            return r.choice(list(found))
        if kind == "PRICE":
            return Decimal(r.randint(1, 99)) / 100
        if kind == "QTY":
            return Decimal(r.randint(1, 500))
        if kind == "AMT":
            return Decimal(r.randint(-100_000, 100_000)) / 100
        if kind in ("INT", "SEQNUM", "LENGTH"):
            return r.randint(0, 1000)
        if kind == "BOOLEAN":
            return r.random() < 0.5
        if kind == "CURRENCY":
            return "USD"
        if kind in ("LOCALMKTDATE", "UTCDATEONLY"):
            return date(2026, 11, 20) + timedelta(days=r.randint(0, 400))
        if kind == "UTCTIMEONLY":
            return time(
                r.randint(0, 23),
                r.randint(0, 59),
                r.randint(0, 59),
                r.randint(0, 999) * 1000,
                tzinfo=timezone.utc,
            )
        if kind == "UTCTIMESTAMP":
            return T0 + timedelta(milliseconds=r.randint(0, 86_400_000))
        if info.name == "Symbol":
            return f"KXBENCH-26NOV{r.randint(10, 30)}-T{r.randint(10, 99)}"
        if info.name.endswith("ID"):
            return str(uuid.UUID(int=r.getrandbits(128), version=4))
        return "".join(r.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(r.randint(4, 24)))


def generated_recipe(cls: type, values: Values, *, entry: bool = False) -> Recipe | None:
    """A random record of ``cls``: required fields always (and an entry's delimiter), each
    optional field with probability 1/2, group sizes at random. None: a class with a data
    field (Logon's RawData), left out."""
    r = values.rng
    required = cls._REQUIRED  # type: ignore[attr-defined]
    fields: dict[str, Any] = {}
    groups: dict[str, list[Recipe]] = {}
    for i, member in enumerate(cls._MEMBERS):  # type: ignore[attr-defined]
        must = member.key in required or (entry and i == 0)
        if hasattr(member, "entry"):
            if not must and r.random() < 0.5:
                continue
            most = 20 if member.tag == 268 else 3
            made = [
                generated_recipe(member.entry, values, entry=True)
                for _ in range(r.randint(1, most))
            ]
            groups[member.attr] = [e for e in made if e is not None]
            continue
        if spec.FIELDS[member.tag].type in ("DATA", "LENGTH") and member.tag in _DATA_PAIRS:
            if must:
                return None
            continue
        if must or r.random() < 0.5:
            fields[member.attr] = values.of(member.tag)
    return Recipe(cls, fields, groups)


#: Length tags and their data tags (left out of generated frames: their values pair up).
_DATA_PAIRS = frozenset({95, 96, 89, 93, 90, 91, 212, 213, 354, 355})


def generated_corpus(per_type: int = 3, orders_per_type: int = 5, seed: int = SEED) -> Corpus:
    """Frames of every message type KalshiNR and KalshiMD send or receive (prediction),
    ``per_type`` of each, and ``orders_per_type`` more of each order type (D, F, G)."""
    values = Values(random.Random(seed))
    kinds: list[str] = []
    for session in ("KalshiNR", "KalshiMD"):
        s = spec.SESSIONS[("prediction", session)]
        kinds += [k for k in (*s.send, *s.receive) if k not in kinds]
    frames: list[bytes] = []
    orders: list[tuple[Recipe, dict[str, Any], bytes]] = []
    seq = 1
    for kind in kinds:
        cls = getattr(p, spec.MESSAGES[kind].name)
        count = per_type + (orders_per_type if kind in ORDER_TYPES else 0)
        for _ in range(count):
            recipe = generated_recipe(cls, values)
            if recipe is None:
                break
            seq += 1
            hdr = {
                "sender_comp_id": "bench-key",
                "target_comp_id": "KalshiNR",
                "msg_seq_num": seq,
                "sending_time": values.of(52),
            }
            if values.rng.random() < 0.2:
                hdr["poss_dup_flag"] = True
                hdr["orig_sending_time"] = values.of(122)
            frame = p.encode(recipe.build(), Header(**hdr))
            frames.append(frame)
            if kind in ORDER_TYPES:
                orders.append((recipe, hdr, frame))
    made = sorted({p.decode(f).MSG_TYPE for f in frames})
    out = Corpus(
        "generated",
        f"{len(frames)} frames generated from the spec (seed {seed}): MsgTypes "
        f"{', '.join(made)}; optional fields present with probability 1/2, group sizes at "
        "random (35=W/X entries 1-20, others 1-3)",
        frames,
        orders,
    )
    return out


def samples() -> Corpus:
    return with_orders(
        "samples",
        "the library's samples (bench_read.py's corpus: 35=0, D, 8 with groups, 10-entry X, "
        "20-level W)",
        samples_corpus(),
    )


def corpora(quick: bool = False, session_log: Path = SESSION_LOG) -> list[Corpus]:
    generated = generated_corpus(1, 1) if quick else generated_corpus()
    return [samples(), session_corpus(session_log), generated]


# -- rows ----------------------------------------------------------------------------------------


@dataclass
class Measured:
    corpus: Corpus
    split: Row
    join: Row
    read: Row
    build: Row


def measured(c: Corpus) -> Measured:
    """The four rows of one corpus (two baselines, two compared with them)."""
    frames = list(c.frames)
    readers = [full_reader(f) for f in frames]
    decode = p.decode
    pairs = [
        [(int(t), v.decode()) for t, _, v in (x.partition(b"=") for x in f.split(b"\x01")[2:-2])]
        for _, _, f in c.orders
    ]
    builds = [(recipe, hdr) for recipe, hdr, _ in c.orders]
    for (recipe, hdr, frame), pr in zip(c.orders, pairs, strict=True):
        assert join_encoder(pr) == frame
        assert p.encode(recipe.build(), Header(**hdr)) == frame, frame

    def split() -> None:
        for f in frames:
            [x.split(b"=", 1) for x in f.split(b"\x01")]

    def read() -> None:
        for f, reader in zip(frames, readers, strict=True):
            reader(decode(f))

    def join() -> None:
        for pr in pairs:
            join_encoder(pr)

    encode = p.encode

    def build() -> None:
        for recipe, hdr in builds:
            encode(recipe.build(), Header(**hdr))

    n = len(c.orders)
    return Measured(
        c,
        Row("split floor", f"{len(frames)} frames split into byte pairs", split, ""),
        Row("join encoder", f"{n} orders from ready (tag, str) pairs", join, ""),
        Row("read every field present", "", read, "split", target=TARGET_READ),
        Row("build + encode", f"{n} orders", build, "join", target=TARGET_BUILD),
    )


def run(cs: list[Corpus], rounds: int, seconds: float) -> list[Measured]:
    ms = [measured(c) for c in cs]
    rows = [r for m in ms for r in (m.split, m.join, m.read, m.build)]
    for r in rows:
        calibrate(r, seconds)
    gc.collect()
    gc.disable()
    try:
        for i in range(rounds):
            order = ms[i % len(ms) :] + ms[: i % len(ms)]
            for m in reversed(order) if i % 2 else order:
                base = {"split": m.split.time_once(), "join": m.join.time_once()}
                took = {"read": m.read.time_once(), "build": m.build.time_once()}
                after = {"split": m.split.time_once(), "join": m.join.time_once()}
                for key, row in (("split", m.split), ("join", m.join)):
                    row.times += [base[key], after[key]]
                for key, row, b in (("read", m.read, "split"), ("build", m.build, "join")):
                    row.times.append(took[key])
                    row.ratios.append((base[b] + after[b]) / 2 / took[key])
    finally:
        gc.enable()
    return ms


# -- report --------------------------------------------------------------------------------------


def _cell(row: Row) -> str:
    q1, med, q3 = row.quartiles()
    return f"**{med:.3f}x** ({q1:.3f}-{q3:.3f})"


def report(ms: list[Measured], rounds: int) -> list[str]:
    lines = [
        f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} cores; {rounds} interleaved rounds; each ratio is against the "
        "baseline over the same corpus in the same round (median of rounds, quartiles)",
        "",
        "| corpus | what it holds | split floor (best, per corpus) | read every field present "
        f"(target >= {TARGET_READ}x) | join encoder (best) | build + encode "
        f"(target >= {TARGET_BUILD}x) |",
        "|---|---|---:|---|---:|---|",
    ]
    for m in ms:
        lines.append(
            f"| {m.corpus.name} | {m.corpus.describe}; {len(m.corpus.orders)} orders "
            f"(35=D/F/G) | {min(m.split.times) * 1e6:,.1f} µs | {_cell(m.read)} "
            f"| {min(m.join.times) * 1e6:,.1f} µs | {_cell(m.build)} |"
        )
    lines.append("")
    for what, target, pick in (
        ("read every field present", TARGET_READ, lambda m: m.read),
        ("build + encode", TARGET_BUILD, lambda m: m.build),
    ):
        parts = [f"{m.corpus.name} {pick(m).median():.3f}x" for m in ms]
        held = all(pick(m).median() >= target for m in ms)
        lines.append(
            f"* project target: {what} >= {target}x on every corpus: {'; '.join(parts)} — "
            f"{'held' if held else 'NOT held'}"
        )
    return lines


def per_type(cs: list[Corpus], rounds: int, number: int) -> list[str]:
    """Read every field against the split floor, per MsgType of each corpus: where a corpus's
    ratio comes from. Each MsgType's frames alone, ``rounds`` rounds of the split floor, the
    read and the split floor again (``number`` passes each); the median of the rounds' ratios.
    """

    def timed(fn: Callable[[], None]) -> float:
        t = time_ns()
        for _ in range(number):
            fn()
        return (time_ns() - t) / number / 1e9

    lines = [
        "| corpus | MsgType | frames | mean size | split floor per frame | read every field "
        "per frame | ratio (median of rounds) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for c in cs:
        by_type: dict[str, list[bytes]] = {}
        for f in c.frames:
            by_type.setdefault(p.decode(f).MSG_TYPE, []).append(f)
        for kind, frames in sorted(by_type.items(), key=lambda kv: -len(kv[1])):
            readers = [full_reader(f) for f in frames]

            def split(frames: list[bytes] = frames) -> None:
                for f in frames:
                    [x.split(b"=", 1) for x in f.split(b"\x01")]

            def read(frames: list[bytes] = frames, readers: list[Any] = readers) -> None:
                for f, reader in zip(frames, readers, strict=True):
                    reader(p.decode(f))

            n, splits, reads, ratios = len(frames), [], [], []
            for _ in range(rounds):
                before, took, after = timed(split), timed(read), timed(split)
                splits += [before, after]
                reads.append(took)
                ratios.append((before + after) / 2 / took)
            lines.append(
                f"| {c.name} | {kind} | {n} | {sum(map(len, frames)) // n:,} B "
                f"| {min(splits) / n * 1e6:.2f} µs | {min(reads) / n * 1e6:.2f} µs "
                f"| {statistics.median(ratios):.3f}x |"
            )
    return lines


def write_docs(lines: list[str]) -> None:
    """Write the table between this benchmark's markers in docs/maintainers/benchmarks.md."""
    write_block(BEGIN, END, lines)


def main(argv: list[str]) -> int:
    parser = arguments(__doc__ or "", "a few short rounds (smoke)")
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument(
        "--record",
        action="store_true",
        help="record a fresh mock-gateway session (record_session.py) instead of reading the "
        "committed log",
    )
    args = parser.parse_args(argv)
    rounds, seconds = (3, 0.002) if args.quick else (args.rounds, 0.02)
    with tempfile.TemporaryDirectory(prefix="bench-corpora-") as tmp:
        log = SESSION_LOG
        if args.record:
            from record_session import record

            log = Path(tmp) / "session.log"
            record(log)
        cs = corpora(args.quick, log)
    ms = run(cs, rounds, seconds)
    lines = report(ms, rounds)
    lines += [
        "",
        "Where each corpus's read ratio comes from (each MsgType's frames alone, the split "
        "floor and the read in alternation; times are the best per frame):",
        "",
        *per_type(cs, *((3, 3) if args.quick else (15, 40))),
    ]
    publish(lines, BEGIN, END, args.write_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

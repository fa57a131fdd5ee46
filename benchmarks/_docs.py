"""What the benchmarks share: writing their table into docs/maintainers/benchmarks.md between
markers, and the headline figures the user pages show, taken from those tables.

docs/maintainers/benchmarks.md is the one source of every figure. Each benchmark writes its
table (and the lines that say whether its targets hold) between its markers there; the
performance page (docs/performance.md) and the README show one table of headline figures
read from those lines (`HEADLINES`), rewritten whenever a benchmark writes its table, and
``tests/test_performance_page.py`` fails when either differs from what the source says.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "maintainers" / "benchmarks.md"
PERFORMANCE = ROOT / "docs" / "performance.md"
README = ROOT / "README.md"
TABLE = ("<!-- performance-table -->", "<!-- /performance-table -->")
"""The markers of the generated table in docs/performance.md and in README.md."""


def write_block(begin: str, end: str, lines: list[str]) -> None:
    """Replace what stands between the ``begin`` and ``end`` markers of the benchmarks page,
    then the headline tables of the performance page and the README drawn from it."""
    _replace(DOC, begin, end, lines)
    write_headlines()


def _replace(path: Path, begin: str, end: str, lines: list[str]) -> None:
    text = path.read_text(encoding="utf-8")
    start = text.index(begin) + len(begin)
    stop = text.index(end)
    path.write_text(text[:start] + "\n" + "\n".join(lines) + "\n" + text[stop:], encoding="utf-8")


def arguments(doc: str, quick: str) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring as help, ``--quick`` and ``--write-docs``."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="write the table into docs/maintainers/benchmarks.md",
    )
    return parser


def publish(lines: list[str], begin: str, end: str, write: bool) -> None:
    """Print a benchmark's table; with ``write`` also put it between its markers."""
    print("\n".join(lines))
    if write:
        write_block(begin, end, lines)


# -- the headline figures ---------------------------------------------------------------------

_HELD = r"(?P<held>held|NOT held|not held|not compared)"


@dataclass(frozen=True)
class Headline:
    """One row of the performance table: a project target and where its figure comes from.

    Attributes:
        target: the target, as a user reads it.
        measure: what is measured, in a few words.
        configuration: what differs from the library's defaults in the measured run.
        block: the benchmark's markers in docs/maintainers/benchmarks.md (``tick`` for
            ``<!-- tick-results -->``).
        line: a regular expression matching the benchmark's line for the target, with the
            groups ``value`` and ``held`` (``held``, ``met``, ``meets``: held).
        readme: shown in the README's table too.
    """

    target: str
    measure: str
    configuration: str
    block: str
    line: str
    readme: bool = False


HEADLINES: tuple[Headline, ...] = (
    Headline(
        "read every typed field: >= 0.25x the split floor",
        "decode and read every field, vs a bare split of the same frames",
        "codec only (no session)",
        "corpora",
        r"^\* project target: read every field present >= 0\.25x on every corpus: "
        rf"(?P<value>.+) — {_HELD}$",
        readme=True,
    ),
    Headline(
        "build and encode an order: >= 0.35x a minimal join encoder",
        "NewOrderSingle built from typed values and encoded",
        "codec only (no session)",
        "corpora",
        r"^\* project target: build \+ encode >= 0\.35x on every corpus: "
        rf"(?P<value>.+) — {_HELD}$",
    ),
    Headline(
        "decode and read three header values: >= 1.1x QuickFIX (C++)",
        "throughput, same frames, paired rounds",
        "codec only (no session)",
        "read",
        r"^\* decode \+ read MsgType, MsgSeqNum, Symbol: (?P<value>[\d.]+x) QuickFIX's "
        r"throughput \(target >= 1\.1x: (?P<held>met|NOT met)\)",
    ),
    Headline(
        "instructions per order: <= 0.5x kalshi-sdk's",
        "order -> New -> cancel -> Canceled, callgrind, per adapter",
        "heartbeat 300 s; Logon events drained",
        "instructions",
        r"^\* project target: client instructions per order <= 0\.5x kalshi-sdk's, every "
        rf"adapter: (?P<value>.+) — {_HELD}$",
        readme=True,
    ),
    Headline(
        "system calls per order: <= kalshi-sdk's",
        "order -> New -> cancel -> Canceled, strace, per adapter",
        "heartbeat 300 s; Logon events drained",
        "instructions",
        r"^\* project target: syscalls per order <= kalshi-sdk's, every adapter: "
        rf"(?P<value>.+) — {_HELD}$",
    ),
    Headline(
        "order round trip p50: <= 0.85x kalshi-sdk's",
        "order -> ack over loopback TLS, same speed mode",
        "Logon events drained",
        "latency",
        r"^\* project target: every adapter's order -> ack p50 <= 0\.85x kalshi-sdk's, same "
        rf"speed mode: (?P<value>.+) — {_HELD}",
        readme=True,
    ),
    Headline(
        "worst order round trip: <= 2x kalshi-sdk's",
        "the longest order -> ack of each process (median over processes), same speed mode",
        "Logon events drained",
        "latency",
        r"^\* project target: every adapter's worst order -> ack \(median of its processes' "
        rf"max\) <= 2\.0x kalshi-sdk's, same speed mode: (?P<value>.+) — {_HELD}",
    ),
    Headline(
        "client CPU per order: <= 0.6x kalshi-sdk's",
        "process CPU time per order round trip, same speed mode",
        "Logon events drained",
        "latency",
        r"^\* project target: every adapter's client CPU per order <= 0\.6x kalshi-sdk's, "
        rf"same speed mode: (?P<value>.+) — {_HELD}",
        readme=True,
    ),
    Headline(
        "tick to trade: <= 0.5x kalshi-sdk's instructions",
        "35=X read to order written (TLS plaintext), callgrind; kalshi-sdk's lowest of 3 runs",
        "heartbeat 300 s; order entry with QueuePolicy(queue_events=False); blocking "
        "idle_handoff x50 under callgrind",
        "tick",
        r"^\* project target: tick to trade <= 0\.5x kalshi-sdk's instructions: "
        rf"(?P<value>.+) — {_HELD}$",
        readme=True,
    ),
    Headline(
        "start-up: importing a client <= kalshi-sdk's instructions",
        "a fresh interpreter's import of each adapter's FixClient, callgrind, less the "
        "interpreter alone",
        "bytecode compiled before (as pip install leaves it); no dialect loaded yet (each "
        "loads on first use)",
        "import",
        r"^\* project target: importing a client <= kalshi-sdk's instructions, every adapter: "
        rf"(?P<value>.+) — {_HELD}$",
    ),
    Headline(
        "start-up of a prediction program: <= kalshi-sdk's instructions",
        "the same, then the prediction dialect a program loads by its first session",
        "bytecode compiled before (as pip install leaves it); margin's dialect never loaded",
        "import",
        r"^\* with the prediction dialect loaded \(a prediction program by its first session\): "
        rf"(?P<value>.+) — {_HELD}$",
    ),
    Headline(
        "backtest, compiling a recording: >= 50,000 recorded messages per CPU second",
        "the check, the columns and the cache written, per CPU second (median of 3 runs)",
        "100,002 generated messages",
        "backtest-compiled",
        r"^\* project target: compile >= 50,000 recorded messages per CPU second: "
        rf"(?P<value>[\d,]+) \(.*\) — {_HELD}$",
    ),
    Headline(
        "backtest at the FIX level: >= 20,000 recorded messages per CPU second",
        "a strategy that reads every event, per CPU second (median of 3 runs)",
        "100,002 generated messages, compiled before",
        "backtest-compiled",
        r"^\* project target: FIX level, the watching strategy \(every event\) >= 20,000 "
        rf"recorded messages per CPU second: (?P<value>[\d,]+) \(.*\) — {_HELD}$",
    ),
    Headline(
        "backtest, compiling a recording with its book states: >= 50,000 recorded messages per "
        "CPU second",
        "the compile, then each market's book after each message as columns, per CPU second "
        "(median of 3 runs)",
        "100,002 generated messages",
        "backtest-booklevel",
        r"^\* project target: compile with the book states >= 50,000 recorded messages per CPU "
        rf"second: (?P<value>[\d,]+) \(.*\) — {_HELD}$",
    ),
    Headline(
        "backtest at the book level, woken by a timer: >= 2,000,000 recorded messages per CPU "
        "second",
        "a strategy that reads every book at a wake every 10 s of recording, per CPU second "
        "(median of 3 runs)",
        "100,002 generated messages, compiled before",
        "backtest-booklevel",
        r"^\* project target: book level, `read_books_on_timer` \(a wake every 10 s\) >= "
        rf"2,000,000 recorded messages per CPU second: (?P<value>[\d,]+) \(.*\) — {_HELD}$",
    ),
    Headline(
        "backtest at the book level: >= 300,000 recorded messages per CPU second",
        "a strategy woken at every change of the books it reads, per CPU second (median of 3 runs)",
        "100,002 generated messages, compiled before",
        "backtest-booklevel",
        r"^\* project target: book level, `read_books` \(woken at every change\) >= 300,000 "
        rf"recorded messages per CPU second: (?P<value>[\d,]+) \(.*\) — {_HELD}$",
    ),
    Headline(
        "the session's own work: <= 5 µs per message",
        "session path minus decode + read every field, per ExecutionReport",
        "in process (no socket)",
        "session",
        r"^\* the session's own work per ExecutionReport .*: (?P<value>[\d.]+ µs) \(.*"
        r"target <= 5\.0 µs: (?P<held>meets|NOT met)\)$",
    ),
    Headline(
        "session throughput: >= 0.7x decoding alone",
        "ExecutionReports through a Session vs decode + check()",
        "in process (no socket)",
        "session",
        r"^\* session path, default \(validate_messages=True\): (?P<value>[\d.]+x) tolerant "
        r"decode \+ check\(\) \((?P<held>meets|below) the 0\.7x target\)$",
    ),
)


def _block(text: str, name: str) -> str:
    """What stands between ``<!-- NAME-results -->`` and its end marker."""
    begin, end = f"<!-- {name}-results -->", f"<!-- /{name}-results -->"
    if begin not in text or end not in text:
        raise LookupError(f"{DOC.name}: no {begin} ... {end} block")
    return text[text.index(begin) + len(begin) : text.index(end)]


def headline_value(headline: Headline, source: str) -> tuple[str, bool]:
    """(value, held) of ``headline`` as its benchmark's block in ``source`` states it.

    Raises:
        LookupError: the block or the line is missing (a benchmark changed its wording).
    """
    found = re.search(headline.line, _block(source, headline.block), re.M)
    if found is None:
        raise LookupError(f"{DOC.name}, {headline.block} block: no line for {headline.target!r}")
    return found["value"], found["held"] in ("held", "met", "meets")


def _spread(source: str) -> str:
    """The tick-to-trade wall-time p50s per process (min-max) of each client, from the tick
    table's one row per process: the plaintext window's, then the socket window's (how much a
    figure moves from process to process)."""
    plain: dict[str, list[int]] = {}
    sock: dict[str, list[int]] = {}
    for client, p50, socket_p50 in re.findall(
        r"^\| ([^|]+?) \| #\d+ \w+ \| [\d,]+ \| ([\d,]+) µs \| [^|]+ \| (?:([\d,]+) µs)?",
        _block(source, "tick"),
        re.M,
    ):
        if "validate" in client:
            continue
        plain.setdefault(client, []).append(int(p50.replace(",", "")))
        if socket_p50:
            sock.setdefault(client, []).append(int(socket_p50.replace(",", "")))

    def spread(rows: dict[str, list[int]]) -> str:
        return "; ".join(f"{client} {min(v)}-{max(v)} µs" for client, v in rows.items())

    socket = spread(sock) if sock else "not measured"
    return (
        f"from the 35=X's plaintext out of TLS to the order's plaintext into TLS: "
        f"{spread(plain)}; from the read system call that brought the 35=X to the write system "
        f"call that took the order: {socket}"
    )


def headline_table(source: str, readme: bool = False) -> list[str]:
    """The headline table (every row, or the README's), drawn from ``source``: the text of
    docs/maintainers/benchmarks.md."""
    lines = [
        "| target | measure | configuration | value | held |",
        "|---|---|---|---|---|",
    ]
    for h in HEADLINES:
        if readme and not h.readme:
            continue
        value, held = headline_value(h, source)
        cells = (h.target, h.measure, h.configuration, value, "yes" if held else "**no**")
        lines.append("| " + " | ".join(cells) + " |")
    if not readme:
        lines += [
            "",
            "Wall time moves with the machine's load; the tick-to-trade p50 of each of the "
            f"run's processes, lowest to highest, {_spread(source)}.",
        ]
    return lines


def write_headlines() -> None:
    """Rewrite the generated tables of docs/performance.md and README.md from the source."""
    source = DOC.read_text(encoding="utf-8")
    _replace(PERFORMANCE, *TABLE, headline_table(source))
    _replace(README, *TABLE, headline_table(source, readme=True))

"""``kalshi-fix decode``: print FIX messages with tag names and typed values.

Reads raw captures, doc examples and the adapters' message logs with the library's reader
(`kalshi_fix_sansio.observability.messagelog`: `scan_stream` cuts the frames out as it reads, line by line,
separators, log prefixes, escapes and ``<redacted N bytes>`` values undone, every byte's input
offset kept; `decode_frame` decodes each with the chosen dialect), and prints each as a table
(`render_table`) or one JSON object (`render_json`), defects marked and secrets always
redacted. An input is never held whole: a line is at most ``MAX_LINE_BYTES``; Ctrl-C and
SIGTERM stop it where it stands (`Progress` says where). See docs/codec.md for what it prints
and its exit codes.
"""

from __future__ import annotations

import argparse
import io
from types import ModuleType
from typing import IO, Any

from ..observability.messagelog import (
    MAX_LINE_BYTES,
    PRODUCTS,
    Found,
    LogPrefix,
    Problem,
    decode_frame,
    dialect,
    scan_stream,
)
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Interrupted,
    close_input,
    emit,
    interrupted_by_signals,
    open_input,
    reason_of,
)
from .render import render_json, render_table


def _decode(
    codec: ModuleType,
    item: Found,
    index: int,
    source: str,
    args: argparse.Namespace,
    prefix: LogPrefix | None,
) -> tuple[str, bool] | Problem:
    """The rendering of one frame (with the time and direction of its message-log line, if
    it is on one) and whether it has defects, or why it cannot be read."""
    decoded = decode_frame(
        codec, item, index, use_dollars=args.use_dollars, rfq_units=args.rfq_units
    )
    if isinstance(decoded, Problem):
        return decoded
    msg, defects = decoded
    try:
        if args.json:
            text = render_json(
                msg, index, item.offset, source, defects, item.redacted, prefix=prefix
            )
        else:
            table = render_table(
                msg, index, item.offset, defects, item.redacted, args.dialect, prefix=prefix
            )
            text = table + "\n"
    except Exception as exc:  # a rendering bug must not become a traceback here
        reason = f"message #{index}: internal error ({type(exc).__name__}: {exc}); please report it"
        return Problem(reason, item.offset)
    return text, bool(defects)


READING_HELP = (
    "An input is read line by line as it is decoded, never held whole: a line may be up to "
    f"{MAX_LINE_BYTES:,} bytes (16 MiB + 4 KiB); a longer one ends that input, told with its "
    "byte offset (a raw SOH stream without line ends is read in pieces)."
)
"""What the help of ``decode`` and ``replay`` says about the bound (docs/codec.md)."""


class Progress:
    """Where a command's reading stands, for the line a signal's stop prints.

    Attributes:
        source: the input being read (None: none yet).
        offset: the byte offset of the last frame or problem handled in it.
    """

    def __init__(self) -> None:
        self.source: str | None = None
        self.offset = 0

    def at(self, source: str) -> None:
        """Start reading ``source``."""
        self.source, self.offset = source, 0

    def stopped(self, command: str, stop: Interrupted, after: str = "") -> str:
        """The line a stop prints: ``kalshi-fix decode: SIGINT: stopped while reading x.log
        (at byte 1234)`` and ``after``."""
        where = (
            "before reading"
            if self.source is None
            else f"while reading {self.source} (at byte {self.offset})"
        )
        return f"kalshi-fix {command}: {stop.name}: stopped {where}{after}"


def _open_sources(args: argparse.Namespace, err: IO[str]) -> list[tuple[str, IO[bytes]]] | None:
    """Every input open (nothing is printed before all of them are), or None after one line
    naming the one that cannot be."""
    sources: list[tuple[str, IO[bytes]]] = []
    if args.sample:
        from importlib import resources

        name = f"{args.dialect}.fix"
        data = resources.files("kalshi_fix_sansio.simulator.testing.samples").joinpath(name)
        sources.append((f"sample {name}", io.BytesIO(data.read_bytes())))
    for path in list(args.files) or ([] if args.sample else ["-"]):
        source = open_input(path, err, "decode")
        if source is None:
            _close(sources)
            return None
        sources.append(source)
    return sources


def _close(sources: list[tuple[str, IO[bytes]]]) -> None:
    for _, stream in sources:
        close_input(stream)


class _Counts:
    def __init__(self) -> None:
        self.failures = self.defective = self.empty = self.index = 0


def _decode_source(
    codec: ModuleType,
    source: str,
    stream: IO[bytes],
    args: argparse.Namespace,
    out: IO[str],
    err: IO[str],
    counts: _Counts,
    progress: Progress,
) -> None:
    """Print the messages of one input as they are read, its problems on ``err``."""
    progress.at(source)
    seen = False
    for item in scan_stream(stream, verify=not args.no_verify):
        seen = True
        progress.offset = item.offset
        if isinstance(item, Problem):
            counts.failures += 1
            emit(err, f"{source}: byte {item.offset}: malformed: {item.reason}")
            continue
        counts.index += 1
        result = _decode(codec, item, counts.index, source, args, item.prefix)
        if isinstance(result, Problem):
            counts.failures += 1
            emit(err, f"{source}: byte {result.offset}: {result.reason}")
            continue
        text, has_defects = result
        counts.defective += has_defects
        emit(out, text)
    if not seen:
        counts.empty += 1
        emit(err, f"kalshi-fix decode: {source}: no FIX messages found")


def decode_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix decode``: each input is read line by line as it is decoded
    (`kalshi_fix_sansio.observability.messagelog.scan_stream`), never held whole.

    Args:
        args: parsed arguments.
        out: where messages go.
        err: where problems go.

    Returns:
        0 when every frame was read (defects allowed unless ``--strict``), 1 when some input
        could not be parsed (a line longer than
        `kalshi_fix_sansio.observability.messagelog.MAX_LINE_BYTES` included), held no FIX message, or
        (``--strict``) a message has defects, 2 when an input cannot be read, 130 / 143 when
        SIGINT / SIGTERM stopped it (one line on ``err``).
    """
    codec = dialect(args.dialect)
    progress = Progress()
    try:
        with interrupted_by_signals():
            sources = _open_sources(args, err)
            if sources is None:
                return EXIT_USAGE
            counts = _Counts()
            try:
                for source, stream in sources:
                    _decode_source(codec, source, stream, args, out, err, counts, progress)
            except OSError as exc:  # a read failing mid-way (EIO, a vanished mount)
                emit(err, f"kalshi-fix decode: cannot read {progress.source}: {reason_of(exc)}")
                return EXIT_USAGE
            finally:
                _close(sources)
    except Interrupted as stop:
        emit(err, progress.stopped("decode", stop))
        return stop.status
    if counts.failures:
        print(f"kalshi-fix decode: {counts.failures} malformed frame(s)", file=err)
    if counts.defective:
        print(
            f"kalshi-fix decode: {counts.defective} message(s) with defects"
            + (" (--strict)" if args.strict else ""),
            file=err,
        )
    failed = counts.failures or counts.empty or (args.strict and counts.defective)
    return EXIT_FAILED if failed else EXIT_OK


def add_codec_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--dialect``, ``--use-dollars`` and ``--rfq-units`` (how to decode the frames)."""
    parser.add_argument("--dialect", choices=PRODUCTS, default="prediction")
    parser.add_argument(
        "--use-dollars",
        action="store_true",
        help="prices are dollars (session logged on with UseDollars=Y)",
    )
    parser.add_argument(
        "--rfq-units",
        choices=["cents", "dollars"],
        default="cents",
        help="units of BidPx/OfferPx on 35=S / 35=AI: 'dollars' for a KalshiRT log (quotes "
        "sent to the RFQ creator), 'cents' (integer cents) for a KalshiRFQ log (default)",
    )


def add_decode_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kalshi-fix decode`` and its options to the subcommands of ``kalshi-fix``."""
    dec = sub.add_parser(
        "decode",
        description="Decode FIX from files or stdin (SOH, '|' or '^A' "
        "separators; log lines may carry text before 8=; the adapters' message logs, redacted "
        "Logons included). Messages with defects are printed with the defects marked '!'. "
        f"Secrets (RawData, Signature, passwords) are always redacted. {READING_HELP}",
        epilog="exit status: 0 every frame read (defects allowed), 1 some input could not be "
        "parsed (a line too long included), no FIX messages found, or --strict and a message "
        "has defects, 2 usage error or an input that cannot be read, 130 / 143 Ctrl-C / "
        "SIGTERM (it stops at once)",
    )
    dec.add_argument("files", nargs="*", help="input files ('-' for stdin; default stdin)")
    add_codec_options(dec)
    dec.add_argument("--json", action="store_true", help="one JSON object per message")
    dec.add_argument(
        "--no-verify",
        action="store_true",
        help="do not check BodyLength/CheckSum (e.g. for doc examples)",
    )
    dec.add_argument("--sample", action="store_true", help="decode the shipped sample frames")
    dec.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a message has defects (they are printed either way)",
    )

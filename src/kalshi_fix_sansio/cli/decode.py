"""``kalshi-fix decode``: print FIX messages with tag names and typed values.

Reads raw captures, doc examples and the adapters' message logs with the library's reader
(`kalshi_fix_sansio.messagelog`: `scan` cuts the frames out, separators, log prefixes, escapes
and ``<redacted N bytes>`` values undone, every byte's input offset kept; `decode_frame`
decodes each with the chosen dialect), and prints each as a table (`render_table`) or one JSON
object (`render_json`), defects marked and secrets always redacted. See docs/codec.md for what
it prints and its exit codes.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType
from typing import IO, Any

from ..messagelog import (
    PRODUCTS,
    Found,
    LogPrefix,
    Problem,
    decode_frame,
    dialect,
    log_prefixes,
    scan,
)
from .common import emit
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


def read_input(path: str, err: IO[str], command: str = "decode") -> tuple[str, bytes] | None:
    """Read one input file (``-``: stdin) whole.

    Args:
        path: the file, or ``-``.
        err: where a failure is told (one line naming the command and the file).
        command: the ``kalshi-fix`` command, for that line.

    Returns:
        (the input's name for messages, its bytes), or None when it cannot be read.
    """
    try:
        if path == "-":
            return "<stdin>", sys.stdin.buffer.read()
        with open(path, "rb") as fh:
            return path, fh.read()
    except (OSError, AttributeError, ValueError) as exc:
        what = "<stdin>" if path == "-" else path
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        emit(err, f"kalshi-fix {command}: cannot read {what}: {reason}")
        return None


def _read_sources(args: argparse.Namespace, err: IO[str]) -> list[tuple[str, bytes]] | None:
    sources: list[tuple[str, bytes]] = []
    if args.sample:
        from importlib import resources

        name = f"{args.dialect}.fix"
        data = resources.files("kalshi_fix_sansio.testing.samples").joinpath(name)
        sources.append((f"sample {name}", data.read_bytes()))
    paths = list(args.files) or ([] if args.sample else ["-"])
    for path in paths:
        source = read_input(path, err)
        if source is None:
            return None
        sources.append(source)
    return sources


def decode_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix decode``.

    Args:
        args: parsed arguments.
        out: where messages go.
        err: where problems go.

    Returns:
        0 when every frame was read (defects allowed unless ``--strict``), 1 when some input
        could not be parsed, held no FIX message, or (``--strict``) a message has defects,
        2 when an input cannot be read.
    """
    codec = dialect(args.dialect)
    sources = _read_sources(args, err)
    if sources is None:
        return 2
    failures = 0
    defective = 0
    empty = 0
    index = 0
    for source, data in sources:
        items = scan(data, verify=not args.no_verify)
        if not items:
            empty += 1
            emit(err, f"kalshi-fix decode: {source}: no FIX messages found")
            continue
        prefix_at = log_prefixes(data)
        for item in items:
            if isinstance(item, Problem):
                failures += 1
                emit(err, f"{source}: byte {item.offset}: malformed: {item.reason}")
                continue
            index += 1
            result = _decode(codec, item, index, source, args, prefix_at(item.offset))
            if isinstance(result, Problem):
                failures += 1
                emit(err, f"{source}: byte {result.offset}: {result.reason}")
                continue
            text, has_defects = result
            defective += has_defects
            emit(out, text)
    if failures:
        print(f"kalshi-fix decode: {failures} malformed frame(s)", file=err)
    if defective:
        print(
            f"kalshi-fix decode: {defective} message(s) with defects"
            + (" (--strict)" if args.strict else ""),
            file=err,
        )
    return 1 if failures or empty or (args.strict and defective) else 0


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
        help="print FIX messages with tag names and typed values",
        description="Decode FIX from files or stdin (SOH, '|' or '^A' "
        "separators; log lines may carry text before 8=; the adapters' message logs, redacted "
        "Logons included). Messages with defects are printed with the defects marked '!'. "
        "Secrets (RawData, Signature, passwords) are always redacted.",
        epilog="exit status: 0 every frame read (defects allowed), 1 some input could not be "
        "parsed, no FIX messages found, or --strict and a message has defects, 2 usage error",
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

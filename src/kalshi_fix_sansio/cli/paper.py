"""``kalshi-fix mock-gateway --replay FILE``: paper trading on a recorded market.

The options (`add_replay_options`), starting the replay on the gateway (`start_replay`: the
recording is checked whole first, a bad one is one line naming the line and byte, exit 1;
Ctrl-C or SIGTERM during the check stops it at once, exit 130 or 143; a missing or unwritable
``--report-dir`` is refused before, exit 2), the banner line, and the report at the end
(`finish_replay`: the table on the terminal, the picture and the JSON written next to the
recording). See docs/paper-trading.md.
"""

from __future__ import annotations

import argparse
import os
import stat
from datetime import datetime, timezone
from typing import IO, Any

__all__ = [
    "add_model_options",
    "add_pnl_options",
    "add_replay_options",
    "finish_replay",
    "folder_problem",
    "pnl_models",
    "recording_path",
    "replay_banner",
    "replay_models",
    "report_dir_problem",
    "start_replay",
    "write_tearsheet_of",
]


def add_replay_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--replay`` and its options to ``kalshi-fix mock-gateway``."""
    group = parser.add_argument_group("paper trading (replay a market-data recording)")
    group.add_argument(
        "--replay",
        metavar="FILE",
        help="replay this recording: its markets are listed, their books follow it, orders "
        "trade against it; a report is printed and written next to it at the end",
    )
    pace = group.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="recorded seconds per second (default 1: the recording's pace)",
    )
    pace.add_argument(
        "--as-fast-as-possible",
        action="store_true",
        help="no pacing: each recorded message as soon as the market-data clients read the last",
    )
    group.add_argument(
        "--start",
        choices=("subscribe", "now"),
        default="subscribe",
        help="start at the first market-data subscription (default) or at once",
    )
    group.add_argument(
        "--settle",
        action="append",
        default=[],
        metavar="SYMBOL=yes|no",
        help="settle a market with this result when the recording ends (repeatable)",
    )
    add_model_options(group)
    add_pnl_options(group)
    group.add_argument(
        "--report-dir",
        metavar="DIR",
        help="where to write the report's picture and JSON (default: next to the recording)",
    )
    group.add_argument(
        "--exit-at-end",
        action="store_true",
        help="stop serving once the recording has been replayed (and write the report)",
    )


def add_model_options(group: Any) -> None:
    """Add ``--queue-model``, ``--queue-seed`` and ``--fees`` (the exchange's models) to an
    argument group (``mock-gateway --replay``, ``backtest``)."""
    group.add_argument(
        "--queue-model",
        default="fifo",
        metavar="MODEL",
        help="where recorded cancellations fall in a level's queue relative to your resting "
        "order: fifo (default: all ahead of it), risk-averse (behind it), prob-power[:N] or "
        "prob-log (ahead with a probability from the queue sizes), fitted:NAME (kalshi-fix "
        "fit-queue's, in --models-dir); see docs/paper-trading.md",
    )
    group.add_argument(
        "--queue-seed",
        type=int,
        metavar="N",
        help="with a prob-* model: draw each cancellation ahead or behind from this seed "
        "(default: the expected share, no draws)",
    )
    group.add_argument(
        "--fees",
        metavar="FILE",
        help="a fee schedule (CSV: scope,taker,maker,multiplier,settlement,round_to) for every "
        "fill and settlement instead of Kalshi's general table; 'kalshi': the account's own, "
        "read from Kalshi's REST API at the start (kalshi-fix fees --save FILE keeps it for "
        "offline runs)",
    )
    group.add_argument(
        "--fees-rest",
        metavar="URL",
        help="with --fees kalshi: https://HOST:PORT instead of Kalshi's production host",
    )
    group.add_argument(
        "--fees-pinned-cert",
        metavar="PEM",
        help="with --fees kalshi: trust exactly this certificate",
    )


def add_pnl_options(group: Any) -> None:
    """Add ``--funding``, ``--rebates``, ``--corporate-actions`` and ``--tearsheet``
    (``mock-gateway --replay``, ``backtest``)."""
    group.add_argument(
        "--corporate-actions",
        metavar="FILE",
        help="margin corporate actions (the JSON of Kalshi's /margin/corporate_actions, e.g. "
        "kalshi-fix corporate-actions --save): applied to the positions and P&L at their times",
    )
    group.add_argument(
        "--funding",
        metavar="FILE",
        help="perps funding rates (CSV: market_ticker,funding_time,funding_rate,mark_price; the "
        "JSON of Kalshi's historical funding rates; or a recording with # funding lines): paid "
        "on the positions at their times",
    )
    group.add_argument(
        "--rebates",
        metavar="FILE",
        help='your fee rebates and incentives (JSON: {"rules": [{"markets": PREFIX, '
        '"maker_per_contract": ..., "maker_fee_share": ..., "taker_fee_share": ...}]})',
    )
    group.add_argument(
        "--tearsheet",
        metavar="FILE.html",
        help="also write a one-page HTML tearsheet (curves, drawdown, per day and market, "
        "fills, funding, statistics)",
    )


def pnl_models(args: argparse.Namespace, err: IO[str], prog: str) -> dict[str, Any] | int:
    """``funding``, ``rebates`` and ``corporate`` from ``--funding``, ``--rebates`` and
    ``--corporate-actions`` (only those given),
    or exit status 2 after one line on ``err`` naming the option and the file (a bad row: its
    number and field); a ``--tearsheet`` whose folder can be neither found nor made is refused
    too (`folder_problem`: a missing one is made when the tearsheet is written)."""
    from ..simulator.data.recording import HEADER_PREFIX, read_funding
    from ..trading.corporate import CorporateActions
    from ..trading.funding import FundingSchedule, Rebates
    from .common import EXIT_USAGE

    found: dict[str, Any] = {}
    for option, name, parse in (
        ("--funding", "funding", FundingSchedule.from_text),
        ("--rebates", "rebates", Rebates.from_json),
        ("--corporate-actions", "corporate", CorporateActions.from_json),
    ):
        path = getattr(args, "corporate_actions" if name == "corporate" else name, None)
        if path is None:
            continue
        try:
            with open(path, "rb") as probe:
                recording = probe.read(len(HEADER_PREFIX)) == HEADER_PREFIX.encode()
            if name == "funding" and recording:  # a recording's own funding lines
                found[name] = read_funding(path)
                continue
            with open(path, encoding="utf-8") as source:
                found[name] = parse(source.read(), source=path)
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            print(f"{prog}: {option} {path}: {reason}", file=err)
            return EXIT_USAGE
        except ValueError as exc:
            print(f"{prog}: {option} {exc}", file=err)
            return EXIT_USAGE
    tearsheet = getattr(args, "tearsheet", None)
    problem = None if tearsheet is None else folder_problem(os.path.dirname(tearsheet) or ".")
    if problem is not None:
        print(f"{prog}: --tearsheet {tearsheet}: {problem}", file=err)
        return EXIT_USAGE
    return found


def write_tearsheet_of(
    result: Any,
    args: argparse.Namespace,
    out: IO[str],
    err: IO[str],
    by: str = "total",
    walk_forward: Any = None,
) -> bool:
    """Write ``--tearsheet`` if given (one line on ``out``, or on ``err`` why not; ``by``: a
    sweep's ranking; ``walk_forward``: its walk-forward run)."""
    if getattr(args, "tearsheet", None) is None:
        return True
    from ..simulator.research.tearsheet import write_tearsheet

    try:
        os.makedirs(os.path.dirname(args.tearsheet) or ".", exist_ok=True)
        path = write_tearsheet(result, args.tearsheet, by=by, walk_forward=walk_forward)
    except OSError as exc:
        print(f"tearsheet not written: {args.tearsheet}: {exc.strerror or exc}", file=err)
        return False
    print(f"tearsheet: {path}", file=out, flush=True)
    return True


def replay_models(
    args: argparse.Namespace, err: IO[str], prog: str = "kalshi-fix mock-gateway"
) -> dict[str, Any] | int:
    """The gateway's fee and queue models from ``--fees``, ``--queue-model`` and
    ``--queue-seed`` (keyword arguments of `MockGateway`), or exit status 2 after one line on
    ``err`` naming the option (a bad schedule file: its file, line and field); ``--fees
    kalshi``: the schedule read from Kalshi (`kalshi_fix_sansio.cli.fees.kalshi_schedule`;
    exit status 1 when Kalshi refuses or a part cannot be read or modelled)."""
    from ..simulator.gateway import FeeSchedule, FeeScheduleError, queue_model
    from .common import EXIT_FAILED, EXIT_USAGE

    models: dict[str, Any] = {}
    spec = args.queue_model
    try:
        if spec.startswith("fitted:"):  # kalshi-fix fit-queue's model, by name
            from ..codec.errors import LocalProtocolError
            from ..simulator.research.fitting import load_queue_fit

            try:
                spec = load_queue_fit(
                    spec[len("fitted:") :], getattr(args, "models_dir", ".")
                ).model
            except LocalProtocolError as exc:
                raise ValueError(str(exc)) from None
        models["queue_model"] = queue_model(spec, args.queue_seed)
    except ValueError as exc:
        print(f"{prog}: --queue-model: {exc}", file=err)
        return EXIT_USAGE
    if args.fees == "kalshi":
        from .fees import kalshi_schedule

        product = getattr(args, "fees_product", None) or getattr(args, "product", None)
        if product is None:
            print(f"{prog}: --fees kalshi: the product whose schedule to read is unknown", file=err)
            return EXIT_USAGE
        read = kalshi_schedule(
            product,
            base_url=args.fees_rest,
            pinned_cert=args.fees_pinned_cert,
            name=f"{prog}: --fees kalshi",
            err=err,
        )
        if isinstance(read, int):
            return read
        schedule, missing = read
        for line in missing:  # a schedule read in part is not charged
            print(f"{prog}: --fees kalshi: {line}", file=err)
        if missing:
            return EXIT_FAILED
        models["fees"] = schedule
    elif getattr(args, "fees_rest", None) or getattr(args, "fees_pinned_cert", None):
        print(f"{prog}: --fees-rest and --fees-pinned-cert go with --fees kalshi", file=err)
        return EXIT_USAGE
    elif args.fees is not None:
        try:
            models["fees"] = FeeSchedule.load(args.fees)
        except FeeScheduleError as exc:
            print(f"{prog}: --fees {exc}", file=err)
            return EXIT_USAGE
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            print(f"{prog}: --fees {args.fees}: {reason}", file=err)
            return EXIT_USAGE
    return models


def _size_text(size: int) -> str:
    return f"{size:,} bytes" if size < 1_000_000 else f"{size / 1e6:,.1f} MB"


def folder_problem(folder: str) -> str | None:
    """Why files cannot be written into ``folder``, made where missing (None: they can).

    The nearest part of its path that exists must be a folder; an existing ``folder`` must be
    writable, and the first missing part is made and removed again to be sure it can be (a
    read-only file system, a path under ``/proc``). Nothing is left made here."""
    target = os.path.abspath(folder)
    here = target
    while not os.path.lexists(here) and os.path.dirname(here) != here:
        here = os.path.dirname(here)
    if not os.path.isdir(here):
        return (
            f"{'cannot make the folder: ' if here != target else ''}{here} is a file, not a folder"
        )
    if here == target:
        return None if os.access(here, os.W_OK | os.X_OK) else f"{here} is not writable"
    first = os.path.join(here, os.path.relpath(target, here).split(os.sep)[0])
    try:
        os.mkdir(first)
    except OSError as exc:
        return f"cannot make the folder {first}: {exc.strerror or exc}"
    os.rmdir(first)
    return None


def report_dir_problem(directory: str) -> str | None:
    """Why the paper report cannot be written into ``directory`` (None: it can)."""
    if not os.path.exists(directory):
        return "no such directory"
    if not os.path.isdir(directory):
        return "not a directory"
    if not os.access(directory, os.W_OK | os.X_OK):
        return "not writable"
    return None


def recording_path(name: str) -> str:
    """A recording or message log a command names: the file, or, for a name of a shipped
    sample (``paper-sample.log``, ``paper-margin-sample.log``, ``live-md-sample.log``,
    ``live-oe-sample.log``) that is not a file here, the sample (``backtest``, ``mock-gateway
    --replay``, ``replay``, ``fit-latency``, ``fit-queue`` and ``compare-live`` find it alike)."""
    from ..simulator.testing.recordings import sample_path

    if name == "-" or os.path.exists(name):
        return name
    sample = sample_path(name)
    return name if sample is None else str(sample)


def _shipped_sample(args: argparse.Namespace) -> None:
    """A ``--replay`` named as a shipped sample (``paper-sample.log``) that is not a file here
    is the sample; its report then goes to the current directory (not into the package)."""
    found = recording_path(args.replay)
    if found != args.replay:
        args.replay = found
        if args.report_dir is None:
            args.report_dir = "."


def start_replay(
    gateway: Any,
    args: argparse.Namespace,
    err: IO[str],
    pnl: dict[str, Any] | None = None,
) -> Any:
    """Set up the replay ``args.replay`` names on a gateway not started yet.

    Says on ``err`` that the recording is being checked (with its size), then checks it; a
    receive time that steps back is a warning line (the replay holds the clock, see
    `kalshi_fix_sansio.simulator.data.recording`). SIGINT and SIGTERM during the check stop it at once.

    Returns:
        The `Replay`, None without ``--replay``, or the exit status after one line on ``err``
        (1: a bad recording, 2: a bad option or ``--report-dir``, 128 + the signal's number:
        130 for Ctrl-C, 143 for SIGTERM during the check).
    """
    from ..simulator.data.recording import RecordingError
    from .common import EXIT_FAILED, EXIT_USAGE, Interrupted, interrupted_by_signals

    if not args.replay:
        return None
    _shipped_sample(args)
    settle: dict[str, str] = {}
    for item in args.settle:
        symbol, sep, result = item.partition("=")
        if not sep or result not in ("yes", "no"):
            print(f"kalshi-fix mock-gateway: --settle takes SYMBOL=yes|no, got {item!r}", file=err)
            return EXIT_USAGE
        settle[symbol] = result
    if args.report_dir is not None:
        problem = report_dir_problem(args.report_dir)
        if problem is not None:
            print(
                f"kalshi-fix mock-gateway: --report-dir {args.report_dir}: {problem} (the "
                "report's picture and JSON go there)",
                file=err,
            )
            return EXIT_USAGE
    try:
        found = os.stat(args.replay)
    except OSError:
        found = None  # the check says why in its own words
    size = f" ({_size_text(found.st_size)})" if found and stat.S_ISREG(found.st_mode) else ""
    try:
        with interrupted_by_signals():  # before the line: a signal after it stops the check
            print(
                f"kalshi-fix mock-gateway: checking the recording {args.replay}{size} before the "
                "replay (Ctrl-C stops)",
                file=err,
                flush=True,
            )
            replay = gateway.replay(
                args.replay,
                speed=args.speed,
                as_fast_as_possible=args.as_fast_as_possible,
                start=args.start,
                settle=settle,
                **(pnl or {}),
            )
    except Interrupted as stop:
        print(
            f"kalshi-fix mock-gateway: {stop.name}: stopped while checking the recording "
            f"{args.replay}; nothing was replayed",
            file=err,
            flush=True,
        )
        return stop.status
    except RecordingError as exc:
        print(f"kalshi-fix mock-gateway: {exc}", file=err)
        return EXIT_FAILED
    except ValueError as exc:
        print(f"kalshi-fix mock-gateway: {exc}", file=err)
        return EXIT_USAGE
    info = replay.info
    if info.largest_step_back is not None:
        count = info.steps_back
        print(
            f"kalshi-fix mock-gateway: warning: {info.largest_step_back}; the replay holds the "
            f"clock at the later time ({count} line{'s' if count != 1 else ''} step back, this "
            "is the largest)",
            file=err,
            flush=True,
        )
    return replay


def _utc(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def replay_banner(replay: Any) -> str:
    """The banner's line about the replay."""
    info = replay.info
    pace = "as fast as the clients read" if replay.speed is None else f"at {replay.speed:g}x"
    start = "at the first market-data subscription" if replay.start == "subscribe" else "now"
    return (
        f"replaying {replay.path}: {info.messages} messages, {len(info.markets)} market(s) "
        f"({', '.join(info.markets)}), recorded {_utc(info.first_time)} to "
        f"{_utc(info.last_time)}; {pace}, starting {start}"
    )


def finish_replay(replay: Any, args: argparse.Namespace, out: IO[str], err: IO[str]) -> bool:
    """Print the report's table and write its picture and JSON (never raises on a write).

    Returns:
        Whether the files were written (else one line on ``err`` says why).
    """
    if replay.error is not None:
        print(f"kalshi-fix mock-gateway: replay stopped: {replay.error}", file=err)
    report = replay.ledger.report(replay.info.markets)
    print(report.table(), file=out)
    try:
        paths = report.write(replay.path, args.report_dir)
    except OSError as exc:
        print(f"kalshi-fix mock-gateway: the report's files are not written: {exc}", file=err)
        return False
    print("report: " + ", ".join(str(p) for p in paths), file=out, flush=True)
    return write_tearsheet_of(report, args, out, err)

"""``kalshi-fix fit-latency``, ``kalshi-fix fit-queue`` and ``kalshi-fix compare-live``: models
fitted to your own message logs, and a live day set against its simulation."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import IO, Any, Final

from ..codec.errors import LocalProtocolError
from .backtest import (
    add_latency_options,
    failure,
    latency_models,
    parse_latency,
    run_inputs,
    strategy_parameters,
)
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, emit
from .live import seconds_arg
from .paper import add_model_options, recording_path

__all__ = [
    "add_compare_live_parser",
    "add_fit_latency_parser",
    "add_fit_queue_parser",
    "compare_live_command",
    "fit_latency_command",
    "fit_queue_command",
]


def add_fit_latency_parser(sub: Any) -> None:
    """Add ``kalshi-fix fit-latency``."""
    parser = sub.add_parser(
        "fit-latency",
        description="Measure the one-way delays of the messages Kalshi sent in message logs "
        "(receive time less SendingTime), fit a log-normal model per session type, print how "
        "well each fits, and save the fits as DIR/NAME.latency.json; a backtest takes them with "
        "--latency fitted:NAME and --md-latency fitted:NAME.",
        epilog="exit status: 0 fitted and saved, 2 usage error, or a log that cannot be read or "
        "holds too few delays to fit (named)",
    )
    parser.add_argument("logs", nargs="+", metavar="MESSAGE_LOG")
    parser.add_argument("--name", required=True, help="the name the fits are saved under")
    parser.add_argument(
        "--session-type",
        action="append",
        dest="session_types",
        metavar="TYPE",
        help="fit this session type's delays (repeat; default: every type the logs hold, "
        "KalshiNR, KalshiRT, KalshiMD, KalshiRFQ, KalshiDC)",
    )
    parser.add_argument(
        "--floor",
        type=seconds_arg("--floor", zero=True),
        default=0.0,
        metavar="SECONDS",
        help="the least delay (default 0)",
    )
    parser.add_argument(
        "--models-dir", default=".", metavar="DIR", help="where the fits go (default: here)"
    )


_SESSION_TYPES: Final = ("KalshiNR", "KalshiRT", "KalshiMD", "KalshiRFQ", "KalshiDC")


def fit_latency_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix fit-latency``; returns the exit status."""
    from ..simulator.world.latency import fit_message_logs, latency_profile, save_fitted

    args.logs = [recording_path(log) for log in args.logs]  # a shipped sample by name
    try:
        for log in args.logs:
            latency_profile(log)  # readable, and a message log: before any fit
        asked = args.session_types
        fits = {}
        for session_type in asked or _SESSION_TYPES:
            try:
                fits[session_type] = fit_message_logs(
                    args.logs, session_type=session_type, floor=args.floor
                )
            except LocalProtocolError:
                if asked:  # asked for by name: its failure is the answer
                    raise
        if not fits:
            raise LocalProtocolError(
                f"{', '.join(args.logs)}: no session type with 2 or more received messages "
                "with a SendingTime(52) to fit"
            )
        path = save_fitted(args.name, fits, args.models_dir, sources=args.logs)
    except LocalProtocolError as exc:
        emit(err, f"kalshi-fix fit-latency: {exc}")
        return EXIT_USAGE
    for session_type, fit in fits.items():
        model = fit.model
        verdict = "fits" if fit.p_value >= 0.05 else "a poor fit: prefer log:MESSAGE_LOG"
        emit(
            out,
            f"{session_type}: {fit.samples} delays, median {model.median * 1000:.3f} ms, sigma "
            f"{model.sigma:.3f}, floor {model.floor * 1000:g} ms; KS distance {fit.ks:.4f}, "
            f"p-value {fit.p_value:.3f} ({verdict})",
        )
    emit(out, f"wrote {path}")
    return EXIT_OK


def add_fit_queue_parser(sub: Any) -> None:
    """Add ``kalshi-fix fit-queue``."""
    parser = sub.add_parser(
        "fit-queue",
        description="Send the orders of order-entry message logs, at their times, into a "
        "backtest of the market data you received (a recording: your market-data session's "
        "message log) under each candidate queue model; print how far each one's fills are from "
        "the logs' and save the closest as DIR/NAME.queue.json (a backtest takes it with "
        "--queue-model fitted:NAME).",
        epilog="exit status: 0 fitted and saved, 1 a backtest of a candidate failed, 2 usage "
        "error (arguments, a candidate, logs or recordings that cannot be read)",
    )
    _add_logs(parser, "an order-entry message log")
    parser.add_argument("--name", required=True, help="the name the fit is saved under")
    parser.add_argument(
        "--candidate",
        action="append",
        dest="candidates",
        metavar="MODEL",
        help="a queue model to try (repeat; default: fifo, risk-averse, prob-power at 0.5 to 8, "
        "prob-log)",
    )
    parser.add_argument(
        "--latency",
        default="none",
        metavar="MODEL",
        help="the orders' latency, as backtest's --latency (default: none)",
    )
    parser.add_argument(
        "--models-dir", default=".", metavar="DIR", help="where the fit goes (default: here)"
    )


def fit_queue_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix fit-queue``; returns the exit status."""
    from ..simulator.backtests.backtest import BacktestFailed
    from ..simulator.data.recording import RecordingError
    from ..simulator.gateway import queue_model
    from ..simulator.research.fitting import QUEUE_CANDIDATES, fit_queue, save_queue_fit

    recordings = [recording_path(r) for r in args.recordings]
    candidates = args.candidates or list(QUEUE_CANDIDATES)
    try:
        for candidate in candidates:
            try:
                queue_model(candidate)
            except ValueError as exc:
                raise LocalProtocolError(f"--candidate {candidate}: {exc}") from None
        latency = parse_latency(args.latency, role="KalshiNR", models_dir=args.models_dir)
        fit = fit_queue(
            recordings,
            args.orders,
            candidates=candidates,
            latency=None if latency is None else {"KalshiNR": latency},
            queue_reads=_queue_reads(args),
        )
        path = save_queue_fit(args.name, fit, args.models_dir)
    except (LocalProtocolError, RecordingError, BacktestFailed) as exc:
        return failure("kalshi-fix fit-queue", exc, err)
    emit(out, fit.table())
    emit(out, f"wrote {path}")
    return EXIT_OK


def _add_logs(parser: Any, what: str) -> None:
    """The recordings and ``--orders`` (``fit-queue``, ``compare-live``)."""
    parser.add_argument("recordings", nargs="+", metavar="RECORDING")
    parser.add_argument(
        "--orders",
        action="append",
        required=True,
        type=recording_path,  # a shipped sample by name
        metavar="MESSAGE_LOG",
        help=f"{what} (repeat for several)",
    )
    parser.add_argument(
        "--queue-positions",
        action="append",
        default=[],
        metavar="FILE",
        help="Kalshi's queue positions read live (kalshi-fix queue --record FILE; repeat for "
        "several)",
    )


def _queue_reads(args: argparse.Namespace) -> Any:
    """The queue positions of ``--queue-positions`` (None: none given).

    Raises:
        LocalProtocolError: a file that cannot be read or is not such a file (named).
    """
    from ..simulator.research.fitting import read_queue_log

    return read_queue_log(args.queue_positions) if args.queue_positions else None


def add_compare_live_parser(sub: Any) -> None:
    """Add ``kalshi-fix compare-live``."""
    parser = sub.add_parser(
        "compare-live",
        description="Run a strategy file as a backtest over the market data a live session "
        "received (its message log is a recording) and compare its orders with those of the "
        "live order-entry message logs: filled or not, when, at what price, the queue ahead; "
        "each difference put down to missing data, an order not sent, another decision, "
        "latency or the queue.",
        epilog="exit status: 0 compared, 1 the simulation failed or --json could not be "
        "written, 2 usage error (arguments, the strategy, logs or recordings that cannot be "
        "read)",
    )
    parser.add_argument("strategy", help="FILE.py[:NAME] or MODULE:NAME (NAME: strategy)")
    _add_logs(parser, "a live order-entry message log")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="as for backtest"
    )
    parser.add_argument("--seed", type=int, default=0)
    add_latency_options(parser)
    add_model_options(parser.add_argument_group("the exchange's models"))
    parser.add_argument(
        "--tolerance",
        type=_tolerance,
        default=0.001,
        metavar="SECONDS",
        help="how far apart two sends or answers may be and count as at the same time (>= 0; "
        "default 0.001)",
    )
    parser.add_argument(
        "--json",
        metavar="FILE",
        help="write every order's comparison here (its folder made if missing)",
    )


def _tolerance(text: str) -> float:
    """``--tolerance``: a number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


def _json_folder(path: str) -> None:
    """``--json``'s file can be written after the run: not a folder, and its folder exists or
    can be made in the nearest folder that does (made after the run, as ``backtest --out``
    makes its own).

    Raises:
        LocalProtocolError: it is a folder, or its folder cannot be made (named, with why).
    """
    target = Path(path)
    if target.is_dir():
        raise LocalProtocolError(f"--json {path}: a folder, not a file")
    nearest = target.absolute().parent
    while not nearest.exists() and nearest != nearest.parent:
        nearest = nearest.parent
    if not nearest.is_dir():
        raise LocalProtocolError(f"--json {path}: {nearest} is not a folder")
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise LocalProtocolError(f"--json {path}: cannot write in {nearest}")


def compare_live_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix compare-live``; returns the exit status."""
    from ..simulator.backtests.backtest import BacktestFailed
    from ..simulator.data.recording import RecordingError
    from ..simulator.research.compare import compare_live
    from ..simulator.research.sweep import load_strategy

    inputs = run_inputs(args, err, "kalshi-fix compare-live")
    if isinstance(inputs, int):
        return inputs
    recordings, models = inputs
    try:
        strategy, defaults = load_strategy(args.strategy)
        args.grid = []
        params, _axes = strategy_parameters(args, defaults)
        chosen = latency_models(args)
        if args.json is not None:
            _json_folder(args.json)  # before the run, not after it
        comparison = compare_live(
            strategy,
            recordings,
            args.orders,
            tolerance=args.tolerance,
            queue_reads=_queue_reads(args),
            params=params,
            seed=args.seed,
            latency=chosen or None,
            **models,
        )
    except (LocalProtocolError, RecordingError, BacktestFailed) as exc:
        return failure("kalshi-fix compare-live", exc, err)
    emit(out, comparison.table())
    if args.json is not None:
        try:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(comparison.to_json(), encoding="utf-8")
        except OSError as exc:
            emit(err, f"kalshi-fix compare-live: cannot write {args.json}: {exc.strerror or exc}")
            return EXIT_FAILED
        emit(out, f"wrote {args.json}")
    return EXIT_OK

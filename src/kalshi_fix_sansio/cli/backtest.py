"""``kalshi-fix backtest STRATEGY RECORDING...``: a strategy file on recordings, in memory.

One run (no ``--grid``): the strategy runs once over the recordings in sequence
(`kalshi_fix_sansio.simulator.backtests.backtest.run_backtest`); the report's table and the statistics are
printed, the JSON and the picture written to ``--out``. A sweep (``--grid NAME=V1,V2...``, or
``--runs each``): one run per parameter set and recording (`kalshi_fix_sansio.simulator.research.sweep`), in
parallel on ``--jobs`` processes or on a Dask cluster (``--engine dask``); the ranking is
printed and ``sweep.json`` written. The recordings are checked and compiled once
(`kalshi_fix_sansio.simulator.backtests.compiled`), cached beside them or in ``--cache-dir``
(``--no-cache``: in memory only); ``kalshi-fix compile-recording RECORDING...`` compiles them
ahead. A recording named as one of the shipped samples (``paper-sample.log``,
``paper-margin-sample.log``) that is not a file here is the sample.

Exit status: 0 done (a sweep's failed runs are listed, and the sweep's status is 1 when any
failed), 1 the run failed (the strategy raised, ran past its budget, a recording went bad
mid-run), 2 usage error (bad arguments, a strategy or recording that cannot be read).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ..codec.errors import LocalProtocolError
from ..simulator.research.sweep import ENGINES, RANKINGS
from ..simulator.research.walkforward import SCORES, check_periods
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, emit
from .paper import (
    add_model_options,
    add_pnl_options,
    folder_problem,
    pnl_models,
    recording_path,
    replay_models,
    write_tearsheet_of,
)

__all__ = [
    "add_backtest_parser",
    "add_compile_parser",
    "add_latency_options",
    "backtest_command",
    "compile_command",
    "failure",
    "latency_models",
    "parse_latency",
    "run_inputs",
    "strategy_parameters",
]


def _add_cache_options(parser: Any) -> None:
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where the recordings' compiled caches go (made when missing; default: beside "
        "each recording, RECORDING.kfc)",
    )
    parser.add_argument(
        "--no-cache",
        dest="cache",
        action="store_false",
        help="compile the recordings in memory, neither reading nor writing a cache",
    )


def add_compile_parser(sub: Any) -> None:
    """Add ``kalshi-fix compile-recording``."""
    parser = sub.add_parser(
        "compile-recording",
        description="Check each market-data recording once and compile it into the columns "
        "backtests and sweeps run on, cached beside it (RECORDING.kfc) or in --cache-dir, keyed "
        "by the hash of its bytes: a cache that does not match is compiled again.",
        epilog="exit status: 0 every recording compiled (or its cache up to date), 2 usage error "
        "or a recording that cannot be read or is not one (named)",
    )
    parser.add_argument("recordings", nargs="+", metavar="RECORDING")
    parser.add_argument(
        "--product",
        choices=("prediction", "margin"),
        help="the product expected (default: the recording's header)",
    )
    _add_cache_options(parser)


def compile_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix compile-recording``; returns the exit status."""
    from ..simulator.backtests.compiled import compile_recording
    from ..simulator.data.recording import RecordingError

    for name in args.recordings:
        path = recording_path(name)
        started = time.process_time()
        try:
            compiled = compile_recording(
                path, product=args.product, cache_dir=args.cache_dir, cache=args.cache
            )
        except RecordingError as exc:
            emit(err, f"kalshi-fix compile-recording: {exc}")
            return EXIT_USAGE
        info = compiled.info
        if compiled.from_cache:
            how = f"up to date in {compiled.cache_path}"
        else:
            seconds = time.process_time() - started
            where = compiled.cache_path or "memory (no cache written)"
            how = f"compiled in {seconds:.2f} CPU s into {where}"
        emit(
            out,
            f"{path}: {info.messages} messages of {len(info.markets)} "
            f"{info.product} market{'s' if len(info.markets) != 1 else ''} over "
            f"{info.duration:.0f} s, {how}",
        )
    return EXIT_OK


def add_backtest_parser(sub: Any) -> None:
    """Add ``kalshi-fix backtest``."""
    parser = sub.add_parser(
        "backtest",
        description="Run a strategy (a Python file defining strategy(ctx)) against market-data "
        "recordings replayed into the mock exchange, in one process on the recordings' clock; "
        "deterministic: the same inputs and seed give the same report, byte for byte.",
        epilog="exit status: 0 the run (every run of a sweep) finished and its report was "
        "written, 1 a run failed or a report (the tearsheet included) could not be written, 2 "
        "usage error (arguments, the strategy, its parameters, recordings, files), 130 Ctrl-C",
    )
    parser.add_argument("strategy", help="FILE.py[:NAME] or MODULE:NAME (NAME: strategy)")
    parser.add_argument("recordings", nargs="+", metavar="RECORDING")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter: a name of the strategy file's PARAMS, a value of its default's kind",
    )
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="sweep this parameter over these values (repeat for a grid)",
    )
    parser.add_argument(
        "--runs",
        choices=("sequence", "each"),
        help="one run over the recordings in sequence, or one per recording (default: "
        "sequence for one run, each for a sweep)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api", choices=("blocking", "asyncio", "trio"))
    parser.add_argument(
        "--mode",
        choices=("fix", "book"),
        default="fix",
        help="fix: the strategy's market data through a FIX session (default); book: none, "
        "ctx.books fed by the exchange (a blocking strategy that waits with ctx.wait)",
    )
    parser.add_argument(
        "--settle", action="append", default=[], metavar="SYMBOL=yes|no", help="settle at the end"
    )
    add_latency_options(parser)
    add_model_options(parser.add_argument_group("the exchange's models"))
    add_pnl_options(parser.add_argument_group("money beside the fills"))
    _add_cache_options(parser)
    parser.add_argument("--jobs", type=int, help="sweep worker processes (default: the cores)")
    parser.add_argument("--engine", choices=ENGINES, default="local")
    parser.add_argument("--address", help="the Dask scheduler (default: a local cluster)")
    parser.add_argument("--rank-by", choices=RANKINGS, default="total")
    parser.add_argument(
        "--walk-forward",
        metavar="TRAIN[:TEST[:STEP]]",
        help="a sweep walked forward: the best parameter set over TRAIN recordings (periods, in "
        "time order) scored on the TEST that follow (default 1), the window moved by STEP "
        "(default TEST); with the probability of backtest overfitting and the deflated Sharpe "
        "ratio; writes walk-forward.json",
    )
    parser.add_argument(
        "--walk-forward-by",
        choices=SCORES,
        default="total",
        help="what a walk-forward window is scored by: its recordings' P&L summed, or their "
        "Sharpe ratio (default: total)",
    )
    parser.add_argument(
        "--overrun",
        type=_seconds,
        default=600.0,
        metavar="SECONDS",
        help="simulated seconds the strategy may run past the recordings' end before the run "
        "fails (default: 600)",
    )
    parser.add_argument(
        "--sample-interval",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="seconds of the recordings' clock between two samples of the statistics (Sharpe, "
        "inventory; default: 60)",
    )
    parser.add_argument(
        "--out",
        default=".",
        metavar="DIR",
        help="where the report files go (default: here; made when missing)",
    )


def add_latency_options(parser: Any) -> None:
    """``--latency``, ``--md-latency`` and ``--models-dir`` (``backtest``, ``compare-live``:
    `latency_models` reads them)."""
    parser.add_argument(
        "--latency",
        default="none",
        metavar="MODEL",
        help="order-entry latency, one way: none, constant:SECONDS, lognormal:MEDIAN[:SIGMA], "
        "log:MESSAGE_LOG (measured), fitted:NAME (kalshi-fix fit-latency's, in --models-dir)",
    )
    parser.add_argument(
        "--md-latency", default="none", metavar="MODEL", help="market-data latency (as above)"
    )
    parser.add_argument(
        "--models-dir",
        default=".",
        metavar="DIR",
        help="where fitted:NAME models are found (default: here)",
    )


def latency_models(args: argparse.Namespace) -> dict[str, Any]:
    """``--latency`` (KalshiNR) and ``--md-latency`` (KalshiMD) as a run's ``latency``, the
    ``none`` ones left out (empty: no latency).

    Raises:
        LocalProtocolError: a model that is not one (`parse_latency`).
    """
    latency = {
        "KalshiNR": parse_latency(args.latency, role="KalshiNR", models_dir=args.models_dir),
        "KalshiMD": parse_latency(args.md_latency, role="KalshiMD", models_dir=args.models_dir),
    }
    return {k: v for k, v in latency.items() if v is not None}


def run_inputs(
    args: argparse.Namespace, err: IO[str], prog: str, *, pnl: bool = False
) -> tuple[list[str], dict[str, Any]] | int:
    """A run's recordings (``recordings``, the shipped samples by name) and the exchange's
    models (``--queue-model`` ...; ``pnl``: with ``--funding`` and ``--rebates``), or the exit
    status after one line on ``err``."""
    recordings = [recording_path(r) for r in args.recordings]
    if args.fees == "kalshi" and recordings:  # the schedule of the recordings' product
        from .fees import recording_product

        args.fees_product = recording_product(recordings[0])
    models = replay_models(args, err, prog)
    if isinstance(models, int) or not pnl:
        return models if isinstance(models, int) else (recordings, models)
    money = pnl_models(args, err, prog)
    return money if isinstance(money, int) else (recordings, {**models, **money})


def failure(prog: str, exc: Exception, err: IO[str]) -> int:
    """Say why a run did not finish in one line on ``err``; its exit status: 1 when the run
    failed (`kalshi_fix_sansio.simulator.backtests.backtest.BacktestFailed`), 2 for bad input."""
    from ..simulator.backtests.backtest import BacktestFailed

    emit(err, f"{prog}: {exc}")
    return EXIT_FAILED if isinstance(exc, BacktestFailed) else EXIT_USAGE


def _seconds(text: str) -> float:
    """A number of seconds > 0 (an option's value)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


def _value(text: str) -> Any:
    """A parameter's value: a JSON number, true/false/null, or the text as it is."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text  # NaN, Infinity: not numbers a parameter takes
    return value if isinstance(value, (int, float, bool)) or value is None else text


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise LocalProtocolError(f"{option} {item!r}: expected NAME=VALUE")
        out[name] = value
    return out


def _typed(option: str, name: str, text: str, defaults: dict[str, Any], strategy: str) -> Any:
    """A parameter's value from its text, checked against the strategy's ``PARAMS``: a name
    it has, of the kind its default is (a number, true/false, text)."""
    if name not in defaults:
        own = ", ".join(sorted(defaults))
        has = f"its parameters: {own}" if own else "it declares none (a PARAMS dict in its file)"
        raise LocalProtocolError(
            f"{option} {name}={text}: the strategy {strategy} has no parameter {name!r} ({has})"
        )
    if text == "":
        raise LocalProtocolError(f"{option} {name}=: no value")
    value, default = _value(text), defaults[name]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise LocalProtocolError(f"{option} {name}={text}: {name} is true or false")
    elif isinstance(default, (int, float, Decimal)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LocalProtocolError(
                f"{option} {name}={text}: {name} takes a number (its default: {default})"
            )
    elif isinstance(default, str):
        value = text
    return value


def strategy_parameters(
    args: argparse.Namespace, defaults: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The run's parameters (``PARAMS`` under ``--param``) and the sweep's axes (``--grid``),
    each checked (`_typed`)."""
    params = dict(defaults)
    for name, text in _pairs(args.param, "--param").items():
        params[name] = _typed("--param", name, text, defaults, args.strategy)
    axes: dict[str, list[Any]] = {}
    for name, text in _pairs(args.grid, "--grid").items():
        if text == "":
            raise LocalProtocolError(f"--grid {name}=: no value (--grid {name}=V1,V2,...)")
        if name not in defaults:  # named with all its values
            _typed("--grid", name, text, defaults, args.strategy)
        axes[name] = [_typed("--grid", name, v, defaults, args.strategy) for v in text.split(",")]
    return params, axes


def _settle(args: argparse.Namespace) -> dict[str, str]:
    """``--settle`` pairs, each result yes or no (the markets are checked against the
    recordings' before any run)."""
    settle = _pairs(args.settle, "--settle")
    for symbol, result in settle.items():
        if result not in ("yes", "no"):
            raise LocalProtocolError(f"--settle {symbol}={result}: the result is yes or no")
    return settle


def parse_latency(spec: str, *, role: str = "KalshiNR", models_dir: str = ".") -> Any:
    """A latency model from its command-line text (see ``--latency``); None for ``none``.

    Args:
        spec: the text.
        role: the session type whose fit ``fitted:NAME`` takes (``"KalshiNR"`` for order
            entry: KalshiNR's fit, else KalshiRT's; ``"KalshiMD"``).
        models_dir: where ``fitted:NAME`` is found.

    Raises:
        LocalProtocolError: an unknown model or a bad number (the message names the text).
    """
    from ..simulator.world.latency import (
        ConstantLatency,
        EmpiricalLatency,
        LogNormalLatency,
        load_fitted,
    )

    kind, _, rest = spec.partition(":")
    try:
        if kind == "none" and not rest:
            return None
        if kind == "constant":
            return ConstantLatency(float(rest))
        if kind == "lognormal":
            median, _, sigma = rest.partition(":")
            return LogNormalLatency(float(median), float(sigma) if sigma else 0.5)
        if kind == "log" and rest:
            return EmpiricalLatency.from_message_log(rest)
        if kind == "fitted" and rest:
            fits = load_fitted(rest, models_dir)
            for session_type in (role, "KalshiRT") if role == "KalshiNR" else (role,):
                if session_type in fits:
                    return fits[session_type].model
            raise LocalProtocolError(
                f"latency {spec!r}: no {role} fit in it (it has {', '.join(sorted(fits))})"
            )
    except ValueError:
        raise LocalProtocolError(f"latency {spec!r}: not a number of seconds") from None
    raise LocalProtocolError(
        f"latency {spec!r}: expected none, constant:SECONDS, lognormal:MEDIAN[:SIGMA], "
        "log:MESSAGE_LOG or fitted:NAME"
    )


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        "seed": args.seed,
        "api": args.api,
        "settle": _settle(args),
        "overrun": args.overrun,
        "sample_interval": args.sample_interval,
        "cache_dir": args.cache_dir,
        "cache": args.cache,
        "mode": args.mode,
    }
    latency = latency_models(args)
    if latency:
        options["latency"] = latency
    return options


def _out_dir(text: str) -> Path:
    """``--out``: a folder, or a path where none is yet (made when the report is written);
    one that can be neither found nor made (`folder_problem`) is refused."""
    problem = folder_problem(text)
    if problem is not None:
        raise LocalProtocolError(f"--out {text}: {problem}")
    return Path(text)


def backtest_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``kalshi-fix backtest``; returns the exit status."""
    from ..simulator.backtests.backtest import BacktestFailed, run_backtest
    from ..simulator.backtests.compiled import compile_recording
    from ..simulator.data.recording import RecordingError
    from ..simulator.research.sweep import grid, load_strategy, run_sweep

    inputs = run_inputs(args, err, "kalshi-fix backtest", pnl=True)
    if isinstance(inputs, int):
        return inputs
    recordings, models = inputs
    try:
        options = {**_options(args), **models}
        strategy, defaults = load_strategy(args.strategy)
        _check_mode(args, strategy, options)
        params, axes = strategy_parameters(args, defaults)
        if args.jobs is not None and args.jobs < 1:
            raise LocalProtocolError(f"--jobs must be 1 or more, got {args.jobs}")
        out_dir = _out_dir(args.out)
        sweep = bool(axes) or args.runs == "each"
        walk = _walk_forward(args, recordings)
        sweep = sweep or walk is not None
        if sweep or options["settle"]:  # compiled here once first: the runs load the cache
            cached = {"cache_dir": args.cache_dir, "cache": args.cache}
            markets = {m for r in recordings for m in compile_recording(r, **cached).info.markets}
            _settled_markets(options["settle"], markets)
    except (LocalProtocolError, RecordingError) as exc:
        emit(err, f"kalshi-fix backtest: {exc}")
        return EXIT_USAGE
    if sweep:
        points = [{**params, **point} for point in grid(**axes)] if axes else [params]
        return _sweep(args, recordings, points, options, out_dir, out, err, run_sweep, walk)
    try:
        result = run_backtest(
            strategy,
            recordings,
            params=params,
            progress=_progress(err),
            **options,
        )
    except (RecordingError, LocalProtocolError, BacktestFailed) as exc:
        return failure("kalshi-fix backtest", exc, err)
    emit(out, result.report.table())
    emit(out, _figures_line(result.statistics))
    emit(
        out,
        f"{result.messages} recorded messages, {result.simulated_seconds:.0f} s simulated",
    )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = result.write(out_dir)
    except OSError as exc:
        emit(err, f"kalshi-fix backtest: --out {out_dir}: not written: {exc.strerror or exc}")
        return EXIT_FAILED
    emit(out, "wrote " + ", ".join(str(p) for p in paths))
    return EXIT_OK if write_tearsheet_of(result, args, out, err) else EXIT_FAILED


def _check_mode(args: argparse.Namespace, strategy: Any, options: dict[str, Any]) -> None:
    """``--mode book`` takes a blocking strategy and a market-data latency that does not
    draw (`check_mode`), named before any run."""
    from ..simulator.backtests.booklevel import check_mode

    api = args.api or ("asyncio" if inspect.iscoroutinefunction(strategy) else "blocking")
    try:
        check_mode(args.mode, api, options.get("latency"))
    except LocalProtocolError as exc:
        raise LocalProtocolError(f"--mode {args.mode}: {exc}") from None


def _settled_markets(settle: dict[str, str], markets: set[str]) -> None:
    """``--settle`` names markets of the recordings."""
    for symbol in settle:
        if symbol not in markets:
            raise LocalProtocolError(
                f"--settle {symbol}={settle[symbol]}: {symbol} is not a market of the "
                f"recordings ({', '.join(sorted(markets))})"
            )


def _sweep(
    args: argparse.Namespace,
    recordings: list[str],
    points: list[dict[str, Any]],
    options: dict[str, Any],
    out_dir: Path,
    out: IO[str],
    err: IO[str],
    run_sweep: Any,
    walk: tuple[int, int, int] | None,
) -> int:
    done = 0

    def on_run(outcome: Any) -> None:
        nonlocal done
        done += 1
        state = "failed" if outcome.error else "done"
        emit(err, f"run {outcome.index} {state} ({done} finished)")

    try:
        result = run_sweep(
            args.strategy,
            recordings,
            points,
            each=args.runs != "sequence",
            jobs=args.jobs,
            engine=args.engine,
            address=args.address,
            on_run=on_run,
            **options,
        )
    except LocalProtocolError as exc:
        emit(err, f"kalshi-fix backtest: {exc}")
        return EXIT_USAGE
    emit(out, result.table(args.rank_by))
    path = out_dir / "sweep.json"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(result.to_json(args.rank_by), encoding="utf-8")
    except OSError as exc:
        emit(err, f"kalshi-fix backtest: cannot write {path}: {exc.strerror or exc}")
        return EXIT_FAILED
    emit(out, f"wrote {path}")
    walked = None
    if walk is not None:
        from ..simulator.research.walkforward import walk_forward

        train, test, step = walk
        walked = walk_forward(result, train=train, test=test, step=step, by=args.walk_forward_by)
        emit(out, walked.table())
        path = out_dir / "walk-forward.json"
        try:
            path.write_text(walked.to_json(), encoding="utf-8")
        except OSError as exc:
            emit(err, f"kalshi-fix backtest: cannot write {path}: {exc.strerror or exc}")
            return EXIT_FAILED
        emit(out, f"wrote {path}")
    if not write_tearsheet_of(result, args, out, err, args.rank_by, walked):
        return EXIT_FAILED
    return EXIT_FAILED if result.failed else EXIT_OK


def _walk_forward(args: argparse.Namespace, recordings: list[str]) -> tuple[int, int, int] | None:
    """``--walk-forward TRAIN[:TEST[:STEP]]`` as counts, checked against the recordings."""
    spec = args.walk_forward
    if spec is None:
        return None
    try:
        counts = [int(part) for part in spec.split(":")]
    except ValueError:
        counts = []
    if not 1 <= len(counts) <= 3:
        raise LocalProtocolError(f"--walk-forward {spec}: TRAIN[:TEST[:STEP]], whole numbers")
    train, test = counts[0], counts[1] if len(counts) > 1 else 1
    step = counts[2] if len(counts) > 2 else test
    for name, value in (("train", train), ("test", test), ("step", step)):
        if value < 1:
            raise LocalProtocolError(f"--walk-forward {spec}: {name} must be 1 or more")
    if args.runs == "sequence":
        raise LocalProtocolError("--walk-forward needs one run per recording (--runs each)")
    if args.walk_forward_by == "sharpe" and train < 2:
        raise LocalProtocolError(
            f"--walk-forward {spec}: a Sharpe ratio needs a window of 2 or more recordings"
        )
    if train + test > len(recordings):
        raise LocalProtocolError(
            f"--walk-forward {spec} needs {train + test} recordings; got {len(recordings)}"
        )
    check_periods(recordings)
    return train, test, step


def _figures_line(statistics: Any) -> str:
    """The run's statistics in one line, each at the precision it is shown at: the drawdown
    in dollars to the cent (over the P&L curve: every change), the Sharpe ratio to two
    decimals (per sampling interval, as it is computed), the fill ratio in percent to one
    decimal; the JSON has them in full."""
    total = statistics["total"]
    drawdown = Decimal(total["max_drawdown"]).quantize(Decimal("0.01"))
    sharpe = total["sharpe"]
    ratio = total["fill_ratio"]
    return (
        f"max drawdown ${drawdown} (over the P&L curve), Sharpe "
        f"{'-' if sharpe is None else f'{sharpe:.2f}'} (per {statistics['sample_interval']:g} s "
        f"sample, {total['samples']} samples), fill ratio "
        f"{'-' if ratio is None else f'{ratio:.1%}'} ({total['contracts_filled']} of "
        f"{total['contracts_ordered']} contracts ordered)"
    )


def _progress(err: IO[str]) -> Any:
    """At most a line a second on a terminal (asked every 1,000 messages); none otherwise."""
    if not err.isatty():
        return None
    last = [time.monotonic()]

    def show(messages: int, now: float) -> None:
        wall = time.monotonic()
        if wall - last[0] >= 1.0:
            last[0] = wall
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
            emit(err, f"{messages:,} messages, recording clock {stamp} UTC")

    return show

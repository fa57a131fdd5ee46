"""Latency models for a simulation or a backtest: how long bytes take between a client and the
exchange, in simulated time.

A model answers one question, `LatencyModel.draw`: the one-way delay of the next chunk of bytes,
in seconds, drawn with the run's seeded random generator (so a run repeats to the byte with the
same seed). A `Simulation <kalshi_fix_sansio.simulator.world.simulation.Simulation>` takes one model for every
connection or one per session type (``{"KalshiNR": ..., "KalshiMD": ...}``); each direction of
each connection draws its own delays, and bytes never overtake each other on a connection (a
chunk drawn shorter than the one before it arrives right after it, as on TCP).

* `NoLatency`: bytes arrive at the instant they were written (the default).
* `ConstantLatency`: every chunk takes the same time.
* `LogNormalLatency`: a right-skewed distribution given by its median and the spread of its
  logarithm, as network delays usually are, optionally with a floor.
* `EmpiricalLatency`: resampled from measured delays; `EmpiricalLatency.from_message_log`
  measures them in a live session's message log (the receive time of each message Kalshi sent,
  against its SendingTime(52)).

`fit_latency` fits a `LogNormalLatency` to measured delays (`fit_message_logs`: to those of
one session type in your own message logs) and says how well it fits (the Kolmogorov-Smirnov
distance and its p-value); `save_fitted` keeps the fits under a name, and `load_fitted` gives
them back as models a backtest takes (``kalshi-fix fit-latency`` and ``--latency
fitted:NAME`` on the command line).

Nothing here reads a clock or a file except `EmpiricalLatency.from_message_log`,
`fit_message_logs`, `save_fitted` and `load_fitted`.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from statistics import NormalDist
from typing import Any, Final, Protocol, runtime_checkable

import attrs

from ...codec.errors import LocalProtocolError
from ..data.recording import _message_log

__all__ = [
    "FITTED_SUFFIX",
    "MAX_LATENCY",
    "ConstantLatency",
    "EmpiricalLatency",
    "LatencyFit",
    "LatencyModel",
    "LatencyProfile",
    "LogNormalLatency",
    "NoLatency",
    "fit_latency",
    "fit_message_logs",
    "latency_profile",
    "load_fitted",
    "save_fitted",
]

MAX_LATENCY: Final = 60.0
"""The longest one-way delay a model may give, in seconds (a longer draw is cut to it)."""


@runtime_checkable
class LatencyModel(Protocol):
    """How long the next chunk of bytes takes one way, in seconds."""

    def draw(self, rng: random.Random) -> float:
        """The delay of the next chunk (>= 0), drawn with ``rng`` (the run's, seeded)."""
        ...


def _seconds(name: str, value: object, *, positive: bool = False) -> float:
    """``value`` as seconds of latency, or a clear error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LocalProtocolError(f"{name} must be a finite number of seconds, got {value!r}")
    if value < 0 or (positive and value == 0) or value > MAX_LATENCY:
        low = "> 0" if positive else ">= 0"
        raise LocalProtocolError(f"{name} must be {low} and at most {MAX_LATENCY:g} s, got {value}")
    return float(value)


@attrs.frozen
class NoLatency:
    """Bytes arrive at the instant they were written."""

    def draw(self, rng: random.Random) -> float:
        return 0.0


def _constant(value: object) -> float:
    return _seconds("ConstantLatency.seconds", value)


def _median(value: object) -> float:
    return _seconds("LogNormalLatency.median", value, positive=True)


def _floor(value: object) -> float:
    return _seconds("LogNormalLatency.floor", value)


def _samples(values: Iterable[float]) -> tuple[float, ...]:
    return tuple(values)


@attrs.frozen
class ConstantLatency:
    """Every chunk takes ``seconds`` one way.

    Raises:
        LocalProtocolError: not a number of seconds in [0, `MAX_LATENCY`].
    """

    seconds: float = attrs.field(converter=_constant)

    def draw(self, rng: random.Random) -> float:
        return self.seconds


@attrs.frozen
class LogNormalLatency:
    """Delays whose logarithm is normal: half of them under ``median``; ``sigma`` the standard
    deviation of the logarithm (0.5: one in six draws over 1.65 times the median); never under
    ``floor`` nor over `MAX_LATENCY`.

    Raises:
        LocalProtocolError: a median not > 0, a sigma outside [0, 5], a negative floor.
    """

    median: float = attrs.field(converter=_median)
    sigma: float = 0.5
    floor: float = attrs.field(default=0.0, converter=_floor)

    def __attrs_post_init__(self) -> None:
        sigma = self.sigma
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma <= 5:
            raise LocalProtocolError(f"LogNormalLatency.sigma must be in [0, 5], got {sigma!r}")

    def draw(self, rng: random.Random) -> float:
        value = self.median * math.exp(rng.gauss(0.0, self.sigma))
        return min(max(value, self.floor), MAX_LATENCY)


@attrs.frozen
class EmpiricalLatency:
    """Delays drawn (uniformly, with replacement) from measured ones.

    Attributes:
        samples: the measured one-way delays in seconds (at least one; each in
            [0, `MAX_LATENCY`]).

    Raises:
        LocalProtocolError: no sample, or one that is not a delay.
    """

    samples: tuple[float, ...] = attrs.field(converter=_samples)

    def __attrs_post_init__(self) -> None:
        if not self.samples:
            raise LocalProtocolError("EmpiricalLatency needs at least one measured delay")
        for i, value in enumerate(self.samples):
            _seconds(f"EmpiricalLatency.samples[{i}]", value)

    def draw(self, rng: random.Random) -> float:
        return self.samples[rng.randrange(len(self.samples))]

    @classmethod
    def from_message_log(
        cls, path: str | os.PathLike[str], *, session_type: str | None = None
    ) -> EmpiricalLatency:
        """The delays measured in a message log (`kalshi_fix_sansio.adapters` writes one with
        ``message_log=``; a recording is one too): for each message received (``IN``), its
        receive time less its SendingTime(52). Kalshi's clock and yours differ by their offset,
        so the figures include it; a negative difference (your clock behind) counts as 0.

        Args:
            path: the message log.
            session_type: only the lines of sessions of this type (``"KalshiMD"``...), as the
                log names them (``KalshiMD/key-1``); None: every session.

        Raises:
            LocalProtocolError: the file cannot be read, or holds no received message with a
                SendingTime (the message names the file); a line that is not a message-log
                line is named by its number.
        """
        profile = latency_profile(path, session_type=session_type)
        if not profile.samples:
            raise LocalProtocolError(
                f"{os.fspath(path)}: no received message with a SendingTime(52) to measure"
                + ("" if session_type is None else f" on {session_type}")
            )
        return cls(profile.samples)


@attrs.frozen
class LatencyProfile:
    """What `latency_profile` measured in a message log.

    Attributes:
        samples: receive time less SendingTime(52) of each received message, in seconds (a
            negative difference counted as 0; over `MAX_LATENCY` cut to it), in file order.
        negative: how many differences were negative (the local clock behind Kalshi's).
    """

    samples: tuple[float, ...]
    negative: int

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of the samples (0 <= q <= 1; nearest rank)."""
        if not self.samples:
            raise LocalProtocolError("no sample")
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


_SENDING_TIME: Final = re.compile(rb"\|52=(\d{8}-\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)\|")


def _utc(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _sending_time(text: bytes) -> float | None:
    stamp = text.decode("ascii")
    day, _, clock = stamp.partition("-")
    iso = f"{day[:4]}-{day[4:6]}-{day[6:8]}T{clock[:15]}+00:00"  # microseconds at most
    return _utc(iso)


def latency_profile(
    path: str | os.PathLike[str], *, session_type: str | None = None
) -> LatencyProfile:
    """Measure a message log's receive delays (see `EmpiricalLatency.from_message_log`).

    Raises:
        LocalProtocolError: the file cannot be read, a line is too long, or a line is not a
            message-log line (named by file, line and byte offset).
    """
    samples: list[float] = []
    negative = 0
    for _where, stamp, direction, session, frame in _message_log(path):
        delay = _delay(stamp, direction, session, frame, session_type)
        if delay is None:
            continue
        if delay < 0:
            negative += 1
        samples.append(min(max(delay, 0.0), MAX_LATENCY))
    return LatencyProfile(tuple(samples), negative)


def _delay(
    stamp: bytes, direction: bytes, session: bytes, frame: bytes, session_type: str | None
) -> float | None:
    if direction != b"IN":
        return None
    if session_type is not None and session.split(b"/", 1)[0].decode("ascii", "replace") != (
        session_type
    ):
        return None
    sent = _SENDING_TIME.search(frame.replace(b"\x01", b"|"))
    received = _utc(stamp.decode("ascii", "replace"))
    if sent is None or received is None:
        return None
    sending = _sending_time(sent.group(1))
    return None if sending is None else received - sending


def _models_by_session_type(
    latency: LatencyModel | Mapping[str, LatencyModel] | None, session_types: Iterable[str]
) -> dict[str, LatencyModel]:
    """Each session type's model (a mapping may name some: the others get `NoLatency`).

    Raises:
        LocalProtocolError: not a model, or a mapping naming an unknown session type or holding
            something else than a model.
    """
    names = tuple(session_types)
    if latency is None:
        return {}
    if isinstance(latency, LatencyModel):
        return dict.fromkeys(names, latency)
    if not isinstance(latency, Mapping):
        raise LocalProtocolError(
            f"latency must be a LatencyModel or a mapping of session type to one, got "
            f"{type(latency).__name__}"
        )
    unknown = sorted(set(latency) - set(names))
    if unknown:
        raise LocalProtocolError(
            f"latency: {unknown[0]} is not a session type here (one of {', '.join(names)})"
        )
    for key, model in latency.items():
        if not isinstance(model, LatencyModel):
            raise LocalProtocolError(
                f"latency[{key!r}] must be a LatencyModel, got {type(model).__name__}"
            )
    return dict(latency)


FITTED_SUFFIX: Final = ".latency.json"
"""The file name ending of fitted latency models saved under a name (`save_fitted`)."""

_FIT_SCHEMA: Final = 1
_NORMAL: Final = NormalDist()


@attrs.frozen
class LatencyFit:
    """A `LogNormalLatency` fitted to measured one-way delays, and how well it fits.

    Attributes:
        model: the fitted model (median and sigma by maximum likelihood: the mean and the
            standard deviation of the delays' logarithms; ``floor`` as given to the fit).
        samples: the delays it was fitted to (those above the floor).
        left_out: the delays at or below the floor, left out (a measured 0 is a clock offset:
            your clock behind Kalshi's).
        ks: the Kolmogorov-Smirnov distance between the delays and the model (the largest gap
            between their cumulative distributions, 0 to 1).
        p_value: the chance of a distance at least this large if the delays came from the
            model (asymptotic; with the parameters fitted from the same delays it is on the
            high side): under 0.05, the log-normal shape does not describe them well, and an
            `EmpiricalLatency` of the same delays is the safer model.
    """

    model: LogNormalLatency
    samples: int
    left_out: int
    ks: float
    p_value: float

    def as_json(self) -> dict[str, Any]:
        """The fit as plain values (`from_json` reads them back)."""
        return {
            "kind": "lognormal",
            "median": self.model.median,
            "sigma": self.model.sigma,
            "floor": self.model.floor,
            "samples": self.samples,
            "left_out": self.left_out,
            "ks": self.ks,
            "p_value": self.p_value,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any], where: str) -> LatencyFit:
        """A fit from `as_json`'s values.

        Raises:
            LocalProtocolError: a value that is not a fit (``where`` names it).
        """
        try:
            if value["kind"] != "lognormal":
                raise LocalProtocolError(f"{where}: kind {value['kind']!r} is not lognormal")
            model = LogNormalLatency(value["median"], value["sigma"], value["floor"])
            return cls(
                model, int(value["samples"]), int(value["left_out"]), value["ks"], value["p_value"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LocalProtocolError(f"{where}: not a latency fit ({exc!r})") from None


def _round(value: float) -> float:
    """Figures to 10 significant digits: the same text on every machine."""
    return float(f"{value:.10g}")


def _kolmogorov(x: float) -> float:
    """The Kolmogorov distribution's upper tail at ``x`` (the KS test's p-value)."""
    if x < 0.2:
        return 1.0
    total = math.fsum((-1) ** (k - 1) * math.exp(-2 * k * k * x * x) for k in range(1, 101))
    return min(1.0, max(0.0, 2 * total))


def fit_latency(delays: Iterable[float], *, floor: float = 0.0) -> LatencyFit:
    """Fit a `LogNormalLatency` to measured one-way delays (seconds).

    Args:
        delays: the delays (a `LatencyProfile`'s samples, say).
        floor: the least delay there is (the model's floor, the network's fixed part if you
            know it): the log-normal is fitted to each delay less it.

    Raises:
        LocalProtocolError: fewer than 2 delays above the floor, or a bad floor.
    """
    floor = _floor(floor)
    values = sorted(float(d) for d in delays)
    above = [d - floor for d in values if d > floor]
    if len(above) < 2:
        raise LocalProtocolError(
            f"fitting a latency needs 2 or more delays above the floor ({floor:g} s); "
            f"got {len(above)} of {len(values)}"
        )
    logs = [math.log(d) for d in above]
    mu = math.fsum(logs) / len(logs)
    sigma = math.sqrt(math.fsum((x - mu) ** 2 for x in logs) / len(logs))
    n = len(logs)
    ks = 0.0
    if sigma > 0:
        for i, x in enumerate(logs):  # ascending, as the delays are
            cdf = _NORMAL.cdf((x - mu) / sigma)
            ks = max(ks, cdf - i / n, (i + 1) / n - cdf)
    else:  # every delay the same: a step, which a log-normal of sigma 0 is
        ks = 0.0
    root = math.sqrt(n)
    p_value = _kolmogorov((root + 0.12 + 0.11 / root) * ks)
    fitted = LogNormalLatency(
        min(_round(math.exp(mu)), MAX_LATENCY), min(_round(sigma), 5.0), _round(floor)
    )
    return LatencyFit(fitted, n, len(values) - n, _round(ks), _round(p_value))


def fit_message_logs(
    paths: Sequence[str | os.PathLike[str]], *, session_type: str, floor: float = 0.0
) -> LatencyFit:
    """Fit a latency to the delays of ``session_type``'s received messages in message logs
    (`latency_profile` measures them).

    Raises:
        LocalProtocolError: as `latency_profile`; too few delays (naming the logs and the
            session type).
    """
    delays: list[float] = []
    for path in paths:
        delays.extend(latency_profile(path, session_type=session_type).samples)
    try:
        return fit_latency(delays, floor=floor)
    except LocalProtocolError as exc:
        names = ", ".join(os.fspath(p) for p in paths)
        raise LocalProtocolError(f"{names}: {session_type}: {exc}") from None


def _fitted_path(name: str, directory: str | os.PathLike[str]) -> Path:
    if not name or "/" in name or os.sep in name or name.startswith("."):
        raise LocalProtocolError(f"a fitted model's name is a plain file name, got {name!r}")
    return Path(directory) / f"{name}{FITTED_SUFFIX}"


def save_fitted(
    name: str,
    fits: Mapping[str, LatencyFit],
    directory: str | os.PathLike[str] = ".",
    *,
    sources: Sequence[str] = (),
) -> Path:
    """Save fits by session type under ``name`` (``<directory>/<name>.latency.json``).

    Args:
        name: the name a backtest finds them by (`load_fitted`).
        fits: session type (``"KalshiNR"``, ``"KalshiMD"``...) -> its fit.
        directory: where (made when missing).
        sources: what they were fitted from (the logs' names), kept in the file.

    Raises:
        LocalProtocolError: a name that is not a plain file name, no fit, or the file cannot
            be written.
    """
    if not fits:
        raise LocalProtocolError("nothing to save: no fitted latency")
    path = _fitted_path(name, directory)
    document = {
        "schema": _FIT_SCHEMA,
        "name": name,
        "sources": list(sources),
        "latency": {kind: fit.as_json() for kind, fit in sorted(fits.items())},
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise LocalProtocolError(f"{path}: cannot write it: {exc.strerror or exc}") from None
    return path


def load_fitted(
    name: str | os.PathLike[str], directory: str | os.PathLike[str] = "."
) -> dict[str, LatencyFit]:
    """The fits saved under ``name`` (or in the file ``name`` when it ends in ``.json``), by
    session type; each fit's ``model`` is what `run_backtest`'s ``latency`` takes.

    Raises:
        LocalProtocolError: no such file, or one that is not saved fits (naming it).
    """
    text = os.fspath(name)
    path = Path(text) if text.endswith(".json") else _fitted_path(text, directory)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LocalProtocolError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise LocalProtocolError(f"{path}: not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("schema") != _FIT_SCHEMA:
        raise LocalProtocolError(f"{path}: not fitted latency models (schema {_FIT_SCHEMA})")
    fits = document.get("latency")
    if not isinstance(fits, dict) or not fits:
        raise LocalProtocolError(f"{path}: holds no fitted latency")
    return {
        kind: LatencyFit.from_json(value, f"{path}: {kind}")
        for kind, value in fits.items()
        if isinstance(value, dict)
    }

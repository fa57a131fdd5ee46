"""A run's figures and models as a person reads them (the tearsheet's words and numbers).

`money`, `percent`, `contracts` and `ratio` format one figure of a report's JSON;
`STATISTICS` names each statistic (`kalshi_fix_sansio.simulator.backtests.backtest.BacktestResult`'s
``statistics``) with its unit and its format; `run_items` says what a run was (its ``run``),
its models written out (the fee schedule's rates in percent, a latency in milliseconds, the queue
model by what it assumes) from the text the JSON keeps of them. Every function returns plain
text (the caller escapes it for HTML).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Final

__all__ = [
    "STATISTICS",
    "contracts",
    "describe_model",
    "figure",
    "label",
    "money",
    "percent",
    "plain",
    "ratio",
    "run_items",
]

_CENT: Final = Decimal("0.01")


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def money(value: Any) -> str:
    """Dollars: ``$1,234.56``, ``-$0.02``; to the cent, or to every digit the exact figure
    has below the cent (``$0.1234``)."""
    number = _decimal(value)
    if number is None:
        return "-"
    exact = number.normalize()
    places = max(2, -int(exact.as_tuple().exponent)) if exact else 2
    text = f"{abs(number):,.{places}f}"
    return f"-${text}" if number < 0 else f"${text}"


def percent(value: Any, places: int = 1) -> str:
    """A share as a percentage: 0.9166 -> ``91.7%``."""
    number = _decimal(value)
    return "-" if number is None else f"{number * 100:,.{places}f}%"


def contracts(value: Any, places: int = 2) -> str:
    """Contracts: whole numbers as such (``22``), fractions to ``places`` decimals."""
    number = _decimal(value)
    if number is None:
        return "-"
    if number == number.to_integral_value():
        return f"{number:,.0f}"
    return f"{number:,.{places}f}"


def ratio(value: Any) -> str:
    """A plain number to two decimals (a Sharpe ratio)."""
    number = _decimal(value)
    return "-" if number is None else f"{number:.2f}"


def _count(value: Any) -> str:
    return "-" if value is None else f"{int(value):,}"


STATISTICS: Final[dict[str, tuple[str, Callable[[Any], str]]]] = {
    "total": ("Total P&L", money),
    "realized": ("Realized P&L", money),
    "unrealized": ("Unrealized P&L (at the last mid)", money),
    "fees": ("Fees", money),
    "max_drawdown": ("Largest drawdown", money),
    "sharpe": ("Sharpe ratio (per sample, not annualized)", ratio),
    "fill_ratio": ("Fill ratio (contracts filled / ordered)", percent),
    "fills": ("Fills", _count),
    "orders": ("Orders sent (new and replace)", _count),
    "contracts_ordered": ("Contracts ordered", contracts),
    "contracts_filled": ("Contracts filled", contracts),
    "samples": ("Samples", _count),
    "max_abs_position": ("Largest position (contracts)", contracts),
    "mean_abs_position": ("Mean position (contracts)", contracts),
}
"""Statistic -> its label (with its unit) and its format, in the order shown."""


def label(key: str) -> str:
    """A figure's label: `STATISTICS`' or, for another, its name in words."""
    known = STATISTICS.get(key)
    return known[0] if known else key.replace("_", " ").capitalize()


def figure(key: str, value: Any) -> str:
    """A statistic formatted by `STATISTICS` (another: as plain text)."""
    known = STATISTICS.get(key)
    if known is not None:
        return known[1](value)
    return plain(value)


def plain(value: Any) -> str:
    """Any JSON value as short text: numbers as they are, lists joined, mappings as
    ``name value`` pairs."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(v) for v in value) or "-"
    if isinstance(value, Mapping):
        return "; ".join(f"{k} {plain(v)}" for k, v in value.items()) or "-"
    text = str(value)
    parsed = _parse(text)
    return text if parsed is None or isinstance(parsed, str) else describe_model(text)


# -- the models, from the text the JSON keeps of them (their repr) ------------------------------


class _Call(dict[str, Any]):
    """A parsed ``Name(key=value, ...)`` (positional arguments under ``"0"``, ``"1"``...)."""

    def __init__(self, name: str, items: dict[str, Any]) -> None:
        super().__init__(items)
        self.name = name


def _parse(text: str) -> Any:
    """The value a repr spells (calls, numbers, strings, tuples, dicts), or None when it
    spells something else; never evaluated."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    try:
        return _node(tree)
    except ValueError:
        return None


def _node(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_node(node.operand)
    if isinstance(node, (ast.Tuple, ast.List)):
        return [_node(n) for n in node.elts]
    if isinstance(node, ast.Dict):
        return {
            _node(k) if k else "": _node(v) for k, v in zip(node.keys, node.values, strict=True)
        }
    if isinstance(node, ast.Call):
        name = ast.unparse(node.func)
        args = [_node(a) for a in node.args]
        if name == "Decimal" and len(args) == 1:
            return Decimal(str(args[0]))
        items = {str(i): a for i, a in enumerate(args)}
        items.update({k.arg or "": _node(k.value) for k in node.keywords})
        return _Call(name, items)
    raise ValueError(ast.dump(node))


def _ms(seconds: Any) -> str:
    number = _decimal(seconds)
    return "-" if number is None else f"{float(number) * 1000:.3g} ms"


def _latency(model: _Call) -> str:
    if model.name == "NoLatency":
        return "none"
    if model.name == "ConstantLatency":
        return f"constant, {_ms(model.get('seconds', model.get('0')))}"
    if model.name == "LogNormalLatency":
        text = f"log-normal, median {_ms(model.get('median', model.get('0')))}"
        text += f", sigma {plain(model.get('sigma', 0.5))}"
        floor = _decimal(model.get("floor", 0))
        return text + (f", at least {_ms(floor)}" if floor else "")
    if model.name == "EmpiricalLatency":
        samples = sorted(float(s) for s in model.get("samples", model.get("0", [])))
        if not samples:
            return "measured delays"
        return f"measured, {len(samples):,} delays resampled (median {_ms(samples[len(samples) // 2])})"
    return _generic(model)


def _rates(rates: Any, product: str) -> str:
    if not isinstance(rates, _Call):
        return plain(rates)
    base = "contracts x price x (1 - price)" if product == "prediction" else "notional"
    parts = []
    if rates.get("taker") is not None or rates.get("maker") is not None:
        taker, maker = rates.get("taker"), rates.get("maker")
        parts.append(
            f"taker {'as the product' if taker is None else percent(taker, 2)}, maker "
            f"{'as the product' if maker is None else percent(maker, 2)} of {base}"
        )
    multiplier = _decimal(rates.get("multiplier"))
    if multiplier is not None and multiplier != 1:
        parts.append(f"times {multiplier.normalize():f}")
    round_to = rates.get("round_to")
    if round_to is not None:
        parts.append(f"each fill's fee rounded up to {money(round_to)}")
    settlement = _decimal(rates.get("settlement"))
    if settlement:
        parts.append(f"{money(settlement)} per winning contract at settlement")
    return "; ".join(parts) or "as the product"


def _fees(model: _Call, product: str | None = None) -> list[tuple[str, str]]:
    """The schedule's rates: of ``product`` (None: both products), then each series'."""
    out = [
        (f"Fees, {name}" if product is None else "Fees", _rates(model.get(name), name))
        for name in ("prediction", "margin")
        if product in (None, name)
    ]
    series = model.get("series") or {}
    for ticker, rates in sorted(series.items()) if isinstance(series, dict) else ():
        out.append((f"Fees, {ticker}", _rates(rates, product or "prediction")))
    return out


_QUEUES: Final = {
    "FifoQueue": "FIFO: every recorded cancellation is ahead of your order",
    "RiskAverseQueue": "risk-averse: every recorded cancellation is behind your order",
}


def _queue(text: str, model: Any) -> str:
    if isinstance(model, _Call) and model.name in _QUEUES:
        return _QUEUES[model.name]
    drawn = text.endswith(" (drawn)")
    core = _parse(text.removesuffix(" (drawn)"))
    share = "each cancellation drawn from the seed" if drawn else "the expected share"
    if isinstance(core, _Call) and core.name == "ProbQueue.power":
        return f"probabilistic, power {plain(core.get('0', 3))} ({share})"
    if isinstance(core, _Call) and core.name == "ProbQueue.log":
        return f"probabilistic, log form ({share})"
    return text


def _generic(model: _Call) -> str:
    items = ", ".join(f"{k} {plain(v)}" for k, v in model.items() if not k.isdigit())
    args = ", ".join(plain(v) for k, v in model.items() if k.isdigit())
    return f"{model.name} ({', '.join(x for x in (args, items) if x)})" if model else model.name


def describe_model(text: str) -> str:
    """A model the JSON keeps as its repr, in words (the repr itself when it is none this
    module knows)."""
    model = _parse(text)
    if isinstance(model, _Call):
        if model.name.endswith("Latency"):
            return _latency(model)
        if model.name == "FeeSchedule":
            return "; ".join(f"{k}: {v}" for k, v in _fees(model))
        return _generic(model)
    return text


_SESSIONS: Final = {
    "KalshiNR": "order entry",
    "KalshiRT": "order entry (retransmission)",
    "KalshiMD": "market data",
    "KalshiRFQ": "quotes (RFQ)",
    "KalshiDC": "drop copy",
}


def _latency_items(value: Any) -> Iterator[tuple[str, str]]:
    if value is None:
        yield "Latency", "none: every message arrives at once"
    elif isinstance(value, Mapping):
        for session, model in value.items():
            yield f"Latency, {_SESSIONS.get(session, session)} ({session})", plain(model)
    else:
        yield "Latency, every session", plain(value)


def _utc(text: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return plain(text)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def run_items(run: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What a run was (a backtest's ``run``), as (label, text) pairs."""
    out: list[tuple[str, str]] = []
    rest = dict(run)
    simple = {
        "recordings": "Recordings",
        "product": "Product",
        "api": "API",
        "mode": "Mode",
        "seed": "Seed",
    }
    for key, name in simple.items():
        if key in rest:
            out.append((name, plain(rest.pop(key))))
    if "params" in rest:
        params = rest.pop("params") or {}
        text = ", ".join(f"{k} = {plain(v)}" for k, v in sorted(params.items()))
        out.append(("Strategy parameters", text or "none"))
    if "latency" in rest:
        out.extend(_latency_items(rest.pop("latency")))
    models = rest.pop("models", None) or {}
    if "queue_model" in models:
        text = str(models["queue_model"])
        out.append(("Queue model", _queue(text, _parse(text))))
    fees = _parse(str(models.get("fees", "")))
    if isinstance(fees, _Call) and fees.name == "FeeSchedule":
        out.extend(_fees(fees, run.get("product")))
    elif "fees" in models:
        out.append(("Fees", plain(models["fees"])))
    for key, value in sorted((rest.pop("gateway_options", None) or {}).items()):
        out.append((f"Exchange option {key}", plain(value)))
    if "start" in rest and "end" in rest:
        out.append(("Run's clock", f"{_utc(rest.pop('start'))} to {_utc(rest.pop('end'))}"))
    if "messages" in rest:
        out.append(("Recorded messages fed", _count(rest.pop("messages"))))
    funding = rest.pop("funding", None)
    if isinstance(funding, Mapping):
        markets = ", ".join(funding.get("markets", [])) or "none"
        out.append(("Funding", f"{_count(funding.get('rates'))} rates; markets {markets}"))
    for key, value in sorted(rest.items()):
        out.append((label(key), plain(value)))
    return out

"""Kalshi's documented value ranges, checked on every outbound application message.

One table, `VALUE_RULES`, generated from ``spec/ranges.yaml``: prices per product and wire units
(prediction 1-99 cents on the cent, or above $0 and below $1 on $0.0001 with UseDollars; margin
positive on $0.0001), quantities (positive; prediction in hundredths, margin whole; at most
100,000,000), ClOrdID length and characters, AllocAccount, ExDestination, OrderGroupContractsLimit,
TimeInForce values and a replace's ExpireTime; and `ENUM_RULES`, derived from ``spec/fields.yaml``:
every enumerated field of an application message a client sends (Side, OrdType, ExecInst,
PartyRole...) must carry one of the values the field lists there for the session's product (each
space-separated value, for a multiple-value type). `check_values` applies the rules of one message;
`Session.send <kalshi_fix_sansio.session.machine.Session.send>` (initiator role) calls it before anything
is encoded, sequenced, stored or sent, and the request builders
(`kalshi_fix_sansio.trading.builders.Requests`) call it on every request they build.

A broken rule raises `ValueRangeError` (a `RequestError`, so a `LocalProtocolError`) naming the
message type, the field and tag, the value, the rule and where it is in the spec::

    35=D Price(44): prediction prices are 1-99 cents ($0.01-$0.99) (NewOrderSingle got 1.5;
    rule spec/ranges.yaml:14, from order-entry.md §1 ...)
    35=D Side(54): not one of Kalshi's values: 1 (BUY), 2 (SELL) (NewOrderSingle got '7'; rule
    spec/fields.yaml:451, from Kalshi's documented values of Side(54))

Examples:
    >>> from decimal import Decimal
    >>> from kalshi_fix_sansio import prediction as p
    >>> from kalshi_fix_sansio.codec.ranges import ValueRangeError, check_values
    >>> order = p.NewOrderSingle(cl_ord_id="o-1", side=p.Side.BUY, order_qty=Decimal(1),
    ...                          ord_type=p.OrdType.LIMIT, price=Decimal("1.5"), symbol="M")
    >>> try:
    ...     check_values(order, product="prediction")
    ... except ValueRangeError as exc:
    ...     print(exc.field, exc.tag, exc.value, exc.where)
    Price 44 1.5 spec/ranges.yaml:14
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ._generated.tables import ENUM_RULES, FIELDS, MESSAGES, VALUE_RULES, ValueRule
from ._message import field_reader
from .errors import LocalProtocolError

__all__ = [
    "ENUM_RULES",
    "VALUE_RULES",
    "RequestError",
    "ValueRangeError",
    "ValueRule",
    "check_value",
    "check_values",
    "rules_for",
]


class RequestError(LocalProtocolError):
    """A request breaks a documented Kalshi rule; raised before anything is sent.

    Attributes:
        msg_type: MsgType(35) of the request being built.
        field: the field at fault (FIX name), or None for a rule on the whole request.
        tag: its tag number, when one applies.
        rule: the rule broken, in words.
    """

    def __init__(
        self, msg_type: str, field: str | None, tag: int | None, rule: str, detail: str = ""
    ) -> None:
        where = f"{field}({tag})" if field and tag else field or "request"
        text = f"35={msg_type} {where}: {rule}"
        super().__init__(f"{text} ({detail})" if detail else text)
        self.msg_type = msg_type
        self.field = field
        self.tag = tag
        self.rule = rule


def _shown(value: Any) -> str:
    """A value as an error shows it: Decimals and numbers as text, long strings cut short."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value)} characters)"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(getattr(value, "value", value))


class ValueRangeError(RequestError):
    """A value outside the range Kalshi documents (`VALUE_RULES`), or not among the values of an
    enumerated field (`ENUM_RULES`); nothing was sent.

    Attributes:
        msg_type, field, tag, rule: as `RequestError` (``rule`` is the rule in words).
        value: the value refused.
        message_name: the message's name (NewOrderSingle).
        value_rule: the `ValueRule` broken (its ``source`` says where Kalshi documents it).
        where: the rule's place in the spec, ``spec/ranges.yaml:LINE`` (``spec/fields.yaml:LINE``
            for an enum rule of `ENUM_RULES`: the line of the field's ``values:``).
    """

    def __init__(self, message_name: str, msg_type: str, rule: ValueRule, value: Any) -> None:
        basis = "" if rule.basis == "documented" else "; a library decision, Kalshi states none"
        detail = f"{message_name} got {_shown(value)}; rule {rule.where}, from {rule.source}{basis}"
        super().__init__(msg_type, rule.field, rule.tag, rule.says, detail)
        self.value = value
        self.message_name = message_name
        self.value_rule = rule
        self.where = rule.where


_RULES = VALUE_RULES + ENUM_RULES
"""Every rule: those of ``spec/ranges.yaml``, then the enums of ``spec/fields.yaml``."""

_MULTI_VALUE_TYPES = frozenset({"MULTIPLEVALUESTRING", "MULTIPLECHARVALUE", "MULTIPLESTRINGVALUE"})
"""FIX types whose value is several enum values separated by spaces (a values rule checks each)."""

_INT_ENUM_TYPES = frozenset({"INT", "LENGTH", "SEQNUM", "NUMINGROUP"})
"""FIX types whose enum values are integers (a values rule holds their text)."""

# -- one predicate per rule, one checker per field ----------------------------------------------

_Pred = Callable[[Any, "float | None"], bool]
_Checker = Callable[[Any, "float | None"], "ValueRule | None"]  # the first rule broken, or None


def _decimal(v: Any) -> Decimal | None:
    """A number as a finite Decimal (ints and numeric text too), else None."""
    if v.__class__ is Decimal:
        return v if v.is_finite() else None
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, str):
        try:
            d = Decimal(v)
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def _on_tick(d: Decimal, tick: Decimal) -> bool:
    try:
        return not d % tick
    except InvalidOperation:  # a quotient wider than the context: compare the exponents
        t = tick.as_tuple()
        exp = d.normalize().as_tuple().exponent
        return (
            t.digits == (1,)
            and isinstance(exp, int)
            and isinstance(t.exponent, int)
            and exp >= t.exponent
        )


# numeric steps: (op, bound, rule); op is one of ge, le, gt, lt, tick
_Step = tuple[str, Decimal, ValueRule]


def _numeric_steps(rule: ValueRule) -> list[_Step]:
    if rule.check == "tick":
        assert rule.tick is not None
        return [("tick", Decimal(rule.tick), rule)]
    pairs = (("ge", rule.min), ("le", rule.max), ("gt", rule.above), ("lt", rule.below))
    return [(op, Decimal(bound), rule) for op, bound in pairs if bound is not None]


def _numeric_checker(rules: list[ValueRule], integer: bool) -> _Checker:
    """All the range and tick rules of one field, in spec order, in one function."""
    steps = tuple(step for rule in rules for step in _numeric_steps(rule))
    first = rules[0]

    def check(v: Any, now: float | None) -> ValueRule | None:
        if v.__class__ is Decimal and not integer:
            if not v.is_finite():
                return first
            d = v
        elif integer and (v.__class__ is not int):
            return first  # bool, or not an integer
        else:
            dd = _decimal(v)
            if dd is None:
                return first
            d = dd
        for op, bound, rule in steps:
            if op == "ge":
                if d < bound:
                    return rule
            elif op == "le":
                if d > bound:
                    return rule
            elif op == "gt":
                if d <= bound:
                    return rule
            elif op == "lt":
                if d >= bound:
                    return rule
            elif not _on_tick(d, bound):
                return rule
        return None

    return check


def _length_pred(rule: ValueRule) -> _Pred:
    lo = rule.min_length or 0
    hi = rule.max_length

    def ok(v: Any, now: float | None) -> bool:
        return isinstance(v, str) and lo <= len(v) and (hi is None or len(v) <= hi)

    return ok


def _pattern_pred(rule: ValueRule) -> _Pred:
    assert rule.pattern is not None
    full = re.compile(rule.pattern).fullmatch

    def ok(v: Any, now: float | None) -> bool:
        return isinstance(v, str) and full(v) is not None

    return ok


def _values_pred(rule: ValueRule) -> _Pred:
    allowed = frozenset(rule.values)
    if FIELDS[rule.tag].type in _MULTI_VALUE_TYPES:

        def each_ok(v: Any, now: float | None) -> bool:
            w = getattr(v, "value", v)
            return isinstance(w, str) and all(x in allowed for x in w.split(" "))

        return each_ok

    def ok(v: Any, now: float | None) -> bool:
        return not isinstance(v, bool) and str(getattr(v, "value", v)) in allowed

    return ok


def _future_pred(rule: ValueRule) -> _Pred:
    def ok(v: Any, now: float | None) -> bool:
        if now is None or not isinstance(v, datetime) or v.tzinfo is None:
            return True  # no clock given, or not a timestamp the codec would send
        return v.timestamp() > now

    return ok


_PREDS = {
    "length": _length_pred,
    "pattern": _pattern_pred,
    "values": _values_pred,
    "future": _future_pred,
}


def _checker(rules: list[ValueRule]) -> _Checker:
    """One function checking every rule of one field (of one message type and wire units)."""
    if all(r.check in ("range", "tick") for r in rules):
        return _numeric_checker(rules, FIELDS[rules[0].tag].type == "INT")
    preds = tuple(
        (_numeric_checker([r], FIELDS[r.tag].type == "INT"), r)
        if r.check in ("range", "tick")
        else (_PREDS[r.check](r), r)
        for r in rules
    )

    def check(v: Any, now: float | None) -> ValueRule | None:
        for pred, rule in preds:
            result = pred(v, now)
            if result is False or (result is not True and result is not None):
                return rule
        return None

    return check


# (product, use_dollars) -> msgtype -> the message's check (raises `ValueRangeError`)
_Check = Callable[[Any, "float | None"], None]
_PLANS: dict[tuple[str, bool], dict[str, _Check]] = {}


def value_checks(product: str, use_dollars: bool = False) -> Mapping[str, _Check]:
    """The check of each message type of ``product`` (in its wire units: ``use_dollars`` as
    `check_values`) that rules name: ``check(message, now)`` raises as `check_values` (a
    session reads it once per logon: one lookup and one call per message)."""
    key = (product, use_dollars and product == "prediction")
    plans = _PLANS.get(key)
    if plans is None:
        plans = _PLANS[key] = _plan(product, key[1])
    return plans


def _plan(product: str, use_dollars: bool) -> dict[str, _Check]:
    """The check of every message type of one product and wire units."""
    units = "dollars" if use_dollars or product == "margin" else "cents"
    by_type: dict[str, dict[tuple[str, ...], list[ValueRule]]] = {}
    for rule in _RULES:
        if rule.when is not None and rule.when != units:
            continue
        for p, mt, path in rule.paths:
            if p == product:
                by_type.setdefault(mt, {}).setdefault(path, []).append(rule)
    return {mt: _compile(mt, fields) for mt, fields in by_type.items()}


def _compile(msg_type: str, fields: dict[tuple[str, ...], list[ValueRule]]) -> _Check:
    """One straight-line function checking every field the rules name in one message type.

    It runs on every order, so it is built once per message type, product and wire units, as
    Python source (like attrs' generated methods): the fields the rules name (a group's, for a
    field inside one) are read at once with the message class's `_message.field_reader`, made
    on the class's first message; Decimals and strings take an inline path with the bounds as
    constants, anything else goes to the general per-field checker; fields inside groups are
    walked by `_values_in`. (A decoded message with a value that does not convert raises its
    `DecodeError` at that read, before any rule is checked.)
    """
    names = list(dict.fromkeys(path[0] for path in fields))  # a group once
    ns: dict[str, Any] = {
        "_E": ValueRangeError,
        "_MT": msg_type,
        "_D": Decimal,
        "_IO": InvalidOperation,
        "_on_tick": _on_tick,
        "_values_in": _values_in,
        "_readers": {},  # message class -> its reader of `_NAMES`
        "_NAMES": tuple(names),
        "_field_reader": field_reader,
    }
    lines = [
        "def check(m, now):",
        "    read = _readers.get(m.__class__)",
        "    if read is None:",
        "        read = _readers[m.__class__] = _field_reader(m.__class__, _NAMES)",
        f"    ({''.join(f'f{k}, ' for k in range(len(names)))}) = read(m)",
    ]
    for i, (path, rules) in enumerate(fields.items()):
        ns[f"_c{i}"] = _checker(rules)
        ns[f"_r{i}"] = rules[0]
        read = f"f{names.index(path[0])}"
        if len(path) > 1:
            ns[f"_p{i}"] = path[1:]
            lines += [
                f"    if {read}:",  # most messages carry no entries
                f"        for v in _values_in({read}, _p{i}):",
                "            if v is not None:",
                f"                x = _c{i}(v, now)",
                "                if x is not None:",
                f"                    {_broken('x')}",
            ]
            continue
        lines += [f"    v = {read}", "    if v is not None:"]
        ftype = FIELDS[rules[0].tag].type
        fast = _fast_lines(i, rules, ftype, ns)
        if fast is None:
            lines += [
                f"        x = _c{i}(v, now)",
                "        if x is not None:",
                f"            {_broken('x')}",
            ]
        else:
            lines += fast
    lines.append("    return None")
    exec("\n".join(lines), ns)  # our own source, built from the generated table
    check: _Check = ns["check"]
    check.__qualname__ = f"check_{msg_type}"
    return check


def _broken(rule: str) -> str:
    """The generated check's line for a broken rule (the name of a `ValueRule`) and its value
    ``v``: raise `ValueRangeError` for the message ``m``."""
    return f"raise _E(type(m).__name__, _MT, {rule}, v)"


def _fast_lines(i: int, rules: list[ValueRule], ftype: str, ns: dict[str, Any]) -> list[str] | None:
    """Inline source for one body field's rules (None: use the general checker `_c{i}`)."""
    checks = {r.check for r in rules}
    out: list[str] = []
    if checks <= {"range", "tick"} and ftype != "INT":
        out.append("        if v.__class__ is _D and v.is_finite():")
        for j, rule in enumerate(rules):
            ns[f"_r{i}_{j}"] = rule
            for k, (op, bound, _) in enumerate(_numeric_steps(rule)):
                b = f"_b{i}_{j}_{k}"
                ns[b] = bound
                ret = _broken(f"_r{i}_{j}")
                if op == "tick":
                    out += [
                        "            try:",
                        f"                if v % {b}:",
                        f"                    {ret}",
                        "            except _IO:",
                        f"                if not _on_tick(v, {b}):",
                        f"                    {ret}",
                    ]
                else:
                    cmp = {"ge": "<", "le": ">", "gt": "<=", "lt": ">="}[op]
                    out += [f"            if v {cmp} {b}:", f"                {ret}"]
    elif checks <= {"range"} and ftype == "INT":
        out.append("        if v.__class__ is int:")
        for j, rule in enumerate(rules):
            ns[f"_r{i}_{j}"] = rule
            for k, (op, bound, _) in enumerate(_numeric_steps(rule)):
                b = f"_b{i}_{j}_{k}"
                ns[b] = int(bound)
                cmp = {"ge": "<", "le": ">", "gt": "<=", "lt": ">="}[op]
                out += [f"            if v {cmp} {b}:", f"                {_broken(f'_r{i}_{j}')}"]
    elif checks <= {"length", "pattern"}:
        out.append("        if v.__class__ is str:")
        for j, rule in enumerate(rules):
            ns[f"_r{i}_{j}"] = rule
            if rule.check == "length":
                lo, hi = rule.min_length or 0, rule.max_length
                cond = f"not {lo} <= len(v)" + (f" <= {hi}" if hi is not None else "")
                out += [f"            if {cond}:", f"                {_broken(f'_r{i}_{j}')}"]
            else:
                assert rule.pattern is not None
                ns[f"_m{i}_{j}"] = re.compile(rule.pattern).fullmatch
                out += [
                    f"            if _m{i}_{j}(v) is None:",
                    f"                {_broken(f'_r{i}_{j}')}",
                ]
    elif checks == {"values"} and len(rules) == 1:
        # One set lookup: a str, an int, or a member of the generated enums (a str or int
        # mixin: it hashes and compares as its value) that is one of the values passes at once;
        # anything else (another type, a bool for an int, several values of a multiple-value
        # type, not one of the values) goes to the general checker, which decides.
        integer = ftype in _INT_ENUM_TYPES
        ns[f"_a{i}"] = frozenset(int(x) if integer else x for x in rules[0].values)
        return [
            "        try:",
            f"            bad = v not in _a{i}",
            "        except TypeError:  # unhashable",
            "            bad = True",
            "        if bad or v.__class__ is bool:" if integer else "        if bad:",
            f"            x = _c{i}(v, now)",
            "            if x is not None:",
            f"                {_broken('x')}",
        ]
    else:
        return None
    out += [
        "        else:",
        f"            x = _c{i}(v, now)",
        "            if x is not None:",
        f"                {_broken('x')}",
    ]
    return out


def _values_at(record: Any, path: tuple[str, ...]) -> list[Any]:
    """The values at `path` below a record (every entry of the groups on the way)."""
    return _values_in(getattr(record, path[0], None), path[1:])


def _values_in(value: Any, path: tuple[str, ...]) -> list[Any]:
    """The values at `path` below a member's value (each entry's, for a group's entries)."""
    if value is None:
        return []
    if not path:
        return [value]
    out: list[Any] = []
    for entry in value if isinstance(value, Sequence) else ():
        out.extend(_values_at(entry, path))
    return out


def check_values(
    message: Any, *, product: str, use_dollars: bool = False, now: float | None = None
) -> None:
    """Check an outbound application message against Kalshi's value rules (`VALUE_RULES`, and
    the enums of `ENUM_RULES`).

    Only the fields the rules name for the message's type are read (the plan per product, wire
    units and message type is built once); absent fields are not checked (requiredness is the
    codec's). Messages no rule names (market data, drop copy...) cost one dict lookup.

    Args:
        message: a message of ``kalshi_fix_sansio.codec.prediction`` or ``.margin``.
        product: ``"prediction"`` or ``"margin"``.
        use_dollars: the session logged on with UseDollars(21005)=Y (prediction prices in
            dollars, up to 4 decimals; margin always uses dollars).
        now: UTC seconds since the epoch, for the rules about the future (a replace's
            ExpireTime); None skips them.

    Raises:
        ValueRangeError: the first value that breaks a rule, in the order of the spec.
    """
    check = value_checks(product, use_dollars).get(message.MSG_TYPE)
    if check is not None:
        check(message, now)


def rules_for(field: str, msg_type: str, product: str) -> tuple[ValueRule, ...]:
    """The rules on one field of one message type of one product (all wire units).

    Examples:
        >>> [r.check for r in rules_for("ClOrdID", "D", "margin")]
        ['length', 'pattern']
    """
    return tuple(
        r
        for r in _RULES
        if r.field == field and any(p == product and mt == msg_type for p, mt, _ in r.paths)
    )


def check_value(
    msg_type: str,
    field: str,
    value: Any,
    *,
    product: str,
    use_dollars: bool = False,
    now: float | None = None,
) -> None:
    """Check one value of one field of a message type against its rules (as `check_values`).

    Args:
        msg_type: the MsgType(35) the value is for.
        field: the FIX field name (ClOrdID).
        value: the value (None is not checked).
        product: as `check_values`.
        use_dollars: as `check_values`.
        now: as `check_values`.

    Raises:
        ValueRangeError: the first rule the value breaks.
    """
    if value is None:
        return
    units = "dollars" if use_dollars or product == "margin" else "cents"
    spec = MESSAGES.get(msg_type)
    name = spec.name if spec is not None else msg_type
    for rule in rules_for(field, msg_type, product):
        if (rule.when is None or rule.when == units) and _checker([rule])(value, now):
            raise ValueRangeError(name, msg_type, rule, value)

"""`kalshi-fix replay`: a real message log, written by the blocking adapter while it traded
against the mock gateway, replayed through the order tracker and the books.

The replayed state is compared with what the live session's own `OrderTracker` and a `Books` fed
from the live market-data session held: at the end, and at moments noted while trading. Then
``--step``, ``--json``, ``--symbol``, logs without directions, broken and truncated input, stdin,
usage errors, secrets, and the examples of docs/replay.md.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli_decode import run

from kalshi_fix_sansio import Books, checksum
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.cli import build_parser
from kalshi_fix_sansio.cli.replay import (
    book_record,
    order_record,
    parse_time,
    position_record,
    trade_record,
)
from kalshi_fix_sansio.observability import MessageLog
from kalshi_fix_sansio.session.events import ApplicationMessage
from kalshi_fix_sansio.simulator.gateway import MockGateway
from kalshi_fix_sansio.simulator.testing import SessionPair, new_ed25519_keys
from kalshi_fix_sansio.trading.tracker import OrderTracker

DOCS = Path(__file__).resolve().parent.parent / "docs" / "replay.md"
SYM = "HIGHNY-23DEC31"


def state(args: list[str], stdin: bytes = b"") -> dict[str, Any]:
    """The ``--json`` state of a replay that must read every frame."""
    code, out, err = run(["replay", "--json", *args], stdin)
    assert code == 0, err
    assert err == ""
    record: dict[str, Any] = json.loads(out)
    return record


def _is(msg_type: str, **attrs: Any) -> Any:
    def check(event: Any) -> bool:
        if not isinstance(event, ApplicationMessage) or event.message.MSG_TYPE != msg_type:
            return False
        return all(getattr(event.message, k) == v for k, v in attrs.items())

    return check


def order(cl: str, side: p.Side, qty: int, price: str, symbol: str = SYM) -> p.NewOrderSingle:
    return p.NewOrderSingle(
        cl_ord_id=cl,
        side=side,
        order_qty=D(qty),
        ord_type=p.OrdType.LIMIT,
        price=D(price),
        symbol=symbol,
        time_in_force=p.TimeInForce.GTC,
    )


@dataclass
class Live:
    """What the live sessions held while the log was written."""

    log: Path
    tracker: OrderTracker
    books: Books = field(default_factory=Books)
    trades: list[dict[str, Any]] = field(default_factory=list)
    # moment -> (time, the live order records then, the live positions then)
    moments: dict[str, tuple[datetime, dict[str, dict[str, Any]], list[dict[str, Any]]]] = field(
        default_factory=dict
    )

    def note(self, name: str) -> None:
        orders = {o.cl_ord_id: order_record(o) for o in self.tracker}
        positions = [
            position_record(self.tracker.positions[s]) for s in sorted(self.tracker.positions)
        ]
        # every message after this moment is stamped later, in the log (microseconds) and in
        # SendingTime (milliseconds, which a log without times is cut by): the clock is let
        # pass into the next millisecond (at most 1 ms; a wait on the clock, not on an event)
        now = time.time_ns()
        self.moments[name] = (datetime.fromtimestamp(now / 1e9, timezone.utc), orders, positions)
        next_ms = (now // 1_000_000 + 1) * 1_000_000
        while time.time_ns() < next_ms:
            pass


def trade_story(log: Path) -> Live:
    """Market data (md-key) and order entry (trader-key) log to ``log``; other-key trades too."""
    trader_signer, trader_pub = new_ed25519_keys()
    other_signer, other_pub = new_ed25519_keys()
    md_signer, md_pub = new_ed25519_keys()
    keys = {"trader-key": trader_pub, "other-key": other_pub, "md-key": md_pub}
    with MockGateway("prediction", keys=keys) as gateway:
        gateway.seed_market(SYM, bids=[(D("0.40"), D(25))], asks=[(D("0.45"), D(30))])
        trader = gateway.client("trader-key", trader_signer, message_log_path=log)
        watcher = gateway.client("md-key", md_signer, message_log_path=log)
        other = gateway.client("other-key", other_signer)  # not in the log: not ours
        with watcher.market_data() as md, trader.order_entry() as oe, other.order_entry() as oe2:
            live = Live(log, oe.tracker)
            subscribe = p.MarketDataRequest(
                subscription_request_type=p.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
                related_sym=[p.MarketDataRequestRelatedSym(symbol=SYM)],
            )
            snapshot = md.wait_for(_is("W", symbol=SYM), 10, send=subscribe)
            live.books.apply(snapshot.message)
            live.note("subscribed")
            rest = oe.place(order("rest-1", p.Side.BUY, 10, "0.42"), timeout=10)
            live.note("resting")
            oe2.place(order("cross-1", p.Side.SELL, 4, "0.42"), timeout=10)
            oe.wait_for(_is("8", cl_ord_id="rest-1", exec_type=p.ExecType.TRADE), 10)
            live.note("filled")
            far = oe.place(order("far-1", p.Side.BUY, 5, "0.10"), timeout=10)
            oe.cancel(
                p.OrderCancelRequest(
                    cl_ord_id="cancel-1",
                    orig_cl_ord_id="far-1",
                    order_id=far.order_id,
                    side=p.Side.BUY,
                    symbol=SYM,
                ),
                timeout=10,
            )
            live.note("canceled")
            oe.place(
                p.OrderCancelReplaceRequest(
                    cl_ord_id="rest-2",
                    orig_cl_ord_id="rest-1",
                    order_id=rest.order_id,
                    side=p.Side.BUY,
                    order_qty=D(8),
                    ord_type=p.OrdType.LIMIT,
                    price=D("0.43"),
                    symbol=SYM,
                ),
                timeout=10,
            )
            with contextlib.suppress(Exception):  # refused by Kalshi: reduce-only is IOC only
                oe.place(
                    attrs.evolve(
                        order("bad-1", p.Side.BUY, 5, "0.10"), exec_inst=p.ExecInst.REDUCE_ONLY
                    ),
                    timeout=10,
                )
            for event in md.events(timeout=0.5):
                if isinstance(event, ApplicationMessage):
                    live.books.apply(event.message)
            live.note("end")
    assert set(live.tracker.orders) == {"rest-1", "rest-2", "far-1", "bad-1"}
    live.trades = [trade_record(t) for b in live.books for t in b.trades]
    return live


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Live:
    return trade_story(tmp_path_factory.mktemp("replay") / "session.log")


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the replayed state is the live state ----------------------------------------------------


def test_final_state_equals_the_live_tracker_and_books(live: Live) -> None:
    replayed = state([str(live.log), "--depth", "100", "--trades", "100"])
    assert {o["cl_ord_id"]: o for o in replayed["orders"]} == {
        o.cl_ord_id: order_record(o) for o in live.tracker
    }
    assert replayed["open_orders"] == [o.cl_ord_id for o in live.tracker if o.is_open]
    assert replayed["positions"] == [
        position_record(live.tracker.positions[s]) for s in sorted(live.tracker.positions)
    ]
    assert replayed["books"] == [book_record(b, 100) for b in live.books]
    assert replayed["trades"] == live.trades
    # and what that state is, spelled out
    orders = {o["cl_ord_id"]: o for o in replayed["orders"]}
    assert orders["rest-1"]["status"] == "REPLACED" and orders["rest-1"]["replaced_by"] == "rest-2"
    assert (orders["rest-2"]["status"], orders["rest-2"]["cum_qty"]) == ("PARTIALLY_FILLED", "4.00")
    assert (orders["rest-2"]["leaves_qty"], orders["rest-2"]["price"]) == ("4.00", "0.43")
    assert orders["far-1"]["status"] == "CANCELED"
    # Kalshi's Canceled report says OrderQty = CumQty (0); what was ordered is kept apart
    assert (orders["far-1"]["order_qty"], orders["far-1"]["cum_qty"]) == ("0.00", "0")
    assert orders["far-1"]["original_qty"] == "5.00"
    assert replayed["key_ids"] == ["trader-key"] and replayed["ignored"] == 0
    assert orders["bad-1"]["status"] == "REJECTED" and orders["bad-1"]["rejection"]
    assert replayed["open_orders"] == ["rest-2"]
    assert replayed["positions"] == [
        {
            "symbol": SYM,
            "net": "4.00",
            "bought": "4.00",
            "sold": "0",
            "avg_price": "0.42",
            "fees": "0.02",
        }
    ]
    assert [(t["size"], t["price"], t["aggressor_side"]) for t in replayed["trades"]] == [
        ("4.00", "0.4200", "sell")
    ]
    assert [(f["cl_ord_id"], f["qty"], f["price"]) for f in replayed["fills"]] == [
        ("rest-1", "4.00", "0.42")
    ]
    (book,) = replayed["books"]
    assert book["bids"][0] == {"price": "0.4300", "size": "4.00"}
    assert book["consistent"] is True


@pytest.mark.parametrize("moment", ["subscribed", "resting", "filled", "canceled", "end"])
def test_at_a_moment_equals_the_live_tracker_then(live: Live, moment: str) -> None:
    when, orders, positions = live.moments[moment]
    replayed = state([str(live.log), "--at", _at(when)])
    assert {o["cl_ord_id"]: o for o in replayed["orders"]} == orders
    assert replayed["positions"] == positions
    assert replayed["at"] == _at(when)
    assert replayed["time"] is not None and parse_time(replayed["time"]) <= when


def test_at_names_the_moment_in_text_and_stops_before_later_messages(live: Live) -> None:
    when = live.moments["resting"][0]
    code, out, err = run(["replay", str(live.log), "--at", when.isoformat()])
    assert code == 0, err
    assert out.startswith(f"state at {_at(when)}: ")
    assert re.search(r"^  rest-1 +HIGHNY-23DEC31 +buy +NEW +\$0\.42 +10 +0 +10 ", out, re.M)
    assert "far-1" not in out and "positions: none" in out
    before = run(["replay", "--json", str(live.log), "--at", "2000-01-01T00:00:00"])
    assert json.loads(before[1])["messages"] == 0 and json.loads(before[1])["orders"] == []


def test_text_state(live: Live) -> None:
    code, out, err = run(["replay", str(live.log), "--depth", "1"])
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("state at the end of the log: ")
    assert lines[1:3] == [
        "open orders (1):",
        "  ClOrdID  symbol          side  status            price  qty  cum  leaves  avg px",
    ]
    assert re.match(
        r"  rest-2 +HIGHNY-23DEC31 +buy +PARTIALLY_FILLED +\$0\.43 +8 +4 +4 +\$0\.42$",
        lines[3],
    )
    assert "all orders (4):" in lines
    assert re.search(r"^  bad-1 +HIGHNY-23DEC31 +buy +REJECTED ", out, re.M)
    # a canceled order: the quantity ordered and the quantity filled, not Kalshi's OrderQty 0
    assert re.search(r"^  far-1 +HIGHNY-23DEC31 +buy +CANCELED +\$0\.10 +5 +0 +0 ", out, re.M)
    assert lines[0].endswith(", API key trader-key")
    assert re.search(rf"^  {SYM} +4 +\$0\.42 +4 +0 +\$0\.02$", out, re.M)  # the position
    assert "books (best 1 levels):" in lines and f"  {SYM} (consistent)" in lines
    assert re.search(r"^    1  4 +\$0\.43  \$0\.45  30$", out, re.M)  # prices to the cent
    assert "    2 " not in out  # --depth 1
    assert "recent trades (1):" in lines and "our fills (1):" in lines


# -- --step -----------------------------------------------------------------------------------


def test_step_prints_every_message_and_what_it_changed(live: Live) -> None:
    frames = live.log.read_text().count("8=FIXT.1.1")
    code, out, err = run(["replay", "--step", str(live.log)])
    assert (code, err) == (0, "")
    steps, _, final = out.partition("\n\nstate at the end of the log: ")
    heads = [line for line in steps.splitlines() if not line.startswith("    ")]
    assert len(heads) == frames
    assert [int(h.split()[0][1:]) for h in heads] == list(range(1, frames + 1))
    assert all(re.match(r"#\d+ \d{4}-\d\d-\d\dT[\d:.]+Z (IN|OUT) Kalshi(NR|MD)/", h) for h in heads)
    assert (
        "OUT KalshiNR/trader-key NewOrderSingle(D) ClOrdID=rest-1 Symbol=HIGHNY-23DEC31 Side=BUY"
        in out
    )
    for change in (
        "    order rest-1: PENDING_NEW buy HIGHNY-23DEC31 qty 10 cum 0 leaves 10 avg px -",
        "    order rest-1: PENDING_NEW -> NEW ",
        "    order rest-1: NEW -> PARTIALLY_FILLED ",
        "    position HIGHNY-23DEC31: net 4 avg price $0.42 fees $0.02",
        "    trade HIGHNY-23DEC31: 4 @ $0.42 aggressor sell",
        "    order far-1: NEW -> CANCELED buy HIGHNY-23DEC31 qty 5 cum 0 leaves 0 ",
        "    order rest-1: PARTIALLY_FILLED -> REPLACED ",
        "    order bad-1: PENDING_NEW -> REJECTED ",
        "    book HIGHNY-23DEC31: bids 25@$0.40 | asks 30@$0.45",
    ):
        assert change in out, change
    assert final.startswith(f"{frames} message(s) applied") and "rest-2" in final


def test_step_json_lines_then_the_state(live: Live) -> None:
    code, out, err = run(["replay", "--step", "--json", str(live.log)])
    assert (code, err) == (0, "")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["kind"] for r in records[:-1]] == ["message"] * (len(records) - 1)
    assert records[-1] == state([str(live.log)])
    assert {r["schema"] for r in records} == {1}
    fill = next(r for r in records if r["positions"])
    assert fill["name"] == "ExecutionReport" and fill["direction"] == "IN"
    assert fill["fields"]["ExecType"] == "TRADE" and fill["fields"]["LastQty"] == "4.00"
    assert fill["orders"][0]["status"] == "PARTIALLY_FILLED"
    assert fill["session"] == "KalshiNR/trader-key" and fill["direction_inferred"] is False
    assert [r["index"] for r in records[:-1]] == list(range(1, len(records)))


def test_symbol_filter(live: Live) -> None:
    mine = state([str(live.log), "--symbol", SYM])
    assert len(mine["orders"]) == 4 and mine["symbol"] == SYM and len(mine["books"]) == 1
    other = state([str(live.log), "--symbol", "OTHER-MARKET"])
    assert (other["orders"], other["positions"], other["books"], other["trades"]) == (
        [],
        [],
        [],
        [],
    )
    code, out, _ = run(["replay", "--step", "--symbol", "OTHER-MARKET", str(live.log)])
    assert code == 0 and out.startswith("\nstate at the end of the log")  # no step concerns it


def test_stdin_is_the_same_as_the_file(live: Live) -> None:
    data = live.log.read_bytes()
    assert run(["replay", "-"], data)[1] == run(["replay", str(live.log)])[1]
    # one session's lines only (grep KalshiNR): the orders without the books
    orders_only = b"".join(line for line in data.splitlines(True) if b" KalshiNR/" in line)
    replayed = state(["-"], orders_only)
    assert replayed["books"] == [] and len(replayed["orders"]) == 4


# -- logs without directions -----------------------------------------------------------------


def test_a_log_without_direction_infers_it(live: Live) -> None:
    # the frames alone, as a capture tool would print them: no time, no IN/OUT
    bare = b"".join(line.split(b" ", 3)[3] for line in live.log.read_bytes().splitlines(True))
    assert b" IN " not in bare and b" OUT " not in bare
    replayed = state(["-"], bare)
    expected = state([str(live.log)])
    assert replayed["orders"] == expected["orders"]
    assert replayed["positions"] == expected["positions"]
    assert replayed["books"] == expected["books"]
    code, out, _ = run(["replay", "--step", "-"], bare)
    assert code == 0
    assert re.search(r"^#\d+ \S+ OUT\? - NewOrderSingle\(D\) ClOrdID=rest-1", out, re.M)
    assert re.search(r"^#\d+ \S+ IN\? - ExecutionReport\(8\)", out, re.M)
    # SendingTime(52) gives the times: --at still cuts
    resting = live.moments["resting"][0]
    cut = state(["-", "--at", _at(resting)], bare)
    assert [o["cl_ord_id"] for o in cut["orders"]] == ["rest-1"]


def frame(body: bytes, header: bytes) -> bytes:
    msg_type, _, rest = body.partition(b"\x01")
    payload = msg_type + b"\x01" + header + rest
    head = b"8=FIXT.1.1\x019=%d\x01" % len(payload)
    return head + payload + b"10=%03d\x01" % checksum(head + payload)


OUT_HEADER = b"49=key-1\x0156=KalshiNR\x0134=%d\x0152=20270115-08:00:%02d.000\x01"
IN_HEADER = b"49=Kalshi\x0156=key-1\x0134=%d\x0152=20270115-08:00:%02d.000\x01"


def test_direction_from_the_message_type_when_comp_ids_say_nothing() -> None:
    header = b"49=me\x0156=them\x0134=1\x0152=20270115-08:00:00.000\x01"
    new = frame(b"35=D\x0111=o-1\x0138=3\x0140=2\x0144=42\x0154=1\x0155=X\x01", header)
    ack = frame(  # received: the comp ids the other way round (our key "me" is its target)
        b"35=8\x016=0\x0111=o-1\x0114=0\x0117=1;1\x0137=ord-1\x0138=3\x0139=0\x0154=1\x0155=X\x01"
        b"150=0\x01151=3\x01",
        b"49=them\x0156=me\x0134=1\x0152=20270115-08:00:00.000\x01",
    )
    replayed = state(["-"], new + b"\n" + ack + b"\n")
    assert [(o["cl_ord_id"], o["status"], o["price"]) for o in replayed["orders"]] == [
        ("o-1", "NEW", "0.42")
    ]


def _two_keys_log(first: str = "key-1", second: str = "key-2") -> bytes:
    """``first`` buys 3 of X, ``second`` sells 2 of X (both filled), md-key's snapshot of X:
    bare frames."""
    lines = []
    for n, (key, cl, side, qty) in enumerate(
        [(first, "o-1", b"1", b"3"), (second, "o-2", b"2", b"2")]
    ):
        out = b"49=%s\x0156=KalshiNR\x0134=%d\x0152=20270115-08:00:%02d.000\x01" % (
            key.encode(),
            n + 2,
            2 * n,
        )
        into = b"49=Kalshi\x0156=%s\x0134=%d\x0152=20270115-08:00:%02d.000\x01" % (
            key.encode(),
            n + 2,
            2 * n + 1,
        )
        body = b"11=%s\x0138=%s\x0140=2\x0144=42\x0154=%s\x0155=X\x01" % (cl.encode(), qty, side)
        lines.append(frame(b"35=D\x01" + body, out))
        lines.append(
            frame(
                b"35=8\x016=0.42\x0111=%s\x0114=%s\x0117=%d;1\x0131=0.42\x0132=%s\x0137=ord-%d\x0138=%s\x01"
                b"39=2\x0154=%s\x0155=X\x01150=F\x01151=0\x01"
                % (cl.encode(), qty, n + 1, qty, n, qty, side),
                into,
            )
        )
    md = b"49=Kalshi\x0156=md-key\x0134=2\x0152=20270115-08:00:09.000\x01"
    snapshot = b"35=W\x0155=X\x01268=1\x01269=0\x01270=0.4000\x01271=5\x01272=20270115\x01273=08:00:09.000\x01"
    lines.append(frame(snapshot, md))
    return b"\n".join(lines) + b"\n"


def test_a_log_of_two_api_keys_is_refused_unless_key_id_chooses(tmp_path: Path) -> None:
    data = _two_keys_log()
    refusal = (
        "kalshi-fix replay: <stdin>: the log holds the orders of 2 API keys (key-1, key-2): pass "
        "--key-id KEY to replay one account (positions of two accounts are never merged)\n"
    )
    for options in ([], ["--step"], ["--json"], ["--step", "--json"]):
        assert run(["replay", *options, "-"], data) == (2, "", refusal)  # nothing else printed
    mine = state(["-", "--key-id", "key-1"], data)
    assert [o["cl_ord_id"] for o in mine["orders"]] == ["o-1"]
    assert [(q["symbol"], q["net"]) for q in mine["positions"]] == [("X", "3")]
    assert (mine["key_ids"], mine["ignored"]) == (["key-1"], 2)
    assert [b["symbol"] for b in mine["books"]] == ["X"]  # market data of any key is kept
    theirs = state(["-", "--key-id", "key-2"], data)
    assert [(q["symbol"], q["net"]) for q in theirs["positions"]] == [("X", "-2")]
    both = state(["-", "--key-id", "key-1", "--key-id", "key-2"], data)  # one account, two keys
    assert both["positions"][0]["net"] == "1" and both["key_ids"] == ["key-1", "key-2"]
    code, out, err = run(["replay", "-", "--key-id", "key-1"], data)
    assert code == 0 and err == ""
    assert out.splitlines()[0].endswith(", API key key-1 (2 message(s) of other API keys left out)")
    code, out, _ = run(["replay", "--step", "-", "--key-id", "key-1"], data)
    assert code == 0 and "o-2" not in out and "ClOrdID=o-1" in out
    code, out, err = run(["replay", "-", "--key-id", "typo"], data)
    assert (code, out) == (2, "")
    assert err == (
        "kalshi-fix replay: <stdin>: the log holds no order-entry line of --key-id typo; it holds "
        "those of key-1, key-2\n"
    )
    assert run(["replay", "-", "--key-id", ""], data)[0] == 2
    # the refusal of docs/replay.md, word for word
    log = tmp_path / "all.log"
    log.write_bytes(_two_keys_log("trader-key", "other-key"))
    code, _, err = run(["replay", str(log)])
    assert err.replace(str(log), "all.log").strip() == _blocks("text")[1].strip()


def test_use_dollars_follows_the_logon_of_each_session(tmp_path: Path) -> None:
    path = tmp_path / "dollars.log"
    logon = b"35=A\x0198=0\x01108=30\x01141=Y\x011137=9\x0121005=Y\x01"
    with MessageLog("KalshiNR/key-1", path=path) as log:
        log.log_frame("OUT", frame(logon, OUT_HEADER % (1, 0)), 1_800_000_000.0)
        log.log_frame(
            "OUT",
            frame(
                b"35=D\x0111=o-1\x0138=3\x0140=2\x0144=0.4250\x0154=1\x0155=X\x01",
                OUT_HEADER % (2, 1),
            ),
            1_800_000_001.0,
        )
    replayed = state([str(path)])
    assert replayed["orders"][0]["price"] == "0.4250"
    assert replayed["time"] == "2027-01-15T08:00:01.000000Z"


# -- problems ---------------------------------------------------------------------------------


def test_garbage_and_broken_frames_are_located_and_skipped(live: Live, tmp_path: Path) -> None:
    lines = live.log.read_bytes().splitlines(True)
    fill = next(i for i, line in enumerate(lines) if b"|150=F|" in line)
    lines[fill] = re.sub(rb"\|10=\d{3}\|", b"|10=000|", lines[fill])  # CheckSum no longer right
    lines.insert(3, b"some text the operator pasted in\n")
    lines.insert(5, b"2026-01-01T00:00:00Z IN KalshiNR/x 8=FIX.4.2|9=5|35=0|10=000|\n")
    path = tmp_path / "broken.log"
    data = b"".join(lines)
    path.write_bytes(data)
    code, out, err = run(["replay", "--json", str(path)])
    assert code == 1
    problems = err.splitlines()
    assert problems[-1] == "kalshi-fix replay: 3 malformed frame(s) skipped"
    assert "Traceback" not in err and len(problems) == 4
    starts = []
    for line in problems[:-1]:
        offset = int(re.match(rf"{re.escape(str(path))}: byte (\d+): ", line).group(1))  # type: ignore[union-attr]
        starts.append(data[offset : offset + 9])
    # the pasted text is told too (never skipped silently), with its offset
    assert sorted(starts) == sorted([b"8=FIX.4.2", b"8=FIXT.1.", b"some text"])
    assert "CheckSum(10)" in err and "BeginString(8)" in err and "text, not a FIX frame" in err
    replayed = json.loads(out)  # the state is still printed, the skipped fill inferred
    (fill,) = replayed["fills"]  # from the next report's CumQty (docs/tracker.md)
    assert fill["exec_id"].startswith("inferred:"), fill
    assert [p["net"] for p in replayed["positions"]] == [fill["qty"]]


def test_truncated_log(live: Live) -> None:
    data = live.log.read_bytes()
    cut = data.index(b"|150=F|")  # in the middle of the fill
    code, out, err = run(["replay", "-"], data[:cut])
    assert code == 1
    assert re.match(
        r"<stdin>: byte \d+: malformed: incomplete frame: the input ends \d+ bytes", err
    )
    assert "positions: none" in out and "rest-1" in out


@pytest.mark.parametrize("data", [b"", b"\n\n", b"no fix here\n"], ids=["empty", "blank", "text"])
def test_empty_log_says_so(data: bytes) -> None:
    code, out, err = run(["replay", "-"], data)
    assert (code, out) == (1, "")
    assert err == "kalshi-fix replay: <stdin>: no FIX messages found\n"


def test_a_resent_order_is_not_a_problem_but_a_reused_cl_ord_id_is(tmp_path: Path) -> None:
    path = tmp_path / "resend.log"
    body = b"35=D\x0111=o-1\x0138=3\x0140=2\x0144=42\x0154=1\x0155=X\x01"
    with MessageLog("KalshiNR/key-1", path=path) as log:
        log.log_frame("OUT", frame(body, OUT_HEADER % (1, 0)), 1_800_000_000.0)
        resent = OUT_HEADER.replace(b"52=", b"43=Y\x0152=") % (1, 1)
        log.log_frame("OUT", frame(body, resent), 1_800_000_001.0)
    assert state([str(path)])["orders"][0]["status"] == "PENDING_NEW"
    with MessageLog("KalshiNR/key-1", path=path) as log:
        log.log_frame("OUT", frame(body, OUT_HEADER % (2, 2)), 1_800_000_002.0)
    code, out, err = run(["replay", str(path)])
    assert code == 0 and "o-1" in out
    assert re.fullmatch(
        rf"{re.escape(str(path))}: byte \d+: message #3: ClOrdID 'o-1' is already tracked: use a "
        r"new one\n",
        err,
    )


def test_defective_messages_are_applied_and_named(tmp_path: Path) -> None:
    path = tmp_path / "defect.log"
    report = (
        b"35=8\x016=0\x0111=o-1\x0114=0\x0117=1;1\x0138=3\x0139=0\x0154=1\x0155=X\x01150=0\x01"
        b"151=3\x01"
    )  # OrderID(37) missing
    with MessageLog("KalshiNR/key-1", path=path) as log:
        log.log_frame("IN", frame(report, IN_HEADER % (2, 0)), 1_800_000_000.0)
    code, out, err = run(["replay", "--json", str(path)])
    assert code == 0
    assert "message #1 (ExecutionReport): 1 defect(s), first tag 37" in err
    assert json.loads(out)["orders"][0]["status"] == "NEW"


def test_secrets_are_never_shown(tmp_path: Path) -> None:
    wire: list[bytes] = []
    pair = SessionPair.kalshi()

    def tap(direction: str, data: bytes) -> bytes:
        wire.append(data)
        return data

    pair.filter_bytes = tap
    pair.start()
    capture = b"\n".join(wire) + b"\n"  # raw frames, Signature(96) in clear
    start = wire[0].index(b"\x0196=") + 4
    signature = wire[0][start : wire[0].index(b"\x01", start + 80)]
    assert len(signature) >= 80
    for mode in ([], ["--step"], ["--json"], ["--step", "--json"]):
        code, out, err = run(["replay", *mode, "-"], capture)
        assert code == 0, err
        assert signature.decode() not in out + err
        assert ("--step" not in mode) or "Logon(A)" in out or '"name": "Logon"' in out


@pytest.mark.parametrize(
    "args",
    [
        ["replay"],
        ["replay", "x.log", "--at", "yesterday"],
        ["replay", "x.log", "--at", "2026-13-01T00:00:00"],
        ["replay", "x.log", "--depth", "-1"],
        ["replay", "x.log", "--trades", "many"],
        ["replay", "x.log", "--dialect", "nope"],
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str]) -> None:
    code, out, err = run(args)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("kalshi-fix replay: error: "), err


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    code, _, err = run(["replay", str(tmp_path)])
    assert code == 2
    assert err == f"kalshi-fix replay: cannot read {tmp_path}: Is a directory\n"
    code, _, err = run(["replay", str(tmp_path / "missing.log")])
    assert code == 2 and "No such file or directory" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T10:15:00", datetime(2026, 11, 22, 10, 15, tzinfo=timezone.utc)),
        ("2026-11-22T10:15:00Z", datetime(2026, 11, 22, 10, 15, tzinfo=timezone.utc)),
        ("2026-11-22T10:15:00.25Z", datetime(2026, 11, 22, 10, 15, 0, 250000, timezone.utc)),
        ("2026-11-22 12:15:00+02:00", datetime(2026, 11, 22, 10, 15, tzinfo=timezone.utc)),
        ("20261122-10:15:00.250", datetime(2026, 11, 22, 10, 15, 0, 250000, timezone.utc)),
    ],
)
def test_times(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected
    assert build_parser().parse_args(["replay", "f", "--at", text]).at == expected


# -- never a traceback ------------------------------------------------------------------------


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_never_a_traceback(live: Live, data: st.DataObject) -> None:
    text = live.log.read_bytes()
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 400)))
    junk = data.draw(st.binary(max_size=40) | st.sampled_from([b"|", b"\n", b"=", b"8=FIXT.1.1|"]))
    mutated = text[:start] + junk + text[end:]
    options = data.draw(st.sampled_from([[], ["--step"], ["--json"], ["--step", "--json"]]))
    code, _, err = run(["replay", *options, "-"], mutated)
    # a damaged session id reads as a second API key: refused, with the keys named
    assert code in (0, 1) or (code == 2 and "pass --key-id KEY to replay one account" in err), err
    assert "Traceback" not in err and "internal error" not in err


# -- docs/replay.md ---------------------------------------------------------------------------


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)


def _visible(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def test_docs_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (block,) = _blocks("python")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(DOCS), "exec"), {"__name__": "docs_replay"})
    printed = out.getvalue()
    assert printed.startswith("state at the end of the log: ")
    assert re.search(r"^  o-1 +HIGHNY-23DEC31 +buy +NEW +\$0\.42 +10 +0 +10 ", printed, re.M)


def test_docs_console_examples_print_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _blocks("text")[0]  # the first: the log; the second is a refusal on stderr
    (tmp_path / "session.log").write_text(log, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    synopsis, *examples = _blocks("console")
    for line in synopsis.splitlines():  # every command line of the synopsis parses
        words = shlex.split(line.split("#")[0].removeprefix("$ "))
        build_parser().parse_args(words[1:])
    ran = 0
    for block in examples:
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, expected = chunk.partition("\n")
            words = shlex.split(command)
            assert words[0] == "kalshi-fix"
            code, out, err = run(words[1:])
            assert code == 0, err
            assert _visible(out + err) == _visible(expected), command
            ran += 1
    assert ran >= 4


def test_docs_json_schema_lists_every_key(live: Live) -> None:
    """Every key the --json output has is documented in the page's schema table."""
    page = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", page))
    code, out, _ = run(["replay", "--step", "--json", str(live.log)])
    assert code == 0
    keys: set[str] = set()
    for record in map(json.loads, out.splitlines()):
        keys.update(record)
        for name in ("orders", "positions", "books", "trades", "fills"):
            for item in record.get(name, []):
                keys.update(item)
    assert keys <= documented, keys - documented


def test_at_after_the_end_is_the_end(live: Live) -> None:
    end = live.moments["end"][0] + timedelta(seconds=1)
    assert (
        state([str(live.log), "--at", _at(end)])["messages"] == state([str(live.log)])["messages"]
    )


def test_a_log_line_with_an_impossible_time_falls_back_to_sending_time() -> None:
    body = b"35=D\x0111=o-1\x0138=3\x0140=2\x0144=42\x0154=1\x0155=X\x01"
    line = b"2026-13-45T00:00:00.000000Z OUT KalshiNR/key-1 " + frame(body, OUT_HEADER % (1, 7))
    code, out, err = run(["replay", "--json", "-"], line.replace(b"\x01", b"|") + b"\n")
    assert code == 0
    assert "the log line's time '2026-13-45T00:00:00.000000Z' is not a time" in err
    assert json.loads(out)["time"] == "2027-01-15T08:00:07.000000Z"


def test_replay_finds_the_shipped_sample_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``kalshi-fix replay paper-sample.log`` from a directory without such a file reads the
    shipped sample, as ``backtest`` and ``mock-gateway --replay`` do: its books at its end."""
    from kalshi_fix_sansio.cli import main
    from kalshi_fix_sansio.simulator.testing.recordings import SAMPLE_MARKETS

    monkeypatch.chdir(tmp_path)
    assert main(["replay", "paper-sample.log"]) == 0
    out, err = capsys.readouterr()
    assert "403 message(s) applied" in out and err == ""
    assert all(f"{symbol} (consistent)" in out for symbol in SAMPLE_MARKETS)
    (tmp_path / "paper-sample.log").write_text("")  # a file of that name here is the file
    assert main(["replay", "paper-sample.log"]) != 0

"""`kalshi_fix_sansio.client.restore`: a warm restart rebuilds the tracker, the books and the catch-up
cursor from a real message log.

The log is written by the blocking adapter trading against the mock gateway (orders rested,
one filled by a second API key, one taken, one canceled); `restore` of it must give the open
orders, CumQty, fills and positions of the live session's own `OrderTracker` and of the gateway,
the gateway's book, and the newest ExecID per exchange index. Then: a log of two API keys is
refused with the keys named (and restored per key), damaged lines are located by byte offset
(strict raises, ``strict=False`` collects), and the session-type and key filters.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from test_cli_decode import run
from test_cli_replay import _is, order
from test_docs_code import run_page

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.client.restore import (
    LogIssue,
    Restored,
    RestoreError,
    restore,
    session_feeds,
)
from kalshi_fix_sansio.simulator.gateway import MockGateway
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.trading.builders import Requests
from kalshi_fix_sansio.trading.catchup import UNKNOWN_AFTER_RESTART, ExecCursor, parse_exec_id
from kalshi_fix_sansio.trading.tracker import OrderStatus, OrderTracker, TrackedOrder

SYM = "HIGHNY-23DEC31"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "restart.md"
KEYS = ("trader-key", "other-key", "md-key")


def _deletes(price: str) -> Any:
    """A 35=X deleting the bid level at ``price`` (the last book change of the story)."""

    def check(event: Any) -> bool:
        return _is("X")(event) and any(
            e.md_update_action is p.MDUpdateAction.DELETE and e.md_entry_px == D(price)
            for e in event.message.md_entries
        )

    return check


@dataclass
class Story:
    """What the live sessions and the gateway held when the sessions closed."""

    log: Path  # trader-key's order entry and md-key's market data
    other_log: Path  # other-key's order entry
    live: OrderTracker
    other_live: OrderTracker
    gateway_open: dict[str, tuple[D, D]]  # trader-key's open orders: ClOrdID -> (cum, leaves)
    gateway_position: D
    gateway_top: tuple[Any, Any]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    folder = tmp_path_factory.mktemp("restore")
    log, other_log = folder / "session.log", folder / "other.log"
    signers, public = {}, {}
    for key in KEYS:
        signers[key], public[key] = new_ed25519_keys()
    with MockGateway("prediction", keys=public) as gateway:
        gateway.seed_market(SYM, bids=[(D("0.40"), D(25))], asks=[(D("0.45"), D(30))])
        trader = gateway.client("trader-key", signers["trader-key"], message_log_path=log)
        watcher = gateway.client("md-key", signers["md-key"], message_log_path=log)
        other = gateway.client("other-key", signers["other-key"], message_log_path=other_log)
        with watcher.market_data() as md, trader.order_entry() as oe, other.order_entry() as oe2:
            subscribe = p.MarketDataRequest(
                subscription_request_type=p.SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
                related_sym=[p.MarketDataRequestRelatedSym(symbol=SYM)],
            )
            md.wait_for(_is("W", symbol=SYM), 10, send=subscribe)
            oe.place(order("rest-1", p.Side.BUY, 10, "0.42"), timeout=10)
            oe.place(order("rest-2", p.Side.BUY, 5, "0.41"), timeout=10)
            oe2.place(order("cross-1", p.Side.SELL, 4, "0.42"), timeout=10)  # fills rest-1
            oe.wait_for(_is("8", cl_ord_id="rest-1", exec_type=p.ExecType.TRADE), 10)
            oe.place(order("take-1", p.Side.BUY, 3, "0.45"), timeout=10, until="filled")
            far = oe.place(order("far-1", p.Side.BUY, 5, "0.10"), timeout=10)
            oe.cancel(Requests().cancel(far, cl_ord_id="cancel-1"), timeout=10)
            md.wait_for(_deletes("0.10"), 10)  # the market data of the cancel is in the log
            gateway_open = {
                o.cl_ord_id: (o.cum_qty, o.leaves_qty)
                for o in gateway.call(lambda: gateway.exchange.open_orders("trader-key"))
            }
            position = gateway.call(lambda: gateway.exchange.position(SYM, "trader-key"))
            top = gateway.call(lambda: gateway.exchange.top_of_book(SYM))
            live, other_live = oe.tracker, oe2.tracker
    return Story(log, other_log, live, other_live, gateway_open, position, top)


def _orders(tracker: OrderTracker) -> dict[str, tuple[Any, ...]]:
    def row(o: TrackedOrder) -> tuple[Any, ...]:
        return (
            o.status,
            o.symbol,
            o.side,
            o.price,
            o.order_qty,
            o.cum_qty,
            o.leaves_qty,
            o.avg_px,
            o.order_id,
            o.orig_cl_ord_id,
            o.replaced_by,
        )

    return {o.cl_ord_id: row(o) for o in tracker}


def _status(tracker: OrderTracker, cl_ord_id: str) -> OrderStatus | None:
    order = tracker.order(cl_ord_id)
    return None if order is None else order.status


def _positions(tracker: OrderTracker) -> dict[str, tuple[D, D, D, D | None, D]]:
    return {s: (q.net, q.bought, q.sold, q.avg_price, q.fees) for s, q in tracker.positions.items()}


def _fills(tracker: OrderTracker) -> list[tuple[Any, ...]]:
    return [(f.exec_id, f.cl_ord_id, f.qty, f.price, f.fees) for f in tracker.fills]


def _newest_exec_ids(log: Path, key: str) -> dict[int, str]:
    """The oracle: the newest ExecID per exchange index among the key's received 35=8 lines."""
    newest: dict[int, tuple[int, int, str]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        if f" IN KalshiNR/{key} " not in line or "|35=8|" not in line:
            continue
        exec_id = re.search(r"\|17=([^|]*)\|", line).group(1)  # type: ignore[union-attr]
        parsed = parse_exec_id(exec_id)
        if parsed is not None and parsed[:2] > newest.get(parsed[2], (-1, -1, ""))[:2]:
            newest[parsed[2]] = (parsed[0], parsed[1], exec_id)
    return {index: entry[2] for index, entry in newest.items()}


# -- the restored state is the live state -----------------------------------------------------


def test_restored_tracker_equals_the_live_tracker_and_the_gateway(story: Story) -> None:
    restored = restore(story.log)
    assert isinstance(restored, Restored)
    assert _orders(restored.tracker) == _orders(story.live)
    assert _positions(restored.tracker) == _positions(story.live)
    assert _fills(restored.tracker) == _fills(story.live)
    open_orders = {o.cl_ord_id: (o.cum_qty, o.leaves_qty) for o in restored.tracker.open_orders()}
    assert open_orders == story.gateway_open
    assert open_orders == {"rest-1": (D(4), D(6)), "rest-2": (D(0), D(5))}
    assert _status(restored.tracker, "rest-1") is OrderStatus.PARTIALLY_FILLED
    assert _status(restored.tracker, "take-1") is OrderStatus.FILLED
    assert _status(restored.tracker, "far-1") is OrderStatus.CANCELED
    assert restored.tracker.position(SYM).net == story.gateway_position == D(7)
    assert (restored.problems, restored.warnings, restored.ignored) == ((), (), 0)
    assert restored.key_ids == ("trader-key",)


def test_restored_books_equal_the_gateways_book(story: Story) -> None:
    book = restore(story.log).books.get(SYM)
    assert book is not None and book.consistent and book.has_snapshot
    bid, offer = book.top()
    assert bid is not None and offer is not None
    assert ((bid.price, bid.size), (offer.price, offer.size)) == story.gateway_top


def test_cursor_is_the_newest_exec_id_per_exchange_index(story: Story) -> None:
    cursor = restore(story.log).cursor
    expected = _newest_exec_ids(story.log, "trader-key")
    assert expected and cursor.last == expected
    assert cursor == ExecCursor(expected)
    assert ExecCursor.loads(cursor.dumps()) == cursor  # what a restart saves and loads


def test_messages_and_last_time(story: Story) -> None:
    restored = restore(story.log)
    lines = story.log.read_text(encoding="utf-8").splitlines()
    assert restored.messages == len(lines)
    assert restored.last_time is not None
    assert restored.last_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ") == lines[-1].split(" ")[0]


def test_kalshi_fix_replay_shows_the_restored_state(story: Story) -> None:
    """One code path: the replay's state at the end of the log is the restored state."""
    code, out, err = run(["replay", "--json", "--trades", "100", str(story.log)])
    assert (code, err) == (0, "")
    state = json.loads(out)
    restored = restore(story.log)
    assert state["messages"] == restored.messages
    assert state["open_orders"] == [o.cl_ord_id for o in restored.tracker.open_orders()]
    assert [(o["cl_ord_id"], o["cum_qty"], o["leaves_qty"]) for o in state["orders"]] == [
        (o.cl_ord_id, str(o.cum_qty), str(o.leaves_qty)) for o in restored.tracker
    ]
    assert [(q["symbol"], q["net"]) for q in state["positions"]] == [
        (s, str(q.net)) for s, q in restored.tracker.positions.items()
    ]
    assert [f["exec_id"] for f in state["fills"]] == [f.exec_id for f in restored.tracker.fills]


def test_bytes_and_split_files_restore_the_same(story: Story, tmp_path: Path) -> None:
    data = story.log.read_bytes()
    whole = restore(story.log)
    assert _orders(restore(data).tracker) == _orders(whole.tracker)
    lines = data.splitlines(keepends=True)
    first, second = tmp_path / "session.log.1", tmp_path / "session.log"  # a rotated log
    first.write_bytes(b"".join(lines[: len(lines) // 2]))
    second.write_bytes(b"".join(lines[len(lines) // 2 :]))
    split = restore(first, second)
    assert _orders(split.tracker) == _orders(whole.tracker)
    assert _positions(split.tracker) == _positions(whole.tracker)
    assert split.cursor == whole.cursor and split.messages == whole.messages


# -- one account per tracker ------------------------------------------------------------------


def test_a_log_of_two_api_keys_is_refused_with_the_keys_named(story: Story) -> None:
    mixed = story.log.read_bytes() + story.other_log.read_bytes()
    with pytest.raises(RestoreError) as caught:
        restore(mixed)
    assert caught.value.key_ids == ("trader-key", "other-key")
    assert "trader-key, other-key" in str(caught.value) and "key_id=" in str(caught.value)
    with pytest.raises(RestoreError):
        restore(story.log, story.other_log)  # two files, the same refusal


def test_key_id_restores_one_account_of_a_mixed_log(story: Story) -> None:
    mixed = story.log.read_bytes() + story.other_log.read_bytes()
    mine = restore(mixed, key_id="trader-key")
    assert _orders(mine.tracker) == _orders(story.live)
    assert _positions(mine.tracker) == _positions(story.live)
    assert mine.cursor.last == _newest_exec_ids(story.log, "trader-key")
    assert mine.books.get(SYM) is not None  # md-key's market data is kept
    assert mine.ignored > 0 and mine.key_ids == ("trader-key",)
    theirs = restore(mixed, key_id="other-key")
    assert _orders(theirs.tracker) == _orders(story.other_live)
    assert theirs.tracker.position(SYM).net == D(-4)
    assert theirs.cursor.last == _newest_exec_ids(story.other_log, "other-key")


def test_a_key_id_the_log_does_not_hold_is_refused(story: Story) -> None:
    with pytest.raises(
        RestoreError, match="no order-entry line of key_id typo-key; it holds those of trader-key"
    ):
        restore(story.log, key_id="typo-key")


def test_session_type_selects_lines(story: Story) -> None:
    market_data = restore(story.log, session_type="KalshiMD")
    assert len(market_data.tracker) == 0 and not market_data.cursor
    assert market_data.books.get(SYM) is not None
    orders = restore(story.log, session_type=["KalshiNR"])
    assert _orders(orders.tracker) == _orders(story.live)
    assert orders.books.get(SYM) is None and orders.ignored == market_data.messages
    with pytest.raises(ValueError, match="no session type 'KalshiXX'"):
        restore(story.log, session_type="KalshiXX")


def test_what_each_session_type_feeds() -> None:
    assert session_feeds("KalshiNR") == session_feeds("KalshiRT") == (True, False)
    assert session_feeds("KalshiDC") == (True, False)
    assert session_feeds("KalshiMD") == (False, True)
    assert session_feeds(None) == session_feeds("custom") == (True, True)


# -- damaged logs -----------------------------------------------------------------------------


def _damaged(story: Story, tmp_path: Path) -> tuple[Path, bytes]:
    lines = story.log.read_bytes().splitlines(keepends=True)
    fill = next(i for i, line in enumerate(lines) if b"|150=F|" in line)
    lines[fill] = re.sub(rb"\|10=\d{3}\|", b"|10=000|", lines[fill])  # CheckSum no longer right
    lines.insert(3, b"2026-01-01T00:00:00Z IN KalshiNR/trader-key 8=FIX.4.2|9=5|35=0|10=000|\n")
    path = tmp_path / "damaged.log"
    data = b"".join(lines)
    path.write_bytes(data)
    return path, data


def test_a_damaged_log_raises_naming_the_file_and_byte_offset(story: Story, tmp_path: Path) -> None:
    path, data = _damaged(story, tmp_path)
    with pytest.raises(RestoreError) as caught:
        restore(path)
    problems = caught.value.problems
    assert len(problems) == 2
    for problem in problems:
        assert isinstance(problem, LogIssue) and not problem.applied
        assert problem.source == str(path)
        assert data[problem.offset :].startswith(b"8=FIX")
        assert f"{path}: byte {problem.offset}: " in str(caught.value)
    assert "BeginString(8)" in problems[0].reason and "CheckSum(10)" in problems[1].reason
    assert "strict=False" in str(caught.value)


def test_strict_false_collects_the_problems_and_restores_the_rest(
    story: Story, tmp_path: Path
) -> None:
    path, data = _damaged(story, tmp_path)
    restored = restore(path, strict=False)
    assert [str(p) for p in restored.problems] == [str(p) for p in _problems_of(path)]
    assert all(data[p.offset :].startswith(b"8=FIX") for p in restored.problems)
    fill = _fills(story.live)[0]
    assert fill[0] not in {f[0] for f in _fills(restored.tracker)}  # that fill was not read
    assert restored.tracker.order("rest-2") is not None


def _problems_of(path: Path) -> tuple[LogIssue, ...]:
    with pytest.raises(RestoreError) as caught:
        restore(path)
    return caught.value.problems


def test_a_truncated_last_line_is_a_problem(story: Story) -> None:
    data = story.log.read_bytes()
    cut = data.rstrip(b"\n")[:-5]  # the process died mid-line
    with pytest.raises(RestoreError, match=r"<bytes #1>: byte \d+: malformed: incomplete frame"):
        restore(cut)
    restored = restore(cut, strict=False)
    assert len(restored.problems) == 1
    assert restored.messages == data.count(b"\n") - 1


def test_a_defective_message_is_applied_and_warned(tmp_path: Path) -> None:
    from kalshi_fix_sansio import checksum

    body = (
        b"35=8\x0149=Kalshi\x0156=key-1\x0134=2\x0152=20261122-10:00:00.000\x016=0\x0111=o-1\x01"
        b"14=0\x0117=1;7\x0138=3\x0139=0\x0154=1\x0155=X\x01150=0\x01151=3\x01"
    )  # OrderID(37) missing
    frame = b"8=FIXT.1.1\x019=%d\x01" % len(body) + body
    frame += b"10=%03d\x01" % checksum(frame)
    line = b"2026-11-22T10:00:00.000000Z IN KalshiNR/key-1 " + frame.replace(b"\x01", b"|")
    restored = restore(line + b"\n")
    assert _status(restored.tracker, "o-1") is OrderStatus.NEW
    assert restored.cursor.last == {0: "1;7"}
    (warning,) = restored.warnings
    assert warning.applied and warning.offset == line.index(b"8=FIX")
    assert "1 defect(s), first tag 37" in warning.reason


def test_empty_input_restores_nothing() -> None:
    restored = restore(b"")
    assert (restored.messages, len(restored.tracker), restored.last_time) == (0, 0, None)
    assert not restored.cursor and restored.key_ids == ()


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="product"):
        restore(b"", product="perps")
    with pytest.raises(ValueError, match="key_id"):
        restore(b"", key_id="")
    with pytest.raises(FileNotFoundError):
        restore(tmp_path / "missing.log")


# -- docs/restart.md --------------------------------------------------------------------------


def test_the_restart_page_prints_what_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shown = re.findall(r"```text\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_page("docs/restart.md")
    assert shown and out.getvalue().startswith(shown[0])
    # the crash-safe loop: restored, caught up (one report missed while down), 7 of 10 filled
    assert "\n1 7.00 3.00\n" in out.getvalue()


def test_the_restart_loop_stops_on_orders_it_cannot_account_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's loop after a crash before an order's first report was logged: the first
    Logon names the order in `OrdersUnknown`, and the loop stops saying so (it waited only
    for a catch-up before, and ended in TimeoutError)."""
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()):
        page = run_page("docs/restart.md")
    signer, public = new_ed25519_keys()
    gateway = MockGateway("prediction", keys={"my-key": public}).start_in_thread()
    try:
        gateway.seed_market("HIGHNY-23DEC31", bids=[(D("0.40"), D(25))])
        client = gateway.client("my-key", signer, message_log_path="crashed.log")
        with client.order_entry(logout_timeout=0.5) as oe:
            gateway.faults.silent = True  # nothing more is read: the order is never answered
            oe.send(page["limit"]("bid-9", p.Side.BUY, 2, "0.41"))
        gateway.faults.silent = False
        session, settles = page["open_order_entry"](client, "crashed.log")
        assert settles
        with session as resumed, pytest.raises(SystemExit, match="cannot trust") as stop:
            page["wait_until_whole"](resumed)
        assert str(stop.value) == f"cannot trust the order state: {UNKNOWN_AFTER_RESTART}"
        # the session asked the exchange by itself (a cancel): it never had the order
        assert resumed.tracker.current("bid-9").status is OrderStatus.REJECTED
    finally:
        gateway.close()

"""One Kalshi account, many sessions (`kalshi_fix_sansio.client.account`): the Logon budget and order,
the shared application-message budget, the account's limits as data, and the mock gateway's
accounts of several keys, end to end on a simulated clock."""

from __future__ import annotations

import io
import re
import sys
from contextlib import AsyncExitStack, ExitStack
from decimal import Decimal
from typing import Any

import pytest

from kalshi_fix_sansio import Backoff, RateLimited, Reconnected
from kalshi_fix_sansio.cli import main
from kalshi_fix_sansio.client.account import (
    DEFAULT_LOGON_MARGIN,
    QUOTES_KEPT,
    Account,
    AccountKeyError,
    AccountLimits,
    logon_rank,
    perps_tier,
)
from kalshi_fix_sansio.client.supervisor import Supervisor
from kalshi_fix_sansio.codec.errors import LocalProtocolError, RemoteProtocolError
from kalshi_fix_sansio.codec.prediction import (
    EventResendComplete,
    ExecutionReport,
    MarketSettlementReport,
)
from kalshi_fix_sansio.session.config import SessionConfig
from kalshi_fix_sansio.session.ratelimit import RateLimiter
from kalshi_fix_sansio.session.store import MemoryStore
from kalshi_fix_sansio.simulator.gateway import MockGateway
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys
from kalshi_fix_sansio.simulator.world.simulation import Simulation
from kalshi_fix_sansio.trading.builders import Requests

SYMBOL = "HIGHNY-23DEC31"
SENDER = re.compile(rb"\x0149=([^\x01]+)\x01")  # SenderCompID: the API key
# (name, key, factory) of the six sessions of one desk, each on its own API key
DESK = (
    ("md", "key-md", lambda c: c.market_data()),
    ("dc", "key-dc", lambda c: c.drop_copy()),
    (
        "listener",
        "key-listen",
        lambda c: c.order_entry(listener_session=True, skip_pending_exec_reports=True),
    ),
    ("pt", "key-pt", lambda c: c.post_trade()),
    ("rfq", "key-rfq", lambda c: c.rfq()),
    ("oe", "key-oe", lambda c: c.order_entry()),
)
KEYS = {key: new_ed25519_keys() for _, key, _ in DESK}


def desk_simulation(**gateway: Any) -> Simulation:
    sim = Simulation(
        "prediction",
        keys={key: public for key, (_, public) in KEYS.items()},
        accounts={"desk": list(KEYS)},
        **gateway,
    )
    sim.gateway.seed_market(
        SYMBOL, bids=[(Decimal("0.40"), Decimal(25))], asks=[(Decimal("0.45"), Decimal(30))]
    )
    return sim


def client(sim: Simulation, key: str, account: Account | None, **options: Any) -> Any:
    return sim.client(key, KEYS[key][0], account=account, **options)


def logons(sim: Simulation, since: float = 0.0) -> list[tuple[float, str]]:
    """(time, API key) of every Logon a client wrote after ``since``, in order."""
    return [
        (r.time, SENDER.search(r.data).group(1).decode())  # type: ignore[union-attr]
        for r in sim.wire
        if r.sender == "client" and r.msg_types[:1] == ("A",) and r.time > since
    ]


def most_in_a_second(times: list[float]) -> int:
    return max(sum(1 for u in times if t <= u < t + 1.0) for t in times)


def test_six_sessions_dropped_together_log_on_within_the_budget_in_order() -> None:
    sim = desk_simulation()
    sim.gateway.faults.logon_rate_limit = (2, 1.0)  # the mock refuses a third in a second
    account = Account("desk", KEYS, AccountLimits(tier="Premier", logons_per_second=2.0))
    with ExitStack() as stack:
        sessions = {
            name: stack.enter_context(make(client(sim, key, account))) for name, key, make in DESK
        }
        first = logons(sim)
        assert len(first) == 6
        dropped_at = sim.clock.time()
        for _, key, _ in DESK:
            sim.gateway.disconnect(key)
        for session in sessions.values():
            session.wait_for(lambda e: isinstance(e, Reconnected), timeout=30)
        again = logons(sim, dropped_at)
    assert len(again) == 6  # not one refused (a refused Logon would be retried: a 7th)
    assert most_in_a_second([t for t, _ in again]) <= 2
    assert most_in_a_second([t for t, _ in first]) <= 2
    order = [key for _, key in again]
    assert order[:2] == ["key-oe", "key-rfq"]  # order entry first (a kill can run), then RFQ
    assert set(order[2:5]) == {"key-dc", "key-listen", "key-pt"}
    assert order[-1] == "key-md"  # market data last
    assert not [line for line in sim.gateway.log if "rate limit exceeded" in line]


def test_without_an_account_the_same_drop_collects_logon_refusals() -> None:
    sim = desk_simulation()
    sim.gateway.faults.logon_rate_limit = (2, 1.0)
    with ExitStack() as stack:
        sessions = [stack.enter_context(make(client(sim, key, None))) for _, key, make in DESK]
        dropped_at = sim.clock.time()
        for _, key, _ in DESK:
            sim.gateway.disconnect(key)
        for session in sessions:
            session.wait_for(lambda e: isinstance(e, Reconnected), timeout=120)
        assert len(logons(sim, dropped_at)) > 6  # some were refused and tried again


def test_a_rate_limit_reject_on_one_session_slows_every_session_of_the_account() -> None:
    sim = desk_simulation()
    account = Account("desk", KEYS)  # Basic: 100 write tokens/s, a 1 s bucket
    orders = Requests("prediction", "KalshiNR")
    with client(sim, "key-oe", account).order_entry() as oe:
        with client(sim, "key-rfq", account).order_entry() as second:  # another trading key
            second.place(orders.new_order(SYMBOL, "buy", 1, Decimal("0.30")))  # acknowledged
            sim.gateway.faults.rate_limit_next = 1
            oe.send(orders.new_order(SYMBOL, "buy", 1, Decimal("0.41")))
            oe.wait_for(lambda e: isinstance(e, RateLimited), timeout=10)
            limited_at = sim.clock.time()
            # Kalshi says the account's Write bucket is empty: the other key's session waits
            # for its refill (10 tokens at 100 a second) before its next order goes
            second.send(orders.new_order(SYMBOL, "buy", 1, Decimal("0.31")))
            assert sim.clock.time() - limited_at == pytest.approx(0.1, abs=1e-3)
    alone = desk_simulation()
    with client(alone, "key-oe", None).order_entry() as oe:
        with client(alone, "key-rfq", None).order_entry() as second:
            alone.gateway.faults.rate_limit_next = 1
            oe.send(orders.new_order(SYMBOL, "buy", 1, Decimal("0.41")))
            oe.wait_for(lambda e: isinstance(e, RateLimited), timeout=10)
            limited_at = alone.clock.time()
            second.send(orders.new_order(SYMBOL, "buy", 1, Decimal("0.31")))
            assert alone.clock.time() == limited_at  # without an account: nothing shared


def test_a_listener_on_another_key_of_the_account_sees_the_trading_keys_reports() -> None:
    sim = desk_simulation()
    account = Account("desk", KEYS)
    orders = Requests("prediction", "KalshiNR")
    with client(sim, "key-listen", account).order_entry(
        listener_session=True, skip_pending_exec_reports=True
    ) as listener:
        with client(sim, "key-oe", account).order_entry() as oe:
            placed = oe.place(orders.new_order(SYMBOL, "buy", 2, Decimal("0.41")))
        report = listener.wait_for(
            lambda e: (
                isinstance(getattr(e, "message", None), ExecutionReport)
                and e.message.cl_ord_id == placed.cl_ord_id
            ),
            timeout=10,
        )
        assert report.message.cl_ord_id == placed.cl_ord_id


def test_a_key_of_another_account_is_refused_clearly() -> None:
    sim = desk_simulation()
    other = Account("other-desk", ["key-x"])
    with pytest.raises(AccountKeyError, match="'key-oe' is not a key of account 'other-desk'"):
        client(sim, "key-oe", other)
    margin = Account("perps", ["key-oe"], AccountLimits(product="margin", read=100, write=100))
    with pytest.raises(AccountKeyError, match="margin account"):
        client(sim, "key-oe", margin)
    with pytest.raises(LocalProtocolError, match="rate_limiter beside account"):
        client(sim, "key-oe", Account("desk", KEYS), config={"rate_limiter": RateLimiter()})
    desk = Account("desk", KEYS)
    with pytest.raises(LocalProtocolError, match="rate_limiter beside account"):
        client(sim, "key-oe", desk).order_entry(rate_limiter=RateLimiter())
    same = client(sim, "key-oe", desk, config={"rate_limiter": desk.limiter})  # the account's own
    assert same.profile("KalshiNR")[0].rate_limiter is desk.limiter


def test_account_limits_from_kalshi_rest() -> None:
    limits = AccountLimits.from_rest(
        {
            "usage_tier": "premier",
            "read": {"refill_rate": 1200, "bucket_capacity": 1200},
            "write": {"refill_rate": 1200, "bucket_capacity": 3600},
        }
    )
    tier = limits.budget()
    assert (tier.name, tier.read, tier.write, tier.write_burst) == ("Premier", 1200, 1200, 3.0)
    perps = AccountLimits.from_rest(
        {"usage_tier": "basic", "read": {"refill_rate": 50}, "write": {"refill_rate": 20}},
        product="margin",
    )
    assert perps.budget() == perps_tier("Basic", 50, 20)
    assert Account("p", ["k"], perps).limiter.tier.write_burst == 1.0
    ok = {"read": {"refill_rate": 1}, "write": {"refill_rate": 1}}
    for bad, where in (
        ([], "expected a JSON object"),
        ({"read": {"refill_rate": 1}}, "'write' missing"),
        ({**ok, "read": {"refill_rate": -1}}, "read.refill_rate must be > 0"),
        ({**ok, "write": {"refill_rate": 10**400}}, "write.refill_rate must be > 0 and at most"),
        ({**ok, "write": {"refill_rate": "1200"}}, "write.refill_rate must be a number"),
        ({**ok, "read": {"refill_rate": 1, "bucket_capacity": True}}, "read.bucket_capacity"),
        ({**ok, "usage_tier": 7}, "usage_tier must be a tier name"),
    ):
        with pytest.raises(RemoteProtocolError, match=where) as caught:
            AccountLimits.from_rest(bad)  # type: ignore[arg-type]
        assert caught.value.reconnect is False
    newer = AccountLimits.from_rest({**ok, "usage_tier": "elite"})  # a tier Kalshi adds later
    assert newer.budget().name == "elite" and newer.budget().write == 1.0
    with pytest.raises(LocalProtocolError, match="another name needs read= and write="):
        AccountLimits(tier="elite")
    with pytest.raises(LocalProtocolError, match="publishes no perps budgets"):
        AccountLimits(product="margin", tier="Prime")


def test_logon_ranks() -> None:
    assert logon_rank("KalshiNR") < logon_rank("KalshiRFQ") < logon_rank("KalshiDC")
    assert logon_rank("KalshiNR", listener=True) == logon_rank("KalshiPT") < logon_rank("KalshiMD")


def placed_exec_id(oe: Any, orders: Requests) -> str:
    """Place an order on ``oe``; the ExecID of its acknowledgement."""
    oe.place(orders.new_order(SYMBOL, "buy", 2, Decimal("0.41")))
    report = oe.wait_for(lambda e: isinstance(getattr(e, "message", None), ExecutionReport), 10)
    return str(report.message.exec_id)


def test_drop_copy_on_another_key_replays_the_accounts_reports() -> None:
    sim = desk_simulation()
    orders = Requests("prediction", "KalshiNR")
    with client(sim, "key-oe", None).order_entry() as oe:
        first_exec_id = placed_exec_id(oe, orders)
    with client(sim, "key-dc", None).drop_copy() as dc:
        dc.send(Requests("prediction", "KalshiDC").event_resend(first_exec_id))
        done = dc.wait_for(
            lambda e: isinstance(getattr(e, "message", None), EventResendComplete), 10
        )
        assert done.message.resend_event_count == 1
    lone = Simulation("prediction", keys={k: public for k, (_, public) in KEYS.items()})
    lone.gateway.seed_market(SYMBOL, asks=[(Decimal("0.45"), Decimal(30))])
    with client(lone, "key-oe", None).order_entry() as oe:  # no accounts: each key its own
        first_exec_id = placed_exec_id(oe, orders)
    with client(lone, "key-dc", None).drop_copy() as dc:
        dc.send(Requests("prediction", "KalshiDC").event_resend(first_exec_id))
        done = dc.wait_for(
            lambda e: isinstance(getattr(e, "message", None), EventResendComplete), 10
        )
        assert done.message.resend_event_count == 0


def test_the_mock_gateways_accounts_are_checked() -> None:
    keys = {key: public for key, (_, public) in KEYS.items()}
    gateway = MockGateway("prediction", keys=keys, accounts={"desk": ["key-oe", "key-md"]})
    assert gateway.account_of("key-md") == "desk" and gateway.account_of("key-dc") == "key-dc"
    for accounts, problem in (
        ({"desk": ["nobody"]}, "'nobody' is not one of the gateway's keys"),
        ({"a": ["key-oe"], "b": ["key-oe"]}, "in two accounts"),
        ({"desk": []}, "at least one API key"),
    ):
        with pytest.raises(ValueError, match=problem):
            MockGateway("prediction", keys=keys, accounts=accounts)


def test_the_command_line_declares_accounts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no admin commands
    base = ["mock-gateway", "--plain", "--port-base", "0", "--seconds", "0"]
    assert main([*base, "--account", "desk"]) == 2
    assert "--account takes NAME=KEY_ID" in capsys.readouterr().err
    assert main([*base, "--account", "desk=mock-prediction-key,key-2"]) == 2
    assert "'key-2' is not one of the gateway's keys" in capsys.readouterr().err
    assert main([*base, "--account", "desk=mock-prediction-key"]) == 0


@pytest.mark.parametrize("one_account", [True, False])
def test_post_trade_on_another_key_gets_the_accounts_settlement(one_account: bool) -> None:
    keys = {key: public for key, (_, public) in KEYS.items()}
    sim = Simulation(
        "prediction", keys=keys, accounts={"desk": list(KEYS)} if one_account else None
    )
    sim.gateway.seed_market(SYMBOL, asks=[(Decimal("0.45"), Decimal(30))])
    orders = Requests("prediction", "KalshiNR")
    with client(sim, "key-pt", None).post_trade() as pt:
        with client(sim, "key-oe", None).order_entry() as oe:
            oe.place(orders.new_order(SYMBOL, "buy", 3, Decimal("0.45")))  # takes the ask
            oe.wait_for(lambda e: oe.tracker.position(SYMBOL).net == 3, 10)
        holder = "desk" if one_account else "key-oe"  # the exchange's views name the account
        assert sim.gateway.exchange.position(SYMBOL, holder) == 3
        assert sim.gateway.account_of("key-oe") == holder
        sim.gateway.settle(SYMBOL, "yes")
        settled = lambda e: isinstance(getattr(e, "message", None), MarketSettlementReport)  # noqa: E731
        if one_account:
            assert pt.wait_for(settled, 10).message.symbol == SYMBOL
        else:  # the key's own account holds no position: nothing to report
            with pytest.raises(TimeoutError):
                pt.wait_for(settled, 10)


# -- the supervisors of an account, sans-IO (a fake clock, no gateway) ---------------------------

T0 = 1_767_225_600.0  # a Thursday evening: outside Kalshi's maintenance window


def supervisor(account: Account, key: str, session_type: str, **backoff: Any) -> Supervisor:
    config = SessionConfig(
        sender_comp_id=key,
        product="prediction",
        session_type=session_type,
        signer=KEYS[key][0],
        store=MemoryStore(),
    )
    return Supervisor(config, account=account, backoff=Backoff(seed=1, **backoff))


def test_the_first_due_slot_goes_to_order_entry_whoever_asked_first() -> None:
    account = Account("desk", KEYS, AccountLimits(logons_per_second=1.0))
    md = supervisor(account, "key-md", "KalshiMD")
    oe = supervisor(account, "key-oe", "KalshiNR")
    md.start(T0)  # market data asks first...
    oe.start(T0 + 0.1)
    assert md.connect_at == T0 + 0.25  # ...and is told to look again when its gather ends
    at = T0 + 0.25
    md.handle_timer(at)
    assert md.connect_at is not None and md.connect_at > at  # order entry is due by then
    oe.handle_timer(T0 + 0.35)
    assert oe.connect_at == T0 + 0.35  # granted: connect now
    oe.connection_made(T0 + 0.35)  # its Logon goes out
    md.handle_timer(md.connect_at)
    # one second after it, and the margin for the exchange's jitter
    assert md.connect_at == pytest.approx(T0 + 1.35 + DEFAULT_LOGON_MARGIN, abs=1e-5)
    assert account.logons.logons == [T0 + 0.35]


def test_a_failed_connection_or_an_ended_session_holds_no_one_back() -> None:
    account = Account("desk", KEYS, AccountLimits(logons_per_second=2.0), gather=0.0)
    oe = supervisor(account, "key-oe", "KalshiNR", base=60.0, cap=60.0)
    md = supervisor(account, "key-md", "KalshiMD")
    oe.start(T0)
    md.start(T0)
    assert oe.connect_at == T0  # no gather: granted at once
    assert md.connect_at is not None and md.connect_at > T0  # behind the granted one
    oe.connection_failed(T0 + 0.1, OSError("refused"))  # no Logon went out: slot freed
    md.handle_timer(md.connect_at)
    spacing = 0.5 + DEFAULT_LOGON_MARGIN
    assert md.connect_at == pytest.approx(T0 + spacing, abs=1e-5)  # not behind oe's backoff
    dc = supervisor(account, "key-dc", "KalshiDC")
    dc.start(T0 + 0.5)
    oe.close(T0 + 0.5)  # oe ends while waiting: its place is given up
    md.connection_made(T0 + spacing)
    dc.handle_timer(dc.connect_at)
    assert dc.connect_at == pytest.approx(T0 + 2 * spacing, abs=1e-5)


def test_without_an_account_nothing_changes() -> None:
    sim = desk_simulation()
    alone = client(sim, "key-oe", None)
    config, options = alone.profile("KalshiNR")
    assert alone.account is None and options.account is None
    assert config.rate_limiter is None  # no limiter on the send path
    config = SessionConfig(
        sender_comp_id="key-oe",
        product="prediction",
        session_type="KalshiNR",
        signer=KEYS["key-oe"][0],
        store=MemoryStore(),
    )
    plain = Supervisor(config)
    plain.start(T0)
    assert plain.connect_at == T0  # connects at once, as before


def test_a_margin_account_paces_margin_sessions() -> None:
    key, (signer, public) = "key-oe", KEYS["key-oe"]
    sim = Simulation("margin", keys={key: public})
    perps = AccountLimits(product="margin", tier="Advanced", read=300, write=300)
    desk = Account("perps-desk", [key], perps, shard_of={"BTC-PERP": 1})
    with sim.client(key, signer, account=desk).order_entry() as oe:
        assert oe.config.rate_limiter is desk.limiter
        assert desk.limiter.tier == perps_tier("Advanced", 300, 300)


def test_over_loopback_tls_a_listener_of_the_account_sees_the_orders() -> None:
    keys = {key: public for key, (_, public) in KEYS.items()}
    desk = Account("desk", KEYS, AccountLimits(logons_per_second=4.0), gather=0.05)
    with MockGateway("prediction", keys=keys, accounts={"desk": list(KEYS)}, tls=True) as gw:
        gw.seed_market(SYMBOL, asks=[(Decimal("0.45"), Decimal(30))])
        watching = gw.client("key-listen", KEYS["key-listen"][0], account=desk)
        trading = gw.client("key-oe", KEYS["key-oe"][0], account=desk)
        with watching.order_entry(listener_session=True, skip_pending_exec_reports=True) as ls:
            with trading.order_entry() as oe:
                placed = oe.place(
                    Requests("prediction", "KalshiNR").new_order(SYMBOL, "buy", 1, Decimal("0.41"))
                )
            seen = ls.wait_for(
                lambda e: (
                    getattr(getattr(e, "message", None), "cl_ord_id", None) == placed.cl_ord_id
                ),
                10,
            )
            assert isinstance(seen.message, ExecutionReport)
    first, second = desk.logons.logons[:2]
    assert second - first >= 0.25  # four a second at most


@pytest.mark.parametrize("api", ["asyncio", "trio"])
def test_the_async_adapters_sleep_as_the_account_says(api: str) -> None:
    sim = desk_simulation()
    sim.gateway.faults.logon_rate_limit = (2, 1.0)
    account = Account("desk", KEYS, AccountLimits(logons_per_second=2.0))
    three = DESK[:2] + DESK[-1:]  # market data, drop copy, order entry

    async def main() -> float:
        async with AsyncExitStack() as stack:
            sessions = [
                await stack.enter_async_context(make(client(sim, key, account, api=api)))
                for _, key, make in three
            ]
            dropped_at = sim.clock.time()
            for _, key, _ in three:
                sim.gateway.disconnect(key)
            for session in sessions:
                await session.wait_for(lambda e: isinstance(e, Reconnected), timeout=30)
        return dropped_at

    dropped_at = sim.run_asyncio(main()) if api == "asyncio" else sim.run_trio(main)
    again = logons(sim, dropped_at)
    assert [key for _, key in again] == ["key-oe", "key-dc", "key-md"]
    assert most_in_a_second([t for t, _ in again]) <= 2


def test_new_limits_apply_from_when_they_are_given() -> None:
    desk = Account("desk", KEYS, AccountLimits(tier="Premier", logons_per_second=1.0))
    order = Requests("prediction", "KalshiNR").new_order(SYMBOL, "buy", 1, Decimal("0.41"))
    for _ in range(300):
        desk.limiter.take(order, now=0.0)  # 3,000 of the 3,600 tokens
    desk.update(AccountLimits(tier="Basic", costs={"D": 5.0}, logons_per_second=4.0), now=1.0)
    assert desk.limiter.tier.write == 100  # Basic from now on
    assert desk.limiter.available("write", 1.0) == 100  # 1,800 held, down to Basic's capacity
    assert desk.limiter.charges(order)[0].cost == 5.0
    assert desk.limits.logons_per_second == 4.0
    with pytest.raises(LocalProtocolError, match="update takes AccountLimits of product"):
        desk.update(AccountLimits(product="margin", read=1, write=1), now=2.0)


def test_the_logon_margin_is_added_to_each_spacing_and_checked() -> None:
    tight = Account("desk", KEYS, AccountLimits(logons_per_second=2.0), logon_margin=0.0)
    wide = Account("desk", KEYS, AccountLimits(logons_per_second=2.0), logon_margin=0.4)
    assert tight.logons.interval == pytest.approx(0.5, abs=1e-5)
    assert wide.logons.interval == pytest.approx(0.9, abs=1e-5)
    assert Account("desk", KEYS).logons.interval == pytest.approx(1.0 + DEFAULT_LOGON_MARGIN)
    oe = supervisor(wide, "key-oe", "KalshiNR")
    md = supervisor(wide, "key-md", "KalshiMD")
    oe.start(T0)
    md.start(T0)
    oe.handle_timer(T0 + 0.25)
    oe.connection_made(T0 + 0.3)  # the Logon is handed to the wire: spaced from here
    md.handle_timer(T0 + 0.3)
    assert md.connect_at == pytest.approx(T0 + 0.3 + 0.9, abs=1e-5)
    with pytest.raises(LocalProtocolError, match="logon_margin must be >= 0"):
        Account("desk", KEYS, logon_margin=-0.1)
    with pytest.raises(LocalProtocolError, match="logon_margin must be seconds"):
        Account("desk", KEYS, logon_margin="0.1")  # type: ignore[arg-type]


def test_an_account_knows_the_quotes_its_rfq_sessions_sent() -> None:
    desk = Account("desk-1", keys=["key-oe", "key-rfq"])
    assert not desk.made_quote("q-1")
    for n in range(QUOTES_KEPT + 1):
        desk.quote_sent(f"q-{n}")
    assert desk.made_quote(f"q-{QUOTES_KEPT}") and desk.made_quote("q-1")
    assert not desk.made_quote("q-0")  # the oldest went first
    assert not desk.made_quote("an order's ClOrdID")

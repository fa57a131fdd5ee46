"""REST reconciliation end to end over real loopback TLS: a blocking session made with ``rest=``
against the mock gateway and its HTTPS REST server, for an account not allowlisted for
drop-copy replay; and the REST server's signature check (401).

The in-memory cases (every order of sources, bad answers, a restart) are in test_reconcile.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from gateway_fixtures import GatewayHarness, start_gateway
from test_adapters_behaviour import ADAPTERS, Driver, run
from test_never_lose_a_fill import assert_equal_to_gateway, cross, limit, outage_options

from kalshi_fix_sansio import CatchUpFailed, Disconnected
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters.blocking import FixClient as BlockingClient
from kalshi_fix_sansio.adapters.rest import (
    RestCompanion,
    aread_account_limits,
    read_account_limits,
)
from kalshi_fix_sansio.client.account import Account
from kalshi_fix_sansio.client.restore import restore
from kalshi_fix_sansio.codec.errors import RemoteProtocolError
from kalshi_fix_sansio.rest.pages import rest_headers, rest_path
from kalshi_fix_sansio.rest.reconcile import (
    Reconciled,
    ReconciledFill,
    Reconciliation,
    RestOptions,
    RestProblem,
)
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.simulator.gateway.rest import RestServer
from kalshi_fix_sansio.trading.tracker import OrderTracker


@ADAPTERS
def test_not_allowlisted_session_reconciles_over_tls_after_a_reconnect(
    adapter: str, prediction_gateway: GatewayHarness
) -> None:
    h = prediction_gateway
    gateway = h.gateway
    gateway.call(lambda: setattr(gateway.exchange, "replay_allowlist", ["key-2"]))
    rest = RestServer(gateway).start()

    async def scenario(d: Driver) -> None:
        session = d.client(h, **outage_options()).order_entry(
            rest=RestOptions(base_url=rest.base_url)
        )
        async with d.opened(session):
            await d.call(session.place(limit("rest-1", p.Side.BUY, 10)))
            gateway.faults.refuse_keys = frozenset({"key-1"})
            assert gateway.disconnect("key-1") == 1
            await d.wait_for(session, lambda e: isinstance(e, Disconnected), 10)
            cross(h, "away", [3, 2, 2])
            gateway.faults.refuse_keys = frozenset()
            failed = await d.wait_for(session, lambda e: isinstance(e, CatchUpFailed), 10)
            assert failed.code == 5
            done = await d.wait_for(session, lambda e: isinstance(e, Reconciled), 10)
            assert done.added == 3 and done.problems == 0 and done.sources == {"rest": 3}
            assert_equal_to_gateway(h, session.tracker, "rest-1", filled=7)

    try:
        run(adapter, scenario)
    finally:
        rest.close()


def test_the_rest_server_checks_signatures_like_the_logon(
    prediction_gateway: GatewayHarness,
) -> None:
    h = prediction_gateway
    gateway = h.gateway
    with RestServer(gateway) as rest:
        path = rest_path("prediction", "fills")
        context = h.ssl_context()
        signed = rest_headers("key-1", h.signers["key-1"], "GET", path, gateway.timers.time())
        forged = rest_headers("key-1", h.signers["key-2"], "GET", path, gateway.timers.time())
        with httpx.Client(verify=context) as http:
            assert http.get(rest.base_url + path, headers=signed).status_code == 200
            assert http.get(rest.base_url + path, headers=forged).status_code == 401
            assert http.get(rest.base_url + path).status_code == 401
            limits = rest_path("prediction", "limits")  # Kalshi's GET /account/limits
            now = gateway.timers.time()
            answer = http.get(
                rest.base_url + limits,
                headers=rest_headers("key-1", h.signers["key-1"], "GET", limits, now),
            )
            assert answer.status_code == 200 and set(answer.json()) == {
                "usage_tier",
                "read",
                "write",
                "grants",
            }
        # a companion run against the forged key: one clear event, nothing applied
        tracker = OrderTracker()
        wrong = Credentials("key-1", h.signers["key-2"])  # key-1's id, another private key
        rec = Reconciliation(tracker, wrong, base_url=rest.base_url)
        rec.start("asked", gateway.timers.time())
        events = RestCompanion(verify=context).run(rec)
        (problem,) = [e for e in events if isinstance(e, RestProblem)]
        assert problem.status == 401 and problem.endpoint == "cutoff"  # the first page
        assert not [e for e in events if isinstance(e, (Reconciled, ReconciledFill))]


def test_slow_pages_time_out_and_are_given_up(prediction_gateway: GatewayHarness) -> None:
    h = prediction_gateway
    with RestServer(h.gateway) as rest:
        h.gateway.faults.rest_delay = 0.3
        rec = Reconciliation(
            OrderTracker(),
            h.credentials("key-1"),
            base_url=rest.base_url,
            max_retries=1,
            retry_delay=0.01,
        )
        rec.start("asked", h.gateway.timers.time())
        events = RestCompanion(verify=h.ssl_context(), timeout=0.1).run(rec)
        h.gateway.faults.rest_delay = 0.0
        (problem,) = [e for e in events if isinstance(e, RestProblem)]
        assert problem.endpoint == "cutoff" and "no answer (ReadTimeout" in problem.reason
        assert not rec.active


def test_not_allowlisted_restart_from_a_message_log_reconciles_over_tls(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    h = prediction_gateway
    gateway = h.gateway
    gateway.call(lambda: setattr(gateway.exchange, "replay_allowlist", ["key-2"]))
    log = tmp_path / "fix.log"
    with RestServer(gateway) as rest:
        first = BlockingClient(h.credentials("key-1"), **h.client_kwargs(message_log_path=log))
        with first.order_entry() as session:
            session.place(limit("rest-1", p.Side.BUY, 10))
        cross(h, "while-down", [3, 4])  # 7 filled while no process runs
        restored = restore(log, key_id="key-1")
        assert restored.tracker.current("rest-1").cum_qty == 0  # type: ignore[union-attr]
        again = BlockingClient(h.credentials("key-1"), **h.client_kwargs())
        with again.order_entry(
            tracker=restored.tracker,
            cursor=restored.cursor,
            rest=RestOptions(base_url=rest.base_url),
        ) as session:
            failed = session.wait_for(lambda e: isinstance(e, CatchUpFailed), 10)
            assert isinstance(failed, CatchUpFailed) and failed.code == 5
            done = session.wait_for(lambda e: isinstance(e, Reconciled), 10)
            assert isinstance(done, Reconciled) and done.added_qty == 7
            assert_equal_to_gateway(h, session.tracker, "rest-1", filled=7)


def test_the_accounts_limits_are_read_from_rest(prediction_gateway: GatewayHarness) -> None:
    """`read_account_limits` (blocking) and `aread_account_limits` (asyncio) read the mock's
    limits page over TLS into `AccountLimits`; an answer not of Kalshi's shape names its field."""
    h = prediction_gateway
    with RestServer(h.gateway) as rest:
        how = {"base_url": rest.base_url, "verify": h.ssl_context(), "clock": h.gateway.timers.time}
        limits = read_account_limits(h.credentials("key-1"), **how)
        assert (limits.tier, limits.read, limits.write) == ("Basic", 200.0, 100.0)
        assert limits == asyncio.run(aread_account_limits(h.credentials("key-1"), **how))
        account = Account("desk", ["key-1", "key-2"], limits)
        assert account.limits is limits
        rest.app.limits = {"usage_tier": "Basic", "read_limit": 20, "write_limit": 10}
        with pytest.raises(RemoteProtocolError, match="'read' missing"):
            read_account_limits(h.credentials("key-1"), **how)
        forged = Credentials("key-1", h.signers["key-2"])
        with pytest.raises(RemoteProtocolError, match="HTTP 401"):
            read_account_limits(forged, **how)


def test_a_restart_past_kalshis_historical_cutoff_reads_the_historical_pages_over_tls(
    prediction_gateway: GatewayHarness, tmp_path: Path
) -> None:
    """The fills made while no process ran are older than the mock's historical cutoff: the
    restarted session's round finds them on /historical/fills, over HTTPS."""
    h = prediction_gateway
    gateway = h.gateway
    gateway.call(lambda: setattr(gateway.exchange, "replay_allowlist", ["key-2"]))
    log = tmp_path / "fix.log"
    with RestServer(gateway) as rest:
        first = BlockingClient(h.credentials("key-1"), **h.client_kwargs(message_log_path=log))
        with first.order_entry() as session:
            session.place(limit("rest-1", p.Side.BUY, 10))
        cross(h, "while-down", [3, 4])
        cutoff = gateway.call(lambda: gateway.timers.time() + 1)
        gateway.call(lambda: setattr(rest.app, "historical_cutoff", cutoff))
        restored = restore(log, key_id="key-1")
        again = BlockingClient(h.credentials("key-1"), **h.client_kwargs())
        with again.order_entry(
            tracker=restored.tracker,
            cursor=restored.cursor,
            rest=RestOptions(base_url=rest.base_url),
        ) as session:
            done = session.wait_for(lambda e: isinstance(e, Reconciled), 10)
            assert isinstance(done, Reconciled)
            assert (done.added_qty, done.incomplete, done.problems) == (7, None, 0)
            assert_equal_to_gateway(h, session.tracker, "rest-1", filled=7)


@pytest.mark.parametrize("product", ["prediction", "margin"])
def test_each_products_limits_page_gives_its_own_budgets(product: str, tmp_path: Path) -> None:
    """The perps page answers perps budgets, not prediction's; both in Kalshi's shape (grants
    included), read into `AccountLimits`."""
    h = start_gateway(product, tmp_path)
    try:
        with RestServer(h.gateway) as rest:
            how = {"base_url": rest.base_url, "verify": h.ssl_context()}
            limits = read_account_limits(
                h.credentials("key-1"), product=product, clock=h.gateway.timers.time, **how
            )
    finally:
        h.gateway.close()
    budgets = {"prediction": (200.0, 100.0), "margin": (100.0, 50.0)}[product]
    assert (limits.product, limits.tier, (limits.read, limits.write)) == (
        product,
        "Basic",
        budgets,
    )

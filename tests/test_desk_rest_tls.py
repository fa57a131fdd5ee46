"""The desk's REST pages end to end over loopback TLS: a blocking session made with ``rest=``
against the mock gateway and its HTTPS REST server, a `DeskWatch` run by the blocking REST
companion in a thread (queue positions into the tracker; the console's pause refusing orders
before the wire; Kalshi's schedule into the backoff), and ``kalshi-fix exchange`` / ``queue``
from the shell, a forbidden page refused with one line. In memory: test_desk_rest.py.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from gateway_fixtures import GatewayHarness
from test_adapters_behaviour import ADAPTERS, Driver, run

from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters.blocking import FixClient, MarginFixClient
from kalshi_fix_sansio.adapters.rest import RestCompanion
from kalshi_fix_sansio.cli.commands import run as kalshi_fix
from kalshi_fix_sansio.client import desk_watch as dw
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.rest.reconcile import RestOptions
from kalshi_fix_sansio.simulator.gateway.rest import RestServer
from kalshi_fix_sansio.simulator.research.fitting import read_queue_log


def bid(cl_ord_id: str, qty: int) -> p.NewOrderSingle:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(qty),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.40"),  # joins the house's 25 at the best bid
        symbol="HIGHNY-23DEC31",
        time_in_force=p.TimeInForce.GTC,
    )


@pytest.fixture
def rest(prediction_gateway: GatewayHarness) -> Iterator[RestServer]:
    with RestServer(prediction_gateway.gateway) as server:
        yield server


def test_a_session_reads_its_desk_pages_over_tls(
    prediction_gateway: GatewayHarness, rest: RestServer
) -> None:
    h = prediction_gateway
    client = FixClient(h.credentials(), **h.client_kwargs())
    with client.order_entry(rest=RestOptions(base_url=rest.base_url)) as session:
        watch = dw.DeskWatch(session, queue_every=30.0)
        companion = threading.Thread(
            target=RestCompanion(verify=h.ssl_context()).run, args=(watch,), daemon=True
        )
        session.place(bid("desk-1", 4))
        companion.start()
        read = session.wait_for(lambda e: isinstance(e, dw.QueuePositionsRead), 10)
        assert [position.ahead for position in read.positions] == [Decimal(25)]
        assert session.tracker.queue_ahead("desk-1") == Decimal(25)
        assert session.metrics.snapshot().queue_ahead == 25.0
        watch.stop()
        companion.join(10)
        assert not companion.is_alive()

        h.gateway.pause()  # the console's pause
        h.gateway.schedule_maintenance(3600.0, 600.0)
        watch.refresh("exchange_status", "exchange_schedule")
        RestCompanion(verify=h.ssl_context()).run(watch)
        session.wait_for(lambda e: isinstance(e, dw.ExchangePaused), 10)
        schedule = session.wait_for(lambda e: isinstance(e, dw.ScheduleRead), 10).schedule
        (window,) = schedule.windows
        maintenance = session.driver.supervisor.backoff.maintenance
        assert maintenance.contains(window.start) and not maintenance.contains(window.end)
        with pytest.raises(dw.ExchangePausedError, match="trading is paused by the exchange"):
            session.place(bid("desk-2", 1))
        session.cancel(session.tracker.order("desk-1"))  # taking risk off still goes
        h.gateway.resume()
        watch.refresh("exchange_status")
        RestCompanion(verify=h.ssl_context()).run(watch)
        session.wait_for(lambda e: isinstance(e, dw.ExchangeResumed), 10)
        assert session.place(bid("desk-3", 1)).acknowledged


@ADAPTERS
def test_every_adapter_s_session_watches_its_desk_pages(
    adapter: str, prediction_gateway: GatewayHarness, rest: RestServer
) -> None:
    h = prediction_gateway

    async def scenario(d: Driver) -> None:
        session = d.client(h).order_entry(rest=RestOptions(base_url=rest.base_url))
        async with d.opened(session):
            await d.call(session.place(bid("watched-1", 2)))
            watch = session.watch_desk(queue_every=30.0, status_every=30.0)
            read = await d.wait_for(session, lambda e: isinstance(e, dw.QueuePositionsRead), 10)
            assert [p.ahead for p in read.positions] == [Decimal(25)]
            await d.wait_for(session, lambda e: isinstance(e, dw.ScheduleRead), 10)
            h.gateway.pause()
            watch.refresh("exchange_status")
            await d.wait_for(session, lambda e: isinstance(e, dw.ExchangePaused), 10)
            with pytest.raises(dw.ExchangePausedError):
                await d.call(session.place(bid("watched-2", 1)))
            watch.stop()

    run(adapter, scenario)
    with pytest.raises(LocalProtocolError, match="watch_desk needs an open session"):
        Driver("blocking").client(h).order_entry(
            rest=RestOptions(base_url=rest.base_url)
        ).watch_desk()


@pytest.fixture
def key_env(
    prediction_gateway: GatewayHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """key-1's private key in a file named by the environment (what ``kalshi-fix queue``
    reads)."""
    private = ed25519.Ed25519PrivateKey.generate()
    key_file = tmp_path / "key-1.pem"
    key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    from kalshi_fix_sansio.session.auth import load_public_key

    gateway = prediction_gateway.gateway
    gateway.call(lambda: gateway.keys.__setitem__("key-9", load_public_key(public)))
    for name in ("KALSHI_PRIVATE_KEY", "KALSHI_PRIVATE_KEY_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KALSHI_KEY_ID", "key-9")
    monkeypatch.setenv("KALSHI_PRIVATE_KEY_PATH", str(key_file))


def test_kalshi_fix_exchange_and_queue_read_the_pages_from_the_shell(
    prediction_gateway: GatewayHarness,
    rest: RestServer,
    key_env: None,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    h = prediction_gateway
    gateway = h.gateway
    shell = ["--base-url", rest.base_url, "--pinned-cert", str(h.cert)]

    def rests() -> None:
        exchange, now = gateway.exchange, gateway.timers.time()
        exchange.connect("cli-key", "key-9", "KalshiNR", now=now)
        exchange.handle("cli-key", bid("cli-1", 2), now)

    gateway.call(rests)
    gateway.pause(exchange=True)
    gateway.schedule_maintenance(60.0, 3600.0)
    assert kalshi_fix(["exchange", *shell]) == 0
    out = capsys.readouterr().out
    assert "exchange: the exchange is inactive" in out and "1 maintenance window(s)" in out
    assert kalshi_fix(["queue", *shell, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["queue_positions"]
    assert (row["market"], row["ahead"]) == ("HIGHNY-23DEC31", "25.00")
    assert kalshi_fix(["queue", *shell, "--order-id", row["order_id"]]) == 0
    assert "25.00 ahead" in capsys.readouterr().out
    record = tmp_path / "queue.jsonl"
    assert kalshi_fix(["queue", *shell, "--record", str(record)]) == 0
    capsys.readouterr()
    ((_, positions),) = read_queue_log([record])  # what fit-queue --queue-positions reads
    assert [(p.order_id, p.ahead) for p in positions] == [(row["order_id"], Decimal(25))]
    gateway.faults.rest_forbidden = frozenset({"queue_positions"})
    assert kalshi_fix(["queue", *shell]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "kalshi-fix queue: queue_positions: 403 forbidden: the API key lacks the permission "
        "to read it"
    ]


def test_a_margin_session_reads_the_perps_exchange_status(
    margin_gateway: GatewayHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    h = margin_gateway
    with RestServer(h.gateway) as server:
        shell = ["--base-url", server.base_url, "--pinned-cert", str(h.cert)]
        h.gateway.pause()
        assert kalshi_fix(["exchange", "--product", "margin", *shell, "--json"]) == 0
        body = json.loads(capsys.readouterr().out)
        assert (body["trading_active"], body["windows"]) == (False, [])  # no schedule page
        client = MarginFixClient(h.credentials(), **h.client_kwargs())
        with client.order_entry(rest=RestOptions(base_url=server.base_url)) as session:
            watch = session.watch_desk(status_every=30.0)
            paused = session.wait_for(lambda e: isinstance(e, dw.ExchangePaused), 10)
            assert paused.status.resume_time is None  # the perps status has none
            assert watch.every == {"exchange_status": 30.0}
            with pytest.raises(LocalProtocolError, match="queue positions are prediction's"):
                session.watch_desk(queue_every=5.0)
            watch.stop()


def test_a_client_that_never_shakes_hands_holds_neither_the_server_nor_its_close(
    prediction_gateway: GatewayHarness, rest: RestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    h = prediction_gateway
    silent = socket.create_connection(("127.0.0.1", rest.port))  # connects, never says hello
    try:
        answered: dict[str, int] = {}

        def ask() -> None:
            shell = ["--base-url", rest.base_url, "--pinned-cert", str(h.cert), "--json"]
            answered["status"] = kalshi_fix(["exchange", *shell])

        asking = threading.Thread(target=ask, daemon=True)
        asking.start()
        asking.join(20)
        assert answered.get("status") == 0  # another client is answered meanwhile
        assert json.loads(capsys.readouterr().out)["trading_active"] is True
        closing = threading.Thread(target=rest.close, daemon=True)
        closing.start()
        closing.join(20)
        assert not closing.is_alive()  # and the server closes
    finally:
        silent.close()

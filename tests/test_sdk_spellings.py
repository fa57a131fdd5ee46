"""kalshi-sdk's spellings on every adapter, end to end against the mock gateway over TLS.

A user coming from kalshi-sdk (module ``kalshi.fix``) builds a client with ``from_auth(auth)``
(its ``KalshiAuth``: an object with ``key_id`` and ``private_key``) or ``from_env(...,
password=...)``, and passes ``on_message``, ``on_state_change`` and ``on_decode_error`` to a
session factory. Here each adapter's client logs on with an RSA key (kalshi-sdk signs with
RSA-PSS), sends an order, is sent a frame it cannot decode, and logs out; the callbacks are
waited on with events, never with sleeps.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from framing_helpers import make_frame
from tls_helpers import ADAPTERS, CLIENTS, open_with

from kalshi_fix_sansio import Backoff, DecodeError, Reconnected, SupervisorState
from kalshi_fix_sansio import prediction as p
from kalshi_fix_sansio.adapters import asyncio as asyncio_adapter
from kalshi_fix_sansio.adapters import blocking as blocking_adapter
from kalshi_fix_sansio.adapters import trio as trio_adapter
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.auth import ED25519, KeyLoadError, PublicKey
from kalshi_fix_sansio.simulator.gateway import MockGateway
from kalshi_fix_sansio.simulator.world.simulation import Simulation

SYMBOL = "HIGHNY-23DEC31"
KEY_ID = "sdk-key"
UNDECODABLE = make_frame(b"34=77\x0135=8\x01")  # framed, but 35 is not the third field


class Auth:
    """What kalshi-sdk's ``KalshiAuth`` offers ``from_auth``: the key id and the key object."""

    def __init__(self, key_id: str, private_key: Any) -> None:
        self.key_id, self.private_key = key_id, private_key


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def gateway(rsa_key: rsa.RSAPrivateKey) -> Iterator[MockGateway]:
    gw = MockGateway("prediction", keys={KEY_ID: PublicKey(rsa_key.public_key())}, tls=True)
    gw.start_in_thread()
    gw.seed_market(
        SYMBOL, bids=[(Decimal("0.40"), Decimal(25))], asks=[(Decimal("0.45"), Decimal(30))]
    )
    try:
        yield gw
    finally:
        gw.close()


def to_gateway(gw: MockGateway) -> dict[str, Any]:
    return {"endpoints": gw.endpoints, "ssl_context": gw.client_ssl_context()}


def bid(cl_ord_id: str) -> p.NewOrderSingle:
    return p.NewOrderSingle(
        cl_ord_id=cl_ord_id,
        side=p.Side.BUY,
        order_qty=Decimal(1),
        ord_type=p.OrdType.LIMIT,
        price=Decimal("0.41"),
        symbol=SYMBOL,
        time_in_force=p.TimeInForce.GTC,
    )


def send_undecodable(gw: MockGateway) -> None:
    """The gateway writes a frame the client cannot decode on the client's connection (in the
    gateway's loop; FIX ignores such a frame, so no sequence number is spent)."""

    def write() -> None:
        conn = gw._conns[gw._by_key[KEY_ID]]
        assert conn.transport is not None
        conn.transport.write(UNDECODABLE)

    gw.call(write)


Log = list[tuple[Any, ...]]


def check_log(log: Log) -> None:
    """What the three callbacks saw, in order: the Logon's state, the order's report, the
    undecodable frame, the state after the Logout."""
    assert log[0] == ("state", SupervisorState.IDLE, SupervisorState.ACTIVE)
    messages = [entry[1] for entry in log if entry[0] == "message"]
    assert messages and all(isinstance(m, p.ExecutionReport) for m in messages)
    assert messages[0].cl_ord_id == "sdk-1" and messages[0].ord_status == p.OrdStatus.NEW
    (decode,) = [entry for entry in log if entry[0] == "decode"]
    assert decode[1] == UNDECODABLE and isinstance(decode[2], DecodeError)
    assert log.index(decode) > log.index(next(e for e in log if e[0] == "message"))
    assert log[-1] == ("state", SupervisorState.ACTIVE, SupervisorState.CLOSED)


def test_blocking_callbacks_and_from_auth(gateway: MockGateway, rsa_key: rsa.RSAPrivateKey) -> None:
    log: Log = []
    seen = threading.Event()

    def on_message(message: Any) -> None:
        log.append(("message", message))
        seen.set()

    def on_state_change(old: SupervisorState, new: SupervisorState) -> None:
        log.append(("state", old, new))

    def on_decode_error(raw: bytes, error: Exception) -> None:
        log.append(("decode", raw, error))
        seen.set()

    client = blocking_adapter.FixClient.from_auth(Auth(KEY_ID, rsa_key), **to_gateway(gateway))
    with client.order_entry(
        on_message=on_message, on_state_change=on_state_change, on_decode_error=on_decode_error
    ) as oe:
        oe.send(bid("sdk-1"))
        assert seen.wait(10)
        seen.clear()
        send_undecodable(gateway)
        assert seen.wait(10)
    check_log(log)


def test_asyncio_callbacks_awaited(gateway: MockGateway, rsa_key: rsa.RSAPrivateKey) -> None:
    log: Log = []

    async def main() -> None:
        seen = asyncio.Event()

        async def on_message(message: Any) -> None:  # a coroutine: awaited, or nothing is logged
            log.append(("message", message))
            seen.set()

        async def on_state_change(old: SupervisorState, new: SupervisorState) -> None:
            log.append(("state", old, new))

        def on_decode_error(raw: bytes, error: Exception) -> None:  # plain functions too
            log.append(("decode", raw, error))
            seen.set()

        client = asyncio_adapter.FixClient.from_auth(Auth(KEY_ID, rsa_key), **to_gateway(gateway))
        async with client.order_entry(
            on_message=on_message, on_state_change=on_state_change, on_decode_error=on_decode_error
        ) as oe:
            oe.send(bid("sdk-1"))
            await asyncio.wait_for(seen.wait(), 10)
            seen.clear()
            await asyncio.to_thread(send_undecodable, gateway)
            await asyncio.wait_for(seen.wait(), 10)

    asyncio.run(main())
    check_log(log)


def test_trio_callbacks_with_on_event(gateway: MockGateway, rsa_key: rsa.RSAPrivateKey) -> None:
    log: Log = []
    events: list[Any] = []

    async def main() -> None:
        seen = trio.Event()
        decoded = trio.Event()

        async def on_message(message: Any) -> None:
            log.append(("message", message))
            seen.set()

        def on_state_change(old: SupervisorState, new: SupervisorState) -> None:
            log.append(("state", old, new))

        async def on_decode_error(raw: bytes, error: Exception) -> None:
            log.append(("decode", raw, error))
            decoded.set()

        client = trio_adapter.FixClient.from_auth(Auth(KEY_ID, rsa_key), **to_gateway(gateway))
        async with client.order_entry(
            on_message=on_message,
            on_state_change=on_state_change,
            on_decode_error=on_decode_error,
            on_event=events.append,  # every event as well, after the three
        ) as oe:
            oe.send(bid("sdk-1"))
            with trio.fail_after(10):
                await seen.wait()
            await trio.to_thread.run_sync(send_undecodable, gateway)
            with trio.fail_after(10):
                await decoded.wait()

    trio.run(main)
    check_log(log)
    names = [type(event).__name__ for event in events]
    assert names[0] == "LoggedOn" and "ApplicationMessage" in names and "DecodeFailure" in names


def test_state_changes_across_a_reconnect(gateway: MockGateway, rsa_key: rsa.RSAPrivateKey) -> None:
    states: list[tuple[SupervisorState, SupervisorState]] = []
    back = threading.Event()

    def on_event(event: Any) -> None:
        if isinstance(event, Reconnected):
            back.set()

    client = blocking_adapter.FixClient.from_auth(
        Auth(KEY_ID, rsa_key),
        backoff=Backoff(base=0.05, cap=0.2, attempts=8, seed=7),
        **to_gateway(gateway),
    )
    with client.order_entry(
        on_state_change=lambda *change: states.append(change), on_event=on_event
    ):
        assert gateway.disconnect(KEY_ID) == 1
        assert back.wait(10)
    S = SupervisorState
    assert states == [
        (S.IDLE, S.ACTIVE),
        (S.ACTIVE, S.WAITING),  # delivered with the drop's events
        (S.WAITING, S.ACTIVE),  # with the new Logon's: LOGGING_ON between them is not seen
        (S.ACTIVE, S.CLOSED),
    ]


def test_from_auth_with_an_ed25519_key() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    with MockGateway("prediction", keys={KEY_ID: PublicKey(key.public_key())}, tls=True) as gw:
        client = blocking_adapter.FixClient.from_auth(Auth(KEY_ID, key), **to_gateway(gw))
        assert client.credentials.signer.algorithm == ED25519
        assert open_with("blocking", client.order_entry()) is None


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_from_env_with_password(
    adapter: str, gateway: MockGateway, rsa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    """kalshi-sdk's ``password=`` (a str, bytes or a function returning one) decrypts the key
    file the environment names, on every adapter's client, and the Logon it signs is
    accepted."""
    path = tmp_path / "key.pem"
    path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"sesame"),
        )
    )
    environ = {"KALSHI_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": str(path)}
    cls = CLIENTS[adapter]
    for password in ("sesame", b"sesame", lambda: "sesame"):
        client = cls.from_env("demo", environ, password=password, **to_gateway(gateway))
        assert open_with(adapter, client.order_entry()) is None
    # the variable still works, and the argument wins over it
    wrong = {**environ, "KALSHI_PRIVATE_KEY_PASSPHRASE": "wrong"}
    client = cls.from_env("demo", wrong, password="sesame", **to_gateway(gateway))
    assert open_with(adapter, client.order_entry()) is None
    with pytest.raises(KeyLoadError):
        cls.from_env("demo", wrong)
    with pytest.raises(LocalProtocolError, match="not both"):
        cls.from_env("demo", environ, password="sesame", passphrase="sesame")


def test_spellings_refused_with_a_reason(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(LocalProtocolError, match="has no key_id or private_key"):
        blocking_adapter.FixClient.from_auth(object())
    with pytest.raises(KeyLoadError, match="RSA"):
        blocking_adapter.FixClient.from_auth(Auth(KEY_ID, "not a key"))
    client = blocking_adapter.FixClient.from_auth(Auth(KEY_ID, rsa_key))
    assert client.environment == "demo" and client.credentials.key_id == KEY_ID

    async def on_message(message: Any) -> None:
        raise AssertionError("never called")

    # the blocking client would never await a coroutine function: refused, not silently lost
    with pytest.raises(LocalProtocolError, match="coroutine function"):
        client.order_entry(on_message=on_message)
    with pytest.raises(LocalProtocolError, match="on_decode_error"):
        client.order_entry(on_decode_error="print")
    # so does a simulation's blocking client; the async clients (a simulation's too) await it
    sim = Simulation("prediction", keys={KEY_ID: PublicKey(rsa_key.public_key())})
    signer = client.credentials.signer
    with pytest.raises(LocalProtocolError, match="coroutine function"):
        sim.client(KEY_ID, signer).order_entry(on_message=on_message)
    assert sim.client(KEY_ID, signer, api="asyncio").order_entry(on_message=on_message)
    assert asyncio_adapter.FixClient.from_auth(Auth(KEY_ID, rsa_key)).order_entry(
        on_message=on_message
    )

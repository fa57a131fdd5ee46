"""RawData(96), the Logon signature, never reaches what the adapters log or write.

Each adapter (blocking, asyncio, trio) logs on over plain loopback TCP to a scripted peer that
answers the Logon and then sends frames carrying RawData as an unknown or extra field (without
RawDataLength, after it, with leading zeros, inside an application message). The message-log
file and the ``kalshi_fix_sansio.messages`` / ``kalshi_fix_sansio.transport`` log records must
show neither the client's real signature nor any of the peer's secrets.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from kalshi_fix_sansio import Backoff
from kalshi_fix_sansio.adapters import asyncio as asyncio_adapter
from kalshi_fix_sansio.adapters import blocking as blocking_adapter
from kalshi_fix_sansio.adapters import trio as trio_adapter
from kalshi_fix_sansio.client import TRANSPORT_LOGGER_NAME, Endpoint
from kalshi_fix_sansio.codec.framing import checksum
from kalshi_fix_sansio.observability import MESSAGE_LOGGER_NAME
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

KEY = "key-1"
CLIENTS: dict[str, Any] = {
    "blocking": blocking_adapter.FixClient,
    "asyncio": asyncio_adapter.FixClient,
    "trio": trio_adapter.FixClient,
}
SECRETS = (b"SECRET-ONE", b"SECRET-TWO", b"SECRET-THREE", b"SECRET-FOUR")


def frame(seq: int, msg_type: str, body: bytes) -> bytes:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]
    fields = b"35=%s\x0134=%d\x0149=KalshiNR\x0152=%s\x0156=%s\x01" % (
        msg_type.encode(),
        seq,
        stamp.encode(),
        KEY.encode(),
    )
    payload = fields + body.replace(b"|", b"\x01")
    head = b"8=FIXT.1.1\x019=%d\x01" % len(payload)
    return head + payload + b"10=%03d\x01" % checksum(head + payload)


def peer_frames() -> bytes:
    """The Logon answer, then four frames with RawData where no Logon is."""
    return b"".join(
        [
            frame(1, "A", b"98=0|108=30|1137=9|141=Y|"),
            frame(2, "0", b"96=SECRET-ONE|"),  # unknown on a Heartbeat, no RawDataLength
            frame(3, "1", b"112=t1|96=SECRET-TWO|95=10|"),  # the length after the data
            frame(4, "0", b"096=SECRET-THREE|"),  # leading zeros
            frame(5, "8", b"37=o|17=e|150=0|39=0|55=S|54=1|95=11|96=SECRET\x01FOUR|"),  # SOH
        ]
    )


class ScriptedPeer:
    """Plain TCP on 127.0.0.1: takes the client's Logon, answers with `peer_frames`, then
    closes the connection as soon as the client sends anything more (its Logout)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.logon = b""
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._server.settimeout(20)
        try:
            conn, _ = self._server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(20)
            data = b""
            while b"\x0110=" not in data or not data.endswith(b"\x01"):
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.logon = data
            conn.sendall(peer_frames())
            try:
                conn.recv(65536)  # the Logout (or EOF)
            except OSError:
                pass

    @property
    def signature(self) -> bytes:
        start = self.logon.index(b"\x0196=") + 4
        return self.logon[start : self.logon.index(b"\x01", start)]

    def close(self) -> None:
        self._server.close()
        self._thread.join(5)


@pytest.fixture
def peer() -> Iterator[ScriptedPeer]:
    server = ScriptedPeer()
    yield server
    server.close()


def run_session(adapter: str, session: Any, done: Callable[[], bool]) -> None:
    """Open, pump events until ``done()`` (or 10 s), close."""
    deadline = time.monotonic() + 10
    if adapter == "blocking":
        with session:
            while not done() and time.monotonic() < deadline:
                session.next_event(timeout=0.2)
        return

    async def pump() -> None:
        while not done() and time.monotonic() < deadline:
            await session.next_event(timeout=0.2)

    async def with_asyncio() -> None:
        async with session:
            await pump()

    async def with_trio() -> None:
        async with session:
            await pump()

    if adapter == "asyncio":
        asyncio.run(with_asyncio())
    else:
        trio.run(with_trio)


@pytest.mark.parametrize("adapter", sorted(CLIENTS))
def test_rawdata_is_redacted_in_every_log(
    adapter: str, peer: ScriptedPeer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "messages.log"
    client = CLIENTS[adapter](
        Credentials(KEY, new_ed25519_keys()[0]),
        endpoints={"KalshiNR": Endpoint("127.0.0.1", peer.port, tls=False)},
        backoff=Backoff(attempts=0),
        reconnect=False,
        message_log_path=path,
        config={"logout_timeout": 2.0},
    )

    def inbound_lines() -> int:
        text = path.read_text() if path.exists() else ""
        return sum(" IN " in line for line in text.splitlines())

    with caplog.at_level(logging.DEBUG):
        run_session(adapter, client.session("KalshiNR"), lambda: inbound_lines() >= 5)
    text = path.read_text()
    lines = text.splitlines()
    assert inbound_lines() == 5, text  # the Logon answer and the four frames, all logged
    signature = peer.signature
    assert len(signature) > 40  # a real base64 Ed25519 signature went on the wire
    records = "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.name in (MESSAGE_LOGGER_NAME, TRANSPORT_LOGGER_NAME)
    )
    assert "OUT" in records and "IN" in records  # the logger saw the frames too
    for where in (text, records):
        assert signature.decode() not in where
        for secret in SECRETS:
            assert secret.decode() not in where
        assert "SECRET" not in where and "FOUR" not in where
    logon_out = next(line for line in lines if " OUT " in line and "|35=A|" in line)
    assert f"|96=<redacted {len(signature)} bytes>|" in logon_out
    assert "|96=<redacted 10 bytes>|" in text  # SECRET-ONE, no length field
    assert "|112=t1|96=<redacted 10 bytes>|95=10|" in text  # length after the data
    assert "|096=<redacted 12 bytes>|" in text  # leading zeros
    assert "|95=11|96=<redacted 11 bytes>|" in text  # SOH inside, framed by its length

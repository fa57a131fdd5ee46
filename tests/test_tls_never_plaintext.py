"""Transport security of the three adapters (blocking, asyncio, trio), through their public API.

* A TLS endpoint never receives a plaintext byte, however the client is configured: a loopback
  listener records the first bytes of every connection and each must be a TLS ClientHello,
  never ``8=FIXT`` (the signed Logon).
* A TLS context weaker than the library's issues one `InsecureTLSWarning` at the caller's line
  and logs a WARNING, both naming the endpoint; the library's own contexts (default, pinned,
  extra CA) do neither.
* Plain TCP goes only to addresses that are loopback after name resolution: a name resolving
  elsewhere is refused with `LocalProtocolError` before any connection is attempted (a guard
  on ``socket.connect`` fails the test if a non-loopback address is ever dialled).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import tls_helpers
from tls_helpers import ADAPTERS, CLIENTS, open_with

from kalshi_fix_sansio import Backoff, ConnectionFailed
from kalshi_fix_sansio.adapters import make_ssl_context
from kalshi_fix_sansio.client import TRANSPORT_LOGGER_NAME, Endpoint, InsecureTLSWarning
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.simulator.gateway.tls import self_signed
from kalshi_fix_sansio.simulator.testing import new_ed25519_keys

TLS_RECORD_HANDSHAKE = 0x16
CLIENT_HELLO = 0x01


# -- a loopback listener that records what each connection sends first ----------------------


class FirstBytes:
    """Accepts connections on 127.0.0.1, records each one's first record or frame, closes it.

    A TLS client's first bytes are one handshake record (read whole, by its length); anything
    else is read up to the end of a FIX frame (``<SOH>10=nnn<SOH>``) or EOF. The connection is
    then closed, so a TLS handshake fails at once and the client gives up.
    """

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                self.connections.append(self._first(conn))

    @staticmethod
    def _first(conn: socket.socket) -> bytes:
        data = b""

        def complete() -> bool:
            if len(data) < 5:
                return False
            if data[0] == TLS_RECORD_HANDSHAKE:
                return len(data) >= 5 + int.from_bytes(data[3:5], "big")
            end = data.find(b"\x0110=")
            return end >= 0 and data.find(b"\x01", end + 1) >= 0

        while not complete():
            try:
                chunk = conn.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        return data

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(5)


@pytest.fixture
def listener() -> Iterator[FirstBytes]:
    server = FirstBytes()
    yield server
    server.close()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return self_signed(tmp_path_factory.mktemp("tls"))[0]


@pytest.fixture(scope="module")
def credentials() -> Credentials:
    return Credentials("key-1", new_ed25519_keys()[0])


# -- opening a session with each adapter ------------------------------------------------------


def build_session(
    adapter: str,
    credentials: Credentials,
    endpoint: Endpoint,
    client_options: dict[str, Any],
    ssl_context: Callable[[], ssl.SSLContext | None] | None = None,
) -> Any:
    """A KalshiNR session of ``adapter`` for ``endpoint``, built by the adapter's client.

    ``ssl_context`` given: the session is built directly from `ConnectOptions` carrying what it
    returns (``None`` included), as a caller bypassing the client would.
    """
    client = CLIENTS[adapter](
        credentials,
        endpoints={"KalshiNR": endpoint},
        backoff=Backoff(attempts=0),
        reconnect=False,
        **client_options,
    )
    if ssl_context is None:
        return client.session("KalshiNR")
    config, options = client.profile("KalshiNR")
    options = attrs.evolve(options, ssl_context=ssl_context(), connect_timeout=10.0)
    return client._make(config, options, on_event=None, on_reconnect=None)


# -- every way of configuring TLS -------------------------------------------------------------


def weak_caller_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    return context


def old_protocols_context() -> ssl.SSLContext:
    context = make_ssl_context()
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    return context


def no_hostname_context() -> ssl.SSLContext:
    context = make_ssl_context()
    context.check_hostname = False
    return context


@attrs.frozen
class Config:
    """One way of configuring the client's TLS, and the weaknesses it should be warned about."""

    client_options: Callable[[Path], dict[str, Any]] = lambda cert: {}
    ssl_context: Callable[[Path], Callable[[], ssl.SSLContext | None]] | None = None
    warns: tuple[str, ...] = ()


CONFIGS = {
    # through the client (ClientBase.profile builds the context)
    "client-default": Config(),
    "client-pinned": Config(lambda cert: {"pinned_cert": str(cert)}),
    "client-cafile": Config(lambda cert: {"cafile": str(cert)}),
    "client-ssl_context": Config(lambda cert: {"ssl_context": make_ssl_context()}),
    "client-unverified": Config(
        lambda cert: {"ssl_context": make_ssl_context(verify=False)},
        warns=("verify_mode CERT_NONE", "check_hostname False"),
    ),
    # ConnectOptions built by hand: what the adapters themselves do with the context
    "options-none": Config(ssl_context=lambda cert: lambda: None),
    "options-default": Config(ssl_context=lambda cert: make_ssl_context),
    "options-pinned": Config(ssl_context=lambda cert: lambda: make_ssl_context(pinned_cert=cert)),
    "options-unverified": Config(
        ssl_context=lambda cert: lambda: make_ssl_context(verify=False),
        warns=("verify_mode CERT_NONE", "check_hostname False"),
    ),
    "options-weak-caller": Config(
        ssl_context=lambda cert: weak_caller_context,
        warns=("verify_mode CERT_NONE", "check_hostname False", "below TLS 1.2"),
    ),
    "options-old-protocols": Config(
        ssl_context=lambda cert: old_protocols_context,
        warns=("minimum_version MINIMUM_SUPPORTED is below TLS 1.2",),
    ),
    "options-no-hostname-check": Config(
        ssl_context=lambda cert: no_hostname_context, warns=("check_hostname False",)
    ),
}


def assert_client_hello(data: bytes) -> None:
    assert not data.startswith(b"8=FIX"), f"plaintext FIX reached a TLS endpoint: {data[:60]!r}"
    assert b"8=FIXT" not in data and b"35=A" not in data
    assert len(data) >= 6, f"no TLS record: {data!r}"
    assert data[0] == TLS_RECORD_HANDSHAKE and data[1] == 0x03, f"not a TLS record: {data[:8]!r}"
    assert data[5] == CLIENT_HELLO, f"first handshake message is not a ClientHello: {data[5]}"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_tls_endpoint_never_receives_plaintext(
    adapter: str,
    config: str,
    host: str,
    listener: FirstBytes,
    cert: Path,
    credentials: Credentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = CONFIGS[config]
    endpoint = Endpoint(host, listener.port, tls=True, server_hostname="localhost")
    factory = spec.ssl_context(cert) if spec.ssl_context is not None else None
    session = build_session(adapter, credentials, endpoint, spec.client_options(cert), factory)
    with caplog.at_level(logging.WARNING, logger=TRANSPORT_LOGGER_NAME):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            error = open_with(adapter, session)
    # the listener answers no handshake: the connection fails, after a ClientHello only
    assert isinstance(error, ConnectionFailed), error
    assert listener.connections, "the client never connected"
    for data in listener.connections:
        assert_client_hello(data)
    logged = [
        r.getMessage()
        for r in caplog.records
        if r.name == TRANSPORT_LOGGER_NAME
        and r.levelno == logging.WARNING
        and "weaker than the library's" in r.getMessage()
    ]
    insecure = [w for w in caught if issubclass(w.category, InsecureTLSWarning)]
    if spec.warns:
        assert len(logged) == 1, logged
        assert logged[0].startswith(f"{endpoint}: "), logged[0]  # names the endpoint
        for phrase in spec.warns:
            assert phrase in logged[0]
        assert [str(w.message) for w in insecure] == logged  # the same text, once per open
        assert insecure[0].filename == tls_helpers.__file__  # the line that opened the session
    else:
        assert logged == [] and insecure == []


WRONG_CONTEXTS: dict[str, tuple[Callable[[], Any], str]] = {
    "server-side": (
        lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER),
        "is a server-side context (PROTOCOL_TLS_SERVER): a client needs make_ssl_context()",
    ),
    "a str": (lambda: "tls", "must be an ssl.SSLContext, got str: build one with"),
    "True": (lambda: True, "must be an ssl.SSLContext, got bool: build one with"),
}


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("wrong", sorted(WRONG_CONTEXTS))
def test_a_wrong_context_is_refused_by_the_pump_before_connecting(
    adapter: str, wrong: str, listener: FirstBytes, credentials: Credentials
) -> None:
    """The client carries the caller's ``ssl_context`` as given (it loads no ssl); the pump
    that would use it refuses it when the session opens, before any connection."""
    endpoint = Endpoint("127.0.0.1", listener.port, server_hostname="localhost")
    make, words = WRONG_CONTEXTS[wrong]
    session = build_session(adapter, credentials, endpoint, {"ssl_context": make()})
    error = open_with(adapter, session)
    assert isinstance(error, LocalProtocolError) and words in str(error), error
    assert f"ssl_context for {endpoint}" in str(error)  # names what and where
    assert listener.connections == []


# -- plain TCP: loopback after resolution ----------------------------------------------------


def _is_loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Fail any attempt to dial a non-loopback address (the attempt is recorded, not made)."""
    attempts: list[object] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            attempts.append(address)
            raise AssertionError(f"dialled a non-loopback address: {address!r}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            attempts.append(address)
            raise AssertionError(f"dialled a non-loopback address: {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return attempts


def resolve_as(monkeypatch: pytest.MonkeyPatch, name: str, *addresses: str) -> list[str]:
    """Make ``name`` resolve to ``addresses`` (every other name resolves as usual)."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode()
        if host != name:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        rows = []
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, int(port), 0, 0) if ":" in address else (address, int(port))
            rows.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return rows

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize(
    "addresses",
    [("192.0.2.10",), ("127.0.0.1", "192.0.2.10"), ("2001:db8::1",), ("::ffff:192.0.2.10",)],
    ids=["elsewhere", "loopback-and-elsewhere", "ipv6-elsewhere", "mapped-elsewhere"],
)
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_plain_tcp_to_a_name_resolving_elsewhere_is_refused(
    adapter: str,
    addresses: tuple[str, ...],
    listener: FirstBytes,
    credentials: Credentials,
    loopback_only: list[object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = resolve_as(monkeypatch, "localhost", *addresses)
    endpoint = Endpoint("localhost", listener.port, tls=False)
    session = build_session(adapter, credentials, endpoint, {})
    error = open_with(adapter, session)
    assert isinstance(error, LocalProtocolError), error
    message = str(error)
    assert message.startswith(f"plain TCP to localhost:{listener.port} refused: localhost ")
    assert "which is not loopback" in message and "use tls=True" in message
    for address in addresses:
        assert (address in message) == (not _is_loopback(address))
    assert asked, "the name was never resolved"
    assert loopback_only == [] and listener.connections == []


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_plain_tcp_connects_to_the_checked_loopback_address(
    adapter: str,
    listener: FirstBytes,
    credentials: Credentials,
    loopback_only: list[object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # resolved once, then dialled by address: a second lookup could not send it elsewhere
    asked = resolve_as(monkeypatch, "localhost", "127.0.0.1")
    endpoint = Endpoint("localhost", listener.port, tls=False)
    error = open_with(adapter, build_session(adapter, credentials, endpoint, {}))
    assert isinstance(error, ConnectionFailed), error  # the listener closes after the Logon
    assert asked == ["localhost"]
    assert len(listener.connections) == 1
    assert listener.connections[0].startswith(b"8=FIXT.1.1\x01")  # plain TCP, as configured
    assert loopback_only == []


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_plain_tcp_to_a_non_loopback_literal_is_refused_before_resolution(
    adapter: str,
    credentials: Credentials,
    loopback_only: list[object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = resolve_as(monkeypatch, "192.0.2.10", "127.0.0.1")
    endpoint = Endpoint("192.0.2.10", 8228, tls=False)
    error = open_with(adapter, build_session(adapter, credentials, endpoint, {}))
    assert isinstance(error, LocalProtocolError) and "only allowed to loopback" in str(error)
    assert asked == [] and loopback_only == []

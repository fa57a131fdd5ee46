"""Tests for the adapters' shared transport helpers (adapters/_transport.py).

Endpoints and host policy, a real TLS round trip on loopback (certificates generated here with
``cryptography``), backoff, reconnect plans, the maintenance window, the FIX message log's
redaction, and credentials from the environment. No network access beyond 127.0.0.1.
"""

from __future__ import annotations

import datetime
import logging
import os
import random
import re
import socket
import ssl
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio.auth import KeyLoadError, logon_payload
from kalshi_fix_sansio.config import Role, SessionConfig
from kalshi_fix_sansio.errors import FixError, LocalProtocolError
from kalshi_fix_sansio.framing import checksum
from kalshi_fix_sansio.spec import ENVIRONMENTS, SESSIONS

try:
    from kalshi_fix_sansio.adapters import _transport as T  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # the adapters folder is not mapped into the package yet
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import adapters._transport as T  # type: ignore[no-redef, import-not-found, unused-ignore]

SOH = b"\x01"
ALL_SESSIONS = sorted(SESSIONS)
ENVS = ("demo", "production")
JAN_1_2026 = 1767225600.0  # 2026-01-01T00:00:00Z (a Thursday)


# --------------------------------------------------------------------------------------------
# Endpoints


@pytest.mark.parametrize("environment", ENVS)
@pytest.mark.parametrize(("product", "session_type"), ALL_SESSIONS)
def test_kalshi_endpoint_for_every_session_type(
    product: str, session_type: str, environment: str
) -> None:
    spec = SESSIONS[(product, session_type)]
    endpoint = T.kalshi_endpoint(product, environment, session_type)
    host = ENVIRONMENTS[product][environment][spec.host]
    assert endpoint == T.Endpoint(host=host, port=spec.port, tls=True, server_hostname=host)
    assert endpoint.tls and not endpoint.loopback
    assert host in T.KALSHI_FIX_HOSTS
    T.check_endpoint(endpoint)  # documented hosts pass the policy


def test_kalshi_endpoint_spot_checks() -> None:
    assert T.kalshi_endpoint("prediction", "production", "KalshiRT") == T.Endpoint(
        "mm.fix.elections.kalshi.com", 8230
    )
    md = T.kalshi_endpoint("prediction", "demo", "KalshiMD")
    assert (md.host, md.port) == ("marketdata.fix.demo.kalshi.co", 8233)
    margin = T.kalshi_endpoint("margin", "production", "KalshiDC")
    assert (margin.host, margin.port) == ("margin-mm.fix.elections.kalshi.com", 8229)
    margin_md = T.kalshi_endpoint("margin", "demo", "KalshiMD")
    assert (margin_md.host, margin_md.port) == ("margin-marketdata.fix.demo.kalshi.co", 8233)
    assert str(margin_md) == "tls://margin-marketdata.fix.demo.kalshi.co:8233"
    assert len(T.KALSHI_FIX_HOSTS) == 8


def test_kalshi_endpoint_errors() -> None:
    with pytest.raises(
        LocalProtocolError, match=r"unknown environment 'prod'.*'demo', 'production'"
    ):
        T.kalshi_endpoint("prediction", "prod", "KalshiNR")
    with pytest.raises(LocalProtocolError, match=r"'KalshiPT' is not a margin session type"):
        T.kalshi_endpoint("margin", "demo", "KalshiPT")
    with pytest.raises(LocalProtocolError, match=r"'KalshiRFQ' is not a margin session type"):
        T.kalshi_endpoint("margin", "production", "KalshiRFQ")
    with pytest.raises(LocalProtocolError, match=r"'KalshiXX' is not a prediction session type"):
        T.kalshi_endpoint("prediction", "demo", "KalshiXX")
    with pytest.raises(LocalProtocolError, match=r"unknown product 'perps'"):
        T.kalshi_endpoint("perps", "demo", "KalshiNR")


def test_endpoint_validation_and_defaults() -> None:
    assert T.Endpoint("Example.COM", 443).server_hostname == "example.com"
    assert T.Endpoint("127.0.0.1", 9000, tls=False).server_hostname is None
    assert T.Endpoint("::1", 9000, tls=False).loopback
    assert str(T.Endpoint("::1", 9000, tls=False)) == "tcp://[::1]:9000"
    assert T.Endpoint(" [::1] ", 9000).host == "::1"
    for port in (0, 65536, -1, True, "8228"):
        with pytest.raises(LocalProtocolError, match="port"):
            T.Endpoint("localhost", port)  # type: ignore[arg-type, unused-ignore]
    for host in ("", "  ", "a b", "host/path"):
        with pytest.raises(LocalProtocolError, match="host"):
            T.Endpoint(host, 8228)
    with pytest.raises(LocalProtocolError, match="only applies to TLS"):
        T.Endpoint("127.0.0.1", 8228, tls=False, server_hostname="localhost")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        T.Endpoint("localhost", 1).port = 2  # type: ignore[misc, unused-ignore]


LOOPBACK = ["127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "[::1]", "localhost",
            "LOCALHOST", "localhost.", "::ffff:127.0.0.1"]  # fmt: skip
NOT_LOOPBACK = ["10.0.0.1", "128.0.0.1", "::2", "0.0.0.0", "192.168.1.1", "example.com",
                "localhost.example.com", "mylocalhost", "mm.fix.elections.kalshi.com"]  # fmt: skip


@pytest.mark.parametrize("host", LOOPBACK)
def test_plain_tcp_to_loopback_allowed(host: str) -> None:
    endpoint = T.Endpoint(host, 8228, tls=False)
    assert endpoint.loopback
    T.check_endpoint(endpoint)
    T.check_endpoint(T.Endpoint(host, 8228))  # TLS to loopback (mock gateway) too


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_plain_tcp_to_non_loopback_refused(host: str) -> None:
    endpoint = T.Endpoint(host, 8228, tls=False)
    assert not endpoint.loopback
    message = (
        rf"plain TCP to {re.escape(host)}:8228 refused: Kalshi requires TLS; "
        "plain TCP is only allowed to loopback"
    )
    with pytest.raises(LocalProtocolError, match=message):
        T.check_endpoint(endpoint)
    with pytest.raises(LocalProtocolError, match=message):  # the opt-in does not cover TLS
        T.check_endpoint(endpoint, allow_unlisted_hosts=True)


@pytest.mark.parametrize("host", ["example.com", "10.0.0.1", "fix.elections.kalshi.com"])
def test_unlisted_host_refused_unless_opted_in(host: str) -> None:
    endpoint = T.Endpoint(host, 8228)
    with pytest.raises(LocalProtocolError, match=r"not one of Kalshi's documented FIX hosts") as e:
        T.check_endpoint(endpoint)
    assert "allow_unlisted_hosts=True" in str(e.value)
    T.check_endpoint(endpoint, allow_unlisted_hosts=True)


def test_listed_host_matches_case_and_trailing_dot_insensitively() -> None:
    T.check_endpoint(T.Endpoint("MM.FIX.Elections.Kalshi.com.", 8228))


def test_errors_hierarchy() -> None:
    assert issubclass(T.TransportError, FixError)
    assert issubclass(T.ConnectionFailed, T.TransportError)
    cause = ConnectionRefusedError(111, "Connection refused")
    error = T.ConnectionFailed.for_endpoint(
        T.Endpoint("localhost", 8228), attempts=3, last_error=cause
    )
    assert error.attempts == 3 and error.last_error is cause
    assert str(error).startswith("could not connect to tls://localhost:8228 after 3 attempts")
    assert "ConnectionRefusedError" in str(error)
    one = T.ConnectionFailed.for_endpoint(T.Endpoint("localhost", 1), attempts=1)
    assert str(one) == "could not connect to tls://localhost:1 after 1 attempt"
    assert one.last_error is None


# --------------------------------------------------------------------------------------------
# TLS: certificates generated here, a real handshake on loopback


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject_key: ec.EllipticCurvePrivateKey,
    common_name: str,
    *,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    ca: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_name = issuer[0].subject if issuer else _name(common_name)
    signing_key = issuer[1] if issuer else subject_key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer_name)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@attrs.frozen
class ServerCert:
    cert_file: str  # what a client pins: the server certificate alone
    chain_file: str  # what the server presents (leaf, then its CA if any)
    key_file: str


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ServerCert]:
    """A self-signed server certificate and a CA-issued one (CN/SAN localhost, 127.0.0.1)."""
    base = tmp_path_factory.mktemp("tls")
    out: dict[str, ServerCert] = {}

    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(key, "localhost")
    (base / "self.pem").write_bytes(_pem(cert))
    (base / "self.key").write_bytes(_key_pem(key))
    out["self"] = ServerCert(str(base / "self.pem"), str(base / "self.pem"), str(base / "self.key"))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate(ca_key, "Test CA", ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate(leaf_key, "localhost", issuer=(ca_cert, ca_key))
    (base / "leaf.pem").write_bytes(_pem(leaf))
    (base / "chain.pem").write_bytes(_pem(leaf) + _pem(ca_cert))
    (base / "ca.pem").write_bytes(_pem(ca_cert))
    (base / "leaf.key").write_bytes(_key_pem(leaf_key))
    out["leaf"] = ServerCert(
        str(base / "leaf.pem"), str(base / "chain.pem"), str(base / "leaf.key")
    )
    out["ca"] = ServerCert(str(base / "ca.pem"), str(base / "ca.pem"), "")

    other_key = ec.generate_private_key(ec.SECP256R1())
    (base / "other.pem").write_bytes(_pem(_certificate(other_key, "localhost")))
    out["other"] = ServerCert(str(base / "other.pem"), str(base / "other.pem"), "")
    return out


class EchoServer:
    """A TLS echo server on 127.0.0.1 in a thread: one message per connection."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port: int = self.listener.getsockname()[1]
        self.errors: list[BaseException] = []
        self.versions: list[str | None] = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.stopping:
                conn.close()
                return
            with conn:
                conn.settimeout(10)
                try:
                    with self.context.wrap_socket(conn, server_side=True) as tls:
                        self.versions.append(tls.version())
                        data = tls.recv(65536)
                        tls.sendall(data)
                except (ssl.SSLError, OSError) as exc:
                    self.errors.append(exc)

    def close(self) -> None:
        self.stopping = True
        try:  # wake the blocked accept()
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        except OSError:
            pass
        self.thread.join(5)
        self.listener.close()


def _server_context(files: ServerCert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.chain_file, files.key_file)
    return context


@pytest.fixture
def echo_server(tls_files: dict[str, ServerCert]) -> Iterator[EchoServer]:
    server = EchoServer(_server_context(tls_files["self"]))
    yield server
    server.close()


@pytest.fixture
def chain_server(tls_files: dict[str, ServerCert]) -> Iterator[EchoServer]:
    server = EchoServer(_server_context(tls_files["leaf"]))
    yield server
    server.close()


PING = b"8=FIXT.1.1\x019=5\x0135=0\x0110=241\x01"


def roundtrip(endpoint: T.Endpoint, context: ssl.SSLContext | None, data: bytes = PING) -> bytes:
    T.check_endpoint(endpoint)
    context = T.ssl_context_for(endpoint, context)
    assert context is not None
    with (
        socket.create_connection((endpoint.host, endpoint.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=endpoint.server_hostname) as tls,
    ):
        tls.sendall(data)
        received = b""
        while len(received) < len(data):
            chunk = tls.recv(T.READ_CHUNK)
            if not chunk:
                break
            received += chunk
        return received


def local(port: int, server_hostname: str = "localhost") -> T.Endpoint:
    return T.Endpoint("127.0.0.1", port, tls=True, server_hostname=server_hostname)


def test_tls_round_trip_with_pinned_self_signed_cert(
    echo_server: EchoServer, tls_files: dict[str, ServerCert]
) -> None:
    context = T.make_ssl_context(pinned_cert=tls_files["self"].cert_file)
    assert roundtrip(local(echo_server.port), context) == PING
    assert echo_server.versions[-1] in ("TLSv1.2", "TLSv1.3")
    # the host name is still checked: the certificate names localhost and 127.0.0.1
    assert roundtrip(local(echo_server.port, "127.0.0.1"), context) == PING
    with pytest.raises(ssl.SSLCertVerificationError, match=r"match|mismatch"):
        roundtrip(local(echo_server.port, "mm.fix.elections.kalshi.com"), context)


def test_tls_default_context_refuses_unknown_cert(echo_server: EchoServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        roundtrip(local(echo_server.port), T.make_ssl_context())
    with pytest.raises(ssl.SSLCertVerificationError):  # ssl_context_for builds the default
        roundtrip(local(echo_server.port), None)


def test_tls_pin_of_another_cert_refused(
    echo_server: EchoServer, tls_files: dict[str, ServerCert]
) -> None:
    context = T.make_ssl_context(pinned_cert=tls_files["other"].cert_file)
    with pytest.raises(ssl.SSLCertVerificationError):
        roundtrip(local(echo_server.port), context)


def test_tls_pin_of_ca_issued_leaf_works(
    chain_server: EchoServer, tls_files: dict[str, ServerCert]
) -> None:
    # What `openssl s_client ... | openssl x509 > kalshi-fix.pem` gives for Kalshi: the leaf
    # only, not its CA. Trusting it needs OpenSSL's partial-chain flag.
    context = T.make_ssl_context(pinned_cert=tls_files["leaf"].cert_file)
    assert context.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN
    assert roundtrip(local(chain_server.port), context) == PING
    # pinning the CA instead is not pinning: trusting it as a cafile is the way to do that
    assert roundtrip(local(chain_server.port), T.make_ssl_context(cafile=tls_files["ca"].cert_file))
    with pytest.raises(ssl.SSLCertVerificationError):
        roundtrip(local(chain_server.port), T.make_ssl_context())


def test_tls_cafile_and_verify_false(
    echo_server: EchoServer, tls_files: dict[str, ServerCert]
) -> None:
    context = T.make_ssl_context(cafile=tls_files["self"].cert_file)
    assert roundtrip(local(echo_server.port), context) == PING
    insecure = T.make_ssl_context(verify=False)
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname
    assert roundtrip(local(echo_server.port, "anything.example"), insecure) == PING


def test_tls_1_1_refused(tls_files: dict[str, ServerCert]) -> None:
    files = tls_files["self"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server_context.minimum_version = ssl.TLSVersion.TLSv1_1
            server_context.maximum_version = ssl.TLSVersion.TLSv1_1
            server_context.set_ciphers("DEFAULT:@SECLEVEL=0")
            server_context.load_cert_chain(files.chain_file, files.key_file)
            probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            probe.check_hostname = False
            probe.verify_mode = ssl.CERT_NONE
            probe.minimum_version = ssl.TLSVersion.TLSv1_1
            probe.maximum_version = ssl.TLSVersion.TLSv1_1
            probe.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ssl.SSLError, ValueError) as exc:
            pytest.skip(f"this OpenSSL cannot be configured for TLS 1.1: {exc}")
    server = EchoServer(server_context)
    try:
        try:
            roundtrip(local(server.port), probe)
        except (ssl.SSLError, OSError) as exc:
            pytest.skip(f"this platform cannot negotiate TLS 1.1 even when asked to: {exc}")
        assert server.versions[-1] == "TLSv1.1"
        context = T.make_ssl_context(pinned_cert=files.cert_file)
        with pytest.raises(ssl.SSLError) as info:
            roundtrip(local(server.port), context)
        assert not isinstance(info.value, ssl.SSLCertVerificationError)  # refused for version
    finally:
        server.close()


def test_ssl_context_defaults() -> None:
    context = T.make_ssl_context()
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert not context.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN


def test_ssl_context_for() -> None:
    plain = T.Endpoint("127.0.0.1", 1, tls=False)
    assert T.ssl_context_for(plain) is None
    with pytest.raises(LocalProtocolError, match="plain TCP"):
        T.ssl_context_for(plain, T.make_ssl_context())
    given_context = T.make_ssl_context()
    assert T.ssl_context_for(T.Endpoint("localhost", 1), given_context) is given_context
    assert isinstance(T.ssl_context_for(T.Endpoint("localhost", 1)), ssl.SSLContext)


def test_ssl_context_option_conflicts(tls_files: dict[str, ServerCert]) -> None:
    pem = tls_files["self"].cert_file
    with pytest.raises(LocalProtocolError, match="not both"):
        T.make_ssl_context(pinned_cert=pem, cafile=pem)
    with pytest.raises(LocalProtocolError, match="verify=False"):
        T.make_ssl_context(pinned_cert=pem, verify=False)


def test_ssl_context_bad_pem_files(tmp_path: Path, tls_files: dict[str, ServerCert]) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(LocalProtocolError, match=rf"not found: {re.escape(repr(str(missing)))}"):
        T.make_ssl_context(pinned_cert=str(missing))
    with pytest.raises(LocalProtocolError, match="is a directory"):
        T.make_ssl_context(cafile=str(tmp_path))
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(Path(tls_files["self"].key_file).read_bytes())
    with pytest.raises(LocalProtocolError, match=r"key\.pem.*private key, not a certificate"):
        T.make_ssl_context(pinned_cert=str(key_file))
    der = tmp_path / "cert.der"
    der.write_bytes(
        x509.load_pem_x509_certificate(Path(tls_files["self"].cert_file).read_bytes()).public_bytes(
            serialization.Encoding.DER
        )
    )
    with pytest.raises(LocalProtocolError, match=r"cert\.der.*binary DER"):
        T.make_ssl_context(pinned_cert=str(der))
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    with pytest.raises(LocalProtocolError, match=r"empty\.pem.*empty"):
        T.make_ssl_context(cafile=str(empty))
    text = tmp_path / "text.pem"
    text.write_text("hello\n")
    with pytest.raises(LocalProtocolError, match=r"text\.pem.*no '-----BEGIN CERTIFICATE-----'"):
        T.make_ssl_context(cafile=str(text))
    damaged = tmp_path / "damaged.pem"
    lines = Path(tls_files["self"].cert_file).read_text().splitlines()
    damaged.write_text("\n".join(lines[:3] + lines[-1:]) + "\n")
    with pytest.raises(LocalProtocolError, match=r"damaged\.pem.*damaged or truncated"):
        T.make_ssl_context(pinned_cert=str(damaged))
    with pytest.raises(LocalProtocolError, match=r"chain\.pem' holds 2 certificates"):
        T.make_ssl_context(pinned_cert=tls_files["leaf"].chain_file)


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root"
)
def test_ssl_context_unreadable_pem(tmp_path: Path, tls_files: dict[str, ServerCert]) -> None:
    locked = tmp_path / "locked.pem"
    locked.write_bytes(Path(tls_files["self"].cert_file).read_bytes())
    locked.chmod(0)
    with pytest.raises(LocalProtocolError, match=r"locked\.pem.*permission denied"):
        T.make_ssl_context(pinned_cert=str(locked))


# --------------------------------------------------------------------------------------------
# Backoff


def expected_delays(seed: int, count: int, base: float = 0.5, cap: float = 30.0) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(0, min(cap, base * 2**n)) for n in range(count)]


def test_backoff_exact_sequence_for_a_seed() -> None:
    backoff = T.Backoff(seed=1234)
    delays = list(backoff.delays())
    assert delays == expected_delays(1234, 10)
    assert len(delays) == 10 and backoff.retries == 10
    assert list(backoff.delays()) == [] and backoff.next_delay() is None
    backoff.reset()
    assert backoff.retries == 0
    assert list(backoff.delays()) == delays  # a seeded backoff repeats after reset


def test_backoff_defaults_attempts_and_forever() -> None:
    backoff = T.Backoff()
    assert (backoff.base, backoff.cap, backoff.attempts, backoff.seed) == (0.5, 30.0, 10, None)
    assert list(T.Backoff(attempts=0).delays()) == []
    forever = T.Backoff(attempts=None, seed=7)
    values = [next(iter(forever.delays())) for _ in range(3000)]  # no overflow, no end
    assert all(0.0 <= v <= 30.0 for v in values)
    assert values[:12] == expected_delays(7, 12)


def test_backoff_validation() -> None:
    for kwargs in ({"base": 0}, {"cap": -1.0}, {"attempts": -1}, {"attempts": 1.5}):
        with pytest.raises(LocalProtocolError, match="Backoff"):
            T.Backoff(**kwargs)  # type: ignore[arg-type, unused-ignore]


@settings(max_examples=200, deadline=None)
@given(
    base=st.floats(min_value=1e-3, max_value=100.0),
    cap=st.floats(min_value=1e-3, max_value=1000.0),
    attempts=st.integers(min_value=0, max_value=60),
    seed=st.integers(),
)
def test_backoff_bounds(base: float, cap: float, attempts: int, seed: int) -> None:
    backoff = T.Backoff(base=base, cap=cap, attempts=attempts, seed=seed)
    delays = list(backoff.delays())
    assert len(delays) == attempts
    for n, delay in enumerate(delays):
        assert 0.0 <= delay <= min(cap, base * 2.0**n)
    assert delays == expected_delays(seed, attempts, base, cap)


# --------------------------------------------------------------------------------------------
# Reconnect plans


def _config(product: str, session_type: str, **kwargs: Any) -> SessionConfig:
    return SessionConfig(sender_comp_id="key", product=product, session_type=session_type, **kwargs)


RESETTING = {"KalshiNR", "KalshiDC", "KalshiRFQ", "KalshiMD"}
CONTINUING = {"KalshiRT", "KalshiPT"}


@pytest.mark.parametrize("after_maintenance", [False, True])
@pytest.mark.parametrize("after_gap_teardown", [False, True])
@pytest.mark.parametrize(("product", "session_type"), ALL_SESSIONS)
def test_reconnect_plan_for_every_session_type(
    product: str, session_type: str, after_gap_teardown: bool, after_maintenance: bool
) -> None:
    config = _config(product, session_type)
    plan = T.reconnect_plan(
        config, after_gap_teardown=after_gap_teardown, after_maintenance=after_maintenance
    )
    assert isinstance(plan, T.ReconnectPlan)
    assert session_type in RESETTING | CONTINUING
    assert plan.reset_seq_nums is (session_type in RESETTING)
    assert plan.reset_seq_nums is SESSIONS[(product, session_type)].reset_seq_num_required
    assert session_type in plan.reason
    if session_type in RESETTING:
        assert "ResetSeqNumFlag(141)=Y" in plan.reason
        assert ("gap cannot be recovered" in plan.reason) is after_gap_teardown
    else:
        assert "ResendRequest" in plan.reason
        assert ("protocol fault" in plan.reason) is after_gap_teardown
        assert ("maintenance" in plan.reason) is after_maintenance
    # maintenance_reset resets the retransmission sessions too, only after maintenance
    strict = T.reconnect_plan(
        config,
        after_gap_teardown=after_gap_teardown,
        after_maintenance=after_maintenance,
        maintenance_reset=True,
    )
    assert strict.reset_seq_nums is (session_type in RESETTING or after_maintenance)


def test_reconnect_plan_respects_configured_reset_and_refuses_acceptor() -> None:
    plan = T.reconnect_plan(
        _config("prediction", "KalshiRT", reset_seq_num=True), after_gap_teardown=False
    )
    assert plan.reset_seq_nums and "reset_seq_num=True" in plan.reason
    acceptor = _config("prediction", "KalshiRT", role=Role.ACCEPTOR)
    with pytest.raises(LocalProtocolError, match="initiator"):
        T.reconnect_plan(acceptor, after_gap_teardown=False)


def _utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    moment = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)
    return moment.timestamp()


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (_utc(2026, 1, 8, 8, 30), True),  # Thu 03:30 EST
        (_utc(2026, 1, 8, 7, 59, 59), False),  # Thu 02:59:59 EST
        (_utc(2026, 1, 8, 8, 0), True),  # Thu 03:00 EST
        (_utc(2026, 1, 8, 10, 0), False),  # Thu 05:00 EST
        (_utc(2026, 7, 9, 7, 30), True),  # Thu 03:30 EDT
        (_utc(2026, 7, 9, 8, 59, 59), True),  # Thu 04:59:59 EDT
        (_utc(2026, 7, 9, 9, 0), False),  # Thu 05:00 EDT
        (_utc(2026, 3, 5, 7, 30), False),  # Thu 02:30 EST (before DST starts on 8 March)
        (_utc(2026, 3, 12, 7, 30), True),  # Thu 03:30 EDT
        (_utc(2026, 1, 7, 8, 30), False),  # Wednesday
    ],
)
def test_maintenance_window(moment: float, inside: bool) -> None:
    assert T.in_maintenance_window(moment) is inside
    assert (T.seconds_until_maintenance_ends(moment) > 0) is inside


def test_seconds_until_maintenance_ends() -> None:
    assert T.seconds_until_maintenance_ends(_utc(2026, 1, 8, 8, 30)) == 5400.0
    assert T.seconds_until_maintenance_ends(_utc(2026, 7, 9, 8, 59, 59)) == 1.0
    assert T.seconds_until_maintenance_ends(_utc(2026, 7, 9, 9, 0)) == 0.0


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=JAN_1_2026 - 20 * 365 * 86400, max_value=JAN_1_2026 + 20 * 365 * 86400))
def test_maintenance_window_agrees_with_tz_database(now: float) -> None:
    try:
        from zoneinfo import ZoneInfo

        new_york = ZoneInfo("America/New_York")
    except Exception:  # no tz database on this machine
        pytest.skip("no tz database")
    local = datetime.datetime.fromtimestamp(now, new_york)
    assert T.in_maintenance_window(now) is (local.weekday() == 3 and 3 <= local.hour < 5)


# --------------------------------------------------------------------------------------------
# FIX message log


def frame(body: bytes) -> bytes:
    head = b"8=FIXT.1.1\x019=" + str(len(body)).encode() + SOH + body
    return head + b"10=%03d\x01" % checksum(head)


SIGNATURE_WITH_SOH = b"SIGA\x01SIGB=SIGC\x01SIGD"  # 19 bytes, containing SOH and '='
LOGON = frame(
    b"35=A\x0149=key\x0156=KalshiNR\x0134=1\x0152=20260101-00:00:00.000\x0198=0\x01108=30\x01"
    b"95=" + str(len(SIGNATURE_WITH_SOH)).encode() + b"\x0196=" + SIGNATURE_WITH_SOH
    + b"\x011137=9\x01"
)  # fmt: skip
LOGON_NO_95 = frame(b"35=A\x0149=key\x0156=KalshiNR\x0134=1\x0196=SIGXYZ+/=\x011137=9\x01")
SECRETS = (b"SIGA", b"SIGB", b"SIGC", b"SIGD", b"SIGXYZ")


def test_redact_frame_with_length_field_and_soh_in_data() -> None:
    redacted = T.redact_frame(LOGON)
    assert b"\x0195=19\x0196=<redacted 19 bytes>\x011137=9\x01" in redacted
    assert not any(s in redacted for s in SECRETS)


def test_redact_frame_without_length_field() -> None:
    redacted = T.redact_frame(LOGON_NO_95)
    assert b"\x0196=<redacted 9 bytes>\x011137=9\x01" in redacted
    assert b"SIGXYZ" not in redacted


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"95=3\x0196=SIGXYZSIG\x0110=000\x01", b"95=3\x0196=<redacted 9 bytes>\x0110=000\x01"),
        (b"95=99\x0196=SIGXYZ", b"95=99\x0196=<redacted 6 bytes>"),
        (b"95=x\x0196=SIGXYZ\x011=2\x01", b"95=x\x0196=<redacted 6 bytes>\x011=2\x01"),
        (b"junk\x0196=SIGXYZ\x01", b"junk\x0196=<redacted 6 bytes>\x01"),
        (b"93=6\x0189=SIGX\x01Z\x01", b"93=6\x0189=<redacted 6 bytes>\x01"),
        (b"554=SIGXYZ\x01925=SIGXYZ", b"554=<redacted 6 bytes>\x01925=<redacted 6 bytes>"),
        (b"96=", b"96=<redacted 0 bytes>"),
        (b"58=no secrets here\x01", b"58=no secrets here\x01"),
        (b"196=ok\x01960=ok\x01", b"196=ok\x01960=ok\x01"),
    ],
)
def test_redact_frame_edge_cases(data: bytes, expected: bytes) -> None:
    assert T.redact_frame(data) == expected


@settings(max_examples=300, deadline=None)
@given(prefix=st.binary(max_size=40), secret=st.binary(min_size=1, max_size=40))
def test_redaction_never_shows_a_length_framed_secret(prefix: bytes, secret: bytes) -> None:
    marked = b"\xffS" + secret + b"S\xff"  # a marker that cannot come from the prefix alone
    data = prefix + SOH + b"95=" + str(len(marked)).encode() + SOH + b"96=" + marked + SOH
    redacted = T.redact_frame(data)
    assert marked not in redacted
    assert redacted.endswith(b"96=<redacted %d bytes>\x01" % len(marked))


LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (IN|OUT) KalshiNR/key \S.*$")


def test_message_log_to_file(tmp_path: Path) -> None:
    path = tmp_path / "messages.log"
    path.write_text("earlier line\n")
    with T.MessageLog("KalshiNR/key", path=path) as log:
        assert log.enabled
        log.log_frame("OUT", LOGON, now=JAN_1_2026 + 0.25)
        log.log_frame("IN", LOGON_NO_95, now=JAN_1_2026 + 1)
        # line-buffered: visible before close
        assert len(path.read_text().splitlines()) == 3
    log.close()  # idempotent
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "earlier line"  # append mode
    assert all(LINE.match(line) for line in lines[1:])
    assert lines[1].startswith("2026-01-01T00:00:00.250000Z OUT KalshiNR/key 8=FIXT.1.1|9=")
    assert "|95=19|96=<redacted 19 bytes>|1137=9|10=" in lines[1]
    assert lines[2].startswith("2026-01-01T00:00:01.000000Z IN KalshiNR/key ")
    assert "|96=<redacted 9 bytes>|" in lines[2]
    text = path.read_text(encoding="latin-1")
    assert not any(s.decode() in text for s in SECRETS)
    assert "\x01" not in text


def test_message_log_through_caplog(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=T.MESSAGE_LOGGER_NAME)
    log = T.MessageLog("KalshiNR/key")
    assert log.enabled and log.path is None
    log.log_frame("OUT", LOGON, now=JAN_1_2026)
    log.log_frame("IN", LOGON_NO_95, now=JAN_1_2026)
    records = [r for r in caplog.records if r.name == T.MESSAGE_LOGGER_NAME]
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]
    assert [r.fix_direction for r in records] == ["OUT", "IN"]  # type: ignore[attr-defined]
    assert all(LINE.match(r.getMessage()) for r in records)
    assert "96=<redacted 19 bytes>" in records[0].getMessage()
    assert not any(s.decode() in caplog.text for s in SECRETS)


def test_message_log_is_off_unless_configured() -> None:
    logger = logging.getLogger(T.MESSAGE_LOGGER_NAME)
    assert logger.level == logging.NOTSET  # the library never turns it on
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    quiet = logging.getLogger("kalshi_fix_sansio.tests.quiet")
    quiet.setLevel(logging.WARNING)
    log = T.MessageLog("x", logger=quiet)
    assert not log.enabled
    log.received(LOGON, now=0.0)  # no work, no error
    log.log_frame("IN", LOGON)


def test_message_log_cuts_stream_chunks_into_frames(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=T.MESSAGE_LOGGER_NAME)
    log = T.MessageLog("KalshiNR/key")
    heartbeat = frame(b"35=0\x0149=Kalshi\x0156=key\x0134=2\x01")
    stream = LOGON + heartbeat + b"garbage!" + heartbeat
    for i in range(len(stream)):  # byte by byte
        log.received(stream[i : i + 1], now=JAN_1_2026)
    log.sent(LOGON + heartbeat, now=JAN_1_2026)  # one chunk, two frames
    log.received(b"garbage!" + heartbeat, now=JAN_1_2026)  # junk in one chunk: one record
    messages = [r.getMessage() for r in caplog.records if r.name == T.MESSAGE_LOGGER_NAME]
    fields = [m.split(" ", 3)[1:] for m in messages]
    assert all(sid == "KalshiNR/key" for _, sid, _ in fields)
    frames = [(d, text) for d, _, text in fields if not text.startswith("<garbled")]
    garbled = [text for _, _, text in fields if text.startswith("<garbled")]
    assert [d for d, _ in frames] == ["IN", "IN", "IN", "OUT", "OUT", "IN"]
    assert "|96=<redacted 19 bytes>|" in frames[0][1] and frames[0][1] == frames[3][1]
    assert frames[1][1] == frames[2][1] == frames[4][1] == frames[5][1]
    assert frames[1][1].endswith(
        "|35=0|49=Kalshi|56=key|34=2|10=" + heartbeat[-4:-1].decode() + "|"
    )
    # byte by byte the junk shows as one record per feed; content is never logged
    assert garbled[:-1] == ["<garbled: junk before BeginString: 1 bytes skipped>"] * 8
    assert garbled[-1] == "<garbled: junk before BeginString: 8 bytes skipped>"
    assert "garbage" not in caplog.text
    assert not any(s.decode() in caplog.text for s in SECRETS)


def test_message_log_escapes_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "m.log"
    with T.MessageLog("s", path=path) as log:
        log.log_frame("IN", b"58=line1\nFAKE 2026 IN s 8=\r\x00\xff\xe2\x80\xa8|", now=0.0)
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") == 1
    assert "58=line1\\x0aFAKE 2026 IN s 8=\\x0d\\x00\\xff\\u2028|" in text


def test_message_log_errors(tmp_path: Path) -> None:
    with pytest.raises(LocalProtocolError, match="whitespace"):
        T.MessageLog("a b")
    target = tmp_path / "missing-dir" / "m.log"
    log = T.MessageLog("s", path=target)  # building a log opens nothing
    assert not target.parent.exists()
    with pytest.raises(LocalProtocolError, match=re.escape(repr(str(target)))):
        log.open()


def test_message_log_file_is_opened_on_open_not_at_construction(tmp_path: Path) -> None:
    target = tmp_path / "m.log"
    log = T.MessageLog("s", path=target)
    log.log_frame("OUT", LOGON, now=JAN_1_2026)  # before open: the logger only
    assert not target.exists()
    assert log.open() is log and log.open() is log  # idempotent
    log.log_frame("OUT", LOGON, now=JAN_1_2026)
    log.close()
    log.log_frame("OUT", LOGON, now=JAN_1_2026)  # after close: the logger only
    assert len(target.read_text(encoding="utf-8").splitlines()) == 1


def test_message_log_for_config(tmp_path: Path) -> None:
    log = T.MessageLog.for_config(_config("margin", "KalshiRT"), path=tmp_path / "x.log")
    assert log.session_id == "KalshiRT/key" and log.path == str(tmp_path / "x.log")
    log.close()


# --------------------------------------------------------------------------------------------
# Credentials

PASSPHRASE = "correct horse battery staple"
KEY_ID = "0b9e4a6e-2d7c-4f43-9d1e-6a1c2b3d4e5f"


@attrs.frozen
class KeyFiles:
    key: ed25519.Ed25519PrivateKey
    pem: str
    path: str
    encrypted_pem: str
    encrypted_path: str


@pytest.fixture(scope="module")
def ed25519_key(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    base = tmp_path_factory.mktemp("keys")
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    ).decode()
    (base / "kalshi-fix.key").write_text(pem)
    (base / "kalshi-fix-enc.key").write_text(encrypted)
    return KeyFiles(
        key, pem, str(base / "kalshi-fix.key"), encrypted, str(base / "kalshi-fix-enc.key")
    )


def _signs_for(credentials: T.Credentials, key: ed25519.Ed25519PrivateKey) -> None:
    payload = logon_payload("20260101-00:00:00.000", 1, credentials.key_id, "KalshiNR")
    key.public_key().verify(credentials.signer.sign(payload), payload)  # raises if wrong


def _assert_no_secret(text: str, files: KeyFiles) -> None:
    body = [line for line in files.pem.splitlines() if "-----" not in line]
    assert not any(line in text for line in body)
    assert "PRIVATE" not in text and PASSPHRASE not in text


PREDICTION_VARS = {"id": "KALSHI_KEY_ID", "pem": "KALSHI_PRIVATE_KEY",
                   "path": "KALSHI_PRIVATE_KEY_PATH", "pass": "KALSHI_PRIVATE_KEY_PASSPHRASE"}  # fmt: skip
MARGIN_VARS = {"id": "KALSHI_PERPS_KEY_ID", "pem": "KALSHI_PERPS_PRIVATE_KEY",
               "path": "KALSHI_PERPS_PRIVATE_KEY_PATH",
               "pass": "KALSHI_PERPS_PRIVATE_KEY_PASSPHRASE"}  # fmt: skip


@pytest.mark.parametrize(
    ("product", "names"), [("prediction", PREDICTION_VARS), ("margin", MARGIN_VARS)]
)
def test_credentials_from_env_for_both_products(
    product: str, names: dict[str, str], ed25519_key: KeyFiles
) -> None:
    by_path = T.Credentials.from_env(
        product, {names["id"]: KEY_ID, names["path"]: ed25519_key.path}
    )
    assert by_path.key_id == KEY_ID
    _signs_for(by_path, ed25519_key.key)
    by_pem = T.Credentials.from_env(product, {names["id"]: KEY_ID, names["pem"]: ed25519_key.pem})
    _signs_for(by_pem, ed25519_key.key)
    one_line = ed25519_key.pem.strip().replace("\n", "\\n")
    escaped = T.Credentials.from_env(product, {names["id"]: f" {KEY_ID}\n", names["pem"]: one_line})
    assert escaped.key_id == KEY_ID
    _signs_for(escaped, ed25519_key.key)
    encrypted = T.Credentials.from_env(
        product,
        {names["id"]: KEY_ID, names["path"]: ed25519_key.encrypted_path, names["pass"]: PASSPHRASE},
    )
    _signs_for(encrypted, ed25519_key.key)
    encrypted_pem = T.Credentials.from_env(
        product,
        {names["id"]: KEY_ID, names["pem"]: ed25519_key.encrypted_pem, names["pass"]: PASSPHRASE},
    )
    _signs_for(encrypted_pem, ed25519_key.key)
    for credentials in (by_path, by_pem, encrypted):
        assert repr(credentials) == f"Credentials(key_id={KEY_ID!r}, signer=<Ed25519 signer>)"
        _assert_no_secret(repr(credentials) + str(credentials), ed25519_key)


def test_credentials_from_os_environ(
    monkeypatch: pytest.MonkeyPatch, ed25519_key: KeyFiles
) -> None:
    monkeypatch.setenv("KALSHI_PERPS_KEY_ID", KEY_ID)
    monkeypatch.setenv("KALSHI_PERPS_PRIVATE_KEY_PATH", ed25519_key.path)
    monkeypatch.delenv("KALSHI_PERPS_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("KALSHI_PERPS_PRIVATE_KEY_PASSPHRASE", raising=False)
    _signs_for(T.Credentials.from_env("margin"), ed25519_key.key)


def test_credentials_missing_variables() -> None:
    with pytest.raises(LocalProtocolError) as info:
        T.Credentials.from_env("prediction", {})
    assert str(info.value) == (
        "prediction FIX credentials are not set: set KALSHI_KEY_ID and KALSHI_PRIVATE_KEY (the "
        "PEM text) or KALSHI_PRIVATE_KEY_PATH (the key file) (optional: "
        "KALSHI_PRIVATE_KEY_PASSPHRASE for an encrypted key)"
    )
    with pytest.raises(LocalProtocolError) as info:
        T.Credentials.from_env("prediction", {"KALSHI_PRIVATE_KEY_PATH": "/x", "KALSHI_KEY_ID": ""})
    assert "set KALSHI_KEY_ID (optional" in str(info.value)
    with pytest.raises(LocalProtocolError) as info:
        T.Credentials.from_env("margin", {"KALSHI_PERPS_KEY_ID": KEY_ID})
    assert str(info.value).startswith(
        "margin FIX credentials are not set: set KALSHI_PERPS_PRIVATE_KEY (the PEM text) or "
        "KALSHI_PERPS_PRIVATE_KEY_PATH (the key file)"
    )
    with pytest.raises(LocalProtocolError, match=r"margin reads the KALSHI_PERPS_\* variables"):
        T.Credentials.from_env("margin", {"KALSHI_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY": "x"})
    with pytest.raises(LocalProtocolError, match="set only one"):
        T.Credentials.from_env(
            "prediction",
            {"KALSHI_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY": "x", "KALSHI_PRIVATE_KEY_PATH": "y"},
        )
    with pytest.raises(LocalProtocolError, match="unknown product"):
        T.Credentials.from_env("perps", {})


def test_credentials_key_errors_propagate(ed25519_key: KeyFiles, tmp_path: Path) -> None:
    with pytest.raises(KeyLoadError, match="encrypted: pass its passphrase") as info:
        T.Credentials.from_env(
            "prediction", {"KALSHI_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY": ed25519_key.encrypted_pem}
        )
    _assert_no_secret(str(info.value), ed25519_key)
    missing = str(tmp_path / "none.key")
    with pytest.raises(KeyLoadError, match="private key file not found"):
        T.Credentials.from_env(
            "prediction", {"KALSHI_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": missing}
        )
    with pytest.raises(KeyLoadError, match="could not decrypt"):
        T.Credentials.from_key(KEY_ID, path=ed25519_key.encrypted_path, passphrase="wrong")


def test_credentials_from_key(ed25519_key: KeyFiles) -> None:
    _signs_for(T.Credentials.from_key(KEY_ID, pem=ed25519_key.pem.encode()), ed25519_key.key)
    _signs_for(T.Credentials.from_key(KEY_ID, path=Path(ed25519_key.path)), ed25519_key.key)
    with pytest.raises(LocalProtocolError, match="exactly one of pem"):
        T.Credentials.from_key(KEY_ID)
    with pytest.raises(LocalProtocolError, match="exactly one of pem"):
        T.Credentials.from_key(KEY_ID, pem=ed25519_key.pem, path=ed25519_key.path)
    for bad in ("", "a b", "a\x01b"):
        with pytest.raises(LocalProtocolError, match="key id"):
            T.Credentials.from_key(bad, pem=ed25519_key.pem)
    credentials = T.Credentials.from_key(KEY_ID, pem=ed25519_key.pem)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        credentials.key_id = "other"  # type: ignore[misc, unused-ignore]
    config = SessionConfig(sender_comp_id=credentials.key_id, signer=credentials.signer)
    assert config.signer is credentials.signer


def test_back_pressure_constants() -> None:
    assert T.MAX_BUFFERED_OUTBOUND == 8 * 1024 * 1024
    assert T.READ_CHUNK == 65536


def test_module_imports_no_event_loop() -> None:
    import ast

    tree = ast.parse(Path(T.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"asyncio", "trio", "anyio", "threading", "selectors"}


def _rows(*addresses: str) -> list[tuple[Any, ...]]:
    return [
        (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 1))
        for a in addresses
    ]


def test_loopback_addresses_keeps_only_an_all_loopback_resolution() -> None:
    plain = T.Endpoint("localhost", 1, tls=False)
    rows = _rows("127.0.0.1", "::1", "127.0.0.1", "::ffff:127.0.0.2")
    assert T.loopback_addresses(plain, rows) == ["127.0.0.1", "::1", "::ffff:127.0.0.2"]
    with pytest.raises(LocalProtocolError, match=r"resolves to 10\.0\.0\.1, which is not loopback"):
        T.loopback_addresses(plain, _rows("127.0.0.1", "10.0.0.1"))
    with pytest.raises(LocalProtocolError, match="resolved to no address"):
        T.loopback_addresses(plain, [])
    with pytest.raises(LocalProtocolError, match="for plain TCP"):
        T.loopback_addresses(T.Endpoint("localhost", 1), rows)


def test_tls_weaknesses_of_library_and_caller_contexts(
    tls_files: dict[str, ServerCert], caplog: pytest.LogCaptureFixture
) -> None:
    assert T.tls_weaknesses(T.make_ssl_context()) == []
    assert T.tls_weaknesses(T.make_ssl_context(pinned_cert=tls_files["self"].cert_file)) == []
    assert T.tls_weaknesses(T.make_ssl_context(verify=False)) == [
        "certificate verification is off (verify_mode CERT_NONE)",
        "the host name is not checked (check_hostname False)",
    ]
    old = T.make_ssl_context()
    with warnings.catch_warnings():  # setting TLS 1.1 is deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.TLSv1_1
    assert T.tls_weaknesses(old) == ["minimum_version TLSv1_1 is below TLS 1.2"]
    endpoint = T.Endpoint("localhost", 8228)
    with caplog.at_level(logging.WARNING, logger=T.TRANSPORT_LOGGER_NAME):
        assert T.ssl_context_for(endpoint, old) is old  # used as given, but not silently
        assert T.ssl_context_for(endpoint, T.make_ssl_context()) is not None
    assert [r.getMessage() for r in caplog.records] == [
        "tls://localhost:8228: the TLS context is weaker than the library's: minimum_version "
        "TLSv1_1 is below TLS 1.2; anyone on the path can read or alter this session, "
        "including the signed Logon"
    ]
    with pytest.raises(LocalProtocolError, match="server-side context"):
        T.ssl_context_for(endpoint, ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))


def test_redact_frame_treats_leading_zero_tags_as_the_secret_tag() -> None:
    assert T.redact_frame(b"35=0\x01096=SIG\x01") == b"35=0\x01096=<redacted 3 bytes>\x01"
    assert T.redact_frame(b"0095=4\x010096=S\x01G!\x011=2\x01") == (
        b"0095=4\x010096=<redacted 4 bytes>\x011=2\x01"
    )

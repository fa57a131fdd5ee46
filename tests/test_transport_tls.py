"""TLS of the adapters (``kalshi_fix_sansio.adapters``: ``make_ssl_context``,
``ssl_context_for``): a real handshake on loopback with certificates generated here with
``cryptography`` (pinned, CA-issued, refused), the SSL contexts the library makes, and the
weaknesses it warns about.

No network access beyond 127.0.0.1.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import kalshi_fix_sansio.adapters as T
import kalshi_fix_sansio.client as client
from kalshi_fix_sansio.codec.errors import LocalProtocolError

# --------------------------------------------------------------------------------------------
# TLS: certificates generated here, a real handshake on loopback


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _certificate(
    subject_key: PrivateKey,
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


def _key_pem(key: PrivateKey) -> bytes:
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

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (base / "rsa.pem").write_bytes(_pem(_certificate(rsa_key, "localhost")))
    (base / "rsa.key").write_bytes(_key_pem(rsa_key))
    out["rsa"] = ServerCert(str(base / "rsa.pem"), str(base / "rsa.pem"), str(base / "rsa.key"))
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
        self.ciphers: list[str] = []  # the cipher suite of each handshake
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
                        cipher = tls.cipher()
                        self.ciphers.append(cipher[0] if cipher else "")
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


def roundtrip(
    endpoint: client.Endpoint, context: ssl.SSLContext | None, data: bytes = PING
) -> bytes:
    client.check_endpoint(endpoint)
    with warnings.catch_warnings():  # the weak contexts here are the point of their tests
        warnings.simplefilter("ignore", client.InsecureTLSWarning)
        context = T.ssl_context_for(endpoint, context)
    assert context is not None
    with (
        socket.create_connection((endpoint.host, endpoint.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=endpoint.server_hostname) as tls,
    ):
        tls.sendall(data)
        received = b""
        while len(received) < len(data):
            chunk = tls.recv(client.READ_CHUNK)
            if not chunk:
                break
            received += chunk
        return received


def local(port: int, server_hostname: str = "localhost") -> client.Endpoint:
    return client.Endpoint("127.0.0.1", port, tls=True, server_hostname=server_hostname)


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
    # the flags are Python's own (3.13's default sets the partial-chain flag, older ones not)
    assert context.verify_flags == ssl.create_default_context().verify_flags


# The AWS Network Load Balancer security policies Kalshi's connectivity pages point to ("cipher
# suites follow AWS Network Load Balancer TLS policies", TLS 1.2 or higher): each policy's TLS
# 1.2 suites in OpenSSL's names, as AWS's policy tables list them, and its protocol range. Their
# TLS 1.3 suites are OpenSSL's default three, which neither side can change from Python.
AWS_TLS13_SUITES = {
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
}
ECDHE_GCM = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
)
ECDHE_CBC_SHA2 = (
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
)
RSA_KX = ("AES128-GCM-SHA256", "AES128-SHA256", "AES256-GCM-SHA384", "AES256-SHA256")
AWS_POLICIES: dict[str, tuple[ssl.TLSVersion, ssl.TLSVersion, tuple[str, ...]]] = {
    # the console's default before the post-quantum policies (their TLS 1.2 list is the same)
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06": (
        ssl.TLSVersion.TLSv1_2,
        ssl.TLSVersion.TLSv1_3,
        ECDHE_GCM,
    ),
    "ELBSecurityPolicy-TLS13-1-2-2021-06": (
        ssl.TLSVersion.TLSv1_2,
        ssl.TLSVersion.TLSv1_3,
        ECDHE_GCM + ECDHE_CBC_SHA2 + RSA_KX,
    ),
    # the default of a listener made with the CLI or CloudFormation: no TLS 1.3 (its TLS 1.0 /
    # 1.1 and SHA-1 suites are left out here: the client never offers them)
    "ELBSecurityPolicy-2016-08": (
        ssl.TLSVersion.TLSv1_2,
        ssl.TLSVersion.TLSv1_2,
        ECDHE_GCM + ECDHE_CBC_SHA2 + RSA_KX,
    ),
}


def _policy_server(
    files: ServerCert, low: ssl.TLSVersion, high: ssl.TLSVersion, suites: tuple[str, ...]
) -> EchoServer:
    context = _server_context(files)
    context.minimum_version, context.maximum_version = low, high
    context.set_ciphers(":".join(suites))
    return EchoServer(context)


def test_default_context_offers_only_what_every_aws_policy_takes(
    tls_files: dict[str, ServerCert],
) -> None:
    for context in (
        T.make_ssl_context(),
        T.make_ssl_context(pinned_cert=tls_files["self"].cert_file),
        T.make_ssl_context(cafile=tls_files["ca"].cert_file),
    ):
        offered = {c["name"]: c["protocol"] for c in context.get_ciphers()}
        assert {n for n, v in offered.items() if v == "TLSv1.2"} == set(ECDHE_GCM)
        assert {n for n, v in offered.items() if v == "TLSv1.3"} <= AWS_TLS13_SUITES
        assert context.minimum_version == ssl.TLSVersion.TLSv1_2
        for _low, _high, suites in AWS_POLICIES.values():
            assert set(ECDHE_GCM) <= set(suites)
    # what Python's default adds, which the restricted policy would not take
    python = {c["name"] for c in ssl.create_default_context().get_ciphers()}
    assert python - set(ECDHE_GCM) - AWS_TLS13_SUITES, "Python's default changed: recheck"


@pytest.mark.parametrize("policy", sorted(AWS_POLICIES))
@pytest.mark.parametrize("cert", ["self", "rsa"])
def test_default_context_connects_to_each_aws_policy(
    tls_files: dict[str, ServerCert], policy: str, cert: str
) -> None:
    """A real loopback TLS server with the policy's protocol range and TLS 1.2 suites, with an
    ECDSA and an RSA certificate: the library's context connects, on a suite of the policy."""
    low, high, suites = AWS_POLICIES[policy]
    server = _policy_server(tls_files[cert], low, high, suites)
    try:
        context = T.make_ssl_context(pinned_cert=tls_files[cert].cert_file)
        assert roundtrip(local(server.port), context) == PING
        if high == ssl.TLSVersion.TLSv1_3:
            assert server.versions[-1] == "TLSv1.3"
            assert server.ciphers[-1] in AWS_TLS13_SUITES
        else:
            assert server.versions[-1] == "TLSv1.2"
            assert server.ciphers[-1] in ECDHE_GCM  # forward secret and AEAD, never CBC
    finally:
        server.close()


@pytest.mark.parametrize("suite", ECDHE_GCM)
def test_each_tls12_suite_of_the_restricted_policy_connects(
    tls_files: dict[str, ServerCert], suite: str
) -> None:
    cert = "self" if "ECDSA" in suite else "rsa"
    server = _policy_server(
        tls_files[cert], ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, (suite,)
    )
    try:
        context = T.make_ssl_context(pinned_cert=tls_files[cert].cert_file)
        assert roundtrip(local(server.port), context) == PING
        assert (server.versions[-1], server.ciphers[-1]) == ("TLSv1.2", suite)
    finally:
        server.close()


@pytest.mark.parametrize(
    "suites",
    [ECDHE_CBC_SHA2, ("ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305")],
    ids=["ECDHE-CBC", "ECDHE-CHACHA20"],
)
def test_tls12_suites_outside_the_restricted_policy_are_not_offered(
    tls_files: dict[str, ServerCert], suites: tuple[str, ...]
) -> None:
    """A TLS 1.2 server with only suites Python's default offers but the restricted policy
    lacks: Python's default context connects, the library's is refused in the handshake."""
    files = tls_files["self"]
    server = _policy_server(files, ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, suites)
    try:
        python = ssl.create_default_context(cafile=files.cert_file)
        assert roundtrip(local(server.port), python) == PING  # the server is reachable
        with pytest.raises(ssl.SSLError) as info:
            roundtrip(local(server.port), T.make_ssl_context(pinned_cert=files.cert_file))
        assert not isinstance(info.value, ssl.SSLCertVerificationError)  # refused for suites
    finally:
        server.close()


def test_ssl_context_for() -> None:
    plain = client.Endpoint("127.0.0.1", 1, tls=False)
    assert T.ssl_context_for(plain) is None
    with pytest.raises(LocalProtocolError, match="plain TCP"):
        T.ssl_context_for(plain, T.make_ssl_context())
    given_context = T.make_ssl_context()
    assert T.ssl_context_for(client.Endpoint("localhost", 1), given_context) is given_context
    assert isinstance(T.ssl_context_for(client.Endpoint("localhost", 1)), ssl.SSLContext)


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
    endpoint = client.Endpoint("localhost", 8228)
    text = (
        "tls://localhost:8228: the TLS context is weaker than the library's: minimum_version "
        "TLSv1_1 is below TLS 1.2; anyone on the path can read or alter this session, "
        "including the signed Logon"
    )
    with caplog.at_level(logging.WARNING, logger=client.TRANSPORT_LOGGER_NAME):
        with pytest.warns(client.InsecureTLSWarning) as warned:
            assert T.ssl_context_for(endpoint, old) is old  # used as given, but not silently
        assert T.ssl_context_for(endpoint, T.make_ssl_context()) is not None
    assert [r.getMessage() for r in caplog.records] == [text]
    assert [str(w.message) for w in warned] == [text]
    assert warned[0].filename == __file__  # the caller's line, not the library's
    with pytest.raises(LocalProtocolError, match="server-side context"):
        T.ssl_context_for(endpoint, ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))


@pytest.mark.parametrize(
    "host", ["fix.demo.kalshi.co", "fix.example.com", "10.0.0.5", "localhost.example.com"]
)
def test_a_weak_context_to_a_host_off_this_machine_needs_allow_insecure_tls(host: str) -> None:
    endpoint = client.Endpoint(host, 8228)
    weak = T.make_ssl_context(verify=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused: nothing is warned, nothing connects
        with pytest.raises(LocalProtocolError) as refused:
            T.ssl_context_for(endpoint, weak)
    message = str(refused.value)
    assert message.startswith(f"tls://{host}:8228: the TLS context is weaker than the library's: ")
    assert "verify_mode CERT_NONE" in message and "check_hostname False" in message
    assert "make_ssl_context()" in message and "pass allow_insecure_tls=True" in message
    with pytest.warns(client.InsecureTLSWarning, match=f"^tls://{re.escape(host)}:8228: "):
        assert T.ssl_context_for(endpoint, weak, allow_insecure_tls=True) is weak
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert T.ssl_context_for(endpoint, T.make_ssl_context()) is not None  # sound: no opt-in


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.10", "::1"])
def test_a_weak_context_to_loopback_is_warned_not_refused(host: str) -> None:
    weak = T.make_ssl_context(verify=False)
    with pytest.warns(client.InsecureTLSWarning) as warned:
        assert T.ssl_context_for(client.Endpoint(host, 8228), weak) is weak
    assert len(warned) == 1

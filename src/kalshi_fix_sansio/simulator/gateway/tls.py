"""Throwaway identities for the mock gateway: a self-signed TLS certificate, well-known API keys.

`mock_api_key` gives each product's well-known mock API key. Its private key is derived from
a fixed seed, so it is public knowledge: use it only against a mock gateway. Every gateway
started by ``kalshi-fix mock-gateway`` without ``--key`` knows both products' mock keys, so it
can refuse the other product's key by name.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from ...session.auth import Ed25519Signer, PublicKey

__all__ = ["mock_api_key", "self_signed", "server_context", "write_mock_api_key"]


def mock_api_key(product: str) -> tuple[str, Ed25519Signer, PublicKey]:
    """The well-known mock API key of a product (the same in every process).

    Args:
        product: ``"prediction"`` or ``"margin"``.

    Returns:
        (key id ``mock-<product>-key``, its signer, its public key).

    Raises:
        ValueError: an unknown product.
    """
    signer = Ed25519Signer(_mock_private_key(product))
    return f"mock-{product}-key", signer, signer.public_key()


def _mock_private_key(product: str) -> ed25519.Ed25519PrivateKey:
    if product not in ("prediction", "margin"):
        raise ValueError(f"product must be 'prediction' or 'margin', got {product!r}")
    seed = hashlib.sha256(f"kalshi-fix-sansio mock gateway {product} key".encode()).digest()
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def write_mock_api_key(product: str, directory: str | Path) -> Path:
    """Write the private key of a product's `mock_api_key` (PKCS#8 PEM, mode 0600).

    Args:
        product: ``"prediction"`` or ``"margin"``.
        directory: where to write ``mock-<product>-key.pem``.

    Returns:
        The file's path.
    """
    path = Path(directory) / f"mock-{product}-key.pem"
    path.touch(mode=0o600, exist_ok=True)
    path.write_bytes(
        _mock_private_key(product).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def self_signed(directory: str | Path, name: str = "localhost") -> tuple[Path, Path]:
    """Write a fresh self-signed certificate and key valid for localhost and 127.0.0.1.

    Args:
        directory: where to write ``gateway-cert.pem`` and ``gateway-key.pem``.
        name: the certificate's common name.

    Returns:
        (certificate path, private key path).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = Path(directory)
    cert_path = directory / "gateway-cert.pem"
    key_path = directory / "gateway-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A TLS 1.2+ server context for the gateway.

    Args:
        cert: certificate PEM path.
        key: private key PEM path.

    Returns:
        The context.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    return ctx

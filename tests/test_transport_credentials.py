"""Credentials of the adapters' shared transport helpers (``kalshi_fix_sansio.adapters.Credentials``):
from the environment for both products, from a key file, and errors that never show a secret."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

import kalshi_fix_sansio.session as session
from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session.auth import KeyLoadError, logon_payload
from kalshi_fix_sansio.session.config import SessionConfig

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


def _signs_for(credentials: session.Credentials, key: ed25519.Ed25519PrivateKey) -> None:
    payload = logon_payload("20260101-00:00:00.000", 1, credentials.key_id, "KalshiNR")
    key.public_key().verify(credentials.signer.sign(payload), payload)  # raises if wrong


def _assert_no_secret(text: str, files: KeyFiles) -> None:
    body = [line for line in files.pem.splitlines() if "-----" not in line]
    assert not any(line in text for line in body)
    assert "-----BEGIN" not in text and "PRIVATE KEY-----" not in text and PASSPHRASE not in text


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
    by_path = session.Credentials.from_env(
        product, {names["id"]: KEY_ID, names["path"]: ed25519_key.path}
    )
    assert by_path.key_id == KEY_ID
    _signs_for(by_path, ed25519_key.key)
    by_pem = session.Credentials.from_env(
        product, {names["id"]: KEY_ID, names["pem"]: ed25519_key.pem}
    )
    _signs_for(by_pem, ed25519_key.key)
    one_line = ed25519_key.pem.strip().replace("\n", "\\n")
    escaped = session.Credentials.from_env(
        product, {names["id"]: f" {KEY_ID}\n", names["pem"]: one_line}
    )
    assert escaped.key_id == KEY_ID
    _signs_for(escaped, ed25519_key.key)
    encrypted = session.Credentials.from_env(
        product,
        {names["id"]: KEY_ID, names["path"]: ed25519_key.encrypted_path, names["pass"]: PASSPHRASE},
    )
    _signs_for(encrypted, ed25519_key.key)
    encrypted_pem = session.Credentials.from_env(
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
    _signs_for(session.Credentials.from_env("margin"), ed25519_key.key)


def test_credentials_missing_variables() -> None:
    with pytest.raises(LocalProtocolError) as info:
        session.Credentials.from_env("prediction", {})
    assert str(info.value) == (
        "prediction FIX credentials are not set: set KALSHI_KEY_ID and KALSHI_PRIVATE_KEY (the "
        "PEM text) or KALSHI_PRIVATE_KEY_PATH (the key file) (optional: "
        "KALSHI_PRIVATE_KEY_PASSPHRASE for an encrypted key)"
    )
    with pytest.raises(LocalProtocolError) as info:
        session.Credentials.from_env(
            "prediction", {"KALSHI_PRIVATE_KEY_PATH": "/x", "KALSHI_KEY_ID": ""}
        )
    assert "set KALSHI_KEY_ID (optional" in str(info.value)
    with pytest.raises(LocalProtocolError) as info:
        session.Credentials.from_env("margin", {"KALSHI_PERPS_KEY_ID": KEY_ID})
    assert str(info.value).startswith(
        "margin FIX credentials are not set: set KALSHI_PERPS_PRIVATE_KEY (the PEM text) or "
        "KALSHI_PERPS_PRIVATE_KEY_PATH (the key file)"
    )
    with pytest.raises(LocalProtocolError, match=r"margin reads the KALSHI_PERPS_\* variables"):
        session.Credentials.from_env("margin", {"KALSHI_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY": "x"})
    with pytest.raises(LocalProtocolError, match="set only one"):
        session.Credentials.from_env(
            "prediction",
            {"KALSHI_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY": "x", "KALSHI_PRIVATE_KEY_PATH": "y"},
        )
    with pytest.raises(LocalProtocolError, match="unknown product"):
        session.Credentials.from_env("perps", {})


def test_credentials_key_errors_propagate(ed25519_key: KeyFiles, tmp_path: Path) -> None:
    with pytest.raises(KeyLoadError, match="encrypted: set KALSHI_PRIVATE_KEY_PASSPHRASE") as info:
        session.Credentials.from_env(
            "prediction", {"KALSHI_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY": ed25519_key.encrypted_pem}
        )
    _assert_no_secret(str(info.value), ed25519_key)
    missing = str(tmp_path / "none.key")
    with pytest.raises(KeyLoadError, match="private key file not found"):
        session.Credentials.from_env(
            "prediction", {"KALSHI_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": missing}
        )
    with pytest.raises(KeyLoadError, match="could not decrypt"):
        session.Credentials.from_key(KEY_ID, path=ed25519_key.encrypted_path, passphrase="wrong")


def test_credentials_from_key(ed25519_key: KeyFiles) -> None:
    _signs_for(session.Credentials.from_key(KEY_ID, pem=ed25519_key.pem.encode()), ed25519_key.key)
    _signs_for(session.Credentials.from_key(KEY_ID, path=Path(ed25519_key.path)), ed25519_key.key)
    with pytest.raises(LocalProtocolError, match="exactly one of pem"):
        session.Credentials.from_key(KEY_ID)
    with pytest.raises(LocalProtocolError, match="exactly one of pem"):
        session.Credentials.from_key(KEY_ID, pem=ed25519_key.pem, path=ed25519_key.path)
    for bad in ("", "a b", "a\x01b"):
        with pytest.raises(LocalProtocolError, match="key id"):
            session.Credentials.from_key(bad, pem=ed25519_key.pem)
    credentials = session.Credentials.from_key(KEY_ID, pem=ed25519_key.pem)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        credentials.key_id = "other"  # type: ignore[misc, unused-ignore]
    config = SessionConfig(sender_comp_id=credentials.key_id, signer=credentials.signer)
    assert config.signer is credentials.signer

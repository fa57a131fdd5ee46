"""Tests for the Logon signature (kalshi_fix_sansio.session.auth).

Every key is generated here with ``cryptography``; none is stored in the repository. RSA-2048
generation is slow, so the RSA keys are module-scoped fixtures.
"""

from __future__ import annotations

import base64
import datetime
import os
import pathlib
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa, x25519
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_fix_sansio.codec.errors import LocalProtocolError
from kalshi_fix_sansio.session import Credentials
from kalshi_fix_sansio.session.auth import (
    ED25519,
    MAX_KEY_FILE_BYTES,
    RSA_PSS_SHA256,
    Ed25519Signer,
    KeyLoadError,
    PublicKey,
    RsaPssSigner,
    Signer,
    load_public_key,
    load_signer,
    load_signer_file,
    logon_payload,
    signature_b64,
    verify_signature_b64,
)

PASSPHRASE = b"correct horse battery staple"
PAYLOAD = logon_payload("20230809-05:28:18.035", 1, "your-fix-api-key-uuid", "KalshiNR")

PEM = serialization.Encoding.PEM
PKCS8 = serialization.PrivateFormat.PKCS8
TRADITIONAL = serialization.PrivateFormat.TraditionalOpenSSL
NO_ENCRYPTION = serialization.NoEncryption()
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def private_pem(
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    fmt: serialization.PrivateFormat = PKCS8,
    passphrase: bytes | None = None,
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else NO_ENCRYPTION
    )
    return key.private_bytes(PEM, fmt, encryption)


def body_lines(pem: bytes) -> list[str]:
    """The lines of a PEM that carry key material (base64 body and encryption headers)."""
    return [
        line
        for line in pem.decode("ascii").splitlines()
        if line.strip() and not line.startswith("-----") and not line.startswith("Proc-Type")
    ]


def assert_no_key_material(text: str, *pems: bytes) -> None:
    for pem in pems:
        for line in body_lines(pem):
            assert line not in text
            # Also any 16-character piece of the body, in case a message cut a line.
            for start in range(0, max(len(line) - 16, 0), 16):
                assert line[start : start + 16] not in text


def load_error(pem: bytes | str, passphrase: bytes | str | None = None) -> KeyLoadError:
    with pytest.raises(KeyLoadError) as info:
        load_signer(pem, passphrase)
    exc = info.value
    # No chained library exception that could carry details of the input.
    assert exc.__cause__ is None
    assert exc.__suppress_context__ or exc.__context__ is None
    return exc


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def rsa_signer(rsa_key: rsa.RSAPrivateKey) -> RsaPssSigner:
    return RsaPssSigner(rsa_key)


@pytest.fixture(scope="module")
def ed_signer(ed_key: ed25519.Ed25519PrivateKey) -> Ed25519Signer:
    return Ed25519Signer(ed_key)


@pytest.fixture(params=["rsa", "ed25519"])
def signer(
    request: pytest.FixtureRequest, rsa_signer: RsaPssSigner, ed_signer: Ed25519Signer
) -> RsaPssSigner | Ed25519Signer:
    return rsa_signer if request.param == "rsa" else ed_signer


# --------------------------------------------------------------------------------------------
# Payload


def test_logon_payload_reference_worked_values() -> None:
    assert PAYLOAD == b"20230809-05:28:18.035\x01A\x011\x01your-fix-api-key-uuid\x01KalshiNR"


def test_logon_payload_seq_is_decimal_text_and_utf8() -> None:
    payload = logon_payload("20260101-00:00:00.000", 1234, "key-é", "KalshiRT")
    assert payload == "20260101-00:00:00.000\x01A\x011234\x01key-é\x01KalshiRT".encode()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("", 1, "k", "KalshiNR"), "sending_time is empty"),
        (("t", 1, "", "KalshiNR"), "sender_comp_id is empty"),
        (("t", 1, "k", ""), "target_comp_id is empty"),
        (("t\x01", 1, "k", "KalshiNR"), "sending_time contains SOH"),
        (("t", 1, "k\x01x", "KalshiNR"), "sender_comp_id contains SOH"),
        (("t", 0, "k", "KalshiNR"), "must be >= 1"),
        (("t", "1", "k", "KalshiNR"), "must be an int, got str"),
        (("t", True, "k", "KalshiNR"), "must be an int, got bool"),
        ((b"t", 1, "k", "KalshiNR"), "sending_time must be a str, got bytes"),
    ],
)
def test_logon_payload_refuses_bad_values(args: tuple[object, ...], match: str) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        logon_payload(*args)  # type: ignore[arg-type]


@settings(max_examples=50)
@given(
    st.text(min_size=1).filter(lambda s: "\x01" not in s),
    st.integers(min_value=1, max_value=2**31),
    st.text(min_size=1).filter(lambda s: "\x01" not in s),
    st.text(min_size=1).filter(lambda s: "\x01" not in s),
)
def test_logon_payload_splits_back_into_its_fields(
    sending_time: str, seq: int, sender: str, target: str
) -> None:
    payload = logon_payload(sending_time, seq, sender, target)
    assert payload.decode("utf-8").split("\x01") == [sending_time, "A", str(seq), sender, target]


# --------------------------------------------------------------------------------------------
# Signing and verifying


def test_signers_satisfy_the_protocol(rsa_signer: RsaPssSigner, ed_signer: Ed25519Signer) -> None:
    assert isinstance(rsa_signer, Signer)
    assert isinstance(ed_signer, Signer)
    assert rsa_signer.algorithm == RSA_PSS_SHA256
    assert ed_signer.algorithm == ED25519
    assert rsa_signer.key_size == 2048
    assert ed_signer.key_size == 256


def test_round_trip(signer: RsaPssSigner | Ed25519Signer) -> None:
    public = signer.public_key()
    signature = signer.sign(PAYLOAD)
    assert public.verify(PAYLOAD, signature)
    assert verify_signature_b64(public, PAYLOAD, signature_b64(signer, PAYLOAD))
    assert public.algorithm == signer.algorithm
    assert public.fingerprint == signer.fingerprint


def test_signature_over_another_payload_fails(signer: RsaPssSigner | Ed25519Signer) -> None:
    public = signer.public_key()
    other = logon_payload("20230809-05:28:18.035", 2, "your-fix-api-key-uuid", "KalshiNR")
    assert not public.verify(other, signer.sign(PAYLOAD))
    assert not verify_signature_b64(public, other, signature_b64(signer, PAYLOAD))


def test_signature_with_another_key_fails(
    rsa_signer: RsaPssSigner, ed_signer: Ed25519Signer
) -> None:
    stranger = Ed25519Signer(ed25519.Ed25519PrivateKey.generate()).public_key()
    assert not stranger.verify(PAYLOAD, ed_signer.sign(PAYLOAD))
    # Across algorithms: never an exception, just False.
    assert not stranger.verify(PAYLOAD, rsa_signer.sign(PAYLOAD))
    assert not rsa_signer.public_key().verify(PAYLOAD, ed_signer.sign(PAYLOAD))


def test_tampered_signature_fails(signer: RsaPssSigner | Ed25519Signer) -> None:
    signature = bytearray(signer.sign(PAYLOAD))
    signature[10] ^= 0x01
    assert not signer.public_key().verify(PAYLOAD, bytes(signature))
    assert not signer.public_key().verify(PAYLOAD, bytes(signature[:-1]))  # wrong length


def test_rsa_pss_signatures_differ_but_all_verify(rsa_signer: RsaPssSigner) -> None:
    signatures = {rsa_signer.sign(PAYLOAD) for _ in range(5)}
    assert len(signatures) == 5  # random salt
    public = rsa_signer.public_key()
    assert all(public.verify(PAYLOAD, s) for s in signatures)


def test_ed25519_signatures_are_deterministic(ed_signer: Ed25519Signer) -> None:
    assert ed_signer.sign(PAYLOAD) == ed_signer.sign(PAYLOAD)


def test_rsa_signature_uses_salt_32_mgf1_sha256(
    rsa_key: rsa.RSAPrivateKey, rsa_signer: RsaPssSigner
) -> None:
    # A strict verifier with exactly the documented parameters accepts our signatures.
    strict = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    rsa_key.public_key().verify(rsa_signer.sign(PAYLOAD), PAYLOAD, strict, hashes.SHA256())


@pytest.mark.parametrize("salt_length", [0, 20, padding.PSS.MAX_LENGTH])
def test_verifier_accepts_any_pss_salt_length(rsa_key: rsa.RSAPrivateKey, salt_length: int) -> None:
    # The verifier is liberal (PSS.AUTO): a client signing with another salt length (e.g. a
    # library defaulting to the maximum) still logs on to the mock gateway.
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt_length)
    signature = rsa_key.sign(PAYLOAD, pss, hashes.SHA256())
    assert PublicKey(rsa_key.public_key()).verify(PAYLOAD, signature)


def test_verifier_refuses_other_rsa_schemes(rsa_key: rsa.RSAPrivateKey) -> None:
    public = PublicKey(rsa_key.public_key())
    mgf_sha1 = padding.PSS(mgf=padding.MGF1(hashes.SHA1()), salt_length=32)
    assert not public.verify(PAYLOAD, rsa_key.sign(PAYLOAD, mgf_sha1, hashes.SHA256()))
    assert not public.verify(PAYLOAD, rsa_key.sign(PAYLOAD, padding.PKCS1v15(), hashes.SHA256()))


def test_base64_lengths(rsa_signer: RsaPssSigner, ed_signer: Ed25519Signer) -> None:
    rsa_b64 = signature_b64(rsa_signer, PAYLOAD)
    ed_b64 = signature_b64(ed_signer, PAYLOAD)
    assert len(rsa_b64) == 344
    assert len(ed_b64) == 88
    for text in (rsa_b64, ed_b64):
        assert text.endswith("=")  # standard base64 with padding
        assert base64.b64encode(base64.b64decode(text, validate=True)).decode() == text


@pytest.mark.parametrize(
    "bad",
    [
        "not base64!",
        "",
        "QUJD",  # valid base64, 3 bytes: not a signature
        "é",
        "-_-_",  # urlsafe alphabet
    ],
)
def test_verify_signature_b64_false_on_malformed(ed_signer: Ed25519Signer, bad: str) -> None:
    assert verify_signature_b64(ed_signer.public_key(), PAYLOAD, bad) is False


def test_verify_signature_b64_is_strict_about_padding_and_whitespace(
    ed_signer: Ed25519Signer,
) -> None:
    public = ed_signer.public_key()
    good = signature_b64(ed_signer, PAYLOAD)
    assert verify_signature_b64(public, PAYLOAD, good.encode("ascii"))  # bytes accepted too
    assert not verify_signature_b64(public, PAYLOAD, good.rstrip("="))
    assert not verify_signature_b64(public, PAYLOAD, good[:40] + "\n" + good[40:])


class FakeKms:
    """Stands in for boto3's KMS client: RSASSA_PSS_SHA_256 over a RAW message."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key

    def sign(
        self, *, KeyId: str, Message: bytes, MessageType: str, SigningAlgorithm: str
    ) -> dict[str, bytes]:
        assert (MessageType, SigningAlgorithm) == ("RAW", "RSASSA_PSS_SHA_256")
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return {"Signature": self._key.sign(Message, pss, hashes.SHA256())}


class KmsSigner:  # verbatim from docs/auth.md (type hints added)
    algorithm = "RSA-PSS-SHA256"

    def __init__(self, kms_client: FakeKms, key_id: str) -> None:
        self._kms, self._key_id = kms_client, key_id

    def sign(self, payload: bytes) -> bytes:
        reply = self._kms.sign(
            KeyId=self._key_id,
            Message=payload,
            MessageType="RAW",
            SigningAlgorithm="RSASSA_PSS_SHA_256",
        )
        return reply["Signature"]


def test_custom_signer_from_the_docs(rsa_key: rsa.RSAPrivateKey) -> None:
    signer = KmsSigner(FakeKms(rsa_key), "alias/kalshi-fix")
    assert isinstance(signer, Signer)
    b64 = signature_b64(signer, PAYLOAD)
    assert len(b64) == 344
    assert verify_signature_b64(PublicKey(rsa_key.public_key()), PAYLOAD, b64)


def test_signature_b64_refuses_text_from_a_custom_signer() -> None:
    class Base64Signer:
        algorithm = "broken"

        def sign(self, payload: bytes) -> bytes:
            return "AAAA"  # type: ignore[return-value]

    class EmptySigner:
        algorithm = "broken"

        def sign(self, payload: bytes) -> bytes:
            return b""

    with pytest.raises(LocalProtocolError, match="returned str: a Signer must return the raw"):
        signature_b64(Base64Signer(), PAYLOAD)
    with pytest.raises(LocalProtocolError, match="empty signature"):
        signature_b64(EmptySigner(), PAYLOAD)


def test_signer_constructors_check_key_type(
    rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey, rsa_1024: rsa.RSAPrivateKey
) -> None:
    with pytest.raises(KeyLoadError, match="RsaPssSigner needs an RSA private key, got a Ed25519"):
        RsaPssSigner(ed_key)  # type: ignore[arg-type]
    with pytest.raises(KeyLoadError, match="Ed25519Signer needs an Ed25519 private key, got a RSA"):
        Ed25519Signer(rsa_key)  # type: ignore[arg-type]
    with pytest.raises(KeyLoadError, match="1024 bits; Kalshi FIX requires at least 2048"):
        RsaPssSigner(rsa_1024)


def test_repr_shows_only_algorithm_size_and_fingerprint(
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    rsa_signer: RsaPssSigner,
    ed_signer: Ed25519Signer,
) -> None:
    assert repr(rsa_signer) == (
        f"RsaPssSigner(algorithm='RSA-PSS-SHA256', key_size=2048, "
        f"fingerprint='{rsa_signer.fingerprint}')"
    )
    assert (
        repr(ed_signer)
        == f"Ed25519Signer(algorithm='Ed25519', fingerprint='{ed_signer.fingerprint}')"
    )
    assert repr(rsa_signer.public_key()).startswith("PublicKey(algorithm='RSA-PSS-SHA256'")
    for signer, key in ((rsa_signer, rsa_key), (ed_signer, ed_key)):
        assert len(signer.fingerprint) == 8
        int(signer.fingerprint, 16)
        for text in (repr(signer), str(signer), repr(signer.public_key())):
            assert_no_key_material(text, private_pem(key), private_pem(key, passphrase=PASSPHRASE))
    assert not hasattr(rsa_signer, "__dict__")  # slotted: nothing else is carried around


# --------------------------------------------------------------------------------------------
# Loading private keys


def test_load_pkcs8_rsa_and_ed25519(
    rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    rsa_loaded = load_signer(private_pem(rsa_key))
    ed_loaded = load_signer(private_pem(ed_key).decode("ascii"))  # str accepted
    assert isinstance(rsa_loaded, RsaPssSigner)
    assert isinstance(ed_loaded, Ed25519Signer)
    assert rsa_loaded.fingerprint == RsaPssSigner(rsa_key).fingerprint
    assert ed_loaded.public_key() == Ed25519Signer(ed_key).public_key()
    assert ed_loaded.public_key().verify(PAYLOAD, ed_loaded.sign(PAYLOAD))


def test_load_traditional_rsa(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = private_pem(rsa_key, TRADITIONAL)
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    signer = load_signer(pem)
    assert isinstance(signer, RsaPssSigner)
    assert signer.public_key().verify(PAYLOAD, signer.sign(PAYLOAD))


def test_load_ignores_surrounding_text_and_other_blocks(
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    public = ed_key.public_key().public_bytes(PEM, SPKI)
    pem = b"Bag Attributes\n    friendlyName: kalshi\n" + public + private_pem(ed_key)
    assert isinstance(load_signer(pem), Ed25519Signer)


@pytest.mark.parametrize("fmt", [PKCS8, TRADITIONAL], ids=["pkcs8", "traditional"])
@pytest.mark.parametrize("as_text", [False, True], ids=["bytes", "str"])
def test_encrypted_key_with_passphrase(
    rsa_key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat, as_text: bool
) -> None:
    pem = private_pem(rsa_key, fmt, PASSPHRASE)
    passphrase: bytes | str = PASSPHRASE.decode() if as_text else PASSPHRASE
    signer = load_signer(pem, passphrase)
    assert isinstance(signer, RsaPssSigner)
    assert signer.public_key().verify(PAYLOAD, signer.sign(PAYLOAD))


@pytest.mark.parametrize("fmt", [PKCS8, TRADITIONAL], ids=["pkcs8", "traditional"])
def test_encrypted_key_without_passphrase(
    rsa_key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat
) -> None:
    pem = private_pem(rsa_key, fmt, PASSPHRASE)
    exc = load_error(pem)
    assert str(exc) == "the private key is encrypted: pass its passphrase (passphrase=...)"


@pytest.mark.parametrize("fmt", [PKCS8, TRADITIONAL], ids=["pkcs8", "traditional"])
def test_encrypted_key_with_wrong_passphrase(
    rsa_key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat
) -> None:
    pem = private_pem(rsa_key, fmt, PASSPHRASE)
    exc = load_error(pem, b"wrong passphrase")
    assert str(exc).startswith("could not decrypt the private key: wrong passphrase?")
    assert "wrong passphrase" in str(exc)
    assert PASSPHRASE.decode() not in str(exc)


def test_encrypted_ed25519(ed_key: ed25519.Ed25519PrivateKey) -> None:
    pem = private_pem(ed_key, passphrase=PASSPHRASE)
    assert isinstance(load_signer(pem, PASSPHRASE), Ed25519Signer)
    assert "wrong passphrase?" in str(load_error(pem, "nope"))


def test_passphrase_for_unencrypted_key(ed_key: ed25519.Ed25519PrivateKey) -> None:
    exc = load_error(private_pem(ed_key), PASSPHRASE)
    assert "not encrypted: pass passphrase=None" in str(exc)


def test_public_key_given_instead_of_private(
    rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    spki = ed_key.public_key().public_bytes(PEM, SPKI)
    pkcs1 = rsa_key.public_key().public_bytes(PEM, serialization.PublicFormat.PKCS1)
    assert "this is a public key ('-----BEGIN PUBLIC KEY-----'), not a private key" in str(
        load_error(spki)
    )
    assert "this is a public key ('-----BEGIN RSA PUBLIC KEY-----')" in str(load_error(pkcs1))
    openssh = ed_key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert "OpenSSH public key, not a private key" in str(load_error(openssh))


def self_signed_cert(key: ed25519.Ed25519PrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kalshi-test")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, None)
    )
    return cert.public_bytes(PEM)


def test_certificate_given_instead_of_private(ed_key: ed25519.Ed25519PrivateKey) -> None:
    assert "this is a certificate, not a private key" in str(load_error(self_signed_cert(ed_key)))


def test_ec_key_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    expected = "unsupported key type EC; Kalshi FIX accepts RSA (2048-bit) or Ed25519"
    for pem in (private_pem(key), private_pem(key, TRADITIONAL)):
        exc = load_error(pem)
        assert str(exc) == expected
        assert_no_key_material(str(exc), pem)


def test_other_key_types_refused() -> None:
    dsa_pem = private_pem(dsa.generate_private_key(key_size=1024))  # type: ignore[arg-type]
    x_pem = x25519.X25519PrivateKey.generate().private_bytes(PEM, PKCS8, NO_ENCRYPTION)
    assert str(load_error(dsa_pem)).startswith("unsupported key type DSA; Kalshi FIX accepts")
    assert str(load_error(x_pem)).startswith("unsupported key type X25519; Kalshi FIX accepts")


def test_rsa_1024_refused(rsa_1024: rsa.RSAPrivateKey) -> None:
    for fmt in (PKCS8, TRADITIONAL):
        exc = load_error(private_pem(rsa_1024, fmt))
        assert "the RSA key is 1024 bits; Kalshi FIX requires at least 2048 bits" in str(exc)
        assert "openssl genpkey" in str(exc)


@pytest.mark.parametrize(
    ("garbage", "hint"),
    [
        (b"hello world\nthis is not a key\n", "without a PEM header"),
        (b"", "got empty input"),
        ("   \n", "got empty input"),
        (b"\x30\x82\x04\xbd\x02\x01\x00", "looks like binary DER"),
        ("~/.kalshi/fix.key", "use load_signer_file(path)"),
    ],
)
def test_garbage_refused(garbage: bytes | str, hint: str) -> None:
    exc = load_error(garbage)
    assert str(exc).startswith("not a PEM private key (expected '-----BEGIN PRIVATE KEY-----'"), (
        str(exc)
    )
    assert hint in str(exc)


def test_wrong_argument_type_refused() -> None:
    with pytest.raises(KeyLoadError, match="pem must be bytes or str, got int"):
        load_signer(42)  # type: ignore[arg-type]


def test_damaged_pem_refused(ed_key: ed25519.Ed25519PrivateKey) -> None:
    pem = private_pem(ed_key)
    lines = pem.splitlines()
    damaged = b"\n".join([lines[0], b"AAAA" + lines[1][4:], *lines[2:]]) + b"\n"
    truncated = pem[: len(pem) // 2]
    for bad in (damaged, truncated):
        exc = load_error(bad)
        assert "'-----BEGIN PRIVATE KEY-----' block could not be parsed" in str(exc)
        assert_no_key_material(str(exc), pem, bad)


def test_openssh_private_key_refused_with_conversion_hint(
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    pem = ed_key.private_bytes(PEM, serialization.PrivateFormat.OpenSSH, NO_ENCRYPTION)
    exc = load_error(pem)
    assert "OpenSSH-format private key" in str(exc)
    assert "ssh-keygen -p -m PKCS8" in str(exc)


def test_unknown_pem_block_refused() -> None:
    exc = load_error(b"-----BEGIN FOO BAR-----\nAAAA\n-----END FOO BAR-----\n")
    assert "found '-----BEGIN FOO BAR-----'" in str(exc)


def test_no_key_material_in_any_error(
    rsa_key: rsa.RSAPrivateKey, rsa_1024: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    cases: list[tuple[bytes, bytes | None]] = [
        (private_pem(rsa_key, PKCS8, PASSPHRASE), None),
        (private_pem(rsa_key, TRADITIONAL, PASSPHRASE), b"wrong"),
        (private_pem(ed_key, PKCS8, PASSPHRASE), b"wrong"),
        (private_pem(ed_key), PASSPHRASE),
        (private_pem(rsa_1024), None),
        (private_pem(ec_key), None),
        (private_pem(ec_key, TRADITIONAL), None),
        (private_pem(ed_key).replace(b"-----BEGIN", b"-----BEGlN"), None),
        (private_pem(ed_key)[:-30], None),
    ]
    for pem, passphrase in cases:
        exc = load_error(pem, passphrase)
        assert_no_key_material(str(exc), pem)
        assert_no_key_material(repr(exc), pem)


# --------------------------------------------------------------------------------------------
# Loading from files


def test_load_signer_file(
    tmp_path: pathlib.Path, rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    (tmp_path / "rsa.key").write_bytes(private_pem(rsa_key, TRADITIONAL))
    (tmp_path / "ed.key").write_bytes(private_pem(ed_key, passphrase=PASSPHRASE))
    assert isinstance(load_signer_file(tmp_path / "rsa.key"), RsaPssSigner)
    assert isinstance(load_signer_file(str(tmp_path / "ed.key"), PASSPHRASE), Ed25519Signer)


def test_load_signer_file_missing(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "nope.key"
    with pytest.raises(KeyLoadError) as info:
        load_signer_file(path)
    assert str(info.value).startswith(f"private key file not found: {str(path)!r}")
    assert info.value.path == str(path)


def test_load_signer_file_directory(tmp_path: pathlib.Path) -> None:
    with pytest.raises(KeyLoadError, match="is a directory, not a private key file"):
        load_signer_file(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX devices and FIFOs")
def test_load_signer_file_refuses_devices_pipes_and_huge_files_unread(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/dev/zero is not read to exhaustion (it grew to 919 MB, then a bare MemoryError), a FIFO
    without a writer is not waited on (it blocked forever), a file over the bound is refused
    after reading one byte past it; each error names the path and why, from the environment
    too."""
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.key"
    with open(huge, "wb") as out:
        out.truncate(MAX_KEY_FILE_BYTES + 1)  # sparse: one byte over the bound
    cases = [
        ("/dev/zero", "not a regular file but a character device"),
        (str(fifo), "not a regular file but a pipe (FIFO)"),
        (str(huge), f"over {MAX_KEY_FILE_BYTES:,} bytes"),
    ]
    for path, why in cases:
        with pytest.raises(KeyLoadError) as info:
            load_signer_file(path)
        assert str(info.value) == (
            f"{path!r} is not a private key file: {why} (a key file is a regular file of at "
            f"most {MAX_KEY_FILE_BYTES:,} bytes): pass the key file's path"
        )
        assert info.value.path == path
        environ = {"KALSHI_KEY_ID": "k", "KALSHI_PRIVATE_KEY_PATH": path}
        with pytest.raises(KeyLoadError, match=re.escape(f"{path!r} is not a private key file")):
            Credentials.from_env("prediction", environ)
    assert MAX_KEY_FILE_BYTES == 1024 * 1024
    exact = tmp_path / "exact.key"  # a key with padding up to the bound still loads
    pem = private_pem(ed25519.Ed25519PrivateKey.generate())
    exact.write_bytes(pem + b"\n" * (MAX_KEY_FILE_BYTES - len(pem)))
    assert isinstance(load_signer_file(exact), Ed25519Signer)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file"
)
def test_load_signer_file_unreadable(
    tmp_path: pathlib.Path, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    path = tmp_path / "locked.key"
    path.write_bytes(private_pem(ed_key))
    path.chmod(0)
    try:
        with pytest.raises(KeyLoadError, match="permission denied") as info:
            load_signer_file(path)
        assert str(path) in str(info.value)
    finally:
        path.chmod(0o600)


def test_load_signer_file_bad_content_names_the_path(
    tmp_path: pathlib.Path, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    path = tmp_path / "kalshi-fix.pub"
    path.write_bytes(ed_key.public_key().public_bytes(PEM, SPKI))
    with pytest.raises(KeyLoadError) as info:
        load_signer_file(path)
    assert str(info.value).startswith(f"{str(path)!r}: this is a public key")
    assert info.value.path == str(path)
    assert info.value.__cause__ is None and info.value.__suppress_context__


# --------------------------------------------------------------------------------------------
# Loading public keys (acceptor side)


def test_load_public_key(rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey) -> None:
    for key in (rsa_key, ed_key):
        signer = load_signer(private_pem(key))
        assert isinstance(signer, (RsaPssSigner, Ed25519Signer))
        for pem in (
            key.public_key().public_bytes(PEM, SPKI),
            key.public_key().public_bytes(PEM, SPKI).decode("ascii"),
        ):
            public = load_public_key(pem)
            assert public == signer.public_key()
            assert hash(public) == hash(signer.public_key())
            assert public.fingerprint == signer.fingerprint
            assert verify_signature_b64(public, PAYLOAD, signature_b64(signer, PAYLOAD))
        assert load_public_key(signer.public_key().to_pem()) == signer.public_key()
    pkcs1 = rsa_key.public_key().public_bytes(PEM, serialization.PublicFormat.PKCS1)
    assert load_public_key(pkcs1).key_size == 2048


def test_load_public_key_refusals(
    rsa_1024: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(PEM, SPKI)
    cases = [
        (private_pem(ed_key), "this is a private key, not a public key"),
        (self_signed_cert(ed_key), "this is a certificate, not a public key"),
        (b"garbage", "not a PEM public key"),
        (ec_public, "unsupported key type EC; Kalshi FIX accepts RSA (2048-bit) or Ed25519"),
        (rsa_1024.public_key().public_bytes(PEM, SPKI), "the RSA key is 1024 bits"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "could not be parsed"),
    ]
    for pem, message in cases:
        with pytest.raises(KeyLoadError) as info:
            load_public_key(pem)
        assert message in str(info.value)
        assert_no_key_material(str(info.value), private_pem(ed_key))
    with pytest.raises(KeyLoadError, match="unsupported key type X25519"):
        PublicKey(x25519.X25519PrivateKey.generate().public_key())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (PermissionError(13, "Permission denied"), "permission denied"),
        (OSError(5, "Input/output error"), "cannot read private key file"),
    ],
)
def test_load_signer_file_read_errors(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, error: OSError, message: str
) -> None:
    def fail(fd: int, size: int) -> bytes:
        raise error

    path = tmp_path / "kalshi-fix.key"
    path.write_bytes(b"")
    monkeypatch.setattr(os, "read", fail)
    with pytest.raises(KeyLoadError, match=message) as info:
        load_signer_file(path)
    assert repr(str(path)) in str(info.value)
    assert info.value.path == str(path)

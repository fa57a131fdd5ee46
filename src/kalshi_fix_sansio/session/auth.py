"""Kalshi's FIX Logon signature (RawData, tag 96), for both products.

The initiator signs the pre-hash string
``SendingTime + SOH + "A" + SOH + MsgSeqNum + SOH + SenderCompID + SOH + TargetCompID``
(UTF-8, see `logon_payload`) with its API private key and sends the standard base64 of the raw
signature in RawData (96) (`signature_b64`). Two key types are accepted by Kalshi:

* RSA (2048-bit): RSA-PSS with SHA-256, MGF1(SHA-256) and a 32-byte salt (`RsaPssSigner`);
* Ed25519: a plain Ed25519 signature over the payload bytes (`Ed25519Signer`).

Signing is pluggable: anything with a ``sign(payload) -> bytes`` method and an ``algorithm``
attribute is a `Signer`, so a key held in an HSM or a remote signing service needs one small
class. The acceptor side (the mock gateway) checks a Logon with `load_public_key` and
`verify_signature_b64`.

Private key material never appears in a repr, an exception message or a chained exception:
signers show only their algorithm, key size and a short fingerprint of the *public* key.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pathlib
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import (
    dsa,
    ec,
    ed448,
    ed25519,
    padding,
    rsa,
    x448,
    x25519,
)

from ..codec import NotASmallFile, read_small_file
from ..codec.errors import LocalProtocolError

__all__ = [
    "ED25519",
    "MAX_KEY_FILE_BYTES",
    "MIN_RSA_KEY_SIZE",
    "RSA_PSS_SALT_LENGTH",
    "RSA_PSS_SHA256",
    "Ed25519Signer",
    "KeyLoadError",
    "PublicKey",
    "RsaPssSigner",
    "Signer",
    "load_public_key",
    "load_public_key_file",
    "load_signer",
    "load_signer_file",
    "logon_payload",
    "signature_b64",
    "verify_signature_b64",
]

SOH = "\x01"

RSA_PSS_SHA256 = "RSA-PSS-SHA256"
"""`Signer.algorithm` of RSA-PSS / SHA-256 / MGF1(SHA-256) signers."""
ED25519 = "Ed25519"
"""`Signer.algorithm` of Ed25519 signers."""
RSA_PSS_SALT_LENGTH = 32
"""PSS salt length used when signing: the SHA-256 digest length (see `RsaPssSigner`)."""
MIN_RSA_KEY_SIZE = 2048
"""Smallest RSA modulus accepted, in bits (Kalshi asks for 2048-bit RSA keys)."""
MAX_KEY_FILE_BYTES = 1024 * 1024
"""The largest key file read (1 MiB; a 4096-bit RSA PEM is ~3.3 KB): more is refused unread."""

_ED25519_KEY_SIZE = 256
_KEY_TYPES_HINT = "Kalshi FIX accepts RSA (2048-bit) or Ed25519"
_GENERATE_HINT = (
    "generate one with 'openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
    "-out kalshi-fix.key' or 'openssl genpkey -algorithm ed25519 -out kalshi-fix.key'"
)
_EXPECTED_PEM = (
    "expected '-----BEGIN PRIVATE KEY-----', '-----BEGIN ENCRYPTED PRIVATE KEY-----' "
    "or '-----BEGIN RSA PRIVATE KEY-----'"
)
_PRIVATE_LABELS = frozenset(
    {"PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"}
)
_PUBLIC_LABELS = frozenset({"PUBLIC KEY", "RSA PUBLIC KEY"})


class KeyLoadError(LocalProtocolError):
    """A key cannot be loaded or used: the message says what is wrong and what to do.

    The message never contains key material (nor does the exception chain: the underlying
    library error is suppressed).

    Attributes:
        path: the file the key was read from, when it came from a file.
    """

    def __init__(self, text: str, *, path: str | None = None) -> None:
        super().__init__(text)
        self.path = path


# --------------------------------------------------------------------------------------------
# The pre-hash payload


def logon_payload(
    sending_time: str, msg_seq_num: int, sender_comp_id: str, target_comp_id: str
) -> bytes:
    """Build the bytes a Logon signature covers.

    ``SendingTime + SOH + "A" + SOH + MsgSeqNum + SOH + SenderCompID + SOH + TargetCompID``,
    UTF-8 encoded, with no leading or trailing SOH. Every value must be byte-identical to what
    the same Logon carries in tags 52, 34, 49 and 56.

    Args:
        sending_time: SendingTime (52) exactly as sent, e.g. ``"20230809-05:28:18.035"``.
        msg_seq_num: MsgSeqNum (34) of the Logon; written as decimal text.
        sender_comp_id: SenderCompID (49): the FIX API key id (a UUID).
        target_comp_id: TargetCompID (56): the session type, e.g. ``"KalshiNR"``.

    Returns:
        The UTF-8 payload to sign.

    Raises:
        LocalProtocolError: a value is empty, of the wrong type, or contains SOH; or the
            sequence number is not a positive int.
    """
    if isinstance(msg_seq_num, bool) or not isinstance(msg_seq_num, int):
        raise LocalProtocolError(
            f"msg_seq_num must be an int, got {type(msg_seq_num).__name__}: "
            "pass the Logon's MsgSeqNum(34) as an int"
        )
    if msg_seq_num < 1:
        raise LocalProtocolError(
            f"msg_seq_num must be >= 1, got {msg_seq_num}: FIX sequence numbers start at 1"
        )
    fields = (
        ("sending_time", 52, sending_time),
        ("sender_comp_id", 49, sender_comp_id),
        ("target_comp_id", 56, target_comp_id),
    )
    for name, tag, value in fields:
        if not isinstance(value, str):
            raise LocalProtocolError(
                f"{name} must be a str, got {type(value).__name__}: pass the exact text of "
                f"tag {tag} of the Logon"
            )
        if not value:
            raise LocalProtocolError(f"{name} is empty: pass the exact text of tag {tag}")
        if SOH in value:
            raise LocalProtocolError(
                f"{name} contains SOH (0x01), which would make the signed payload ambiguous: "
                f"pass the value of tag {tag} only"
            )
    return SOH.join((sending_time, "A", str(msg_seq_num), sender_comp_id, target_comp_id)).encode(
        "utf-8"
    )


# --------------------------------------------------------------------------------------------
# Signers


@runtime_checkable
class Signer(Protocol):
    """Anything that can sign a Logon payload.

    Implement this to keep the private key elsewhere (an HSM, a cloud KMS, a signing
    service): the library only ever calls ``sign``. ``isinstance(x, Signer)`` checks that both
    members exist (not their types).
    """

    @property
    def algorithm(self) -> str:
        """The signature scheme, e.g. `RSA_PSS_SHA256` or `ED25519` (informational)."""
        ...

    def sign(self, payload: bytes) -> bytes:
        """Sign ``payload`` (the `logon_payload` bytes).

        Args:
            payload: the bytes to sign; a signer must not hash or alter them beforehand
                (RSA-PSS hashes with SHA-256 itself; Ed25519 signs the bytes directly).

        Returns:
            The raw signature bytes (not base64).
        """
        ...


def _public_fingerprint(public_key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:8]


def _key_type_name(key: object) -> str:
    kinds: tuple[tuple[type, str], ...] = (
        (rsa.RSAPrivateKey, "RSA"),
        (rsa.RSAPublicKey, "RSA"),
        (ed25519.Ed25519PrivateKey, "Ed25519"),
        (ed25519.Ed25519PublicKey, "Ed25519"),
        (ec.EllipticCurvePrivateKey, "EC"),
        (ec.EllipticCurvePublicKey, "EC"),
        (dsa.DSAPrivateKey, "DSA"),
        (dsa.DSAPublicKey, "DSA"),
        (ed448.Ed448PrivateKey, "Ed448"),
        (ed448.Ed448PublicKey, "Ed448"),
        (x25519.X25519PrivateKey, "X25519"),
        (x25519.X25519PublicKey, "X25519"),
        (x448.X448PrivateKey, "X448"),
        (x448.X448PublicKey, "X448"),
    )
    for cls, name in kinds:
        if isinstance(key, cls):
            return name
    return type(key).__name__


def _check_rsa_size(key_size: int) -> None:
    if key_size < MIN_RSA_KEY_SIZE:
        raise KeyLoadError(
            f"the RSA key is {key_size} bits; Kalshi FIX requires at least {MIN_RSA_KEY_SIZE} "
            f"bits: {_GENERATE_HINT}, and register its public key with Kalshi"
        )


def _pss_sign_padding() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=RSA_PSS_SALT_LENGTH)


def _pss_verify_padding() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)


class RsaPssSigner:
    """RSA-PSS signer: SHA-256, MGF1(SHA-256), salt length 32 bytes (the digest length).

    Kalshi's FIX pages say only "PSS RSA signature" with SHA-256; they do not state the mask
    generation function or the salt length. This follows Kalshi's REST signing docs
    (``MGF1(SHA256)``, ``salt_length=PSS.DIGEST_LENGTH``), which a 2026-09-24 changelog entry
    says apply to FIX RawData too, and which equal the PyCryptodome defaults of the FIX code
    sample (open question 3 of the reference notes). PSS uses a random salt, so two signatures
    of the same payload differ; both verify.

    Args:
        private_key: an RSA private key of at least 2048 bits.

    Raises:
        KeyLoadError: the key is not an RSA private key, or is smaller than 2048 bits.
    """

    __slots__ = ("_fingerprint", "_key", "key_size")

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise KeyLoadError(
                f"RsaPssSigner needs an RSA private key, got a {_key_type_name(private_key)} "
                "key: use Ed25519Signer for Ed25519 keys, or load_signer() which picks the class"
            )
        _check_rsa_size(private_key.key_size)
        self._key = private_key
        self.key_size: int = private_key.key_size
        """RSA modulus size in bits (the signature is ``key_size // 8`` bytes)."""
        self._fingerprint = _public_fingerprint(private_key.public_key())

    @property
    def algorithm(self) -> str:
        """`RSA_PSS_SHA256`."""
        return RSA_PSS_SHA256

    @property
    def fingerprint(self) -> str:
        """First 8 hex digits of SHA-256 over the public key (SubjectPublicKeyInfo DER)."""
        return self._fingerprint

    def sign(self, payload: bytes) -> bytes:
        """Sign ``payload`` with RSA-PSS (SHA-256, MGF1(SHA-256), 32-byte salt).

        Args:
            payload: the bytes to sign, normally from `logon_payload`.

        Returns:
            The raw signature (256 bytes for a 2048-bit key).
        """
        return self._key.sign(payload, _pss_sign_padding(), hashes.SHA256())

    def public_key(self) -> PublicKey:
        """The matching public key, e.g. to register with the mock gateway.

        Returns:
            A `PublicKey` that verifies this signer's signatures.
        """
        return PublicKey(self._key.public_key())

    def __repr__(self) -> str:
        return (
            f"RsaPssSigner(algorithm={RSA_PSS_SHA256!r}, key_size={self.key_size}, "
            f"fingerprint={self._fingerprint!r})"
        )


class Ed25519Signer:
    """Ed25519 signer: a plain Ed25519 signature over the payload bytes (no pre-hash).

    Args:
        private_key: an Ed25519 private key.

    Raises:
        KeyLoadError: the key is not an Ed25519 private key.
    """

    __slots__ = ("_fingerprint", "_key")

    def __init__(self, private_key: ed25519.Ed25519PrivateKey) -> None:
        if not isinstance(private_key, ed25519.Ed25519PrivateKey):
            raise KeyLoadError(
                f"Ed25519Signer needs an Ed25519 private key, got a "
                f"{_key_type_name(private_key)} key: use RsaPssSigner for RSA keys, or "
                "load_signer() which picks the class"
            )
        self._key = private_key
        self._fingerprint = _public_fingerprint(private_key.public_key())

    @property
    def algorithm(self) -> str:
        """`ED25519`."""
        return ED25519

    @property
    def key_size(self) -> int:
        """256 (Ed25519 keys are 32 bytes; signatures are 64 bytes)."""
        return _ED25519_KEY_SIZE

    @property
    def fingerprint(self) -> str:
        """First 8 hex digits of SHA-256 over the public key (SubjectPublicKeyInfo DER)."""
        return self._fingerprint

    def sign(self, payload: bytes) -> bytes:
        """Sign ``payload`` with Ed25519.

        Args:
            payload: the bytes to sign, normally from `logon_payload`.

        Returns:
            The raw 64-byte signature.
        """
        return self._key.sign(payload)

    def public_key(self) -> PublicKey:
        """The matching public key, e.g. to register with the mock gateway.

        Returns:
            A `PublicKey` that verifies this signer's signatures.
        """
        return PublicKey(self._key.public_key())

    def __repr__(self) -> str:
        return f"Ed25519Signer(algorithm={ED25519!r}, fingerprint={self._fingerprint!r})"


def signature_b64(signer: Signer, payload: bytes) -> str:
    """Sign ``payload`` and return the RawData (96) text: standard base64 with ``=`` padding.

    RSA-2048 gives 344 characters, Ed25519 88. Send RawDataLength (95) as the length of this
    string if your Logon carries one.

    Args:
        signer: any `Signer`.
        payload: the bytes to sign, normally from `logon_payload`.

    Returns:
        The base64 text of the raw signature (ASCII).

    Raises:
        LocalProtocolError: the signer returned something other than non-empty raw bytes.
    """
    signature = signer.sign(payload)
    if not isinstance(signature, (bytes, bytearray, memoryview)):
        raise LocalProtocolError(
            f"{type(signer).__name__}.sign() returned {type(signature).__name__}: a Signer must "
            "return the raw signature bytes (not base64 text); the library does the base64"
        )
    if len(signature) == 0:
        raise LocalProtocolError(
            f"{type(signer).__name__}.sign() returned an empty signature: check the signer"
        )
    return base64.b64encode(signature).decode("ascii")


# --------------------------------------------------------------------------------------------
# Acceptor side: public keys and verification


class PublicKey:
    """A Kalshi FIX public key (RSA >= 2048 bits or Ed25519) that verifies Logon signatures.

    RSA signatures are checked as RSA-PSS with SHA-256 and MGF1(SHA-256), accepting any salt
    length (``PSS.AUTO``): the signer's salt length is recovered from the signature, so a
    client signing with the maximum salt (some libraries' default) verifies as well as one
    using the 32-byte salt this library sends. A server should be liberal here; MGF and hash
    are not negotiable.

    Args:
        key: an RSA or Ed25519 public key object from ``cryptography``.

    Raises:
        KeyLoadError: another key type, or an RSA key below 2048 bits.
    """

    __slots__ = ("_fingerprint", "_key")

    def __init__(self, key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey) -> None:
        if isinstance(key, rsa.RSAPublicKey):
            _check_rsa_size(key.key_size)
        elif not isinstance(key, ed25519.Ed25519PublicKey):
            raise KeyLoadError(f"unsupported key type {_key_type_name(key)}; {_KEY_TYPES_HINT}")
        self._key = key
        self._fingerprint = _public_fingerprint(key)

    @property
    def algorithm(self) -> str:
        """`RSA_PSS_SHA256` or `ED25519`."""
        return RSA_PSS_SHA256 if isinstance(self._key, rsa.RSAPublicKey) else ED25519

    @property
    def key_size(self) -> int:
        """RSA modulus size in bits, or 256 for Ed25519."""
        if isinstance(self._key, rsa.RSAPublicKey):
            return self._key.key_size
        return _ED25519_KEY_SIZE

    @property
    def fingerprint(self) -> str:
        """First 8 hex digits of SHA-256 over the SubjectPublicKeyInfo DER (as signers show)."""
        return self._fingerprint

    def verify(self, payload: bytes, signature: bytes) -> bool:
        """Check a raw signature over ``payload``.

        Args:
            payload: the bytes that should have been signed (see `logon_payload`).
            signature: the raw signature bytes (base64-decoded RawData).

        Returns:
            True when the signature is valid for this key; False otherwise (never raises for
            a bad or malformed signature).
        """
        try:
            if isinstance(self._key, rsa.RSAPublicKey):
                self._key.verify(signature, payload, _pss_verify_padding(), hashes.SHA256())
            else:
                self._key.verify(signature, payload)
        except InvalidSignature:
            return False
        return True

    def to_pem(self) -> bytes:
        """Serialize as a ``-----BEGIN PUBLIC KEY-----`` (SubjectPublicKeyInfo) PEM.

        Returns:
            The PEM bytes, as Kalshi's key upload and `load_public_key` accept.
        """
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return self.to_pem() == other.to_pem()

    def __hash__(self) -> int:
        return hash(self.to_pem())

    def __repr__(self) -> str:
        if isinstance(self._key, rsa.RSAPublicKey):
            return (
                f"PublicKey(algorithm={RSA_PSS_SHA256!r}, key_size={self.key_size}, "
                f"fingerprint={self._fingerprint!r})"
            )
        return f"PublicKey(algorithm={ED25519!r}, fingerprint={self._fingerprint!r})"


def verify_signature_b64(public_key: PublicKey, payload: bytes, b64: str | bytes) -> bool:
    """Check a RawData (96) value: standard base64 of a signature over ``payload``.

    Decoding is strict (standard alphabet, ``=`` padding, no whitespace), as RawData is
    length-delimited and carries nothing else.

    Args:
        public_key: the key registered for the Logon's SenderCompID.
        payload: the `logon_payload` rebuilt from the received Logon's tags 52, 34, 49, 56.
        b64: the RawData text (``str``) or bytes as decoded from the frame.

    Returns:
        True for a valid signature; False for malformed base64 or a signature that does not
        verify (never raises for either).
    """
    try:
        signature = base64.b64decode(b64, validate=True)
    except ValueError:  # binascii.Error (bad alphabet/padding) or non-ASCII str
        return False
    if not signature:
        return False
    return public_key.verify(payload, signature)


# --------------------------------------------------------------------------------------------
# Loading keys


def _as_bytes(data: bytes | str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8", "replace")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    return data


def _pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """(label, whole block from BEGIN to END line) for every well-formed PEM block."""
    blocks: list[tuple[str, bytes]] = []
    pos = 0
    while True:
        begin = data.find(b"-----BEGIN ", pos)
        if begin < 0:
            return blocks
        label_end = data.find(b"-----", begin + 11)
        if label_end < 0:
            return blocks
        raw_label = data[begin + 11 : label_end]
        label = raw_label.decode("ascii", "replace")
        if not (0 < len(label) <= 40 and label.replace(" ", "").isalnum() and label.isupper()):
            # Not a header line we understand; do not echo it (it may be anything).
            label = "?"
        end_marker = b"-----END " + raw_label + b"-----"
        end = data.find(end_marker, label_end)
        if end < 0:
            blocks.append((label, data[begin:]))
            return blocks
        blocks.append((label, data[begin : end + len(end_marker)]))
        pos = end + len(end_marker)


def _not_pem_message(data: bytes) -> str:
    text = f"not a PEM private key ({_EXPECTED_PEM}); "
    stripped = data.strip()
    if not stripped:
        return text + "got empty input: pass the contents of the key file"
    if stripped[:1] == b"\x30":
        return text + (
            "the input looks like binary DER: convert it with "
            "'openssl pkey -inform DER -in kalshi-fix.der -out kalshi-fix.key'"
        )
    if stripped.startswith((b"ssh-rsa ", b"ssh-ed25519 ", b"ecdsa-sha2-")):
        return (
            "this is an OpenSSH public key, not a private key: pass the PEM private key "
            f"({_EXPECTED_PEM})"
        )
    if b"\n" not in stripped and len(stripped) < 4096:
        return text + (
            "got a single line of text: if it is a file path, use load_signer_file(path)"
        )
    return text + f"got {len(data)} bytes without a PEM header"


def _public_instead_of_private(label: str) -> str:
    if label == "CERTIFICATE":
        return (
            "this is a certificate, not a private key: pass the PEM private key whose public "
            f"key you registered with Kalshi ({_EXPECTED_PEM})"
        )
    return (
        f"this is a public key ('-----BEGIN {label}-----'), not a private key: the signer "
        f"needs the private key file ({_EXPECTED_PEM}); the public key is what you register "
        "with Kalshi"
    )


def _is_encrypted(label: str, block: bytes) -> bool:
    return label == "ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in block


def load_signer(pem: bytes | str, passphrase: bytes | str | None = None) -> Signer:
    """Load a PEM private key and return the matching signer.

    Accepts PKCS#8 (``-----BEGIN PRIVATE KEY-----``, ``-----BEGIN ENCRYPTED PRIVATE KEY-----``)
    and traditional OpenSSL RSA PEM (``-----BEGIN RSA PRIVATE KEY-----``, optionally
    encrypted). Text around the PEM block, and other blocks in the same input (a certificate,
    say), are ignored; the first private-key block is used.

    Args:
        pem: the PEM text of the key file.
        passphrase: the passphrase of an encrypted key (``str`` is UTF-8 encoded); ``None``
            for an unencrypted key.

    Returns:
        An `RsaPssSigner` for an RSA key, an `Ed25519Signer` for an Ed25519 key.

    Raises:
        KeyLoadError: the input is not a PEM private key, is a public key or certificate, is
            encrypted and no passphrase was given (or the passphrase is wrong, or one was
            given for an unencrypted key), is damaged, is of a type Kalshi does not accept
            (EC, DSA, ...) or is an RSA key below 2048 bits.
    """
    if not isinstance(pem, (bytes, bytearray, memoryview, str)):
        raise KeyLoadError(
            f"pem must be bytes or str, got {type(pem).__name__}: pass the contents of the key "
            "file, or use load_signer_file(path)"
        )
    data = _as_bytes(pem)
    blocks = _pem_blocks(data)
    private = [(label, block) for label, block in blocks if label in _PRIVATE_LABELS]
    if not private:
        public = [label for label, _ in blocks if label in _PUBLIC_LABELS | {"CERTIFICATE"}]
        if public:
            raise KeyLoadError(_public_instead_of_private(public[0]))
        if any(label == "OPENSSH PRIVATE KEY" for label, _ in blocks):
            raise KeyLoadError(
                "this is an OpenSSH-format private key ('-----BEGIN OPENSSH PRIVATE KEY-----'), "
                "which is not accepted: convert a copy to PKCS#8 PEM with "
                "'ssh-keygen -p -m PKCS8 -f <copy-of-key-file>'"
            )
        if blocks:
            labels = ", ".join(sorted({f"'-----BEGIN {label}-----'" for label, _ in blocks}))
            raise KeyLoadError(f"not a PEM private key ({_EXPECTED_PEM}); found {labels}")
        raise KeyLoadError(_not_pem_message(data))

    label, block = private[0]
    if label in ("EC PRIVATE KEY", "DSA PRIVATE KEY"):
        raise KeyLoadError(f"unsupported key type {label.split()[0]}; {_KEY_TYPES_HINT}")
    encrypted = _is_encrypted(label, block)
    if encrypted and passphrase is None:
        raise KeyLoadError("the private key is encrypted: pass its passphrase (passphrase=...)")
    if not encrypted and passphrase is not None:
        raise KeyLoadError(
            "a passphrase was given but the private key is not encrypted: pass passphrase=None"
        )
    password = _as_bytes(passphrase) if passphrase is not None else None

    try:
        key = serialization.load_pem_private_key(block, password=password)
    except UnsupportedAlgorithm:
        raise KeyLoadError(
            "the private key uses a key or encryption algorithm this build of 'cryptography' "
            "cannot read: re-export it as PKCS#8, e.g. 'openssl pkcs8 -topk8 -v2 aes-256-cbc "
            "-in old.key -out kalshi-fix.key'"
        ) from None
    except TypeError:  # password given/missing: normally caught above from the PEM headers
        if password is None:
            raise KeyLoadError(
                "the private key is encrypted: pass its passphrase (passphrase=...)"
            ) from None
        raise KeyLoadError(
            "a passphrase was given but the private key is not encrypted: pass passphrase=None"
        ) from None
    except ValueError:
        if encrypted:
            raise KeyLoadError(
                "could not decrypt the private key: wrong passphrase? (or the key file is damaged)"
            ) from None
        raise KeyLoadError(
            f"the '-----BEGIN {label}-----' block could not be parsed: it is damaged or "
            "truncated (check that the whole file was copied), or not a key: re-export the key"
        ) from None

    if isinstance(key, rsa.RSAPrivateKey):
        return RsaPssSigner(key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519Signer(key)
    raise KeyLoadError(f"unsupported key type {_key_type_name(key)}; {_KEY_TYPES_HINT}")


def _read_key_file(where: str, what: str) -> bytes:
    """The key file's bytes, bounded and only from a regular file, else a KeyLoadError."""
    file = pathlib.Path(where)
    try:
        return read_small_file(where, MAX_KEY_FILE_BYTES)
    except NotASmallFile as exc:
        if str(exc).endswith("a directory"):
            raise KeyLoadError(
                f"{where!r} is a directory, not a {what} file: pass the key file's path",
                path=where,
            ) from None
        raise KeyLoadError(
            f"{where!r} is not a {what} file: {exc} (a key file is a regular file of "
            f"at most {MAX_KEY_FILE_BYTES:,} bytes): pass the key file's path",
            path=where,
        ) from None
    except FileNotFoundError:
        hint = "check the path"
        if not file.is_absolute():
            hint += f" (relative to the working directory {os.getcwd()!r})"
        raise KeyLoadError(f"{what} file not found: {where!r}: {hint}", path=where) from None
    except PermissionError:
        raise KeyLoadError(
            f"cannot read {what} file {where!r}: permission denied; make it readable by "
            "this user (e.g. 'chmod 600' as its owner)",
            path=where,
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise KeyLoadError(f"cannot read {what} file {where!r}: {reason}", path=where) from None


def load_signer_file(path: str | os.PathLike[str], passphrase: bytes | str | None = None) -> Signer:
    """Read a PEM private key file and return the matching signer (see `load_signer`).

    Args:
        path: the key file.
        passphrase: the passphrase of an encrypted key, or ``None``.

    Returns:
        An `RsaPssSigner` or an `Ed25519Signer`.

    Raises:
        KeyLoadError: the file is missing or unreadable, is not a regular file (a device, a
            pipe: refused unread, never waited on), is over `MAX_KEY_FILE_BYTES`, or its
            content is refused by `load_signer`; the message names the path and
            `KeyLoadError.path` holds it.
    """
    where = os.fspath(path)
    data = _read_key_file(where, "private key")
    try:
        return load_signer(data, passphrase)
    except KeyLoadError as exc:
        raise KeyLoadError(f"{where!r}: {exc}", path=where) from None


def load_public_key_file(path: str | os.PathLike[str]) -> PublicKey:
    """Read a PEM public key file (see `load_public_key`), as `load_signer_file` reads a
    private one: bounded, and only a regular file.

    Raises:
        KeyLoadError: the file is missing, unreadable, not a regular file, over
            `MAX_KEY_FILE_BYTES`, or not a public key; the message names the path.
    """
    where = os.fspath(path)
    data = _read_key_file(where, "public key")
    try:
        return load_public_key(data)
    except KeyLoadError as exc:
        raise KeyLoadError(f"{where!r}: {exc}", path=where) from None


def load_public_key(pem: bytes | str) -> PublicKey:
    """Load a PEM public key (``-----BEGIN PUBLIC KEY-----`` or ``RSA PUBLIC KEY``).

    Args:
        pem: the PEM text of the public key, as registered with Kalshi.

    Returns:
        A `PublicKey` for verifying Logon signatures.

    Raises:
        KeyLoadError: the input is not a PEM public key (a private key or certificate is
            refused with a hint how to extract the public key), is damaged, is of an
            unsupported type, or is an RSA key below 2048 bits.
    """
    if not isinstance(pem, (bytes, bytearray, memoryview, str)):
        raise KeyLoadError(f"pem must be bytes or str, got {type(pem).__name__}")
    data = _as_bytes(pem)
    blocks = _pem_blocks(data)
    public = [(label, block) for label, block in blocks if label in _PUBLIC_LABELS]
    if not public:
        labels = {label for label, _ in blocks}
        if labels & _PRIVATE_LABELS or "OPENSSH PRIVATE KEY" in labels:
            raise KeyLoadError(
                "this is a private key, not a public key: give the verifier only the public "
                "key ('openssl pkey -in kalshi-fix.key -pubout -out kalshi-fix.pub')"
            )
        if "CERTIFICATE" in labels:
            raise KeyLoadError(
                "this is a certificate, not a public key: extract the key with "
                "'openssl x509 -in cert.pem -pubkey -noout > kalshi-fix.pub'"
            )
        raise KeyLoadError(
            "not a PEM public key (expected '-----BEGIN PUBLIC KEY-----' or "
            "'-----BEGIN RSA PUBLIC KEY-----')"
        )
    label, block = public[0]
    try:
        key = serialization.load_pem_public_key(block)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyLoadError(
            f"the '-----BEGIN {label}-----' block could not be parsed: it is damaged or "
            "truncated, or of a key type this build of 'cryptography' cannot read"
        ) from None
    if not isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise KeyLoadError(f"unsupported key type {_key_type_name(key)}; {_KEY_TYPES_HINT}")
    return PublicKey(key)

"""Where the API key comes from: `Credentials` from a key file or the environment.

``KALSHI_KEY_ID`` with ``KALSHI_PRIVATE_KEY`` (PEM text) or ``KALSHI_PRIVATE_KEY_PATH``, and
``KALSHI_PRIVATE_KEY_PASSPHRASE`` for an encrypted key; margin reads the ``KALSHI_PERPS_*``
equivalents. A missing variable is an error that lists exactly what to set; no error ever
shows key material.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

import attrs

from ..codec import PRODUCTS
from ..codec.errors import LocalProtocolError
from ._keyenv import env_key_error
from .auth import KeyLoadError, Signer, load_signer, load_signer_file

__all__ = ["Credentials"]

_ENV_PREFIX: Final = {"prediction": "KALSHI_", "margin": "KALSHI_PERPS_"}


def _check_key_id(key_id: object) -> str:
    if not isinstance(key_id, str) or not key_id.strip():
        raise LocalProtocolError("the API key id must be a non-empty string (a UUID)")
    key_id = key_id.strip()
    if any(c.isspace() or c == "\x01" for c in key_id):
        raise LocalProtocolError("the API key id must not contain whitespace or SOH")
    return key_id


def _unescape_pem(pem: str) -> str:
    # .env files and container secrets often carry a PEM on one line with literal "\n"
    if "-----BEGIN" in pem and "\n" not in pem.strip() and "\\n" in pem:
        return pem.replace("\\n", "\n")
    return pem


@attrs.frozen(repr=False)
class Credentials:
    """A FIX API key id and the signer of its private key.

    The repr shows the key id and the signature algorithm, never key material or passphrase.

    Attributes:
        key_id: the API key id (a UUID): the SenderCompID.
        signer: signs the Logon (`kalshi_fix_sansio.session.auth.Signer`).
    """

    key_id: str = attrs.field(converter=_check_key_id)
    signer: Signer

    def __repr__(self) -> str:
        algorithm = getattr(self.signer, "algorithm", "?")
        return f"Credentials(key_id={self.key_id!r}, signer=<{algorithm} signer>)"

    @classmethod
    def from_key(
        cls,
        key_id: str,
        *,
        pem: bytes | str | None = None,
        path: str | os.PathLike[str] | None = None,
        passphrase: bytes | str | None = None,
    ) -> Credentials:
        """Credentials from a key id and a PEM private key (text or file).

        Args:
            key_id: the API key id.
            pem: the PEM text of the private key.
            path: the private key file (instead of ``pem``).
            passphrase: the passphrase of an encrypted key.

        Returns:
            The credentials.

        Raises:
            LocalProtocolError: no or both of ``pem`` / ``path``, or a bad key id.
            KeyLoadError: the key cannot be loaded (see `kalshi_fix_sansio.session.auth.load_signer`).
        """
        if (pem is None) == (path is None):
            raise LocalProtocolError(
                "pass exactly one of pem= (the PEM text) or path= (the key file)"
            )
        key_id = _check_key_id(key_id)
        if pem is not None:
            if isinstance(pem, str):
                pem = _unescape_pem(pem)
            signer = load_signer(pem, passphrase)
        else:
            assert path is not None
            signer = load_signer_file(path, passphrase)
        return cls(key_id, signer)

    @classmethod
    def from_env(
        cls,
        product: str = "prediction",
        environ: Mapping[str, str] | None = None,
        *,
        passphrase: bytes | str | None = None,
    ) -> Credentials:
        """Credentials from environment variables.

        prediction: ``KALSHI_KEY_ID`` and ``KALSHI_PRIVATE_KEY`` (PEM text) or
        ``KALSHI_PRIVATE_KEY_PATH`` (key file), optional ``KALSHI_PRIVATE_KEY_PASSPHRASE``.
        margin: the same names with ``KALSHI_PERPS_`` (Kalshi says not to share keys between
        the products). Empty variables count as unset; a PEM given on one line with literal
        ``\\n`` sequences is accepted.

        Args:
            product: ``"prediction"`` or ``"margin"``.
            environ: the variables (default ``os.environ``).
            passphrase: the passphrase of an encrypted key, used instead of the
                ``..._PRIVATE_KEY_PASSPHRASE`` variable.

        Returns:
            The credentials.

        Raises:
            LocalProtocolError: unknown product, or variables missing or conflicting (the
                message lists exactly which to set).
            KeyLoadError: the key cannot be loaded (the message names the variable to fix; a
                wrong ``passphrase`` given is called that, for the key file named).
        """
        if product not in _ENV_PREFIX:
            raise LocalProtocolError(
                f"unknown product {product!r}: use one of {', '.join(map(repr, PRODUCTS))}"
            )
        env = os.environ if environ is None else environ
        prefix = _ENV_PREFIX[product]
        id_var = f"{prefix}KEY_ID"
        pem_var = f"{prefix}PRIVATE_KEY"
        path_var = f"{prefix}PRIVATE_KEY_PATH"
        pass_var = f"{prefix}PRIVATE_KEY_PASSPHRASE"

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value and value.strip() else None

        key_id, pem, path = get(id_var), get(pem_var), get(path_var)
        given = passphrase is not None  # the caller's, not the variable's: errors say so
        if passphrase is None:
            passphrase = get(pass_var)
        path = path.strip() if path is not None else None
        missing: list[str] = []
        if key_id is None:
            missing.append(id_var)
        if pem is None and path is None:
            missing.append(f"{pem_var} (the PEM text) or {path_var} (the key file)")
        if missing:
            text = f"{product} FIX credentials are not set: set {' and '.join(missing)}"
            text += f" (optional: {pass_var} for an encrypted key)"
            if product == "margin" and get("KALSHI_KEY_ID") is not None:
                text += (
                    "; margin reads the KALSHI_PERPS_* variables, not KALSHI_*: Kalshi says "
                    "not to share API keys between the products"
                )
            raise LocalProtocolError(text)
        if pem is not None and path is not None:
            raise LocalProtocolError(f"both {pem_var} and {path_var} are set: set only one of them")
        assert key_id is not None
        try:
            return cls.from_key(key_id, pem=pem, path=path, passphrase=passphrase)
        except KeyLoadError as exc:  # its advice names the variable to set, not passphrase=...
            raise env_key_error(exc, pem_var, path_var, None if given else pass_var) from None

"""`Credentials.from_env`'s key errors, saying which environment variable to change.

`kalshi_fix_sansio.session.auth` speaks to Python callers of `load_signer` (``pass its passphrase
(passphrase=...)``, ``use load_signer_file(path)``); a key read from the environment is fixed
in the environment: the same error names the variable to set or unset instead.
"""

from __future__ import annotations

from .auth import KeyLoadError

__all__ = ["env_key_error"]


def env_key_error(
    error: KeyLoadError, pem_var: str, path_var: str, pass_var: str | None
) -> KeyLoadError:
    """``error`` (from loading the key ``from_env`` found) with its advice for Python callers
    replaced by the variables ``pem_var`` (PEM text), ``path_var`` (key file) and ``pass_var``
    (passphrase); the path it names is kept (`KeyLoadError.path`). ``pass_var`` None: the
    passphrase was the caller's argument, not the variable, and its advice (a wrong passphrase,
    one the key does not need) stays the argument's."""
    text = str(error)
    rewrites = [("use load_signer_file(path)", f"set {path_var} to it instead of {pem_var}")]
    if pass_var is not None:
        rewrites += [
            ("pass its passphrase (passphrase=...)", f"set {pass_var} to its passphrase"),
            ("pass passphrase=None", f"unset {pass_var}"),
            ("wrong passphrase?", f"wrong passphrase in {pass_var}?"),
        ]
    for python, environment in rewrites:
        text = text.replace(python, environment)
    return KeyLoadError(text, path=error.path)

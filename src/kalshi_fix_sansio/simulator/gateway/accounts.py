"""The mock gateway's accounts: which API keys belong to one Kalshi account.

Kalshi allows one FIX connection per API key, and a desk runs several keys of one account. What
a session sees follows the account, not the key (Kalshi's listener-session and drop-copy
pages): a listener session (KalshiNR / KalshiRT with ListenerSession) receives the
ExecutionReports of every order of the account, whichever key sent it; a KalshiDC replay returns
the account's reports; self-trade prevention and positions are the account's. Logons are
counted per account too (`Faults.logon_rate_limit`).

`account_map` turns ``{account: [key, ...]}`` into key -> account, checking it; a key listed in
no account is an account of its own (so the mock's well-known key stays a one-key account).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["account_map", "parse_account"]


def parse_account(text: str) -> tuple[str, list[str]]:
    """``NAME=KEY1,KEY2`` (the ``kalshi-fix mock-gateway --account`` option) as (name, keys).

    Raises:
        ValueError: not of that form (the message shows it).
    """
    name, sep, listed = text.partition("=")
    keys = [key.strip() for key in listed.split(",") if key.strip()]
    if not sep or not name.strip() or not keys:
        raise ValueError(f"--account takes NAME=KEY_ID[,KEY_ID...], got {text!r}")
    return name.strip(), keys


def account_map(
    accounts: Mapping[str, Iterable[str]] | None, keys: Iterable[str]
) -> dict[str, str]:
    """Key -> account from ``accounts`` (account name -> its API key ids).

    Args:
        accounts: the accounts with several keys (None: every key is its own account).
        keys: the keys the gateway knows (both products'): an account's key must be one.

    Returns:
        The account of each key listed in ``accounts`` (a key not listed: its own account).

    Raises:
        ValueError: an account name that is not a non-empty string, an account without keys,
            a key the gateway does not know, or a key in two accounts.
    """
    known = set(keys)
    owner: dict[str, str] = {}
    for name, members in (accounts or {}).items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"accounts: an account name must be a non-empty string, got {name!r}")
        if isinstance(members, str):
            members = [members]
        listed = list(members)
        if not listed:
            raise ValueError(f"accounts[{name!r}]: an account needs at least one API key")
        for key in listed:
            if key not in known:
                raise ValueError(
                    f"accounts[{name!r}]: API key {key!r} is not one of the gateway's keys "
                    "(give its public key in keys= first)"
                )
            if key in owner and owner[key] != name:
                raise ValueError(
                    f"accounts: API key {key!r} is in two accounts, {owner[key]!r} and {name!r}"
                )
            owner[key] = name
    return owner

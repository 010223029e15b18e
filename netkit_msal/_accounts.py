"""Tokens of many users in one provider, kept apart: the memory behind ``get_token(account=...)`` and views.

Every token is filed under the home account id of the account MSAL returned it for, never under a name a caller
gave, so that a lookup by one user's name cannot find another user's token. Bounded (oldest forgotten first) and
safe to use from many threads at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Optional

from ._exceptions import NetKitError
from ._token import Token

#: A key of the memory: (home account id or assertion hash, scopes key).
_Key = tuple[str, tuple[str, ...]]


def assertion_key(user_assertion: str) -> str:
    """What on-behalf-of tokens are filed under: a hash of the incoming token (the token itself is not kept)."""
    import hashlib

    return "obo:" + hashlib.sha256(user_assertion.encode("utf-8")).hexdigest()


def home_id(account: Mapping[str, Any]) -> str:
    return str(account.get("home_account_id") or "")


def find_account(accounts: list[dict[str, Any]], wanted: str) -> Optional[dict[str, Any]]:
    """The cached account a caller named: by username (case-insensitive) or home account id; None if absent.

    Two cached accounts with one username (guest in two tenants) cannot be told apart by name: NetKitError.
    """
    folded = wanted.lower()
    matches = [a for a in accounts if str(a.get("username", "")).lower() == folded or home_id(a) == wanted]
    if len({home_id(a) for a in matches}) > 1:
        raise NetKitError(f"several cached accounts are named {wanted!r} (one per tenant): pass the home account "
                          "id as account= (see provider.accounts())")
    return matches[0] if matches else None


class AccountTokens:
    """Resolved accounts and their tokens, per home account id."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._accounts: dict[str, dict[str, Any]] = {}
        self._tokens: OrderedDict[_Key, Token] = OrderedDict()

    def account(self, name: str) -> Optional[dict[str, Any]]:
        """An account resolved before (by username, folded, or home account id), or None."""
        with self._lock:
            return self._accounts.get(name.lower()) or self._accounts.get(name)

    def remember_account(self, account: dict[str, Any]) -> None:
        """Known from now on by its username (folded) and its home account id."""
        with self._lock:
            if account.get("username"):
                self._accounts[str(account["username"]).lower()] = account
            self._accounts[home_id(account)] = account

    def get(self, owner: str, scopes: tuple[str, ...]) -> Optional[Token]:
        with self._lock:
            return self._tokens.get((owner, scopes))

    def put(self, owner: str, scopes: tuple[str, ...], token: Token) -> None:
        with self._lock:
            self._tokens[(owner, scopes)] = token
            self._tokens.move_to_end((owner, scopes))
            while len(self._tokens) > self._limit:
                self._tokens.popitem(last=False)

    def forget(self, home_ids: set[str]) -> None:
        """Drop the accounts (signed out) and everything filed under them."""
        with self._lock:
            for key in [k for k in self._tokens if k[0] in home_ids]:
                del self._tokens[key]
            for name in [n for n, a in self._accounts.items() if home_id(a) in home_ids]:
                del self._accounts[name]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._accounts.clear()

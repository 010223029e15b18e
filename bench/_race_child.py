"""One process of the shared-expiry race: build the client, say "ready", wait for the signal, get a token.

``python -m bench._race_child SPEC_FILE GO_FILE``; SPEC_FILE says the side ("ours": a 4D parameter object;
"msal-extensions": msal's ``PublicClientApplication`` over ``PersistedTokenCache(FilePersistence(path))``, as
msal-extensions' README shows). Prints one JSON line: ``{"ok": bool, "error": str}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def _ours(spec: dict[str, Any]) -> Callable[[], None]:
    from netkit_msal import OAuth2Provider

    provider = OAuth2Provider(spec["params"])
    return lambda: provider.get_token(interactive=False) and None


def _msal_extensions(spec: dict[str, Any]) -> Callable[[], None]:
    import msal
    import requests
    from msal_extensions import FilePersistence, PersistedTokenCache

    http = requests.Session()
    http.trust_env = False
    http.verify = spec["ca_file"]
    app = msal.PublicClientApplication(spec["client_id"], authority=spec["authority"], http_client=http,
                                       instance_discovery=False,
                                       token_cache=PersistedTokenCache(FilePersistence(spec["cache"])))
    account = app.get_accounts(username=spec["username"])[0]

    def get() -> None:
        result = app.acquire_token_silent(spec["scopes"], account)
        if not result or "access_token" not in result:
            raise RuntimeError(f"no token: {(result or {}).get('error')}")
    return get


def main(spec_file: str, go_file: str) -> int:
    with open(spec_file, encoding="utf-8") as handle:
        spec = json.load(handle)
    get = _ours(spec) if spec["side"] == "ours" else _msal_extensions(spec)
    print("ready", flush=True)
    while not os.path.exists(go_file):
        time.sleep(0.001)
    try:
        get()
    except Exception as exc:  # reported, not raised: the parent counts failures
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps({"ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

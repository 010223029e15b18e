"""The slow refresher of the contention row: ``python -m bench._contention_child PARAMS_FILE STOP_FILE``.

Refreshes the signed-in user's token again and again (``get_token(force_refresh=True)``, over the cache file the
parameters name) until STOP_FILE exists; prints "refreshing" first, then one JSON line: ``{"refreshes": n}`` or
``{"error": text}``.
"""

from __future__ import annotations

import json
import os
import sys


def main(params_file: str, stop_file: str) -> int:
    from netkit_msal import OAuth2Provider

    with open(params_file, encoding="utf-8") as handle:
        params = json.load(handle)
    refreshes = 0
    with OAuth2Provider(params) as provider:
        print("refreshing", flush=True)
        try:
            while not os.path.exists(stop_file):
                provider.get_token(force_refresh=True, interactive=False)
                refreshes += 1
        except Exception as exc:  # reported, not raised: the parent says what failed
            print(json.dumps({"refreshes": refreshes, "error": f"{type(exc).__name__}: {exc}"}))
            return 1
    print(json.dumps({"refreshes": refreshes}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

"""One process walking a very big folder: ``python -m bench._stream_child SPEC_JSON``.

SPEC: ``{"params": <4D parameter object>, "upn": ..., "top": page size}``. Prints one JSON line: the messages
counted, the seconds, resident memory after the first page and its peak (MB) while walking the rest.
"""

from __future__ import annotations

import gc
import json
import sys
import time

from ._measure import peak_mb, reset_peak, rss_mb


def main(spec_json: str) -> int:
    from netkit_msal import OAuth2Provider, Office365

    spec = json.loads(spec_json)
    with OAuth2Provider(spec["params"]) as provider:
        office = Office365(provider, {"userId": spec["upn"]})
        started = time.perf_counter()
        mails = office.mail.get_mails({"folderId": "archive", "select": "id,subject", "top": spec["top"]})
        gc.collect()
        reset_peak()
        start = rss_mb()
        count = 0
        for mail in mails:
            count += bool(mail["id"])
        seconds = time.perf_counter() - started
        peak = peak_mb()
        office.close()
    print(json.dumps({"count": count, "seconds": seconds, "start_mb": start, "peak_mb": peak,
                      "growth_mb": max(0.0, peak - start)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""Where a parameter object may come from besides code: azure-identity's environment variables, a JSON file.

Its own module because the CLI and scripts use it, while the parameter object itself does no I/O.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Optional

from ._certificates import read_file
from ._exceptions import WRONG_TYPE, ConfigError

ENVIRONMENT = {
    "AZURE_CLIENT_ID": "clientId",
    "AZURE_TENANT_ID": "tenant",
    "AZURE_CLIENT_SECRET": "clientSecret",
    "AZURE_CLIENT_CERTIFICATE_PATH": "certificateFile",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD": "certificatePassword",
    "AZURE_AUTHORITY_HOST": "authority",
}


def params_from_environment(environ: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """A parameter object from the ``AZURE_*`` variables azure-identity users already set."""
    environ = os.environ if environ is None else environ
    params = {key: environ[variable] for variable, key in ENVIRONMENT.items() if environ.get(variable)}
    if "authority" in params and "://" not in params["authority"]:
        params["authority"] = "https://" + params["authority"]  # AZURE_AUTHORITY_HOST may be a bare host
    return params


def params_from_file(path: Any) -> dict[str, Any]:
    """The parameter object saved as JSON in ``path``; ConfigError (key ``params``) when it can't be used."""
    # a regular file, bounded: never a FIFO's hang or /dev/zero's flood
    data = read_file(path, "params", what="the parameter file")
    try:
        loaded = json.loads(data.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError too
        raise ConfigError(f"the parameter file {path} is not JSON ({exc})", key="params") from None
    except RecursionError:
        raise ConfigError(f"the parameter file {path} is JSON nested too deeply", key="params") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"the parameter file {path} must hold a JSON object (4D's parameter object)",
                          key="params", code=WRONG_TYPE)
    return loaded

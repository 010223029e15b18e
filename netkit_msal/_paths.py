"""Per-user folders, in one place so that the product and the emulator agree on where things live.

platformdirs knows each platform's conventions (XDG on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on
Windows) better than hand-written code; ``opinion=False`` keeps the folder names this package always used.
The environment variables below override the defaults (the test suite relies on them).
"""

from __future__ import annotations

import os

APP_NAME = "netkit-msal"
ENV_CACHE_DIR = "NETKIT_MSAL_CACHE_DIR"
ENV_EMULATOR_DIR = "NETKIT_MSAL_EMULATOR_DIR"


def user_cache_dir() -> str:
    """The platform's per-user cache folder for this package, without the overrides."""
    import platformdirs  # only where no folder is given (a few ms a process otherwise)

    return platformdirs.user_cache_dir(APP_NAME, appauthor=False, opinion=False)


def default_cache_dir() -> str:
    """Where token caches live: ``$NETKIT_MSAL_CACHE_DIR``, else the per-user cache folder."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return os.path.abspath(os.path.expanduser(override))
    return user_cache_dir()


def emulator_state_dir() -> str:
    """The emulator's key material and state: ``$NETKIT_MSAL_EMULATOR_DIR``, else ``<cache folder>/emulator``."""
    override = os.environ.get(ENV_EMULATOR_DIR)
    return override if override else os.path.join(user_cache_dir(), "emulator")

"""Where the samples run: the embedded Microsoft 365 emulator (the default) or your tenant.

Every sample makes this one choice through ``open_target()``:

- a parameter file holding 4D's parameter object (``--params file.json`` for the scripts, the
  ``NETKIT_PARAMS`` environment variable for the notebooks and the scripts) -> your tenant; a service
  (app-only) sample works on the mailbox ``--user`` or ``NETKIT_USER`` names;
- else azure-identity's variables (``AZURE_CLIENT_ID``, ``AZURE_TENANT_ID`` and ``AZURE_CLIENT_SECRET``
  or ``AZURE_CLIENT_CERTIFICATE_PATH``) -> your tenant;
- else an emulator started in this process, in a temporary folder, with a ready parameter object for
  its seeded apps and users (adele@contoso.example signs in with a headless browser).

Keep this file next to the samples that import it.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

from netkit_msal import ConfigError, params_from_environment, params_from_file

PARAMS_VARIABLE = "NETKIT_PARAMS"
#: The mailbox a service (app-only) sample works on, for notebooks (the scripts also take ``--user``).
USER_VARIABLE = "NETKIT_USER"
#: The one variable that decides "your tenant" on its own: without a client id there is no app registration.
_CLIENT_ID_VARIABLE = "AZURE_CLIENT_ID"


class Target:
    """The parameter object to build an ``OAuth2Provider`` from, and the emulator behind it (if any).

    ``user`` is the mailbox a sample works on: the ``--user`` given (on the emulator, a signed-in sample
    signs that user in), else for a service (app-only) sample the emulator's first user; None means the
    signed-in user ("me").
    """

    def __init__(self, params: dict[str, Any], *, emulator: Any = None, user: Optional[str] = None,
                 workdir: Optional[str] = None) -> None:
        self.params = params
        self.emulator = emulator
        self.user = user
        self._workdir = workdir

    @property
    def is_emulator(self) -> bool:
        return self.emulator is not None

    def provider(self, **kwargs: Any) -> Any:
        """An ``OAuth2Provider`` for these parameters (keyword arguments go to it)."""
        from netkit_msal import OAuth2Provider

        return OAuth2Provider(self.params, **kwargs)

    def office365(self, provider: Any, options: Optional[dict[str, Any]] = None, **kwargs: Any) -> Any:
        """``Office365`` on ``provider``, working on ``user``'s mailbox when there is one, else on "me"."""
        from netkit_msal import Office365

        return Office365(provider, {**({"userId": self.user} if self.user else {}), **(options or {})}, **kwargs)

    def close(self) -> None:
        """Stop the emulator and remove its temporary folder (nothing to do for a tenant)."""
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> "Target":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def add_target_arguments(parser: argparse.ArgumentParser, *, user_help: str) -> None:
    """The scripts' common options: ``--params FILE`` (your tenant) and ``--user`` (a mailbox)."""
    parser.add_argument("--params", metavar="FILE",
                        help=f"4D parameter object (JSON) of your app registration; default: ${PARAMS_VARIABLE}, "
                             "else the AZURE_* variables, else the embedded emulator")
    parser.add_argument("--user", help=f"{user_help} (default: ${USER_VARIABLE})")


def open_target(permission: str = "signedIn", *, params_file: Optional[str] = None, user: Optional[str] = None,
                certificate: bool = False, **overrides: Any) -> Target:
    """Your tenant when a parameter file or ``AZURE_*`` variables say so, else a started emulator.

    ``permission`` ("signedIn" or "service") and ``certificate`` (the service app that signs in with
    a certificate) choose the emulator's app; your parameter file chooses for itself. ``overrides``
    are merged into the parameter object (e.g. ``cache``).
    """
    params_file = params_file or os.environ.get(PARAMS_VARIABLE)
    user = user or os.environ.get(USER_VARIABLE)
    if params_file:
        print(f"Using your tenant: parameters from {params_file}", flush=True)
        return Target({**_read_params(params_file), **overrides}, user=user)
    if os.environ.get(_CLIENT_ID_VARIABLE):
        print("Using your tenant: parameters from the AZURE_* environment variables", flush=True)
        return Target({**params_from_environment(), **overrides}, user=user)
    return _emulator_target(permission, user=user, certificate=certificate, overrides=overrides)


def _read_params(path: str) -> dict[str, Any]:
    try:
        return params_from_file(path)
    except ConfigError as error:
        raise SystemExit(str(error)) from None


def _emulator_target(permission: str, *, user: Optional[str], certificate: bool,
                     overrides: dict[str, Any]) -> Target:
    from netkit_msal.emulator import CERT_CLIENT_ID, Emulator

    workdir = tempfile.mkdtemp(prefix="netkit-msal-sample-")
    emulator = Emulator(Path(workdir) / "emulator")
    target = Target({}, emulator=emulator, workdir=workdir)
    atexit.register(target.close)  # a notebook whose last cell never runs still removes the folder
    try:
        emulator.start()
        options = {"cache": {"path": str(Path(workdir) / "token-cache.bin"), "allowUnencrypted": True}, **overrides}
        if permission == "signedIn":
            person = user or emulator.users[0].upn
            emulator.install_browser(person)  # the "browser" signs the user in and consents, without a window
            target.params = emulator.params("signedIn", **{"loginHint": person, **options})
        elif certificate:
            target.params = emulator.params("service", **{"clientId": CERT_CLIENT_ID, "clientSecret": None,
                                                          "certificateFile": emulator.client_certificate_path,
                                                          **options})
        else:
            target.params = emulator.params("service", **options)
    except BaseException:
        target.close()
        raise
    if permission != "signedIn":
        user = user or emulator.users[0].upn  # an app has no "me": it works on a mailbox
    target.user = user
    print(f"Using the embedded Microsoft 365 emulator at {emulator.url} (tenant {emulator.domain}); "
          f"give --params FILE, {PARAMS_VARIABLE} or AZURE_* variables to use your tenant", flush=True)
    return target

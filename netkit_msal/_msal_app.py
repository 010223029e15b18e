"""Building a provider's MSAL application: public or confidential client, its token and HTTP caches, its session.

Kept apart from the 4D facade (``_provider``) so that what MSAL is told lives in one place.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from ._claims import CLIENT_CAPABILITIES
from .flows import msal_errors

if TYPE_CHECKING:
    import msal
    import requests

    from ._config import Config
    from .cache import TokenStore
    from .flows.managed_identity import ManagedIdentityApp

log = logging.getLogger("netkit_msal")


class _RedactAuthorizationCode(logging.Filter):
    """MSAL's token cache logs each token request at DEBUG with tokens and secrets masked, but not the
    authorization code, its PKCE verifier or the device code: mask those too."""

    _FIELD = re.compile(r'("(?:code|code_verifier|device_code)": )"[^"]*"')

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple) and isinstance(record.args[0], str):
            record.args = (self._FIELD.sub(r'\1"********"', record.args[0]), *record.args[1:])
        return True


_CACHE_LOGGER_FILTER = _RedactAuthorizationCode()


def build_app(config: Config, store: TokenStore,
              session: requests.Session) -> msal.ClientApplication | ManagedIdentityApp:
    """MSAL's application for ``config`` (its construction may fetch the discovery document).

    Every app declares the client capability ``CP1``: it handles claims challenges, so Entra issues it
    CAE-capable tokens (``xms_cc``) that a resource revokes at once instead of at expiry.
    """
    import msal

    from ._msal_http import MsalHttpClient

    logging.getLogger("msal.token_cache").addFilter(_CACHE_LOGGER_FILTER)  # idempotent
    if config.managed_identity is not None:
        from .flows.managed_identity import ManagedIdentityApp

        with msal_errors("managed identity"):
            return ManagedIdentityApp(config.managed_identity, store.token_cache, session, store.http_cache)
    options: dict[str, Any] = dict(
        authority=config.authority, token_cache=store.token_cache, http_cache=store.http_cache,
        http_client=MsalHttpClient(session), enable_pii_log=False, client_capabilities=CLIENT_CAPABILITIES,
    )
    if not config.instance_discovery:
        options["instance_discovery"] = False
    app: msal.ClientApplication
    with msal_errors("configuration of the identity platform"):
        if config.confidential:
            app = msal.ConfidentialClientApplication(config.client_id, client_credential=config.client_credential(),
                                                     **options)
        else:
            app = msal.PublicClientApplication(config.client_id, **options)
    store.save_http_cache()
    log.debug("MSAL %s for %s", type(app).__name__, config.authority)
    return app

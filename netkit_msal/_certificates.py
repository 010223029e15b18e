"""Files named in the parameter object: the client certificate (PEM or PKCS#12), the CA file, the pages.

Its own module because it is the only part of the parameter object that reads files and calls into
``cryptography`` (imported lazily); every failure is a ConfigError naming the key, never a traceback or a hang
(:func:`read_file`: regular files only, bounded).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from ._exceptions import BAD_PEM, BAD_VALUE, MISSING, TOO_LARGE, ConfigError

#: A certificate, a CA bundle or a page is well under this; a bigger file is a mistake (and /dev/zero never ends).
MAX_FILE_BYTES = 8 << 20


def ca_file(v: Mapping[str, Any]) -> Optional[str]:
    if "caFile" not in v:
        return None
    path = user_path(v["caFile"], "caFile")
    if not is_file(path, "caFile"):
        raise ConfigError(f"caFile {shown(str(path))} does not exist", key="caFile", code=BAD_VALUE)
    # a regular file of a sane size: OpenSSL would read a FIFO or /dev/zero for ever
    content = read_file(path, "caFile")
    if content in _LOADABLE_CA:  # a web app builds a provider per request: OpenSSL parses each bundle once
        return str(path)
    import ssl

    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"caFile {shown(str(path))} holds no PEM certificate ({exc.__class__.__name__})",
                          key="caFile", code=BAD_PEM) from None
    except OSError as exc:  # e.g. not readable by this user
        raise ConfigError(f"caFile {shown(str(path))} cannot be read: {exc.strerror or exc}", key="caFile",
                          code=BAD_VALUE) from None
    if len(_LOADABLE_CA) >= 16:
        _LOADABLE_CA.clear()
    _LOADABLE_CA.add(content)
    return str(path)


#: Contents of CA files OpenSSL has accepted in this process (by content, so an edited file is checked again).
_LOADABLE_CA: set[bytes] = set()


def user_path(value: Any, key: str) -> Path:
    """``value`` as a path with ``~`` expanded (``~user`` of an unknown user is a ConfigError naming ``key``)."""
    try:
        return Path(str(value)).expanduser()
    except RuntimeError:
        raise ConfigError(f"{key} {shown(str(value))}: the home directory in it is unknown", key=key,
                          code=BAD_VALUE) from None


def is_file(path: Path, key: str) -> bool:
    """``path.is_file()``, where a name the system refuses (over 255 bytes: ENAMETOOLONG) is a ConfigError."""
    try:
        return path.is_file()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{key} {shown(str(path))} cannot be a file name: {getattr(exc, 'strerror', None) or exc}",
                          key=key, code=BAD_VALUE) from None


def read_file(path: str | os.PathLike[str], key: str, limit: int = MAX_FILE_BYTES, *,
              what: Optional[str] = None) -> bytes:
    """The content of a regular file of at most ``limit`` bytes, else a ConfigError naming ``key`` (or, in its
    message, ``what`` the file is, such as "the parameter file").

    Opened non-blocking, so a FIFO is refused at once instead of waiting for a writer; a device, a folder or a
    FIFO is refused before any read; ``/dev/zero`` behind a symlink too (the check is on what was opened).
    """
    name = f"{what or key} {shown(os.fspath(path))}"

    def refused(problem: str, code: int = BAD_VALUE) -> ConfigError:
        return ConfigError(f"cannot read {name}: {problem}" if what else f"{name} cannot be read: {problem}",
                           key=key, code=code)

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise refused(getattr(exc, "strerror", None) or str(exc)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise refused("not a regular file")
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise refused(exc.strerror or str(exc)) from None
    if len(data) > limit:
        raise refused(f"larger than {limit} bytes", TOO_LARGE)
    return data


def shown(text: str) -> str:
    """``text`` quoted for a message, cut short when it is long (a file name may be thousands of characters)."""
    return repr(text) if len(text) <= 80 else repr(text[:80]) + "..."



def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def certificate_from(v: Mapping[str, Any]) -> tuple[Optional[str], Optional[str]]:
    """(unencrypted private key PEM, thumbprint hex) from ``privateKey``+``thumbprint`` or ``certificateFile``."""
    password = _text(v["certificatePassword"]) if "certificatePassword" in v else None
    if "certificateFile" in v and "privateKey" in v:
        raise ConfigError("privateKey and certificateFile are both given: use one", key="certificateFile",
                          code=BAD_VALUE)
    if "thumbprint" in v and "privateKey" not in v:
        if "certificateFile" in v:
            raise ConfigError("thumbprint is not needed with certificateFile: it is computed from the certificate",
                              key="thumbprint", code=BAD_VALUE)
        raise ConfigError("privateKey is missing: thumbprint goes with privateKey (PEM text)",
                          key="privateKey", code=MISSING)
    if password is not None and "certificateFile" not in v and "privateKey" not in v:
        raise ConfigError("certificatePassword is given without certificateFile or privateKey",
                          key="certificatePassword", code=BAD_VALUE)
    if "privateKey" in v:
        pem = _text(v["privateKey"])
        key_pem, cert_thumbprint = _load_pem(pem.encode(), password, "privateKey")
        thumbprint = v.get("thumbprint")
        if thumbprint is None:
            if cert_thumbprint is None:
                raise ConfigError("thumbprint is missing: give the certificate's SHA-1 thumbprint (hex) with "
                                  "privateKey",
                                  key="thumbprint", code=MISSING)
            thumbprint = cert_thumbprint
        cleaned = re.sub(r"[\s:]", "", thumbprint).upper()
        if not re.fullmatch(r"[0-9A-F]{40}", cleaned):
            raise ConfigError("thumbprint must be the certificate's SHA-1 thumbprint: 40 hex digits",
                              key="thumbprint", code=BAD_VALUE)
        return key_pem, cleaned
    if "certificateFile" in v:
        path = user_path(v["certificateFile"], "certificateFile")
        data = read_file(path, "certificateFile")
        if path.suffix.lower() in (".pfx", ".p12"):
            key_pem, cert_thumbprint = _load_pfx(data, password)
        else:
            key_pem, cert_thumbprint = _load_pem(data, password, "certificateFile")
        if cert_thumbprint is None:
            raise ConfigError("certificateFile must hold the certificate as well as its private key",
                              key="certificateFile", code=BAD_PEM)
        return key_pem, cert_thumbprint
    return None, None


def _load_pem(data: bytes, password: Optional[str], key: str) -> tuple[str, Optional[str]]:
    """(unencrypted PKCS#8 key PEM, thumbprint of the first certificate or None). Bad PEM -> code 15."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        private_key = serialization.load_pem_private_key(data, password.encode() if password else None)
    except TypeError as exc:  # password missing, or given for an unencrypted key
        message = "the private key is encrypted: give certificatePassword" if "encrypted" in str(exc) and not password \
            else "certificatePassword is given but the private key is not encrypted"
        raise ConfigError(f"{key}: {message}", key=key, code=BAD_VALUE) from None
    except ValueError:
        raise ConfigError(f"{key} holds no readable PEM private key (or the password is wrong)", key=key,
                          code=BAD_PEM) from None
    thumbprint = None
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            certificate = x509.load_pem_x509_certificates(data)[0]
        except ValueError:
            raise ConfigError(f"{key} holds a certificate that cannot be read", key=key, code=BAD_PEM) from None
        thumbprint = _thumbprint(certificate)
    return _pkcs8(private_key), thumbprint


def _load_pfx(data: bytes, password: Optional[str]) -> tuple[str, Optional[str]]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        private_key, certificate, _ = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError:
        raise ConfigError("certificateFile is not a readable PKCS#12 file (or the password is wrong)",
                          key="certificateFile", code=BAD_PEM) from None
    if private_key is None:
        raise ConfigError("certificateFile holds no private key", key="certificateFile", code=BAD_PEM)
    thumbprint = None
    if certificate is not None:
        thumbprint = _thumbprint(certificate)
    return _pkcs8(private_key), thumbprint


def _thumbprint(certificate: Any) -> str:
    """The certificate's SHA-1 thumbprint, as Entra shows it (hashlib loaded here: most apps have no certificate)."""
    import hashlib

    from cryptography.hazmat.primitives import serialization

    return hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


def _pkcs8(private_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")

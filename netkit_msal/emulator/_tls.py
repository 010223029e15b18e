"""Key material of the emulator: its CA, server certificates, token signing key, client certificate.

Everything long-lived (CA, signing key, the certificate app's key pair) is created once and kept in the
state folder, so a client that trusts ``ca.pem`` keeps trusting the emulator across restarts, and
tokens signed before a restart still verify after it. Server certificates are cheap (EC P-256) and
issued at every start.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import ipaddress
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Union, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SIGNING_KEY_FILE = "signing-key.pem"
CLIENT_CERT_FILE = "client-certificate.pem"

_PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, atomically (another process may read it now)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


@contextlib.contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """Serialise first-start key generation between emulators sharing one state folder."""
    try:
        import fcntl
    except ImportError:  # Windows: racing first starts are unlikely enough
        yield
        return
    with open(state_dir / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pem_key(key: _PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "netkit-msal emulator"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _san(hostnames: Iterable[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


class CertificateAuthority:
    """The emulator's private CA (``ca.pem``), created at first start."""

    def __init__(self, state_dir: Path) -> None:
        self.cert_path = state_dir / CA_FILE
        key_path = state_dir / CA_KEY_FILE
        if self.cert_path.exists() and key_path.exists():
            self.key = cast(ec.EllipticCurvePrivateKey, serialization.load_pem_private_key(key_path.read_bytes(), None))
            self.cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
            return
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = _name("netkit-msal emulator CA")
        self.cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(_now() - _dt.timedelta(days=1))
            .not_valid_after(_now() + _dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        write_private(key_path, _pem_key(self.key))
        write_private(self.cert_path, self.cert.public_bytes(serialization.Encoding.PEM))

    def issue_server_certificate(self, hostnames: Iterable[str], directory: Path,
                                 stem: str = "server") -> tuple[str, str]:
        """A TLS server certificate for ``hostnames`` signed by this CA: (cert path, key path)."""
        hostnames = list(hostnames)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder().subject_name(_name(hostnames[0]))
            .issuer_name(self.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - _dt.timedelta(days=1))
            .not_valid_after(_now() + _dt.timedelta(days=365))
            .add_extension(_san(hostnames), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
        write_private(key_path, _pem_key(key))
        write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM)
                      + self.cert.public_bytes(serialization.Encoding.PEM))
        return str(cert_path), str(key_path)


def load_or_create_rsa_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_private(path, _pem_key(key))
    return key


class ClientCertificate:
    """The certificate app's key pair: one PEM file holding private key and self-signed certificate,
    as Entra app registrations usually get (``client_certificate_path``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.exists():
            data = path.read_bytes()
            self.key = serialization.load_pem_private_key(data, None)
            self.cert = x509.load_pem_x509_certificate(data)
            return
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = _name("netkit-msal emulator daemon")
        self.cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(_now() - _dt.timedelta(days=1))
            .not_valid_after(_now() + _dt.timedelta(days=3650))
            .sign(self.key, hashes.SHA256())
        )
        write_private(path, _pem_key(self.key) + self.certificate_pem.encode("ascii"))

    @property
    def certificate_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def private_key_pem(self) -> str:
        return _pem_key(self.key).decode("ascii")  # type: ignore[arg-type]

    @property
    def thumbprint(self) -> str:
        """SHA-1 thumbprint, upper-case hex, as the Azure portal shows it."""
        return hashlib.sha1(self.cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()

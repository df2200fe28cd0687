"""The worker port's TLS: what the master listens with, and what its workers trust.

The worker link carries build commands, their environments (a checkout's token among
them) and every log, so the worker port speaks TLS only and each worker verifies the
master's certificate by a trust root it is given (never a disabled check).

The certificate is ``buildmaster.worker_tls``'s files, or else one the master makes on
its base directory (``worker-tls/``): a private certificate authority, made once and
kept, and a certificate it signs for the names workers reach the master by (``host``,
each docker pool's ``master_address``, ``localhost`` and ``127.0.0.1``), made again when
those names change or it has less than a month left. Workers get the authority's
certificate: local ones as a file, docker ones in their environment, EC2 ones in their
user data.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from config.settings import DockerPool, Settings

DIRECTORY = "worker-tls"
"""Below the master's base directory: the certificates the master made."""

CA_YEARS = 10
SERVER_DAYS = 397
RENEW_DAYS = 30


@dataclass(frozen=True)
class Files:
    """The worker port's certificate and key, and the authority workers trust (None: the
    operating system's)."""

    certificate: Path
    key: Path
    ca: Path | None


def names(settings: Settings) -> list[str]:
    """The names and addresses workers reach the master by, for its certificate."""
    found = {settings.buildmaster.host, "localhost", "127.0.0.1"}
    for pool in settings.workers:
        if isinstance(pool, DockerPool) and pool.master_address:
            found.add(pool.master_address.rpartition(":")[0] or pool.master_address)
    return sorted(found)


def files(settings: Settings, basedir: Path) -> Files:
    """The settings' files, or those made (once, and kept) below ``basedir``."""
    given = settings.buildmaster.worker_tls
    if given is not None:
        ca = Path(given.ca) if given.ca else None
        return Files(Path(given.certificate), Path(given.key), ca)
    return made(basedir / DIRECTORY, names(settings))


def listener(settings: Settings, basedir: Path) -> str:
    """The worker port as a Twisted server endpoint string: TLS only."""
    master = settings.buildmaster
    found = files(settings, basedir)
    parts = [
        f"ssl:{master.worker_port}",
        f"interface={_escape(master.bind_address)}",
        f"privateKey={_escape(str(found.key))}",
        f"certKey={_escape(str(found.certificate))}",
    ]
    if len(x509.load_pem_x509_certificates(found.certificate.read_bytes())) > 1:
        parts.append(f"extraCertChain={_escape(str(found.certificate))}")
    return ":".join(parts)


def ca_pem(settings: Settings, basedir: Path) -> str:
    """The certificates workers trust, as PEM text; '' when they use their system's.

    Only the certificates of the file go out, written anew: a file that also holds a
    private key keeps it to itself (builds can read what their worker is given).
    """
    found = files(settings, basedir).ca
    if not found:
        return ""
    certificates = x509.load_pem_x509_certificates(found.read_bytes())
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates)


def connection_string(host: str, port: int, trust_roots: Path | None) -> str:
    """buildbot-worker's ``--connection-string``: TLS to ``host`` (which the certificate
    must name), trusting the PEM files in the directory ``trust_roots`` (None: the
    system's)."""
    found = f"tls:host={_escape(host)}:port={port}"
    return found + (f":trustRoots={_escape(str(trust_roots))}" if trust_roots else "")


def _escape(value: str) -> str:
    """A value inside a Twisted endpoint string."""
    return value.replace("\\", "\\\\").replace(":", "\\:")


# --- the master's own authority --------------------------------------------------------


def made(directory: Path, server_names: list[str]) -> Files:
    """The authority in ``directory`` (made if missing) and a certificate it signed for
    ``server_names`` (made again when the names differ or it is due for renewal)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_file, ca_key_file = directory / "ca.pem", directory / "ca-key.pem"
    server_file, server_key_file = directory / "server.pem", directory / "server-key.pem"
    if not (ca_file.exists() and ca_key_file.exists()):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        _write(ca_key_file, _key_pem(ca_key), private=True)
        _write(ca_file, _pem(_authority(ca_key)))
        server_file.unlink(missing_ok=True)
    ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
    if not _current(server_file, ca, server_names):
        signer = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
        assert isinstance(signer, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        _write(server_key_file, _key_pem(key), private=True)
        _write(server_file, _pem(_server(key, ca, signer, server_names)))
    return Files(server_file, server_key_file, ca_file)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _subject(name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


def _authority(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    now = _now()
    subject = _subject("Buildbot worker port CA")
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(signs=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server(
    key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    server_names: list[str],
) -> x509.Certificate:
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(_subject(server_names[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signs=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_alt_names(server_names)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _usage(signs: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not signs,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs,
        crl_sign=signs,
        encipher_only=False,
        decipher_only=False,
    )


def _alt_names(server_names: list[str]) -> list[x509.GeneralName]:
    found: list[x509.GeneralName] = []
    for name in server_names:
        try:
            found.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            found.append(x509.DNSName(name))
    return found


def _current(server_file: Path, ca: x509.Certificate, server_names: list[str]) -> bool:
    """Whether the certificate in ``server_file`` is ``ca``'s, for exactly
    ``server_names``, and not due for renewal."""
    try:
        server = x509.load_pem_x509_certificate(server_file.read_bytes())
        named = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    left = server.not_valid_after_utc - _now()
    return (
        server.issuer == ca.subject
        and set(named) == set(_alt_names(server_names))
        and left > datetime.timedelta(days=RENEW_DAYS)
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, private: bool = False) -> None:
    """Write ``path`` whole or not at all; a key readable by its owner only."""
    partial = path.with_name(path.name + ".part")
    descriptor = os.open(
        partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644
    )
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    partial.replace(path)

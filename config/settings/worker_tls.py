"""The ``buildmaster.worker_tls`` section: the worker port's certificate, from files.

Without it the master makes its own certificate authority and certificate
(:mod:`config.workers.tls`). Each file is read and checked here, so a wrong path, a file
that is not PEM, or a key of another certificate is one line naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import AfterValidator, model_validator
from pydantic_core import PydanticCustomError

from config.settings.values import Section, Text, show


def _readable(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise PydanticCustomError(
            "file", "cannot read {got}: {why}", {"got": show(path), "why": error.strerror or ""}
        ) from None


def certificates(path: str) -> list[x509.Certificate]:
    """The PEM certificates in the file ``path``."""
    data = _readable(path)
    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError:
        found = []
    if not found:
        raise PydanticCustomError(
            "certificate", "{got} holds no PEM certificate", {"got": show(path)}
        )
    return found


def _certificate_file(path: str) -> str:
    certificates(path)
    return path


def _key_file(path: str) -> str:
    data = _readable(path)
    try:
        serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise PydanticCustomError(
            "key", "{got} holds no unencrypted PEM private key", {"got": show(path)}
        ) from None
    return path


CertificateFile = Annotated[Text, AfterValidator(_certificate_file)]


class WorkerTls(Section):
    # The worker port's certificate (PEM; the chain may follow it in the same file).
    certificate: CertificateFile
    # Its private key (PEM, unencrypted; keep it readable by the master only).
    key: Annotated[Text, AfterValidator(_key_file)]
    # The certificate authority workers trust (PEM); null: the operating system's own.
    ca: CertificateFile | None = None

    @model_validator(mode="after")
    def _key_fits(self) -> WorkerTls:
        key = serialization.load_pem_private_key(Path(self.key).read_bytes(), password=None)
        leaf = certificates(self.certificate)[0]
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        encoding = serialization.Encoding.DER
        if key.public_key().public_bytes(encoding, public) != leaf.public_key().public_bytes(
            encoding, public
        ):
            raise PydanticCustomError(
                "key",
                "key {key} is not the key of certificate {certificate}",
                {"key": show(self.key), "certificate": show(self.certificate)},
            )
        return self

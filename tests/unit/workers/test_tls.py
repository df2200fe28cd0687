"""The worker port's certificates: made once, kept, made again only when they must be;
the settings' own files checked in one line each."""

from __future__ import annotations

import copy
import datetime
import ipaddress
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from config.settings import validate
from config.settings.values import show
from config.workers import tls
from tests.unit.settings.test_settings import GOOD, message


def settings(**buildmaster: Any) -> Any:
    document = copy.deepcopy(GOOD)
    document["buildmaster"] = {**document.get("buildmaster", {}), **buildmaster}
    return document


def names_in(certificate: Path) -> set[str]:
    found = x509.load_pem_x509_certificate(certificate.read_bytes())
    alt = found.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in alt}


def test_the_master_makes_an_authority_and_a_certificate_for_the_names_workers_use(
    tmp_path: Path,
) -> None:
    made = tls.files(validate(settings(host="build.example.com")), tmp_path)
    assert made.ca == tmp_path / "worker-tls" / "ca.pem"
    assert names_in(made.certificate) == {"build.example.com", "localhost", "127.0.0.1"}
    ca = x509.load_pem_x509_certificate(made.ca.read_bytes())
    server = x509.load_pem_x509_certificate(made.certificate.read_bytes())
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for key in (made.key, tmp_path / "worker-tls" / "ca-key.pem"):
        assert key.stat().st_mode & 0o077 == 0  # the master's alone
    assert (tmp_path / "worker-tls").stat().st_mode & 0o077 == 0


def test_made_files_are_kept_across_starts(tmp_path: Path) -> None:
    first = tls.files(validate(settings()), tmp_path)
    assert first.ca is not None
    before = {p: p.read_bytes() for p in (first.certificate, first.key, first.ca)}
    again = tls.files(validate(settings()), tmp_path)
    assert again == first
    assert {p: p.read_bytes() for p in before} == before


def test_new_names_get_a_new_certificate_from_the_same_authority(tmp_path: Path) -> None:
    first = tls.files(validate(settings()), tmp_path)
    assert first.ca is not None
    ca = first.ca.read_bytes()
    old = first.certificate.read_bytes()
    document = settings()
    document["workers"] = [
        {"kind": "docker", "name": "box", "image": "w:1", "master_address": "172.17.0.1:9989"}
    ]
    again = tls.files(validate(document), tmp_path)
    assert again.ca is not None and again.ca.read_bytes() == ca
    assert again.certificate.read_bytes() != old
    assert "172.17.0.1" in names_in(again.certificate)


def test_a_certificate_near_its_end_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tls.files(validate(settings()), tmp_path).certificate.read_bytes()
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=tls.SERVER_DAYS - 20)
    monkeypatch.setattr(tls, "_now", lambda: later)
    assert tls.files(validate(settings()), tmp_path).certificate.read_bytes() != old


def test_the_worker_port_speaks_tls_only_with_those_files(tmp_path: Path) -> None:
    listener = tls.listener(validate(settings(worker_port=9999)), tmp_path / "a:b")
    assert listener.startswith("ssl:9999:interface=127.0.0.1:privateKey=")
    assert f"certKey={tmp_path}/a\\:b/worker-tls/server.pem" in listener
    assert "tcp:" not in listener


def test_workers_connect_by_tls_naming_their_trust_roots() -> None:
    assert tls.connection_string("build.example.com", 9989, Path("/w/master-ca")) == (
        "tls:host=build.example.com:port=9989:trustRoots=/w/master-ca"
    )
    assert tls.connection_string("build.example.com", 9989, None) == (
        "tls:host=build.example.com:port=9989"
    )


# --- certificate files from the settings --------------------------------------------------


def given_files(tmp_path: Path) -> dict[str, str]:
    """A certificate, key and authority of another master, as an operator's files."""
    made = tls.made(tmp_path / "given", ["build.example.com"])
    assert made.ca is not None
    return {"certificate": str(made.certificate), "key": str(made.key), "ca": str(made.ca)}


def test_the_settings_files_are_used_and_nothing_is_made(tmp_path: Path) -> None:
    given = given_files(tmp_path)
    found = validate(settings(worker_tls=given))
    assert tls.files(found, tmp_path / "master") == tls.Files(
        Path(given["certificate"]), Path(given["key"]), Path(given["ca"])
    )
    assert tls.ca_pem(found, tmp_path / "master") == Path(given["ca"]).read_text()
    assert not (tmp_path / "master").exists()
    without_ca = validate(settings(worker_tls={**given, "ca": None}))
    assert tls.ca_pem(without_ca, tmp_path / "master") == ""  # the workers' system roots


def test_an_authority_file_holding_a_key_sends_workers_its_certificate_alone(
    tmp_path: Path,
) -> None:
    given = given_files(tmp_path)
    bundle = tmp_path / "ca-and-key.pem"
    bundle.write_bytes(Path(given["ca"]).read_bytes() + Path(given["key"]).read_bytes())
    sent = tls.ca_pem(validate(settings(worker_tls={**given, "ca": str(bundle)})), tmp_path)
    assert "PRIVATE KEY" not in sent
    assert sent == Path(given["ca"]).read_text()


def test_a_full_chain_file_is_sent_whole(tmp_path: Path) -> None:
    given = given_files(tmp_path)
    chain = tmp_path / "fullchain.pem"
    chain.write_bytes(Path(given["certificate"]).read_bytes() + Path(given["ca"]).read_bytes())
    listener = tls.listener(
        validate(settings(worker_tls={**given, "certificate": str(chain)})), tmp_path
    )
    assert f"extraCertChain={chain}" in listener


def test_settings_files_that_cannot_serve_get_one_line_naming_the_key(tmp_path: Path) -> None:
    given = given_files(tmp_path)
    missing = str(tmp_path / "nothing.pem")
    assert message(settings(worker_tls={**given, "certificate": missing})) == (
        f"config: buildmaster.worker_tls.certificate: cannot read {show(missing)}: "
        "No such file or directory"
    )
    assert message(settings(worker_tls={**given, "ca": given["key"]})) == (
        f"config: buildmaster.worker_tls.ca: {show(given['key'])} holds no PEM certificate"
    )
    assert message(settings(worker_tls={**given, "key": given["ca"]})) == (
        f"config: buildmaster.worker_tls.key: {show(given['ca'])} holds no unencrypted PEM "
        "private key"
    )
    other = tmp_path / "other-key.pem"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert message(settings(worker_tls={**given, "key": str(other)})) == (
        f"config: buildmaster.worker_tls: key {show(str(other))} is not the key of "
        f"certificate {show(given['certificate'])}"
    )
    assert message(settings(worker_tls={"key": given["key"]})) == (
        "config: buildmaster.worker_tls.certificate: required key is missing"
    )


def test_ip_addresses_are_named_as_addresses(tmp_path: Path) -> None:
    made = tls.made(tmp_path, ["127.0.0.1", "build.example.com"])
    server = x509.load_pem_x509_certificate(made.certificate.read_bytes())
    alt = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert alt.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert alt.get_values_for_type(x509.DNSName) == ["build.example.com"]

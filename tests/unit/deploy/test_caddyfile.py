"""The HTTPS proxy's Caddyfile, made from the settings; and the settings' rules for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import master
from config.settings import SettingsError, validate
from deploy.caddyfile import mounts, render
from tests.conftest import local_settings

BUILDERS = [{"name": "b", "steps": [{"kind": "run", "command": ["true"]}]}]


def _settings(https: dict[str, Any], **buildmaster: Any) -> dict[str, Any]:
    return local_settings(
        "/repo",
        BUILDERS,
        buildmaster={
            "host": "build.example.com",
            "public_url": "https://build.example.com/",
            "web_port": 8010,
            **buildmaster,
        },
        deploy={"https": https},
    )


def test_acme_certificates_from_the_named_directory_behind_a_redirect_and_hsts() -> None:
    https = {
        "email": "ops@example.com",
        "acme_directory": "https://acme.example.net/dir",
        "acme_ca_root": "/etc/ssl/acme-root.pem",
    }
    settings = validate(_settings(https))
    assert render(settings) == (
        "{\n"
        "\tadmin off\n"
        "\thttp_port 80\n"
        "\thttps_port 443\n"
        "}\n"
        "\n"
        "build.example.com {\n"
        "\ttls {\n"
        "\t\tissuer acme {\n"
        '\t\t\tdir "https://acme.example.net/dir"\n'
        "\t\t\ttrusted_roots /etc/caddy/acme-ca-root.pem\n"
        '\t\t\temail "ops@example.com"\n'
        "\t\t}\n"
        "\t}\n"
        '\theader Strict-Transport-Security "max-age=31536000"\n'
        "\treverse_proxy 127.0.0.1:8010 {\n"
        '\t\theader_down Set-Cookie "; Path=/" "; Path=/; Secure"\n'
        "\t}\n"
        "}\n"
        "\n"
        "http://build.example.com:80 {\n"
        "\tredir https://build.example.com{uri} 308\n"
        "}\n"
    )
    assert mounts(settings.deploy.https) == {  # type: ignore[arg-type]
        "/etc/caddy/acme-ca-root.pem": "/etc/ssl/acme-root.pem"
    }


def test_certificate_files_and_ports_other_than_the_defaults() -> None:
    https = {
        "certificates": "files",
        "certificate_file": "/etc/ssl/build.pem",
        "key_file": "/etc/ssl/build.key",
        "http_port": 8080,
        "https_port": 8443,
    }
    settings = validate(_settings(https, web_bind_address="127.0.0.2"))
    caddyfile = render(settings)
    assert "\ttls /etc/caddy/certificate.pem /etc/caddy/key.pem\n" in caddyfile
    assert "\treverse_proxy 127.0.0.2:8010 {\n" in caddyfile
    assert "\tredir https://build.example.com:8443{uri} 308\n" in caddyfile
    assert mounts(settings.deploy.https) == {  # type: ignore[arg-type]
        "/etc/caddy/certificate.pem": "/etc/ssl/build.pem",
        "/etc/caddy/key.pem": "/etc/ssl/build.key",
    }


def test_one_file_with_the_certificate_and_its_key_is_mounted_as_both() -> None:
    https = {
        "certificates": "files",
        "certificate_file": "/etc/ssl/build.pem",
        "key_file": "/etc/ssl/build.pem",
    }
    settings = validate(_settings(https))
    assert "\ttls /etc/caddy/certificate.pem /etc/caddy/key.pem\n" in render(settings)
    assert mounts(settings.deploy.https) == {  # type: ignore[arg-type]
        "/etc/caddy/certificate.pem": "/etc/ssl/build.pem",
        "/etc/caddy/key.pem": "/etc/ssl/build.pem",
    }


def test_staging_takes_caddys_own_ca() -> None:
    assert "\ttls internal\n" in render(validate(_settings({"certificates": "internal"})))


@pytest.mark.parametrize(
    ("https", "buildmaster", "deploy", "message"),
    [
        (
            {"certificates": "files", "key_file": "/k"},
            {},
            {},
            "config: deploy.https: certificate_file and key_file: required with "
            "certificates: files",
        ),
        (
            {"certificate_file": "/c", "key_file": "/k"},
            {},
            {},
            "config: deploy.https: certificate_file and key_file: only with certificates: files",
        ),
        (
            {"certificates": "internal", "email": "ops@example.com"},
            {},
            {},
            "config: deploy.https: email, acme_directory, acme_ca_root: only with "
            "certificates: acme",
        ),
        (
            {},
            {"public_url": "http://build.example.com/"},
            {},
            "config: buildmaster.public_url: must start with https:// when deploy.https is on",
        ),
        (
            {},
            {"host": "build.example.com {\n\timport evil\n}"},
            {},
            'config: buildmaster.host: "build.example.com {\\n\\timport evil\\n}" is not a '
            "host name, which the HTTPS proxy needs for its certificate",
        ),
        (
            {},
            {"bind_address": "0.0.0.0"},
            {"network": "host"},
            "config: buildmaster.web_bind_address: must be a loopback address (127.0.0.1) when "
            "deploy.https is on and deploy.network is host, or the web port bypasses HTTPS",
        ),
    ],
)
def test_https_settings_that_cannot_work_are_refused_in_one_line(
    https: dict[str, Any], buildmaster: dict[str, Any], deploy: dict[str, Any], message: str
) -> None:
    document = _settings(https, **buildmaster)
    document["deploy"].update(deploy)
    with pytest.raises(SettingsError) as refused:
        validate(document)
    assert str(refused.value) == message


def test_the_web_port_alone_can_listen_on_loopback() -> None:
    document = _settings({}, bind_address="0.0.0.0", web_bind_address="127.0.0.1")
    document["deploy"]["network"] = "host"
    master = validate(document).buildmaster
    assert (master.bind_address, master.web_address) == ("0.0.0.0", "127.0.0.1")


def test_the_master_serves_its_web_port_on_the_web_address_and_workers_on_the_other(
    tmp_path: Path,
) -> None:
    document = _settings({}, bind_address="0.0.0.0", web_bind_address="127.0.0.1")
    config = master.build(validate(document), tmp_path)
    assert config["www"]["port"] == "tcp:8010:interface=127.0.0.1"
    assert ":interface=0.0.0.0:" in config["protocols"]["pb"]["port"]

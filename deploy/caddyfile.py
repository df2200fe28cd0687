"""The HTTPS proxy's configuration: a Caddyfile made from the settings.

``fabfile.py`` runs caddy in a container of the master's image beside the master (host
network, so it reaches the master's loopback web port and listens on the host's 80 and
443). The files it needs from the host (certificates, the ACME server's CA root) are
mounted read-only at the paths named here.
"""

from __future__ import annotations

from config.settings import Https, Settings
from deploy.health import web_host

CADDYFILE = "/etc/caddy/Caddyfile"
CERTIFICATE = "/etc/caddy/certificate.pem"
KEY = "/etc/caddy/key.pem"
ACME_CA_ROOT = "/etc/caddy/acme-ca-root.pem"
# caddy's certificates, keys and ACME account: on a volume of its own.
STORAGE = "/srv/caddy"


def mounts(https: Https) -> dict[str, str]:
    """The host's files the proxy reads: path in its container -> host path (one host
    file may be mounted twice: a PEM file holding both the certificate and its key)."""
    named = {
        CERTIFICATE: https.certificate_file,
        KEY: https.key_file,
        ACME_CA_ROOT: https.acme_ca_root,
    }
    return {inside: host for inside, host in named.items() if host is not None}


def _quote(value: str) -> str:
    """A Caddyfile token: in double quotes, so spaces and braces stay one value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tls(https: Https) -> list[str]:
    if https.certificates == "files":
        return [f"tls {CERTIFICATE} {KEY}"]
    if https.certificates == "internal":
        return ["tls internal"]
    options = []
    if https.acme_directory:
        options.append(f"dir {_quote(https.acme_directory)}")
    if https.acme_ca_root:
        options.append(f"trusted_roots {ACME_CA_ROOT}")
    if https.email:
        options.append(f"email {_quote(https.email)}")
    # An explicit issuer: caddy would take its own CA for names like localhost otherwise.
    return ["tls {", "\tissuer acme {", *(f"\t\t{o}" for o in options), "\t}", "}"]


def render(settings: Settings) -> str:
    """The Caddyfile for ``deploy.https``: TLS for ``buildmaster.host``, HTTP redirected
    to HTTPS, HSTS, and the master's session cookie marked Secure (Buildbot marks it only
    when its own connection is TLS, and the proxy's connection to it is not)."""
    https, master = settings.deploy.https, settings.buildmaster
    assert https is not None
    port = "" if https.https_port == 443 else f":{https.https_port}"
    site = [
        *_tls(https),
        f'header Strict-Transport-Security "max-age={int(https.hsts_max_age)}"',
        f"reverse_proxy {web_host(settings)}:{master.web_port} {{",
        '\theader_down Set-Cookie "; Path=/" "; Path=/; Secure"',
        "}",
    ]
    lines = [
        "{",
        "\tadmin off",
        f"\thttp_port {https.http_port}",
        f"\thttps_port {https.https_port}",
        "}",
        "",
        f"{master.host} {{",
        *(f"\t{line}" for line in site),
        "}",
        "",
        # caddy's own redirect drops a port other than 443; ACME's HTTP challenge is
        # answered on this port all the same.
        f"http://{master.host}:{https.http_port} {{",
        f"\tredir https://{master.host}{port}{{uri}} 308",
        "}",
    ]
    return "\n".join(lines) + "\n"

"""A private repository over HTTPS on 127.0.0.1, as GitHub serves one: git's smart HTTP
(``git http-backend``) behind a self-signed certificate, for clients that send an
installation token as ``x-access-token`` (HTTP basic auth, as GitHub takes it) that may
read that repository (``allows(token, "owner/name")``).

Workers trust the certificate through ``GIT_SSL_CAINFO`` (:attr:`GitHttps.ca_file`).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import ssl
import subprocess
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.loopback import LoopbackServer


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class GitHttps(LoopbackServer):
    """Serves the repositories below ``root`` at ``https://127.0.0.1:<port>/<path>``."""

    def __init__(self, root: Path, directory: Path, allows: Callable[[str, str], bool]) -> None:
        self.ca_file, key_file = self_signed(directory)
        self.fetches: list[str] = []
        """How each request was answered: ``ok`` or why it was refused."""
        served = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.serve(b"")

            def do_POST(self) -> None:
                self.serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def serve(self, body: bytes) -> None:
                user, _, token = self.credentials().partition(":")
                repository = "/".join(urlsplit(self.path).path.split("/")[1:3]).removesuffix(".git")
                if user != "x-access-token" or not allows(token, repository):
                    served.fetches.append("refused")
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                served.fetches.append("ok")
                parts = urlsplit(self.path)
                done = subprocess.run(
                    ["git", "http-backend"],
                    input=body,
                    capture_output=True,
                    env={
                        "PATH": os.environ["PATH"],
                        "GIT_PROJECT_ROOT": str(root),
                        "GIT_HTTP_EXPORT_ALL": "1",
                        "REQUEST_METHOD": self.command,
                        "PATH_INFO": parts.path,
                        "QUERY_STRING": parts.query,
                        "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                        "CONTENT_LENGTH": str(len(body)),
                        "REMOTE_USER": user,
                    },
                    check=False,
                )
                head, _, content = done.stdout.partition(b"\r\n\r\n")
                headers = [line.split(":", 1) for line in head.decode().split("\r\n") if line]
                status = next((int(v.split()[0]) for k, v in headers if k == "Status"), 200)
                self.send_response(status)
                for name, value in headers:
                    if name != "Status":
                        self.send_header(name, value.strip())
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def credentials(self) -> str:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return ""
                return base64.b64decode(header[6:]).decode(errors="replace")

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

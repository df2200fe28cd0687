"""The image's health check: does the master's REST API answer on its web port?

Run as ``python -m deploy.health`` inside the container (the Dockerfile's HEALTHCHECK);
exits 0 when ``/api/v2/application.spec`` answers (with 403 where visitors must log in to
read), 1 otherwise, printing why. That
endpoint lists the data API's paths without reading the database, so a database that is
busy or locked for a while (a backup, the janitor) does not make a healthy master look
dead and get it restarted mid-build.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from config.settings import Settings, SettingsError, load

_ANY_ADDRESS = ("0.0.0.0", "::", "")


def web_host(settings: Settings) -> str:
    """Where the master's web port answers on its own host: its address, or 127.0.0.1
    when it listens on every address."""
    address = settings.buildmaster.web_address
    return "127.0.0.1" if address in _ANY_ADDRESS else address


def api_url(settings: Settings, path: str) -> str:
    """A REST API address of the master, seen from its own host (or container)."""
    return f"http://{web_host(settings)}:{settings.buildmaster.web_port}/api/v2/{path}"


def url(settings: Settings) -> str:
    """The address the health check asks."""
    return api_url(settings, "application.spec")


def main() -> int:
    try:
        target = url(load())
        with urllib.request.urlopen(target, timeout=5) as response:
            response.read()
    except urllib.error.HTTPError as refused:
        if refused.code != 403:  # 403: up, and read by logged-in readers only
            print(f"unhealthy: {refused}", file=sys.stderr)
            return 1
    except (SettingsError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Print the builds the master runs now, as a JSON list, asked on its own web port.

Run as ``python -m deploy.running`` inside the master's container: ``fab`` asks it there
because the web port listens only where the HTTPS proxy reaches it, and the public URL's
certificate may be one the deploying machine does not trust (staging's own CA). Exits 1,
printing why, when the master does not answer.
"""

from __future__ import annotations

import json
import sys
import urllib.request

from config.settings import SettingsError, load
from deploy.health import api_url


def main() -> int:
    try:
        url = api_url(load(), "builds?complete=false")
        with urllib.request.urlopen(url, timeout=10) as response:
            builds = json.load(response)["builds"]
    except (SettingsError, OSError, ValueError, KeyError) as exc:
        print(f"the master does not answer: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(builds))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The image's health check asks the REST API where the master listens."""

from __future__ import annotations

import pytest

from config.settings import validate
from deploy.health import url
from tests.conftest import local_settings


@pytest.mark.parametrize(
    ("bind_address", "host"),
    [
        ("0.0.0.0", "127.0.0.1"),
        ("::", "127.0.0.1"),
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.2", "127.0.0.2"),
    ],
)
def test_health_check_asks_the_builders_endpoint_where_the_master_listens(
    bind_address: str, host: str
) -> None:
    document = local_settings(
        "/repo", [{"name": "b", "steps": [{"kind": "run", "command": ["true"]}]}]
    )
    document["buildmaster"]["bind_address"] = bind_address
    port = document["buildmaster"]["web_port"]
    assert url(validate(document)) == f"http://{host}:{port}/api/v2/application.spec"

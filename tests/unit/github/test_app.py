"""The checkout's GitHub credentials: only in the fetching steps' environment, only for
the repository's host, redacted from logs."""

from __future__ import annotations

import base64

from buildbot.process.properties import Properties

from config.github import credentials
from config.github.app import InstallationToken
from config.settings import validate
from tests.unit.settings.test_settings import GOOD, message

REPOSITORY = "https://github.com/ClusterHQ/flocker"


def test_fetching_steps_send_the_token_to_the_repository_host_only() -> None:
    props = Properties()
    env = credentials.GitAuthEnv("ghs_installation-token", REPOSITORY).getRenderingFor(props)
    rendered = env.result
    header = base64.b64encode(b"x-access-token:ghs_installation-token").decode()
    assert rendered == {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.https://github.com/.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {header}",
    }
    # Whatever a log says of either form of the token, Buildbot writes the secret's name.
    said = f"fatal: ghs_installation-token {header}"
    assert props.cleanupTextFromSecrets(said) == "fatal: <github token> <github token>"


def test_only_https_repositories_get_credentials() -> None:
    github = validate({**GOOD, "github": {"token": "ghp_x", "webhook_secret": "s"}}).github
    token = credentials.credentials(github)  # type: ignore[arg-type]
    assert credentials.checkout_env(github, token, "/srv/git/flocker.git") == {}
    assert credentials.checkout_env(github, token, "git@github.com:ClusterHQ/flocker") == {}
    assert isinstance(credentials.checkout_env(github, token, REPOSITORY), credentials.GitAuthEnv)
    assert credentials.checkout_env(None, None, REPOSITORY) == {}


def test_github_needs_a_token_or_an_app_not_both() -> None:
    app = {"app_id": 1, "private_key": "-----BEGIN PRIVATE KEY-----"}
    expected = (
        "config: github: give token (a personal access token) or app (a GitHub App), one of them"
    )
    assert message({**GOOD, "github": {"webhook_secret": "s"}}) == expected
    both = {"token": "t", "app": app, "webhook_secret": "s"}
    assert message({**GOOD, "github": both}) == expected
    github = validate({**GOOD, "github": {"app": app, "webhook_secret": "s"}}).github
    assert github is not None
    assert isinstance(credentials.credentials(github), InstallationToken)

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
    config = credentials.GitAuthConfig("ghs_installation-token", REPOSITORY).getRenderingFor(props)
    rendered = config.result
    header = base64.b64encode(b"x-access-token:ghs_installation-token").decode()
    assert rendered == {"http.https://github.com/.extraHeader": f"Authorization: Basic {header}"}
    # Whatever a log says of either form of the token, Buildbot writes the secret's name.
    said = f"fatal: ghs_installation-token {header}"
    assert props.cleanupTextFromSecrets(said) == "fatal: <github token> <github token>"


def test_only_https_repositories_get_credentials() -> None:
    github = validate({**GOOD, "github": {"token": "ghp_x", "webhook_secret": "s"}}).github
    assert github is not None
    master = credentials.Credentials(github)
    assert credentials.fetch_config(master, "/srv/git/flocker.git") == {}
    assert credentials.fetch_config(master, "git@github.com:ClusterHQ/flocker") == {}
    assert isinstance(credentials.fetch_config(master, REPOSITORY), credentials.GitAuthConfig)
    assert credentials.fetch_config(None, REPOSITORY) == {}


def test_a_personal_token_never_goes_to_an_untrusted_checkout() -> None:
    github = validate({**GOOD, "github": {"token": "ghp_x", "webhook_secret": "s"}}).github
    assert github is not None
    checkout = credentials.Credentials(github).checkout()
    for untrusted in ({"untrusted": True, "branch": "feature"}, {"branch": "refs/pull/3/head"}):
        props = Properties(**untrusted)
        assert checkout.getRenderingFor(props).result == ""
        config = credentials.GitAuthConfig(checkout, REPOSITORY).getRenderingFor(props)
        assert config.result == {}


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
    assert isinstance(credentials.Credentials(github).checkout(), InstallationToken)

"""What keeps one build's leftovers out of the next on a worker that stays warm.

Everything a build writes is hostile input to the builds after it on the same worker: its
tree (``.git`` included), its home, its temporary files, processes it leaves running.

- The plumbing steps (checkout and merge, the only ones that hold a GitHub token) run git
  with only the configuration given here: no system or global configuration, hooks and
  fsmonitor off, the token's header as command-line configuration; ``checkout.sh`` resets
  the clone's own ``.git/config``, hooks and alternates before git reads them.
- Every step of a build runs with a home and a temporary directory of that build
  (``<builddir>/home``, ``<builddir>/tmp``), made empty when the build starts, so dot-files
  and caches (pip's, git's) do not carry over.
- A last step ends the processes the build left running (``scripts/leftovers.py``).

Untrusted builds never run on warm workers at all (:mod:`config.builds.trust`); this is for
the trusted ones, and the README's Safety section says what it does not cover.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

from buildbot.interfaces import IRenderable
from buildbot.plugins import util
from twisted.internet import defer
from zope.interface import implementer

SAFE_GIT_CONFIG = {
    # No hook a build may have written runs, in this clone or through a hooks path.
    "core.hooksPath": "/dev/null",
    # No command git would start to watch the tree.
    "core.fsmonitor": "false",
    # No transport that runs a command named by a URL.
    "protocol.ext.allow": "never",
}

BUILD_ENV = {
    "HOME": util.Interpolate("%(prop:builddir)s/home"),
    "TMPDIR": util.Interpolate("%(prop:builddir)s/tmp"),
}
"""The environment of every step: a home and a temporary directory of the build's own."""


def git_environment(config: Mapping[str, str]) -> dict[str, str]:
    """The environment under which git reads no configuration but ``config`` (and the
    clone's own, which ``checkout.sh`` resets)."""
    env = {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_COUNT": str(len(config)),
    }
    for index, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


@implementer(IRenderable)
class PlumbingEnv:
    """The plumbing steps' environment: the build's (:data:`BUILD_ENV`), and git's with
    :data:`SAFE_GIT_CONFIG` and ``fetching`` (a renderable of more git configuration: the
    token's header for the repository, or nothing)."""

    def __init__(self, fetching: Any = None) -> None:
        self.fetching = fetching

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any) -> Generator[Any, Any, dict[str, str]]:
        build = yield props.render(BUILD_ENV)
        extra = yield props.render(self.fetching or {})
        return {**build, **git_environment({**SAFE_GIT_CONFIG, **extra})}

"""Latent workers' passwords: drawn from ``secrets``, not from ``random``.

A latent worker's password is what lets a machine attach to the master as that worker,
and Buildbot 4.3 draws it from the ``random`` module (predictable from its state). Our
latent workers override ``getRandomPass``, the method Buildbot documents for their kinds
to ask: like upstream's, it keeps the current password while the worker's machine runs or
starts (its user data or environment carries it), and otherwise draws a new one.

Buildbot asks at each (re)configuration, so a password is new per master start and per
reconfig while no machine runs. A new one per machine start would need Buildbot's
undocumented worker registration (the PB manager keeps the password it was registered
with), so we do not.
"""

from __future__ import annotations

import secrets

from buildbot.worker.latent import AbstractLatentWorker, States

NO_MACHINE = (States.NOT_SUBSTANTIATED, States.SHUT_DOWN)


def new_password() -> str:
    """A worker password: 192 random bits, URL-safe (it goes into shell and URLs)."""
    return secrets.token_urlsafe(24)


class StrongPasswords(AbstractLatentWorker):
    """Mixed into our latent workers, before Buildbot's class."""

    def getRandomPass(self) -> str:
        if self.state not in NO_MACHINE and self.password is not None:
            return str(self.password)
        return new_password()

"""Latent workers' passwords: drawn from ``secrets``, and new for each machine.

A build on a latent worker's machine can read that worker's password (its
``buildbot.tac``, its environment, the instance's user data). Buildbot 4.3 draws a latent
worker's password from ``random`` (predictable from its state), once per configuration, so
a password a build once saw would attach again, as that worker, for as long as the master
runs. Ours are drawn from ``secrets`` when a machine is about to start and again when it
stops: the next machine gets a password no build has seen, and once a machine is stopped
its password is refused.

How Buildbot lets the password change without re-registering the worker: the worker
renders its configured password once, at each (re)configuration, as it does a
``util.Secret``, and registers the result on the worker port; the worker port renders that
registered value again at every login attempt. So the worker is configured with a
renderable (:class:`Configured`) whose rendering is a :class:`RenewablePassword`, which the
registration keeps and renders, at each login, to the password of the current machine.
Nothing private is touched; ``tests/integration/test_ec2_master.py`` fails if Buildbot
stops rendering at login (a worker with a renewed password would never attach).
"""

from __future__ import annotations

import secrets
from typing import Any

from buildbot.interfaces import IRenderable
from buildbot.worker.latent import AbstractLatentWorker
from zope.interface import implementer


def new_password() -> str:
    """A worker password: 192 random bits, URL-safe (it goes into shell and URLs)."""
    return secrets.token_urlsafe(24)


@implementer(IRenderable)
class RenewablePassword:
    """The password a worker's current machine logs in with, as the worker port sees it at
    each login attempt."""

    def __init__(self) -> None:
        self.value = new_password()

    def renew(self) -> str:
        """Draw a new password: the one before is refused from now on."""
        self.value = new_password()
        return self.value

    def getRenderingFor(self, props: Any) -> str:
        return self.value

    def __repr__(self) -> str:
        return "<RenewablePassword>"  # never the value: this may be logged


@implementer(IRenderable)
class Configured:
    """What the worker is configured with: rendered once per (re)configuration, it gives
    the renewable password itself, for the worker port to keep."""

    def __init__(self, password: RenewablePassword) -> None:
        self.password = password

    def getRenderingFor(self, props: Any) -> RenewablePassword:
        return self.password


class RenewedPasswords(AbstractLatentWorker):
    """Mixed into our latent workers, before Buildbot's class. Each kind calls
    :meth:`machine_password` as its machine is made and :meth:`forget_password` as it
    stops."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Kept for the worker's life: a reconfig while a machine runs keeps its password.
        self.renewable_password = RenewablePassword()
        super().__init__(*args, **kwargs)

    def reconfigService(self, *args: Any, **kwargs: Any) -> Any:
        name, password, *rest = args  # as our kinds pass them
        if password is None:
            password = Configured(self.renewable_password)
        return super().reconfigService(name, password, *rest, **kwargs)

    def machine_password(self) -> str:
        """A new password, for the machine about to be made."""
        return self.renewable_password.renew()

    def forget_password(self) -> None:
        """The machine stops: its password no longer attaches."""
        self.renewable_password.renew()

"""The EC2 instance a build runs on, in the build's properties."""

from __future__ import annotations

from buildbot.process import buildstep
from buildbot.process.results import SUCCESS

INSTANCE_PROPERTIES = ("instance", "instance_type", "market", "instance_price")


class InstanceProperties(buildstep.BuildStep):
    """Names the EC2 instance a build runs on in its properties (``instance``,
    ``instance_type``, ``market``, ``instance_price``).

    Buildbot copies a worker's properties into a build when it claims the request, before
    a latent worker has started its instance; this step copies them again once the build
    runs on it. On a worker that is not an EC2 worker it sets nothing.
    """

    name = "instance"

    def run(self) -> int:
        properties = self.worker.properties if self.worker is not None else None
        found = {
            name: properties.getProperty(name)
            for name in INSTANCE_PROPERTIES
            if properties is not None and properties.getProperty(name) is not None
        }
        for name, value in found.items():
            self.setProperty(name, value, "Worker")
        if "instance" in found:
            self.descriptionDone = [
                str(found["instance"]),
                f"{found.get('market', '')} {found.get('instance_type', '')}".strip(),
            ]
        else:
            self.descriptionDone = ["not on EC2"]
        return int(SUCCESS)

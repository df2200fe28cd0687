"""The one place that mends how Buildbot 4.3 writes a build's properties to the database.

At a build's start and after each of its steps, Buildbot reads the build's properties
back and writes each new or changed one in a transaction of its own, a query to look for
it and one to insert or update it: about 20 transactions per build, of some 170 database
calls in all for a trivial build (``make bench``). Here one transaction writes them all:
the new ones in one insert, the changed ones updated one by one; the properties read
just before say which are which. What the build's readers see is unchanged: the same
rows, then the same update event.

Buildbot binds its data API's update methods when the master is made, before the
configuration is read, so a class attribute cannot be replaced; this service replaces
the master's bound method when it starts.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from buildbot.util.service import BuildbotService
from buildbot.util.twisted import async_to_deferred
from twisted.internet import defer

# A build's properties as the data API has them: name -> (value, source).
Sourced = dict[str, tuple[Any, str]]


def write(
    conn: Any, table: Any, buildid: int, properties: Sourced, stored: Collection[str]
) -> None:
    """In one transaction: insert the properties not ``stored`` yet, update the others."""
    rows = [
        {"buildid": buildid, "name": name, "value": json.dumps(value), "source": source}
        for name, (value, source) in properties.items()
        if name not in stored
    ]
    if rows:
        conn.execute(table.insert(), rows).close()
    for name, (value, source) in properties.items():
        if name in stored:
            where = (table.c.buildid == buildid) & (table.c.name == name)
            conn.execute(
                table.update().where(where).values(value=json.dumps(value), source=source)
            ).close()


class PropertyWrites(BuildbotService):
    """Makes ``master.data.updates.setBuildProperties`` write in one transaction."""

    name = "property-writes"

    def startService(self) -> Any:
        self.master.data.updates.setBuildProperties = self.set_build_properties
        return super().startService()

    @async_to_deferred
    async def set_build_properties(self, buildid: int, properties: Any) -> None:
        """Buildbot's ``setBuildProperties``: the build's properties, as they are now."""
        master = self.master
        stored: Sourced = await master.data.get(("builds", str(buildid), "properties"))
        current = properties.getProperties()
        rendered: Sourced = await current.render(current.asDict())
        to_write = {name: value for name, value in rendered.items() if stored.get(name) != value}
        if not to_write:
            return
        table = master.db.model.build_properties
        await master.db.pool.do_with_transaction(write, table, buildid, to_write, stored)
        event = master.data.rtypes.property.generateUpdateEvent
        await defer.maybeDeferred(event, buildid, to_write)

"""Zulip, as the original team used it: buildset summaries, main-branch alerts, master errors.

:mod:`.messages` says what a message says, :mod:`.reporters` sends build reports to their
streams, :mod:`.errors` batches the master's own errors to the ops stream, all through the
message API of :mod:`.session`.

It imports :mod:`config.settings`, and the names of the build properties
:mod:`config.builds` sets.
"""

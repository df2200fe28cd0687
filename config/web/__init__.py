"""The web UI: its ``www`` section, logins and authorization, and pages of our own.

:mod:`.ui` is the ``www`` section (port, views, change hooks); :mod:`.auth` who logs in
and who may control builds; :mod:`.pages` puts our pages on the UI's port:
:mod:`.metrics` (``/metrics``) and :mod:`.results` (``/results/``); :mod:`.test_views` the
view of stored test results, served by Buildbot's ``wsgi_dashboards`` plugin.

It imports :mod:`config.settings`, :mod:`config.builds` (where uploads land) and
:mod:`config.workers` (the EC2 workers' figures).
"""

"""The web UI's view of stored test results (:mod:`config.builds.stored_results`): a
build's failing tests, lint findings and slowest tests, and one test's history.

:mod:`.queries` reads them through Buildbot's data API; :mod:`.app` is the Flask app
that Buildbot's ``wsgi_dashboards`` plugin serves and puts in the UI's menu.
"""

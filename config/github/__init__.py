"""GitHub in and out: deliveries, pull requests, credentials and commit statuses.

:mod:`.webhook` checks deliveries and hands them to :mod:`.deliveries`, which keeps them
in :mod:`.spool` until :mod:`.events` has stored what they build, once each
(:mod:`.delivered`); :mod:`.pull_requests` decides what a pull request builds and which
wait (:mod:`.history`: whether a commit has a build), and :mod:`.approval` holds their
schedulers (the web UI's Approve form among them). :mod:`.credentials` is how the master
authenticates (a personal token, or a GitHub App's installation tokens from :mod:`.app`)
and what a checkout fetches with; :mod:`.api` the master's few REST calls;
:mod:`.statuses` the commit statuses; :mod:`.checks` the check runs of an App
(:mod:`.check_output` what they say), :mod:`.check_events` what GitHub's re-run and
Approve buttons do, :mod:`.admins` who may press Approve; :mod:`.repositories` a
repository's owner and name.

It imports :mod:`config.settings` and :mod:`config.builds` (branch rules, change
categories, superseded builds).
"""

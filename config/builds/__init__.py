"""What a build is: branch rules, recipes, steps, builders, and when builds start.

:mod:`.branches` says what a branch is (main, release, version tag, maintenance, merge
queue); :mod:`.checkout` and :mod:`.merge` are the plumbing steps every build starts with,
whose git work runs as the worker-side scripts of :mod:`.scripts`; :mod:`.recipes` maps a
recipe's steps onto Buildbot's step classes (:mod:`.counts`: tests and lint with their
counts; :mod:`.result_steps`: JUnit reports, reruns and lint findings stored as test
results, with :mod:`.reports`, :mod:`.junit`, :mod:`.findings` and :mod:`.stored_results`;
:mod:`.uploads`: results published to the master; :mod:`.storage` and
:mod:`.s3_objects`: uploads and publishing to S3; :mod:`.instance`: the EC2
instance in a build's properties); :mod:`.builders` makes the builders. :mod:`.changes`
(the poller), :mod:`.schedulers`, :mod:`.collapse` (which waiting requests merge) and
:mod:`.superseded` (newer commits cancel older builds) decide when builds run;
:mod:`.janitor` prunes old logs and results.

It imports :mod:`config.settings` only.
"""

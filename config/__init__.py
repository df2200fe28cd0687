"""The package that turns the validated settings into Buildbot objects.

Read it in this order; imports run one way, down this list and never back up:

- :mod:`config.settings`: the schema (models by section, one-line errors, the loader);
- :mod:`config.secrets`, :mod:`config.database`: the secret provider and the ``db`` section;
- :mod:`config.builds`: what a build is: branch rules, recipes, steps, builders, schedulers;
- :mod:`config.workers`: where builds run: local, static, docker and EC2 pools;
- :mod:`config.github`: GitHub in and out: webhook, pull requests, tokens, statuses;
- :mod:`config.zulip`: build summaries, alerts and the master's errors on Zulip;
- :mod:`config.web`: the web UI: logins, who may control builds, our pages;
- :mod:`config.master`: the assembly of BuildmasterConfig, by the master's roles.

Everything here goes through Buildbot's public API and documented extension points;
changes to Buildbot's internals live in ``mends/``.
"""

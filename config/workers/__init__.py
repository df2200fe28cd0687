"""Where builds run: the worker pools of the settings' ``workers`` list.

:mod:`.pools` makes every pool's workers: local processes and the team's own machines
(static) in place, a container per build in :mod:`.docker`, and EC2 latent workers in
:mod:`.ec2`, whose user data :mod:`.userdata` renders. :mod:`.tls` is the worker port's
certificate and what workers trust; :mod:`.passwords` the latent workers' passwords.

It imports :mod:`config.settings` only.
"""

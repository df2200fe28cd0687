"""EC2 latent workers: one-time instances the master starts and terminates itself.

:mod:`.launch` plans a launch (the image, the offers to try in order; pure values),
:mod:`.aws` makes the clients and words AWS's answers, :mod:`.worker` is the latent
worker's lifecycle (start, wait, stop, leave nothing behind), :mod:`.cost` counts what its
instances ran and cost, and :mod:`.pool` makes an ec2 pool's workers from the settings.

It imports :mod:`config.settings` and :mod:`config.workers.userdata`.
"""

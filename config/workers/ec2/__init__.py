"""EC2 latent workers: one-time instances the master starts and terminates itself.

:mod:`.launch` plans a launch (the image, the offers to try in order; pure values),
:mod:`.aws` makes the clients, words AWS's answers and holds the single calls,
:mod:`.retry` says which refusals are asked again and after how long, :mod:`.calls` runs
the calls in threads of their own and every wait on the reactor (terminates that hold, the
sweep for instances left behind), :mod:`.master_id` is the id this master tags its
instances with, :mod:`.worker` is the latent worker's lifecycle (start,
wait, stop, leave nothing behind), :mod:`.cost` counts what its instances ran and cost,
and :mod:`.pool` makes an ec2 pool's workers from the settings.

It imports :mod:`config.settings`, :mod:`config.workers.userdata` and
:mod:`config.workers.passwords`.
"""

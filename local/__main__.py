"""``python -m local``: what ``make run`` runs (:mod:`local.run`)."""

import sys

from local.run import main

sys.exit(main())

"""``python -m s4_core`` runs the ``s4`` command line."""

import sys

from .cli import main

sys.exit(main())

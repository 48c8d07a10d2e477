"""``python -m stasis_app``: the ``infolinia`` command, for an interpreter
whose scripts folder is not on PATH."""

import sys

from stasis_app.cli import main

sys.exit(main())

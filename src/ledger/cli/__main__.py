"""``python -m ledger.cli``."""

import sys

from . import main

sys.exit(main())

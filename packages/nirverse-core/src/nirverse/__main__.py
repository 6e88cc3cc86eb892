"""``python -m nirverse``: the same command as ``nirverse``."""

import sys

from .cli import main

sys.exit(main())

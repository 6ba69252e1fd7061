"""``python -m harness.cli``: the ``ipe`` command."""

import sys

from harness.cli import main

sys.exit(main())

"""``python -m poselift.cli``: the same as the ``poselift`` command."""

import sys

from . import main

sys.exit(main())

"""`python -m laneboard` runs the command line (the same as the `laneboard` script)."""

import sys

from laneboard.cli import main

sys.exit(main())

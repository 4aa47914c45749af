"""Entry point of `python -m digitlab`."""

import sys

from digitlab.cli import main

sys.exit(main())

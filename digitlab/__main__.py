"""Entry point of `python -m digitlab`."""

import sys

from digitlab.cli.main import main

sys.exit(main())

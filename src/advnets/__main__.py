"""`python -m advnets ...`: the same command line as the `advnets` console script (what launchers such
as torchrun's `-m` start)."""

import sys

from advnets.cli import main

sys.exit(main())

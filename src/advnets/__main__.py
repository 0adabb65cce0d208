"""`python -m advnets ...`: the same command line as the `advnets` console script (what launchers such
as torchrun's `-m` start)."""

from advnets.cli import run

run()

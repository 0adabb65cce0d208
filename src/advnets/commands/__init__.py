"""The commands of the command line, one module each; ``advnets.cli`` assembles them.

A command module has the same four names, and nothing that loads PyTorch at import (the library is imported
inside ``run``, for the one command that runs: ``advnets --help`` imports no command at all):

    DESCRIPTION   the paragraph of ``advnets NAME --help``
    EXAMPLES      the examples under it
    add_arguments(p)   its arguments, with the types that check them at parse time (options.py)
    run(args) -> int   the work: library calls, then what the user reads (presentation.py)

A new command: a module here with those names, and its line in ``advnets.cli.COMMANDS``.
"""

# True when this process is the command (the console script, python -m advnets; advnets.cli.run sets it): then
# a stop signal that arrives after a run has ended, while the process exits, is ignored rather than turned into
# a traceback. Read it as ``commands.WHOLE_PROCESS`` (a module attribute), never imported by name.
WHOLE_PROCESS = False

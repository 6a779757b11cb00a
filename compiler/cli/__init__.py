"""The command line: `app.py` wires argparse and dispatches; every other module is one command (or a
pair, promote and rollback) that parses nothing, calls the room that does the work (pipeline, gitops,
local), prints the result and returns an exit code (exit_codes.py).

`mlplat` is `compiler.cli:entry`: main() with settings for a short-lived process (tests call main).
This is the top of the dependency direction: nothing imports cli.
"""

from compiler.cli.app import entry, main

__all__ = ["entry", "main"]

"""The command line: `app.py` wires argparse and dispatches; every other module is one command (or a
pair) that adds its options (ARGUMENTS, with the shared ones of options.py), calls the room that does
the work, prints the result and returns an exit code (exit_codes.py). common.py holds what several
commands share (the checked project, model lookup).

    validate.py   `mlplat validate`          compile.py   `mlplat compile [--check]`
    plan.py       `mlplat plan --base REF`   gate.py      `mlplat gate`
    promote.py    `mlplat promote`, `mlplat rollback`
    canary.py     `mlplat canary`            schema.py    `mlplat schema`
    run.py        `mlplat run`               serve.py     `mlplat serve`
    score.py      `mlplat score`             drift.py     `mlplat drift`
    quality.py    `mlplat quality`           sbom.py      `mlplat sbom`
    new.py        `mlplat new`               inventory.py `mlplat list`, `mlplat describe`
    catalog.py    `mlplat catalog`           demo.py      `mlplat demo` (the README's main job)

`mlplat` is `compiler.cli:entry`: main() with settings for a short-lived process (tests call main).
This is the top of the dependency direction: nothing imports cli.
"""

from compiler.cli.app import entry, main

__all__ = ["entry", "main"]

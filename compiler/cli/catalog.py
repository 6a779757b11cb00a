"""`mlplat catalog --output DIR`: the model catalog as a static site (compiler/catalog/site.py).

Built from the repository, its git history and, where it can be read, one registry (--tracking-uri, or
--registry-env: an environment's MLflow as platform.yaml names it; default: the embedded SQLite registry
under .mlplat/, when it exists). The site appears whole: it is written beside
DIR and swapped in; a DIR that holds anything but an earlier catalog is refused, with nothing written.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

from compiler.catalog import data as catalog_data
from compiler.catalog import site as catalog_site
from compiler.cli import options
from compiler.cli.common import checked_or_report
from compiler.cli.exit_codes import EXIT_OK, EXIT_USAGE
from compiler.cli.inventory import registry_of
from compiler.local.leftovers import remove_left_behind
from compiler.pipeline.incremental.render_cache import RenderCache
from compiler.pipeline.plan import build_plan

MARKER = ".mlplat-catalog"  # names a folder as a catalog this command may replace


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", required=True, type=Path, help="folder to write the site to (replaced whole)")
    options.tracking_uri(parser, "SQLite under .mlplat/, if it exists")
    parser.add_argument("--registry-env", help="read the versions from this environment's MLflow (platform.yaml)")


ARGUMENTS = {"catalog": arguments}  # command -> what adds its options


def catalog(root: Path, args: argparse.Namespace) -> int:
    output = Path(args.output).absolute()
    problem = _unsafe_output(root, output)
    if problem:
        print(f"mlplat catalog: {problem}", file=sys.stderr)
        return EXIT_USAGE
    checked = checked_or_report(root, "text")
    if checked is None:
        return EXIT_USAGE
    plan = build_plan(checked, RenderCache(root))
    names = sorted({m.name for m in checked.models})
    envs = {e.env.name: e.env for e in checked.environments}
    if args.registry_env is not None and args.registry_env not in envs:
        print(f"mlplat catalog: no environment {args.registry_env!r} (environments: {', '.join(envs)})",
              file=sys.stderr)
        return EXIT_USAGE
    uri = args.tracking_uri or (envs[args.registry_env].mlflow.tracking_uri if args.registry_env else None)
    registry = registry_of(root, names, uri)
    data = catalog_data.gather(root, checked, plan, registry)
    contents = {f.path: f.content for f in plan.files}
    linked = {path: contents[path] for m in data["models"]
              for path in [m["links"]["modelCard"], *m["links"]["mlboms"]] if path}
    site = catalog_site.build(data, linked)
    _write_whole(output, site)
    source = "registry " + registry["uri"] if "error" not in registry else "committed evidence: " + registry["error"]
    print(f"mlplat catalog: {len(data['models'])} models, {len(data['teams'])} teams, {len(site)} files in "
          f"{output} (open {output / 'index.html'}); versions from the {source}")
    return EXIT_OK


def _unsafe_output(root: Path, output: Path) -> str | None:
    if output.exists() and not output.is_dir():
        return f"{output} is a file; give a folder"
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).is_file():
        return f"{output} is not empty and holds no earlier catalog ({MARKER}); give an empty or new folder"
    resolved = output.resolve()
    if resolved == root.resolve() or resolved in root.resolve().parents:
        return f"{output} would replace the repository"
    return None


def _write_whole(output: Path, site: dict[str, bytes]) -> None:
    # what a killed run left beside the output: its half-written site, or the previous one it was replacing
    remove_left_behind(output.parent, rf"{re.escape(output.name)}\.(partial|previous)-(?P<pid>\d+)")
    staged = output.with_name(f"{output.name}.partial-{os.getpid()}")
    shutil.rmtree(staged, ignore_errors=True)
    try:
        for relative, content in {**site, MARKER: b"written by mlplat catalog; replaced by the next one\n"}.items():
            path = staged / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        previous = output.with_name(f"{output.name}.previous-{os.getpid()}")
        if output.exists():
            output.rename(previous)
        staged.rename(output)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staged, ignore_errors=True)

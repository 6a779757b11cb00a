"""`mlplat new NAME --team T --template X`: a new model's folder, specs/<team>/<name>/, from a template.

Each template (compiler/local/templates/<template>/) is a spec, its training code and a unit test for
that code, on data a package ships, so that `mlplat validate` and `mlplat run NAME` pass straight away.
Files end in .tmpl and take $name, $team, $package (the name as a Python package), $owner (the team's
first owner), $description (quoted for YAML) and $training_image; `package` in a file or folder name
becomes $package (test files need names of their own: pytest imports them by name).

Nothing is written for a bad name, an unknown team or template, or a model or folder that exists; the
folder appears whole (written under .mlplat/new/, then renamed) and is removed again should the
repository not validate with it.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import shutil
import string
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from compiler.local.embedded import WORK_DIR
from compiler.local.leftovers import remove_left_behind
from compiler.pipeline.check import Checked, check_project
from compiler.pipeline.errors import format_errors
from compiler.spec.names import model_name_problem
from compiler.spec.scaffold import TEMPLATES

TEMPLATES_DIR = Path(__file__).parent / "templates"
# A model name that is also a Python package once its dashes are underscores, and a DNS label.
_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
PLATFORM_PACKAGES = frozenset({"compiler", "renderers", "runtime"})  # on the pods' path before a team's code


class ScaffoldError(Exception):
    """Why nothing was written."""


@dataclass(frozen=True)
class Scaffolded:
    folder: Path
    files: list[Path]  # relative to the repository


def new_model(root: Path, checked: Checked, name: str, team: str, template: str,
              description: str | None = None) -> Scaffolded:
    platform = checked.project.platform
    if template not in TEMPLATES:
        raise ScaffoldError(f"no template {template!r}; templates: {', '.join(TEMPLATES)}")
    if not _NAME.fullmatch(name) or len(name) > 63:
        raise ScaffoldError(f"{name!r} is not a model name: lower-case letters, digits and dashes, starting with a "
                            "letter and ending with a letter or digit (it names Kubernetes objects and a Python "
                            "package)")
    if problem := model_name_problem(name):
        raise ScaffoldError(f"{name!r}: {problem}")
    package = name.replace("-", "_")
    if keyword.iskeyword(package) or package in sys.stdlib_module_names or package in PLATFORM_PACKAGES:
        what = ("a Python keyword" if keyword.iskeyword(package) else
                "a module of Python's standard library" if package in sys.stdlib_module_names else "mlplat's own")
        raise ScaffoldError(f"{name!r} cannot name a model: its package {package!r} is {what}, so its code could not "
                            "be imported (or would hide that module); choose another name")
    owning = platform.team(team)
    if owning is None:
        raise ScaffoldError(f"no team {team!r} in platform/platform.yaml; teams: "
                            f"{', '.join(t.name for t in platform.spec.teams)}")
    existing = next((m for m in checked.models if m.name == name), None)
    if existing is not None:
        raise ScaffoldError(f"a model {name!r} exists already ({existing.source}); model names are unique on the "
                            "platform")
    folder = root / "specs" / team / name
    if folder.exists() or folder.is_symlink():
        raise ScaffoldError(f"specs/{team}/{name} exists already; nothing was written")
    values = {"name": name, "team": team, "package": name.replace("-", "_"), "owner": owning.owners[0],
              # a YAML scalar (JSON's string is one), whatever the text holds
              "description": json.dumps(description or "What it predicts, for whom (edit me)"),
              "training_image": platform.spec.defaults.images.training}
    rendered = _render(TEMPLATES_DIR / template, values)
    # Written under .mlplat/ (ignored by git and by the spec loader; the same file system as specs/), then
    # renamed into place: a killed `new` leaves no half folder among the specs.
    work = root / WORK_DIR / "new"
    work.mkdir(parents=True, exist_ok=True)
    remove_left_behind(work, r"(?P<pid>\d+)-.+")  # what a killed `new` left
    new_team_folder = not folder.parent.exists()
    staging = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-{name}-", dir=work))
    try:
        for relative, text in rendered.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            (staging / relative).write_text(text, "utf-8")
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _, errors = check_project(root)
    if errors:  # a template that does not fit this platform: take it back
        shutil.rmtree(folder)
        if new_team_folder:
            folder.parent.rmdir()
        raise ScaffoldError("the new spec does not validate on this platform, so nothing was kept:\n"
                            + format_errors(errors, "text"))
    return Scaffolded(folder, sorted(folder.relative_to(root) / p for p in rendered))


def _render(template: Path, values: dict[str, str]) -> dict[Path, str]:
    out = {}
    for source in sorted(template.rglob("*.tmpl")):
        relative = source.relative_to(template).with_suffix("")
        relative = Path(*(part.replace("package", values["package"]) for part in relative.parts))
        out[relative] = string.Template(source.read_text("utf-8")).substitute(values)
    return out

"""Shared fixtures: the repository root, and scratch copies of it for tests that write."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_SCHEMAS = REPO.parent / "shared" / "schemas"
# Set MLPLAT_UPDATE_GOLDEN=1 to rewrite expected outputs (then review their diff like code).
UPDATE_GOLDEN = os.environ.get("MLPLAT_UPDATE_GOLDEN") == "1"


def pytest_configure(config: pytest.Config) -> None:
    """The compiler uses no cache where CI=true (GitHub Actions sets it) or MLPLAT_CACHE=off. The suite runs the
    same on a laptop and in CI, with the caches on; the tests of those switches set them themselves."""
    for switch in ("CI", "MLPLAT_CACHE"):
        os.environ.pop(switch, None)


def copy_inputs(target: Path) -> Path:
    """A copy of what the compiler reads: platform/, specs/, each environment's releases.yaml and evidence/."""
    shutil.copytree(REPO / "platform", target / "platform")
    shutil.copytree(REPO / "specs", target / "specs")
    for source in [*(REPO / "environments").glob("*/releases.yaml"), *(REPO / "environments").glob("*/evidence/*")]:
        destination = target / source.relative_to(REPO)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, destination)
    return target


def checked_model(root: Path, name: str, environment: str):
    """Model `name` in `environment` as the compiler checks it from `root`, which must check without errors."""
    from compiler.pipeline.check import check_project

    checked, errors = check_project(root)
    assert errors == [], errors
    [model] = [m for m in checked.models if m.name == name and m.environment == environment]
    return model


def copy_repo(target: Path) -> Path:
    """A copy of the repository's inputs and committed output that a test may change."""
    shutil.copytree(REPO / "platform", target / "platform")
    shutil.copytree(REPO / "specs", target / "specs")
    shutil.copytree(REPO / "environments", target / "environments")
    (target / ".github").mkdir()
    shutil.copy(REPO / ".github" / "CODEOWNERS", target / ".github" / "CODEOWNERS")
    return target


def move_artifact_stores(root: Path, store: str, envs: tuple[str, ...] = ("dev", "staging", "prod")) -> None:
    """Point the environments' artifact stores at `store` (a file:// URI the test's registry writes to),
    moving the example pins and their evidence with them: a pin's modelUri must lie under its store."""
    import re

    pattern = re.compile(rf"s3://acme-mlplat-artifacts-({'|'.join(envs)})\b")
    for path in [root / "platform" / "platform.yaml", *root.glob("environments/*/releases.yaml"),
                 *root.glob("environments/*/evidence/*.json")]:
        path.write_text(pattern.sub(store, path.read_text()))


def allow_local_data(root: Path, folder: Path) -> None:
    """Add `folder` to the local data roots of `root`'s platform.yaml, where file:// data may lie (a test's
    own tables in its temporary folder)."""
    platform = root / "platform" / "platform.yaml"
    text = platform.read_text()
    marker = "    serviceAccount: mlplat-runner\n"
    assert marker in text
    platform.write_text(text.replace(marker, f'{marker}    localDataRoots: ["/data", "{folder}"]\n'))


def init_git(root: Path):
    """Make `root` a git repository with everything in one first commit, on main."""
    import git

    repository = git.Repo.init(root, initial_branch="main")
    with repository.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.com")
    repository.git.add("--all")
    repository.index.commit("base")
    return repository


def committed_branch(output: str) -> str:
    """The branch `mlplat promote|rollback|canary --commit` names on its first line (it commits beside the work
    tree, which it leaves as it was)."""
    import re

    return re.search(r"^committed \w+ on branch (\S+);", output, re.M).group(1)


def merge_committed(root: Path, output: str) -> str:
    """Merge the branch a committing command named in `output` into main, as its pull request would; the branch."""
    import git

    branch = committed_branch(output)
    repository = git.Repo(root)
    repository.git.checkout("main")
    repository.git.merge("--ff-only", branch)
    return branch


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


def check_golden(path: Path, actual: str | bytes) -> None:
    """Compare with a golden file, or rewrite it when MLPLAT_UPDATE_GOLDEN=1."""
    data = actual.encode() if isinstance(actual, str) else actual
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.is_file(), f"no golden file {path}; run with MLPLAT_UPDATE_GOLDEN=1 and review it"
    assert data.decode() == path.read_text("utf-8"), f"output differs from {path}"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that share the session's trained registry run on one worker, one after another (the
    longest chain): start them first, so that they do not trail on their own at the end."""
    def chained(item: pytest.Item) -> bool:
        marker = item.get_closest_marker("xdist_group")
        return marker is not None and marker.args[:1] == ("registry",)

    items.sort(key=lambda item: not chained(item))  # stable: the order within each part is kept
    if config.getoption("loadgroup", False):
        _group_suffixes(items)


def _group_suffixes(items: list[pytest.Item]) -> None:
    """pytest-xdist 3.8 groups tests by renaming `item._nodeid` to `<id>@<group>`; pytest 9 keeps the id in
    `item._id`, so the rename does nothing and every group is spread over all workers (each trained its own
    registry). Done here the way pytest 9 stores it, until xdist does it itself."""
    from _pytest.nodeid import NodeId

    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})
        if groups and "@" not in item.nodeid and hasattr(item, "_id"):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")

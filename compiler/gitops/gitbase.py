"""The compiler's inputs as they were at a git commit, read with GitPython (the work tree is untouched)."""

from __future__ import annotations

from pathlib import Path

from compiler.spec.evidence import EVIDENCE_DIR
from compiler.spec.releases import RELEASES_FILE

INPUT_PREFIXES = ("platform/", "specs/")


class GitError(Exception):
    """Not a repository, or an unknown revision."""


def repo(root: Path):
    import git

    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise GitError(f"{root} is not inside a git repository") from exc


def is_input(path: str) -> bool:
    """platform/, specs/, and each environment's releases.yaml and evidence/ (what promotion commits)."""
    parts = path.split("/")
    return path.startswith(INPUT_PREFIXES) or (
        len(parts) >= 3 and parts[0] == "environments"
        and (parts[2] == RELEASES_FILE or (parts[2] == EVIDENCE_DIR and len(parts) == 4)))


def export_inputs(root: Path, ref: str, destination: Path) -> Path:
    """Write the inputs (see is_input) as of `ref` into `destination`."""
    import git

    repository = repo(root)
    try:
        commit = repository.commit(ref)
    except (git.BadName, ValueError) as exc:
        raise GitError(f"unknown revision {ref!r}") from exc
    prefix = Path(root).resolve().relative_to(Path(repository.working_tree_dir).resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    for item in commit.tree.traverse():
        if item.type != "blob" or not item.path.startswith(prefix):
            continue
        relative = item.path[len(prefix):]
        if is_input(relative):
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.data_stream.read())
    return destination


def file_at(root: Path, ref: str, relative: str) -> bytes | None:
    """One file's bytes at `ref`, or None when it did not exist there."""
    import git

    repository = repo(root)
    prefix = Path(root).resolve().relative_to(Path(repository.working_tree_dir).resolve()).as_posix()
    path = relative if prefix == "." else f"{prefix}/{relative}"
    try:
        return repository.commit(ref).tree[path].data_stream.read()
    except KeyError:
        return None
    except (git.BadName, ValueError) as exc:
        raise GitError(f"unknown revision {ref!r}") from exc


def head_commit(root: Path) -> str:
    """The commit checked out in the work tree."""
    return repo(root).head.commit.hexsha

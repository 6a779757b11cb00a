"""The compiler's inputs as they were at a git commit, read with GitPython (the work tree is untouched)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from compiler.spec.evidence import EVIDENCE_DIR
from compiler.spec.paths import BASE_DIR
from compiler.spec.releases import RELEASES_FILE

INPUT_PREFIXES = ("platform/", "specs/")


class GitError(Exception):
    """Not a repository, or an unknown revision."""


def repo(root: Path):
    """The repository `root` lies in. Its git commands take no optional lock: `git status` otherwise
    refreshes the index under .git/index.lock, which a kill at that moment leaves behind and every later
    git command in the repository then refuses."""
    import git

    try:
        repository = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise GitError(f"{root} is not inside a git repository") from exc
    repository.git.update_environment(GIT_OPTIONAL_LOCKS="0")
    return repository


def is_dirty(repository, untracked: bool) -> bool:
    """Whether the work tree or the index differ from HEAD (untracked files too, where `untracked`), asked
    without writing the index: GitPython's is_dirty runs `git diff`, which refreshes it under index.lock
    whatever GIT_OPTIONAL_LOCKS says."""
    return bool(repository.git.status("--porcelain", f"--untracked-files={'all' if untracked else 'no'}"))


def is_input(path: str) -> bool:
    """platform/, specs/, and each environment's releases.yaml and evidence/ (what promotion commits)."""
    parts = path.split("/")
    return path.startswith(INPUT_PREFIXES) or (
        len(parts) >= 3 and parts[0] == "environments"
        and (parts[2] == RELEASES_FILE or (parts[2] == EVIDENCE_DIR and len(parts) == 4)))


@contextmanager
def written_inputs(root: Path, files: dict[str, bytes]) -> Iterator[Path]:
    """`files` (relative path -> bytes, see read_inputs) written to a scratch folder inside the repository
    (.mlplat/base/, gitignored: nothing outside the repository is written), removed afterwards."""
    if any(root.joinpath(*Path(BASE_DIR).parts[:depth]).is_symlink() for depth in (1, 2)):
        raise GitError(f"{BASE_DIR} is a symbolic link: the base is not written through it")
    (root / BASE_DIR).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="base-", dir=root / BASE_DIR))
    try:
        for relative, content in files.items():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def exported_inputs(root: Path, ref: str) -> Iterator[Path]:
    """The inputs (see is_input) as of `ref`, written to a scratch folder (see written_inputs)."""
    with written_inputs(root, read_inputs(root, ref)) as folder:
        yield folder


def read_inputs(root: Path, ref: str) -> dict[str, bytes]:
    """The inputs (see is_input) as of `ref`, by path relative to the root: one `git ls-tree` for the names
    and one `git cat-file --batch` for the contents (GitPython's tree walk asks git for each of the 3,000
    folders and 15,000 files of environments/ in turn: seconds at 1,000 models)."""
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", error=f"unknown revision {ref!r}")
    prefix = _git(root, "rev-parse", "--show-prefix").decode().strip()
    listing = _git(root, "ls-tree", "-r", "-z", "--full-tree", commit.decode().strip())
    wanted = []  # (object, path relative to the root)
    for line in listing.split(b"\0"):
        if not line:
            continue
        meta, _, path = line.decode("utf-8", "surrogateescape").partition("\t")
        _, kind, sha = meta.split()
        if kind == "blob" and path.startswith(prefix) and is_input(path[len(prefix):]):
            wanted.append((sha, path[len(prefix):]))
    batch = _git(root, "cat-file", "--batch", stdin="".join(f"{sha}\n" for sha, _ in wanted).encode())
    files, offset = {}, 0
    for _, relative in wanted:  # "<sha> blob <size>\n<content>\n" each, in the order asked
        header_end = batch.index(b"\n", offset)
        size = int(batch[offset:header_end].split()[2])
        files[relative] = batch[header_end + 1:header_end + 1 + size]
        offset = header_end + 1 + size + 1
    return files


def _git(root: Path, *args: str, error: str = "", stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], input=stdin, capture_output=True, check=False)
    except OSError as exc:
        raise GitError(f"git could not be run: {exc}") from exc
    if done.returncode != 0:
        inside = subprocess.run(["git", "-C", str(root), "rev-parse", "--git-dir"], capture_output=True)
        if inside.returncode != 0:
            raise GitError(f"{root} is not inside a git repository")
        raise GitError(error or f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


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

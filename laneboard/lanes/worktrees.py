"""A writable lane's own git worktree: add or reuse, diff, merge back, discard.

Why worktrees: two writable lanes in one working tree overwrite each other and nobody can
tell which lane changed what. Each writable lane gets branch `lb/<lane>` checked out in
`<repo>/.laneboard/worktrees/<lane>`.

Why that directory, and not the state or runtime directory: a worktree holds the lane's
*work*. The runtime directory is often a tmpfs (`$XDG_RUNTIME_DIR`) wiped at logout or
reboot, and state directories get cleaned by people who think they hold only caches;
next to the repository it is found by `git worktree list`, by a person looking for it,
and it lives exactly as long as the repository. `.laneboard/` is ignored through
`.git/info/exclude` (the repository's private ignore file) — the user's `.gitignore` is
never edited.

Why this is long (~610 lines): add, diff, merge and discard share one set of guards —
lane-name and ref checks, the owned-directory and symlink checks, the lock, the base
bookkeeping — and every one of them is part of the promise below; split across modules,
a new operation could skip one.

The promise this module keeps: **no work is ever deleted by accident.**

- `ensure` reuses a worktree that exists; it never recreates one over work, and refuses a
  directory in its place that git does not know as that lane's worktree (a planted
  symlink, a leftover directory). Two processes adding the same lane at once serialize
  on a lock file in the git directory: one adds, the other reuses.
- `merge` computes the merge with `git merge-tree --write-tree` (no tree is touched), so
  a conflict is refused with both trees exactly as they were; only a conflict-free result
  is committed (`commit-tree`) and fast-forwarded into the main tree by git itself. A
  laneboard killed between any two steps leaves at worst a dangling object.
- `discard` refuses while the worktree holds uncommitted changes or commits the base
  lacks, naming them; forced, it first saves a patch (`git apply` restores it) and, for
  commits, a git bundle, then removes. Nothing else here deletes a worktree.

Every git call passes user-influenced names after `--` or `--end-of-options`, and lane
names are checked against the config's lane-id shape first, so `../x` or `-rf` never
reach git or the filesystem.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from laneboard.errors import LaneError, UsageError

__all__ = [
    "BRANCH_PREFIX",
    "OWNED_DIR",
    "MergeRefused",
    "WorkAtRisk",
    "Worktree",
    "WorktreeError",
    "branch_of",
    "diff",
    "discard",
    "ensure",
    "file_patch",
    "find",
    "find_for",
    "lane_patch",
    "lane_worktrees",
    "merge",
    "repo_root",
]

BRANCH_PREFIX = "lb/"
"""Every lane branch is `lb/<lane>`."""
OWNED_DIR = ".laneboard"
"""laneboard's directory at the repository root (worktrees/, discarded/), git-excluded."""

_LANE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_GIT_TIMEOUT_S = 120.0


class WorktreeError(LaneError):
    """A worktree could not be made, read, merged or removed (exit 1)."""


class WorkAtRisk(WorktreeError):
    """Discarding would lose work: the message says what (exit 1)."""


class MergeRefused(WorktreeError):
    """A merge was refused (conflict, dirty main tree, wrong branch); nothing was changed."""


@dataclass(frozen=True)
class Worktree:
    """One lane's worktree: where, on which branch, from which base."""

    lane: str
    repo: Path
    path: Path
    branch: str
    base: str
    """What the lane merges back into: a branch name of the main tree (or a commit)."""
    created: bool = False
    """True when this call added it; False when an existing one was reused."""


# -- git ------------------------------------------------------------------------------------

def _git(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None,
         input_: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run git in `cwd` without a terminal, a pager, or the user's hooks prompting."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat",
                "LC_ALL": "C", **(env or {})}
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True,
                              env=full_env, timeout=_GIT_TIMEOUT_S, input=input_,
                              check=False)
    except FileNotFoundError:
        raise WorktreeError("git is not installed (worktrees need it)") from None
    except subprocess.TimeoutExpired:
        raise WorktreeError(f"git {args[0]} took longer than {_GIT_TIMEOUT_S:g}s") from None
    if check and done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip()
        raise WorktreeError(f"git {' '.join(args[:2])} failed in {cwd}: {err}")
    return done


def _out(cwd: Path, *args: str) -> str:
    return _git(cwd, *args).stdout.decode(errors="replace").strip()


def repo_root(path: Path) -> Path | None:
    """The top of the main working tree that holds `path`, or None outside a repository."""
    if not path.is_dir():
        return None
    done = _git(path, "rev-parse", "--path-format=absolute", "--git-common-dir", check=False)
    if done.returncode != 0:
        return None
    common = Path(done.stdout.decode().strip())
    top = _git(common.parent, "rev-parse", "--show-toplevel", check=False)
    if top.returncode != 0:  # a bare repository has no main working tree
        return None
    return Path(top.stdout.decode().strip()).resolve()


def _common_dir(repo: Path) -> Path:
    return Path(_out(repo, "rev-parse", "--path-format=absolute", "--git-common-dir"))


def branch_of(lane: str) -> str:
    return BRANCH_PREFIX + _check_lane(lane)


def _check_lane(lane: str) -> str:
    """A lane name is a config lane id (or `<id>-<n>`): no `/`, `..`, or leading `-`."""
    if not _LANE.fullmatch(lane):
        raise UsageError(f"{lane!r} is not a lane name (lowercase letters, digits, '-', '_'; "
                         "starting with a letter or digit)")
    return lane


def _verify_commit(repo: Path, ref: str) -> str:
    """The commit id `ref` names; a ref shaped like an option is refused, not parsed."""
    if not ref or ref.startswith("-") or any(c.isspace() or ord(c) < 32 for c in ref):
        raise UsageError(f"base {ref!r} is not a branch, tag or commit name")
    done = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
                check=False)
    if done.returncode != 0:
        raise WorktreeError(f"base {ref!r} does not name a commit in {repo}")
    return done.stdout.decode().strip()


def _current_base(repo: Path) -> str:
    """The main tree's current branch (short name), or its HEAD commit when detached."""
    done = _git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if done.returncode == 0:
        return done.stdout.decode().strip()
    return _out(repo, "rev-parse", "--verify", "HEAD")


# -- where worktrees live -------------------------------------------------------------------

def _owned(repo: Path, *parts: str) -> Path:
    """`<repo>/.laneboard/<parts>`, each directory made here and never a symlink.

    Refusing symlinks matters: a `.laneboard/worktrees` planted as a link to elsewhere
    would make laneboard create worktrees (and later remove them) where the link points.
    """
    current = repo
    for part in (OWNED_DIR, *parts):
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            with contextlib.suppress(FileExistsError):
                os.mkdir(current, 0o700)
            st = os.lstat(current)
        import stat as _stat

        if not _stat.S_ISDIR(st.st_mode):
            raise WorktreeError(f"{current} is not a plain directory (a symlink or file is in "
                                "laneboard's place); move it away and retry")
    _exclude(repo)
    return current


def _exclude(repo: Path) -> None:
    """Add `/.laneboard/` to `.git/info/exclude` once (never the user's .gitignore)."""
    info = _common_dir(repo) / "info"
    info.mkdir(exist_ok=True)
    exclude = info / "exclude"
    line = f"/{OWNED_DIR}/"
    text = exclude.read_text() if exclude.exists() else ""
    if line in text.splitlines():
        return
    with exclude.open("a") as f:
        f.write(("" if not text or text.endswith("\n") else "\n") + line + "\n")


@contextlib.contextmanager
def _locked(repo: Path) -> Iterator[None]:
    """One laneboard process at a time adds/merges/removes worktrees of this repository."""
    fd = os.open(_common_dir(repo) / "laneboard-worktrees.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _registered(repo: Path) -> dict[Path, str | None]:
    """Worktree path → its branch ref (None when detached), as git knows them."""
    raw = _git(repo, "worktree", "list", "--porcelain", "-z").stdout.decode(errors="replace")
    found: dict[Path, str | None] = {}
    path: Path | None = None
    for field in raw.split("\0"):
        if field.startswith("worktree "):
            path = Path(field[len("worktree "):]).resolve()
            found[path] = None
        elif field.startswith("branch ") and path is not None:
            found[path] = field[len("branch "):]
    return found


def _base_key(lane: str) -> str:
    return f"laneboard.{lane}.base"


def _stored_base(repo: Path, lane: str) -> str | None:
    done = _git(repo, "config", "--get", _base_key(lane), check=False)
    return done.stdout.decode().strip() or None if done.returncode == 0 else None


def find(repo: Path, lane: str) -> Worktree | None:
    """The lane's existing worktree, or None (nothing is created)."""
    branch = branch_of(lane)
    path = (repo / OWNED_DIR / "worktrees" / lane)
    if path.is_symlink() or not path.is_dir():
        return None
    if _registered(repo).get(path.resolve()) != f"refs/heads/{branch}":
        return None
    return Worktree(lane, repo, path, branch, _stored_base(repo, lane) or _current_base(repo))


def lane_worktrees(repo: Path) -> dict[str, Path]:
    """Every lane worktree git knows in this repository (lane → path), for stale checks."""
    out: dict[str, Path] = {}
    owned = (repo / OWNED_DIR / "worktrees").resolve()
    for path, ref in _registered(repo).items():
        if ref and ref.startswith(f"refs/heads/{BRANCH_PREFIX}") and path.parent == owned:
            out[path.name] = path
    return out


# -- add / reuse ----------------------------------------------------------------------------

def ensure(repo: Path, lane: str, base: str | None = None) -> Worktree:
    """The lane's worktree, added on `lb/<lane>` from `base` (default: HEAD) or reused.

    An existing worktree is reused as it is (its branch and files untouched); a directory
    in its place that git does not know as this lane's worktree is refused, never cleared.
    """
    branch = branch_of(lane)
    root = repo_root(repo)
    if root is None:
        raise WorktreeError(f"{repo} is not inside a git repository with a working tree")
    repo = root
    with _locked(repo):
        parent = _owned(repo, "worktrees")
        path = parent / lane
        existing = find(repo, lane)
        if existing is not None:
            return existing
        if os.path.lexists(path):
            raise WorktreeError(f"{path} exists but is not lane {lane!r}'s git worktree "
                                "(laneboard will not replace it); move it away and retry")
        base_name = base or _current_base(repo)
        start = _verify_commit(repo, base_name)
        has_branch = _git(repo, "show-ref", "--verify", "--quiet", "--",
                          f"refs/heads/{branch}", check=False).returncode == 0
        if has_branch:  # a branch kept from before: its commits are the lane's work
            _git(repo, "worktree", "add", "--", str(path), branch)
        else:
            _git(repo, "worktree", "add", "-b", branch, "--", str(path), start)
        if _stored_base(repo, lane) is None or not has_branch:
            _git(repo, "config", "--", _base_key(lane), base_name)
        _copy_included(repo, path)
        return Worktree(lane, repo, path, branch, _stored_base(repo, lane) or base_name,
                        created=True)


def _copy_included(repo: Path, dest: Path) -> list[str]:
    """Copy the ignored files `.worktreeinclude` lists (gitignore syntax) into `dest`.

    Only files git ignores are copied (tracked files are already there through the
    checkout); symlinks are not followed, and a file already present is left alone.
    """
    include = repo / ".worktreeinclude"
    if not include.is_file() or include.is_symlink():
        return []
    listed = _git(repo, "ls-files", "-z", "--others", "--ignored",
                  f"--exclude-from={include}").stdout.decode(errors="replace").split("\0")
    ignored = set(_git(repo, "ls-files", "-z", "--others", "--ignored",
                       "--exclude-standard").stdout.decode(errors="replace").split("\0"))
    copied: list[str] = []
    for rel in listed:
        if not rel or rel not in ignored or rel.startswith(f"{OWNED_DIR}/"):
            continue
        src = repo / rel
        target = dest / rel
        if src.is_symlink() or not src.is_file() or os.path.lexists(target):
            continue
        if dest.resolve() not in target.resolve().parents:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
        copied.append(rel)
    return copied


# -- diff -----------------------------------------------------------------------------------

def _merge_base(wt: Worktree) -> str:
    base = _verify_commit(wt.repo, wt.base)
    return _out(wt.repo, "merge-base", "--end-of-options", base, wt.branch)


def _require(repo: Path, lane: str) -> Worktree:
    root = repo_root(repo)
    wt = find(root, lane) if root else None
    if wt is None:
        raise WorktreeError(f"lane {lane!r} has no worktree in {root or repo}")
    return wt


def diff(repo: Path, lane: str) -> dict[str, object]:
    """What the lane changed against its base, committed or not, file by file.

    `{"lane", "branch", "base", "worktree", "files": [{"path", "status", "added",
    "removed"}]}`; status is git's letter (A, M, D, T); binary files count -1 lines.
    Untracked files in the worktree count as added (a lane that writes files and never
    commits still shows its work).
    """
    wt = _require(repo, lane)
    mb = _merge_base(wt)
    files: dict[str, dict[str, object]] = {}
    status = _git(wt.path, "diff", "--no-renames", "--name-status", "-z", mb, "--")
    fields = status.stdout.decode(errors="replace").split("\0")
    for letter, path in zip(fields[0::2], fields[1::2], strict=False):
        if letter:
            files[path] = {"path": path, "status": letter[0], "added": 0, "removed": 0}
    numstat = _git(wt.path, "diff", "--no-renames", "--numstat", "-z", mb, "--")
    for rec in numstat.stdout.decode(errors="replace").split("\0"):
        parts = rec.split("\t", 2)
        if len(parts) == 3 and parts[2] in files:
            files[parts[2]]["added"] = int(parts[0]) if parts[0] != "-" else -1
            files[parts[2]]["removed"] = int(parts[1]) if parts[1] != "-" else -1
    untracked = _git(wt.path, "ls-files", "-z", "--others", "--exclude-standard")
    for path in untracked.stdout.decode(errors="replace").split("\0"):
        if path and path not in files:
            full = wt.path / path
            try:
                lines = full.read_bytes().count(b"\n") if not full.is_symlink() else 1
            except OSError:
                lines = 0
            files[path] = {"path": path, "status": "A", "added": lines, "removed": 0}
    return {"lane": lane, "branch": wt.branch, "base": wt.base, "worktree": str(wt.path),
            "files": [files[k] for k in sorted(files)]}


def file_patch(repo: Path, lane: str, path: str) -> str:
    """One file's unified diff against the lane's base (the cockpit's per-file view)."""
    wt = _require(repo, lane)
    mb = _merge_base(wt)
    text = _git(wt.path, "diff", "--no-renames", mb, "--", path).stdout.decode(errors="replace")
    if text:
        return text
    done = _git(wt.path, "diff", "--no-index", "--", os.devnull, path, check=False)
    return done.stdout.decode(errors="replace")


def find_for(path: Path, lane: str) -> bool:
    """Whether `lane` has a worktree in the repository holding `path` (never creates one).

    False for a name that is not a lane name, outside a repository, or without git: the
    cockpit asks this for any selected lane before offering its diff."""
    try:
        root = repo_root(path)
        return root is not None and find(root, lane) is not None
    except (WorktreeError, UsageError):
        return False


def lane_patch(repo: Path, lane: str) -> str:
    """The lane's whole change against its base, committed or not, as one patch (the
    text ctrl+t sends to the reviewer: that lane's branch, not the main tree's diff)."""
    files = diff(repo, lane)["files"]
    assert isinstance(files, list)
    return "".join(file_patch(repo, lane, str(f["path"])) for f in files)


# -- merge ----------------------------------------------------------------------------------

def _dirty(tree: Path, *, untracked: bool) -> list[str]:
    args = ["status", "--porcelain", "-z", "--untracked-files=" + ("all" if untracked else "no")]
    raw = _git(tree, *args).stdout.decode(errors="replace")
    return [rec for rec in raw.split("\0") if rec and rec[:2] != "  "]


def merge(repo: Path, lane: str, *, squash: bool = False,
          on_step: Callable[[str], None] | None = None) -> dict[str, object]:
    """Merge `lb/<lane>` into its base branch checked out in the main tree.

    Refused (MergeRefused, nothing changed) when the main tree is dirty or on another
    branch, when the lane's worktree has uncommitted changes (they would not be merged
    and the person would think they were), and on conflicts. `on_step(name)` is called
    before each step that writes ("merge-tree", "commit-tree", "fast-forward"), so a test
    can kill the process there.
    """
    step = on_step or (lambda _name: None)
    wt = _require(repo, lane)
    main = wt.repo
    with _locked(main):
        current = _git(main, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        on = current.stdout.decode().strip() if current.returncode == 0 else None
        if on != wt.base:
            raise MergeRefused(f"the main tree is on {on or 'a detached HEAD'}, lane {lane!r} "
                               f"merges into {wt.base!r}; check out {wt.base!r} first")
        dirty_main = _dirty(main, untracked=False)
        if dirty_main:
            raise MergeRefused(f"the main tree {main} has uncommitted changes "
                               f"({_names(dirty_main)}); commit or stash them first")
        dirty_lane = _dirty(wt.path, untracked=True)
        if dirty_lane:
            raise MergeRefused(f"lane {lane!r}'s worktree {wt.path} has uncommitted changes "
                               f"({_names(dirty_lane)}); commit them there first")
        head = _out(main, "rev-parse", "--verify", "HEAD")
        tip = _out(main, "rev-parse", "--verify", "--end-of-options", wt.branch)
        if _git(main, "merge-base", "--is-ancestor", tip, head, check=False).returncode == 0:
            return {"lane": lane, "branch": wt.branch, "base": wt.base, "merged": False,
                    "commit": head, "reason": "nothing to merge"}
        step("merge-tree")
        done = _git(main, "merge-tree", "--write-tree", "--name-only", "--no-messages",
                    head, tip, check=False)
        lines = done.stdout.decode(errors="replace").splitlines()
        if done.returncode == 1:
            raise MergeRefused(f"merging {wt.branch} into {wt.base} conflicts in "
                               f"{', '.join(lines[1:]) or 'some files'}; nothing was changed")
        if done.returncode != 0 or not lines:
            err = done.stderr.decode(errors="replace").strip()
            raise WorktreeError(f"git merge-tree failed: {err}")
        tree = lines[0]
        if tree == _out(main, "rev-parse", "--verify", f"{head}^{{tree}}"):
            return {"lane": lane, "branch": wt.branch, "base": wt.base, "merged": False,
                    "commit": head, "reason": "nothing to merge (already merged, e.g. squashed)"}
        step("commit-tree")
        if squash:
            message = f"{wt.branch}: squashed (laneboard lanes merge --squash)"
            commit = _out(main, "commit-tree", tree, "-p", head, "-m", message)
        else:
            message = f"Merge branch '{wt.branch}' into {wt.base}"
            commit = _out(main, "commit-tree", tree, "-p", head, "-p", tip, "-m", message)
        step("fast-forward")
        ff = _git(main, "merge", "--ff-only", "--quiet", commit, check=False)
        if ff.returncode != 0:
            err = ff.stderr.decode(errors="replace").strip()
            raise MergeRefused(f"the main tree changed during the merge; nothing was merged "
                               f"({err})")
        return {"lane": lane, "branch": wt.branch, "base": wt.base, "merged": True,
                "commit": commit, "squash": squash}


def _names(records: list[str], limit: int = 5) -> str:
    paths = [r[3:] for r in records]
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(paths[:limit]) + more


# -- discard --------------------------------------------------------------------------------

def at_risk(repo: Path, lane: str) -> dict[str, list[str]]:
    """What discarding the lane would lose: uncommitted paths and commits not in the base."""
    wt = _require(repo, lane)
    uncommitted = [r[3:] for r in _dirty(wt.path, untracked=True)]
    base = _verify_commit(wt.repo, wt.base)
    commits = _out(wt.repo, "log", "--format=%h %s", "--end-of-options", f"{base}..{wt.branch}",
                   "--").splitlines()
    if commits and _content_in(wt.repo, base, wt.branch):
        commits = []  # squash-merged: every change is already in the base
    return {"uncommitted": uncommitted, "commits": [c for c in commits if c]}


def _content_in(repo: Path, base: str, branch: str) -> bool:
    """True when merging `branch` into `base` would change nothing (its content is there)."""
    done = _git(repo, "merge-tree", "--write-tree", "--no-messages", base, branch, check=False)
    if done.returncode != 0:
        return False
    tree = done.stdout.decode().splitlines()[0]
    return tree == _out(repo, "rev-parse", "--verify", f"{base}^{{tree}}")


def discard(repo: Path, lane: str, *, force: bool = False) -> dict[str, object]:
    """Remove the lane's worktree and branch — only when nothing would be lost, or forced.

    Unforced with work at risk: WorkAtRisk naming it, nothing touched. Forced: the whole
    difference between the base and the worktree (commits and uncommitted files) is saved
    first as `<repo>/.laneboard/discarded/<lane>-<stamp>.patch` (`git apply` restores it on
    the base) and the commits as a `.bundle` beside it (`git fetch` restores them); only
    then are the worktree and the branch removed.
    """
    wt = _require(repo, lane)
    with _locked(wt.repo):
        risk = at_risk(wt.repo, lane)
        saved: dict[str, str] = {}
        if risk["uncommitted"] or risk["commits"]:
            if not force:
                parts = []
                if risk["uncommitted"]:
                    parts.append(f"{len(risk['uncommitted'])} uncommitted file(s): "
                                 + ", ".join(risk["uncommitted"][:5]))
                if risk["commits"]:
                    parts.append(f"{len(risk['commits'])} commit(s) not in {wt.base}: "
                                 + "; ".join(risk["commits"][:5]))
                raise WorkAtRisk(f"lane {lane!r} holds work that discarding would lose — "
                                 + " and ".join(parts)
                                 + f". Merge it (laneboard lanes merge {lane}) or pass --force "
                                 "to save it as a patch and remove the worktree.")
            saved = _save_work(wt, bool(risk["commits"]))
        _git(wt.repo, "worktree", "remove", "--force", "--", str(wt.path))
        _git(wt.repo, "branch", "-D", "--", wt.branch)
        _git(wt.repo, "config", "--unset", "--", _base_key(lane), check=False)
        return {"lane": lane, "branch": wt.branch, "worktree": str(wt.path), "removed": True,
                "lost": risk, "saved": saved}


def _save_work(wt: Worktree, has_commits: bool) -> dict[str, str]:
    """Write the patch (and bundle) of everything the lane did; return their paths."""
    out_dir = _owned(wt.repo, "discarded")
    stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
    mb = _merge_base(wt)
    index = out_dir / f".{wt.lane}-{stamp}.index"
    env = {"GIT_INDEX_FILE": str(index)}
    try:  # a private index: the lane's own index stays as it was
        _git(wt.path, "read-tree", "HEAD", env=env)
        _git(wt.path, "add", "-A", "--", ".", env=env)
        patch = _git(wt.path, "diff", "--cached", "--binary", "--no-renames", mb, "--",
                     env=env).stdout
    finally:
        index.unlink(missing_ok=True)
    saved = {"patch": str(_atomic(out_dir / f"{wt.lane}-{stamp}.patch", patch))}
    if has_commits:
        bundle = out_dir / f"{wt.lane}-{stamp}.bundle"
        tmp = bundle.with_suffix(".bundle.tmp")
        _git(wt.repo, "bundle", "create", "--", str(tmp), f"{mb}..{wt.branch}")
        os.replace(tmp, bundle)
        saved["bundle"] = str(bundle)
    return saved


def _atomic(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


# -- where a lane runs ----------------------------------------------------------------------

def lane_cwd(lane: str, cwd: Path, *, writable: bool, worktree: bool | None,
             base: str | None, host: str | None = None) -> Path:
    """Where a lane runs: `cwd`, or the same place inside the lane's own worktree.

    `worktree` None means the default: a worktree for a writable lane whose cwd is in a
    git repository. A lane whose cwd is a subdirectory of the repository runs in the same
    subdirectory of its worktree. The worktree is added on first use and reused after.

    A lane with `host:` runs in `cwd` ON THAT HOST: a worktree made here would be a path
    that does not exist there, so none is made; whether its cwd there needs one is asked
    on the host when the lane starts (`relays.check_remote_cwd`, which refuses it).
    """
    if host is not None or worktree is False or (worktree is None and not writable):
        return cwd
    root = repo_root(cwd)
    if root is None:
        if worktree:
            raise WorktreeError(f"lane {lane!r} asks for a worktree but {cwd} is not inside a "
                                "git repository")
        return cwd
    if OWNED_DIR in cwd.resolve().relative_to(root).parts:
        return cwd  # already inside a laneboard worktree: never nest them
    if worktree is None and base is None and _git(root, "rev-parse", "--verify", "--quiet",
                                                  "HEAD", check=False).returncode != 0:
        return cwd  # a repository without a commit has nothing to branch a worktree from
    wt = ensure(root, lane, base)
    return wt.path / cwd.resolve().relative_to(root)

"""Working-tree snapshots: proof that a read-only lane left the tree alone.

Plan mode is a UI mode, not a sandbox (Write/Edit have run in plan mode in past Claude
Code releases), so a plan/read-only lane re-checks the tree after every turn. A snapshot
records, for every file and directory under the root, its size, mtime and mode; two
snapshots differ if anything was added, removed or modified. It needs no git, so it works
for any directory; inside a repository `.git` is walked too (a commit is a change), except
the files plain read commands touch (`.git/index` is refreshed by `git status`, lock files
come and go).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

_VOLATILE_GIT = frozenset({"index", "FETCH_HEAD", "ORIG_HEAD"})


@dataclass(frozen=True)
class TreeSnapshot:
    """Metadata of every entry under `root` (relative path → (size, mtime_ns, mode))."""

    root: str
    entries: dict[str, tuple[int, int, int]] = field(repr=False)

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for path in sorted(self.entries):
            size, mtime, mode = self.entries[path]
            h.update(f"{path}\0{size}\0{mtime}\0{mode}\n".encode(errors="surrogateescape"))
        return h.hexdigest()

    def changes_since(self, before: TreeSnapshot) -> list[str]:
        """Paths added (`+`), removed (`-`) or modified (`~`) since `before`, sorted."""
        out: list[str] = []
        for path in sorted(self.entries.keys() | before.entries.keys()):
            now, then = self.entries.get(path), before.entries.get(path)
            if then is None:
                out.append(f"+ {path}")
            elif now is None:
                out.append(f"- {path}")
            elif now != then and not (stat.S_ISDIR(now[2]) and now[2] == then[2]):
                # a directory's own mtime changes with its entries; those are reported
                out.append(f"~ {path}")
        return out


def _skip(rel_parts: tuple[str, ...], exclude: frozenset[str], rel: str) -> bool:
    if rel in exclude:
        return True
    if rel_parts and rel_parts[0] == ".git" and len(rel_parts) >= 2:
        name = rel_parts[-1]
        if len(rel_parts) == 2 and name in _VOLATILE_GIT:
            return True
        if name.endswith(".lock"):
            return True
    return False


def snapshot(root: str | Path, exclude: tuple[str, ...] = ()) -> TreeSnapshot:
    """Walk `root` (not following symlinks) and record every entry's metadata.

    `exclude` holds root-relative paths to leave out (with everything under them), e.g. an
    isolated config dir that happens to sit inside the tree.
    """
    base = Path(root).resolve()
    excluded = frozenset(exclude)
    entries: dict[str, tuple[int, int, int]] = {}
    stack = [base]
    while stack:
        current = stack.pop()
        try:
            it = os.scandir(current)
        except OSError:
            continue
        with it:
            for entry in it:
                full = Path(entry.path)
                rel = full.relative_to(base).as_posix()
                if _skip(tuple(rel.split("/")), excluded, rel):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                entries[rel] = (st.st_size, st.st_mtime_ns, st.st_mode)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(full)
    return TreeSnapshot(str(base), entries)

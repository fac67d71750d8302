"""`laneboard review --pr N`: fetch a pull request's head from a plain git remote.

Hosting services publish each pull request as `refs/pull/N/head` on the repository, so
`git fetch <remote> pull/N/head` needs no API and no token. Both values come from the
command line and go to git, so both are checked *before* git sees them: N must be a
positive decimal number and the remote one of the repository's configured remotes (a
value like `--upload-pack=…` is refused here, and `--` ends git's options anyway).
The head lands in `refs/laneboard/pull/N/head`, a namespace of laneboard's own, so no
branch of the user's is touched.
"""

from __future__ import annotations

import re
from pathlib import Path

from laneboard.errors import UsageError
from laneboard.lanes.review import git

_NUMBER = re.compile(r"[1-9][0-9]{0,9}")
_REMOTE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")


def check_pr_number(value: str) -> int:
    """`value` as a pull-request number, or UsageError saying why not."""
    if not _NUMBER.fullmatch(value):
        raise UsageError(f"--pr {value!r}: a pull request number is a positive whole number")
    return int(value)


def check_remote(repo: Path, name: str) -> str:
    """`name` if it is a configured remote of `repo` (UsageError otherwise)."""
    if not _REMOTE.fullmatch(name) or ".." in name:
        raise UsageError(f"--remote {name!r}: not a git remote name")
    remotes = git(repo, "remote", check=False).stdout.split()
    if name not in remotes:
        known = ", ".join(remotes) or "none"
        raise UsageError(f"--remote {name!r}: no such remote in {repo} (remotes: {known})")
    return name


def fetch_pr(repo: Path, number: str, remote: str = "origin") -> str:
    """Fetch pull request `number` from `remote`; return the local ref holding its head."""
    n = check_pr_number(number)
    name = check_remote(repo, remote)
    local = f"refs/laneboard/pull/{n}/head"
    proc = git(repo, "-c", "protocol.ext.allow=never", "fetch", "--quiet", "--no-tags",
               "--no-write-fetch-head", "--", name, f"+refs/pull/{n}/head:{local}", check=False)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1:] or [str(proc.returncode)]
        raise UsageError(f"could not fetch pull request {n} from {name!r}: {detail[0]}")
    return local

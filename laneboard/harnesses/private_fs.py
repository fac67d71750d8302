"""Private directories and files for what laneboard keeps on disk for a moment.

Why this exists: lanes are started from launcher scripts (which export API keys) and fed
prompts from files. When those sat in a predictable folder under a shared `/tmp`, another
local user could pre-create the folder, swap a launcher, and have tmux run their code as
you. So every directory laneboard writes such files into is checked before it is used:

- The private root is `$XDG_RUNTIME_DIR/laneboard` when `$XDG_RUNTIME_DIR` is a directory
  of ours that nobody else can enter (systemd's per-user tmpfs), else
  `$TMPDIR/laneboard-<uid>` (`/tmp` by default).
- Below the private root every component must be a real directory (not a symlink) owned
  by us. Missing ones are created 0700. One that group or others can write is refused:
  anything could already have been planted in it. One that is only readable by them
  (0755, what earlier laneboard versions left behind) is tightened to 0700, which is safe
  because nobody else could have written into it.
- Above it, every directory must belong to root or us and must not be writable by others
  unless it is sticky (`/tmp`), where others cannot rename or remove our entries. A
  symlink on the way must belong to root or us too.
- Files are created with `O_CREAT | O_EXCL | O_NOFOLLOW` and mode 0600: never through a
  planted symlink, never into a file someone else made first.

A refusal is `UnsafePath` (exit 2), naming the path, what is wrong and how to fix it.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path

from laneboard.errors import UnsafePath

DIR_MODE = 0o700
FILE_MODE = 0o600
_CREATE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def _euid() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else 0


def _egid() -> int:
    return os.getegid() if hasattr(os, "getegid") else 0


def _who(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _refuse(path: Path, problem: str, fix: str) -> UnsafePath:
    return UnsafePath(
        f"refusing to use {path}: {problem}. Another local user could plant files there "
        f"that laneboard would run or paste as you.\n  fix: {fix}"
    )


def runtime_root() -> tuple[Path, str]:
    """Where laneboard's private runtime files go, and why there.

    `$XDG_RUNTIME_DIR/laneboard` when `$XDG_RUNTIME_DIR` is an absolute path to a directory
    owned by us with no access for anyone else; otherwise `$TMPDIR/laneboard-<uid>`. Only
    reads the file system (nothing is created here).
    """
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg):
        with contextlib.suppress(OSError):
            st = os.stat(xdg)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == _euid() and not st.st_mode & 0o077:
                return Path(xdg) / "laneboard", "$XDG_RUNTIME_DIR"
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"laneboard-{uid}", "$TMPDIR"


def _check_ancestor(path: Path) -> None:
    """A directory above the private root: root's or ours, not writable by others unless
    sticky. Group-writable is accepted only for our own primary group (user private
    groups, umask 002)."""
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        return  # created below by ensure_private_dir, as a private component
    except OSError as exc:
        raise _refuse(path, f"it cannot be inspected ({exc.strerror})", "check the path") from None
    owners = (0, _euid())
    if stat.S_ISLNK(lst.st_mode):
        if lst.st_uid not in owners:
            raise _refuse(
                path,
                f"it is a symlink owned by {_who(lst.st_uid)}",
                "remove it or use another path",
            )
        return  # its target is checked through the resolved path
    if not stat.S_ISDIR(lst.st_mode):
        raise _refuse(path, "it is not a directory", "remove it or use another path")
    if lst.st_uid not in owners:
        raise _refuse(
            path, f"it is owned by {_who(lst.st_uid)}", "use a directory of your own or root's"
        )
    sticky = bool(lst.st_mode & stat.S_ISVTX)
    if lst.st_mode & 0o002 and not sticky:
        raise _refuse(
            path, f"anyone can write to it (mode {stat.S_IMODE(lst.st_mode):04o})",
            f"chmod o-w {path}",
        )  # fmt: skip
    if lst.st_mode & 0o020 and not sticky and lst.st_gid != _egid():
        raise _refuse(
            path, f"its group can write to it (mode {stat.S_IMODE(lst.st_mode):04o})",
            f"chmod g-w {path}",
        )  # fmt: skip


def _check_ancestors(top: Path) -> None:
    """Every directory from `/` down to `top`, as written and as resolved."""
    seen: set[Path] = set()
    for chain in (top, Path(os.path.realpath(top))):
        for part in reversed((chain, *chain.parents)):
            if part not in seen:
                seen.add(part)
                _check_ancestor(part)


def _private_component(path: Path) -> None:
    """Create `path` 0700, or accept an existing one only if it is ours and private."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, DIR_MODE)
    try:
        lst = os.lstat(path)
    except OSError as exc:
        raise _refuse(path, f"it cannot be inspected ({exc.strerror})", "check the path") from None
    if stat.S_ISLNK(lst.st_mode):
        raise _refuse(
            path, f"it is a symlink (owned by {_who(lst.st_uid)})",
            f"remove it (rm {path}); laneboard recreates the directory",
        )  # fmt: skip
    if not stat.S_ISDIR(lst.st_mode):
        raise _refuse(path, "it is not a directory", f"remove it (rm {path})")
    if lst.st_uid != _euid():
        raise _refuse(
            path, f"it is owned by {_who(lst.st_uid)}, not by you ({_who(_euid())})",
            f"ask an administrator to remove {path}; laneboard recreates it private",
        )  # fmt: skip
    mode = stat.S_IMODE(lst.st_mode)
    if mode & 0o022:
        raise _refuse(
            path, f"others can write to it (mode {mode:04o}); files may already be planted",
            f"inspect and remove it (rm -r {path}); laneboard recreates it with mode 0700",
        )  # fmt: skip
    if mode & 0o077:
        os.chmod(path, DIR_MODE, follow_symlinks=False)


def ensure_private_dir(path: Path, private_from: Path | None = None) -> Path:
    """Make `path` a private directory of ours and return it; raise UnsafePath if it cannot
    be trusted.

    `private_from` (an ancestor of `path`, or `path` itself, the default) is the first
    component that must belong to us alone; the directories above it are checked as
    ancestors (see the module docstring).
    """
    path = Path(os.path.abspath(path))
    root = Path(os.path.abspath(private_from)) if private_from is not None else path
    if root != path and root not in path.parents:
        raise ValueError(f"{root} is not {path} or one of its parents")
    _check_ancestors(root.parent)
    if not root.parent.is_dir():  # e.g. a first run without ~/.local/state: make it 0700
        for part in reversed((root.parent, *root.parent.parents)):
            with contextlib.suppress(FileExistsError):
                if not part.is_dir():
                    os.mkdir(part, DIR_MODE)
        _check_ancestors(root.parent)
    chain = [root, *(p for p in reversed(path.parents) if root in p.parents), path]
    done: set[Path] = set()
    for part in chain:
        if part not in done:
            done.add(part)
            _private_component(part)
    return path


def create_private_file(path: Path, data: bytes) -> Path:
    """Write `data` to a NEW file `path`, mode 0600: never through a symlink, never into an
    existing file (`FileExistsError`). A failed write leaves no file behind."""
    fd = os.open(path, _CREATE_FLAGS, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return path


def check_socket_path(path: Path) -> None:
    """A tmux socket given as a path (`-S`): tmux checks its own `/tmp/tmux-<uid>` for `-L`
    names, but not the folder of a path. Another user who could create that socket first
    would run the server our lanes talk to and read every prompt. So: the folders above it
    must be root's or ours and not writable by others (unless sticky), and a socket already
    there must be ours."""
    _check_ancestors(path.parent)
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _refuse(path, f"it cannot be inspected ({exc.strerror})", "check the path") from None
    if not stat.S_ISSOCK(lst.st_mode):
        raise _refuse(path, "it is not a socket", "remove it or use another tmux.socket")
    if lst.st_uid != _euid():
        raise _refuse(path, f"it is owned by {_who(lst.st_uid)}",
                      "use a socket path in a directory of your own")


def socket_tag(socket: str) -> str:
    """The tmux socket as one safe path component, for the folders kept per socket.

    A socket may be a path (`/run/me/lb.sock`): joined as-is, `state / "/run/me/lb.sock"`
    *is* that path (pathlib drops the left side), and `..` climbs out. Every character but
    `[A-Za-z0-9_.-]` becomes `_`, and a leading dot is escaped."""
    tag = re.sub(r"[^A-Za-z0-9_.-]", "_", socket) or "_"
    return f"_{tag}" if tag.startswith(".") else tag

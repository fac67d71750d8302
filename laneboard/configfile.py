"""Reading a config file so that no file can hang, exhaust or crash the reader.

config.yaml and openclaw.json are read by every entry point (config check, preflight,
route, the cockpit on start), and a config path can name anything: a FIFO that nobody
writes (reading it blocks forever), `/dev/zero` (reading it never ends), a directory,
or a regular file grown huge. So reading is guarded, once, here:

- only a regular file is read: the path is opened with O_NONBLOCK (so opening a FIFO
  cannot block) and `fstat`ed *before* a single byte is read; a FIFO, device, socket or
  directory is refused, naming what it is;
- at most `MAX_CONFIG_BYTES` are read, whatever `st_size` said (a file may grow while
  being read);
- the parsers built on top cap what a small file can expand into: `MAX_DEPTH` levels of
  nesting (Python's parsers recurse and die with RecursionError near 60 levels of JSON5)
  and `MAX_NODES` values after YAML aliases are expanded (a 405-byte alias bomb expands
  past 2 GB);
- strings with a lone UTF-16 surrogate (`"\\ud800"`) are refused: they cannot be encoded
  as UTF-8, so they would crash whatever writes or prints them later. A valid escaped pair
  (`"\\ud83d\\ude00"`), which both parsers leave as two halves, is joined into its
  character first.

Every refusal is a ConfigError (exit 2) naming the file, and the position where one exists.
"""

from __future__ import annotations

import errno
import os
import stat

from laneboard.errors import ConfigError, ConfigProblem, Location

#: Largest config file read (1 MiB): the shipped default is ~10 KiB; a bigger file is a mistake.
MAX_CONFIG_BYTES = 1 << 20
#: Deepest nesting of mappings/lists (the deepest real config key is about 6 levels down).
MAX_DEPTH = 32
#: Most values a YAML document may expand into, counting each use of an alias in full.
MAX_NODES = 100_000

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int) -> str | None:
    for test, name in _KINDS:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def _refuse(file: str, message: str, hint: str = "") -> ConfigError:
    return ConfigError([ConfigProblem(message, Location(file), hint=hint)])


def read_config_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file of at most MAX_CONFIG_BYTES; ConfigError otherwise.

    `stat` first, so a device or FIFO is refused without being opened at all; then open
    non-blocking and check again with `fstat` on the open descriptor, so a path swapped
    between the two looks is still caught before any read.
    """
    file = os.fspath(path)
    regular_hint = "name the config file itself (a regular file)"
    try:
        kind = _not_regular(os.stat(file).st_mode)
        if kind is not None:
            raise _refuse(file, f"is {kind}, not a regular file", regular_hint)
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise _refuse(file, "no such file") from None
    except PermissionError:
        raise _refuse(file, "cannot read: permission denied") from None
    except OSError as e:
        raise _refuse(
            file, f"cannot read: {e.strerror or errno.errorcode.get(e.errno or 0)}"
        ) from None
    try:
        st = os.fstat(fd)
        kind = _not_regular(st.st_mode)
        if kind is not None:
            raise _refuse(file, f"is {kind}, not a regular file", regular_hint)
        too_big = _refuse(
            file,
            f"is larger than the {MAX_CONFIG_BYTES // 1024} KiB a config file may be",
            "a config file this large is a mistake; check the path",
        )
        if st.st_size > MAX_CONFIG_BYTES:
            raise too_big
        chunks: list[bytes] = []
        total = 0
        while total <= MAX_CONFIG_BYTES:
            chunk = os.read(fd, min(1 << 16, MAX_CONFIG_BYTES + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > MAX_CONFIG_BYTES:
            raise too_big
        return b"".join(chunks)
    except OSError as e:
        raise _refuse(file, f"cannot read: {e.strerror}") from None
    finally:
        os.close(fd)


def has_surrogate(text: str) -> bool:
    """True when `text` holds a UTF-16 surrogate code point (cannot be encoded as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def join_surrogates(text: str) -> str | None:
    """`text` with escaped surrogate pairs joined into characters; None if a lone one remains."""
    if not has_surrogate(text):
        return text
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    # A lone surrogate became U+FFFD; one that was already in the text stays as it is.
    if joined.count("\ufffd") != text.count("\ufffd"):
        return None
    return joined


def lone_surrogate_problem(file: str, location: Location, path: str) -> ConfigProblem:
    """The error for a string holding an unpaired surrogate escape such as `\\ud800`."""
    return ConfigProblem(
        "the string holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff), "
        "which is not a character",
        location,
        path,
        hint="write the character itself, or escape it as \\U0001F600 (YAML) / a full pair",
    )


def json5_depth_problem(text: str, file: str, limit: int = MAX_DEPTH) -> ConfigProblem | None:
    """Where `text` (JSON5) opens more than `limit` nested objects/arrays, else None.

    One linear pass that skips strings and comments, so brackets inside them do not count.
    Run before the recursive JSON5 parser, which would otherwise die in RecursionError.
    """
    depth = 0
    line = 1
    line_start = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            line_start = i + 1
        elif c in "\"'":
            i += 1
            while i < n and text[i] != c:
                if text[i] == "\\":
                    i += 1
                if i < n and text[i] == "\n":
                    line += 1
                    line_start = i + 1
                i += 1
        elif c == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            stop = n if end < 0 else end + 2
            newlines = text.count("\n", i, stop)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", i, stop) + 1
            i = stop
            continue
        elif c in "[{":
            depth += 1
            if depth > limit:
                return ConfigProblem(
                    f"nested more than {limit} levels deep",
                    Location(file, line, i - line_start + 1),
                    hint="a real openclaw.json nests a few levels; check the brackets",
                )
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def position_of(text: str, offset: int, file: str) -> Location:
    """The 1-based line:column of character `offset` in `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Location(file, line, column)

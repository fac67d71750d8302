"""YAML with positions: load a document and remember where every value came from.

PyYAML's `safe_load` forgets line numbers and lets a duplicated key silently win. laneboard
needs both: every config error names file:line:column, and `fence:` written twice is an
error, not a coin toss. So we compose the node graph ourselves and build plain Python data
plus a table `{path tuple: Location}` for every key and value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from laneboard.errors import ConfigError, ConfigProblem, Location

Path_ = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Positions of the keys and values of one loaded document."""

    file: str
    keys: dict[Path_, Location] = field(default_factory=dict)
    values: dict[Path_, Location] = field(default_factory=dict)

    def locate(self, path: Path_, *, key: bool = False) -> Location:
        """The closest known position for `path` (the path itself, else its nearest parent)."""
        table = self.keys if key else self.values
        p = tuple(path)
        while True:
            if p in table:
                return table[p]
            if key and p in self.values:
                return self.values[p]
            if not key and p in self.keys:
                return self.keys[p]
            if not p:
                return Location(self.file)
            p = p[:-1]


def _loc(file: str, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(file)
    return Location(file, mark.line + 1, mark.column + 1)


def dotted(path: Path_) -> str:
    """`('lanes', 'main', 'fence')` → `lanes.main.fence`; list indexes as `[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.map = SourceMap(file)
        self.loader = yaml.SafeLoader("")
        self.problems: list[ConfigProblem] = []

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.map.values[path] = _loc(self.file, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            out: dict[Any, Any] = {}
            first_seen: dict[Any, yaml.Node] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    self.problems.append(
                        ConfigProblem(
                            "a mapping key must be a plain scalar",
                            _loc(self.file, key_node.start_mark),
                            dotted(path),
                        )
                    )
                    continue
                skey = key if isinstance(key, str) else str(key)
                if skey in first_seen:
                    prev = first_seen[skey].start_mark
                    self.problems.append(
                        ConfigProblem(
                            f"duplicated key {skey!r} (first at line {prev.line + 1})",
                            _loc(self.file, key_node.start_mark),
                            dotted((*path, skey)),
                            hint="YAML would silently keep the last one; remove one of them",
                        )
                    )
                    continue
                first_seen[skey] = key_node
                self.map.keys[(*path, skey)] = _loc(self.file, key_node.start_mark)
                out[skey] = self.build(value_node, (*path, skey))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)


def _decode(raw: bytes, file: str) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = raw[: e.start]
        line = before.count(b"\n") + 1
        column = e.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError(
            [
                ConfigProblem(
                    f"the file is not valid UTF-8 (byte 0x{raw[e.start]:02x})",
                    Location(file, line, column),
                    hint="save the file as UTF-8",
                )
            ]
        ) from None
    return text


def load_yaml(raw: bytes, file: str) -> tuple[Any, SourceMap]:
    """Parse `raw` into plain data and a SourceMap; raise ConfigError for any YAML problem."""
    text = _decode(raw, file)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = e.problem or e.context or "invalid YAML"
        raise ConfigError(
            [
                ConfigProblem(
                    f"YAML syntax error: {what}",
                    _loc(file, mark),
                    hint=(e.context or "check indentation, quotes and colons near this line"),
                )
            ]
        ) from None
    except yaml.YAMLError as e:
        raise ConfigError([ConfigProblem(f"YAML error: {e}", Location(file))]) from None
    if len(nodes) > 1:
        raise ConfigError(
            [
                ConfigProblem(
                    "the file holds more than one YAML document",
                    _loc(file, nodes[1].start_mark),
                    hint="remove the `---` separator; laneboard reads one document",
                )
            ]
        )
    if not nodes or nodes[0] is None:
        raise ConfigError(
            [
                ConfigProblem(
                    "the file is empty",
                    Location(file, 1, 1),
                    expected="a mapping with at least `version: 1`",
                )
            ]
        )
    builder = _Builder(file)
    try:
        data = builder.build(nodes[0], ())
    except yaml.MarkedYAMLError as e:
        raise ConfigError(
            [ConfigProblem(f"YAML error: {e.problem}", _loc(file, e.problem_mark))]
        ) from None
    except (yaml.YAMLError, ValueError, OverflowError) as e:
        # PyYAML raises plain ValueError for some scalars (e.g. huge timestamps).
        raise ConfigError([ConfigProblem(f"YAML error: {e}", Location(file))]) from None
    if builder.problems:
        raise ConfigError(builder.problems)
    if not isinstance(data, dict):
        raise ConfigError(
            [
                ConfigProblem(
                    f"the document is a {type(data).__name__}, not a mapping",
                    _loc(file, nodes[0].start_mark),
                    expected="a mapping of sections (version, providers, models, lanes, ...)",
                )
            ]
        )
    return data, builder.map

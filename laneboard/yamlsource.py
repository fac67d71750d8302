"""YAML with positions: load a document and remember where every value came from.

PyYAML's `safe_load` forgets line numbers and lets a duplicated key silently win. laneboard
needs both: every config error names file:line:column, and `fence:` written twice is an
error, not a coin toss. So we compose the node graph ourselves and build plain Python data
plus a table `{path tuple: Location}` for every key and value.

Composing is guarded too (see `laneboard.configfile` for the limits and why): an alias
that refers to the node it sits inside is refused where it is written (it would make the
data infinitely deep), nesting deeper than MAX_DEPTH is refused at the bracket or indent
that crosses it, and every node's size *after* alias expansion is summed while composing,
so an alias bomb is refused before anything expands. A mapping key must be a scalar and is
checked before it is constructed. Strings with an unpaired surrogate escape are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from laneboard.configfile import (
    MAX_DEPTH,
    MAX_NODES,
    join_surrogates,
    lone_surrogate_problem,
    position_of,
)
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
    """`('lanes', 'main', 'fence')` → `lanes.main.fence`; list indexes as `[0]`.

    A key that could be read as an index or is blank (`"[0]"`, `""`) is written quoted,
    `lanes["[0]"]`, so the path names the key the person wrote and nothing else.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = str(part)
            if not key or "[" in key or "]" in key or key != key.strip():
                out += f"[{json.dumps(key, ensure_ascii=False)}]"
            else:
                out += ("." if out else "") + key
    return out


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses self-referencing aliases, deep nesting and bombs."""

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file
        self._depth = 0
        self._open_anchors: set[str] = set()
        self._sizes: dict[int, int] = {}

    def _refuse(self, message: str, mark: Any, hint: str) -> ConfigError:
        return ConfigError([ConfigProblem(message, _loc(self.file, mark), hint=hint)])

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise self._refuse(
                    f"alias *{event.anchor} refers to a node that contains it",
                    event.start_mark,
                    "an alias may only repeat a finished node; this one would nest forever",
                )
            # An alias node is the anchored node itself; its size is already known.
            alias = super().compose_node(parent, index)
            assert alias is not None
            return alias
        collection = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        anchor = getattr(event, "anchor", None)
        if collection:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise self._refuse(
                    f"nested more than {MAX_DEPTH} levels deep",
                    event.start_mark,
                    "a real config nests a few levels; check the indentation and brackets",
                )
            if anchor:
                self._open_anchors.add(anchor)
        try:
            composed = super().compose_node(parent, index)
        finally:
            if collection:
                self._depth -= 1
                if anchor:
                    self._open_anchors.discard(anchor)
        assert composed is not None
        node: yaml.Node = composed
        size = 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                size += self._sizes.get(id(key_node), 1) + self._sizes.get(id(value_node), 1)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                size += self._sizes.get(id(item), 1)
        if size > MAX_NODES:
            raise self._refuse(
                f"the document expands to more than {MAX_NODES} values "
                "(every use of an alias counts in full)",
                node.start_mark,
                "an alias bomb? use fewer nested aliases",
            )
        self._sizes[id(node)] = size
        return node


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
                key = self.scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
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
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: Path_) -> Any:
        """One scalar's value; a value PyYAML cannot make or a lone surrogate is a problem."""
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as e:
            self.problems.append(
                ConfigProblem(
                    f"YAML error: {e.problem}", _loc(self.file, e.problem_mark), dotted(path)
                )
            )
            return None
        except (ValueError, OverflowError, TypeError) as e:
            # PyYAML raises plain ValueError for some scalars (e.g. huge timestamps).
            self.problems.append(
                ConfigProblem(f"YAML error: {e}", _loc(self.file, node.start_mark), dotted(path))
            )
            return None
        if isinstance(value, str):
            joined = join_surrogates(value)
            if joined is None:
                where = _loc(self.file, node.start_mark)
                self.problems.append(lone_surrogate_problem(self.file, where, dotted(path)))
                return None
            return joined
        return value


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
    loader: _GuardedLoader | None = None
    nodes: list[yaml.Node] = []
    try:
        loader = _GuardedLoader(text, file)  # its Reader checks every character here
        while len(nodes) < 2 and loader.check_node():
            got = loader.get_node()
            if got is not None:
                nodes.append(got)
    except yaml.reader.ReaderError as e:
        # Its message counts characters from the start of the file; say line:column.
        raise ConfigError(
            [
                ConfigProblem(
                    f"the file holds a character YAML does not allow: {e.reason}",
                    position_of(text, e.position, file),
                    hint="remove control characters (NUL, ESC, ...) from the file",
                )
            ]
        ) from None
    except RecursionError:
        raise ConfigError(
            [ConfigProblem("the document is nested too deeply", Location(file))]
        ) from None
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
    finally:
        if loader is not None:
            loader.dispose()
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
    if not nodes:
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

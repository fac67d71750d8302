"""pydantic's validation errors → `ConfigProblem`s a person can act on.

Why a module of its own: pydantic reports locations with internal union/validator tags and
messages written for programmers; this translation (clean dotted path, file position from
the source map, "expected …", did-you-mean for unknown keys and Literal values) is the
half of config loading that is about people, not the file's shape.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from laneboard.config.models import Config
from laneboard.errors import ConfigProblem
from laneboard.yamlsource import SourceMap, dotted


def _unwrap(tp: Any) -> list[Any]:
    """The model classes and containers inside an annotation (unions, Optional, Annotated)."""
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out.extend(_unwrap(arg))
        return out
    if origin is Annotated:
        return _unwrap(typing.get_args(tp)[0])
    return [tp]


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that validated the mapping at `loc` (for did-you-mean)."""
    import typing

    current: list[Any] = [Config]
    for part in loc:
        nxt: list[Any] = []
        for tp in current:
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                if isinstance(part, str) and part in tp.model_fields:
                    nxt.extend(_unwrap(tp.model_fields[part].annotation))
            else:
                origin = typing.get_origin(tp)
                args = typing.get_args(tp)
                if origin is dict and len(args) == 2:
                    nxt.extend(_unwrap(args[1]))
                elif origin is list and args:
                    nxt.extend(_unwrap(args[0]))
        current = nxt
    for tp in current:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return tp
    return None


def _clean_loc(loc: tuple[Any, ...], data: Any = None) -> tuple[str | int, ...]:
    """Drop pydantic's internal union/validator tags from an error location.

    The location is walked against the loaded data first: a part that is a real key or
    index there is kept even when it looks like a tag (a key named `"[0]"` or `list`).
    """
    out: list[str | int] = []
    current = data
    for part in loc:
        real_key = isinstance(current, dict) and isinstance(part, str) and part in current
        real_index = (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        )
        if real_key or real_index:
            current = current[part]
        elif isinstance(part, str) and (("[" in part and "]" in part) or part in {"list", "dict"}):
            continue
        else:
            current = None
        out.append(part)
    return tuple(out)


def _expected_for(err: Any) -> str:
    ctx = err.get("ctx") or {}
    if err["type"] == "literal_error" and "expected" in ctx:
        return f"one of {ctx['expected']}"
    kinds = {
        "string_type": "a string",
        "int_type": "an integer",
        "int_parsing": "an integer",
        "float_type": "a number",
        "float_parsing": "a number",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
        "dict_type": "a mapping (key: value)",
        "model_type": "a mapping (key: value)",
        "model_attributes_type": "a mapping (key: value)",
        "list_type": "a list",
        "missing": "this key to be present",
    }
    return kinds.get(err["type"], "")


def problems_from_validation(
    e: ValidationError, source: SourceMap, data: Any = None
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    seen: set[tuple[Any, ...]] = set()
    for err in e.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]), data)
        last = loc[-1] if loc else "(top level)"
        kind = err["type"]
        if (loc, kind) in seen:
            continue
        seen.add((loc, kind))
        hint = ""
        expected = _expected_for(err)
        if kind == "extra_forbidden":
            parent = loc[:-1]
            model = _model_at(parent)
            allowed = sorted(model.model_fields) if model else []
            close = difflib.get_close_matches(str(last), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else ""
            message = f"unknown key {last!r}"
            expected = f"one of: {', '.join(allowed)}" if allowed else ""
            location = source.locate(loc, key=True)
        elif kind == "missing":
            message = f"missing required key {last!r}"
            location = source.locate(loc[:-1])
        else:
            msg = str(err["msg"])
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            message = msg
            location = source.locate(loc)
            if kind == "literal_error":
                given = err.get("input")
                options = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
                close = difflib.get_close_matches(str(given), options, n=1)
                hint = f"did you mean {close[0]!r}?" if close else ""
                message = f"{given!r} is not allowed here"
        problems.append(ConfigProblem(message, location, dotted(loc), expected, hint))
    problems.sort(key=lambda p: (p.location.line or 0, p.location.column or 0))
    return problems



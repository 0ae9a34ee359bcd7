"""Strict YAML reading shared by every config file people write.

Duplicate keys are an error (PyYAML would keep the last silently), and every
value's line can be found so validation errors can point at it. Files are read
with libyaml when PyYAML has it; line numbers are worked out only when a problem
needs one, since a national inventory's map of lines costs seconds and hundreds
of megabytes that a valid file never uses.
"""

from __future__ import annotations

import difflib
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import yaml
from pydantic import BaseModel, ValidationError

Location = tuple[str | int, ...]


class ConfigError(Exception):
    """A config file that cannot be used; the message names file, field and expectation."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))

    def report(self, title: str, stream: TextIO | None = None) -> None:
        """Print ``title`` and every problem, one per line, for a person to act on: a
        single problem on the title's own line, since it names its file already."""
        stream = stream or sys.stderr
        if len(self.problems) == 1:
            print(f"{title}: {self.problems[0]}", file=stream)
            return
        print(f"{title} ({len(self.problems)} problems):", file=stream)
        for problem in self.problems:
            print(f"  {problem}", file=stream)


def format_path(loc: Location) -> str:
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and records each value's line."""


# libyaml's parser when PyYAML was built with it: several times faster, and far less
# left behind in memory, on a national inventory.
_FastBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastLoader(_FastBase):  # type: ignore[valid-type,misc]
    """A safe loader that only notices duplicate keys; the careful reader explains them."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
        if len(keys) != len(set(keys)):
            raise _DuplicateSeen
        return super().construct_mapping(node, deep)


class _DuplicateSeen(Exception):
    pass


class LineMap(Mapping[Location, int]):
    """Field path -> line number of a YAML text, worked out on first use."""

    def __init__(self, text: str):
        self._text = text
        self._lines: dict[Location, int] | None = None

    def _built(self) -> dict[Location, int]:
        if self._lines is None:
            lines: dict[Location, int] = {}
            node = yaml.compose(self._text, Loader=_LineLoader)
            if node is not None:
                _compose_lines(node, (), lines)
            self._lines = lines
        return self._lines

    def __getitem__(self, loc: Location) -> int:
        return self._built()[loc]

    def __iter__(self) -> Iterator[Location]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


def _compose_lines(node: yaml.Node, loc: Location, lines: dict[Location, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise _DuplicateKey((*loc, key), seen[key], key_node.start_mark.line + 1)
            seen[key] = key_node.start_mark.line + 1
            _compose_lines(value_node, (*loc, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _compose_lines(item, (*loc, index), lines)


class _DuplicateKey(Exception):
    def __init__(self, loc: Location, first_line: int, line: int):
        self.loc, self.first_line, self.line = loc, first_line, line


def read_yaml(path: Path) -> tuple[Any, Mapping[Location, int]]:
    """The document at ``path`` and a map from field path to line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        return yaml.load(text, Loader=_FastLoader), LineMap(text)
    except (_DuplicateSeen, yaml.YAMLError):
        pass  # read again, carefully, to say where and what
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        lines: dict[Location, int] = {}
        if node is not None:
            _compose_lines(node, (), lines)
        data = yaml.load(text, Loader=_LineLoader)
    except _DuplicateKey as dup:
        # Keys stay strings here: YAML keys that look like numbers are still names to a person.
        raise ConfigError([
            f"{path}:{dup.line}: {format_path(dup.loc)}: duplicate key "
            f"(first defined on line {dup.first_line}); expected each key once"
        ]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError([f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    return data, lines


def _describe(error: Any, model: type[BaseModel] | None) -> str:
    kind = error["type"]
    got = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key; expected one of the documented fields (check the spelling)"
    if kind == "missing":
        return "missing; this field is required"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        want = "an integer" if kind.startswith("int") else "a number"
        return f"expected {want}, got {got!r}"
    if kind in ("bool_parsing", "bool_type"):
        return f"expected true or false, got {got!r}"
    if kind in ("string_type",):
        return f"expected text, got {got!r}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}, got {got!r}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {ctx.get('pattern')}, got {got!r}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of keys to values, got {type(got).__name__}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {type(got).__name__}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<",
              "less_than_equal": "≤"}[kind]
        bound = next(iter(ctx.values()))
        return f"expected a number {op} {bound}, got {got!r}"
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return f"expected a date like 2025-07-01, got {got!r}"
    if kind == "url_parsing" or kind == "url_scheme":
        return f"expected an http(s) URL, got {got!r}"
    if kind == "value_error":
        return f"expected {ctx.get('error', error['msg'])!s}"
    return f"{error['msg']}, got {got!r}"


def error_lines(exc: ValidationError,
                name: Callable[[Location], str] = format_path) -> list[str]:
    """One line per error of ``exc``: the field as ``name`` spells it for the reader (an
    option, a key), and what was expected, never pydantic's own text and link."""
    return [f"{name(tuple(error['loc']))}: {_describe(error, None)}"
            for error in exc.errors(include_url=False)]


def validation_problems(
    path: Path, exc: ValidationError, lines: Mapping[Location, int], prefix: Location = (),
    model: type[BaseModel] | None = None,
) -> list[str]:
    """One readable line per problem: ``file:line: field.path: what was expected``.

    With ``model``, an unknown key lists the fields allowed there, and a likely
    misspelling of a required field is reported once, as such.
    """
    errors = exc.errors()
    missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
    explained: set[Location] = set()
    problems = []
    for error in errors:
        loc = tuple(error["loc"])
        if loc in explained:
            continue
        text = _describe(error, None)
        if error["type"] == "extra_forbidden" and model is not None:
            allowed = _fields_at(model, loc[:-1])
            if allowed:
                close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
                if close:
                    text = f"unknown key; did you mean {close[0]!r}?"
                    explained.add((*loc[:-1], close[0]))
                else:
                    text = f"unknown key; expected one of: {', '.join(allowed)}"
        elif loc in explained:
            continue
        full = prefix + loc
        line = _nearest_line(full, lines)
        where = f"{path}:{line}" if line else str(path)
        problems.append((full, f"{where}: {format_path(full)}: {text}"))
    problems = [(loc, text) for loc, text in problems if loc[len(prefix):] not in explained
                or loc[len(prefix):] not in missing]
    return [text for _, text in problems]


def _fields_at(model: type[BaseModel], loc: Location) -> list[str]:
    """The field names of the model found at ``loc`` inside ``model``, or []."""
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            if isinstance(part, int) or part not in current.model_fields:
                return []
            current = current.model_fields[part].annotation
        else:
            current = _inner(current, part)
        if current is None:
            return []
    current = unwrap_optional(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def unwrap_optional(annotation: Any) -> Any:
    """``X`` for an annotation ``X | None``; any other annotation as it is."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _inner(annotation: Any, part: str | int) -> Any:
    annotation = unwrap_optional(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, tuple) and args and isinstance(part, int):
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _nearest_line(loc: Location, lines: Mapping[Location, int]) -> int | None:
    while True:
        if loc in lines:
            return lines[loc]
        if not loc:
            return None
        loc = loc[:-1]

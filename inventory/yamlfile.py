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

    def report(self, title: str, stream: TextIO | None = None, language: str = "en") -> None:
        """Print ``title`` and every problem, one per line, for a person to act on: a
        single problem on the title's own line, since it names its file already."""
        stream = stream or sys.stderr
        if len(self.problems) == 1:
            print(f"{title}: {self.problems[0]}", file=stream)
            return
        count = words("problems", language, count=len(self.problems))
        print(f"{title} ({count}):", file=stream)
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


def read_yaml(path: Path, language: str = "en") -> tuple[Any, Mapping[Location, int]]:
    """The document at ``path`` and a map from field path to line number; a problem is
    told in ``language``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: {words('cannot_read', language, why=exc.strerror)}"]
                          ) from None
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
            f"{path}:{dup.line}: {format_path(dup.loc)}: "
            f"{words('duplicate', language, first=dup.first_line)}"
        ]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", exc)
        raise ConfigError([f"{where}: {words('yaml', language, problem=problem)}"]) from None
    return data, lines


# What a person reads about a config problem, in English and Vietnamese: the language of
# the command that loaded the file (agent.py check --lang), English where it has none.
WORDS: dict[str, tuple[str, str]] = {
    "unknown": ("unknown key; expected one of the documented fields (check the spelling)",
                "khóa không có trong mẫu; hãy kiểm tra chính tả"),
    "did_you_mean": ("unknown key; did you mean {close!r}?",
                     "khóa không có trong mẫu; có phải là {close!r}?"),
    "one_of": ("unknown key; expected one of: {allowed}",
               "khóa không có trong mẫu; cần một trong: {allowed}"),
    "missing": ("missing; this field is required", "thiếu; mục này bắt buộc"),
    "integer": ("expected an integer, got {got!r}", "cần một số nguyên, nhận được {got!r}"),
    "number": ("expected a number, got {got!r}", "cần một số, nhận được {got!r}"),
    "bool": ("expected true or false, got {got!r}", "cần true hoặc false, nhận được {got!r}"),
    "text": ("expected text, got {got!r}", "cần văn bản, nhận được {got!r}"),
    "literal": ("expected {expected}, got {got!r}", "cần {expected}, nhận được {got!r}"),
    "pattern": ("expected text matching {pattern}, got {got!r}",
                "cần văn bản khớp {pattern}, nhận được {got!r}"),
    "mapping": ("expected a mapping of keys to values, got {kind}",
                "cần một bảng khóa: giá trị, nhận được {kind}"),
    "list": ("expected a list, got {kind}", "cần một danh sách, nhận được {kind}"),
    "bound": ("expected a number {op} {bound}, got {got!r}",
              "cần một số {op} {bound}, nhận được {got!r}"),
    "date": ("expected a date like 2025-07-01, got {got!r}",
             "cần một ngày dạng 2025-07-01, nhận được {got!r}"),
    "url": ("expected an http(s) URL, got {got!r}", "cần một URL http(s), nhận được {got!r}"),
    "value": ("expected {error}", "cần {error}"),
    "other": ("{msg}, got {got!r}", "{msg}, nhận được {got!r}"),
    "cannot_read": ("cannot read: {why}", "không đọc được: {why}"),
    "cannot_open": ("cannot open: {why}", "không mở được: {why}"),
    "not_pem": ("not a PEM certificate{detail}", "không phải chứng chỉ PEM{detail}"),
    "duplicate": ("duplicate key (first defined on line {first}); expected each key once",
                  "khóa bị lặp (đã có ở dòng {first}); mỗi khóa chỉ được viết một lần"),
    "yaml": ("not valid YAML: {problem}", "không phải YAML hợp lệ: {problem}"),
    "problems": ("{count} problems", "{count} lỗi"),
}


def words(key: str, language: str = "en", **values: Any) -> str:
    """``WORDS[key]`` in ``language`` ("vi" or "en"), filled with ``values``."""
    english, vietnamese = WORDS[key]
    return (vietnamese if language == "vi" else english).format(**values)


def _describe(error: Any, language: str = "en") -> str:
    kind = error["type"]
    got = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return words("unknown", language)
    if kind == "missing":
        return words("missing", language)
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        return words("integer" if kind.startswith("int") else "number", language, got=got)
    if kind in ("bool_parsing", "bool_type"):
        return words("bool", language, got=got)
    if kind in ("string_type",):
        return words("text", language, got=got)
    if kind == "literal_error":
        return words("literal", language, expected=ctx.get("expected"), got=got)
    if kind == "string_pattern_mismatch":
        return words("pattern", language, pattern=ctx.get("pattern"), got=got)
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return words("mapping", language, kind=type(got).__name__)
    if kind in ("list_type", "tuple_type"):
        return words("list", language, kind=type(got).__name__)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<",
              "less_than_equal": "≤"}[kind]
        return words("bound", language, op=op, bound=next(iter(ctx.values())), got=got)
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return words("date", language, got=got)
    if kind == "url_parsing" or kind == "url_scheme":
        return words("url", language, got=got)
    if kind == "value_error":
        return words("value", language, error=ctx.get("error", error["msg"]))
    return words("other", language, msg=error["msg"], got=got)


def error_lines(exc: ValidationError, name: Callable[[Location], str] = format_path,
                language: str = "en") -> list[str]:
    """One line per error of ``exc``: the field as ``name`` spells it for the reader (an
    option, a key), and what was expected, never pydantic's own text and link."""
    return [f"{name(tuple(error['loc']))}: {_describe(error, language)}"
            for error in exc.errors(include_url=False)]


def validation_problems(
    path: Path, exc: ValidationError, lines: Mapping[Location, int], prefix: Location = (),
    model: type[BaseModel] | None = None, language: str = "en",
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
        text = _describe(error, language)
        if error["type"] == "extra_forbidden" and model is not None:
            allowed = _fields_at(model, loc[:-1])
            if allowed:
                close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
                if close:
                    text = words("did_you_mean", language, close=close[0])
                    explained.add((*loc[:-1], close[0]))
                else:
                    text = words("one_of", language, allowed=", ".join(allowed))
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

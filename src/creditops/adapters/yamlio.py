"""YAML in, with exact numbers and line numbers for every key, and pydantic errors in words.

Numbers written without quotes (``unit_value: 0.005``) are read from their text as exact decimals,
never through a float. Every error names the file, the line and the key path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from creditops.core.errors import InputError, Problem

Path_ = tuple[str | int, ...]


class _ExactLoader(yaml.SafeLoader):
    """SafeLoader whose floats are Decimals made from the scalar's own text."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    lowered = text.lower()
    if lowered in (".inf", "+.inf", "-.inf", ".nan"):
        raise yaml.constructor.ConstructorError(
            None, None, f"{text} is not a finite number", node.start_mark
        )
    try:
        return Decimal(text)
    except InvalidOperation:  # YAML 1.1 also calls sexagesimal 1:30.5 a float
        raise yaml.constructor.ConstructorError(
            None, None, f"{text} is not a decimal number", node.start_mark
        ) from None


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _line_index(node: yaml.Node | None, path: Path_, index: dict[Path_, int]) -> None:
    if node is None:
        return
    index[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            index[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), index)
            index[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _line_index(item, (*path, position), index)


class YamlDocument:
    """A parsed YAML file: its data and where each key stands."""

    def __init__(self, source: str, data: Any, lines: dict[Path_, int]) -> None:
        self.source = source
        self.data = data
        self.lines = lines

    def line(self, path: Sequence[str | int]) -> int | None:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def problem(self, path: Sequence[str | int], reason: str) -> Problem:
        return Problem(reason, source=self.source, row=self.line(path),
                       column=dotted(path) or None, row_label="line", column_label="key")

    def locate(self, problem: Problem) -> Problem:
        """The same reason, placed in this file at the line of its dotted key (``a.b[0].c``):
        for the problems that checks outside this module report by key only."""
        return self.problem(key_path(problem.column or ""), problem.reason)

    def validate(self, model: type[BaseModel]) -> Any:
        try:
            return model.model_validate(self.data)
        except ValidationError as error:
            raise InputError(self.problems_from(error, model)) from None

    def problems_from(self, error: ValidationError, model: type[BaseModel]) -> list[Problem]:
        problems = []
        for detail in error.errors():
            location = tuple(part for part in detail["loc"] if not _is_union_tag(part))
            kind = detail["type"]
            if kind == "extra_forbidden":
                parent = _model_at(model, location[:-1])
                expected = sorted(parent.model_fields) if parent else []
                reason = f"unknown key {location[-1]!r}" + (
                    f"; expected one of: {', '.join(expected)}" if expected else ""
                )
            elif kind == "missing":
                reason = f"missing required key {location[-1]!r}"
            else:
                reason = _reason(kind, detail["msg"], detail.get("input"))
            problems.append(self.problem(location, reason))
        return problems


def _reason(kind: str, message: str, given: Any) -> str:
    """pydantic's message in the user's words. A validator's own ValueError is the reason as it
    stands (it names the value where that helps); other messages get the value that was given,
    unless it is a whole mapping or list."""
    reason = message.removeprefix("Value error, ")
    if kind == "value_error" or isinstance(given, dict | list):
        return reason
    return f"{reason} (got {format(given, 'f') if isinstance(given, Decimal) else repr(given)})"


def dotted(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_KEY_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def key_path(text: str) -> Path_:
    """The inverse of :func:`dotted`: ``a.b[0].c`` → ``("a", "b", 0, "c")``."""
    return tuple(int(index) if index else key for index, key in _KEY_PART.findall(text))


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the union member's name ("date", "datetime", "function-after[…]") into
    # error locations; they are not keys of the file.
    return isinstance(part, str) and (
        part in ("date", "datetime", "decimal", "int", "str", "list[str]")
        or "[" in part
    )


def _model_at(model: type[BaseModel], path: Path_) -> type[BaseModel] | None:
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = _model_in(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def load_yaml(path: Path | str) -> YamlDocument:
    """Reads a YAML file; a syntax error, a wrong encoding or an empty file is an InputError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(Problem("file not found", source=source)) from None
    except UnicodeDecodeError as error:
        raise InputError(Problem(f"not UTF-8 text ({error.reason} at byte {error.start})",
                                 source=source)) from None
    except OSError as error:
        raise InputError(Problem(f"cannot read the file ({error.strerror or error})",
                                 source=source)) from None
    return parse_yaml(text, source)


def parse_yaml(text: str, source: str) -> YamlDocument:
    try:
        node = yaml.compose(text, Loader=_ExactLoader)
        data = yaml.load(text, Loader=_ExactLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise InputError(Problem(
            f"not valid YAML: {error.problem}", source=source,
            row=mark.line + 1 if mark is not None else None, row_label="line",
        )) from None
    except yaml.YAMLError as error:
        raise InputError(Problem(f"not valid YAML: {error}", source=source)) from None
    if data is None:
        raise InputError(Problem("the file is empty", source=source))
    lines: dict[Path_, int] = {}
    _line_index(node, (), lines)
    return YamlDocument(source, data, lines)

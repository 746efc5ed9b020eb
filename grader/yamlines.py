"""YAML with line numbers, and error locations, for the rubric loader.

:func:`parse_yaml` reads a document into :class:`LineDict` / :class:`LineList`
trees that remember the line of every key and item; :class:`At` is a place in
that tree (file, key path, line) that turns a problem into a one-line
:class:`RubricError`. Kept apart from ``rubric.py`` so that file holds the
rubric's meaning only.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Union

import yaml

from .errors import RubricError



class LineDict(dict):
    """A mapping from YAML that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    lines: Dict[Any, int]


class LineList(list):
    """A sequence from YAML that remembers its own line and the line of each item (1-based)."""

    line: int = 0
    lines: List[int]


class LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):   # libyaml's parser when present: 4x faster
    """SafeLoader building LineDict/LineList, rejecting duplicate keys, reading 1e-6 as a float."""


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode):
    """Build a LineDict; two-step (yield first) so recursive anchors work as in PyYAML."""
    data = LineDict()
    data.line = node.start_mark.line + 1
    data.lines = {}
    yield data
    # PyYAML silently keeps the last of two equal keys; in a rubric that hides a
    # mistake (two `checks:` lists), so it is an error. Merge keys (<<) may repeat.
    seen: Dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "unhashable key", key_node.start_mark) from None
        if first is not None:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "duplicate key %r (first on line %d)" % (key, first), key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    data.update(loader.construct_mapping(node))
    # After construct_mapping, node.value is flattened (merged keys first), so
    # the last occurrence of a key is the one whose value won.
    for key_node, _ in node.value:
        data.lines[loader.construct_object(key_node, deep=True)] = key_node.start_mark.line + 1


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode):
    """Build a LineList; two-step (yield first) so recursive anchors work as in PyYAML."""
    data = LineList()
    data.line = node.start_mark.line + 1
    data.lines = [child.start_mark.line + 1 for child in node.value]
    yield data
    data.extend(loader.construct_sequence(node))


LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
# YAML 1.2 floats without a dot (1e-6, -2E+3); the 1.1 resolver reads them as strings.
LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def plain(value: Any) -> Any:
    """``value`` with LineDict/LineList replaced by plain dicts and lists, recursively."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# ---------------------------------------------------------------------------
# Locating errors


@dataclass(frozen=True)
class At:
    """Where a value sits in the rubric: file, key path and line (None when unknown)."""

    file: str
    key: str = ""
    line: Optional[int] = None

    def child(self, container: Any, key: Union[str, int]) -> "At":
        """The location of ``container[key]``; the line is its key's (or item's) line."""
        if isinstance(key, int) and isinstance(container, list):
            lines = getattr(container, "lines", [])
            line = lines[key] if key < len(lines) else None
            path = "%s[%d]" % (self.key, key)
        else:
            line = getattr(container, "lines", {}).get(key)
            path = "%s.%s" % (self.key, key) if self.key else str(key)
        return At(self.file, path, line or self.line)

    def missing(self, container: Any, key: str) -> "At":
        """The location of a key that should be in ``container``: the mapping's own line."""
        path = "%s.%s" % (self.key, key) if self.key else key
        return At(self.file, path, getattr(container, "line", None) or self.line)

    def error(self, problem: str) -> RubricError:
        return RubricError.at(self.file, self.line, self.key, problem)


def describe(value: Any) -> str:
    """A short phrase for a value's YAML type, for 'expected X, got Y' messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean (%s)" % str(value).lower()
    if isinstance(value, (int, float)):
        return "a number (%r)" % value
    if isinstance(value, str):
        return "a string (%r)" % (value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "a %s" % type(value).__name__


def suggest(word: Any, choices: Iterable[str]) -> str:
    """'; did you mean X?' when a choice is close to ``word``, else ''."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.75)
    return "; did you mean %r?" % close[0] if close else ""


def is_number(value: Any) -> bool:
    # bool is an int in Python, but `points: yes` is a mistake, not 1 point.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_yaml(data: bytes, file: str) -> Any:
    """The YAML document as LineDict/LineList trees; syntax errors name their line."""
    try:
        return yaml.load(data, Loader=LineLoader)  # noqa: S506 -- a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        if exc.context and exc.problem:
            problem = "%s %s" % (exc.context, exc.problem)
        raise RubricError.at(file, mark.line + 1 if mark else None, None, "invalid YAML: %s" % problem) from None
    except yaml.YAMLError as exc:
        raise RubricError.at(file, None, None, "invalid YAML: %s" % str(exc).replace("\n", " ")) from None

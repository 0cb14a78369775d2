"""YAML text -> a PyYAML node tree that keeps every position, safe on hostile input.

`compose` builds the tree from the parser's event stream with an explicit stack (no
recursion: `[[[[...` a hundred thousand deep is one error, not a crash), limits
nesting, and gives each alias its own node (a shallow copy of the anchored node,
sharing its children, so "billion laughs" stays as small as the text) whose
position is the alias's and whose `alias` attribute names the anchor. Mistakes
raise `YamlError` with a 1-based line and column:

- characters YAML does not allow (NUL, other C0 controls, lone surrogates) at
  their own position, before the parser sees them;
- syntax errors at the place a user must look: where an unclosed quote, bracket
  or key starts (PyYAML's `context_mark`), else where the parser stopped
  (`problem_mark`); the message names the other position too.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 32
"""Deepest nesting of collections accepted (a rules file needs 4)."""

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_SHOWN_BAD_CHARACTERS = 5


@dataclass(frozen=True)
class YamlError(Exception):
    """A YAML-level mistake at `line`:`col` (1-based)."""

    line: int
    col: int
    message: str


def position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character `index` of `text`."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _char_name(ch: str) -> str:
    names = {"\0": "NUL", "\x1b": "ESC", "\x7f": "DEL", "\x0c": "form feed", "\x08": "backspace"}
    return f"U+{ord(ch):04X}" + (f" ({names[ch]})" if ch in names else "")


def bad_characters(text: str) -> list[YamlError]:
    """Every character YAML does not allow (the first few), each at its position."""
    out: list[YamlError] = []
    found = list(_NON_PRINTABLE.finditer(text))
    for m in found[:_SHOWN_BAD_CHARACTERS]:
        line, col = position(text, m.start())
        out.append(
            YamlError(line, col, f"control character {_char_name(m.group())} is not allowed")
        )
    if len(found) > _SHOWN_BAD_CHARACTERS:
        last = out[-1]
        more = len(found) - _SHOWN_BAD_CHARACTERS
        out[-1] = YamlError(last.line, last.col, f"{last.message} (and {more} more after it)")
    return out


def _mark_error(e: yaml.MarkedYAMLError) -> YamlError:
    ctx, prob = e.context or "", e.problem or ""
    opening = bool(e.context_mark) and (
        any(k in ctx for k in ("quoted", "flow", "simple key", "block scalar", "directive"))
        or "end of stream" in prob
        or "stream end" in prob
    )
    mark, other = (e.context_mark, e.problem_mark) if opening else (e.problem_mark, e.context_mark)
    if mark is None:
        mark, other = other, None
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    text = " ".join(p for p in (ctx, prob) if p)
    if other is not None and (other.line, other.column) != (line - 1, col - 1):
        where = "opened here" if opening else "started"
        text += f" ({where}; the parser stopped at {other.line + 1}:{other.column + 1})"
    return YamlError(line, col, f"YAML syntax: {text}")


def compose(text: str) -> Node | None:
    """The node tree of the first document of `text` (None if empty); raises YamlError."""
    bad = bad_characters(text)
    if bad:
        raise bad[0]
    anchors: dict[str, Node] = {}
    stack: list[tuple[Node, list[Node] | list[tuple[Node, Node]], list[Node]]] = []
    root: Node | None = None
    documents = 0

    def add(node: Node) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        parent, items, pending = stack[-1]
        if isinstance(parent, SequenceNode):
            items.append(node)
        elif pending:
            items.append((pending.pop(), node))
        else:
            pending.append(node)

    try:
        for ev in yaml.parse(text, Loader=_Loader):
            if isinstance(ev, ScalarEvent):
                tag = ev.tag
                if tag is None or tag == "!":
                    tag = _RESOLVER.resolve(ScalarNode, ev.value, ev.implicit)
                node: Node = ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark, ev.style)
                if ev.anchor:
                    anchors[ev.anchor] = node
                add(node)
            elif isinstance(ev, (SequenceStartEvent, MappingStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    m = ev.start_mark
                    raise YamlError(
                        m.line + 1, m.column + 1, f"nested more than {MAX_DEPTH} levels deep"
                    )
                cls = SequenceNode if isinstance(ev, SequenceStartEvent) else MappingNode
                kind = SequenceNode if cls is SequenceNode else MappingNode
                tag = ev.tag
                if tag is None or tag == "!":
                    tag = _RESOLVER.resolve(kind, None, ev.implicit)
                items: list[Node] | list[tuple[Node, Node]] = []
                node = cls(tag, items, ev.start_mark, ev.end_mark, flow_style=ev.flow_style)
                if ev.anchor:
                    anchors[ev.anchor] = node
                add(node)
                stack.append((node, items, []))
            elif isinstance(ev, (SequenceEndEvent, MappingEndEvent)):
                node = stack.pop()[0]
                node.end_mark = ev.end_mark
            elif isinstance(ev, AliasEvent):
                if ev.anchor not in anchors:
                    m = ev.start_mark
                    raise YamlError(m.line + 1, m.column + 1, f"unknown alias *{ev.anchor}")
                alias = copy.copy(anchors[ev.anchor])
                alias.start_mark, alias.end_mark = ev.start_mark, ev.end_mark
                alias.alias = ev.anchor
                add(alias)
            elif isinstance(ev, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    m = ev.start_mark
                    raise YamlError(
                        m.line + 1, m.column + 1, "a second YAML document: a rules file is one"
                    )
    except yaml.MarkedYAMLError as e:
        raise _mark_error(e) from None
    except yaml.YAMLError as e:  # reader/encoding errors without a mark
        raise YamlError(1, 1, f"YAML: {e}") from None
    return root


def alias_of(node: Node) -> str | None:
    """The anchor name if `node` was written as an alias (`*name`), else None."""
    return getattr(node, "alias", None)

"""P4_16 tokenizer.

The same tokens serve the preprocessor (which needs to know where lines start)
and the parser. `>>` is never one token: the parser joins two adjacent `>` so
that `register<bit<32>>` closes two type-argument lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from softswitch.frontend.ast import Loc
from softswitch.frontend.errors import P4Error

ID, INT, STRING, OP, EOF = "id", "int", "string", "op", "eof"

# Longest first: the tokenizer takes the first that matches.
_OPS = (
    "&&&", "|+|", "|-|", "<<", "&&", "||", "==", "!=", "<=", ">=", "++", "..", "##",
    "+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "<", ">", "=", "?", ":", ";",
    ",", ".", "(", ")", "[", "]", "{", "}", "@", "#",
)  # fmt: skip

_INT_RE = re.compile(
    r"(?:(\d+)([ws]))?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|0[dD][0-9_]+|\d[0-9_]*)"
)
_ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_TAIL_RE = re.compile(r"[A-Za-z0-9_]")


@dataclass(slots=True)
class Token:
    kind: str
    text: str
    loc: Loc
    space: bool = False  # whitespace (or a comment) before it
    bol: bool = False  # first token of a (logical) line
    hide: frozenset[str] = field(default_factory=frozenset)  # macro hide set

    def is_op(self, text: str) -> bool:
        return self.kind == OP and self.text == text


def parse_int(text: str, loc: Loc) -> tuple[int, int | None, bool]:
    """Value, width (None if unsized) and signedness of an integer literal."""
    m = _INT_RE.fullmatch(text)
    if m is None:
        raise P4Error(loc, f"malformed integer literal '{text}'")
    width = int(m.group(1)) if m.group(1) else None
    signed = m.group(2) == "s"
    body = m.group(3).replace("_", "")
    base = 10
    if len(body) > 1 and body[0] == "0" and body[1] in "xXbBoOdD":
        base = {"x": 16, "b": 2, "o": 8, "d": 10}[body[1].lower()]
        body = body[2:]
        if not body:
            raise P4Error(loc, f"malformed integer literal '{text}'")
    if width is not None and width == 0 and not signed:
        raise P4Error(loc, "integer literal width must be positive")
    return int(body, base), width, signed


def int_base(text: str) -> int:
    """The base an integer literal is written in (2, 8, 10 or 16)."""
    m = _INT_RE.fullmatch(text)
    body = m.group(3) if m is not None else text
    if len(body) > 1 and body[0] == "0" and body[1] in "xXbBoOdD":
        return {"x": 16, "b": 2, "o": 8, "d": 10}[body[1].lower()]
    return 10


def unescape(text: str) -> str:
    """The value of a string literal token (quotes included in text)."""
    out: list[str] = []
    i = 1
    while i < len(text) - 1:
        c = text[i]
        if c == "\\" and i + 1 < len(text) - 1:
            n = text[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def tokenize(text: str, file: str) -> list[Token]:
    """Split source text into tokens (no EOF token); raise P4Error on a bad character."""
    toks: list[Token] = []
    i, n = 0, len(text)
    line, line_start = 1, 0
    space, bol = False, True
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            line_start = i + 1
            i += 1
            space, bol = True, True
            continue
        if c in " \t\r\f\v":
            i += 1
            space = True
            continue
        if c == "\\" and text.startswith("\n", i + 1):  # line continuation
            i += 2
            line += 1
            line_start = i
            space = True
            continue
        if c == "\\" and text.startswith("\r\n", i + 1):
            i += 3
            line += 1
            line_start = i
            space = True
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            space = True
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise P4Error(Loc(file, line, i - line_start + 1), "unterminated comment")
            line += text.count("\n", i, j)
            k = text.rfind("\n", i, j)
            if k >= 0:
                line_start = k + 1
            i = j + 2
            space = True
            continue
        loc = Loc(file, line, i - line_start + 1)
        if c.isdigit():
            m = _INT_RE.match(text, i)
            assert m is not None
            end = m.end()
            if end < n and _WORD_TAIL_RE.match(text, end):
                # e.g. `8w` without digits or `12abc`: let the parser report it
                m2 = re.compile(r"[A-Za-z0-9_]+").match(text, i)
                assert m2 is not None
                raise P4Error(loc, f"malformed integer literal '{m2.group()}'")
            toks.append(Token(INT, text[i:end], loc, space, bol))
            i = end
        elif c.isalpha() or c == "_":
            m = _ID_RE.match(text, i)
            assert m is not None
            toks.append(Token(ID, m.group(), loc, space, bol))
            i = m.end()
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\n":
                    raise P4Error(loc, "unterminated string literal")
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise P4Error(loc, "unterminated string literal")
            toks.append(Token(STRING, text[i : j + 1], loc, space, bol))
            i = j + 1
        else:
            for op in _OPS:
                if text.startswith(op, i):
                    toks.append(Token(OP, op, loc, space, bol))
                    i += len(op)
                    break
            else:
                # Stray characters are legal inside skipped #if blocks and
                # #error text; the parser rejects them anywhere else.
                toks.append(Token(OP, c, loc, space, bol))
                i += 1
        space, bol = False, False
    return toks

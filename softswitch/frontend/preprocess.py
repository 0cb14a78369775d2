"""A C preprocessor working on P4 tokens, so every token keeps its source location.

Supports `#include` (`<>`: softswitch/p4include, then the -I directories;
`""`: the includer's directory first), object- and function-like `#define`
(with `#`, `##` and `__VA_ARGS__`), `#undef`, `#if/#ifdef/#ifndef/#elif/#else/
#endif` with `defined`, `#error`, `#warning`, `#line`, and `#pragma` (`once` is
honoured, others are ignored with a note). Expanded tokens carry the location
of the macro use.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from softswitch.frontend.ast import Loc
from softswitch.frontend.errors import P4Error
from softswitch.frontend.lexer import ID, INT, OP, STRING, Token, parse_int, tokenize, unescape

P4INCLUDE = Path(__file__).resolve().parent.parent / "p4include"

# Macros p4c-bm2-ss predefines that programs test for; __TARGET_SOFTSWITCH__ is ours.
PREDEFINED: dict[str, str] = {
    "__TARGET_BMV2__": "1",
    "__TARGET_SOFTSWITCH__": "1",
    "__p4c__": "1",
    "__p4c_major__": "1",
    "__p4c_minor__": "2",
    "__p4c_patchlevel__": "4",
    "__p4c_version__": '"1.2.4"',
}

_MAX_INCLUDE_DEPTH = 100


@dataclass(slots=True)
class Macro:
    name: str
    params: list[str] | None  # None: object-like
    body: list[Token]
    variadic: bool = False


@dataclass(slots=True)
class _Cond:
    active: bool  # this branch is being emitted
    taken: bool  # some branch of this #if was already taken
    parent_active: bool
    seen_else: bool = False


@dataclass
class PPResult:
    tokens: list[Token]
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Preprocessor:
    def __init__(
        self,
        include_dirs: Sequence[str | os.PathLike[str]] = (),
        defines: Mapping[str, str] | None = None,
    ) -> None:
        self.include_dirs = [Path(d) for d in include_dirs]
        self.macros: dict[str, Macro] = {}
        self.files: list[str] = []
        self.notes: list[str] = []
        self._once: set[str] = set()
        self._depth = 0
        builtin = Loc("<command-line>", 0, 0)
        for name, value in {**PREDEFINED, **(defines or {})}.items():
            self.macros[name] = Macro(name, None, _retag(tokenize(str(value), builtin.file)))

    # ----------------------------------------------------------------- files

    def run_file(self, path: str | os.PathLike[str]) -> PPResult:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as e:
            raise P4Error(Loc(str(p), 0, 0), f"cannot read file: {e.strerror}") from None
        out: list[Token] = []
        self._process(text, str(p), out)
        return PPResult(out, self.files, self.notes)

    def run_text(self, text: str, file: str) -> PPResult:
        out: list[Token] = []
        self._process(text, file, out)
        return PPResult(out, self.files, self.notes)

    def _process(self, text: str, file: str, out: list[Token]) -> None:
        if file not in self.files:
            self.files.append(file)
        toks = tokenize(text, file)
        lines = _split_lines(toks)
        conds: list[_Cond] = []
        pending: list[Token] = []
        # #line remapping: (directive raw line, new line number, new file)
        remap: tuple[int, int, str] | None = None

        def relocate(line: list[Token]) -> list[Token]:
            if remap is None:
                return line
            d, newline, newfile = remap
            return [
                replace(t, loc=Loc(newfile, newline + t.loc.line - d - 1, t.loc.col)) for t in line
            ]

        def flush() -> None:
            if pending:
                out.extend(self.expand(pending))
                pending.clear()

        for raw in lines:
            line = relocate(raw)
            active = all(c.active for c in conds)
            if not line[0].is_op("#"):
                if active:
                    pending.extend(line)
                continue
            hash_tok = line[0]
            if len(line) == 1:
                continue  # null directive
            d = line[1]
            name = d.text
            args = line[2:]
            if name in ("if", "ifdef", "ifndef"):
                if not active:
                    conds.append(_Cond(False, True, False))
                    continue
                if name == "if":
                    val = self._eval_if(args, d)
                else:
                    ident = self._one_ident(args, d)
                    val = (ident in self.macros) == (name == "ifdef")
                conds.append(_Cond(val, val, True))
            elif name == "elif":
                c = self._top(conds, d)
                if c.seen_else:
                    raise P4Error(d.loc, "#elif after #else")
                if c.taken or not c.parent_active:
                    c.active = False
                else:
                    c.active = self._eval_if(args, d)
                    c.taken = c.active
            elif name == "else":
                c = self._top(conds, d)
                if c.seen_else:
                    raise P4Error(d.loc, "#else after #else")
                c.seen_else = True
                c.active = c.parent_active and not c.taken
                c.taken = True
            elif name == "endif":
                self._top(conds, d)
                conds.pop()
            elif not active:
                continue
            elif name == "include":
                flush()
                self._include(args, d, file, out)
            elif name == "define":
                self._define(args, d)
            elif name == "undef":
                self.macros.pop(self._one_ident(args, d), None)
            elif name == "error":
                raise P4Error(hash_tok.loc, "#error " + _join(args))
            elif name == "warning":
                self.notes.append(f"{hash_tok.loc}: warning: {_join(args)}")
            elif name == "pragma":
                if args and args[0].text == "once":
                    self._once.add(os.path.realpath(file))
                else:
                    self.notes.append(f"{hash_tok.loc}: note: #pragma {_join(args)} ignored")
            elif name == "line" or d.kind == INT:
                nums = args if name == "line" else line[1:]
                nums = self.expand(nums)
                if not nums or nums[0].kind != INT:
                    raise P4Error(d.loc, "#line needs a line number")
                newfile = remap[2] if remap else file
                if len(nums) > 1 and nums[1].kind == STRING:
                    newfile = unescape(nums[1].text)
                remap = (raw[0].loc.line, parse_int(nums[0].text, nums[0].loc)[0], newfile)
            else:
                raise P4Error(d.loc, f"unknown preprocessor directive #{name}")
        if conds:
            raise P4Error(Loc(file, toks[-1].loc.line if toks else 1, 1), "missing #endif")
        flush()

    def _top(self, conds: list[_Cond], d: Token) -> _Cond:
        if not conds:
            raise P4Error(d.loc, f"#{d.text} without #if")
        return conds[-1]

    def _one_ident(self, args: list[Token], d: Token) -> str:
        if not args or args[0].kind != ID:
            raise P4Error(d.loc, f"#{d.text} needs an identifier")
        return args[0].text

    def _include(self, args: list[Token], d: Token, file: str, out: list[Token]) -> None:
        if args and args[0].kind != STRING and not args[0].is_op("<"):
            args = self.expand(args)
        if not args:
            raise P4Error(d.loc, "#include needs a file name")
        if args[0].kind == STRING:
            name = unescape(args[0].text)
            search = [Path(file).parent, *self.include_dirs, P4INCLUDE]
        elif args[0].is_op("<"):
            end = next((i for i, t in enumerate(args) if t.is_op(">")), None)
            if end is None:
                raise P4Error(d.loc, "#include <...> is missing '>'")
            name = "".join(t.text for t in args[1:end])
            search = [P4INCLUDE, *self.include_dirs]
        else:
            raise P4Error(args[0].loc, '#include expects "file" or <file>')
        for base in search:
            cand = base / name
            if cand.is_file():
                break
        else:
            raise P4Error(d.loc, f"cannot find include file '{name}'")
        real = os.path.realpath(cand)
        if real in self._once:
            return
        if self._depth >= _MAX_INCLUDE_DEPTH:
            raise P4Error(d.loc, "#include nested too deeply")
        self._depth += 1
        try:
            self._process(cand.read_text(encoding="utf-8"), str(cand), out)
        finally:
            self._depth -= 1

    def _define(self, args: list[Token], d: Token) -> None:
        if not args or args[0].kind != ID:
            raise P4Error(d.loc, "#define needs a macro name")
        name = args[0].text
        if name == "defined":
            raise P4Error(args[0].loc, "'defined' cannot be a macro name")
        rest = args[1:]
        if rest and rest[0].is_op("(") and not rest[0].space:
            params: list[str] = []
            variadic = False
            i = 1
            while True:
                if i >= len(rest):
                    raise P4Error(rest[0].loc, "unterminated macro parameter list")
                t = rest[i]
                if t.is_op(")") and not params and not variadic:
                    i += 1
                    break
                if t.is_op(".") and i + 2 < len(rest) and rest[i + 1].is_op("."):
                    # `...` lexes as `..` `.` or `.` `..`; accept both
                    variadic = True
                    i += 2
                elif t.is_op("..") and i + 1 < len(rest) and rest[i + 1].is_op("."):
                    variadic = True
                    i += 2
                elif t.kind == ID:
                    params.append(t.text)
                    i += 1
                else:
                    raise P4Error(t.loc, "expected a macro parameter name")
                if i < len(rest) and rest[i].is_op(","):
                    i += 1
                    continue
                if i < len(rest) and rest[i].is_op(")"):
                    i += 1
                    break
                raise P4Error(rest[min(i, len(rest) - 1)].loc, "expected ',' or ')'")
            self.macros[name] = Macro(name, params, rest[i:], variadic)
        else:
            self.macros[name] = Macro(name, None, rest)

    # ----------------------------------------------------------------- expansion

    def expand(self, tokens: Iterable[Token]) -> list[Token]:
        """Macro-expand a token sequence."""
        stack = list(reversed(list(tokens)))
        out: list[Token] = []
        while stack:
            t = stack.pop()
            m = self.macros.get(t.text) if t.kind == ID else None
            if m is None or t.text in t.hide:
                out.append(t)
                continue
            if t.text == "__LINE__":
                out.append(Token(INT, str(t.loc.line), t.loc, t.space, t.bol))
                continue
            if m.params is None:
                body = self._subst(m, {}, t.hide | {m.name}, t)
            else:
                if not stack or not stack[-1].is_op("("):
                    out.append(t)
                    continue
                stack.pop()
                args, rparen = self._collect_args(stack, t, m)
                body = self._subst(m, args, (t.hide & rparen.hide) | {m.name}, t)
            stack.extend(reversed(body))
        return out

    def _collect_args(
        self, stack: list[Token], use: Token, m: Macro
    ) -> tuple[dict[str, list[Token]], Token]:
        args: list[list[Token]] = [[]]
        depth = 0
        while True:
            if not stack:
                raise P4Error(use.loc, f"unterminated call of macro '{m.name}'")
            t = stack.pop()
            if t.is_op("(") or t.is_op("[") or t.is_op("{"):
                depth += 1
            elif t.is_op(")") or t.is_op("]") or t.is_op("}"):
                if depth == 0:
                    rparen = t
                    break
                depth -= 1
            elif (
                t.is_op(",") and depth == 0 and not (m.variadic and len(args) > len(m.params or []))
            ):
                args.append([])
                continue
            args[-1].append(t)
        params = m.params or []
        if len(args) == 1 and not args[0] and not params and not m.variadic:
            args = []
        if m.variadic:
            if len(args) < len(params):
                raise P4Error(use.loc, f"macro '{m.name}' needs at least {len(params)} arguments")
        elif len(args) != len(params):
            raise P4Error(
                use.loc, f"macro '{m.name}' takes {len(params)} arguments, {len(args)} given"
            )
        named = dict(zip(params, args, strict=False))
        if m.variadic:
            va: list[Token] = []
            for k, a in enumerate(args[len(params) :]):
                if k:
                    va.append(Token(OP, ",", use.loc))
                va.extend(a)
            named["__VA_ARGS__"] = va
        return named, rparen

    def _subst(
        self, m: Macro, args: dict[str, list[Token]], hs: frozenset[str], use: Token
    ) -> list[Token]:
        body = m.body
        res: list[Token] = []
        i = 0
        while i < len(body):
            t = body[i]
            if t.is_op("#") and m.params is not None and i + 1 < len(body):
                p = body[i + 1].text
                if p in args:
                    s = _join(args[p]).replace("\\", "\\\\").replace('"', '\\"')
                    res.append(Token(STRING, f'"{s}"', use.loc, t.space))
                    i += 2
                    continue
            if t.kind == ID and t.text in args:
                pasting = (i + 1 < len(body) and body[i + 1].is_op("##")) or (
                    i > 0 and body[i - 1].is_op("##")
                )
                arg = args[t.text] if pasting else self.expand(args[t.text])
                for k, a in enumerate(arg):
                    res.append(replace(a, space=t.space if k == 0 else a.space))
                i += 1
                continue
            res.append(t)
            i += 1
        # token pasting
        pasted: list[Token] = []
        i = 0
        while i < len(res):
            t = res[i]
            if t.is_op("##") and pasted and i + 1 < len(res):
                left = pasted.pop()
                merged = tokenize(left.text + res[i + 1].text, use.loc.file)
                pasted.extend(merged)
                i += 2
                continue
            pasted.append(t)
            i += 1
        out = []
        for k, t in enumerate(pasted):
            out.append(
                Token(
                    t.kind,
                    t.text,
                    use.loc,
                    use.space if k == 0 else t.space,
                    False,
                    t.hide | hs,
                )
            )
        return out

    # ----------------------------------------------------------------- #if

    def _eval_if(self, args: list[Token], d: Token) -> bool:
        toks: list[Token] = []
        i = 0
        while i < len(args):
            t = args[i]
            if t.kind == ID and t.text == "defined":
                if i + 1 < len(args) and args[i + 1].is_op("("):
                    if i + 3 >= len(args) or not args[i + 3].is_op(")") or args[i + 2].kind != ID:
                        raise P4Error(t.loc, "malformed defined()")
                    name, i = args[i + 2].text, i + 4
                elif i + 1 < len(args) and args[i + 1].kind == ID:
                    name, i = args[i + 1].text, i + 2
                else:
                    raise P4Error(t.loc, "defined needs a macro name")
                toks.append(Token(INT, "1" if name in self.macros else "0", t.loc))
                continue
            toks.append(t)
            i += 1
        toks = self.expand(toks)
        if not toks:
            raise P4Error(d.loc, f"#{d.text} needs an expression")
        ev = _IfEval(toks, d)
        v = ev.ternary()
        if ev.i != len(toks):
            raise P4Error(toks[ev.i].loc, f"unexpected '{toks[ev.i].text}' in #{d.text}")
        return v != 0


class _IfEval:
    """Integer arithmetic for #if (C precedence)."""

    _BIN: ClassVar[list[list[str]]] = [
        ["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", ">", "<=", ">="],
        ["<<", ">>"], ["+", "-"], ["*", "/", "%"],
    ]  # fmt: skip

    def __init__(self, toks: list[Token], d: Token) -> None:
        self.toks = toks
        self.i = 0
        self.d = d

    def _peek_op(self) -> str | None:
        if self.i >= len(self.toks):
            return None
        t = self.toks[self.i]
        if t.kind != OP:
            return None
        if t.text == ">" and self.i + 1 < len(self.toks):
            n = self.toks[self.i + 1]
            if n.is_op(">") and not n.space:
                return ">>"
        return t.text

    def _take(self, op: str) -> None:
        self.i += 2 if op == ">>" else 1

    def ternary(self) -> int:
        c = self.binary(0)
        if self._peek_op() == "?":
            self._take("?")
            a = self.ternary()
            if self._peek_op() != ":":
                raise P4Error(self._loc(), "expected ':' in #if")
            self._take(":")
            b = self.ternary()
            return a if c else b
        return c

    def _loc(self) -> Loc:
        return self.toks[min(self.i, len(self.toks) - 1)].loc

    def binary(self, level: int) -> int:
        if level == len(self._BIN):
            return self.unary()
        v = self.binary(level + 1)
        while (op := self._peek_op()) in self._BIN[level]:
            loc = self._loc()
            self._take(op)
            r = self.binary(level + 1)
            if op in ("/", "%") and r == 0:
                raise P4Error(loc, "division by zero in #if")
            v = _apply(op, v, r)
        return v

    def unary(self) -> int:
        op = self._peek_op()
        if op in ("!", "~", "-", "+"):
            self._take(op)
            v = self.unary()
            return {"!": int(not v), "~": ~v, "-": -v, "+": v}[op]
        if op == "(":
            self._take("(")
            v = self.ternary()
            if self._peek_op() != ")":
                raise P4Error(self._loc(), "expected ')' in #if")
            self._take(")")
            return v
        if self.i >= len(self.toks):
            raise P4Error(self.d.loc, f"#{self.d.text}: expression ends too early")
        t = self.toks[self.i]
        self.i += 1
        if t.kind == INT:
            return parse_int(t.text, t.loc)[0]
        if t.kind == ID:
            return 1 if t.text == "true" else 0  # undefined identifiers are 0
        raise P4Error(t.loc, f"unexpected '{t.text}' in #{self.d.text}")


def _apply(op: str, a: int, b: int) -> int:
    if op == "||":
        return int(bool(a) or bool(b))
    if op == "&&":
        return int(bool(a) and bool(b))
    if op == "/":
        return int(a / b)
    if op == "%":
        return a - b * int(a / b)
    table = {
        "|": a | b, "^": a ^ b, "&": a & b, "==": int(a == b), "!=": int(a != b),
        "<": int(a < b), ">": int(a > b), "<=": int(a <= b), ">=": int(a >= b),
        "<<": a << b if b >= 0 else 0, ">>": a >> b if b >= 0 else 0,
        "+": a + b, "-": a - b, "*": a * b,
    }  # fmt: skip
    return table[op]


def _split_lines(toks: list[Token]) -> list[list[Token]]:
    lines: list[list[Token]] = []
    for t in toks:
        if t.bol or not lines:
            lines.append([t])
        else:
            lines[-1].append(t)
    return lines


def _retag(toks: list[Token]) -> list[Token]:
    return [replace(t, bol=False) for t in toks]


def _join(toks: Sequence[Token]) -> str:
    parts: list[str] = []
    for k, t in enumerate(toks):
        if k and t.space:
            parts.append(" ")
        parts.append(t.text)
    return "".join(parts)


def preprocess(
    path: str | os.PathLike[str],
    include_dirs: Sequence[str | os.PathLike[str]] = (),
    defines: Mapping[str, str] | None = None,
) -> PPResult:
    """Preprocess a file: its tokens (each with its original location) and the files read."""
    return Preprocessor(include_dirs, defines).run_file(path)


def preprocess_text(
    text: str,
    file: str = "<string>",
    include_dirs: Sequence[str | os.PathLike[str]] = (),
    defines: Mapping[str, str] | None = None,
) -> PPResult:
    """Preprocess source text given in memory (`file` names it in locations)."""
    return Preprocessor(include_dirs, defines).run_text(text, file)


def render(tokens: Sequence[Token]) -> str:
    """Preprocessed text with `#line` markers: preprocessing it again gives the
    same tokens at the same file:line (and, outside macro expansions, column)."""
    out: list[str] = []
    cur_file: str | None = None
    cur_line = 0
    col = 1
    for t in tokens:
        f, ln = t.loc.file, t.loc.line
        if f != cur_file or ln < cur_line or ln > cur_line + 8:
            if out:
                out.append("\n")
            out.append(f'#line {ln} "{_escape(f)}"\n')
            cur_file, cur_line, col = f, ln, 1
        while cur_line < ln:
            out.append("\n")
            cur_line += 1
            col = 1
        if t.loc.col > col:
            out.append(" " * (t.loc.col - col))
            col = t.loc.col
        elif t.loc.col < col and col > 1:  # tokens of one macro expansion share a location
            out.append(" ")
            col += 1
        out.append(t.text)
        col += len(t.text)
    out.append("\n")
    return "".join(out)


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')

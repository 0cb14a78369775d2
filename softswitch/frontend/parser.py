"""Recursive-descent parser for P4_16 (spec 1.2.x grammar) producing ast.Program.

Like the spec's grammar, the parser tracks which identifiers name types
(declared types and type parameters in scope): `T x;` is a declaration when T
names a type, `f(x);` a call otherwise; `f<T>(x)` takes type arguments only
when what follows `<` starts a type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from softswitch.frontend import ast
from softswitch.frontend.ast import Loc
from softswitch.frontend.errors import P4Error, Unsupported
from softswitch.frontend.lexer import EOF, ID, INT, OP, STRING, Token, int_base, parse_int, unescape

_T = TypeVar("_T")

TYPE_KEYWORDS = frozenset(
    {"bit", "int", "varbit", "bool", "string", "void", "error", "match_kind", "tuple", "list"}
)
RESERVED = frozenset(
    {
        "abstract", "action", "bool", "bit", "const", "control", "default", "else", "enum",
        "error", "exit", "extern", "false", "for", "header", "header_union", "if", "in", "inout",
        "int", "match_kind", "out", "package", "parser", "return", "select", "string", "struct",
        "switch", "table", "this", "transition", "true", "tuple", "typedef", "value_set",
        "varbit", "void", "list",
    }
)  # fmt: skip

# Binary operators by precedence level, lowest first (p4c's grammar).
_BINARY_LEVELS: list[frozenset[str]] = [
    frozenset({"||"}),
    frozenset({"&&"}),
    frozenset({"==", "!="}),
    frozenset({"<", ">", "<=", ">="}),
    frozenset({"|"}),
    frozenset({"^"}),
    frozenset({"&"}),
    frozenset({"<<", ">>"}),
    frozenset({"++", "+", "-", "|+|", "|-|"}),
    frozenset({"*", "/", "%"}),
]

_DIRECTIONS = frozenset({"in", "out", "inout"})


class _Backtrack(Exception):
    pass


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        last = tokens[-1].loc if tokens else Loc("<empty>", 1, 1)
        eof_loc = Loc(last.file, last.line, last.col + (len(tokens[-1].text) if tokens else 0))
        self.toks = [*tokens, Token(EOF, "", eof_loc, True, True)]
        self.pos = 0
        self.type_names: set[str] = set()
        self.scopes: list[set[str]] = []
        self.errors: list[str] = []
        self.match_kinds: list[str] = []

    # ----------------------------------------------------------------- helpers

    @property
    def tok(self) -> Token:
        return self.toks[self.pos]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.pos + k, len(self.toks) - 1)]

    def at(self, text: str) -> bool:
        t = self.tok
        return t.kind in (OP, ID) and t.text == text

    def at_kw(self, text: str) -> bool:
        return self.tok.kind == ID and self.tok.text == text

    def next(self) -> Token:
        t = self.tok
        if t.kind != EOF:
            self.pos += 1
        return t

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.pos += 1
            return True
        return False

    def fail(self, what: str, tok: Token | None = None) -> P4Error:
        t = tok or self.tok
        found = "end of input" if t.kind == EOF else f"'{t.text}'"
        return P4Error(t.loc, f"expected {what}, found {found}")

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise self.fail(f"'{text}'")
        return self.next()

    def ident(self, what: str = "a name") -> Token:
        t = self.tok
        if t.kind != ID or t.text in RESERVED:
            raise self.fail(what)
        return self.next()

    def is_type_name(self, name: str) -> bool:
        return name in self.type_names or any(name in s for s in self.scopes)

    def speculate(self, fn: Callable[[], _T]) -> _T | None:
        save = self.pos
        try:
            return fn()
        except (P4Error, _Backtrack):
            self.pos = save
            return None

    def at_type_start(self, k: int = 0) -> bool:
        t = self.peek(k)
        if t.kind != ID:
            return (
                t.is_op(".")
                and self.peek(k + 1).kind == ID
                and self.is_type_name(self.peek(k + 1).text)
            )
        return t.text in TYPE_KEYWORDS or t.text == "_" or self.is_type_name(t.text)

    # ----------------------------------------------------------------- program

    def parse_program(self) -> ast.Program:
        decls: list[ast.Declaration] = []
        while self.tok.kind != EOF:
            if self.accept(";"):
                continue
            decls.append(self.top_declaration())
        return ast.Program(decls, self.errors, self.match_kinds)

    def annotations(self) -> list[ast.Annotation]:
        annos: list[ast.Annotation] = []
        while self.at("@"):
            at = self.next()
            name_tok = self.tok
            if name_tok.kind != ID:
                raise self.fail("an annotation name")
            self.next()
            anno = ast.Annotation(at.loc, name_tok.text)
            if self.at("(") and name_tok.text != "pragma":
                anno.body, body_toks = self.balanced("(", ")")
                anno.args = self._annotation_args(body_toks)
            elif self.at("[") and not self.tok.space:
                _, body_toks = self.balanced("[", "]")
                anno.kv = self._annotation_kv(body_toks, at)
            elif name_tok.text == "pragma":
                # @pragma name args... runs to the end of the line
                line = name_tok.loc.line
                body: list[Token] = []
                while self.tok.kind != EOF and self.tok.loc.line == line:
                    body.append(self.next())
                anno.body = raw_text(body)
            annos.append(anno)
        return annos

    def balanced(self, open_: str, close: str) -> tuple[str, list[Token]]:
        self.expect(open_)
        depth = 0
        body: list[Token] = []
        while True:
            t = self.tok
            if t.kind == EOF:
                raise self.fail(f"'{close}'")
            if t.kind == OP and t.text in ("(", "[", "{"):
                depth += 1
            elif t.kind == OP and t.text in (")", "]", "}"):
                if depth == 0:
                    if t.text != close:
                        raise self.fail(f"'{close}'")
                    self.next()
                    return raw_text(body), body
                depth -= 1
            body.append(self.next())

    def _annotation_args(self, body: list[Token]) -> list[ast.Expr]:
        if not body:
            return []
        sub = Parser(body)
        sub.type_names = self.type_names
        sub.scopes = self.scopes
        try:
            args = [sub.expression()]
            while sub.accept(","):
                args.append(sub.expression())
            if sub.tok.kind != EOF:
                return []
            return args
        except P4Error:
            return []

    def _annotation_kv(self, body: list[Token], at: Token) -> dict[str, ast.Expr]:
        sub = Parser(body)
        kv: dict[str, ast.Expr] = {}
        while sub.tok.kind != EOF:
            k = sub.ident("a key")
            sub.expect("=")
            kv[k.text] = sub.expression()
            if not sub.accept(","):
                break
        if sub.tok.kind != EOF:
            raise sub.fail("',' or ']'")
        return kv

    def top_declaration(self) -> ast.Declaration:
        annos = self.annotations()
        t = self.tok
        kw = t.text if t.kind == ID else ""
        d: ast.Declaration
        if kw == "const":
            d = self.const_decl()
        elif kw == "extern":
            d = self.extern_decl()
        elif kw == "action":
            d = self.action_decl()
        elif kw == "parser":
            d = self.parser_decl()
        elif kw == "control":
            d = self.control_decl()
        elif kw == "package":
            d = self.package_decl()
        elif kw in ("header", "header_union", "struct"):
            d = self.struct_like()
        elif kw == "enum":
            d = self.enum_decl()
        elif kw in ("typedef", "type"):
            d = self.typedef_decl()
        elif kw == "error" and self.peek().is_op("{"):
            d = self.error_decl()
        elif kw == "match_kind" and self.peek().is_op("{"):
            d = self.match_kind_decl()
        elif kw == "value_set":
            raise P4Error(t.loc, "value_set may only be declared inside a parser")
        elif kw == "abstract":
            raise Unsupported(t.loc, "abstract method")
        else:
            d = self.function_or_instantiation()
        d.annotations = annos + d.annotations
        return d

    # ----------------------------------------------------------------- types

    def type_ref(self, allow_void: bool = True) -> ast.TypeRef:
        t = self.tok
        if t.kind == OP and t.text == ".":
            self.next()
            name_tok = self.ident("a type name")
            ref = ast.TypeRef(t.loc, name_tok.text)
            if self.at("<"):
                ref.args = self.type_args()
        elif t.kind != ID:
            raise self.fail("a type")
        elif t.text in ("bit", "int", "varbit"):
            self.next()
            ref = ast.TypeRef(t.loc, t.text)
            if self.at("<"):
                self.next()
                if self.at("("):
                    self.next()
                    w = self.expression()
                    self.expect(")")
                elif self.tok.kind == INT:
                    it = self.next()
                    v, _, _ = parse_int(it.text, it.loc)
                    w = ast.IntLit(it.loc, value=v)
                elif self.tok.kind == ID:
                    it = self.next()
                    w = ast.PathExpr(it.loc, name=it.text)
                else:
                    raise self.fail("a width")
                self.expect(">")
                ref.args = [w]
            elif t.text == "bit":
                ref.args = [ast.IntLit(t.loc, value=1)]
        elif t.text in ("bool", "string", "error", "match_kind", "_"):
            self.next()
            ref = ast.TypeRef(t.loc, t.text)
        elif t.text == "void":
            if not allow_void:
                raise self.fail("a type")
            self.next()
            ref = ast.TypeRef(t.loc, "void")
        elif t.text in ("tuple", "list"):
            self.next()
            ref = ast.TypeRef(t.loc, t.text)
            ref.args = self.type_args()
        elif t.text in RESERVED:
            raise self.fail("a type")
        else:
            self.next()
            ref = ast.TypeRef(t.loc, t.text)
            if self.at("<"):
                ref.args = self.type_args()
        while self.at("[") and not self.peek().is_op("]"):
            lb = self.next()
            size = self.expression()
            self.expect("]")
            ref = ast.TypeRef(lb.loc, "__stack__", [ref], stack_size=size)
        return ref

    def type_args(self) -> list[ast.TypeRef | ast.Expr]:
        self.expect("<")
        args: list[ast.TypeRef | ast.Expr] = []
        if not self.at(">"):
            while True:
                args.append(self.type_ref())
                if not self.accept(","):
                    break
        self.expect(">")
        return args

    def type_params(self) -> list[str]:
        if not self.at("<"):
            return []
        self.next()
        names: list[str] = []
        while True:
            names.append(self.ident("a type parameter").text)
            if not self.accept(","):
                break
        self.expect(">")
        return names

    def params(self) -> list[ast.Param]:
        self.expect("(")
        ps: list[ast.Param] = []
        if not self.at(")"):
            while True:
                ps.append(self.param())
                if not self.accept(","):
                    break
        self.expect(")")
        return ps

    def param(self) -> ast.Param:
        annos = self.annotations()
        loc = self.tok.loc
        direction = ""
        if self.tok.kind == ID and self.tok.text in _DIRECTIONS:
            direction = self.next().text
        ty = self.type_ref(allow_void=False)
        name = self.ident("a parameter name")
        default = None
        if self.accept("="):
            default = self.expression()
        return ast.Param(loc, direction, ty, name.text, default, annos)

    # ----------------------------------------------------------------- declarations

    def const_decl(self) -> ast.ConstDecl:
        kw = self.expect("const")
        ty = self.type_ref(allow_void=False)
        name = self.ident("a constant name")
        self.expect("=")
        value = self.initializer()
        self.expect(";")
        del kw
        return ast.ConstDecl(name.loc, name.text, ty, value)

    def initializer(self) -> ast.Expr:
        return self.expression()

    def struct_like(self) -> ast.Declaration:
        kw = self.next()
        name = self.ident("a type name")
        self.type_names.add(name.text)
        if self.at("<"):
            raise Unsupported(self.tok.loc, "generic " + kw.text)
        self.expect("{")
        fields: list[ast.FieldDecl] = []
        while not self.accept("}"):
            annos = self.annotations()
            fty = self.type_ref(allow_void=False)
            fname = self.ident("a field name")
            self.expect(";")
            fields.append(ast.FieldDecl(fname.loc, fname.text, fty, annotations=annos))
        if kw.text == "header":
            return ast.HeaderDecl(name.loc, name.text, fields)
        if kw.text == "header_union":
            return ast.HeaderUnionDecl(name.loc, name.text, fields)
        return ast.StructDecl(name.loc, name.text, fields)

    def enum_decl(self) -> ast.EnumDecl:
        self.expect("enum")
        underlying = None
        if (self.tok.kind == ID and self.tok.text in ("bit", "int")) or (
            self.tok.kind == ID and self.is_type_name(self.tok.text) and self.peek().kind == ID
        ):
            underlying = self.type_ref(allow_void=False)
        name = self.ident("an enum name")
        self.type_names.add(name.text)
        self.expect("{")
        d = ast.EnumDecl(name.loc, name.text, underlying=underlying)
        while not self.at("}"):
            self.annotations()
            m = self.ident("an enum member")
            d.members.append(m.text)
            if underlying is not None:
                self.expect("=")
                d.values.append(self.expression())
            if not self.accept(","):
                break
        self.expect("}")
        return d

    def typedef_decl(self) -> ast.TypedefDecl:
        kw = self.next()
        annos = self.annotations()
        if self.at_kw("header") or self.at_kw("struct") or self.at_kw("header_union"):
            raise Unsupported(self.tok.loc, f"{kw.text} of an inline {self.tok.text} declaration")
        ty = self.type_ref(allow_void=False)
        name = self.ident("a type name")
        self.expect(";")
        self.type_names.add(name.text)
        return ast.TypedefDecl(
            name.loc, name.text, ty, is_newtype=kw.text == "type", annotations=annos
        )

    def error_decl(self) -> ast.ErrorDecl:
        kw = self.expect("error")
        members = self.ident_list()
        self.errors.extend(m for m in members if m not in self.errors)
        return ast.ErrorDecl(kw.loc, "error", members)

    def match_kind_decl(self) -> ast.MatchKindDecl:
        kw = self.expect("match_kind")
        members = self.ident_list()
        self.match_kinds.extend(m for m in members if m not in self.match_kinds)
        return ast.MatchKindDecl(kw.loc, "match_kind", members)

    def ident_list(self) -> list[str]:
        self.expect("{")
        out: list[str] = []
        while not self.at("}"):
            out.append(self.ident().text)
            if not self.accept(","):
                break
        self.expect("}")
        return out

    def extern_decl(self) -> ast.Declaration:
        kw = self.expect("extern")
        annos = self.annotations()
        t = self.tok
        if t.kind == ID and t.text not in TYPE_KEYWORDS and t.text not in RESERVED:
            save = self.pos
            self.next()
            self.scopes.append(set())
            try:
                tps = self.type_params() if self.at("<") else []
                is_object = self.at("{")
            except P4Error:
                is_object = False
                tps = []
            if is_object:
                self.type_names.add(t.text)
                self.scopes[-1].update(tps)
                try:
                    d = ast.ExternDecl(t.loc, t.text, tps, annotations=annos)
                    self.expect("{")
                    while not self.accept("}"):
                        d.methods.append(self.method_decl(t.text))
                finally:
                    self.scopes.pop()
                return d
            self.scopes.pop()
            self.pos = save
        # extern function
        ret = self.type_ref()
        name = self.ident("a function name")
        self.scopes.append(set())
        try:
            tps = self.type_params()
            self.scopes[-1].update(tps)
            ps = self.params()
        finally:
            self.scopes.pop()
        self.expect(";")
        del kw
        return ast.ExternFunctionDecl(name.loc, name.text, tps, ps, ret, annotations=annos)

    def method_decl(self, extern_name: str) -> ast.MethodDecl:
        annos = self.annotations()
        is_abstract = False
        if self.at_kw("abstract"):
            raise Unsupported(self.tok.loc, "abstract method")
        t = self.tok
        if t.kind == ID and t.text == extern_name and self.peek().is_op("("):
            self.next()
            ps = self.params()
            self.expect(";")
            return ast.MethodDecl(t.loc, t.text, [], ps, None, annotations=annos)
        ret = self.type_ref()
        name = self.ident("a method name")
        self.scopes.append(set())
        try:
            tps = self.type_params()
            self.scopes[-1].update(tps)
            ps = self.params()
        finally:
            self.scopes.pop()
        self.expect(";")
        return ast.MethodDecl(name.loc, name.text, tps, ps, ret, is_abstract, annotations=annos)

    def action_decl(self) -> ast.ActionDecl:
        self.expect("action")
        name = self.ident("an action name")
        ps = self.params()
        body = self.block()
        return ast.ActionDecl(name.loc, name.text, ps, body)

    def package_decl(self) -> ast.PackageDecl:
        self.expect("package")
        name = self.ident("a package name")
        self.type_names.add(name.text)
        self.scopes.append(set())
        try:
            tps = self.type_params()
            self.scopes[-1].update(tps)
            ps = self.params()
        finally:
            self.scopes.pop()
        self.expect(";")
        return ast.PackageDecl(name.loc, name.text, tps, ps)

    def parser_decl(self) -> ast.Declaration:
        self.expect("parser")
        name = self.ident("a parser name")
        self.type_names.add(name.text)
        self.scopes.append(set())
        try:
            tps = self.type_params()
            self.scopes[-1].update(tps)
            ps = self.params()
            if self.accept(";"):
                return ast.ParserTypeDecl(name.loc, name.text, tps, ps)
            ctor = self.params() if self.at("(") else []
            d = ast.ParserDecl(name.loc, name.text, tps, ps, ctor)
            self.expect("{")
            while not self.accept("}"):
                annos = self.annotations()
                if self.at_kw("state"):
                    st = self.parser_state()
                    st.annotations = annos + st.annotations
                    d.states.append(st)
                    continue
                local = self.parser_local()
                local.annotations = annos + local.annotations
                d.locals.append(local)
            return d
        finally:
            self.scopes.pop()

    def parser_local(self) -> ast.Declaration:
        if self.at_kw("const"):
            return self.const_decl()
        if self.at_kw("value_set"):
            kw = self.next()
            self.expect("<")
            ety = self.type_ref(allow_void=False)
            self.expect(">")
            self.expect("(")
            size = self.expression()
            self.expect(")")
            name = self.ident("a value_set name")
            self.expect(";")
            del kw
            return ast.ValueSetDecl(name.loc, name.text, ety, size)
        return self.var_or_instantiation()

    def parser_state(self) -> ast.ParserState:
        self.expect("state")
        name = self.ident("a state name")
        st = ast.ParserState(name.loc, name.text)
        self.expect("{")
        while not self.at_kw("transition") and not self.at("}"):
            st.stmts.append(self.statement_or_decl())
        if self.at_kw("transition"):
            st.transition = self.transition()
        else:
            # no transition: the spec makes it `transition reject`
            st.transition = ast.Transition(self.tok.loc, state="reject")
        self.expect("}")
        return st

    def transition(self) -> ast.Transition:
        kw = self.expect("transition")
        if self.at_kw("select"):
            self.next()
            self.expect("(")
            exprs = [self.expression()]
            while self.accept(","):
                exprs.append(self.expression())
            self.expect(")")
            tr = ast.Transition(kw.loc, select=exprs)
            self.expect("{")
            while not self.accept("}"):
                loc = self.tok.loc
                ks = self.keyset()
                self.expect(":")
                st = self.ident("a state name")
                self.expect(";")
                tr.cases.append(ast.SelectCase(loc, ks, st.text))
            return tr
        st = self.ident("a state name")
        self.expect(";")
        return ast.Transition(kw.loc, state=st.text)

    def keyset(self) -> ast.Expr:
        """A select/entry keyset: one element or a parenthesized tuple of them."""
        if self.at("("):
            save = self.pos
            lp = self.next()
            try:
                items = [self.keyset_element()]
                while self.accept(","):
                    items.append(self.keyset_element())
                self.expect(")")
                if self.at(":"):
                    if len(items) == 1:
                        return items[0]
                    return ast.ListExpr(lp.loc, items=items)
            except P4Error:
                pass
            self.pos = save
        return self.keyset_element()

    def keyset_element(self) -> ast.Expr:
        t = self.tok
        if t.kind == ID and t.text == "default":
            self.next()
            return ast.Default(t.loc)
        if t.kind == ID and t.text == "_":
            self.next()
            return ast.Default(t.loc, dont_care=True)
        e = self.expression()
        if self.at("&&&"):
            self.next()
            return ast.Mask(e.loc, value=e, mask=self.expression())
        if self.at(".."):
            self.next()
            return ast.Range(e.loc, lo=e, hi=self.expression())
        return e

    def control_decl(self) -> ast.Declaration:
        self.expect("control")
        name = self.ident("a control name")
        self.type_names.add(name.text)
        self.scopes.append(set())
        try:
            tps = self.type_params()
            self.scopes[-1].update(tps)
            ps = self.params()
            if self.accept(";"):
                return ast.ControlTypeDecl(name.loc, name.text, tps, ps)
            ctor = self.params() if self.at("(") else []
            d = ast.ControlDecl(name.loc, name.text, tps, ps, ctor)
            self.expect("{")
            while not self.at_kw("apply"):
                if self.at("}") or self.tok.kind == EOF:
                    raise self.fail("'apply' block")
                annos = self.annotations()
                if self.at_kw("apply"):
                    break
                local = self.control_local()
                local.annotations = annos + local.annotations
                d.locals.append(local)
            self.expect("apply")
            d.body = self.block()
            self.expect("}")
            return d
        finally:
            self.scopes.pop()

    def control_local(self) -> ast.Declaration:
        if self.at_kw("const"):
            return self.const_decl()
        if self.at_kw("action"):
            return self.action_decl()
        if self.at_kw("table"):
            return self.table_decl()
        return self.var_or_instantiation()

    def var_or_instantiation(self) -> ast.Declaration:
        ty = self.type_ref(allow_void=False)
        if self.at("("):
            args = self.arguments()
            name = self.ident("an instance name")
            if self.at("{"):
                raise Unsupported(self.tok.loc, "instantiation with an initializer block")
            self.expect(";")
            return ast.Instantiation(name.loc, name.text, ty, args)
        name = self.ident("a variable name")
        init = None
        if self.accept("="):
            init = self.initializer()
        self.expect(";")
        return ast.VarDecl(name.loc, name.text, ty, init)

    def function_or_instantiation(self) -> ast.Declaration:
        start = self.tok
        if (
            start.kind == ID
            and start.text not in TYPE_KEYWORDS
            and not self.is_type_name(start.text)
        ):
            if self.peek().kind == ID or self.peek().is_op("<"):
                pass  # `T f(...)` with T declared later or unknown: let the type checker say
            else:
                raise self.fail("a declaration")
        ty = self.type_ref()
        if self.at("("):
            args = self.arguments()
            name = self.ident("an instance name")
            self.expect(";")
            return ast.Instantiation(name.loc, name.text, ty, args)
        name = self.ident("a declaration name")
        if self.at("<") or self.at("("):
            self.scopes.append(set())
            try:
                tps = self.type_params()
                self.scopes[-1].update(tps)
                ps = self.params()
                body = self.block()
            finally:
                self.scopes.pop()
            return ast.FunctionDecl(name.loc, name.text, tps, ps, ty, body)
        if self.at("=") or self.at(";"):
            raise P4Error(name.loc, "top-level variables must be declared 'const'")
        raise self.fail("'(' or ';'")

    # ----------------------------------------------------------------- tables

    def table_decl(self) -> ast.TableDecl:
        self.expect("table")
        name = self.ident("a table name")
        d = ast.TableDecl(name.loc, name.text)
        self.expect("{")
        seen: set[str] = set()
        while not self.accept("}"):
            annos = self.annotations()
            is_const = False
            if self.at_kw("const"):
                self.next()
                is_const = True
            pt = self.tok
            if pt.kind != ID:
                raise self.fail("a table property")
            prop = pt.text
            if prop in seen:
                raise P4Error(pt.loc, f"table property '{prop}' given twice")
            seen.add(prop)
            d.prop_locs[prop] = pt.loc
            self.next()
            self.expect("=")
            if prop == "key":
                self.expect("{")
                while not self.accept("}"):
                    kloc = self.tok.loc
                    e = self.expression()
                    self.expect(":")
                    mk = self.ident("a match kind")
                    kannos = self.annotations()
                    self.expect(";")
                    d.keys.append(ast.KeyElement(kloc, e, mk.text, kannos))
            elif prop == "actions":
                self.expect("{")
                while not self.accept("}"):
                    aannos = self.annotations()
                    ref = self.action_ref()
                    ref.annotations = aannos
                    self.expect(";")
                    d.actions.append(ref)
            elif prop == "default_action":
                d.default_action = self.action_ref()
                d.default_action.annotations = annos
                d.default_action_const = is_const
                self.expect(";")
            elif prop == "entries":
                d.entries_const = is_const
                self.expect("{")
                while not self.accept("}"):
                    d.entries.append(self.table_entry(is_const))
                self.accept(";")
            elif prop == "size":
                d.size = self.expression()
                self.expect(";")
            else:
                value = self.expression()
                self.expect(";")
                d.properties.append(ast.TableProperty(pt.loc, prop, value, is_const, annos))
        return d

    def action_ref(self) -> ast.ActionRef:
        t = self.tok
        absolute = self.accept(".")
        name = self.ident("an action name")
        path = ast.PathExpr(name.loc if not absolute else t.loc, name=name.text, absolute=absolute)
        args: list[ast.Arg] = []
        if self.at("("):
            args = self.arguments()
        return ast.ActionRef(t.loc, path, args)

    def table_entry(self, table_const: bool) -> ast.TableEntry:
        annos = self.annotations()
        loc = self.tok.loc
        is_const = table_const
        if self.at_kw("const"):
            self.next()
            is_const = True
        priority = None
        if self.at_kw("priority") and self.peek().is_op("="):
            self.next()
            self.next()
            priority = self.expression() if not self.at("(") else self._paren_expr()
            self.expect(":")
        keyset_loc = self.tok.loc
        ks = self.keyset()
        keys = ks.items if isinstance(ks, ast.ListExpr) else [ks]
        self.expect(":")
        ref = self.action_ref()
        annos += self.annotations()
        self.expect(";")
        return ast.TableEntry(loc, keys, ref, priority, is_const, annos, keyset_loc)

    def _paren_expr(self) -> ast.Expr:
        self.expect("(")
        e = self.expression()
        self.expect(")")
        return e

    # ----------------------------------------------------------------- statements

    def block(self) -> ast.Block:
        annos = self.annotations()
        lb = self.expect("{")
        b = ast.Block(lb.loc, annotations=annos)
        while not self.accept("}"):
            if self.tok.kind == EOF:
                raise self.fail("'}'")
            b.stmts.append(self.statement_or_decl())
        return b

    def statement_or_decl(self) -> ast.Stmt | ast.Declaration:
        annos = self.annotations()
        t = self.tok
        if t.is_op("{"):
            b = self.block()
            b.annotations = annos + b.annotations
            return b
        if t.kind == ID:
            kw = t.text
            if kw == "const":
                c = self.const_decl()
                c.annotations = annos
                return c
            if kw in ("action", "table"):
                raise P4Error(t.loc, f"{kw} declarations are not allowed here")
            if kw == "for":
                raise Unsupported(t.loc, "for loop")
            if kw == "if":
                return self.if_stmt()
            if kw == "switch":
                return self.switch_stmt()
            if kw == "exit":
                self.next()
                self.expect(";")
                return ast.Exit(t.loc)
            if kw == "return":
                self.next()
                e = None if self.at(";") else self.expression()
                self.expect(";")
                return ast.Return(t.loc, e)
            if kw == "transition":
                raise P4Error(t.loc, "transition must be the last statement of a parser state")
            if self._starts_declaration():
                d = self.var_or_instantiation()
                d.annotations = annos
                return d
        if t.is_op(";"):
            self.next()
            return ast.Empty(t.loc)
        e = self.expression()
        if self.at("="):
            self.next()
            rhs = self.expression()
            self.expect(";")
            return ast.Assign(t.loc, e, rhs)
        if not isinstance(e, ast.Call):
            raise self.fail("'=' or '(' (a statement must be an assignment or a call)")
        self.expect(";")
        return ast.CallStmt(t.loc, e)

    def _starts_declaration(self) -> bool:
        t = self.tok
        if t.text in ("bit", "int", "varbit", "bool", "string", "tuple", "list"):
            return True
        if t.text in ("error", "match_kind"):
            return self.peek().kind == ID
        if self.is_type_name(t.text):
            n = self.peek()
            return not (n.is_op(".") or n.is_op("="))
        # an unknown name followed by a name: `T x;` with a misspelled T
        return self.peek().kind == ID and self.peek().text not in RESERVED

    def if_stmt(self) -> ast.If:
        kw = self.expect("if")
        self.expect("(")
        cond = self.expression()
        self.expect(")")
        then = self._sub_statement()
        other = None
        if self.at_kw("else"):
            self.next()
            other = self._sub_statement()
        return ast.If(kw.loc, cond, then, other)

    def _sub_statement(self) -> ast.Stmt:
        s = self.statement_or_decl()
        if isinstance(s, ast.Declaration):
            raise P4Error(s.loc, "a declaration cannot be the body of if/else")
        return s

    def switch_stmt(self) -> ast.Switch:
        kw = self.expect("switch")
        self.expect("(")
        e = self.expression()
        self.expect(")")
        sw = ast.Switch(kw.loc, e)
        self.expect("{")
        while not self.accept("}"):
            loc = self.tok.loc
            if self.at_kw("default"):
                lt = self.next()
                label: ast.Expr = ast.Default(lt.loc)
            else:
                label = self.expression()
            self.expect(":")
            body = self.block() if self.at("{") or self.at("@") else None
            sw.cases.append(ast.SwitchCase(loc, [label], body))
        return sw

    # ----------------------------------------------------------------- expressions

    def arguments(self) -> list[ast.Arg]:
        self.expect("(")
        args: list[ast.Arg] = []
        if not self.at(")"):
            while True:
                loc = self.tok.loc
                name = None
                if self.tok.kind == ID and self.peek().is_op("=") and not self.peek(2).is_op("="):
                    name = self.next().text
                    self.next()
                if self.at_kw("_") and (self.peek().is_op(",") or self.peek().is_op(")")):
                    self.next()
                    args.append(ast.Arg(loc, None, name))
                else:
                    args.append(ast.Arg(loc, self.expression(), name))
                if not self.accept(","):
                    break
        self.expect(")")
        return args

    def expression(self) -> ast.Expr:
        cond = self.binary(0)
        if self.at("?"):
            self.next()
            then = self.expression()
            self.expect(":")
            other = self.expression()
            return ast.Ternary(cond.loc, cond=cond, then=then, other=other)
        return cond

    def _peek_binop(self) -> str | None:
        t = self.tok
        if t.kind != OP:
            return None
        if t.text == ">":
            n = self.peek()
            if n.is_op(">") and not n.space:
                return ">>"
        return t.text

    def binary(self, level: int) -> ast.Expr:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        ops = _BINARY_LEVELS[level]
        while (op := self._peek_binop()) in ops:
            self.next()
            if op == ">>":
                self.next()
            right = self.binary(level + 1)
            left = ast.Binary(left.loc, op=op, left=left, right=right)
        return left

    def unary(self) -> ast.Expr:
        t = self.tok
        if t.kind == OP and t.text in ("!", "~", "-", "+"):
            self.next()
            return ast.Unary(t.loc, op=t.text, expr=self.unary())
        if t.is_op("(") and self.at_type_start(1):
            cast = self.speculate(self._cast)
            if cast is not None:
                return cast
        return self.postfix(self.primary())

    def _cast(self) -> ast.Expr:
        lp = self.expect("(")
        ty = self.type_ref(allow_void=False)
        self.expect(")")
        # `(T) x` is a cast only when an expression follows
        t = self.tok
        if t.kind == EOF or (t.kind == OP and t.text not in ("(", "!", "~", "-", "+", "{", ".")):
            raise _Backtrack()
        return ast.Cast(lp.loc, to=ty, expr=self.unary())

    def primary(self) -> ast.Expr:
        t = self.tok
        if t.kind == INT:
            self.next()
            v, w, s = parse_int(t.text, t.loc)
            return ast.IntLit(t.loc, value=v, width=w, signed=s, base=int_base(t.text))
        if t.kind == STRING:
            self.next()
            return ast.StringLit(t.loc, value=unescape(t.text))
        if t.kind == ID:
            if t.text in ("true", "false"):
                self.next()
                return ast.BoolLit(t.loc, value=t.text == "true")
            if t.text == "this":
                raise Unsupported(t.loc, "'this'")
            if t.text in ("bit", "int", "varbit", "bool", "tuple", "string"):
                ty = self.type_ref()
                return ast.TypeExpr(t.loc, ref=ty)
            if t.text in RESERVED and t.text not in ("error",):
                raise self.fail("an expression")
            self.next()
            return ast.PathExpr(t.loc, name=t.text)
        if t.is_op("."):
            self.next()
            n = self.ident()
            return ast.PathExpr(t.loc, name=n.text, absolute=True)
        if t.is_op("("):
            self.next()
            e = self.expression()
            self.expect(")")
            return e
        if t.is_op("{"):
            return self.brace_expr()
        raise self.fail("an expression")

    def brace_expr(self) -> ast.Expr:
        lb = self.expect("{")
        if self.accept("}"):
            return ast.ListExpr(lb.loc, items=[])
        if self.tok.kind == ID and self.peek().is_op("=") and not self.peek(2).is_op("="):
            fields: list[tuple[str, ast.Expr]] = []
            while not self.at("}"):
                n = self.ident("a field name")
                self.expect("=")
                fields.append((n.text, self.expression()))
                if not self.accept(","):
                    break
            self.expect("}")
            return ast.StructInit(lb.loc, fields=fields)
        items = [self.expression()]
        while self.accept(","):
            if self.at("}"):
                break
            items.append(self.expression())
        self.expect("}")
        return ast.ListExpr(lb.loc, items=items)

    def postfix(self, e: ast.Expr) -> ast.Expr:
        while True:
            t = self.tok
            if t.is_op("."):
                self.next()
                n = self.tok
                if n.kind != ID:
                    raise self.fail("a member name")
                self.next()
                e = ast.Member(e.loc, expr=e, name=n.text)
            elif t.is_op("["):
                self.next()
                a = self.expression()
                if self.accept(":"):
                    b = self.expression()
                    self.expect("]")
                    e = ast.Slice(e.loc, expr=e, hi=a, lo=b)
                else:
                    self.expect("]")
                    e = ast.Index(e.loc, expr=e, index=a)
            elif t.is_op("("):
                args = self.arguments()
                e = ast.Call(e.loc, func=e, args=args)
            elif (
                t.is_op("<") and isinstance(e, ast.PathExpr | ast.Member) and self.at_type_start(1)
            ):
                targs = self.speculate(self._call_type_args)
                if targs is None:
                    return e
                args = self.arguments()
                e = ast.Call(e.loc, func=e, type_args=targs, args=args)
            else:
                return e

    def _call_type_args(self) -> list[ast.TypeRef]:
        targs = self.type_args()
        if not self.at("("):
            raise _Backtrack()
        return [a for a in targs if isinstance(a, ast.TypeRef)]


def raw_text(toks: list[Token]) -> str:
    """Source text of a token run: original spacing within a line, one space across lines."""
    parts: list[str] = []
    prev: Token | None = None
    for t in toks:
        if prev is not None:
            same_line = prev.loc.file == t.loc.file and prev.loc.line == t.loc.line
            gap = t.loc.col - (prev.loc.col + len(prev.text)) if same_line else 0
            if same_line and gap > 0:
                parts.append(" " * gap)
            elif not same_line or t.space:
                parts.append(" ")
        parts.append(t.text)
        prev = t
    return "".join(parts)


def parse_tokens(tokens: list[Token]) -> ast.Program:
    """Parse preprocessed tokens into a Program."""
    return Parser(tokens).parse_program()

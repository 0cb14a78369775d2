"""The state the code generator's converters share while generating one program.

The generator is a set of converters (`exprs.ExprConverter`, `externs.CallConverter`,
`controlgen.ControlConverter`, `parsergen.ParserConverter`), each built around one
`GenContext`. A converter imports the ones below it (expressions < calls < controls <
parsers < `codegen.Generator`); the two calls that go upwards (an expression that is a
call or a table apply, a call that applies a control or names an action) go through
the `CallHooks` and `ControlHooks` the generator installs in the context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from softswitch.engine.values import TypeRegistry
from softswitch.frontend import ast as A

if TYPE_CHECKING:
    from softswitch.runtime.state import DeviceState

LOC_TAG = "# @p4 "  # trailing comment naming the P4 statement a generated line runs


class UnsupportedError(Exception):
    """A construct the engine refuses; str() is `file:line:col: <what> is not supported`."""

    def __init__(self, loc: A.Loc | None, what: str) -> None:
        self.loc = loc or A.NOLOC
        self.what = what
        super().__init__(f"{self.loc}: {what} is not supported")


@dataclass
class Fn:
    """The function being generated: its body lines and its name bindings."""

    name: str
    lines: list[str] = field(default_factory=list)
    indent: int = 1
    locals: dict[int, str] = field(default_factory=dict)  # id(decl) -> Python local
    globals_assigned: set[str] = field(default_factory=set)
    outs: list[str] = field(default_factory=list)  # scalar out/inout params returned
    returns_value: bool = False
    ntmp: int = 0
    # an action: an exit inside it carries its out/inout values (`_ExitOut`), which
    # a call from a control copies out, as BMv2 does; a call from an action does not
    is_action: bool = False
    ret_type: A.Type | None = None  # a function's return type

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def mark(self, start: int, loc: A.Loc) -> None:
        """Tag the first line emitted since `start` with the P4 location it runs.

        A packet error is reported at the nearest tag above the failing line.
        """
        if start < len(self.lines) and loc.line:
            self.lines[start] += f"  {LOC_TAG}{loc}"

    def tmp(self, hint: str = "t") -> str:
        self.ntmp += 1
        return f"_{hint}{self.ntmp}"

    def ret_stmt(self, value: str | None) -> str:
        vals = ([value] if self.returns_value and value is not None else []) + self.outs
        if not vals:
            return "return"
        if len(vals) == 1 and not (self.returns_value and self.outs):
            return f"return {vals[0]}"
        return f"return ({', '.join(vals)},)"

    def source(self, header: str) -> list[str]:
        out = [header]
        if self.globals_assigned:
            out.append("    global " + ", ".join(sorted(self.globals_assigned)))
        body = self.lines or ["    pass"]
        if self.is_action and self.outs:
            out.append("    try:")
            out.extend("    " + ln for ln in body)
            out.append("    except _Exit:")
            vals = "".join(o + ", " for o in self.outs)
            out.append(f"        raise _ExitOut(({vals})) from None")
        else:
            out.extend(body)
        end = self.ret_stmt(None)
        if end != "return":
            out.append("    " + end)
        out.append("")
        return out


class CallHooks(Protocol):
    """What expressions need from the call converter."""

    def call(self, c: A.Call, fn: Fn, want_value: bool) -> str | None: ...


class ControlHooks(Protocol):
    """What expressions and calls need from the control converter."""

    def table_apply_expr(self, c: A.Call, fn: Fn, as_stmt: bool = False) -> str | None: ...

    def action_id_of_label(self, lb: A.Expr) -> int: ...

    def control_apply_call(self, child: A.BlockInstance, c: A.Call, fn: Fn) -> None: ...

    def action_for_decl(self, d: A.ActionDecl, loc: A.Loc) -> A.ActionInstance: ...

    def action_fn(self, ai: A.ActionInstance) -> str: ...

    def function_fn(self, d: A.FunctionDecl) -> str: ...


class GenContext:
    """The output and the naming state while generating one program."""

    def __init__(self, e: A.Elaborated, state: DeviceState, cpu_port: int | None) -> None:
        self.e = e
        self.state = state
        self.cpu_port = cpu_port
        self.types = TypeRegistry()
        self.out: list[str] = []  # generated functions, in order
        self.post: list[str] = []  # module-level tables the functions use
        self.ns: dict[str, object] = {}  # runtime objects the module reads as globals
        self._bound: dict[int, str] = {}
        self._idents: set[str] = set()
        # the block being generated; every converter reads it
        self._cur_block: A.BlockInstance | None = None
        self.prefix = ""
        self.frame_names: dict[int, str] = {}
        self.extern_by_decl: dict[int, A.ExternInstance] = {}
        self._stack: list[
            tuple[A.BlockInstance | None, str, dict[int, str], dict[int, A.ExternInstance]]
        ] = []
        self.block_fns: dict[str, str] = {}
        self.action_fns: dict[str, str] = {}
        self.table_fns: dict[str, str] = {}
        self.function_fns: dict[int, str] = {}
        self.private_ids: dict[str, int] = {}
        self.field_lists_used: set[int] = set()
        self.state_fns: dict[str, str] = {}  # the parser being generated: state -> function
        self._calls: CallHooks | None = None
        self._controls: ControlHooks | None = None

    def wire(self, calls: CallHooks, controls: ControlHooks) -> None:
        """Install the converters that expressions and calls reach upwards."""
        self._calls = calls
        self._controls = controls

    @property
    def calls(self) -> CallHooks:
        if self._calls is None:
            raise RuntimeError("code generator used before its converters were wired")
        return self._calls

    @property
    def controls(self) -> ControlHooks:
        if self._controls is None:
            raise RuntimeError("code generator used before its converters were wired")
        return self._controls

    @property
    def cur_block(self) -> A.BlockInstance:
        b = self._cur_block
        if b is None:
            raise RuntimeError("code generated outside a parser or control")
        return b

    # ------------------------------------------------------------ naming

    def ident(self, hint: str) -> str:
        base = "".join(c if c.isalnum() else "_" for c in hint)
        n = base
        i = 1
        while n in self._idents:
            i += 1
            n = f"{base}_{i}"
        self._idents.add(n)
        return n

    def bind(self, obj: object, hint: str) -> str:
        """A module global holding a runtime object (table, register, ...)."""
        name = self._bound.get(id(obj))
        if name is None:
            name = self.ident(f"_{hint}{len(self._bound)}")
            self._bound[id(obj)] = name
            self.ns[name] = obj
        return name

    def enter_block(self, b: A.BlockInstance, prefix: str) -> None:
        self._stack.append((self._cur_block, self.prefix, self.frame_names, self.extern_by_decl))
        self._cur_block = b
        self.prefix = prefix
        self.frame_names = {}
        self.extern_by_decl = {id(ei.decl): ei for ei in b.externs.values()}
        self.block_fns[b.qualname] = prefix

    def leave_block(self) -> None:
        self._cur_block, self.prefix, self.frame_names, self.extern_by_decl = self._stack.pop()

    def error_code(self, name: str) -> int:
        try:
            return self.e.program.errors.index(name)
        except ValueError:
            raise UnsupportedError(None, f"unknown error {name}") from None


def operand(x: A.Expr | A.TypeRef | None, loc: A.Loc) -> A.Expr:
    """A sub-expression the type checker has filled in (refused if it has not)."""
    if not isinstance(x, A.Expr):
        raise UnsupportedError(loc, "an incomplete expression")
    return x

"""The P4_16 abstract syntax tree, its types, and the elaborated program.

This module is the contract between the frontend (parser, type checker,
elaborator), the P4Info builder and the code generator. The parser creates the
nodes; the type checker fills ``Expr.type``, ``PathExpr.decl`` and
``Member.kind``; the elaborator builds :class:`Elaborated`. Change it only by
adding: other modules are written against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --------------------------------------------------------------------------- locations


@dataclass(frozen=True, slots=True)
class Loc:
    """A source position: the original file and line after preprocessing."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NOLOC = Loc("<builtin>", 0, 0)

# --------------------------------------------------------------------------- types
# Types are values: the type checker builds them from TypeRef syntax and
# attaches them to expressions and declarations. Named types (header, struct,
# enum, ...) are compared by identity of their declaration.


@dataclass(frozen=True, slots=True)
class BitT:
    """bit<W> (signed=False) or int<W> (signed=True)."""

    width: int
    signed: bool = False


@dataclass(frozen=True, slots=True)
class VarbitT:
    max_width: int


@dataclass(frozen=True, slots=True)
class InfIntT:
    """The type of an unsized integer literal or compile-time constant."""


@dataclass(frozen=True, slots=True)
class BoolT:
    pass


@dataclass(frozen=True, slots=True)
class StringT:
    pass


@dataclass(frozen=True, slots=True)
class VoidT:
    pass


@dataclass(frozen=True, slots=True)
class ErrorT:
    """The `error` type; members are in Program.errors."""


@dataclass(frozen=True, slots=True)
class MatchKindT:
    pass


@dataclass(frozen=True, slots=True)
class DontCareT:
    """Type of `_` and of `default` in keysets."""


@dataclass(eq=False, slots=True)
class HeaderT:
    name: str
    fields: list[tuple[str, Type]]
    decl: HeaderDecl | None = None

    def width(self) -> int:
        """Width of the fixed-size fields (a varbit field counts 0: the minimum size)."""
        return sum(type_width(t) for _, t in self.fields if not isinstance(t, VarbitT))


@dataclass(eq=False, slots=True)
class HeaderUnionT:
    name: str
    fields: list[tuple[str, Type]]
    decl: HeaderUnionDecl | None = None


@dataclass(eq=False, slots=True)
class StructT:
    name: str
    fields: list[tuple[str, Type]]
    decl: StructDecl | None = None


@dataclass(frozen=True, slots=True)
class StackT:
    """A header stack `H[size]`."""

    elem: Type
    size: int


@dataclass(eq=False, slots=True)
class EnumT:
    """`enum` (underlying None) or serializable `enum bit<W>`."""

    name: str
    members: list[str]
    underlying: BitT | None = None
    values: dict[str, int] = field(default_factory=dict)  # serializable enums only
    decl: EnumDecl | None = None


@dataclass(eq=False, slots=True)
class NewTypeT:
    """`type bit<9> PortId_t;`: a distinct type over a base type."""

    name: str
    base: Type
    decl: TypedefDecl | None = None


@dataclass(frozen=True, slots=True)
class TupleT:
    elems: tuple[Type, ...]


@dataclass(eq=False, slots=True)
class ExternT:
    """An extern object type, possibly specialized: register<bit<32>>."""

    name: str
    decl: ExternDecl
    type_args: tuple[Type, ...] = ()


@dataclass(eq=False, slots=True)
class ParserT:
    name: str
    decl: ParserDecl | ParserTypeDecl
    type_args: tuple[Type, ...] = ()


@dataclass(eq=False, slots=True)
class ControlT:
    name: str
    decl: ControlDecl | ControlTypeDecl
    type_args: tuple[Type, ...] = ()


@dataclass(eq=False, slots=True)
class PackageT:
    name: str
    decl: PackageDecl
    type_args: tuple[Type, ...] = ()


@dataclass(eq=False, slots=True)
class TableT:
    """Type of a table name; `t.apply()` returns ApplyResultT."""

    decl: TableDecl


@dataclass(eq=False, slots=True)
class ApplyResultT:
    """Result of t.apply(): has .hit, .miss, .action_run."""

    table: TableDecl


@dataclass(eq=False, slots=True)
class ActionEnumT:
    """Type of t.apply().action_run."""

    table: TableDecl


@dataclass(eq=False, slots=True)
class TypeVarT:
    """A generic type parameter before substitution."""

    name: str


@dataclass(eq=False, slots=True)
class FunctionT:
    """Type of an action, function or method name."""

    decl: Declaration
    params: list[Param]
    ret: Type


Type = (
    BitT
    | VarbitT
    | InfIntT
    | BoolT
    | StringT
    | VoidT
    | ErrorT
    | MatchKindT
    | DontCareT
    | HeaderT
    | HeaderUnionT
    | StructT
    | StackT
    | EnumT
    | NewTypeT
    | TupleT
    | ExternT
    | ParserT
    | ControlT
    | PackageT
    | TableT
    | ApplyResultT
    | ActionEnumT
    | TypeVarT
    | FunctionT
)


def type_width(t: Type) -> int:
    """Width in bits of a fixed-width type (bit/int/bool/serializable enum/new type/header)."""
    if isinstance(t, BitT):
        return t.width
    if isinstance(t, BoolT):
        return 1
    if isinstance(t, NewTypeT):
        return type_width(t.base)
    if isinstance(t, EnumT) and t.underlying is not None:
        return t.underlying.width
    if isinstance(t, HeaderT | StructT):
        return sum(type_width(ft) for _, ft in t.fields)
    if isinstance(t, StackT):
        return type_width(t.elem) * t.size
    raise TypeError(f"type {t!r} has no fixed width")


# --------------------------------------------------------------------------- type syntax


@dataclass(eq=False, slots=True)
class TypeRef:
    """Type as written: `bit<8>`, `H`, `register<bit<32>>`, `H[4]`, `tuple<...>`.

    name is a keyword ("bit", "int", "varbit", "bool", "error", "string",
    "void", "match_kind", "tuple", "_") or a declared type's name.
    """

    loc: Loc
    name: str
    args: list[TypeRef | Expr] = field(default_factory=list)  # bit<W>: [IntLit]; generics: TypeRefs
    stack_size: Expr | None = None  # H[n]
    resolved: Type | None = None  # set by the type checker


# --------------------------------------------------------------------------- annotations


@dataclass(eq=False, slots=True)
class Annotation:
    """`@name(body)`. `body` is the exact source text between the parentheses
    (None when there are none); `args` are the parsed expressions when the body
    is an expression list (e.g. @name("x"), @id(5), @controller_header("packet_in"))."""

    loc: Loc
    name: str
    body: str | None = None
    args: list[Expr] = field(default_factory=list)
    kv: dict[str, Expr] = field(default_factory=dict)  # @name[key=value, ...] structured form


def find_annotation(annos: list[Annotation], name: str) -> Annotation | None:
    for a in annos:
        if a.name == name:
            return a
    return None


# --------------------------------------------------------------------------- expressions


@dataclass(eq=False, slots=True)
class Expr:
    loc: Loc
    type: Type | None = field(default=None, kw_only=True)  # set by the type checker
    # compile-time value when the type checker could fold it (int, bool, str,
    # or a tuple of those); None when not constant.
    const: object | None = field(default=None, kw_only=True)


@dataclass(eq=False, slots=True)
class IntLit(Expr):
    value: int = 0
    width: int | None = None  # 8w5 -> 8; plain 5 -> None
    signed: bool = False  # 8s5
    base: int = 10  # as written: 16 for 0x.., 8 for 0o.., 2 for 0b..


@dataclass(eq=False, slots=True)
class BoolLit(Expr):
    value: bool = False


@dataclass(eq=False, slots=True)
class StringLit(Expr):
    value: str = ""


@dataclass(eq=False, slots=True)
class PathExpr(Expr):
    """A name; `.name` (leading dot) means top-level scope."""

    name: str = ""
    absolute: bool = False
    decl: object | None = None  # the Declaration/Param/local it resolves to


@dataclass(eq=False, slots=True)
class Member(Expr):
    """`expr.name`. kind (set by the type checker) tells what it is:
    "field" (header/struct field), "stack_next" / "stack_last" / "stack_size" /
    "stack_lastIndex" (header stacks), "method" (a method of an extern,
    header, stack, table or parser/control: isValid, setValid, setInvalid,
    apply, push_front, pop_front, minSizeInBits, minSizeInBytes, extract, emit,
    lookahead, advance, length, read, write, count, execute, ...),
    "enum_member", "error_member", "hit", "miss", "action_run", "type_member"
    (e.g. hdr_t.minSizeInBytes on a type name)."""

    expr: Expr | TypeRef | None = None
    name: str = ""
    kind: str | None = None


@dataclass(eq=False, slots=True)
class Index(Expr):
    """stack[i]."""

    expr: Expr | None = None
    index: Expr | None = None


@dataclass(eq=False, slots=True)
class Slice(Expr):
    """e[hi:lo]; hi and lo are compile-time constants."""

    expr: Expr | None = None
    hi: Expr | None = None
    lo: Expr | None = None


@dataclass(eq=False, slots=True)
class Unary(Expr):
    op: str = ""  # "-", "~", "!", "+"
    expr: Expr | None = None


@dataclass(eq=False, slots=True)
class Binary(Expr):
    # "+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "&&", "||",
    # "==", "!=", "<", "<=", ">", ">=", "++", "|+|", "|-|"
    op: str = ""
    left: Expr | None = None
    right: Expr | None = None


@dataclass(eq=False, slots=True)
class Ternary(Expr):
    cond: Expr | None = None
    then: Expr | None = None
    other: Expr | None = None


@dataclass(eq=False, slots=True)
class Cast(Expr):
    to: TypeRef | None = None
    expr: Expr | None = None


@dataclass(eq=False, slots=True)
class Arg:
    loc: Loc
    expr: Expr | None  # None for `_` don't-care argument
    name: str | None = None  # named argument


@dataclass(eq=False, slots=True)
class Call(Expr):
    """f(args), obj.method(args), with optional explicit type arguments."""

    func: Expr | None = None
    type_args: list[TypeRef] = field(default_factory=list)
    args: list[Arg] = field(default_factory=list)
    # Set by the type checker: the declaration called (ActionDecl,
    # FunctionDecl, ExternDecl method, ExternFunctionDecl, ...), and the
    # substituted type arguments for generic callees.
    callee: object | None = None
    inferred_type_args: dict[str, Type] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class Mask(Expr):
    """value &&& mask (keysets, const entries)."""

    value: Expr | None = None
    mask: Expr | None = None


@dataclass(eq=False, slots=True)
class Range(Expr):
    """lo .. hi (keysets, const entries)."""

    lo: Expr | None = None
    hi: Expr | None = None


@dataclass(eq=False, slots=True)
class Default(Expr):
    """`default` or `_` in a keyset."""

    dont_care: bool = False  # True for `_`


@dataclass(eq=False, slots=True)
class ListExpr(Expr):
    """{a, b, c}: tuple/list expression or a keyset tuple."""

    items: list[Expr] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class StructInit(Expr):
    """{ f1 = e1, f2 = e2 } or (T){...}."""

    fields: list[tuple[str, Expr]] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class TypeExpr(Expr):
    """A type used where an expression is expected (e.g. `hdr_t.minSizeInBytes()`,
    `error.NoMatch` is a Member on PathExpr('error') instead)."""

    ref: TypeRef | None = None


# --------------------------------------------------------------------------- statements


@dataclass(eq=False, slots=True)
class Stmt:
    loc: Loc


@dataclass(eq=False, slots=True)
class Assign(Stmt):
    lhs: Expr
    rhs: Expr


@dataclass(eq=False, slots=True)
class CallStmt(Stmt):
    call: Call


@dataclass(eq=False, slots=True)
class If(Stmt):
    cond: Expr
    then: Stmt
    other: Stmt | None = None


@dataclass(eq=False, slots=True)
class Block(Stmt):
    stmts: list[Stmt | Declaration] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class SwitchCase:
    loc: Loc
    # Labels: action names (PathExpr) for `switch (t.apply().action_run)`,
    # constant expressions for switch on bit<W>/enum, Default for `default`.
    labels: list[Expr]
    body: Block | None  # None = fall through to the next case


@dataclass(eq=False, slots=True)
class Switch(Stmt):
    expr: Expr
    cases: list[SwitchCase] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Exit(Stmt):
    pass


@dataclass(eq=False, slots=True)
class Return(Stmt):
    expr: Expr | None = None


@dataclass(eq=False, slots=True)
class Empty(Stmt):
    pass


# --------------------------------------------------------------------------- declarations


@dataclass(eq=False, slots=True)
class Declaration:
    loc: Loc
    name: str
    annotations: list[Annotation] = field(default_factory=list, kw_only=True)


@dataclass(eq=False, slots=True)
class FieldDecl(Declaration):
    type: TypeRef


@dataclass(eq=False, slots=True)
class HeaderDecl(Declaration):
    fields: list[FieldDecl] = field(default_factory=list)
    resolved: HeaderT | None = None


@dataclass(eq=False, slots=True)
class HeaderUnionDecl(Declaration):
    fields: list[FieldDecl] = field(default_factory=list)
    resolved: HeaderUnionT | None = None


@dataclass(eq=False, slots=True)
class StructDecl(Declaration):
    fields: list[FieldDecl] = field(default_factory=list)
    resolved: StructT | None = None


@dataclass(eq=False, slots=True)
class TypedefDecl(Declaration):
    """`typedef T name;` (is_newtype False) or `type T name;` (True)."""

    type: TypeRef
    is_newtype: bool = False
    resolved: Type | None = None


@dataclass(eq=False, slots=True)
class EnumDecl(Declaration):
    members: list[str] = field(default_factory=list)
    underlying: TypeRef | None = None  # serializable enum
    values: list[Expr | None] = field(default_factory=list)  # per member, serializable only
    resolved: EnumT | None = None


@dataclass(eq=False, slots=True)
class ErrorDecl(Declaration):
    """`error { A, B }` (name is "error"); all are merged into Program.errors."""

    members: list[str] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class MatchKindDecl(Declaration):
    members: list[str] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class ConstDecl(Declaration):
    type: TypeRef
    value: Expr


@dataclass(eq=False, slots=True)
class VarDecl(Declaration):
    """A local variable (in a block, action, parser or control)."""

    type: TypeRef
    init: Expr | None = None


@dataclass(eq=False, slots=True)
class Param:
    loc: Loc
    direction: str  # "in", "out", "inout", "" (directionless)
    type: TypeRef
    name: str
    default: Expr | None = None
    annotations: list[Annotation] = field(default_factory=list)
    resolved: Type | None = None


@dataclass(eq=False, slots=True)
class MethodDecl(Declaration):
    """A method or constructor prototype inside an extern object."""

    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    ret: TypeRef | None = None  # None for constructors
    is_abstract: bool = False


@dataclass(eq=False, slots=True)
class ExternDecl(Declaration):
    """`extern Name<T> { ctors; methods }`."""

    type_params: list[str] = field(default_factory=list)
    methods: list[MethodDecl] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class ExternFunctionDecl(Declaration):
    """`extern R name<T>(params);`."""

    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    ret: TypeRef | None = None


@dataclass(eq=False, slots=True)
class FunctionDecl(Declaration):
    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    ret: TypeRef | None = None
    body: Block | None = None


@dataclass(eq=False, slots=True)
class ActionDecl(Declaration):
    """Directional params come from the table/caller; directionless ones
    are the action data set by the control plane."""

    params: list[Param] = field(default_factory=list)
    body: Block | None = None


@dataclass(eq=False, slots=True)
class BuiltinMethod(Declaration):
    """Callee (Call.callee) of a built-in method: "isValid", "setValid",
    "setInvalid", "push_front", "pop_front", "minSizeInBits", "minSizeInBytes"
    (on headers, stacks and types). Tables' and parser/control instances'
    `apply` have the TableDecl / ParserDecl / ControlDecl as callee instead."""

    target: object | None = None  # the header/stack Type the method belongs to


@dataclass(eq=False, slots=True)
class ActionRef:
    """An entry of a table's `actions` list or default_action/entry action."""

    loc: Loc
    name: PathExpr
    args: list[Arg] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)  # @tableonly, @defaultonly
    decl: ActionDecl | None = None  # set by the type checker


@dataclass(eq=False, slots=True)
class KeyElement:
    loc: Loc
    expr: Expr
    match_kind: str  # "exact", "ternary", "lpm", "range", "optional", "selector"
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class TableEntry:
    """A (const) entry: keyset (one expr per key; Mask/Range/Default/value),
    action, optional priority."""

    loc: Loc
    keys: list[Expr]
    action: ActionRef
    priority: Expr | None = None
    is_const: bool = True
    annotations: list[Annotation] = field(default_factory=list)
    keyset_loc: Loc | None = None  # where the keyset starts (after any `priority = N :`)


@dataclass(eq=False, slots=True)
class TableProperty:
    """Any table property not given its own field (e.g. counters, meters,
    implementation, support_timeout, custom properties)."""

    loc: Loc
    name: str
    value: Expr | None
    is_const: bool = False
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class TableDecl(Declaration):
    keys: list[KeyElement] = field(default_factory=list)
    actions: list[ActionRef] = field(default_factory=list)
    default_action: ActionRef | None = None
    default_action_const: bool = False
    entries: list[TableEntry] = field(default_factory=list)
    entries_const: bool = True
    size: Expr | None = None
    properties: list[TableProperty] = field(default_factory=list)  # counters=, meters=, ...
    prop_locs: dict[str, Loc] = field(default_factory=dict)  # where each property is written


@dataclass(eq=False, slots=True)
class Instantiation(Declaration):
    """`T<args>(ctor args) name;` (extern, parser, control or package)."""

    type: TypeRef
    args: list[Arg] = field(default_factory=list)
    resolved: Type | None = None  # ExternT / ParserT / ControlT / PackageT


@dataclass(eq=False, slots=True)
class ValueSetDecl(Declaration):
    """`value_set<T>(size) name;` in a parser."""

    elem_type: TypeRef
    size: Expr


@dataclass(eq=False, slots=True)
class SelectCase:
    loc: Loc
    keyset: Expr  # value, Mask, Range, Default, ListExpr of those, or PathExpr to a value_set
    state: str


@dataclass(eq=False, slots=True)
class Transition:
    """`transition state;` (select is None) or `transition select(...) {...}`."""

    loc: Loc
    state: str | None = None
    select: list[Expr] | None = None
    cases: list[SelectCase] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class ParserState(Declaration):
    stmts: list[Stmt | Declaration] = field(default_factory=list)
    transition: Transition | None = None  # None only for accept/reject


@dataclass(eq=False, slots=True)
class ParserTypeDecl(Declaration):
    """Abstract parser type: `parser P<H>(packet_in b, out H h);`."""

    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class ControlTypeDecl(Declaration):
    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class ParserDecl(Declaration):
    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    ctor_params: list[Param] = field(default_factory=list)
    locals: list[Declaration] = field(default_factory=list)  # vars, consts, instances, value sets
    states: list[ParserState] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class ControlDecl(Declaration):
    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    ctor_params: list[Param] = field(default_factory=list)
    locals: list[Declaration] = field(
        default_factory=list
    )  # actions, tables, vars, consts, instances
    body: Block | None = None


@dataclass(eq=False, slots=True)
class PackageDecl(Declaration):
    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Program:
    declarations: list[Declaration]
    errors: list[str] = field(default_factory=list)  # all `error` members, in declaration order
    match_kinds: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every source file read (for dependencies)


# --------------------------------------------------------------------------- elaborated program
# The elaborator walks `main` and creates one instance per instantiated
# parser, control and extern, with fully-qualified names as p4c gives them.


@dataclass(eq=False, slots=True)
class ExternInstance:
    qualname: str  # "MyIngress.stats.pkt_counter"
    decl: Instantiation
    extern: ExternDecl
    type_args: tuple[Type, ...]
    ctor_args: list[object]  # folded constant values (int, bool, str, enum member name)


@dataclass(eq=False, slots=True)
class ActionInstance:
    qualname: str  # "MyIngress.set_port", "NoAction"
    decl: ActionDecl
    owner: BlockInstance | None  # None for top-level actions


@dataclass(eq=False, slots=True)
class TableInstance:
    qualname: str
    decl: TableDecl
    owner: BlockInstance
    actions: list[ActionInstance]  # in the order of the `actions` property
    key_names: list[str]  # P4Info match field names (@name or the key expression text)
    direct_counter: ExternInstance | None = None
    direct_meter: ExternInstance | None = None
    implementation: ExternInstance | None = None  # action_profile or action_selector


@dataclass(eq=False, slots=True)
class ValueSetInstance:
    qualname: str
    decl: ValueSetDecl
    owner: BlockInstance


@dataclass(eq=False, slots=True)
class BlockInstance:
    """An instantiated parser or control."""

    qualname: str  # "MyIngress" for top level, "MyIngress.stats" nested
    decl: ParserDecl | ControlDecl
    type_args: tuple[Type, ...] = ()
    ctor_args: dict[str, object] = field(default_factory=dict)  # folded constructor args
    children: dict[str, BlockInstance] = field(default_factory=dict)  # local instance name -> block
    externs: dict[str, ExternInstance] = field(default_factory=dict)
    tables: dict[str, TableInstance] = field(default_factory=dict)
    actions: dict[str, ActionInstance] = field(default_factory=dict)  # local name -> instance
    value_sets: dict[str, ValueSetInstance] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class DigestInstance:
    """One `digest<T>(receiver, data)` call site type; p4c names it after T."""

    name: str  # T's type name, as in P4Info digests
    type: StructT | HeaderT | TupleT
    calls: list[Call] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Elaborated:
    program: Program
    arch: str  # "v1model"
    main: Instantiation
    # v1model block roles: "parser", "verify_checksum", "ingress", "egress",
    # "compute_checksum", "deparser"
    blocks: dict[str, BlockInstance]
    tables: list[TableInstance] = field(default_factory=list)
    actions: list[ActionInstance] = field(
        default_factory=list
    )  # every action instance, deduplicated by qualname
    externs: list[ExternInstance] = field(default_factory=list)
    value_sets: list[ValueSetInstance] = field(default_factory=list)
    digests: list[DigestInstance] = field(default_factory=list)
    # @controller_header("packet_in"/"packet_out") header types
    controller_headers: dict[str, HeaderT] = field(default_factory=dict)
    # header/struct types of the v1model blocks' H and M type arguments
    headers_type: StructT | None = None
    metadata_type: StructT | None = None

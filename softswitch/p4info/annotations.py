"""P4 annotations as p4c writes them into P4Info.

p4c prints each annotation back with its ToP4 pretty-printer
(``Helpers::serializeOneAnnotation``):

* annotations p4c parses (``@noWarn("x")``, ``@controller_header("x")``,
  ``@length(e)``, ...) print their expressions joined by ``", "``;
* key/value annotations print ``@name(k=v, ...)``;
* every other annotation keeps its unparsed token list, printed with one
  space between tokens (``@my_anno(1, 2)`` becomes ``@my_anno(1 , 2)``);
* an annotation without a body prints as ``@name``.

``@name``, ``@id``, ``@brief`` and ``@description`` never appear (they have
their own P4Info fields); structured annotations (``@x[...]``) go to
``structured_annotations`` instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from p4.config.v1 import p4info_pb2

from softswitch.frontend import ast

# Annotations whose body p4c parses into expressions (frontend ParseAnnotations
# plus the P4Runtime ones); their text is ToP4 of the expressions.
_PARSED_EXPRESSION = frozenset(
    {
        "name",
        "deprecated",
        "noWarn",
        "length",
        "controller_header",
        "id",
        "brief",
        "description",
        "max_group_size",
        "selector_size_semantics",
        "max_member_weight",
        "p4runtime_translation",
        "match",
    }
)

# Represented by their own P4Info fields, never as annotation strings.
_NEVER_PRINTED = frozenset({"name", "id", "brief", "description"})

_TOKEN_RE = re.compile(
    r"""
    \s+
  | //[^\n]*
  | /\*.*?\*/
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>\d+[wsWS][0-9a-fA-FxXoObB_]+|0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>&&&|\|\+\||\|-\||\.\.|<<|==|!=|<=|>=|&&|\|\||\+\+|[^\sA-Za-z0-9_])
    """,
    re.VERBOSE | re.DOTALL,
)


def tokenize_body(body: str) -> list[tuple[str, bool]]:
    """Split an annotation body into (token text, is string literal) pairs.

    String literal text is returned without its quotes, as p4c's lexer keeps it.
    """
    tokens: list[tuple[str, bool]] = []
    pos = 0
    while pos < len(body):
        m = _TOKEN_RE.match(body, pos)
        if m is None or m.end() == pos:
            # Unknown character: keep it as a one-character token.
            tokens.append((body[pos], False))
            pos += 1
            continue
        pos = m.end()
        if m.group("string") is not None:
            tokens.append((m.group("string")[1:-1], True))
        elif m.lastgroup in ("number", "ident", "punct"):
            tokens.append((m.group(m.lastgroup), False))
    return tokens


def _expr_text(expr: ast.Expr) -> str:
    """ToP4 of the simple expressions that appear in parsed annotations."""
    if isinstance(expr, ast.StringLit):
        return '"' + expr.value + '"'
    if isinstance(expr, ast.BoolLit):
        return "true" if expr.value else "false"
    if isinstance(expr, ast.IntLit):
        if expr.width is not None:
            return f"{expr.width}{'s' if expr.signed else 'w'}{expr.value}"
        return str(expr.value)
    if isinstance(expr, ast.PathExpr):
        return ("." if expr.absolute else "") + expr.name
    if isinstance(expr, ast.Member) and isinstance(expr.expr, ast.Expr):
        return _expr_text(expr.expr) + "." + expr.name
    raise ValueError("unsupported annotation expression")


def annotation_text(anno: ast.Annotation) -> str:
    """The string p4c puts in a P4Info ``annotations`` field for ``anno``."""
    if anno.kv:
        parts = [f"{k}={_expr_text(v)}" for k, v in anno.kv.items()]
        return f"@{anno.name}(" + ", ".join(parts) + ")"
    body = (anno.body or "").strip()
    if not body:
        return "@" + anno.name
    if anno.name in _PARSED_EXPRESSION and anno.args:
        try:
            return f"@{anno.name}(" + ", ".join(_expr_text(a) for a in anno.args) + ")"
        except ValueError:
            pass
    words = [('"' + text + '"') if is_str else text for text, is_str in tokenize_body(body)]
    return f"@{anno.name}(" + " ".join(words) + ")"


def is_structured(anno: ast.Annotation) -> bool:
    """Whether ``anno`` is a structured annotation (``@name[...]``).

    The AST keeps ``kv`` for the bracketed key/value form; ``@pkginfo(k=v)``
    is the one unstructured key/value annotation p4c knows.
    """
    if anno.kv and anno.name != "pkginfo":
        return True
    return anno.body is not None and anno.body.lstrip().startswith("[")


def add_annotations(
    message: p4info_pb2.Preamble
    | p4info_pb2.MatchField
    | p4info_pb2.ActionRef
    | p4info_pb2.Action.Param
    | p4info_pb2.ControllerPacketMetadata.Metadata
    | p4info_pb2.PkgInfo,
    annotations: Iterable[ast.Annotation],
    skip: Callable[[str], bool] = lambda _name: False,
) -> None:
    """Append annotations as p4c's Helpers::addAnnotations does."""
    for anno in annotations:
        if is_structured(anno):
            _add_structured(message, anno)
            continue
        if anno.name in _NEVER_PRINTED or skip(anno.name):
            continue
        message.annotations.append(annotation_text(anno))


def _add_structured(message: object, anno: ast.Annotation) -> None:
    structured = message.structured_annotations.add()  # type: ignore[attr-defined]
    structured.name = anno.name
    if anno.kv:
        for key, value in anno.kv.items():
            kv = structured.kv_pair_list.kv_pairs.add()
            kv.key = key
            _set_expression(kv.value, value)
    elif anno.args:
        for arg in anno.args:
            _set_expression(structured.expression_list.expressions.add(), arg)


def _set_expression(out: p4info_pb2.Expression, expr: ast.Expr) -> None:
    if isinstance(expr, ast.StringLit):
        out.string_value = expr.value
    elif isinstance(expr, ast.BoolLit):
        out.bool_value = expr.value
    elif isinstance(expr, ast.IntLit):
        out.int64_value = expr.value
    elif isinstance(expr.const, bool):
        out.bool_value = expr.const
    elif isinstance(expr.const, int):
        out.int64_value = expr.const
    elif isinstance(expr.const, str):
        out.string_value = expr.const


def add_documentation(
    message: p4info_pb2.Preamble
    | p4info_pb2.MatchField
    | p4info_pb2.Action.Param
    | p4info_pb2.PkgInfo,
    annotations: Iterable[ast.Annotation],
) -> None:
    """Set ``doc`` from @brief / @description when either is present."""
    for anno in annotations:
        if anno.name in ("brief", "description"):
            text = _string_arg(anno)
            if anno.name == "brief":
                message.doc.brief = text
            else:
                message.doc.description = text


def _string_arg(anno: ast.Annotation) -> str:
    if anno.args and isinstance(anno.args[0], ast.StringLit):
        return anno.args[0].value
    tokens = tokenize_body(anno.body or "")
    return tokens[0][0] if tokens else ""


def string_annotation(annotations: Iterable[ast.Annotation], name: str) -> str | None:
    """The string argument of annotation ``name`` (e.g. @name, @controller_header)."""
    anno = ast.find_annotation(list(annotations), name)
    if anno is None:
        return None
    return _string_arg(anno)


def int_annotation(annotations: Iterable[ast.Annotation], name: str) -> int | None:
    """The integer argument of annotation ``name`` (e.g. @id(5))."""
    anno = ast.find_annotation(list(annotations), name)
    if anno is None:
        return None
    if anno.args:
        arg = anno.args[0]
        if isinstance(arg, ast.IntLit):
            return arg.value
        if isinstance(arg.const, int) and not isinstance(arg.const, bool):
            return arg.const
    tokens = tokenize_body(anno.body or "")
    if not tokens:
        return None
    return _parse_int(tokens[0][0])


def _parse_int(text: str) -> int:
    m = re.fullmatch(r"(\d+)[wsWS](.+)", text)
    if m:
        text = m.group(2)
    text = text.replace("_", "")
    lower = text.lower()
    if lower.startswith("0x"):
        return int(lower[2:], 16)
    if lower.startswith("0b"):
        return int(lower[2:], 2)
    if lower.startswith("0o"):
        return int(lower[2:], 8)
    return int(text)


def has_annotation(annotations: Iterable[ast.Annotation], name: str) -> bool:
    return ast.find_annotation(list(annotations), name) is not None

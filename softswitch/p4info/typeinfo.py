"""P4 types to P4Runtime type specs, filling ``P4Info.type_info`` as p4c's
TypeSpecConverter does: named types (structs, headers, header unions, enums,
serializable enums, new types, error) are referenced by name and described
once in ``type_info``; bit strings, bool, tuples and stacks are inline.
"""

from __future__ import annotations

from p4.config.v1 import p4types_pb2

from softswitch.frontend import ast
from softswitch.p4info.annotations import string_annotation


class TypeInfoError(ValueError):
    """A type P4Runtime cannot describe."""


def control_plane_name(decl: ast.Declaration | None, fallback: str) -> str:
    """A declaration's external name: its @name if it has one."""
    if decl is None:
        return fallback
    name = string_annotation(decl.annotations, "name")
    if name is None:
        return fallback
    return name[1:] if name.startswith(".") else name


def translation(t: ast.NewTypeT) -> tuple[str, int] | None:
    """(uri, controller bit width) of a ``@p4runtime_translation`` new type; width 0 for string."""
    if t.decl is None:
        return None
    anno = ast.find_annotation(t.decl.annotations, "p4runtime_translation")
    if anno is None:
        return None
    uri = ""
    width = 0
    if anno.args:
        first = anno.args[0]
        if isinstance(first, ast.StringLit):
            uri = first.value
        if len(anno.args) > 1:
            second = anno.args[1]
            if isinstance(second, ast.IntLit):
                width = second.value
            elif isinstance(second.const, int) and not isinstance(second.const, bool):
                width = second.const
    return uri, width


def p4runtime_width(t: ast.Type) -> int:
    """Bit width as P4Info reports it (getTypeWidth in p4c)."""
    if isinstance(t, ast.NewTypeT):
        tr = translation(t)
        if tr is not None:
            return tr[1]
        return p4runtime_width(t.base)
    if isinstance(t, ast.ErrorT):
        return 0
    return ast.type_width(t)


def new_type_name(t: ast.Type) -> str | None:
    """``type_name`` for match fields, params and metadata of a new type."""
    if isinstance(t, ast.NewTypeT):
        return control_plane_name(t.decl, t.name)
    return None


class TypeSpecConverter:
    """Converts AST types into P4DataTypeSpec, recording named types in ``info``."""

    def __init__(self, info: p4types_pb2.P4TypeInfo, program: ast.Program) -> None:
        self.info = info
        self.program = program

    def convert(self, t: ast.Type) -> p4types_pb2.P4DataTypeSpec:
        spec = p4types_pb2.P4DataTypeSpec()
        if isinstance(t, ast.BitT):
            bits = spec.bitstring.int if t.signed else spec.bitstring.bit
            bits.bitwidth = t.width
        elif isinstance(t, ast.VarbitT):
            spec.bitstring.varbit.max_bitwidth = t.max_width
        elif isinstance(t, ast.BoolT):
            spec.bool.SetInParent()
        elif isinstance(t, ast.TupleT):
            spec.tuple.SetInParent()
            for elem in t.elems:
                spec.tuple.members.add().CopyFrom(self.convert(elem))
        elif isinstance(t, ast.StructT):
            spec.struct.name = self._struct(t)
        elif isinstance(t, ast.HeaderT):
            spec.header.name = self._header(t)
        elif isinstance(t, ast.HeaderUnionT):
            spec.header_union.name = self._header_union(t)
        elif isinstance(t, ast.StackT):
            elem = t.elem
            if isinstance(elem, ast.HeaderT):
                spec.header_stack.header.name = self._header(elem)
                spec.header_stack.size = t.size
            elif isinstance(elem, ast.HeaderUnionT):
                spec.header_union_stack.header_union.name = self._header_union(elem)
                spec.header_union_stack.size = t.size
            else:
                raise TypeInfoError(f"unexpected stack element type {elem!r}")
        elif isinstance(t, ast.EnumT):
            if t.underlying is None:
                spec.enum.name = self._enum(t)
            else:
                spec.serializable_enum.name = self._ser_enum(t)
        elif isinstance(t, ast.ErrorT):
            spec.error.SetInParent()
            self._error()
        elif isinstance(t, ast.NewTypeT):
            spec.new_type.name = self._new_type(t)
        else:
            raise TypeInfoError(f"type {t!r} has no P4Runtime type spec")
        return spec

    def record(self, t: ast.Type) -> None:
        """Describe ``t`` in type_info if it is a named type (result unused)."""
        if isinstance(t, ast.BitT | ast.BoolT | ast.VarbitT | ast.InfIntT):
            return
        self.convert(t)

    def _struct(self, t: ast.StructT) -> str:
        name = control_plane_name(t.decl, t.name)
        if name not in self.info.structs:
            # Insert first: recursive types would otherwise loop.
            spec = p4types_pb2.P4StructTypeSpec()
            for field_name, field_type in t.fields:
                member = spec.members.add()
                member.name = field_name
                member.type_spec.CopyFrom(self.convert(field_type))
            self.info.structs[name].CopyFrom(spec)
        return name

    def _header(self, t: ast.HeaderT) -> str:
        name = control_plane_name(t.decl, t.name)
        if name not in self.info.headers:
            spec = p4types_pb2.P4HeaderTypeSpec()
            for field_name, field_type in flatten_fields(t.fields):
                member = spec.members.add()
                member.name = field_name
                inner = self.convert(field_type)
                if not inner.HasField("bitstring"):
                    raise TypeInfoError(f"header {name}: field {field_name} is not a bit string")
                member.type_spec.CopyFrom(inner.bitstring)
            self.info.headers[name].CopyFrom(spec)
        return name

    def _header_union(self, t: ast.HeaderUnionT) -> str:
        name = control_plane_name(t.decl, t.name)
        if name not in self.info.header_unions:
            spec = p4types_pb2.P4HeaderUnionTypeSpec()
            for field_name, field_type in t.fields:
                if not isinstance(field_type, ast.HeaderT):
                    raise TypeInfoError(f"header union {name}: {field_name} is not a header")
                member = spec.members.add()
                member.name = field_name
                member.header.name = self._header(field_type)
            self.info.header_unions[name].CopyFrom(spec)
        return name

    def _enum(self, t: ast.EnumT) -> str:
        name = control_plane_name(t.decl, t.name)
        if name not in self.info.enums:
            spec = p4types_pb2.P4EnumTypeSpec()
            for member_name in t.members:
                spec.members.add().name = member_name
            self.info.enums[name].CopyFrom(spec)
        return name

    def _ser_enum(self, t: ast.EnumT) -> str:
        name = control_plane_name(t.decl, t.name)
        if name not in self.info.serializable_enums:
            assert t.underlying is not None
            width = t.underlying.width
            spec = p4types_pb2.P4SerializableEnumTypeSpec()
            spec.underlying_type.bitwidth = width
            nbytes = (width + 7) // 8
            for member_name in t.members:
                member = spec.members.add()
                member.name = member_name
                value = t.values.get(member_name, 0) & ((1 << width) - 1)
                member.value = value.to_bytes(nbytes, "big")
            self.info.serializable_enums[name].CopyFrom(spec)
        return name

    def _error(self) -> None:
        if not self.info.HasField("error"):
            self.info.error.SetInParent()
            self.info.error.members.extend(self.program.errors)

    def _new_type(self, t: ast.NewTypeT) -> str:
        name = control_plane_name(t.decl, t.name)
        if name not in self.info.new_types:
            spec = p4types_pb2.P4NewTypeSpec()
            tr = translation(t)
            if tr is None:
                base = self.convert(t.base)
                if base.HasField("bitstring"):
                    spec.original_type.bitstring.CopyFrom(base.bitstring)
                else:
                    spec.original_type.SetInParent()
            else:
                spec.translated_type.uri = tr[0]
                if tr[1]:
                    spec.translated_type.sdn_bitwidth = tr[1]
                else:
                    spec.translated_type.sdn_string.SetInParent()
            self.info.new_types[name].CopyFrom(spec)
        return name


def flatten_fields(
    fields: list[tuple[str, ast.Type]], prefix: str = ""
) -> list[tuple[str, ast.Type]]:
    """Header fields with nested structs flattened to ``s.f`` names (p4c's FlattenHeader)."""
    out: list[tuple[str, ast.Type]] = []
    for name, t in fields:
        if isinstance(t, ast.StructT):
            out.extend(flatten_fields(t.fields, prefix + name + "."))
        else:
            out.append((prefix + name, t))
    return out


__all__ = [
    "TypeInfoError",
    "TypeSpecConverter",
    "control_plane_name",
    "flatten_fields",
    "new_type_name",
    "p4runtime_width",
]

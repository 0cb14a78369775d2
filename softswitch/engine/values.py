"""How P4 values live in the generated code: header, struct and stack classes.

* bit<W>/int<W>: Python ints, unsigned, reduced to W bits (int<W> is stored as
  its two's-complement bit pattern). bool: Python bool. enum/error: int.
* A header type becomes a class whose fields are class attributes defaulting
  to 0, so creating one costs no per-field work; `_v` is validity and `_raw`
  the bytes it was extracted from, kept until a field is written so the
  deparser can emit them without re-serializing.
* A struct becomes a class whose scalar fields default to 0 and whose nested
  headers/structs/stacks are created in `__init__`.
* A header stack is a `Stack`: `h` (list of header objects) and `n` (nextIndex).

Generated helpers per type: `_cp_X(src)` (deep copy), `_as_X(dst, src)`
(in-place assignment), `_ser_X(h)` (header to bytes), `_ex_X(h, b)` (bytes
to header).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from softswitch.frontend import ast as A


class Stack:
    """A header stack instance."""

    __slots__ = ("h", "n")

    def __init__(self, h: list[Any]) -> None:
        self.h = h
        self.n = 0


def base_type(t: A.Type | None) -> A.Type | None:
    """The type under any `type` (new type) wrappers."""
    while isinstance(t, A.NewTypeT):
        t = t.base
    return t


def is_aggregate(t: A.Type | None) -> bool:
    """Header, struct, union or stack: values held by reference in the generated code."""
    return isinstance(base_type(t), A.HeaderT | A.StructT | A.HeaderUnionT | A.StackT)


def width_of(t: A.Type | None) -> int:
    """Bit width of a scalar type (bool and bit<1> are 1)."""
    t = base_type(t)
    if isinstance(t, A.BitT):
        return t.width
    if isinstance(t, A.BoolT):
        return 1
    if isinstance(t, A.EnumT) and t.underlying is not None:
        return t.underlying.width
    if isinstance(t, A.ErrorT):
        return 32
    if t is None:
        raise TypeError("expression has no type")
    return A.type_width(t)


class TypeRegistry:
    """Generates one Python class (and helpers) per header/struct type used."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._names: dict[int, str] = {}
        self._used: set[str] = set()

    def _fresh(self, prefix: str, name: str) -> str:
        base = prefix + "".join(c if c.isalnum() else "_" for c in name)
        n = base
        i = 1
        while n in self._used:
            i += 1
            n = f"{base}_{i}"
        self._used.add(n)
        return n

    def cls(self, ty: A.Type | None) -> str:
        """Class name of a header/struct type, generating it on first use."""
        t = base_type(ty)
        decl = getattr(t, "decl", None)
        key = id(decl) if decl is not None else id(t)
        name = self._names.get(key)
        if name is not None:
            return name
        if isinstance(t, A.HeaderT):
            name = self._fresh("H_", t.name)
            self._names[key] = name
            self._gen_header(name, t)
        elif isinstance(t, A.StructT):
            name = self._fresh("S_", t.name)
            self._names[key] = name
            self._gen_struct(name, t)
        elif isinstance(t, A.HeaderUnionT):
            # held like a struct of its member headers
            name = self._fresh("U_", t.name)
            self._names[key] = name
            self._gen_struct(name, t)
        else:
            raise TypeError(f"no class for {t!r}")
        return name

    # ---------------------------------------------------------------- values

    def new(self, t: A.Type | None) -> str:
        """Python expression for a fresh (zero / invalid) value of type t."""
        t = base_type(t)
        if isinstance(t, A.HeaderT | A.StructT | A.HeaderUnionT):
            return f"{self.cls(t)}()"
        if isinstance(t, A.StackT):
            return f"_Stack([{self.cls(t.elem)}() for _ in range({t.size})])"
        if isinstance(t, A.BoolT):
            return "False"
        return "0"

    def copy(self, t: A.Type | None, src: str) -> str:
        """Python expression for a copy of value `src` of type t."""
        t = base_type(t)
        if isinstance(t, A.HeaderT | A.StructT | A.HeaderUnionT):
            return f"_cp_{self.cls(t)}({src})"
        if isinstance(t, A.StackT):
            c = self.cls(t.elem)
            return f"_cp_stack({src}, _cp_{c})"
        return src

    def assign(self, t: A.Type | None, dst: str, src: str) -> str:
        """Statement assigning aggregate `src` into the existing object `dst`."""
        t = base_type(t)
        if isinstance(t, A.HeaderT | A.StructT | A.HeaderUnionT):
            return f"_as_{self.cls(t)}({dst}, {src})"
        if isinstance(t, A.StackT):
            c = self.cls(t.elem)
            return f"_as_stack({dst}, {src}, _as_{c})"
        raise TypeError(f"not an aggregate: {t!r}")

    def eq(self, t: A.Type | None, a: str, b: str) -> str:
        """Python expression: aggregate values a and b of type t are equal (P4 `==`)."""
        t = base_type(t)
        if isinstance(t, A.HeaderT | A.StructT | A.HeaderUnionT):
            return f"_eq_{self.cls(t)}({a}, {b})"
        if isinstance(t, A.StackT):
            return f"all(map(_eq_{self.cls(t.elem)}, {a}.h, {b}.h))"
        return f"({a} == {b})"

    # ------------------------------------------------------------ generation

    def _gen_header(self, name: str, t: A.HeaderT) -> None:
        if any(isinstance(base_type(ft), A.VarbitT) for _, ft in t.fields):
            self._gen_varbit_header(name, t)
            return
        # the leaves, in wire order; a struct field (spec 7.2.2) contributes its
        # own fields as `s.x` and is held as a struct object made on first use
        fields = _header_leaves(t)
        nested = [(f, bt) for f, ft in t.fields if isinstance(bt := base_type(ft), A.StructT)]
        for _, st in nested:
            self.cls(st)
        total = sum(w for _, w, _ in fields)
        L = self.lines
        L.append(f"class {name}:")
        L.append(f"    _W = {total}")
        L.append("    _v = False")
        L.append("    _raw = None")
        for f, ft in t.fields:
            if not isinstance(base_type(ft), A.StructT):
                L.append(f"    {f} = {'False' if isinstance(base_type(ft), A.BoolT) else '0'}")
        if nested:
            L.append("    def __getattr__(self, n):")
            for f, st in nested:
                L.append(f"        if n == {f!r}:")
                L.append(f"            v = self.__dict__[n] = {self.cls(st)}()")
                L.append("            return v")
            L.append("        raise AttributeError(n)")
        L.append("")
        # copy / assign (a struct field is copied, not shared)
        L.append(f"def _cp_{name}(s):")
        L.append(f"    n = {name}()")
        L.append("    n.__dict__.update(s.__dict__)")
        for f, st in nested:
            L.append(f"    if {f!r} in s.__dict__: n.__dict__[{f!r}] = _cp_{self.cls(st)}(s.{f})")
        L.append("    return n")
        L.append(f"def _as_{name}(d, s):")
        L.append("    if d is not s:")
        L.append("        dd = d.__dict__")
        L.append("        dd.clear()")
        L.append("        dd.update(s.__dict__)")
        for f, st in nested:
            L.append(f"        if {f!r} in dd: dd[{f!r}] = _cp_{self.cls(st)}(s.{f})")
        # equality (spec: both invalid, or both valid with equal fields)
        same = " and ".join(f"a.{f} == b.{f}" for f, _, _ in fields) or "True"
        L.append(f"def _eq_{name}(a, b):")
        L.append("    if a._v != b._v:")
        L.append("        return False")
        L.append(f"    return not a._v or ({same})")
        # serialize
        parts = []
        shift = total
        for f, w, ft in fields:
            shift -= w
            v = f"int(h.{f})" if isinstance(ft, A.BoolT) else f"h.{f}"
            parts.append(f"({v} << {shift})" if shift else v)
        nbytes = (total + 7) // 8
        pad = nbytes * 8 - total
        body = " | ".join(parts) if parts else "0"
        if pad:
            body = f"(({body}) << {pad})"
        L.append(f"def _ser_{name}(h):")
        L.append(f"    return ({body}).to_bytes({nbytes}, 'big')")
        # extract from exactly nbytes bytes
        L.append(f"def _ex_{name}(h, b):")
        L.append("    v = int.from_bytes(b, 'big')")
        if pad:
            L.append(f"    v >>= {pad}")
        shift = total
        for f, w, ft in fields:
            shift -= w
            m = (1 << w) - 1
            if shift == 0 and w == total:
                e = "v"
            elif shift == 0:
                e = f"v & {m:#x}"
            elif shift + w == total:
                e = f"v >> {shift}"
            else:
                e = f"(v >> {shift}) & {m:#x}"
            if isinstance(ft, A.BoolT):
                e = f"({e}) == 1"
            L.append(f"    h.{f} = {e}")
        L.append("    h._v = True")
        if not nested:
            # a struct field can be written through a reference that does not know
            # its header: such headers are always serialized again
            L.append("    h._raw = b")
        L.append("")

    def _gen_varbit_header(self, name: str, t: A.HeaderT) -> None:
        """A header with a varbit field: `_vl_<f>` holds the field's current width.

        `_exv_X(h, b, n)` extracts with the varbit `n` bits wide from exactly the
        bytes it takes; `_ser_X` writes the current width.
        """
        fields: list[tuple[str, int | str, A.Type | None]] = []
        fixed = 0
        for f, fty in t.fields:
            bt = base_type(fty)
            if isinstance(bt, A.VarbitT):
                fields.append((f, f"h._vl_{f}", bt))
            else:
                fw = width_of(bt)
                fixed += fw
                fields.append((f, fw, bt))
        L = self.lines
        L.append(f"class {name}:")
        L.append(f"    _W = {fixed}")
        L.append("    _v = False")
        L.append("    _raw = None")
        for f, w, ft in fields:
            L.append(f"    {f} = {'False' if isinstance(ft, A.BoolT) else '0'}")
            if isinstance(w, str):
                L.append(f"    _vl_{f} = 0")
        L.append("")
        L.append(f"def _cp_{name}(s):")
        L.append(f"    n = {name}()")
        L.append("    n.__dict__.update(s.__dict__)")
        L.append("    return n")
        L.append(f"def _as_{name}(d, s):")
        L.append("    if d is not s:")
        L.append("        dd = d.__dict__")
        L.append("        dd.clear()")
        L.append("        dd.update(s.__dict__)")
        same = [f"a.{f} == b.{f}" for f, _, _ in fields]
        same += [f"a._vl_{f} == b._vl_{f}" for f, w, _ in fields if isinstance(w, str)]
        L.append(f"def _eq_{name}(a, b):")
        L.append("    if a._v != b._v:")
        L.append("        return False")
        L.append(f"    return not a._v or ({' and '.join(same)})")
        L.append(f"def _ser_{name}(h):")
        L.append("    v = 0")
        for f, w, ft in fields:
            x = f"int(h.{f})" if isinstance(ft, A.BoolT) else f"h.{f}"
            L.append(f"    v = (v << {w}) | {x}")
        vw = " + ".join(w for _, w, _ in fields if isinstance(w, str))
        L.append(f"    n = {fixed} + {vw}")
        L.append("    pad = -n % 8")
        L.append("    return (v << pad).to_bytes((n + pad) // 8, 'big')")
        L.append(f"def _exv_{name}(h, b, nv):")
        L.append("    v = int.from_bytes(b, 'big')")
        L.append(f"    v >>= len(b) * 8 - {fixed} - nv")
        for f, w, ft in reversed(fields):
            if isinstance(w, str):
                L.append(f"    h._vl_{f} = nv")
                L.append(f"    h.{f} = v & ((1 << nv) - 1)")
                L.append("    v >>= nv")
            else:
                e = f"v & {(1 << w) - 1:#x}"
                if isinstance(ft, A.BoolT):
                    e = f"({e}) == 1"
                L.append(f"    h.{f} = {e}")
                L.append(f"    v >>= {w}")
        L.append("    h._v = True")
        L.append("    h._raw = b")
        L.append(f"def _ex_{name}(h, b):")
        L.append(f"    _exv_{name}(h, b, 0)")
        L.append("")

    def _gen_struct(self, name: str, t: A.StructT | A.HeaderUnionT) -> None:
        L = self.lines
        nested: list[tuple[str, A.Type]] = []
        scalars: list[tuple[str, A.Type | None]] = []
        for f, ft in t.fields:
            bt = base_type(ft)
            if bt is not None and is_aggregate(bt):
                nested.append((f, bt))
            else:
                scalars.append((f, bt))
        # make sure nested classes exist before this one refers to them
        for _, ft in nested:
            if isinstance(ft, A.StackT):
                self.cls(ft.elem)
            else:
                self.cls(ft)
        L.append(f"class {name}:")
        L.append("    _v = True")
        for f, st in scalars:
            L.append(f"    {f} = {'False' if isinstance(st, A.BoolT) else '0'}")
        if nested:
            L.append("    def __init__(self):")
            for f, ft in nested:
                L.append(f"        self.{f} = {self.new(ft)}")
        else:
            L.append("    pass")
        L.append("")
        L.append(f"def _cp_{name}(s):")
        L.append(f"    n = {name}.__new__({name})")
        L.append("    d = n.__dict__")
        L.append("    d.update(s.__dict__)")
        for f, ft in nested:
            L.append(f"    d[{f!r}] = {self.copy(ft, f's.{f}')}")
        L.append("    return n")
        L.append(f"def _as_{name}(d, s):")
        L.append("    if d is s:")
        L.append("        return")
        for f, _ in scalars:
            L.append(f"    d.{f} = s.{f}")
        for f, ft in nested:
            L.append(f"    {self.assign(ft, f'd.{f}', f's.{f}')}")
        L.append(f"def _eq_{name}(a, b):")
        same = [f"a.{f} == b.{f}" for f, _ in scalars]
        same += [self.eq(ft, f"a.{f}", f"b.{f}") for f, ft in nested]
        L.append(f"    return {' and '.join(same) or 'True'}")
        L.append("")


def cp_stack(s: Stack, cp: Callable[[Any], Any]) -> Stack:
    """Deep copy of a header stack (cp copies one element)."""
    n = Stack([cp(h) for h in s.h])
    n.n = s.n
    return n


def as_stack(d: Stack, s: Stack, asg: Callable[[Any, Any], None]) -> None:
    """In-place assignment of a whole header stack."""
    if d is s:
        return
    for dh, sh in zip(d.h, s.h, strict=True):
        asg(dh, sh)
    d.n = s.n


def push_front(s: Stack, k: int) -> None:
    """P4 push_front(k): shift right by k, the first k elements become invalid."""
    h = s.h
    size = len(h)
    for i in range(size - 1, -1, -1):
        if i >= k:
            dd = h[i].__dict__
            dd.clear()
            dd.update(h[i - k].__dict__)
        else:
            h[i].__dict__.clear()
    s.n = min(s.n + k, size)


def pop_front(s: Stack, k: int) -> None:
    """P4 pop_front(k): shift left by k, the last k elements become invalid."""
    h = s.h
    size = len(h)
    for i in range(size):
        if i + k < size:
            dd = h[i].__dict__
            dd.clear()
            dd.update(h[i + k].__dict__)
        else:
            h[i].__dict__.clear()
    s.n = max(s.n - k, 0)


def _header_leaves(t: A.HeaderT | A.StructT, prefix: str = "") -> list[tuple[str, int, A.Type]]:
    """(path, width, type) of every scalar in a header, structs inside it flattened."""
    out: list[tuple[str, int, A.Type]] = []
    for f, ft in t.fields:
        bt = base_type(ft)
        assert bt is not None
        if isinstance(bt, A.StructT):
            out.extend(_header_leaves(bt, f"{prefix}{f}."))
        else:
            out.append((f"{prefix}{f}", width_of(bt), bt))
    return out

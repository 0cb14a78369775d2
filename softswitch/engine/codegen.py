"""The code generator: turns an `Elaborated` v1model program into one Python module.

The module is generated once per pipeline, compiled with a filename of the
form `<p4:PROGRAM>` (registered in `linecache`, so tracebacks show the
generated lines) and executed into a private namespace. Nothing walks the
AST per packet.
"""

from __future__ import annotations

import linecache
import logging
import random
from typing import Any

from softswitch.engine import algorithms
from softswitch.engine.architecture import driver_source
from softswitch.engine.context import GenContext, UnsupportedError
from softswitch.engine.controlgen import ControlConverter
from softswitch.engine.exprs import ExprConverter
from softswitch.engine.externs import CallConverter
from softswitch.engine.packet_errors import PacketErrors
from softswitch.engine.parsergen import ParserConverter
from softswitch.engine.values import Stack as _Stack
from softswitch.engine.values import (
    as_stack,
    base_type,
    cp_stack,
    pop_front,
    push_front,
)
from softswitch.frontend import ast as A
from softswitch.runtime.state import DeviceState

log = logging.getLogger("softswitch.engine")

ROLES = ("parser", "verify_checksum", "ingress", "egress", "compute_checksum", "deparser")


class AssertionFailure(Exception):
    """A P4 assert()/assume() failed: BMv2 logs and stops; so does the pipeline."""


# Runtime helpers shared by all generated code. They live in the generated
# module so that they can read its globals (the packet being parsed).
PRELUDE = """
class _PErr(Exception):
    __slots__ = ("code",)
    def __init__(self, code):
        self.code = code

class _Exit(Exception):
    pass

class _ExitOut(_Exit):
    # exit inside an action with out/inout parameters: their values at the exit
    __slots__ = ("vals",)
    def __init__(self, vals):
        self.vals = vals

_MASKS = [(1 << _w) - 1 for _w in range(0, 130)]

def _no_match():
    raise _PErr(_E_NoMatch)

def _snext(s):
    if s.n >= len(s.h):
        raise _PErr(_E_StackOutOfBounds)
    return s.h[s.n]

def _slast(s):
    if s.n == 0:
        raise _PErr(_E_StackOutOfBounds)
    return s.h[s.n - 1]

def _sidx(s, i):
    if 0 <= i < len(s.h):
        return s.h[i]
    return type(s.h[0])()

def _set_valid(h):
    if not h._v:
        h.__dict__.clear()
        h._v = True

def _shl(a, b, w):
    return (a << b) & _MASKS[w] if b < w else 0

def _div(a, b):
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q

def _mod(a, b):
    if b == 0:
        return 0
    r = abs(a) % abs(b)
    return -r if a < 0 else r

def _ssat(v, w):
    hi = (1 << (w - 1)) - 1
    lo = -(1 << (w - 1))
    if v > hi:
        v = hi
    elif v < lo:
        v = lo
    return v & _MASKS[w]

def _hash_offset(h, base, mx, w):
    return (base + (h % mx if mx else h)) & _MASKS[w]

def _lookahead(w, nb):
    if _PO + nb > _PL:
        raise _PErr(_E_PacketTooShort)
    return int.from_bytes(_PD[_PO:_PO + nb], "big") >> (nb * 8 - w)

def _random(lo, hi):
    return _rng.randint(lo, hi) if hi >= lo else lo

def _rng_bits():
    return _rng.getrandbits(64)

def _log_msg(fmt, vals):
    parts = fmt.split("{}")
    out = [parts[0]]
    for i, p in enumerate(parts[1:]):
        out.append(str(vals[i]) if i < len(vals) else "{}")
        out.append(p)
    _log.info("log_msg: %s", "".join(out))

def _assert_fail(kind, where):
    _log.error("%s failed at %s: packet processing stopped", kind, where)
    raise _AssertionFailure(f"{kind} failed at {where}")

_PD = b""
_PL = 0
_PO = 0
_PAY = b""
_ILEN = 0
_NOW = 0
_RUN = 0
_MHIT = False
_MCOLOR = 0
_CLONE = None
_RESUB = None
_RECIRC = None
_DIGEST = None
_TRUNC = None
_CKERR = False
_out_append = None
"""


class Generator:
    """Generates one program: builds the shared context and the converters around it."""

    def __init__(self, e: A.Elaborated, state: DeviceState, cpu_port: int | None) -> None:
        self.e = e
        self.ctx = GenContext(e, state, cpu_port)
        self.exprs = ExprConverter(self.ctx)
        self.calls = CallConverter(self.ctx, self.exprs)
        self.controls = ControlConverter(self.ctx, self.exprs, self.calls)
        self.parsers = ParserConverter(self.ctx, self.exprs, self.controls)
        self.ctx.wire(self.calls, self.controls)
        self.sm_cls = ""  # the standard_metadata class, once generated

    # ------------------------------------------------------------ whole program

    def generate(self) -> str:
        e = self.e
        if e.arch != "v1model":
            raise UnsupportedError(e.main.loc, f"architecture {e.arch}")
        for r in ROLES:
            if r not in e.blocks:
                raise UnsupportedError(e.main.loc, f"a v1model program without its {r} block")
        fns = {}
        fns["parser"] = self.parsers.gen_parser(e.blocks["parser"])
        for r in ROLES[1:]:
            fns[r] = self.controls.gen_control(e.blocks[r])
        pparams = e.blocks["parser"].decl.params
        if len(pparams) != 4:
            raise UnsupportedError(
                pparams[0].loc if pparams else e.main.loc, "this parser signature"
            )
        h_t, m_t, sm_t = (base_type(p.resolved) for p in pparams[1:])
        h_cls = self.ctx.types.cls(h_t)
        m_cls = self.ctx.types.cls(m_t)
        sm_cls = self.ctx.types.cls(sm_t)
        if not isinstance(m_t, A.StructT):
            raise UnsupportedError(pparams[2].loc, "user metadata that is not a struct")
        if not isinstance(sm_t, A.StructT):
            raise UnsupportedError(pparams[3].loc, "standard_metadata that is not a struct")
        fl_lines = self.field_list_fns(m_t)
        sm_fields = {f for f, _ in sm_t.fields}
        driver = driver_source(
            fns,
            h_cls,
            m_cls,
            sm_cls,
            has_priority="priority" in sm_fields,
        )
        lines = [
            f"# generated by softswitch.engine from {e.main.loc.file}",
            PRELUDE,
            *self.ctx.types.lines,
            *self.ctx.out,
            *fl_lines,
            *self.ctx.post,
            driver,
        ]
        self.sm_cls = sm_cls
        return "\n".join(lines) + "\n"

    def field_list_fns(self, m_t: A.StructT) -> list[str]:
        """`_FL[i](dst, src)` copies the metadata fields tagged @field_list(i)."""
        lines = []
        entries = []
        for idx in sorted(self.ctx.field_lists_used):
            name = f"_fl_copy_{idx}"
            body: list[str] = []
            self._fl_fields(m_t, "d", "s", idx, body)
            lines.append(f"def {name}(d, s):")
            lines.extend("    " + b for b in body or ["pass"])
            lines.append("")
            entries.append(f"{idx}: {name}")
        lines.append(f"_FL = {{{', '.join(entries)}}}")
        return lines

    def _fl_fields(self, t: A.StructT, d: str, s: str, idx: int, body: list[str]) -> None:
        decl_fields = {f.name: f for f in t.decl.fields} if t.decl is not None else {}
        for f, ft in t.fields:
            bt = base_type(ft)
            fd = decl_fields.get(f)
            tagged = False
            if fd is not None:
                for an in fd.annotations:
                    if an.name == "field_list":
                        vals = [
                            a.const if a.const is not None else getattr(a, "value", None)
                            for a in an.args
                        ]
                        if idx in vals:
                            tagged = True
            if isinstance(bt, A.StructT):
                if tagged:
                    body.append(f"_as_{self.ctx.types.cls(bt)}({d}.{f}, {s}.{f})")
                else:
                    self._fl_fields(bt, f"{d}.{f}", f"{s}.{f}", idx, body)
            elif tagged:
                if isinstance(bt, A.HeaderT | A.StackT):
                    body.append(self.ctx.types.assign(bt, f"{d}.{f}", f"{s}.{f}"))
                else:
                    body.append(f"{d}.{f} = {s}.{f}")


def compile_program(
    e: A.Elaborated, state: Any, cpu_port: int | None, seed: int = 0
) -> tuple[str, dict[str, Any], PacketErrors]:
    """Generate, compile and execute the module; returns (source, namespace)."""
    g = Generator(e, state, cpu_port)
    src = g.generate()
    filename = f"<p4:{e.main.loc.file}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    code = compile(src, filename, "exec")
    ns: dict[str, Any] = dict(g.ctx.ns)
    errors = PacketErrors(filename)
    ns["_packet_error"] = errors.record
    errs = e.program.errors
    for name in ("NoError", "PacketTooShort", "NoMatch", "StackOutOfBounds"):
        ns[f"_E_{name}"] = errs.index(name) if name in errs else 0
    ns.update(
        {
            "_Stack": _Stack,
            "_cp_stack": cp_stack,
            "_as_stack": as_stack,
            "_push_front": push_front,
            "_pop_front": pop_front,
            "_pack": algorithms.pack_bits,
            "_rng": random.Random(seed),
            "_log": log,
            "_AssertionFailure": AssertionFailure,
            "_PRE": state.pre,
            "_emit_digest": state.digests.emit,
            "__name__": "softswitch.engine.generated",
        }
    )
    for algo, algo_fn in algorithms.ALGORITHMS.items():
        ns[f"_ALG_{algo}"] = algo_fn
    exec(code, ns)
    # the driver reads these standard_metadata fields even if an old v1model lacks them
    sm = ns[g.sm_cls]
    for f in ("mcast_grp", "egress_rid", "priority", "egress_spec", "parser_error"):
        if not hasattr(sm, f):
            setattr(sm, f, 0)
    return src, ns, errors

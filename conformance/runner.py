"""Run one STF test on one target, and compare targets.

A test runs in order: table commands, clone sessions and multicast groups become
P4Runtime writes; `packet` lines are sent into the target's ports. Before any
command that changes state, at `wait`, at `check_counter` and at the end, the runner
lets the target settle: it waits until as many frames have come out as `expect` lines
were seen so far (at most `timeout` seconds), then for `grace` seconds of silence, so
that extra frames are caught too. Frames are then compared per port, in order.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from p4.v1 import p4runtime_pb2

from conformance import entries, stf
from conformance.p4rt import DELETE, INSERT, MODIFY, P4RuntimeError, update
from conformance.ports import MIN_FRAME
from conformance.targets import CompilerCrash, Refused, Running, Slot, StartError, Target

PASS = "pass"
FAIL = "fail"
REFUSED = "refused"
CRASH = "crash"
ERROR = "error"
SKIPPED = "skipped"


@dataclass
class Timing:
    timeout: float = 3.0
    grace: float = 0.3


@dataclass
class TargetResult:
    """What one target did with one test."""

    status: str
    reason: str = ""
    kind: str = ""  # failure kind, for grouping in reports
    outputs: dict[int, list[str]] = field(default_factory=dict)  # port -> hex frames
    p4info: str = ""  # path of the P4Info the target's compiler wrote

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["outputs"] = {str(k): v for k, v in self.outputs.items()}
        return d


class _Abort(Exception):
    def __init__(self, status: str, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason


def _hexs(data: bytes, limit: int = 48) -> str:
    h = data.hex()
    return h if len(h) <= 2 * limit else h[: 2 * limit] + "..."


def compare(expects: list[stf.Expect], frames: list[tuple[int, bytes]]) -> tuple[str, str] | None:
    """(kind, reason) of the first mismatch, or None when every port matches."""
    by_port: dict[int, list[bytes]] = {}
    for p, d in frames:
        by_port.setdefault(p, []).append(d)
    exp_port: dict[int, list[stf.Expect]] = {}
    for e in expects:
        exp_port.setdefault(e.port, []).append(e)
    if expects and not frames:
        return "no-output", f"no packet came out (expected {len(expects)})"
    for port in sorted(set(by_port) | set(exp_port)):
        got, exp = by_port.get(port, []), exp_port.get(port, [])
        for i, e in enumerate(exp):
            if i >= len(got):
                return (
                    "missing-packet",
                    f"port {port}: expected packet {i + 1} (line {e.line}) not received; "
                    f"got {len(got)} of {len(exp)}",
                )
            if not e.matches(got[i], padded_to=MIN_FRAME):
                return (
                    "wrong-bytes",
                    f"port {port}: packet {i + 1} does not match line {e.line}: "
                    f"got {_hexs(got[i])}, expected {e.pattern}{' $' if e.exact_length else ''}",
                )
        if len(got) > len(exp):
            return (
                "unexpected-packet",
                f"port {port}: {len(got) - len(exp)} unexpected packet(s), first "
                f"{_hexs(got[len(exp)])}",
            )
    return None


class _Execution:
    def __init__(
        self, test: stf.StfFile, run: Running, index: entries.P4InfoIndex, timing: Timing
    ) -> None:
        self.test = test
        self.run = run
        self.index = index
        self.timing = timing
        self.expects: list[stf.Expect] = []
        self.pending = False
        self.groups: dict[int, list[tuple[int, int]]] = {}
        self.written_groups: set[int] = set()
        self.nodes: dict[int, stf.McNodeCreate] = {}

    def settle(self) -> None:
        deadline = time.monotonic() + self.timing.timeout
        want = len(self.expects)
        while self.run.seen() < want and time.monotonic() < deadline:
            if self.run.died():
                break
            time.sleep(0.01)
        seen = self.run.seen()
        quiet_until = time.monotonic() + self.timing.grace
        while time.monotonic() < quiet_until:
            time.sleep(0.02)
            n = self.run.seen()
            if n != seen:
                seen = n
                quiet_until = time.monotonic() + self.timing.grace
        self.pending = False
        died = self.run.died()
        if died:
            raise _Abort(CRASH, "switch-died", died)

    def _write(self, line: int, what: str, *updates: p4runtime_pb2.Update) -> None:
        try:
            self.run.client.write(*updates)
        except P4RuntimeError as e:
            raise _Abort(FAIL, "write-refused", f"line {line}: {what} refused: {e}") from None

    def _entity(self, line: int, fn, cmd):  # type: ignore[no-untyped-def]
        try:
            return fn(self.index, cmd)
        except entries.EntryError as e:
            raise _Abort(ERROR, "stf-name", f"line {line}: {e}") from None

    def execute(self) -> None:
        for cmd in self.test.commands:
            if isinstance(cmd, stf.Packet):
                self.run.path.send(cmd.port, cmd.data)
                self.pending = True
                continue
            if isinstance(cmd, stf.Expect):
                self.expects.append(cmd)
                continue
            if self.pending:
                self.settle()
            self.command(cmd)
        self.settle()

    def command(self, cmd: stf.Command) -> None:
        if isinstance(cmd, stf.Wait):
            return
        if isinstance(cmd, stf.AddEntry):
            te = self._entity(cmd.line, entries.add_entry, cmd)
            self._write(cmd.line, "add", update(INSERT, p4runtime_pb2.Entity(table_entry=te)))
        elif isinstance(cmd, stf.SetDefault):
            te = self._entity(cmd.line, entries.default_entry, cmd)
            self._write(
                cmd.line, "setdefault", update(MODIFY, p4runtime_pb2.Entity(table_entry=te))
            )
        elif isinstance(cmd, stf.RemoveEntry):
            te = self._entity(
                cmd.line,
                lambda ix, c: entries.table_entry(ix, c.table, c.keys, c.priority),
                cmd,
            )
            self._write(cmd.line, "remove", update(DELETE, p4runtime_pb2.Entity(table_entry=te)))
        elif isinstance(cmd, stf.MirroringAdd):
            if cmd.port is None:
                raise _Abort(
                    SKIPPED,
                    "stf-unsupported",
                    f"line {cmd.line}: mirroring_add_mc has no P4Runtime form in this runner",
                )
            ent = p4runtime_pb2.Entity()
            cs = ent.packet_replication_engine_entry.clone_session_entry
            cs.session_id = cmd.session
            cs.replicas.add(egress_port=cmd.port, instance=0)
            self._write(cmd.line, "mirroring_add", update(INSERT, ent))
        elif isinstance(cmd, stf.McGroupCreate):
            self.groups.setdefault(cmd.group, [])
        elif isinstance(cmd, stf.McNodeCreate):
            self.nodes[cmd.handle] = cmd
        elif isinstance(cmd, stf.McNodeAssociate):
            node = self.nodes.get(cmd.handle)
            if node is None:
                raise _Abort(ERROR, "stf-name", f"line {cmd.line}: no node handle {cmd.handle}")
            reps = self.groups.setdefault(cmd.group, [])
            reps += [(p, node.rid) for p in node.ports]
            ent = p4runtime_pb2.Entity()
            mg = ent.packet_replication_engine_entry.multicast_group_entry
            mg.multicast_group_id = cmd.group
            for p, rid in reps:
                mg.replicas.add(egress_port=p, instance=rid)
            kind = MODIFY if cmd.group in self.written_groups else INSERT
            self.written_groups.add(cmd.group)
            self._write(cmd.line, "mc_node_associate", update(kind, ent))
        elif isinstance(cmd, stf.CheckCounter):
            self.check_counter(cmd)
        else:  # pragma: no cover - every parsed command is handled above
            raise _Abort(SKIPPED, "stf-unsupported", f"line {cmd.line}: not supported")

    def check_counter(self, cmd: stf.CheckCounter) -> None:
        # frames expected before this line are judged first, so the report names the
        # first thing that went wrong in file order
        mismatch = compare(self.expects, self.run.outputs_so_far())
        if mismatch:
            raise _Abort(FAIL, *mismatch)
        cid, direct = self._entity(cmd.line, lambda ix, c: ix.counter(c.name), cmd)
        if direct:
            raise _Abort(
                SKIPPED, "stf-unsupported", f"line {cmd.line}: direct counters are not checked"
            )
        ent = p4runtime_pb2.Entity()
        ent.counter_entry.counter_id = cid
        ent.counter_entry.index.index = cmd.index
        try:
            got = self.run.client.read(ent)
        except P4RuntimeError as e:
            raise _Abort(FAIL, "counter", f"line {cmd.line}: counter read failed: {e}") from None
        if not got:
            raise _Abort(FAIL, "counter", f"line {cmd.line}: counter read returned nothing")
        data = got[0].counter_entry.data
        value = data.packet_count if cmd.kind == "packets" else data.byte_count
        ok = {
            "==": value == cmd.value,
            "!=": value != cmd.value,
            "<": value < cmd.value,
            "<=": value <= cmd.value,
            ">": value > cmd.value,
            ">=": value >= cmd.value,
        }[cmd.op]
        if not ok:
            raise _Abort(
                FAIL,
                "counter",
                f"line {cmd.line}: {cmd.name}({cmd.index}) {cmd.kind} is {value}, "
                f"expected {cmd.op} {cmd.value}",
            )


def run_on_target(
    test: stf.StfFile, target: Target, slot: Slot, work: Path, timing: Timing
) -> TargetResult:
    """Compile, start, execute and check `test` on `target`."""
    program = Path(test.path).with_suffix(".p4")
    if not program.exists():
        return TargetResult(ERROR, f"no program {program.name} next to the STF file", "setup")
    work.mkdir(parents=True, exist_ok=True)
    try:
        compiled = target.compile(program, work / "build")
    except Refused as e:
        return TargetResult(REFUSED, str(e), "compile-refused")
    except CompilerCrash as e:
        return TargetResult(CRASH, str(e), "compiler-crash")
    result = TargetResult(PASS, p4info=str(compiled.p4info_path))
    try:
        running = target.start(compiled, test.ports(), slot, work)
    except StartError as e:
        result.status, result.kind, result.reason = ERROR, "start", str(e)
        return result
    ex = _Execution(test, running, entries.P4InfoIndex(compiled.p4info), timing)
    try:
        ex.execute()
    except _Abort as a:
        result.status, result.kind, result.reason = a.status, a.kind, a.reason
    except Exception as e:
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        result.status, result.kind, result.reason = ERROR, "runner", f"runner error: {last}"
    logged = list(running.logged_errors)
    running.stop()
    frames = running.outputs()
    for p, d in frames:
        result.outputs.setdefault(p, []).append(d.hex())
    if result.status == PASS:
        mismatch = compare(ex.expects, frames)
        if mismatch:
            result.status = FAIL
            result.kind, result.reason = mismatch
    if logged and result.status != PASS:
        result.reason += f"; switch logged: {logged[0]}"
        if result.kind in ("no-output", "missing-packet"):
            result.kind = "packet-error"
    return result


def differential(a: TargetResult, b: TargetResult) -> str:
    """'' when both targets sent the same frames per port, else the first difference."""
    for port in sorted(set(a.outputs) | set(b.outputs)):
        fa, fb = a.outputs.get(port, []), b.outputs.get(port, [])
        for i in range(max(len(fa), len(fb))):
            xa = fa[i] if i < len(fa) else None
            xb = fb[i] if i < len(fb) else None
            if xa != xb:
                return f"port {port} packet {i + 1}: {xa or 'none'} vs {xb or 'none'}"
    return ""

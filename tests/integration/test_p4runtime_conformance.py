"""The P4Runtime cases of docs/p4runtime.md, sent to softswitch and to BMv2.

Each case is one request (or a short exchange) and its answer in a word: OK, a gRPC
status code, the code of the per-update / per-request p4.Error, or the code of a stream
error. The same sequence runs against `softswitch run` and, when `p4c-bm2-ss` and
`simple_switch_grpc` are on PATH, against BMv2; each target must answer as the table
EXPECTED says (the softswitch column is the P4Runtime 1.4.1 answer, the BMv2 column what
simple_switch_grpc 1.15.5 answers). A change of either target's behaviour fails here
until docs/p4runtime.md and EXPECTED are updated together.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import targets
from google.protobuf import text_format
from google.rpc import code_pb2, status_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2 as p4r
from p4.v1 import p4runtime_pb2_grpc

PROGRAM = Path(__file__).resolve().parent / "data" / "p4rt_conformance.p4"
SOFTSWITCH_ADDR = "127.0.0.1:9564"
BMV2_ADDR = "127.0.0.1:9565"
BMV2_THRIFT_PORT = 9567
WAIT = 3.0  # seconds for a stream answer; only reached when none comes
FwdReq = p4r.SetForwardingPipelineConfigRequest
Update = p4r.Update

# case -> (softswitch = P4Runtime 1.4.1, BMv2 simple_switch_grpc)
EXPECTED: dict[str, tuple[str, str]] = {
    "get config before any pipeline": ("OK config unset", "FAILED_PRECONDITION"),
    "read before any pipeline": ("FAILED_PRECONDITION", "FAILED_PRECONDITION"),
    "match value with leading zero bytes": ("OK read back canonical", "OK read back canonical"),
    "action param with leading zero bytes": ("OK read back canonical", "OK read back canonical"),
    "match value wider than the field": ("OUT_OF_RANGE", "INVALID_ARGUMENT"),
    "empty match value": ("OUT_OF_RANGE", "OK"),
    "action param wider than the field": ("OUT_OF_RANGE", "INVALID_ARGUMENT"),
    "packet-out metadata with leading zero bytes": ("no stream error", "no stream error"),
    "packet-out metadata wider than the field": ("OUT_OF_RANGE", "no stream error"),
    "packet-out metadata id twice": ("INVALID_ARGUMENT", "no stream error"),
    "is_const in INSERT": ("INVALID_ARGUMENT", "OK"),
    "MODIFY without action": ("OK action kept", "INVALID_ARGUMENT"),
    "MODIFY of a const entry without action": ("OK", "INVALID_ARGUMENT"),
    "MODIFY without meter_config": ("OK meter reset", "OK meter kept"),
    "time_since_last_hit in INSERT": ("INVALID_ARGUMENT", "INVALID_ARGUMENT"),
    "time_since_last_hit read, no idle timeout": ("INVALID_ARGUMENT", "INVALID_ARGUMENT"),
    "time_since_last_hit read, idle-timeout table": ("UNIMPLEMENTED", "OK"),
    "@defaultonly action in an entry": ("PERMISSION_DENIED", "PERMISSION_DENIED"),
    "read filtered by priority": ("OK 1 entry", "OK 2 entries"),
    "DELETE with a nonsense action": ("OK", "OK"),
    "counter read past the end": ("OUT_OF_RANGE", "UNKNOWN"),
    "counter read at -1": ("INVALID_ARGUMENT", "INVALID_ARGUMENT"),
    "counter MODIFY past the end": ("OUT_OF_RANGE", "UNKNOWN"),
    "meter MODIFY past the end": ("OUT_OF_RANGE", "UNKNOWN"),
    "meter read past the end": ("OUT_OF_RANGE", "UNKNOWN"),
    "Read: good, bad table id, good": ("UNKNOWN OK,INVALID_ARGUMENT,OK", "INVALID_ARGUMENT"),
    "Read of an empty entity": ("UNKNOWN INVALID_ARGUMENT", "UNKNOWN"),
    "ROLLBACK_ON_ERROR write": ("OK", "UNIMPLEMENTED"),
    "unknown atomicity": ("INVALID_ARGUMENT", "UNIMPLEMENTED"),
    "backup arbitrates below the primary": ("ALREADY_EXISTS", "ALREADY_EXISTS"),
    "primary leaves: backup told": ("NOT_FOUND 10", "OK 5"),
    "primary leaves: backup writes": ("PERMISSION_DENIED", "OK"),
    "newcomer at the highest id seen": ("OK", "OK"),
    "primary re-arbitrates below a backup": ("NOT_FOUND", "ALREADY_EXISTS"),
    "set the pipeline for a role nobody arbitrated for": ("NOT_FOUND", "OK"),
    "COMMIT carrying a config": ("INVALID_ARGUMENT", "OK"),
    "COMMIT without a saved config": ("NOT_FOUND", "UNKNOWN"),
}


class Client:
    """A raw P4Runtime client with its own StreamChannel."""

    def __init__(self, address: str, p4info: p4info_pb2.P4Info, config: bytes) -> None:
        self.p4info, self.config = p4info, config
        self.channel = grpc.insecure_channel(address)
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self.election_id = 0
        self._out: queue.Queue[p4r.StreamMessageRequest | None] = queue.Queue()
        self.inbox: queue.Queue[Any] = queue.Queue()
        stream = self.stub.StreamChannel(iter(self._out.get, None))

        def read() -> None:
            try:
                for msg in stream:
                    self.inbox.put(msg)
            except grpc.RpcError as e:
                self.inbox.put(e)

        threading.Thread(target=read, daemon=True).start()

    def next(self, timeout: float = WAIT) -> Any:
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def arbitrate(self, election_id: int) -> str:
        req = p4r.StreamMessageRequest()
        req.arbitration.device_id = 1
        req.arbitration.election_id.low = election_id
        self.election_id = election_id
        self._out.put(req)
        return _arbitration_answer(self.next())

    def send(self, req: p4r.StreamMessageRequest) -> str:
        """Send a stream message; the code of the stream error it caused, if any in 1 s."""
        self._out.put(req)
        msg = self.next(timeout=1.0)
        if msg is None:
            return "no stream error"
        return code_pb2.Code.Name(msg.error.canonical_code)

    def set_pipeline(self, action: int, *, with_config: bool = True) -> None:
        req = FwdReq(device_id=1, action=action)
        req.election_id.low = self.election_id
        if with_config:
            req.config.p4info.CopyFrom(self.p4info)
            req.config.p4_device_config = self.config
        self.stub.SetForwardingPipelineConfig(req)

    def write(self, *updates: Update, atomicity: int = 0) -> None:
        req = p4r.WriteRequest(device_id=1, atomicity=atomicity)
        req.election_id.low = self.election_id
        req.updates.extend(updates)
        self.stub.Write(req)

    def read(self, *entities: p4r.Entity) -> list[p4r.Entity]:
        out: list[p4r.Entity] = []
        for resp in self.stub.Read(p4r.ReadRequest(device_id=1, entities=entities)):
            out.extend(resp.entities)
        return out

    def close(self) -> None:
        self._out.put(None)
        self.channel.close()


def _arbitration_answer(msg: Any) -> str:
    if msg is None or isinstance(msg, grpc.RpcError) or not msg.HasField("arbitration"):
        return f"no arbitration answer ({msg!r})"
    return code_pb2.Code.Name(msg.arbitration.status.code)


def _details(e: grpc.RpcError) -> list[str]:
    for key, value in e.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            out = []
            for d in status_pb2.Status.FromString(value).details:
                err = p4r.Error()
                d.Unpack(err)
                out.append(code_pb2.Code.Name(err.canonical_code))
            return out
    return []


def answer(fn: Callable[[], str | None]) -> str:
    """OK (+ what fn says), or the error: a lone p4.Error's code, else the RPC status."""
    try:
        said = fn()
    except grpc.RpcError as e:
        errs = [c for c in _details(e) if c != "OK"]
        if e.code() == grpc.StatusCode.UNKNOWN and len(_details(e)) == 1 and errs:
            return errs[0]
        return e.code().name
    return "OK" if not said else f"OK {said}"


class Ids:
    def __init__(self, p4info: p4info_pb2.P4Info) -> None:
        self.by_name = {
            o.preamble.name: o.preamble.id
            for kind in ("tables", "actions", "counters", "meters")
            for o in getattr(p4info, kind)
        }

    def __getitem__(self, name: str) -> int:
        return self.by_name[name]


def run_cases(address: str, p4info_path: Path, config_path: Path) -> dict[str, str]:
    p4info = text_format.Parse(p4info_path.read_text(), p4info_pb2.P4Info())
    config = config_path.read_bytes()
    ids = Ids(p4info)
    got: dict[str, str] = {}
    a = Client(address, p4info, config)

    def exact(mac: bytes, port: bytes | None = b"\x01", typ: int = Update.INSERT) -> Update:
        u = Update(type=typ)
        te = u.entity.table_entry
        te.table_id = ids["I.t_exact"]
        te.match.add(field_id=1).exact.value = mac
        if port is not None:
            te.action.action.action_id = ids["I.set_egress"]
            te.action.action.params.add(param_id=1, value=port)
        return u

    def read_exact() -> list[p4r.TableEntry]:
        q = p4r.Entity(table_entry=p4r.TableEntry(table_id=ids["I.t_exact"]))
        return [e.table_entry for e in a.read(q)]

    def read_back_match() -> str:
        a.write(exact(b"\x00" * 4 + b"\x00\x00\x00\x00\x00\x2a"))
        ok = any(e.match[0].exact.value == b"\x2a" for e in read_exact())
        return "read back canonical" if ok else "read back padded"

    def read_back_param() -> str:
        a.write(exact(b"\x2b", b"\x00\x00\x00\x05"))
        values = {e.match[0].exact.value: e.action.action.params[0].value for e in read_exact()}
        return "read back canonical" if values[b"\x2b"] == b"\x05" else "read back padded"

    def packet_out(*metadata: tuple[int, bytes]) -> str:
        req = p4r.StreamMessageRequest()
        req.packet.payload = bytes(14)
        for mid, value in metadata:
            req.packet.metadata.add(metadata_id=mid, value=value)
        return a.send(req)

    def modify_without_action() -> str:
        u = exact(b"\x2b", None, Update.MODIFY)
        a.write(u)
        (e,) = [e for e in read_exact() if e.match[0].exact.value == b"\x2b"]
        return "action kept" if e.action.action.action_id == ids["I.set_egress"] else "changed"

    def is_const_insert() -> None:
        u = exact(b"\x2d")
        u.entity.table_entry.is_const = True
        a.write(u)

    def const_modify() -> None:
        u = Update(type=Update.MODIFY)
        u.entity.table_entry.table_id = ids["I.t_const"]
        u.entity.table_entry.match.add(field_id=1).exact.value = b"\x08\x06"
        a.write(u)

    def lpm_meter() -> str:
        u = Update(type=Update.INSERT)
        te = u.entity.table_entry
        te.table_id = ids["I.t_lpm"]
        m = te.match.add(field_id=1).lpm
        m.value, m.prefix_len = b"\x0a" + bytes(5), 8
        te.action.action.action_id = ids["I.lmeter"]
        te.action.action.params.add(param_id=1, value=b"\x01")
        te.meter_config.cir, te.meter_config.cburst = 10, 10
        te.meter_config.pir, te.meter_config.pburst = 20, 20
        a.write(u)
        u.type = Update.MODIFY
        te.ClearField("meter_config")
        a.write(u)
        q = p4r.TableEntry(table_id=ids["I.t_lpm"], meter_config=p4r.MeterConfig())
        (e,) = a.read(p4r.Entity(table_entry=q))
        return "meter kept" if e.table_entry.HasField("meter_config") else "meter reset"

    def time_since_last_hit_insert() -> None:
        u = exact(b"\x2e")
        u.entity.table_entry.time_since_last_hit.elapsed_ns = 0
        a.write(u)

    def time_since_last_hit_read(table: str) -> None:
        q = p4r.TableEntry(table_id=ids[table], time_since_last_hit=p4r.TableEntry.IdleTimeout())
        a.read(p4r.Entity(table_entry=q))

    def defaultonly() -> None:
        u = exact(b"\x2f", None)
        u.entity.table_entry.action.action.action_id = ids["NoAction"]
        a.write(u)

    def priority_filter() -> str:
        ups = []
        for prio in (1, 2):
            u = Update(type=Update.INSERT)
            te = u.entity.table_entry
            te.table_id, te.priority = ids["I.t_tern"], prio
            t = te.match.add(field_id=1).ternary
            t.value, t.mask = bytes([prio]), b"\xff"
            te.action.action.action_id = ids["I.tcount"]
            te.action.action.params.add(param_id=1, value=b"\x01")
            ups.append(u)
        a.write(*ups)
        n = len(
            a.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=ids["I.t_tern"], priority=2)))
        )
        return f"{n} entr{'y' if n == 1 else 'ies'}"

    def delete_nonsense_action() -> None:
        a.write(exact(b"\x31"))
        u = exact(b"\x31", None, Update.DELETE)
        u.entity.table_entry.action.action.action_id = 999
        a.write(u)

    def counter(index: int) -> p4r.CounterEntry:
        ce = p4r.CounterEntry(counter_id=ids["I.idx_counter"])
        ce.index.index = index
        return ce

    def counter_modify() -> None:
        u = Update(type=Update.MODIFY)
        u.entity.counter_entry.CopyFrom(counter(8))
        u.entity.counter_entry.data.packet_count = 1
        a.write(u)

    def meter(index: int) -> p4r.MeterEntry:
        me = p4r.MeterEntry(meter_id=ids["I.idx_meter"])
        me.index.index = index
        return me

    def meter_modify() -> None:
        u = Update(type=Update.MODIFY)
        u.entity.meter_entry.CopyFrom(meter(8))
        c = u.entity.meter_entry.config
        c.cir, c.cburst, c.pir, c.pburst = 1, 1, 2, 1
        a.write(u)

    def read_batch() -> str:
        req = p4r.ReadRequest(device_id=1)
        req.entities.add().table_entry.table_id = ids["I.t_exact"]
        req.entities.add().table_entry.table_id = 12345
        req.entities.add().counter_entry.CopyFrom(counter(0))
        try:
            list(a.stub.Read(req))
        except grpc.RpcError as e:
            details = _details(e)
            return e.code().name + (" " + ",".join(details) if details else "")
        return "OK"

    def read_empty_entity() -> str:
        try:
            a.read(p4r.Entity())
        except grpc.RpcError as e:
            return e.code().name + (" " + ",".join(_details(e)) if _details(e) else "")
        return "OK"

    got["get config before any pipeline"] = answer(
        lambda: (
            "config unset"
            if not a.stub.GetForwardingPipelineConfig(
                p4r.GetForwardingPipelineConfigRequest(device_id=1)
            ).HasField("config")
            else "config set"
        )
    )
    a.arbitrate(10)
    got["read before any pipeline"] = answer(lambda: str(len(a.read(p4r.Entity(table_entry={})))))
    a.set_pipeline(FwdReq.VERIFY_AND_COMMIT)
    got["match value with leading zero bytes"] = answer(read_back_match)
    got["action param with leading zero bytes"] = answer(read_back_param)
    got["match value wider than the field"] = answer(lambda: a.write(exact(b"\x01" + bytes(6))))
    got["empty match value"] = answer(lambda: a.write(exact(b"")))
    got["action param wider than the field"] = answer(lambda: a.write(exact(b"\x2c", b"\x02\x00")))
    got["packet-out metadata with leading zero bytes"] = packet_out(
        (1, b"\x00\x00\x01"), (2, b"\x00")
    )
    got["packet-out metadata wider than the field"] = packet_out((1, b"\x02\x00"), (2, b"\x00"))
    got["packet-out metadata id twice"] = packet_out((1, b"\x01"), (1, b"\x02"), (2, b"\x00"))
    got["is_const in INSERT"] = answer(is_const_insert)
    got["MODIFY without action"] = answer(modify_without_action)
    got["MODIFY of a const entry without action"] = answer(const_modify)
    got["MODIFY without meter_config"] = answer(lpm_meter)
    got["time_since_last_hit in INSERT"] = answer(time_since_last_hit_insert)
    got["time_since_last_hit read, no idle timeout"] = answer(
        lambda: time_since_last_hit_read("I.t_exact")
    )
    got["time_since_last_hit read, idle-timeout table"] = answer(
        lambda: time_since_last_hit_read("I.t_idle")
    )
    got["@defaultonly action in an entry"] = answer(defaultonly)
    got["read filtered by priority"] = answer(priority_filter)
    got["DELETE with a nonsense action"] = answer(delete_nonsense_action)
    got["counter read past the end"] = answer(lambda: a.read(p4r.Entity(counter_entry=counter(8))))
    got["counter read at -1"] = answer(lambda: a.read(p4r.Entity(counter_entry=counter(-1))))
    got["counter MODIFY past the end"] = answer(counter_modify)
    got["meter MODIFY past the end"] = answer(meter_modify)
    got["meter read past the end"] = answer(lambda: a.read(p4r.Entity(meter_entry=meter(8))))
    got["Read: good, bad table id, good"] = read_batch()
    got["Read of an empty entity"] = read_empty_entity()
    got["ROLLBACK_ON_ERROR write"] = answer(
        lambda: a.write(exact(b"\x32"), atomicity=p4r.WriteRequest.ROLLBACK_ON_ERROR)
    )
    got["unknown atomicity"] = answer(lambda: a.write(exact(b"\x33"), atomicity=7))
    # arbitration: a (10) is primary; b (5) a backup; a leaves
    b = Client(address, p4info, config)
    got["backup arbitrates below the primary"] = b.arbitrate(5)
    a.close()
    msg = b.next()
    got["primary leaves: backup told"] = (
        f"{_arbitration_answer(msg)} {msg.arbitration.election_id.low}"
        if msg is not None and not isinstance(msg, grpc.RpcError)
        else repr(msg)
    )
    got["primary leaves: backup writes"] = answer(lambda: b.write())
    c = Client(address, p4info, config)
    got["newcomer at the highest id seen"] = c.arbitrate(10)
    d = Client(address, p4info, config)
    d.arbitrate(7)
    got["primary re-arbitrates below a backup"] = c.arbitrate(3)
    c.arbitrate(10)

    def unknown_role() -> None:
        req = FwdReq(device_id=1, action=FwdReq.VERIFY, role="nobody")
        req.election_id.low = 10
        req.config.p4info.CopyFrom(p4info)
        req.config.p4_device_config = config
        c.stub.SetForwardingPipelineConfig(req)

    got["set the pipeline for a role nobody arbitrated for"] = answer(unknown_role)
    # BMv2 crashes on the next Read after this one: only SetForwardingPipelineConfig follows
    got["COMMIT without a saved config"] = answer(
        lambda: c.set_pipeline(FwdReq.COMMIT, with_config=False)
    )
    c.set_pipeline(FwdReq.VERIFY_AND_SAVE)
    got["COMMIT carrying a config"] = answer(lambda: c.set_pipeline(FwdReq.COMMIT))
    for client in (b, c, d):
        client.close()
    return got


def _compare(got: dict[str, str], column: int) -> None:
    want = {case: answers[column] for case, answers in EXPECTED.items()}
    wrong = {case: (got.get(case), want[case]) for case in want if got.get(case) != want[case]}
    assert not wrong, "case: (answered, expected)\n" + "\n".join(
        f"  {case}: {g!r}, expected {w!r}" for case, (g, w) in wrong.items()
    )


@pytest.fixture
def softswitch(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    with targets.softswitch(PROGRAM, SOFTSWITCH_ADDR, tmp_path) as target:
        yield target


@pytest.fixture
def bmv2(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    with targets.bmv2(PROGRAM, BMV2_ADDR, BMV2_THRIFT_PORT, tmp_path) as target:
        yield target


def test_softswitch_answers_as_the_specification(softswitch: tuple[str, Path, Path]) -> None:
    _compare(run_cases(*softswitch), 0)


def test_bmv2_answers_as_documented(bmv2: tuple[str, Path, Path]) -> None:
    _compare(run_cases(*bmv2), 1)

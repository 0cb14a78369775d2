"""Base class for PTF tests over P4Runtime, for softswitch and simple_switch_grpc alike.

Modelled on the PTF bases of fabric-tna and p4lang: the base owns the gRPC channel and
the StreamChannel, becomes primary (master arbitration), looks P4Info objects up by name
(with "did you mean" errors), writes table entries from readable values, and deletes
every entry a test inserted when the test ends (autocleanup), even if it failed.

Test parameters (ptf --test-params, set by ptf_tests/run.sh):
    grpcaddr   P4Runtime server, default 127.0.0.1:9559
    device_id  default 1
    p4info     path of the text P4Info of the pushed pipeline (required)
    cpu_port   CPU port number, default 64
    election_id  default 10 (above push_pipeline.py's 1, so the test is primary); each
                 test adds the number of tests before it in this run, so no two tests
                 share an id: a server that has not yet seen the previous test's stream
                 end (BMv2 under load) would otherwise hold the new arbitration, and a
                 P4Runtime 1.4 server (§5.3) accepts only ids at least the highest seen
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import queue
import threading
import time
import unittest
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import ptf
from google.protobuf import text_format
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc
from ptf import testutils
from ptf.base_tests import BaseTest

MatchValue = int | str | bytes | tuple[Any, Any]


class P4InfoError(KeyError):
    """A name that is not in the P4Info; the message suggests close names."""

    def __str__(self) -> str:
        return str(self.args[0])


# --------------------------------------------------------------------------- value codecs


def encode_value(value: int | str | bytes, bitwidth: int) -> bytes:
    """P4Runtime canonical bytes (shortest big-endian form) of `value` for a `bitwidth` field.

    Accepts an int, bytes, a MAC ("00:11:22:33:44:55"), an IPv4/IPv6 address string or a
    decimal/hex string.
    """
    if isinstance(value, bytes):
        n = int.from_bytes(value, "big")
    elif isinstance(value, int):
        n = value
    elif ":" in value and len(value.split(":")) == 6 and bitwidth == 48:
        n = int(value.replace(":", ""), 16)
    else:
        try:
            n = int(ipaddress.ip_address(value))
        except ValueError:
            n = int(value, 0)
    if n < 0 or n >= 1 << bitwidth:
        raise ValueError(f"{value!r} does not fit in {bitwidth} bits")
    return n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")


def _bitwidth_bytes(bitwidth: int) -> int:
    return (bitwidth + 7) // 8


# --------------------------------------------------------------------------- P4Info index


class P4InfoIndex:
    """Lookups by name (fully-qualified or unique suffix) and by id."""

    KINDS = (
        "tables", "actions", "counters", "direct_counters", "meters", "direct_meters",
        "registers", "digests", "controller_packet_metadata", "value_sets", "action_profiles",
    )  # fmt: skip

    def __init__(self, p4info: p4info_pb2.P4Info) -> None:
        self.p4info = p4info
        self._by_name: dict[str, dict[str, Any]] = {}
        for kind in self.KINDS:
            objs: dict[str, Any] = {}
            for obj in getattr(p4info, kind):
                objs[obj.preamble.name] = obj
            self._by_name[kind] = objs

    def get(self, kind: str, name: str) -> Any:
        """The P4Info object of `kind` ("tables", "actions", ...) called `name`."""
        objs = self._by_name[kind]
        if name in objs:
            return objs[name]
        suffix = [n for n in objs if n.endswith("." + name)]
        if len(suffix) == 1:
            return objs[suffix[0]]
        if len(suffix) > 1:
            raise P4InfoError(f"{kind[:-1]} name {name!r} is ambiguous: {sorted(suffix)}")
        close = difflib.get_close_matches(name, list(objs), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise P4InfoError(
            f"no {kind.rstrip('s').replace('_', ' ')} named {name!r} in the P4Info.{hint}"
            f" Known: {sorted(objs)[:20]}"
        )

    def id(self, kind: str, name: str) -> int:
        """The P4Info id of `kind` object `name`."""
        return int(self.get(kind, name).preamble.id)

    def match_field(self, table: str, name: str) -> p4info_pb2.MatchField:
        """Match field `name` of `table` (its @name)."""
        t = self.get("tables", table)
        for mf in t.match_fields:
            if mf.name == name:
                return mf
        raise P4InfoError(
            f"table {t.preamble.name!r} has no match field {name!r};"
            f" it has {[mf.name for mf in t.match_fields]}"
        )

    def action_param(self, action: str, name: str) -> p4info_pb2.Action.Param:
        """Parameter `name` of `action`."""
        a = self.get("actions", action)
        for p in a.params:
            if p.name == name:
                return p
        raise P4InfoError(
            f"action {a.preamble.name!r} has no parameter {name!r};"
            f" it has {[p.name for p in a.params]}"
        )

    def packet_metadata(
        self, which: str
    ) -> dict[str, p4info_pb2.ControllerPacketMetadata.Metadata]:
        """Metadata fields of controller header `which` ("packet_in"/"packet_out") by name."""
        cpm = self.get("controller_packet_metadata", which)
        return {m.name: m for m in cpm.metadata}


# --------------------------------------------------------------------------- base test


def autocleanup(f: Callable[..., Any]) -> Callable[..., Any]:
    """Delete every entry the test wrote, even when it fails (fabric-tna's decorator).

    P4RuntimeTest.tearDown cleans up anyway; the decorator makes it happen right after
    the test body, before any further steps of a multi-step test.
    """

    @functools.wraps(f)
    def wrapper(self: P4RuntimeTest, *args: Any, **kwargs: Any) -> Any:
        try:
            return f(self, *args, **kwargs)
        finally:
            self.undo_writes()

    return wrapper


class P4RuntimeTest(BaseTest):
    """A PTF test with a primary P4Runtime connection to the switch under test."""

    _tests_started = 0  # in this ptf run; raises each test's election id

    def setUp(self) -> None:
        super().setUp()
        self.dataplane = ptf.dataplane_instance
        self.dataplane.flush()
        self.grpc_addr = str(testutils.test_param_get("grpcaddr", "127.0.0.1:9559"))
        self.device_id = int(testutils.test_param_get("device_id", 1))
        self.cpu_port = int(testutils.test_param_get("cpu_port", 64))
        election = int(testutils.test_param_get("election_id", 10)) + P4RuntimeTest._tests_started
        P4RuntimeTest._tests_started += 1
        self.election_id = p4runtime_pb2.Uint128(high=0, low=election)
        p4info_path = testutils.test_param_get("p4info")
        if not p4info_path:
            self.fail("test parameter 'p4info' (path of the text P4Info) is required")
        p4info = p4info_pb2.P4Info()
        with open(str(p4info_path), encoding="utf-8") as f:
            text_format.Parse(f.read(), p4info)
        self.p4info = P4InfoIndex(p4info)

        self.channel = grpc.insecure_channel(self.grpc_addr)
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self._requests: queue.Queue[p4runtime_pb2.StreamMessageRequest | None] = queue.Queue()
        self._arbitration: queue.Queue[p4runtime_pb2.StreamMessageResponse] = queue.Queue()
        self.packet_ins: queue.Queue[p4runtime_pb2.PacketIn] = queue.Queue()
        self.digests: queue.Queue[p4runtime_pb2.DigestList] = queue.Queue()
        self._stream = self.stub.StreamChannel(self._request_iter())
        self._reader = threading.Thread(target=self._read_stream, daemon=True)
        self._reader.start()
        self._written: list[p4runtime_pb2.Update] = []
        self._restores: list[p4runtime_pb2.Update] = []
        self._become_primary()

    def tearDown(self) -> None:
        try:
            self.undo_writes()
        finally:
            self._requests.put(None)
            self._stream.cancel()
            self.channel.close()
            super().tearDown()

    # ---- stream channel

    def _request_iter(self) -> Iterator[p4runtime_pb2.StreamMessageRequest]:
        while (req := self._requests.get()) is not None:
            yield req

    def _read_stream(self) -> None:
        try:
            for msg in self._stream:
                which = msg.WhichOneof("update")
                if which == "arbitration":
                    self._arbitration.put(msg)
                elif which == "packet":
                    self.packet_ins.put(msg.packet)
                elif which == "digest":
                    self.digests.put(msg.digest)
        except grpc.RpcError:
            pass  # cancelled in tearDown, or the switch went away: the test will notice

    def _become_primary(self, timeout: float = 15.0) -> None:
        req = p4runtime_pb2.StreamMessageRequest()
        req.arbitration.device_id = self.device_id
        req.arbitration.election_id.CopyFrom(self.election_id)
        self._requests.put(req)
        try:
            reply = self._arbitration.get(timeout=timeout)
        except queue.Empty:
            self.fail(f"no arbitration answer from {self.grpc_addr} within {timeout}s")
        if reply.arbitration.status.code != 0:
            self.fail(f"not primary on device {self.device_id}: {reply.arbitration.status.message}")

    # ---- writes

    def write(self, *updates: p4runtime_pb2.Update) -> None:
        """Send one WriteRequest with `updates`; remember INSERTs for cleanup."""
        req = p4runtime_pb2.WriteRequest(device_id=self.device_id, election_id=self.election_id)
        req.updates.extend(updates)
        try:
            self.stub.Write(req, timeout=10)
        except grpc.RpcError as e:
            self.fail(f"Write failed: {e.code().name}: {e.details()}")  # type: ignore[attr-defined]
        for u in updates:
            if u.type == p4runtime_pb2.Update.INSERT:
                self._written.append(u)

    def undo_writes(self) -> None:
        """Restore the default actions this test changed, then delete everything it
        inserted, newest first."""
        while self._restores:
            u = self._restores.pop()
            req = p4runtime_pb2.WriteRequest(
                device_id=self.device_id, election_id=self.election_id, updates=[u]
            )
            try:
                self.stub.Write(req, timeout=10)
            except grpc.RpcError as e:
                print(f"cleanup: could not restore a default action: {e.details()}")  # type: ignore[attr-defined]
        while self._written:
            u = self._written.pop()
            delete = p4runtime_pb2.Update(type=p4runtime_pb2.Update.DELETE)
            delete.entity.CopyFrom(u.entity)
            req = p4runtime_pb2.WriteRequest(
                device_id=self.device_id, election_id=self.election_id, updates=[delete]
            )
            try:
                self.stub.Write(req, timeout=10)
            except grpc.RpcError as e:
                print(f"cleanup: could not delete an entry: {e.details()}")  # type: ignore[attr-defined]

    def table_entry(
        self,
        table: str,
        match: dict[str, MatchValue],
        action: str | None = None,
        params: dict[str, int | str | bytes] | None = None,
        priority: int = 0,
    ) -> p4runtime_pb2.TableEntry:
        """Build a TableEntry from names and readable values.

        Match values by kind: exact/optional `v`; lpm `(v, prefix_len)` or "v/len";
        ternary `(v, mask)`; range `(lo, hi)`.
        """
        t = self.p4info.get("tables", table)
        te = p4runtime_pb2.TableEntry(table_id=t.preamble.id, priority=priority)
        for name, value in match.items():
            mf = self.p4info.match_field(table, name)
            fm = te.match.add(field_id=mf.id)
            kind = p4info_pb2.MatchField.MatchType.Name(mf.match_type)
            w = mf.bitwidth
            if kind == "EXACT":
                fm.exact.value = encode_value(value, w)  # type: ignore[arg-type]
            elif kind == "OPTIONAL":
                fm.optional.value = encode_value(value, w)  # type: ignore[arg-type]
            elif kind == "LPM":
                if isinstance(value, str) and "/" in value:
                    v, plen = value.split("/")
                    value = (v, int(plen))
                v, plen = value  # type: ignore[misc]
                fm.lpm.value = encode_value(v, w)
                fm.lpm.prefix_len = int(plen)
            elif kind == "TERNARY":
                v, mask = value  # type: ignore[misc]
                fm.ternary.value = encode_value(v, w)
                fm.ternary.mask = encode_value(mask, w)
            elif kind == "RANGE":
                lo, hi = value  # type: ignore[misc]
                fm.range.low = encode_value(lo, w)
                fm.range.high = encode_value(hi, w)
            else:
                raise ValueError(f"match kind {kind} of {name!r} is not supported here")
        if action is not None:
            te.action.action.CopyFrom(self.action(action, params or {}))
        return te

    def action(self, name: str, params: dict[str, int | str | bytes]) -> p4runtime_pb2.Action:
        """An Action message for `name` with `params` by parameter name."""
        a = p4runtime_pb2.Action(action_id=self.p4info.id("actions", name))
        for pname, value in params.items():
            p = self.p4info.action_param(name, pname)
            a.params.add(param_id=p.id, value=encode_value(value, p.bitwidth))
        return a

    def insert_table_entry(self, *args: Any, **kwargs: Any) -> p4runtime_pb2.TableEntry:
        """Insert an entry (arguments as :meth:`table_entry`); deleted when the test ends."""
        te = self.table_entry(*args, **kwargs)
        u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT)
        u.entity.table_entry.CopyFrom(te)
        self.write(u)
        return te

    def delete_table_entry(self, te: p4runtime_pb2.TableEntry) -> None:
        """Delete an entry now (and forget it for cleanup)."""
        u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.DELETE)
        u.entity.table_entry.CopyFrom(te)
        self._written = [w for w in self._written if w.entity.table_entry != te]
        req = p4runtime_pb2.WriteRequest(
            device_id=self.device_id, election_id=self.election_id, updates=[u]
        )
        self.stub.Write(req, timeout=10)

    def set_default_action(
        self,
        table: str,
        action: str,
        params: dict[str, int | str | bytes] | None = None,
        restore: tuple[str, dict[str, int | str | bytes]] | None = None,
    ) -> None:
        """MODIFY the default entry of `table`; when the test ends it is set back to
        `restore` (action name, params) if given."""
        u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.MODIFY)
        te = u.entity.table_entry
        te.table_id = self.p4info.id("tables", table)
        te.is_default_action = True
        te.action.action.CopyFrom(self.action(action, params or {}))
        self.write(u)
        if restore is not None:
            back = p4runtime_pb2.Update(type=p4runtime_pb2.Update.MODIFY)
            back.entity.table_entry.CopyFrom(te)
            back.entity.table_entry.action.action.CopyFrom(self.action(*restore))
            self._restores.append(back)

    def insert_clone_session(self, session_id: int, ports: list[int]) -> None:
        """Insert clone session `session_id` with one replica (instance 0) per port in
        `ports`; deleted when the test ends."""
        u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT)
        cs = u.entity.packet_replication_engine_entry.clone_session_entry
        cs.session_id = session_id
        for port in ports:
            # egress_port (not the 1.4 `port` bytes): what simple_switch_grpc reads.
            cs.replicas.add(egress_port=port, instance=0)
        self.write(u)

    def read_table_entries(self, table: str) -> list[p4runtime_pb2.TableEntry]:
        """Every entry of `table`, as the switch returns them."""
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        req.entities.add().table_entry.table_id = self.p4info.id("tables", table)
        return [e.table_entry for r in self.stub.Read(req, timeout=10) for e in r.entities]

    # ---- packet-out / packet-in

    def direct_counter(self, entry: p4runtime_pb2.TableEntry) -> tuple[int, int]:
        """(packets, bytes) of the direct counter of table entry `entry` (its key)."""
        ent = p4runtime_pb2.Entity()
        te = ent.direct_counter_entry.table_entry
        te.CopyFrom(entry)
        te.ClearField("action")
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        req.entities.add().CopyFrom(ent)
        got = [e for r in self.stub.Read(req, timeout=10) for e in r.entities]
        self.assertEqual(len(got), 1, f"reading a direct counter returned {len(got)} entries")
        data = got[0].direct_counter_entry.data
        return int(data.packet_count), int(data.byte_count)

    def send_packet_out(self, payload: bytes, **metadata: int) -> None:
        """Send a packet-out with metadata fields by name (from P4Info's packet_out)."""
        fields = self.p4info.packet_metadata("packet_out")
        req = p4runtime_pb2.StreamMessageRequest()
        req.packet.payload = payload
        for name, value in metadata.items():
            if name not in fields:
                raise P4InfoError(f"packet_out has no field {name!r}; it has {sorted(fields)}")
            m = fields[name]
            req.packet.metadata.add(metadata_id=m.id, value=encode_value(value, m.bitwidth))
        self._requests.put(req)

    def get_packet_in(self, timeout: float = 2.0) -> tuple[bytes, dict[str, int]]:
        """The next packet-in: payload and metadata by name. Fails after `timeout`."""
        try:
            pkt = self.packet_ins.get(timeout=timeout)
        except queue.Empty:
            self.fail(f"no packet-in within {timeout}s")
        names = {m.id: n for n, m in self.p4info.packet_metadata("packet_in").items()}
        meta = {
            names.get(m.metadata_id, str(m.metadata_id)): int.from_bytes(m.value, "big")
            for m in pkt.metadata
        }
        return pkt.payload, meta

    def assert_no_packet_in(self, timeout: float = 0.5) -> None:
        """Fail if a packet-in arrives within `timeout`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                pkt = self.packet_ins.get(timeout=left)
            except queue.Empty:
                return
            self.fail(f"unexpected packet-in: {pkt.payload.hex()}")


def skip_unless_root(cls: type[unittest.TestCase]) -> type[unittest.TestCase]:
    """Skip a packet test class with a clear reason when not running as root."""
    import os

    if os.geteuid() != 0:
        return unittest.skip("PTF packet tests need root to open the veth interfaces")(cls)
    return cls

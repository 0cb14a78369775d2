"""A small in-process P4Runtime server for the controller's tests.

It behaves like BMv2 where the controller depends on it: arbitration (highest
election id is primary), Write with CONTINUE_ON_ERROR semantics and per-update
p4.v1.Error details in grpc-status-details-bin, table sizes enforced
(RESOURCE_EXHAUSTED), ALREADY_EXISTS / NOT_FOUND by table + match + priority, Read of
table entries (with direct counters when asked; INSERT may set them with counter_data,
unless `insert_counter_data` is False) and indexed counters,
Get/SetForwardingPipelineConfig. `refuse` lets a test reject chosen updates.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
from google.rpc import code_pb2, status_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

from controlplane.install import match_key


class FakeSwitch(p4runtime_pb2_grpc.P4RuntimeServicer):
    """State of one fake device; `serve()` starts it on a free loopback port."""

    def __init__(self, p4info: p4info_pb2.P4Info | None, device_id: int = 1) -> None:
        self.device_id = device_id
        self.p4info = p4info
        self.tables: dict[int, dict[tuple[object, ...], p4runtime_pb2.TableEntry]] = {}
        self.direct: dict[tuple[object, ...], tuple[int, int]] = {}
        self.counters: dict[int, dict[int, tuple[int, int]]] = {}
        self.write_requests: list[p4runtime_pb2.WriteRequest] = []
        self.refuse: Callable[[int, p4runtime_pb2.Update], tuple[int, str] | None] | None = None
        self.insert_counter_data = True  # False: refuse INSERTs carrying counter_data
        self.primary: int | None = None
        self.lock = threading.Lock()
        self.server: grpc.Server | None = None
        self.address = ""

    # --- helpers for tests --------------------------------------------------------

    def serve(self) -> str:
        """Start on 127.0.0.1:<free port>; returns the address."""
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        p4runtime_pb2_grpc.add_P4RuntimeServicer_to_server(self, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self.server, self.address = server, f"127.0.0.1:{port}"
        return self.address

    def stop(self) -> None:
        """Stop the server."""
        if self.server is not None:
            self.server.stop(grace=None)

    def entries(self) -> list[p4runtime_pb2.TableEntry]:
        """Every entry held, all tables."""
        return [e for t in self.tables.values() for e in t.values()]

    def updates_sent(self) -> int:
        """Total updates received over all Writes."""
        return sum(len(r.updates) for r in self.write_requests)

    def _size(self, table_id: int) -> int:
        assert self.p4info is not None
        return next(t.size for t in self.p4info.tables if t.preamble.id == table_id)

    # --- P4Runtime ----------------------------------------------------------------

    def StreamChannel(
        self,
        request_iterator: Iterator[p4runtime_pb2.StreamMessageRequest],
        context: grpc.ServicerContext,
    ) -> Iterator[p4runtime_pb2.StreamMessageResponse]:
        mine: int | None = None
        try:
            for req in request_iterator:
                if not req.HasField("arbitration"):
                    continue
                eid = (req.arbitration.election_id.high << 64) | req.arbitration.election_id.low
                with self.lock:
                    if self.primary is None or eid > self.primary:
                        self.primary = mine = eid
                    ok = self.primary == eid
                    primary = self.primary
                reply = p4runtime_pb2.StreamMessageResponse()
                reply.arbitration.CopyFrom(req.arbitration)
                # as BMv2: the answer carries the primary's election id
                reply.arbitration.election_id.high = primary >> 64
                reply.arbitration.election_id.low = primary & (2**64 - 1)
                reply.arbitration.status.code = code_pb2.OK if ok else code_pb2.ALREADY_EXISTS
                yield reply
        finally:
            with self.lock:
                if mine is not None and self.primary == mine:
                    self.primary = None

    def GetForwardingPipelineConfig(
        self,
        request: p4runtime_pb2.GetForwardingPipelineConfigRequest,
        context: grpc.ServicerContext,
    ) -> p4runtime_pb2.GetForwardingPipelineConfigResponse:
        if self.p4info is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "No forwarding pipeline config set")
        reply = p4runtime_pb2.GetForwardingPipelineConfigResponse()
        reply.config.p4info.CopyFrom(self.p4info)
        return reply

    def SetForwardingPipelineConfig(
        self,
        request: p4runtime_pb2.SetForwardingPipelineConfigRequest,
        context: grpc.ServicerContext,
    ) -> p4runtime_pb2.SetForwardingPipelineConfigResponse:
        eid = (request.election_id.high << 64) | request.election_id.low
        if eid != self.primary:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "not primary")
        self.p4info = request.config.p4info
        self.tables.clear()
        return p4runtime_pb2.SetForwardingPipelineConfigResponse()

    def Read(
        self, request: p4runtime_pb2.ReadRequest, context: grpc.ServicerContext
    ) -> Iterator[p4runtime_pb2.ReadResponse]:
        reply = p4runtime_pb2.ReadResponse()
        for ent in request.entities:
            if ent.HasField("table_entry"):
                for e in self.tables.get(ent.table_entry.table_id, {}).values():
                    out = reply.entities.add().table_entry
                    out.CopyFrom(e)
                    # full-width bytes, as some servers answer: the diff must not care
                    for m in out.match:
                        if m.HasField("ternary"):
                            m.ternary.value = m.ternary.value.rjust(4, b"\0")
                    if ent.table_entry.HasField("counter_data"):
                        p, b = self.direct.get(match_key(e), (0, 0))
                        out.counter_data.packet_count, out.counter_data.byte_count = p, b
            elif ent.HasField("counter_entry"):
                cid = ent.counter_entry.counter_id
                assert self.p4info is not None
                size = next(c.size for c in self.p4info.counters if c.preamble.id == cid)
                for i in range(size):
                    p, b = self.counters.get(cid, {}).get(i, (0, 0))
                    ce = reply.entities.add().counter_entry
                    ce.counter_id, ce.index.index = cid, i
                    ce.data.packet_count, ce.data.byte_count = p, b
        yield reply

    def Write(
        self, request: p4runtime_pb2.WriteRequest, context: grpc.ServicerContext
    ) -> p4runtime_pb2.WriteResponse:
        eid = (request.election_id.high << 64) | request.election_id.low
        if eid != self.primary:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "not primary")
        self.write_requests.append(request)
        results: list[tuple[int, str]] = []
        for i, u in enumerate(request.updates):
            results.append(self._apply(i, u))
        if all(code == code_pb2.OK for code, _ in results):
            return p4runtime_pb2.WriteResponse()
        status = status_pb2.Status(code=code_pb2.UNKNOWN, message="Write failure")
        for code, msg in results:
            status.details.add().Pack(p4runtime_pb2.Error(canonical_code=code, message=msg))
        context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
        context.set_code(grpc.StatusCode.UNKNOWN)
        context.set_details("Write failure")
        return p4runtime_pb2.WriteResponse()

    def _apply(self, i: int, u: p4runtime_pb2.Update) -> tuple[int, str]:
        if self.refuse is not None and (why := self.refuse(i, u)) is not None:
            return why
        e = u.entity.table_entry
        table = self.tables.setdefault(e.table_id, {})
        key = match_key(e)
        if u.type == p4runtime_pb2.Update.INSERT:
            if key in table:
                return (
                    code_pb2.ALREADY_EXISTS,
                    "Match entry exists, use MODIFY if you wish to change action",
                )
            if len(table) >= self._size(e.table_id):
                return code_pb2.RESOURCE_EXHAUSTED, "Table is full"
            if e.HasField("counter_data"):
                if not self.insert_counter_data:
                    return code_pb2.UNIMPLEMENTED, "counter_data in INSERT not supported"
                self.direct[key] = (e.counter_data.packet_count, e.counter_data.byte_count)
                e = p4runtime_pb2.TableEntry()
                e.CopyFrom(u.entity.table_entry)
                e.ClearField("counter_data")
            table[key] = e
        elif u.type == p4runtime_pb2.Update.MODIFY:
            if key not in table:
                return code_pb2.NOT_FOUND, "Cannot find match entry"
            table[key] = e
        elif u.type == p4runtime_pb2.Update.DELETE:
            if key not in table:
                return code_pb2.NOT_FOUND, "Cannot find match entry"
            del table[key]
            self.direct.pop(key, None)
        return code_pb2.OK, ""

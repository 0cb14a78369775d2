"""Helpers for the P4Runtime server tests: a fake Switch and a raw gRPC client."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import text_format
from google.rpc import status_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

from softswitch.runtime import DeviceState

DATA = Path(__file__).resolve().parent / "data"
TOY_P4INFO_PATH = DATA / "toy.p4info.txtpb"
DEVICE_ID = 1
WAIT = 10.0  # seconds; only reached when a test is failing


class PipelineConfigError(Exception):
    """Same name as softswitch.device's: the server recognises it by name."""


class FakeSwitch:
    """Implements the Switch interface of DESIGN-softswitch.md without an engine."""

    def __init__(self, device_id: int = DEVICE_ID, cpu_port: int | None = 64) -> None:
        self.device_id = device_id
        self.cpu_port = cpu_port
        self.lock = threading.RLock()
        self.p4info: p4info_pb2.P4Info | None = None
        self.device_config: bytes | None = None
        self.state: DeviceState | None = None
        self.sent: queue.Queue[bytes] = queue.Queue()
        self._listeners: list[Callable[[bytes], None]] = []

    def prepare_pipeline(
        self, p4info: p4info_pb2.P4Info, device_config: bytes
    ) -> tuple[p4info_pb2.P4Info, bytes]:
        if device_config.startswith(b"bad"):
            raise PipelineConfigError("device config does not parse")
        DeviceState(p4info, self.cpu_port)  # refuses what the runtime cannot hold
        return (p4info, device_config)

    def commit_pipeline(self, prepared: tuple[p4info_pb2.P4Info, bytes]) -> None:
        p4info, cfg = prepared
        with self.lock:
            self.p4info = p4info
            self.device_config = cfg
            self.state = DeviceState(p4info, self.cpu_port)

    def packet_out(self, data: bytes) -> None:
        self.sent.put(data)

    def add_packet_in_listener(self, fn: Callable[[bytes], None]) -> None:
        self._listeners.append(fn)

    def send_to_cpu(self, data: bytes) -> None:
        """What the pipeline does for a packet to the CPU port."""
        for fn in self._listeners:
            fn(data)


def load_toy_p4info() -> p4info_pb2.P4Info:
    return text_format.Parse(TOY_P4INFO_PATH.read_text(), p4info_pb2.P4Info())


class RawClient:
    """A P4Runtime client on the raw generated stubs, with its own StreamChannel."""

    def __init__(self, address: str, device_id: int = DEVICE_ID) -> None:
        self.device_id = device_id
        self.channel = grpc.insecure_channel(address)
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self.election_id = 0
        self.role = ""
        self._out: queue.Queue[p4runtime_pb2.StreamMessageRequest | None] = queue.Queue()
        self.inbox: queue.Queue[Any] = queue.Queue()
        self._stream = self.stub.StreamChannel(iter(self._out.get, None))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for msg in self._stream:
                self.inbox.put(msg)
        except grpc.RpcError as e:
            self.inbox.put(e)

    def send(self, msg: p4runtime_pb2.StreamMessageRequest) -> None:
        self._out.put(msg)

    def next(self, kind: str | None = None) -> Any:
        """Next stream message (of `kind` if given), or the RpcError that ended the stream."""
        while True:
            msg = self.inbox.get(timeout=WAIT)
            if isinstance(msg, grpc.RpcError) or kind is None or msg.HasField(kind):
                return msg

    def arbitrate(
        self, election_id: int | None, role: str = "", device_id: int | None = None
    ) -> Any:
        req = p4runtime_pb2.StreamMessageRequest()
        req.arbitration.device_id = self.device_id if device_id is None else device_id
        if election_id is not None:
            req.arbitration.election_id.high = election_id >> 64
            req.arbitration.election_id.low = election_id & (2**64 - 1)
            self.election_id = election_id
        if role:
            req.arbitration.role.name = role
        self.role = role
        self.send(req)
        return self.next("arbitration")

    def set_pipeline(
        self,
        action: int = p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
        p4info: p4info_pb2.P4Info | None = None,
        device_config: bytes = b'{"format": "softswitch-v1"}',
        cookie: int | None = None,
    ) -> None:
        req = p4runtime_pb2.SetForwardingPipelineConfigRequest(
            device_id=self.device_id, action=action, role=self.role
        )
        self._set_eid(req)
        if p4info is not None or action != req.COMMIT:
            req.config.p4info.CopyFrom(p4info if p4info is not None else load_toy_p4info())
            req.config.p4_device_config = device_config
            if cookie is not None:
                req.config.cookie.cookie = cookie
        self.stub.SetForwardingPipelineConfig(req)

    def _set_eid(self, req: Any) -> None:
        req.election_id.high = self.election_id >> 64
        req.election_id.low = self.election_id & (2**64 - 1)

    def write(
        self, *updates: p4runtime_pb2.Update, atomicity: int = 0
    ) -> p4runtime_pb2.WriteResponse:
        req = p4runtime_pb2.WriteRequest(
            device_id=self.device_id, atomicity=atomicity, role=self.role
        )
        self._set_eid(req)
        req.updates.extend(updates)
        return self.stub.Write(req)

    def read(self, *entities: p4runtime_pb2.Entity) -> list[p4runtime_pb2.Entity]:
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        req.entities.extend(entities)
        out = []
        for resp in self.stub.Read(req):
            out.extend(resp.entities)
        return out

    def close(self) -> None:
        self._out.put(None)
        self._reader.join(WAIT)
        self.channel.close()


def write_errors(e: grpc.RpcError) -> list[p4runtime_pb2.Error]:
    """The per-update p4.v1.Error list of a failed Write (or per-request, of a failed Read)."""
    assert e.code() == grpc.StatusCode.UNKNOWN, e
    for key, value in e.trailing_metadata():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(value)
            out = []
            for d in st.details:
                err = p4runtime_pb2.Error()
                assert d.Unpack(err)
                out.append(err)
            return out
    raise AssertionError("no grpc-status-details-bin trailer")

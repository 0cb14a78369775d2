"""A small P4Runtime client: arbitration, pipeline push, writes, counter reads.

The runner talks to every target through this one client, so both targets see the
same requests.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import grpc
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc


class P4RuntimeError(Exception):
    """A P4Runtime call that failed; the message has the gRPC code and details."""


def _describe(e: grpc.RpcError) -> str:
    code = e.code().name if e.code() else "UNKNOWN"
    details = e.details() or ""
    return f"{code}: {details}".strip()


class Client:
    """One primary controller connection to `address` for `device_id`."""

    def __init__(self, address: str, device_id: int = 1, timeout: float = 20.0) -> None:
        self.address = address
        self.device_id = device_id
        self.timeout = timeout
        self.channel = grpc.insecure_channel(
            address, options=[("grpc.max_send_message_length", 256 * 1024 * 1024)]
        )
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self._requests: queue.Queue[p4runtime_pb2.StreamMessageRequest | None] = queue.Queue()
        self._arbitrated = threading.Event()
        self._stream_error: str | None = None
        self._thread: threading.Thread | None = None

    def _request_iter(self) -> Iterator[p4runtime_pb2.StreamMessageRequest]:
        while True:
            item = self._requests.get()
            if item is None:
                return
            yield item

    def _read_stream(self) -> None:
        try:
            for resp in self.stub.StreamChannel(self._request_iter()):
                if resp.HasField("arbitration"):
                    self._arbitrated.set()
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                self._stream_error = _describe(e)
            self._arbitrated.set()

    def connect(self) -> None:
        """Wait for the server and become primary (election id 1)."""
        deadline = time.monotonic() + self.timeout
        try:
            grpc.channel_ready_future(self.channel).result(timeout=self.timeout)
        except grpc.FutureTimeoutError:
            raise P4RuntimeError(f"no P4Runtime server at {self.address}") from None
        req = p4runtime_pb2.StreamMessageRequest()
        req.arbitration.device_id = self.device_id
        req.arbitration.election_id.low = 1
        self._requests.put(req)
        self._thread = threading.Thread(target=self._read_stream, daemon=True)
        self._thread.start()
        if not self._arbitrated.wait(max(0.1, deadline - time.monotonic())):
            raise P4RuntimeError(f"no arbitration answer from {self.address}")
        if self._stream_error:
            raise P4RuntimeError(f"StreamChannel: {self._stream_error}")

    def set_pipeline(self, p4info: p4info_pb2.P4Info, device_config: bytes) -> None:
        req = p4runtime_pb2.SetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            action=p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
        )
        req.election_id.low = 1
        req.config.p4info.CopyFrom(p4info)
        req.config.p4_device_config = device_config
        try:
            self.stub.SetForwardingPipelineConfig(req, timeout=self.timeout)
        except grpc.RpcError as e:
            raise P4RuntimeError(f"SetForwardingPipelineConfig: {_describe(e)}") from None

    def write(self, *updates: p4runtime_pb2.Update) -> None:
        req = p4runtime_pb2.WriteRequest(device_id=self.device_id)
        req.election_id.low = 1
        req.updates.extend(updates)
        try:
            self.stub.Write(req, timeout=self.timeout)
        except grpc.RpcError as e:
            raise P4RuntimeError(f"Write: {_describe(e)}") from None

    def read(self, *entities: p4runtime_pb2.Entity) -> list[p4runtime_pb2.Entity]:
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        req.entities.extend(entities)
        out: list[p4runtime_pb2.Entity] = []
        try:
            for resp in self.stub.Read(req, timeout=self.timeout):
                out.extend(resp.entities)
        except grpc.RpcError as e:
            raise P4RuntimeError(f"Read: {_describe(e)}") from None
        return out

    def close(self) -> None:
        self._requests.put(None)
        self.channel.close()
        if self._thread is not None:
            self._thread.join(timeout=2)


def update(kind: int, entity: p4runtime_pb2.Entity) -> p4runtime_pb2.Update:
    u = p4runtime_pb2.Update(type=kind)  # type: ignore[arg-type]
    u.entity.CopyFrom(entity)
    return u


INSERT = p4runtime_pb2.Update.INSERT
MODIFY = p4runtime_pb2.Update.MODIFY
DELETE = p4runtime_pb2.Update.DELETE

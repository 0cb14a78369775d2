"""The controller's P4Runtime connection: arbitration, pipeline, Read and Write.

Plain gRPC with the p4runtime protos rather than p4runtime-shell's client, because
that client exits the process (sys.exit) when it cannot connect or is not primary,
and its error iterator loops forever on a batch whose details include OK entries.
Reads and GetForwardingPipelineConfig need no arbitration; Write and
SetForwardingPipelineConfig need this client to be primary (`become_primary`),
which holds a StreamChannel open until `close`.

Errors come out as `SwitchUnreachable` (nothing answers), `SwitchError` (the switch
refused: not primary, no pipeline, ...) or `WriteFailed` with one `UpdateError` per
refused update.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Literal

import grpc
from google.rpc import code_pb2, status_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

from controlplane.errors import SwitchError, SwitchUnreachable, UpdateError, WriteFailed

_CLOSE = object()


def _election_id(update: p4runtime_pb2.MasterArbitrationUpdate) -> int:
    """The election id an arbitration answer carries (the highest the server knows)."""
    return int(update.election_id.high) << 64 | int(update.election_id.low)


def code_name(code: int) -> str:
    """google.rpc.Code number -> name (`RESOURCE_EXHAUSTED`)."""
    try:
        return str(code_pb2.Code.Name(code))
    except ValueError:
        return f"code {code}"


def update_errors(err: grpc.RpcError) -> list[UpdateError]:
    """The per-update p4.v1.Error details of a failed Write (empty if there are none)."""
    out: list[UpdateError] = []
    for key, value in err.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status()
        status.ParseFromString(value)
        for i, detail in enumerate(status.details):
            p4err = p4runtime_pb2.Error()
            if detail.Unpack(p4err) and p4err.canonical_code != code_pb2.OK:
                out.append(UpdateError(i, code_name(p4err.canonical_code), p4err.message))
    return out


class EntityReads:
    """Table and counter reads on top of `read`, for every P4Runtime client of the
    controller (this module's, and the in-process one of tests and benchmarks)."""

    def read(self, entities: Sequence[p4runtime_pb2.Entity]) -> list[p4runtime_pb2.Entity]:
        raise NotImplementedError

    def read_table(
        self, table_id: int, with_counters: bool = False
    ) -> list[p4runtime_pb2.TableEntry]:
        """Entries of table `table_id` (not the default), with direct counters if asked."""
        ent = p4runtime_pb2.Entity()
        ent.table_entry.table_id = table_id
        if with_counters:
            ent.table_entry.counter_data.SetInParent()
        return [e.table_entry for e in self.read([ent]) if not e.table_entry.is_default_action]

    def read_default(self, table_id: int) -> p4runtime_pb2.TableEntry | None:
        """The default entry of table `table_id` as the switch holds it."""
        ent = p4runtime_pb2.Entity()
        ent.table_entry.table_id = table_id
        ent.table_entry.is_default_action = True
        for e in self.read([ent]):
            if e.table_entry.is_default_action:
                return p4runtime_pb2.TableEntry.FromString(e.table_entry.SerializeToString())
        return None

    def read_counter(self, counter_id: int) -> list[p4runtime_pb2.CounterEntry]:
        """Every index of indexed counter `counter_id`."""
        ent = p4runtime_pb2.Entity()
        ent.counter_entry.counter_id = counter_id
        return [e.counter_entry for e in self.read([ent])]


class P4RuntimeSwitch(EntityReads):
    """One P4Runtime server (`address`, `device_id`); use as a context manager."""

    def __init__(
        self,
        address: str,
        device_id: int = 1,
        election_id: int = 1,
        timeout_s: float = 5.0,
    ) -> None:
        self.address = address
        self.device_id = device_id
        self.election_id = election_id
        self.timeout_s = timeout_s
        self._channel = grpc.insecure_channel(address)
        self._stub = p4runtime_pb2_grpc.P4RuntimeStub(self._channel)
        self._requests: queue.Queue[object] | None = None
        self._replies: queue.Queue[object] = queue.Queue()
        self._stream: grpc.Future | None = None
        self._reader: threading.Thread | None = None
        self._digests: list[p4runtime_pb2.DigestList] = []
        self.is_primary = False
        self.rejoin_margin = 1
        """When the primary leaves, arbitrate again with its id + this (a controller that
        must win over others rejoining at + 1 sets 2: `balance` over `sweep`)."""

    # --- lifecycle ------------------------------------------------------------------

    def connect(self) -> P4RuntimeSwitch:
        """Wait until the server answers; raise SwitchUnreachable after `timeout_s`."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=self.timeout_s)
        except grpc.FutureTimeoutError:
            raise SwitchUnreachable(
                self.address, f"no answer within {self.timeout_s:g} s"
            ) from None
        return self

    def __enter__(self) -> P4RuntimeSwitch:
        return self.connect()

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """End the stream (giving up primary) and the channel."""
        if self._requests is not None:
            self._requests.put(_CLOSE)
            self._requests = None
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None
        if self._reader is not None:
            self._reader.join(timeout=2)
            self._reader = None
        self._channel.close()

    def _rpc_error(self, e: grpc.RpcError, what: str) -> Exception:
        code = e.code()
        details = e.details() or code.name
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return SwitchUnreachable(self.address, details)
        return SwitchError(f"{what}: the switch at {self.address} answered {code.name}: {details}")

    # --- arbitration ----------------------------------------------------------------

    def _election(self) -> p4runtime_pb2.Uint128:
        return p4runtime_pb2.Uint128(
            high=self.election_id >> 64, low=self.election_id & (2**64 - 1)
        )

    def become_primary(self, take_over: bool = True, wait: bool = False) -> None:
        """Open the StreamChannel and win arbitration, or raise SwitchError.

        P4Runtime 1.4 §5.3: a client becomes primary only with an election id at least
        the highest the server has ever accepted for the role, which every arbitration
        answer carries. So a refusal is answered with that id + 1: always when the role
        has no primary (NOT_FOUND), and, when another client is primary (ALREADY_EXISTS),
        if `take_over` (the operator's `install` preempts a running
        `sweep`). Otherwise `wait` stays a backup until the primary leaves (the server
        then tells every backup NOT_FOUND), else SwitchError. A BMv2 1.3 server (the
        highest connected id wins) accepts the same sequence.
        """
        requests: queue.Queue[object] = queue.Queue()

        def outgoing() -> Iterator[p4runtime_pb2.StreamMessageRequest]:
            while (item := requests.get()) is not _CLOSE:
                yield item

        stream = self._stub.StreamChannel(outgoing())

        def incoming() -> None:
            try:
                for reply in stream:
                    self._replies.put(reply)
            except grpc.RpcError as e:
                self._replies.put(e)

        self._requests, self._stream = requests, stream
        self._reader = threading.Thread(target=incoming, name="p4rt-stream", daemon=True)
        self._reader.start()
        self._arbitrate()
        while True:
            try:
                reply = self._replies.get(timeout=None if wait else self.timeout_s)
            except queue.Empty:
                raise SwitchError(
                    f"the switch at {self.address} did not answer arbitration within "
                    f"{self.timeout_s:g} s"
                ) from None
            if isinstance(reply, grpc.RpcError):
                raise self._rpc_error(reply, "arbitration")
            assert isinstance(reply, p4runtime_pb2.StreamMessageResponse)
            if not reply.HasField("arbitration"):
                continue
            outcome = self._on_arbitration(reply.arbitration, take_over=take_over)
            if outcome == "primary":
                return
            if outcome == "backup" and not wait:
                raise SwitchError(
                    f"another controller is primary for device {self.device_id} at "
                    f"{self.address} (election id "
                    f"{_election_id(reply.arbitration)} is above ours); without "
                    "--no-take-over, install takes the switch over"
                )

    def _arbitrate(self) -> None:
        assert self._requests is not None
        req = p4runtime_pb2.StreamMessageRequest()
        req.arbitration.device_id = self.device_id
        req.arbitration.election_id.CopyFrom(self._election())
        self._requests.put(req)

    def _on_arbitration(
        self, update: p4runtime_pb2.MasterArbitrationUpdate, take_over: bool
    ) -> Literal["primary", "retry", "backup"]:
        """Follow one arbitration answer: primary now, arbitrating again, or a backup."""
        code = update.status.code
        self.is_primary = code == code_pb2.OK
        if self.is_primary:
            return "primary"
        highest = _election_id(update)
        if code == code_pb2.NOT_FOUND and highest >= self.election_id:
            # above, not equal: the client that held `highest` may come back with it
            self.election_id = highest + self.rejoin_margin
        elif code == code_pb2.ALREADY_EXISTS and take_over and highest >= self.election_id:
            self.election_id = highest + 1
        else:
            return "backup"
        self._arbitrate()
        return "retry"

    def packet_out(self, payload: bytes, metadata: dict[int, bytes]) -> None:
        """Send one PacketOut on the stream (become_primary first); metadata id -> value.

        Refusals come back asynchronously as stream errors; they are dropped here
        (a backup's packets are refused until it is primary again)."""
        if self._requests is None:
            raise SwitchError("packet_out needs the stream: call become_primary() first")
        req = p4runtime_pb2.StreamMessageRequest()
        req.packet.payload = payload
        for mid, value in metadata.items():
            req.packet.metadata.add(metadata_id=mid, value=value)
        self._requests.put(req)
        self.poll_stream()

    def poll_stream(self, timeout_s: float = 0.0) -> None:
        """Handle what the stream sent since the last call (waiting up to `timeout_s`
        for the first message): arbitration updates keep a backup ready to take over
        when the primary leaves; digest lists are kept for `take_digests`; the rest is
        dropped."""
        wait = timeout_s
        while True:
            try:
                reply = self._replies.get(timeout=wait) if wait > 0 else self._replies.get_nowait()
            except queue.Empty:
                return
            wait = 0.0
            if isinstance(reply, grpc.RpcError):
                raise self._rpc_error(reply, "stream")
            if not isinstance(reply, p4runtime_pb2.StreamMessageResponse):
                continue
            if reply.HasField("arbitration"):
                self._on_arbitration(reply.arbitration, take_over=False)
            elif reply.HasField("digest"):
                self._digests.append(reply.digest)

    def take_digests(self, timeout_s: float = 0.0) -> list[p4runtime_pb2.DigestList]:
        """The digest lists the switch sent (to this client as primary), waiting up to
        `timeout_s` for a stream message when none is there yet; acknowledge each with
        `ack_digest`."""
        if not self._digests:
            self.poll_stream(timeout_s)
        self.poll_stream()
        out, self._digests = self._digests, []
        return out

    def ack_digest(self, digest_id: int, list_id: int) -> None:
        """Acknowledge a digest list (P4Runtime DigestListAck): the switch may report
        its samples again."""
        if self._requests is None:
            raise SwitchError("ack_digest needs the stream: call become_primary() first")
        req = p4runtime_pb2.StreamMessageRequest()
        req.digest_ack.digest_id = digest_id
        req.digest_ack.list_id = list_id
        self._requests.put(req)

    # --- pipeline -------------------------------------------------------------------

    def get_p4info(self) -> p4info_pb2.P4Info | None:
        """The running pipeline's P4Info, or None when the switch has no pipeline."""
        req = p4runtime_pb2.GetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            response_type=p4runtime_pb2.GetForwardingPipelineConfigRequest.P4INFO_AND_COOKIE,
        )
        try:
            reply = self._stub.GetForwardingPipelineConfig(req, timeout=self.timeout_s)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                return None
            raise self._rpc_error(e, "GetForwardingPipelineConfig") from None
        if not reply.config.HasField("p4info") or not reply.config.p4info.tables:
            return None
        return reply.config.p4info

    def set_pipeline(self, p4info: p4info_pb2.P4Info, device_config: bytes) -> None:
        """SetForwardingPipelineConfig(VERIFY_AND_COMMIT); needs `become_primary` first."""
        req = p4runtime_pb2.SetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            election_id=self._election(),
            action=p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
        )
        req.config.p4info.CopyFrom(p4info)
        req.config.p4_device_config = device_config
        try:
            self._stub.SetForwardingPipelineConfig(req, timeout=max(self.timeout_s, 120))
        except grpc.RpcError as e:
            raise self._rpc_error(e, "SetForwardingPipelineConfig") from None

    # --- read / write ---------------------------------------------------------------

    def read(self, entities: Sequence[p4runtime_pb2.Entity]) -> list[p4runtime_pb2.Entity]:
        """Every entity the server returns for the (wildcard) `entities`."""
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id, entities=list(entities))
        out: list[p4runtime_pb2.Entity] = []
        try:
            for reply in self._stub.Read(req, timeout=self.timeout_s):
                out.extend(reply.entities)
        except grpc.RpcError as e:
            raise self._rpc_error(e, "Read") from None
        return out

    def write(self, updates: Sequence[p4runtime_pb2.Update]) -> None:
        """Send `updates` as one Write (CONTINUE_ON_ERROR, what BMv2 supports).

        Raises WriteFailed with the per-update errors if any update was refused.
        """
        if not updates:
            return
        req = p4runtime_pb2.WriteRequest(
            device_id=self.device_id,
            election_id=self._election(),
            updates=list(updates),
            atomicity=p4runtime_pb2.WriteRequest.CONTINUE_ON_ERROR,
        )
        try:
            self._stub.Write(req, timeout=max(self.timeout_s, 60))
        except grpc.RpcError as e:
            code = e.code()
            if code == grpc.StatusCode.UNAVAILABLE:
                raise self._rpc_error(e, "Write") from None
            errors = update_errors(e)
            if not errors:
                errors = [UpdateError(-1, code.name, e.details() or "")]
            raise WriteFailed(
                f"the switch refused {len(errors)} of {len(updates)} updates", errors
            ) from None

"""A P4Runtime connection to softswitch's servicer in this process, without a socket.

It offers the calls the controller makes on `controlplane.p4rt.P4RuntimeSwitch`
(`become_primary`, `get_p4info`, `set_pipeline`, `read`, `read_table`,
`read_counter`, `write`) and hands each request to `softswitch.server.P4RuntimeServicer`
as the gRPC server would: the same arbitration check, the same conversion of byte
strings and entities, the same per-update errors, which come back as the
controller's `WriteFailed` (parsed by `controlplane.p4rt.update_errors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import grpc
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from controlplane.errors import SwitchError, UpdateError, WriteFailed
from controlplane.p4rt import EntityReads, update_errors
from softswitch.server import P4RuntimeServicer, convert
from softswitch.server.arbitration import Client, uint128


class _Aborted(Exception):
    """What `context.abort` raises; it answers `code()`, `details()` and
    `trailing_metadata()` like the grpc.RpcError a gRPC client gets."""

    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        trailing: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        super().__init__(details)
        self._code, self._details, self._trailing = code, details, trailing

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return self._trailing


class _Context:
    """The part of grpc.ServicerContext the servicer's unary calls use."""

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        raise _Aborted(code, details)

    def abort_with_status(self, status: Any) -> NoReturn:
        raise _Aborted(status.code, status.details, tuple(status.trailing_metadata))


class LocalP4Runtime(EntityReads):
    """One client of `servicer` (device `device_id`, election id `election_id`)."""

    def __init__(
        self, servicer: P4RuntimeServicer, device_id: int = 1, election_id: int = 1
    ) -> None:
        self.servicer = servicer
        self.device_id = device_id
        self.election_id = election_id
        self.is_primary = False
        self._client = Client(send=lambda _reply: None)
        self._context: Any = _Context()

    def _refused(self, e: _Aborted, what: str) -> SwitchError:
        return SwitchError(f"{what}: the switch answered {e.code().name}: {e.details()}")

    def become_primary(self) -> None:
        """Arbitrate as a StreamChannel's first message does; SwitchError if not primary."""
        update = p4runtime_pb2.MasterArbitrationUpdate(
            device_id=self.device_id, election_id=uint128(self.election_id)
        )
        self.servicer.arbiter.arbitrate(self._client, update)
        if not self.servicer.arbiter.is_primary_client(self._client):
            raise SwitchError(f"election id {self.election_id} is not the highest")
        self.is_primary = True

    def get_p4info(self) -> p4info_pb2.P4Info | None:
        """The running pipeline's P4Info, None when there is none."""
        req = p4runtime_pb2.GetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            response_type=p4runtime_pb2.GetForwardingPipelineConfigRequest.P4INFO_AND_COOKIE,
        )
        try:
            reply = self.servicer.GetForwardingPipelineConfig(req, self._context)
        except _Aborted as e:
            if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                return None
            raise self._refused(e, "GetForwardingPipelineConfig") from None
        p4info: p4info_pb2.P4Info = reply.config.p4info
        return p4info

    def set_pipeline(self, p4info: p4info_pb2.P4Info, device_config: bytes) -> None:
        """SetForwardingPipelineConfig(VERIFY_AND_COMMIT); `become_primary` first."""
        req = p4runtime_pb2.SetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            election_id=uint128(self.election_id),
            action=p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
        )
        req.config.p4info.CopyFrom(p4info)
        req.config.p4_device_config = device_config
        try:
            self.servicer.SetForwardingPipelineConfig(req, self._context)
        except _Aborted as e:
            raise self._refused(e, "SetForwardingPipelineConfig") from None

    def read(self, entities: Sequence[p4runtime_pb2.Entity]) -> list[p4runtime_pb2.Entity]:
        """Every entity the servicer returns for the (wildcard) `entities`."""
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id, entities=list(entities))
        out: list[p4runtime_pb2.Entity] = []
        try:
            for reply in self.servicer.Read(req, self._context):
                out.extend(reply.entities)
        except _Aborted as e:
            raise self._refused(e, "Read") from None
        return out

    def write(self, updates: Sequence[p4runtime_pb2.Update]) -> None:
        """`updates` as one Write (CONTINUE_ON_ERROR); WriteFailed lists refused updates."""
        if not updates:
            return
        req = p4runtime_pb2.WriteRequest(
            device_id=self.device_id,
            election_id=uint128(self.election_id),
            updates=list(updates),
            atomicity=p4runtime_pb2.WriteRequest.CONTINUE_ON_ERROR,
        )
        try:
            self.servicer.Write(req, self._context)
        except _Aborted as e:
            errors = update_errors(e) or [UpdateError(-1, e.code().name, e.details())]
            raise WriteFailed(
                f"the switch refused {len(errors)} of {len(updates)} updates", errors
            ) from None

    def take_digests(self, timeout_s: float = 0.0) -> list[p4runtime_pb2.DigestList]:
        """The digest lists ready now, as the server's stream would send them to the
        primary (`timeout_s` is ignored: the pipeline runs in the caller's thread)."""
        state = self.servicer.switch.state
        if state is None or not self.is_primary:
            return []
        out = []
        for batch in state.digests.poll():
            info = state.digest_infos.get(batch.digest_id)
            if info is not None:
                out.append(convert.digest_list_to_proto(info, batch))
        return out

    def ack_digest(self, digest_id: int, list_id: int) -> None:
        """DigestListAck, as the server handles it from the primary's stream."""
        state = self.servicer.switch.state
        if state is not None and self.is_primary:
            state.digests.ack(digest_id, list_id)

"""The P4Runtime gRPC servicer over a `Switch` (see DESIGN-softswitch.md).

It follows the P4Runtime 1.4.1 specification; docs/p4runtime.md lists the cases
and where BMv2 answers differently. Error reporting: a Write with any failed
update, or a Read with any failed request, ends with gRPC status UNKNOWN whose
`grpc-status-details-bin` trailer is a google.rpc.Status holding one p4.v1.Error
per update (request), in order (canonical_code 0 for the ones that succeeded);
a Read still streams what its good requests read. Whole-RPC problems (not
primary, no pipeline, wrong device) are plain gRPC statuses.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn, Protocol

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

from softswitch.runtime.digests import DigestConfig
from softswitch.runtime.errors import Code, RuntimeStateError
from softswitch.runtime.externs import MeterState
from softswitch.runtime.pre import CloneSession
from softswitch.runtime.state import DeviceState
from softswitch.runtime.tables import ActionCall, Entry, Table
from softswitch.server import convert
from softswitch.server.arbitration import Arbiter, Client, election_id_of

Update = p4runtime_pb2.Update
WriteRequest = p4runtime_pb2.WriteRequest
FwdReq = p4runtime_pb2.SetForwardingPipelineConfigRequest
GetReq = p4runtime_pb2.GetForwardingPipelineConfigRequest

_GRPC_CODE = {sc.value[0]: sc for sc in grpc.StatusCode}

# FAILED_PRECONDITION before any pipeline; clients (finsy) recognise these words
NO_PIPELINE = "no forwarding pipeline config set"

log = logging.getLogger(__name__)


def _api_version() -> str:
    try:
        from importlib.metadata import version

        return version("p4runtime")
    except Exception:
        return "1.4.1"


class SwitchLike(Protocol):
    """What the server needs of softswitch.device.Switch."""

    device_id: int
    cpu_port: int | None
    lock: Any  # threading.RLock
    p4info: p4info_pb2.P4Info | None
    device_config: bytes | None
    state: DeviceState | None

    def prepare_pipeline(self, p4info: p4info_pb2.P4Info, device_config: bytes) -> Any: ...
    def commit_pipeline(self, prepared: Any) -> None: ...
    def packet_out(self, data: bytes) -> None: ...
    def add_packet_in_listener(self, fn: Callable[[bytes], None]) -> None: ...


class _RpcStatus(NamedTuple):
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, bytes], ...]


class _GrpcStatus(_RpcStatus, grpc.Status):  # type: ignore[misc]  # grpc has no types
    """A grpc.Status carrying google.rpc.Status details (what grpcio-status builds)."""


def _is_pipeline_config_error(e: BaseException) -> bool:
    # softswitch.device imports this package, so we match its error by name
    # instead of importing it (no import cycle)
    return any(c.__name__ == "PipelineConfigError" for c in type(e).__mro__)


@dataclass
class _PipelineView:
    """Things derived once per committed pipeline."""

    state: DeviceState
    packet_in: convert.ControllerHeader | None
    packet_out: convert.ControllerHeader | None
    table_infos: dict[int, p4info_pb2.Table]


class _Stream:
    """One StreamChannel: an outgoing queue and its arbitration record."""

    def __init__(self) -> None:
        self.out: queue.Queue[p4runtime_pb2.StreamMessageResponse | grpc.Status | None] = (
            queue.Queue()
        )
        self.client = Client(send=self.out.put)

    def close(self, status: grpc.Status | None = None) -> None:
        if status is not None:
            self.out.put(status)
        self.out.put(None)


def _err(code: Code, msg: str) -> RuntimeStateError:
    return RuntimeStateError(code, msg)


class P4RuntimeServicer(p4runtime_pb2_grpc.P4RuntimeServicer):  # type: ignore[misc]
    """P4Runtime service for one switch."""

    def __init__(self, switch: SwitchLike, *, enable_register_access: bool = False) -> None:
        self.switch = switch
        self.enable_register_access = enable_register_access
        self.arbiter = Arbiter(switch.device_id)
        self.cookie: int | None = None
        self._saved: tuple[p4runtime_pb2.ForwardingPipelineConfig, Any] | None = None
        # PRE entries whose replicas were written with `port` bytes (not the
        # deprecated `egress_port`): read back the same way (read-write symmetry)
        self._port_bytes: set[tuple[str, int]] = set()
        self._view: _PipelineView | None = None
        self._streams: set[_Stream] = set()
        self._streams_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._digest_thread = threading.Thread(
            target=self._digest_loop, name="p4rt-digests", daemon=True
        )
        switch.add_packet_in_listener(self._on_packet_in)

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start the digest sender."""
        self._digest_thread.start()

    def close(self) -> None:
        """End every stream and the digest sender."""
        self._stopping.set()
        self._wake.set()
        with self._streams_lock:
            streams = list(self._streams)
        for s in streams:
            s.close()

    # --------------------------------------------------------------- helpers

    def _abort(self, context: grpc.ServicerContext, code: Code, msg: str) -> NoReturn:
        context.abort(_GRPC_CODE[int(code)], msg)
        raise AssertionError("unreachable")  # context.abort raises

    def _check_device(self, device_id: int, context: grpc.ServicerContext) -> None:
        if device_id != self.switch.device_id:
            self._abort(context, Code.NOT_FOUND, f"no device with id {device_id}")

    def _pipeline(self) -> _PipelineView | None:
        state = self.switch.state
        if state is None:
            return None
        v = self._view
        if v is None or v.state is not state:
            p4info = state.p4info
            v = _PipelineView(
                state,
                convert.ControllerHeader.from_p4info(p4info, "packet_in"),
                convert.ControllerHeader.from_p4info(p4info, "packet_out"),
                {t.preamble.id: t for t in p4info.tables},
            )
            self._view = v
            state.digests.on_ready = self._wake.set
        return v

    # ----------------------------------------------------------- Capabilities

    def Capabilities(
        self, request: p4runtime_pb2.CapabilitiesRequest, context: grpc.ServicerContext
    ) -> p4runtime_pb2.CapabilitiesResponse:
        return p4runtime_pb2.CapabilitiesResponse(p4runtime_api_version=_api_version())

    # --------------------------------------------------- pipeline configuration

    def SetForwardingPipelineConfig(
        self,
        request: p4runtime_pb2.SetForwardingPipelineConfigRequest,
        context: grpc.ServicerContext,
    ) -> p4runtime_pb2.SetForwardingPipelineConfigResponse:
        self._check_device(request.device_id, context)
        if not self.arbiter.has_role(request.role):
            # section 14, check 1
            self._abort(context, Code.NOT_FOUND, f"no client arbitrated for role {request.role!r}")
        eid = election_id_of(request.election_id) if request.HasField("election_id") else None
        if eid is None or not self.arbiter.is_primary(request.role, eid):
            self._abort(
                context, Code.PERMISSION_DENIED, "only the primary client may set the pipeline"
            )
        action = request.action
        if action == FwdReq.COMMIT:
            # section 14: COMMIT realises the config saved by VERIFY_AND_SAVE
            if request.HasField("config"):
                self._abort(context, Code.INVALID_ARGUMENT, "COMMIT takes no config")
            if self._saved is None:
                self._abort(context, Code.NOT_FOUND, "COMMIT: no config saved by VERIFY_AND_SAVE")
            config, prepared = self._saved
            self._commit(config, prepared, reconcile=False)
            return p4runtime_pb2.SetForwardingPipelineConfigResponse()
        if action not in (
            FwdReq.VERIFY,
            FwdReq.VERIFY_AND_SAVE,
            FwdReq.VERIFY_AND_COMMIT,
            FwdReq.RECONCILE_AND_COMMIT,
        ):
            self._abort(context, Code.INVALID_ARGUMENT, f"unsupported action {action}")
        config = request.config
        if not request.HasField("config") or not config.HasField("p4info"):
            self._abort(context, Code.INVALID_ARGUMENT, "the request carries no P4Info")
        try:
            prepared = self.switch.prepare_pipeline(config.p4info, config.p4_device_config)
        except Exception as e:
            code = Code.INVALID_ARGUMENT if _is_pipeline_config_error(e) else Code.INTERNAL
            self._abort(context, code, f"pipeline config refused: {e}")
        if action == FwdReq.VERIFY_AND_SAVE:
            self._saved = (config, prepared)
        elif action != FwdReq.VERIFY:  # VERIFY changes nothing
            self._commit(config, prepared, reconcile=action == FwdReq.RECONCILE_AND_COMMIT)
        return p4runtime_pb2.SetForwardingPipelineConfigResponse()

    def _commit(
        self, config: p4runtime_pb2.ForwardingPipelineConfig, prepared: Any, *, reconcile: bool
    ) -> None:
        with self.switch.lock:
            old_state = self.switch.state
            old_p4info = self.switch.p4info
            self.switch.commit_pipeline(prepared)
            new_state = self.switch.state
            if reconcile and old_state is not None and old_p4info is not None and new_state:
                _reconcile(old_p4info, old_state, config.p4info, new_state)
            else:
                self._port_bytes.clear()
            self.cookie = config.cookie.cookie if config.HasField("cookie") else None
            self._saved = None
            self._view = None
            self._pipeline()
        self._wake.set()

    def GetForwardingPipelineConfig(
        self,
        request: p4runtime_pb2.GetForwardingPipelineConfigRequest,
        context: grpc.ServicerContext,
    ) -> p4runtime_pb2.GetForwardingPipelineConfigResponse:
        self._check_device(request.device_id, context)
        with self.switch.lock:
            p4info = self.switch.p4info
            dev = self.switch.device_config
        resp = p4runtime_pb2.GetForwardingPipelineConfigResponse()
        if p4info is None:
            return resp  # section 15: no pipeline yet is OK, with `config` unset
        rt = request.response_type
        if rt in (GetReq.ALL, GetReq.P4INFO_AND_COOKIE):
            resp.config.p4info.CopyFrom(p4info)
        if rt in (GetReq.ALL, GetReq.DEVICE_CONFIG_AND_COOKIE):
            resp.config.p4_device_config = dev or b""
        if self.cookie is not None:
            resp.config.cookie.cookie = self.cookie
        if not resp.HasField("config"):
            resp.config.SetInParent()  # COOKIE_ONLY without a cookie: an empty config
        return resp

    # ------------------------------------------------------------------ Write

    def Write(
        self, request: p4runtime_pb2.WriteRequest, context: grpc.ServicerContext
    ) -> p4runtime_pb2.WriteResponse:
        self._check_device(request.device_id, context)
        eid = election_id_of(request.election_id) if request.HasField("election_id") else None
        if eid is None or not self.arbiter.is_primary(request.role, eid):
            self._abort(context, Code.PERMISSION_DENIED, "only the primary client may write")
        if request.atomicity not in WriteRequest.Atomicity.values():
            self._abort(context, Code.INVALID_ARGUMENT, f"unknown atomicity {request.atomicity}")
        with self.switch.lock:
            view = self._pipeline()
            if view is None:
                self._abort(context, Code.FAILED_PRECONDITION, NO_PIPELINE)
            errors = self._apply_batch(view, request.updates, request.atomicity)
        if any(e.canonical_code != code_pb2.OK for e in errors):
            context.abort_with_status(_batch_failure("Write failure.", errors))
        return p4runtime_pb2.WriteResponse()

    def _apply_batch(
        self, view: _PipelineView, updates: Any, atomicity: int
    ) -> list[p4runtime_pb2.Error]:
        """Apply a batch under the switch lock (section 12.3).

        The switch lock also serialises packet processing, so every mode is
        data-plane atomic; ROLLBACK_ON_ERROR and DATAPLANE_ATOMIC also undo the
        whole batch when one update fails, reporting ABORTED for the others.
        """
        atomic = atomicity in (WriteRequest.ROLLBACK_ON_ERROR, WriteRequest.DATAPLANE_ATOMIC)
        undo: list[Callable[[], None]] = []
        errors: list[p4runtime_pb2.Error] = []
        failed = False
        for upd in updates:
            if atomic and failed:
                errors.append(
                    p4runtime_pb2.Error(
                        canonical_code=code_pb2.ABORTED, message="not applied: batch failed"
                    )
                )
                continue
            mark = len(undo)
            try:
                self._apply_update(view, upd, undo)
                errors.append(p4runtime_pb2.Error(canonical_code=code_pb2.OK))
            except RuntimeStateError as e:
                # an update that failed half-way leaves nothing behind
                for fn in reversed(undo[mark:]):
                    fn()
                del undo[mark:]
                failed = True
                errors.append(p4runtime_pb2.Error(canonical_code=int(e.code), message=e.message))
        if atomic and failed:
            for fn in reversed(undo):
                fn()
            for err in errors:
                if err.canonical_code == code_pb2.OK:
                    err.canonical_code = code_pb2.ABORTED
                    err.message = "rolled back: batch failed"
        return errors

    def _apply_update(
        self, view: _PipelineView, upd: p4runtime_pb2.Update, undo: list[Callable[[], None]]
    ) -> None:
        typ = upd.type
        if typ not in (Update.INSERT, Update.MODIFY, Update.DELETE):
            raise _err(Code.INVALID_ARGUMENT, "update type must be INSERT, MODIFY or DELETE")
        ent = upd.entity
        which = ent.WhichOneof("entity")
        state = view.state
        if which == "table_entry":
            self._write_table_entry(view, typ, ent.table_entry, undo)
        elif which == "counter_entry":
            self._write_counter(state, typ, ent.counter_entry, undo)
        elif which == "direct_counter_entry":
            self._write_direct_counter(state, typ, ent.direct_counter_entry, undo)
        elif which == "meter_entry":
            self._write_meter(state, typ, ent.meter_entry, undo)
        elif which == "direct_meter_entry":
            self._write_direct_meter(state, typ, ent.direct_meter_entry, undo)
        elif which == "register_entry":
            self._write_register(state, typ, ent.register_entry, undo)
        elif which == "packet_replication_engine_entry":
            self._write_pre(state, typ, ent.packet_replication_engine_entry, undo)
        elif which == "digest_entry":
            self._write_digest(state, typ, ent.digest_entry, undo)
        elif which is None:
            raise _err(Code.INVALID_ARGUMENT, "update without an entity")
        else:
            raise _err(Code.UNIMPLEMENTED, f"{which} is not supported")

    # -- table entries

    def _table(self, view: _PipelineView, table_id: int) -> Table:
        t = view.state.tables_by_id.get(table_id)
        if t is None:
            raise _err(Code.INVALID_ARGUMENT, f"invalid table id {table_id}")
        return t

    def _write_table_entry(
        self,
        view: _PipelineView,
        typ: int,
        te: p4runtime_pb2.TableEntry,
        undo: list[Callable[[], None]],
    ) -> None:
        state = view.state
        table = self._table(view, te.table_id)
        if view.table_infos[table.id].implementation_id:
            raise _err(Code.UNIMPLEMENTED, f"table {table.name} uses an action profile")
        if te.is_const:
            # section 9.1: `is_const` is for Read responses only
            raise _err(Code.INVALID_ARGUMENT, "is_const must be false in a write")
        if te.HasField("time_since_last_hit"):
            # section 9.1.8: never set in a write
            raise _err(Code.INVALID_ARGUMENT, "time_since_last_hit must be unset in a write")
        if te.HasField("meter_counter_data"):
            raise _err(Code.UNIMPLEMENTED, "per-colour meter counters are not supported")
        if te.is_default_action:
            self._write_default_entry(state, table, typ, te, undo)
            return
        matches = convert.matches_from_proto(table, te.match)
        priority = te.priority
        if typ == Update.DELETE:
            # only the key counts (section 9.1): other fields are ignored
            if table.is_const:
                raise _err(Code.PERMISSION_DENIED, f"table {table.name} is const")
            e = table.get(matches, priority)
            if e is not None and e.is_const:
                raise _err(Code.PERMISSION_DENIED, f"entry of {table.name} is const")
            gone = table.delete(matches, priority)
            undo.append(lambda: table.restore(gone))
            return
        if te.idle_timeout_ns and not table.supports_idle_timeout:
            raise _err(Code.INVALID_ARGUMENT, f"table {table.name} does not support idle timeout")
        if te.HasField("counter_data") and not table.has_direct_counter:
            raise _err(Code.INVALID_ARGUMENT, f"table {table.name} has no direct counter")
        meter_cfg = None
        if te.HasField("meter_config"):
            if table.direct_meter_unit is None:
                raise _err(Code.INVALID_ARGUMENT, f"table {table.name} has no direct meter")
            meter_cfg = convert.meter_config_from_proto(te.meter_config)
        if typ == Update.INSERT:
            if table.is_const:
                raise _err(Code.PERMISSION_DENIED, f"table {table.name} is const")
            if not table.key_ids:
                # section 9.1: a keyless table has its default entry only
                raise _err(Code.INVALID_ARGUMENT, f"table {table.name} has no key: no INSERT")
            if not te.HasField("action"):
                raise _err(Code.INVALID_ARGUMENT, "INSERT needs an action")
            action = self._entry_action(state, table, te.action, for_default=False)
            meter = None
            if table.direct_meter_unit is not None:
                meter = MeterState(table.direct_meter_unit)
                meter.configure(meter_cfg)
            table.insert(
                matches,
                priority,
                action,
                controller_metadata=te.controller_metadata,
                metadata=te.metadata,
                idle_timeout_ns=te.idle_timeout_ns,
                meter=meter,
                direct_packets=te.counter_data.packet_count,
                direct_bytes=te.counter_data.byte_count,
            )

            def undo_insert() -> None:
                table.delete(matches, priority)

            undo.append(undo_insert)
            return
        # MODIFY (section 9.1.2: an unset action leaves the action as it is)
        cur = table.get(matches, priority)
        if cur is None:
            table.check_priority(priority)
            raise _err(Code.NOT_FOUND, f"no such entry in {table.name}")
        saved = _save_entry(cur)
        if table.is_const or cur.is_const:
            # section 9.1.4: only the direct resources of a const entry may change
            if te.HasField("action"):
                raise _err(Code.PERMISSION_DENIED, f"the entries of {table.name} are const")
        else:
            action = (
                self._entry_action(state, table, te.action, for_default=False)
                if te.HasField("action")
                else cur.action
            )
            table.modify(
                matches,
                priority,
                action,
                controller_metadata=te.controller_metadata,
                metadata=te.metadata,
                idle_timeout_ns=te.idle_timeout_ns,
            )
        try:
            # section 9.1.7: an unset meter_config resets the meter to its default
            if cur.meter is not None:
                cur.meter.configure(meter_cfg)
        except RuntimeStateError:
            _restore_entry(cur, saved)
            raise
        if te.HasField("counter_data"):
            cur.direct_packets = te.counter_data.packet_count
            cur.direct_bytes = te.counter_data.byte_count
        undo.append(lambda: _restore_entry(cur, saved))

    def _write_default_entry(
        self,
        state: DeviceState,
        table: Table,
        typ: int,
        te: p4runtime_pb2.TableEntry,
        undo: list[Callable[[], None]],
    ) -> None:
        """Section 9.1.3: MODIFY only; an unset action restores the program's default."""
        if typ != Update.MODIFY:
            raise _err(Code.INVALID_ARGUMENT, "the default entry can only be MODIFY'd")
        if len(te.match) or te.priority:
            raise _err(Code.INVALID_ARGUMENT, "the default entry has no match and no priority")
        if te.idle_timeout_ns:
            raise _err(Code.INVALID_ARGUMENT, "the default entry has no idle timeout")
        if te.HasField("counter_data") or te.HasField("meter_config"):
            raise _err(Code.UNIMPLEMENTED, "direct resources of the default entry")
        old = table.default_action
        if te.HasField("action"):
            table.set_default_action(self._entry_action(state, table, te.action, for_default=True))
        else:
            table.reset_default_action()
        undo.append(lambda: setattr(table, "default_action", old))

    @staticmethod
    def _entry_action(
        state: DeviceState, table: Table, ta: p4runtime_pb2.TableAction, *, for_default: bool
    ) -> ActionCall:
        """A TableAction checked against the table; a scope violation is PERMISSION_DENIED."""
        call = convert.table_action_from_proto(state, ta)
        spec = table.actions.get(call.action_id)
        if spec is not None:
            wrong = "TABLE_ONLY" if for_default else "DEFAULT_ONLY"
            if spec.scope == wrong:
                where = "the default entry" if for_default else "a table entry"
                raise _err(
                    Code.PERMISSION_DENIED, f"action {spec.name} ({wrong}) cannot be {where}"
                )
        return call

    def _entry_of(self, state: DeviceState, te: p4runtime_pb2.TableEntry) -> tuple[Table, Entry]:
        table = state.tables_by_id.get(te.table_id)
        if table is None:
            raise _err(Code.INVALID_ARGUMENT, f"invalid table id {te.table_id}")
        if te.is_default_action:
            raise _err(Code.UNIMPLEMENTED, "direct resources of the default entry")
        e = table.get(convert.matches_from_proto(table, te.match), te.priority)
        if e is None:
            raise _err(Code.NOT_FOUND, f"no such entry in {table.name}")
        return table, e

    # -- counters

    def _write_counter(
        self,
        state: DeviceState,
        typ: int,
        ce: p4runtime_pb2.CounterEntry,
        undo: list[Callable[[], None]],
    ) -> None:
        if typ != Update.MODIFY:
            raise _err(Code.INVALID_ARGUMENT, "counter entries can only be MODIFY'd")
        c = state.counters_by_id.get(ce.counter_id)
        if c is None:
            raise _err(Code.INVALID_ARGUMENT, f"invalid counter id {ce.counter_id}")
        idx = _indexes(ce, c.size, c.name)
        if not ce.HasField("data"):
            return  # section 9.3.2: no data, no change
        old = [c.read(i) for i in idx]
        for i in idx:
            c.write(i, ce.data.byte_count, ce.data.packet_count)

        def restore() -> None:
            for i, (b, p) in zip(idx, old, strict=True):
                c.write(i, b, p)

        undo.append(restore)

    def _write_direct_counter(
        self,
        state: DeviceState,
        typ: int,
        dce: p4runtime_pb2.DirectCounterEntry,
        undo: list[Callable[[], None]],
    ) -> None:
        if typ != Update.MODIFY:
            raise _err(Code.INVALID_ARGUMENT, "direct counter entries can only be MODIFY'd")
        table, e = self._entry_of(state, dce.table_entry)
        if not table.has_direct_counter:
            raise _err(Code.INVALID_ARGUMENT, f"table {table.name} has no direct counter")
        if not dce.HasField("data"):
            return  # section 9.3.1: no data, no change
        old = (e.direct_packets, e.direct_bytes)
        e.direct_packets, e.direct_bytes = dce.data.packet_count, dce.data.byte_count

        def restore() -> None:
            e.direct_packets, e.direct_bytes = old

        undo.append(restore)

    # -- meters

    def _write_meter(
        self,
        state: DeviceState,
        typ: int,
        me: p4runtime_pb2.MeterEntry,
        undo: list[Callable[[], None]],
    ) -> None:
        if typ != Update.MODIFY:
            raise _err(Code.INVALID_ARGUMENT, "meter entries can only be MODIFY'd")
        m = state.meters_by_id.get(me.meter_id)
        if m is None:
            raise _err(Code.INVALID_ARGUMENT, f"invalid meter id {me.meter_id}")
        if me.HasField("counter_data"):
            raise _err(Code.UNIMPLEMENTED, "per-colour meter counters are not supported")
        cfg = convert.meter_config_from_proto(me.config) if me.HasField("config") else None
        idx = _indexes(me, m.size, m.name)
        old = [m.cells[i].config for i in idx]
        done: list[int] = []

        def restore() -> None:
            for i, c in zip(done, old, strict=False):
                m.cells[i].configure(c)

        try:
            for i in idx:
                m.cells[i].configure(cfg)
                done.append(i)
        except RuntimeStateError:
            restore()
            raise
        undo.append(restore)

    def _write_direct_meter(
        self,
        state: DeviceState,
        typ: int,
        dme: p4runtime_pb2.DirectMeterEntry,
        undo: list[Callable[[], None]],
    ) -> None:
        if typ != Update.MODIFY:
            raise _err(Code.INVALID_ARGUMENT, "direct meter entries can only be MODIFY'd")
        if dme.HasField("counter_data"):
            raise _err(Code.UNIMPLEMENTED, "per-colour meter counters are not supported")
        table, e = self._entry_of(state, dme.table_entry)
        if e.meter is None:
            raise _err(Code.INVALID_ARGUMENT, f"table {table.name} has no direct meter")
        cfg = convert.meter_config_from_proto(dme.config) if dme.HasField("config") else None
        old = e.meter.config
        meter = e.meter
        meter.configure(cfg)
        undo.append(lambda: meter.configure(old))

    # -- registers

    def _write_register(
        self,
        state: DeviceState,
        typ: int,
        re: p4runtime_pb2.RegisterEntry,
        undo: list[Callable[[], None]],
    ) -> None:
        if not self.enable_register_access:
            # what simple_switch_grpc answers
            raise _err(Code.UNIMPLEMENTED, "register writes are not supported")
        if typ != Update.MODIFY:
            raise _err(Code.INVALID_ARGUMENT, "register entries can only be MODIFY'd")
        r = state.registers_by_id.get(re.register_id)
        if r is None:
            raise _err(Code.INVALID_ARGUMENT, f"invalid register id {re.register_id}")
        v = convert.p4data_to_int(re.data, r.bitwidth, r.name)
        idx = _indexes(re, r.size, r.name)
        old = [r.values[i] for i in idx]
        for i in idx:
            r.values[i] = v

        def restore() -> None:
            for i, o in zip(idx, old, strict=True):
                r.values[i] = o

        undo.append(restore)

    # -- packet replication engine

    def _write_pre(
        self,
        state: DeviceState,
        typ: int,
        pe: p4runtime_pb2.PacketReplicationEngineEntry,
        undo: list[Callable[[], None]],
    ) -> None:
        pre = state.pre
        which = pe.WhichOneof("type")
        if which is None:
            raise _err(Code.INVALID_ARGUMENT, "empty PacketReplicationEngineEntry")
        key = (which, pe.multicast_group_entry.multicast_group_id)
        if which == "clone_session_entry":
            key = (which, pe.clone_session_entry.session_id)
        had_bytes = key in self._port_bytes
        reps = pe.multicast_group_entry.replicas or pe.clone_session_entry.replicas
        if typ == Update.DELETE:
            self._port_bytes.discard(key)
        elif any(r.WhichOneof("port_kind") == "port" for r in reps):
            self._port_bytes.add(key)
        else:
            self._port_bytes.discard(key)

        def restore_form() -> None:
            if had_bytes:
                self._port_bytes.add(key)
            else:
                self._port_bytes.discard(key)

        try:
            self._write_pre_entry(pre, typ, pe, undo)
        except RuntimeStateError:
            restore_form()
            raise
        undo.append(restore_form)

    def _write_pre_entry(
        self,
        pre: Any,
        typ: int,
        pe: p4runtime_pb2.PacketReplicationEngineEntry,
        undo: list[Callable[[], None]],
    ) -> None:
        which = pe.WhichOneof("type")
        if which == "multicast_group_entry":
            g = pe.multicast_group_entry
            gid = g.multicast_group_id
            old_g = pre.groups.get(gid)
            if typ == Update.INSERT:
                pre.insert_group(gid, _replicas(g.replicas))
            elif typ == Update.MODIFY:
                pre.modify_group(gid, _replicas(g.replicas))
            else:
                pre.delete_group(gid)

            def restore_group() -> None:
                if old_g is None:
                    pre.groups.pop(gid, None)
                else:
                    pre.groups[gid] = old_g

            undo.append(restore_group)
        elif which == "clone_session_entry":
            c = pe.clone_session_entry
            sid = c.session_id
            old_s = pre.sessions.get(sid)
            s = CloneSession(sid, _replicas(c.replicas), c.class_of_service, c.packet_length_bytes)
            if typ == Update.INSERT:
                pre.insert_session(s)
            elif typ == Update.MODIFY:
                pre.modify_session(s)
            else:
                pre.delete_session(sid)

            def restore_session() -> None:
                if old_s is None:
                    pre.sessions.pop(sid, None)
                else:
                    pre.sessions[sid] = old_s

            undo.append(restore_session)

    # -- digests

    def _write_digest(
        self,
        state: DeviceState,
        typ: int,
        de: p4runtime_pb2.DigestEntry,
        undo: list[Callable[[], None]],
    ) -> None:
        if de.digest_id not in state.digest_infos:
            raise _err(Code.INVALID_ARGUMENT, f"invalid digest id {de.digest_id}")
        q = state.digests
        old = q.config(de.digest_id)
        if typ == Update.DELETE:
            if old is None:
                raise _err(Code.NOT_FOUND, f"digest {de.digest_id} is not configured")
            q.set_config(de.digest_id, None)
        else:
            if typ == Update.INSERT and old is not None:
                raise _err(Code.ALREADY_EXISTS, f"digest {de.digest_id} is already configured")
            if typ == Update.MODIFY and old is None:
                raise _err(Code.NOT_FOUND, f"digest {de.digest_id} is not configured")
            if not de.HasField("config"):
                raise _err(Code.INVALID_ARGUMENT, "DigestEntry without config")
            c = de.config
            q.set_config(
                de.digest_id, DigestConfig(c.max_timeout_ns, c.max_list_size, c.ack_timeout_ns)
            )
        undo.append(lambda: q.set_config(de.digest_id, old))

    # ------------------------------------------------------------------- Read

    def Read(
        self, request: p4runtime_pb2.ReadRequest, context: grpc.ServicerContext
    ) -> Iterator[p4runtime_pb2.ReadResponse]:
        """Section 13.3: the entities of every good request, then one p4.Error per request.

        A request that fails does not hide the others: the stream carries what
        the good ones read and ends with UNKNOWN, whose details hold a p4.Error
        per request, in order (OK for the good ones), as a failed Write does.
        """
        self._check_device(request.device_id, context)
        resp = p4runtime_pb2.ReadResponse()
        errors: list[p4runtime_pb2.Error] = []
        with self.switch.lock:
            view = self._pipeline()
            if view is None:
                self._abort(context, Code.FAILED_PRECONDITION, NO_PIPELINE)
            for ent in request.entities:
                part = p4runtime_pb2.ReadResponse()
                try:
                    self._read_entity(view, ent, part)
                except RuntimeStateError as e:
                    errors.append(
                        p4runtime_pb2.Error(canonical_code=int(e.code), message=e.message)
                    )
                    continue
                except Exception as e:  # a bug, not a bad request
                    log.exception("Read of %s failed", ent.WhichOneof("entity"))
                    errors.append(
                        p4runtime_pb2.Error(canonical_code=code_pb2.INTERNAL, message=str(e))
                    )
                    continue
                errors.append(p4runtime_pb2.Error(canonical_code=code_pb2.OK))
                resp.entities.extend(part.entities)
        yield resp
        if any(e.canonical_code != code_pb2.OK for e in errors):
            context.abort_with_status(_batch_failure("Read failure.", errors))

    def _read_entity(
        self, view: _PipelineView, ent: p4runtime_pb2.Entity, resp: p4runtime_pb2.ReadResponse
    ) -> None:
        state = view.state
        which = ent.WhichOneof("entity")
        if which == "table_entry":
            self._read_table(view, ent.table_entry, resp)
        elif which == "counter_entry":
            ce = ent.counter_entry
            ctrs = (
                list(state.counters_by_id.values())
                if ce.counter_id == 0
                else [state.counters_by_id.get(ce.counter_id)]
            )
            for c in ctrs:
                if c is None:
                    raise _err(Code.INVALID_ARGUMENT, f"invalid counter id {ce.counter_id}")
                for i in _indexes(ce, c.size, c.name):
                    b, p = c.read(i)
                    out = resp.entities.add().counter_entry
                    out.counter_id = c.id
                    out.index.index = i
                    out.data.CopyFrom(convert.counter_data(b, p))
        elif which == "direct_counter_entry":
            for table, e in self._direct_targets(view, ent.direct_counter_entry.table_entry):
                if not table.has_direct_counter:
                    continue
                out = resp.entities.add().direct_counter_entry
                out.table_entry.CopyFrom(convert.entry_key_proto(table, e))
                out.data.CopyFrom(convert.counter_data(e.direct_bytes, e.direct_packets))
        elif which == "meter_entry":
            me = ent.meter_entry
            meters = (
                list(state.meters_by_id.values())
                if me.meter_id == 0
                else [state.meters_by_id.get(me.meter_id)]
            )
            for m in meters:
                if m is None:
                    raise _err(Code.INVALID_ARGUMENT, f"invalid meter id {me.meter_id}")
                for i in _indexes(me, m.size, m.name):
                    out = resp.entities.add().meter_entry
                    out.meter_id = m.id
                    out.index.index = i
                    cfg = m.cells[i].config
                    if cfg is not None:
                        out.config.CopyFrom(convert.meter_config_to_proto(cfg))
        elif which == "direct_meter_entry":
            for table, e in self._direct_targets(view, ent.direct_meter_entry.table_entry):
                if e.meter is None:
                    continue
                out = resp.entities.add().direct_meter_entry
                out.table_entry.CopyFrom(convert.entry_key_proto(table, e))
                if e.meter.config is not None:
                    out.config.CopyFrom(convert.meter_config_to_proto(e.meter.config))
        elif which == "register_entry":
            if not self.enable_register_access:
                raise _err(Code.UNIMPLEMENTED, "register reads are not supported")
            re = ent.register_entry
            regs = (
                list(state.registers_by_id.values())
                if re.register_id == 0
                else [state.registers_by_id.get(re.register_id)]
            )
            for r in regs:
                if r is None:
                    raise _err(Code.INVALID_ARGUMENT, f"invalid register id {re.register_id}")
                for i in _indexes(re, r.size, r.name):
                    out = resp.entities.add().register_entry
                    out.register_id = r.id
                    out.index.index = i
                    out.data.CopyFrom(convert.bitstring(r.values[i]))
        elif which == "packet_replication_engine_entry":
            self._read_pre(state, ent.packet_replication_engine_entry, resp)
        elif which == "digest_entry":
            did = ent.digest_entry.digest_id
            if did and did not in state.digest_infos:
                raise _err(Code.INVALID_ARGUMENT, f"invalid digest id {did}")
            for d, dcfg in sorted(state.digests.configs().items()):
                if did in (0, d):
                    out = resp.entities.add().digest_entry
                    out.digest_id = d
                    out.config.max_timeout_ns = dcfg.max_timeout_ns
                    out.config.max_list_size = dcfg.max_list_size
                    out.config.ack_timeout_ns = dcfg.ack_timeout_ns
        elif which is None:
            raise _err(Code.INVALID_ARGUMENT, "empty entity in ReadRequest")
        else:
            raise _err(Code.UNIMPLEMENTED, f"reading {which} is not supported")

    def _read_table(
        self, view: _PipelineView, te: p4runtime_pb2.TableEntry, resp: p4runtime_pb2.ReadResponse
    ) -> None:
        """Section 9.1.6: table_id 0 reads every table; the other fields filter."""
        state = view.state
        if te.table_id == 0:
            if len(te.match) or te.priority or te.HasField("action"):
                raise _err(Code.INVALID_ARGUMENT, "a read of all tables takes no other filter")
            tables = list(state.tables_by_id.values())
        else:
            tables = [self._table(view, te.table_id)]
        if te.HasField("time_since_last_hit"):
            for t in tables:
                if not t.supports_idle_timeout:
                    # section 9.1.8
                    raise _err(
                        Code.INVALID_ARGUMENT, f"table {t.name} does not support idle timeout"
                    )
            raise _err(Code.UNIMPLEMENTED, "time_since_last_hit is not tracked")
        if te.HasField("meter_counter_data"):
            raise _err(Code.UNIMPLEMENTED, "per-colour meter counters are not supported")
        action_id = None
        if te.HasField("action"):
            if te.action.WhichOneof("type") != "action":
                raise _err(Code.UNIMPLEMENTED, "only a direct action can filter a read")
            action_id = te.action.action.action_id
        with_counter = te.HasField("counter_data")
        with_meter = te.HasField("meter_config")
        for t in tables:
            if te.is_default_action:
                resp.entities.add().table_entry.CopyFrom(convert.default_entry_to_proto(state, t))
                continue
            matches = convert.matches_from_proto(t, te.match) if len(te.match) else None
            if matches is not None and (te.priority or not t.needs_priority):
                one = t.get(matches, te.priority)  # the whole key: one lookup
                candidates: Iterable[Entry] = [one] if one is not None else []
            else:
                candidates = t.entries()
            for e in candidates:
                if (
                    (matches is not None and e.matches != matches)
                    or (te.priority and e.priority != te.priority)
                    or (action_id is not None and e.action.action_id != action_id)
                    or (te.controller_metadata and e.controller_metadata != te.controller_metadata)
                    or (te.metadata and e.metadata != te.metadata)
                ):
                    continue
                resp.entities.add().table_entry.CopyFrom(
                    convert.table_entry_to_proto(
                        state, t, e, with_counter=with_counter, with_meter=with_meter
                    )
                )

    def _direct_targets(
        self, view: _PipelineView, te: p4runtime_pb2.TableEntry
    ) -> list[tuple[Table, Entry]]:
        state = view.state
        if te.table_id == 0:
            return [(t, e) for t in state.tables_by_id.values() for e in t.entries()]
        t = self._table(view, te.table_id)
        if len(te.match) or te.priority:
            e = t.get(convert.matches_from_proto(t, te.match), te.priority)
            if e is None:
                raise _err(Code.NOT_FOUND, f"no such entry in {t.name}")
            return [(t, e)]
        return [(t, e) for e in t.entries()]

    def _read_pre(
        self,
        state: DeviceState,
        pe: p4runtime_pb2.PacketReplicationEngineEntry,
        resp: p4runtime_pb2.ReadResponse,
    ) -> None:
        which = pe.WhichOneof("type")
        pre = state.pre
        if which == "multicast_group_entry":
            gid = pe.multicast_group_entry.multicast_group_id
            if gid and gid not in pre.groups:
                raise _err(Code.NOT_FOUND, f"no multicast group {gid}")
            for g, reps in sorted(pre.groups.items()):
                if gid in (0, g):
                    out = resp.entities.add().packet_replication_engine_entry.multicast_group_entry
                    out.multicast_group_id = g
                    self._replicas_out(out.replicas, reps, (which, g))
        elif which == "clone_session_entry":
            sid = pe.clone_session_entry.session_id
            if sid and sid not in pre.sessions:
                raise _err(Code.NOT_FOUND, f"no clone session {sid}")
            for s_id, s in sorted(pre.sessions.items()):
                if sid in (0, s_id):
                    out = resp.entities.add().packet_replication_engine_entry.clone_session_entry
                    out.session_id = s_id
                    out.class_of_service = s.class_of_service
                    out.packet_length_bytes = s.packet_length_bytes
                    self._replicas_out(out.replicas, s.replicas, (which, s_id))
        else:
            raise _err(Code.INVALID_ARGUMENT, "empty PacketReplicationEngineEntry")

    def _replicas_out(
        self, out: Any, reps: Iterable[tuple[int, int]], key: tuple[str, int]
    ) -> None:
        as_bytes = key in self._port_bytes
        for port, inst in reps:
            if as_bytes:
                out.add(port=convert.int_to_bytes(port), instance=inst)
            else:
                out.add(egress_port=port, instance=inst)

    # ---------------------------------------------------------- StreamChannel

    def StreamChannel(
        self,
        request_iterator: Iterator[p4runtime_pb2.StreamMessageRequest],
        context: grpc.ServicerContext,
    ) -> Iterator[p4runtime_pb2.StreamMessageResponse]:
        stream = _Stream()
        with self._streams_lock:
            self._streams.add(stream)

        def read() -> None:
            try:
                for req in request_iterator:
                    try:
                        status = self._on_stream_message(stream, req)
                    except Exception as e:  # a bug: report it, keep the stream
                        log.exception("stream message %s failed", req.WhichOneof("update"))
                        stream.client.send(_stream_error(Code.INTERNAL, f"internal error: {e}"))
                        continue
                    if status is not None:
                        stream.close(status)
                        return
            except grpc.RpcError:
                pass  # the client went away
            stream.close()

        context.add_callback(stream.close)
        threading.Thread(target=read, name="p4rt-stream-reader", daemon=True).start()
        try:
            while True:
                msg = stream.out.get()
                if msg is None:
                    break
                if isinstance(msg, grpc.Status):
                    context.abort_with_status(msg)
                yield msg
        finally:
            with self._streams_lock:
                self._streams.discard(stream)
            self.arbiter.remove(stream.client)

    def _on_stream_message(
        self, stream: _Stream, req: p4runtime_pb2.StreamMessageRequest
    ) -> grpc.Status | None:
        which = req.WhichOneof("update")
        if which == "arbitration":
            try:
                self.arbiter.arbitrate(stream.client, req.arbitration)
            except RuntimeStateError as e:
                return _GrpcStatus(_GRPC_CODE[int(e.code)], e.message, ())
            return None
        if which == "packet":
            self._packet_out(stream, req.packet)
        elif which == "digest_ack":
            if self.arbiter.is_primary_client(stream.client):
                view = self._pipeline()
                if view is not None:
                    view.state.digests.ack(req.digest_ack.digest_id, req.digest_ack.list_id)
        else:
            code = Code.INVALID_ARGUMENT if which is None else Code.UNIMPLEMENTED
            stream.client.send(_stream_error(code, f"stream message {which}"))
        return None

    def _packet_out(self, stream: _Stream, pkt: p4runtime_pb2.PacketOut) -> None:
        def refuse(code: Code, msg: str) -> None:
            err = _stream_error(code, msg)
            err.error.packet_out.packet_out.CopyFrom(pkt)
            stream.client.send(err)

        if not self.arbiter.is_primary_client(stream.client):
            refuse(Code.PERMISSION_DENIED, "only the primary client may send packets")
            return
        view = self._pipeline()
        if view is None:
            refuse(Code.FAILED_PRECONDITION, NO_PIPELINE)
            return
        try:
            header = view.packet_out.encode(pkt.metadata) if view.packet_out else b""
        except RuntimeStateError as e:
            refuse(e.code, e.message)
            return
        self.switch.packet_out(header + pkt.payload)

    def _on_packet_in(self, data: bytes) -> None:
        """Called by the switch for every packet sent to the CPU port."""
        view = self._pipeline()
        if view is None:
            return
        primary = self.arbiter.primary("")
        if primary is None:
            return
        msg = p4runtime_pb2.StreamMessageResponse()
        if view.packet_in is not None:
            try:
                md, payload = view.packet_in.decode(data)
            except RuntimeStateError:
                return  # runt packet: BMv2 drops it too
            msg.packet.metadata.extend(md)
            msg.packet.payload = payload
        else:
            msg.packet.payload = data
        primary.send(msg)

    # ----------------------------------------------------------------- digests

    def _digest_loop(self) -> None:
        while not self._stopping.is_set():
            timeout = 0.1
            view = self._pipeline()
            if view is not None:
                q = view.state.digests
                for batch in q.poll():
                    info = view.state.digest_infos.get(batch.digest_id)
                    primary = self.arbiter.primary("")
                    if info is None or primary is None:
                        continue
                    msg = p4runtime_pb2.StreamMessageResponse()
                    msg.digest.CopyFrom(convert.digest_list_to_proto(info, batch))
                    primary.send(msg)
                deadline = q.next_deadline_ns()
                if deadline is not None:
                    timeout = min(timeout, max(0.0005, (deadline - time.monotonic_ns()) / 1e9))
            self._wake.wait(timeout)
            self._wake.clear()


def _batch_failure(message: str, errors: list[p4runtime_pb2.Error]) -> grpc.Status:
    """UNKNOWN with one p4.Error per update / read request in the status details."""
    st = status_pb2.Status(code=code_pb2.UNKNOWN, message=message)
    for e in errors:
        a = any_pb2.Any()
        a.Pack(e)
        st.details.append(a)
    return _GrpcStatus(
        grpc.StatusCode.UNKNOWN,
        message,
        (("grpc-status-details-bin", st.SerializeToString()),),
    )


def _stream_error(code: Code, msg: str) -> p4runtime_pb2.StreamMessageResponse:
    r = p4runtime_pb2.StreamMessageResponse()
    r.error.canonical_code = int(code)
    r.error.message = msg
    return r


def _indexes(entry: Any, size: int, name: str) -> list[int]:
    """Indexes an entity addresses: its index, or every cell if unset."""
    if not entry.HasField("index"):
        return list(range(size))
    i = entry.index.index
    if i < 0:
        raise _err(Code.INVALID_ARGUMENT, f"negative index {i} for {name}")
    if i >= size:
        # sections 9.3.2 and 9.4.2
        raise _err(Code.OUT_OF_RANGE, f"index {i} out of range for {name} (size {size})")
    return [i]


def _replicas(reps: Any) -> list[tuple[int, int]]:
    out = []
    for r in reps:
        if r.WhichOneof("port_kind") == "port":
            port = convert.bytes_to_int(r.port, 32, "replica port")
        else:
            port = r.egress_port
        out.append((port, r.instance))
    return out


_EntrySnapshot = tuple[Any, ...]


def _save_entry(e: Entry) -> _EntrySnapshot:
    return (
        e.action,
        e.controller_metadata,
        e.metadata,
        e.idle_timeout_ns,
        e.direct_packets,
        e.direct_bytes,
        e.meter.config if e.meter is not None else None,
    )


def _restore_entry(e: Entry, s: _EntrySnapshot) -> None:
    (
        e.action,
        e.controller_metadata,
        e.metadata,
        e.idle_timeout_ns,
        e.direct_packets,
        e.direct_bytes,
        cfg,
    ) = s
    if e.meter is not None:
        e.meter.configure(cfg)


def _reconcile(
    old_p4info: p4info_pb2.P4Info,
    old: DeviceState,
    new_p4info: p4info_pb2.P4Info,
    new: DeviceState,
) -> None:
    """RECONCILE_AND_COMMIT: carry over what the new program defines identically.

    Entries move for every table whose P4Info definition (and that of each of
    its actions and direct resources) is unchanged; multicast groups, clone
    sessions and digest configs of unchanged digests move as they are. Other
    state starts empty, as after VERIFY_AND_COMMIT.
    """
    old_actions = {a.preamble.id: a for a in old_p4info.actions}
    new_actions = {a.preamble.id: a for a in new_p4info.actions}
    old_tables = {t.preamble.id: t for t in old_p4info.tables}
    old_direct = {
        d.preamble.id: d for d in [*old_p4info.direct_counters, *old_p4info.direct_meters]
    }
    new_direct = {
        d.preamble.id: d for d in [*new_p4info.direct_counters, *new_p4info.direct_meters]
    }
    for nt in new_p4info.tables:
        ot = old_tables.get(nt.preamble.id)
        if ot is None or ot != nt or nt.is_const_table:
            continue
        if any(old_actions.get(r.id) != new_actions.get(r.id) for r in nt.action_refs):
            continue
        if any(old_direct.get(r) != new_direct.get(r) for r in nt.direct_resource_ids):
            continue
        src = old.tables_by_id[nt.preamble.id]
        dst = new.tables_by_id[nt.preamble.id]
        dst.default_action = src.default_action
        for e in src.entries():
            if not e.is_const:
                dst.adopt(e)
    new.pre.groups.update(old.pre.groups)
    new.pre.sessions.update(old.pre.sessions)
    old_digests = {d.preamble.id: d for d in old_p4info.digests}
    for nd in new_p4info.digests:
        if old_digests.get(nd.preamble.id) == nd:
            cfg = old.digests.config(nd.preamble.id)
            if cfg is not None:
                new.digests.set_config(nd.preamble.id, cfg)

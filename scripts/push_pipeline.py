"""Push a compiled P4 program to a running switch with SetForwardingPipelineConfig.

Usage: push_pipeline.py --p4info build/main.p4info.txtpb --config build/main.json
                        [--addr 127.0.0.1:9559] [--device-id 1] [--election-id 1]

The device config file is sent as-is: BMv2 JSON for simple_switch_grpc, the softswitch
device config (softswitch compile) for softswitch, so the same script serves both targets.
It becomes primary on a StreamChannel first (both targets refuse a pipeline from a
non-primary client), sends VERIFY_AND_COMMIT, then closes the stream; the pipeline stays.
"""

from __future__ import annotations

import argparse
import queue
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
from google.protobuf import text_format
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

_DONE = object()


def push(addr: str, device_id: int, election_id: int, p4info_path: Path, config_path: Path) -> None:
    """Become primary for `device_id` at `addr` and install the pipeline; raise on failure."""
    p4info = p4info_pb2.P4Info()
    text_format.Parse(p4info_path.read_text(encoding="utf-8"), p4info)
    config = config_path.read_bytes()
    eid = p4runtime_pb2.Uint128(high=election_id >> 64, low=election_id & (2**64 - 1))

    requests: queue.Queue[object] = queue.Queue()

    def request_iter() -> Iterator[p4runtime_pb2.StreamMessageRequest]:
        while (item := requests.get()) is not _DONE:
            yield item  # type: ignore[misc]

    with grpc.insecure_channel(addr) as channel:
        stub = p4runtime_pb2_grpc.P4RuntimeStub(channel)
        stream = stub.StreamChannel(request_iter())
        req = p4runtime_pb2.StreamMessageRequest()
        req.arbitration.device_id = device_id
        req.arbitration.election_id.CopyFrom(eid)
        requests.put(req)
        try:
            for reply in stream:
                if reply.HasField("arbitration"):
                    if reply.arbitration.status.code != grpc.StatusCode.OK.value[0]:
                        raise RuntimeError(
                            f"not primary for device {device_id}: "
                            f"{reply.arbitration.status.message or 'another controller is'}"
                        )
                    break
            else:
                raise RuntimeError("stream closed before the arbitration reply")
            fwd = p4runtime_pb2.SetForwardingPipelineConfigRequest(
                device_id=device_id,
                election_id=eid,
                action=p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
            )
            fwd.config.p4info.CopyFrom(p4info)
            fwd.config.p4_device_config = config
            stub.SetForwardingPipelineConfig(fwd, timeout=120)
        finally:
            requests.put(_DONE)
            stream.cancel()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--addr", default="127.0.0.1:9559")
    ap.add_argument("--device-id", type=int, default=1)
    ap.add_argument("--election-id", type=int, default=1)
    ap.add_argument("--p4info", type=Path, required=True)
    ap.add_argument("--config", type=Path, required=True)
    args = ap.parse_args(argv)
    try:
        push(args.addr, args.device_id, args.election_id, args.p4info, args.config)
    except grpc.RpcError as e:
        code = e.code().name  # type: ignore[attr-defined]
        print(f"push_pipeline: {code}: {e.details()}", file=sys.stderr)  # type: ignore[attr-defined]
        return 1
    except (OSError, RuntimeError, text_format.ParseError) as e:
        print(f"push_pipeline: {e}", file=sys.stderr)
        return 1
    print(f"pipeline {args.config} installed on device {args.device_id} at {args.addr}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

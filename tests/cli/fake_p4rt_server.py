"""A minimal P4Runtime server for testing the shell glue (scripts/, switchctl.sh).

Run as a program it mimics `softswitch run`: it accepts (and records in $FAKE_ARGS_FILE)
any command line, serves on --grpc-server-addr and exits on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc


class FakeP4Runtime(p4runtime_pb2_grpc.P4RuntimeServicer):
    """Answers Capabilities, grants arbitration to anyone, records pipeline pushes."""

    def __init__(self) -> None:
        self.pipelines: list[p4runtime_pb2.SetForwardingPipelineConfigRequest] = []
        self.arbitrations: list[p4runtime_pb2.MasterArbitrationUpdate] = []

    def Capabilities(self, request: Any, context: Any) -> p4runtime_pb2.CapabilitiesResponse:
        return p4runtime_pb2.CapabilitiesResponse(p4runtime_api_version="1.4.1")

    def StreamChannel(
        self, request_iterator: Iterator[p4runtime_pb2.StreamMessageRequest], context: Any
    ) -> Iterator[p4runtime_pb2.StreamMessageResponse]:
        for req in request_iterator:
            if req.HasField("arbitration"):
                self.arbitrations.append(req.arbitration)
                resp = p4runtime_pb2.StreamMessageResponse()
                resp.arbitration.CopyFrom(req.arbitration)
                resp.arbitration.status.code = 0
                yield resp

    def SetForwardingPipelineConfig(
        self, request: p4runtime_pb2.SetForwardingPipelineConfigRequest, context: Any
    ) -> p4runtime_pb2.SetForwardingPipelineConfigResponse:
        self.pipelines.append(request)
        return p4runtime_pb2.SetForwardingPipelineConfigResponse()


def serve(addr: str) -> tuple[grpc.Server, FakeP4Runtime, int]:
    """Start a fake server on `addr` (port 0: any free port); return it and its port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = FakeP4Runtime()
    p4runtime_pb2_grpc.add_P4RuntimeServicer_to_server(servicer, server)
    port = server.add_insecure_port(addr)
    server.start()
    return server, servicer, port


def main() -> None:
    argv = sys.argv[1:]
    with open(os.environ["FAKE_ARGS_FILE"], "w") as f:
        json.dump(argv, f)
    addr = argv[argv.index("--grpc-server-addr") + 1]
    server, _, _ = serve(addr)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop(0)


if __name__ == "__main__":
    main()

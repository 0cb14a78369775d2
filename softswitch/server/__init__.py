"""P4Runtime gRPC server of the softswitch (P4Runtime 1.4.1; docs/p4runtime.md)."""

from __future__ import annotations

from concurrent import futures

import grpc
from p4.v1 import p4runtime_pb2_grpc

from softswitch.server.service import P4RuntimeServicer, SwitchLike

__all__ = ["P4RuntimeServer", "P4RuntimeServicer", "SwitchLike"]


class P4RuntimeServer:
    """Serves P4Runtime for `switch` on `address` (loopback by default).

    `address` may use port 0; `port` then tells which port was bound.
    Register reads/writes answer UNIMPLEMENTED, as BMv2 does, unless
    `enable_register_access` (or the switch's attribute of that name) is true.
    """

    def __init__(
        self,
        switch: SwitchLike,
        address: str = "127.0.0.1:9559",
        *,
        enable_register_access: bool | None = None,
        max_workers: int = 16,
    ) -> None:
        if enable_register_access is None:
            enable_register_access = bool(getattr(switch, "enable_register_access", False))
        self.switch = switch
        self.address = address
        self.servicer = P4RuntimeServicer(switch, enable_register_access=enable_register_access)
        # every open StreamChannel holds a worker thread for its whole life
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="p4rt"),
            options=[
                ("grpc.max_receive_message_length", 256 * 1024 * 1024),
                ("grpc.max_send_message_length", 256 * 1024 * 1024),
            ],
        )
        p4runtime_pb2_grpc.add_P4RuntimeServicer_to_server(self.servicer, self._server)
        self.port = 0

    def start(self) -> None:
        """Bind and serve in background threads; raises RuntimeError if the bind fails."""
        port = self._server.add_insecure_port(self.address)
        if port == 0:
            raise RuntimeError(f"cannot listen on {self.address}")
        self.port = port
        host = self.address.rsplit(":", 1)[0]
        self.address = f"{host}:{port}"
        self._server.start()
        self.servicer.start()

    def stop(self, grace: float | None = 0.5) -> None:
        """End all streams and stop serving."""
        self.servicer.close()
        self._server.stop(grace).wait()

    def wait(self) -> None:
        """Block until the server stops."""
        self._server.wait_for_termination()

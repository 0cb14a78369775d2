"""softswitch: an embedded P4_16 (v1model) target that speaks P4Runtime like simple_switch_grpc.

Layout and interfaces: docs/DESIGN-softswitch.md. Entry points: ``softswitch.cli`` (the
``softswitch`` command) and ``softswitch.device.Switch`` (the in-process API).
"""

__version__ = "0.1.0"

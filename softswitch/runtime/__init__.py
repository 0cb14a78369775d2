"""Data-plane state built from a P4Info: tables, externs, PRE and digests."""

from softswitch.runtime.digests import DigestBatch, DigestConfig, DigestQueue
from softswitch.runtime.errors import Code, RuntimeStateError
from softswitch.runtime.externs import (
    GREEN,
    RED,
    YELLOW,
    Counter,
    DirectCounter,
    DirectMeter,
    Meter,
    MeterConfig,
    MeterState,
    Register,
)
from softswitch.runtime.pre import CloneSession, PacketReplicationEngine
from softswitch.runtime.state import ActionInfo, DeviceState, DigestInfo, UnsupportedP4Info
from softswitch.runtime.tables import (
    ActionCall,
    ActionSpec,
    Entry,
    ExactMatch,
    LpmMatch,
    Match,
    OptionalMatch,
    RangeMatch,
    Table,
    TernaryMatch,
    is_wildcard,
    wildcard,
)

__all__ = [
    "GREEN",
    "RED",
    "YELLOW",
    "ActionCall",
    "ActionInfo",
    "ActionSpec",
    "CloneSession",
    "Code",
    "Counter",
    "DeviceState",
    "DigestBatch",
    "DigestConfig",
    "DigestInfo",
    "DigestQueue",
    "DirectCounter",
    "DirectMeter",
    "Entry",
    "ExactMatch",
    "LpmMatch",
    "Match",
    "Meter",
    "MeterConfig",
    "MeterState",
    "OptionalMatch",
    "PacketReplicationEngine",
    "RangeMatch",
    "Register",
    "RuntimeStateError",
    "Table",
    "TernaryMatch",
    "UnsupportedP4Info",
    "is_wildcard",
    "wildcard",
]

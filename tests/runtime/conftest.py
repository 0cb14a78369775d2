"""Fixtures for runtime tests: the hand-written toy P4Info."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

from softswitch.runtime import DeviceState

TOY_P4INFO = Path(__file__).resolve().parent.parent / "server" / "data" / "toy.p4info.txtpb"


@pytest.fixture
def toy_p4info() -> p4info_pb2.P4Info:
    """tests/server/data/toy.p4info.txtpb, parsed."""
    return text_format.Parse(TOY_P4INFO.read_text(), p4info_pb2.P4Info())


@pytest.fixture
def state(toy_p4info: p4info_pb2.P4Info) -> DeviceState:
    """A fresh DeviceState of the toy program, CPU port 64."""
    return DeviceState(toy_p4info, cpu_port=64)

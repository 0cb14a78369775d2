"""Fixtures for the P4Runtime server tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from p4rt_helpers import FakeSwitch, RawClient

from softswitch.server import P4RuntimeServer


@pytest.fixture
def switch() -> FakeSwitch:
    return FakeSwitch()


@pytest.fixture
def server(switch: FakeSwitch) -> Iterator[P4RuntimeServer]:
    srv = P4RuntimeServer(switch, "127.0.0.1:0")
    srv.start()
    yield srv
    srv.stop(0)


@pytest.fixture
def clients(server: P4RuntimeServer) -> Iterator[Callable[[], RawClient]]:
    """Factory of RawClients connected to the server; all closed at the end."""
    made: list[RawClient] = []

    def make() -> RawClient:
        c = RawClient(server.address)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def primary(clients: Callable[[], RawClient]) -> RawClient:
    """A primary client (election id 1) with the toy pipeline committed."""
    c = clients()
    c.arbitrate(1)
    c.set_pipeline()
    return c

"""bench.blb_eval's helpers: the symmetric hashes and the information-loss measure."""

from __future__ import annotations

from bench.blb_eval import Outcome, SimFlow, info_loss, symmetric_hash
from controlplane.balance.flow import TCP, Flow

A = Flow.of("10.0.0.1", "192.0.2.9", 40000, 80, TCP)
A_REV = Flow.of("192.0.2.9", "10.0.0.1", 80, 40000, TCP)
A_OTHER_PORT = Flow.of("10.0.0.1", "192.0.2.9", 40001, 80, TCP)


def test_hashes_are_symmetric_and_hash2_ignores_ports() -> None:
    assert symmetric_hash(A, True) == symmetric_hash(A_REV, True)
    assert symmetric_hash(A, False) == symmetric_hash(A_REV, False)
    assert symmetric_hash(A, False) == symmetric_hash(A_OTHER_PORT, False)
    assert symmetric_hash(A, True) != symmetric_hash(A_OTHER_PORT, True)


def test_info_loss_is_the_share_outside_the_busiest_worker() -> None:
    flows = [SimFlow(A, float(i), 1, 1, "bg") for i in range(4)]
    out = Outcome("x", 3, [], [(0,), (0,), (1,), (2,)])
    assert info_loss(flows, out, lambda f: True) == 0.5
    assert info_loss(flows, out, lambda f: False) == 0.0

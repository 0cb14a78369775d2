"""Real captures with truncated, malformed and bad-checksum packets: the engine
never raises, forwards every packet unchanged, and flags wrong checksums."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_harness import Switch, load
from scapy.utils import PcapReader

TRACES = Path(__file__).resolve().parents[3] / "shared" / "traces" / "zeek"
FILES = sorted((TRACES / "trunc").glob("*")) + sorted((TRACES / "chksums").glob("*"))


def packets(path: Path) -> list[bytes]:
    with PcapReader(str(path)) as r:  # handles pcap, pcapng and .gz
        return [bytes(p) for p in r]


@pytest.fixture(scope="module")
def sw() -> Switch:
    return load("ip.p4")


@pytest.mark.skipif(not TRACES.is_dir(), reason="shared Zeek traces not present")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_trace_never_crashes(sw: Switch, path: Path) -> None:
    pkts = packets(path)
    assert pkts, f"{path.name}: no packets read"
    for i, data in enumerate(pkts):
        out = sw.run(3, data, now=i)
        assert len(out) == 1, f"{path.name} #{i}"
        port, res = out[0]
        assert port in (1, 2)
        assert res == data, f"{path.name} #{i}: packet changed"


@pytest.mark.parametrize(
    "name,port",
    [
        ("ip4-udp-good-chksum.pcap", 1),
        ("ip4-udp-bad-chksum.pcap", 2),
        ("ip4-tcp-good-chksum.pcap", 1),
        ("ip4-tcp-bad-chksum.pcap", 2),
        ("ip4-bad-chksum.pcap", 2),
    ],
)
def test_checksum_verdicts(sw: Switch, name: str, port: int) -> None:
    path = TRACES / "chksums" / name
    if not path.exists():
        pytest.skip(f"{name} not present")
    ports = {sw.run(0, d)[0][0] for d in packets(path)}
    assert ports == {port}

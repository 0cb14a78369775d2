"""Real captures through main.p4 with the reassembly stage on (testbed.reassembly_replay):
for every TCP connection of ../shared/traces/zeek/{tcp,http,ssh,ftp,smtp,tls}/ that
tshark follows, the stream rebuilt from the monitor port equals
`tshark -q -z follow,tcp,raw,N` byte for byte. A connection that fell back to software
must still start with exactly the bytes the switch delivered in order; its whole
stream (switch bytes, then the raw packets after the fallback reassembled, first copy
wins) must equal tshark's too, unless the capture itself lacks bytes of it (tshark
then writes a "bytes missing in capture file" marker into the stream, or the fallback
reason is TRUNCATED: packets cut short by the capture's snap length)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.reassembly_replay import compare, has_tshark, replay, tshark_streams

SHARED = Path(__file__).resolve().parents[3] / "shared"
TRACES = SHARED / "traces" / "zeek"
DIRS = ("tcp", "http", "ssh", "ftp", "smtp", "tls")
MISSING = b" bytes missing in capture file]"


def traces() -> list[Path]:
    out: list[Path] = []
    for d in DIRS:
        out += sorted((TRACES / d).glob("*.pcap")) + sorted((TRACES / d).glob("*.pcapng"))
    return out


@pytest.mark.skipif(not TRACES.is_dir(), reason=f"no traces at {TRACES}")
@pytest.mark.skipif(not has_tshark(), reason="tshark is not on PATH")
@pytest.mark.parametrize("trace", traces(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rebuilt_streams_equal_tshark(trace: Path) -> None:
    r = replay(trace)
    ref = tshark_streams(trace)
    for c in compare(r.rebuilt, ref):
        assert c.errors == [], (c.orig, c.errors[:3])
        assert c.prefix_ok, f"{c.orig}: a byte the switch delivered differs from tshark's"
        if c.mode in ("switch", "closed"):
            assert c.equal, f"{c.orig} ({c.mode}): stream differs from tshark's"
        elif not c.equal and c.fallback_reason != "TRUNCATED":
            # (TRUNCATED: the capture cut the packets, so its bytes are not all there.)
            oh, op, rh, rp = c.orig
            streams = ref[frozenset({(oh, op), (rh, rp)})].values()
            assert any(MISSING in s for s in streams), f"{c.orig} ({c.mode}) differs"

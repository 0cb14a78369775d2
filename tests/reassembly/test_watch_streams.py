"""`watch --pcap FILE --streams DIR`: one file per connection and direction, named by
its endpoints, and a reassembly.log line per connection with mode and fallback reason."""

from __future__ import annotations

import io
import json
from pathlib import Path

from test_reassembly import IN, MONITOR, Conn, enable

from controlplane.watch import WatchOptions, run_watch
from pktio.pcap import PcapWriter
from testbed.nids_switch import NidsSwitch


def test_watch_writes_streams_and_log(tmp_path: Path) -> None:
    c, d = Conn(sport=40000), Conn(sport=40001)
    frames = [
        *c.handshake(),
        c.o("PA", 0, b"hello "),
        c.r("PA", 0, b"hi"),
        c.o("PA", 6, b"world"),
        *d.handshake(),
        d.o("PA", 0, b"ab"),
        d.o("PA", 4, b"ef"),
        d.o("PA", 2, b"cd"),
    ]
    pcap = tmp_path / "monitor.pcap"
    w = PcapWriter(pcap)
    with NidsSwitch() as sw:
        sw.install_text(f"monitor:\n  port: {MONITOR}\n  ingress_ports: [{IN}]\nstats: []\n")
        enable(sw)
        for i, f in enumerate(frames):
            for port, data in sw.run(IN, f, 1_000_000_000 + i):
                assert port == MONITOR
                w.write(data, (1_000_000_000 + i) * 1000)
    w.close()
    out_dir = tmp_path / "streams"
    err = io.StringIO()
    opts = WatchOptions(pcap=pcap, streams=out_dir, state_path=tmp_path / "state.json")
    assert run_watch(opts, io.StringIO(), err) == 0
    assert (out_dir / "10.0.0.1.40000-192.0.2.80.80.orig").read_bytes() == b"hello world"
    assert (out_dir / "10.0.0.1.40000-192.0.2.80.80.resp").read_bytes() == b"hi"
    # Fell back at the gap; the rest rebuilt from the raw packets, first copy wins.
    assert (out_dir / "10.0.0.1.40001-192.0.2.80.80.orig").read_bytes() == b"abcdef"
    log = [json.loads(line) for line in (out_dir / "reassembly.log").read_text().splitlines()]
    by_port = {e["id.orig_p"]: e for e in log}
    assert by_port[40000]["mode"] == "switch" and by_port[40000]["fallback_reason"] is None
    assert by_port[40001]["mode"] == "software"
    assert by_port[40001]["fallback_reason"] == "BUFFER_OVERFLOW"
    assert (by_port[40001]["switch_orig_bytes"], by_port[40001]["orig_bytes"]) == (2, 6)
    assert "2 TCP connections rebuilt" in err.getvalue()

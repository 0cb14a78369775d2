"""`watch --prefilters FILE`: PROTOCOL_MATCH lines name the service, reassembly.log has
Zeek's `service` for every connection (the switch's, or the same patterns in software
for a connection that fell back), and a connection negative matching cut becomes a
conn.log entry with its counts and no service."""

from __future__ import annotations

import io
import json
from pathlib import Path

from test_prefilter import IN, MONITOR, RULES, Conn

from controlplane.watch import WatchOptions, run_watch
from pktio.pcap import PcapWriter
from testbed.nids_switch import NidsSwitch


def test_watch_names_services(tmp_path: Path) -> None:
    web, gap, other = Conn(41000, 80), Conn(41001, 8000), Conn(41002, 9999)
    frames = [
        *web.handshake(),
        web.o(0, b"GET / HTTP/1.1\r\n"),
        web.r(0, b"HTTP/1.1 200 OK\r\n"),
        *gap.handshake(),
        gap.o(4, b"/x HTTP/1.1\r\n"),
        gap.o(0, b"GET "),
        *other.handshake(),
        other.o(0, b"hello 12"),
        other.r(0, b"world 34"),
        other.o(8, b"dropped"),
    ]
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    pcap = tmp_path / "monitor.pcap"
    w = PcapWriter(pcap)
    with NidsSwitch() as sw:
        sw.install(rules)
        for i, f in enumerate(frames):
            for port, data in sw.run(IN, f, 1_000_000_000 + i):
                assert port == MONITOR
                w.write(data, (1_000_000_000 + i) * 1000)
    w.close()
    out, streams, conn = io.StringIO(), tmp_path / "streams", tmp_path / "conn.log"
    opts = WatchOptions(
        pcap=pcap,
        streams=streams,
        conn_log=conn,
        prefilters=rules,
        state_path=tmp_path / "state.json",
    )
    assert run_watch(opts, out, io.StringIO()) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    matched = [e for e in lines if e.get("match_state") == "MATCHED"]
    # the gap's second segment is held until the first arrives: the switch names both
    assert [e["service"] for e in matched] == ["http", "http"]
    log = [json.loads(line) for line in (streams / "reassembly.log").read_text().splitlines()]
    by_port = {e["id.orig_p"]: e["service"] for e in log}
    assert by_port == {41000: "http", 41001: "http", 41002: None}
    (cut,) = [json.loads(line) for line in conn.read_text().splitlines()]
    assert (cut["id.orig_p"], cut["id.resp_p"], cut["service"]) == (41002, 9999, None)
    assert (cut["orig_bytes"], cut["resp_bytes"], cut["prefilter"]) == (8, 8, "no_protocol")

"""The prefilter stage (p4src/include/control/prefilter.p4) on the engine, in process:
the records on what reaches the monitor port, negative matching, exceptions, UDP, and
the decoder's naming (controlplane.services) for connections the switch left to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from controlplane import pipeline_spec as ps
from controlplane.rules import read_rules
from controlplane.services import ServiceNamer
from feedback_header import codec
from feedback_header.records import MatchState, NoProtocol, ProtocolMatch, StreamMode
from testbed.nids_switch import NidsSwitch

MONITOR, IN = 1, 0
T0 = 1_000_000_000
A, B = "10.0.0.1", "192.0.2.80"

SECTION = """prefilters:
  negative_matching:
    bytes: 8
    exceptions:
      - {port: 7777}
      - {prefix: 198.51.100.0/24}
  rules:
    - service: http
      orig: ['GET ', 'POST ']
      resp: ['HTTP/1.']
    - service: ftp
      both: true
      nocase: true
      orig: ['USER ']
      resp: ['220[ -]']
    - service: smtp
      both: true
      nocase: true
      orig: ['EHLO ']
      resp: ['220[ -]']
    - service: ssh
      any: ['SSH-[12].']
    - service: dns
      transport: udp
      ports: [53]
      any: ['....\\x00.......']
"""
RULES = f"""monitor:
  port: {MONITOR}
  ingress_ports: [{IN}]
stats:
  - name: every-tcp
    match: {{protocol: tcp}}
    group_by: [dst_port]
reassembly: {{}}
{SECTION}"""
NAMES = {"http": 1, "ftp": 2, "smtp": 3, "ssh": 4, "dns": 5}


class Conn:
    """A TCP connection between A:sport (originator) and `resp`:dport."""

    def __init__(self, sport: int, dport: int, resp: str = B) -> None:
        self.sport, self.dport, self.resp = sport, dport, resp
        self.isn_o, self.isn_r = 1000, 5000

    def _pkt(self, is_orig: bool, flags: str, off: int, data: bytes) -> bytes:
        src, dst = (A, self.resp) if is_orig else (self.resp, A)
        sp, dp = (self.sport, self.dport) if is_orig else (self.dport, self.sport)
        mine, other = (self.isn_o, self.isn_r) if is_orig else (self.isn_r, self.isn_o)
        p = (
            Ether()
            / IP(src=src, dst=dst)
            / TCP(sport=sp, dport=dp, flags=flags, seq=mine + 1 + off, ack=other + 1)
        )
        return bytes(p / data) if data else bytes(p)

    def o(self, off: int, data: bytes = b"", flags: str = "PA") -> bytes:
        return self._pkt(True, flags, off, data)

    def r(self, off: int, data: bytes = b"", flags: str = "PA") -> bytes:
        return self._pkt(False, flags, off, data)

    def handshake(self) -> list[bytes]:
        syn = (
            Ether()
            / IP(src=A, dst=self.resp)
            / TCP(sport=self.sport, dport=self.dport, flags="S", seq=self.isn_o)
        )
        syn_ack = (
            Ether()
            / IP(src=self.resp, dst=A)
            / TCP(
                sport=self.dport, dport=self.sport, flags="SA", seq=self.isn_r, ack=self.isn_o + 1
            )
        )
        return [bytes(syn), bytes(syn_ack), self.o(0, flags="A")]


class Run:
    """Frames into the switch; what left on the monitor port, named."""

    def __init__(self, sw: NidsSwitch) -> None:
        self.sw, self.t = sw, T0
        self.namer = ServiceNamer(read_rules(RULES, "rules.yaml")[0].prefilters)

    def send(self, *frames: bytes) -> list[bytes]:
        got = []
        for f in frames:
            self.t += 10
            for port, data in self.sw.run(IN, f, self.t):
                assert port == MONITOR
                got.append(data)
                self.namer.feed(data)
        return got

    def service(self, c: Conn) -> tuple[str | None, str]:
        key = (6, frozenset({(A, c.sport), (c.resp, c.dport)}))
        return self.namer.services()[key]


def records(frame: bytes) -> tuple[object, ...]:
    d = codec.try_decode(frame)
    return () if d is None else d.records


def matches(frames: list[bytes]) -> list[ProtocolMatch]:
    return [r for f in frames for r in records(f) if isinstance(r, ProtocolMatch)]


def outcomes(sw: NidsSwitch) -> dict[str, int]:
    cells = sw.p4rt.read_counter(sw.schema.counter(ps.PF_OUTCOMES_COUNTER).id)
    by_index = {c.index.index: c.data.packet_count for c in cells}
    return {o.name: by_index.get(i, 0) for i, o in enumerate(ps.PF_OUTCOMES)}


@pytest.fixture
def run() -> Iterator[Run]:
    with NidsSwitch() as s:
        s.install_text(RULES)
        yield Run(s)


def test_pattern_split_over_two_segments(run: Run) -> None:
    c = Conn(40000, 8080)
    run.send(*c.handshake())
    first = run.send(c.o(0, b"GE"))
    assert matches(first) == []
    second = run.send(c.o(2, b"T /index.html HTTP/1.1\r\n"))
    (m,) = matches(second)
    assert (m.match_state, m.protocol_id, m.direction) == (MatchState.MATCHED, 1, 0)
    assert run.service(c) == ("http", "switch")


def test_later_packets_carry_the_protocol_without_a_lookup(run: Run) -> None:
    c = Conn(40001, 80)
    run.send(*c.handshake(), c.o(0, b"GET / HTTP/1.1\r\n"))
    before = outcomes(run.sw)
    later = run.send(c.r(0, b"HTTP/1.1 200 OK\r\n"), c.o(16, b"more"))
    assert [m.match_state for m in matches(later)] == [MatchState.KNOWN] * 2
    assert all(m.protocol_id == 1 for m in matches(later))
    after = outcomes(run.sw)
    assert after["lookups"] == before["lookups"]
    assert after["known_tagged"] == before["known_tagged"] + 2


def test_one_byte_segments(run: Run) -> None:
    c = Conn(40002, 22)
    run.send(*c.handshake())
    banner = b"SSH-2.0-OpenSSH_9.6\r\n"
    out = run.send(*(c.r(i, banner[i : i + 1]) for i in range(len(banner))))
    got = matches(out)
    assert got[0].match_state == MatchState.MATCHED and got[0].protocol_id == 4
    assert records(out[len("SSH-2.") - 1]) and matches(out[: len("SSH-2.") - 1]) == []


def test_request_and_response_pair(run: Run) -> None:
    """FTP and SMTP greet alike (220): the client's first command decides."""
    ftp, smtp = Conn(40003, 2121), Conn(40004, 2525)
    run.send(*ftp.handshake(), *smtp.handshake())
    assert matches(run.send(ftp.r(0, b"220 ready\r\n"), smtp.r(0, b"220 mx ESMTP\r\n"))) == []
    (m1,) = matches(run.send(ftp.o(0, b"USER anonymous\r\n")))
    (m2,) = matches(run.send(smtp.o(0, b"ehlo client.example\r\n")))
    assert (m1.protocol_id, m2.protocol_id) == (2, 3)
    assert outcomes(run.sw)["half_matched"] == 4


def test_negative_matching_cuts_and_summarizes(run: Run) -> None:
    c = Conn(40005, 9999)
    run.send(*c.handshake())
    run.send(c.o(0, b"hello 12"))
    (decider,) = run.send(c.r(0, b"world 34"))
    (summary,) = [r for r in records(decider) if isinstance(r, NoProtocol)]
    assert (summary.orig_bytes, summary.resp_bytes, summary.packets) == (8, 8, 3)
    assert run.send(c.o(8, b"more bytes"), c.r(8, flags="A")) == []
    assert len(run.send(c.o(18, flags="FA"))) == 1  # the FIN still passes
    assert outcomes(run.sw)["cut"] == 2
    assert run.service(c) == (None, "")
    # The stats stage ran first: it counted the cut packets too.
    counted = sum(
        e.counter_data.packet_count
        for slot in range(ps.STATS_SLOTS)
        for e in run.sw.p4rt.read_table(run.sw.schema.table(ps.stats_table(slot)).id, True)
    )
    assert counted == 3 + 2 + 3


def test_exceptions_keep_flows(run: Run) -> None:
    by_port, by_prefix = Conn(40006, 7777), Conn(40007, 9999, resp="198.51.100.9")
    for c in (by_port, by_prefix):
        run.send(*c.handshake(), c.o(0, b"hello 12"), c.r(0, b"world 34"))
        assert len(run.send(c.o(8, b"more bytes"))) == 1
    assert outcomes(run.sw)["excepted"] == 2
    assert outcomes(run.sw)["no_protocol"] == 0


def test_short_streams_are_not_cut(run: Run) -> None:
    """Fewer bytes than negative_bytes in one direction: the switch is unsure, keeps it."""
    c = Conn(40008, 9999)
    run.send(*c.handshake(), c.o(0, b"hi"), c.r(0, b"a long reply"))
    assert len(run.send(c.o(2, b"!"))) == 1
    assert outcomes(run.sw)["no_protocol"] == 0


def test_reordered_head_is_named_by_the_switch(run: Run) -> None:
    """The request's second segment first: reassembly holds it until the first one
    arrives and releases it in order, so the switch names the connection itself."""
    c = Conn(40009, 8000)
    run.send(*c.handshake())
    out = run.send(c.o(4, b"/ HTTP/1.1\r\n\r\n"), c.o(0, b"GET "), c.r(0, b"xxxxxxxxxxxx"))
    assert len(out) == 3
    assert not any(isinstance(r, StreamMode) for f in out for r in records(f))
    assert [m.direction for m in matches(out)] != []
    assert run.service(c) == ("http", "switch")


def test_udp_datagrams_each_matched(run: Run) -> None:
    q = Ether() / IP(src=A, dst="8.8.8.8") / UDP(sport=3333, dport=53)
    out = run.send(bytes(q / bytes.fromhex("123401000001000000000000")), bytes(q / b"short"))
    (m,) = matches(out)
    assert (m.match_state, m.protocol_id, m.flow_id) == (MatchState.DATAGRAM, 5, 0)
    other = Ether() / IP(src=A, dst="8.8.8.8") / UDP(sport=3333, dport=54)
    assert matches(run.send(bytes(other / bytes.fromhex("123401000001000000000000")))) == []


def test_untracked_connection_is_named_by_software(run: Run) -> None:
    """No SYN-ACK seen (picked up mid-stream): no flow id, nothing for the switch."""
    c = Conn(40010, 22)
    out = run.send(c.r(0, b"SSH-2.0-x\r\n"), c.o(0, b"SSH-2.0-y\r\n"))
    assert len(out) == 2 and matches(out) == []
    assert run.service(c) == ("ssh", "software")


def test_slot_taken_by_a_newer_flow() -> None:
    """Two slots: the third connection takes the first one's slot. The first is no
    longer named by the switch (NO_STATE), the decoder names it in software."""
    with NidsSwitch({"PREFILTER_SLOTS": "2"}) as sw:
        sw.install_text(RULES)
        run = Run(sw)
        first, second, third = Conn(42000, 8000), Conn(42001, 8001), Conn(42002, 8002)
        run.send(*first.handshake(), first.o(0, b"GE"))
        run.send(*second.handshake(), *third.handshake(), third.o(0, b"POST /x"))
        (lost,) = matches(run.send(first.o(2, b"T / HTTP/1.1\r\n")))
        assert (lost.match_state, lost.protocol_id) == (MatchState.NO_STATE, 0)
        assert outcomes(sw)["lost_slot"] == 1
        assert run.service(first) == ("http", "software")
        assert run.service(third) == ("http", "switch")

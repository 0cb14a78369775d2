"""Prefilters over veths (docs/prefilter.md): protocols named from the first stream
bytes per family (HTTP, SSH, TLS, SMTP, DNS), a pattern split over two segments, a
request/response pair, reordering (the connection is software's, never named or cut by
the switch), negative matching and its exceptions. The pattern set is compiled by the
controller's own compiler from a `prefilters:` section, so softswitch and BMv2 get the
same entries."""

from __future__ import annotations

from base_test import autocleanup, skip_unless_root
from p4.v1 import p4runtime_pb2
from ptf import testutils
from reasm_helpers import IN_PORT, MAC_A, MAC_B, MONITOR, ORIG, RESP, A, Conn, ReassemblyTest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from controlplane import pipeline_spec as ps
from controlplane.p4info import P4Schema
from controlplane.prefilter_install import desired
from controlplane.rules import read_rules
from feedback_header.records import (
    MatchState,
    NoProtocol,
    ProtocolMatch,
    StreamMode,
    StreamSegment,
)

NEGATIVE_BYTES = 8
RULES = f"""monitor:
  port: {MONITOR}
  ingress_ports: [{IN_PORT}]
prefilters:
  negative_matching:
    bytes: {NEGATIVE_BYTES}
    exceptions: [{{port: 7777}}]
  rules:
    - {{service: http, orig: ['GET ', 'POST '], resp: ['HTTP/1.']}}
    - {{service: ssh, any: ['SSH-[12].']}}
    - service: ssl
      orig: ['\\x16\\x03[\\x00-\\x03]..\\x01...\\x03[\\x00-\\x03]']
    - {{service: smtp, both: true, nocase: true, orig: ['EHLO '], resp: ['220[ -]']}}
    - {{service: dns, transport: udp, ports: [53], any: ['....\\x00.......']}}
"""
HTTP, SSH, SSL, SMTP, DNS = 1, 2, 3, 4, 5
CLIENT_HELLO = bytes.fromhex("160301006c010000680303") + bytes(32)


class PrefilterTest(ReassemblyTest):
    """ReassemblyTest with the prefilter stage configured from RULES."""

    def enable(
        self,
        slots: int = 1024,
        idle_us: int = 60_000_000,
        hold: tuple[int, int, int] = (4, 64, 3_000_000),
    ) -> None:
        super().enable(slots, idle_us, hold)
        cfg = read_rules(RULES, "rules.yaml")[0].prefilters
        assert cfg is not None
        updates = []
        for d in desired(cfg, P4Schema(self.p4info.p4info)):
            u = p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT)
            u.entity.table_entry.CopyFrom(d.entry)
            updates.append(u)
        self.write(*updates)
        self.set_default_action(
            ps.PF_CONFIG_TABLE,
            ps.PF_CONFIGURE,
            {ps.PF_CONFIGURE_PARAMS[0]: NEGATIVE_BYTES},
            restore=(ps.PF_DISABLE, {}),
        )

    def conn(self, sport: int, dport: int) -> Conn:
        c = Conn(sport)
        c.dport = dport
        self.open(c)
        return c

    def expect_records(self, sent: bytes) -> tuple[object, ...]:
        d = self.expect_original(sent)
        return () if d is None else d.records

    def expect_match(self, c: Conn, sent: bytes, state: int, protocol: int, direction: int) -> None:
        """`sent` with its STREAM_SEGMENT and a PROTOCOL_MATCH record."""
        recs = self.expect_records(sent)
        seg = [r for r in recs if isinstance(r, StreamSegment)]
        (m,) = [r for r in recs if isinstance(r, ProtocolMatch)]
        self.assertEqual(len(seg), 1)
        got = (m.match_state, m.protocol_id, m.direction, m.flow_id)
        self.assertEqual(got, (state, protocol, direction, seg[0].flow_id))

    def expect_no_match(self, sent: bytes) -> tuple[object, ...]:
        recs = self.expect_records(sent)
        self.assertEqual([r for r in recs if isinstance(r, ProtocolMatch)], [])
        return recs


@skip_unless_root
class HttpSplitOverTwoSegmentsTest(PrefilterTest):
    """'GE' then 'T /...': the pattern matches on the second segment; later segments of
    either direction carry the protocol from the flow state."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = self.conn(43001, 8080)
        first, second = c.o("PA", 0, b"GE"), c.o("PA", 2, b"T / HTTP/1.1\r\n")
        self.send(first)
        self.expect_no_match(first)
        self.send(second)
        self.expect_match(c, second, MatchState.MATCHED, HTTP, ORIG)
        reply = c.r("PA", 0, b"HTTP/1.1 200 OK\r\n")
        self.send(reply)
        self.expect_match(c, reply, MatchState.KNOWN, HTTP, ORIG)
        self.expect_nothing()


@skip_unless_root
class SshServerFirstTest(PrefilterTest):
    """The server's identification string names the connection (responder direction)."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = self.conn(43002, 22)
        banner = c.r("PA", 0, b"SSH-2.0-OpenSSH_9.6\r\n")
        self.send(banner)
        self.expect_match(c, banner, MatchState.MATCHED, SSH, RESP)
        self.expect_nothing()


@skip_unless_root
class TlsClientHelloTest(PrefilterTest):
    """A TLS ClientHello (record type 22, version 3.1, handshake type 1, version 3.3)."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = self.conn(43003, 443)
        hello = c.o("PA", 0, CLIENT_HELLO)
        self.send(hello)
        self.expect_match(c, hello, MatchState.MATCHED, SSL, ORIG)
        self.expect_nothing()


@skip_unless_root
class SmtpPairTest(PrefilterTest):
    """The 220 greeting alone names nothing (FTP greets alike); EHLO completes the pair."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = self.conn(43004, 2525)
        greeting, ehlo = c.r("PA", 0, b"220 mx ESMTP\r\n"), c.o("PA", 0, b"ehlo client\r\n")
        self.send(greeting)
        self.expect_no_match(greeting)
        self.send(ehlo)
        self.expect_match(c, ehlo, MatchState.MATCHED, SMTP, ORIG)
        self.expect_nothing()


@skip_unless_root
class DnsDatagramTest(PrefilterTest):
    """A DNS query to port 53 is matched on its own; the same bytes to 54 are not."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        query = bytes.fromhex("abcd01000001000000000000") + b"\x03www\x00\x00\x01\x00\x01"
        base = Ether(src=MAC_A, dst=MAC_B) / IP(src=A, dst="192.0.2.53")
        to53 = bytes(base / UDP(sport=5353, dport=53) / query)
        self.send(to53)
        (m,) = self.expect_records(to53)
        assert isinstance(m, ProtocolMatch)
        self.assertEqual((m.match_state, m.protocol_id, m.flow_id), (MatchState.DATAGRAM, DNS, 0))
        to54 = bytes(base / UDP(sport=5353, dport=54) / query)
        self.send(to54)
        self.assertEqual(self.expect_records(to54), ())
        self.expect_nothing()


@skip_unless_root
class ReorderedHeadTest(PrefilterTest):
    """The request's second segment first: reassembly holds it until the first one has
    arrived and releases it after it, so the switch names the connection in order."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = self.conn(43005, 8081)
        late, early = c.o("PA", 4, b"/ HTTP/1.1\r\n"), c.o("PA", 0, b"GET ")
        self.send(late)
        self.send(early)
        recs = self.expect_records(early) + self.expect_records(late)
        self.assertEqual([r for r in recs if isinstance(r, StreamMode)], [])
        found = [
            (m.match_state, m.protocol_id, m.direction)
            for m in recs
            if isinstance(m, ProtocolMatch)
        ]
        self.assertEqual(found[0], (MatchState.MATCHED, HTTP, ORIG))
        self.expect_nothing()


@skip_unless_root
class NegativeMatchingTest(PrefilterTest):
    """Both directions' first 8 bytes match nothing: a NO_PROTOCOL summary, then the
    connection's data is no longer forwarded; its FIN still is."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = self.conn(43006, 9999)
        o0, r0 = c.o("PA", 0, b"hello 12"), c.r("PA", 0, b"world 34")
        self.send(o0)
        self.expect_no_match(o0)
        self.send(r0)
        (summary,) = [r for r in self.expect_records(r0) if isinstance(r, NoProtocol)]
        self.assertEqual((summary.orig_bytes, summary.resp_bytes, summary.packets), (8, 8, 3))
        for f in (c.o("PA", 8, b"more bytes"), c.r("A", 8), c.r("PA", 8, b"reply")):
            self.send(f)
        fin = c.o("FA", 18)
        self.send(fin)
        self.expect_records(fin)
        self.expect_nothing()


@skip_unless_root
class ExceptionKeepsFlowTest(PrefilterTest):
    """The same unmatched bytes to responder port 7777 (an exception): forwarded."""

    @autocleanup
    def runTest(self) -> None:
        self.enable()
        c = self.conn(43007, 7777)
        frames = [c.o("PA", 0, b"hello 12"), c.r("PA", 0, b"world 34"), c.o("PA", 8, b"more")]
        for f in frames:
            self.send(f)
            recs = self.expect_no_match(f)
            self.assertEqual([r for r in recs if isinstance(r, NoProtocol)], [])
        self.expect_nothing()


_ = testutils  # (the base classes send and poll through it)

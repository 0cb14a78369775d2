"""Parts of the scenarios that need no root: flood frames, shaping options, the label
checker, the flow table."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from scenarios.expect import check
from scenarios.flood import build_frames, parser
from scenarios.flows import Packet, connections, parse
from scenarios.shaping import Shaping, parse_shaping

FLOOD = [
    "--iface",
    "x",
    "--dst-mac",
    "02:77:00:00:01:02",
    "--dst",
    "10.77.1.2",
    "--sources",
    "10.77.128.0/17",
    "--count",
    "50",
    "--seed",
    "3",
]


@pytest.mark.parametrize("kind", ["syn", "udp-amp"])
def test_flood_frames_are_a_function_of_the_seed(kind: str) -> None:
    a = build_frames(parser().parse_args([kind, *FLOOD]), "02:77:00:00:01:01")
    b = build_frames(parser().parse_args([kind, *FLOOD]), "02:77:00:00:01:01")
    c = build_frames(parser().parse_args([kind, *FLOOD[:-1], "4"]), "02:77:00:00:01:01")
    assert a == b and a != c and len(a) == 50
    sources = set()
    for f in a:
        pkt = Ether(f)
        ip = pkt[IP]
        assert ip.dst == "10.77.1.2" and ip.src.startswith("10.77.")
        sources.add(ip.src)
        # checksums as the stack would compute them
        assert ip.chksum == IP(bytes(IP(bytes(ip)))).chksum
        seg = pkt[TCP] if kind == "syn" else pkt[UDP]
        raw = bytes(pkt)
        rebuilt = Ether(raw)
        del rebuilt[IP].chksum
        del rebuilt[TCP if kind == "syn" else UDP].chksum
        assert Ether(bytes(rebuilt))[TCP if kind == "syn" else UDP].chksum == seg.chksum
        if kind == "syn":
            assert seg.flags == "S" and seg.dport == 80
        else:
            assert seg.sport == 53 and len(seg.payload) == 1200
    assert len(sources) > 40  # many spoofed sources


def test_parse_shaping() -> None:
    s = parse_shaping("delay=40ms,jitter=0.01,loss=1%,reorder=0.5%,rate=2mbit,queue=50")
    assert s == Shaping(
        delay_ms=40, jitter_ms=10, loss=0.01, reorder=0.005, rate_kbit=2000, queue=50
    )
    assert s.active and not parse_shaping("").active
    with pytest.raises(ValueError, match="unknown shaping property 'delya'"):
        parse_shaping("delya=4ms")
    with pytest.raises(ValueError, match="2mbit or 500kbit"):
        parse_shaping("rate=2mb")


def _p(t: int, src: str, sp: int, dst: str, dp: int, flags: int = 0x10, seq: int = 1) -> Packet:
    return Packet(t, 6, src, sp, dst, dp, flags, seq, 60)


def test_flow_table_splits_on_a_new_isn_and_keeps_retransmissions() -> None:
    a, b = "10.0.0.1", "10.0.0.2"
    pkts = [
        _p(0, a, 1000, b, 80, 0x02, 5),
        _p(1, a, 1000, b, 80, 0x02, 5),  # retransmission: same connection
        _p(2, b, 80, a, 1000, 0x14, 0),  # RST-ACK: answered
        _p(3, a, 1000, b, 80, 0x02, 99),  # new ISN: a new connection
    ]
    c1, c2 = connections(pkts)
    assert (c1.orig_pkts, c1.resp_pkts, c1.syns, c1.answered) == (2, 1, 2, True)
    assert (c2.orig_pkts, c2.resp_pkts, c2.answered) == (1, 0, False)


def test_parse_skips_what_is_not_a_connection() -> None:
    igmp = bytes(Ether() / IP(src="0.0.0.0", dst="224.0.0.22", proto=2) / (b"\x22" * 8))
    assert parse(igmp, 0) is None
    udp = parse(bytes(Ether() / IP(src="1.2.3.4", dst="5.6.7.8") / UDP(sport=5, dport=53)), 7)
    assert udp is not None and (udp.src, udp.sport, udp.dst, udp.dport) == (
        "1.2.3.4",
        5,
        "5.6.7.8",
        53,
    )


def test_check_reports_missing_and_unexpected_connections() -> None:
    def conn(sub: str, proto: str, port: int, host: str = "h") -> dict[str, object]:
        return {
            "subscenario": sub,
            "proto": proto,
            "resp_p": port,
            "resp_h": host,
            "orig_h": "o",
            "orig_p": 1,
        }

    doc = {
        "scenario": "s",
        "subscenarios": [
            {"name": "a", "expect": {"tcp/21": 1, "tcp/*": 2}},
            {"name": "b", "expect": {"targets/tcp": 2, "icmp/*": -1}},
        ],
        "connections": [
            conn("a", "tcp", 21),
            conn("a", "tcp", 40001),
            conn("a", "udp", 53),
            conn("b", "tcp", 1, "x"),
            conn("b", "tcp", 1, "x"),
            conn("b", "icmp", 3),
        ],
    }
    assert check(doc) == [
        "s/a: unexpected connection udp/53 o:1 -> h",
        "s/a: tcp/*: 1 connections, expected 2",
        "s/b: targets/tcp: 1 connections, expected 2",
    ]

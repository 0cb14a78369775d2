"""Replay Zeek's test captures through p4src/main.p4 and compare connection histories.

Used by `test_zeek_history.py` and `bench/zeek_history_agreement.py`.

Replay (pcap mode, in-process):

1. `p4src/main.p4` is compiled once with `softswitch compile`'s code path and loaded
   into an in-process `softswitch.device.Switch` (fresh state per replay).
2. `RULES_YAML` goes through the real controller compile path (`controlplane.rules.
   read_rules` -> `slots.assign` -> `compile.compile_rules`); the resulting P4Runtime
   `TableEntry` messages are inserted with the P4Runtime server's own conversions
   (`softswitch.server.convert`), without gRPC: `monitor_ports` 0 -> 1 and one
   bidirectional TCP rule grouping by the whole 5-tuple, with the longest interval the
   switch can time (2^32-1 us, 71.6 min).
3. The trace's frames go to a temporary pcap (other link types get a synthetic
   Ethernet header, `to_ethernet`), then one *flush* packet per TCP 5-tuple seen: a TCP
   segment with no flags and no payload at `latest timestamp + interval`. It adds no
   history letter, and since the interval has passed the switch attaches the group's
   COUNTER_REPORT, whose history is the connection's whole history (intervals keep
   it). `Switch.run_pcap` runs the file: the switch clock is the pcap time in us (taken
   mod 2^48 by the 48-bit timestamp fields; only differences matter).
4. The monitor port's feedback headers are decoded with `feedback_header.codec`; the
   last COUNTER_REPORT of a group gives its history.

Comparison with Zeek's conn.log (`zeek_view`, `oriented`):

- Letters the stage does not implement are dropped from Zeek's history: C (bad
  checksum), T (retransmission), W (zero window), G (content gap), I (FIN+RST), Q
  (multi-flag), X (analysis limit), ^ (flipped) and anything else not in SHADFR/shadfr.
- Zeek records S/H/F/R again when the sequence number changes and C/G/T/W at 1, 10,
  100... occurrences; the switch records each letter once, at its first occurrence.
  Zeek's history is reduced to the first occurrence of each letter.
- The switch's originator is the sender of the group's first TCP segment; Zeek's is
  the same unless it flipped the roles ('^', e.g. the first packet was a SYN+ACK). The
  switch's history is put in Zeek's orientation by comparing the conn.log row's
  `id.orig_h:id.orig_p` with that first sender (case swapped when they differ); for
  baselines without endpoints (zeek-cut output), by the '^' letter.
- Rows inside tunnels (`tunnel_parents` set) are not compared: main.p4 sees the outer
  packets only. IPv6 rows are compared as IPv4 ones: the replay parses IPv6 and its
  extension headers as main.p4's parser does (`segment`), the rule's group key holds
  IPv6 addresses, and the switch reports them in COUNTER_REPORT6 records. An IPv6
  address is written here as its 128-bit value plus `V6` (1 << 128), so that an
  endpoint of either family is one int and IPv4 and IPv6 endpoints never compare
  equal.

A connection whose letters differ is explained (`explain`) by the first of these that
holds, each checked mechanically, never assumed:

- `not-parsed`: no frame of the trace is Ethernet[/802.1Q/802.1ad]/IPv4/TCP for this
  5-tuple (MPLS, PBB, PPPoE, VN-tag, ...): main.p4's parser never sees it.
- `zeek-split`: Zeek logged the 5-tuple as several connections (after a close, or an
  inactivity timeout); the switch's one group must equal their histories merged in
  log order, each in the switch's orientation.
- `bad-checksum`: the 5-tuple has TCP segments with a wrong checksum, which Zeek
  discards (letter C) and the switch forwards (it does not verify checksums); the
  switch must agree exactly when the trace is replayed without them.
- `zeek-stopped-early`: the baseline counts fewer packets (orig_pkts + resp_pkts) than
  the trace has for the 5-tuple (the Zeek test ended its run early); the switch must
  agree exactly when only that many segments of the connection are replayed.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import struct
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from p4.config.v1.p4info_pb2 import P4Info

from controlplane.compile import compile_rules
from controlplane.p4info import P4Schema
from controlplane.rules import read_rules
from controlplane.slots import assign
from feedback_header.codec import decode, find_header, history_letters
from feedback_header.records import (
    Collision,
    Collision6,
    CounterReport,
    CounterReport6,
    ReportReason,
)
from pktio.pcap import LINKTYPE_ETHERNET, PcapWriter, open_capture
from softswitch.device import Switch
from softswitch.server import convert

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
TRACES = SHARED / "traces" / "zeek"
BASELINES = SHARED / "traces" / "zeek-conn-baselines"
PROGRAM = ROOT / "p4src" / "main.p4"

INGRESS_PORT = 0
MONITOR_PORT = 1
RULE_ID = 1
INTERVAL_US = 0xFFFF_FFFF  # the longest interval count_group's bit<32> interval_us holds
IMPLEMENTED = frozenset("SHADFRshadfr")

RULES_YAML = f"""\
monitor:
  port: {MONITOR_PORT}
  ingress_ports: [{INGRESS_PORT}]
stats:
  - name: tcp-connections
    description: one group per TCP connection, both directions, with history letters
    id: {RULE_ID}
    match: {{protocol: tcp}}
    group_by: [src_addr, dst_addr, protocol, src_port, dst_port]
    bidirectional: true
    interval: {INTERVAL_US}us
"""

Endpoint = tuple[int, int]  # (address, port); an IPv6 address is tagged with V6
V6 = 1 << 128
ConnKey = tuple[Endpoint, Endpoint]  # lower endpoint first, as stats.p4 orders the key


def canonical(a: Endpoint, b: Endpoint) -> ConnKey:
    """The switch's bidirectional group order: lower (address, port) first."""
    return (a, b) if a <= b else (b, a)


def ip4(text: str) -> int:
    """Dotted quad -> int; an IPv6 address -> its value tagged with V6."""
    if ":" in text:
        return V6 | int(ipaddress.IPv6Address(text))
    return int.from_bytes(bytes(int(p) for p in text.split(".")), "big")


def ip4_text(v: int) -> str:
    """int -> dotted quad, or an IPv6 address (tagged with V6) as Zeek writes it."""
    if v & V6:
        return str(ipaddress.IPv6Address(v & ~V6))
    return ".".join(str(b) for b in v.to_bytes(4, "big"))


def format_key(key: ConnKey | None) -> str:
    """`a:p<->b:q`, or `-`."""
    if key is None:
        return "-"
    (a, ap), (b, bp) = key
    return f"{ip4_text(a)}:{ap}<->{ip4_text(b)}:{bp}"


# --------------------------------------------------------------------------- Zeek conn.log

_FIELD_ALIASES = {  # renamed by Log::default_field_name_map in some Zeek tests
    "src": "id.orig_h",
    "src_ip": "id.orig_h",
    "src_port": "id.orig_p",
    "dst": "id.resp_h",
    "dst_ip": "id.resp_h",
    "dst_port": "id.resp_p",
}


@dataclass(frozen=True)
class ZeekConn:
    """One conn.log row; fields a baseline does not log are None."""

    uid: str
    history: str
    proto: str | None = None
    orig: Endpoint | None = None
    resp: Endpoint | None = None
    packets: int | None = None  # orig_pkts + resp_pkts
    tunnel: bool = False
    ipv6: bool = False

    @property
    def key(self) -> ConnKey | None:
        """The switch's group key of this connection."""
        if self.orig is None or self.resp is None:
            return None
        return canonical(self.orig, self.resp)


def _unescape(text: str) -> str:
    """Zeek's header escapes (`\\x09`) -> the characters."""
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)


def _json_value(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return str(v)


def _conn(d: dict[str, str | None], uid: str) -> ZeekConn:
    """A row from its (alias-resolved) fields; None = unset, "" = empty."""
    d = {_FIELD_ALIASES.get(k, k): v for k, v in d.items()}

    def get(name: str) -> str | None:
        v = d.get(name)
        return None if v is None or v == "-" else v

    orig_h, resp_h = get("id.orig_h") or "", get("id.resp_h") or ""
    ipv6 = ":" in orig_h or ":" in resp_h
    orig = resp = None
    ports = get("id.orig_p"), get("id.resp_p")
    if orig_h and resp_h and ports[0] is not None and ports[1] is not None:
        orig = (ip4(orig_h), int(ports[0]))
        resp = (ip4(resp_h), int(ports[1]))
    packets = None
    op, rp = get("orig_pkts"), get("resp_pkts")
    if op is not None and rp is not None:
        packets = int(op) + int(rp)
    tunnel = get("tunnel_parents")
    return ZeekConn(
        uid=get("uid") or uid,
        history=get("history") or "",
        proto=get("proto"),
        orig=orig,
        resp=resp,
        packets=packets,
        tunnel=bool(tunnel) and tunnel != "(empty)",
        ipv6=ipv6,
    )


def parse_conn_log(path: Path) -> list[ZeekConn]:
    """Rows of a Zeek conn.log: Zeek's ASCII log with any columns in any order (the
    `#fields` line; `#separator`, `#set_separator`, `#empty_field` and `#unset_field`
    honoured), Zeek's JSON log (one object per line), or btest's zeek-cut output (a
    plain header line such as `uid service history`). A row without a `uid` is named
    `<file>:<line>`."""
    sep, empty, unset = "\t", "(empty)", "-"
    fields: list[str] | None = None
    rows: list[ZeekConn] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        here = f"{path.name}:{n}"
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            obj = json.loads(line)
            rows.append(_conn({k: _json_value(v) for k, v in obj.items()}, here))
            continue
        if line.startswith("#separator "):
            sep = _unescape(line[len("#separator ") :])
            continue
        if line.startswith("#"):
            name, _, rest = line.partition(sep)
            if name == "#fields":
                fields = rest.split(sep)
            elif name == "#empty_field":
                empty = rest
            elif name == "#unset_field":
                unset = rest
            continue
        cols = line.split(sep)
        if fields is None:
            fields = cols
            continue
        d: dict[str, str | None] = {}
        for k, v in zip(fields, cols, strict=False):
            d[k] = None if v == unset else "" if v == empty else v
        rows.append(_conn(d, here))
    return rows


def zeek_view(history: str) -> str:
    """Zeek's history reduced to what the stage records: the implemented letters, first
    occurrence of each ('^' and every other letter dropped)."""
    out: list[str] = []
    for ch in history:
        if ch in IMPLEMENTED and ch not in out:
            out.append(ch)
    return "".join(out)


# --------------------------------------------------------------------------- frames

_ETH_SRC = bytes.fromhex("020000000001")
_ETH_DST = bytes.fromhex("020000000002")
_ETHERTYPE_IPV4 = 0x0800
_ETHERTYPE_IPV6 = 0x86DD
_AF_INET6 = (10, 24, 28, 30)
_SLL_IP = (b"\x08\x00", b"\x86\xdd")  # Linux cooked protocol: IPv4, IPv6
# IPv6 extension headers main.p4's parser walks, and its bounds (p4src/include/size.p4).
_IPV6_EXT = (0, 43, 44, 60)
_IPV6_MAX_EXT_HEADERS = 4
_IPV6_EXT_MAX_LEN = 7
_VLAN_TPIDS = (b"\x81\x00", b"\x88\xa8")  # the tags main.p4's parser walks
_LINKTYPE_NULL = 0  # BSD loopback: 4-byte address family, host order
_LINKTYPE_LOOP = 108  # OpenBSD loopback: address family, network order
_LINKTYPE_RAW = (12, 101, 228)  # raw IP (228: LINKTYPE_IPV4)
_LINKTYPE_SLL = 113  # Linux cooked v1: protocol at bytes 14-15
_LINKTYPE_SLL2 = 276  # Linux cooked v2: protocol at bytes 0-1
_AF_INET = 2


def to_ethernet(data: bytes, linktype: int) -> bytes | None:
    """`data` as an Ethernet frame, or None when it is not IP on a known link type.

    main.p4 parses Ethernet only, so captures of other link types (loopback, raw IP,
    Linux cooked) get a synthetic Ethernet header in front of their IPv4/IPv6 packet.
    """
    if linktype == LINKTYPE_ETHERNET:
        return data
    payload: bytes | None = None
    v6 = False
    if linktype in (_LINKTYPE_NULL, _LINKTYPE_LOOP) and len(data) >= 4:
        family = struct.unpack_from(">I" if linktype == _LINKTYPE_LOOP else "=I", data)[0]
        if family == _AF_INET or family in _AF_INET6:
            payload, v6 = data[4:], family in _AF_INET6
    elif linktype in _LINKTYPE_RAW and data[:1] and data[0] >> 4 in (4, 6):
        payload, v6 = data, data[0] >> 4 == 6
    elif linktype == _LINKTYPE_SLL and data[14:16] in _SLL_IP:
        payload, v6 = data[16:], data[14:16] == b"\x86\xdd"
    elif linktype == _LINKTYPE_SLL2 and data[0:2] in _SLL_IP and len(data) >= 20:
        payload, v6 = data[20:], data[0:2] == b"\x86\xdd"
    if payload is None:
        return None
    ethertype = _ETHERTYPE_IPV6 if v6 else _ETHERTYPE_IPV4
    return _ETH_DST + _ETH_SRC + ethertype.to_bytes(2, "big") + payload


def ethertype(frame: bytes) -> int | None:
    """The EtherType after any 802.1Q/802.1ad tags."""
    off = 12
    while frame[off : off + 2] in _VLAN_TPIDS:
        off += 4
    return int.from_bytes(frame[off : off + 2], "big") if len(frame) >= off + 2 else None


@dataclass(frozen=True)
class Segment:
    """An IPv4 or IPv6 TCP segment (first fragment) as main.p4's parser sees it."""

    src: Endpoint
    dst: Endpoint
    flags: int
    checksum_ok: bool | None  # None: not all of the segment was captured

    @property
    def key(self) -> ConnKey:
        """Its group key."""
        return canonical(self.src, self.dst)


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f">{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def _segment6(frame: bytes, ip: int) -> Segment | None:
    """IPv6 / extension headers / TCP, walked as main.p4's parser walks them."""
    if len(frame) < ip + 40:
        return None
    payload_len, nxt = struct.unpack_from(">HB", frame, ip + 4)
    off, headers = ip + 40, 0
    while nxt in _IPV6_EXT:
        if headers == _IPV6_MAX_EXT_HEADERS or len(frame) < off + 8:
            return None
        if nxt == 44:
            if struct.unpack_from(">H", frame, off + 2)[0] >> 3:
                return None  # a later fragment: no TCP header of its own
            size = 8
        elif frame[off + 1] > _IPV6_EXT_MAX_LEN:
            return None
        else:
            size = (frame[off + 1] + 1) * 8
        nxt, off, headers = frame[off], off + size, headers + 1
    tcp = off
    if nxt != 6 or len(frame) < tcp + 20:
        return None
    src = V6 | int.from_bytes(frame[ip + 8 : ip + 24], "big")
    dst = V6 | int.from_bytes(frame[ip + 24 : ip + 40], "big")
    sport, dport = struct.unpack_from(">HH", frame, tcp)
    ok: bool | None = None
    end = ip + 40 + payload_len
    if end >= tcp + 20 and len(frame) >= end:
        pseudo = frame[ip + 8 : ip + 40] + struct.pack(">IxxxB", end - tcp, 6)
        ok = _csum(pseudo + frame[tcp:end]) == 0xFFFF
    return Segment((src, sport), (dst, dport), frame[tcp + 13], ok)


def segment(frame: bytes) -> Segment | None:
    """Parse Ethernet (+ 802.1Q/802.1ad tags) / IPv4 or IPv6 / TCP the way main.p4's
    parser does."""
    off = 12
    while frame[off : off + 2] in _VLAN_TPIDS:
        off += 4
    ip = off + 2
    if frame[off:ip] == b"\x86\xdd":
        return _segment6(frame, ip)
    if len(frame) < ip + 20 or frame[off:ip] != b"\x08\x00":
        return None
    ihl = (frame[ip] & 0x0F) * 4
    total_len = struct.unpack_from(">H", frame, ip + 2)[0]
    if frame[ip + 9] != 6 or struct.unpack_from(">H", frame, ip + 6)[0] & 0x1FFF:
        return None
    tcp = ip + ihl
    if len(frame) < tcp + 20:
        return None
    src, dst = struct.unpack_from(">II", frame, ip + 12)
    sport, dport = struct.unpack_from(">HH", frame, tcp)
    ok: bool | None = None
    end = ip + total_len
    if total_len >= ihl + 20 and len(frame) >= end:
        pseudo = frame[ip + 12 : ip + 20] + struct.pack(">BBH", 0, 6, end - tcp)
        ok = _csum(pseudo + frame[tcp:end]) == 0xFFFF
    return Segment((src, sport), (dst, dport), frame[tcp + 13], ok)


def flush_frame(key: ConnKey) -> bytes:
    """A TCP segment of `key`'s group with no flags and no payload (no history letter)."""
    (a, ap), (b, bp) = key
    tcp = struct.pack(">HHIIBBHHH", ap, bp, 0, 0, 5 << 4, 0, 0, 0, 0)
    if a & V6:
        ip6 = struct.pack(">IHBB", 6 << 28, len(tcp), 6, 64)
        ip6 += (a & ~V6).to_bytes(16, "big") + (b & ~V6).to_bytes(16, "big")
        return _ETH_DST + _ETH_SRC + _ETHERTYPE_IPV6.to_bytes(2, "big") + ip6 + tcp
    ip = struct.pack(">BBHHHBBHII", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, a, b)
    return _ETH_DST + _ETH_SRC + _ETHERTYPE_IPV4.to_bytes(2, "big") + ip + tcp


@dataclass(frozen=True)
class Frame:
    """One trace record, converted to Ethernet (None: not IP on a non-Ethernet link)."""

    ts_ns: int
    data: bytes | None
    seg: Segment | None


def read_trace(path: Path) -> list[Frame]:
    """Every record of a pcap/pcapng(.gz) trace."""
    out: list[Frame] = []
    with open_capture(path) as r:
        for rec in r:
            data = to_ethernet(rec.data, rec.linktype)
            out.append(Frame(rec.ts_ns, data, segment(data) if data is not None else None))
    return out


# --------------------------------------------------------------------------- the switch


@functools.cache
def compiled_program() -> tuple[P4Info, bytes]:
    """P4Info and device config of p4src/main.p4 (compiled once per process)."""
    from softswitch.cli import compile_program

    return compile_program(PROGRAM)


def new_switch() -> Switch:
    """A switch running main.p4 with RULES_YAML installed."""
    p4info, config = compiled_program()
    sw = Switch(device_id=1)
    sw.load_device_config(p4info, config)
    rules, problems = read_rules(RULES_YAML, "zeek-replay.yaml")
    if problems:
        raise AssertionError("rules: " + "; ".join(str(p) for p in problems))
    state = sw.state
    assert state is not None
    for d in compile_rules(rules, assign(rules.stats), P4Schema(p4info)):
        table = state.tables_by_id[d.entry.table_id]
        table.insert(
            convert.matches_from_proto(table, d.entry.match),
            d.entry.priority,
            convert.table_action_from_proto(state, d.entry.action),
        )
    return sw


@dataclass
class Replay:
    """What the switch reported for one trace."""

    histories: dict[ConnKey, str]  # reported history letters per group
    first_sender: dict[ConnKey, Endpoint]  # sender of the group's first TCP segment
    segments: Counter[ConnKey]  # TCP segments per group in the replayed input
    frames_in: int = 0
    frames_skipped: int = 0  # not IP on a non-Ethernet link type
    reports: int = 0
    evictions: int = 0
    collisions: list[Collision | Collision6] = field(default_factory=list)


Keep = Callable[[Frame, int], bool]  # (frame, index of the segment in its connection)


def replay(frames: list[Frame], keep: Keep | None = None) -> Replay:
    """Run `frames` (those `keep` accepts) through main.p4 and collect each group's history."""
    sw = new_switch()
    rep = Replay({}, {}, Counter())
    last_ns = 0
    seen: Counter[ConnKey] = Counter()
    with tempfile.TemporaryDirectory(prefix="zeek-replay-") as tmp:
        src = Path(tmp) / "in.pcap"
        with PcapWriter(src, nanosecond=True) as w:
            for f in frames:
                if f.data is None:
                    rep.frames_skipped += 1
                    continue
                if f.seg is not None:
                    nth = seen[f.seg.key]
                    seen[f.seg.key] += 1
                    if keep is not None and not keep(f, nth):
                        continue
                    rep.segments[f.seg.key] += 1
                    rep.first_sender.setdefault(f.seg.key, f.seg.src)
                # Captures are not always in time order: the flush goes after the latest.
                last_ns = max(last_ns, f.ts_ns)
                w.write(f.data, f.ts_ns)
                rep.frames_in += 1
            for key in sorted(rep.first_sender):
                w.write(flush_frame(key), last_ns + INTERVAL_US * 1000)
        out_dir = Path(tmp) / "out"
        try:
            sw.run_pcap({INGRESS_PORT: src}, out_dir)
        finally:
            sw.close()
        monitor = out_dir / f"port{MONITOR_PORT}.pcap"
        if not monitor.exists():  # nothing reached the monitor port
            return rep
        with open_capture(monitor) as r:
            for rec in r:
                if find_header(rec.data) is None:
                    continue
                for record in decode(rec.data).records:
                    if isinstance(record, (Collision, Collision6)):
                        rep.collisions.append(record)
                    elif (
                        isinstance(record, (CounterReport, CounterReport6))
                        and record.rule_id == RULE_ID
                    ):
                        rep.reports += 1
                        if record.report_reason == ReportReason.EVICTED:
                            rep.evictions += 1
                        if isinstance(record, CounterReport6):
                            src, dst = V6 | record.key_ipv6_src, V6 | record.key_ipv6_dst
                        else:
                            src, dst = record.key_ipv4_src, record.key_ipv4_dst
                        key = canonical(
                            (src, record.key_l4_src_port), (dst, record.key_l4_dst_port)
                        )
                        # A later report of a group supersedes an earlier one: history
                        # is connection state and survives intervals.
                        rep.histories[key] = history_letters(record.history)
    return rep


# --------------------------------------------------------------------------- comparison


def oriented(history: str, rows: list[ZeekConn], first: Endpoint | None) -> str:
    """The switch's `history` in the orientation of Zeek's first row for its 5-tuple."""
    row = rows[0]
    if row.orig is not None and first is not None:
        flipped = row.orig != first
    else:
        flipped = "^" in row.history
    return history.swapcase() if flipped else history


def merged_zeek(rows: list[ZeekConn], first: Endpoint | None) -> str:
    """Zeek's rows of one 5-tuple as one history in the orientation of the first row."""
    if first is None or rows[0].orig is None:
        return zeek_view("".join(r.history for r in rows))
    parts = [r.history if r.orig == rows[0].orig else r.history.swapcase() for r in rows]
    return zeek_view("".join(parts))


@dataclass(frozen=True)
class Comparison:
    """One 5-tuple: Zeek's connection(s) next to the switch's group."""

    trace: str
    uids: tuple[str, ...]
    key: ConnKey | None
    zeek: str  # Zeek's history as logged ("|" between split connections)
    zeek_letters: str  # zeek_view of it (merged for split connections)
    switch: str | None  # the switch's history as reported; None: no report
    switch_letters: str | None  # in Zeek's orientation
    reason: str = ""  # "" if the letters agree, else the explanation's code
    detail: str = ""  # what the explanation found

    @property
    def letters_equal(self) -> bool:
        """The switch's letters equal Zeek's (one row) reduced to the implemented ones."""
        return self.switch_letters == self.zeek_letters

    @property
    def exact(self) -> bool:
        """One Zeek connection, one group, the same letters: nothing to explain."""
        return self.letters_equal and not self.reason

    @property
    def normalised(self) -> bool:
        """Zeek's history needed reducing (repeated, flipped or unimplemented letters)."""
        return self.zeek != self.zeek_letters

    def describe(self) -> str:
        """One line for tables and assertion messages."""
        s = (
            f"{self.trace} {'+'.join(self.uids)} {format_key(self.key)}: zeek {self.zeek!r}"
            f" -> {self.zeek_letters!r}, switch {self.switch!r} -> {self.switch_letters!r}"
        )
        return f"{s} [{self.reason}: {self.detail}]" if self.reason else s


def baseline_of(rel: str) -> Path:
    """The conn.log baseline of trace `rel` (a path under ../shared/traces/zeek)."""
    return BASELINES / f"{rel}.conn.log"


def _rows_by_key(rows: list[ZeekConn], rep: Replay) -> dict[ConnKey, list[ZeekConn]]:
    out: dict[ConnKey, list[ZeekConn]] = defaultdict(list)
    usable = [r for r in rows if r.proto in (None, "tcp") and not r.tunnel]
    for r in usable:
        key = r.key
        # zeek-cut baselines have no endpoints: match only one connection to one group.
        if key is None and len(usable) == 1 and len(rep.histories) == 1:
            key = next(iter(rep.histories))
        if key is not None:
            out[key].append(r)
    return dict(out)


@dataclass(frozen=True)
class TraceResult:
    """Every compared 5-tuple of one trace, and what the replay saw."""

    trace: str
    comparisons: list[Comparison]
    replay: Replay


def compare(rel: str) -> TraceResult:
    """Every IPv4 and IPv6, untunnelled TCP 5-tuple of Zeek's baseline for trace `rel` next to the
    switch's report, with an explanation for each that does not agree."""
    frames = read_trace(TRACES / rel)
    rep = replay(frames)
    out: list[Comparison] = []
    for key, rows in _rows_by_key(parse_conn_log(baseline_of(rel)), rep).items():
        first = rep.first_sender.get(key)
        hist = rep.histories.get(key)
        c = Comparison(
            trace=rel,
            uids=tuple(r.uid for r in rows),
            key=key,
            zeek="|".join(r.history for r in rows),
            zeek_letters=zeek_view(rows[0].history),
            switch=hist,
            switch_letters=None if hist is None else oriented(hist, rows, first),
        )
        if not c.letters_equal or len(rows) > 1:
            c = explain(c, rows, frames, rep)
        out.append(c)
    return TraceResult(rel, out, rep)


def _with(c: Comparison, reason: str, detail: str, **changes: object) -> Comparison:
    d = {**c.__dict__, **changes, "reason": reason, "detail": detail}
    return Comparison(**d)  # type: ignore[arg-type]


def _agrees_on(c: Comparison, rows: list[ZeekConn], frames: list[Frame], keep: Keep) -> bool:
    assert c.key is not None
    rep = replay([f for f in frames if f.seg is None or f.seg.key == c.key], keep)
    hist = rep.histories.get(c.key)
    if hist is None:  # no segment of it left: Zeek's letters must be none too
        return c.zeek_letters == ""
    return oriented(hist, rows, rep.first_sender.get(c.key)) == c.zeek_letters


def explain(c: Comparison, rows: list[ZeekConn], frames: list[Frame], rep: Replay) -> Comparison:
    """Find which documented Zeek behaviour explains the difference (module docstring);
    reason "unexplained" if none does."""
    key = c.key
    assert key is not None
    if c.switch is None and key not in rep.first_sender:
        others = sorted(
            {
                et
                for f in frames
                if f.data is not None
                and f.seg is None
                and (et := ethertype(f.data)) not in (None, _ETHERTYPE_IPV4)
            }
        )
        return _with(
            c,
            "not-parsed",
            "no Ethernet/IPv4/TCP frame of it; other EtherTypes in the trace: "
            + ", ".join(f"{et:#06x}" for et in others),
        )
    if len(rows) > 1:
        merged = merged_zeek(rows, rep.first_sender.get(key))
        if merged == c.switch_letters:
            return _with(
                c,
                "zeek-split",
                f"Zeek logged {len(rows)} connections; merged in log order they read "
                f"{merged!r}, as the switch's one group",
            )
    bad = [
        f for f in frames if f.seg is not None and f.seg.key == key and f.seg.checksum_ok is False
    ]
    if bad and _agrees_on(
        c, rows, frames, lambda f, _: f.seg is None or f.seg.checksum_ok is not False
    ):
        senders = {f.seg.src for f in bad if f.seg is not None}
        who = ", ".join(f"{ip4_text(a)}:{p}" for a, p in sorted(senders))
        return _with(
            c,
            "bad-checksum",
            f"{len(bad)} segment(s) from {who} with a bad TCP checksum; without them the "
            "switch agrees",
        )
    zeek_pkts = sum(r.packets for r in rows if r.packets is not None)
    trace_pkts = rep.segments[key]
    if rows[0].packets is not None and zeek_pkts < trace_pkts:
        n = zeek_pkts
        if _agrees_on(c, rows, frames, lambda f, nth: nth < n):
            return _with(
                c,
                "zeek-stopped-early",
                f"Zeek counted {zeek_pkts} of the trace's {trace_pkts} packets; the switch "
                f"agrees on the first {n}",
            )
    return _with(c, "unexplained", "no documented Zeek behaviour accounts for it")

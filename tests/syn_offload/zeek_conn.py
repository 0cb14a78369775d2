"""A small re-implementation of Zeek's TCP `history` and `conn_state` for a
packet sequence, enough to compare what a monitor behind the switch would log
with what Zeek logs for the original capture.

It follows Zeek's source (src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc:
`update_history`, `UpdateStateMachine`; TCP.cc: `WantConnection`) and
`conn_state()` in scripts/base/protocols/conn/main.zeek, restricted to what the
traces used by test_syn_traces.py need. It is not Zeek.

Connections
    One connection per unordered TCP 4-tuple (no connection reuse after a
    close). The originator is the sender of the first packet, except that the
    roles are flipped (history gets `^` first) when
    - the first packet is a SYN-ACK (Zeek logs such connections with `^h`);
    - the first packet has no SYN, its source port is a likely server port
      (`LIKELY_SERVER_PORTS`) and its destination port is not, or both are and
      source port < destination port (Zeek's `WantConnection` heuristic);
    - SYN/SYN-ACK reversal: the originator's first packet was a SYN-ACK and the
      responder then sends a plain SYN with the same start sequence number.

History letters (upper case: originator, lower case: responder)
    Per packet, by the number of SYN/FIN/RST bits set:
    - one bit: SYN -> `S` (`H` if ACK is also set), FIN -> `F`, RST -> `R`.
      The letter is added on its first occurrence per direction, and again
      whenever a later packet of that kind carries a different sequence number
      (for FIN: sequence number + payload length) than the previous one.
    - none: payload -> `D`, else ACK -> `A`, once per direction.
    - more than one: `I` (FIN+RST) / `Q`, once per direction.
    Letters Zeek derives from reassembly, checksums or windows (`C G T W ...`)
    are not produced; `history_letters()` drops them from a baseline before
    comparison.

Endpoint states (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED,
CLOSED, RESET), per Zeek's state machine:
    - INACTIVE: SYN from the originator -> SYN_SENT (SYN_ACK_SENT with ACK);
      SYN from the responder -> ESTABLISHED, and an originator in SYN_SENT
      becomes ESTABLISHED; FIN -> CLOSED; RST -> RESET. Without such flags:
      the responder's pure ACK while the originator is in SYN_SENT changes
      nothing; an ACK while the peer is ESTABLISHED -> ESTABLISHED; else PARTIAL.
    - SYN_SENT / SYN_ACK_SENT: FIN -> CLOSED, RST -> RESET.
    - ESTABLISHED / PARTIAL: FIN (without RST) -> CLOSED (and a peer that went
      CLOSED -> RESET returns to CLOSED); RST -> RESET; a plain SYN from a
      PARTIAL endpoint whose peer is INACTIVE -> SYN_SENT.
    - CLOSED: RST while the peer is not CLOSED -> RESET.  RESET: final.

conn_state (o/r: originator/responder state; "inactive" = INACTIVE or PARTIAL)
    - r RESET: REJ if o is SYN_SENT/SYN_ACK_SENT, or o is RESET and neither side
      sent payload; else RSTRH if o inactive; else RSTR.
    - o RESET: if r inactive: RSTOS0 if history matches ^?S[^HAFGIQ]*R, else
      OTH; otherwise RSTO.
    - both CLOSED: SF.  o CLOSED: SH if r inactive else S2.  r CLOSED: SHR if o
      inactive else S3.  o SYN_SENT and r INACTIVE: S0.  both ESTABLISHED: S1.
      Anything else: OTH.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10

# A subset of Zeek's likely_server_ports (ports of its loaded analyzers).
LIKELY_SERVER_PORTS = frozenset(
    {21, 22, 23, 25, 53, 80, 110, 143, 443, 587, 993, 995, 6666, 6667, 6668, 6669, 8080}
)

KNOWN_LETTERS = frozenset("^SHADFRIQshadfriq")
_RSTOS0 = re.compile(r"\^?S[^HAFGIQ]*R.*")


class State(Enum):
    INACTIVE = 0
    SYN_SENT = 1
    SYN_ACK_SENT = 2
    PARTIAL = 3
    ESTABLISHED = 4
    CLOSED = 5
    RESET = 6


@dataclass(frozen=True, slots=True)
class Segment:
    """One TCP packet as the classifier needs it."""

    src: str
    sport: int
    dst: str
    dport: int
    flags: int
    seq: int
    length: int  # TCP payload bytes


Endpoint = tuple[str, int]
ConnKey = tuple[str, int, str, int]  # orig host, orig port, resp host, resp port


@dataclass
class _Side:
    is_orig: bool
    state: State = State.INACTIVE
    prev_state: State = State.INACTIVE
    seen: set[str] = field(default_factory=set)
    last: dict[str, int] = field(default_factory=dict)
    start_seq: int | None = None
    size: int = 0

    def set_state(self, s: State) -> None:
        self.prev_state, self.state = self.state, s


@dataclass
class Conn:
    """Zeek's view of one connection, built packet by packet."""

    orig: Endpoint
    resp: Endpoint
    history: str = ""
    o: _Side = field(default_factory=lambda: _Side(True))
    r: _Side = field(default_factory=lambda: _Side(False))

    @property
    def key(self) -> ConnKey:
        return (*self.orig, *self.resp)

    def flip(self) -> None:
        self.orig, self.resp = self.resp, self.orig
        self.o, self.r = self.r, self.o
        self.o.is_orig, self.r.is_orig = True, False
        self.history += "^"

    def _letter(self, side: _Side, kind: str, seq: int | None = None) -> None:
        """Zeek's CheckHistory (+ AddHistory for a repeat with a new sequence)."""
        code = kind if side.is_orig else kind.lower()
        if kind not in side.seen:
            side.seen.add(kind)
            self.history += code
        elif seq is not None and side.last.get(kind) != seq:
            self.history += code
        if seq is not None:
            side.last[kind] = seq

    def packet(self, s: Segment) -> None:
        ep, peer = (self.o, self.r) if (s.src, s.sport) == self.orig else (self.r, self.o)
        syn, fin, rst, ack = (bool(s.flags & b) for b in (SYN, FIN, RST, ACK))
        if ep.start_seq is None:
            ep.start_seq = s.seq
        bits = syn + fin + rst
        if bits > 1:
            self._letter(ep, "I" if fin and rst else "Q")
        elif bits == 1:
            if syn:
                self._letter(ep, "H" if ack else "S", s.seq)
            if fin:
                self._letter(ep, "F", s.seq + s.length)
            if rst:
                self._letter(ep, "R", s.seq)
        elif s.length:
            self._letter(ep, "D")
        elif ack:
            self._letter(ep, "A")
        if s.length and not rst:
            ep.size += s.length
        self._state_machine(ep, peer, s, syn, fin, rst, ack)

    def _state_machine(
        self, ep: _Side, peer: _Side, s: Segment, syn: bool, fin: bool, rst: bool, ack: bool
    ) -> None:
        if ep.state is State.INACTIVE:
            if syn:
                if ep.is_orig:
                    ep.set_state(State.SYN_ACK_SENT if ack else State.SYN_SENT)
                else:
                    if not ack and peer.state is State.SYN_ACK_SENT and s.seq == ep.start_seq:
                        self.flip()  # SYN/SYN-ACK reversal
                        peer.set_state(State.ESTABLISHED)
                    if peer.state is State.SYN_SENT:
                        peer.set_state(State.ESTABLISHED)
                    ep.set_state(State.ESTABLISHED)
            if fin:
                ep.set_state(State.CLOSED)
            if rst:
                ep.set_state(State.RESET)
            if ep.state is State.INACTIVE:
                if not ep.is_orig and s.length == 0 and self.o.state is State.SYN_SENT:
                    pass  # an early ACK of the SYN does not make the connection partial
                elif ack and peer.state is State.ESTABLISHED:
                    ep.set_state(State.ESTABLISHED)
                else:
                    ep.set_state(State.PARTIAL)
        elif ep.state in (State.SYN_SENT, State.SYN_ACK_SENT):
            if fin:
                ep.set_state(State.CLOSED)
            if rst:
                ep.set_state(State.RESET)
        elif ep.state in (State.ESTABLISHED, State.PARTIAL):
            if syn and ep.state is State.PARTIAL and peer.state is State.INACTIVE and not ack:
                ep.set_state(State.SYN_SENT)
            if fin and not rst:
                ep.set_state(State.CLOSED)
                if peer.state is State.RESET and peer.prev_state is State.CLOSED:
                    peer.set_state(State.CLOSED)
            if rst:
                ep.set_state(State.RESET)
        elif ep.state is State.CLOSED and rst and peer.state is not State.CLOSED:
            ep.set_state(State.RESET)

    def conn_state(self) -> str:
        os_, rs = self.o.state, self.r.state
        o_inactive = os_ in (State.INACTIVE, State.PARTIAL)
        r_inactive = rs in (State.INACTIVE, State.PARTIAL)
        if rs is State.RESET:
            if os_ in (State.SYN_SENT, State.SYN_ACK_SENT) or (
                os_ is State.RESET and self.o.size == 0 and self.r.size == 0
            ):
                return "REJ"
            return "RSTRH" if o_inactive else "RSTR"
        if os_ is State.RESET:
            if r_inactive:
                return "RSTOS0" if _RSTOS0.fullmatch(self.history) else "OTH"
            return "RSTO"
        if rs is State.CLOSED and os_ is State.CLOSED:
            return "SF"
        if os_ is State.CLOSED:
            return "SH" if r_inactive else "S2"
        if rs is State.CLOSED:
            return "SHR" if o_inactive else "S3"
        if os_ is State.SYN_SENT and rs is State.INACTIVE:
            return "S0"
        if os_ is State.ESTABLISHED and rs is State.ESTABLISHED:
            return "S1"
        return "OTH"


def _flip_at_creation(s: Segment) -> bool:
    if s.flags & SYN and s.flags & ACK:
        return True
    if s.flags & SYN:
        return False
    if s.sport in LIKELY_SERVER_PORTS:
        return s.dport not in LIKELY_SERVER_PORTS or s.sport < s.dport
    return False


def classify(segments: Iterable[Segment]) -> dict[ConnKey, tuple[str, str]]:
    """(conn_state, history) per connection, keyed by Zeek's (orig, resp) tuple."""
    conns: dict[frozenset[Endpoint], Conn] = {}
    for s in segments:
        a, b = (s.src, s.sport), (s.dst, s.dport)
        c = conns.get(frozenset((a, b)))
        if c is None:
            c = conns[frozenset((a, b))] = Conn(orig=a, resp=b)
            if _flip_at_creation(s):
                c.flip()
        c.packet(s)
    return {c.key: (c.conn_state(), c.history) for c in conns.values()}


def history_letters(history: str) -> str:
    """A Zeek history without the letters this classifier does not produce."""
    return "".join(ch for ch in history if ch in KNOWN_LETTERS)


def read_conn_log(text: str) -> dict[ConnKey, tuple[str, str]]:
    """TCP rows of a Zeek TSV conn.log: (conn_state, history) per connection."""
    fields: list[str] = []
    out: dict[ConnKey, tuple[str, str]] = {}
    for line in text.splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
            continue
        if line.startswith("#") or not fields or not line:
            continue
        row = dict(zip(fields, line.split("\t"), strict=False))
        if row.get("proto") != "tcp":
            continue
        key = (row["id.orig_h"], int(row["id.orig_p"]), row["id.resp_h"], int(row["id.resp_p"]))
        out[key] = (row["conn_state"], row["history"])
    return out

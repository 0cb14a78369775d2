"""The v1model architecture as BMv2's simple_switch runs it, as generated code.

One packet: receive (metadata reset, ingress_port, packet_length,
instance_type NORMAL, ingress_global_timestamp) -> parser -> verify_checksum
-> ingress -> traffic manager -> egress -> compute_checksum -> deparser.

After ingress, in simple_switch's order (simple_switch.cpp, ingress_thread):
1. I2E clone: the *original* packet is parsed again (ingress_port kept),
   metadata reset, the clone's field list copied, instance_type
   INGRESS_CLONE, sent to every replica of the clone session.
2. digest (the last `digest()` call of the pass).
3. resubmit: the original packet re-enters ingress, metadata reset except the
   preserved field list, instance_type RESUBMIT; the pass ends.
4. multicast when mcast_grp != 0: one copy (headers and metadata) per
   replica, egress_rid from the group, instance_type REPLICATION.
5. egress_spec == 511: drop. Otherwise instance_type NORMAL, to egress.

Egress sets egress_port, egress_spec (BMv2 writes 512, which is 0 in 9 bits),
packet_length, egress_global_timestamp; then: E2E clone (headers as egress
left them, metadata reset except the field list, instance_type EGRESS_CLONE),
drop if egress_spec == 511, compute_checksum + deparser, recirculate (the
deparsed packet re-enters ingress, metadata reset except the field list,
instance_type RECIRC), else output (truncated if truncate() was called in
ingress or egress).

Recirculated packets wait in a queue, as in simple_switch: there a
recirculated packet is pushed back into the ingress input buffer from the
egress thread (its high-priority queue, with resubmits), and the ingress
thread serves new arrivals while the packet is in egress, so a packet going
round a recirculation loop does not starve new ones. Here `_process` runs
the new packet first, then one pass of every packet that was waiting when it
came (each may queue itself again); `_step(now)` runs one such pass without
a new packet (a live switch calls it when no packet waits on a port, pcap
mode drains the queue at the end of the input). So in pcap mode a
recirculated packet re-enters after the next input packet, at that packet's
clock, and a run stays deterministic. A resubmit re-enters at once (the
ingress thread takes it next).

As in BMv2, resetting metadata also clears standard_metadata.ingress_port
and ingress_global_timestamp of resubmitted and recirculated packets unless
the program preserves them. A resubmit/clone chain longer than `_MAX_PASSES`
is dropped with a warning, and so is a packet recirculated more than
`_MAX_RECIRCULATIONS` times, instead of looping forever.
"""

from __future__ import annotations

from string import Template

# BMv2 PktInstanceType values
NORMAL = 0
INGRESS_CLONE = 1
EGRESS_CLONE = 2
COALESCED = 3
RECIRC = 4
REPLICATION = 5
RESUBMIT = 6

DROP_PORT = 511

_DRIVER = Template("""
_MAX_PASSES = 64
_MAX_RECIRCULATIONS = 1 << 16
# Recirculated packets waiting for ingress: (packet, metadata, standard metadata, times)
_RQ = []
_RPASS = 0

def _fl_copy(idx, dst, src):
    f = _FL.get(idx)
    if f is not None:
        f(dst, src)

def _process(port, data, now):
    global _NOW, _RPASS
    _NOW = now
    out = []
    waiting = _RQ[:]
    del _RQ[:]
    sm = $SM()
    sm.ingress_port = port
    sm.packet_length = len(data)
    sm.ingress_global_timestamp = now
    _RPASS = 0
    try:
        _ingress_pass(data, $M(), sm, out, 0)
    except Exception as exc:
        _packet_error(exc)
    _recirculated(waiting, out)
    return out

def _step(now):
    global _NOW
    _NOW = now
    out = []
    waiting = _RQ[:]
    del _RQ[:]
    _recirculated(waiting, out)
    return out

def _waiting():
    return len(_RQ)

def _recirculated(waiting, out):
    global _RPASS
    for pkt, m2, s2, n in waiting:
        _RPASS = n
        try:
            _ingress_pass(pkt, m2, s2, out, 0)
        except Exception as exc:
            _packet_error(exc)

def _ingress_pass(data, meta, sm, out, depth):
    global _ILEN, _PAY, _CKERR, _CLONE, _RESUB, _DIGEST, _TRUNC
    hdr = $H()
    _ILEN = ilen = len(data)
    off, err = $PARSER(data, hdr, meta, sm)
    sm.parser_error = err
    payload = data[off:] if off else data
    _PAY = payload
    _CKERR = False
    $VERIFY(hdr, meta)
    if _CKERR:
        sm.checksum_error = 1
    _CLONE = _RESUB = _DIGEST = _TRUNC = None
    try:
        $INGRESS(hdr, meta, sm)
    except _Exit:
        pass
    clone = _CLONE
    resub = _RESUB
    digest = _DIGEST
    trunc = _TRUNC
    if clone is not None:
        _i2e_clone(data, sm.ingress_port, meta, clone, ilen, out, depth)
    if digest is not None:
        _emit_digest(digest[0], digest[1])
    if resub is not None:
        if depth >= _MAX_PASSES:
            _log.warning("resubmit chain longer than %d passes: packet dropped", _MAX_PASSES)
            return
        m2 = $M()
        _fl_copy(resub, m2, meta)
        s2 = $SM()
        s2.instance_type = 6
        s2.packet_length = ilen
        _ingress_pass(data, m2, s2, out, depth + 1)
        return
    mg = sm.mcast_grp
    if mg:
        sm.instance_type = 5
        for eport, rid in _PRE.multicast(mg):
            s2 = _cp_$SM(sm)
            s2.egress_rid = rid
            _egress_pass(_cp_$H(hdr), _cp_$M(meta), s2, payload, eport, ilen, trunc, out, depth)
        return
    es = sm.egress_spec
    if es == 511:
        return
    sm.instance_type = 0
    _egress_pass(hdr, meta, sm, payload, es, ilen, trunc, out, depth)

def _i2e_clone(data, iport, meta, clone, ilen, out, depth):
    session, fl = clone
    cs = _PRE.clone_session(session)
    if cs is None or depth >= _MAX_PASSES:
        return
    ctrunc = cs.packet_length_bytes or None
    for eport, rid in cs.replicas:
        hdr = $H()
        s = $SM()
        s.ingress_port = iport
        off, _err = $PARSER(data, hdr, $M(), s)
        m = $M()
        _fl_copy(fl, m, meta)
        s = $SM()
        s.instance_type = 1
        s.egress_rid = rid
        _egress_pass(hdr, m, s, data[off:], eport, ilen, ctrunc, out, depth + 1)

def _egress_pass(hdr, meta, sm, payload, port, ilen, trunc, out, depth):
    global _ILEN, _PAY, _CLONE, _RECIRC, _TRUNC, _out_append
    _ILEN = ilen
    sm.egress_port = port
    sm.egress_spec = 0
    sm.packet_length = ilen
    sm.egress_global_timestamp = _NOW
$PRIORITY_CHECK
    _CLONE = _RECIRC = None
    # truncate() is a property of the packet: set in ingress or in egress.
    _TRUNC = trunc
    try:
        $EGRESS(hdr, meta, sm)
    except _Exit:
        pass
    trunc = _TRUNC
    clone = _CLONE
    recirc = _RECIRC
    later = None
    if clone is not None:
        later = _e2e_prepare(hdr, meta, clone, payload, ilen, depth)
    if sm.egress_spec != 511:
        _PAY = payload
        $COMPUTE(hdr, meta)
        chunks = []
        _out_append = chunks.append
        $DEPARSER(hdr)
        chunks.append(payload)
        pkt = b"".join(chunks)
        if recirc is not None:
            if _RPASS >= _MAX_RECIRCULATIONS:
                _log.warning(
                    "recirculated more than %d times: packet dropped", _MAX_RECIRCULATIONS
                )
            else:
                m2 = $M()
                _fl_copy(recirc, m2, meta)
                s2 = $SM()
                s2.instance_type = 4
                s2.packet_length = len(pkt)
                _RQ.append((pkt, m2, s2, _RPASS + 1))
        else:
            if trunc is not None and len(pkt) > trunc:
                pkt = pkt[:trunc]
            out.append((port, pkt))
    if later:
        for args in later:
            _egress_pass(*args, out, depth + 1)

def _e2e_prepare(hdr, meta, clone, payload, ilen, depth):
    session, fl = clone
    cs = _PRE.clone_session(session)
    if cs is None or depth >= _MAX_PASSES:
        return None
    ctrunc = cs.packet_length_bytes or None
    res = []
    for eport, rid in cs.replicas:
        m = $M()
        _fl_copy(fl, m, meta)
        s = $SM()
        s.instance_type = 2
        s.egress_rid = rid
        res.append((_cp_$H(hdr), m, s, payload, eport, ilen, ctrunc))
    return res
""")

_PRIORITY_CHECK = """    if sm.priority:
        # simple_switch has one queue per port by default: other priorities drop
        _log.warning("priority %d out of range, dropping packet", sm.priority)
        return"""


def driver_source(fns: dict[str, str], h: str, m: str, sm: str, has_priority: bool) -> str:
    """Python source of the per-packet driver for the generated block functions."""
    return _DRIVER.substitute(
        H=h,
        M=m,
        SM=sm,
        PARSER=fns["parser"],
        VERIFY=fns["verify_checksum"],
        INGRESS=fns["ingress"],
        EGRESS=fns["egress"],
        COMPUTE=fns["compute_checksum"],
        DEPARSER=fns["deparser"],
        PRIORITY_CHECK=_PRIORITY_CHECK if has_priority else "",
    )

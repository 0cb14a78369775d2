"""The `watch` command: decode the feedback header on the monitor's traffic.

Frames come from an interface (AF_PACKET, pktio.afpacket) or a capture
file (pktio.pcap). Each TLV record becomes one JSON line (the codec's
`record_to_dict`, plus "ts", "rule" and "header"); `--strip-pcap` writes every frame
without its feedback header, as an unmodified monitor expects it; `--software-rules`
counts the software-fallback rules on the stripped frames. A SYN summary of an
attempt the switch timed out also becomes a Zeek conn.log entry (conn_state S0,
history S; `"_path": "conn"`), in the stream and in `--conn-log`. `--streams DIR` rebuilds
every TCP connection's byte stream per direction from the reassembly stage's records
(controlplane.streams) into DIR, with a Zeek-style `reassembly.log` line per connection.
With a prefilter set (`--prefilters`, else the rules file install recorded) every
connection gets Zeek's `service` (controlplane.services: the switch's PROTOCOL_MATCH
records, else the same patterns in software): PROTOCOL_MATCH lines carry it, each
reassembly.log line has it, and a connection the switch cut (NO_PROTOCOL) becomes a
conn.log entry with its counts and no service.
Group keys seen in reports are remembered in the state file so `status` can name
group_totals indexes.

Only the outermost header, where the switch puts it, is the switch's (docs/feedback-header.md,
"Trust model"): what a FOREIGN header wraps is the network's frame, handed on unchanged and
never decoded. `watch` never stops on a frame: a malformed header is counted, and a record
the switch could not have written (unknown type, undefined enumeration code, a SYN_SUMMARY
without REGENERATED or on a FOREIGN frame) is counted and skipped.
"""

from __future__ import annotations

import json
import select
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from controlplane import state as state_mod
from controlplane.errors import ControllerError, RulesError
from controlplane.groups import group_index
from controlplane.prefilter import PrefilterConfig
from controlplane.rules import load_rules
from controlplane.services import Flow, ServiceNamer
from controlplane.software_stats import SoftwareStats
from controlplane.streams import StreamRebuilder, write_streams
from controlplane.syn_offload import conn_log_entry
from feedback_header import spec
from feedback_header.codec import (
    AnyRecord,
    Decoded,
    FeedbackDecodeError,
    header_to_dict,
    record_to_dict,
    strip,
    try_decode,
)
from feedback_header.records import (
    FeedbackFlags,
    NoProtocol,
    ProtocolMatch,
    SynSummary,
    SynSummary6,
    UnknownRecord,
)
from pktio.pcap import PcapError, PcapWriter, open_capture


@dataclass
class WatchOptions:
    """Command-line settings of `watch`."""

    interface: str | None = None
    pcap: Path | None = None
    json_out: Path | None = None
    strip_pcap: Path | None = None
    software_rules: Path | None = None
    count: int | None = None
    timeout_s: float | None = None
    state_path: Path = state_mod.DEFAULT_STATE
    conn_log: Path | None = None
    store: Path | None = None  # history store of the vector rules (docs/thresholds.md)
    streams: Path | None = None  # rebuilt TCP streams and reassembly.log (docs/reassembly.md)
    prefilters: Path | None = None  # rules file with the prefilter set (docs/prefilter.md)


@dataclass
class Watcher:
    """Turns frames into JSON-able events; `emit` receives each one."""

    emit: Callable[[dict[str, Any]], None]
    names: dict[int, str] = field(default_factory=dict)  # rule_id -> rule name
    software: SoftwareStats | None = None
    strip_writer: PcapWriter | None = None
    frames: int = 0
    with_header: int = 0
    records: int = 0
    errors: list[str] = field(default_factory=list)
    group_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    conn_emit: Callable[[dict[str, Any]], None] | None = None
    conn_entries: int = 0
    skipped: int = 0  # records counted but not acted on (see untrusted_reason)
    foreign: int = 0  # frames the network sent with the feedback EtherType (wrapped)
    namer: ServiceNamer | None = None  # services of connections (docs/prefilter.md)

    def feed(self, ts_ns: int, frame: bytes, orig_len: int | None = None) -> None:
        """Handle one captured frame."""
        self.frames += 1
        ts = round(ts_ns / 1e9, 6)
        flow = self.namer.feed(frame) if self.namer is not None else None
        try:
            decoded = try_decode(frame)
        except FeedbackDecodeError as e:
            self.with_header += 1
            self.errors.append(f"frame {self.frames} (ts {ts}): malformed feedback header: {e}")
            decoded = None
        if decoded is not None:
            self.with_header += 1
            if decoded.is_foreign:
                self.foreign += 1
            head = header_to_dict(decoded.header)
            for rec in decoded.records:
                why = untrusted_reason(rec, decoded)
                if why is not None:
                    self.skipped += 1
                    self.errors.append(f"frame {self.frames} (ts {ts}): record skipped: {why}")
                    continue
                d = record_to_dict(rec)
                rid = d.get("rule_id")
                event = {
                    "ts": ts,
                    **d,
                    "rule": self.names.get(rid) if isinstance(rid, int) else None,
                }
                event["header"] = head
                if isinstance(rec, ProtocolMatch) and self.namer is not None:
                    event["service"] = self.namer.names.get(rec.protocol_id)
                self.records += 1
                self.emit(event)
                if isinstance(rec, NoProtocol) and flow is not None:
                    summary = no_protocol_entry(rec, flow, ts)
                    self.conn_entries += 1
                    self.emit(summary)
                    if self.conn_emit is not None:
                        self.conn_emit(summary)
                if isinstance(rec, (SynSummary, SynSummary6)):
                    conn = conn_log_entry(rec, decoded.header.device_id)
                    if conn is not None:
                        self.conn_entries += 1
                        self.emit(conn)
                        if self.conn_emit is not None:
                            self.conn_emit(conn)
                if isinstance(rid, int) and isinstance(d.get("key"), dict) and "rule_slot" in d:
                    idx = group_index(rid, d["key"])
                    self.group_keys[f"{d['rule_slot']}/{idx}"] = {
                        "rule": event["rule"],
                        "rule_id": rid,
                        "key": d["key"],
                    }
        try:
            plain = strip(frame)
        except FeedbackDecodeError:
            plain = b""  # length field unusable: nothing sound to hand to the monitor
        if not plain:
            return
        cut = orig_len - (len(frame) - len(plain)) if orig_len is not None else None
        if self.strip_writer is not None:
            self.strip_writer.write(plain, ts_ns, cut)
        if self.software is not None:
            for ev in self.software.process(plain, ts_ns // 1000, cut):
                self.emit({"ts": ts, **ev})


_ENUM_FIELDS: dict[int, tuple[tuple[str, dict[int, str]], ...]] = {
    t.code: tuple(
        (f.name, spec.ENUMS[f.enum].by_code())
        for f in t.value_fields
        if f.fmt == "enum" and f.enum is not None
    )
    for t in spec.TLVS
}


def no_protocol_entry(rec: NoProtocol, flow: Flow, ts: float) -> dict[str, Any]:
    """A Zeek conn.log entry for a connection the switch stopped forwarding because no
    prefilter matched it (negative matching): its counts so far, no service."""
    return {
        "_path": "conn",
        "ts": ts,
        "flow_id": rec.flow_id,
        "id.orig_h": flow.orig[0],
        "id.orig_p": flow.orig[1],
        "id.resp_h": flow.resp[0],
        "id.resp_p": flow.resp[1],
        "proto": "tcp",
        "service": None,
        "orig_bytes": rec.orig_bytes,
        "resp_bytes": rec.resp_bytes,
        "pkts": rec.packets,
        "prefilter": "no_protocol",
    }


def untrusted_reason(rec: AnyRecord, decoded: Decoded) -> str | None:
    """Why `rec` cannot be a record the switch wrote into `decoded`'s header (None: it can)."""
    if isinstance(rec, UnknownRecord):
        return f"unknown TLV type {rec.type_code} ({len(rec.value) + 2} bytes)"
    for name, codes in _ENUM_FIELDS.get(rec.TYPE, ()):
        value = getattr(rec, name)
        if value not in codes:
            return f"{rec.NAME}.{name} {value} is not a code this version defines"
    if isinstance(rec, (SynSummary, SynSummary6)):
        flags = decoded.header.flags
        if not flags & FeedbackFlags.REGENERATED:
            return "syn_summary on a header without the REGENERATED flag"
        if flags & FeedbackFlags.FOREIGN:
            return "syn_summary on a FOREIGN frame"
    return None


def pcap_frames(path: Path) -> Iterator[tuple[int, bytes, int]]:
    """(ts_ns, frame, orig_len) of every record of a pcap/pcapng file."""
    try:
        with open_capture(path) as cap:
            for rec in cap:
                yield rec.ts_ns, rec.data, rec.orig_len
    except (OSError, PcapError) as e:
        raise ControllerError(f"watch: cannot read {path}: {e}") from None


def interface_frames(name: str, timeout_s: float | None) -> Iterator[tuple[int, bytes, int]]:
    """Frames received on interface `name` until `timeout_s` passes (forever if None)."""
    from pktio.afpacket import RawSocket

    try:
        port = RawSocket(name)
    except PermissionError:
        raise ControllerError(f"watch: capturing on {name} needs root (CAP_NET_RAW)") from None
    except OSError as e:
        raise ControllerError(f"watch: cannot capture on {name}: {e.strerror or e}") from None
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        while True:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return
            ready, _, _ = select.select([port.fileno()], [], [], wait)
            if not ready:
                continue
            while (data := port.recv()) is not None:
                yield time.time_ns(), data, len(data)
    finally:
        port.close()


def run_watch(opts: WatchOptions, out: TextIO, err: TextIO) -> int:
    """The watch command; returns the exit status."""
    st = state_mod.load(opts.state_path)
    software = None
    if opts.software_rules is not None:
        rules, problems = load_rules(opts.software_rules)
        if problems:
            raise RulesError(problems)
        software = SoftwareStats(list(rules.stats))
    sink: TextIO = out
    json_file = None
    if opts.json_out is not None and str(opts.json_out) != "-":
        opts.json_out.parent.mkdir(parents=True, exist_ok=True)
        # line-buffered: each record is in the file as soon as it is decoded (tail -f)
        json_file = sink = opts.json_out.open("w", encoding="utf-8", buffering=1)

    collector = None
    if opts.store is not None:
        from controlplane.thresholds.collect import open_collector

        collector = open_collector(opts.store, st.rules_file)

    def emit(event: dict[str, Any]) -> None:
        sink.write(json.dumps(event, separators=(",", ":")) + "\n")
        if collector is not None:
            collector.observe(event)

    writer = PcapWriter(opts.strip_pcap) if opts.strip_pcap is not None else None
    watcher = Watcher(emit, {r.rule_id: r.name for r in st.rules}, software, writer)
    prefilters = _prefilters(opts.prefilters or (Path(st.rules_file) if st.rules_file else None))
    if prefilters is not None:
        watcher.namer = ServiceNamer(prefilters)
    conn_file = None
    if opts.conn_log is not None:
        opts.conn_log.parent.mkdir(parents=True, exist_ok=True)
        conn_file = opts.conn_log.open("w", encoding="utf-8")
        cf = conn_file

        def conn_emit(entry: dict[str, Any]) -> None:
            cf.write(json.dumps(entry, separators=(",", ":")) + "\n")

        watcher.conn_emit = conn_emit
    frames = (
        pcap_frames(opts.pcap)
        if opts.pcap is not None
        else interface_frames(str(opts.interface), opts.timeout_s)
    )

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # `kill PID` (SIGTERM) ends watch like Ctrl-C: files closed, summary printed.
    # (A background job of a script ignores SIGINT, so SIGTERM is how it gets stopped.)
    try:
        previous = signal.signal(signal.SIGTERM, stop)
        handled = True
    except ValueError:  # not the main thread: leave signals alone
        handled = False
    rebuilder = StreamRebuilder() if opts.streams is not None else None
    try:
        for ts_ns, data, orig_len in frames:
            watcher.feed(ts_ns, data, orig_len)
            if rebuilder is not None:
                rebuilder.feed(data, round(ts_ns / 1e9, 6))
            if opts.count is not None and watcher.frames >= opts.count:
                break
    except KeyboardInterrupt:
        pass
    finally:
        if handled:  # None: a handler from C code, which Python cannot put back
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        if writer is not None:
            writer.close()
        if conn_file is not None:
            conn_file.close()
        if json_file is not None:
            json_file.close()
        else:
            out.flush()
        if collector is not None:
            print(f"watch: {collector.close()}", file=err)
    if rebuilder is not None and opts.streams is not None:
        entries = write_streams(rebuilder, opts.streams)
        if watcher.namer is not None:
            named = watcher.namer.services()
            for entry in entries:
                ends = {
                    (entry["id.orig_h"], entry["id.orig_p"]),
                    (entry["id.resp_h"], entry["id.resp_p"]),
                }
                entry["service"] = named.get((6, frozenset(ends)), (None, ""))[0]
        with (opts.streams / "reassembly.log").open("w", encoding="utf-8") as log:
            for entry in entries:
                log.write(json.dumps(entry, separators=(",", ":")) + "\n")
        n_switch = sum(1 for e in entries if e["mode"] in ("switch", "closed"))
        print(
            f"watch: {len(entries)} TCP connections rebuilt in {opts.streams} "
            f"({n_switch} in switch mode)",
            file=err,
        )
    for e in watcher.errors:
        print(f"watch: {e}", file=err)
    print(
        f"watch: {watcher.frames} packets, {watcher.with_header} with a feedback header, "
        f"{watcher.records} records, {len(watcher.errors) - watcher.skipped} malformed"
        + (f", {watcher.skipped} records skipped" if watcher.skipped else "")
        + (f", {watcher.foreign} foreign frames" if watcher.foreign else "")
        + (f", {watcher.conn_entries} conn.log entries" if watcher.conn_entries else ""),
        file=err,
    )
    if watcher.group_keys and opts.state_path.exists():
        st = state_mod.load(opts.state_path)
        st.group_keys.update(watcher.group_keys)
        state_mod.save(st, opts.state_path)
    return 0


def _prefilters(path: Path | None) -> PrefilterConfig | None:
    """The prefilter set of the rules file at `path` (None: no file, or no section)."""
    if path is None or not path.exists():
        return None
    rules, problems = load_rules(path)
    if problems:
        raise RulesError(problems)
    return rules.prefilters

"""Switch: pipeline loading, inject/packet-out/packet-in, the live port loop and pcap mode.

The frontend, P4Info builder, runtime state and engine are replaced by small fakes, so
these tests pin down the device glue alone.
"""

from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from p4.config.v1.p4info_pb2 import P4Info

import softswitch.device as device
from pktio.pcap import PcapRecord, PcapWriter, open_capture
from softswitch.device import PipelineConfigError, Switch, make_device_config
from softswitch.frontend.ast import Loc
from softswitch.frontend.errors import P4Error
from softswitch.ports.inproc import InProcessPort

CPU = 64


class FakeElaborated:
    def __init__(self, program: str, source: str) -> None:
        self.program, self.source = program, source


class FakePipeline:
    """Sends every packet to the peer port (p ^ 1) with b"!" appended; b"cpu..." also to CPU.
    b"loop..." goes round a recirculation loop twice (a pass after each later packet or
    step), then leaves on port 1 with the time of its last pass."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bytes, int]] = []
        self.loop: list[tuple[bytes, int]] = []

    def process(self, port: int, data: bytes, now_us: int) -> list[tuple[int, bytes]]:
        self.calls.append((port, data, now_us))
        waiting, self.loop = self.loop, []
        if data.startswith(b"loop"):
            self.loop.append((data, 2))
            return self._passes(waiting, now_us)
        outs = [(port ^ 1, data + b"!")]
        if data.startswith(b"cpu"):
            outs.append((CPU, b"PI" + data))
        return outs + self._passes(waiting, now_us)

    def _passes(self, waiting: list[tuple[bytes, int]], now_us: int) -> list[tuple[int, bytes]]:
        out = []
        for data, n in waiting:
            if n > 1:
                self.loop.append((data, n - 1))
            else:
                out.append((1, data + b"@%d" % now_us))
        return out

    def waiting(self) -> int:
        return len(self.loop)

    def step(self, now_us: int) -> list[tuple[int, bytes]]:
        waiting, self.loop = self.loop, []
        return self._passes(waiting, now_us)


def fake_p4info(name: str) -> P4Info:
    p = P4Info()
    p.pkg_info.name = name
    return p


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    built: dict[str, Any] = {"frontend_runs": 0}

    def frontend(program: str, source: str) -> FakeElaborated:
        built["frontend_runs"] += 1
        if "syntax error" in source:
            raise P4Error(Loc("prog.p4", 3, 7), "syntax error")
        return FakeElaborated(program, source)

    def runtime(e: FakeElaborated, p4info: P4Info, cpu_port: int | None):
        return object(), FakePipeline()

    build_mod = types.ModuleType("softswitch.p4info.build")
    build_mod.build_p4info = lambda e: fake_p4info(e.source.strip())  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "softswitch.p4info.build", build_mod)
    monkeypatch.setattr(device, "frontend_on_source", frontend)
    monkeypatch.setattr(device, "_build_runtime", runtime)
    return built


def config(source: str = "prog-A") -> bytes:
    return make_device_config("prog.p4", source, fake_p4info(source))


def loaded_switch(cpu_port: int | None = CPU) -> Switch:
    sw = Switch(device_id=1, cpu_port=cpu_port)
    sw.load_device_config(fake_p4info("prog-A"), config())
    return sw


def test_device_config_format():
    doc = json.loads(config("prog-A"))
    assert doc["format"] == "softswitch-v1"
    assert doc["program"] == "prog.p4"
    assert doc["source"] == "prog-A"
    assert doc["p4info_sha256"] == device.p4info_sha256(fake_p4info("prog-A"))


def test_inject_runs_pipeline_and_feeds_packet_in_listeners(fakes: dict[str, Any]):
    sw = loaded_switch()
    packet_ins: list[bytes] = []
    sw.add_packet_in_listener(packet_ins.append)
    assert sw.inject(0, b"abc", now_us=42) == [(1, b"abc!")]
    assert sw.inject(1, b"cpu1", now_us=43) == [(0, b"cpu1!"), (CPU, b"PIcpu1")]
    assert packet_ins == [b"PIcpu1"]
    assert sw.pipeline.calls == [(0, b"abc", 42), (1, b"cpu1", 43)]  # type: ignore[union-attr]
    sw.close()


def test_no_pipeline_drops():
    sw = Switch(cpu_port=CPU)
    assert sw.inject(0, b"abc") == []
    assert sw.stats["dropped_no_pipeline"] == 1
    sw.close()


def test_p4info_must_match_program(fakes: dict[str, Any]):
    sw = Switch()
    with pytest.raises(PipelineConfigError, match=r"P4Info does not match .*pkg_info differs"):
        sw.prepare_pipeline(fake_p4info("other"), config())
    assert sw.pipeline is None
    sw.close()


def test_p4info_none_takes_the_programs(fakes: dict[str, Any]):
    sw = Switch()
    sw.load_device_config(None, config())
    assert sw.p4info == fake_p4info("prog-A")
    sw.close()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", "not softswitch JSON"),
        (b'{"__meta__": {"version": [2, 23]}}', "a BMv2 JSON"),
        (b'{"format": "softswitch-v1", "program": "x.p4"}', "'source' missing"),
    ],
)
def test_bad_device_config_is_refused(fakes: dict[str, Any], data: bytes, message: str):
    sw = Switch()
    with pytest.raises(PipelineConfigError, match=message):
        sw.prepare_pipeline(None, data)
    sw.close()


def test_p4_error_becomes_config_error_with_location(fakes: dict[str, Any]):
    sw = Switch()
    with pytest.raises(PipelineConfigError) as e:
        sw.prepare_pipeline(None, config("syntax error"))
    assert str(e.value) == "P4 program refused: prog.p4:3:7: syntax error"
    sw.close()


def test_commit_swaps_and_recommit_starts_with_fresh_state(fakes: dict[str, Any]):
    sw = Switch()
    prepared = sw.prepare_pipeline(None, config())
    assert sw.pipeline is None  # VERIFY alone changes nothing
    sw.commit_pipeline(prepared)
    first_state, first_pipeline = sw.state, sw.pipeline
    assert first_pipeline is prepared.pipeline
    sw.commit_pipeline(prepared)
    assert sw.state is not first_state
    assert sw.pipeline is not first_pipeline
    sw.close()


def test_packet_out_runs_from_cpu_port_and_transmits(fakes: dict[str, Any]):
    sw = loaded_switch()
    p1 = InProcessPort("p1")
    sw.add_port(65, p1)  # CPU 64 ^ 1 = 65: the fake sends packet-outs there
    sw.packet_out(b"hdr+frame")
    assert sw.pipeline.calls[-1][:2] == (CPU, b"hdr+frame")  # type: ignore[union-attr]
    assert p1.sent() == [b"hdr+frame!"]
    sw.close()


def test_packet_out_needs_cpu_port(fakes: dict[str, Any]):
    sw = loaded_switch(cpu_port=None)
    with pytest.raises(ValueError, match="CPU port"):
        sw.packet_out(b"x")
    sw.close()


def test_add_port_refuses_duplicates_and_cpu_port():
    sw = Switch(cpu_port=CPU)
    sw.add_port(0, InProcessPort())
    with pytest.raises(ValueError, match="already attached"):
        sw.add_port(0, InProcessPort())
    with pytest.raises(ValueError, match="CPU port"):
        sw.add_port(CPU, InProcessPort())
    sw.close()


def test_live_loop_moves_packets_between_ports(fakes: dict[str, Any]):
    sw = loaded_switch()
    p0, p1 = InProcessPort("p0"), InProcessPort("p1")
    sw.add_port(0, p0)
    sw.serve_ports()
    sw.add_port(1, p1)  # added while the loop runs
    p0.put(b"one")
    assert p1.get(timeout=10) == b"one!"
    p1.put(b"two")
    assert p0.get(timeout=10) == b"two!"
    sw.close()


def _write(path: Path, records: list[tuple[int, bytes]], nanosecond: bool = False) -> Path:
    with PcapWriter(path, nanosecond=nanosecond) as w:
        for ts, data in records:
            w.write(data, ts)
    return path


def test_pcap_mode_drains_recirculating_packets_at_the_end(fakes: dict[str, Any], tmp_path: Path):
    sw = loaded_switch()
    src = _write(tmp_path / "in.pcap", [(1_000_000, b"loop-a"), (2_000_000, b"x")])
    result = sw.run_pcap({0: src}, tmp_path / "out")
    # x, then the looping packet's second pass after it; its last pass comes after the
    # input ended, the clock moved on by DRAIN_TICK_US.
    assert result["packets_out"] == 2 and sw.pipeline.waiting() == 0  # type: ignore[union-attr]
    out1 = list(open_capture(tmp_path / "out" / "port1.pcap"))
    end_ns = 2_000_000 + device.DRAIN_TICK_US * 1000
    assert [(r.ts_ns, r.data) for r in out1] == [
        (2_000_000, b"x!"),
        (end_ns, b"loop-a@%d" % (end_ns // 1000)),
    ]
    sw.close()


def test_live_loop_runs_recirculating_packets_when_ports_are_idle(fakes: dict[str, Any]):
    sw = loaded_switch()
    p0, p1 = InProcessPort("p0"), InProcessPort("p1")
    sw.add_port(0, p0)
    sw.add_port(1, p1)
    sw.serve_ports()
    p0.put(b"loop-b")  # nothing else arrives: its passes run while the ports are idle
    assert p1.get(timeout=10).startswith(b"loop-b@")
    sw.close()


def test_pcap_mode_merges_by_time_and_writes_each_port(fakes: dict[str, Any], tmp_path: Path):
    sw = loaded_switch()
    in0 = _write(tmp_path / "in0.pcap", [(1_000_000, b"a0"), (3_000_000, b"a1"),
                                         (5_000_000, b"a2")])  # fmt: skip
    in1 = _write(tmp_path / "in1.pcap", [(2_000_000, b"b0"), (3_000_000, b"b1")])
    result = sw.run_pcap({1: in1, 0: in0}, tmp_path / "out")
    # Time order; the tie at 3 ms goes to the lower port first.
    assert sw.pipeline.calls == [  # type: ignore[union-attr]
        (0, b"a0", 1000), (1, b"b0", 2000), (0, b"a1", 3000), (1, b"b1", 3000),
        (0, b"a2", 5000),
    ]  # fmt: skip
    assert result["packets_in"] == 5
    assert result["per_port_out"] == {0: 2, 1: 3}
    out0 = list(open_capture(tmp_path / "out" / "port0.pcap"))
    out1 = list(open_capture(tmp_path / "out" / "port1.pcap"))
    assert out0 == [PcapRecord(2_000_000, b"b0!", 3, 1), PcapRecord(3_000_000, b"b1!", 3, 1)]
    assert out1 == [
        PcapRecord(1_000_000, b"a0!", 3, 1),
        PcapRecord(3_000_000, b"a1!", 3, 1),
        PcapRecord(5_000_000, b"a2!", 3, 1),
    ]
    sw.close()


def test_pcap_mode_is_deterministic_and_keeps_nanoseconds(fakes: dict[str, Any], tmp_path: Path):
    src = _write(tmp_path / "in.pcap", [(1_000_000_007, b"x"), (1_000_000_009, b"cpu")],
                 nanosecond=True)  # fmt: skip
    outputs = []
    for run in ("r1", "r2"):
        sw = loaded_switch()
        sw.run_pcap({0: src}, tmp_path / run)
        outputs.append({p.name: p.read_bytes() for p in sorted((tmp_path / run).iterdir())})
        sw.close()
    assert outputs[0] == outputs[1]
    assert sorted(outputs[0]) == ["port0.pcap", "port1.pcap", f"port{CPU}.pcap"]
    cpu = list(open_capture(tmp_path / "r1" / f"port{CPU}.pcap"))
    assert cpu == [PcapRecord(1_000_000_009, b"PIcpu", 5, 1)]


def test_pcap_mode_progress(fakes: dict[str, Any], tmp_path: Path):
    src = _write(tmp_path / "in.pcap", [(i, b"p") for i in range(5)])
    sw = loaded_switch()
    out = io.StringIO()
    sw.run_pcap({0: src}, tmp_path / "out", progress_every=2, progress=out)
    lines = out.getvalue().splitlines()
    assert [line.split(" pkt/s")[0].split(" (")[0] for line in lines] == [
        "softswitch: 2 packets in, 2 out",
        "softswitch: 4 packets in, 4 out",
    ]
    sw.close()

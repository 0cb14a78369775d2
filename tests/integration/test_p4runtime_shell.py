"""Drive a running softswitch with p4runtime-shell's own API, as a user would.

The switch is started as a separate process (`softswitch run`), exactly as
`make run` starts it; the test talks to it only over P4Runtime.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import p4runtime_sh.shell as sh
import pytest
import targets
from p4runtime_sh.context import P4Type
from p4runtime_sh.p4runtime import P4RuntimeWriteException
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "p4programs" / "p4rt_basic.p4"
CPU_PORT = targets.CPU_PORT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "softswitch", "compile", str(PROGRAM), "-o", str(out)],
        check=True,
    )
    return out / "p4rt_basic.p4info.txtpb", out / "p4rt_basic.json"


@pytest.fixture(scope="module")
def shell(compiled: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    address = f"127.0.0.1:{_free_port()}"
    log = (tmp_path_factory.mktemp("log") / "switch.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "softswitch",
            "run",
            "--no-p4",
            "--device-id",
            "1",
            "--cpu-port",
            str(CPU_PORT),
            "--grpc-server-addr",
            address,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        targets.wait_for_grpc(address, proc)
        p4info, config = compiled
        sh.setup(
            device_id=1,
            grpc_addr=address,
            election_id=(0, 1),
            config=sh.FwdPipeConfig(str(p4info), str(config)),
            verbose=False,
        )
        yield
        sh.teardown()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _uint(value: bytes) -> int:
    return int.from_bytes(value, "big")


def _read_all(table: str) -> list[sh.TableEntry]:
    return list(sh.TableEntry(table).read())


def test_exact_entry_insert_and_read_back(shell: None) -> None:
    te = sh.TableEntry("BasicIngress.dmac")(action="BasicIngress.set_egress")
    te.match["dst_addr"] = "00:11:22:33:44:55"
    te.action["port"] = "3"
    te.insert()
    try:
        entries = _read_all("BasicIngress.dmac")
        assert len(entries) == 1
        got = entries[0]
        # Servers answer with canonical (shortest) byte strings, as BMv2 does.
        assert _uint(got.match["dst_addr"].exact.value) == 0x001122334455
        assert _uint(got.action["port"].value) == 3
    finally:
        te.delete()
    assert _read_all("BasicIngress.dmac") == []


def test_ternary_entry_with_priority_read_back(shell: None) -> None:
    te = sh.TableEntry("BasicIngress.acl")(action="BasicIngress.send_to_cpu")
    te.match["src_addr"] = "10.0.0.0&&&255.0.0.0"
    te.match["protocol"] = "17&&&0xff"
    te.action["reason"] = "5"
    te.priority = 10
    te.insert()
    try:
        (got,) = _read_all("BasicIngress.acl")
        assert got.priority == 10
        assert _uint(got.match["src_addr"].ternary.value) == 0x0A000000
        assert _uint(got.match["src_addr"].ternary.mask) == 0xFF000000
        assert _uint(got.match["protocol"].ternary.value) == 17
        # dst_addr was a don't-care: it is omitted from the entry.
        dst_id = sh.context.get_mf_id("BasicIngress.acl", "dst_addr")
        assert dst_id not in {m.field_id for m in got.msg().match}
    finally:
        te.delete()


def test_lpm_entry_read_back(shell: None) -> None:
    te = sh.TableEntry("BasicIngress.routes")(action="BasicIngress.set_egress")
    te.match["dst_addr"] = "192.168.0.0/16"
    te.action["port"] = "2"
    te.insert()
    try:
        (got,) = _read_all("BasicIngress.routes")
        assert _uint(got.match["dst_addr"].lpm.value) == 0xC0A80000
        assert got.match["dst_addr"].lpm.prefix_len == 16
    finally:
        te.delete()


def test_duplicate_insert_is_already_exists(shell: None) -> None:
    te = sh.TableEntry("BasicIngress.dmac")(action="BasicIngress.drop")
    te.match["dst_addr"] = "00:00:00:00:00:01"
    te.insert()
    try:
        with pytest.raises(P4RuntimeWriteException) as err:
            te.insert()
        assert "ALREADY_EXISTS" in str(err.value)
    finally:
        te.delete()


def _udp_frame(src: str, dst: str) -> bytes:
    return bytes(
        Ether(dst="00:00:00:00:00:02", src="00:00:00:00:00:01")
        / IP(src=src, dst=dst)
        / UDP(sport=1234, dport=53)
        / b"payload"
    )


@pytest.fixture(scope="module")
def packet_in(shell: None) -> sh.PacketIn:
    # One listener for the whole module: every sh.PacketIn starts a thread that
    # consumes packet-ins from the shared stream.
    return sh.PacketIn()


def test_packet_out_runs_pipeline_and_acl_sends_packet_in(packet_in: sh.PacketIn) -> None:
    acl = sh.TableEntry("BasicIngress.acl")(action="BasicIngress.send_to_cpu")
    acl.match["src_addr"] = "10.0.0.0&&&255.0.0.0"
    acl.action["reason"] = "5"
    acl.priority = 1
    acl.insert()
    frame = _udp_frame("10.1.2.3", "172.16.0.9")
    try:
        out = sh.PacketOut()
        out.payload = frame
        out.metadata["egress_port"] = "0"
        out.send()
        received = list(packet_in.sniff(timeout=5))
        assert len(received) == 1
        msg = received[0].packet
        assert msg.payload == frame
        meta = {m.metadata_id: m.value for m in msg.metadata}
        header = sh.context.get_obj(P4Type.controller_packet_metadata, "packet_in")
        ids = {m.name: m.id for m in header.metadata}
        assert _uint(meta[ids["ingress_port"]]) == CPU_PORT
        assert _uint(meta[ids["reason"]]) == 5
        # The direct counter of the matching ACL entry counted the packet.
        (counted,) = list(sh.DirectCounterEntry("BasicIngress.acl_counter").read())
        assert counted.packet_count == 1
        # Like BMv2, the switch counts the bytes it received on the CPU port,
        # packet_out header (2 bytes) included.
        assert counted.byte_count == len(frame) + 2
    finally:
        acl.delete()


def test_packet_out_to_cpu_port_returns_as_packet_in(packet_in: sh.PacketIn) -> None:
    frame = _udp_frame("192.0.2.1", "192.0.2.2")
    out = sh.PacketOut()
    out.payload = frame
    out.metadata["egress_port"] = str(CPU_PORT)
    out.send()
    received = list(packet_in.sniff(timeout=5))
    assert [r.packet.payload for r in received] == [frame]

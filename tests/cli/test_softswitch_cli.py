"""The `softswitch` command line: compile output, clean errors, simple_switch_grpc flags."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
from google.protobuf import text_format
from p4.config.v1.p4info_pb2 import P4Info

import softswitch.device as device
from pktio.pcap import PcapWriter, open_capture
from softswitch import cli
from softswitch.frontend.ast import Loc
from softswitch.frontend.errors import P4Error


class FakeElaborated:
    def __init__(self, source: str) -> None:
        self.source = source


class EchoPipeline:
    def process(self, port: int, data: bytes, now_us: int) -> list[tuple[int, bytes]]:
        return [(port ^ 1, data)]

    def waiting(self) -> int:  # nothing recirculates
        return 0

    def step(self, now_us: int) -> list[tuple[int, bytes]]:
        return []


def fake_p4info() -> P4Info:
    p = P4Info()
    p.pkg_info.arch = "v1model"
    t = p.tables.add()
    t.preamble.id = 0x02000001
    t.preamble.name = "Ingress.dmac"
    return p


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Preprocessor, frontend, P4Info builder and engine replaced by fakes."""

    def frontend(program: str, source: str) -> FakeElaborated:
        if "BAD" in source:
            line = source[: source.index("BAD")].count("\n") + 1
            raise P4Error(Loc("prog.p4", line, 5), "BAD is not supported")
        return FakeElaborated(source)

    pp = types.ModuleType("softswitch.frontend.preprocess")
    pp.preprocess = lambda path, dirs, defines: types.SimpleNamespace(  # type: ignore[attr-defined]
        tokens=Path(path).read_text() + "".join(f"#define {k} {v}\n" for k, v in defines.items())
    )
    pp.render = lambda tokens: f'#line 1 "prog.p4"\n{tokens}'  # type: ignore[attr-defined]
    build = types.ModuleType("softswitch.p4info.build")
    build.build_p4info = lambda e: fake_p4info()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "softswitch.frontend.preprocess", pp)
    monkeypatch.setitem(sys.modules, "softswitch.p4info.build", build)
    monkeypatch.setattr(device, "frontend_on_source", frontend)
    monkeypatch.setattr(device, "_build_runtime", lambda e, p, c: (object(), EchoPipeline()))


def test_compile_writes_device_config_and_p4info(fakes: None, tmp_path: Path):
    prog = tmp_path / "prog.p4"
    prog.write_text("control C() { apply {} }\n")
    out = tmp_path / "build"
    assert cli.main(["compile", str(prog), "-o", str(out), "-D", "SIZE=8", "-D", "FLAG"]) == 0
    doc = json.loads((out / "prog.json").read_text())
    assert doc == {
        "format": "softswitch-v1",
        "program": "prog.p4",
        "source": '#line 1 "prog.p4"\ncontrol C() { apply {} }\n#define SIZE 8\n#define FLAG 1\n',
        "p4info_sha256": device.p4info_sha256(fake_p4info()),
    }
    p4info = text_format.Parse((out / "prog.p4info.txtpb").read_text(), P4Info())
    assert p4info == fake_p4info()


def test_compile_error_is_file_line_col_and_exit_1(
    fakes: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    prog = tmp_path / "prog.p4"
    prog.write_text("header h_t {\n  BAD x;\n}\n")
    assert cli.main(["compile", str(prog), "-o", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert captured.err == "prog.p4:3:5: BAD is not supported\n"
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out").exists()


def test_compile_error_in_a_real_process_has_no_traceback(tmp_path: Path):
    """Whatever state the frontend is in, a bad program gives status 1 and no traceback."""
    prog = tmp_path / "broken.p4"
    prog.write_text("#error this program is broken\n")
    r = subprocess.run(
        [sys.executable, "-m", "softswitch", "compile", str(prog), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.strip(), "an error message is expected"


def test_bad_define_is_a_usage_error(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as e:
        cli.main(["compile", "x.p4", "-D", "1BAD"])
    assert e.value.code == 2
    assert "-D needs NAME or NAME=VALUE" in capsys.readouterr().err


def test_run_accepts_simple_switch_grpc_command_line():
    argv = cli._split_target_options(
        ["run", "--device-id", "1", "-i", "0@veth0", "-i", "1@veth2", "--no-p4", "--",
         "--grpc-server-addr", "127.0.0.1:9600", "--cpu-port", "64"]
    )  # fmt: skip
    args = cli.build_parser().parse_args(argv)
    assert args.command == "run"
    assert args.interfaces == [(0, "veth0"), (1, "veth2")]
    assert (args.device_id, args.cpu_port, args.grpc_server_addr) == (1, 64, "127.0.0.1:9600")
    assert args.no_p4 and args.config is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--pcap-in", "0@a.pcap"], "needs both --pcap-in PORT@FILE and --pcap-out DIR"),
        (["run", "--pcap-in", "0@a.pcap", "--pcap-out", "o"], "needs a CONFIG.json"),
        (["run", "-i", "0@veth0", "--pcap-in", "1@a.pcap", "--pcap-out", "o"], "cannot be mixed"),
        (["run", "-i", "0@veth0", "-i", "0@veth2", "--no-p4"], "a port number is given twice"),
        (["run", "-i", "64@veth0", "--cpu-port", "64", "--no-p4"], "is also a data port"),
        (["run", "c.json", "--no-p4"], "give CONFIG.json or --no-p4, not both"),
    ],
)
def test_run_usage_errors_exit_1(argv: list[str], message: str, capsys: pytest.CaptureFixture):
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("softswitch: error: ")
    assert message in err


def test_run_bad_port_spec_is_a_usage_error(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "-i", "veth0"])
    assert e.value.code == 2
    assert "expected PORT@NAME" in capsys.readouterr().err


def test_run_pcap_mode_end_to_end(fakes: None, tmp_path: Path):
    prog = tmp_path / "prog.p4"
    prog.write_text("program\n")
    assert cli.main(["compile", str(prog), "-o", str(tmp_path / "build")]) == 0
    src = tmp_path / "in.pcap"
    with PcapWriter(src) as w:
        w.write(b"frame-1", 1_000_000_000)
        w.write(b"frame-2", 2_000_000_000)
    status = cli.main(
        ["run", "--pcap-in", f"0@{src}", "--pcap-out", str(tmp_path / "out"),
         str(tmp_path / "build" / "prog.json")]
    )  # fmt: skip
    assert status == 0
    out1 = [(r.ts_ns, r.data) for r in open_capture(tmp_path / "out" / "port1.pcap")]
    assert out1 == [(1_000_000_000, b"frame-1"), (2_000_000_000, b"frame-2")]
    assert list(open_capture(tmp_path / "out" / "port0.pcap")) == []


def test_run_refuses_p4info_that_does_not_match(
    fakes: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    prog = tmp_path / "prog.p4"
    prog.write_text("program\n")
    assert cli.main(["compile", str(prog), "-o", str(tmp_path)]) == 0
    other = fake_p4info()
    other.tables[0].preamble.name = "Ingress.other"
    (tmp_path / "prog.p4info.txtpb").write_text(text_format.MessageToString(other))
    status = cli.main(
        ["run", "--pcap-in", f"0@{tmp_path / 'x.pcap'}", "--pcap-out", str(tmp_path / "o"),
         str(tmp_path / "prog.json")]
    )  # fmt: skip
    assert status == 1
    err = capsys.readouterr().err
    assert "P4Info does not match the program" in err
    assert "['Ingress.other']" in err and "['Ingress.dmac']" in err


def test_help_has_examples(capsys: pytest.CaptureFixture[str]):
    for sub in ("compile", "run"):
        with pytest.raises(SystemExit) as e:
            cli.main([sub, "--help"])
        assert e.value.code == 0
        assert "examples:" in capsys.readouterr().out


def test_python_dash_m_is_the_same_command():
    r = subprocess.run([sys.executable, "-m", "softswitch", "--help"], capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0
    assert "{compile,run}" in r.stdout

"""A corpus of hostile rules files through `check` and `install`: no traceback, no
hang, every error at file:line:col, and a refused file changes nothing on the switch."""

from __future__ import annotations

import random
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
from fake_p4rt_switch import FakeSwitch
from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

from controlplane.cli import main
from controlplane.install import action_key, match_key

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "rules.yaml").read_bytes()
SECONDS = 60  # per file: longer is a hang
RULE = "  - name: r{i}\n    match: {{protocol: tcp, dst_port: {i}}}\n"


def _laughs(levels: int, fanout: int, where: str) -> str:
    lines = ['a0: &a0 "lol"']
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [{', '.join(f'*a{k - 1}' for _ in range(fanout))}]")
    body = "\n".join(lines).replace("a", "x_")  # unknown top-level keys, anchors first
    return body + "\n" + where.replace("@", f"*x_{levels - 1}") + "\n"


def corpus() -> Iterator[tuple[str, bytes]]:
    rng = random.Random(20260101)
    for cut in range(0, len(EXAMPLE), max(1, len(EXAMPLE) // 40)):
        yield f"truncated-at-{cut}", EXAMPLE[:cut]
    yield "binary-garbage", bytes(rng.randrange(256) for _ in range(4096))
    yield "binary-after-valid", EXAMPLE + bytes(rng.randrange(256) for _ in range(512))
    yield "nul-in-the-middle", EXAMPLE[:500] + b"\0" + EXAMPLE[500:]
    yield "utf16", EXAMPLE.decode().encode("utf-16")
    yield "bom-crlf", b"\xef\xbb\xbf" + EXAMPLE.replace(b"\n", b"\r\n")
    yield "ten-megabytes", b"# " + b"x" * (10 << 20) + b"\n"
    yield "long-line", b"stats:\n  - name: " + b"a" * 1_000_000 + b"\n"
    yield "deep-list", b"stats: " + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    yield "deep-map", b"stats: " + b"{a: " * 50_000 + b"1" + b"}" * 50_000 + b"\n"
    yield "deep-block", "".join(" " * k + f"k{k}:\n" for k in range(3000)).encode()
    for where in (
        "stats: @",
        "stats:\n  - name: x\n    match: @",
        "monitor: @",
        "stats:\n  - name: x\n    group_by: @",
        "stats:\n  - name: x\n    description: @",
        "monitor:\n  port: 1\n  ingress_ports: @",
    ):
        yield f"billion-laughs-{where[:20]}", _laughs(9, 10, where).encode()
    yield "alias-loop-ish", b"a: &a [*a]\n"
    yield "undefined-alias", b"stats: *nothing\n"
    yield "merge-key", b"base: &b {protocol: tcp}\nstats:\n  - name: x\n    match: {<<: *b}\n"
    yield "python-tag", b"stats: !!python/object/apply:os.system ['true']\n"
    yield "binary-tag", b"stats:\n  - name: !!binary aGVsbG8=\n"
    yield "two-documents", EXAMPLE + b"\n---\nstats: []\n"
    yield "top-level-list", b"- monitor: {port: 1, ingress_ports: [0]}\n"
    yield "top-level-scalar", b"hello\n"
    for field, value in [
        ("port", "[1]"),
        ("port", "{a: 1}"),
        ("ingress_ports", "{a: 1}"),
        ("port", "1" + "0" * 400),
        ("port", "-1"),
        ("port", "1.5"),
        ("port", "true"),
        ("ingress_ports", "[" + ", ".join(["0"] * 5000) + "]"),
    ]:
        text = "monitor:\n  port: 1\n  ingress_ports: [0]\nstats: []\n".replace(
            f"  {field}: {'1' if field == 'port' else '[0]'}", f"  {field}: {value}"
        )
        yield f"monitor-{field}-{value[:12]}", text.encode()
    for key, value in [
        ("match", "[tcp]"),
        ("match", "tcp"),
        ("group_by", "{src_addr: [1]}"),
        ("group_by", "{[a]: 1}"),
        ("interval", "1" + "0" * 400 + "s"),
        ("interval", "-5s"),
        ("interval", "1e9s"),
        ("thresholds", "[1, 2]"),
        ("thresholds", "{packets: 99999999999999999999999}"),
        ("slot", "7" * 5000),
        ("priority", "0x" + "f" * 3000),
        ("id", "-0"),
        ("bidirectional", "2"),
        ("name", "[a, b]"),
        ("name", "'" + "x" * 5000 + "'"),
        ("table", "'" * 1),
        ("description", "{a: 1}"),
    ]:
        text = f"monitor: []\nstats:\n  - name: x\n    {key}: {value}\n"
        yield f"rule-{key}-{value[:12]}", text.encode()
    yield (
        "many-rules-one-slot",
        (
            "monitor: []\nstats:\n"
            + "".join(
                f"  - {{name: r{i}, slot: 0, match: {{protocol: tcp}}}}\n" for i in range(3000)
            )
        ).encode(),
    )
    yield (
        "many-identical",
        (
            "monitor: []\nstats:\n"
            + "".join(
                RULE.format(i=i).replace(f"dst_port: {i}", "dst_port: 80") for i in range(5000)
            )
        ).encode(),
    )
    yield (
        "mutated-example",
        bytes(b if rng.random() > 0.01 else rng.randrange(32, 127) for b in EXAMPLE),
    )


CORPUS = list(corpus())


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError(f"no answer within {SECONDS} s")


@pytest.fixture
def deadline() -> Iterator[None]:
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeSwitch, Path]]:
    p4info = text_format.Parse((DATA / "stats.p4info.txtpb").read_text(), p4info_pb2.P4Info())
    sw = FakeSwitch(p4info)
    sw.serve()
    d = tmp_path_factory.mktemp("hostile")
    shutil.copy(ROOT / "rules.yaml", d / "rules.yaml")
    yield sw, d
    sw.stop()


def _errors_have_positions(err: str, path: Path) -> None:
    lines = [line for line in err.splitlines() if line.startswith(str(path))]
    assert lines, err[:500]
    for line in lines:
        rest = line[len(str(path)) :]
        assert rest[0] == ":" and rest[1:].split(":", 2)[0].isdigit(), line[:200]
        assert rest[1:].split(":", 2)[1].isdigit(), line[:200]


@pytest.mark.parametrize(("name", "data"), CORPUS, ids=[n for n, _ in CORPUS])
def test_hostile_file(
    name: str,
    data: bytes,
    switch: tuple[FakeSwitch, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    deadline: None,
) -> None:
    sw, d = switch
    common = ["--address", sw.address, "--state", str(d / "state.json")]
    assert main(["install", str(d / "rules.yaml"), *common]) == 0
    held = {(match_key(e), action_key(e)) for e in sw.entries()}
    writes = len(sw.write_requests)
    f = tmp_path / "hostile.yaml"
    f.write_bytes(data)
    capsys.readouterr()

    rc = main(["check", str(f)])  # a traceback fails the test here
    err = capsys.readouterr().err
    assert rc in (0, 2, 3), err
    if rc == 2:
        _errors_have_positions(err, f)

    rc = main(["install", str(f), *common])
    err = capsys.readouterr().err
    assert rc in (0, 2, 3), err
    if rc != 0:
        if rc == 2:
            _errors_have_positions(err, f)
        assert {(match_key(e), action_key(e)) for e in sw.entries()} == held
        assert len(sw.write_requests) == writes  # refused: nothing written

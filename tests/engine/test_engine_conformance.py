"""Conformance programs: each programs/conformance/NAME.p4 runs the packets of NAME.stf.

The .stf files use the `packet <port> <hex>` / `expect <port> <hex> [$]` lines of
p4c's STF tests (`$`: the output is exactly that long); the expected bytes were
written from the P4_16 specification and BMv2 simple_switch's documented
behaviour, and are what BMv2 simple_switch produces for the same packets.
Every expected packet must come out, in order per port, and nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from engine_harness import PROGRAMS, load

CONFORMANCE = PROGRAMS / "conformance"
CASES = sorted(p.stem for p in CONFORMANCE.glob("*.stf"))


@dataclass
class Expect:
    port: int
    pattern: str  # hex digits, `*` for any nibble
    exact: bool

    def matches(self, data: bytes) -> bool:
        got = data.hex()
        if len(got) < len(self.pattern) or (self.exact and len(got) != len(self.pattern)):
            return False
        return all(c == "*" or c == g for c, g in zip(self.pattern, got, strict=False))


@dataclass
class Stf:
    steps: list[tuple[str, int, bytes | Expect]] = field(default_factory=list)


def parse_stf(path: Path) -> Stf:
    stf = Stf()
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        cmd, port, *rest = line.split()
        text = "".join(rest).lower()
        if cmd == "packet":
            stf.steps.append(("packet", int(port), bytes.fromhex(text)))
        elif cmd == "expect":
            exact = text.endswith("$")
            stf.steps.append(("expect", int(port), Expect(int(port), text.rstrip("$"), exact)))
        else:
            raise AssertionError(f"{path}:{n}: unknown STF command {cmd}")
    return stf


@pytest.mark.parametrize("name", CASES)
def test_conformance_program(name: str) -> None:
    sw = load(f"conformance/{name}.p4")
    stf = parse_stf(CONFORMANCE / f"{name}.stf")
    got: dict[int, list[bytes]] = {}
    want: dict[int, list[Expect]] = {}
    for cmd, port, arg in stf.steps:
        if cmd == "packet":
            assert isinstance(arg, bytes)
            for p, d in sw.run(port, arg):
                got.setdefault(p, []).append(d)
        else:
            assert isinstance(arg, Expect)
            want.setdefault(port, []).append(arg)
    assert sw.pipeline.errors.count == 0, sw.pipeline.errors.last
    assert sorted(got) == sorted(want), f"output ports {sorted(got)}, expected {sorted(want)}"
    for port, exps in want.items():
        outs = got[port]
        assert len(outs) == len(exps), f"port {port}: {len(outs)} packets, want {len(exps)}"
        for i, (d, e) in enumerate(zip(outs, exps, strict=True)):
            assert e.matches(d), f"port {port} packet {i}: got {d.hex()}, want {e.pattern}"


def test_cases_present() -> None:
    assert len(CASES) >= 8
    for name in CASES:
        assert (CONFORMANCE / f"{name}.p4").is_file()


def test_packet_error_is_logged_counted_and_costs_one_packet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An error while a packet runs drops that packet only, with its P4 location."""
    sw = load("packet_error.p4")
    with caplog.at_level(logging.ERROR, logger="softswitch.engine"):
        assert sw.run(0, bytes([1, 0x10])) == []  # assert(false) fails: dropped
        assert sw.run(0, bytes([2, 0x10])) == [(1, bytes([2, 0x11]))]
    assert sw.pipeline.errors.count == 1
    where = f"{PROGRAMS / 'packet_error.p4'}:"
    messages = [r.getMessage() for r in caplog.records if "packet error" in r.getMessage()]
    assert len(messages) == 1
    assert messages[0].startswith(where), messages[0]
    line = int(messages[0][len(where) :].split(":")[0])
    assert "assert(" in (PROGRAMS / "packet_error.p4").read_text().splitlines()[line - 1]


def test_control_given_to_two_controls_is_one_instance() -> None:
    """Both users of the shared `inc` count into its one counter (P4Info has one)."""
    sw = load("conformance/block_arguments.p4")
    assert list(sw.state.counters) == ["MyIngress.inc.hits"]
    sw.run(0, bytes([1, 0, 3]))  # twice: inc once
    sw.run(0, bytes([2, 0, 3]))  # add_then: inc twice
    _nbytes, npackets = sw.state.counters["MyIngress.inc.hits"].read(0)
    assert npackets == 3


def test_switch_statistics_count_packet_errors() -> None:
    """The switch keeps forwarding after a packet error and reports the count."""
    from softswitch.cli import compile_program
    from softswitch.device import Switch

    p4info, config = compile_program(PROGRAMS / "packet_error.p4", [], {})
    sw = Switch()
    sw.load_device_config(p4info, config)
    assert sw.inject(0, bytes([1, 0x10])) == []
    assert sw.inject(0, bytes([3, 0x10])) == [(1, bytes([3, 0x11]))]
    stats = sw.statistics()
    assert stats["packet_errors"] == 1
    assert stats["rx"] == 2
    sw.load_device_config(p4info, config)  # a new pipeline: the count is kept
    assert sw.packet_errors == 1
    sw.close()

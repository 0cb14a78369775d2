"""The project's conformance programs (conformance/programs/NAME.p4 + NAME.stf, see
docs/conformance.md) on the engine in process: every expected packet comes out, in order
per port, nothing else, and no packet raises inside the pipeline. The same programs run
over P4Runtime on softswitch and BMv2 in tests/conformance/ (`make conformance`); the
expected bytes are what BMv2 simple_switch produces.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from engine_harness import PROGRAMS, Switch, load, load_path

from conformance import stf

CONFORMANCE = Path(__file__).resolve().parents[2] / "conformance" / "programs"
# the programs whose .stf only sends and expects packets (no table entries, sessions or
# groups to configure: those run over P4Runtime only, in tests/conformance)
CASES = sorted(
    p.stem
    for p in CONFORMANCE.glob("*.stf")
    if all(isinstance(c, stf.Packet | stf.Expect) for c in stf.parse_file(p).commands)
)


@pytest.mark.parametrize("name", CASES)
def test_conformance_program(name: str) -> None:
    test = stf.parse_file(CONFORMANCE / f"{name}.stf")
    sw: Switch = load_path(CONFORMANCE / f"{name}.p4")
    got: dict[int, list[bytes]] = {}
    want: dict[int, list[stf.Expect]] = {}
    for c in test.commands:
        if isinstance(c, stf.Packet):
            for p, d in sw.run(c.port, c.data):
                got.setdefault(p, []).append(d)
        elif isinstance(c, stf.Expect):
            want.setdefault(c.port, []).append(c)
    assert sw.pipeline.errors.count == 0, sw.pipeline.errors.last
    assert sorted(got) == sorted(want), f"output ports {sorted(got)}, expected {sorted(want)}"
    for port, exps in want.items():
        outs = got[port]
        assert len(outs) == len(exps), f"port {port}: {len(outs)} packets, want {len(exps)}"
        for i, (d, e) in enumerate(zip(outs, exps, strict=True)):
            assert e.matches(d), f"port {port} packet {i}: got {d.hex()}, want {e.text()}"


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
    sw = load_path(CONFORMANCE / "block_arguments.p4")
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

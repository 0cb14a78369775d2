"""The history store: downsampling to peak points, flags, retention, zero fill."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.thresholds.store import ALERTED, BLOCKED, Point, Store, StoreError


def test_reports_in_one_step_keep_the_peak_rate(tmp_path: Path) -> None:
    with Store(tmp_path / "h.sqlite", step_s=60) as st:
        st.add_report("10.0.0.2", "PT_UDP", 120.0, 1.0, 100, 1000)
        st.add_report("10.0.0.2", "PT_UDP", 121.0, 1.0, 300, 500)
        st.add_report("10.0.0.2", "PT_UDP", 179.9, 2.0, 400, 4000)  # 200 pkt/s, 16 kbit/s
    with Store(tmp_path / "h.sqlite") as st:
        assert st.step_s == 60
        assert st.points("10.0.0.2", "PT_UDP") == [Point(120, 300.0, 16000.0, 0)]
        assert st.series() == [("10.0.0.2", "PT_UDP")]


def test_flags_are_merged_and_a_mark_alone_is_a_zero_point(tmp_path: Path) -> None:
    with Store(tmp_path / "h.sqlite", step_s=10) as st:
        st.add_report("10.0.0.2", "PT_SYN", 5.0, 1.0, 10, 600)
        st.mark("10.0.0.2", "PT_SYN", 7.0, ALERTED)
        st.mark("10.0.0.2", "PT_SYN", 25.0, BLOCKED)
        assert st.points("10.0.0.2", "PT_SYN") == [
            Point(0, 10.0, 4800.0, ALERTED),
            Point(10, 0.0, 0.0, 0),  # filled: the collector ran, no traffic
            Point(20, 0.0, 0.0, BLOCKED),
        ]
        assert len(st.points("10.0.0.2", "PT_SYN", fill=False)) == 2


def test_retention_bounds_the_store(tmp_path: Path) -> None:
    with Store(tmp_path / "h.sqlite", step_s=60, retention_s=3600) as st:
        for minute in range(5 * 60):  # five hours of one report a minute
            st.add_report("192.0.2.1", "PT_TCP", minute * 60.0, 1.0, minute, 0)
        st.enforce_retention()
        pts = st.points("192.0.2.1", "PT_TCP")
        assert len(pts) == 61  # the last hour and its start step
        assert pts[0].t == (5 * 60 - 1) * 60 - 3600
        assert st.count() == 61


def test_addresses_are_canonical_and_ipv6_fits(tmp_path: Path) -> None:
    with Store(tmp_path / "h.sqlite") as st:
        st.add_report("2001:DB8::0:1", "PT_TOTAL", 0.0, 1.0, 1, 1)
        assert st.series() == [("2001:db8::1", "PT_TOTAL")]


def test_a_store_keeps_its_step(tmp_path: Path) -> None:
    Store(tmp_path / "h.sqlite", step_s=60).close()
    with pytest.raises(StoreError, match="step of 60s, not 10s"):
        Store(tmp_path / "h.sqlite", step_s=10)


def test_a_file_that_is_no_store_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "h.sqlite"
    bad.write_text("no database here\n" * 100)
    with pytest.raises(StoreError, match="not a history store"):
        Store(bad)


def test_block_marks_a_range_within_the_span(tmp_path: Path) -> None:
    from controlplane.cli import main

    db = tmp_path / "h.sqlite"
    with Store(db, step_s=60) as st:
        for minute in range(10):
            st.add_report("10.0.0.2", "PT_NTP", 1_800_000_000 + minute * 60.0, 1.0, 5, 500)
    # 1_800_000_000 is 2027-01-15T08:00:00Z; block 08:02:30 .. 08:04:00, and past the end
    args = ["thresholds", "block", "10.0.0.2", "PT_NTP", "--store", str(db)]
    assert main([*args, "--from", "2027-01-15T08:02:30", "--to", "2027-01-15T08:04"]) == 0
    assert main([*args, "--from", "1800000500", "--to", "1800009999"]) == 0
    with Store(db) as st:
        flags = [p.flags for p in st.points("10.0.0.2", "PT_NTP")]
    assert flags == [0, 0, BLOCKED, BLOCKED, 0, 0, 0, 0, BLOCKED, BLOCKED]


def test_block_refuses_a_bad_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from controlplane.cli import main

    args = ["thresholds", "block", "10.0.0.2", "PT_NTP", "--from", "yesterday", "--to", "1"]
    assert main([*args, "--store", str(tmp_path / "h.sqlite")]) == 1
    assert "'yesterday' is no time" in capsys.readouterr().err

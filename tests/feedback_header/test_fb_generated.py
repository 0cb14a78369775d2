"""Generated files are up to date with spec.py, and say what the spec says."""

from __future__ import annotations

import re
import subprocess
import sys

from feedback_header import generate, spec
from feedback_header.generate import ROOT


def test_generated_files_up_to_date() -> None:
    assert generate.stale() == [], "run: python -m feedback_header.generate"


def test_check_mode_exit_status(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rc = subprocess.run(
        [sys.executable, "-m", "feedback_header.generate", "--check"], cwd=ROOT, check=False
    ).returncode
    assert rc == 0
    # A stale copy in another tree is reported.
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "feedback-header.md").write_text("old\n")
    assert "docs/feedback-header.md" in generate.stale(tmp_path)


def test_p4_headers_match_spec() -> None:
    p4 = (ROOT / "p4src/include/feedback_header.p4").read_text()
    assert "const bit<16> ETHERTYPE_FEEDBACK = 0x88b5;" in p4
    for layout, name in [(spec.FIXED, "feedback_h"), *[(t, f"fb_{t.name}_h") for t in spec.TLVS]]:
        body = re.search(rf"header {name} \{{(.*?)\}}", p4, re.S)
        assert body is not None, name
        fields = re.findall(r"bit<(\d+)>\s+(\w+);", body.group(1))
        assert [(int(w), n) for w, n in fields] == [(f.bits, f.name) for f in layout.fields]
    for t in spec.TLVS:
        assert f"const bit<8> FB_TLV_{t.name.upper()} = {t.code};" in p4
        assert f"const bit<8> FB_TLV_{t.name.upper()}_BYTES = {t.size};" in p4
    assert "struct feedback_headers_t {" in p4


def test_doc_has_diagram_and_bullets_per_part() -> None:
    doc = (ROOT / "docs/feedback-header.md").read_text()
    border = "+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+"
    assert doc.count(border) >= 2 * (1 + len(spec.TLVS))
    for t in spec.TLVS:
        assert f"### {t.code}: {t.name.upper()} ({t.size} bytes" in doc
        for f in t.value_fields:
            assert f"- **{f.name}** ({f.bits} bits" in doc


def test_bit_diagram_rows_are_32_bits() -> None:
    text = generate.bit_diagram(spec.TLV_BY_NAME["syn_summary"])
    rows = text.splitlines()[2:]
    assert all(len(r) == 65 for r in rows)
    # 32 bytes = 8 rows of content, 9 borders
    assert len(rows) == 17
    assert "|    tlv_type   |   tlv_length  |     reason    |   syn_count   |" in rows


def test_spec_sizes() -> None:
    """The byte layout the P4 stages are written against."""
    assert spec.FIXED.size == 16
    sizes = {t.name: t.size for t in spec.TLVS}
    assert sizes == {
        "counter_report": 52,
        "threshold_alert": 44,
        "collision": 28,
        "syn_summary": 32,
        "not_offloaded": 8,
        "flow_id_offset": 12,
        "reassembly_state": 8,
        "prefilter_match": 12,
        # IPv6 variants: the same fields with 128-bit addresses
        "counter_report6": 76,
        "threshold_alert6": 68,
        "collision6": 52,
        "syn_summary6": 56,
        "stream_segment": 12,
        "stream_mode": 16,
        "protocol_match": 12,
        "no_protocol": 20,
    }

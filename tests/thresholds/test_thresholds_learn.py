"""`thresholds learn`: rule, regression to given thresholds, CSV and PNG output, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.cli import main
from controlplane.thresholds.features import FEATURES
from controlplane.thresholds.learn import RULE_FACTOR, Label, fit, learn, read_labels
from controlplane.thresholds.store import ALERTED, Store
from controlplane.thresholds.vectors import BY_NAME
from testbed.history import Profile, normal_rates

START = 1_800_000_000 - 1_800_000_000 % 86400


def _fill(store: Store, n_hosts: int, days: int = 6) -> None:
    for h in range(n_hosts):
        prof = Profile(peak_pps=200.0 * (h + 1) ** 1.5, packet_bytes=100.0 + 40 * h)
        for t, pps, bps in normal_rates(prof, START, days, store.step_s, seed=h):
            store.add_point(f"10.0.{h // 256}.{h % 256}", "PT_UDP", t, pps, bps)


def test_the_rule_is_a_multiple_of_daily_max_q90_within_floor_and_ceiling(tmp_path: Path) -> None:
    with Store(tmp_path / "h.sqlite", step_s=600) as st:
        _fill(st, 3)
        st.add_point("10.0.0.9", "PT_UDP", START, 1.0, 10.0)  # a quiet host: floor
        st.add_point("10.0.0.9", "PT_UDP", START + 600, 1e9, 1e12, ALERTED)  # left out
        rows = learn(st)
    assert {(p.address, p.metric) for p in rows} == {
        (f"10.0.0.{h}", m) for h in (0, 1, 2, 9) for m in ("PPS", "BW")
    }
    for p in rows:
        lo, hi = BY_NAME["PT_UDP"].limit(p.metric)
        want = min(max(RULE_FACTOR * p.features["daily_max_q90"], lo), hi)
        assert p.threshold == pytest.approx(want)
        assert p.method == "rule"
    quiet = next(p for p in rows if p.address == "10.0.0.9" and p.metric == "PPS")
    assert quiet.threshold == BY_NAME["PT_UDP"].floor[0]


def test_regression_recovers_a_linear_labelling() -> None:
    import random

    rng = random.Random(1)
    rows = []
    for _ in range(20):
        f = {n: rng.uniform(1, 100) for n in FEATURES}
        rows.append((f, 2 * f["daily_max_q90"] + 0.5 * f["daily_mean_q70"] + 7))
    model = fit(rows)
    assert model is not None and model.method == "regression"
    new = {n: 10.0 for n in FEATURES}
    assert model.predict(new) == pytest.approx(2 * 10 + 0.5 * 10 + 7)
    few = fit(rows[:3])
    assert few is not None and few.method == "regression-1"
    one = fit([({**new, "daily_max_q90": 4.0}, 12.0)])
    assert one is not None and one.method == "ratio" and one.predict(new) == pytest.approx(30)


def test_learn_cli_with_labels_writes_csv_and_plots(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    with Store(db, step_s=600) as st:
        _fill(st, 16)
        rows = learn(st)
    # an analyst chose 2.5 x daily_max_q90 for 14 of the 16 hosts
    lines = ["address,vector,metric,threshold"]
    for p in rows:
        if p.metric == "PPS" and p.address not in ("10.0.0.3", "10.0.0.7"):
            lines.append(f"{p.address},PT_UDP,PPS,{2.5 * p.features['daily_max_q90']!r}")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    args = ["thresholds", "learn", "--store", str(db), "--out", str(out)]
    assert main([*args, "--labels", str(tmp_path / "labels.csv")]) == 0
    text = (out / "proposal.csv").read_text().splitlines()
    assert text[0].split(",")[:5] == ["address", "vector", "metric", "days", FEATURES[0]]
    got = {}
    for line in text[1:]:
        cells = line.split(",")
        got[(cells[0], cells[2])] = (cells[-2], float(cells[-1]), float(cells[4]))
    method, thr, q90 = got[("10.0.0.3", "PPS")]
    assert method.startswith("regression")  # the synthetic features are near collinear
    assert thr == pytest.approx(2.5 * q90, rel=1e-4)
    assert got[("10.0.0.1", "PPS")][0] == "given"
    assert got[("10.0.0.1", "BW")][0] == "rule"
    pngs = sorted(p.name for p in (out / "plots").iterdir())
    assert len(pngs) == 16 and pngs[0] == "10.0.0.0.png"
    assert (out / "plots" / "10.0.0.0.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_labels_in_the_notebooks_columns_with_their_own_features(tmp_path: Path) -> None:
    head = "Unnamed: 0,prediction_id,vector,metric,file,ip_ss," + ",".join(FEATURES)
    rows = [head]
    for i in range(14):
        feats = [float(i + k * (i % 3 + 1)) for k in range(len(FEATURES))]
        rows.append(
            f"{i},a85101f9{i},PT_TCP,PPS,./x.parquet,{3 * feats[0] + 1},"
            + ",".join(map(str, feats))
        )
    path = tmp_path / "tcp_pps.csv"
    path.write_text("\n".join(rows) + "\n")
    labels = read_labels(path)
    assert len(labels) == 14 and labels[0] == Label(
        "a85101f90",
        "PT_TCP",
        "PPS",
        1.0,
        dict(zip(FEATURES, [float(k) for k in range(12)], strict=True)),
    )
    assert all(len(lb.features) == 12 for lb in labels)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("address,vector,metric\n", "labels.csv:1:1: no column 'threshold' or 'ip_ss'"),
        (
            "address,vector,metric,threshold\n10.0.0.1,PT_UPD,PPS,5\n",
            "labels.csv:2:10: unknown vector 'PT_UPD' (did you mean 'PT_UDP'?)",
        ),
        (
            "address,vector,metric,threshold\n10.0.0.300,PT_UDP,PPS,5\n",
            "labels.csv:2:1: '10.0.0.300' is not an IP address",
        ),
        (
            "# analysts' choice\naddress,vector,metric,threshold\n10.0.0.1,PT_UDP,pps,-5\n",
            "labels.csv:3:17: unknown metric 'pps' (expected PPS or BW)\n"
            "labels.csv:3:21: '-5' is not a positive number (the threshold)",
        ),
        (
            'address,vector,metric,threshold\n"10.0.0.1,PT_UDP,PPS,5\n',
            "labels.csv:2:1: unclosed quote",
        ),
    ],
)
def test_bad_labels_are_reported_at_file_line_col(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    (tmp_path / "labels.csv").write_text(text)
    db = tmp_path / "h.sqlite"
    Store(db).close()
    args = ["thresholds", "learn", "--store", str(db), "--labels", str(tmp_path / "labels.csv")]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err.replace(str(tmp_path) + "/", "")
    assert "Traceback" not in err


def test_learn_without_a_store_says_how_to_collect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["thresholds", "learn", "--store", str(tmp_path / "none.sqlite")]) == 1
    assert "--store" in capsys.readouterr().err

"""Reports of a conformance run: one line per test, Markdown and JSON files."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from conformance.runner import PASS, TargetResult


@dataclass
class TestResult:
    test: str
    results: dict[str, TargetResult] = field(default_factory=dict)
    differential: str | None = None  # None: not compared; '' same; else first difference
    error: str = ""  # the STF file itself could not be used

    def ok(self) -> bool:
        if self.error:
            return False
        if any(r.status != PASS for r in self.results.values()):
            return False
        return not self.differential

    def line(self) -> str:
        name = Path(self.test).name.removesuffix(".stf")
        if self.error:
            return f"ERROR {name}: {self.error}"
        parts = [
            f"{t}: {r.status}" + (f" ({r.reason})" if r.reason else "")
            for t, r in self.results.items()
        ]
        if self.differential is not None:
            parts.append(
                "outputs: " + ("same" if not self.differential else f"differ, {self.differential}")
            )
        return f"{'PASS' if self.ok() else 'FAIL'}  {name}  " + "; ".join(parts)

    def to_json(self) -> dict[str, object]:
        return {
            "test": self.test,
            "error": self.error,
            "differential": self.differential,
            "results": {t: r.to_json() for t, r in self.results.items()},
        }


def summary(results: list[TestResult], targets: list[str]) -> list[str]:
    out = []
    for t in targets:
        c = Counter(r.results[t].status for r in results if t in r.results)
        total = sum(c.values())
        detail = ", ".join(f"{n} {s}" for s, n in sorted(c.items()))
        out.append(f"{t}: {c.get(PASS, 0)} of {total} passed ({detail})")
    diffs = [r for r in results if r.differential]
    if any(r.differential is not None for r in results):
        out.append(f"outputs differ between targets: {len(diffs)}")
    errors = [r for r in results if r.error]
    if errors:
        out.append(f"STF files not usable: {len(errors)}")
    return out


def write_markdown(
    path: Path, results: list[TestResult], targets: list[str], skipped: dict[str, str]
) -> None:
    lines = ["# Conformance run", ""]
    lines += [f"- {s}" for s in summary(results, targets)]
    lines += [f"- {t} leg skipped: {why}" for t, why in skipped.items()]
    lines += [
        "",
        "| test | " + " | ".join(targets) + " | outputs |",
        "|---|" + "---|" * (len(targets) + 1),
    ]
    for r in sorted(results, key=lambda r: r.test):
        cells = []
        for t in targets:
            tr = r.results.get(t)
            if tr is None:
                cells.append(r.error or "-")
            else:
                reason = tr.reason.replace("|", "/").replace("\n", " ")
                cells.append(tr.status + (f": {reason}" if reason else ""))
        diff = (
            "-"
            if r.differential is None
            else ("same" if not r.differential else r.differential.replace("|", "/"))
        )
        lines.append(
            f"| {Path(r.test).name.removesuffix('.stf')} | " + " | ".join(cells) + f" | {diff} |"
        )
    path.write_text("\n".join(lines) + "\n")


def write_json(
    path: Path, results: list[TestResult], targets: list[str], skipped: dict[str, str]
) -> None:
    path.write_text(
        json.dumps(
            {
                "targets": targets,
                "skipped": skipped,
                "summary": summary(results, targets),
                "tests": [r.to_json() for r in sorted(results, key=lambda r: r.test)],
            },
            indent=1,
        )
        + "\n"
    )

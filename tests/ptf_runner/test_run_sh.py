"""ptf_tests/run.sh and `make test` when the PTF suite cannot run (not root).

The script runs as an unprivileged user (setpriv), so nothing here needs veths or a
switch: the suite stops at its root check, before it touches anything.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to run the script as an unprivileged user",
)


def _as_nobody(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/"}
    return subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def fake_venv() -> Iterator[Path]:
    """A venv whose ruff, mypy and pytest succeed at once (readable by the unprivileged user)."""
    d = Path(tempfile.mkdtemp(prefix="fake-venv-"))
    try:
        (d / "bin").mkdir()
        for tool in ("ruff", "mypy", "pytest", "python", "ptf"):
            p = d / "bin" / tool
            p.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
            p.chmod(0o755)
        for p in (d, d / "bin"):
            p.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        yield d
    finally:
        shutil.rmtree(d)


def test_not_root_fails_and_says_the_suite_did_not_run(fake_venv: Path) -> None:
    r = _as_nobody(["bash", "ptf_tests/run.sh"], {"VENV": str(fake_venv)})
    assert r.returncode == 1, r.stderr
    assert "NOT RUN" in r.stderr
    assert "ALLOW_SKIP=ptf" in r.stderr


def test_not_root_with_allow_skip_is_a_visible_skip(fake_venv: Path) -> None:
    r = _as_nobody(["bash", "ptf_tests/run.sh"], {"VENV": str(fake_venv), "ALLOW_SKIP": "ptf"})
    assert r.returncode == 77, r.stderr
    assert "SKIPPED" in r.stderr


def test_make_test_fails_when_ptf_did_not_run(fake_venv: Path) -> None:
    r = _as_nobody(["make", "--no-print-directory", "test", f"VENV={fake_venv}"], {})
    assert r.returncode != 0, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "ptf: NOT RUN" in out
    assert "make test: FAILED" in out


def test_make_test_counts_an_allowed_skip_in_the_summary(fake_venv: Path) -> None:
    r = _as_nobody(
        ["make", "--no-print-directory", "test", f"VENV={fake_venv}"], {"ALLOW_SKIP": "ptf"}
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "ptf: SKIPPED (ALLOW_SKIP=ptf)" in out
    assert "pytest: passed" in out

"""The import contracts of pyproject.toml ([tool.importlinter]) hold, and they bite: a
module with a forbidden import, added to a copy of the tree, breaks the check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = (
    "controlplane",
    "feedback_header",
    "softswitch",
    "pktio",
    "testbed",
    "bench",
    "conformance",
    "scenarios",
)


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_the_repository_keeps_every_contract() -> None:
    r = lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and pyproject.toml, first on the import path of lint-imports
    (it imports the packages from its working directory)."""
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("package", "statement", "contract"),
    [
        ("controlplane", "import softswitch.engine", "Controller -> Target"),
        ("controlplane", "from softswitch.ports import pcap", "Controller -> Target"),
        ("feedback_header", "import controlplane.model", "Header -> Controller/Target"),
        ("feedback_header", "from softswitch import device", "Header -> Controller/Target"),
        ("softswitch", "from controlplane import rules", "Target -> Controller/Header"),
        ("softswitch", "import feedback_header.codec", "Target -> Controller/Header"),
        ("controlplane", "import testbed.nids_switch", "never imports the test and benchmark"),
    ],
)
def test_a_forbidden_import_breaks_the_check(
    tree: Path, package: str, statement: str, contract: str
) -> None:
    assert lint_imports(tree).returncode == 0  # the copy itself is clean
    (tree / package / "probe_forbidden.py").write_text(f"{statement}\n", encoding="utf-8")
    r = lint_imports(tree)
    assert r.returncode == 1, r.stdout + r.stderr
    broken = [line for line in r.stdout.splitlines() if " BROKEN" in line]
    # testbed imports softswitch, so importing it also breaks Controller -> Target
    assert any(contract in line for line in broken), r.stdout
    assert f"{package}.probe_forbidden" in r.stdout


def test_an_indirect_import_breaks_the_check_too(tree: Path) -> None:
    """controlplane -> a helper module -> softswitch is still Controller -> Target."""
    (tree / "controlplane" / "probe_helper.py").write_text(
        "import softswitch.runtime\n", encoding="utf-8"
    )
    (tree / "controlplane" / "probe_user.py").write_text(
        "from controlplane import probe_helper\n", encoding="utf-8"
    )
    r = lint_imports(tree)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "controlplane.probe_helper -> softswitch.runtime" in r.stdout


def test_an_upward_import_in_the_code_generator_breaks_the_check(tree: Path) -> None:
    """Expressions below calls below controls below parsers: exprs importing parsergen
    (even only for types) breaks the layers contract."""
    exprs = tree / "softswitch" / "engine" / "exprs.py"
    exprs.write_text(
        exprs.read_text(encoding="utf-8") + "\nfrom softswitch.engine import parsergen\n",
        encoding="utf-8",
    )
    r = lint_imports(tree)
    assert r.returncode == 1, r.stdout + r.stderr
    broken = [line for line in r.stdout.splitlines() if " BROKEN" in line]
    assert any("code generator's converters import one way" in line for line in broken), r.stdout
    assert "softswitch.engine.exprs -> softswitch.engine.parsergen" in r.stdout


def test_every_top_level_package_is_under_the_contracts() -> None:
    """A new package (e.g. one for packet I/O) must be a root package of the contracts,
    or imports through it would go unseen."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    roots = set(config["tool"]["importlinter"]["root_packages"])
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert roots == on_disk
    assert set(PACKAGES) == on_disk

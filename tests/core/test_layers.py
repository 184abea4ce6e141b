"""The layers of docs/architecture.md hold: `lint-imports` (import-linter) with the contracts of pyproject.toml.

seer-env installs several top-level folders under the one import name `seer_env` (setuptools
package-dir), which import-linter cannot follow; so the test lays the installed shape out in a
temporary folder (seer_env/ with agents/, envs/, pool/ inside) and runs `lint-imports` there.
`pytest tests/core/test_layers.py -s` prints the contracts' report.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUBPACKAGES = ("agents", "envs", "pool")  # the folders that install as seer_env.<name>


def lay_out(dest: Path) -> Path:
    """Copy the `seer_env` package, as it is installed, under `dest`; returns dest."""
    core = Path(importlib.import_module("seer_env").__file__).parent
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(core, dest / "seer_env", ignore=ignore)
    for name in SUBPACKAGES:
        folder = Path(importlib.import_module(f"seer_env.{name}").__file__).parent
        shutil.copytree(folder, dest / "seer_env" / name, ignore=ignore)
    return dest


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(exe), str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_layers_and_no_cycles_hold(tmp_path):
    proc = lint_imports(lay_out(tmp_path))
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "2 kept, 0 broken" in proc.stdout


def test_a_core_module_importing_an_agent_breaks_the_contract(tmp_path):
    tree = lay_out(tmp_path)
    types_py = tree / "seer_env" / "types.py"
    types_py.write_text(types_py.read_text() + "\nimport seer_env.agents.seer  # noqa\n")
    proc = lint_imports(tree)
    assert proc.returncode != 0
    assert "seer_env.types -> seer_env.agents.seer" in proc.stdout

"""Without Ray installed, `--executor ray` says in one line how to install it (and nothing imports Ray
for the local executor)."""

from __future__ import annotations

import subprocess
import sys

# `ray` made unimportable, as on an install without the extra
BLOCK_RAY = "import sys; sys.modules['ray'] = None\n"


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_RAY + code], capture_output=True, text=True, timeout=300
    )


def test_executor_ray_without_ray_says_how_to_install_it(tmp_path):
    code = (
        "from seer_env.cli import main\n"
        f"sys.exit(main(['run', '--env', 'ToolQA-Synth-easy-v0', '--executor', 'ray', '--out', {str(tmp_path)!r}]))\n"
    )
    out = run(code)
    assert out.returncode == 2, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if "seer-env[ray]" in line]
    assert lines == ['error: ImportError: the ray executor needs Ray: pip install "seer-env[ray]"']
    assert "Traceback" not in out.stderr


def test_local_runs_never_import_ray(tmp_path):
    code = (
        "import asyncio\n"
        "from seer_env.agents.launch import build_policy_entries\n"
        "from seer_env.runner import Runner\n"
        f"r = Runner(['tests.harness.tiny_env:Tiny-v0'], build_policy_entries(['random'], out={str(tmp_path)!r}), {str(tmp_path)!r}, episodes=3)\n"
        "print(asyncio.run(r.run())['done'], r.executor.name)\n"
    )
    out = run(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["3", "local"]

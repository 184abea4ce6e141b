"""Without tau_bench installed: `import seer_env` works; making a TauBench env names the install command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[2]

SCRIPT = r"""
import importlib.util, sys
assert importlib.util.find_spec("tau_bench") is None, "tau_bench must not be importable here"
import seer_env
import gymnasium as gym
assert "TauBench-retail-v0" in gym.registry
assert "tau_bench" not in sys.modules and "litellm" not in sys.modules
from seer_env.envs.taubench import users, intents  # import without tau_bench
from seer_env.agents.taubench import agent, policy, cli, runner
assert agent.SeerTauAgent.__mro__[1] is object
from seer_env.cli import main
assert main(["taubench", "run", "--model", "m", "--user-strategy", "scripted"]) == 2
try:
    gym.make("TauBench-retail-v0", user_strategy="scripted")
except ImportError as exc:
    print("ERROR:", exc)
else:
    raise SystemExit("making the env should have failed")
"""


def test_import_and_error_message_without_tau_bench():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # the fake is on this process's sys.path only; the child gets the plain interpreter path
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ERROR:" in proc.stdout
    assert 'pip install "tau_bench @ git+https://github.com/sierra-research/tau-bench"' in proc.stdout
    assert "seer-env[taubench]" in proc.stdout
    assert "tau-bench" in proc.stderr  # the CLI's error names the install command too

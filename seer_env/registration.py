"""Gymnasium IDs of every seer-env environment, registered on `import seer_env`.

Entry points are strings, so registering imports no env module: an env's code (and its heavy
dependencies) loads only when `gym.make` builds it.
"""

from __future__ import annotations

import gymnasium as gym

ENVS: dict[str, tuple[str, dict]] = {
    "ToolQA-easy-v0": ("seer_env.envs.toolqa.env:ToolQAEnv", {"difficulty": "easy"}),
    "ToolQA-hard-v0": ("seer_env.envs.toolqa.env:ToolQAEnv", {"difficulty": "hard"}),
    "ToolQA-Synth-easy-v0": ("seer_env.envs.toolqa.synth_env:make_synth_env", {"difficulty": "easy"}),
    "ToolQA-Synth-hard-v0": ("seer_env.envs.toolqa.synth_env:make_synth_env", {"difficulty": "hard"}),
    "TauBench-retail-v0": ("seer_env.envs.taubench.env:TauBenchEnv", {"env_name": "retail"}),
    "TauBench-airline-v0": ("seer_env.envs.taubench.env:TauBenchEnv", {"env_name": "airline"}),
}


def register_envs() -> None:
    for env_id, (entry_point, kwargs) in ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=dict(kwargs))

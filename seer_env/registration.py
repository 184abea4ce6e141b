"""Gymnasium IDs of every seer-env environment, registered on `import seer_env`.

Entry points are strings, so registering imports no env module: an env's code (and its heavy
dependencies) loads only when `gym.make` builds it. Each id is registered with its env's own step cap
as `max_episode_steps` (ToolQA 20 tool calls, τ-bench 30 agent actions), so `env.spec.max_episode_steps`
says where episodes are truncated. To change the cap pass both, `gym.make(id, max_steps=N,
max_episode_steps=N)`: Gymnasium's TimeLimit truncates at `max_episode_steps` whatever the env's own cap.

`DESCRIBERS` name, per id, the function `seer-env envs` asks how many tasks the env has and what it
needs (data, packages), also by name, so listing the envs builds none of them.
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

# the default of each env's own `max_steps` (ToolQAEnv, TauBenchEnv)
TOOLQA_MAX_STEPS = 20
TAUBENCH_MAX_STEPS = 30
MAX_EPISODE_STEPS: dict[str, int] = {
    env_id: TAUBENCH_MAX_STEPS if env_id.startswith("TauBench-") else TOOLQA_MAX_STEPS for env_id in ENVS
}

DESCRIBERS: dict[str, str] = {
    "ToolQA-easy-v0": "seer_env.envs.toolqa.catalog:describe_official",
    "ToolQA-hard-v0": "seer_env.envs.toolqa.catalog:describe_official",
    "ToolQA-Synth-easy-v0": "seer_env.envs.toolqa.catalog:describe_synth",
    "ToolQA-Synth-hard-v0": "seer_env.envs.toolqa.catalog:describe_synth",
    "TauBench-retail-v0": "seer_env.envs.taubench.catalog:describe",
    "TauBench-airline-v0": "seer_env.envs.taubench.catalog:describe",
}


def register_envs() -> None:
    for env_id, (entry_point, kwargs) in ENVS.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point=entry_point,
                kwargs=dict(kwargs),
                max_episode_steps=MAX_EPISODE_STEPS[env_id],
            )
